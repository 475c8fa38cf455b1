//! `judge grade`, `judge verify` and `judge languages`. STUB, pending.

use std::process::ExitCode;

use clap::Args;

use crate::Failure;

#[derive(Args)]
pub struct GradeArgs {}
#[derive(Args)]
pub struct VerifyArgs {}
#[derive(Args)]
pub struct LanguagesArgs {}

pub fn grade(_args: GradeArgs) -> Result<ExitCode, Failure> {
    Err(Failure::internal("not built yet"))
}
pub fn verify(_args: VerifyArgs) -> Result<ExitCode, Failure> {
    Err(Failure::internal("not built yet"))
}
pub fn languages(_args: LanguagesArgs) -> Result<ExitCode, Failure> {
    Err(Failure::internal("not built yet"))
}
