//! The results files: the CSV and the JSON of a real run hold the same rows, the JSON round-trips
//! exactly, and readers refuse other schema versions.

use std::collections::BTreeMap;
use std::process::Command;

use dualbench::measure::machine::{Build, Machine};
use dualbench::results::{
    self, CaseResult, Metadata, ResultsFile, RunOptions, Status, SCHEMA_VERSION,
};

/// A results file with every kind of value: missing fields, an empty sample list, a large
/// float, parameters and counters.
fn synthetic() -> ResultsFile {
    let measured = CaseResult {
        workload: "fdotprod".into(),
        size: Some(1000),
        params: BTreeMap::from([("x0".to_string(), 0.5)]),
        strategy: "dualrev-par".into(),
        threads: 2,
        status: Status::Ok,
        detail: String::new(),
        inputs: Some(2000),
        outputs: Some(1),
        ops: Some(2999),
        naive_calls: Some(1.5e300),
        input_hash: Some("00ff00ff00ff00ff".into()),
        batch: Some(7),
        samples_ns: vec![1234.5, 1200.25, 0.1 + 0.2],
        round_samples: vec![2, 1],
        median_ns: Some(1200.25),
        min_ns: Some(0.1 + 0.2),
        max_ns: Some(1234.5),
        ci_low_ns: Some(0.1 + 0.2),
        ci_high_ns: Some(1234.5),
        ci_level: Some(0.75),
        forward_median_ns: Some(600.0),
        reverse_median_ns: Some(500.0),
        cold_ns: Some(48_000.5),
        primal_median_ns: Some(100.0),
        overhead: Some(12.0025),
        peak_heap_bytes: Some(65536),
        allocated_bytes: Some(131072),
        allocations: Some(37),
        peak_rss_bytes: Some(4 << 20),
        instructions: Some(123_456),
        counters: BTreeMap::from([("ids".to_string(), 3000), ("edges".to_string(), 2999)]),
        wall_s: 0.25,
        command: "dualbench run --workloads fdotprod --strategies primal,dualrev".into(),
    };
    let timed_out = CaseResult {
        strategy: "naive".into(),
        threads: 1,
        status: Status::Timeout,
        detail: "exceeded the budget of 2 s, \"quoted\"".into(),
        samples_ns: Vec::new(),
        round_samples: Vec::new(),
        ci_level: None,
        median_ns: None,
        min_ns: None,
        max_ns: None,
        ci_low_ns: None,
        ci_high_ns: None,
        overhead: None,
        cold_ns: None,
        batch: None,
        peak_rss_bytes: None,
        counters: BTreeMap::new(),
        size: None,
        params: BTreeMap::new(),
        ..measured.clone()
    };
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        metadata: Metadata {
            build: Build::current(),
            machine: Machine::current(),
            date: "2025-01-01T00:00:00Z".into(),
            command: "dualbench run --suite quick".into(),
            options: RunOptions {
                suite: "quick".into(),
                budget_s: 2.0,
                repeat: 5,
                min_time_s: 0.05,
                warmup_s: 0.02,
                target_sample_s: 0.0005,
                rounds: 5,
                stack_mib: 1024,
                memory_limit_mib: 0,
                shard: Some("1/2".into()),
            },
            ci_level: 0.95,
            merged_from: Vec::new(),
        },
        rows: vec![measured, timed_out],
    }
}

fn read_csv(dir: &std::path::Path) -> Vec<CaseResult> {
    let file = std::fs::File::open(dir.join(results::CSV_FILE)).unwrap();
    results::csv::read(file).unwrap()
}

