//! `results.csv`: one row per case, flat columns in the order of [`CaseResult`]'s fields.
//!
//! Scalars are plain cells (a missing value is an empty cell); the variable-length fields
//! `params`, `counters` (JSON objects) and `samples_ns` (a JSON array) are JSON text in their
//! cell, so the header is the same for every file and every row reads back losslessly.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::results::{CaseResult, Status};

/// [`CaseResult`] with its variable-length fields as JSON text.
#[derive(Debug, Serialize, Deserialize)]
struct FlatRow {
    workload: String,
    size: Option<u64>,
    params: String,
    strategy: String,
    status: Status,
    detail: String,
    inputs: Option<u64>,
    outputs: Option<u64>,
    ops: Option<u64>,
    naive_calls: Option<f64>,
    input_hash: Option<String>,
    batch: Option<u64>,
    samples_ns: String,
    median_ns: Option<f64>,
    min_ns: Option<f64>,
    max_ns: Option<f64>,
    ci_low_ns: Option<f64>,
    ci_high_ns: Option<f64>,
    forward_median_ns: Option<f64>,
    reverse_median_ns: Option<f64>,
    primal_median_ns: Option<f64>,
    overhead: Option<f64>,
    peak_heap_bytes: Option<u64>,
    allocated_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
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
            workload: r.workload.clone(),
            size: r.size,
            params: to_json(&r.params),
            strategy: r.strategy.clone(),
            status: r.status,
            detail: r.detail.clone(),
            inputs: r.inputs,
            outputs: r.outputs,
            ops: r.ops,
            naive_calls: r.naive_calls,
            input_hash: r.input_hash.clone(),
            batch: r.batch,
            samples_ns: to_json(&r.samples_ns),
            median_ns: r.median_ns,
            min_ns: r.min_ns,
            max_ns: r.max_ns,
            ci_low_ns: r.ci_low_ns,
            ci_high_ns: r.ci_high_ns,
            forward_median_ns: r.forward_median_ns,
            reverse_median_ns: r.reverse_median_ns,
            primal_median_ns: r.primal_median_ns,
            overhead: r.overhead,
            peak_heap_bytes: r.peak_heap_bytes,
            allocated_bytes: r.allocated_bytes,
            peak_rss_bytes: r.peak_rss_bytes,
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
            counters: parse("counters", &r.counters)?,
            workload: r.workload,
            size: r.size,
            strategy: r.strategy,
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
            forward_median_ns: r.forward_median_ns,
            reverse_median_ns: r.reverse_median_ns,
            primal_median_ns: r.primal_median_ns,
            overhead: r.overhead,
            peak_heap_bytes: r.peak_heap_bytes,
            allocated_bytes: r.allocated_bytes,
            peak_rss_bytes: r.peak_rss_bytes,
            wall_s: r.wall_s,
            command: r.command,
        })
    }
}

/// Write `rows` as CSV with a header line (no line at all when there are no rows).
pub fn write(rows: &[CaseResult], out: &mut dyn Write) -> std::io::Result<()> {
    let mut writer = ::csv::Writer::from_writer(out);
    for row in rows {
        writer.serialize(FlatRow::from(row))?;
    }
    writer.flush()
}

/// Read rows written by [`write()`].
pub fn read(input: impl Read) -> Result<Vec<CaseResult>, String> {
    let mut reader = ::csv::Reader::from_reader(input);
    reader
        .deserialize::<FlatRow>()
        .enumerate()
        .map(|(i, row)| {
            let row = row.map_err(|e| format!("row {}: {e}", i + 1))?;
            CaseResult::try_from(row).map_err(|e| format!("row {}: {e}", i + 1))
        })
        .collect()
}
