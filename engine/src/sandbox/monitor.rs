//! The host-side monitor: samples every process of a running sandbox through
//! the sandbox's own procfs (so the host's other processes are never
//! scanned) and sums their CPU time and memory: resident pages (proportional
//! shares when several processes share pages after fork), page tables, what
//! /tmp holds (data and inodes) and unread data in the run's unix sockets.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use procfs::process::{Schedstat, Stat};
use procfs::FromRead;

use super::socket_memory::SocketMemory;

/// One look at the whole run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// User + system time of every live process and thread, plus what reaped
    /// children left in their parents' accounts.
    pub cpu_ns: u64,
    /// Memory of the run: resident pages (each shared page counted once),
    /// page tables, /tmp, and unix socket buffers.
    pub rss_bytes: u64,
    /// Highest single-process peak (VmHWM) seen, which catches spikes between samples.
    pub hwm_bytes: u64,
}

pub struct Monitor {
    init_pid: i32,
    proc_dir: OwnedFd,
    /// The same directory, listed anew (rewound) at every sample.
    listing: std::cell::RefCell<nix::dir::Dir>,
    /// The stat and schedstat files of the processes seen at the last
    /// sample, kept open and re-read from offset 0: a sample then costs a
    /// read per file instead of two lookups, an open and a close.
    files: std::cell::RefCell<Vec<ProcessFiles>>,
    /// The run's /tmp: what a program stores there is memory too.
    tmp_dir: Option<OwnedFd>,
    /// The unix sockets of the run's network namespace, opened at the first
    /// refresh of the extras (most runs end before it).
    sockets: std::cell::OnceCell<Option<SocketMemory>>,
    ns_per_tick: u64,
    page_size: u64,
    priority: Priority,
    /// Socket buffers and the program's page tables, refreshed at most every
    /// EXTRAS_EVERY (they cost a netlink dump and a status read per sample).
    extras: std::cell::Cell<Extras>,
    attached: Instant,
}

#[derive(Clone, Copy, Default)]
struct Extras {
    socket_bytes: u64,
    program_page_tables_kb: u64,
    /// Time since attach of the last refresh.
    at: Option<Duration>,
}

/// How often socket buffers and the program's page tables are read. Neither
/// grows faster than about 10 MiB a millisecond, and most programs are done
/// before the first refresh, so short runs pay nothing for them.
const EXTRAS_EVERY: Duration = Duration::from_millis(1);

/// The sampling thread's scheduling priority, raised while it monitors: a run
/// of many busy processes must not delay the sample that stops it (kernel
/// memory can grow by 10 MiB a millisecond). Nice -10 throughout, and
/// real-time round-robin at the lowest level once the run nears its memory
/// limit, so that it preempts the run on waking; it sleeps between samples,
/// and a sample costs well under its interval. Without CAP_SYS_NICE the
/// thread keeps its normal priority.
struct Priority {
    tid: libc::id_t,
    old_nice: i32,
    /// Whether the thread was switched from SCHED_OTHER to SCHED_RR.
    real_time: std::cell::Cell<bool>,
}

/// Nice value of a sampling thread.
const MONITOR_NICE: i32 = -10;

impl Priority {
    fn raise() -> Priority {
        // SAFETY: gettid and get/setpriority on the calling thread only.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            let old_nice = libc::getpriority(libc::PRIO_PROCESS, tid);
            libc::setpriority(libc::PRIO_PROCESS, tid, MONITOR_NICE.min(old_nice));
            Priority { tid, old_nice, real_time: std::cell::Cell::new(false) }
        }
    }

    /// Switches to real-time round-robin (lowest level), once. Only runs
    /// near their limit pay for it: switching costs milliseconds a run.
    fn real_time(&self) {
        if self.real_time.get() {
            return;
        }
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: sched_{get,set}scheduler on the calling thread with a valid sched_param.
        let switched = unsafe {
            libc::sched_getscheduler(self.tid as i32) == libc::SCHED_OTHER
                && libc::sched_setscheduler(self.tid as i32, libc::SCHED_RR, &param) == 0
        };
        self.real_time.set(switched);
    }
}

impl Drop for Priority {
    fn drop(&mut self) {
        // SAFETY: restores the policy and nice value of the thread that raised them.
        unsafe {
            if self.real_time.get() {
                let param = libc::sched_param { sched_priority: 0 };
                libc::sched_setscheduler(self.tid as i32, libc::SCHED_OTHER, &param);
            }
            libc::setpriority(libc::PRIO_PROCESS, self.tid, self.old_nice);
        }
    }
}