#[test]
fn csv_and_json_of_a_real_run_hold_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dualbench"))
        .args([
            "run",
            "--workloads",
            "fmult,square-chain",
            "--sizes",
            "square-chain=3,6",
            "--strategies",
            "tape,naive,forward",
            "--repeat",
            "2",
            "--min-time",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = ResultsFile::read(dir.path()).unwrap();
    assert_eq!(json.rows.len(), 3 * 4);
    assert_eq!(read_csv(dir.path()), json.rows);
}

#[test]
fn written_files_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let file = synthetic();
    file.write_dir(dir.path()).unwrap();
    assert_eq!(ResultsFile::read(dir.path()).unwrap(), file);
    assert_eq!(
        ResultsFile::read(&dir.path().join(results::JSON_FILE)).unwrap(),
        file
    );
    assert_eq!(read_csv(dir.path()), file.rows);
    let mut text = Vec::new();
    results::json::write(&file, &mut text).unwrap();
    assert_eq!(results::json::read(text.as_slice()).unwrap(), file);
}

#[test]
fn csv_columns_follow_the_row_fields_and_missing_values_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    synthetic().write_dir(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(results::CSV_FILE)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &header[..7],
        [
            "schema_version",
            "workload",
            "size",
            "params",
            "strategy",
            "threads",
            "status"
        ]
    );
    assert_eq!(header, results::csv::columns());
    assert_eq!(header.last().unwrap(), "command");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(
        &records[0][column("counters")],
        r#"{"edges":2999,"ids":3000}"#
    );
    assert_eq!(&records[0][column("threads")], "2");
    assert_eq!(&records[1][column("median_ns")], "");
    assert_eq!(&records[1][column("size")], "");
    assert_eq!(&records[1][column("status")], "timeout");
}

#[test]
fn other_schema_versions_are_refused_with_both_versions_named() {
    let mut value = serde_json::to_value(synthetic()).unwrap();
    value["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    let text = serde_json::to_vec(&value).unwrap();
    let err = results::json::read(text.as_slice()).unwrap_err();
    assert!(err.contains(&(SCHEMA_VERSION + 1).to_string()), "{err}");
    assert!(err.contains(&SCHEMA_VERSION.to_string()), "{err}");
    assert!(results::json::read(&b"{\"rows\": []}"[..]).is_err());
}

#[test]
fn a_csv_without_a_needed_column_or_a_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    synthetic().write_dir(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(results::CSV_FILE)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // Drop one column (and, separately, the schema version) and write the file back.
    // A version 3 file has no `threads` column: read it through its results.json.
    for dropped in ["median_ns", "ops", "threads", "schema_version"] {
        let k = header.iter().position(|h| h == dropped).unwrap();
        let mut out = csv::Writer::from_writer(Vec::new());
        let keep = |r: Vec<String>| -> Vec<String> {
            r.into_iter()
                .enumerate()
                .filter(|&(i, _)| i != k)
                .map(|(_, c)| c)
                .collect()
        };
        out.write_record(keep(header.clone())).unwrap();
        for r in &records {
            out.write_record(keep(r.iter().map(String::from).collect()))
                .unwrap();
        }
        let bytes = out.into_inner().unwrap();
        let err = results::csv::read(bytes.as_slice()).unwrap_err();
        assert!(err.contains(dropped), "{dropped}: {err}");
    }
}

#[test]
fn a_json_row_without_a_field_is_refused_naming_it() {
    let mut value = serde_json::to_value(synthetic()).unwrap();
    value["rows"][1]
        .as_object_mut()
        .unwrap()
        .remove("median_ns");
    let text = serde_json::to_vec(&value).unwrap();
    let err = results::json::read(text.as_slice()).unwrap_err();
    assert!(err.contains("row 2") && err.contains("median_ns"), "{err}");
}

/// Issue 20: a results.csv cut short was read, its last rows gone. Every cut is refused: in the
/// middle of a line by the CSV reader itself, between two rows by the results.json beside it.
#[test]
fn a_results_csv_cut_at_any_byte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    synthetic().write_dir(dir.path()).unwrap();
    let csv = dir.path().join(results::CSV_FILE);
    let full = std::fs::read(&csv).unwrap();
    let alone = dir.path().join("alone.csv");
    for cut in 0..full.len() {
        std::fs::write(&csv, &full[..cut]).unwrap();
        let e = ResultsFile::read_rows(&csv).unwrap_err().to_string();
        assert!(
            e.contains("results.csv: ") && e.contains("line"),
            "cut at {cut}: {e}"
        );
        std::fs::write(&alone, &full[..cut]).unwrap();
        let at_line_end = cut > 0 && full[cut - 1] == b'\n';
        match ResultsFile::read_rows(&alone) {
            Ok(rows) => assert!(at_line_end && rows.len() < 2, "cut at {cut} read"),
            Err(e) => assert!(
                !at_line_end || cut == full.iter().position(|b| *b == b'\n').unwrap() + 1,
                "cut at {cut} between rows of a lone CSV reads the rows before it: {e}"
            ),
        }
    }
    std::fs::write(&csv, &full).unwrap();
    assert_eq!(ResultsFile::read_rows(&csv).unwrap(), synthetic().rows);
}

