//! `dualbench gradbench`, driven as a GradBench eval drives a tool: a scripted session on
//! stdin, every response line on stdout checked — its `id`, its `success`, and its output
//! against a value worked out independently (in the comments), with GradBench's metric
//! |x - y| / max(1, |x| + |y|) ([`relative_error`]) — and the bad input a session must
//! survive: bytes that are not UTF-8, hopeless sizes under every strategy.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dualbench::verify::metric::relative_error;
use serde_json::{json, Value};

/// How long a session of these tests may take before it counts as hanging.
const SESSION_LIMIT: Duration = Duration::from_secs(120);

/// The session's stdout lines (parsed) and stderr, for `script` under `strategy`.
fn session(strategy: &str, extra: &[&str], script: &[String]) -> (Vec<Value>, String) {
    let bytes: Vec<Vec<u8>> = script.iter().map(|l| l.clone().into_bytes()).collect();
    session_of_bytes(strategy, extra, &bytes)
}

/// [`session`] for lines of any bytes; the session must end by itself with exit code 0 within
/// [`SESSION_LIMIT`] (a hanging session is killed and fails the test).
fn session_of_bytes(strategy: &str, extra: &[&str], script: &[Vec<u8>]) -> (Vec<Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(["gradbench", "--strategy", strategy])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting dualbench gradbench");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let mut stdin = child.stdin.take().unwrap();
    for line in script {
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SESSION_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the session did not end within {SESSION_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8(stdout.join().unwrap()).unwrap();
    let stderr = String::from_utf8(stderr.join().unwrap()).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (lines, stderr)
}

/// `{"id": id, "kind": "evaluate", ...}`.
fn evaluate(id: i64, module: &str, function: &str, input: Value) -> String {
    json!({"id": id, "kind": "evaluate", "module": module, "function": function, "input": input})
        .to_string()
}

fn define(id: i64, module: &str) -> String {
    json!({"id": id, "kind": "define", "module": module}).to_string()
}

/// Every number of `actual` within 1e-10 of `expected` (same nesting), by GradBench's metric.
fn assert_close(actual: &Value, expected: &Value, what: &str) {
    match (actual, expected) {
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{what}: {actual} vs {expected}");
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_close(a, e, &format!("{what}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                e.keys().collect::<Vec<_>>(),
                "{what}"
            );
            for (key, e) in e {
                assert_close(&a[key], e, &format!("{what}.{key}"));
            }
        }
        _ => {
            let (a, e) = (actual.as_f64(), expected.as_f64());
            let (Some(a), Some(e)) = (a, e) else {
                panic!("{what}: {actual} is not the number {expected}");
            };
            assert!(relative_error(a, e) < 1e-10, "{what}: {a} vs {e}");
        }
    }
}

/// A successful evaluate response with `id`: its output matches `expected`, with one
/// `evaluate` timing per run (at least `runs`).
fn assert_output(response: &Value, id: i64, expected: &Value, runs: usize) {
    assert_eq!(response["id"], id, "{response}");
    assert_eq!(response["success"], true, "{response}");
    assert_close(&response["output"], expected, &format!("message {id}"));
    let timings = response["timings"].as_array().expect("timings");
    assert!(timings.len() >= runs, "{response}");
    for t in timings {
        assert_eq!(t["name"], "evaluate");
        assert!(t["nanoseconds"].as_u64().is_some(), "{t}");
    }
}

/// A failed response with `id` whose error mentions every one of `words`.
fn assert_failure(response: &Value, id: i64, words: &[&str]) {
    assert_eq!(response["id"], id, "{response}");
    assert_eq!(response["success"], false, "{response}");
    let error = response["error"].as_str().expect("an error string");
    for word in words {
        assert!(error.contains(word), "`{word}` not in: {error}");
    }
}

#[test]
fn a_scripted_session_gets_every_answer_right_and_survives_bad_input() {
    let script = vec![
        json!({"id": 0, "kind": "start", "eval": "scripted"}).to_string(),
        define(1, "hello"),
        evaluate(2, "hello", "square", json!(3.0)),
        evaluate(3, "hello", "double", json!(9.0)),
        define(4, "lse"),
        evaluate(
            5,
            "lse",
            "primal",
            json!({"x": [1.0, 2.0, 3.0], "min_runs": 3, "min_seconds": 0}),
        ),
        evaluate(6, "lse", "gradient", json!({"x": [1.0, 2.0, 3.0]})),
        define(7, "llsq"),
        evaluate(8, "llsq", "primal", json!({"x": [0.5, -0.25], "n": 3})),
        evaluate(9, "llsq", "gradient", json!({"x": [0.5, -0.25], "n": 3})),
        define(10, "det"),
        evaluate(
            11,
            "det",
            "primal",
            json!({"A": [1.0, 2.0, 3.0, 4.0], "ell": 2}),
        ),
        evaluate(
            12,
            "det",
            "gradient",
            json!({"A": [1.0, 2.0, 3.0, 4.0], "ell": 2}),
        ),
        define(13, "ode"),
        evaluate(14, "ode", "primal", json!({"x": [1.0, 2.0], "s": 4})),
        evaluate(15, "ode", "gradient", json!({"x": [1.0, 2.0], "s": 4})),
        define(16, "gmm"),
        evaluate(17, "gmm", "objective", gmm_input()),
        evaluate(18, "gmm", "jacobian", gmm_input()),
        json!({"id": 19, "kind": "analysis", "of": 18, "valid": true}).to_string(),
        // Malformed: an evaluate with no function.
        json!({"id": 20, "kind": "evaluate", "module": "lse", "input": {"x": [1]}}).to_string(),
        // Not JSON at all, and JSON without an id: skipped, reported on stderr.
        "this is not json".to_string(),
        json!({"kind": "start"}).to_string(),
        define(21, "nosuchmodule"),
        evaluate(22, "nosuchmodule", "primal", json!({})),
        // Wrong shapes: A is not ell x ell; x is not a list of numbers; gmm's mu has a short row.
        evaluate(
            23,
            "det",
            "gradient",
            json!({"A": [1.0, 2.0, 3.0], "ell": 2}),
        ),
        evaluate(24, "lse", "gradient", json!({"x": "1, 2"})),
        evaluate(25, "gmm", "jacobian", {
            let mut input = gmm_input();
            input["mu"] = json!([[]]);
            input
        }),
        evaluate(26, "lse", "hessian", json!({"x": [1.0]})),
        // Not defined yet in this session.
        evaluate(
            27,
            "kmeans",
            "cost",
            json!({"points": [[0.0]], "centroids": [[1.0]]}),
        ),
        define(28, "kmeans"),
        evaluate(
            29,
            "kmeans",
            "dir",
            json!({"points": [[0.0]], "centroids": [[1.0]]}),
        ),
        evaluate(
            30,
            "kmeans",
            "cost",
            json!({"points": [[0.0], [3.0]], "centroids": [[1.0], [2.5]]}),
        ),
        json!({"id": 31, "kind": "bye"}).to_string(),
    ];
    let (lines, stderr) = session("dualrev", &[], &script);
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        (0..=31).collect::<Vec<_>>(),
        "one response per answerable line"
    );

    assert_eq!(lines[0]["tool"], "dualbench");
    assert_eq!(lines[0]["config"]["strategy"], "dualrev");
    for id in [1, 4, 7, 10, 13, 16, 28] {
        assert_eq!(lines[id], json!({"id": id, "success": true}));
    }
    // hello: 3^2 = 9, and square's derivative at 9 is 18.
    assert_output(&lines[2], 2, &json!(9.0), 1);
    assert_output(&lines[3], 3, &json!(18.0), 1);
    // lse: ln(e + e^2 + e^3); the gradient is softmax.
    let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|x| x.exp()).collect();
    let total: f64 = e.iter().sum();
    assert_output(&lines[5], 5, &json!(total.ln()), 3);
    let softmax: Vec<f64> = e.iter().map(|ei| ei / total).collect();
    assert_output(&lines[6], 6, &json!(softmax), 1);
    // llsq at n = 3: t = -1, 0, 1 and s = -1, 0, 1; residuals s_i - (x_0 + x_1 t_i) are
    // -1.75, -0.5, 0.75; half their squares sum to 1.9375; the gradient -sum_i r_i t_i^j is
    // (1.5, -2.5).
    assert_output(&lines[8], 8, &json!(1.9375), 1);
    assert_output(&lines[9], 9, &json!([1.5, -2.5]), 1);
    // det [[1, 2], [3, 4]] = -2; its gradient is the cofactor matrix [[4, -3], [-2, 1]].
    assert_output(&lines[11], 11, &json!(-2.0), 1);
    assert_output(&lines[12], 12, &json!([4.0, -3.0, -2.0, 1.0]), 1);
    // ode: RK4 is exact for two variables: y_0(2) = 2 x_0 = 2, y_1(2) = x_0 x_1 2^2 / 2 = 4;
    // the gradient of y_1(2) = 2 x_0 x_1 is (2 x_1, 2 x_0) = (4, 2).
    assert_output(&lines[14], 14, &json!([2.0, 4.0]), 1);
    assert_output(&lines[15], 15, &json!([4.0, 2.0]), 1);
    // gmm, d = k = n = 1 (see gmm_input).
    let (value, jacobian) = gmm_expected();
    assert_output(&lines[17], 17, &json!(value), 1);
    assert_output(&lines[18], 18, &jacobian, 1);
    assert_eq!(lines[19], json!({"id": 19}));
    assert_failure(&lines[20], 20, &["evaluate", "function"]);
    assert!(stderr.contains("not JSON"), "{stderr}");
    assert!(stderr.contains("no `id`"), "{stderr}");
    assert_failure(
        &lines[21],
        21,
        &["nosuchmodule", "hello, lse, llsq, det, ode, gmm"],
    );
    assert_failure(&lines[22], 22, &["unknown module `nosuchmodule`"]);
    assert_failure(&lines[23], 23, &["`A` must have 4 numbers, not 3"]);
    assert_failure(
        &lines[24],
        24,
        &["`x` must be an array of numbers, not a string"],
    );
    assert_failure(&lines[25], 25, &["`mu[0]` must have 1 numbers, not 0"]);
    assert_failure(
        &lines[26],
        26,
        &["no function `hessian`", "primal, gradient"],
    );
    assert_failure(&lines[27], 27, &["module `kmeans` is not defined"]);
    // kmeans dir: the one point 0 is nearest the centroid 1, which minus the mean of its
    // points is 1.
    assert_output(&lines[29], 29, &json!([[1.0]]), 1);
    // kmeans cost: 0 is nearest 1 (distance^2 1), 3 nearest 2.5 (0.25).
    assert_output(&lines[30], 30, &json!(1.25), 1);
    assert_eq!(lines[31], json!({"id": 31}));
}

