//! The results schema (one serde row type, [`CaseResult`], and [`Metadata`]) and its files.
//!
//! A results directory holds two files with the same rows, written by `dualbench run` and
//! `dualbench merge` and read by `check`, `plot` and `compare` (the schema is documented in
//! `docs/results.md`):
//!
//! - `results.json`: [`ResultsFile`] — `{"schema_version": 4, "metadata": {..}, "rows": [..]}`,
//!   the complete record ([`json`]);
//! - `results.csv`: one row per case with flat columns: `schema_version`, then the fields of
//!   [`CaseResult`] in order; the variable-length fields (`params`, `counters`, `samples_ns`,
//!   `round_samples`) are JSON text in their cell, and a missing value is an empty cell
//!   ([`csv`]).
//!
//! Both are written in full to temporary names in the target directory and flushed to disk
//! (`fsync`) before either is renamed into place, so a reader never sees a half-written file
//! and a crash or a failed write never leaves one. While `run` works, each finished group of cases is appended to a journal in
//! the same directory ([`journal`]), from which an interrupted run resumes. Readers insist on
//! [`SCHEMA_VERSION`] and on every field being present: a file that lacks a column is refused,
//! never read as "no data"; every refusal names the file, the place in it (row or line, case,
//! field or column) and what would be valid. The checks every reader applies to parsed rows
//! (each case once, ...) are in [`validate`].

pub mod csv;
#[cfg(test)]
pub(crate) mod fixture;
pub mod floor;
pub mod journal;
pub mod json;
pub mod lock;
pub mod merge;
pub mod nonfinite;
pub mod output;
pub mod summary;
pub mod validate;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::measure::machine::{Build, Machine};

/// The version of the results schema that this dualbench writes. Version 2 added
/// `round_samples` and `ci_level` to the rows, `git_dirty` to the build and `merged_from` to
/// the metadata, a `schema_version` column to the CSV, and times the phases in their own pass.
/// Version 3 added `allocations` and `instructions` to the rows. Version 4 added `threads`, the
/// thread count a case ran on, to the rows and to their key. Version 5 added `cold_ns`, the time
/// of the first gradient of a case's process. `results.json` files of versions 1 to 4 are read
/// too, their missing fields as not measured and their rows as run on one thread
/// ([`json::upgrade`]); so are `results.csv` files of versions 2 to 4 ([`csv::read`]).
pub const SCHEMA_VERSION: u32 = 5;

/// The JSON file's name inside a results directory.
pub const JSON_FILE: &str = "results.json";
/// The CSV file's name inside a results directory.
pub const CSV_FILE: &str = "results.csv";

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Measured.
    Ok,
    /// Killed after exceeding its wall-clock budget (`--budget`).
    Timeout,
    /// Its process died: stack overflow, panic, signal.
    Crashed,
    /// An allocation beyond the memory limit was refused, or the system killed it for memory.
    Oom,
    /// Not attempted: the same strategy failed on a smaller size of the same workload.
    Skipped,
}

impl Status {
    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Timeout => "timeout",
            Status::Crashed => "crashed",
            Status::Oom => "oom",
            Status::Skipped => "skipped",
        }
    }
}

