//! `dualbench compare` on synthetic results files with known differences: each kind of
//! change gives its exit code and flags exactly the rows it should.

mod common;

use common::dualbench;

use std::path::Path;

use dualbench::results::{CaseResult, Status};

/// The baseline rows: the plot fixture, every measured row with noisy samples.
fn base_rows() -> Vec<CaseResult> {
    common::rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| match r.median_ns {
            Some(ns) => common::with_noisy_samples(r, ns, i as u64),
            None => r,
        })
        .collect()
}

/// Write `base` and `new` into `dir` and compare them with `extra` flags: (exit code, stdout).
fn compare(
    dir: &Path,
    base: Vec<CaseResult>,
    new: Vec<CaseResult>,
    extra: &[&str],
) -> (i32, String) {
    let (b, n) = (dir.join("base"), dir.join("new"));
    common::write_rows(&b, base);
    common::write_rows(&n, new);
    let mut args = vec![
        "compare",
        b.to_str().unwrap(),
        n.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(extra);
    let out = dualbench(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// The labels of the rows of the changed-cases table (plain format) whose verdict column
/// holds `verdict`.
fn flagged(stdout: &str, verdict: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.contains(verdict))
        .map(|l| l.split("  ").next().unwrap().trim().to_string())
        .collect()
}

fn edit(
    rows: &mut [CaseResult],
    workload: &str,
    size: Option<u64>,
    strategy: &str,
    f: impl FnOnce(&mut CaseResult),
) {
    let row = rows
        .iter_mut()
        .find(|r| r.workload == workload && r.size == size && r.strategy == strategy)
        .expect("the fixture has the row");
    f(row);
}

#[test]
fn identical_files_compare_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = compare(dir.path(), base_rows(), base_rows(), &["--fail-on", "all"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("compare: no regression in 40 common cases"),
        "{out}"
    );
    assert!(out.contains("No case changed."), "{out}");
}

#[test]
fn noise_alone_is_never_a_time_regression() {
    let dir = tempfile::tempdir().unwrap();
    // The same distributions, new draws.
    let new: Vec<CaseResult> = base_rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| match r.median_ns {
            Some(ns) => common::with_noisy_samples(r, ns, 1000 + i as u64),
            None => r,
        })
        .collect();
    let (code, out) = compare(dir.path(), base_rows(), new, &["--fail-on", "time"]);
    assert_eq!(code, 0, "{out}");
    assert!(flagged(&out, "regression:").is_empty(), "{out}");
}

#[test]
fn a_row_twice_as_slow_is_flagged_and_fails_only_when_time_is_gated() {
    let dir = tempfile::tempdir().unwrap();
    let mut new = base_rows();
    edit(&mut new, "fdotprod", Some(1000), "dualrev", |r| {
        let ns = r.median_ns.unwrap() * 2.0;
        *r = common::with_noisy_samples(r.clone(), ns, 7);
    });
    let (code, out) = compare(dir.path(), base_rows(), new.clone(), &[]);
    assert_eq!(code, 0, "time is not gated by default: {out}");
    assert_eq!(
        flagged(&out, "regression: time"),
        ["fdotprod 1000 / dualrev"],
        "{out}"
    );
    let (code, out) = compare(
        dir.path(),
        base_rows(),
        new,
        &["--fail-on", "time", "--format", "markdown"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("**dualbench compare: REGRESSION in 1 of 40 common cases (time: 1"),
        "{out}"
    );
    assert!(
        out.contains("<details><summary>All 40 cases</summary>"),
        "{out}"
    );
    let changed_table = out.split("<details>").next().unwrap();
    assert_eq!(
        changed_table.matches("| fdotprod 1000 / dualrev |").count(),
        1,
        "{out}"
    );
    assert_eq!(
        changed_table.matches("\n| ").count(),
        3,
        "header, rule and the one changed row: {out}"
    );
}

#[test]
fn one_counter_up_by_one_is_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let mut new = base_rows();
    edit(&mut new, "square-chain", Some(10), "sparse", |r| {
        *r.counters.get_mut("edges_applied").unwrap() += 1;
    });
    let (code, out) = compare(dir.path(), base_rows(), new, &[]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        // The rows lack `x0`: read with its default, as in the results files `run` writes.
        flagged(&out, "regression: counters"),
        ["square-chain[x0=1] 10 / sparse"],
        "{out}"
    );
    assert!(out.contains("edges_applied 20 -> 21"), "{out}");
}

#[test]
fn one_allocation_more_is_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let mut new = base_rows();
    edit(&mut new, "fmult", None, "tape", |r| {
        r.allocations = r.allocations.map(|a| a + 1);
    });
    let (code, out) = compare(dir.path(), base_rows(), new, &[]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        flagged(&out, "regression: allocations"),
        ["fmult / tape"],
        "{out}"
    );
    assert!(out.contains("allocations 1 -> 2"), "{out}");
}

