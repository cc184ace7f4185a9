//! `results.json`: the [`ResultsFile`] as pretty-printed JSON.
//!
//! Reading is strict, and every refusal names the place: the top level must be one object with
//! exactly `schema_version`, `metadata` and `rows`; every row must carry every field of its
//! file's schema version (a missing value is `null`, never an absent key) and no other, so
//! that a file written by another tool, or edited by hand, cannot make a column silently read
//! as "not measured"; a value of the wrong type is named by its row, its case and its field,
//! with the type that would be valid; and the rows must pass [`validate::check_rows`] (each
//! case once). Files of earlier versions are upgraded first ([`upgrade`]): the fields their
//! version did not have are added as not measured, and nothing else changes; a row of a
//! workload that has gained a parameter since gets it at its default
//! ([`validate::add_default_params`]). Text that is not
//! a results file at all (empty, binary, CSV, JSON of another shape, cut short) is named as
//! what it is.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::results::{validate, CaseResult, Metadata, ResultsFile, SCHEMA_VERSION};
use crate::strict_json;
use crate::suggest::{did_you_mean, plain_types};

/// Write `file` as JSON.
pub fn write(file: &ResultsFile, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, file)?;
    writeln!(out)
}

/// The top-level keys of a results file.
const TOP_LEVEL: [&str; 3] = ["schema_version", "metadata", "rows"];

/// What a results file looks like, for messages about files that are not one.
const SHAPE: &str = "a results.json is one object: {\"schema_version\": N, \"metadata\": {..}, \
                     \"rows\": [..]}";

/// Read a results file. Errors name the place (row, case, field) and what would be valid, but
/// not the file, which the caller knows.
pub fn read(mut input: impl Read) -> Result<ResultsFile, String> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    let mut value = parse(&bytes)?;
    let object = value.as_object().ok_or_else(|| {
        format!(
            "holds a JSON {}, not a results file; {SHAPE}",
            strict_json::kind(&value)
        )
    })?;
    if let Some(key) = object.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(format!(
            "has the unknown top-level key `{key}`{}; {SHAPE}",
            did_you_mean(key, TOP_LEVEL)
        ));
    }
    let version = check_version(object.get("schema_version"))?;
    check_fields_of_version(&value, version)?;
    upgrade(&mut value, version);
    let Value::Object(mut object) = value else {
        unreachable!("checked to be an object above")
    };
    let metadata = match object.remove("metadata") {
        Some(m @ Value::Object(_)) => m,
        Some(other) => {
            return Err(format!(
                "`metadata` is a JSON {}; expected an object (build, machine, date, command, \
                 options, ci_level, merged_from)",
                strict_json::kind(&other)
            ))
        }
        None => return Err("has no `metadata` object; ".to_string() + SHAPE),
    };
    let rows = match object.remove("rows") {
        Some(Value::Array(rows)) => rows,
        Some(other) => {
            return Err(format!(
                "`rows` is a JSON {}; expected an array of rows (objects)",
                strict_json::kind(&other)
            ))
        }
        None => return Err("has no `rows` array; ".to_string() + SHAPE),
    };
    let expected: BTreeSet<String> = CaseResult::field_names().into_iter().collect();
    let mut rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| read_row(i, row, &expected))
        .collect::<Result<Vec<_>, String>>()?;
    validate::add_default_params(&mut rows);
    validate::check_rows(&rows, |i| format!("row {}", i + 1))?;
    let metadata = read_metadata(metadata)?;
    Ok(ResultsFile {
        schema_version: SCHEMA_VERSION,
        metadata,
        rows,
    })
}

/// Refuse row fields that a file's `version` did not have: a file that says version 3 and has
/// `threads` has the wrong version or the wrong rows, and reading either way would be a guess.
fn check_fields_of_version(value: &Value, version: u32) -> Result<(), String> {
    let rows = value.get("rows").and_then(Value::as_array);
    for (i, row) in rows.into_iter().flatten().enumerate() {
        for (added, fields) in ROW_FIELDS_ADDED.iter().filter(|(v, _)| *v > version) {
            if let Some((name, _)) = fields.iter().find(|(name, _)| row.get(*name).is_some()) {
                return Err(format!(
                    "row {}{} has `{name}`, a field of schema version {added} and later, but \
                     `schema_version` says {version}: the version or the row is wrong",
                    i + 1,
                    label_of(row)
                ));
            }
        }
    }
    Ok(())
}