/// One case: a (workload, size, params, strategy, thread count) and what was measured.
///
/// Times are nanoseconds per gradient (for several outputs, per full Jacobian). Every field
/// after `detail` except `command` and `counters` may be missing (`null` / empty cell) when
/// the case did not get far enough to measure it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The workload's name.
    pub workload: String,
    /// Its primary size; missing for fixed-size workloads.
    pub size: Option<u64>,
    /// Every parameter of the workload, defaults included.
    pub params: BTreeMap<String, f64>,
    /// The strategy's name.
    pub strategy: String,
    /// The threads of the rayon pool the case ran in (`run --threads`): 1 for every sequential
    /// case; above 1 only for a parallel strategy on a fork-join workload.
    pub threads: u64,
    /// How the case ended.
    pub status: Status,
    /// Why, for any status but `ok` (empty for `ok`).
    pub detail: String,
    /// n, the number of inputs.
    pub inputs: Option<u64>,
    /// m, the number of outputs.
    pub outputs: Option<u64>,
    /// T, the primal operation count of the case: what complexity is judged against.
    pub ops: Option<u64>,
    /// Backpropagator calls the naive strategy makes on this case (paths through the graph,
    /// predicted in O(T)); may exceed 2^64, hence a float.
    #[serde(with = "nonfinite::option")]
    pub naive_calls: Option<f64>,
    /// FNV-1a hash of the generated input vector (hex): identifies the input generator's
    /// output, so rows from different versions are comparable only when it matches.
    pub input_hash: Option<String>,
    /// Gradients timed together per sample.
    pub batch: Option<u64>,
    /// Every timed sample, nanoseconds per gradient, in the order taken.
    pub samples_ns: Vec<f64>,
    /// How many of `samples_ns` each round took, in order (they sum to its length): the
    /// first `round_samples[0]` samples are round 1's, and so on.
    pub round_samples: Vec<u64>,
    /// Median of the samples.
    pub median_ns: Option<f64>,
    /// Fastest sample.
    pub min_ns: Option<f64>,
    /// Slowest sample.
    pub max_ns: Option<f64>,
    /// Lower end of the confidence interval of the median (order statistics).
    pub ci_low_ns: Option<f64>,
    /// Upper end of that interval.
    pub ci_high_ns: Option<f64>,
    /// The exact coverage of that interval: at least the metadata's `ci_level` with 6 or more
    /// samples, less with fewer (2 to 5 samples: `[min, max]`, covering with probability
    /// 1 - 2^(1-n)); missing with fewer than two samples.
    pub ci_level: Option<f64>,
    /// Median of the strategy's forward phase (lifting inputs, running the program), from
    /// the phase samples (timed apart from `samples_ns`).
    pub forward_median_ns: Option<f64>,
    /// Median of its reverse phase (reverse pass, releasing the graph), from the phase
    /// samples; 0 for forward mode and `primal`.
    pub reverse_median_ns: Option<f64>,
    /// Wall time of the first gradient of the case's process, the cold one: the memory and
    /// counting pass, its clock read around the gradient alone (its heap figures are
    /// `peak_heap_bytes`, `allocated_bytes` and `allocations`; counting them adds to the time
    /// of a strategy that allocates per operation, docs/results.md). Nothing of the gradient
    /// has run before it in the process but the operation count T, so code, caches, allocator
    /// and the strategy's reusable buffers are all cold, as in a run timed once (GradBench's).
    pub cold_ns: Option<f64>,
    /// Median of the `primal` strategy on the same workload, size and params in the same run:
    /// at the row's thread count when the run measured the primal there (the parallel primal of
    /// a fork-join workload), else at one thread.
    pub primal_median_ns: Option<f64>,
    /// `median_ns / primal_median_ns`: the cost of a gradient in primal evaluations.
    pub overhead: Option<f64>,
    /// Peak live heap bytes during one gradient (untimed pass): the peak of the live bytes of
    /// every thread of the case's pool together.
    pub peak_heap_bytes: Option<u64>,
    /// Heap bytes allocated during one gradient, frees not subtracted.
    pub allocated_bytes: Option<u64>,
    /// Allocation requests during one gradient (`alloc`, `alloc_zeroed`, `realloc`), frees
    /// not counted; deterministic for a binary and an input.
    pub allocations: Option<u64>,
    /// Peak resident set size of the case's process (includes the input and the binary).
    pub peak_rss_bytes: Option<u64>,
    /// Instructions executed per gradient under callgrind (`run --instructions`); missing
    /// otherwise.
    pub instructions: Option<u64>,
    /// The strategy's deterministic counters for one gradient (names per strategy, README).
    pub counters: BTreeMap<String, u64>,
    /// Seconds the case's process was busy (setup, warm-up, memory pass and samples).
    pub wall_s: f64,
    /// A `dualbench run` command that measures this case again (with its primal).
    pub command: String,
}

