//! Stacks for code that runs on memory of ours (init, and the program's side
//! before exec), each with an inaccessible guard page below it: an overflow
//! faults instead of writing over the judge's heap.

use std::cell::RefCell;
use std::io;
use std::ptr::NonNull;

/// Stacks a thread keeps between its runs: mapping, protecting and faulting
/// in fresh ones cost a run about as much as one of its mounts. A stack is
/// back in the pool only once whatever ran on it has been reaped, and its
/// old contents are the judge's own memory, never seen by a program.
const POOL_SIZE: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<GuardedStack>> = const { RefCell::new(Vec::new()) };
}

/// A stack from the calling thread's pool, returned to it when dropped.
#[derive(Debug)]
pub struct PooledStack(Option<GuardedStack>);

impl PooledStack {
    /// A stack of at least `bytes` usable bytes, reused if the pool has one.
    pub fn take(bytes: usize) -> io::Result<PooledStack> {
        let usable = bytes.div_ceil(page_size()) * page_size();
        let reused = POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let at = pool.iter().position(|s| s.mapping_len == usable + page_size())?;
            Some(pool.swap_remove(at))
        });
        match reused {
            Some(stack) => Ok(PooledStack(Some(stack))),
            None => GuardedStack::new(bytes).map(|s| PooledStack(Some(s))),
        }
    }

    pub fn top(&self) -> *mut libc::c_void {
        self.0.as_ref().map_or(std::ptr::null_mut(), GuardedStack::top)
    }
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        let Some(stack) = self.0.take() else { return };
        // During thread teardown the pool may be gone: then the stack is unmapped.
        let _ = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOL_SIZE {
                pool.push(stack);
            }
        });
    }
}

/// An anonymous mapping: one `PROT_NONE` guard page, then the stack.
#[derive(Debug)]
pub struct GuardedStack {
    mapping: NonNull<libc::c_void>,
    mapping_len: usize,
}

impl GuardedStack {
    /// A stack of at least `bytes` usable bytes.
    pub fn new(bytes: usize) -> io::Result<GuardedStack> {
        let page = page_size();
        let usable = bytes.div_ceil(page) * page;
        let mapping_len = usable + page;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE;
        // SAFETY: a new anonymous mapping at an address the kernel picks; no
        // existing memory is touched.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), mapping_len, libc::PROT_NONE, flags, -1, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mapping = NonNull::new(ptr).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        let stack = GuardedStack { mapping, mapping_len };
        // Everything above the lowest page becomes usable; that page stays the guard.
        let above_guard = ptr.wrapping_byte_add(page);
        // SAFETY: the range lies inside the mapping made above, which nothing else uses.
        if unsafe { libc::mprotect(above_guard, usable, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The 16-byte aligned top of the stack (stacks grow down on x86_64).
    pub fn top(&self) -> *mut libc::c_void {
        let end = self.mapping.as_ptr().wrapping_byte_add(self.mapping_len);
        end.wrapping_byte_sub(end as usize % 16)
    }
}

impl Drop for GuardedStack {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and whoever ran on it has been reaped
        // (the callers keep the stack alive until then).
        unsafe { libc::munmap(self.mapping.as_ptr(), self.mapping_len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_is_writable_up_to_its_top_and_aligned() {
        let stack = GuardedStack::new(10_000).unwrap();
        let top = stack.top() as *mut u8;
        assert_eq!(top as usize % 16, 0);
        // SAFETY: the 16 KiB below the top (10 000 rounded up to pages) are mapped read-write.
        unsafe {
            top.sub(1).write(7);
            top.sub(10_000).write(9);
        }
    }

    #[test]
    fn a_returned_stack_is_reused_by_its_thread() {
        let first = PooledStack::take(8192).unwrap();
        let top = first.top();
        drop(first);
        assert_eq!(PooledStack::take(8192).unwrap().top(), top);
    }

    #[test]
    fn the_page_below_the_stack_is_a_guard() {
        let stack = GuardedStack::new(4096).unwrap();
        let guard = stack.mapping.as_ptr() as usize;
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let contains_guard = |line: &&str| {
            let range = line.split_whitespace().next().unwrap_or("");
            let (start, end) = range.split_once('-').unwrap_or(("", ""));
            let parse = |h: &str| usize::from_str_radix(h, 16).unwrap_or(0);
            parse(start) <= guard && guard < parse(end)
        };
        let line = maps.lines().find(contains_guard).unwrap_or_else(|| panic!("{guard:#x} is not mapped"));
        assert!(line.split_whitespace().nth(1).unwrap().starts_with("---p"), "{line}");
    }
}
