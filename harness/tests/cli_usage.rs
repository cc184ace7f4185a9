//! The command line as a whole: bad values of every command's flags get an error that names
//! the flag and exits 2 without a panic; help texts list the exit codes; help, `list`,
//! `check`'s and `run`'s tables fit the terminal's width while machine formats stay whole; the
//! completion scripts and man pages cover every visible command and flag.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `dualbench args` with `COLUMNS` set to `columns` (when given) and no stdin, killed after two
/// minutes (none of these commands should run that long).
fn dualbench_at(columns: Option<usize>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dualbench"));
    command
        .args(args)
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(columns) = columns {
        command.env("COLUMNS", columns.to_string());
    }
    let mut child = command.spawn().expect("running dualbench");
    // Read both pipes while waiting, so that a long output cannot block the child.
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes)
                .expect("reading dualbench's output");
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for dualbench") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().expect("killing dualbench");
            panic!("dualbench {args:?} ran for over two minutes");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("the stdout reader"),
        stderr: stderr.join().expect("the stderr reader"),
    }
}

fn dualbench(args: &[&str]) -> Output {
    dualbench_at(None, args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// The repository's committed results of the paper suite, as a fixture of real rows.
fn paper_results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/paper")
}

/// Every visible command, and none for `dualbench` itself.
const COMMANDS: [&str; 12] = [
    "list",
    "grad",
    "hvp",
    "verify",
    "run",
    "merge",
    "check",
    "plot",
    "compare",
    "gradbench",
    "completions",
    "man",
];

/// Bad command lines and what the error must name (the flag, or the file). `{dir}` is a fresh
/// directory, `{never}` a path inside it that no command may create.
#[rustfmt::skip]
const BAD: &[(&[&str], &str)] = &[
    // dualbench itself
    (&[], "Usage"),
    (&["strategys"], "dualbench list strategies"),
    (&["workload"], "dualbench list workloads"),
    (&["frobnicate"], "frobnicate"),
    (&[""], "''"),
    (&["--nope"], "--nope"),
    // list
    (&["list", "--format", "yaml"], "--format"),
    (&["list", "--format", ""], "--format"),
    (&["list", "strategys"], "'strategies'"),
    (&["list", "everything"], "SECTION"),
    (&["list", "--strategys"], "dualbench list strategies"),
    (&["list", "workloads", "peers"], "peers"),
    // grad: sizes
    (&["hvp", "--workload", "fdotprod", "--strategy", "tape", "--vector", ""], "--vector"),
    (&["hvp", "--workload", "fdotprod", "--strategy", "tape", "--mode", "fwd-fwd"], "--mode"),
    (&["hvp", "--workload", "fdotprod", "--strategy", "manual"], "second derivatives"),
    (&["hvp", "--workload", "frotvecquat", "--strategy", "tape"], "--cotangent"),
    (&["hvp", "--workload", "fdotprod", "--strategy", "tape", "--vector", "{never}"], "{never}"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "-1"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "-1e3"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "abc"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", ""], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "1.5"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "1O00"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "1,000"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "1e300"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "NaN"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "inf"], "--size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size", "0"], "size"),
    (&["grad", "--workload", "fmult", "--strategy", "tape", "--size", "10"], "size"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--size"], "--size"),
    // grad: names
    (&["grad", "--workload", "fdotprd", "--strategy", "tape"], "did you mean `fdotprod`"),
    (&["grad", "--workload", "", "--strategy", "tape"], "--workload"),
    (&["grad", "--workload", "fdotprod", "--strategy", "strategys"], "--strategy"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tapes"], "did you mean `tape`"),
    (&["grad", "--workload", "fdotprod", "--strategy", ""], "--strategy"),
    (&["grad", "--workload", "fdotprod", "--strategy", "peer-xad"], "--strategy"),
    (&["grad", "--strategy", "tape"], "--workload"),
    (&["grad", "--workload", "fdotprod"], "--strategy"),
    (&["grad", "--workload", "fdotprod", "--strategys", "tape"], "--strategy"),
    // grad: threads, params, files
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--threads", "0"], "--threads"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--threads", "-1"], "--threads"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--threads", "257"], "--threads"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--threads", "abc"], "--threads"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--threads", ""], "--threads"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--threads", "1.5"], "--threads"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--param", "x"], "--param"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--param", "=3"], "--param"),
    (&["grad", "--workload", "square-chain", "--strategy", "tape", "--param", "x0=abc"], "--param"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--param", ""], "--param"),
    (&["grad", "--workload", "square-chain", "--strategy", "tape", "--param", "strategys=1"], "strategys"),
    (&["grad", "--workload", "fparticles", "--strategy", "tape", "--param", "fork=tree"], "valid choices: chain, balanced"),
    (&["grad", "--workload", "fparticles", "--strategy", "tape", "--param", "fork=1"], "valid choices: chain, balanced"),
    (&["grad", "--workload", "fparticles", "--strategy", "tape", "--param", "particles=many"], "--param"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--input", ""], "--input"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--input", "{never}"], "--input"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--input", "{dir}"], "--input"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--cotangent", ""], "--cotangent"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--cotangent", "{never}"], "--cotangent"),
    (&["grad", "--workload", "fdotprod", "--strategy", "tape", "--input", "-", "--cotangent", "-"], "--cotangent"),
    // verify
    (&["verify", "--workloads", "nope"], "--workloads"),
    (&["verify", "--workloads", ""], "--workloads"),
    (&["verify", "--workloads", ","], "--workloads"),
    (&["verify", "--strategies", "strategys"], "--strategies"),
    (&["verify", "--strategies", ""], "--strategies"),
    (&["verify", "--strategys", "tape"], "--strategies"),
    (&["verify", "--sizes", "-5"], "--sizes"),
    (&["verify", "--sizes", "abc"], "--sizes"),
    (&["verify", "--sizes", ""], "--sizes"),
    (&["verify", "--sizes", "fdotprod="], "--sizes"),
    (&["verify", "--sizes", "nope=10"], "--sizes"),
    (&["verify", "--sizes", "fdotprod=1,-2"], "--sizes"),
    (&["verify", "--random", "0"], "--random"),
    (&["verify", "--random", "-1"], "--random"),
    (&["verify", "--random", "abc"], "--random"),
    (&["verify", "--random", "1.5"], "--random"),
    (&["verify", "--random", ""], "--random"),
    (&["verify", "--random", "2", "--seed", "-1"], "--seed"),
    (&["verify", "--random", "2", "--seed", "abc"], "--seed"),
    (&["verify", "--random", "2", "--seed", "1e30"], "--seed"),
    (&["verify", "--random", "2", "--workloads", "fmult"], "--random"),
    (&["verify", "--threads", "0"], "--threads"),
    (&["verify", "--threads", "-2"], "--threads"),
    (&["verify", "--threads", "x"], "--threads"),
    (&["verify", "--format", "yaml"], "--format"),
    (&["verify", "--format", "csv"], "--format"),
    // run
    (&["run", "--out", "{never}", "--suite", "nope"], "--suite"),
    (&["run", "--out", "{never}", "--suite", "quik"], "--suite"),
    (&["run", "--out", "{never}", "--workloads", "nope"], "--workloads"),
    (&["run", "--out", "{never}", "--workloads", ""], "--workloads"),
    (&["run", "--out", "{never}", "--strategies", "strategys"], "--strategies"),
    (&["run", "--out", "{never}", "--strategies", ","], "--strategies"),
    (&["run", "--out", "{never}", "--strategys", "tape"], "--strategies"),
    (&["run", "--out", "{never}", "--sizes", "-5"], "--sizes"),
    (&["run", "--out", "{never}", "--sizes", "abc"], "--sizes"),
    (&["run", "--out", "{never}", "--sizes", ""], "--sizes"),
    (&["run", "--out", "{never}", "--sizes", "1e300"], "--sizes"),
    (&["run", "--out", "{never}", "--workloads", "fmult", "--sizes", "fmult=3"], "--sizes"),
    (&["run", "--out", "{never}", "--param", "x"], "--param"),
    (&["run", "--out", "{never}", "--param", "steps=abc"], "--param"),
    (&["run", "--out", "{never}", "--param", "fork=tree"], "valid choices: chain, balanced"),
    (&["run", "--out", "{never}", "--threads", "0"], "--threads"),
    (&["run", "--out", "{never}", "--threads", "-1"], "--threads"),
    (&["run", "--out", "{never}", "--threads", "1,1"], "--threads"),
    (&["run", "--out", "{never}", "--threads", "abc"], "--threads"),
    (&["run", "--out", "{never}", "--threads", "257"], "--threads"),
    (&["run", "--out", "{never}", "--budget", "-1"], "--budget"),
    (&["run", "--out", "{never}", "--budget", "0"], "--budget"),
    (&["run", "--out", "{never}", "--budget", "abc"], "--budget"),
    (&["run", "--out", "{never}", "--budget", "1e20"], "--budget"),
    (&["run", "--out", "{never}", "--budget", "NaN"], "--budget"),
    (&["run", "--out", "{never}", "--budget", "inf"], "--budget"),
    (&["run", "--out", "{never}", "--budget", ""], "--budget"),
    (&["run", "--out", "{never}", "--repeat", "0"], "--repeat"),
    (&["run", "--out", "{never}", "--repeat", "-1"], "--repeat"),
    (&["run", "--out", "{never}", "--repeat", "abc"], "--repeat"),
    (&["run", "--out", "{never}", "--repeat", "1.5"], "--repeat"),
    (&["run", "--out", "{never}", "--repeat", ""], "--repeat"),
    (&["run", "--out", "{never}", "--min-time", "-1"], "--min-time"),
    (&["run", "--out", "{never}", "--min-time", "abc"], "--min-time"),
    (&["run", "--out", "{never}", "--min-time", "1e20"], "--min-time"),
    (&["run", "--out", "{never}", "--warmup", "-0.5"], "--warmup"),
    (&["run", "--out", "{never}", "--warmup", "x"], "--warmup"),
    (&["run", "--out", "{never}", "--warmup", "1e9"], "--warmup"),
    (&["run", "--out", "{never}", "--stack-mib", "0"], "--stack-mib"),
    (&["run", "--out", "{never}", "--stack-mib", "-1"], "--stack-mib"),
    (&["run", "--out", "{never}", "--stack-mib", "abc"], "--stack-mib"),
    (&["run", "--out", "{never}", "--stack-mib", "100000000"], "--stack-mib"),
    (&["run", "--out", "{never}", "--memory-limit-mib", "-1"], "--memory-limit-mib"),
    (&["run", "--out", "{never}", "--memory-limit-mib", "abc"], "--memory-limit-mib"),
    (&["run", "--out", "{never}", "--memory-limit-mib", "1e12"], "--memory-limit-mib"),
    (&["run", "--out", ""], "--out"),
    (&["run", "--resume", ""], "--resume"),
    (&["run", "--resume", "{never}", "--budget", "1"], "--resume"),
    (&["run", "--out", "{never}", "--shard", "0/2"], "--shard"),
    (&["run", "--out", "{never}", "--shard", "3/2"], "--shard"),
    (&["run", "--out", "{never}", "--shard", "-1/2"], "--shard"),
    (&["run", "--out", "{never}", "--shard", "x"], "--shard"),
    (&["run", "--out", "{never}", "--shard", ""], "--shard"),
    (&["run", "--out", "{never}", "--format", "yaml"], "--format"),
    // merge
    (&["merge", "--out", "{never}"], "RESULTS"),
    (&["merge", "", "--out", "{never}"], "RESULTS"),
    (&["merge", "{dir}/missing.json", "--out", "{never}"], "missing.json"),
    (&["merge", "{dir}"], "--out"),
    (&["merge", "{dir}", "--out", ""], "--out"),
    (&["merge", "{dir}", "--out", "{never}", "--format", "yaml"], "--format"),
    // check
    (&["check", "--claims", ""], "--claims"),
    (&["check", "--claims", "{dir}/missing.toml"], "missing.toml"),
    (&["check", "--results", ""], "--results"),
    (&["check", "--claims", "{claims}", "--results", "{dir}/missing"], "{dir}/missing"),
    (&["check", "--claim", ""], "--claim"),
    (&["check", "--claim", ","], "--claim"),
    (&["check", "--format", "yaml"], "--format"),
    (&["check", "--counter-only"], "--counters-only"),
    // plot
    (&["plot"], "--results"),
    (&["plot", "--results", ""], "--results"),
    (&["plot", "--results", "{dir}/missing"], "missing"),
    (&["plot", "--results", "{dir}", "--images", "gif"], "--images"),
    (&["plot", "--results", "{dir}", "--images", ""], "--images"),
    (&["plot", "--results", "{dir}", "--reference", ""], "--reference"),
    (&["plot", "--results", "{dir}", "--workloads", ""], "--workloads"),
    (&["plot", "--results", "{dir}", "--strategies", ","], "--strategies"),
    (&["plot", "--results", "{dir}", "--table-sizes", "fdotprod"], "--table-sizes"),
    (&["plot", "--results", "{dir}", "--table-sizes", "fdotprod=-1"], "--table-sizes"),
    (&["plot", "--results", "{dir}", "--table-sizes", "fdotprod=abc"], "--table-sizes"),
    (&["plot", "--results", "{dir}", "--out", ""], "--out"),
    (&["plot", "--results", "{dir}", "--claims", ""], "--claims"),
    // compare
    (&["compare", "{dir}"], "NEW"),
    (&["compare", "", "{dir}"], "BASE"),
    (&["compare", "{dir}/a", "{dir}/b"], "{dir}/a"),
    (&["compare", "{dir}", "{dir}", "--time-threshold", "-0.1"], "--time-threshold"),
    (&["compare", "{dir}", "{dir}", "--time-threshold", "abc"], "--time-threshold"),
    (&["compare", "{dir}", "{dir}", "--time-threshold", "NaN"], "--time-threshold"),
    (&["compare", "{dir}", "{dir}", "--time-threshold", "inf"], "--time-threshold"),
    (&["compare", "{dir}", "{dir}", "--instructions-threshold", "-1"], "--instructions-threshold"),
    (&["compare", "{dir}", "{dir}", "--fail-on", "nope"], "--fail-on"),
    (&["compare", "{dir}", "{dir}", "--format", "csv"], "--format"),
    // gradbench
    (&["gradbench"], "--strategy"),
    (&["gradbench", "--strategy", "strategys"], "--strategy"),
    (&["gradbench", "--strategy", ""], "--strategy"),
    (&["gradbench", "--strategy", "primal"], "primal"),
    (&["gradbench", "--strategy", "tape", "--work-cap", "-1"], "--work-cap"),
    (&["gradbench", "--strategy", "tape", "--work-cap", "abc"], "--work-cap"),
    (&["gradbench", "--strategy", "tape", "--work-cap", "NaN"], "--work-cap"),
    (&["gradbench", "--strategy", "tape", "--memory-limit-mib", "-1"], "--memory-limit-mib"),
    (&["gradbench", "--strategy", "tape", "--memory-limit-mib", "x"], "--memory-limit-mib"),
    // completions and man
    (&["completions"], "SHELL"),
    (&["completions", "bsh"], "'bash'"),
    (&["completions", ""], "SHELL"),
    (&["man", "--out", ""], "--out"),
    (&["man", "--out", "{file}/sub"], "--out"),
    (&["man", "extra"], "extra"),
];

