//! dualbench as a GradBench tool: `dualbench gradbench --strategy S` speaks GradBench's
//! line-based JSON protocol on stdin and stdout, so that GradBench's evals — independent
//! programs that send inputs and validate the answers against their own reference
//! implementations — can measure every dualbench strategy, the ladder rungs and the peers
//! included (docs/gradbench.md).
//!
//! | module | job |
//! |---|---|
//! | [`protocol`] | the messages and responses, and sorting a line into one |
//! | [`modules`] | the modules (`hello`, `lse`, `llsq`, `det`, `ode`, `gmm`, `kmeans`): input types, programs, timed runs, outputs |
//! | [`session`] | the loop over messages: what each gets, the defined modules |
//! | [`worker`] | where evaluations run: in a worker process that may crash without ending the session |

pub mod modules;
pub mod protocol;
pub mod session;
pub mod worker;

pub use modules::Module;
pub use protocol::{EvaluateReply, EvaluateRequest, Response};
pub use session::Session;
pub use worker::{Evaluator, InProcess, Isolated};

/// The default cap on the predicted work of one derivative ([`modules::Task::run`]): about a
/// minute or more of work for the dense and path-counting strategies; the linear ones always
/// run.
pub const DEFAULT_WORK_CAP: f64 = 1e10;
