//! `dualbench run` and `dualbench merge` end to end: isolation statuses from real failures
//! (a stack overflow, a time-out, an allocation beyond the memory limit), skipping after a
//! time-out, bad input, and sharding with merge.

use std::path::Path;
use std::process::{Command, Output};

use dualbench::results::{CaseResult, ResultsFile, Status};

fn dualbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .output()
        .expect("running dualbench")
}

fn run_ok(args: &[&str]) -> Output {
    let out = dualbench(args);
    assert!(
        out.status.success(),
        "dualbench {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn row<'a>(rows: &'a [CaseResult], workload: &str, size: u64, strategy: &str) -> &'a CaseResult {
    rows.iter()
        .find(|r| r.workload == workload && r.size == Some(size) && r.strategy == strategy)
        .unwrap_or_else(|| panic!("no row {workload} {size} {strategy}"))
}

/// A row measured to completion carries every measurement.
fn assert_valid_ok_row(r: &CaseResult) {
    assert_eq!(r.status, Status::Ok, "{r:?}");
    assert!(r.detail.is_empty());
    assert!(!r.samples_ns.is_empty());
    let median = r.median_ns.unwrap();
    assert!(median > 0.0);
    assert!(r.min_ns.unwrap() <= r.ci_low_ns.unwrap() && r.ci_low_ns.unwrap() <= median);
    assert!(median <= r.ci_high_ns.unwrap() && r.ci_high_ns.unwrap() <= r.max_ns.unwrap());
    assert!(r.ops.unwrap() > 0 && r.inputs.unwrap() > 0 && r.outputs.unwrap() > 0);
    assert!(r.overhead.unwrap() > 0.0);
    assert!(r.peak_heap_bytes.is_some() && r.allocated_bytes.is_some());
    assert!(r.peak_rss_bytes.unwrap() > 0);
    assert!(!r.counters.is_empty());
    assert!(r.command.starts_with("dualbench run --workloads"));
}

#[test]
fn crash_and_timeout_are_recorded_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    // A 1 MiB evaluation stack: naive's closure chain of 10^5 sines overflows it for real.
    // A 1.5 s budget: naive on 40 squarings makes 2^41 backpropagator calls and times out.
    run_ok(&[
        "run",
        "--workloads",
        "deep-chain,square-chain",
        "--strategies",
        "naive,dualrev",
        "--sizes",
        "deep-chain=100000",
        "--sizes",
        "square-chain=10,40,45",
        "--stack-mib",
        "1",
        "--budget",
        "1.5",
        "--repeat",
        "3",
        "--min-time",
        "0.01",
        "--warmup",
        "0",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let file = ResultsFile::read(&out).unwrap();
    let rows = &file.rows;
    assert_eq!(rows.len(), 4 * 3, "{rows:#?}");

    let crashed = row(rows, "deep-chain", 100_000, "naive");
    assert_eq!(crashed.status, Status::Crashed);
    assert_eq!(crashed.detail, "stack overflow");
    assert_eq!(
        crashed.ops,
        Some(100_000),
        "T is counted before the first gradient"
    );

    let timed_out = row(rows, "square-chain", 40, "naive");
    assert_eq!(timed_out.status, Status::Timeout);
    assert!(timed_out.detail.contains("1.5 s"), "{}", timed_out.detail);
    assert!(timed_out.median_ns.is_none());

    let skipped = row(rows, "square-chain", 45, "naive");
    assert_eq!(skipped.status, Status::Skipped);
    assert!(
        skipped.detail.contains("timeout at size 40"),
        "{}",
        skipped.detail
    );
    // Provenance is exact: a skipped case still carries its T and shape.
    assert_eq!(skipped.ops, Some(45));
    assert_eq!((skipped.inputs, skipped.outputs), (Some(1), Some(1)));

    for r in rows {
        let failed = [
            ("deep-chain", 100_000),
            ("square-chain", 40),
            ("square-chain", 45),
        ];
        if r.strategy == "naive" && failed.contains(&(r.workload.as_str(), r.size.unwrap())) {
            continue;
        }
        assert_valid_ok_row(r);
    }
    assert_eq!(row(rows, "square-chain", 10, "primal").overhead, Some(1.0));
    assert!(Path::new(&out).join("results.csv").is_file());
}

#[test]
fn an_allocation_beyond_the_memory_limit_is_recorded_as_oom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("oom");
    // A tape of 10^6 entries does not fit in 16 MiB; the primal needs no heap.
    run_ok(&[
        "run",
        "--workloads",
        "deep-chain",
        "--strategies",
        "tape",
        "--sizes",
        "1000000",
        "--memory-limit-mib",
        "16",
        "--repeat",
        "1",
        "--min-time",
        "0",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = ResultsFile::read(&out).unwrap().rows;
    let tape = row(&rows, "deep-chain", 1_000_000, "tape");
    assert_eq!(tape.status, Status::Oom);
    assert!(tape.detail.contains("memory allocation"), "{}", tape.detail);
    assert_eq!(
        row(&rows, "deep-chain", 1_000_000, "primal").status,
        Status::Ok
    );
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let out_arg = out.to_str().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let under_file = blocker.join("out");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--workloads", "nope"], "nope"),
        (vec!["--strategies", "dualrev,nope"], "valid strategies"),
        (
            vec!["--workloads", "square-chain", "--sizes", "5000"],
            "5000",
        ),
        (
            vec!["--workloads", "fdotprod", "--sizes", "lse=10"],
            "not selected",
        ),
        (vec!["--workloads", "fdotprod", "--param", "zzz=1"], "zzz"),
        (vec!["--workloads", "fdotprod", "--shard", "3/2"], "--shard"),
        (vec!["--workloads", "fdotprod", "--budget", "0"], "--budget"),
        (
            vec!["--workloads", "fmult", "--shard", "2/2"],
            "selects no workload",
        ),
        (vec!["--workloads", ""], "workload list is empty"),
        (vec!["--strategies", ","], "strategy list is empty"),
        (
            vec!["--workloads", "fmult,fdotprod", "--sizes", "10"],
            "`fmult` has a fixed size",
        ),
        (
            vec!["--resume", out_arg, "--suite", "paper"],
            "cannot be used with",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["run", "--quiet", "--out", out_arg];
        args.extend(extra.iter().copied());
        let result = dualbench(&args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    let result = dualbench(&[
        "run",
        "--quiet",
        "--workloads",
        "fmult",
        "--out",
        under_file.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("not a writable directory"));
}

#[test]
fn shards_split_by_workload_and_merge_recombines_them() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |i: &str| {
        let out = dir.path().join(format!("shard{}", &i[..1]));
        run_ok(&[
            "run",
            "--workloads",
            "fmult,frotvecquat,square-chain",
            "--sizes",
            "square-chain=4",
            "--strategies",
            "dualrev",
            "--repeat",
            "1",
            "--min-time",
            "0",
            "--warmup",
            "0",
            "--quiet",
            "--shard",
            i,
            "--out",
            out.to_str().unwrap(),
        ]);
        out
    };
    let (a, b) = (shard("1/2"), shard("2/2"));
    let workloads = |p: &Path| -> Vec<String> {
        let mut w: Vec<String> = ResultsFile::read(p)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.workload)
            .collect();
        w.dedup();
        w
    };
    assert_eq!(workloads(&a), ["fmult", "square-chain"]);
    assert_eq!(workloads(&b), ["frotvecquat"]);
    assert_eq!(
        ResultsFile::read(&a)
            .unwrap()
            .metadata
            .options
            .shard
            .as_deref(),
        Some("1/2")
    );

    let merged = dir.path().join("merged");
    let merged_arg = merged.to_str().unwrap();
    let (a_arg, b_arg) = (a.to_str().unwrap(), b.to_str().unwrap());
    run_ok(&[
        "merge", a_arg, b_arg, "--quiet", "--format", "csv", "--out", merged_arg,
    ]);
    let file = ResultsFile::read(&merged).unwrap();
    assert_eq!(file.rows.len(), 3 * 2);
    assert_eq!(file.metadata.options.shard, None);

    // The same cases twice are refused.
    let twice = dualbench(&["merge", a_arg, a_arg, "--out", merged_arg]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("repeats the case"));

    // Merging again into a directory that holds results needs --force.
    let again = dualbench(&["merge", a_arg, b_arg, "--out", merged_arg]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(ResultsFile::read(&merged).unwrap(), file, "left untouched");

    // Another machine's, build's or options' file is refused unless --force, which keeps
    // every input's metadata.
    let json = b.join("results.json");
    let original = ResultsFile::read(&json).unwrap();
    let fresh = dir.path().join("fresh");
    let fresh_arg = fresh.to_str().unwrap();
    for (field, change) in [
        (
            "machine",
            Box::new(|f: &mut ResultsFile| f.metadata.machine.cpu_model = "Another CPU".into())
                as Box<dyn Fn(&mut ResultsFile)>,
        ),
        (
            "build.git_dirty",
            Box::new(|f: &mut ResultsFile| {
                f.metadata.build.git_dirty = Some(!f.metadata.build.git_dirty.unwrap_or(false))
            }),
        ),
        (
            "options",
            Box::new(|f: &mut ResultsFile| f.metadata.options.budget_s += 1.0),
        ),
    ] {
        let mut other = original.clone();
        change(&mut other);
        std::fs::write(&json, serde_json::to_string(&other).unwrap()).unwrap();
        let refused = dualbench(&["merge", a_arg, b_arg, "--out", fresh_arg]);
        assert_eq!(refused.status.code(), Some(2), "{field}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains(field) && err.contains("--force"),
            "{field}: {err}"
        );
    }
    run_ok(&[
        "merge", a_arg, b_arg, "--force", "--quiet", "--out", fresh_arg,
    ]);
    let forced = ResultsFile::read(&fresh).unwrap();
    assert_eq!(forced.metadata.merged_from.len(), 2);
    assert_eq!(
        forced.metadata.merged_from[1].options.budget_s,
        original.metadata.options.budget_s + 1.0
    );
}

fn quick_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--repeat",
        "2",
        "--min-time",
        "0",
        "--warmup",
        "0",
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn manual_runs_where_a_hand_written_adjoint_is_and_is_skipped_elsewhere_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run_ok(&quick_args(
        out.to_str().unwrap(),
        &[
            "--workloads",
            "fdotprod,square-chain",
            "--strategies",
            "manual",
            "--sizes",
            "100",
            "--no-plot",
        ],
    ));
    let file = ResultsFile::read(&out).unwrap();
    let measured = row(&file.rows, "fdotprod", 100, "manual");
    assert_valid_ok_row(measured);
    assert_eq!(measured.counters.get("vjp_calls"), Some(&1));
    let skipped = row(&file.rows, "square-chain", 100, "manual");
    assert_eq!(skipped.status, Status::Skipped);
    assert_eq!(skipped.detail, "no hand-written adjoint");
    assert_eq!(skipped.ops, Some(100), "a skipped row carries T");
    assert_valid_ok_row(row(&file.rows, "square-chain", 100, "primal"));
}

#[test]
fn results_are_never_silently_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("paper");
    let out_arg = out.to_str().unwrap();
    let first = &["--workloads", "fmult", "--strategies", "tape"];
    run_ok(&quick_args(out_arg, first));
    let before = std::fs::read(out.join("results.json")).unwrap();
    let again = dualbench(&quick_args(out_arg, &["--workloads", "frotvecquat"]));
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds results") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("results.json")).unwrap(), before);
    run_ok(&quick_args(
        out_arg,
        &["--workloads", "frotvecquat", "--force"],
    ));
    let after = ResultsFile::read(&out).unwrap();
    assert!(after.rows.iter().all(|r| r.workload == "frotvecquat"));
}

#[test]
fn a_crash_of_the_parent_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let out_arg = out.to_str().unwrap();
    let sweep = [
        "--workloads",
        "square-chain",
        "--strategies",
        "tape,dualrev",
        "--sizes",
        "2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21",
    ];
    let mut parent = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(quick_args(out_arg, &sweep))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill the parent (SIGKILL: no cleanup) once a few groups are in the journal.
    let journal = out.join("journal.jsonl");
    let started = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
        if lines >= 4 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the journal did not grow: {lines} lines"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert!(!out.join("results.json").exists(), "the run did not finish");
    let journaled: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(journaled.len() >= 3);

    // A new run into the directory is refused; --resume continues it.
    let fresh = dualbench(&quick_args(out_arg, &sweep));
    assert_eq!(fresh.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&fresh.stderr).contains("--resume"));
    run_ok(&["run", "--resume", out_arg, "--quiet"]);
    assert!(
        !journal.exists(),
        "the journal is removed once the results are written"
    );
    let file = ResultsFile::read(&out).unwrap();
    assert_eq!(file.rows.len(), 20 * 3);
    // The groups measured before the crash were not measured again: their rows are the
    // journaled ones, sample for sample.
    for group in &journaled {
        for journaled_row in group["rows"].as_array().unwrap() {
            let r: CaseResult = serde_json::from_value(journaled_row.clone()).unwrap();
            let kept = row(&file.rows, &r.workload, r.size.unwrap(), &r.strategy);
            assert_eq!(kept, &r);
        }
    }
    assert!(
        file.metadata.command.contains("--sizes"),
        "{}",
        file.metadata.command
    );
}