/// What a user must never see: a panic, Rust's bare parse errors.
const NEVER: [&str; 4] = [
    "panicked",
    "invalid digit found in string",
    "invalid float literal",
    "RUST_BACKTRACE",
];

/// Whether clap took a negative number for an unknown flag (`unexpected argument '-1'`).
fn negative_taken_for_flag(stderr: &str) -> bool {
    stderr
        .match_indices("unexpected argument '-")
        .any(|(at, found)| {
            stderr[at + found.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '.')
        })
}

/// The repository's claims file.
fn claims() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../claims.toml")
}

#[test]
fn bad_values_of_every_flag_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let never = dir.path().join("never");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let claims = claims();
    let fill = |arg: &str| {
        arg.replace("{never}", never.to_str().unwrap())
            .replace("{dir}", dir.path().to_str().unwrap())
            .replace("{file}", file.to_str().unwrap())
            .replace("{claims}", claims.to_str().unwrap())
    };
    let mut failures = Vec::new();
    for (args, needle) in BAD {
        let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let needle = fill(needle);
        let output = dualbench(&args);
        let stderr = text(&output.stderr);
        let mut problems: Vec<&str> = NEVER
            .iter()
            .copied()
            .filter(|n| stderr.contains(n))
            .collect();
        if negative_taken_for_flag(&stderr) {
            problems.push("a negative number taken for a flag");
        }
        if output.status.code() != Some(2) || !stderr.contains(&needle) || !problems.is_empty() {
            failures.push(format!(
                "{args:?}: exit {:?}, expected 2 naming `{needle}`{}\n{stderr}",
                output.status.code(),
                if problems.is_empty() {
                    String::new()
                } else {
                    format!(", and it says {problems:?}")
                }
            ));
        }
        assert!(!never.exists(), "{args:?} created {}", never.display());
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad command lines:\n{}",
        failures.len(),
        BAD.len(),
        failures.join("\n")
    );
}