/// A case that took 0.1 s of its 2 s budget in BASE and times out in NEW at the same pace
/// slowed down more than twice: a regression whatever is gated.
#[test]
fn a_case_that_stops_finishing_fails_whatever_is_gated() {
    let dir = tempfile::tempdir().unwrap();
    let mut new = base_rows();
    edit(&mut new, "fdotprod", Some(1000), "naive", |r| {
        *r = common::failed("fdotprod", 1000, "naive", Status::Timeout);
    });
    let (code, out) = compare(dir.path(), base_rows(), new, &["--fail-on", "counters"]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        flagged(&out, "regression: timeout"),
        ["fdotprod 1000 / naive"],
        "{out}"
    );
    assert!(out.contains("ok -> timeout"), "{out}");
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    common::write_rows(&base, base_rows());
    let missing = dir.path().join("missing");
    let out = dualbench(&["compare", base.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));

    let future = dir.path().join("future");
    std::fs::create_dir_all(&future).unwrap();
    let text = std::fs::read_to_string(base.join("results.json")).unwrap();
    std::fs::write(
        future.join("results.json"),
        text.replacen(
            &format!("\"schema_version\": {}", dualbench::results::SCHEMA_VERSION),
            "\"schema_version\": 99",
            1,
        ),
    )
    .unwrap();
    let out = dualbench(&["compare", base.to_str().unwrap(), future.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema version 99"));

    let other = dir.path().join("other");
    common::write_rows(
        &other,
        vec![common::ok("lse", Some(7), "tape", 1.0, 1.0, 0, &[])],
    );
    let out = dualbench(&["compare", base.to_str().unwrap(), other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no case in common"));

    let out = dualbench(&[
        "compare",
        base.to_str().unwrap(),
        base.to_str().unwrap(),
        "--time-threshold",
        "-1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn instruction_counts_gate_beyond_their_threshold_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut base = base_rows();
    for r in base.iter_mut() {
        r.instructions = Some(100_000);
    }
    let mut new = base.clone();
    // callgrind's few instructions of noise: not a change.
    edit(&mut new, "fmult", None, "primal", |r| {
        r.instructions = Some(100_004)
    });
    // An inlining lost: 5% more instructions.
    edit(&mut new, "lse", Some(100), "tape", |r| {
        r.instructions = Some(105_000)
    });
    let (code, out) = compare(dir.path(), base.clone(), new.clone(), &[]);
    assert_eq!(code, 0, "instructions are not gated by default: {out}");
    let (code, out) = compare(
        dir.path(),
        base,
        new,
        &["--fail-on", "counters,instructions"],
    );
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        flagged(&out, "regression: instructions"),
        ["lse 100 / tape"],
        "{out}"
    );
    assert!(out.contains("100000 -> 105000 (+5.00%)"), "{out}");
    assert!(!out.contains("100004"), "noise is not listed: {out}");
}

/// Write `rows` as the results file of a run with a budget of `budget_s` seconds into `dir`.
fn write_with_budget(dir: &Path, rows: Vec<CaseResult>, budget_s: f64) {
    let mut metadata = common::metadata();
    metadata.options.budget_s = budget_s;
    std::fs::create_dir_all(dir).unwrap();
    dualbench::results::ResultsFile {
        schema_version: dualbench::results::SCHEMA_VERSION,
        metadata,
        rows,
    }
    .write_dir(dir)
    .unwrap();
}

/// `compare DIR/base DIR/new` with `extra` flags: (exit code, stdout).
fn compare_dirs(dir: &Path, extra: &[&str]) -> (i32, String) {
    let (b, n) = (dir.join("base"), dir.join("new"));
    let mut args = vec![
        "compare",
        b.to_str().unwrap(),
        n.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(extra);
    let out = dualbench(&args);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// The documented local workflow (the quick suite on this machine against results/baseline,
/// measured with a longer budget on another machine): cases that took longer in BASE than
/// NEW's budget allows time out in NEW. Each is reported as a timeout with what explains it,
/// and gated only with the time tier; a case that needed a small share of the budget and timed
/// out is a regression whatever is gated.
#[test]
fn timeouts_are_explained_by_the_budget_and_gated_with_time_unless_the_case_slowed_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut base = base_rows();
    // fdotprod / naive took 5 s at sizes 100 and 1000 in BASE (budget 6 s).
    for size in [100, 1000] {
        edit(&mut base, "fdotprod", Some(size), "naive", |r| {
            r.wall_s = 5.0
        });
    }
    let mut new = base.clone();
    edit(&mut new, "fdotprod", Some(100), "naive", |r| {
        *r = common::failed("fdotprod", 100, "naive", Status::Timeout);
    });
    edit(&mut new, "fdotprod", Some(1000), "naive", |r| {
        *r = common::failed("fdotprod", 1000, "naive", Status::Skipped);
    });
    write_with_budget(&dir.path().join("base"), base.clone(), 6.0);
    write_with_budget(&dir.path().join("new"), new.clone(), 2.0);
    let (code, out) = compare_dirs(dir.path(), &[]);
    assert_eq!(
        code, 0,
        "explained time-outs are not gated by default: {out}"
    );
    assert!(
        out.starts_with("compare: no regression in 40 common cases")
            && out.contains("2 timed out in NEW as its budget or pace explains"),
        "{out}"
    );
    assert_eq!(
        flagged(&out, "regression: timeout (budget or pace)"),
        ["fdotprod 100 / naive", "fdotprod 1000 / naive"],
        "{out}"
    );
    assert!(
        out.contains(
            "fdotprod 100 / naive: finished in BASE in 5 s (budget 6 s) and timed out in NEW \
             (budget 2 s)"
        ) && out.contains("was skipped in NEW after size 100 timed out")
            && out.contains("rerun NEW with --budget 8"),
        "{out}"
    );
    let (code, out) = compare_dirs(dir.path(), &["--fail-on", "time"]);
    assert_eq!(code, 3, "{out}");

    // The same budget, the same pace, and a case that took 0.1 s in BASE: a regression.
    let mut new = base.clone();
    edit(&mut new, "lse", Some(100), "tape", |r| {
        *r = common::failed("lse", 100, "tape", Status::Timeout);
    });
    write_with_budget(&dir.path().join("new"), new, 6.0);
    let (code, out) = compare_dirs(dir.path(), &[]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        flagged(&out, "regression: timeout"),
        ["lse 100 / tape"],
        "{out}"
    );
    assert!(
        out.contains("REGRESSION in 1 of 40 common cases (timeout: 1")
            && out.contains("slowed down more than twice"),
        "{out}"
    );
    // A crash is not a time-out: a status regression whatever is gated.
    let mut new = base;
    edit(&mut new, "lse", Some(100), "tape", |r| {
        *r = common::failed("lse", 100, "tape", Status::Crashed);
    });
    write_with_budget(&dir.path().join("new"), new, 2.0);
    let (code, out) = compare_dirs(dir.path(), &[]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(
        flagged(&out, "regression: status"),
        ["lse 100 / tape"],
        "{out}"
    );
}

/// Issue 20: a case given twice passed `compare`; a CSV failed with "expected value at line 1
/// column 1"; `schema_version` 0 was "written by a newer dualbench".
#[test]
fn a_case_twice_a_csv_or_schema_version_zero_is_refused_saying_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    common::write_rows(&base, base_rows());
    let b = base.to_str().unwrap();
    let fails = |args: &[&str]| {
        let out = dualbench(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };

    let twice = dir.path().join("twice");
    let mut rows = base_rows();
    rows.push(rows[1].clone());
    common::write_rows(&twice, rows);
    let e = fails(&["compare", b, twice.to_str().unwrap()]);
    assert!(
        e.contains(
            "results.json: the case fdotprod / size 100 / tape appears twice, in row 2 and row 41"
        ),
        "{e}"
    );

    let csv = base.join("results.csv");
    let e = fails(&["compare", b, csv.to_str().unwrap()]);
    assert!(
        e.contains("results.csv is a results CSV") && e.contains("the results.json beside it"),
        "{e}"
    );
    let renamed = dir.path().join("csv.json");
    std::fs::copy(&csv, &renamed).unwrap();
    let e = fails(&["compare", b, renamed.to_str().unwrap()]);
    assert!(e.contains("csv.json: holds CSV text"), "{e}");

    let zero = dir.path().join("zero");
    std::fs::create_dir_all(&zero).unwrap();
    let text = std::fs::read_to_string(base.join("results.json")).unwrap();
    std::fs::write(
        zero.join("results.json"),
        text.replacen(
            &format!("\"schema_version\": {}", dualbench::results::SCHEMA_VERSION),
            "\"schema_version\": 0",
            1,
        ),
    )
    .unwrap();
    let e = fails(&["compare", b, zero.to_str().unwrap()]);
    assert!(
        e.contains("`schema_version` 0 is not a version") && e.contains("valid versions are 1 to"),
        "{e}"
    );
    assert!(!e.contains("newer"), "{e}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = fails(&["compare", b, empty.to_str().unwrap()]);
    assert!(
        e.contains("empty holds no results.json; give a results directory"),
        "{e}"
    );
}
