//! Property tests of `dualbench gradbench`'s reader: a session of valid protocol messages, one
//! or more of them mutated — truncated, a byte flipped (into bytes that are not UTF-8 too), a
//! value replaced by one of another type or a huge number, a field dropped, a key duplicated,
//! a line duplicated or dropped — is answered line by line through the library
//! ([`Session::answer`] with an in-process evaluator under a small work cap). No line panics;
//! every line is answered with a well-formed response carrying its `id`, or skipped with a
//! reason; a line whose `id` a lenient JSON reader finds is always answered; and the session
//! goes on: a valid message after the mutated ones gets its exact answer.

use dualbench::gradbench::{Answer, InProcess, Response, Session};
use proptest::prelude::*;
use serde_json::{json, Value};
use strategies::StrategyKind;

/// The valid session every case mutates: every message kind and module, small inputs.
fn valid_session() -> Vec<Value> {
    let gmm = json!({
        "d": 2, "k": 1, "n": 2, "m": 0, "gamma": 1.0,
        "x": [[0.5, 0.1], [0.2, 0.3]], "alpha": [0.3], "mu": [[0.1, 0.2]], "q": [[0.2, 0.1]],
        "l": [[0.4]], "min_runs": 2,
    });
    let evaluate = |id: i64, module: &str, function: &str, input: Value| {
        json!({"id": id, "kind": "evaluate", "module": module, "function": function,
               "input": input})
    };
    let mut session = vec![json!({"id": 0, "kind": "start", "eval": "mutated"})];
    for (i, module) in ["hello", "lse", "llsq", "det", "ode", "gmm", "kmeans"]
        .iter()
        .enumerate()
    {
        session.push(json!({"id": 1 + i as i64, "kind": "define", "module": module}));
    }
    session.extend([
        evaluate(10, "hello", "double", json!(3.0)),
        evaluate(
            11,
            "lse",
            "gradient",
            json!({"x": [1.0, 2.0, 3.0], "min_runs": 2}),
        ),
        evaluate(12, "llsq", "primal", json!({"x": [0.5, -0.25], "n": 3})),
        evaluate(
            13,
            "det",
            "gradient",
            json!({"A": [1.0, 2.0, 3.0, 4.0], "ell": 2}),
        ),
        evaluate(
            14,
            "ode",
            "gradient",
            json!({"x": [1.0, 2.0], "s": 4, "min_seconds": 0}),
        ),
        evaluate(15, "gmm", "jacobian", gmm),
        evaluate(
            16,
            "kmeans",
            "cost",
            json!({"points": [[0.0], [3.0]], "centroids": [[1.0], [2.5]]}),
        ),
        evaluate(
            17,
            "kmeans",
            "dir",
            json!({"points": [[0.0, 1.0], [3.0, 1.0], [2.0, 2.0]],
                   "centroids": [[1.0, 0.5], [2.5, 1.25]], "min_runs": 2}),
        ),
        json!({"id": 18, "kind": "analysis", "of": 17, "valid": false, "error": "off"}),
        json!({"id": 19, "kind": "bye"}),
    ]);
    session
}

/// Every place in `value`: the path of object keys and array indices to it.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn places(value: &Value, path: &mut Vec<Step>, all: &mut Vec<Vec<Step>>) {
    all.push(path.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key.clone()));
                places(child, path, all);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                places(child, path, all);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// Replacements of another type, or huge and awkward numbers (as JSON text: some are beyond
/// what `serde_json::Value` holds).
const REPLACEMENTS: &[&str] = &[
    "null",
    "true",
    "\"x\"",
    "[]",
    "{}",
    "[[]]",
    "0",
    "-1",
    "0.001",
    "1e-300",
    "1e300",
    "1e400",
    "-1e400",
    "1000000000000",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "1.5",
    "\"\u{FFFF}\"",
];

/// How one line is mutated.
#[derive(Clone, Debug)]
enum Mutation {
    /// Cut after this fraction of its bytes.
    Truncate(f64),
    /// Set the byte at this fraction of the line to this value.
    Flip(f64, u8),
    /// Replace the value at the place of this index (mod the places) by a [`REPLACEMENTS`].
    Replace(usize, usize),
    /// Remove the value at the place of this index (a field or an array entry).
    Remove(usize),
    /// Give the first key of the object at the place of this index a second time.
    DuplicateKey(usize),
    /// The line twice.
    DuplicateLine,
    /// No line.
    Drop,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (0.0f64..1.0).prop_map(Mutation::Truncate),
        1 => (0.0f64..1.0, any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        1 => (0.0f64..1.0, 0x80u8..=0xFF).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        5 => (any::<usize>(), 0..REPLACEMENTS.len()).prop_map(|(p, r)| Mutation::Replace(p, r)),
        2 => any::<usize>().prop_map(Mutation::Remove),
        2 => any::<usize>().prop_map(Mutation::DuplicateKey),
        1 => Just(Mutation::DuplicateLine),
        1 => Just(Mutation::Drop),
    ]
}

