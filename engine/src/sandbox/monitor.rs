//! The host-side monitor: samples every process of a running sandbox through
//! the sandbox's own procfs (so the host's other processes are never
//! scanned) and sums their CPU time and resident memory.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use procfs::process::{Schedstat, Stat, Status};
use procfs::FromRead;

/// One look at the whole run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// User + system time of every live process and thread, plus what reaped
    /// children left in their parents' accounts.
    pub cpu_ns: u64,
    /// Sum of resident memory of the run's processes, plus what its /tmp holds.
    pub rss_bytes: u64,
    /// Highest single-process peak (VmHWM) seen, which catches spikes between samples.
    pub hwm_bytes: u64,
}

pub struct Monitor {
    proc_dir: OwnedFd,
    /// The run's /tmp: what a program stores there is memory too.
    tmp_dir: Option<OwnedFd>,
    ns_per_tick: u64,
    page_size: u64,
}

/// The judged program is the first process init starts in its PID namespace.
const PROGRAM_PID: i32 = 2;

impl Monitor {
    /// Opens the procfs the sandbox's init mounted; `init_pid` is its host pid.
    pub fn attach(init_pid: i32) -> io::Result<Monitor> {
        let path = format!("/proc/{init_pid}/root/proc");
        let dir = File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
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
        Ok(Monitor { proc_dir: dir.into(), tmp_dir, ns_per_tick: 1_000_000_000 / ticks, page_size })
    }

    pub fn sample(&self) -> Sample {
        let mut total = Sample { rss_bytes: self.tmpfs_used(), ..Sample::default() };
        // Ascending pid order reads parents before their children in the usual
        // case, so a child reaped mid-scan is missed rather than counted twice.
        for pid in self.pids() {
            let Some(stat) = self.read::<Stat>(pid, "stat") else { continue };
            let reaped = (stat.cutime + stat.cstime).max(0) as u64 * self.ns_per_tick;
            if pid == 1 {
                // Our init: only what it reaped belongs to the run.
                total.cpu_ns += reaped;
                continue;
            }
            let mut own = (stat.utime + stat.stime) * self.ns_per_tick;
            if stat.num_threads == 1 {
                // Nanosecond-precise for the common single-threaded program.
                if let Some(sched) = self.read::<Schedstat>(pid, "schedstat") {
                    own = own.max(sched.sum_exec_runtime);
                }
            }
            total.cpu_ns += own + reaped;
            total.rss_bytes += stat.rss * self.page_size;
            // The program's own peak is read when it exits (child.rs); for
            // the processes it starts, VmHWM catches spikes between samples.
            if pid != PROGRAM_PID {
                if let Some(status) = self.read::<Status>(pid, "status") {
                    total.hwm_bytes = total.hwm_bytes.max(status.vmhwm.unwrap_or(0) * 1024);
                }
            }
        }
        total
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
            (st.f_blocks.saturating_sub(st.f_bfree)) * st.f_bsize as u64
        }
    }

    fn pids(&self) -> Vec<i32> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let Ok(mut dir) = nix::dir::Dir::openat(&self.proc_dir, ".", flags, nix::sys::stat::Mode::empty()) else {
            return Vec::new();
        };
        let mut pids: Vec<i32> = dir
            .iter()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().ok().and_then(|s| s.parse().ok()))
            .collect();
        pids.sort_unstable();
        pids
    }

    fn read<T: FromRead>(&self, pid: i32, file: &str) -> Option<T> {
        let name = std::ffi::CString::new(format!("{pid}/{file}")).ok()?;
        // SAFETY: openat on our directory fd with a NUL-terminated relative path.
        let fd = unsafe {
            libc::openat(self.proc_dir.as_raw_fd(), name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW)
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd was just opened and is owned here.
        let file = unsafe { File::from_raw_fd(fd) };
        T::from_read(file).ok()
    }
}
