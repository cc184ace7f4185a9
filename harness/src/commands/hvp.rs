//! `dualbench hvp`: one Hessian-vector product of one workload under one strategy, printed as
//! one JSON object on stdout ([`crate::hessian`]).

use std::path::PathBuf;

use crate::cli::args;
use crate::error::{Error, Outcome, Result};
use crate::hessian::{compute_hvp, Direction, HvpRequest, Mode};
use crate::output;

/// Arguments of `dualbench hvp`.
#[derive(Debug, clap::Args)]
pub struct HvpArgs {
    /// The workload (see `dualbench list workloads`).
    #[arg(long, value_parser = args::workload)]
    pub workload: String,
    /// The strategy (see `dualbench list strategies`).
    #[arg(long, value_parser = args::strategy)]
    pub strategy: String,
    /// How the derivatives are nested: `rev-fwd` is the strategy over forward mode (reverse
    /// over forward; forward over forward under `forward`).
    #[arg(long, value_enum, default_value_t = Mode::RevFwd)]
    pub mode: Mode,
    /// The direction v: `random` (uniform on [-1, 1]^n from --seed), or FILE, a JSON array of
    /// n numbers (`-` = stdin).
    #[arg(long, value_name = "FILE|-|random", default_value = "random", value_parser = args::path)]
    pub vector: PathBuf,
    /// The seed of `--vector random`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
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
    /// Read the output weights w from FILE (`-` = stdin): the product is with the Hessian of
    /// w^T f. Required for a workload with several outputs; 1 for one output.
    #[arg(long, value_name = "FILE", value_parser = args::path)]
    pub cotangent: Option<PathBuf>,
    /// Run even when the predicted work is beyond `verify`'s cap.
    #[arg(long)]
    pub force: bool,
    /// Evaluate in a pool of N threads (1 to 256).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = args::thread_count,
        allow_hyphen_values = true
    )]
    pub threads: usize,
}

/// Run `dualbench hvp`.
pub fn execute(args: HvpArgs) -> Result<Outcome> {
    let vector = if args.vector.as_os_str() == "random" {
        Direction::Random { seed: args.seed }
    } else {
        Direction::File(args.vector)
    };
    let report = compute_hvp(&HvpRequest {
        workload: args.workload,
        strategy: args.strategy,
        mode: args.mode,
        size: args.size,
        params: args.params,
        input: args.input,
        cotangent: args.cotangent,
        vector,
        force: args.force,
        threads: args.threads,
    })?;
    let json = serde_json::to_string(&report)
        .map_err(|e| Error::usage(format!("cannot encode the result as JSON: {e}")))?;
    output::print(&(json + "\n"))?;
    Ok(Outcome::Success)
}
