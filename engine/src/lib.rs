//! The judge engine: sandbox, monitor, languages, problem packages,
//! validators and grading. `judge-api` holds no sandbox logic; it calls this.

pub mod grade;
pub mod language;
pub mod limits;
pub mod package_fs;
pub mod problem;
pub mod sandbox;
pub mod scratch;
pub mod validate;
pub mod verdict;
pub mod verify;

pub use verdict::Verdict;
