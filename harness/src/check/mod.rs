//! Complexity claims: turning sentences like "naive reverse AD is exponential in the depth of
//! `square-chain`" into measurements with a verdict and an interval.
//!
//! The pipeline, one module per step:
//!
//! 1. [`claims`]: the committed claims file (`claims.toml`), parsed and validated before any
//!    work: selection, metric, x-axis, growth model, tolerance.
//! 2. A results file (every metric), or [`evaluate`] (exact metrics, in-process) and
//!    [`timing`] (measured metrics, in child processes) produce [`series::Observation`]s: one
//!    per case.
//! 3. [`series`]: a claim's observations become one series of (x, y) points per (workload,
//!    strategy, parameters).
//! 4. [`fit`]: least-squares growth fits over the largest sizes, intervals, local slopes.
//! 5. [`verdict`]: each series and then each claim is judged: holds, fails or inconclusive.
//! 6. [`report`]: the table (plain, Markdown) or JSON that `dualbench check` prints.

pub mod claims;
pub mod evaluate;
pub mod fit;
pub mod report;
pub mod series;
pub mod timing;
pub mod verdict;

use claims::{Claim, ClaimsFile};
use report::Report;
use series::{series_for, Observation};
use verdict::judge_claim;

/// Where the observations that [`judge`] reads came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A results file: every size it holds is used.
    Results,
    /// In-process evaluation of every claim's cases at once: each claim uses only the sizes it
    /// asked for ([`evaluate::requested_sizes`]), not those evaluated for other claims.
    InProcess,
}

/// Judge every claim of `claims` on `observations`. `unmeasured(claim)` says why a claim has no
/// data at all when that is known in advance (e.g. a timing claim under `--counters-only`);
/// such a claim is not looked up in `observations`. `description` says where the observations
/// came from, for the report.
pub fn judge(
    claims: &ClaimsFile,
    observations: &[Observation],
    source: Source,
    unmeasured: impl Fn(&Claim) -> Option<String>,
    description: String,
) -> Report {
    let confidence = claims.settings.confidence;
    let outcomes = claims
        .claims
        .iter()
        .map(|claim| {
            if let Some(why) = unmeasured(claim) {
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
