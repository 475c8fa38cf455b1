//! The seccomp program applied to every sandboxed program just before exec:
//! built once per process, installed with one `seccomp` call per run.
//!
//! It kills any non-x86_64 ABI, including x32 syscall numbers, answers
//! `clone3` with ENOSYS (its flags sit behind a pointer a filter cannot read,
//! and ENOSYS makes libc fall back to `clone`, whose flags are checked),
//! refuses `clone` with namespace flags, privileged and escape-prone
//! syscalls with EPERM, socket families other than unix and IP with
//! EAFNOSUPPORT, and the xattr-setting calls with EOPNOTSUPP.
//!
//! Hand-written BPF, a binary search over the syscall numbers with an
//! answer: the kernel prepares a filter on every install (checks, converts
//! and JITs it, then runs it once for every syscall number to cache which
//! ones it always allows), so a short program with a short path for each
//! number costs a run less than a linear chain of comparisons.

use std::sync::OnceLock;

/// Syscalls a judged program never needs and must not have.
const DENIED: &[i64] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_quotactl_fd,
    libc::SYS_userfaultfd,
    libc::SYS_memfd_secret,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_kcmp,
    libc::SYS_pidfd_getfd,
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS_syslog,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_vhangup,
    libc::SYS_lookup_dcookie,
    // statmount and listmount (Linux 6.8): the mount table with each mount's
    // source device and host path, which /proc masks cannot cover.
    457,
    458,
    // Memory that no process's resident set shows (the monitor would not see
    // it): an unmapped memfd, a detached SysV segment, SysV message queues.
    // Without cgroups to charge it, these are refused. /tmp is counted by the
    // monitor; pipe buffers are capped per uid by the kernel (64 MiB).
    // SysV semaphore sets are kernel memory as well (about 64 bytes a
    // semaphore, tens of thousands per set).
    libc::SYS_memfd_create,
    libc::SYS_shmget,
    libc::SYS_msgget,
    libc::SYS_semget,
    // POSIX message queues: kernel memory as well, and they would outlive a
    // run in the slot's IPC namespace (namespaces.rs).
    libc::SYS_mq_open,
];

/// Socket address families a program may use: local sockets, and IP (which
/// finds no interface in the slot's network namespace). Everything else
/// (netlink sees the host's device events, vsock ignores network namespaces,
/// packet, bluetooth, ...) is refused with EAFNOSUPPORT.
const SOCKET_FAMILIES: &[u32] = &[libc::AF_UNIX as u32, libc::AF_INET as u32, libc::AF_INET6 as u32];

/// Calls that set extended attributes: tmpfs keeps user xattrs in kernel
/// memory no resident set shows. Refused with EOPNOTSUPP, which tools read as
/// "this file system has none" (`setxattrat` is 463 on x86_64, Linux 6.13).
const XATTR_SETTERS: &[u32] = &[libc::SYS_setxattr as u32, libc::SYS_lsetxattr as u32, libc::SYS_fsetxattr as u32, 463];

/// clone(2) flags that would create a namespace.
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    0x80, // CLONE_NEWTIME
];

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The whole program, built once per process.
pub fn program() -> &'static Result<Vec<libc::sock_filter>, String> {
    static PROGRAM: OnceLock<Result<Vec<libc::sock_filter>, String>> = OnceLock::new();
    PROGRAM.get_or_init(build)
}

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// Offsets in `seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
/// `args[0]`, its low 32 bits (little-endian).
const ARG0_LOW: u32 = 16;
/// Numbers a leaf of the search compares one by one.
const LEAF: usize = 4;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// What the program answers for a syscall number it does not simply allow.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Errno(i32),
    /// Allowed for the families of SOCKET_FAMILIES, else EAFNOSUPPORT.
    SocketFamily,
    /// EPERM when the flags ask for a namespace, else allowed.
    CloneFlags,
}

