//! The dualbench harness: the library behind the `dualbench` binary.
//!
//! Data flows one way: workloads are generic programs, a strategy instantiates them and
//! computes a gradient, the harness times and counts that and writes rows, and `check`, `plot`
//! and `compare` read rows. The CLI is layered as parsed flags ([`cli`], one module per
//! command in [`commands`]) -> a validated request or plan -> work, done by the library
//! modules:
//!
//! | module | job |
//! |---|---|
//! | [`listing`] | what `list` prints |
//! | [`gradient`] | one evaluation as JSON (`grad`) |
//! | [`gradbench`] | the GradBench protocol (`gradbench`) |
//! | [`verify`] | strategies against each other and finite differences (`verify`) |
//! | [`sweep`] | the measurement sweep (`run`) |
//! | [`resume`] | continuing an interrupted sweep (`run --resume`) |
//! | [`measure`] | isolated, interleaved measurement of cases |
//! | [`interrupt`] | Ctrl-C: a sweep stops cleanly, locks are released |
//! | [`results`] | the results schema, its files, the journal, the directory lock, merging (`merge`) |
//! | [`check`] | complexity claims against counters or results (`check`) |
//! | [`plot`] | figures, the paper table and index.html from results (`plot`) |
//! | [`compare`] | two results files case by case, for CI (`compare`) |
//! | [`parallel`] | parallel cases: measured speedups beside the work-span bound of their job graph |
//! | [`select`], [`suite`] | command-line selections, suites |
//! | [`strict_json`] | JSON whose objects hold each key once, errors naming the place |
//! | [`suggest`] | "did you mean" for mistyped names in input files |
//! | [`table`], [`output`] | tables, writing to stdout and stderr |

pub mod check;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod error;
pub mod gradbench;
pub mod gradient;
pub mod hessian;
pub mod interrupt;
pub mod listing;
pub mod measure;
pub mod output;
pub mod parallel;
pub mod plot;
pub mod results;
pub mod resume;
pub mod select;
pub mod strict_json;
pub mod suggest;
pub mod suite;
pub mod sweep;
pub mod table;
pub mod verify;

pub use error::{Error, Outcome, Result};
