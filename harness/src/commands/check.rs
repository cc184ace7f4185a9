//! `dualbench check`: decide the complexity claims of a claims file.
//!
//! - `--results DIR|FILE` judges an existing results file (a directory holding `results.json`,
//!   a `results.json`, or a `results.csv`): every claim, counters and timings, from its rows.
//! - Without `--results`, the counter claims are decided by evaluating exactly the cases they
//!   need in-process ([`crate::check::evaluate`]); counters are deterministic, so this is cheap
//!   and repeatable. The timing, overhead and memory claims are decided by measuring their
//!   cases in child processes with `dualbench run`'s machinery ([`crate::check::timing`]).
//! - `--counters-only` decides only the counter claims, whatever the source: what CI runs.
//!
//! The table has one row per claim (the series that decided it) or, with `--every-series`,
//! one row per series; `--format json` prints the full report. Exit code 0 when no claim
//! fails (inconclusive claims do not fail), 1 when one fails, 2 on bad input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use strategies::StrategyKind;
use wildmatch::WildMatch;

use crate::check::claims::{Claim, ClaimsFile};
use crate::check::evaluate::evaluate_counters;
use crate::check::report::Report;
use crate::check::series::Observation;
use crate::check::timing::measure_timing;
use crate::check::Source;
use crate::commands::list::Format;
use crate::error::{Error, Outcome, Result};
use crate::results::{self, CaseResult, ResultsFile};

/// Arguments of `dualbench check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The claims file.
    #[arg(long, value_name = "FILE", default_value = "claims.toml")]
    pub claims: PathBuf,
    /// Judge this results file (a directory holding results.json, or a .json / .csv file)
    /// instead of evaluating counter cases in-process.
    #[arg(long, value_name = "DIR|FILE")]
    pub results: Option<PathBuf>,
    /// Decide only the counter claims (exact); report every timing, overhead and memory claim
    /// as inconclusive without measuring anything.
    #[arg(long)]
    pub counters_only: bool,
    /// Only the claims whose id matches one of these glob patterns (repeatable, or
    /// comma-separated).
    #[arg(long = "claim", value_name = "ID")]
    pub only: Vec<String>,
    /// One table row per series (workload and strategy) instead of one per claim.
    #[arg(long)]
    pub every_series: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Run `dualbench check`.
pub fn execute(args: CheckArgs) -> Result<Outcome> {
    let mut claims = ClaimsFile::read(&args.claims)?;
    select_claims(&mut claims, &args.only)?;
    let strategy_names: BTreeSet<String> = StrategyKind::ALL
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    let mut workload_names: BTreeSet<String> = workloads::all()
        .iter()
        .map(|w| w.name().to_string())
        .collect();

    let (observations, source) = match &args.results {
        Some(path) => {
            let rows = read_rows(path)?;
            // A results file from another commit may hold workloads since renamed.
            workload_names.extend(rows.iter().map(|r| r.workload.clone()));
            check_names(&claims, &strategy_names, &workload_names)?;
            let observations = rows.iter().map(Observation::from).collect();
            (observations, format!("results file {}", path.display()))
        }
        None => {
            check_names(&claims, &strategy_names, &workload_names)?;
            eprintln!("check: evaluating counter cases in-process");
            let mut observations = evaluate_counters(&claims)?;
            let mut source = "counters evaluated in-process".to_string();
            if !args.counters_only {
                observations.extend(measure_timing(&claims, |c| !c.metric.is_exact())?);
                source.push_str(", timings measured in child processes (quick suite settings)");
            }
            (observations, source)
        }
    };
    let unmeasured = |claim: &Claim| {
        (args.counters_only && !claim.metric.is_exact())
            .then(|| "timing claims skipped (--counters-only)".to_string())
    };
    let from = if args.results.is_some() {
        Source::Results
    } else {
        Source::InProcess
    };
    let report = crate::check::judge(&claims, &observations, from, unmeasured, source);
    match args.format.table_style() {
        Some(style) => print!("{}", report.render(style, args.every_series)),
        None => println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .map_err(|e| Error::usage(format!("cannot encode the report as JSON: {e}")))?
        ),
    }
    eprintln!("check: {}", report.summary_line());
    Ok(outcome(&report))
}

/// The exit outcome of a report: a failed claim fails the command.
fn outcome(report: &Report) -> Outcome {
    if report.any_failed() {
        Outcome::VerdictFailed
    } else {
        Outcome::Success
    }
}

fn check_names(
    claims: &ClaimsFile,
    strategies: &BTreeSet<String>,
    workloads: &BTreeSet<String>,
) -> Result<()> {
    claims
        .check_names(strategies, workloads)
        .map_err(|e| Error::usage(e.to_string()))
}

/// Keep only the claims whose id matches one of `patterns` (all when none given).
fn select_claims(claims: &mut ClaimsFile, patterns: &[String]) -> Result<()> {
    let patterns: Vec<&str> = patterns
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if patterns.is_empty() {
        return Ok(());
    }
    for p in &patterns {
        let m = WildMatch::new(p);
        if !claims.claims.iter().any(|c| m.matches(&c.id)) {
            let ids: Vec<&str> = claims.claims.iter().map(|c| c.id.as_str()).collect();
            return Err(Error::usage(format!(
                "--claim `{p}` matches no claim; claims: {}",
                ids.join(", ")
            )));
        }
    }
    let matchers: Vec<WildMatch> = patterns.iter().map(|p| WildMatch::new(p)).collect();
    claims
        .claims
        .retain(|c| matchers.iter().any(|m| m.matches(&c.id)));
    Ok(())
}

/// The rows of a results file: a `.csv` file, or a `results.json` (or a directory holding one).
fn read_rows(path: &Path) -> Result<Vec<CaseResult>> {
    if path.extension().is_some_and(|e| e == "csv") {
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            context: format!("reading results file {}", path.display()),
            source,
        })?;
        results::csv::read(std::io::BufReader::new(file))
            .map_err(|e| Error::usage(format!("{}: {e}", path.display())))
    } else {
        Ok(ResultsFile::read(path)?.rows)
    }
}
