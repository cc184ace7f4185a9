//! `results.csv`: one row per case: a `schema_version` column, then flat columns in the order
//! of [`CaseResult`]'s fields.
//!
//! Scalars are plain cells (a missing value is an empty cell); the variable-length fields
//! `params`, `counters` (JSON objects), `samples_ns` and `round_samples` (JSON arrays) are
//! JSON text in their cell, so the header is the same for every file and every row reads back
//! losslessly. Reading is strict: the header must be exactly this version's, so that a file
//! without a column that a reader needs is refused rather than read as "not measured"; and the
//! file must end with a line break, so that a file cut in the middle of a row is refused rather
//! than read a row short. A cut exactly between two rows leaves a well-formed CSV: only the
//! `results.json` written with it can tell, and [`crate::results::ResultsFile::read_rows`]
//! compares the two when both are there.
//!
//! Files of earlier versions (2 and later: version 1 had no `schema_version` column) are read
//! too, as `results.json` files are ([`json::upgrade`]): their header must be exactly their
//! version's ([`columns_of`]), and the fields they predate are read as not measured.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::results::{json, validate, CaseResult, Status, SCHEMA_VERSION};
use crate::suggest::did_you_mean;

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
    cold_ns: Option<f64>,
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
            cold_ns: r.cold_ns,
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
            serde_json::from_str(text).map_err(|e| {
                format!(
                    "column `{column}`: `{text}` is not valid ({e}); expected {}",
                    cell_type(column)
                )
            })
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
            cold_ns: r.cold_ns,
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

/// The oldest schema version whose CSV this dualbench reads: version 1 had no `schema_version`
/// column.
pub const OLDEST_CSV_VERSION: u32 = 2;

/// The header of a CSV of schema `version` ([`OLDEST_CSV_VERSION`] to [`SCHEMA_VERSION`]):
/// [`columns`] without the fields that later versions added (a version adds fields, it never
/// moves one).
pub fn columns_of(version: u32) -> Vec<String> {
    let added = json::fields_added_after(version);
    columns()
        .into_iter()
        .filter(|c| !added.iter().any(|(name, _)| name == c))
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

/// Read rows written by [`write()`], of this version or an earlier one: the header must be
/// exactly the [`columns_of`] one version, every row of that schema version with a valid value
/// in every cell, every line ended by a line break (so that a file cut in the middle of a row is
/// refused, not read short), and the rows must pass [`validate::check_rows`]. The fields an
/// earlier version lacks are read as not measured (`threads` as 1), as in
/// [`json::upgrade`], and the parameters a row's workload gained since at their defaults
/// ([`validate::add_default_params`]). Errors name the line, the case and the column, and what the cell may
/// hold; not the file, which the caller knows.
pub fn read(mut input: impl Read) -> Result<Vec<CaseResult>, String> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(format!(
            "is empty; a results CSV starts with the header line `{}`",
            columns().join(",")
        ));
    };
    if matches!(bytes[start], b'{' | b'[') {
        return Err(
            "holds JSON text, not CSV: read it as results.json (or give the directory that \
             holds it)"
                .into(),
        );
    }
    if bytes.last() != Some(&b'\n') {
        let line = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        return Err(format!(
            "ends in the middle of line {line}, without a line break: the file is cut short \
             (was it truncated?); every line of a results CSV ends with one. Regenerate it, or \
             read the results.json beside it"
        ));
    }
    let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
    let header = reader
        .headers()
        .map_err(|e| format!("line 1, the header: {}", record_error(&e, &[])))?
        .clone();
    let version = header_version(&header.iter().map(str::to_string).collect::<Vec<_>>())?;
    let current = ::csv::StringRecord::from(columns());
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format!("line {line}: {}", record_error(&e, &columns()))
        })?;
        let line = record.position().map_or(0, ::csv::Position::line);
        let place = format!("line {line}{}", label_of(&record));
        let record = upgrade_record(&record, &header, version);
        let row = read_record(&record, &current, version).map_err(|e| format!("{place}, {e}"))?;
        rows.push(row);
        lines.push(line);
    }
    validate::add_default_params(&mut rows);
    validate::check_rows(&rows, |i| format!("line {}", lines[i]))?;
    Ok(rows)
}

