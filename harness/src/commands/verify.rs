//! `dualbench verify`: every strategy against every other and against finite differences
//! ([`crate::verify`]), on the workloads or, with `--random`, on seeded random programs
//! ([`crate::verify::random`]).

use std::time::Instant;

use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::output::{progress_bar, Format};
use crate::select;
use crate::verify::random::RandomCheck;
use crate::verify::{Plan, Request};

/// Arguments of `dualbench verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Workloads to check, comma separated or repeated (default: all).
    #[arg(long, value_name = "NAMES", num_args = 1.., value_parser = crate::cli::args::workload_list)]
    pub workloads: Vec<String>,
    /// Strategies to check, comma separated or repeated (default: all).
    #[arg(long, value_name = "NAMES", num_args = 1.., value_parser = crate::cli::args::strategy_list)]
    pub strategies: Vec<String>,
    /// Sizes: `100,200` for every workload, `fdotprod=10,100` for one (default: each workload's
    /// verify sizes).
    #[arg(long, value_name = "SIZES", num_args = 1.., value_parser = crate::cli::args::sizes, allow_negative_numbers = true)]
    pub sizes: Vec<String>,
    /// Check N seeded random programs (N at least 1) instead of the workloads (default
    /// strategies: dualbench's own; the peers only when named, see docs/peers.md).
    #[arg(long, value_name = "N", conflicts_with_all = ["workloads", "sizes"], value_parser = crate::cli::args::count_usize, allow_hyphen_values = true)]
    pub random: Option<usize>,
    /// The seed of `--random` (default 0); only with `--random`.
    #[arg(long, value_name = "S", value_parser = crate::cli::args::seed, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Run every evaluation in a pool of N threads (1 to 256), so that the parallel strategies
    /// run the fork-join workloads' `join`s in parallel.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_threads, conflicts_with = "random", allow_hyphen_values = true)]
    pub threads: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress bar and no messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Check second derivatives instead of first: every strategy's Hessian-vector product
    /// along a fixed random direction against every other's and against finite differences of
    /// first derivatives, and the Hessian's symmetry.
    #[arg(long, conflicts_with = "random")]
    pub second_order: bool,
}

fn parse_threads(text: &str) -> std::result::Result<usize, String> {
    select::thread_count(text).map_err(|e| e.to_string())
}

/// Run `dualbench verify`.
pub fn execute(args: VerifyArgs) -> Result<Outcome> {
    match args.random {
        Some(programs) => execute_random(programs, args),
        None if args.seed.is_some() => Err(Error::usage(
            "--seed seeds the random programs of --random N, and there are none without it: \
             add --random N (e.g. --random 100 --seed 7), or leave out --seed",
        )),
        None => execute_workloads(args),
    }
}

/// `verify --random N`: the random programs, reported as text.
fn execute_random(programs: usize, args: VerifyArgs) -> Result<Outcome> {
    if args.format != Format::Table {
        return Err(Error::usage(
            "`verify --random` prints a text report: `--format` applies to the workload cases",
        ));
    }
    let check = RandomCheck::new(programs, args.seed.unwrap_or(0), &args.strategies)?;
    let bar = progress_bar(programs, "programs", args.quiet);
    let report = check.run(|failure| {
        if let (Some(failure), false) = (failure, args.quiet) {
            let line = format!(
                "random program {} (program seed {}) disagrees; shrunk to {} operations",
                failure.index,
                failure.program_seed,
                failure.shrunk.operation_count()
            );
            bar.suspend(|| output::note(&line));
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    output::print(&report.render())?;
    Ok(if report.passed() {
        Outcome::Success
    } else {
        Outcome::VerdictFailed
    })
}

/// `verify` on the workload cases.
fn execute_workloads(args: VerifyArgs) -> Result<Outcome> {
    let second_order = args.second_order;
    let plan = Plan::new(&Request {
        workloads: args.workloads,
        strategies: args.strategies,
        sizes: args.sizes,
        threads: args.threads,
        second_order: args.second_order,
    })?;
    let bar = progress_bar(plan.cases.len(), "cases", args.quiet);
    let mut start = Instant::now();
    let report = plan.run(|case| {
        let size = case.size.map(|s| format!(" size {s}")).unwrap_or_default();
        let verdict = if case.passed { "ok" } else { "FAIL" };
        let order = if second_order { " (second order)" } else { "" };
        let line = format!(
            "verify {}{size}{order}: {verdict} ({:.2} s)",
            case.workload,
            start.elapsed().as_secs_f64()
        );
        if !args.quiet {
            bar.suspend(|| output::note(&line));
        }
        bar.inc(1);
        start = Instant::now();
    });
    bar.finish_and_clear();
    let text = match args.format.table_style() {
        None => {
            serde_json::to_string_pretty(&report)
                .map_err(|e| Error::usage(format!("cannot encode the report as JSON: {e}")))?
                + "\n"
        }
        Some(style) => report.render(style),
    };
    output::print(&text)?;
    Ok(if report.passed {
        Outcome::Success
    } else {
        Outcome::VerdictFailed
    })
}
