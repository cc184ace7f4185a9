//! Parallel results beside the bounds of their job graphs: what `run`'s summary, `plot`'s
//! tables and figure 6, and `check`'s speedup claims report about a case measured on several
//! thread counts.
//!
//! - [`span`]: the work and span of a gradient from a task-parallel strategy's counters, the
//!   bound min(P, W / S) and Brent's greedy estimate W / (W / P + S);
//! - [`cases`]: a results file's parallel cases, with their measured speedups over one thread;
//! - [`table`]: those cases as the parallel table, with its legend.
//!
//! `docs/parallel.md` explains the model and what a measured speedup can lose against it.

pub mod cases;
pub mod span;
pub mod table;
