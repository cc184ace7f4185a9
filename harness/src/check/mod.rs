//! Complexity claims: turning sentences like "naive reverse AD is exponential in the depth of
//! `square-chain`" into measurements with a verdict and an interval.
//!
//! The pipeline, one module per step:
//!
//! 1. [`claims`]: the committed claims file (`claims.toml`), parsed and validated before any
//!    work: selection, metric, model (a growth law with its x-axis and tolerance, `same as`
//!    another strategy, or `at least` a speedup: a number, or a share of the bound of the job
//!    graph).
//! 2. A results file (every metric), or [`evaluate`] (exact metrics, in-process) and
//!    [`timing`] (measured metrics, in child processes) produce [`observation::Observation`]s:
//!    one per case.
//! 3. [`series`]: a claim's observations are grouped into one series per (workload, strategy,
//!    parameters, thread count); a growth claim's become (x, y) points.
//! 4. [`fit`]: least-squares growth fits over the largest sizes, intervals, local slopes;
//!    [`equality`]: the counters of a `same as` claim compared case by case; [`speedup`]: the
//!    ratio of medians between thread counts, with a bootstrap interval.
//! 5. [`verdict`]: each series and then each claim is judged: holds, fails or inconclusive.
//! 6. [`report`]: the table (plain, Markdown) or JSON that `dualbench check` prints.

pub mod claims;
pub mod equality;
pub mod evaluate;
pub mod fit;
pub mod observation;
pub mod report;
pub mod series;
pub mod speedup;
pub mod timing;
pub mod verdict;

use std::collections::BTreeSet;
use std::path::PathBuf;

use strategies::StrategyKind;
use wildmatch::WildMatch;

use crate::error::{Error, Outcome, Result};
use crate::results::{CaseResult, ResultsFile};
use claims::{Claim, ClaimsFile, Expectation, Metric};
use equality::judge_equality;
use observation::{params_key, Observation};
use report::Report;
use series::series_for;
use speedup::judge_speedup;
use verdict::{judge_claim, judge_series, skipped_claim};

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
    let file = request.claims.display().to_string();
    let (observations, source, from) = match &request.results {
        Some(path) => {
            let rows = ResultsFile::read_rows(path)?;
            check_claims(&claims, &file, &rows)?;
            let observations: Vec<Observation> = rows.iter().map(Observation::from).collect();
            (
                observations,
                format!("results file {}", path.display()),
                Source::Results,
            )
        }
        None => {
            check_claims(&claims, &file, &[])?;
            let exact = evaluate::plan_cases(&claims, |c| c.metric.is_exact()).len();
            let measured = if request.counters_only {
                0
            } else {
                evaluate::plan_cases(&claims, measured_here).len()
            };
            cases(exact + measured);
            let mut on_case = on_case;
            let mut observations = evaluate::evaluate_counters(&claims, &mut on_case)?;
            let mut source = "counters evaluated in-process".to_string();
            if !request.counters_only {
                observations.extend(timing::measure_timing(
                    &claims,
                    measured_here,
                    &mut on_case,
                )?);
                source.push_str(", timings measured in child processes (quick suite settings)");
            }
            (observations, source, Source::InProcess)
        }
    };
    let skipped = |claim: &Claim| {
        if request.counters_only && !claim.metric.is_exact() {
            Some("not evaluated: --counters-only decides only the counter claims".to_string())
        } else if from == Source::InProcess && claim.metric.across_threads() {
            let t = match claim.metric {
                Metric::Speedup(Some(t)) => t,
                _ => 2,
            };
            Some(format!(
                "not evaluated: a speedup is decided from a results file with rows at several \
                 thread counts; run `dualbench run --threads 1,{t}` and `dualbench check \
                 --results DIR`"
            ))
        } else {
            None
        }
    };
    Ok(judge(&claims, &observations, from, skipped, source))
}

/// Whether `check` measures the cases of `claim` itself when given no results file: the
/// measured claims, except those comparing thread counts (which `check` does not vary).
fn measured_here(claim: &Claim) -> bool {
    !claim.metric.is_exact() && !claim.metric.across_threads()
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

/// Check the claims of `file` against what this dualbench knows: every counter a claim names is
/// reported by its strategies, every parameter is one of its workloads', and every strategy
/// and workload pattern matches a name (a registered workload, or one of `rows`: a results
/// file from another commit may hold workloads since renamed). A typo is then an input error
/// naming the valid names, never a claim that silently has no data.
pub fn check_claims(claims: &ClaimsFile, file: &str, rows: &[CaseResult]) -> Result<()> {
    let strategy_names: BTreeSet<String> = StrategyKind::ALL
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    let workload_names: BTreeSet<String> = workloads::all()
        .iter()
        .map(|w| w.name().to_string())
        .chain(rows.iter().map(|r| r.workload.clone()))
        .collect();
    claims
        .check_counters()
        .and_then(|()| claims.check_params())
        .and_then(|()| claims.check_names(&strategy_names, &workload_names))
        .map_err(|e| Error::usage(e.in_file(file)))
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
                return skipped_claim(claim, &why);
            }
            let own: Vec<Observation>;
            let observations = match source {
                Source::Results => observations,
                Source::InProcess => {
                    own = observations
                        .iter()
                        .filter(|o| is_requested(claim, o))
                        .cloned()
                        .collect();
                    &own
                }
            };
            let outcomes = match &claim.expect {
                Expectation::Growth(g) => series_for(claim, g.x, observations)
                    .into_iter()
                    .map(|s| judge_series(claim, g, confidence, s))
                    .collect(),
                Expectation::SameAs(other) => judge_equality(claim, other, observations),
                Expectation::AtLeast(floor) => {
                    let threads = match claim.metric {
                        Metric::Speedup(t) => t,
                        _ => None,
                    };
                    judge_speedup(claim, threads, *floor, confidence, observations)
                }
            };
            judge_claim(claim, outcomes)
        })
        .collect();
    Report::new(description, confidence, outcomes)
}

/// Whether `claim` asked for the case of `o` (a registered workload at one of its sizes, with
/// the claim's parameters).
fn is_requested(claim: &Claim, o: &Observation) -> bool {
    let (Ok(w), Some(size)) = (workloads::find(&o.workload), o.size) else {
        return false;
    };
    usize::try_from(size).is_ok_and(|s| evaluate::requested_sizes(claim, w).contains(&s))
        && o.params_key() == params_key(w.name(), &evaluate::resolved_params(claim, w))
}