#[test]
fn each_help_lists_the_exit_codes_its_command_can_return() {
    for command in std::iter::once("dualbench").chain(COMMANDS) {
        let mut args = vec!["--help"];
        if command != "dualbench" {
            args.insert(0, command);
        }
        let output = dualbench(&args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let help = text(&output.stdout);
        let codes = dualbench::cli::exit_codes(command).expect("a visible command");
        let listed = help
            .split("Exit codes:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{command} --help lists no exit codes:\n{help}"));
        let listed: Vec<u8> = listed
            .lines()
            .filter_map(|l| l.trim_start().split("  ").next()?.parse().ok())
            .collect();
        let expected: Vec<u8> = codes.iter().map(|(code, _)| *code).collect();
        assert_eq!(listed, expected, "{command} --help:\n{help}");
    }
    let help = text(&dualbench(&["check", "--help"]).stdout);
    assert!(help.contains("  1  a claim failed (with --strict: or was inconclusive)"));
    let help = text(&dualbench(&["compare", "--help"]).stdout);
    assert!(
        help.contains("  3  a regression of a --fail-on tier"),
        "{help}"
    );
}

/// The longest line of `text`, in chars, with the line.
fn widest(text: &str) -> (usize, &str) {
    text.lines()
        .map(|l| (l.chars().count(), l))
        .max()
        .unwrap_or((0, ""))
}

