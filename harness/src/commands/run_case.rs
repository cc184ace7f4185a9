//! `dualbench run-case` (hidden): measure one case in this process, for `dualbench run`, which
//! starts one such child per case so that a crash, a stack overflow, running out of memory or
//! a time-out ends only that case. It speaks the line protocol of
//! [`crate::measure::protocol`] on stdin and stdout.

use crate::error::{Error, Outcome, Result};
use crate::measure::child;
use crate::measure::protocol::CaseSpec;

/// Arguments of `dualbench run-case`.
#[derive(Debug, clap::Args)]
pub struct RunCaseArgs {
    /// The case and how to measure it, as the JSON of a `CaseSpec`.
    #[arg(long)]
    pub spec: String,
}

/// Run `dualbench run-case`.
pub fn execute(args: RunCaseArgs) -> Result<Outcome> {
    let spec: CaseSpec = serde_json::from_str(&args.spec)
        .map_err(|e| Error::usage(format!("invalid --spec for run-case: {e}")))?;
    child::serve(
        &spec,
        std::io::BufReader::new(std::io::stdin()),
        std::io::stdout(),
    )?;
    Ok(Outcome::Success)
}
