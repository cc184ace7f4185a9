//! Thread counts end to end (`--threads`): a fork-join workload's parallel strategies run once
//! per thread count and every other case on one thread, each row records its count in its key,
//! its reproducer and the table, bad counts are refused with nothing written, `merge` and
//! `compare` tell the counts apart, old files read as one thread, and `grad` and `verify` on
//! two threads agree with one.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Output;

use common::dualbench;
use dualbench::results::{CaseResult, ResultsFile, SCHEMA_VERSION};

fn run_ok(args: &[&str]) -> Output {
    let out = dualbench(args);
    assert!(
        out.status.success(),
        "dualbench {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `run` with few, short samples into `out`, and the flags `extra`.
fn run(out: &Path, extra: &[&str]) -> (Vec<CaseResult>, String) {
    let mut args = vec![
        "run",
        "--repeat",
        "2",
        "--min-time",
        "0",
        "--warmup",
        "0",
        "--no-plot",
        "--format",
        "table",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run_ok(&args);
    let rows = ResultsFile::read(out).unwrap().rows;
    (rows, String::from_utf8(output.stdout).unwrap())
}

/// The (workload, strategy, threads) of every row, in order.
fn cases(rows: &[CaseResult]) -> Vec<(&str, &str, u64)> {
    rows.iter()
        .map(|r| (r.workload.as_str(), r.strategy.as_str(), r.threads))
        .collect()
}

fn find<'a>(
    rows: &'a [CaseResult],
    workload: &str,
    strategy: &str,
    threads: u64,
) -> &'a CaseResult {
    rows.iter()
        .find(|r| r.workload == workload && r.strategy == strategy && r.threads == threads)
        .unwrap_or_else(|| panic!("no row {workload} {strategy} on {threads} threads"))
}

#[test]
fn parallel_strategies_run_once_per_thread_count_on_fork_join_workloads_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("threads");
    let (rows, table) = run(
        &out,
        &[
            "--workloads",
            "fparticles,fdotprod",
            "--sizes",
            "fparticles=5",
            "--sizes",
            "fdotprod=10",
            "--strategies",
            "dualrev-par,dualrev,tape",
            "--threads",
            "1,2",
        ],
    );
    assert_eq!(
        cases(&rows),
        [
            ("fparticles", "primal", 1),
            ("fparticles", "primal", 2),
            ("fparticles", "dualrev-par", 1),
            ("fparticles", "dualrev-par", 2),
            ("fparticles", "dualrev", 1),
            ("fparticles", "tape", 1),
            ("fdotprod", "primal", 1),
            ("fdotprod", "dualrev-par", 1),
            ("fdotprod", "dualrev", 1),
            ("fdotprod", "tape", 1),
        ],
        "only the parallel strategies on the fork-join workload run on two threads"
    );
    let keys: HashSet<_> = rows.iter().map(CaseResult::key).collect();
    assert_eq!(keys.len(), rows.len(), "every case has its own key");
    for r in &rows {
        assert_eq!(r.status, dualbench::results::Status::Ok, "{r:?}");
        assert!(
            r.allocations.is_some() && r.peak_heap_bytes.is_some(),
            "{r:?}"
        );
        assert_eq!(
            r.command.contains("--threads 2"),
            r.threads == 2,
            "the reproducer names a thread count other than 1: {}",
            r.command
        );
    }
    // Denominators: the primal on the case's thread count, else on one thread.
    let median = |s, t| find(&rows, "fparticles", s, t).median_ns;
    for (strategy, threads, primal_threads) in [
        ("dualrev-par", 2, 2),
        ("dualrev-par", 1, 1),
        ("dualrev", 1, 1),
        ("primal", 2, 2),
    ] {
        let row = find(&rows, "fparticles", strategy, threads);
        assert_eq!(
            row.primal_median_ns,
            median("primal", primal_threads),
            "{strategy} on {threads}"
        );
    }
    // The parallel gradient does the sequential one's work (only atomic_retries depends on
    // the schedule).
    let counters = |t| {
        let mut c = find(&rows, "fparticles", "dualrev-par", t).counters.clone();
        c.remove("atomic_retries");
        c
    };
    assert_eq!(counters(1), counters(2));
    // The CSV carries the thread counts too, and the table shows them.
    let csv = ResultsFile::read_rows(&out.join("results.csv")).unwrap();
    assert_eq!(cases(&csv), cases(&rows));
    assert!(
        table.contains("dualrev-par@2t") && table.contains("primal@2t"),
        "{table}"
    );
    assert!(!table.contains("tape@"), "{table}");
}

#[test]
fn without_one_in_the_list_the_sequential_cases_still_run_on_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = run(
        &dir.path().join("two"),
        &[
            "--workloads",
            "par-tree",
            "--sizes",
            "8",
            "--strategies",
            "dualrev-par,dualrev",
            "--threads",
            "2",
        ],
    );
    assert_eq!(
        cases(&rows),
        [
            ("par-tree", "primal", 1),
            ("par-tree", "primal", 2),
            ("par-tree", "dualrev-par", 2),
            ("par-tree", "dualrev", 1),
        ]
    );
    let primal = find(&rows, "par-tree", "primal", 1).median_ns;
    assert_eq!(
        find(&rows, "par-tree", "dualrev", 1).primal_median_ns,
        primal
    );
}

