//! `dualbench check` as a user runs it: synthetic results files with known growth decide
//! timing claims (holds, fails, inconclusive), a false claim fails with its fitted base, the
//! committed claims hold on counters evaluated in-process, `same as` claims compare two
//! strategies' counters in-process, speedup claims are decided from rows at two thread counts,
//! and bad input exits with 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dualbench::measure::machine::{Build, Machine};
use dualbench::results::{
    self, CaseResult, Metadata, ResultsFile, RunOptions, Status, SCHEMA_VERSION,
};
use serde_json::Value;

/// `dualbench args` in a terminal wide enough for one line per table row.
fn dualbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .env("COLUMNS", "1000")
        .output()
        .expect("running dualbench")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// The committed claims file at the repository root.
fn committed_claims() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../claims.toml")
}

/// A finished case with a gradient time, T = 3 * size and the given counters.
fn row(
    workload: &str,
    strategy: &str,
    size: u64,
    median_ns: f64,
    counters: &[(&str, u64)],
) -> CaseResult {
    let mut r = CaseResult::unmeasured(
        workload,
        Some(size),
        BTreeMap::new(),
        strategy,
        Status::Ok,
        String::new(),
        String::new(),
    );
    r.inputs = Some(size);
    r.outputs = Some(1);
    r.ops = Some(3 * size);
    r.batch = Some(1);
    r.samples_ns = vec![median_ns];
    r.round_samples = vec![1];
    r.median_ns = Some(median_ns);
    r.min_ns = Some(median_ns);
    r.max_ns = Some(median_ns);
    r.forward_median_ns = Some(median_ns / 2.0);
    r.reverse_median_ns = Some(median_ns / 2.0);
    r.primal_median_ns = Some(median_ns / 10.0);
    r.overhead = Some(10.0);
    r.peak_heap_bytes = Some(64 * size);
    r.counters = counters.iter().map(|&(k, v)| (k.to_string(), v)).collect();
    r.wall_s = 0.1;
    r
}

/// Multiplicative noise of up to 5%, deterministic.
const NOISE: [f64; 8] = [1.04, 0.96, 1.03, 0.97, 1.05, 0.95, 1.02, 0.98];

/// Rows with known growth: naive on square-chain doubles per step (2^(k+1) - 1 calls), naive
/// on fdotprod is a clean n^2, dualrev on fdotprod a noisy linear series, tape on lse was
/// measured at two sizes only, and one case timed out.
fn synthetic_rows() -> Vec<CaseResult> {
    let mut rows = Vec::new();
    for k in [8u64, 10, 12, 14, 16, 18] {
        let calls = (1u64 << (k + 1)) - 1;
        rows.push(row(
            "square-chain",
            "naive",
            k,
            50.0 * calls as f64,
            &[("backprop_calls", calls)],
        ));
    }
    let mut timeout = row("square-chain", "naive", 30, 0.0, &[]);
    timeout.status = Status::Timeout;
    timeout.detail = "exceeded the budget of 2 s".into();
    rows.push(timeout);
    for (i, n) in [100u64, 200, 400, 800, 1600, 3200, 6400, 12800]
        .into_iter()
        .enumerate()
    {
        let n2 = (n * n) as f64;
        rows.push(row(
            "fdotprod",
            "naive",
            n,
            3.0 * n2,
            &[("dense_elements", n * n)],
        ));
        rows.push(row(
            "fdotprod",
            "dualrev",
            n,
            40.0 * n as f64 * NOISE[i],
            &[("edges_applied", 2 * n)],
        ));
    }
    rows.push(row("lse", "tape", 1000, 1e4, &[]));
    rows.push(row("lse", "tape", 10000, 1e5, &[]));
    rows
}

const CLAIMS: &str = r#"
[[claim]]
id = "naive-square-chain-time-exponential"
sentence = "naive doubles per squaring"
strategies = ["naive"]
workloads = ["square-chain"]
metric = "time"
x = "size"
model = "exponential 2"
tolerance = 0.1

