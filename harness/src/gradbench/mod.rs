//! dualbench as a GradBench tool: `dualbench gradbench --strategy S` speaks GradBench's
//! line-based JSON protocol on stdin and stdout, so that GradBench's evals — independent
//! programs that send inputs and validate the answers against their own reference
//! implementations — can measure every dualbench strategy, the ladder rungs and the peers
//! included (docs/gradbench.md).
//!
//! | module | job |
//! |---|---|
//! | [`json`] | a line read as JSON strictly (no key twice), and its `id` read past what is wrong with the rest |
//! | [`protocol`] | the messages and responses, and sorting a line into one |
//! | [`input`] | an `evaluate` input's fields checked by name, and its bounded `min_runs` and `min_seconds` |
//! | [`modules`] | the modules (`hello`, `lse`, `llsq`, `det`, `ode`, `gmm`, `kmeans`): input types, T from the input's shape, programs |
//! | [`task`] | one evaluation: the work cap, the timed runs, the output |
//! | [`session`] | the loop over messages: what each gets, the defined modules |
//! | [`worker`] | where evaluations run: in a worker process that may crash without ending the session |

pub mod input;
pub mod json;
pub mod modules;
pub mod protocol;
pub mod session;
pub mod task;
pub mod worker;

pub use modules::Module;
pub use protocol::{EvaluateReply, EvaluateRequest, Response};
pub use session::{Answer, Session};
pub use worker::{Evaluator, InProcess, Isolated};

/// The default cap on the predicted work of one evaluation ([`task::Task::run`]), in steps of
/// [`crate::verify::caps::work`]: 10^9 steps are seconds to a minute of the slower
/// strategies and, for the taping ones, tens of GB of tape — beyond what answers on a usual
/// machine (`det` at `ell` = 12, T = 1.3 10^9, is refused; `ell` = 11 runs).
pub const DEFAULT_WORK_CAP: f64 = 1e9;
