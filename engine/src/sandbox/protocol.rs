//! What init tells the host, over the report pipe.
//!
//! Init runs on a `CLONE_VM` stack with raw syscalls only, so on the wire a
//! report is one fixed-size `#[repr(C)]` record written in one `write`
//! (atomic on a pipe). The host decodes each record into [`Report`], whose
//! variants carry named fields. The skeleton helper of `warm.rs` uses the
//! same records to say whether it built the slot's root.

use bytemuck::{Pod, Zeroable};

/// What a record on the wire is about.
#[repr(i64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// `a` = step (see [`SetupStep`]), `b` = errno.
    SetupFailed = 1,
    /// The root is built; the program is about to start.
    Ready = 2,
    /// `a` = errno, `b` = stage (see [`ExecStage`]).
    ExecFailed = 3,
    /// `a` = wait status, `b` = CPU µs of all processes, `c` = the program's
    /// `ru_maxrss` kB, `d` = peak kB of the memory it started from, `e` = its
    /// VmHWM kB at exit.
    Done = 4,
    /// The program has exec'd (until then it shares the judge's memory).
    Running = 5,
}

impl ReportKind {
    const ALL: [ReportKind; 5] =
        [ReportKind::SetupFailed, ReportKind::Ready, ReportKind::ExecFailed, ReportKind::Done, ReportKind::Running];
}

/// Setup steps of init (and of the skeleton helper) other than mount steps.
/// Negative on the wire: a mount plan's steps are their index, from 0.
#[repr(i64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitStep {
    CreateExecPipe = -1,
    ForkProgram = -2,
    JoinMountNamespace = -3,
    JoinNetworkNamespace = -4,
    JoinUtsNamespace = -5,
    CopyMountNamespace = -6,
    SetHostname = -7,
    JoinIpcNamespace = -8,
}

impl InitStep {
    const ALL: [InitStep; 8] = [
        InitStep::CreateExecPipe,
        InitStep::ForkProgram,
        InitStep::JoinMountNamespace,
        InitStep::JoinNetworkNamespace,
        InitStep::JoinUtsNamespace,
        InitStep::CopyMountNamespace,
        InitStep::SetHostname,
        InitStep::JoinIpcNamespace,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            InitStep::CreateExecPipe => "create the exec pipe",
            InitStep::ForkProgram => "fork the program",
            InitStep::JoinMountNamespace => "join the slot's mount namespace",
            InitStep::JoinNetworkNamespace => "join the slot's network namespace",
            InitStep::JoinUtsNamespace => "join the slot's UTS namespace",
            InitStep::CopyMountNamespace => "copy the mount namespace",
            InitStep::SetHostname => "set the hostname",
            InitStep::JoinIpcNamespace => "join the slot's IPC namespace",
        }
    }
}

/// The step a setup failed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupStep {
    Init(InitStep),
    /// Index into the mount plan that was being carried out.
    Mount(usize),
}

impl SetupStep {
    const fn to_wire(self) -> i64 {
        match self {
            SetupStep::Init(step) => step as i64,
            SetupStep::Mount(index) => index as i64,
        }
    }

    fn from_wire(value: i64) -> Option<SetupStep> {
        if value >= 0 {
            return usize::try_from(value).ok().map(SetupStep::Mount);
        }
        InitStep::ALL.into_iter().find(|s| *s as i64 == value).map(SetupStep::Init)
    }
}

/// Stages of the program's own setup before exec, reported with `ExecFailed`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecStage {
    SetRlimits = 0,
    DropCapabilities = 1,
    SetGroups = 2,
    SetGid = 3,
    SetUid = 4,
    Chdir = 5,
    NoNewPrivs = 6,
    Seccomp = 7,
    Exec = 8,
}

impl ExecStage {
    const ALL: [ExecStage; 9] = [
        ExecStage::SetRlimits,
        ExecStage::DropCapabilities,
        ExecStage::SetGroups,
        ExecStage::SetGid,
        ExecStage::SetUid,
        ExecStage::Chdir,
        ExecStage::NoNewPrivs,
        ExecStage::Seccomp,
        ExecStage::Exec,
    ];

    fn from_wire(value: i64) -> Option<ExecStage> {
        ExecStage::ALL.into_iter().find(|s| *s as i64 == value)
    }
}

impl std::fmt::Display for ExecStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExecStage::SetRlimits => "set rlimits",
            ExecStage::DropCapabilities => "drop capabilities",
            ExecStage::SetGroups => "set groups",
            ExecStage::SetGid => "set gid",
            ExecStage::SetUid => "set uid",
            ExecStage::Chdir => "chdir",
            ExecStage::NoNewPrivs => "no_new_privs",
            ExecStage::Seccomp => "seccomp",
            ExecStage::Exec => "exec",
        })
    }
}

/// How the program ended, as init saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Done {
    /// The program's wait status.
    pub wait_status: i32,
    /// User + system CPU time of every process of the run, in µs.
    pub cpu_us: u64,
    /// The program's `ru_maxrss`, in kB.
    pub maxrss_kb: u64,
    /// Peak (VmHWM) of the memory the program started from, in kB; its
    /// `ru_maxrss` starts at least this high.
    pub inherited_peak_kb: u64,
    /// The program's VmHWM read at its exit, in kB (0 if not traced).
    pub exit_peak_kb: u64,
}

