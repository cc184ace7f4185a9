//! The dualbench harness: the library behind the `dualbench` binary.
//!
//! Data flows one way: workloads are generic programs, a strategy instantiates them and
//! computes a gradient, the harness times and counts that and writes rows, and `check`, `plot`
//! and `compare` read rows. The CLI is layered as parsed flags ([`cli`]) -> validated plan ->
//! work, one module per command in [`commands`].

pub mod check;
pub mod cli;
pub mod commands;
pub mod error;
pub mod measure;
pub mod results;
pub mod select;
pub mod suite;
pub mod table;

pub use error::{Error, Outcome, Result};
