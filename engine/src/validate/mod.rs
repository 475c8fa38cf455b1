//! Output validation: the default token compare (`default`), a package's own
//! Kattis output validator run after the submission (`custom`), and the same
//! validator talking to the submission while it runs (`interactive`); testlib
//! checkers and interactors (`testlib`).

pub mod custom;
mod default;
pub mod interactive;
pub mod testlib;

pub use custom::ValidatorError;
pub use default::{compare, parse_float, Flags, Outcome, SWITCH_FLAGS, TOLERANCE_FLAGS};