/// d = k = n = 1, m = 0, gamma = 1: x = 0.5, alpha = 0.3, mu = 0.1, q = 0.2, no l.
fn gmm_input() -> Value {
    json!({
        "d": 1, "k": 1, "n": 1, "m": 0, "gamma": 1.0,
        "x": [[0.5]], "alpha": [0.3], "mu": [[0.1]], "q": [[0.2]], "l": [[]],
        "min_runs": 1, "min_seconds": 0,
    })
}

/// The value and gradient of [`gmm_input`], worked out by hand. With one component the
/// mixture weight is 1 (alpha cancels), Q = e^q, and the Wishart prior has n = D + m + 1 = 2,
/// so log Gamma_1(1) = 0 and its constant is 2 log(1/sqrt 2) = -log 2:
///
/// F = -log(2 pi)/2 + q - e^{2q} (x - mu)^2 / 2 - e^{2q} / 2 - log 2,
/// dF/dalpha = 0, dF/dmu = e^{2q} (x - mu), dF/dq = 1 - e^{2q} (x - mu)^2 - e^{2q}.
fn gmm_expected() -> (f64, Value) {
    let (x, mu, q) = (0.5f64, 0.1f64, 0.2f64);
    let e2q = (2.0 * q).exp();
    let r = x - mu;
    let value =
        -(2.0 * std::f64::consts::PI).ln() / 2.0 + q - e2q * r * r / 2.0 - e2q / 2.0 - 2f64.ln();
    let jacobian = json!({
        "alpha": [0.0],
        "mu": [[e2q * r]],
        "q": [[1.0 - e2q * r * r - e2q]],
        "l": [[]],
    });
    (value, jacobian)
}