[[claim]]
id = "naive-fdotprod-time-quadratic"
sentence = "naive is quadratic on fdotprod"
strategies = ["naive"]
workloads = ["fdotprod"]
metric = "time"
x = "size"
model = "power 2"
tolerance = 0.1

[[claim]]
id = "dualrev-fdotprod-time-linear-in-t"
sentence = "dualrev is linear in T on fdotprod"
strategies = ["dualrev"]
workloads = ["fdotprod"]
metric = "time"
x = "ops"
model = "linear"
tolerance = 0.1

[[claim]]
id = "dualrev-fdotprod-time-exactly-linear"
sentence = "a tolerance the noise cannot resolve"
strategies = ["dualrev"]
workloads = ["fdotprod"]
metric = "time"
x = "size"
model = "linear"
tolerance = 0.005

[[claim]]
id = "tape-lse-time-linear"
sentence = "two sizes cannot decide"
strategies = ["tape"]
workloads = ["lse"]
metric = "time"
x = "size"
model = "linear"
tolerance = 0.1

[[claim]]
id = "naive-fdotprod-quadratic-counter"
sentence = "dense elements, exactly n^2"
strategies = ["naive"]
workloads = ["fdotprod"]
metric = "counter:dense_elements"
x = "size"
model = "power 2"
tolerance = 0.01
"#;

const FALSE_CLAIM: &str = r#"
[[claim]]
id = "naive-square-chain-linear"
sentence = "naive is linear on square-chain (false)"
strategies = ["naive"]
workloads = ["square-chain"]
metric = "counter:backprop_calls"
x = "size"
model = "linear"
tolerance = 0.1
sizes = [4, 6, 8, 10, 12]
"#;

/// A results file of `rows`.
fn results_file(rows: Vec<CaseResult>) -> ResultsFile {
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        metadata: Metadata {
            build: Build::current(),
            machine: Machine::current(),
            date: "2025-01-01T00:00:00Z".into(),
            command: "dualbench run".into(),
            options: RunOptions {
                suite: "paper".into(),
                budget_s: 2.0,
                repeat: 5,
                min_time_s: 0.05,
                warmup_s: 0.02,
                target_sample_s: 0.0005,
                rounds: 5,
                stack_mib: 1024,
                memory_limit_mib: 0,
                shard: None,
            },
            ci_level: 0.95,
            merged_from: Vec::new(),
        },
        rows,
    }
}

/// A temporary directory holding `claims.toml` with `claims` and `results.csv` with `rows`.
fn setup(claims: &str, rows: &[CaseResult]) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let claims_path = dir.path().join("claims.toml");
    std::fs::write(&claims_path, claims).expect("writing claims");
    let csv_path = dir.path().join("results.csv");
    let mut file = std::fs::File::create(&csv_path).expect("creating results.csv");
    results::csv::write(rows, &mut file).expect("writing results.csv");
    let s = |p: PathBuf| p.to_str().expect("UTF-8 path").to_string();
    (dir, s(claims_path), s(csv_path))
}

