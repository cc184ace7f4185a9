//! `results.json`: the [`ResultsFile`] as pretty-printed JSON.
//!
//! Reading is strict: every row must carry every field of its file's schema version (a
//! missing value is `null`, never an absent key), so that a file written by another tool, or
//! edited by hand, cannot make a column silently read as "not measured". Files of earlier
//! versions are upgraded first ([`upgrade`]): the fields their version did not have are added
//! as not measured, and nothing else changes.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use crate::results::{CaseResult, ResultsFile, SCHEMA_VERSION};

/// Write `file` as JSON.
pub fn write(file: &ResultsFile, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, file)?;
    writeln!(out)
}

/// Read a results file, refusing other schema versions with a message that names both, and
/// rows that lack a field with a message that names it.
pub fn read(input: impl Read) -> Result<ResultsFile, String> {
    let mut value: serde_json::Value =
        serde_json::from_reader(input).map_err(|e| format!("not a results file: {e}"))?;
    let version = check_version(value.get("schema_version"))?;
    upgrade(&mut value, version)?;
    let expected: BTreeSet<String> = CaseResult::field_names().into_iter().collect();
    let rows = value
        .get("rows")
        .and_then(serde_json::Value::as_array)
        .ok_or("invalid results file: no `rows` array")?;
    for (i, row) in rows.iter().enumerate() {
        let object = row
            .as_object()
            .ok_or_else(|| format!("invalid results file: row {} is not an object", i + 1))?;
        if let Some(missing) = expected.iter().find(|k| !object.contains_key(*k)) {
            return Err(format!(
                "invalid results file: row {} has no `{missing}` (every row carries every \
                 field of schema version {SCHEMA_VERSION}; a missing value is null)",
                i + 1
            ));
        }
        if let Some(extra) = object.keys().find(|k| !expected.contains(*k)) {
            return Err(format!(
                "invalid results file: row {} has the unknown field `{extra}`",
                i + 1
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| format!("invalid results file: {e}"))
}

/// A row field and the value it takes in a file that predates it.
type AddedField = (&'static str, fn() -> serde_json::Value);

/// The fields each version added to the rows, after version 1.
const ROW_FIELDS_ADDED: &[(u32, &[AddedField])] = &[
    (
        2,
        &[
            ("round_samples", || serde_json::json!([])),
            ("ci_level", || serde_json::Value::Null),
        ],
    ),
    (
        3,
        &[
            ("allocations", || serde_json::Value::Null),
            ("instructions", || serde_json::Value::Null),
        ],
    ),
    // Every case of an earlier version ran on one thread.
    (4, &[("threads", || serde_json::json!(1))]),
];

/// Bring a results file of schema `version` to [`SCHEMA_VERSION`]: add the row fields (and,
/// from version 1, the metadata fields `build.git_dirty` and `merged_from`) that later versions
/// introduced, as not measured (`threads` as 1: before version 4 every case ran on one thread),
/// without overwriting a field the file already has.
pub fn upgrade(value: &mut serde_json::Value, version: u32) -> Result<(), String> {
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    if version < 2 {
        let metadata = value
            .get_mut("metadata")
            .and_then(serde_json::Value::as_object_mut)
            .ok_or("invalid results file: no `metadata` object")?;
        metadata
            .entry("merged_from")
            .or_insert_with(|| serde_json::json!([]));
        if let Some(build) = metadata
            .get_mut("build")
            .and_then(serde_json::Value::as_object_mut)
        {
            build.entry("git_dirty").or_insert(serde_json::Value::Null);
        }
    }
    let rows = value
        .get_mut("rows")
        .and_then(serde_json::Value::as_array_mut)
        .ok_or("invalid results file: no `rows` array")?;
    for row in rows.iter_mut().filter_map(serde_json::Value::as_object_mut) {
        for (_, fields) in ROW_FIELDS_ADDED.iter().filter(|(v, _)| *v > version) {
            for (name, default) in *fields {
                row.entry(*name).or_insert_with(default);
            }
        }
    }
    value["schema_version"] = serde_json::json!(SCHEMA_VERSION);
    Ok(())
}

/// The file's schema version, if this dualbench reads it (1 to [`SCHEMA_VERSION`]).
pub fn check_version(version: Option<&serde_json::Value>) -> Result<u32, String> {
    match version.and_then(serde_json::Value::as_u64) {
        Some(v) if (1..=u64::from(SCHEMA_VERSION)).contains(&v) => Ok(v as u32),
        Some(v) => Err(format!(
            "results schema version {v}; this dualbench reads versions 1 to {SCHEMA_VERSION} \
             (a newer dualbench wrote it: read it with that one)"
        )),
        None => Err("not a results file: no `schema_version`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_versions_1_to_3_read_with_the_newer_fields_unmeasured() {
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

        text["schema_version"] = serde_json::json!(99);
        let e = read(text.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("schema version 99"), "{e}");
    }
}
