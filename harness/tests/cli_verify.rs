//! The `verify` command as a user runs it: exit codes, the table and the JSON report.

use std::process::{Command, Output};

use serde_json::Value;

fn dualbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .output()
        .expect("running dualbench")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn verify_on_a_small_selection_passes_and_prints_its_table() {
    let output = dualbench(&[
        "verify",
        "--workloads",
        "fdotprod,frotvecquat,square-chain",
        "--sizes",
        "fdotprod=10",
        "--sizes",
        "square-chain=4",
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("verdict"), "{stdout}");
    for row in ["fdotprod", "frotvecquat", "square-chain"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(row) && l.contains("ok")),
            "{stdout}"
        );
    }
}

#[test]
fn verify_json_reports_every_selected_strategy_per_case() {
    let output = dualbench(&[
        "verify",
        "--workloads",
        "fmult",
        "--strategies",
        "forward,dualrev,primal",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("verify prints JSON");
    assert_eq!(report["passed"], true);
    let cases = report["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 1);
    let names: Vec<&str> = cases[0]["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .map(|s| s["strategy"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["forward", "dualrev", "primal"]);
    assert_eq!(cases[0]["fd"]["status"], "checked");
}

#[test]
fn verify_skips_naive_where_its_path_count_exceeds_the_cap() {
    // 2^61 - 1 backpropagator calls: naive must be skipped, not started.
    let output = dualbench(&[
        "verify",
        "--workloads",
        "square-chain",
        "--sizes",
        "60",
        "--strategies",
        "naive,dualrev",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("verify prints JSON");
    let strategies = &report["cases"][0]["strategies"];
    assert_eq!(strategies[0]["strategy"], "naive");
    assert_eq!(strategies[0]["status"], "skipped");
    assert!(
        strategies[0]["predicted_work"].as_f64().expect("work")
            > report["work_cap"].as_f64().expect("cap")
    );
    assert_eq!(strategies[1]["status"], "checked");
}

#[test]
fn verify_with_an_unknown_workload_exits_2_listing_the_valid_ones() {
    let output = dualbench(&["verify", "--workloads", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output.stderr);
    assert!(
        message.contains("nope") && message.contains("fdotprod"),
        "{message}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn verify_with_an_unknown_strategy_exits_2_listing_the_valid_ones() {
    let output = dualbench(&["verify", "--strategies", "dualrev,nope"]);
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output.stderr);
    assert!(
        message.contains("nope") && message.contains("tape"),
        "{message}"
    );
}

#[test]
fn verify_with_a_bad_size_exits_2() {
    let output = dualbench(&["verify", "--workloads", "fdotprod", "--sizes", "ten"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("ten"));
}

#[test]
fn verify_random_programs_agree_across_strategies_and_exit_0() {
    let output = dualbench(&["verify", "--random", "300", "--seed", "7"]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.ends_with("random: 300 programs (seed 7), 0 disagreements\n"),
        "{stdout}"
    );
}

#[test]
fn verify_random_with_workloads_or_sizes_is_a_usage_error() {
    for extra in [["--workloads", "fdotprod"], ["--sizes", "10"]] {
        let mut args = vec!["verify", "--random", "5"];
        args.extend(extra);
        let output = dualbench(&args);
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        assert!(text(&output.stderr).contains("--random"), "{extra:?}");
        assert!(output.stdout.is_empty());
    }
}
