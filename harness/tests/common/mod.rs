//! A synthetic results file for the plot tests: known medians, intervals, counters and
//! statuses, so every figure has something to draw and every assertion a known answer.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use dualbench::measure::machine::{Build, Machine};
use dualbench::results::{CaseResult, Metadata, ResultsFile, RunOptions, Status, SCHEMA_VERSION};

/// Run the `dualbench` binary under test with `args`, in a terminal wide enough for one line
/// per table row (the tests read the rows; `cli_usage` tests the wrapping).
pub fn dualbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .env("COLUMNS", "1000")
        .output()
        .expect("running dualbench")
}

/// The metadata of the synthetic file.
pub fn metadata() -> Metadata {
    Metadata {
        build: Build::current(),
        machine: Machine::current(),
        date: "2026-01-01T00:00:00Z".into(),
        command: "dualbench run --suite quick".into(),
        options: RunOptions {
            suite: "quick".into(),
            budget_s: 2.0,
            repeat: 6,
            min_time_s: 0.05,
            warmup_s: 0.02,
            target_sample_s: 0.0005,
            rounds: 5,
            stack_mib: 1024,
            memory_limit_mib: 1000,
            shard: None,
        },
        ci_level: 0.95,
        merged_from: Vec::new(),
    }
}

/// A measured row: median `ns`, a +-5% interval, `heap` bytes, `counters`.
pub fn ok(
    workload: &str,
    size: Option<u64>,
    strategy: &str,
    ns: f64,
    primal_ns: f64,
    heap: u64,
    counters: &[(&str, u64)],
) -> CaseResult {
    let mut r = CaseResult::unmeasured(
        workload,
        size,
        BTreeMap::new(),
        strategy,
        Status::Ok,
        String::new(),
        format!("dualbench run --workloads {workload} --strategies {strategy}"),
    );
    r.inputs = Some(size.unwrap_or(2));
    r.outputs = Some(1);
    r.ops = Some(2 * size.unwrap_or(1));
    r.samples_ns = vec![ns * 0.95, ns, ns * 1.05];
    r.round_samples = vec![3];
    r.median_ns = Some(ns);
    r.min_ns = Some(ns * 0.95);
    r.max_ns = Some(ns * 1.05);
    r.ci_low_ns = Some(ns * 0.95);
    r.ci_high_ns = Some(ns * 1.05);
    r.ci_level = Some(0.75);
    r.primal_median_ns = Some(primal_ns);
    r.overhead = Some(ns / primal_ns);
    if strategy == "primal" || strategy.starts_with("forward") {
        r.forward_median_ns = Some(ns);
        r.reverse_median_ns = Some(0.0);
    } else {
        r.forward_median_ns = Some(ns * 0.4);
        r.reverse_median_ns = Some(ns * 0.6);
    }
    r.peak_heap_bytes = Some(heap);
    r.allocated_bytes = Some(heap);
    r.allocations = Some(heap / 64);
    r.peak_rss_bytes = Some(1 << 20);
    r.counters = counters.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    r.wall_s = 0.1;
    r
}

/// `row` with 30 samples in 5 rounds of 6, drawn around `ns` with +-4% noise from `seed`
/// (a linear congruential stream: deterministic, and different for different seeds).
pub fn with_noisy_samples(mut row: CaseResult, ns: f64, seed: u64) -> CaseResult {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    row.samples_ns = (0..30)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            ns * (0.96 + 0.08 * unit)
        })
        .collect();
    row.round_samples = vec![6; 5];
    let mut sorted = row.samples_ns.clone();
    sorted.sort_by(f64::total_cmp);
    row.median_ns = Some((sorted[14] + sorted[15]) / 2.0);
    row
}

/// `row` with the parameter `key` set to `value`.
pub fn with_param(mut row: CaseResult, key: &str, value: f64) -> CaseResult {
    row.params.insert(key.to_string(), value);
    row
}

/// A row that did not finish.
pub fn failed(workload: &str, size: u64, strategy: &str, status: Status) -> CaseResult {
    CaseResult::unmeasured(
        workload,
        Some(size),
        BTreeMap::new(),
        strategy,
        status,
        "exceeded the budget of 2 s".into(),
        format!("dualbench run --workloads {workload} --strategies {strategy}"),
    )
}

/// The rows: fdotprod (primal, tape, dualrev, naive with a time-out at the largest size),
/// square-chain (the ladder rungs with their counters), fmult (fixed size), lse (one size).
pub fn rows() -> Vec<CaseResult> {
    let mut rows = Vec::new();
    for n in [100u64, 1000, 10000] {
        let x = n as f64;
        rows.push(ok("fdotprod", Some(n), "primal", x, x, 0, &[]));
        rows.push(ok(
            "fdotprod",
            Some(n),
            "tape",
            10.0 * x,
            x,
            24 * n,
            &[("edges_applied", 2 * n)],
        ));
        rows.push(ok(
            "fdotprod",
            Some(n),
            "dualrev",
            20.0 * x,
            x,
            48 * n,
            &[
                ("ids_allocated", 2 * n),
                ("edges_applied", 2 * n),
                ("slots_swept", 2 * n),
            ],
        ));
        if n < 10000 {
            rows.push(ok(
                "fdotprod",
                Some(n),
                "naive",
                x * x,
                x,
                8 * n * n,
                &[("backprop_calls", 4 * n), ("dense_elements", 8 * n * n)],
            ));
        } else {
            rows.push(failed("fdotprod", n, "naive", Status::Timeout));
        }
    }
    for d in [5u64, 10, 15, 20] {
        let x = d as f64;
        let linear = [
            ("ids_allocated", 2 * d),
            ("edges_applied", 2 * d),
            ("collector_updates", d),
            ("dense_elements", d),
            ("sparse_updates", d),
            ("slots_swept", d),
        ];
        rows.push(ok("square-chain", Some(d), "primal", x, x, 0, &[]));
        rows.push(ok(
            "square-chain",
            Some(d),
            "naive",
            2f64.powf(x),
            x,
            64 * d,
            &[("backprop_calls", 1 << d), ("dense_elements", 1 << d)],
        ));
        for rung in ["staged", "cayley", "sparse", "dualrev"] {
            rows.push(ok(
                "square-chain",
                Some(d),
                rung,
                50.0 * x,
                x,
                100 * d,
                &linear,
            ));
        }
    }
    rows.push(ok("fmult", None, "primal", 2.0, 2.0, 0, &[]));
    rows.push(ok(
        "fmult",
        None,
        "tape",
        60.0,
        2.0,
        64,
        &[("edges_applied", 3)],
    ));
    rows.push(ok("lse", Some(100), "primal", 100.0, 100.0, 0, &[]));
    rows.push(ok(
        "lse",
        Some(100),
        "tape",
        900.0,
        100.0,
        4096,
        &[("edges_applied", 300)],
    ));
    rows
}

/// Write the synthetic results file into `dir` (created if needed).
pub fn write(dir: &Path) {
    write_rows(dir, rows());
}

/// Write `rows` as a results file into `dir` (created if needed).
pub fn write_rows(dir: &Path, rows: Vec<CaseResult>) {
    std::fs::create_dir_all(dir).unwrap();
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata(),
        rows,
    }
    .write_dir(dir)
    .unwrap();
}
