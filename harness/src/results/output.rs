//! Output directories: results are never silently destroyed.
//!
//! `run` and `merge` write `results.json` and `results.csv` into a directory. If it already
//! holds results (or the journal of an interrupted run), they are replaced only when that is
//! what the user asked for: the default directory of `run`, `results/latest`, is a scratch
//! directory and is overwritten; any other needs `--force`. The check happens before any work
//! starts, so a refused run costs nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::results::journal::JOURNAL_FILE;
use crate::results::{CSV_FILE, JSON_FILE};

/// The directory `dualbench run` writes to when `--out` is not given.
pub const DEFAULT_RUN_DIR: &str = "results/latest";

/// What may be replaced in an output directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Nothing: the directory must not hold results or a journal.
    #[default]
    Refuse,
    /// Anything (`--force`, or the default scratch directory).
    Allow,
}

/// A results directory to write into, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDir {
    /// The directory (it exists and is writable).
    pub path: PathBuf,
}

impl OutputDir {
    /// Check `dir` for `command` (`run`, `merge`), create it if needed and prove that a file
    /// can be written in it. With [`Overwrite::Refuse`], a directory that already holds
    /// results or a journal is an error that says how to proceed.
    pub fn prepare(dir: &Path, overwrite: Overwrite, command: &str) -> Result<OutputDir> {
        if overwrite == Overwrite::Refuse {
            let journal = dir.join(JOURNAL_FILE);
            if journal.exists() {
                return Err(Error::usage(format!(
                    "{} holds the journal of an interrupted run ({}): continue it with \
                     `dualbench run --resume {}`, or pass --force to discard it and write \
                     new results there",
                    dir.display(),
                    journal.display(),
                    dir.display()
                )));
            }
            let existing: Vec<String> = [JSON_FILE, CSV_FILE]
                .iter()
                .filter(|f| dir.join(f).exists())
                .map(|f| f.to_string())
                .collect();
            if !existing.is_empty() {
                return Err(Error::usage(format!(
                    "{} already holds results ({}); `dualbench {command}` will not overwrite \
                     them: pass --force to replace them, or choose another --out directory \
                     (only the default {DEFAULT_RUN_DIR} is overwritten without --force)",
                    dir.display(),
                    existing.join(", ")
                )));
            }
        }
        let unwritable = |source| Error::Io {
            context: format!("--out {} is not a writable directory", dir.display()),
            source,
        };
        std::fs::create_dir_all(dir).map_err(unwritable)?;
        tempfile::NamedTempFile::new_in(dir).map_err(unwritable)?;
        Ok(OutputDir {
            path: dir.to_path_buf(),
        })
    }
}

/// Whether `dir` is `run`'s default directory (relative to the working directory).
pub fn is_default_run_dir(dir: &Path) -> bool {
    let default = Path::new(DEFAULT_RUN_DIR);
    if dir == default {
        return true;
    }
    match (dir.canonicalize(), default.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_never_silently_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("paper");
        OutputDir::prepare(&out, Overwrite::Refuse, "run").expect("a new directory is fine");
        std::fs::write(out.join(JSON_FILE), "{}").unwrap();
        let e = OutputDir::prepare(&out, Overwrite::Refuse, "run")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("already holds results") && e.contains("--force"),
            "{e}"
        );
        OutputDir::prepare(&out, Overwrite::Allow, "run").expect("--force replaces");
        std::fs::remove_file(out.join(JSON_FILE)).unwrap();
        std::fs::write(out.join(JOURNAL_FILE), "").unwrap();
        let e = OutputDir::prepare(&out, Overwrite::Refuse, "run")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--resume"), "{e}");
    }
}
