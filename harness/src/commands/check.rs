//! `dualbench check`: decide the complexity claims of a claims file ([`crate::check`]).
//!
//! - `--results DIR|FILE` judges an existing results file (a directory holding `results.json`,
//!   a `results.json`, or a `results.csv`): every claim, counters and timings, from its rows.
//! - Without `--results`, the counter claims (growth laws and `same as` comparisons) are
//!   decided by evaluating exactly the cases they need in-process; the timing, overhead and
//!   memory claims by measuring their cases in child processes with `dualbench run`'s
//!   machinery. Speedup claims compare thread counts, which only a results file of `dualbench
//!   run --threads 1,2` holds: without `--results` they are skipped.
//! - `--counters-only` decides only the counter claims (the others are `skipped`): what CI
//!   runs, with `--strict`.
//!
//! Exit code 0 when no claim fails, 1 when one fails (or, with `--strict`, is inconclusive),
//! 2 on bad input — which includes a claim whose workloads and strategies match no case of the
//! data.

use std::path::PathBuf;

use crate::check::{self, Request};
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::output::{progress_bar, Format};
use crate::results;

/// Arguments of `dualbench check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The claims file.
    #[arg(long, value_name = "FILE", default_value = "claims.toml", value_parser = crate::cli::args::path)]
    pub claims: PathBuf,
    /// Judge this results file (a directory holding results.json, or a .json / .csv file)
    /// instead of evaluating counter cases in-process.
    #[arg(long, value_name = "DIR|FILE", value_parser = crate::cli::args::path)]
    pub results: Option<PathBuf>,
    /// Decide only the counter claims (exact); report every timing, overhead and memory claim
    /// as skipped without measuring anything.
    #[arg(long)]
    pub counters_only: bool,
    /// Fail (exit 1) also when a claim is inconclusive.
    #[arg(long)]
    pub strict: bool,
    /// Only the claims whose id matches one of these glob patterns (repeatable, or
    /// comma-separated).
    #[arg(long = "claim", value_name = "ID", value_parser = crate::cli::args::name_list)]
    pub only: Vec<String>,
    /// One table row per series (workload and strategy) instead of one per claim.
    #[arg(long)]
    pub every_series: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress bar and no messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `dualbench check`.
pub fn execute(args: CheckArgs) -> Result<Outcome> {
    if let Some(path) = args
        .results
        .as_deref()
        .filter(|p| results::is_unchecked_csv(p))
    {
        if !args.quiet {
            output::note(&format!("check: {}", results::unchecked_csv_note(path)));
        }
    }
    let request = Request {
        claims: args.claims,
        results: args.results,
        counters_only: args.counters_only,
        only: args.only,
    };
    let bar = progress_bar(0, "cases", args.quiet);
    let report = check::run(
        &request,
        |total| bar.set_length(total as u64),
        |case| {
            bar.set_message(case.to_string());
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    let report = report?;
    let text = match args.format.table_style() {
        Some(style) => report.render(style, args.every_series),
        None => {
            serde_json::to_string_pretty(&report)
                .map_err(|e| Error::usage(format!("cannot encode the report as JSON: {e}")))?
                + "\n"
        }
    };
    output::print(&text)?;
    if !args.quiet {
        output::note(&format!("check: {}", report.summary_line()));
    }
    Ok(check::outcome(&report, args.strict))
}
