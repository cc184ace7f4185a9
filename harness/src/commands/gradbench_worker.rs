//! `dualbench gradbench-worker` (hidden): the worker process of `dualbench gradbench`, which
//! sends it one evaluation request per line and reads one reply per line
//! ([`crate::gradbench::worker`]).

use crate::error::{Error, Outcome, Result};
use crate::gradbench::worker::{exit_when_orphaned, serve, InProcess};
use crate::measure::alloc;
use crate::select;

/// Arguments of `dualbench gradbench-worker`.
#[derive(Debug, clap::Args)]
pub struct GradbenchWorkerArgs {
    /// The strategy of the derivatives.
    #[arg(long)]
    pub strategy: String,
    /// The work cap (see `dualbench gradbench --work-cap`).
    #[arg(long)]
    pub work_cap: f64,
    /// The cap on live heap bytes, MiB (0 for none).
    #[arg(long)]
    pub memory_limit_mib: u64,
}

/// Run `dualbench gradbench-worker`.
pub fn execute(args: GradbenchWorkerArgs) -> Result<Outcome> {
    let strategy = select::strategy(&args.strategy)?;
    exit_when_orphaned();
    alloc::set_limit(usize::try_from(args.memory_limit_mib << 20).unwrap_or(usize::MAX));
    let mut evaluator = InProcess {
        strategy,
        work_cap: args.work_cap,
    };
    serve(
        &mut evaluator,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
    )
    .map_err(|source| Error::Io {
        context: "answering gradbench requests on stdin and stdout".into(),
        source,
    })?;
    Ok(Outcome::Success)
}