fn assert_fits(what: &str, output: &Output, width: usize) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        text(&output.stderr)
    );
    let stdout = text(&output.stdout);
    let (chars, line) = widest(&stdout);
    assert!(
        chars <= width,
        "{what} at COLUMNS={width}: a line of {chars} chars:\n{line}"
    );
}

#[test]
fn help_texts_fit_the_terminal() {
    for width in [80, 200] {
        for command in std::iter::once("").chain(COMMANDS) {
            for flag in ["--help", "-h"] {
                let args: Vec<&str> = [command, flag]
                    .into_iter()
                    .filter(|a| !a.is_empty())
                    .collect();
                assert_fits(
                    &format!("{args:?}"),
                    &dualbench_at(Some(width), &args),
                    width,
                );
            }
        }
    }
    // Without COLUMNS and a terminal the default width applies.
    let help = text(&dualbench(&["run", "--help"]).stdout);
    let (chars, line) = widest(&help);
    assert!(chars <= dualbench::output::DEFAULT_WIDTH, "{line}");
}

#[test]
fn list_fits_the_terminal_and_machine_formats_stay_whole() {
    for width in [80, 200] {
        let output = dualbench_at(Some(width), &["list"]);
        assert_fits("list", &output, width);
        let listing = text(&output.stdout);
        for workload in ["fdotprod", "random-fork-join", "gmm"] {
            assert!(listing.contains(workload), "{listing}");
        }
        for section in ["strategies", "peers", "workloads"] {
            assert_fits(
                section,
                &dualbench_at(Some(width), &["list", section]),
                width,
            );
        }
    }
    // Markdown and JSON do not depend on the width: at 80 Markdown keeps its long rows.
    for format in ["markdown", "json"] {
        let narrow = dualbench_at(Some(80), &["list", "--format", format]);
        let wide = dualbench_at(Some(400), &["list", "--format", format]);
        assert_eq!(narrow.stdout, wide.stdout, "{format}");
    }
    let markdown = text(&dualbench_at(Some(80), &["list", "--format", "markdown"]).stdout);
    assert!(widest(&markdown).0 > 80, "the Markdown rows are whole");
}

