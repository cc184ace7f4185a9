//! `dualbench run-case`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench run-case`.
#[derive(Debug, clap::Args)]
pub struct RunCaseArgs {}

/// Run `dualbench run-case`.
pub fn execute(_args: RunCaseArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
