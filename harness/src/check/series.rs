//! From cases to series: the [`Series`] of (x, y) points that one (workload, strategy,
//! parameters) combination contributes to a claim, built from [`Observation`]s.
//!
//! Fixed-size workloads (no size) contribute nothing to growth fits and are left out. Cases
//! that did not finish are left out of the fit too: a time-out (the size was out of reach in
//! the budget), a skip, or a case over the work cap is named in the series' notes; a crash, an
//! out-of-memory end or a panic is named in its `broken` list, and fails the claim — a case
//! the claim needs did not run correctly, and a fit over the other sizes would hide it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::claims::Claim;
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

/// The points one (workload, strategy, parameters) combination contributes to a claim, sorted
/// by x, one per distinct x.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The workload.
    pub workload: String,
    /// The strategy.
    pub strategy: String,
    /// The workload's parameters (`key=value,...`; empty when it has none).
    pub params: String,
    /// The points, by increasing x.
    pub points: Vec<Point>,
    /// Cases left out, and why (timed out, skipped, metric missing, not evaluated).
    pub notes: Vec<String>,
    /// Cases that crashed, ran out of memory or panicked: each fails the claim.
    pub broken: Vec<String>,
}

impl Series {
    /// `workload/strategy`, with the parameters if any.
    pub fn label(&self) -> String {
        if self.params.is_empty() {
            format!("{}/{}", self.workload, self.strategy)
        } else {
            format!("{}[{}]/{}", self.workload, self.params, self.strategy)
        }
    }
}

/// The series of `claim` in `observations`: one per (workload, strategy, parameters) that the
/// claim selects, fixed-size workloads left out, in first-seen order.
pub fn series_for(claim: &Claim, observations: &[Observation]) -> Vec<Series> {
    let mut order: Vec<(String, String, String)> = Vec::new();
    let mut groups: BTreeMap<(String, String, String), Vec<&Observation>> = BTreeMap::new();
    for o in observations {
        if o.size.is_none()
            || !claim.workloads.matches(&o.workload)
            || !claim.strategies.matches(&o.strategy)
        {
            continue;
        }
        let key = (o.workload.clone(), o.strategy.clone(), o.params.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(o);
    }
    order
        .into_iter()
        .map(|key| {
            let cases = &groups[&key];
            let mut notes = Vec::new();
            let mut broken = Vec::new();
            let mut by_x: BTreeMap<u64, (u64, f64, Vec<f64>)> = BTreeMap::new();
            for o in cases {
                let size = o.size.unwrap_or_default();
                if let Some(failure) = &o.failure {
                    let line = format!("size {size}: {failure}");
                    if failure.breaks_claim() {
                        broken.push(line);
                    } else {
                        notes.push(line);
                    }
                    continue;
                }
                let y = match o.metric(&claim.metric) {
                    Ok(y) => y,
                    Err(why) => {
                        notes.push(format!("size {size}: {why}"));
                        continue;
                    }
                };
                if let (Some(min), Some(t)) = (claim.min_ops, o.ops) {
                    if t < min {
                        notes.push(format!("size {size}: T = {t} is below min_ops = {min}"));
                        continue;
                    }
                }
                let Some(x) = o.x(claim.x) else {
                    notes.push(format!("size {size}: no T recorded"));
                    continue;
                };
                // Keyed by the bits of a non-negative x, which order like the numbers.
                let entry = by_x.entry(x.to_bits()).or_insert((size, x, Vec::new()));
                entry.0 = entry.0.max(size);
                entry.2.push(y);
            }
            let points = by_x
                .into_values()
                .map(|(size, x, ys)| Point {
                    size,
                    x,
                    y: ys.iter().sum::<f64>() / ys.len() as f64,
                })
                .collect();
            let (workload, strategy, params) = key;
            Series {
                workload,
                strategy,
                params,
                points,
                notes,
                broken,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::claims::ClaimsFile;
    use crate::check::observation::{CaseFailure, FailureKind};

    fn claim(metric: &str, x: &str) -> Claim {
        let text = format!(
            r#"[[claim]]
            id = "c"
            sentence = "s"
            strategies = ["dualrev", "tape"]
            workloads = ["*"]
            metric = "{metric}"
            x = "{x}"
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
        let s = series_for(&claim("counter:edges_applied", "ops"), &all);
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
        let s = series_for(&claim("counter:edges_applied", "size"), &all);
        assert_eq!(s[0].broken, ["size 30: crashed: stack overflow"]);
        assert!(s[0].notes.is_empty());
    }

    #[test]
    fn cases_below_min_ops_are_left_out_with_a_note() {
        let mut c = claim("counter:edges_applied", "ops");
        c.min_ops = Some(30);
        let all = vec![
            obs("fdotprod", "dualrev", Some(10), 20, 40),
            obs("fdotprod", "dualrev", Some(20), 40, 80),
        ];
        let s = series_for(&c, &all);
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
        let s = series_for(&claim("counter:slots_swept", "size"), &all);
        assert!(s[0].points.is_empty());
        assert!(s[0].notes[0].contains("timeout"));
        assert!(
            s[0].notes[1].contains("no counter `slots_swept`"),
            "{:?}",
            s[0].notes
        );
        assert!(s[0].notes[1].contains("edges_applied"));
    }
}