/// Issue 20: a type error in results.json named neither the row nor the field.
#[test]
fn a_value_of_the_wrong_type_names_the_row_the_case_the_field_and_the_valid_type() {
    let mut value = serde_json::to_value(synthetic()).unwrap();
    value["rows"][1]["median_ns"] = serde_json::json!("fast");
    let e = results::json::read(serde_json::to_vec(&value).unwrap().as_slice()).unwrap_err();
    assert_eq!(
        e,
        "row 2 (fdotprod / naive), field `median_ns`: invalid type: string \"fast\"; \
         expected a number or null"
    );
    let mut value = serde_json::to_value(synthetic()).unwrap();
    value["rows"][0]["counters"]["ids"] = serde_json::json!(-3);
    let e = results::json::read(serde_json::to_vec(&value).unwrap().as_slice()).unwrap_err();
    assert!(
        e.starts_with("row 1 (fdotprod / size 1000 / dualrev-par@2t), field `counters.ids`:")
            && e.contains("expected an object of counter names and whole numbers"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    synthetic().write_dir(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(results::CSV_FILE)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let median = header.iter().position(|h| h == "median_ns").unwrap();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&header).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut cells: Vec<String> = record.unwrap().iter().map(String::from).collect();
        if i == 0 {
            cells[median] = "fast".into();
        }
        out.write_record(&cells).unwrap();
    }
    let bad = out.into_inner().unwrap();
    let e = results::csv::read(bad.as_slice()).unwrap_err();
    assert!(
        e.starts_with("line 2 (fdotprod / dualrev-par), column `median_ns`: `fast` is not valid")
            && e.ends_with("expected a number or an empty cell"),
        "{e}"
    );
}

/// Issue 20: `schema_version` 0 was reported as written by a newer dualbench.
#[test]
fn schema_version_zero_or_not_a_number_is_invalid_naming_the_valid_versions() {
    for version in [
        serde_json::json!(0),
        serde_json::json!("4"),
        serde_json::json!(4.5),
    ] {
        let mut value = serde_json::to_value(synthetic()).unwrap();
        value["schema_version"] = version.clone();
        let e = results::json::read(serde_json::to_vec(&value).unwrap().as_slice()).unwrap_err();
        assert!(
            e.contains(&format!("valid versions are 1 to {SCHEMA_VERSION}"))
                && !e.contains("newer"),
            "{version}: {e}"
        );
    }
}

/// Text that is not a results.json is named as what it is; a key given twice, or a field of a
/// later version than the file says, is refused rather than read one way or the other.
#[test]
fn files_of_another_shape_say_what_they_are() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "is empty"),
        (b" \n", "is empty"),
        (b"[1, 2]", "holds a JSON array"),
        (b"schema_version,workload\n", "holds CSV text"),
        (b"\x89PNG\r\n", "is not a text file"),
        (
            b"{\"schema_version\": 4, \"metadata\": {",
            "ends early, at line 1",
        ),
    ];
    for (text, expected) in cases {
        let e = results::json::read(text).unwrap_err();
        assert!(e.contains(expected), "{expected}: {e}");
    }
    let text = String::from_utf8(serde_json::to_vec_pretty(&synthetic()).unwrap()).unwrap();
    let twice = text.replacen("\"batch\": 7,", "\"batch\": 7,\n\"batch\": 8,", 1);
    let e = results::json::read(twice.as_bytes()).unwrap_err();
    assert!(
        e.contains("line 52, column 7: the key `batch` appears twice in `rows[0]`"),
        "{e}"
    );
    let old = text.replacen(
        &format!("\"schema_version\": {SCHEMA_VERSION}"),
        "\"schema_version\": 3",
        1,
    );
    let e = results::json::read(old.as_bytes()).unwrap_err();
    assert!(
        e.starts_with("row 1 (fdotprod / size 1000 / dualrev-par@2t) has `threads`"),
        "{e}"
    );
}