#[test]
fn every_efficient_strategy_answers_the_same_gradients() {
    let script = vec![
        define(0, "gmm"),
        evaluate(1, "gmm", "jacobian", gmm_input()),
        define(2, "det"),
        evaluate(
            3,
            "det",
            "gradient",
            json!({"A": [1.0, 2.0, 3.0, 4.0], "ell": 2}),
        ),
    ];
    let (_, jacobian) = gmm_expected();
    for strategy in [
        "tape",
        "dualrev",
        "dualrev-par",
        "sparse",
        "forward",
        "forward-vec",
        "manual",
    ] {
        let (lines, _) = session(strategy, &[], &script);
        assert_output(&lines[1], 1, &jacobian, 1);
        assert_output(&lines[3], 3, &json!([4.0, -3.0, -2.0, 1.0]), 1);
    }
}

/// A kmeans input as GradBench's eval draws one: `n` points in [0, 1)^d (here from a fixed
/// linear congruential sequence), the centroids the last `k` of them.
fn kmeans_input(n: usize, k: usize, d: usize) -> Value {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let points: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            (0..d)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 11) as f64 / (1u64 << 53) as f64
                })
                .collect()
        })
        .collect();
    let centroids = points[n - k..].to_vec();
    json!({"points": points, "centroids": centroids, "min_runs": 1, "min_seconds": 0})
}

