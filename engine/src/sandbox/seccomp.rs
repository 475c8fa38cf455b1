//! The seccomp filters applied to every sandboxed program just before exec.
//! Compiled once per process and reused by every run.
//!
//! Two filters are installed. The first (seccompiler) refuses privileged and
//! escape-prone syscalls with EPERM. The second (a few hand-written BPF
//! instructions, because it needs comparisons seccompiler cannot express)
//! kills any non-x86_64 ABI, including x32 syscall numbers, answers
//! `clone3` with ENOSYS (its flags sit behind a pointer a filter cannot read,
//! and ENOSYS makes libc fall back to `clone`, whose flags the first filter
//! checks), refuses socket families other than unix and IP with
//! EAFNOSUPPORT, and the xattr-setting calls with EOPNOTSUPP.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

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

/// Both filters, in the order they are installed.
pub struct Filters {
    pub deny: Vec<libc::sock_filter>,
    pub abi_and_clone3: Vec<libc::sock_filter>,
}

pub fn filters() -> &'static Result<Filters, String> {
    static FILTERS: OnceLock<Result<Filters, String>> = OnceLock::new();
    FILTERS.get_or_init(build)
}

fn build() -> Result<Filters, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let cond = SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag)
                .map_err(|e| e.to_string())?;
            SeccompRule::new(vec![cond]).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    rules.insert(libc::SYS_clone, clone_rules);
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), TargetArch::x86_64)
            .map_err(|e| format!("building seccomp filter: {e}"))?;
    let deny: BpfProgram =
        filter.try_into().map_err(|e: seccompiler::BackendError| format!("compiling seccomp filter: {e}"))?;
    let deny = deny.iter().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
    Ok(Filters { deny, abi_and_clone3: abi_and_clone3_program() })
}

fn abi_and_clone3_program() -> Vec<libc::sock_filter> {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const ARG0_LOW: u32 = 16; // seccomp_data.args[0], low 32 bits (little-endian)
    let stmt = |code, k| libc::sock_filter { code, jt: 0, jf: 0, k };
    let jump = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
    let mut program = vec![
        stmt(LD_W_ABS, 4), // seccomp_data.arch
        jump(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, 0), // seccomp_data.nr
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        jump(JEQ, libc::SYS_clone3 as u32, 0, 1),
        stmt(RET, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
    ];
    for &nr in XATTR_SETTERS {
        program.push(jump(JEQ, nr, 0, 1));
        program.push(stmt(RET, libc::SECCOMP_RET_ERRNO | libc::EOPNOTSUPP as u32));
    }
    // socket(family, ...) and socketpair(family, ...): allow the listed
    // families, refuse the rest. The family is an int: its low 32 bits decide.
    let families = SOCKET_FAMILIES.len() as u8;
    program.push(jump(JEQ, libc::SYS_socket as u32, 1, 0));
    program.push(jump(JEQ, libc::SYS_socketpair as u32, 0, families + 2));
    program.push(stmt(LD_W_ABS, ARG0_LOW));
    for (i, &family) in SOCKET_FAMILIES.iter().enumerate() {
        // Jump over the remaining checks and the refusal to the final allow.
        program.push(jump(JEQ, family, families - i as u8, 0));
    }
    program.push(stmt(RET, libc::SECCOMP_RET_ERRNO | libc::EAFNOSUPPORT as u32));
    program.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
    program
}

/// Installs one filter on the calling thread. Raw syscall, no allocation;
/// `no_new_privs` must already be set.
pub fn install(program: &[libc::sock_filter]) -> Result<(), i32> {
    let prog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr() as *mut _ };
    let args = [libc::SECCOMP_SET_MODE_FILTER as usize, 0, &prog as *const libc::sock_fprog as usize];
    // SAFETY: prog points at a live, well-formed BPF program.
    super::sys::ok(unsafe { super::sys::syscall(libc::SYS_seccomp, &args) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile() {
        let f = filters().as_ref().expect("filters build");
        assert!(f.deny.len() > DENIED.len());
        assert_eq!(f.abi_and_clone3.len(), 8 + 2 * XATTR_SETTERS.len() + 3 + SOCKET_FAMILIES.len() + 2);
    }
}
