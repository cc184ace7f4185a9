//! The parent side of isolation: one `dualbench run-case` child process per case.
//!
//! A [`CaseProcess`] starts `current_exe() run-case --spec JSON`, exchanges [`Request`] /
//! [`Response`] lines with it, and charges the time it waits for each answer to the case's
//! wall-clock budget. A case that does not finish normally ends in one of three ways
//! ([`Stop`]): the case failed, which is a result (its status below); the harness could not
//! run it, which is an error of the whole run (the case's process could not be started, or it
//! exited with a dualbench error such as "cannot start 1 evaluation threads" — nothing about
//! the case, so no row may say it crashed); or the run was interrupted.
//!
//! | status | detected by |
//! |---|---|
//! | `timeout` | an answer did not arrive before the case's budget ran out: the child is killed |
//! | `oom` | the child's stderr says `memory allocation of N bytes failed` (the counting allocator refused an allocation beyond `--memory-limit-mib`, or the system allocator failed) |
//! | `crashed` | the child's stderr says `has overflowed its stack` (detail `stack overflow`); or it panicked (detail: the panic message); or it died of a signal the parent did not send (detail: the signal; for `SIGKILL`, which the kernel's out-of-memory killer sends, also the child's last reported heap against the memory cap); or it exited otherwise |
//!
//! A child that died of SIGINT, SIGTERM or SIGHUP (the terminal's Ctrl-C reaches the whole
//! process group) was interrupted, as is any child once this process received such a signal
//! ([`crate::interrupt`]): no row is made of it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::interrupt;
use crate::measure::protocol::{CaseInfo, CaseSpec, Request, Response, Samples, Setup};
use crate::results::Status;

/// Why a case ended without its full measurement: its status and a one-line detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `timeout`, `oom` or `crashed`.
    pub status: Status,
    /// What happened, for the results row.
    pub detail: String,
}

/// Why a case's process stopped before its measurement was complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The case failed: a result, recorded in its row.
    Failed(Failure),
    /// The case could not be run for a reason that is not the case's: an error of the run.
    Setup(String),
    /// The run was interrupted (the signal's name): no result.
    Interrupted(String),
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Stop {
        Stop::Failed(failure)
    }
}

/// What the parent knows about a child's memory when something outside kills it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryKnown {
    /// The child's memory cap in bytes, 0 for none; `None` when the caller does not know it.
    pub cap_bytes: Option<u64>,
    /// The heap high-water mark it reported last, if it reported one.
    pub reported_bytes: Option<u64>,
}

/// A running `run-case` child and the budget it has left. Its methods follow the protocol:
/// [`CaseProcess::spawn`], [`CaseProcess::counted`], [`CaseProcess::ready`], any number of
/// [`CaseProcess::measure`], then [`CaseProcess::finish`].
#[derive(Debug)]
pub struct CaseProcess {
    child: Child,
    /// Whether the child is still registered with [`interrupt`] (not yet reaped).
    tracked: bool,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    stderr: Option<JoinHandle<String>>,
    budget: Duration,
    busy: Duration,
    memory: MemoryKnown,
}