/// kmeans' `dir` as GradBench's `manual` tool computes it, with no derivative: J / H is each
/// centroid minus the mean of the points nearest to it (the first of the nearest on ties).
fn lloyd_step(input: &Value) -> Value {
    let rows = |key: &str| -> Vec<Vec<f64>> { serde_json::from_value(input[key].clone()).unwrap() };
    let (points, centroids) = (rows("points"), rows("centroids"));
    let d = centroids[0].len();
    let mut sums = vec![vec![0.0; d]; centroids.len()];
    let mut members = vec![0.0; centroids.len()];
    for p in &points {
        let distance =
            |c: &Vec<f64>| -> f64 { c.iter().zip(p).map(|(c, p)| (c - p) * (c - p)).sum() };
        let mut nearest = 0;
        for (j, c) in centroids.iter().enumerate() {
            if distance(c) < distance(&centroids[nearest]) {
                nearest = j;
            }
        }
        members[nearest] += 1.0;
        for (s, p) in sums[nearest].iter_mut().zip(p) {
            *s += p;
        }
    }
    let step: Vec<Vec<f64>> = centroids
        .iter()
        .zip(sums.iter().zip(&members))
        .map(|(c, (s, m))| c.iter().zip(s).map(|(c, s)| c - s / m).collect())
        .collect();
    json!(step)
}

#[test]
fn kmeans_dir_is_the_newton_direction_under_every_strategy_that_differentiates() {
    let (small, larger) = (kmeans_input(12, 3, 2), kmeans_input(200, 10, 8));
    let script = vec![
        define(0, "kmeans"),
        evaluate(1, "kmeans", "dir", small.clone()),
        evaluate(2, "kmeans", "dir", larger.clone()),
        evaluate(3, "kmeans", "cost", small.clone()),
    ];
    let (want_small, want_larger) = (lloyd_step(&small), lloyd_step(&larger));
    // Every centroid has a point of its own, and they are not all the same step.
    assert_ne!(want_small[0], want_small[1]);
    for strategy in [
        "tape",
        "dualrev",
        "dualrev-par",
        "tape-par",
        "sparse",
        "forward",
        "forward-vec",
        "naive",
    ] {
        let (lines, stderr) = session(strategy, &[], &script);
        assert_eq!(lines.len(), 4, "{strategy}: {stderr}");
        assert_output(&lines[1], 1, &want_small, 1);
        assert_output(&lines[2], 2, &want_larger, 1);
        assert_eq!(lines[3]["success"], true, "{strategy}: {}", lines[3]);
    }
    let (lines, _) = session("manual", &[], &script);
    assert_failure(
        &lines[1],
        1,
        &[
            "strategy `manual` cannot compute kmeans `dir`",
            "hand-written adjoint",
        ],
    );
    assert_eq!(lines[3]["success"], true, "{}", lines[3]);
}

