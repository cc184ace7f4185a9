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
//! `dualbench run --resume DIR` reads the journal, checks that this is the same build (the
//! same binary, by hash) on the same machine, plans the sweep again from the recorded
//! arguments, checks that the plan's options are the recorded ones, and runs only the groups
//! that are not in the journal. A last line that a crash cut short is not a group and is
//! dropped. When the results files are written, the journal is removed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::measure::machine::{Build, Machine};
use crate::results::{sync_dir, CaseResult, RunOptions, SCHEMA_VERSION};

/// The journal's name inside a results directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The version of the journal's layout.
pub const JOURNAL_VERSION: u32 = 1;

/// The first line of a journal: what the sweep is and what measured it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// [`JOURNAL_VERSION`].
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

/// An open journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl Journal {
    /// Start a new journal in `dir` (replacing any), with its header line on disk.
    pub fn create(dir: &Path, header: &JournalHeader) -> Result<Journal> {
        let path = dir.join(JOURNAL_FILE);
        let file = File::create(&path).map_err(io(format!("creating {}", path.display())))?;
        let mut journal = Journal { file, path };
        journal.append_line(&serde_json::to_string(header).expect("headers serialise"))?;
        sync_dir(dir);
        Ok(journal)
    }

    /// Open the journal in `dir` to resume it: its header and finished groups. A trailing line
    /// that is not a complete record (cut short by a crash) is removed from the file.
    pub fn resume(dir: &Path) -> Result<(Journal, JournalHeader, Vec<GroupRecord>)> {
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
        let mut reader = BufReader::new(&mut file);
        let mut header_line = String::new();
        reader
            .read_line(&mut header_line)
            .map_err(io(format!("reading {}", path.display())))?;
        let header: JournalHeader = serde_json::from_str(header_line.trim_end()).map_err(|e| {
            Error::usage(format!("{}: not a dualbench journal: {e}", path.display()))
        })?;
        if header.journal_version != JOURNAL_VERSION || header.schema_version != SCHEMA_VERSION {
            return Err(Error::usage(format!(
                "{}: journal version {} (results schema {}); this dualbench writes version \
                 {JOURNAL_VERSION} (schema {SCHEMA_VERSION}) and cannot resume it",
                path.display(),
                header.journal_version,
                header.schema_version
            )));
        }
        let mut good_end = header_line.len() as u64;
        let mut groups = Vec::new();
        loop {
            let mut line = String::new();
            let read = reader
                .read_line(&mut line)
                .map_err(io(format!("reading {}", path.display())))?;
            if read == 0 || !line.ends_with('\n') {
                break;
            }
            match serde_json::from_str::<GroupRecord>(line.trim_end()) {
                Ok(record) => {
                    groups.push(record);
                    good_end += read as u64;
                }
                Err(_) => break,
            }
        }
        drop(reader);
        file.set_len(good_end)
            .and_then(|()| file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(io(format!("truncating {}", path.display())))?;
        Ok((Journal { file, path }, header, groups))
    }

    /// Append one finished group and flush it to disk.
    pub fn append(&mut self, record: &GroupRecord) -> Result<()> {
        self.append_line(&serde_json::to_string(record).expect("rows serialise"))
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
            groups: 3,
        }
    }

    fn record(group: usize) -> GroupRecord {
        GroupRecord {
            group,
            key: format!("w {group}"),
            rows: vec![CaseResult::unmeasured(
                "w",
                Some(group as u64),
                BTreeMap::new(),
                "primal",
                Status::Skipped,
                "after timeout".into(),
                String::new(),
            )],
        }
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
        assert_eq!(groups, vec![record(0), record(1)]);
        j.append(&record(2)).unwrap();
        drop(j);
        let (j, _, groups) = Journal::resume(dir.path()).unwrap();
        assert_eq!(groups.len(), 3);
        j.remove().unwrap();
        assert!(!path.exists());
    }
}