/// Parse `bytes` as JSON, naming what they are when they are not: empty, binary, CSV text, or
/// JSON cut short or broken at a line and column (a key given twice in one object included).
fn parse(bytes: &[u8]) -> Result<Value, String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Err(format!(
                "is not a text file (invalid UTF-8 at byte {}): not a results.json",
                e.valid_up_to()
            ))
        }
    };
    let start = text.trim_start();
    if start.is_empty() {
        return Err(format!(
            "is empty; {SHAPE} (an empty file was cut short or never written: regenerate it \
             with `dualbench run` or `dualbench merge`)"
        ));
    }
    if start.starts_with("schema_version,") {
        return Err(
            "holds CSV text (a results.csv), not JSON: give the results.json beside \
                    it, or the directory that holds both"
                .into(),
        );
    }
    if let Some(c) = start.chars().next().filter(|c| c.is_control()) {
        return Err(format!(
            "is not a text file (control character {:?} at its start): not a results.json",
            c
        ));
    }
    strict_json::parse(text, "the file").map_err(|e| {
        let place = format!("line {}, column {}", e.line(), e.column());
        if e.is_eof() {
            format!(
                "ends early, at {place}: the file is cut short (was it truncated?); regenerate \
                 it with `dualbench run` or `dualbench merge`"
            )
        } else {
            // serde_json appends its own " at line L column C"; the place is said once, first.
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            format!("is not valid JSON at {place}: {message}")
        }
    })
}

/// Deserialize `value` as `T`, naming the path of a value of the wrong type (`options.rounds`,
/// `samples_ns[2]`) and the type that serde expected, in words.
fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        (path, plain_types(&e.inner().to_string()))
    })
}

/// The metadata, with every field of this version present and no other.
fn read_metadata(value: Value) -> Result<Metadata, String> {
    let metadata: Metadata =
        deserialize(value.clone()).map_err(|(path, message)| match path.as_str() {
            "." => format!("metadata: {message}"),
            _ => format!("metadata, field `{path}`: {message}"),
        })?;
    let canonical = serde_json::to_value(&metadata).expect("metadata serialises");
    same_keys(&value, &canonical, "metadata")?;
    Ok(metadata)
}

/// Whether the objects of `given` have exactly the keys of `canonical` (the same value as this
/// dualbench writes it), recursively: an unknown key, or an optional one left out, is named by
/// its path.
fn same_keys(given: &Value, canonical: &Value, path: &str) -> Result<(), String> {
    match (given, canonical) {
        (Value::Object(g), Value::Object(c)) => {
            if let Some(key) = g.keys().find(|k| !c.contains_key(*k)) {
                return Err(format!(
                    "{path} has the unknown field `{key}`{}; its fields: {}",
                    did_you_mean(key, c.keys().map(String::as_str)),
                    keys_of(c)
                ));
            }
            if let Some(key) = c.keys().find(|k| !g.contains_key(*k)) {
                return Err(format!(
                    "{path} has no `{key}` (every field is present; a missing value is null)"
                ));
            }
            g.iter()
                .try_for_each(|(k, v)| same_keys(v, &c[k], &format!("{path}.{k}")))
        }
        (Value::Array(g), Value::Array(c)) => g
            .iter()
            .zip(c)
            .enumerate()
            .try_for_each(|(i, (g, c))| same_keys(g, c, &format!("{path}[{i}]"))),
        _ => Ok(()),
    }
}