#[test]
fn manual_fails_cleanly_on_a_module_without_a_hand_written_adjoint() {
    let script = vec![
        define(0, "hello"),
        evaluate(1, "hello", "double", json!(3.0)),
        evaluate(2, "hello", "square", json!(3.0)),
    ];
    let (lines, _) = session("manual", &[], &script);
    assert_failure(
        &lines[1],
        1,
        &["manual", "hello", "double", "no hand-written adjoint"],
    );
    assert_output(&lines[2], 2, &json!(9.0), 1);
}

#[test]
fn an_evaluation_that_exhausts_memory_fails_and_the_session_goes_on() {
    // A 64 MiB heap cap: the tape of an lse over 10^6 values needs far more.
    let big: Vec<f64> = (0..1_000_000).map(|i| (i % 7) as f64).collect();
    let script = vec![
        define(0, "lse"),
        evaluate(1, "lse", "gradient", json!({"x": big})),
        evaluate(2, "lse", "gradient", json!({"x": [0.0, 0.0]})),
    ];
    let (lines, _) = session("tape", &["--memory-limit-mib", "64"], &script);
    assert_failure(&lines[1], 1, &["ran out of memory", "session goes on"]);
    assert_output(&lines[2], 2, &json!([0.5, 0.5]), 1);
}

#[test]
fn a_hopeless_derivative_is_refused_by_the_work_cap() {
    let script = vec![
        define(0, "det"),
        evaluate(1, "det", "gradient", json!({"A": vec![0.5; 81], "ell": 9})),
    ];
    let (lines, _) = session("naive", &["--work-cap", "1e6"], &script);
    assert_failure(&lines[1], 1, &["naive", "work cap", "--work-cap"]);
}

#[test]
fn the_primal_strategy_is_refused_on_the_command_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(["gradbench", "--strategy", "primal"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("computes no derivatives"), "{stderr}");
}

#[test]
fn a_line_that_is_not_utf8_gets_an_error_or_a_note_and_the_session_goes_on() {
    let mut bad_module = br#"{"id":1,"kind":"define","module":"l"#.to_vec();
    bad_module.extend(b"\xFFse\"}");
    let script = vec![
        define(0, "lse").into_bytes(),
        bad_module,
        // No readable id: skipped, with a note on stderr.
        b"\xC3\x28 not even json".to_vec(),
        evaluate(2, "lse", "gradient", json!({"x": [0.0, 0.0]})).into_bytes(),
        // Bad bytes inside the input of an evaluate with an id: that evaluate fails alone.
        {
            let mut line =
                evaluate(3, "lse", "primal", json!({"x": [1.0], "note": "AB"})).into_bytes();
            let at = line.windows(2).position(|w| w == b"AB").unwrap();
            line[at] = 0x80;
            line
        },
        define(4, "det").into_bytes(),
    ];
    let (lines, stderr) = session_of_bytes("dualrev", &[], &script);
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4], "{stderr}");
    assert_failure(&lines[1], 1, &["not UTF-8", "byte 36", "0xFF"]);
    assert_output(&lines[2], 2, &json!([0.5, 0.5]), 1);
    assert_failure(&lines[3], 3, &["not UTF-8", "0x80"]);
    assert_eq!(lines[4], json!({"id": 4, "success": true}));
    assert!(
        stderr.contains("skipped a line that cannot be answered: the line is not UTF-8 (byte 1"),
        "{stderr}"
    );
}

