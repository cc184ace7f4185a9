//! The [`Observation`] a claim reads: one case (a workload, a strategy, a size), what was
//! counted and measured, and — if it did not finish — how it failed.
//!
//! Observations come from a results file (the rows written by `dualbench run`), from
//! in-process evaluation of counter cases ([`crate::check::evaluate`]), or from cases measured
//! in child processes ([`crate::check::timing`]).

use std::collections::BTreeMap;
use std::fmt;

use workloads::Params;

use crate::check::claims::{Axis, Metric};
use crate::results::{CaseResult, Status};

/// The canonical rendering of the parameters of a case of `workload` (`key=value,...`, a
/// choice by its name: `fork=balanced,particles=16`), used to group cases and to label them.
pub fn params_key(workload: &str, params: &Params) -> String {
    workloads::format_params(workload, params).join(",")
}

/// How a case failed to give numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// It ran out of its time budget: the size is out of reach, not wrong.
    Timeout,
    /// Not attempted: after the same strategy failed at a smaller size, or because it cannot
    /// run the workload at all.
    Skipped,
    /// Not run in-process: its predicted work is over the claim's cap, or the strategy cannot
    /// run the workload at all (`manual` without a hand-written adjoint).
    NotEvaluated,
    /// Its process crashed (a stack overflow, a panic, a signal).
    Crashed,
    /// It ran out of memory.
    Oom,
    /// It panicked when evaluated in-process.
    Panicked,
}

impl FailureKind {
    /// The word used in notes.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Skipped => "skipped",
            FailureKind::NotEvaluated => "not evaluated",
            FailureKind::Crashed => "crashed",
            FailureKind::Oom => "oom",
            FailureKind::Panicked => "panicked",
        }
    }
}

/// Why a case has no usable numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFailure {
    /// How it failed.
    pub kind: FailureKind,
    /// The detail (the status detail of its row, or the panic message).
    pub detail: String,
}

impl CaseFailure {
    /// A failure of `kind` with `detail`.
    pub fn new(kind: FailureKind, detail: &str) -> Self {
        Self {
            kind,
            detail: detail.to_string(),
        }
    }

    /// Whether the failure fails a claim that needs the case (a crash, an out-of-memory end,
    /// a panic) rather than only leaving the size out (a time-out, a skip, the work cap).
    pub fn breaks_claim(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Crashed | FailureKind::Oom | FailureKind::Panicked
        )
    }
}

impl fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.kind.name())
        } else {
            write!(f, "{}: {}", self.kind.name(), self.detail)
        }
    }
}

/// One case as `check` sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The workload's name.
    pub workload: String,
    /// The strategy's name.
    pub strategy: String,
    /// The workload's parameters, defaults included.
    pub params: Params,
    /// The primary size; `None` for fixed-size workloads.
    pub size: Option<u64>,
    /// The number of threads the case ran on (1 for in-process evaluation).
    pub threads: u64,
    /// T, the primal operation count.
    pub ops: Option<u64>,
    /// Deterministic counters by name.
    pub counters: BTreeMap<String, u64>,
    /// Gradient wall time (a median over repetitions; nanoseconds in a results file).
    pub time: Option<f64>,
    /// Every timed sample of the gradient, in the unit of `time`, in the order taken.
    pub samples: Vec<f64>,
    /// How many of `samples` each measurement round took, in order.
    pub round_samples: Vec<u64>,
    /// Forward-phase wall time.
    pub forward_time: Option<f64>,
    /// Reverse-phase wall time.
    pub reverse_time: Option<f64>,
    /// Gradient time / primal time.
    pub overhead: Option<f64>,
    /// Peak heap bytes.
    pub peak_heap: Option<f64>,
    /// Why the case has no usable numbers (`None`: it finished).
    pub failure: Option<CaseFailure>,
}

impl Default for Observation {
    /// A case of no workload or strategy, with nothing measured, on one thread.
    fn default() -> Self {
        Self {
            workload: String::new(),
            strategy: String::new(),
            params: Params::new(),
            size: None,
            threads: 1,
            ops: None,
            counters: BTreeMap::new(),
            time: None,
            samples: Vec::new(),
            round_samples: Vec::new(),
            forward_time: None,
            reverse_time: None,
            overhead: None,
            peak_heap: None,
            failure: None,
        }
    }
}