/// The schema version whose [`columns_of`] `header` is exactly; else what is wrong with it,
/// against this version's columns.
fn header_version(header: &[String]) -> Result<u32, String> {
    if let Some(version) =
        (OLDEST_CSV_VERSION..=SCHEMA_VERSION).find(|&v| header == columns_of(v).as_slice())
    {
        return Ok(version);
    }
    let expected = columns();
    if header.first().map(String::as_str) != Some("schema_version") {
        return Err(format!(
            "line 1: not a results CSV of this dualbench: its first column is `{}`, not \
             `schema_version` (files written before schema version 2 carry none: read such a \
             run through its results.json, or re-run the measurement)",
            header.first().map_or("", String::as_str)
        ));
    }
    if let Some(missing) = expected.iter().find(|c| !header.contains(c)) {
        return Err(format!(
            "line 1: the header lacks the column `{missing}`; schema version {SCHEMA_VERSION} \
             has: {}",
            expected.join(", ")
        ));
    }
    if let Some(unknown) = header.iter().find(|c| !expected.contains(c)) {
        return Err(format!(
            "line 1: the header has the unknown column `{unknown}`{}; schema version \
             {SCHEMA_VERSION} has: {}",
            did_you_mean(unknown, expected.iter().map(String::as_str)),
            expected.join(", ")
        ));
    }
    Err(format!(
        "line 1: the columns are not those of schema version {SCHEMA_VERSION} in their order: \
         expected {}, found {}",
        expected.join(", "),
        header.join(", ")
    ))
}

/// `record`, a line under `header` (the columns of `version`), as a line of this version's
/// [`columns`]: the fields `version` predates get the cell of their value in such a file (an
/// empty cell for not measured).
fn upgrade_record(
    record: &::csv::StringRecord,
    header: &::csv::StringRecord,
    version: u32,
) -> ::csv::StringRecord {
    if version == SCHEMA_VERSION {
        return record.clone();
    }
    let added = json::fields_added_after(version);
    let mut upgraded: ::csv::StringRecord = columns()
        .iter()
        .map(|column| match header.iter().position(|h| h == column) {
            Some(i) => record.get(i).unwrap_or_default().to_string(),
            None => added.iter().find(|(name, _)| name == column).map_or_else(
                String::new,
                |(_, value)| match value {
                    Value::Null => String::new(),
                    other => other.to_string(),
                },
            ),
        })
        .collect();
    upgraded.set_position(record.position().cloned());
    upgraded
}

/// ` (fmult / tape)` from a record's workload and strategy cells, when it has them.
fn label_of(record: &::csv::StringRecord) -> String {
    match (record.get(1), record.get(4)) {
        (Some(workload), Some(strategy)) if !workload.is_empty() => {
            format!(" ({workload} / {strategy})")
        }
        _ => String::new(),
    }
}

/// A record (under this version's `header`) as a row: every cell of its column's type, and its
/// schema version `version`, its header's.
fn read_record(
    record: &::csv::StringRecord,
    header: &::csv::StringRecord,
    version: u32,
) -> Result<CaseResult, String> {
    let row: FlatRow = record.deserialize(Some(header)).map_err(|e| {
        let column = match e.kind() {
            ::csv::ErrorKind::Deserialize { err, .. } => err.field(),
            _ => None,
        };
        match column.and_then(|c| header.get(c as usize).map(|name| (c, name))) {
            Some((c, name)) => format!(
                "column `{name}`: `{}` is not valid ({}); expected {}",
                record.get(c as usize).unwrap_or(""),
                record_error(&e, &[]),
                cell_type(name)
            ),
            None => record_error(&e, &[]),
        }
    })?;
    if row.schema_version != version {
        return Err(format!(
            "column `schema_version`: {}; the header is that of version {version}, and so \
             must every row be (this dualbench reads versions {OLDEST_CSV_VERSION} to \
             {SCHEMA_VERSION} from a CSV)",
            row.schema_version
        ));
    }
    CaseResult::try_from(row)
}

/// What a cell of `column` may hold, in words.
fn cell_type(column: &str) -> String {
    match column {
        "schema_version" => format!(
            "the version whose columns the header has ({OLDEST_CSV_VERSION} to {SCHEMA_VERSION})"
        ),
        "params" | "counters" | "samples_ns" | "round_samples" => {
            format!("JSON text: {}", json::expected_type(column))
        }
        _ => json::expected_type(column).replace("null", "an empty cell"),
    }
}

/// The message of a CSV error without the position the caller states itself.
fn record_error(e: &::csv::Error, columns: &[String]) -> String {
    match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{len} cells, but the header has {expected_len} columns: the line is cut short, or \
             a text cell holds a `,` outside double quotes"
        ),
        ::csv::ErrorKind::Utf8 { err, .. } => format!(
            "column {} is not valid UTF-8 text",
            columns
                .get(err.field())
                .map_or_else(|| format!("{}", err.field() + 1), |c| format!("`{c}`"))
        ),
        ::csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
        _ => e.to_string(),
    }
}
