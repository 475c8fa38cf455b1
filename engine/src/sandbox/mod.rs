//! One untrusted program in a fresh sandbox: namespaces, a read-only root,
//! an unprivileged uid, rlimits, seccomp, and a procfs monitor that measures
//! the run and enforces its limits.
//!
//! ```no_run
//! use engine::sandbox::{Command, Input, Limits};
//! let input = Input::from_bytes(b"1 2\n").unwrap();
//! let result = Command::new("/box/a.out")
//!     .workdir("/tmp/build", false)
//!     .stdin_input(&input)
//!     .limits(Limits::default())
//!     .run();
//! println!("{:?} {} ms", result.status, result.time_ms);
//! ```
//!
//! How a run goes, file by file:
//! - `command.rs`: the builder and its types; `run` prepares everything init
//!   needs (fds, C strings, the per-run mount plan, stacks) and clones init.
//! - `namespaces.rs`: which namespaces a slot keeps and which a run creates.
//! - `warm.rs`: builds a slot's kept namespaces and skeleton root once.
//! - `child.rs`: init and the program's side, between clone and exec (raw
//!   syscalls from `sys.rs` only, no allocation); `mounts.rs` and
//!   `seccomp.rs` supply the plans they carry out; `trace.rs` is how init
//!   traces the program to read its exact peak memory at exit.
//! - `protocol.rs`: the fixed-size reports init sends the host, decoded into
//!   named variants.
//! - `supervisor.rs`: the host's loop over those reports and the `monitor.rs`
//!   samples; stops the run at a limit and reaps init.
//! - `classify.rs`: what the supervisor saw becomes OK/TLE/MLE/OLE/RE/IE.
//! - `error.rs`: why a run could not be carried out (always an IE).
//! - `slot.rs`, `input.rs`, `stack.rs`: uids per concurrent sandbox, sealed
//!   inputs, guarded stacks.

mod child;
mod classify;
mod command;
mod error;
mod input;
mod monitor;
mod mounts;
mod namespaces;
mod protocol;
mod seccomp;
mod slot;
mod socket_memory;
mod stack;
mod supervisor;
mod sys;
mod trace;
mod warm;

pub use command::{check_dir, Bind, Command, Limits, RunResult, RunStatus, Stdio, WORKDIR};
pub use error::{Errno, SandboxError};
pub use input::Input;
pub use slot::{Slot, SlotError};
pub use warm::warm_slots;

/// What a run applies, read-only, for the bench's kernel floor
/// (`benches/sandbox`): the /proc masks, the /tmp inode cap, the rlimits and
/// the seccomp program the judge installs. Not an API.
#[doc(hidden)]
pub mod floor_parts {
    pub use super::command::rlimits;
    pub use super::mounts::{applied_proc_masks, TMP_INODES};
    pub use super::seccomp::program as seccomp_program;
}
