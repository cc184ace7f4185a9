//! `dualbench list`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

/// Run `dualbench list`.
pub fn execute(_args: ListArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