impl CaseResult {
    /// A row with only its identity, status and command, on one thread: every measurement
    /// missing.
    pub fn unmeasured(
        workload: &str,
        size: Option<u64>,
        params: BTreeMap<String, f64>,
        strategy: &str,
        status: Status,
        detail: String,
        command: String,
    ) -> CaseResult {
        CaseResult {
            workload: workload.to_string(),
            size,
            params,
            strategy: strategy.to_string(),
            threads: 1,
            status,
            detail,
            inputs: None,
            outputs: None,
            ops: None,
            naive_calls: None,
            input_hash: None,
            batch: None,
            samples_ns: Vec::new(),
            round_samples: Vec::new(),
            median_ns: None,
            min_ns: None,
            max_ns: None,
            ci_low_ns: None,
            ci_high_ns: None,
            ci_level: None,
            forward_median_ns: None,
            reverse_median_ns: None,
            cold_ns: None,
            primal_median_ns: None,
            overhead: None,
            peak_heap_bytes: None,
            allocated_bytes: None,
            allocations: None,
            peak_rss_bytes: None,
            instructions: None,
            counters: BTreeMap::new(),
            wall_s: 0.0,
            command,
        }
    }

    /// The names of the fields of a row, in order: the keys of every row of `results.json`
    /// (the CSV has these columns after `schema_version`).
    pub fn field_names() -> Vec<String> {
        let template = CaseResult::unmeasured(
            "",
            None,
            BTreeMap::new(),
            "",
            Status::Ok,
            String::new(),
            String::new(),
        );
        match serde_json::to_value(template) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => unreachable!("a row serialises to a JSON object"),
        }
    }

    /// The key that identifies a case within a results file.
    pub fn key(&self) -> CaseKey {
        let params = serde_json::to_string(&self.params).expect("params serialise");
        (
            self.workload.clone(),
            self.size,
            params,
            self.strategy.clone(),
            self.threads,
        )
    }

    /// `cold_ns / median_ns`: how many warm gradients the first, cold one of the process costs;
    /// `None` without both times (or with a median of 0).
    pub fn cold_ratio(&self) -> Option<f64> {
        let median = self.median_ns.filter(|&m| m > 0.0)?;
        Some(self.cold_ns? / median)
    }

    /// `peak_heap_bytes / ops`: the cold gradient's peak heap per primal operation, in bytes
    /// (for a tape, the bytes recorded per operation); `None` without both, or with T = 0.
    pub fn heap_per_op(&self) -> Option<f64> {
        let ops = self.ops.filter(|&t| t > 0)?;
        Some(self.peak_heap_bytes? as f64 / ops as f64)
    }

    /// The strategy with its thread count when that is not 1, as tables show it:
    /// `dualrev-par@2t`, or `tape`.
    pub fn strategy_label(&self) -> String {
        if self.threads == 1 {
            self.strategy.clone()
        } else {
            format!("{}@{}t", self.strategy, self.threads)
        }
    }
}

/// What identifies a case within a results file: (workload, size, params as JSON, strategy,
/// threads).
pub type CaseKey = (String, Option<u64>, String, String, u64);

/// The options a sweep ran with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The suite (`quick`, `paper`, `full`).
    pub suite: String,
    /// Wall-clock budget per case, seconds.
    pub budget_s: f64,
    /// Minimum number of timed samples per case (fewer only when the budget runs out).
    pub repeat: u64,
    /// Minimum total sampled time per case, seconds.
    pub min_time_s: f64,
    /// Untimed warm-up per case, seconds.
    pub warmup_s: f64,
    /// Fast gradients are batched so a sample takes at least this long, seconds.
    pub target_sample_s: f64,
    /// Samples of a group are interleaved in this many rounds.
    pub rounds: u64,
    /// Stack of the evaluation thread, MiB.
    pub stack_mib: u64,
    /// Cap on live heap bytes per case, MiB (0: none).
    pub memory_limit_mib: u64,
    /// `I/N` when this file holds one shard of a sweep.
    pub shard: Option<String>,
}

/// Where and how a results file was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The binary that measured.
    pub build: Build,
    /// The machine it ran on (no host name).
    pub machine: Machine,
    /// When the file was written, RFC 3339 UTC.
    pub date: String,
    /// The command line that wrote the file.
    pub command: String,
    /// The sweep's options.
    pub options: RunOptions,
    /// The requested confidence level of the `ci_*` columns (each row states the level its
    /// interval reaches in its own `ci_level`).
    pub ci_level: f64,
    /// For a file made by `dualbench merge`: the metadata of every input, in order (empty
    /// otherwise). The fields above are then the first input's, with merge's command and date.
    pub merged_from: Vec<Metadata>,
}

