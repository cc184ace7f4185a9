//! Output directories: results are never silently destroyed, and never written by two
//! processes at once.
//!
//! `run` and `merge` write `results.json` and `results.csv` into a directory. They lock it
//! first ([`DirLock`]): a directory another run or merge is writing into is refused, naming
//! that process. If it already holds results (or the journal of an interrupted run), they are
//! replaced only when that is what the user asked for: the default directory of `run`,
//! `results/latest`, is a scratch directory whose results are overwritten — but not the
//! journal of an interrupted run, which `--resume` would continue; anything else needs
//! `--force`. The checks happen before any work starts, so a refused run costs nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::results::journal::JOURNAL_FILE;
use crate::results::lock::DirLock;
use crate::results::{CSV_FILE, JSON_FILE};

/// The directory `dualbench run` writes to when `--out` is not given.
pub const DEFAULT_RUN_DIR: &str = "results/latest";

/// What may be replaced in an output directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Nothing: the directory must not hold results or a journal.
    #[default]
    Refuse,
    /// Results, but not the journal of an interrupted run (the default scratch directory).
    Scratch,
    /// Anything (`--force`, or `--resume`, which continues the journal).
    Allow,
}

/// A results directory to write into: checked, and locked while this value lives.
#[derive(Debug)]
pub struct OutputDir {
    /// The directory (it exists and is writable).
    pub path: PathBuf,
    /// Held until the results are written (or the command fails).
    lock: DirLock,
}

impl OutputDir {
    /// Check `dir` for `command` (`run`, `merge`), create it if needed, prove that a file can
    /// be written in it and lock it. A directory locked by another process is an error naming
    /// it; so is, unless `overwrite` allows it, a directory that already holds results or a
    /// journal (the error says how to proceed).
    pub fn prepare(dir: &Path, overwrite: Overwrite, command: &str) -> Result<OutputDir> {
        let unwritable = |source| Error::Io {
            context: format!("--out {} is not a writable directory", dir.display()),
            source,
        };
        if dir.as_os_str().is_empty() {
            return Err(Error::usage(
                "--out is empty: name a directory for the results (e.g. --out results/mine)",
            ));
        }
        std::fs::create_dir_all(dir).map_err(unwritable)?;
        tempfile::NamedTempFile::new_in(dir).map_err(unwritable)?;
        let lock = DirLock::acquire(dir, &crate::sweep::command_line())?;
        let journal = dir.join(JOURNAL_FILE);
        if overwrite != Overwrite::Allow && journal.exists() {
            return Err(Error::usage(format!(
                "{} holds the journal of an interrupted run ({}): continue it with \
                 `dualbench run --resume {}`, or pass --force to discard it and write \
                 new results there",
                dir.display(),
                journal.display(),
                dir.display()
            )));
        }
        if overwrite == Overwrite::Refuse {
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
        Ok(OutputDir {
            path: dir.to_path_buf(),
            lock,
        })
    }

    /// The lock file held for this directory.
    pub fn lock_file(&self) -> &Path {
        self.lock.path()
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
        drop(OutputDir::prepare(&out, Overwrite::Refuse, "run").expect("a new directory is fine"));
        std::fs::write(out.join(JSON_FILE), "{}").unwrap();
        let e = OutputDir::prepare(&out, Overwrite::Refuse, "run")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("already holds results") && e.contains("--force"),
            "{e}"
        );
        drop(OutputDir::prepare(&out, Overwrite::Scratch, "run").expect("scratch results go"));
        drop(OutputDir::prepare(&out, Overwrite::Allow, "run").expect("--force replaces"));
        std::fs::remove_file(out.join(JSON_FILE)).unwrap();
        std::fs::write(out.join(JOURNAL_FILE), "").unwrap();
        for overwrite in [Overwrite::Refuse, Overwrite::Scratch] {
            let e = OutputDir::prepare(&out, overwrite, "run")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("--resume {}", out.display())) && e.contains("--force"),
                "{overwrite:?}: {e}"
            );
        }
        assert!(
            !out.join(crate::results::lock::LOCK_FILE).exists(),
            "released"
        );
    }

    #[test]
    fn a_directory_in_use_is_refused_whatever_may_be_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let held = OutputDir::prepare(dir.path(), Overwrite::Refuse, "run").unwrap();
        for overwrite in [Overwrite::Refuse, Overwrite::Scratch, Overwrite::Allow] {
            let e = OutputDir::prepare(dir.path(), overwrite, "merge")
                .unwrap_err()
                .to_string();
            assert!(e.contains("in use") && e.contains("pid"), "{e}");
        }
        assert!(held.lock_file().exists());
        drop(held);
        assert!(!dir.path().join(crate::results::lock::LOCK_FILE).exists());
    }
}