/// Open proc files of one process of the run.
struct ProcessFiles {
    pid: i32,
    stat: OwnedFd,
    /// Opened when first needed (single-threaded processes only).
    schedstat: Option<OwnedFd>,
}

/// Kernel memory of one file in /tmp apart from its data, rounded up.
const INODE_BYTES: u64 = 1024;

/// The judged program is the first process init starts in its PID namespace.
const PROGRAM_PID: i32 = 2;

impl Monitor {
    /// Opens the procfs the sandbox's init mounted; `init_pid` is its host pid.
    pub fn attach(init_pid: i32) -> io::Result<Monitor> {
        let path = format!("/proc/{init_pid}/root/proc");
        let dir = File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let listing = nix::dir::Dir::openat(&dir, ".", flags, nix::sys::stat::Mode::empty())
            .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("{path}: {e}")))?;
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let tmp_dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(format!("/proc/{init_pid}/root/tmp"))
            .ok()
            .map(Into::into);
        // SAFETY: sysconf has no preconditions.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
        let priority = Priority::raise();
        Ok(Monitor {
            init_pid,
            proc_dir: dir.into(),
            listing: std::cell::RefCell::new(listing),
            files: Default::default(),
            tmp_dir,
            sockets: Default::default(),
            ns_per_tick: 1_000_000_000 / ticks,
            page_size,
            priority,
            extras: Default::default(),
            attached: Instant::now(),
        })
    }

    /// Called when the run nears its memory limit: from now on sampling
    /// preempts the run (see `Priority`).
    pub fn near_limit(&self) {
        self.priority.real_time();
    }

    pub fn sample(&self) -> Sample {
        let now = self.attached.elapsed();
        let mut extras = self.extras.get();
        let refresh = match extras.at {
            Some(at) => now >= at + EXTRAS_EVERY,
            None => now >= EXTRAS_EVERY,
        };
        if refresh {
            // Without it (no netlink in some containers) socket buffers go
            // uncounted; the run itself is not at risk.
            let sockets = self.sockets.get_or_init(|| SocketMemory::open(self.init_pid).ok());
            extras.socket_bytes = sockets.as_ref().and_then(SocketMemory::bytes).unwrap_or(0);
            extras.program_page_tables_kb = self.status(PROGRAM_PID).page_tables_kb;
            extras.at = Some(now);
            self.extras.set(extras);
        }
        let mut total = Sample { rss_bytes: self.tmpfs_used() + extras.socket_bytes, ..Sample::default() };
        // Ascending pid order reads parents before their children in the usual
        // case, so a child reaped mid-scan is missed rather than counted twice.
        let mut processes = Vec::new();
        let mut files = self.files.borrow_mut();
        let pids = self.pids();
        // Close the files of processes that are gone.
        files.retain(|f| pids.binary_search(&f.pid).is_ok());
        for &pid in &pids {
            let at = match files.binary_search_by_key(&pid, |f| f.pid) {
                Ok(at) => at,
                Err(at) => {
                    let Some(stat) = self.open(pid, "stat") else { continue };
                    files.insert(at, ProcessFiles { pid, stat: stat.into(), schedstat: None });
                    at
                }
            };
            let Some(stat) = reread::<Stat>(&files[at].stat) else { continue };
            let reaped = (stat.cutime + stat.cstime).max(0) as u64 * self.ns_per_tick;
            if pid == 1 {
                // Our init: only what it reaped belongs to the run.
                total.cpu_ns += reaped;
                continue;
            }
            let mut own = (stat.utime + stat.stime) * self.ns_per_tick;
            if stat.num_threads == 1 {
                // Nanosecond-precise for the common single-threaded program.
                let entry = &mut files[at];
                if entry.schedstat.is_none() {
                    entry.schedstat = self.open(pid, "schedstat").map(Into::into);
                }
                if let Some(sched) = entry.schedstat.as_ref().and_then(reread::<Schedstat>) {
                    own = own.max(sched.sum_exec_runtime);
                }
            }
            total.cpu_ns += own + reaped;
            processes.push((pid, stat.rss * self.page_size));
        }
        // Pages shared after fork show in every sharer's resident set; with
        // more than one process, each process counts its proportional share.
        let shared = processes.len() > 1;
        let mut memory = Vec::with_capacity(processes.len());
        for (pid, rss) in processes {
            // No Pss: the process released its memory since its stat was read.
            let resident = if shared { self.pss_bytes(pid).unwrap_or(0) } else { rss };
            // Page tables are memory no resident set shows: huge sparse
            // mappings cost them without touching a page. The program's own
            // peak is read when it exits (child.rs); for the processes it
            // starts, VmHWM catches spikes between samples.
            let page_tables_kb = if pid == PROGRAM_PID {
                extras.program_page_tables_kb
            } else {
                let status = self.status(pid);
                total.hwm_bytes = total.hwm_bytes.max(status.peak_kb * 1024);
                status.page_tables_kb
            };
            memory.push((pid, resident + page_tables_kb * 1024));
        }
        // A sharer that exits mid-scan hands its share to those read after
        // it, so shared pages would count more than once: processes that
        // ended during the scan are left out (their memory is gone anyway).
        // An exiting process drops its memory (its address space is gone:
        // no vsize) well before it shows as a zombie, and under load it can
        // sit between the two for milliseconds: that counts as ended too.
        if shared {
            memory.retain(|&(pid, _)| {
                let at = files.binary_search_by_key(&pid, |f| f.pid);
                let stat = at.ok().and_then(|at| reread::<Stat>(&files[at].stat));
                stat.is_some_and(|s| !matches!(s.state, 'Z' | 'X') && s.vsize > 0)
            });
        }
        total.rss_bytes += memory.iter().map(|&(_, bytes)| bytes).sum::<u64>();
        total
    }

    /// The proportional set size of one process (`Pss` of smaps_rollup).
    fn pss_bytes(&self, pid: i32) -> Option<u64> {
        let mut buf = [0u8; 4096];
        let text = self.read_raw(pid, "smaps_rollup", &mut buf)?;
        kb_field(text, b"Pss:").map(|kb| kb * 1024)
    }

    /// VmHWM and VmPTE of one process (zero when it is gone).
    fn status(&self, pid: i32) -> StatusFields {
        let mut buf = [0u8; 4096];
        let Some(text) = self.read_raw(pid, "status", &mut buf) else { return StatusFields::default() };
        StatusFields {
            peak_kb: kb_field(text, b"VmHWM:").unwrap_or(0),
            page_tables_kb: kb_field(text, b"VmPTE:").unwrap_or(0),
        }
    }

    /// Bytes the run has stored in its /tmp tmpfs.
    fn tmpfs_used(&self) -> u64 {
        let Some(dir) = &self.tmp_dir else { return 0 };
        // SAFETY: fstatfs on an fd we own into a zeroed struct.
        unsafe {
            let mut st: libc::statfs = std::mem::zeroed();
            if libc::fstatfs(dir.as_raw_fd(), &mut st) != 0 {
                return 0;
            }
            let data = st.f_blocks.saturating_sub(st.f_bfree) * st.f_bsize as u64;
            // Each file also holds an inode, a dentry and its name.
            data + st.f_files.saturating_sub(st.f_ffree) * INODE_BYTES
        }
    }

    /// The run's pids, ascending.
    fn pids(&self) -> Vec<i32> {
        let mut dir = self.listing.borrow_mut();
        // The iterator rewinds the directory when dropped.
        let mut pids: Vec<i32> = dir
            .iter()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().ok().and_then(|s| s.parse().ok()))
            .collect();
        pids.sort_unstable();
        pids
    }

    /// The start of a small proc file, read into `buf` without parsing.
    fn read_raw<'b>(&self, pid: i32, file: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        use std::io::Read;
        let mut file = self.open(pid, file)?;
        let mut len = 0;
        while len < buf.len() {
            match file.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(&buf[..len])
    }

    fn open(&self, pid: i32, file: &str) -> Option<File> {
        let name = std::ffi::CString::new(format!("{pid}/{file}")).ok()?;
        // SAFETY: openat on our directory fd with a NUL-terminated relative path.
        let fd = unsafe {
            libc::openat(self.proc_dir.as_raw_fd(), name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW)
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd was just opened and is owned here.
        Some(unsafe { File::from_raw_fd(fd) })
    }
}

/// A kept-open proc file read afresh from offset 0 (a seq_file starts
/// over when read there) and parsed.
fn reread<T: FromRead>(fd: &OwnedFd) -> Option<T> {
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: pread into a buffer we own, of the length passed. These
        // files are far shorter than the buffer, so one read returns all.
        let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        match n {
            n if n >= 0 => return T::from_read(&buf[..n as usize]).ok(),
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return None,
        }
    }
}

#[derive(Default)]
struct StatusFields {
    peak_kb: u64,
    page_tables_kb: u64,
}

/// The number after `key` in a "Key:   123 kB" line of a proc file.
fn kb_field(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = text.windows(key.len()).position(|w| w == key)?;
    let mut digits = text[at + key.len()..].iter().skip_while(|b| **b == b' ' || **b == b'\t').peekable();
    digits.peek().filter(|b| b.is_ascii_digit())?;
    Some(digits.take_while(|b| b.is_ascii_digit()).fold(0u64, |n, b| n * 10 + (b - b'0') as u64))
}
