//! The parallel cases of a results file: each case measured on more than one thread, its
//! speedups over its own 1-thread row (the whole gradient and each phase), beside the span
//! bound of its counters.
//!
//! A case here is a (workload, parameters, size, strategy). It is listed once per thread count
//! above 1 that it finished on; a case that ran on one thread only is listed (without measured
//! speedups) when its span counters show parallelism, W > S, so that the bound of a run on one
//! thread is reported too. Rows that did not finish are left out.

use std::collections::BTreeMap;

use crate::parallel::span::Span;
use crate::results::{CaseResult, Status};

/// One case at one thread count, or, without one, a case with parallelism that ran on one
/// thread only.
#[derive(Clone, Debug, PartialEq)]
pub struct ParallelCase {
    /// The workload.
    pub workload: String,
    /// Its parameters.
    pub params: BTreeMap<String, f64>,
    /// Its size (`None`: fixed-size).
    pub size: Option<u64>,
    /// The strategy.
    pub strategy: String,
    /// The thread count above 1 (`None`: the case ran on one thread only).
    pub threads: Option<u64>,
    /// Median gradient time on one thread / on `threads`.
    pub speedup: Option<f64>,
    /// The same for the forward phase's median.
    pub forward: Option<f64>,
    /// The same for the reverse phase's median.
    pub reverse: Option<f64>,
    /// The work and span of its counters, when it reports them.
    pub span: Option<Span>,
}

impl ParallelCase {
    /// min(t, W / S) at its thread count.
    pub fn bound(&self) -> Option<f64> {
        Some(self.span?.bound(self.threads?))
    }

    /// W / (W / t + S) at its thread count: Brent's greedy estimate.
    pub fn greedy(&self) -> Option<f64> {
        Some(self.span?.greedy(self.threads?))
    }

    /// Its parameters as `k=v, ...` (a choice by its name: `fork=balanced`).
    pub fn params_text(&self) -> String {
        workloads::format_params(&self.workload, &self.params).join(", ")
    }
}

/// `one / many` when both are finite and above 0.
fn ratio(one: Option<f64>, many: Option<f64>) -> Option<f64> {
    let positive = |v: f64| (v.is_finite() && v > 0.0).then_some(v);
    Some(positive(one?)? / positive(many?)?)
}

/// The work and span of the first of `rows` that reports them.
fn span_of<'a>(rows: impl IntoIterator<Item = &'a CaseResult>) -> Option<Span> {
    rows.into_iter().find_map(|r| Span::of(&r.counters).ok())
}

/// The parallel cases of `rows`, in the order their cases first appear.
pub fn cases(rows: &[CaseResult]) -> Vec<ParallelCase> {
    // The finished rows of each case, by thread count (the first of duplicates).
    let mut order: Vec<(String, Option<u64>, String, String)> = Vec::new();
    let mut by_case: BTreeMap<_, BTreeMap<u64, &CaseResult>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        let params = serde_json::to_string(&r.params).expect("params serialise");
        let key = (r.workload.clone(), r.size, params, r.strategy.clone());
        let threads = by_case.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            BTreeMap::new()
        });
        threads.entry(r.threads).or_insert(r);
    }
    let mut out = Vec::new();
    for key in order {
        let threads = &by_case[&key];
        let first = threads.values().next().expect("a case has a row");
        let one = threads.get(&1);
        let case = |t: Option<u64>, many: Option<&CaseResult>| ParallelCase {
            workload: first.workload.clone(),
            params: first.params.clone(),
            size: first.size,
            strategy: first.strategy.clone(),
            threads: t,
            speedup: many.and_then(|m| ratio(one?.median_ns, m.median_ns)),
            forward: many.and_then(|m| ratio(one?.forward_median_ns, m.forward_median_ns)),
            reverse: many.and_then(|m| ratio(one?.reverse_median_ns, m.reverse_median_ns)),
            span: span_of(many.into_iter().chain(one.copied())),
        };
        let parallel: Vec<(&u64, &&CaseResult)> = threads.iter().filter(|(t, _)| **t > 1).collect();
        if parallel.is_empty() {
            let alone = case(None, None);
            if alone.span.is_some_and(|s| s.work() > s.span()) {
                out.push(alone);
            }
        } else {
            out.extend(parallel.into_iter().map(|(t, r)| case(Some(*t), Some(r))));
        }
    }
    out
}

