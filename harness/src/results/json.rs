//! `results.json`: the [`ResultsFile`] as pretty-printed JSON.
//!
//! Reading is strict: the file must carry [`SCHEMA_VERSION`] and every row every field of
//! [`CaseResult`] (a missing value is `null`, never an absent key), so that a file written by
//! another tool, or edited by hand, cannot make a column silently read as "not measured".

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
    let value: serde_json::Value =
        serde_json::from_reader(input).map_err(|e| format!("not a results file: {e}"))?;
    check_version(value.get("schema_version"))?;
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

/// Accept exactly [`SCHEMA_VERSION`].
pub fn check_version(version: Option<&serde_json::Value>) -> Result<(), String> {
    match version.and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => Ok(()),
        Some(v) => Err(format!(
            "results schema version {v}; this dualbench reads version {SCHEMA_VERSION} \
             (re-run the measurement with this dualbench)"
        )),
        None => Err("not a results file: no `schema_version`".into()),
    }
}
