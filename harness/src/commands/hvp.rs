//! `dualbench hvp`: one Hessian-vector product of one workload under one strategy, printed as
//! one JSON object on stdout ([`crate::hessian`]).

use std::path::PathBuf;

use crate::cli::args;
use crate::commands::grad::CaseArgs;
use crate::error::{Error, Outcome, Result};
use crate::hessian::{compute_hvp, Direction, HvpRequest, Mode};
use crate::output;

/// Arguments of `dualbench hvp`.
#[derive(Debug, clap::Args)]
pub struct HvpArgs {
    /// The case.
    #[command(flatten)]
    pub case: CaseArgs,
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
}

/// Run `dualbench hvp`.
pub fn execute(args: HvpArgs) -> Result<Outcome> {
    let vector = if args.vector.as_os_str() == "random" {
        Direction::Random { seed: args.seed }
    } else {
        Direction::File(args.vector)
    };
    let case = args.case;
    let report = compute_hvp(&HvpRequest {
        workload: case.workload,
        strategy: case.strategy,
        mode: args.mode,
        size: case.size,
        params: case.params,
        input: case.input,
        cotangent: case.cotangent,
        vector,
        force: case.force,
        threads: case.threads,
    })?;
    let json = serde_json::to_string(&report)
        .map_err(|e| Error::usage(format!("cannot encode the result as JSON: {e}")))?;
    output::print(&(json + "\n"))?;
    Ok(Outcome::Success)
}
