//! `judge serve`: the HTTP API. STUB, pending.

use std::process::ExitCode;

use clap::Args;

use crate::Failure;

#[derive(Args)]
pub struct ServeArgs {}

pub fn main(_args: ServeArgs) -> Result<ExitCode, Failure> {
    Err(Failure::internal("serve is not built yet"))
}
