//! `dualbench verify`: placeholder.

use crate::error::{Error, Outcome, Result};

/// Arguments of `dualbench verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

/// Run `dualbench verify`.
pub fn execute(_args: VerifyArgs) -> Result<Outcome> {
    Err(Error::usage("not implemented yet"))
}
