//! `dualbench run`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Run `dualbench run`.
pub fn execute(_args: RunArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