fn keys_of(object: &Map<String, Value>) -> String {
    object.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// Row `i` of the file: an object with exactly the fields `expected`, each of its type.
fn read_row(i: usize, row: Value, expected: &BTreeSet<String>) -> Result<CaseResult, String> {
    let place = format!("row {}{}", i + 1, label_of(&row));
    let object = row.as_object().ok_or_else(|| {
        format!(
            "{place} is a JSON {}; expected an object with the fields of a case",
            strict_json::kind(&row)
        )
    })?;
    if let Some(missing) = expected.iter().find(|k| !object.contains_key(*k)) {
        return Err(format!(
            "{place} has no `{missing}` (every row carries every field of schema version \
             {SCHEMA_VERSION}; a missing value is null)"
        ));
    }
    if let Some(extra) = object.keys().find(|k| !expected.contains(*k)) {
        return Err(format!(
            "{place} has the unknown field `{extra}`{}; the fields of a row: {}",
            did_you_mean(extra, expected.iter().map(String::as_str)),
            CaseResult::field_names().join(", ")
        ));
    }
    deserialize(row).map_err(|(path, message)| {
        let field = path.split(['.', '[']).next().unwrap_or(&path);
        let message = message
            .split_once(", expected")
            .map_or(message.as_str(), |(m, _)| m);
        format!(
            "{place}, field `{path}`: {message}; expected {}",
            expected_type(field)
        )
    })
}

/// ` (fmult / size 10 / tape)` from whatever identity fields a row's JSON holds, or nothing.
fn label_of(row: &Value) -> String {
    let text = |key: &str| row.get(key).and_then(Value::as_str);
    let (Some(workload), Some(strategy)) = (text("workload"), text("strategy")) else {
        return String::new();
    };
    let size = match row.get("size") {
        Some(Value::Number(n)) => format!(" / size {n}"),
        _ => String::new(),
    };
    let threads = match row.get("threads").and_then(Value::as_u64) {
        Some(t) if t != 1 => format!("@{t}t"),
        _ => String::new(),
    };
    format!(" ({workload}{size} / {strategy}{threads})")
}

/// The JSON type a field of a row takes, in words.
pub fn expected_type(field: &str) -> &'static str {
    match field {
        "workload" | "strategy" | "detail" | "command" => "a string",
        "input_hash" => "a string or null",
        "threads" => "a whole number of at least 1",
        "size" | "inputs" | "outputs" | "ops" | "batch" | "peak_heap_bytes" | "allocated_bytes"
        | "allocations" | "peak_rss_bytes" | "instructions" => {
            "a whole number from 0 to 2^64 - 1, or null"
        }
        "params" => "an object of parameter names and numbers, e.g. {\"x0\": 0.5}",
        "status" => "one of \"ok\", \"timeout\", \"crashed\", \"oom\", \"skipped\"",
        "naive_calls" => "a number, \"inf\", \"-inf\", \"NaN\", or null",
        "samples_ns" => "an array of numbers",
        "round_samples" => "an array of whole numbers",
        "counters" => "an object of counter names and whole numbers, e.g. {\"edges\": 12}",
        "wall_s" => "a number",
        "median_ns" | "min_ns" | "max_ns" | "ci_low_ns" | "ci_high_ns" | "ci_level"
        | "forward_median_ns" | "reverse_median_ns" | "cold_ns" | "primal_median_ns"
        | "overhead" => "a number or null",
        _ => "the type of its field (docs/results.md)",
    }
}

/// A row field and the value it takes in a file that predates it.
type AddedField = (&'static str, fn() -> Value);

/// The fields each version added to the rows, after version 1.
const ROW_FIELDS_ADDED: &[(u32, &[AddedField])] = &[
    (
        2,
        &[
            ("round_samples", || serde_json::json!([])),
            ("ci_level", || Value::Null),
        ],
    ),
    (
        3,
        &[
            ("allocations", || Value::Null),
            ("instructions", || Value::Null),
        ],
    ),
    // Every case of an earlier version ran on one thread.
    (4, &[("threads", || serde_json::json!(1))]),
    (5, &[("cold_ns", || Value::Null)]),
];

/// The row fields that versions after `version` added, each with the value it takes in a row
/// of `version` (not measured; `threads` 1), in the order the versions added them.
pub fn fields_added_after(version: u32) -> Vec<(&'static str, Value)> {
    ROW_FIELDS_ADDED
        .iter()
        .filter(|(v, _)| *v > version)
        .flat_map(|(_, fields)| fields.iter().map(|(name, default)| (*name, default())))
        .collect()
}

/// Bring a results file of schema `version` to [`SCHEMA_VERSION`]: add the row fields (and,
/// from version 1, the metadata fields `build.git_dirty` and `merged_from`) that later versions
/// introduced, as not measured (`threads` as 1: before version 4 every case ran on one thread;
/// `cold_ns` as null: before version 5 the first gradient was not timed),
/// without overwriting a field the file already has. Parts of the wrong shape are left as they
/// are, for [`read`] to name.
pub fn upgrade(value: &mut Value, version: u32) {
    if version >= SCHEMA_VERSION {
        return;
    }
    if version < 2 {
        if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata
                .entry("merged_from")
                .or_insert_with(|| serde_json::json!([]));
            if let Some(build) = metadata.get_mut("build").and_then(Value::as_object_mut) {
                build.entry("git_dirty").or_insert(Value::Null);
            }
        }
    }
    if let Some(rows) = value.get_mut("rows").and_then(Value::as_array_mut) {
        let added = fields_added_after(version);
        for row in rows.iter_mut().filter_map(Value::as_object_mut) {
            for (name, default) in &added {
                row.entry(*name).or_insert_with(|| default.clone());
            }
        }
    }
    if let Some(object) = value.as_object_mut() {
        object.insert("schema_version".into(), serde_json::json!(SCHEMA_VERSION));
    }
}

