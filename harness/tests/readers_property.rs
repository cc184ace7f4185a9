//! Property tests of the readers of results files (`results.json`, `results.csv`) and of
//! claims files, over mutated valid inputs: truncations, byte changes, duplicated and dropped
//! lines or rows, values of the wrong type. Each reader must not panic, and must give either
//! the data the mutated file holds or an error that names the place (a line, a row, a field).

mod common;

use std::path::Path;

use dualbench::check::claims::ClaimsFile;
use dualbench::results::{self, ResultsFile};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// One way of damaging a file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Keep only the bytes before the index.
    Truncate(Index),
    /// Replace one byte.
    SetByte(Index, u8),
    /// Insert a copy of one line after it.
    DuplicateLine(Index),
    /// Remove one line.
    DropLine(Index),
    /// Swap one line with the next.
    SwapLines(Index),
    /// Replace a value (after `:` in JSON, `=` in TOML, a cell in CSV) with one of another type.
    WrongType(Index, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let values = prop::sample::select(vec![
        "\"text\"",
        "-1",
        "1e999",
        "1.5",
        "18446744073709551616",
        "true",
        "null",
        "[]",
        "{}",
        "\"NaN\"",
        "",
        "x",
    ]);
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::DropLine),
        any::<Index>().prop_map(Mutation::SwapLines),
        (any::<Index>(), values).prop_map(|(i, v)| Mutation::WrongType(i, v)),
    ]
}

/// `text` with `mutation` applied; `separator` is what precedes a value on a line (`:` in
/// JSON, `=` in TOML), or `,` for the cells of a CSV.
fn mutate(text: &[u8], mutation: &Mutation, separator: char) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = text
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    match mutation {
        Mutation::Truncate(i) => text[..i.index(text.len())].to_vec(),
        Mutation::SetByte(i, b) => {
            let mut out = text.to_vec();
            let k = i.index(out.len());
            out[k] = *b;
            out
        }
        Mutation::DuplicateLine(i) => {
            let k = i.index(lines.len());
            lines.insert(k, lines[k].clone());
            lines.concat()
        }
        Mutation::DropLine(i) => {
            lines.remove(i.index(lines.len()));
            lines.concat()
        }
        Mutation::SwapLines(i) => {
            let k = i.index(lines.len());
            if k + 1 < lines.len() {
                lines.swap(k, k + 1);
            }
            lines.concat()
        }
        Mutation::WrongType(i, value) => {
            let k = i.index(lines.len());
            let line = String::from_utf8_lossy(&lines[k]).to_string();
            let replaced = match separator {
                ',' => {
                    // One cell of a row (a cell holding quotes or commas is left alone).
                    let cells: Vec<&str> = line.trim_end().split(',').collect();
                    let c = i.index(cells.len());
                    let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
                    cells[c] = value.replace('"', "");
                    cells.join(",") + "\n"
                }
                _ => match line.split_once(separator) {
                    Some((key, rest)) => {
                        let comma = if rest.trim_end().ends_with(',') {
                            ","
                        } else {
                            ""
                        };
                        format!("{key}{separator} {value}{comma}\n")
                    }
                    None => line,
                },
            };
            lines[k] = replaced.into_bytes();
            lines.concat()
        }
    }
}

/// Whether an error message names a place in the file.
fn names_a_place(message: &str) -> bool {
    let numbered = |word: &str| {
        message
            .match_indices(word)
            .any(|(i, _)| message[i + word.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    numbered("line ")
        || numbered("lines ")
        || numbered("row ")
        || numbered("byte ")
        || message.contains("field `")
        || message.contains("`schema_version`")
        || message.contains("`rows`")
        || message.contains("`metadata`")
        || message.contains("top-level")
        || message.contains("is empty")
        || message.contains("holds a JSON")
        || message.contains("holds CSV text")
        || message.contains("holds JSON text")
        || message.contains("results schema version")
}

/// Whether two JSON values are the same data: numbers compared as numbers (`5` and `5.0`).
fn same_data(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_data(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_data(v, w)))
        }
        _ => a == b,
    }
}

