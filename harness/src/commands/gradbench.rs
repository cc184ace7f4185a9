//! `dualbench gradbench`: be a GradBench tool — answer the protocol's messages on stdin and
//! stdout with `--strategy`'s derivatives ([`crate::gradbench`]), each evaluation in a worker
//! process.

use crate::error::{Error, Outcome, Result};
use crate::gradbench::{Isolated, Session, DEFAULT_WORK_CAP};
use crate::measure::machine::Machine;
use crate::measure::settings::default_memory_limit_mib;
use crate::select;

/// Arguments of `dualbench gradbench`.
#[derive(Debug, clap::Args)]
pub struct GradbenchArgs {
    /// The strategy that computes every derivative (see `dualbench list`); the value
    /// functions run on plain f64.
    #[arg(long, value_parser = crate::cli::args::strategy)]
    pub strategy: String,
    /// Refuse an evaluation whose predicted work (under any strategy, for all its `min_runs`)
    /// is beyond this many steps; 0 for no cap.
    #[arg(long, value_name = "STEPS", default_value_t = DEFAULT_WORK_CAP, value_parser = crate::cli::args::non_negative, allow_hyphen_values = true)]
    pub work_cap: f64,
    /// Cap on the worker process's live heap (default: half of this machine's memory); an
    /// evaluation beyond it fails and the session goes on. 0 for no cap.
    #[arg(long, value_name = "MIB", value_parser = crate::cli::args::cap_mib, allow_hyphen_values = true)]
    pub memory_limit_mib: Option<u64>,
}

/// Run `dualbench gradbench`.
pub fn execute(args: GradbenchArgs) -> Result<Outcome> {
    let strategy = select::strategy(&args.strategy)?;
    if strategy == strategies::StrategyKind::Primal {
        return Err(Error::usage(format!(
            "strategy `primal` computes no derivatives; choose one of the others: {}",
            strategies::StrategyKind::names()
        )));
    }
    if args.work_cap.is_nan() || args.work_cap < 0.0 {
        return Err(Error::usage(format!(
            "--work-cap must be a non-negative number of steps, not {}",
            args.work_cap
        )));
    }
    let memory_limit_mib = match args.memory_limit_mib {
        Some(mib) => mib,
        None => default_memory_limit_mib(&Machine::current())?,
    };
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        context: "finding the dualbench binary to run the worker process with".into(),
        source,
    })?;
    let evaluator = Isolated::new(exe, strategy, args.work_cap, memory_limit_mib);
    Session::new(strategy, evaluator)
        .serve(std::io::stdin().lock(), std::io::stdout().lock())
        .map_err(|source| Error::Io {
            context: "speaking the GradBench protocol on stdin and stdout".into(),
            source,
        })?;
    Ok(Outcome::Success)
}
