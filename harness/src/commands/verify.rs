//! `dualbench verify`: every strategy against every other and against finite differences
//! ([`crate::verify`]).

use std::time::Instant;

use crate::commands::run::progress_bar;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::output::Format;
use crate::verify::{Plan, Request};

/// Arguments of `dualbench verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Workloads to check, comma separated or repeated (default: all).
    #[arg(long, value_name = "NAMES", num_args = 1..)]
    pub workloads: Vec<String>,
    /// Strategies to check, comma separated or repeated (default: all).
    #[arg(long, value_name = "NAMES", num_args = 1..)]
    pub strategies: Vec<String>,
    /// Sizes: `100,200` for every workload, `fdotprod=10,100` for one (default: each workload's
    /// verify sizes).
    #[arg(long, value_name = "SIZES", num_args = 1..)]
    pub sizes: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress bar and no messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `dualbench verify`.
pub fn execute(args: VerifyArgs) -> Result<Outcome> {
    let plan = Plan::new(&Request {
        workloads: args.workloads,
        strategies: args.strategies,
        sizes: args.sizes,
    })?;
    let bar = progress_bar(plan.cases.len(), "cases", args.quiet);
    let mut start = Instant::now();
    let report = plan.run(|case| {
        let size = case.size.map(|s| format!(" size {s}")).unwrap_or_default();
        let verdict = if case.passed { "ok" } else { "FAIL" };
        let line = format!(
            "verify {}{size}: {verdict} ({:.2} s)",
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