impl CaseProcess {
    /// Start `exe run-case` for `spec` with a wall-clock budget.
    pub fn spawn(exe: &Path, spec: &CaseSpec, budget: Duration) -> Result<Self, Stop> {
        if let Some(signal) = interrupt::requested() {
            return Err(Stop::Interrupted(interrupt::signal_name(signal)));
        }
        let spec_json = serde_json::to_string(spec).expect("case specs serialise");
        let mut child = Command::new(exe)
            .args(["run-case", "--spec", &spec_json])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Stop::Setup(format!(
                    "could not start the case's process ({}): {e}",
                    exe.display()
                ))
            })?;
        interrupt::track_child(child.id());
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            // A child that dies mid-write leaves invalid UTF-8 at worst; keep what was read.
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut process = CaseProcess {
            child,
            tracked: true,
            stdin,
            lines,
            stderr: Some(stderr),
            budget,
            busy: Duration::ZERO,
            memory: MemoryKnown {
                cap_bytes: Some(spec.memory_limit_bytes as u64),
                reported_bytes: None,
            },
        };
        // An interrupt that came between the check above and the registration missed it.
        if let Some(signal) = interrupt::requested() {
            process.kill();
            return Err(Stop::Interrupted(interrupt::signal_name(signal)));
        }
        Ok(process)
    }

    /// Wait until the case is instantiated and counted.
    pub fn counted(&mut self) -> Result<CaseInfo, Stop> {
        match self.receive()? {
            Response::Counted(info) => Ok(info),
            other => Err(self.protocol_error(&other)),
        }
    }

    /// Wait until the case is warmed up.
    pub fn ready(&mut self) -> Result<Setup, Stop> {
        match self.receive()? {
            Response::Ready(setup) => Ok(setup),
            other => Err(self.protocol_error(&other)),
        }
    }

    /// Time charged to the case so far (waiting for its answers).
    pub fn busy(&self) -> Duration {
        self.busy
    }

    /// Budget left.
    pub fn remaining(&self) -> Duration {
        self.budget.saturating_sub(self.busy)
    }

    /// `phase_samples` phase samples (the warm-up), then `samples` timed samples.
    pub fn measure(&mut self, samples: u64, phase_samples: u64) -> Result<Samples, Stop> {
        self.send(Request::Measure {
            samples,
            phase_samples,
        })?;
        match self.receive()? {
            Response::Samples(samples) => Ok(samples),
            other => Err(self.protocol_error(&other)),
        }
    }

    /// Ask for the peak RSS and let the child exit.
    pub fn finish(mut self) -> Result<Option<u64>, Stop> {
        self.send(Request::Finish)?;
        match self.receive()? {
            Response::Finished { peak_rss_bytes } => {
                // The child exits on its own; reap it so no zombie is left.
                let _ = self.reap();
                Ok(peak_rss_bytes)
            }
            other => Err(self.protocol_error(&other)),
        }
    }

    fn send(&mut self, request: Request) -> Result<(), Stop> {
        let line = serde_json::to_string(&request).expect("requests serialise");
        if writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .is_err()
        {
            // The child is gone; its exit status says why.
            return Err(self.died());
        }
        Ok(())
    }

    /// Wait for the next line within the remaining budget.
    fn receive(&mut self) -> Result<Response, Stop> {
        let start = Instant::now();
        let got = self.lines.recv_timeout(self.remaining());
        self.busy += start.elapsed();
        match got {
            Ok(Ok(line)) => match serde_json::from_str::<Response>(&line) {
                Ok(response) => {
                    if let Some(bytes) = response.heap_bytes() {
                        self.memory.reported_bytes = Some(bytes);
                    }
                    Ok(response)
                }
                Err(e) => {
                    // Something in the case wrote to stdout: the case's doing.
                    self.kill();
                    Err(Stop::Failed(Failure {
                        status: Status::Crashed,
                        detail: format!("unreadable answer from the case's process ({e}): {line}"),
                    }))
                }
            },
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => Err(self.died()),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                if let Some(signal) = interrupt::requested() {
                    return Err(Stop::Interrupted(interrupt::signal_name(signal)));
                }
                Err(Stop::Failed(Failure {
                    status: Status::Timeout,
                    detail: format!(
                        "exceeded the budget of {} s",
                        format_seconds(self.budget.as_secs_f64())
                    ),
                }))
            }
        }
    }

    /// Kill the child (if it has not exited yet) and reap it.
    fn kill(&mut self) {
        // Already exited is fine: either way it is gone after `wait`.
        let _ = self.child.kill();
        let _ = self.reap();
    }

    /// Wait for the child to exit, unregistering it first (a reaped pid may be reused).
    fn reap(&mut self) -> std::io::Result<ExitStatus> {
        if self.tracked {
            interrupt::untrack_child(self.child.id());
            self.tracked = false;
        }
        self.child.wait()
    }

    fn protocol_error(&mut self, response: &Response) -> Stop {
        self.kill();
        Stop::Failed(Failure {
            status: Status::Crashed,
            detail: format!("unexpected answer from the case's process: {response:?}"),
        })
    }

    /// The child closed its stdout: wait for it and classify how it ended.
    fn died(&mut self) -> Stop {
        let status = self.reap();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if let Some(signal) = interrupt::requested() {
            return Stop::Interrupted(interrupt::signal_name(signal));
        }
        match status {
            Ok(status) => classify_stop(status, &stderr, self.memory),
            Err(e) => Stop::Setup(format!("could not wait for the case's process: {e}")),
        }
    }
}

