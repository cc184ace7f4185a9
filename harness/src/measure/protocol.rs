//! The messages between `dualbench run` and the `run-case` child that measures one case.
//!
//! The parent starts the child with a [`CaseSpec`] (as one JSON argument). The child
//! instantiates the case and counts its operations ([`Response::Counted`]), then runs the
//! memory pass, the counting pass and the warm-up ([`Response::Ready`]) — two messages, so
//! that a case that times out in its first gradient still reports T. From then on the parent
//! sends one [`Request`] per line on the child's stdin and the child answers each with one
//! [`Response`] line on its stdout. Between requests the child sits idle, blocked on stdin:
//! that is what lets the parent interleave the samples of all strategies of a (workload, size)
//! group while each strategy stays in its own process. Because the child idles between
//! requests, each [`Request::Measure`] starts with its phase samples, which are not timed
//! samples: caches, branch predictors and the CPU's clock come back from the idle period on
//! them, not on a sample.

use serde::{Deserialize, Serialize};
use workloads::Params;

use crate::measure::alloc::HeapUsage;

/// One case and how to measure it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseSpec {
    /// The workload's name.
    pub workload: String,
    /// The strategy's name.
    pub strategy: String,
    /// The primary size (`None` for fixed-size workloads).
    pub size: Option<usize>,
    /// The workload's parameters as given (defaults are filled in by the child).
    pub params: Params,
    /// The threads of the rayon pool the child runs the whole case in (1 for a sequential
    /// case).
    pub threads: usize,
    /// The stack of each evaluation thread (every worker of the pool), in bytes.
    pub stack_bytes: usize,
    /// The cap on live heap bytes, 0 for none.
    pub memory_limit_bytes: usize,
    /// Warm-up: gradients are computed untimed until this much time has passed (at least one).
    pub warmup_ns: u64,
    /// Fast gradients are batched so that one sample takes at least this long.
    pub target_sample_ns: u64,
}

/// What the parent asks of a ready child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Take `phase_samples` samples of the phases (batches timed with the clock read at each
    /// phase boundary; they also warm the case up), then `samples` timed samples.
    Measure {
        /// How many timed samples.
        samples: u64,
        /// How many phase samples.
        phase_samples: u64,
    },
    /// Report the peak RSS and exit.
    Finish,
}

/// What the child reports once the case is instantiated, before any gradient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// n, the number of inputs.
    pub inputs: u64,
    /// m, the number of outputs.
    pub outputs: u64,
    /// T, the primal operation count.
    pub ops: u64,
    /// The naive strategy's predicted backpropagator calls (infinite when beyond `f64`).
    #[serde(with = "crate::results::nonfinite")]
    pub naive_calls: f64,
    /// FNV-1a (64-bit) hash of the input vector's bits, in hex: identifies the generated input.
    pub input_hash: String,
    /// The child's heap high-water mark against the memory cap so far
    /// ([`crate::measure::alloc::high_water_bytes`]; `None` without a cap).
    pub heap_bytes: Option<u64>,
}

/// What the child reports once the case is warmed up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The strategy's counters for one gradient, in reporting order.
    pub counters: Vec<(String, u64)>,
    /// Heap use of one gradient (the first gradient of the process, the one that also records
    /// the counters), when the counting allocator is installed.
    pub heap: Option<HeapUsage>,
    /// The wall time of that first gradient, in nanoseconds: the cold gradient.
    pub cold_ns: f64,
    /// Gradients per timed sample.
    pub batch: u64,
    /// The fastest warm-up gradient, in nanoseconds: the parent's estimate of one gradient.
    pub estimate_ns: f64,
    /// The heap high-water mark against the memory cap so far, as in [`CaseInfo::heap_bytes`].
    pub heap_bytes: Option<u64>,
}

/// One phase sample: a batch of gradients with the clock read at every phase boundary,
/// reported per gradient.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseSample {
    /// The strategy's forward phase, nanoseconds per gradient.
    pub forward_ns: f64,
    /// The strategy's reverse phase, nanoseconds per gradient.
    pub reverse_ns: f64,
}

/// The answer to one [`Request::Measure`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// Wall-clock nanoseconds per gradient of each timed sample (a batch of gradients).
    pub ns: Vec<f64>,
    /// The phase samples.
    pub phases: Vec<PhaseSample>,
    /// Gradients computed before the first timed sample of the share (those of its phase
    /// samples: the share's warm-up).
    pub warmup_gradients: u64,
    /// The heap high-water mark against the memory cap so far, as in [`CaseInfo::heap_bytes`].
    pub heap_bytes: Option<u64>,
}

impl Response {
    /// The heap high-water mark this answer reports, if any.
    pub fn heap_bytes(&self) -> Option<u64> {
        match self {
            Response::Counted(info) => info.heap_bytes,
            Response::Ready(setup) => setup.heap_bytes,
            Response::Samples(samples) => samples.heap_bytes,
            Response::Finished { .. } => None,
        }
    }
}

/// A line the child writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Instantiated and counted.
    Counted(CaseInfo),
    /// Set up and warmed up.
    Ready(Setup),
    /// The samples of one [`Request::Measure`].
    Samples(Samples),
    /// The answer to [`Request::Finish`].
    Finished {
        /// The child's peak resident set size in bytes, if the OS reports it.
        peak_rss_bytes: Option<u64>,
    },
}