/// A results file of the plot fixture's rows, the first with parameters and a non-finite
/// `naive_calls`.
fn fixture() -> ResultsFile {
    let mut rows = common::rows()[..12].to_vec();
    rows[0].params.insert("x0".into(), 0.5);
    rows[0].naive_calls = Some(f64::INFINITY);
    rows[1].detail = "a \"quoted\", detail".into();
    ResultsFile {
        schema_version: results::SCHEMA_VERSION,
        metadata: common::metadata(),
        rows,
    }
}

fn json_text(file: &ResultsFile) -> Vec<u8> {
    let mut text = Vec::new();
    results::json::write(file, &mut text).unwrap();
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// A mutated results.json reads as exactly what it says, or is refused naming the place.
    #[test]
    fn a_mutated_results_json_reads_as_written_or_names_the_place(m in mutation()) {
        let text = mutate(&json_text(&fixture()), &m, ':');
        match results::json::read(text.as_slice()) {
            Ok(file) => {
                let read = serde_json::to_value(&file).unwrap();
                let written: Value = serde_json::from_slice(&text).unwrap();
                prop_assert!(same_data(&read, &written), "{m:?}: read other data than written");
            }
            Err(e) => prop_assert!(names_a_place(&e), "{m:?}: {e}"),
        }
    }

    /// A mutated results.csv beside its intact results.json: the rows it reads are exactly the
    /// JSON's (a cut between two rows included), or it is refused naming the place.
    #[test]
    fn a_mutated_results_csv_reads_exactly_or_names_the_place(m in mutation()) {
        let dir = tempfile::tempdir().unwrap();
        let file = fixture();
        file.write_dir(dir.path()).unwrap();
        let csv = dir.path().join(results::CSV_FILE);
        let mutated = mutate(&std::fs::read(&csv).unwrap(), &m, ',');
        std::fs::write(&csv, &mutated).unwrap();
        match ResultsFile::read_rows(&csv) {
            Ok(rows) => prop_assert_eq!(
                serde_json::to_string(&rows).unwrap(),
                serde_json::to_string(&file.rows).unwrap(),
                "{:?}", m
            ),
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.contains("results.csv") && names_a_place(&e), "{m:?}: {e}");
            }
        }
    }

    /// A mutated CSV on its own reads as the rows its lines say (never a row cut short), or is
    /// refused naming the place.
    #[test]
    fn a_mutated_csv_alone_never_reads_a_row_cut_short(m in mutation()) {
        let mut text = Vec::new();
        let file = fixture();
        results::csv::write(&file.rows, &mut text).unwrap();
        let mutated = mutate(&text, &m, ',');
        match results::csv::read(mutated.as_slice()) {
            Ok(rows) => {
                // Every row read is one of the file's, or one changed in a single cell.
                prop_assert!(mutated.ends_with(b"\n"));
                prop_assert!(rows.len() <= file.rows.len() + 1, "{m:?}");
            }
            Err(e) => prop_assert!(names_a_place(&e), "{m:?}: {e}"),
        }
    }

    /// A mutated claims file parses with every one of its claim tables, or is refused naming
    /// the line or the claim.
    #[test]
    fn a_mutated_claims_file_parses_whole_or_names_the_place(m in mutation()) {
        let text = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../claims.toml"))
            .unwrap();
        let mutated = mutate(&text, &m, '=');
        let Ok(mutated) = String::from_utf8(mutated) else {
            return Ok(());
        };
        match ClaimsFile::parse(&mutated, "claims.toml") {
            Ok(file) => {
                let tables = mutated
                    .lines()
                    .filter(|l| l.trim_start().starts_with("[[claim]]"))
                    .count();
                prop_assert_eq!(file.claims.len(), tables, "{:?}", m);
                // The later checks must not panic either.
                let _ = file.check_counters();
                let _ = file.check_params();
            }
            Err(e) => {
                let e = e.in_file("claims.toml");
                prop_assert!(
                    e.contains("claims.toml")
                        && (names_a_place(&e)
                            || e.contains("has no [[claim]]")
                            || e.contains("claims.toml: settings: ")),
                    "{m:?}: {e}"
                );
            }
        }
    }
}
