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

mod child;
mod command;
mod input;
mod monitor;
mod mounts;
mod seccomp;
mod slot;
mod socket_memory;
mod sys;
mod warm;

pub use command::{check_dir, Bind, Command, Limits, RunResult, RunStatus, Stdio, WORKDIR};
pub use input::Input;
pub use slot::{Slot, SlotError};
pub use warm::warm_slots;
