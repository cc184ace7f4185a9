//! Complexity claims: turning sentences like "naive reverse AD is exponential in the depth of
//! `square-chain`" into measurements with a verdict and an interval.
//!
//! The pipeline, one module per step:
//!
//! 1. [`claims`]: the committed claims file (`claims.toml`), parsed and validated before any
//!    work: selection, metric, x-axis, growth model, tolerance.
//! 2. A results file (every metric), or [`evaluate`] (exact metrics, in-process) and
//!    [`timing`] (measured metrics, in child processes) produce [`observation::Observation`]s:
//!    one per case.
//! 3. [`series`]: a claim's observations become one series of (x, y) points per (workload,
//!    strategy, parameters).
//! 4. [`fit`]: least-squares growth fits over the largest sizes, intervals, local slopes.
//! 5. [`verdict`]: each series and then each claim is judged: holds, fails or inconclusive.
//! 6. [`report`]: the table (plain, Markdown) or JSON that `dualbench check` prints.

pub mod claims;
pub mod evaluate;
pub mod fit;
pub mod observation;
pub mod report;
pub mod series;
pub mod timing;
pub mod verdict;

use std::collections::BTreeSet;
use std::path::PathBuf;

use strategies::StrategyKind;
use wildmatch::WildMatch;

use crate::error::{Error, Outcome, Result};
use crate::results::ResultsFile;
use claims::{Claim, ClaimsFile};
use observation::Observation;
use report::Report;
use series::series_for;
use verdict::judge_claim;

/// What `dualbench check` was asked to decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The claims file.
    pub claims: PathBuf,
    /// A results file to judge (else counters are evaluated in-process and timings measured).
    pub results: Option<PathBuf>,
    /// Decide only the exact (counter) claims; the others are `skipped`.
    pub counters_only: bool,
    /// Glob patterns of the claim ids to decide (all when empty).
    pub only: Vec<String>,
}

/// Decide the claims `request` names. `on_case(name)` is called before each in-process or
/// measured case (for progress); `cases(total)` once with their number, when known.
pub fn run(
    request: &Request,
    cases: impl FnOnce(usize),
    on_case: impl FnMut(&str) + Send,
) -> Result<Report> {
    let mut claims = ClaimsFile::read(&request.claims)?;
    select_claims(&mut claims, &request.only)?;
    claims
        .check_counters()
        .map_err(|e| Error::usage(e.to_string()))?;
    let strategy_names: BTreeSet<String> = StrategyKind::ALL
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    let mut workload_names: BTreeSet<String> = workloads::all()
        .iter()
        .map(|w| w.name().to_string())
        .collect();
    let (observations, source, from) = match &request.results {
        Some(path) => {
            let rows = ResultsFile::read_rows(path)?;
            // A results file from another commit may hold workloads since renamed.
            workload_names.extend(rows.iter().map(|r| r.workload.clone()));
            check_names(&claims, &strategy_names, &workload_names)?;
            let observations: Vec<Observation> = rows.iter().map(Observation::from).collect();
            (
                observations,
                format!("results file {}", path.display()),
                Source::Results,
            )
        }
        None => {
            check_names(&claims, &strategy_names, &workload_names)?;
            let exact = evaluate::plan_cases(&claims, |c| c.metric.is_exact()).len();
            let measured = if request.counters_only {
                0
            } else {
                evaluate::plan_cases(&claims, |c| !c.metric.is_exact()).len()
            };
            cases(exact + measured);
            let mut on_case = on_case;
            let mut observations = evaluate::evaluate_counters(&claims, &mut on_case)?;
            let mut source = "counters evaluated in-process".to_string();
            if !request.counters_only {
                observations.extend(timing::measure_timing(
                    &claims,
                    |c| !c.metric.is_exact(),
                    &mut on_case,
                )?);
                source.push_str(", timings measured in child processes (quick suite settings)");
            }
            (observations, source, Source::InProcess)
        }
    };
    let skipped = |claim: &Claim| {
        (request.counters_only && !claim.metric.is_exact())
            .then(|| "not evaluated: --counters-only decides only the counter claims".to_string())
    };
    Ok(judge(&claims, &observations, from, skipped, source))
}

/// The exit outcome of a report: a claim without data is bad input (2), a failed claim a
/// failed verdict (1), and so is an inconclusive one when `strict`.
pub fn outcome(report: &Report, strict: bool) -> Outcome {
    if report.summary.errors > 0 {
        Outcome::BadInput
    } else if report.summary.fails > 0 || (strict && report.summary.inconclusive > 0) {
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

/// Where the observations that [`judge`] reads came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A results file: every size it holds is used.
    Results,
    /// In-process evaluation of every claim's cases at once: each claim uses only the sizes it
    /// asked for ([`evaluate::requested_sizes`]), not those evaluated for other claims.
    InProcess,
}

/// Judge every claim of `claims` on `observations`. `skipped(claim)` says why a claim was
/// deliberately not evaluated (e.g. a timing claim under `--counters-only`); such a claim is
/// not looked up in `observations`. `description` says where the observations came from, for
/// the report.
pub fn judge(
    claims: &ClaimsFile,
    observations: &[Observation],
    source: Source,
    skipped: impl Fn(&Claim) -> Option<String>,
    description: String,
) -> Report {
    let confidence = claims.settings.confidence;
    let outcomes = claims
        .claims
        .iter()
        .map(|claim| {
            if let Some(why) = skipped(claim) {
                return judge_claim(claim, confidence, Vec::new(), Some(&why));
            }
            let series = match source {
                Source::Results => series_for(claim, observations),
                Source::InProcess => {
                    let own: Vec<Observation> = observations
                        .iter()
                        .filter(|o| is_requested(claim, o))
                        .cloned()
                        .collect();
                    series_for(claim, &own)
                }
            };
            judge_claim(claim, confidence, series, None)
        })
        .collect();
    Report::new(description, confidence, outcomes)
}

/// Whether `claim` asked for the case of `o` (a registered workload at one of its sizes).
fn is_requested(claim: &Claim, o: &Observation) -> bool {
    let (Ok(w), Some(size)) = (workloads::find(&o.workload), o.size) else {
        return false;
    };
    usize::try_from(size).is_ok_and(|s| evaluate::requested_sizes(claim, w).contains(&s))
}
