//! The journal of a running sweep: `DIR/journal.jsonl`, from which an interrupted `run`
//! resumes.
//!
//! `dualbench run` keeps its rows in memory until it writes the results files at the end; so
//! that a crash, a kill or a full disk halfway through a long sweep loses nothing, it also
//! appends every finished (workload, size) group — its cases are measured together, in
//! interleaved rounds, so they finish together — to the journal, one JSON line per group,
//! flushed to disk (`fsync`) before the next group starts. The first line is a
//! [`JournalHeader`]: the sweep's arguments, build, binary, machine and options.
//!
//! Every line carries `check`, the FNV-1a hash of the line's JSON without it (version 2; a
//! journal of version 1 has none and is read without): a line whose bytes changed after it was
//! written — a flipped bit, an edit — is refused, never resumed from.
//!
//! `dualbench run --resume DIR` reads the journal, checks that this is the same build (the
//! same binary, by hash) on the same machine, plans the sweep again from the recorded
//! arguments, checks that the plan's options are the recorded ones and that every journaled
//! group is the plan's group at its place, row by row, and runs only the groups that are not in
//! the journal. Reading is strict ([`parse`]): groups come in plan order, one line each; every
//! row carries every field of the results schema and no other; a line that is not such a
//! record is an error naming the file and the line, so that no group is silently dropped and
//! measured again. The one exception is a last line without its line end, which a crash cut
//! short while it was written: it is dropped, with a note on stderr, and its group is measured
//! again. When the results files are written, the journal is removed.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::hash::Hasher;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::measure::machine::{Build, Machine};
use crate::results::{sync_dir, CaseResult, RunOptions, SCHEMA_VERSION};

/// The journal's name inside a results directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The version of the journal's layout: 2 added `check` to every line. Version 1 journals are
/// read too (without checks).
pub const JOURNAL_VERSION: u32 = 2;

/// The key of a line's check.
const CHECK: &str = "check";

/// The first line of a journal: what the sweep is and what measured it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// [`JOURNAL_VERSION`] of the writer.
    pub journal_version: u32,
    /// The results schema of the rows.
    pub schema_version: u32,
    /// The arguments of `dualbench run` (after `run`) that planned the sweep.
    pub args: Vec<String>,
    /// The build that measured.
    pub build: Build,
    /// FNV-1a hash of the measuring binary's bytes: "the same build" on resume.
    pub binary_hash: String,
    /// The machine.
    pub machine: Machine,
    /// The sweep's options.
    pub options: RunOptions,
    /// When the sweep started (RFC 3339, UTC).
    pub started: String,
    /// How many groups the sweep has.
    pub groups: usize,
}

/// One finished group: its position in the plan, its name, and its rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// The group's index in the plan (0-based).
    pub group: usize,
    /// `workload size` (or the workload alone), to check that a resumed plan is the same.
    pub key: String,
    /// The group's rows, in plan order.
    pub rows: Vec<CaseResult>,
}

/// A group read from a journal, with the line it is on (1-based; the header is line 1).
#[derive(Clone, Debug, PartialEq)]
pub struct JournaledGroup {
    /// The line.
    pub line: usize,
    /// The group.
    pub record: GroupRecord,
}

/// A journal's content, as [`parse`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The header.
    pub header: JournalHeader,
    /// The finished groups, in order.
    pub groups: Vec<JournaledGroup>,
    /// The bytes up to the end of the last complete line: where appending continues.
    pub complete_bytes: usize,
    /// A last line cut short (no line end): its number and length in bytes; dropped.
    pub torn: Option<(usize, usize)>,
}

/// An open journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// FNV-1a (64-bit) of `text`, in hex.
fn fnv1a(text: &str) -> String {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(text.as_bytes());
    format!("{:016x}", hasher.finish())
}

