//! From cases to series: the [`Series`] of (x, y) points that one (workload, strategy,
//! parameters, thread count) combination contributes to a growth claim, built from
//! [`Observation`]s. (`same as` and speedup claims group cases into series the same way but
//! compare them instead of fitting them: [`crate::check::equality`], [`crate::check::speedup`].)
//!
//! Fixed-size workloads (no size) contribute nothing to growth fits and are left out. Cases
//! that did not finish are left out of the fit too: a time-out (the size was out of reach in
//! the budget), a skip, or a case over the work cap is named in the series' notes; a crash, an
//! out-of-memory end or a panic is named in its `broken` list, and fails the claim — a case
//! the claim needs did not run correctly, and a fit over the other sizes would hide it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::claims::{Axis, Claim};
use crate::check::observation::Observation;

/// One point of a series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// The primary size of the case.
    pub size: u64,
    /// The x value (the size, or T).
    pub x: f64,
    /// The metric.
    pub y: f64,
}

/// The cases one (workload, strategy, parameters, thread count) combination contributes to a
/// claim: for a growth claim its points, sorted by x, one per distinct x.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The workload.
    pub workload: String,
    /// The strategy.
    pub strategy: String,
    /// The workload's parameters (`key=value,...`; empty when it has none).
    pub params: String,
    /// The thread count of its cases; `None` for a speedup, which compares thread counts.
    pub threads: Option<u64>,
    /// The points of a growth claim, by increasing x (empty for the other claims).
    pub points: Vec<Point>,
    /// Cases left out, and why (timed out, skipped, metric missing, not evaluated).
    pub notes: Vec<String>,
    /// Cases that crashed, ran out of memory or panicked: each fails the claim.
    pub broken: Vec<String>,
}

impl Series {
    /// A series of no points, notes or broken cases yet.
    pub fn new(workload: &str, strategy: &str, params: String, threads: Option<u64>) -> Self {
        Self {
            workload: workload.to_string(),
            strategy: strategy.to_string(),
            params,
            threads,
            points: Vec::new(),
            notes: Vec::new(),
            broken: Vec::new(),
        }
    }

    /// `workload/strategy`, with the parameters if any and the thread count if not 1
    /// (`fparticles[particles=4]/dualrev-par@2t`, as results tables label strategies).
    pub fn label(&self) -> String {
        let strategy = match self.threads {
            Some(t) if t != 1 => format!("{}@{t}t", self.strategy),
            _ => self.strategy.clone(),
        };
        if self.params.is_empty() {
            format!("{}/{strategy}", self.workload)
        } else {
            format!("{}[{}]/{strategy}", self.workload, self.params)
        }
    }

    /// Whether the case `o` did not finish; if so, record it (`line` turns the failure into
    /// the recorded line): a crash, an out-of-memory end or a panic breaks the claim, the rest
    /// is a note.
    pub fn unfinished(&mut self, o: &Observation, line: impl FnOnce(String) -> String) -> bool {
        let Some(failure) = &o.failure else {
            return false;
        };
        let line = line(failure.to_string());
        if failure.breaks_claim() {
            self.broken.push(line);
        } else {
            self.notes.push(line);
        }
        true
    }
}

/// The size of a case, as notes name it: `size N`, or `the fixed size`.
pub fn size_text(size: Option<u64>) -> String {
    size.map_or_else(|| "the fixed size".to_string(), |s| format!("size {s}"))
}

/// The cases of `observations` that `claim` selects (workload, strategy, parameters), grouped
/// by (workload, strategy, parameters) and, with `by_threads`, thread count, in first-seen
/// order; `keep` may leave more cases out.
pub fn groups<'a>(
    claim: &Claim,
    observations: &'a [Observation],
    by_threads: bool,
    keep: impl Fn(&Observation) -> bool,
) -> Vec<(Series, Vec<&'a Observation>)> {
    let mut order: Vec<(String, String, String, Option<u64>)> = Vec::new();
    let mut cases: BTreeMap<(String, String, String, Option<u64>), Vec<&Observation>> =
        BTreeMap::new();
    for o in observations {
        if !claim.workloads.matches(&o.workload)
            || !claim.strategies.matches(&o.strategy)
            || !claim.selects_params(&o.params)
            || !keep(o)
        {
            continue;
        }
        let key = (
            o.workload.clone(),
            o.strategy.clone(),
            o.params_key(),
            by_threads.then_some(o.threads),
        );
        if !cases.contains_key(&key) {
            order.push(key.clone());
        }
        cases.entry(key).or_default().push(o);
    }
    order
        .into_iter()
        .map(|key| {
            let of = cases.remove(&key).unwrap_or_default();
            let (workload, strategy, params, threads) = key;
            (Series::new(&workload, &strategy, params, threads), of)
        })
        .collect()
}

