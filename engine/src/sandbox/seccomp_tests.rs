//! The hand-written program checked against a reference built the way the
//! sandbox filtered before (seccompiler for the refusals, then the ABI,
//! clone3, xattr and socket checks as a second filter), by running both
//! through a small classic-BPF interpreter for every syscall number.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use super::*;

/// What the two filters answered together: the second installed filter's
/// answer, unless it allowed (then the first's). Kill outranks errno and
/// errno outranks allow, which is how the kernel combined them.
fn reference(data: &Data) -> u32 {
    let second = run(&old_abi_and_clone3_program(), data);
    if second != libc::SECCOMP_RET_ALLOW {
        return second;
    }
    run(&old_deny_program(), data)
}

fn old_deny_program() -> Vec<libc::sock_filter> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let cond = SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag).unwrap();
            SeccompRule::new(vec![cond]).unwrap()
        })
        .collect();
    rules.insert(libc::SYS_clone, clone_rules);
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), TargetArch::x86_64)
            .unwrap();
    let deny: BpfProgram = filter.try_into().unwrap();
    deny.iter().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect()
}

fn old_abi_and_clone3_program() -> Vec<libc::sock_filter> {
    let mut program = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, NR),
        jump(JGE, X32_SYSCALL_BIT, 0, 1),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        jump(JEQ, libc::SYS_clone3 as u32, 0, 1),
        stmt(RET, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
    ];
    for &nr in XATTR_SETTERS {
        program.push(jump(JEQ, nr, 0, 1));
        program.push(stmt(RET, libc::SECCOMP_RET_ERRNO | libc::EOPNOTSUPP as u32));
    }
    let families = SOCKET_FAMILIES.len() as u8;
    program.push(jump(JEQ, libc::SYS_socket as u32, 1, 0));
    program.push(jump(JEQ, libc::SYS_socketpair as u32, 0, families + 2));
    program.push(stmt(LD_W_ABS, ARG0_LOW));
    for (i, &family) in SOCKET_FAMILIES.iter().enumerate() {
        program.push(jump(JEQ, family, families - i as u8, 0));
    }
    program.push(stmt(RET, libc::SECCOMP_RET_ERRNO | libc::EAFNOSUPPORT as u32));
    program.push(stmt(RET, libc::SECCOMP_RET_ALLOW));
    program
}

/// The parts of `seccomp_data` the programs read.
struct Data {
    nr: u32,
    arch: u32,
    arg0: u64,
}

impl Data {
    fn word(&self, offset: u32) -> u32 {
        match offset {
            0 => self.nr,
            4 => self.arch,
            16 => self.arg0 as u32,
            20 => (self.arg0 >> 32) as u32,
            other => panic!("load of seccomp_data offset {other}"),
        }
    }
}

/// Runs a classic BPF program (the instructions these programs use);
/// panics on a jump out of the program or a missing return.
fn run(program: &[libc::sock_filter], data: &Data) -> u32 {
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let insn = program.get(pc).unwrap_or_else(|| panic!("ran off the program at {pc}"));
        let class = insn.code & 0x07;
        let op = insn.code & 0xf0;
        match class as u32 {
            libc::BPF_LD => {
                assert_eq!(insn.code, LD_W_ABS, "load at {pc}");
                a = data.word(insn.k);
                pc += 1;
            }
            libc::BPF_ALU if op as u32 == libc::BPF_AND => {
                a &= insn.k;
                pc += 1;
            }
            libc::BPF_JMP => {
                let taken = match op as u32 {
                    libc::BPF_JA => {
                        pc += 1 + insn.k as usize;
                        continue;
                    }
                    libc::BPF_JEQ => a == insn.k,
                    libc::BPF_JGE => a >= insn.k,
                    libc::BPF_JGT => a > insn.k,
                    libc::BPF_JSET => a & insn.k != 0,
                    other => panic!("jump op {other:#x} at {pc}"),
                };
                pc += 1 + if taken { insn.jt } else { insn.jf } as usize;
            }
            libc::BPF_RET => return insn.k,
            other => panic!("instruction class {other:#x} at {pc}"),
        }
    }
}

#[test]
fn program_answers_every_call_as_the_two_filters_did() {
    let program = program().as_ref().expect("program builds");
    let mut args: Vec<u64> = vec![0, u64::MAX, 1 << 40, libc::SIGCHLD as u64];
    args.extend(NAMESPACE_FLAGS.iter().flat_map(|&f| [f, f | libc::SIGCHLD as u64, f | (1 << 40)]));
    args.extend((0..48u64).flat_map(|family| [family, family | (1 << 32)]));
    let mut differences = Vec::new();
    for arch in [AUDIT_ARCH_X86_64, 0x4000_0003 /* i386 */] {
        for nr in (0..600u32).chain([X32_SYSCALL_BIT, X32_SYSCALL_BIT + 1, u32::MAX]) {
            for &arg0 in &args {
                let data = Data { nr, arch, arg0 };
                let (new, old) = (run(program, &data), reference(&data));
                if new != old {
                    differences.push(format!("arch {arch:#x} nr {nr} arg0 {arg0:#x}: {new:#x} now, {old:#x} before"));
                }
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences, first: {:?}",
        differences.len(),
        &differences[..5.min(differences.len())]
    );
}

#[test]
fn program_refuses_what_the_lists_name() {
    let program = program().as_ref().expect("program builds");
    let answer = |nr: i64, arg0: u64| run(program, &Data { nr: nr as u32, arch: AUDIT_ARCH_X86_64, arg0 });
    let errno = |e: i32| libc::SECCOMP_RET_ERRNO | e as u32;
    assert_eq!(answer(libc::SYS_mount, 0), errno(libc::EPERM));
    // Nothing may be created in the slot's IPC namespace, which runs share.
    for nr in [libc::SYS_shmget, libc::SYS_msgget, libc::SYS_semget, libc::SYS_mq_open] {
        assert_eq!(answer(nr, 0), errno(libc::EPERM), "syscall {nr}");
    }
    assert_eq!(answer(libc::SYS_clone, libc::CLONE_NEWUSER as u64), errno(libc::EPERM));
    assert_eq!(answer(libc::SYS_clone, libc::SIGCHLD as u64), libc::SECCOMP_RET_ALLOW);
    assert_eq!(answer(libc::SYS_clone3, 0), errno(libc::ENOSYS));
    assert_eq!(answer(libc::SYS_socket, libc::AF_NETLINK as u64), errno(libc::EAFNOSUPPORT));
    assert_eq!(answer(libc::SYS_socket, libc::AF_UNIX as u64), libc::SECCOMP_RET_ALLOW);
    assert_eq!(answer(libc::SYS_fsetxattr, 0), errno(libc::EOPNOTSUPP));
    assert_eq!(answer(libc::SYS_read, 0), libc::SECCOMP_RET_ALLOW);
    assert_eq!(run(program, &Data { nr: 0, arch: 0x4000_0003, arg0: 0 }), libc::SECCOMP_RET_KILL_PROCESS);
    // Short: a search, not a chain (the kernel runs it for every number on each install).
    assert!(program.len() < 200, "{} instructions", program.len());
}
