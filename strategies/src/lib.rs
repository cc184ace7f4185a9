//! The `Real` trait and every automatic-differentiation strategy that dualbench compares.
//!
//! One module per strategy, named after its CLI name; [`registry`] is the one place a strategy is
//! registered. Workloads are written once against [`Real`] (see its example) and run under every
//! strategy through [`StrategyKind`].
//!
//! | strategy | module | representation |
//! |---|---|---|
//! | `primal` | [`primal`] | `f64`, no derivative |
//! | `forward` | [`forward`] | dual numbers, one pass per input |
//! | `forward-vec` | [`forward_vec`] | dual numbers with a vector tangent |
//! | `tape` | [`tape`] | Wengert list, one reverse sweep |
//! | `naive` | [`naive`] | rung 0: backpropagator closures, dense cotangents |
//! | `staged` | [`staged`] | rung 1: `Contrib` data with IDs, functional collector |
//! | `cayley` | [`cayley`] | rung 2: Cayley-transformed, immutable accumulator |
//! | `sparse` | [`sparse`] | rung 3: sparse collector |
//! | `dualrev` | [`dualrev`] | rung 4: mutable arrays, the optimised algorithm |
//! | `dualrev-par` | [`dualrev_par`] | rung 4, task-parallel: job IDs, parallel reverse pass |
//! | `tape-par` | [`tape_par`] | a tape per job of the fork-join graph, parallel sweep |
//! | `manual` | [`manual`] | not AD: the workload's hand-written adjoint on `f64`, the floor |
//!
//! The established Rust AD crates join as `peer-*` strategies behind cargo features ([`peers`]).
//!
//! Fork-join programs ([`ParProgram`]) run under the strategies that implement [`ParStrategy`]
//! (`primal`, `forward`, `tape`, `dualrev-par`, `tape-par`); the harness holds them as [`ForkJoin`], which
//! runs the program's sequential twin under every other strategy.
//!
//! Rungs 1–4 share their forward pass (the (value, ID, Contrib) scalar) in [`contrib`]; each
//! rung's module holds its reverse pass, which is where the rungs differ.

pub(crate) mod arena;
pub mod cayley;
pub mod contrib;
pub mod dualrev;
pub mod dualrev_par;
pub mod forward;
pub mod forward_vec;
pub mod hvp;
mod job_blocks;
pub mod manual;
pub mod naive;
pub mod op_count;
pub mod peers;
mod pool;
pub mod primal;
pub mod program;
pub mod real;
pub mod registry;
pub mod sparse;
pub mod staged;
pub mod tape;
pub mod tape_par;
#[cfg(test)]
mod test_programs;
pub mod timing;

pub use program::{
    outputs, scratch, Counters, Derivatives, HandAdjoint, Jacobian, Outputs, ParProgram,
    ParStrategy, PhaseClock, Phases, Probe, Program, Recorder, Silent, Strategy, Vjp,
};
pub use real::{ParReal, Real};
pub use registry::{CostClass, DynProgram, ForkJoin, StrategyKind};