/// Every number with an answer, sorted; an error if one has two.
fn answers() -> Result<Vec<(u32, Answer)>, String> {
    let mut all: Vec<(u32, Answer)> = DENIED.iter().map(|&nr| (nr as u32, Answer::Errno(libc::EPERM))).collect();
    all.extend(XATTR_SETTERS.iter().map(|&nr| (nr, Answer::Errno(libc::EOPNOTSUPP))));
    all.push((libc::SYS_clone3 as u32, Answer::Errno(libc::ENOSYS)));
    all.push((libc::SYS_socket as u32, Answer::SocketFamily));
    all.push((libc::SYS_socketpair as u32, Answer::SocketFamily));
    all.push((libc::SYS_clone as u32, Answer::CloneFlags));
    all.sort_by_key(|(nr, _)| *nr);
    if let Some(pair) = all.windows(2).find(|p| p[0].0 == p[1].0) {
        return Err(format!("seccomp: syscall {} is listed twice ({:?}, {:?})", pair[0].0, pair[0].1, pair[1].1));
    }
    Ok(all)
}

/// The instructions that answer for one number; each path ends in a return.
fn answer_body(answer: Answer) -> Result<Vec<libc::sock_filter>, String> {
    Ok(match answer {
        Answer::Errno(errno) => vec![stmt(RET, libc::SECCOMP_RET_ERRNO | errno as u32)],
        Answer::SocketFamily => {
            // The family is an int: its low 32 bits decide.
            let families = SOCKET_FAMILIES.len() as u8;
            let mut body = vec![stmt(LD_W_ABS, ARG0_LOW)];
            for (i, &family) in SOCKET_FAMILIES.iter().enumerate() {
                // Over the remaining checks and the refusal, to the allow.
                body.push(jump(JEQ, family, families - i as u8, 0));
            }
            body.push(stmt(RET, libc::SECCOMP_RET_ERRNO | libc::EAFNOSUPPORT as u32));
            body.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
            body
        }
        Answer::CloneFlags => {
            // Every namespace flag lives in the low 32 bits of the flags.
            let mask = NAMESPACE_FLAGS.iter().fold(0u64, |m, f| m | f);
            let mask = u32::try_from(mask).map_err(|_| format!("seccomp: clone flags {mask:#x} above 32 bits"))?;
            vec![
                stmt(LD_W_ABS, ARG0_LOW),
                jump(JSET, mask, 0, 1),
                stmt(RET, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
                stmt(RET, libc::SECCOMP_RET_ALLOW),
            ]
        }
    })
}

/// A search over `entries` (sorted) with the syscall number loaded: the
/// answer of its number, or allow. Jumps only forward, as BPF requires.
fn search(entries: &[(u32, Answer)]) -> Result<Vec<libc::sock_filter>, String> {
    let mut out = Vec::new();
    if entries.len() <= LEAF {
        for &(nr, answer) in entries {
            let body = answer_body(answer)?;
            out.push(jump(JEQ, nr, 0, body.len() as u8));
            out.extend(body);
        }
        out.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
        return Ok(out);
    }
    let (low, high) = entries.split_at(entries.len() / 2);
    let low = search(low)?;
    let skip = u8::try_from(low.len()).map_err(|_| format!("seccomp: a branch of {} instructions", low.len()))?;
    out.push(jump(JGE, high[0].0, skip, 0));
    out.extend(low);
    out.extend(search(high)?);
    Ok(out)
}

fn build() -> Result<Vec<libc::sock_filter>, String> {
    let mut program = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, NR),
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    program.extend(search(&answers()?)?);
    if program.len() > u16::MAX as usize {
        return Err(format!("seccomp: a program of {} instructions", program.len()));
    }
    Ok(program)
}

/// Installs the program on the calling thread. Raw syscall, no allocation;
/// `no_new_privs` must already be set.
pub fn install(program: &[libc::sock_filter]) -> Result<(), i32> {
    let prog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr() as *mut _ };
    let args = [libc::SECCOMP_SET_MODE_FILTER as usize, 0, &prog as *const libc::sock_fprog as usize];
    // SAFETY: prog points at a live, well-formed BPF program.
    super::sys::ok(unsafe { super::sys::syscall(libc::SYS_seccomp, &args) })
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
