//! `dualbench check`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

/// Run `dualbench check`.
pub fn execute(_args: CheckArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