/// The file's schema version, if this dualbench reads it (1 to [`SCHEMA_VERSION`]).
pub fn check_version(version: Option<&Value>) -> Result<u32, String> {
    let valid = format!(
        "valid versions are 1 to {SCHEMA_VERSION} (this dualbench writes {SCHEMA_VERSION})"
    );
    match version {
        None => Err(format!("not a results file: no `schema_version`; {SHAPE}")),
        Some(v) => match v.as_u64() {
            Some(v) if (1..=u64::from(SCHEMA_VERSION)).contains(&v) => Ok(v as u32),
            Some(0) => Err(format!(
                "`schema_version` 0 is not a version of the results schema: {valid}"
            )),
            Some(v) => Err(format!(
                "results schema version {v}; this dualbench reads versions 1 to \
                 {SCHEMA_VERSION}: a newer dualbench wrote it, read it with that one"
            )),
            None => Err(format!(
                "`schema_version` is {v}, not a whole number: {valid}"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_versions_1_to_4_read_with_the_newer_fields_unmeasured() {
        use crate::results::fixture::{fmult_row, metadata};
        let file = ResultsFile {
            schema_version: SCHEMA_VERSION,
            metadata: metadata(),
            rows: vec![fmult_row("tape")],
        };
        let mut text = serde_json::to_value(&file).unwrap();
        for row in text["rows"].as_array_mut().unwrap() {
            let row = row.as_object_mut().unwrap();
            for field in [
                "cold_ns",
                "threads",
                "allocations",
                "instructions",
                "round_samples",
                "ci_level",
            ] {
                row.remove(field);
            }
        }
        text["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("merged_from");
        text["schema_version"] = serde_json::json!(1);
        let upgraded = read(text.to_string().as_bytes()).unwrap();
        assert_eq!(upgraded.schema_version, SCHEMA_VERSION);
        assert_eq!(upgraded.rows[0].allocations, None);
        assert_eq!(upgraded.rows[0].threads, 1);
        assert!(upgraded.rows[0].round_samples.is_empty());
        assert!(upgraded.metadata.merged_from.is_empty());

        text["schema_version"] = serde_json::json!(2);
        let e = read(text.to_string().as_bytes()).unwrap_err();
        assert!(
            e.contains("has no `ci_level`"),
            "a version 2 row must have the fields version 2 added: {e}"
        );

        text["schema_version"] = serde_json::json!(3);
        text["metadata"]["merged_from"] = serde_json::json!([]);
        for row in text["rows"].as_array_mut().unwrap() {
            let row = row.as_object_mut().unwrap();
            row.insert("round_samples".into(), serde_json::json!([]));
            row.insert("ci_level".into(), serde_json::Value::Null);
            row.insert("allocations".into(), serde_json::json!(7));
            row.insert("instructions".into(), serde_json::Value::Null);
        }
        let upgraded = read(text.to_string().as_bytes()).unwrap();
        assert_eq!(
            upgraded.rows[0].threads, 1,
            "a version 3 case ran on one thread"
        );
        assert_eq!(upgraded.rows[0].allocations, Some(7), "kept as measured");
        text["schema_version"] = serde_json::json!(4);
        let e = read(text.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("has no `threads`"), "{e}");

        // Version 4 (the committed results): every field but `cold_ns`, read as not measured.
        for row in text["rows"].as_array_mut().unwrap() {
            row["threads"] = serde_json::json!(1);
        }
        let upgraded = read(text.to_string().as_bytes()).unwrap();
        assert_eq!(upgraded.rows[0].cold_ns, None);
        assert_eq!(upgraded.rows[0].allocations, Some(7));
        text["schema_version"] = serde_json::json!(5);
        let e = read(text.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("has no `cold_ns`"), "{e}");
        // A version 4 file that has `cold_ns` has the wrong version or the wrong rows.
        text["schema_version"] = serde_json::json!(4);
        text["rows"][0]["cold_ns"] = serde_json::json!(1500.0);
        let e = read(text.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("`cold_ns`, a field of schema version 5"), "{e}");
        text["schema_version"] = serde_json::json!(5);
        assert_eq!(
            read(text.to_string().as_bytes()).unwrap().rows[0].cold_ns,
            Some(1500.0)
        );

        text["schema_version"] = serde_json::json!(99);
        let e = read(text.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("schema version 99"), "{e}");
    }
}
