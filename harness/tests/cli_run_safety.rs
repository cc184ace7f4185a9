//! `dualbench run` under misuse: two runs into one directory, Ctrl-C, a damaged or foreign
//! journal, a case killed from outside, numbers out of range and flags that would be ignored.
//! Every run here is tiny (a few milliseconds of sampling per case).

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::dualbench;
use dualbench::results::{ResultsFile, Status};

const LOCK: &str = "dualbench.lock";
const JOURNAL: &str = "journal.jsonl";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn run_ok(args: &[&str]) -> Output {
    let out = dualbench(args);
    assert!(
        out.status.success(),
        "dualbench {args:?} failed:\n{}",
        stderr(&out)
    );
    out
}

/// A sweep of many small groups (each a few hundred milliseconds), long enough to act on while
/// it runs, written to `out` with `extra` flags.
fn long_sweep<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--workloads",
        "square-chain",
        "--strategies",
        "tape",
        "--sizes",
        "2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
        "--repeat",
        "2",
        "--min-time",
        "0",
        "--warmup",
        "0",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting dualbench")
}

/// Wait (at most a minute) until `ready` holds.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn journal_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join(JOURNAL)).map_or(0, |t| t.lines().count())
}

#[test]
fn a_directory_in_use_is_refused_and_a_stale_lock_is_named_and_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let out_arg = out.to_str().unwrap();
    let mut first = spawn(&long_sweep(out_arg, &["--quiet", "--no-plot"]));
    let pid = first.id();
    wait_until("the first run's journal", || journal_lines(&out) >= 2);
    assert!(out.join(LOCK).is_file());

    // A second run with --force, and a --resume of the live run: both refused, naming the
    // holder, and the holder's lock is left alone.
    let forced = dualbench(&[
        "run",
        "--workloads",
        "fmult",
        "--strategies",
        "tape",
        "--force",
        "--quiet",
        "--no-plot",
        "--out",
        out_arg,
    ]);
    let resumed = dualbench(&["run", "--resume", out_arg, "--quiet"]);
    for refused in [&forced, &resumed] {
        let e = stderr(refused);
        assert_eq!(refused.status.code(), Some(2), "{e}");
        assert!(
            e.contains("is in use") && e.contains(&format!("pid {pid}")),
            "{e}"
        );
    }
    assert!(std::fs::read_to_string(out.join(LOCK))
        .unwrap()
        .contains(&pid.to_string()));

    // Killed without a chance to clean up: its lock is stale, and the next run says so.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        out.join(LOCK).is_file(),
        "a killed run leaves its lock file"
    );
    let resumed = run_ok(&["run", "--resume", out_arg, "--quiet"]);
    let e = stderr(&resumed);
    assert!(
        e.contains(&format!("pid {pid}")) && e.contains("no longer running"),
        "{e}"
    );
    assert!(!out.join(LOCK).exists(), "released when done");
    assert_eq!(ResultsFile::read(&out).unwrap().rows.len(), 30 * 2);
}

/// The journal's lines with `check` removed and the header's version set to 1: what the
/// previous dualbench wrote.
fn as_version_1(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("check");
            if i == 0 {
                value["journal_version"] = 1.into();
            }
            value
        })
        .collect()
}