/// The series of a growth claim in `observations`, against `x`: one per (workload, strategy,
/// parameters, thread count) that the claim selects, fixed-size workloads left out, in
/// first-seen order.
pub fn series_for(claim: &Claim, x: Axis, observations: &[Observation]) -> Vec<Series> {
    groups(claim, observations, true, |o| o.size.is_some())
        .into_iter()
        .map(|(mut series, cases)| {
            let mut by_x: BTreeMap<u64, (u64, f64, Vec<f64>)> = BTreeMap::new();
            for o in cases {
                let size = o.size.unwrap_or_default();
                if series.unfinished(o, |f| format!("size {size}: {f}")) {
                    continue;
                }
                let y = match o.metric(&claim.metric) {
                    Ok(y) => y,
                    Err(why) => {
                        series.notes.push(format!("size {size}: {why}"));
                        continue;
                    }
                };
                if let (Some(min), Some(t)) = (claim.min_ops, o.ops) {
                    if t < min {
                        series
                            .notes
                            .push(format!("size {size}: T = {t} is below min_ops = {min}"));
                        continue;
                    }
                }
                let Some(x) = o.x(x) else {
                    series.notes.push(format!("size {size}: no T recorded"));
                    continue;
                };
                // Keyed by the bits of a non-negative x, which order like the numbers.
                let entry = by_x.entry(x.to_bits()).or_insert((size, x, Vec::new()));
                entry.0 = entry.0.max(size);
                entry.2.push(y);
            }
            series.points = by_x
                .into_values()
                .map(|(size, x, ys)| Point {
                    size,
                    x,
                    y: ys.iter().sum::<f64>() / ys.len() as f64,
                })
                .collect();
            series
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::claims::ClaimsFile;
    use crate::check::observation::{CaseFailure, FailureKind};

    fn claim(metric: &str) -> Claim {
        let text = format!(
            r#"[[claim]]
            id = "c"
            sentence = "s"
            strategies = ["dualrev", "tape"]
            workloads = ["*"]
            metric = "{metric}"
            x = "size"
            model = "linear"
            tolerance = 0.1"#
        );
        ClaimsFile::parse(&text, "t").unwrap().claims.remove(0)
    }

    fn obs(workload: &str, strategy: &str, size: Option<u64>, ops: u64, edges: u64) -> Observation {
        Observation {
            workload: workload.into(),
            strategy: strategy.into(),
            size,
            ops: Some(ops),
            counters: [("edges_applied".to_string(), edges)].into(),
            ..Observation::default()
        }
    }

    #[test]
    fn series_group_by_workload_and_strategy_and_skip_fixed_sizes() {
        let all = vec![
            obs("fdotprod", "dualrev", Some(20), 40, 80),
            obs("fdotprod", "dualrev", Some(10), 20, 40),
            obs("fdotprod", "naive", Some(10), 20, 400),
            obs("fmult", "dualrev", None, 1, 2),
            obs("lse", "tape", Some(10), 30, 30),
        ];
        let s = series_for(&claim("counter:edges_applied"), Axis::Ops, &all);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].label(), "fdotprod/dualrev");
        assert_eq!(
            s[0].points.iter().map(|p| p.x).collect::<Vec<_>>(),
            [20.0, 40.0]
        );
        assert_eq!(s[0].points[1].y, 80.0);
        assert_eq!(s[1].label(), "lse/tape");
    }

    #[test]
    fn a_crash_at_a_needed_size_is_broken_not_a_note() {
        let mut crashed = obs("fdotprod", "dualrev", Some(30), 60, 120);
        crashed.failure = Some(CaseFailure::new(FailureKind::Crashed, "stack overflow"));
        let all = vec![crashed, obs("fdotprod", "dualrev", Some(10), 20, 40)];
        let s = series_for(&claim("counter:edges_applied"), Axis::Size, &all);
        assert_eq!(s[0].broken, ["size 30: crashed: stack overflow"]);
        assert!(s[0].notes.is_empty());
    }

    #[test]
    fn cases_below_min_ops_are_left_out_with_a_note() {
        let mut c = claim("counter:edges_applied");
        c.min_ops = Some(30);
        let all = vec![
            obs("fdotprod", "dualrev", Some(10), 20, 40),
            obs("fdotprod", "dualrev", Some(20), 40, 80),
        ];
        let s = series_for(&c, Axis::Ops, &all);
        assert_eq!(s[0].points.len(), 1);
        assert_eq!(s[0].points[0].x, 40.0);
        assert!(s[0].notes[0].contains("below min_ops"), "{:?}", s[0].notes);
    }

    #[test]
    fn unfinished_cases_and_missing_counters_become_notes() {
        let mut timeout = obs("fdotprod", "dualrev", Some(30), 60, 120);
        timeout.failure = Some(CaseFailure::new(
            FailureKind::Timeout,
            "exceeded the budget",
        ));
        let all = vec![timeout, obs("fdotprod", "dualrev", Some(10), 20, 40)];
        let s = series_for(&claim("counter:slots_swept"), Axis::Size, &all);
        assert!(s[0].points.is_empty());
        assert!(s[0].notes[0].contains("timeout"));
        assert!(
            s[0].notes[1].contains("no counter `slots_swept`"),
            "{:?}",
            s[0].notes
        );
        assert!(s[0].notes[1].contains("edges_applied"));
    }

    #[test]
    fn thread_counts_are_separate_series_labelled_like_results_tables() {
        let mut two = obs("fdotprod", "dualrev", Some(20), 40, 80);
        two.threads = 2;
        let all = vec![obs("fdotprod", "dualrev", Some(20), 40, 80), two];
        let s = series_for(&claim("counter:edges_applied"), Axis::Size, &all);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].label(), s[1].label()),
            (
                "fdotprod/dualrev".to_string(),
                "fdotprod/dualrev@2t".to_string()
            )
        );
    }
}
