//! `results.csv`: one row per case: a `schema_version` column, then flat columns in the order
//! of [`CaseResult`]'s fields.
//!
//! Scalars are plain cells (a missing value is an empty cell); the variable-length fields
//! `params`, `counters` (JSON objects), `samples_ns` and `round_samples` (JSON arrays) are
//! JSON text in their cell, so the header is the same for every file and every row reads back
//! losslessly. Reading is strict: the header must be exactly this version's, so that a file
//! without a column that a reader needs is refused rather than read as "not measured".

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::results::{CaseResult, Status, SCHEMA_VERSION};

/// [`CaseResult`] with its variable-length fields as JSON text.
#[derive(Debug, Serialize, Deserialize)]
struct FlatRow {
    schema_version: u32,
    workload: String,
    size: Option<u64>,
    params: String,
    strategy: String,
    threads: u64,
    status: Status,
    detail: String,
    inputs: Option<u64>,
    outputs: Option<u64>,
    ops: Option<u64>,
    naive_calls: Option<f64>,
    input_hash: Option<String>,
    batch: Option<u64>,
    samples_ns: String,
    round_samples: String,
    median_ns: Option<f64>,
    min_ns: Option<f64>,
    max_ns: Option<f64>,
    ci_low_ns: Option<f64>,
    ci_high_ns: Option<f64>,
    ci_level: Option<f64>,
    forward_median_ns: Option<f64>,
    reverse_median_ns: Option<f64>,
    primal_median_ns: Option<f64>,
    overhead: Option<f64>,
    peak_heap_bytes: Option<u64>,
    allocated_bytes: Option<u64>,
    allocations: Option<u64>,
    peak_rss_bytes: Option<u64>,
    instructions: Option<u64>,
    counters: String,
    wall_s: f64,
    command: String,
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("maps and arrays of numbers serialise")
}

impl From<&CaseResult> for FlatRow {
    fn from(r: &CaseResult) -> Self {
        FlatRow {
            schema_version: SCHEMA_VERSION,
            workload: r.workload.clone(),
            size: r.size,
            params: to_json(&r.params),
            strategy: r.strategy.clone(),
            threads: r.threads,
            status: r.status,
            detail: r.detail.clone(),
            inputs: r.inputs,
            outputs: r.outputs,
            ops: r.ops,
            naive_calls: r.naive_calls,
            input_hash: r.input_hash.clone(),
            batch: r.batch,
            samples_ns: to_json(&r.samples_ns),
            round_samples: to_json(&r.round_samples),
            median_ns: r.median_ns,
            min_ns: r.min_ns,
            max_ns: r.max_ns,
            ci_low_ns: r.ci_low_ns,
            ci_high_ns: r.ci_high_ns,
            ci_level: r.ci_level,
            forward_median_ns: r.forward_median_ns,
            reverse_median_ns: r.reverse_median_ns,
            primal_median_ns: r.primal_median_ns,
            overhead: r.overhead,
            peak_heap_bytes: r.peak_heap_bytes,
            allocated_bytes: r.allocated_bytes,
            allocations: r.allocations,
            peak_rss_bytes: r.peak_rss_bytes,
            instructions: r.instructions,
            counters: to_json(&r.counters),
            wall_s: r.wall_s,
            command: r.command.clone(),
        }
    }
}

impl TryFrom<FlatRow> for CaseResult {
    type Error = String;

    fn try_from(r: FlatRow) -> Result<Self, String> {
        fn parse<T: for<'de> Deserialize<'de>>(column: &str, text: &str) -> Result<T, String> {
            serde_json::from_str(text).map_err(|e| format!("column `{column}`: {e}"))
        }
        Ok(CaseResult {
            params: parse::<BTreeMap<String, f64>>("params", &r.params)?,
            samples_ns: parse("samples_ns", &r.samples_ns)?,
            round_samples: parse("round_samples", &r.round_samples)?,
            counters: parse("counters", &r.counters)?,
            workload: r.workload,
            size: r.size,
            strategy: r.strategy,
            threads: r.threads,
            status: r.status,
            detail: r.detail,
            inputs: r.inputs,
            outputs: r.outputs,
            ops: r.ops,
            naive_calls: r.naive_calls,
            input_hash: r.input_hash,
            batch: r.batch,
            median_ns: r.median_ns,
            min_ns: r.min_ns,
            max_ns: r.max_ns,
            ci_low_ns: r.ci_low_ns,
            ci_high_ns: r.ci_high_ns,
            ci_level: r.ci_level,
            forward_median_ns: r.forward_median_ns,
            reverse_median_ns: r.reverse_median_ns,
            primal_median_ns: r.primal_median_ns,
            overhead: r.overhead,
            peak_heap_bytes: r.peak_heap_bytes,
            allocated_bytes: r.allocated_bytes,
            allocations: r.allocations,
            peak_rss_bytes: r.peak_rss_bytes,
            instructions: r.instructions,
            wall_s: r.wall_s,
            command: r.command,
        })
    }
}

/// The header of this version's CSV: `schema_version`, then the fields of [`CaseResult`].
pub fn columns() -> Vec<String> {
    std::iter::once("schema_version".to_string())
        .chain(CaseResult::field_names())
        .collect()
}

/// Write `rows` as CSV with a header line (the header alone when there are no rows).
pub fn write(rows: &[CaseResult], out: &mut dyn Write) -> std::io::Result<()> {
    let mut writer = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    writer.write_record(columns())?;
    for row in rows {
        writer.serialize(FlatRow::from(row))?;
    }
    writer.flush()
}

/// Read rows written by [`write()`]: the header must be exactly [`columns`], and every row of
/// schema version [`SCHEMA_VERSION`].
pub fn read(input: impl Read) -> Result<Vec<CaseResult>, String> {
    let mut reader = ::csv::Reader::from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("not a results CSV: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let expected = columns();
    if header.first().map(String::as_str) != Some("schema_version") {
        return Err(
            "not a results CSV of this dualbench: its first column is not `schema_version` \
             (files written before schema version 2 carry none; re-run the measurement)"
                .into(),
        );
    }
    if let Some(missing) = expected.iter().find(|c| !header.contains(c)) {
        return Err(format!(
            "results CSV lacks the column `{missing}`; schema version {SCHEMA_VERSION} has: {}",
            expected.join(", ")
        ));
    }
    if header != expected {
        return Err(format!(
            "results CSV columns are not those of schema version {SCHEMA_VERSION}: \
             expected {}, found {}",
            expected.join(", "),
            header.join(", ")
        ));
    }
    reader
        .deserialize::<FlatRow>()
        .enumerate()
        .map(|(i, row)| {
            let row = row.map_err(|e| format!("row {}: {e}", i + 1))?;
            if row.schema_version != SCHEMA_VERSION {
                return Err(format!(
                    "row {}: results schema version {}; this dualbench reads version \
                     {SCHEMA_VERSION}",
                    i + 1,
                    row.schema_version
                ));
            }
            CaseResult::try_from(row).map_err(|e| format!("row {}: {e}", i + 1))
        })
        .collect()
}