fn write_lines(path: &Path, lines: &[serde_json::Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn ctrl_c_keeps_the_journal_and_says_how_to_resume_with_the_runs_own_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let out_arg = out.to_str().unwrap();
    let child = spawn(&long_sweep(
        out_arg,
        &["--quiet", "--no-plot", "--format", "csv"],
    ));
    wait_until("three groups in the journal", || journal_lines(&out) >= 4);
    // SIGINT to the run alone (not its process group): it must stop its cases itself.
    // SAFETY: `kill` has no memory effects; the pid is our child, not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let interrupted = child.wait_with_output().unwrap();
    let e = stderr(&interrupted);
    assert_eq!(interrupted.status.code(), Some(130), "{e}");
    assert!(
        e.contains(&format!(
            "`dualbench run --resume {out_arg}` continues the sweep"
        )),
        "{e}"
    );
    assert!(!out.join(LOCK).exists(), "the lock is released");
    assert!(!out.join("results.json").exists());
    let journal = std::fs::read_to_string(out.join(JOURNAL)).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    assert!(lines.len() >= 4, "{journal}");

    // A damaged line that is not the last is refused, naming the file and the line.
    let damaged = format!(
        "{}\n{}\n{}\n",
        lines[0],
        &lines[1][..lines[1].len() / 2],
        lines[2..].join("\n")
    );
    std::fs::write(out.join(JOURNAL), damaged).unwrap();
    let refused = dualbench(&["run", "--resume", out_arg]);
    let e = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{e}");
    assert!(e.contains(&format!("{JOURNAL}:2: ")), "{e}");

    // A journaled row that is not the plan's case is refused, naming the line and the row
    // (in a journal of the previous version, which has no checks to catch the edit).
    let mut old = as_version_1(&journal);
    old[2]["rows"][1]["strategy"] = "dualrev".into();
    write_lines(&out.join(JOURNAL), &old);
    let refused = dualbench(&["run", "--resume", out_arg]);
    let e = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{e}");
    assert!(
        e.contains(&format!("{JOURNAL}:3: row 2 of group 1 is `dualrev`")),
        "{e}"
    );

    // The previous version's journal, intact, resumes with the interrupted run's --quiet,
    // --no-plot and --format csv.
    write_lines(&out.join(JOURNAL), &as_version_1(&journal));
    let resumed = run_ok(&["run", "--resume", out_arg]);
    assert!(stderr(&resumed).is_empty(), "--quiet: {}", stderr(&resumed));
    let stdout = String::from_utf8(resumed.stdout).unwrap();
    assert!(stdout.starts_with("schema_version,workload"), "{stdout}");
    assert!(!out.join("index.html").exists(), "--no-plot");
    let rows = ResultsFile::read(&out).unwrap().rows;
    assert_eq!(rows.len(), 30 * 2);
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:#?}");
}

#[test]
fn a_new_run_into_the_default_directory_keeps_an_interrupted_runs_journal() {
    let cwd = tempfile::tempdir().unwrap();
    let latest = cwd.path().join("results").join("latest");
    std::fs::create_dir_all(&latest).unwrap();
    std::fs::write(latest.join(JOURNAL), "the journal of an interrupted run\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .current_dir(cwd.path())
        .args([
            "run",
            "--workloads",
            "fmult",
            "--strategies",
            "tape",
            "--quiet",
            "--no-plot",
        ])
        .output()
        .unwrap();
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("--resume results/latest") && e.contains("--force"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(latest.join(JOURNAL)).unwrap(),
        "the journal of an interrupted run\n"
    );
    assert!(!latest.join("results.json").exists());
}

/// The pids of the running children of `parent` whose command line contains `needle`.
#[cfg(target_os = "linux")]
fn children(parent: u32, needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if ppid == Some(parent) && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn a_case_killed_from_outside_is_recorded_as_killed_not_as_out_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed");
    let out_arg = out.to_str().unwrap();
    // naive on 30 squarings makes 2^31 backpropagator calls: it is still in its first gradient
    // when it is killed.
    let run = spawn(&[
        "run",
        "--workloads",
        "square-chain",
        "--strategies",
        "naive",
        "--sizes",
        "30",
        "--budget",
        "60",
        "--repeat",
        "2",
        "--min-time",
        "0",
        "--warmup",
        "0",
        "--memory-limit-mib",
        "4096",
        "--quiet",
        "--no-plot",
        "--out",
        out_arg,
    ]);
    let mut naive = Vec::new();
    wait_until("the naive case's process", || {
        naive = children(run.id(), "\"strategy\":\"naive\"");
        !naive.is_empty()
    });
    std::thread::sleep(Duration::from_millis(1000));
    // SAFETY: `kill` has no memory effects; the pid is a live grandchild of this test.
    assert_eq!(unsafe { libc::kill(naive[0] as i32, libc::SIGKILL) }, 0);
    let finished = run.wait_with_output().unwrap();
    assert!(finished.status.success(), "{}", stderr(&finished));
    let rows = ResultsFile::read(&out).unwrap().rows;
    let killed = rows.iter().find(|r| r.strategy == "naive").unwrap();
    assert_eq!(killed.status, Status::Crashed, "{killed:?}");
    assert!(
        killed
            .detail
            .starts_with("killed by SIGKILL from outside dualbench")
            && killed.detail.contains("below the memory cap of 4096 MiB"),
        "{}",
        killed.detail
    );
}

#[test]
fn a_run_that_measured_no_case_is_no_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("none");
    // A 1 MiB heap cap under a case whose input alone needs 16 MB: every case runs out of
    // memory, whatever the machine's speed.
    let result = dualbench(&[
        "run",
        "--workloads",
        "fdotprod",
        "--sizes",
        "1000000",
        "--strategies",
        "tape",
        "--memory-limit-mib",
        "1",
        "--quiet",
        "--no-plot",
        "--out",
        out.to_str().unwrap(),
    ]);
    let e = stderr(&result);
    assert_eq!(result.status.code(), Some(1), "{e}");
    assert!(e.contains("no case was measured (2 cases: 2 oom)"), "{e}");
    let rows = ResultsFile::read(&out).unwrap().rows;
    assert!(rows.iter().all(|r| r.status == Status::Oom));
}

#[test]
fn a_primal_that_allocates_nothing_has_a_peak_heap_of_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("heap");
    run_ok(&[
        "run",
        "--workloads",
        "fmult",
        "--strategies",
        "tape",
        "--budget",
        "1",
        "--repeat",
        "2",
        "--min-time",
        "0",
        "--warmup",
        "0",
        "--quiet",
        "--no-plot",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = ResultsFile::read(&out).unwrap().rows;
    let primal = rows.iter().find(|r| r.strategy == "primal").unwrap();
    assert_eq!(
        (
            primal.peak_heap_bytes,
            primal.allocated_bytes,
            primal.allocations
        ),
        (Some(0), Some(0), Some(0)),
        "the memory pass's own probe is none of the case's figures"
    );
}

/// Bad input to `run` and `verify`: each exits 2 with a message naming the flag (or item) and
/// what is valid, never a panic or a parser's bare complaint, and writes nothing.
#[test]
fn bad_settings_and_ignored_flags_exit_2_naming_the_flag_and_what_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let out_arg = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--quiet", "--no-plot", "--out", out_arg];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let tape = ["--workloads", "fmult", "--strategies", "tape"];
    let with_tape = |flags: &[&str]| {
        let mut args = tape.to_vec();
        args.extend_from_slice(flags);
        run(&args)
    };
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--quiet"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &[&str])> = vec![
        (
            with_tape(&["--budget", "1e20"]),
            &["--budget", "at most 86400 (one day)"],
        ),
        (
            with_tape(&["--min-time", "1e20"]),
            &["--min-time", "from 0 to 86400 (one day)"],
        ),
        (
            with_tape(&["--warmup", "1e20"]),
            &["--warmup", "from 0 to 86400 (one day)"],
        ),
        (
            with_tape(&["--budget", "nan"]),
            &["--budget", "not a number; give a number of seconds"],
        ),
        (
            with_tape(&["--budget", "inf"]),
            &["--budget", "too long; give a number of seconds"],
        ),
        (
            with_tape(&["--budget", "-1"]),
            &["--budget", "out of range; give a number of seconds"],
        ),
        (
            with_tape(&["--budget", "-inf"]),
            &["--budget", "give a number of seconds"],
        ),
        (
            with_tape(&["--budget", "0"]),
            &["--budget", "out of range; give a number of seconds above 0"],
        ),
        (
            with_tape(&["--budget", "abc"]),
            &["--budget", "not a number; give a number of seconds"],
        ),
        (
            with_tape(&["--budget", ""]),
            &["--budget", "the value is empty; give a number of seconds"],
        ),
        (
            with_tape(&["--warmup", "-0.5"]),
            &["--warmup", "out of range; give a number of seconds from 0"],
        ),
        (
            with_tape(&["--warmup", "1.5", "--min-time", "1"]),
            &["add up to 2.5 s", "--budget"],
        ),
        (
            with_tape(&["--repeat", "abc"]),
            &[
                "--repeat",
                "not a number; give a whole number of at least 1",
            ],
        ),
        (with_tape(&["--repeat", "-1"]), &["--repeat", "negative"]),
        (with_tape(&["--repeat", "0"]), &["--repeat", "0 is too few"]),
        (
            with_tape(&["--repeat", "1000"]),
            &["--repeat 1000:", "from 1 to 200"],
        ),
        (
            with_tape(&["--repeat", "2.5"]),
            &["--repeat", "not a whole number"],
        ),
        (
            with_tape(&["--stack-mib", "100000000"]),
            &["--stack-mib", "from 1 to 65536"],
        ),
        (
            with_tape(&["--stack-mib", "0"]),
            &["--stack-mib", "from 1 to 65536"],
        ),
        (
            with_tape(&["--memory-limit-mib", "99999999999999"]),
            &["--memory-limit-mib", "too large (at most 1073741824)"],
        ),
        (
            with_tape(&["--memory-limit-mib", "x"]),
            &["--memory-limit-mib", "whole number"],
        ),
        (
            with_tape(&["--param", "x0=1", "--param", "x0=2"]),
            &["`x0` is given twice", "x0=1 and x0=2"],
        ),
        (
            with_tape(&["--threads", "2"]),
            &["--threads 2:", "fork-join", "fmult"],
        ),
        (
            with_tape(&["--threads", "1,4"]),
            &["--threads 1,4:", "on 4 threads"],
        ),
        (
            with_tape(&["--sizes", "lse=10"]),
            &["`lse`, which is not selected", "fmult"],
        ),
        (
            run(&["--workloads", "lse", "--sizes", "lse=x"]),
            &["--sizes `lse=x`:", "such as 1000"],
        ),
        (
            run(&["--workloads", "lse", "--sizes", "10,,20"]),
            &["--sizes `10,,20`:", "empty item"],
        ),
        (
            run(&["--workloads", "lse", "--sizes", "nope=10"]),
            &["--sizes `nope=10`:", "nope"],
        ),
        (
            run(&["--workloads", "lse", "--sizes", "-1"]),
            &["--sizes `-1`:", "non-negative integer"],
        ),
        (
            run(&["--workloads", "lse", "--shard", "-1/2"]),
            &["--shard `-1/2`", "1 <= I <= N"],
        ),
        (
            verify(&["--workloads", "fdotprod", "--sizes", "lse=10"]),
            &["`lse`, which is not selected", "fdotprod"],
        ),
        (
            verify(&["--workloads", "fmult", "--seed", "3"]),
            &["--seed", "--random N"],
        ),
        (verify(&["--seed", "3"]), &["--seed", "--random"]),
        (verify(&["--random", "0"]), &["--random", "at least 1"]),
        (verify(&["--random", "-5"]), &["--random", "negative"]),
        (verify(&["--random", "x"]), &["--random", "not a number"]),
        (
            verify(&["--random", "3", "--seed", "-1"]),
            &["--seed", "negative"],
        ),
        (
            verify(&["--workloads", "fparticles", "--threads", "-1"]),
            &["--threads", "invalid thread count `-1`"],
        ),
        (
            run(&["--workloads", "fparticles", "--threads", "-1"]),
            &["--threads", "invalid thread count `-1`"],
        ),
        (
            verify(&["--workloads", "fmult", "--threads", "2"]),
            &["--threads 2:", "no fork-join workload"],
        ),
        (
            verify(&[
                "--workloads",
                "fparticles",
                "--strategies",
                "tape",
                "--threads",
                "2",
            ]),
            &["--threads 2:", "no parallel strategy"],
        ),
    ];
    for (args, needles) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = dualbench(&args);
        let e = stderr(&result);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {e}");
        for needle in *needles {
            assert!(e.contains(needle), "{args:?}: `{needle}` not in: {e}");
        }
        for unclear in [
            "panicked",
            "invalid digit",
            "unexpected argument",
            "invalid float",
        ] {
            assert!(!e.contains(unclear), "{args:?}: {e}");
        }
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