/// The content of `results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// How the rows were made.
    pub metadata: Metadata,
    /// One row per case.
    pub rows: Vec<CaseResult>,
}

impl ResultsFile {
    /// Write `results.json` and `results.csv` into `dir` (which must exist), each atomically.
    /// Both are written in full to temporary names before either replaces anything, so that a
    /// failed write (a full disk, say) leaves the directory as it was.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        let csv = Staged::write(&dir.join(CSV_FILE), |w| csv::write(&self.rows, w))?;
        let json = Staged::write(&dir.join(JSON_FILE), |w| json::write(self, w))?;
        csv.commit()?;
        json.commit()
    }

    /// The rows of a results file: a `.csv` file, or a `results.json` (or a directory holding
    /// one). A `results.csv` with a `results.json` beside it must hold the same rows: a CSV cut
    /// exactly between two rows is well-formed, and only its JSON can tell that rows are
    /// missing.
    pub fn read_rows(path: &Path) -> Result<Vec<CaseResult>> {
        let file = locate(path, true)?;
        if file.extension().is_some_and(|e| e == "csv") {
            read_csv(&file)
        } else {
            Ok(read_json(&file)?.rows)
        }
    }

    /// Read a results file: a `results.json`, or a directory that holds one. A CSV is refused
    /// with a message that says what to give instead: it lacks the metadata.
    pub fn read(path: &Path) -> Result<ResultsFile> {
        read_json(&locate(path, false)?)
    }
}

/// Whether `path` is a CSV that [`ResultsFile::read_rows`] reads without a `results.json` to
/// check it against: a cut exactly between two of its rows leaves a well-formed file, which
/// then reads as fewer rows. The commands that read one say so.
pub fn is_unchecked_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "csv")
        && !(path.file_name().is_some_and(|n| n == CSV_FILE)
            && path.with_file_name(JSON_FILE).is_file())
}

/// The note the commands print when they read an [unchecked CSV](is_unchecked_csv).
pub fn unchecked_csv_note(path: &Path) -> String {
    format!(
        "{} has no results.json beside it to check it against: a file cut between two rows \
         cannot be told from a complete one; read the results directory when you have it",
        path.display()
    )
}

/// The file that `path` names for a reader of results: `path` itself, or the `results.json` of
/// a directory. A missing path, a directory without `results.json` (what it holds instead is
/// named) and, unless `csv_allowed`, a `.csv` file are errors that say what to give.
fn locate(path: &Path, csv_allowed: bool) -> Result<PathBuf> {
    let valid = if csv_allowed {
        "give a results directory (written by `dualbench run` or `dualbench merge`), its \
         results.json or its results.csv"
    } else {
        "give a results directory (written by `dualbench run` or `dualbench merge`) or its \
         results.json"
    };
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::usage(format!(
                "{}: no such file or directory; {valid}",
                path.display()
            )))
        }
        Err(source) => {
            return Err(Error::Io {
                context: format!("reading results file {}", path.display()),
                source,
            })
        }
    };
    if metadata.is_dir() {
        let json = path.join(JSON_FILE);
        if json.is_file() {
            return Ok(json);
        }
        let holds = if path.join(journal::JOURNAL_FILE).exists() {
            format!(
                "holds the journal of a run that is in progress or was interrupted, but no \
                 results.json yet (an interrupted run is finished by `dualbench run --resume \
                 {}`)",
                path.display()
            )
        } else if path.join(CSV_FILE).is_file() {
            if csv_allowed {
                format!(
                    "holds results.csv but no results.json (give {} to read the CSV alone)",
                    path.join(CSV_FILE).display()
                )
            } else {
                "holds results.csv but no results.json, which carries the metadata (build, \
                 machine, options) that the CSV lacks"
                    .to_string()
            }
        } else {
            "holds no results.json".to_string()
        };
        return Err(Error::usage(format!("{} {holds}; {valid}", path.display())));
    }
    if !csv_allowed && path.extension().is_some_and(|e| e == "csv") {
        let beside = path.with_file_name(JSON_FILE);
        return Err(Error::usage(format!(
            "{} is a results CSV: it lacks the metadata (build, machine, options) that this \
             command needs; give its directory {}, or the results.json beside it ({})",
            path.display(),
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .display(),
            beside.display()
        )));
    }
    Ok(path.to_path_buf())
}