/// `value` as one journal line (without its line end), with its check.
fn signed_line(value: impl Serialize) -> String {
    let mut value = serde_json::to_value(value).expect("journal records serialise");
    let check = fnv1a(&value.to_string());
    if let Value::Object(fields) = &mut value {
        fields.insert(CHECK.into(), Value::String(check));
    }
    value.to_string()
}

impl Journal {
    /// Start a new journal in `dir` (replacing any), with its header line on disk.
    pub fn create(dir: &Path, header: &JournalHeader) -> Result<Journal> {
        let path = dir.join(JOURNAL_FILE);
        let file = File::create(&path).map_err(io(format!("creating {}", path.display())))?;
        let mut journal = Journal { file, path };
        journal.append_line(&signed_line(header))?;
        sync_dir(dir);
        Ok(journal)
    }

    /// Open the journal in `dir` to resume it: its header and finished groups ([`parse`]). A
    /// last line cut short by a crash is removed from the file, with a note on stderr.
    pub fn resume(dir: &Path) -> Result<(Journal, JournalHeader, Vec<JournaledGroup>)> {
        let path = dir.join(JOURNAL_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Io {
                context: format!(
                    "--resume {}: no journal of an interrupted run there ({})",
                    dir.display(),
                    path.display()
                ),
                source,
            })?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(io(format!("reading {}", path.display())))?;
        let parsed = parse(&bytes, &path)?;
        if let Some((line, len)) = parsed.torn {
            crate::output::note(&format!(
                "note: {}:{line}: the last line is incomplete ({len} bytes without a line \
                 end: the run was stopped while writing it); it is dropped and its group is \
                 measured again",
                path.display()
            ));
        }
        file.set_len(parsed.complete_bytes as u64)
            .and_then(|()| file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(io(format!("truncating {}", path.display())))?;
        Ok((Journal { file, path }, parsed.header, parsed.groups))
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one finished group and flush it to disk.
    pub fn append(&mut self, record: &GroupRecord) -> Result<()> {
        self.append_line(&signed_line(record))
    }

    fn append_line(&mut self, line: &str) -> Result<()> {
        let context = format!("appending to the journal {}", self.path.display());
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.sync_data())
            .map_err(io(context))
    }

    /// Remove the journal: the results files now hold everything it held.
    pub fn remove(self) -> Result<()> {
        let Journal { file, path } = self;
        drop(file);
        std::fs::remove_file(&path).map_err(io(format!("removing {}", path.display())))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir);
        }
        Ok(())
    }
}

/// Read a journal's bytes strictly (see the module documentation); `path` names it in errors,
/// which all have the form `PATH:LINE: what is wrong`.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Parsed> {
    let at = |line: usize, why: String| {
        let remedy = if line == 1 {
            "Without its header nothing can be resumed: start over with --force"
        } else {
            "The journal is damaged: remove this line and every later one to measure those \
             groups again, or start over with --force"
        };
        Error::usage(format!("{}:{line}: {why}. {remedy}", path.display()))
    };
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(end) = bytes[start..].iter().position(|&b| b == b'\n') {
        lines.push(&bytes[start..start + end]);
        start += end + 1;
    }
    let torn = (start < bytes.len()).then(|| (lines.len() + 1, bytes.len() - start));
    let complete_bytes = start;

    let Some(first) = lines.first() else {
        return Err(Error::usage(format!(
            "{}:1: the journal has no complete header line (the run was stopped before it \
             began measuring); start over with --force",
            path.display()
        )));
    };
    let (mut header_value, version) = read_header(first).map_err(|why| at(1, why))?;
    let checked = version >= 2;
    take_check(&mut header_value, checked).map_err(|why| at(1, why))?;
    let header: JournalHeader = serde_json::from_value(header_value)
        .map_err(|e| at(1, format!("not a journal header: {e}")))?;

    let fields: BTreeSet<String> = CaseResult::field_names().into_iter().collect();
    let mut groups = Vec::with_capacity(lines.len() - 1);
    for (i, bytes) in lines.iter().enumerate().skip(1) {
        let line = i + 1;
        let expected = i - 1;
        let record = read_group(bytes, checked, &fields).map_err(|why| at(line, why))?;
        if record.group != expected {
            return Err(at(
                line,
                format!(
                    "this line holds group {}, but groups are journaled in plan order and \
                     the group on line {line} is group {expected} (a line was dropped, \
                     repeated or moved)",
                    record.group
                ),
            ));
        }
        if record.group >= header.groups {
            return Err(at(
                line,
                format!(
                    "group {} is beyond the {} groups of the header's sweep",
                    record.group, header.groups
                ),
            ));
        }
        groups.push(JournaledGroup { line, record });
    }
    Ok(Parsed {
        header,
        groups,
        complete_bytes,
        torn,
    })
}