/// A decoded report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    SetupFailed { step: SetupStep, errno: i32 },
    Ready,
    ExecFailed { stage: ExecStage, errno: i32 },
    Running,
    Done(Done),
}

/// A record that is not a report this judge sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a report with unknown {field} {value}")]
pub struct ProtocolError {
    pub field: &'static str,
    pub value: i64,
}

/// One report on the wire. All fields are `i64`: no padding, any bytes valid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct WireReport {
    kind: i64,
    a: i64,
    b: i64,
    c: i64,
    d: i64,
    e: i64,
}

impl WireReport {
    /// Size of one record on the pipe.
    pub const SIZE: usize = std::mem::size_of::<WireReport>();

    const fn new(kind: ReportKind) -> WireReport {
        WireReport { kind: kind as i64, a: 0, b: 0, c: 0, d: 0, e: 0 }
    }

    pub const fn setup_failed(step: SetupStep, errno: i32) -> WireReport {
        WireReport { a: step.to_wire(), b: errno as i64, ..WireReport::new(ReportKind::SetupFailed) }
    }

    pub const fn ready() -> WireReport {
        WireReport::new(ReportKind::Ready)
    }

    pub const fn running() -> WireReport {
        WireReport::new(ReportKind::Running)
    }

    pub const fn exec_failed(stage: i32, errno: i32) -> WireReport {
        WireReport { a: errno as i64, b: stage as i64, ..WireReport::new(ReportKind::ExecFailed) }
    }

    pub const fn done(done: Done) -> WireReport {
        WireReport {
            a: done.wait_status as i64,
            b: done.cpu_us as i64,
            c: done.maxrss_kb as i64,
            d: done.inherited_peak_kb as i64,
            e: done.exit_peak_kb as i64,
            ..WireReport::new(ReportKind::Done)
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::bytes_of(self)
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::bytes_of_mut(self)
    }

    pub fn decode(&self) -> Result<Report, ProtocolError> {
        let kind = ReportKind::ALL.into_iter().find(|k| *k as i64 == self.kind);
        let kb = |v: i64| v.max(0) as u64;
        Ok(match kind.ok_or(ProtocolError { field: "kind", value: self.kind })? {
            ReportKind::SetupFailed => Report::SetupFailed {
                step: SetupStep::from_wire(self.a).ok_or(ProtocolError { field: "setup step", value: self.a })?,
                errno: self.b as i32,
            },
            ReportKind::Ready => Report::Ready,
            ReportKind::ExecFailed => Report::ExecFailed {
                stage: ExecStage::from_wire(self.b).ok_or(ProtocolError { field: "exec stage", value: self.b })?,
                errno: self.a as i32,
            },
            ReportKind::Running => Report::Running,
            ReportKind::Done => Report::Done(Done {
                wait_status: self.a as i32,
                cpu_us: kb(self.b),
                maxrss_kb: kb(self.c),
                inherited_peak_kb: kb(self.d),
                exit_peak_kb: kb(self.e),
            }),
        })
    }
}

/// What the program's side tells init over the exec pipe when it cannot
/// exec. Two `i32`s: no padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ExecFailure {
    pub errno: i32,
    pub stage: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(wire: WireReport) -> Report {
        let mut copy = WireReport::default();
        copy.as_bytes_mut().copy_from_slice(wire.as_bytes());
        copy.decode().unwrap()
    }

    #[test]
    fn every_report_survives_the_wire() {
        assert_eq!(round_trip(WireReport::ready()), Report::Ready);
        assert_eq!(round_trip(WireReport::running()), Report::Running);
        let step = SetupStep::Init(InitStep::CopyMountNamespace);
        assert_eq!(
            round_trip(WireReport::setup_failed(step, libc::EPERM)),
            Report::SetupFailed { step, errno: libc::EPERM }
        );
        let step = SetupStep::Mount(7);
        assert_eq!(round_trip(WireReport::setup_failed(step, 2)), Report::SetupFailed { step, errno: 2 });
        assert_eq!(
            round_trip(WireReport::exec_failed(ExecStage::Exec as i32, libc::ENOENT)),
            Report::ExecFailed { stage: ExecStage::Exec, errno: libc::ENOENT }
        );
        let done = Done { wait_status: 9, cpu_us: 1234, maxrss_kb: 5, inherited_peak_kb: 6, exit_peak_kb: 7 };
        assert_eq!(round_trip(WireReport::done(done)), Report::Done(done));
    }

    #[test]
    fn unknown_records_are_errors_not_panics() {
        let mut wire = WireReport { kind: 99, ..Default::default() };
        assert_eq!(wire.decode(), Err(ProtocolError { field: "kind", value: 99 }));
        wire = WireReport { kind: ReportKind::SetupFailed as i64, a: -100, ..Default::default() };
        assert_eq!(wire.decode(), Err(ProtocolError { field: "setup step", value: -100 }));
        wire = WireReport { kind: ReportKind::ExecFailed as i64, b: 42, ..Default::default() };
        assert_eq!(wire.decode(), Err(ProtocolError { field: "exec stage", value: 42 }));
    }
}