/// The message mutated: the lines that replace it.
fn mutate(message: &Value, how: &Mutation) -> Vec<Vec<u8>> {
    let text = message.to_string();
    let mut all = Vec::new();
    places(message, &mut Vec::new(), &mut all);
    let len = text.len();
    let index_of = |fraction: f64| ((len as f64 * fraction) as usize).min(len - 1);
    match how {
        Mutation::Truncate(fraction) => vec![text.as_bytes()[..index_of(*fraction)].to_vec()],
        Mutation::Flip(fraction, byte) => {
            let mut bytes = text.into_bytes();
            let i = index_of(*fraction);
            bytes[i] = *byte;
            vec![bytes]
        }
        Mutation::Replace(place, replacement) => {
            // A marker string put in place, then swapped for the replacement's text.
            let mut copy = message.clone();
            *at(&mut copy, &all[place % all.len()]) = json!("\u{1}MARK\u{1}");
            let marked = copy.to_string();
            vec![marked
                .replacen("\"\\u0001MARK\\u0001\"", REPLACEMENTS[*replacement], 1)
                .into_bytes()]
        }
        Mutation::Remove(place) => {
            let path = &all[place % all.len()];
            let mut copy = message.clone();
            if let Some((last, parent)) = path.split_last() {
                match (at(&mut copy, parent), last) {
                    (Value::Object(map), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), Step::Index(i)) => {
                        items.remove(*i);
                    }
                    _ => unreachable!("a place's parent holds it"),
                }
            }
            vec![copy.to_string().into_bytes()]
        }
        Mutation::DuplicateKey(place) => {
            let objects: Vec<&Vec<Step>> = all
                .iter()
                .filter(|p| {
                    let mut copy = message.clone();
                    at(&mut copy, p).as_object().is_some_and(|m| !m.is_empty())
                })
                .collect();
            let path = objects[place % objects.len()];
            let mut copy = message.clone();
            let object = at(&mut copy, path).clone();
            let (key, value) = object.as_object().unwrap().iter().next().unwrap();
            let original = object.to_string();
            let doubled = format!("{{{}:{value},{}", json!(key), &original[1..]);
            *at(&mut copy, path) = json!("\u{1}MARK\u{1}");
            vec![copy
                .to_string()
                .replacen("\"\\u0001MARK\\u0001\"", &doubled, 1)
                .into_bytes()]
        }
        Mutation::DuplicateLine => vec![text.clone().into_bytes(), text.into_bytes()],
        Mutation::Drop => Vec::new(),
    }
}

/// The `id` a lenient reader finds on `line`: serde_json's own parse, an object with an
/// integer `id` (the last one, when there are several).
fn lenient_id(line: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(line).ok()?;
    value.as_object()?.get("id")?.as_i64()
}

/// Check one line's answer (see the module documentation); panics name the line.
fn check_answer(line: &[u8], answer: &Answer) {
    let shown = String::from_utf8_lossy(line);
    match answer {
        Answer::Respond { response, .. } => {
            let text = response.to_line();
            let value: Value = serde_json::from_str(&text).unwrap();
            let object = value.as_object().unwrap_or_else(|| panic!("{text}"));
            let id = object["id"].as_i64().unwrap_or_else(|| panic!("{text}"));
            if let Some(expected) = lenient_id(line) {
                // serde_json keeps the last of duplicated ids; such a line is skipped instead.
                assert_eq!(id, expected, "{shown} -> {text}");
            }
            match object.get("success") {
                Some(Value::Bool(true)) => {
                    if object.contains_key("timings") {
                        assert!(object.contains_key("output"), "{shown} -> {text}");
                        assert!(!object["timings"].as_array().unwrap().is_empty());
                    }
                }
                Some(Value::Bool(false)) => {
                    let error = object["error"].as_str().unwrap_or_else(|| panic!("{text}"));
                    assert!(!error.is_empty(), "{shown} -> {text}");
                    assert!(
                        !error.starts_with("the evaluation failed"),
                        "a panic was caught in the evaluation of {shown}: {error}"
                    );
                }
                None => assert!(
                    object.len() == 1 || object.contains_key("tool"),
                    "{shown} -> {text}"
                ),
                Some(other) => panic!("`success` is {other} in {text}"),
            }
        }
        Answer::Skip(why) => {
            assert!(why.contains("cannot be answered: "), "{why}");
            assert!(
                lenient_id(line).is_none() || why.contains("more than one `id`"),
                "a line with a readable id was skipped: {shown}: {why}"
            );
        }
    }
}

