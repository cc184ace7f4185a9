//! `dualbench grad`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench grad`.
#[derive(Debug, clap::Args)]
pub struct GradArgs {}

/// Run `dualbench grad`.
pub fn execute(_args: GradArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
