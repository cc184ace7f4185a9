//! `results.json`: the [`ResultsFile`] as pretty-printed JSON.

use std::io::{Read, Write};

use crate::results::{ResultsFile, SCHEMA_VERSION};

/// Write `file` as JSON.
pub fn write(file: &ResultsFile, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, file)?;
    writeln!(out)
}

/// Read a results file, refusing other schema versions with a message that names both.
pub fn read(input: impl Read) -> Result<ResultsFile, String> {
    let value: serde_json::Value =
        serde_json::from_reader(input).map_err(|e| format!("not a results file: {e}"))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "results schema version {v}; this dualbench reads version {SCHEMA_VERSION}"
            ))
        }
        None => return Err("not a results file: no `schema_version`".into()),
    }
    serde_json::from_value(value).map_err(|e| format!("invalid results file: {e}"))
}