#[test]
fn check_and_run_tables_fit_the_terminal() {
    let results = paper_results();
    let results = results.to_str().unwrap();
    let claims = claims();
    let claims = claims.to_str().unwrap();
    for width in [80, 200] {
        let check = dualbench_at(
            Some(width),
            &["check", "--claims", claims, "--results", results, "--quiet"],
        );
        assert_fits("check", &check, width);
        assert!(text(&check.stdout).contains("naive-fdotprod-quadratic"));
        // `merge` prints the summary table that `run` prints, here of real rows with
        // time-outs and skipped cases.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("merged");
        let merged = dualbench_at(
            Some(width),
            &["merge", results, "--out", out.to_str().unwrap(), "--quiet"],
        );
        assert_fits("the summary of merge", &merged, width);
        assert!(text(&merged.stdout).contains("timeout"));
    }
    let json = [
        "check",
        "--claims",
        claims,
        "--results",
        results,
        "--format",
        "json",
    ];
    let check = dualbench_at(Some(80), &json);
    let wide = dualbench_at(Some(400), &json);
    assert_eq!(check.stdout, wide.stdout);
    // A small real run, at both widths.
    for width in [80, 200] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let run = dualbench_at(
            Some(width),
            &[
                "run",
                "--workloads",
                "fmult,fdotprod",
                "--sizes",
                "fdotprod=10",
                "--strategies",
                "tape,naive",
                "--budget",
                "0.5",
                "--min-time",
                "0.01",
                "--warmup",
                "0",
                "--no-plot",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_fits("run", &run, width);
        assert!(text(&run.stdout).contains("naive"));
    }
}

#[test]
fn verify_and_compare_fit_the_terminal() {
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/baseline");
    let baseline = baseline.to_str().unwrap();
    for width in [80, 200] {
        let compare = dualbench_at(Some(width), &["compare", baseline, baseline, "--quiet"]);
        assert_fits("compare", &compare, width);
        let verify = dualbench_at(
            Some(width),
            &[
                "verify",
                "--workloads",
                "fmult,fdotprod",
                "--strategies",
                "tape,naive",
                "-q",
            ],
        );
        assert_fits("verify", &verify, width);
    }
}

/// Every visible command's long flags, from the clap definition.
fn visible_flags() -> Vec<(String, Vec<String>)> {
    let cli = dualbench::cli::command();
    cli.get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| {
            let flags = c
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            (c.get_name().to_string(), flags)
        })
        .collect()
}