const STRATEGIES: &[StrategyKind] = &[
    StrategyKind::Tape,
    StrategyKind::Dualrev,
    StrategyKind::Forward,
    StrategyKind::Naive,
    StrategyKind::Sparse,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn mutated_sessions_are_answered_line_by_line_and_go_on(
        // Mostly the evaluate messages (lines 8 to 15), whose inputs have the most places.
        mutations in prop::collection::vec(
            (prop_oneof![3 => 8usize..16, 1 => any::<usize>()], mutation()),
            1..5,
        ),
        strategy in 0..STRATEGIES.len(),
    ) {
        let strategy = STRATEGIES[strategy];
        let valid = valid_session();
        let mut mutated = vec![None; valid.len()];
        for (which, how) in &mutations {
            mutated[which % valid.len()] = Some(how.clone());
        }
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for (message, how) in valid.iter().zip(&mutated) {
            match how {
                Some(how) => lines.extend(mutate(message, how)),
                None => lines.push(message.to_string().into_bytes()),
            }
        }
        let mut session = Session::new(strategy, InProcess { strategy, work_cap: 1e6 });
        for line in &lines {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let answer = session.answer(line);
            check_answer(line, &answer);
        }
        // The session goes on: a define and an evaluate after every mutated line.
        let probe = session.answer(br#"{"id":1000,"kind":"define","module":"lse"}"#);
        prop_assert_eq!(
            probe,
            Answer::Respond {
                response: Response::Status { id: 1000, success: true, error: None },
                note: None,
            }
        );
        let Answer::Respond { response, .. } = session.answer(
            br#"{"id":1001,"kind":"evaluate","module":"lse","function":"gradient","input":{"x":[0,0]}}"#,
        ) else {
            panic!("the probe evaluate was skipped");
        };
        prop_assert_eq!(
            serde_json::from_str::<Value>(&response.to_line()).unwrap()["output"].clone(),
            json!([0.5, 0.5])
        );
    }
}

/// Unmutated, the valid session is answered in full under every strategy of the property
/// test: every evaluate succeeds, and kmeans' `dir` is the closed form (each centroid minus the
/// mean of its points: (0, 1) is nearest (1, 0.5); (3, 1) and (2, 2) nearest (2.5, 1.25)).
#[test]
fn the_valid_session_is_answered_in_full() {
    for &strategy in STRATEGIES {
        let mut session = Session::new(
            strategy,
            InProcess {
                strategy,
                work_cap: 1e6,
            },
        );
        for message in valid_session() {
            let Answer::Respond { response, .. } = session.answer(message.to_string().as_bytes())
            else {
                panic!("{message} was skipped");
            };
            let answer: Value = serde_json::from_str(&response.to_line()).unwrap();
            if message["kind"] == "evaluate" {
                assert_eq!(answer["success"], true, "{}: {answer}", strategy.name());
            }
            if message["function"] == "dir" {
                assert_eq!(answer["output"], json!([[1.0, -0.5], [0.0, -0.25]]));
            }
        }
    }
}

#[test]
fn every_kind_of_mutation_is_exercised_on_every_message() {
    // The mutations themselves are sound: each gives the lines it says, on every message.
    for message in valid_session() {
        let text = message.to_string();
        assert_eq!(mutate(&message, &Mutation::Drop).len(), 0);
        assert_eq!(mutate(&message, &Mutation::DuplicateLine).len(), 2);
        assert!(mutate(&message, &Mutation::Truncate(0.5))[0].len() < text.len());
        let flipped = &mutate(&message, &Mutation::Flip(0.5, 0xFF))[0];
        assert!(std::str::from_utf8(flipped).is_err());
        let doubled =
            String::from_utf8(mutate(&message, &Mutation::DuplicateKey(0)).remove(0)).unwrap();
        assert!(doubled.matches("\"id\"").count() == 2, "{doubled}");
        let replaced =
            String::from_utf8(mutate(&message, &Mutation::Replace(0, 11)).remove(0)).unwrap();
        assert_eq!(replaced, "1e400");
    }
}