/// Open `file` for reading, naming it on failure.
fn open(file: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    std::fs::File::open(file)
        .map(std::io::BufReader::new)
        .map_err(|source| Error::Io {
            context: format!("reading results file {}", file.display()),
            source,
        })
}

/// Read the `results.json` file `file`, its name in every error.
fn read_json(file: &Path) -> Result<ResultsFile> {
    json::read(open(file)?).map_err(|e| Error::usage(format!("{}: {e}", file.display())))
}

/// Read the CSV file `file`, its name in every error; a `results.csv` is checked against the
/// `results.json` beside it, when there is one.
fn read_csv(file: &Path) -> Result<Vec<CaseResult>> {
    let rows =
        csv::read(open(file)?).map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
    let beside = file.with_file_name(JSON_FILE);
    if file.file_name().is_some_and(|n| n == CSV_FILE) && beside.is_file() {
        let json = read_json(&beside).map_err(|e| {
            Error::usage(format!(
                "{}: the results.json beside it, which the CSV is checked against, cannot be \
                 read: {e}",
                file.display()
            ))
        })?;
        same_rows(&rows, &json.rows, &beside.display().to_string())
            .map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
    }
    Ok(rows)
}

/// Whether the rows of a CSV are those of its JSON (`json_name`), in order; else what differs.
fn same_rows(
    csv: &[CaseResult],
    json: &[CaseResult],
    json_name: &str,
) -> std::result::Result<(), String> {
    // As text: exact, and a NaN (`naive_calls`) equals itself.
    let text = |r: &CaseResult| serde_json::to_string(r).expect("rows serialise");
    let advice = "the two were not written together, or one was cut short or edited: read the \
                  directory (its results.json), or regenerate both";
    if let Some(i) = csv.iter().zip(json).position(|(c, j)| text(c) != text(j)) {
        return Err(format!(
            "line {} ({}) differs from row {} of {json_name} beside it; {advice}",
            i + 2,
            validate::case_label(&csv[i]),
            i + 1
        ));
    }
    if csv.len() < json.len() {
        return Err(format!(
            "holds {} rows, {} fewer than {json_name} beside it: the CSV is cut short after \
             line {} (or rows were removed); {advice}",
            csv.len(),
            json.len() - csv.len(),
            csv.len() + 1
        ));
    }
    if csv.len() > json.len() {
        return Err(format!(
            "holds {} rows, {} more than {json_name} beside it; {advice}",
            csv.len(),
            csv.len() - json.len()
        ));
    }
    Ok(())
}

/// A file written in full to a temporary name beside its path and flushed to disk, waiting to
/// be renamed into place by [`Staged::commit`] (or removed, if dropped).
struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Staged {
    /// Write the file through `write` to a temporary name beside `path` and flush it to disk.
    fn write(
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<Self> {
        let io = |source| Error::Io {
            context: format!("writing {}", path.display()),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(parent_dir(path)).map_err(io)?;
        {
            let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
            write(&mut buffered).map_err(io)?;
            buffered.flush().map_err(io)?;
        }
        // Temporary files are private (0600); results files are meant to be shared.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        Ok(Staged {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Rename the file into place and flush the directory.
    fn commit(self) -> Result<()> {
        let path = self.path;
        self.tmp.persist(&path).map_err(|e| Error::Io {
            context: format!("writing {}", path.display()),
            source: e.error,
        })?;
        sync_dir(parent_dir(&path));
        Ok(())
    }
}

/// The directory a file is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Write a file through `write` to a temporary name beside `path`, flush it to disk, then
/// rename it into place and flush the directory, so that after a crash `path` holds either
/// its old content or the complete new one.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    Staged::write(path, write)?.commit()
}

/// Flush a directory's entries (a rename or a removal in it) to disk. Best effort: not every
/// system can open a directory for this, and the files themselves are already synced.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_only_the_complete_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, |w| w.write_all(b"complete")).unwrap();
        let failed = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "complete");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
