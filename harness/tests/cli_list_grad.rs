//! The `list` and `grad` commands as a user runs them: exit codes, stdout, error messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn dualbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .output()
        .expect("running dualbench")
}

fn dualbench_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running dualbench");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    child.wait_with_output().expect("waiting for dualbench")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Run `grad` with `args`, check it succeeded, and parse its one JSON object.
fn grad(args: &[&str]) -> Value {
    let mut all = vec!["grad"];
    all.extend_from_slice(args);
    let output = dualbench(&all);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("grad prints one JSON object")
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// A file in the system's temporary directory, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("dualbench-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("writing a temporary file");
        Self(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn list_table_names_every_strategy_and_workload() {
    let output = dualbench(&["list"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for name in [
        "primal",
        "forward",
        "naive",
        "dualrev",
        "fdotprod",
        "frotvecquat",
    ] {
        assert!(text.contains(name), "`{name}` missing from:\n{text}");
    }
}

#[test]
fn list_json_parses_with_strategies_and_sized_workloads() {
    let output = dualbench(&["list", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let listing: Value = serde_json::from_str(&stdout(&output)).expect("list prints JSON");
    let strategies = listing["strategies"].as_array().expect("strategies");
    assert!(strategies.iter().any(|s| s["name"] == "dualrev"));
    assert!(strategies.iter().all(|s| s["description"].is_string()));
    let workloads = listing["workloads"].as_array().expect("workloads");
    let fdotprod = workloads
        .iter()
        .find(|w| w["name"] == "fdotprod")
        .expect("fdotprod is listed");
    assert!(fdotprod["size"]["default"].as_u64().is_some());
    let fmult = workloads
        .iter()
        .find(|w| w["name"] == "fmult")
        .expect("fmult");
    assert!(fmult["size"].is_null(), "fmult has a fixed size");
}

#[test]
fn list_markdown_prints_markdown_tables() {
    let output = dualbench(&["list", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("| strategy | cost | description |"));
}

#[test]
fn fdotprod_gradient_is_the_other_list() {
    let n = 1000;
    let report = grad(&[
        "--workload",
        "fdotprod",
        "--strategy",
        "dualrev",
        "--size",
        "1000",
    ]);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["workload"], "fdotprod");
    assert_eq!(report["strategy"], "dualrev");
    assert_eq!(report["size"], 1000);
    assert_eq!(
        report["inputs"],
        serde_json::json!([{"name": "l1", "len": n}, {"name": "l2", "len": n}])
    );
    let gradient = numbers(&report["gradient"]);
    assert_eq!(gradient.len(), 2 * n);
    // l1 = 1, 2, ..., n and l2 = 3, 5, 7, ...: d/d l1 = l2 and d/d l2 = l1.
    for i in 0..n {
        assert_eq!(gradient[i], (2 * i + 3) as f64, "d/d l1[{i}]");
        assert_eq!(gradient[n + i], (i + 1) as f64, "d/d l2[{i}]");
    }
    let value: f64 = (0..n).map(|i| ((i + 1) * (2 * i + 3)) as f64).sum();
    assert_eq!(report["value"].as_f64(), Some(value));
    assert!(report["counters"].is_object());
    assert!(report.get("jacobian").is_none());
}

#[test]
fn primal_has_a_null_gradient() {
    let report = grad(&["--workload", "fmult", "--strategy", "primal"]);
    assert!(report["gradient"].is_null());
    assert_eq!(report["value"].as_f64(), Some(12.0));
    assert!(report["size"].is_null());
}

#[test]
fn several_outputs_give_a_jacobian_with_one_row_per_output() {
    let report = grad(&["--workload", "frotvecquat", "--strategy", "tape"]);
    assert!(
        report.get("gradient").is_none(),
        "no gradient key: {report}"
    );
    let rows = report["jacobian"].as_array().expect("jacobian rows");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| numbers(r).len() == 7));
    assert_eq!(numbers(&report["value"]).len(), 3);
}

#[test]
fn cotangent_gives_the_vector_jacobian_product() {
    let jacobian = grad(&["--workload", "frotvecquat", "--strategy", "dualrev"]);
    let rows: Vec<Vec<f64>> = jacobian["jacobian"]
        .as_array()
        .expect("rows")
        .iter()
        .map(numbers)
        .collect();
    let w = [0.5, -2.0, 3.0];
    let file = TempFile::new("cotangent.json", "[0.5, -2.0, 3.0]");
    let report = grad(&[
        "--workload",
        "frotvecquat",
        "--strategy",
        "dualrev",
        "--cotangent",
        file.path(),
    ]);
    assert!(report.get("jacobian").is_none());
    assert_eq!(numbers(&report["cotangent"]), w);
    let vjp = numbers(&report["gradient"]);
    for (i, &g) in vjp.iter().enumerate() {
        let expected: f64 = (0..3).map(|j| w[j] * rows[j][i]).sum();
        assert!(
            (g - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "entry {i}"
        );
    }
}

#[test]
fn input_from_a_file_replaces_the_generated_input() {
    let file = TempFile::new("input.json", "[2.0, -5.5]");
    let report = grad(&[
        "--workload",
        "fmult",
        "--strategy",
        "forward",
        "--input",
        file.path(),
    ]);
    assert_eq!(report["value"].as_f64(), Some(-11.0));
    assert_eq!(numbers(&report["gradient"]), [-5.5, 2.0]);
}

#[test]
fn input_from_stdin_replaces_the_generated_input() {
    let output = dualbench_with_stdin(
        &[
            "grad",
            "--workload",
            "fdotprod",
            "--strategy",
            "tape",
            "--size",
            "2",
            "--input",
            "-",
        ],
        "[1, 2, 10, 20]",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(report["value"].as_f64(), Some(50.0));
    assert_eq!(numbers(&report["gradient"]), [10.0, 20.0, 1.0, 2.0]);
}

#[test]
fn input_of_the_wrong_length_is_a_usage_error_naming_the_layout() {
    let output = dualbench_with_stdin(
        &[
            "grad",
            "--workload",
            "fdotprod",
            "--strategy",
            "dualrev",
            "--size",
            "3",
            "--input",
            "-",
        ],
        "[1, 2, 3]",
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("3 numbers") && message.contains("takes 6") && message.contains("l1 (3)"),
        "{message}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn malformed_input_is_a_usage_error_without_a_panic() {
    for bad in ["[1, 2", "{\"x\": 1}", "[1, \"two\"]"] {
        let output = dualbench_with_stdin(
            &[
                "grad",
                "--workload",
                "fmult",
                "--strategy",
                "dualrev",
                "--input",
                "-",
            ],
            bad,
        );
        assert_eq!(output.status.code(), Some(2), "input {bad}");
        let message = stderr(&output);
        assert!(message.contains("--input"), "{message}");
        assert!(message.contains("JSON array of numbers") || message.contains("not a number"));
        assert!(!message.contains("panicked"), "{message}");
    }
}

#[test]
fn input_file_errors_name_the_file_the_line_the_column_and_the_element() {
    let grad = |file: &TempFile| {
        dualbench(&[
            "grad",
            "--workload",
            "fdotprod",
            "--strategy",
            "tape",
            "--size",
            "2",
            "--input",
            file.path(),
        ])
    };
    for (name, contents, place) in [
        (
            "type",
            "[1, 2,\n 3, \"four\"]",
            "line 2, column 10 (element 3)",
        ),
        ("cut", "[1, 2, 3", "line 1, column 8 (element 3)"),
        ("nested", "[1, [2], 3, 4]", "line 1, column 5 (element 1)"),
        ("empty", "", "the file is empty"),
        ("object", "{\"x\": [1, 2, 3, 4]}", "line 1, column 1"),
        ("after", "[1, 2, 3, 4] 5", "line 1, column 14"),
    ] {
        let file = TempFile::new(&format!("input-{name}.json"), contents);
        let output = grad(&file);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let message = stderr(&output);
        assert!(
            message.contains(&format!("--input `{}`: {place}", file.path())),
            "{name}: {message}"
        );
        assert!(
            message.contains("expected a JSON array of numbers"),
            "{message}"
        );
        assert!(!message.contains("panicked"), "{message}");
    }
    let file = TempFile::new("input-short.json", "[1, 2, 3]");
    let message = stderr(&grad(&file));
    assert!(
        message.contains(&format!("--input `{}` has 3 numbers", file.path()))
            && message.contains("takes 4 inputs: l1 (2), l2 (2)"),
        "{message}"
    );
}

#[test]
fn list_prints_one_section_when_asked() {
    let output = dualbench(&["list", "workloads"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with("workload") && text.contains("fdotprod"),
        "{text}"
    );
    assert!(
        !text.contains("dualrev-par") && !text.contains("peer-xad"),
        "{text}"
    );
    let output = dualbench(&["list", "strategies", "--format", "json"]);
    let listing: Value = serde_json::from_str(&stdout(&output)).expect("list prints JSON");
    let keys: Vec<&String> = listing.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["strategies"]);
}

#[test]
fn missing_input_file_is_a_usage_error_naming_the_file() {
    let output = dualbench(&[
        "grad",
        "--workload",
        "fmult",
        "--strategy",
        "dualrev",
        "--input",
        "no-such-file.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no-such-file.json"));
}

#[test]
fn unknown_workload_is_a_usage_error_listing_the_valid_ones() {
    let output = dualbench(&["grad", "--workload", "nope", "--strategy", "dualrev"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("nope") && message.contains("fdotprod") && message.contains("fmult"),
        "{message}"
    );
}

#[test]
fn list_says_which_workloads_have_a_hand_written_adjoint() {
    let output = dualbench(&["list", "workloads", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let listing: Value = serde_json::from_str(&stdout(&output)).expect("list prints JSON");
    let with: Vec<&str> = listing["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .filter(|w| w["hand_adjoint"] == true)
        .map(|w| w["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        with,
        [
            "fdotprod",
            "fsummatvec",
            "fneural",
            "mlp",
            "deep-chain",
            "lse",
            "sin-product-sum",
            "llsq",
            "det",
            "ode",
            "gmm"
        ]
    );
    let markdown = stdout(&dualbench(&["list", "workloads", "--format", "markdown"]));
    assert!(markdown.contains("| manual |"), "{markdown}");
    let fmult = markdown
        .lines()
        .find(|l| l.starts_with("| fmult "))
        .unwrap();
    let fdotprod = markdown
        .lines()
        .find(|l| l.starts_with("| fdotprod "))
        .unwrap();
    assert!(
        fmult.contains("| - |") && fdotprod.contains("| yes |"),
        "{markdown}"
    );
}

#[test]
fn manual_gives_the_hand_written_gradient() {
    let json = grad(&[
        "--workload",
        "fdotprod",
        "--strategy",
        "manual",
        "--size",
        "3",
    ]);
    assert_eq!(json["value"], 1.0 * 3.0 + 2.0 * 5.0 + 3.0 * 7.0);
    assert_eq!(
        numbers(&json["gradient"]),
        [3.0, 5.0, 7.0, 1.0, 2.0, 3.0],
        "(l2, l1)"
    );
    assert_eq!(json["counters"]["vjp_calls"], 1);
}

#[test]
fn manual_on_a_workload_without_an_adjoint_is_a_usage_error_naming_those_with_one() {
    let output = dualbench(&["grad", "--workload", "fmult", "--strategy", "manual"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("no hand-written adjoint")
            && message.contains("fdotprod")
            && message.contains("gmm")
            && !message.contains("panicked"),
        "{message}"
    );
}

#[test]
fn unknown_strategy_is_a_usage_error_listing_the_valid_ones() {
    let output = dualbench(&["grad", "--workload", "fmult", "--strategy", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("nope") && message.contains("dualrev") && message.contains("primal"),
        "{message}"
    );
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args([
            "grad",
            "--workload",
            "fdotprod",
            "--strategy",
            "tape",
            "--size",
            "100000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The reader is gone (like `| head -c 100`).
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(
        !err.contains("panicked") && !err.contains("failed printing"),
        "{err}"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn grad_refuses_a_case_beyond_the_work_cap_unless_forced() {
    let output = dualbench(&[
        "grad",
        "--workload",
        "square-chain",
        "--strategy",
        "naive",
        "--size",
        "100",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("--force") && err.contains("backpropagator calls"),
        "{err}"
    );
    // Within the cap, and with --force on a feasible case, it runs.
    let report = grad(&[
        "--workload",
        "square-chain",
        "--strategy",
        "naive",
        "--size",
        "10",
        "--force",
    ]);
    assert_eq!(report["counters"]["backprop_calls"], 2047);
}

/// `hvp` along e_1 of the dot product x . y (size 3): H is the exchange matrix, so H e_1 = e_4;
/// `directional` is w^T J v = y_1, the gradient's first entry.
#[test]
fn hvp_of_a_dot_product_along_a_unit_vector_is_the_exchanged_unit_vector() {
    let direction = TempFile::new("direction.json", "[1, 0, 0, 0, 0, 0]");
    let output = dualbench(&[
        "hvp",
        "--workload",
        "fdotprod",
        "--strategy",
        "dualrev",
        "--size",
        "3",
        "--vector",
        direction.path(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(report["mode"], "rev-fwd");
    assert_eq!(numbers(&report["hvp"]), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    let gradient = numbers(&report["gradient"]);
    assert_eq!(report["directional"].as_f64(), Some(gradient[0]));
    assert!(report["hvp_ops"].as_u64() > report["ops"].as_u64());
}
