//! The work and the span of one gradient, read from the four counters a task-parallel strategy
//! reports, and the speedups they allow.
//!
//! A task-parallel strategy (`dualrev-par`, `tape-par`) runs a fork-join program as a graph of
//! jobs and reports, the same for every thread count:
//!
//! - `work_forward`: the forward pass's work, the indices (inputs, operation records, imports)
//!   all its jobs allocated;
//! - `span_forward`: the forward pass's span, the largest sum of those per-job counts along a
//!   path of the job graph;
//! - `work_reverse`, `span_reverse`: the same for the records the reverse pass visits.
//!
//! The reverse pass starts when the forward pass has ended, so the gradient's work is
//! W = `work_forward` + `work_reverse` and its span S = `span_forward` + `span_reverse`. On P
//! threads the work law (T_P ≥ W / P) and the span law (T_P ≥ S) bound the speedup by
//! min(P, W / S); Brent's theorem (a greedy scheduler takes T_P ≤ W / P + S) gives a greedy
//! scheduler at least W / (W / P + S). Both count one unit per record and nothing for
//! scheduling; `docs/parallel.md` says what that leaves out.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The counter of the forward pass's work.
pub const WORK_FORWARD: &str = "work_forward";
/// The counter of the forward pass's span.
pub const SPAN_FORWARD: &str = "span_forward";
/// The counter of the reverse pass's work.
pub const WORK_REVERSE: &str = "work_reverse";
/// The counter of the reverse pass's span.
pub const SPAN_REVERSE: &str = "span_reverse";
/// The four counters, in the order docs and messages name them.
pub const COUNTERS: [&str; 4] = [WORK_FORWARD, SPAN_FORWARD, WORK_REVERSE, SPAN_REVERSE];

/// The thread counts at which tables show the bound min(P, W / S), whatever was measured.
pub const BOUND_THREADS: [u64; 5] = [2, 4, 8, 16, 64];

/// Why a case's counters give no work and span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpanError {
    /// Some of the four counters are absent (a sequential strategy reports none of them).
    Missing(Vec<&'static str>),
    /// The counters contradict each other: a phase's span above its work, or no span at all.
    Inconsistent(String),
}

impl fmt::Display for SpanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpanError::Missing(names) if names.len() == COUNTERS.len() => write!(
                f,
                "no span counters ({}): the strategy does not report its job graph's work and \
                 span",
                COUNTERS.join(", ")
            ),
            SpanError::Missing(names) => write!(
                f,
                "the span counters are incomplete: {} missing (all of {} are needed)",
                names.join(", "),
                COUNTERS.join(", ")
            ),
            SpanError::Inconsistent(why) => write!(f, "inconsistent span counters: {why}"),
        }
    }
}

/// The work and span of the forward and the reverse pass of one gradient, in records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    /// The forward pass's work.
    pub work_forward: u64,
    /// The forward pass's span.
    pub span_forward: u64,
    /// The reverse pass's work.
    pub work_reverse: u64,
    /// The reverse pass's span.
    pub span_reverse: u64,
}

impl Span {
    /// The work and span that `counters` report; an error when one of the four is absent, when
    /// a phase's span exceeds its work or has work without span, or when the span is 0.
    pub fn of(counters: &BTreeMap<String, u64>) -> Result<Span, SpanError> {
        let missing: Vec<&'static str> = COUNTERS
            .into_iter()
            .filter(|name| !counters.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(SpanError::Missing(missing));
        }
        let span = Span {
            work_forward: counters[WORK_FORWARD],
            span_forward: counters[SPAN_FORWARD],
            work_reverse: counters[WORK_REVERSE],
            span_reverse: counters[SPAN_REVERSE],
        };
        for (phase, work, span) in [
            ("forward", span.work_forward, span.span_forward),
            ("reverse", span.work_reverse, span.span_reverse),
        ] {
            if span > work {
                return Err(SpanError::Inconsistent(format!(
                    "the {phase} pass's span {span} exceeds its work {work}"
                )));
            }
            if work > 0 && span == 0 {
                return Err(SpanError::Inconsistent(format!(
                    "the {phase} pass has work {work} but span 0"
                )));
            }
        }
        if span.span() == 0 {
            return Err(SpanError::Inconsistent(
                "both passes have span 0: no work was counted".to_string(),
            ));
        }
        Ok(span)
    }

    /// W, the gradient's work: both passes'.
    pub fn work(&self) -> u64 {
        self.work_forward.saturating_add(self.work_reverse)
    }