impl Observation {
    /// Its parameters rendered canonically (`key=value,...`), for grouping and labels.
    pub fn params_key(&self) -> String {
        params_key(&self.workload, &self.params)
    }

    /// The value of `metric` for this case, or why there is none.
    pub fn metric(&self, metric: &Metric) -> Result<f64, String> {
        let missing = |what: &str| format!("no {what} recorded");
        match metric {
            Metric::Ops => self.ops.map(|t| t as f64).ok_or_else(|| missing("T")),
            Metric::Counters(names) => {
                let mut sum = 0u64;
                for name in names {
                    match self.counters.get(name) {
                        Some(c) => sum = sum.saturating_add(*c),
                        None => {
                            let known: Vec<&str> =
                                self.counters.keys().map(String::as_str).collect();
                            let known = if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            };
                            return Err(format!(
                                "strategy `{}` reports no counter `{name}` (it reports: {known})",
                                self.strategy
                            ));
                        }
                    }
                }
                Ok(sum as f64)
            }
            Metric::Time => self.time.ok_or_else(|| missing("gradient time")),
            Metric::ForwardTime => self.forward_time.ok_or_else(|| missing("forward time")),
            Metric::ReverseTime => self.reverse_time.ok_or_else(|| missing("reverse time")),
            Metric::Overhead => self.overhead.ok_or_else(|| missing("overhead")),
            Metric::PeakHeap => self.peak_heap.ok_or_else(|| missing("peak heap")),
            Metric::Speedup(_) => {
                Err("a speedup compares two cases: it is no metric of one case".to_string())
            }
        }
    }

    /// The x value of the case on `axis`.
    pub fn x(&self, axis: Axis) -> Option<f64> {
        match axis {
            Axis::Size => self.size.map(|s| s as f64),
            Axis::Ops => self.ops.map(|t| t as f64),
        }
    }
}

impl From<&CaseResult> for Observation {
    /// A results row as `check` reads it. Times stay in nanoseconds: growth fits do not depend
    /// on the unit.
    fn from(row: &CaseResult) -> Self {
        let kind = match row.status {
            Status::Ok => None,
            Status::Timeout => Some(FailureKind::Timeout),
            Status::Crashed => Some(FailureKind::Crashed),
            Status::Oom => Some(FailureKind::Oom),
            Status::Skipped => Some(FailureKind::Skipped),
        };
        let failure = kind.map(|kind| CaseFailure::new(kind, &row.detail));
        Observation {
            workload: row.workload.clone(),
            strategy: row.strategy.clone(),
            params: row.params.clone(),
            size: row.size,
            threads: row.threads,
            ops: row.ops,
            counters: row.counters.clone(),
            time: row.median_ns,
            samples: row.samples_ns.clone(),
            round_samples: row.round_samples.clone(),
            forward_time: row.forward_median_ns,
            reverse_time: row.reverse_median_ns,
            overhead: row.overhead,
            peak_heap: row.peak_heap_bytes.map(|b| b as f64),
            failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_render_canonically_in_key_order_with_choices_by_name() {
        let p: Params = [("steps".to_string(), 10.0), ("alpha".to_string(), 0.5)].into();
        assert_eq!(params_key("no-such-workload", &p), "alpha=0.5,steps=10");
        let p: Params = [("particles".to_string(), 16.0), ("fork".to_string(), 1.0)].into();
        assert_eq!(params_key("fparticles", &p), "fork=balanced,particles=16");
    }

    #[test]
    fn crashes_break_claims_and_timeouts_do_not() {
        for (kind, breaks) in [
            (FailureKind::Crashed, true),
            (FailureKind::Oom, true),
            (FailureKind::Panicked, true),
            (FailureKind::Timeout, false),
            (FailureKind::Skipped, false),
            (FailureKind::NotEvaluated, false),
        ] {
            assert_eq!(
                CaseFailure::new(kind, "x").breaks_claim(),
                breaks,
                "{kind:?}"
            );
        }
    }
}
