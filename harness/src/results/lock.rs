//! The lock of a results directory: one `run` (or `merge`) writes into a directory at a time.
//!
//! Two runs into one directory would write one journal and replace each other's results, and
//! the one that finished last would say "wrote results.json" over rows it did not measure. So
//! `run` (new or `--resume`d) and `merge` lock their output directory before they look at what
//! it holds, and release it on every way out: success, an error, a panic that unwinds, and an
//! interrupt ([`crate::interrupt`]).
//!
//! The lock is the file `DIR/dualbench.lock`, holding the holder's pid, command and start time,
//! and an exclusive `flock` on it. The `flock` is what excludes: the kernel releases it when
//! its holder dies, however it dies, so a lock file whose holder was killed (`SIGKILL`, a power
//! cut) is recognised as stale by the next run — which names the pid that left it and takes it
//! over — and a recycled pid can never make a dead holder look alive. The pid in the file is
//! what a refused run is told. A holder removes the file before it releases the `flock`; a run
//! that locked a file which was removed meanwhile (its inode is no longer the path's) tries
//! again, so two runs can never both hold the lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::interrupt;

/// The lock file's name inside a results directory.
pub const LOCK_FILE: &str = "dualbench.lock";

/// Who holds a lock: the content of the lock file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's process id.
    pub pid: u32,
    /// Its command line.
    pub command: String,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
}

impl Holder {
    fn describe(&self) -> String {
        format!("pid {}, `{}`, since {}", self.pid, self.command, self.since)
    }
}

/// A held lock of a results directory; released (the file removed) when dropped.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    /// Holds the `flock` while open.
    _file: File,
}

impl DirLock {
    /// Lock `dir` (which must exist) for this process, running `command`. A directory locked
    /// by a live process is an error that names it; a stale lock is taken over, with a note
    /// on stderr that names the pid that left it.
    pub fn acquire(dir: &Path, command: &str) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let io = |what: &str| {
            let context = format!("{what} the lock file {}", path.display());
            move |source| Error::Io { context, source }
        };
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io("creating"))?;
            if !try_lock(&file).map_err(io("locking"))? {
                return Err(in_use(dir, &path, read_holder(&mut file).as_ref()));
            }
            if !still_at(&file, &path) {
                // Its holder removed it between our open and our lock: lock the new one.
                continue;
            }
            if let Some(stale) = read_holder_text(&mut file) {
                crate::output::note(&format!(
                    "note: {} was left by a dualbench that is no longer running ({}); taking \
                     the lock over",
                    path.display(),
                    stale
                ));
            }
            let holder = Holder {
                pid: std::process::id(),
                command: command.to_string(),
                since: crate::sweep::now(),
            };
            let text = serde_json::to_string(&holder).expect("holders serialise") + "\n";
            file.set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
                .and_then(|()| file.write_all(text.as_bytes()))
                .and_then(|()| file.sync_data())
                .map_err(io("writing"))?;
            interrupt::track_lock(&path);
            return Ok(DirLock { path, _file: file });
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        interrupt::untrack_lock(&self.path);
        // Removed before the file (and its `flock`) is closed: see the module documentation.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The error for a directory locked by a live process.
fn in_use(dir: &Path, path: &Path, holder: Option<&Holder>) -> Error {
    let who = holder.map_or_else(
        || "a dualbench that is starting (its lock file is not written yet)".to_string(),
        |h| format!("another dualbench ({})", h.describe()),
    );
    Error::usage(format!(
        "{} is in use by {who}: its lock {} is held. Two runs into one directory would \
         replace each other's results; wait for that one to finish (or stop it), or choose \
         another --out directory",
        dir.display(),
        path.display()
    ))
}

/// The holder recorded in an open lock file, if it parses.
fn read_holder(file: &mut File) -> Option<Holder> {
    read_text(file).and_then(|t| serde_json::from_str(t.trim()).ok())
}

/// A description of the holder recorded in a lock file that nobody holds: `None` for an empty
/// file (just created by this process, or left by a holder that died before writing it:
/// nothing to name either way).
fn read_holder_text(file: &mut File) -> Option<String> {
    let text = read_text(file)?;
    let text = text.trim();
    match serde_json::from_str::<Holder>(text) {
        Ok(holder) => Some(holder.describe()),
        Err(_) if text.is_empty() => None,
        Err(_) => Some(format!("unreadable holder `{text}`")),
    }
}

fn read_text(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(4096).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Take the exclusive lock on `file` without waiting: `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: `flock` on a descriptor this `File` owns; it has no memory effects.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Without `flock`, a lock file that exists is held.
#[cfg(not(unix))]
fn try_lock(file: &File) -> std::io::Result<bool> {
    Ok(file.metadata()?.len() == 0)
}

/// Whether `file` is still the file at `path` (not removed or replaced since it was opened).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(now)) => open.dev() == now.dev() && open.ino() == now.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_held_directory_is_refused_with_its_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path(), "dualbench run --out x").unwrap();
        let holder: Holder =
            serde_json::from_str(&std::fs::read_to_string(lock.path()).unwrap()).unwrap();
        assert_eq!(holder.pid, std::process::id());
        // A second lock, even from this process (another open file), is refused.
        let e = DirLock::acquire(dir.path(), "dualbench merge")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id()))
                && e.contains("dualbench run --out x")
                && e.contains("in use"),
            "{e}"
        );
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
        DirLock::acquire(dir.path(), "dualbench run").expect("free again");
    }

    #[test]
    fn a_lock_file_nobody_holds_is_stale_and_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let stale = Holder {
            pid: 999_999_999,
            command: "dualbench run".into(),
            since: "2026-01-01T00:00:00Z".into(),
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&stale).unwrap(),
        )
        .unwrap();
        let lock = DirLock::acquire(dir.path(), "dualbench run --resume x").unwrap();
        let holder: Holder =
            serde_json::from_str(&std::fs::read_to_string(lock.path()).unwrap()).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "dualbench run --resume x");
    }
}