/// The header line as JSON, and its journal version (one this dualbench reads).
fn read_header(bytes: &[u8]) -> std::result::Result<(Value, u32), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not a journal header: {e}"))?;
    let version = value.get("journal_version").and_then(Value::as_u64);
    let schema = value.get("schema_version").and_then(Value::as_u64);
    match (version, schema) {
        (Some(v @ 1..=2), Some(s)) if s == u64::from(SCHEMA_VERSION) => Ok((value, v as u32)),
        (Some(v), Some(s)) => Err(format!(
            "journal version {v} (results schema {s}); this dualbench resumes versions 1 and \
             {JOURNAL_VERSION} of results schema {SCHEMA_VERSION}"
        )),
        _ => Err("not a journal header: no `journal_version` and `schema_version`".into()),
    }
}

/// Remove a line's `check` and verify it (required when `checked`).
fn take_check(value: &mut Value, checked: bool) -> std::result::Result<(), String> {
    let Value::Object(fields) = value else {
        return Err("not a JSON object".into());
    };
    let check = fields.shift_remove(CHECK);
    match (check, checked) {
        (None, false) => Ok(()),
        (None, true) => Err(format!(
            "no `{CHECK}`: the line is incomplete or was edited"
        )),
        (Some(_), false) => Err(format!(
            "`{CHECK}` in a journal of version 1, which has none"
        )),
        (Some(Value::String(check)), true) => {
            let actual = fnv1a(&value.to_string());
            if actual == check {
                Ok(())
            } else {
                Err(format!(
                    "its content does not match its `{CHECK}` ({check}; the content hashes to \
                     {actual}): it changed after it was written"
                ))
            }
        }
        (Some(other), true) => Err(format!("`{CHECK}` is {other}, not a string")),
    }
}