    /// S, the gradient's span: the forward pass's and then the reverse pass's.
    pub fn span(&self) -> u64 {
        self.span_forward.saturating_add(self.span_reverse)
    }

    /// W / S, the gradient's parallelism (at least 1).
    pub fn parallelism(&self) -> f64 {
        self.work() as f64 / self.span() as f64
    }

    /// The forward pass's parallelism, `work_forward / span_forward` (`None`: no work).
    pub fn forward_parallelism(&self) -> Option<f64> {
        ratio(self.work_forward, self.span_forward)
    }

    /// The reverse pass's parallelism, `work_reverse / span_reverse` (`None`: no work).
    pub fn reverse_parallelism(&self) -> Option<f64> {
        ratio(self.work_reverse, self.span_reverse)
    }

    /// min(P, W / S): no schedule on `threads` threads is faster than this many times one
    /// thread (the work law and the span law).
    pub fn bound(&self, threads: u64) -> f64 {
        (threads as f64).min(self.parallelism())
    }

    /// W / (W / P + S): the speedup a greedy scheduler reaches at least on `threads` threads
    /// (Brent's theorem).
    pub fn greedy(&self, threads: u64) -> f64 {
        let (w, s) = (self.work() as f64, self.span() as f64);
        w / (w / threads as f64 + s)
    }
}

fn ratio(work: u64, span: u64) -> Option<f64> {
    (span > 0).then(|| work as f64 / span as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(values: &[(&str, u64)]) -> BTreeMap<String, u64> {
        values.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// A balanced pair of jobs: forward work 120 over span 40, reverse work 80 over span 20.
    fn pair() -> Span {
        Span::of(&counters(&[
            ("work_forward", 120),
            ("span_forward", 40),
            ("work_reverse", 80),
            ("span_reverse", 20),
            ("ids_allocated", 7),
        ]))
        .unwrap()
    }

    #[test]
    fn work_span_and_bounds_are_computed_exactly_from_the_counters() {
        let s = pair();
        assert_eq!((s.work(), s.span()), (200, 60));
        assert_eq!(s.parallelism(), 200.0 / 60.0);
        assert_eq!(s.forward_parallelism(), Some(3.0));
        assert_eq!(s.reverse_parallelism(), Some(4.0));
        assert_eq!(s.bound(2), 2.0);
        assert_eq!(s.bound(4), 200.0 / 60.0);
        assert_eq!(s.bound(64), 200.0 / 60.0);
        // W / (W/P + S) = 200 / (100 + 60).
        assert_eq!(s.greedy(2), 200.0 / 160.0);
        assert_eq!(s.greedy(8), 200.0 / 85.0);
        for p in BOUND_THREADS {
            assert!(
                s.greedy(p) <= s.bound(p),
                "Brent stays below the bound at {p}"
            );
        }
    }

    #[test]
    fn a_program_without_join_has_no_parallelism() {
        let s = Span::of(&counters(&[
            ("work_forward", 50),
            ("span_forward", 50),
            ("work_reverse", 0),
            ("span_reverse", 0),
        ]))
        .unwrap();
        assert_eq!(s.parallelism(), 1.0);
        assert_eq!(s.bound(16), 1.0);
        assert_eq!(s.reverse_parallelism(), None);
        assert_eq!(s.greedy(2), 50.0 / 75.0);
    }

    #[test]
    fn missing_or_contradictory_counters_say_what_is_wrong() {
        let e = Span::of(&counters(&[("edges_applied", 3)])).unwrap_err();
        assert_eq!(e, SpanError::Missing(COUNTERS.to_vec()));
        assert!(
            e.to_string()
                .starts_with("no span counters (work_forward, "),
            "{e}"
        );
        let e = Span::of(&counters(&[
            ("work_forward", 5),
            ("span_forward", 5),
            ("work_reverse", 5),
        ]))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the span counters are incomplete: span_reverse missing (all of work_forward, \
             span_forward, work_reverse, span_reverse are needed)"
        );
        let e = Span::of(&counters(&[
            ("work_forward", 5),
            ("span_forward", 6),
            ("work_reverse", 5),
            ("span_reverse", 5),
        ]))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("forward pass's span 6 exceeds its work 5"),
            "{e}"
        );
        let zero = counters(&COUNTERS.map(|c| (c, 0)));
        assert!(matches!(Span::of(&zero), Err(SpanError::Inconsistent(_))));
    }
}
