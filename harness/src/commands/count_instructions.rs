//! `dualbench count-instructions` (hidden): compute one case's gradients inside the window
//! that callgrind counts, for `run --instructions` ([`crate::measure::instructions`]).

use std::collections::BTreeMap;

use crate::error::{Error, Outcome, Result};
use crate::measure::instructions::{self, CountSpec};
use crate::select;

/// Arguments of `dualbench count-instructions`.
#[derive(Debug, clap::Args)]
pub struct CountInstructionsArgs {
    /// The workload.
    #[arg(long)]
    pub workload: String,
    /// Its size (default: the workload's).
    #[arg(long, value_parser = crate::cli::args::size, allow_hyphen_values = true)]
    pub size: Option<usize>,
    /// A workload parameter `key=value` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The strategy.
    #[arg(long)]
    pub strategy: String,
    /// Gradients inside the counted window.
    #[arg(long, value_parser = crate::cli::args::count, allow_hyphen_values = true)]
    pub gradients: u64,
    /// Stack of the evaluation thread, bytes.
    #[arg(long, value_parser = crate::cli::args::count, allow_hyphen_values = true)]
    pub stack_bytes: u64,
}

/// Run `dualbench count-instructions`.
pub fn execute(args: CountInstructionsArgs) -> Result<Outcome> {
    let workload = select::workload(&args.workload)?;
    let params: BTreeMap<String, f64> =
        select::resolve_params(workload, &select::params(&args.params)?)?;
    instructions::serve(&CountSpec {
        workload: args.workload,
        size: args.size.map(|s| s as u64),
        params,
        strategy: args.strategy,
        gradients: args.gradients,
        stack_bytes: usize::try_from(args.stack_bytes).map_err(|_| {
            Error::usage(format!(
                "--stack-bytes {}: more than this machine can address",
                args.stack_bytes
            ))
        })?,
    })?;
    Ok(Outcome::Success)
}