/// One group line, checked and read strictly.
fn read_group(
    bytes: &[u8],
    checked: bool,
    fields: &BTreeSet<String>,
) -> std::result::Result<GroupRecord, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))?;
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| format!("not a group record: {e}"))?;
    take_check(&mut value, checked)?;
    let Value::Object(record) = &value else {
        unreachable!("take_check accepts objects only")
    };
    let keys: BTreeSet<&str> = record.keys().map(String::as_str).collect();
    if keys != BTreeSet::from(["group", "key", "rows"]) {
        return Err(format!(
            "a group record has the keys group, key and rows; this line has {}",
            keys.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let rows = record["rows"]
        .as_array()
        .ok_or_else(|| format!("`rows` is {}, not an array", record["rows"]))?;
    for (i, row) in rows.iter().enumerate() {
        check_row(row, fields).map_err(|why| format!("row {}: {why}", i + 1))?;
    }
    serde_json::from_value::<GroupRecord>(value.clone()).map_err(|e| {
        let field = rows
            .iter()
            .enumerate()
            .find_map(|(i, row)| bad_field(row).map(|f| format!(" (row {}, field `{f}`)", i + 1)));
        format!("not a group record: {e}{}", field.unwrap_or_default())
    })
}

/// Every field of the results schema, and no other, in a row.
fn check_row(row: &Value, fields: &BTreeSet<String>) -> std::result::Result<(), String> {
    let row = row.as_object().ok_or("not a JSON object")?;
    if let Some(missing) = fields.iter().find(|f| !row.contains_key(*f)) {
        return Err(format!(
            "no `{missing}` (every row carries every field of results schema \
             {SCHEMA_VERSION}; a missing value is null)"
        ));
    }
    if let Some(extra) = row.keys().find(|k| !fields.contains(*k)) {
        return Err(format!("the unknown field `{extra}`"));
    }
    Ok(())
}

/// The first field of `row` whose value a row cannot hold (for an error message): each field
/// is tried alone in a row that is valid otherwise.
fn bad_field(row: &Value) -> Option<String> {
    let row = row.as_object()?;
    let template = CaseResult::unmeasured(
        "",
        None,
        Default::default(),
        "",
        crate::results::Status::Ok,
        String::new(),
        String::new(),
    );
    let Ok(Value::Object(valid)) = serde_json::to_value(template) else {
        return None;
    };
    row.iter().find_map(|(key, value)| {
        let mut trial: Map<String, Value> = valid.clone();
        trial.insert(key.clone(), value.clone());
        serde_json::from_value::<CaseResult>(Value::Object(trial))
            .is_err()
            .then(|| key.clone())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::results::Status;

    fn header() -> JournalHeader {
        JournalHeader {
            journal_version: JOURNAL_VERSION,
            schema_version: SCHEMA_VERSION,
            args: vec!["--suite".into(), "quick".into()],
            build: Build::current(),
            binary_hash: "0".into(),
            machine: Machine::current(),
            options: RunOptions {
                suite: "quick".into(),
                budget_s: 1.0,
                repeat: 6,
                min_time_s: 0.0,
                warmup_s: 0.0,
                target_sample_s: 0.0005,
                rounds: 5,
                stack_mib: 64,
                memory_limit_mib: 0,
                shard: None,
            },
            started: "2026-01-01T00:00:00Z".into(),
            groups: 4,
        }
    }

    fn record(group: usize) -> GroupRecord {
        let mut measured = CaseResult::unmeasured(
            "w",
            Some(group as u64),
            BTreeMap::from([("x0".to_string(), 0.1 * group as f64)]),
            "tape",
            Status::Ok,
            String::new(),
            "dualbench run".into(),
        );
        measured.samples_ns = vec![1.5, 2.25, 1e-300 * group as f64];
        measured.median_ns = Some(2.25 / (group as f64 + 1.0));
        measured.peak_heap_bytes = Some(u64::MAX - group as u64);
        measured.counters = BTreeMap::from([("edges".to_string(), 7)]);
        measured.wall_s = 0.123;
        GroupRecord {
            group,
            key: format!("w {group}"),
            rows: vec![
                CaseResult::unmeasured(
                    "w",
                    Some(group as u64),
                    BTreeMap::new(),
                    "primal",
                    Status::Skipped,
                    "after timeout".into(),
                    String::new(),
                ),
                measured,
            ],
        }
    }

    /// A journal's text: the header and `groups` groups, as the writer writes them.
    fn journal_text(groups: usize) -> String {
        let mut text = signed_line(header()) + "\n";
        for g in 0..groups {
            text += &(signed_line(record(g)) + "\n");
        }
        text
    }

    fn path() -> PathBuf {
        PathBuf::from("out").join(JOURNAL_FILE)
    }

    fn groups_of(parsed: &Parsed) -> Vec<GroupRecord> {
        parsed.groups.iter().map(|g| g.record.clone()).collect()
    }

    #[test]
    fn a_resumed_journal_has_its_groups_and_drops_a_line_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), &header()).unwrap();
        j.append(&record(0)).unwrap();
        j.append(&record(1)).unwrap();
        drop(j);
        // A crash in the middle of the third line.
        let path = dir.path().join(JOURNAL_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(r#"{"group":2,"key":"w 2","rows":[{"work"#);
        std::fs::write(&path, text).unwrap();

        let (mut j, h, groups) = Journal::resume(dir.path()).unwrap();
        assert_eq!(h, header());
        assert_eq!(
            groups
                .iter()
                .map(|g| (g.line, g.record.clone()))
                .collect::<Vec<_>>(),
            vec![(2, record(0)), (3, record(1))]
        );
        j.append(&record(2)).unwrap();
        drop(j);
        let (j, _, groups) = Journal::resume(dir.path()).unwrap();
        assert_eq!(groups.len(), 3);
        j.remove().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_corrupt_line_that_is_not_the_last_is_an_error_naming_it() {
        let text = journal_text(3);
        let lines: Vec<&str> = text.lines().collect();
        // Line 3 (group 1) cut in half, groups 0 and 2 intact: once, this dropped line 3 and
        // line 4 without a word.
        let damaged = format!(
            "{}\n{}\n{}\n{}\n",
            lines[0],
            lines[1],
            &lines[2][..40],
            lines[3]
        );
        let e = parse(damaged.as_bytes(), &path()).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3: ", path().display())), "{e}");
        assert!(e.contains("--force"), "{e}");
        // A changed figure whose JSON is still valid is caught by the line's check.
        let edited_line = lines[2].replace("\"wall_s\":0.123", "\"wall_s\":0.124");
        assert_ne!(edited_line, lines[2]);
        let edited = format!("{}\n{}\n{edited_line}\n{}\n", lines[0], lines[1], lines[3]);
        let e = parse(edited.as_bytes(), &path()).unwrap_err().to_string();
        assert!(
            e.contains(":3: its content does not match its `check`"),
            "{e}"
        );
    }

    #[test]
    fn groups_must_come_in_plan_order_once_each() {
        let text = journal_text(3);
        let lines: Vec<&str> = text.lines().collect();
        for (damaged, line) in [
            (vec![lines[0], lines[1], lines[1], lines[2]], 3),
            (vec![lines[0], lines[2], lines[3]], 2),
            (vec![lines[0], lines[1], lines[3], lines[2]], 3),
        ] {
            let text = damaged.join("\n") + "\n";
            let e = parse(text.as_bytes(), &path()).unwrap_err().to_string();
            assert!(
                e.contains(&format!(":{line}: this line holds group")),
                "{damaged:?}: {e}"
            );
        }
    }

    #[test]
    fn rows_must_carry_every_field_with_its_type() {
        let mut value = serde_json::to_value(record(0)).unwrap();
        value["rows"][1]["size"] = Value::String("ten".into());
        let text = signed_line(header()) + "\n" + &signed_line(&value) + "\n";
        let e = parse(text.as_bytes(), &path()).unwrap_err().to_string();
        assert!(
            e.contains(":2: not a group record") && e.contains("row 2, field `size`"),
            "{e}"
        );
        value["rows"][1].as_object_mut().unwrap().remove("size");
        let text = signed_line(header()) + "\n" + &signed_line(&value) + "\n";
        let e = parse(text.as_bytes(), &path()).unwrap_err().to_string();
        assert!(e.contains(":2: row 2: no `size`"), "{e}");
    }

    #[test]
    fn a_journal_of_version_1_without_checks_still_resumes() {
        let mut old = header();
        old.journal_version = 1;
        let text = serde_json::to_string(&old).unwrap()
            + "\n"
            + &serde_json::to_string(&record(0)).unwrap()
            + "\n";
        let parsed = parse(text.as_bytes(), &path()).unwrap();
        assert_eq!(parsed.header, old);
        assert_eq!(groups_of(&parsed), vec![record(0)]);
    }

    /// A mutation of a valid journal.
    #[derive(Clone, Debug)]
    enum Mutation {
        /// Keep only the first `at` bytes (a fraction of the length, in thousandths).
        Truncate(usize),
        /// Flip bit `bit` of the byte at `at` (thousandths of the length).
        FlipBit(usize, u8),
        /// Repeat line `line` (modulo the line count).
        DuplicateLine(usize),
        /// Drop line `line`.
        DropLine(usize),
        /// Swap lines `a` and `b`.
        SwapLines(usize, usize),
        /// Give field `field` (modulo the row's field count) of a row of line `line` a value of
        /// a type it cannot hold, and sign the line again (a writer's bug, not a damaged disk).
        WrongType(usize, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (0..1000usize).prop_map(Mutation::Truncate),
            (0..1000usize, 0..8u8).prop_map(|(a, b)| Mutation::FlipBit(a, b)),
            (0..16usize).prop_map(Mutation::DuplicateLine),
            (0..16usize).prop_map(Mutation::DropLine),
            (0..16usize, 0..16usize).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
            (0..16usize, 0..64usize).prop_map(|(l, f)| Mutation::WrongType(l, f)),
        ]
    }

    fn mutate(text: &str, mutation: &Mutation) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let n = lines.len();
        let joined = |lines: Vec<String>| (lines.join("\n") + "\n").into_bytes();
        match *mutation {
            Mutation::Truncate(at) => {
                bytes.truncate(bytes.len() * at / 1000);
                bytes
            }
            Mutation::FlipBit(at, bit) => {
                let at = bytes.len() * at / 1000;
                bytes[at] ^= 1 << bit;
                bytes
            }
            Mutation::DuplicateLine(l) => {
                let line = lines[l % n].clone();
                lines.insert(l % n, line);
                joined(lines)
            }
            Mutation::DropLine(l) => {
                lines.remove(l % n);
                joined(lines)
            }
            Mutation::SwapLines(a, b) => {
                lines.swap(a % n, b % n);
                joined(lines)
            }
            Mutation::WrongType(_, _) if n == 1 => bytes,
            Mutation::WrongType(l, f) => {
                let l = 1 + l % (n - 1);
                let mut value: Value = serde_json::from_str(&lines[l]).unwrap();
                value.as_object_mut().unwrap().shift_remove(CHECK);
                let row = value["rows"][1].as_object_mut().unwrap();
                let key = row.keys().nth(f % row.len()).unwrap().clone();
                // No field holds a mixed array, and no array field a string.
                row[&key] = if row[&key].is_array() {
                    Value::String("wrong".into())
                } else {
                    serde_json::json!([1, "two"])
                };
                lines[l] = signed_line(&value);
                joined(lines)
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever happens to a journal, reading it does not panic, and gives either a prefix
        /// of its groups, exactly (only a last line cut short is dropped), or an error naming
        /// the file and a line.
        #[test]
        fn a_mutated_journal_is_read_exactly_or_refused_naming_the_line(
            groups in 0..4usize,
            mutation in mutation(),
        ) {
            let text = journal_text(groups);
            let bytes = mutate(&text, &mutation);
            let original: Vec<GroupRecord> = (0..groups).map(record).collect();
            match parse(&bytes, &path()) {
                Ok(parsed) => {
                    let read = groups_of(&parsed);
                    prop_assert!(read.len() <= groups, "{mutation:?}");
                    prop_assert_eq!(&read[..], &original[..read.len()], "{:?}", mutation);
                    prop_assert_eq!(parsed.header, header());
                    for (i, g) in parsed.groups.iter().enumerate() {
                        prop_assert_eq!(g.line, i + 2);
                    }
                }
                Err(e) => {
                    let e = e.to_string();
                    let prefix = format!("{}:", path().display());
                    prop_assert!(e.starts_with(&prefix), "{}", e);
                    let line: usize = e[prefix.len()..]
                        .split(':')
                        .next()
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(0);
                    prop_assert!(line >= 1 && line <= groups + 2, "{}", e);
                }
            }
        }
    }
}