#[test]
fn bad_thread_counts_exit_2_naming_the_value_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    for (value, needle) in [
        ("0", "`0`"),
        ("x", "`x`"),
        ("1,1", "1 is given twice"),
        ("1,2,2", "2 is given twice"),
        ("257", "`257`"),
        ("", "``"),
    ] {
        let args = [
            "run",
            "--quiet",
            "--workloads",
            "fparticles",
            "--threads",
            value,
            "--out",
            out.to_str().unwrap(),
        ];
        let result = dualbench(&args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--threads") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    for args in [
        &[
            "grad",
            "--workload",
            "fparticles",
            "--strategy",
            "primal",
            "--threads",
            "0",
        ][..],
        &["verify", "--workloads", "fparticles", "--threads", "x"],
    ] {
        let result = dualbench(args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("invalid thread count"),
            "{args:?}: {stderr}"
        );
    }
}

/// `fparticles` rows of `strategies` on `threads`, with known medians and counters.
fn rows_on(threads: u64, strategies: &[&str], edges: u64) -> Vec<CaseResult> {
    strategies
        .iter()
        .map(|&s| {
            let mut r = common::ok("fparticles", Some(100), s, 1000.0, 100.0, 4096, &[]);
            r.threads = threads;
            if s != "primal" {
                r.counters = BTreeMap::from([("edges_applied".to_string(), edges)]);
            }
            r
        })
        .collect()
}

#[test]
fn merge_keeps_rows_that_differ_only_in_their_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    common::write_rows(&one, rows_on(1, &["primal", "dualrev-par"], 10));
    common::write_rows(&two, rows_on(2, &["primal", "dualrev-par"], 10));
    let merged = dir.path().join("merged");
    run_ok(&[
        "merge",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "--quiet",
        "--out",
        merged.to_str().unwrap(),
    ]);
    let rows = ResultsFile::read(&merged).unwrap().rows;
    assert_eq!(
        cases(&rows),
        [
            ("fparticles", "primal", 1),
            ("fparticles", "dualrev-par", 1),
            ("fparticles", "primal", 2),
            ("fparticles", "dualrev-par", 2),
        ]
    );
    let twice = dualbench(&[
        "merge",
        two.to_str().unwrap(),
        two.to_str().unwrap(),
        "--out",
        dir.path().join("twice").to_str().unwrap(),
    ]);
    assert_eq!(twice.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(
        stderr.contains("repeats the case fparticles primal@2t"),
        "{stderr}"
    );
}

#[test]
fn compare_matches_each_case_with_the_same_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (base, new) = (dir.path().join("base"), dir.path().join("new"));
    let both = |edges_on_two| {
        let mut rows = rows_on(1, &["primal", "dualrev-par"], 10);
        rows.extend(rows_on(2, &["primal", "dualrev-par"], edges_on_two));
        rows
    };
    common::write_rows(&base, both(10));
    common::write_rows(&new, both(11));
    let result = dualbench(&[
        "compare",
        base.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(3), "{stdout}");
    let changed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("edges_applied"))
        .collect();
    assert!(
        !changed.is_empty() && changed.iter().all(|l| l.contains("dualrev-par@2t")),
        "only the two-thread case changed: {stdout}"
    );
}

#[test]
fn a_results_file_of_schema_3_reads_as_run_on_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    common::write_rows(&new, common::rows());
    // The same file as schema version 3 wrote it: no `threads` (nor the later `cold_ns`, which
    // these rows do not measure) in the rows.
    std::fs::create_dir_all(&old).unwrap();
    let text = std::fs::read_to_string(new.join("results.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["schema_version"] = serde_json::json!(3);
    for row in value["rows"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        row.remove("threads").unwrap();
        assert_eq!(row.remove("cold_ns"), Some(serde_json::Value::Null));
    }
    std::fs::write(old.join("results.json"), value.to_string()).unwrap();

    let file = ResultsFile::read(&old).unwrap();
    assert_eq!(file.schema_version, SCHEMA_VERSION);
    assert!(file.rows.iter().all(|r| r.threads == 1));
    assert_eq!(file.rows, ResultsFile::read(&new).unwrap().rows);
    // Its cases are the one-thread cases of a file of this version, for compare, merge and
    // plot.
    let result = dualbench(&["compare", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    run_ok(&[
        "plot",
        "--quiet",
        "--results",
        old.to_str().unwrap(),
        "--images",
        "svg",
        "--out",
        dir.path().join("plot").to_str().unwrap(),
    ]);
}

/// The gradient `grad` prints, and its counters without the schedule-dependent one.
fn gradient(threads: &str) -> (Vec<f64>, serde_json::Value) {
    let out = run_ok(&[
        "grad",
        "--workload",
        "fparticles",
        "--strategy",
        "dualrev-par",
        "--size",
        "50",
        "--threads",
        threads,
    ]);
    let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gradient = json["gradient"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_f64().unwrap())
        .collect();
    json["counters"]
        .as_object_mut()
        .unwrap()
        .remove("atomic_retries");
    (gradient, json["counters"].clone())
}

#[test]
fn grad_and_verify_on_two_threads_agree_with_one_thread() {
    let (one, one_counters) = gradient("1");
    let (two, two_counters) = gradient("2");
    assert_eq!(one.len(), two.len());
    for (a, b) in one.iter().zip(&two) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} vs {b}");
    }
    assert_eq!(one_counters, two_counters);
    run_ok(&[
        "verify",
        "--quiet",
        "--workloads",
        "fparticles,par-tree,random-fork-join",
        "--strategies",
        "primal,tape,dualrev,dualrev-par",
        "--threads",
        "2",
    ]);
}