/// Run `check --format json` and return its exit code and the verdict and reason per claim.
fn verdicts(args: &[&str]) -> (i32, BTreeMap<String, (String, String)>, Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let out = dualbench(&all);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}); stderr: {}", text(&out.stderr)));
    let by_id = report["claims"]
        .as_array()
        .expect("claims array")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                (
                    c["verdict"].as_str().unwrap().to_string(),
                    c["reason"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    (out.status.code().expect("an exit code"), by_id, report)
}

#[test]
fn synthetic_results_decide_timing_claims_including_inconclusive() {
    let (_dir, claims, csv) = setup(CLAIMS, &synthetic_rows());
    let (code, v, report) = verdicts(&["--claims", &claims, "--results", &csv]);
    let verdict = |id: &str| v[id].0.as_str();
    assert_eq!(
        verdict("naive-square-chain-time-exponential"),
        "holds",
        "{v:?}"
    );
    assert_eq!(verdict("naive-fdotprod-time-quadratic"), "holds", "{v:?}");
    assert_eq!(
        verdict("dualrev-fdotprod-time-linear-in-t"),
        "holds",
        "{v:?}"
    );
    assert_eq!(
        verdict("naive-fdotprod-quadratic-counter"),
        "holds",
        "{v:?}"
    );
    assert_eq!(
        verdict("dualrev-fdotprod-time-exactly-linear"),
        "inconclusive",
        "{v:?}"
    );
    assert!(
        v["dualrev-fdotprod-time-exactly-linear"]
            .1
            .contains("straddles"),
        "{v:?}"
    );
    assert_eq!(verdict("tape-lse-time-linear"), "inconclusive", "{v:?}");
    assert!(
        v["tape-lse-time-linear"].1.contains("need at least 3"),
        "{v:?}"
    );
    assert_eq!(code, 0, "inconclusive claims do not fail the command");

    let base = &report["claims"][0]["series"][0];
    assert_eq!(base["fit"]["kind"], "exponential");
    assert!((base["fit"]["estimate"].as_f64().unwrap() - 2.0).abs() < 1e-3);
    let notes = base["series"]["notes"].as_array().unwrap();
    assert!(notes[0].as_str().unwrap().contains("timeout"), "{notes:?}");
    let (lo, hi) = (
        report["claims"][2]["series"][0]["fit"]["interval"][0]
            .as_f64()
            .unwrap(),
        report["claims"][2]["series"][0]["fit"]["interval"][1]
            .as_f64()
            .unwrap(),
    );
    assert!(
        lo < 1.0 && 1.0 < hi && hi - lo > 0.01,
        "noisy interval [{lo}, {hi}]"
    );
}

#[test]
fn a_false_claim_fails_with_the_fitted_base_and_exit_code_one() {
    let (_dir, claims, csv) = setup(FALSE_CLAIM, &synthetic_rows());
    let (code, v, _) = verdicts(&["--claims", &claims, "--results", &csv]);
    let (verdict, reason) = &v["naive-square-chain-linear"];
    assert_eq!(verdict, "fails");
    assert!(reason.contains("base 2"), "{reason}");
    assert_eq!(code, 1);
}

#[test]
fn a_false_claim_fails_on_counters_evaluated_in_process() {
    let (_dir, claims, _) = setup(FALSE_CLAIM, &[]);
    let out = dualbench(&["check", "--claims", &claims, "--counters-only"]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}{}", text(&out.stderr));
    let line = table
        .lines()
        .find(|l| l.starts_with("naive-square-chain-linear"))
        .expect("a row for the claim");
    assert!(line.contains("fails") && line.contains("base 2"), "{line}");
    assert!(line.contains("8,10,12"), "the sizes used: {line}");
}

#[test]
fn committed_claims_hold_on_counters_evaluated_in_process() {
    let claims = committed_claims();
    let claims = claims.to_str().unwrap();
    let (code, v, _) = verdicts(&[
        "--claims",
        claims,
        "--counters-only",
        "--claim",
        "naive-*,rungs-*",
    ]);
    assert_eq!(code, 0, "{v:?}");
    assert!(v.len() >= 7, "{v:?}");
    for (id, (verdict, reason)) in &v {
        if id.contains("-time-") {
            assert_eq!(verdict, "skipped", "{id}: {reason}");
            assert!(reason.contains("--counters-only"), "{id}: {reason}");
        } else {
            assert_eq!(verdict, "holds", "{id}: {reason}");
        }
    }
}

#[test]
fn a_results_directory_is_read_through_its_json_file() {
    let (dir, claims, _) = setup(CLAIMS, &[]);
    let file = results_file(synthetic_rows());
    let results_dir = dir.path().join("run");
    std::fs::create_dir(&results_dir).unwrap();
    file.write_dir(&results_dir).unwrap();
    let (code, v, _) = verdicts(&[
        "--claims",
        &claims,
        "--results",
        results_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["naive-fdotprod-time-quadratic"].0, "holds");
}

#[test]
fn markdown_output_is_a_table_with_a_summary() {
    let (_dir, claims, csv) = setup(CLAIMS, &synthetic_rows());
    let out = dualbench(&[
        "check",
        "--claims",
        &claims,
        "--results",
        &csv,
        "--format",
        "markdown",
    ]);
    let md = text(&out.stdout);
    assert!(md.starts_with("| claim | verdict | series |"), "{md}");
    assert!(
        md.contains("| naive-fdotprod-time-quadratic | holds |"),
        "{md}"
    );
    assert!(
        md.trim_end()
            .ends_with("6 claims: 4 hold, 0 fail, 2 inconclusive"),
        "{md}"
    );
}

#[test]
fn bad_input_exits_with_two_and_names_the_problem() {
    let (_dir, claims, csv) = setup(&CLAIMS.replace("power 2", "quadratic"), &synthetic_rows());
    let out = dualbench(&["check", "--claims", &claims, "--results", &csv]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("naive-fdotprod-time-quadratic") && err.contains("valid models"),
        "{err}"
    );

    let (_dir, claims, csv) = setup(
        &CLAIMS.replace("[\"lse\"]", "[\"lsee\"]"),
        &synthetic_rows(),
    );
    let out = dualbench(&["check", "--claims", &claims, "--results", &csv]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`lsee` matches no workload"));

    let out = dualbench(&[
        "check",
        "--claims",
        "no-such-claims.toml",
        "--counters-only",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-claims.toml"));

    let (_dir, claims, csv) = setup(CLAIMS, &synthetic_rows());
    let out = dualbench(&[
        "check",
        "--claims",
        &claims,
        "--results",
        &csv,
        "--claim",
        "nope*",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("matches no claim"));
}

#[test]
fn an_unknown_counter_in_a_claim_is_exit_two_naming_the_valid_counters() {
    let claims = FALSE_CLAIM.replace("counter:backprop_calls", "counter:nosuch");
    let (_dir, claims, csv) = setup(&claims, &synthetic_rows());
    for args in [
        vec!["check", "--claims", &claims, "--counters-only"],
        vec!["check", "--claims", &claims, "--results", &csv],
    ] {
        let out = dualbench(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("nosuch") && err.contains("backprop_calls, dense_elements"),
            "{err}"
        );
    }
}

#[test]
fn a_claim_without_rows_in_the_results_file_is_an_error_not_a_pass() {
    let claims = CLAIMS.replace("workloads = [\"lse\"]", "workloads = [\"kmeans\"]");
    let (_dir, claims, csv) = setup(&claims, &synthetic_rows());
    let (code, v, _) = verdicts(&["--claims", &claims, "--results", &csv]);
    assert_eq!(v["tape-lse-time-linear"].0, "error", "{v:?}");
    assert_eq!(code, 2);
}

#[test]
fn a_case_that_crashed_at_a_needed_size_fails_its_claim() {
    let mut rows = synthetic_rows();
    let mut crashed = row("fdotprod", "naive", 25600, 0.0, &[]);
    crashed.status = Status::Crashed;
    crashed.detail = "stack overflow".into();
    crashed.median_ns = None;
    rows.push(crashed);
    let (_dir, claims, csv) = setup(CLAIMS, &rows);
    let (code, v, _) = verdicts(&["--claims", &claims, "--results", &csv]);
    let (verdict, reason) = &v["naive-fdotprod-time-quadratic"];
    assert_eq!(verdict, "fails", "{reason}");
    assert!(reason.contains("stack overflow"), "{reason}");
    assert_eq!(code, 1);
}

#[test]
fn strict_fails_on_inconclusive_claims() {
    let (_dir, claims, csv) = setup(CLAIMS, &synthetic_rows());
    let (code, _, _) = verdicts(&["--claims", &claims, "--results", &csv]);
    assert_eq!(code, 0);
    let (code, _, _) = verdicts(&["--claims", &claims, "--results", &csv, "--strict"]);
    assert_eq!(code, 1, "two claims are inconclusive");
}

/// Two strategies that do the same work, and two that do not: rung 3 (`sparse`) resolves the
/// same Contrib graph as rung 4 (`dualrev`); `naive` has no graph counters; `cayley` copies
/// half as many dense elements as `staged`.
const SAME_AS_CLAIMS: &str = r#"
[[claim]]
id = "sparse-same-as-dualrev"
sentence = "rungs 3 and 4 resolve the same graph"
strategies = ["sparse"]
workloads = ["fdotprod", "square-chain", "fsummatvec"]
metric = "counter:ids_allocated+contribs_applied+edges_applied+collector_updates"
model = "same as dualrev"
sizes = [4, 8, 16]

[[claim]]
id = "naive-same-as-dualrev"
sentence = "naive applies dualrev's edges (false: it counts calls)"
strategies = ["naive"]
workloads = ["fdotprod"]
metric = "counter:edges_applied"
model = "same as dualrev"
sizes = [4, 8]

[[claim]]
id = "cayley-same-as-staged"
sentence = "cayley touches as many dense elements as staged (false)"
strategies = ["cayley"]
workloads = ["fdotprod"]
metric = "counter:dense_elements"
model = "same as staged"
sizes = [4, 8, 16]
"#;

#[test]
fn same_as_claims_compare_counters_case_by_case_in_process() {
    let (_dir, claims, _) = setup(SAME_AS_CLAIMS, &[]);
    let (code, v, report) = verdicts(&["--claims", &claims, "--counters-only"]);
    assert_eq!(code, 1, "{v:?}");
    let (verdict, reason) = &v["sparse-same-as-dualrev"];
    assert_eq!(verdict, "holds", "{reason}");
    assert_eq!(report["claims"][0]["series"].as_array().unwrap().len(), 3);
    assert!(
        report["claims"][0]["series"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["equality"]["sizes"] == serde_json::json!([4, 8, 16])),
        "{}",
        report["claims"][0]
    );
    assert_eq!(report["claims"][0]["model"], "same as dualrev");
    assert!(report["claims"][0].get("tolerance").is_none());

    let (verdict, reason) = &v["naive-same-as-dualrev"];
    assert_eq!(verdict, "fails", "{reason}");
    assert!(
        reason.contains("size 4: no counter `edges_applied` reported (dualrev reports 15)"),
        "{reason}"
    );

    // fdotprod of length n: staged 2n + 8n^2, cayley 2n + 4n^2 dense elements.
    let (verdict, reason) = &v["cayley-same-as-staged"];
    assert_eq!(verdict, "fails", "{reason}");
    assert!(
        reason.starts_with("fdotprod/cayley: size 4: dense_elements 72, staged 136 (-64)"),
        "{reason}"
    );
    let differences = &report["claims"][2]["series"][0]["equality"]["differences"];
    assert_eq!(differences.as_array().unwrap().len(), 3, "{differences}");
    assert_eq!(differences[2]["size"], 16);
    assert_eq!(differences[2]["other_value"], 2 * 16 + 8 * 16 * 16);
}

#[test]
fn a_same_as_claim_against_an_unknown_strategy_or_counter_is_bad_input() {
    for (from, to, expected) in [
        (
            "same as dualrev\"\nsizes = [4, 8]",
            "same as dualrevv\"\nsizes = [4, 8]",
            "no strategy `dualrevv`",
        ),
        (
            "counter:edges_applied",
            "counter:dense_elements",
            "`dualrev` reports no counter `dense_elements`",
        ),
    ] {
        let claims = SAME_AS_CLAIMS.replace(from, to);
        let (_dir, claims, _) = setup(&claims, &[]);
        let out = dualbench(&["check", "--claims", &claims, "--counters-only"]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains("naive-same-as-dualrev") && err.contains(expected),
            "{err}"
        );
    }
}

/// `dualrev-par` on `fparticles` with 4 particles at `size` on `threads` threads: 10 rounds of
/// 3 samples spread by +-2% around `median_ns`.
fn threaded_row(size: u64, threads: u64, median_ns: f64) -> CaseResult {
    let mut r = row("fparticles", "dualrev-par", size, median_ns, &[]);
    r.params = [("particles".to_string(), 4.0)].into();
    r.threads = threads;
    r.samples_ns = (0..30)
        .map(|i| median_ns * (1.0 + 0.01 * ((i % 5) as f64 - 2.0)))
        .collect();
    r.round_samples = vec![3; 10];
    r
}

const SPEEDUP_CLAIM: &str = r#"
[[claim]]
id = "dualrev-par-fparticles-speedup"
sentence = "two threads are at least 1.5 times as fast as one"
strategies = ["dualrev-par"]
workloads = ["fparticles"]
params = { particles = 4 }
metric = "speedup:2"
model = "at least 1.5"
"#;

#[test]
fn a_speedup_claim_is_decided_from_rows_at_two_thread_counts() {
    let mut rows = vec![
        threaded_row(100, 1, 1e6),
        threaded_row(100, 2, 9e5),
        threaded_row(1000, 1, 1e7),
        threaded_row(1000, 2, 5.5e6),
    ];
    let mut eight = threaded_row(1000, 2, 9e6);
    eight.params = [("particles".to_string(), 8.0)].into();
    rows.push(eight);
    let (_dir, claims, csv) = setup(SPEEDUP_CLAIM, &rows);
    let (code, v, report) = verdicts(&["--claims", &claims, "--results", &csv]);
    let (verdict, reason) = &v["dualrev-par-fparticles-speedup"];
    assert_eq!(verdict, "holds", "{reason}");
    // The rows predate `fork`: they are read with its default.
    assert!(
        reason.starts_with("fparticles[fork=")
            && reason.contains(
                "particles=4]/dualrev-par: speedup 1.818 on 2 threads at size 1000, 95% \
                 interval ["
            ),
        "{reason}"
    );
    assert_eq!(code, 0);
    let speedup = &report["claims"][0]["series"][0]["speedup"];
    assert_eq!(
        (speedup["size"].as_u64(), speedup["threads"].as_u64()),
        (Some(1000), Some(2))
    );

    // Only 1-thread rows: inconclusive, saying what to run; skipped under --counters-only.
    let (_dir, claims, csv) = setup(
        SPEEDUP_CLAIM,
        &[threaded_row(100, 1, 1e6), threaded_row(1000, 1, 1e7)],
    );
    let (code, v, _) = verdicts(&["--claims", &claims, "--results", &csv]);
    let (verdict, reason) = &v["dualrev-par-fparticles-speedup"];
    assert_eq!(verdict, "inconclusive", "{reason}");
    assert!(
        reason.contains("run `dualbench run --threads 1,2`"),
        "{reason}"
    );
    assert_eq!(code, 0);
    let (code, v, _) = verdicts(&["--claims", &claims, "--counters-only"]);
    assert_eq!(v["dualrev-par-fparticles-speedup"].0, "skipped");
    assert_eq!(code, 0);
}

const BOUND_CLAIM: &str = r#"
[[claim]]
id = "par-tree-speedup-of-bound"
sentence = "two threads reach 0.9 of what the job graph allows"
strategies = ["*-par"]
workloads = ["par-tree"]
metric = "speedup:2"
model = "at least 0.9 of bound"
"#;

/// `dualrev-par` on `par-tree` at size 1024 on `threads` threads (see [`threaded_row`]), with
/// the span counters of a job graph of W/S = `2000 / span` when `span` is given.
fn par_tree_row(threads: u64, median_ns: f64, span: Option<u64>) -> CaseResult {
    let mut r = threaded_row(1024, threads, median_ns);
    r.workload = "par-tree".into();
    r.params = [("work".to_string(), 64.0), ("grain".to_string(), 16.0)].into();
    if let Some(span) = span {
        for (name, value) in [
            ("work_forward", 1000),
            ("span_forward", span / 2),
            ("work_reverse", 1000),
            ("span_reverse", span / 2),
        ] {
            r.counters.insert(name.to_string(), value);
        }
    }
    r
}

#[test]
fn a_share_of_the_bound_is_decided_from_the_span_counters() {
    let decide = |rows: &[CaseResult]| {
        let (_dir, claims, csv) = setup(BOUND_CLAIM, rows);
        let (code, v, _) = verdicts(&["--claims", &claims, "--results", &csv]);
        let (verdict, reason) = v["par-tree-speedup-of-bound"].clone();
        (code, verdict, reason)
    };
    // W/S = 10: the bound on 2 threads is 2, 0.9 of it 1.8.
    let (code, verdict, reason) = decide(&[
        par_tree_row(1, 1e6, Some(200)),
        par_tree_row(2, 5.2e5, Some(200)),
    ]);
    assert_eq!((code, verdict.as_str()), (0, "holds"), "{reason}");
    assert!(
        reason.contains("at least 1.8 (0.9 of the bound 2); bound min(2, W/S) = 2 with W/S = 10"),
        "{reason}"
    );
    let (code, verdict, reason) = decide(&[
        par_tree_row(1, 1e6, Some(200)),
        par_tree_row(2, 7e5, Some(200)),
    ]);
    assert_eq!((code, verdict.as_str()), (1, "fails"), "{reason}");
    // W/S = 1.25: 0.9 of it is 1.125, which 1.43 passes.
    let (_, verdict, reason) = decide(&[
        par_tree_row(1, 1e6, Some(1600)),
        par_tree_row(2, 7e5, Some(1600)),
    ]);
    assert_eq!(verdict, "holds", "{reason}");
    assert!(reason.contains("(0.9 of the bound 1.25)"), "{reason}");
    // Without the counters: inconclusive, saying so.
    let (code, verdict, reason) = decide(&[par_tree_row(1, 1e6, None), par_tree_row(2, 5e5, None)]);
    assert_eq!((code, verdict.as_str()), (0, "inconclusive"), "{reason}");
    assert!(
        reason.contains("no span counters (work_forward, "),
        "{reason}"
    );
}

/// Issue 20: `check` read a results.csv cut short (its last rows vanished) and a results.json
/// holding a case twice. Both are refused (exit 2), naming the file and the place.
#[test]
fn a_results_file_cut_short_or_holding_a_case_twice_is_refused_naming_the_place() {
    let (dir, claims, csv) = setup(CLAIMS, &synthetic_rows());
    let refused = |results: &Path| {
        let out = dualbench(&[
            "check",
            "--claims",
            &claims,
            "--results",
            results.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
        text(&out.stderr)
    };
    // Cut in the middle of its last row.
    let full = std::fs::read(&csv).unwrap();
    let cut = dir.path().join("cut.csv");
    std::fs::write(&cut, &full[..full.len() - 20]).unwrap();
    let lines = full.iter().filter(|b| **b == b'\n').count();
    let e = refused(&cut);
    assert!(
        e.contains(&format!("cut.csv: ends in the middle of line {lines}"))
            && e.contains("cut short"),
        "{e}"
    );

    // Cut between two rows: a well-formed CSV, which the results.json beside it contradicts.
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    results_file(synthetic_rows()).write_dir(&run).unwrap();
    let run_csv = run.join(results::CSV_FILE);
    let text_csv = std::fs::read_to_string(&run_csv).unwrap();
    let kept: Vec<&str> = text_csv.lines().take(lines - 2).collect();
    std::fs::write(&run_csv, kept.join("\n") + "\n").unwrap();
    let e = refused(&run_csv);
    assert!(
        e.contains("results.csv: holds 23 rows, 2 fewer than")
            && e.contains("results.json beside it"),
        "{e}"
    );

    // A case twice.
    let twice = dir.path().join("twice");
    std::fs::create_dir(&twice).unwrap();
    let mut rows = synthetic_rows();
    rows.push(rows[0].clone());
    results_file(rows).write_dir(&twice).unwrap();
    let e = refused(&twice);
    assert!(
        e.contains("results.json: the case square-chain [x0=1] / size 8 / naive appears twice, in row 1 and row 26"),
        "{e}"
    );
    let e = refused(&twice.join(results::CSV_FILE));
    assert!(
        e.contains("results.csv: the case square-chain [x0=1] / size 8 / naive appears twice, in line 2 and line 27"),
        "{e}"
    );
}

/// Issue 20: a mistyped key ("strategys") was reported without the key meant; a claim's
/// errors named neither the file nor the line.
#[test]
fn a_mistyped_key_or_value_in_the_claims_file_names_the_line_and_the_word_meant() {
    let fails = |claims: &str| {
        let (_dir, claims, csv) = setup(claims, &synthetic_rows());
        let out = dualbench(&["check", "--claims", &claims, "--results", &csv]);
        assert_eq!(out.status.code(), Some(2));
        text(&out.stderr)
    };
    let e = fails(&CLAIMS.replacen("strategies = ", "strategys = ", 1));
    assert!(
        e.contains("claims.toml: TOML parse error at line 5")
            && e.contains("unknown field `strategys`")
            && e.contains("did you mean `strategies`?"),
        "{e}"
    );
    let e = fails(&CLAIMS.replacen("x = \"size\"", "x = \"sizes\"", 1));
    assert!(e.contains("did you mean `size`?"), "{e}");
    let e = fails(&CLAIMS.replacen("metric = \"time\"", "metric = \"tme\"", 1));
    assert!(
        e.contains("claims.toml: line 2, claim `naive-square-chain-time-exponential`: unknown metric `tme` (did you mean `time`?)"),
        "{e}"
    );
    let e = fails(&CLAIMS.replacen("[\"lse\"]", "[\"lsee\"]", 1));
    assert!(
        e.contains("`lsee` matches no workload (did you mean `lse`?)"),
        "{e}"
    );
}

/// `plot --claims` judged a claims file without the checks `check` makes: a claim naming a
/// counter no strategy reports drew an index.html with a claim that silently had no data.
/// Both commands refuse it, naming the valid counters, before writing anything.
#[test]
fn plot_refuses_a_claims_file_that_check_refuses() {
    let bad = CLAIMS.replacen("counter:dense_elements", "counter:dense_elemnts", 1);
    let (dir, claims, csv) = setup(&bad, &synthetic_rows());
    let out = dualbench(&["check", "--quiet", "--claims", &claims, "--results", &csv]);
    assert_eq!(out.status.code(), Some(2));
    let check_error = text(&out.stderr);
    assert!(
        check_error.contains("no counter `dense_elemnts`")
            && check_error.contains("did you mean `dense_elements`?"),
        "{check_error}"
    );
    let plots = dir.path().join("plots");
    let out = dualbench(&[
        "plot",
        "--quiet",
        "--images",
        "svg",
        "--results",
        &csv,
        "--claims",
        &claims,
        "--out",
        plots.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), check_error);
    assert!(!plots.exists(), "nothing written");
}