/// The committed results still load, their JSON and their CSV alike: those of schema version 4
/// (before `cold_ns`) with the cold gradient as not measured, later ones with it measured on
/// every finished case.
#[test]
fn the_committed_results_load_whatever_their_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let mut dirs = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join(results::JSON_FILE).is_file() {
            continue;
        }
        dirs += 1;
        let file = ResultsFile::read(&dir).unwrap();
        assert!(!file.rows.is_empty(), "{}", dir.display());
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(results::JSON_FILE)).unwrap()).unwrap();
        let version = json["schema_version"].as_u64().unwrap();
        if version < 5 {
            assert!(
                file.rows.iter().all(|r| r.cold_ns.is_none()),
                "{}",
                dir.display()
            );
        } else {
            let finished = file.rows.iter().filter(|r| r.status == Status::Ok);
            assert!(finished.clone().count() > 0, "{}", dir.display());
            assert!(
                finished.clone().all(|r| r.cold_ns.is_some()),
                "{}",
                dir.display()
            );
        }
        let csv = ResultsFile::read_rows(&dir.join(results::CSV_FILE)).unwrap();
        assert_eq!(csv, file.rows, "{}", dir.display());
    }
    assert!(dirs >= 4, "results/ holds the committed runs");
}

/// `synthetic()`'s CSV as schema `version` wrote it: without the columns later versions added,
/// every row saying `version`.
fn csv_of_version(version: u32, keep_cells_of: Option<u32>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    synthetic().write_dir(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(results::CSV_FILE)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let old = results::csv::columns_of(version);
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&old).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let cells: Vec<String> = old
            .iter()
            .map(|c| match c.as_str() {
                "schema_version" => keep_cells_of.unwrap_or(version).to_string(),
                _ => record[header.iter().position(|h| h == c).unwrap()].to_string(),
            })
            .collect();
        out.write_record(&cells).unwrap();
    }
    out.into_inner().unwrap()
}

#[test]
fn csv_files_of_versions_2_to_4_read_with_the_newer_fields_unmeasured() {
    assert_eq!(
        results::csv::columns_of(SCHEMA_VERSION),
        results::csv::columns()
    );
    let v4 = results::csv::columns_of(4);
    assert_eq!(v4.len() + 1, results::csv::columns().len());
    assert!(!v4.contains(&"cold_ns".to_string()));

    let rows = results::csv::read(csv_of_version(4, None).as_slice()).unwrap();
    let expected: Vec<CaseResult> = synthetic()
        .rows
        .into_iter()
        .map(|r| CaseResult { cold_ns: None, ..r })
        .collect();
    assert_eq!(rows, expected);

    // Version 2: no allocations, instructions, threads or cold time; every case on one thread.
    let rows = results::csv::read(csv_of_version(2, None).as_slice()).unwrap();
    assert_eq!(rows[0].threads, 1);
    assert_eq!(
        (rows[0].allocations, rows[0].instructions, rows[0].cold_ns),
        (None, None, None)
    );
    assert_eq!(rows[0].median_ns, expected[0].median_ns);
    assert_eq!(rows[0].round_samples, expected[0].round_samples);

    // A version 4 header over rows that say 5 (a column dropped from a new file): refused.
    let e = results::csv::read(csv_of_version(4, Some(SCHEMA_VERSION)).as_slice()).unwrap_err();
    assert!(
        e.starts_with(
            "line 2 (fdotprod / dualrev-par), column `schema_version`: 5; the header is \
             that of version 4"
        ),
        "{e}"
    );
}
