//! Memory a run holds in unix sockets: data written and not yet read sits in
//! kernel buffers that no process's resident set shows. The monitor asks the
//! kernel (`sock_diag`, the interface `ss` uses) for every unix socket of the
//! run's network namespace with its buffer use. The namespace is the slot's,
//! used by one run at a time, so every socket found belongs to the run.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

/// Kernel memory of one socket apart from its buffers (the socket, its inode,
/// dentry and file), rounded up.
const PER_SOCKET_BYTES: u64 = 2048;

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const UDIAG_SHOW_MEMINFO: u32 = 0x20;
const UNIX_DIAG_MEMINFO: u16 = 5;
/// Index of `wmem_alloc` in the meminfo array: bytes of buffers in flight
/// charged to the sending socket (unix sockets charge nothing to the receiver).
const SK_MEMINFO_WMEM_ALLOC: usize = 2;
const NLMSG_HEADER: usize = 16;

/// Idle diag sockets, one per network namespace (by inode), so that a run
/// does not pay for entering its namespace again.
static IDLE: Mutex<Option<HashMap<u64, OwnedFd>>> = Mutex::new(None);

/// A `sock_diag` socket inside one network namespace.
pub struct SocketMemory {
    fd: Option<OwnedFd>,
    netns: u64,
}

impl SocketMemory {
    /// Opens (or reuses) a diag socket in the network namespace of host process `pid`.
    pub fn open(pid: i32) -> io::Result<SocketMemory> {
        let path = format!("/proc/{pid}/ns/net");
        let netns = std::fs::metadata(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?.ino();
        let cached = IDLE.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|m| m.remove(&netns));
        let fd = match cached {
            Some(fd) => fd,
            None => open_in_namespace(&path)?,
        };
        Ok(SocketMemory { fd: Some(fd), netns })
    }

    /// Bytes held by the namespace's unix sockets: buffered data plus a
    /// fixed cost per socket. `None` if the kernel did not answer.
    pub fn bytes(&self) -> Option<u64> {
        let fd = self.fd.as_ref()?.as_raw_fd();
        send_dump_request(fd).ok()?;
        let mut total = 0u64;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: recv into a buffer we own, of the length passed.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            if n <= 0 {
                return None;
            }
            let mut at = 0usize;
            let n = n as usize;
            while at + NLMSG_HEADER <= n {
                let len = u32_at(&buf, at) as usize;
                let kind = u16_at(&buf, at + 4);
                if len < NLMSG_HEADER || at + len > n {
                    return None;
                }
                match kind as i32 {
                    libc::NLMSG_DONE => return Some(total),
                    libc::NLMSG_ERROR => return None,
                    _ => total += PER_SOCKET_BYTES + buffered(&buf[at + NLMSG_HEADER..at + len]),
                }
                at += align4(len);
            }
        }
    }
}

impl Drop for SocketMemory {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
            idle.get_or_insert_with(HashMap::new).insert(self.netns, fd);
        }
    }
}

/// Creates the netlink socket from a short-lived thread that enters the
/// namespace, so no thread of the judge ever changes namespace for good.
fn open_in_namespace(ns_path: &str) -> io::Result<OwnedFd> {
    let ns = std::fs::File::open(ns_path).map_err(|e| io::Error::new(e.kind(), format!("{ns_path}: {e}")))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on this thread only, with an fd we hold open.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("entering network namespace {ns_path}: {e}")));
            }
            // SAFETY: socket creation; the fd is checked and owned below.
            let fd =
                unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, NETLINK_SOCK_DIAG) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("creating a sock_diag socket: {e}")));
            }
            // SAFETY: fd was just created and is owned here.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("sock_diag thread panicked")))
    })
}

/// A dump request for every unix socket, with its memory use.
fn send_dump_request(fd: i32) -> io::Result<()> {
    const LEN: usize = NLMSG_HEADER + 24;
    let mut msg = [0u8; LEN];
    msg[0..4].copy_from_slice(&(LEN as u32).to_ne_bytes());
    msg[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    msg[6..8].copy_from_slice(&flags.to_ne_bytes());
    // struct unix_diag_req: family, protocol, pad, states, ino, show, cookie.
    let req = NLMSG_HEADER;
    msg[req] = libc::AF_UNIX as u8;
    msg[req + 4..req + 8].copy_from_slice(&u32::MAX.to_ne_bytes());
    msg[req + 12..req + 16].copy_from_slice(&UDIAG_SHOW_MEMINFO.to_ne_bytes());
    // SAFETY: send of a buffer we own; the kernel is the destination of an unbound netlink socket.
    let n = unsafe { libc::send(fd, msg.as_ptr() as *const libc::c_void, msg.len(), 0) };
    if n != msg.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The `wmem_alloc` of one `unix_diag_msg` payload (16 bytes, then attributes).
fn buffered(payload: &[u8]) -> u64 {
    let mut at = 16;
    while at + 4 <= payload.len() {
        let len = u16_at(payload, at) as usize;
        let kind = u16_at(payload, at + 2);
        if len < 4 || at + len > payload.len() {
            break;
        }
        let data = &payload[at + 4..at + len];
        if kind == UNIX_DIAG_MEMINFO && data.len() >= (SK_MEMINFO_WMEM_ALLOC + 1) * 4 {
            return u32_at(data, SK_MEMINFO_WMEM_ALLOC * 4) as u64;
        }
        at += align4(len);
    }
    0
}

fn align4(len: usize) -> usize {
    (len + 3) & !3
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

fn u16_at(buf: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([buf[at], buf[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_socket_data_is_counted() {
        // SAFETY: geteuid takes nothing and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return; // entering a namespace needs root
        }
        let diag = SocketMemory::open(std::process::id() as i32).expect("diag socket");
        let before = diag.bytes().expect("a dump");
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::io::Write;
        (&a).write_all(&[7u8; 100_000]).unwrap();
        let after = diag.bytes().expect("a dump");
        assert!(after >= before + 100_000, "before {before}, after {after}");
    }
}