const HIDDEN: [&str; 3] = ["run-case", "count-instructions", "gradbench-worker"];

/// Whether `shell` is installed; with `DUALBENCH_REQUIRE_SHELLS` set (CI), a missing one fails.
fn shell_available(shell: &str) -> bool {
    let found = Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("DUALBENCH_REQUIRE_SHELLS").is_some() {
        panic!("{shell} is not installed, and DUALBENCH_REQUIRE_SHELLS is set");
    }
    if !found {
        eprintln!("note: {shell} is not installed; its completion script is not parsed");
    }
    found
}

#[test]
fn completion_scripts_parse_and_cover_every_command_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [
        ("bash", &["-n"][..]),
        ("zsh", &["-n"][..]),
        ("fish", &["--no-execute"][..]),
        ("elvish", &[][..]),
        ("powershell", &[][..]),
    ] {
        let output = dualbench(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = text(&output.stdout);
        for (command, flags) in visible_flags() {
            assert!(script.contains(&command), "{shell}: no `{command}`");
            for flag in flags {
                let completed = match shell {
                    "fish" => format!("-l {}", &flag[2..]),
                    _ => flag.clone(),
                };
                assert!(
                    script.contains(&completed),
                    "{shell}: no `{command} {flag}`"
                );
            }
        }
        for hidden in HIDDEN {
            assert!(
                !script.contains(hidden),
                "{shell} completes the hidden `{hidden}`"
            );
        }
        if !check.is_empty() && shell_available(shell) {
            let path = dir.path().join(format!("dualbench.{shell}"));
            std::fs::write(&path, &script).unwrap();
            let parsed = Command::new(shell).args(check).arg(&path).output().unwrap();
            assert!(
                parsed.status.success(),
                "{shell} cannot parse its completion script: {}",
                text(&parsed.stderr)
            );
        }
    }
}

#[test]
fn man_pages_cover_every_command_and_flag() {
    let root = dualbench(&["man"]);
    assert_eq!(root.status.code(), Some(0));
    let root = text(&root.stdout);
    assert!(root.starts_with(".ie \\n(.g .ds Aq"), "roff:\n{root}");
    assert!(root.contains("Exit codes:"), "{root}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let written = dualbench(&["man", "--out", out.to_str().unwrap()]);
    assert_eq!(written.status.code(), Some(0), "{}", text(&written.stderr));
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut expected: Vec<String> = std::iter::once("dualbench.1".to_string())
        .chain(COMMANDS.iter().map(|c| format!("dualbench-{c}.1")))
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    assert_eq!(
        std::fs::read_to_string(out.join("dualbench.1")).unwrap(),
        root
    );
    for (command, flags) in visible_flags() {
        assert!(root.contains(&command), "dualbench.1 lacks `{command}`");
        let page = std::fs::read_to_string(out.join(format!("dualbench-{command}.1"))).unwrap();
        // roff escapes each `-` of a flag as `\-`.
        for flag in flags {
            let roff = flag.replace('-', "\\-");
            assert!(page.contains(&roff), "dualbench-{command}.1 lacks {flag}");
        }
        assert!(page.contains("Exit codes:"), "dualbench-{command}.1");
    }
    for hidden in HIDDEN {
        assert!(
            !root.contains(hidden),
            "dualbench.1 names the hidden `{hidden}`"
        );
    }
}