/// Of `cases`, those of the largest size per (workload, parameters, strategy) that ran on more
/// than one thread, or, where none did, of its largest size: what a table that shows one size
/// per workload keeps (figure 6 draws the same sizes).
pub fn largest_sizes(cases: &[ParallelCase]) -> Vec<ParallelCase> {
    let series = |c: &ParallelCase| (c.workload.clone(), c.params_text(), c.strategy.clone());
    let mut chosen: BTreeMap<(String, String, String), (bool, Option<u64>)> = BTreeMap::new();
    for c in cases {
        let candidate = (c.threads.is_some(), c.size);
        let best = chosen.entry(series(c)).or_insert(candidate);
        *best = (*best).max(candidate);
    }
    cases
        .iter()
        .filter(|c| chosen[&series(c)] == (c.threads.is_some(), c.size))
        .cloned()
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parallel::span::COUNTERS;

    /// A finished `fparticles` row of `strategy` at `size` on `threads` threads: gradient
    /// `median` ns, forward 60% of it and reverse 40%, with the span counters `span` (work and
    /// span of each phase) when given.
    pub(crate) fn row(
        strategy: &str,
        size: u64,
        threads: u64,
        median: f64,
        span: Option<[u64; 4]>,
    ) -> CaseResult {
        let mut r = crate::results::fixture::fmult_row(strategy);
        r.workload = "fparticles".into();
        r.params = [("particles".to_string(), 4.0)].into();
        r.size = Some(size);
        r.threads = threads;
        r.median_ns = Some(median);
        r.forward_median_ns = Some(0.6 * median);
        r.reverse_median_ns = Some(0.4 * median);
        if let Some(values) = span {
            r.counters = COUNTERS.into_iter().map(String::from).zip(values).collect();
        }
        r
    }

    const SPAN: [u64; 4] = [1200, 400, 800, 200];

    #[test]
    fn each_thread_count_gets_its_speedups_beside_the_bound() {
        let mut slow_phase = row("dualrev-par", 100, 2, 600.0, Some(SPAN));
        slow_phase.reverse_median_ns = Some(400.0);
        let rows = vec![
            row("dualrev-par", 100, 1, 1000.0, Some(SPAN)),
            slow_phase,
            row("dualrev-par", 100, 4, 400.0, Some(SPAN)),
            row("dualrev", 100, 1, 900.0, None),
        ];
        let cases = cases(&rows);
        assert_eq!(cases.len(), 2, "{cases:?}");
        let two = &cases[0];
        assert_eq!(two.threads, Some(2));
        assert_eq!(two.speedup, Some(1000.0 / 600.0));
        assert_eq!(two.forward, Some((0.6 * 1000.0) / (0.6 * 600.0)));
        assert_eq!(two.reverse, Some(1.0));
        assert_eq!(two.bound(), Some(2.0));
        assert_eq!(two.greedy(), Some(2000.0 / (1000.0 + 600.0)));
        let four = &cases[1];
        assert_eq!(four.speedup, Some(2.5));
        assert_eq!(four.bound(), Some(2000.0 / 600.0));
    }

    #[test]
    fn one_thread_cases_appear_only_with_parallelism_and_failures_not_at_all() {
        let mut crashed = row("dualrev-par", 200, 2, 0.0, Some(SPAN));
        crashed.status = Status::Crashed;
        let rows = vec![
            row("dualrev-par", 100, 1, 1000.0, Some(SPAN)),
            row("dualrev-par", 200, 1, 1000.0, Some([10, 10, 5, 5])),
            crashed,
            row("primal", 100, 1, 10.0, None),
        ];
        let cases = cases(&rows);
        assert_eq!(cases.len(), 1, "{cases:?}");
        assert_eq!((cases[0].size, cases[0].threads), (Some(100), None));
        assert_eq!(cases[0].speedup, None);
        assert_eq!(cases[0].bound(), None);
        assert_eq!(cases[0].span.unwrap().parallelism(), 2000.0 / 600.0);
    }

    #[test]
    fn without_counters_only_the_measured_speedup_is_shown() {
        let rows = vec![
            row("primal", 100, 1, 100.0, None),
            row("primal", 100, 2, 80.0, None),
        ];
        let cases = cases(&rows);
        assert_eq!(cases[0].speedup, Some(1.25));
        assert_eq!((cases[0].span, cases[0].bound()), (None, None));
    }

    #[test]
    fn tables_keep_the_largest_size_measured_on_several_threads() {
        let rows = vec![
            row("dualrev-par", 100, 1, 1000.0, Some(SPAN)),
            row("dualrev-par", 100, 2, 600.0, Some(SPAN)),
            row("dualrev-par", 1000, 1, 9000.0, Some(SPAN)),
            row("tape-par", 100, 1, 1000.0, Some(SPAN)),
            row("tape-par", 1000, 1, 9000.0, Some(SPAN)),
        ];
        let kept = largest_sizes(&cases(&rows));
        let kept: Vec<(&str, Option<u64>, Option<u64>)> = kept
            .iter()
            .map(|c| (c.strategy.as_str(), c.size, c.threads))
            .collect();
        assert_eq!(
            kept,
            [
                ("dualrev-par", Some(100), Some(2)),
                ("tape-par", Some(1000), None)
            ]
        );
    }
}
