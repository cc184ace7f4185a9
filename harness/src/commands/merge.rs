//! `dualbench merge`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {}

/// Run `dualbench merge`.
pub fn execute(_args: MergeArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