impl Drop for CaseProcess {
    fn drop(&mut self) {
        // Not reaped yet (running, or exited and waiting to be reaped): kill and reap it.
        if self.tracked {
            self.kill();
        }
    }
}

/// Seconds without trailing zeros (`2`, `0.5`).
pub fn format_seconds(s: f64) -> String {
    let text = format!("{s:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How a child that ended on its own failed, as a status and a detail, for a caller that has
/// no run to stop (`gradbench`'s worker): [`classify_stop`] with nothing known of its heap, a
/// setup error or an interrupt as a crash with its reason.
pub fn classify(status: ExitStatus, stderr: &str) -> Failure {
    match classify_stop(status, stderr, MemoryKnown::default()) {
        Stop::Failed(failure) => failure,
        Stop::Setup(detail) => Failure {
            status: Status::Crashed,
            detail,
        },
        Stop::Interrupted(signal) => Failure {
            status: Status::Crashed,
            detail: format!("killed by {signal}"),
        },
    }
}

/// How a child that ended on its own (not killed by the parent) stopped; `memory` is what the
/// parent knows of its heap.
pub fn classify_stop(status: ExitStatus, stderr: &str, memory: MemoryKnown) -> Stop {
    let crashed = |detail: String| {
        Stop::Failed(Failure {
            status: Status::Crashed,
            detail,
        })
    };
    if stderr.contains("has overflowed its stack") {
        return crashed("stack overflow".into());
    }
    if let Some(line) = stderr
        .lines()
        .find(|l| l.contains("memory allocation of") && l.contains("failed"))
    {
        return Stop::Failed(Failure {
            status: Status::Oom,
            detail: line.trim().to_string(),
        });
    }
    if let Some(message) = panic_message(stderr) {
        return crashed(format!("panicked: {message}"));
    }
    if let Some(error) = stderr.lines().find_map(|l| l.strip_prefix("error: ")) {
        // `run-case` reports an error of its own (it could not set the case up): nothing
        // about the case, so not a row.
        return Stop::Setup(error.to_string());
    }
    match signal(status) {
        Some(sig) if interrupt::is_stop_signal(sig) => {
            Stop::Interrupted(interrupt::signal_name(sig))
        }
        Some(sig) if is_sigkill(sig) => crashed(killed_from_outside(memory)),
        Some(sig) => crashed(format!("killed by {}", interrupt::signal_name(sig))),
        None => crashed(format!("exited with {status}")),
    }
}

/// The detail of a child killed by a `SIGKILL` the parent did not send: what is known.
fn killed_from_outside(memory: MemoryKnown) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    let what = "killed by SIGKILL from outside dualbench (the kernel's out-of-memory killer, or \
                another process)";
    let cap_bytes = match memory.cap_bytes {
        None => return what.to_string(),
        Some(0) => return format!("{what}; no memory cap was set (--memory-limit-mib 0)"),
        Some(bytes) => bytes,
    };
    let cap = cap_bytes as f64 / MIB;
    match memory.reported_bytes {
        None => format!(
            "{what}; it reported no heap figure before: the memory cap of {cap:.0} MiB was not \
             reached as far as known"
        ),
        Some(bytes) => {
            let share = bytes as f64 / cap_bytes as f64;
            let near = if share >= NEAR_THE_CAP {
                "near"
            } else {
                "below"
            };
            format!(
                "{what}; its heap when last reported: {:.1} MiB, {near} the memory cap of \
                 {cap:.0} MiB ({:.0}%)",
                bytes as f64 / MIB,
                100.0 * share
            )
        }
    }
}

/// A heap at this share of the memory cap or more is "near" it.
const NEAR_THE_CAP: f64 = 0.9;

#[cfg(unix)]
fn is_sigkill(signal: i32) -> bool {
    signal == libc::SIGKILL
}

#[cfg(not(unix))]
fn is_sigkill(_signal: i32) -> bool {
    false
}

/// The message of the first panic in `stderr`: the text after `panicked at FILE:LINE:COL:`
/// (on the same line or the next).
fn panic_message(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        if let Some((_, rest)) = line.split_once("panicked at ") {
            let after = rest.split_once(": ").map(|(_, m)| m.trim().to_string());
            return Some(match after {
                Some(m) if !m.is_empty() => m,
                _ => lines.next().unwrap_or("").trim().to_string(),
            });
        }
    }
    None
}

