//! Ctrl-C and other requests to stop (SIGINT, SIGTERM, SIGHUP): a sweep stops cleanly, and a
//! results directory this process locked is released.
//!
//! [`watch`] starts, once per process, a thread that receives these signals (through
//! `signal-hook`, so nothing but a flag is touched inside the signal handler). What it does
//! depends on what the process is doing:
//!
//! - while a [`Graceful`] guard lives (a `run` sweep measuring its groups), the first signal is
//!   only recorded ([`requested`]) and every case process this one started is killed: the sweep
//!   notices at its next step, does not journal the group it was measuring, releases its lock
//!   and says how to continue (`dualbench run --resume DIR`);
//! - otherwise, or at a second signal, the process removes the lock files it holds and exits at
//!   once with 128 + the signal's number, as the default action would have ended it.
//!
//! The case processes are registered here ([`track_child`]) so that an interrupt reaches them
//! even when only this process was signalled (`kill -INT`), not the terminal's whole process
//! group. A child is unregistered before it is reaped, so a killed pid is always still ours.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// The first stop signal received, 0 for none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// What an interrupt must clean up.
struct Registry {
    /// Case processes alive (their pids).
    children: BTreeSet<u32>,
    /// Lock files this process holds.
    locks: Vec<PathBuf>,
    /// Live [`Graceful`] guards.
    graceful: usize,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    children: BTreeSet::new(),
    locks: Vec::new(),
    graceful: 0,
});

/// The registry; a thread that panicked while holding it left it consistent (every update is
/// one insertion or removal).
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Start receiving stop signals (once per process; later calls do nothing). Best effort: if
/// the signals cannot be taken over, they keep their default action, and a lock file left
/// behind is found stale by the next run.
pub fn watch() {
    static WATCH: Once = Once::new();
    WATCH.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        on_signal(signal);
                    }
                });
        }
    });
}

/// React to a stop signal; see the module documentation.
fn on_signal(signal: i32) {
    let first = SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    let mut registry = registry();
    for &pid in &registry.children {
        kill(pid);
    }
    if first && registry.graceful > 0 {
        return;
    }
    for lock in registry.locks.drain(..) {
        let _ = std::fs::remove_file(lock);
    }
    drop(registry);
    crate::output::note(&format!("interrupted by {}", signal_name(signal)));
    std::process::exit(128 + signal);
}

#[cfg(unix)]
fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: `kill` has no memory effects; the pid is a child of this process that has
        // not been reaped (children are unregistered before they are waited for).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

#[cfg(not(unix))]
fn kill(_pid: u32) {}

/// The stop signal received so far, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The conventional name of a signal number (`SIGINT`), or `signal N`.
pub fn signal_name(signal: i32) -> String {
    #[cfg(unix)]
    {
        let known = [
            (libc::SIGINT, "SIGINT (Ctrl-C)"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGBUS, "SIGBUS"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGFPE, "SIGFPE"),
            (libc::SIGABRT, "SIGABRT"),
        ];
        if let Some((_, name)) = known.iter().find(|(s, _)| *s == signal) {
            return (*name).to_string();
        }
    }
    format!("signal {signal}")
}

/// Whether `signal` asks a process to stop (what an interrupt sends), rather than reporting a
/// fault of its own.
pub fn is_stop_signal(signal: i32) -> bool {
    #[cfg(unix)]
    {
        [libc::SIGINT, libc::SIGTERM, libc::SIGHUP].contains(&signal)
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        false
    }
}

/// While it lives, a first stop signal stops the sweep at its next step instead of ending the
/// process ([`graceful`]).
#[derive(Debug)]
pub struct Graceful(());

/// Enter the part of a command that stops cleanly on its own when [`requested`] says so.
pub fn graceful() -> Graceful {
    watch();
    registry().graceful += 1;
    Graceful(())
}

impl Drop for Graceful {
    fn drop(&mut self) {
        registry().graceful -= 1;
    }
}

/// Register a case process, to be killed on an interrupt.
pub fn track_child(pid: u32) {
    registry().children.insert(pid);
}

/// Unregister a case process; called before it is reaped.
pub fn untrack_child(pid: u32) {
    registry().children.remove(&pid);
}

/// Register a lock file this process holds, to be removed if an interrupt ends the process.
pub fn track_lock(path: &Path) {
    watch();
    registry().locks.push(path.to_path_buf());
}

/// Unregister a lock file (its holder removes it itself).
pub fn untrack_lock(path: &Path) {
    registry().locks.retain(|p| p != path);
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn signals_have_names_and_only_requests_to_stop_are_stop_signals() {
        assert_eq!(signal_name(libc::SIGINT), "SIGINT (Ctrl-C)");
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
        assert_eq!(signal_name(64), "signal 64");
        assert!(is_stop_signal(libc::SIGTERM) && is_stop_signal(libc::SIGINT));
        assert!(!is_stop_signal(libc::SIGKILL) && !is_stop_signal(libc::SIGSEGV));
    }
}
