//! `dualbench grad`: one evaluation of one workload under one strategy, printed as one JSON
//! object on stdout ([`crate::gradient`]).

use std::path::PathBuf;

use crate::cli::args;
use crate::error::{Error, Outcome, Result};
use crate::gradient::{compute, Request};
use crate::output;

/// The case that `grad` and `hvp` evaluate: the workload, the strategy, the point, the output
/// weights and the pool.
#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    /// The workload (see `dualbench list workloads`).
    #[arg(long, value_parser = args::workload)]
    pub workload: String,
    /// The strategy (see `dualbench list strategies`).
    #[arg(long, value_parser = args::strategy)]
    pub strategy: String,
    /// The workload's primary size (default: the workload's default; none for fixed-size
    /// workloads). Scientific notation such as 1e4 is accepted.
    #[arg(long, value_parser = args::size, allow_hyphen_values = true)]
    pub size: Option<usize>,
    /// Further workload parameters, `key=value` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", num_args = 1.., value_parser = args::param)]
    pub params: Vec<String>,
    /// Read the input vector from FILE, a JSON array of numbers (`-` = stdin), instead of the
    /// workload's generator.
    #[arg(long, value_name = "FILE", value_parser = args::path)]
    pub input: Option<PathBuf>,
    /// Read an output cotangent w from FILE, a JSON array of numbers (`-` = stdin): `grad`
    /// prints the vector-Jacobian product w^T J as `gradient`, `hvp` the product with the
    /// Hessian of w^T f (required there for a workload with several outputs).
    #[arg(long, value_name = "FILE", value_parser = args::path)]
    pub cotangent: Option<PathBuf>,
    /// Run even when the predicted work is beyond `verify`'s cap (e.g. `naive` on a large
    /// sharing workload, which would not finish).
    #[arg(long)]
    pub force: bool,
    /// Evaluate in a pool of N threads (1 to 256): a parallel strategy then runs a fork-join
    /// workload's `join`s in parallel.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = args::thread_count,
        allow_hyphen_values = true
    )]
    pub threads: usize,
}

/// Arguments of `dualbench grad`.
#[derive(Debug, clap::Args)]
pub struct GradArgs {
    /// The case.
    #[command(flatten)]
    pub case: CaseArgs,
    /// Also print the Hessian of the output (of w^T f with --cotangent) as `hessian`: n
    /// Hessian-vector products under the strategy, for n up to 1000.
    #[arg(long)]
    pub hessian: bool,
}

/// Run `dualbench grad`.
pub fn execute(args: GradArgs) -> Result<Outcome> {
    let case = args.case;
    let report = compute(&Request {
        workload: case.workload,
        strategy: case.strategy,
        size: case.size,
        params: case.params,
        input: case.input,
        cotangent: case.cotangent,
        force: case.force,
        threads: case.threads,
        hessian: args.hessian,
    })?;
    let json = serde_json::to_string(&report)
        .map_err(|e| Error::usage(format!("cannot encode the result as JSON: {e}")))?;
    output::print(&(json + "\n"))?;
    Ok(Outcome::Success)
}