#[cfg(unix)]
fn signal(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal(_status: ExitStatus) -> Option<i32> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn failed(stop: Stop) -> Failure {
        match stop {
            Stop::Failed(failure) => failure,
            other => panic!("not a failure of the case: {other:?}"),
        }
    }

    #[test]
    fn stderr_and_signals_map_to_statuses() {
        let none = MemoryKnown::default();
        let abort = ExitStatus::from_raw(libc::SIGABRT);
        let overflow =
            "\nthread 'evaluation' has overflowed its stack\nfatal runtime error: stack overflow\n";
        assert_eq!(
            failed(classify_stop(abort, overflow, none)),
            Failure {
                status: Status::Crashed,
                detail: "stack overflow".into()
            }
        );
        let oom = failed(classify_stop(
            abort,
            "memory allocation of 8388608 bytes failed\n",
            none,
        ));
        assert_eq!(oom.status, Status::Oom);
        assert!(oom.detail.contains("8388608"));
        let panic = "thread 'evaluation' (7) panicked at strategies/src/tape.rs:9:5:\nnot implemented: tape\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            failed(classify_stop(ExitStatus::from_raw(101 << 8), panic, none)).detail,
            "panicked: not implemented: tape"
        );
        assert_eq!(
            failed(classify_stop(ExitStatus::from_raw(libc::SIGSEGV), "", none)).detail,
            "killed by SIGSEGV"
        );
    }

    #[test]
    fn a_dualbench_error_in_the_child_is_an_error_of_the_run_not_a_crash() {
        let stop = classify_stop(
            ExitStatus::from_raw(2 << 8),
            "error: cannot start 1 evaluation threads: Resource temporarily unavailable\n",
            MemoryKnown::default(),
        );
        assert_eq!(
            stop,
            Stop::Setup(
                "cannot start 1 evaluation threads: Resource temporarily unavailable".into()
            )
        );
    }

    #[test]
    fn a_child_stopped_by_ctrl_c_is_an_interrupt_not_a_result() {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let stop = classify_stop(ExitStatus::from_raw(signal), "", MemoryKnown::default());
            assert!(matches!(stop, Stop::Interrupted(_)), "{signal}: {stop:?}");
        }
    }

    #[test]
    fn a_sigkill_from_outside_says_what_is_known_and_is_no_oom() {
        const MIB: u64 = 1 << 20;
        let killed = |memory| {
            failed(classify_stop(
                ExitStatus::from_raw(libc::SIGKILL),
                "",
                memory,
            ))
        };
        let near = killed(MemoryKnown {
            cap_bytes: Some(100 * MIB),
            reported_bytes: Some(95 * MIB),
        });
        assert_eq!(near.status, Status::Crashed);
        assert!(
            near.detail
                .starts_with("killed by SIGKILL from outside dualbench")
                && near
                    .detail
                    .contains("95.0 MiB, near the memory cap of 100 MiB (95%)"),
            "{}",
            near.detail
        );
        let below = killed(MemoryKnown {
            cap_bytes: Some(100 * MIB),
            reported_bytes: Some(10 * MIB),
        });
        assert!(
            below.detail.contains("below the memory cap"),
            "{}",
            below.detail
        );
        let unknown = killed(MemoryKnown {
            cap_bytes: Some(100 * MIB),
            reported_bytes: None,
        });
        assert!(
            unknown.detail.contains("was not reached as far as known"),
            "{}",
            unknown.detail
        );
        let uncapped = killed(MemoryKnown {
            cap_bytes: Some(0),
            reported_bytes: None,
        });
        assert!(
            uncapped.detail.contains("no memory cap"),
            "{}",
            uncapped.detail
        );
        let not_known = killed(MemoryKnown::default());
        assert!(!not_known.detail.contains("cap"), "{}", not_known.detail);
        for failure in [near, below, unknown, uncapped, not_known] {
            assert_eq!(failure.status, Status::Crashed);
        }
    }

    #[test]
    fn seconds_are_printed_without_trailing_zeros() {
        assert_eq!(format_seconds(2.0), "2");
        assert_eq!(format_seconds(0.25), "0.25");
    }
}
