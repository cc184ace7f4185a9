//! Test fixtures shared by the harness's unit tests: a plausible [`Metadata`] and an empty
//! `ok` row.

use std::collections::BTreeMap;

use crate::measure::machine::{Build, Machine};
use crate::results::{CaseResult, Metadata, RunOptions, Status};

/// The metadata of a paper-suite shard on this machine and build.
pub fn metadata() -> Metadata {
    Metadata {
        build: Build::current(),
        machine: Machine::current(),
        date: "2026-01-01T00:00:00Z".into(),
        command: "dualbench run".into(),
        options: RunOptions {
            suite: "paper".into(),
            budget_s: 10.0,
            repeat: 10,
            min_time_s: 0.3,
            warmup_s: 0.1,
            target_sample_s: 0.0005,
            rounds: 5,
            stack_mib: 1024,
            memory_limit_mib: 1000,
            shard: Some("1/2".into()),
        },
        ci_level: 0.95,
        merged_from: Vec::new(),
    }
}

/// An `ok` row of `strategy` on the fixed-size `fmult` with nothing measured.
pub fn fmult_row(strategy: &str) -> CaseResult {
    CaseResult::unmeasured(
        "fmult",
        None,
        BTreeMap::new(),
        strategy,
        Status::Ok,
        String::new(),
        String::new(),
    )
}