#[test]
fn hopeless_requests_are_refused_under_every_strategy_naming_the_input_and_the_cap() {
    let det = |id: i64, function: &str, ell: usize| {
        evaluate(
            id,
            "det",
            function,
            json!({"A": vec![0.5; ell * ell], "ell": ell}),
        )
    };
    let script = vec![
        define(0, "det"),
        define(1, "llsq"),
        define(2, "ode"),
        define(3, "lse"),
        // T = 1.3e9 at ell = 12 (default cap 1e9); ell = 20 is far beyond.
        det(4, "gradient", 12),
        det(5, "gradient", 20),
        det(6, "primal", 20),
        evaluate(
            7,
            "llsq",
            "gradient",
            json!({"x": [0.5, 0.1], "n": 1_000_000_000_000u64}),
        ),
        evaluate(
            8,
            "ode",
            "gradient",
            json!({"x": [0.5, 0.1], "s": 1_000_000_000_000u64}),
        ),
        evaluate(
            9,
            "ode",
            "primal",
            json!({"x": [0.5], "s": 1_000_000_000_000u64}),
        ),
        // Bounded runs: beyond the bound, and within it but beyond the cap in total.
        evaluate(
            10,
            "lse",
            "gradient",
            json!({"x": [1.0, 2.0], "min_runs": 1_000_000_000_000u64}),
        ),
        evaluate(
            11,
            "det",
            "gradient",
            json!({"A": vec![0.5; 81], "ell": 9, "min_runs": 100_000}),
        ),
        evaluate(
            12,
            "lse",
            "gradient",
            json!({"x": [1.0], "min_seconds": 1e12}),
        ),
        // Still answered after all of that.
        evaluate(
            13,
            "lse",
            "gradient",
            json!({"x": [0.0, 0.0], "min_runs": 5}),
        ),
    ];
    let started = Instant::now();
    for strategy in [
        "tape",
        "dualrev",
        "dualrev-par",
        "sparse",
        "forward",
        "naive",
    ] {
        let (lines, stderr) = session(strategy, &[], &script);
        let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, (0..=13).collect::<Vec<_>>(), "{strategy}: {stderr}");
        let refused = |id: usize, words: &[&str]| {
            let mut all = vec!["work cap of 1e9 steps", "--work-cap"];
            all.extend(words);
            assert_failure(&lines[id], id as i64, &all);
        };
        refused(4, &["det `gradient` at `ell` = 12", "under strategy"]);
        refused(5, &["`ell` = 20"]);
        refused(6, &["det `primal` at `ell` = 20", "on f64"]);
        refused(7, &["`n` = 1000000000000 points"]);
        refused(8, &["`s` = 1000000000000 steps"]);
        refused(9, &["ode `primal`", "`s` = 1000000000000 steps"]);
        assert_failure(
            &lines[10],
            10,
            &["`min_runs` is 1000000000000", "100000 runs"],
        );
        refused(11, &["`ell` = 9 and `min_runs` = 100000", "fewer runs"]);
        assert_failure(&lines[12], 12, &["`min_seconds`", "from 0 to 600"]);
        assert_output(&lines[13], 13, &json!([0.5, 0.5]), 5);
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_work_cap_suggests_a_linear_strategy_only_to_the_strategies_that_run_away() {
    let script = vec![
        define(0, "det"),
        evaluate(1, "det", "gradient", json!({"A": vec![0.5; 49], "ell": 7})),
    ];
    // T(7) = 13698 and n = 49: tape's work is about 1.4e4, forward's 50 times that.
    let (lines, _) = session("forward", &["--work-cap", "1e5"], &script);
    assert_failure(&lines[1], 1, &["1e5", "linear strategy (tape, dualrev)"]);
    let (lines, _) = session("tape", &["--work-cap", "1e5"], &script);
    assert_eq!(lines[1]["success"], true, "{}", lines[1]);
    let (lines, _) = session("tape", &["--work-cap", "1e3"], &script);
    assert_failure(&lines[1], 1, &["1e3"]);
    assert!(!lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("linear strategy"));
    // 0: no cap.
    let (lines, _) = session("forward", &["--work-cap", "0"], &script);
    assert_eq!(lines[1]["success"], true, "{}", lines[1]);
}

/// The process IDs of the children of `pid` (Linux: `/proc/PID/task/*/children`).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[test]
fn a_killed_session_takes_its_worker_with_it() {
    // No cap: 10^10 Runge-Kutta steps run for minutes in constant memory.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args(["gradbench", "--strategy", "tape", "--work-cap", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        define(0, "ode"),
        evaluate(
            1,
            "ode",
            "primal",
            json!({"x": [0.5], "s": 10_000_000_000u64}),
        ),
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let started = Instant::now();
    let worker = loop {
        if let Some(&worker) = children_of(child.id()).first() {
            break worker;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no worker started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let it start the evaluation, then kill the session (as GradBench's timeout would).
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    };
    while alive(worker) {
        if killed.elapsed() > Duration::from_secs(10) {
            // Do not leave it running: this test started it.
            let _ = Command::new("kill").arg(worker.to_string()).status();
            panic!("the worker {worker} outlived its session by 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
}
