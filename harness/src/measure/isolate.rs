//! The parent side of isolation: one `dualbench run-case` child process per case.
//!
//! A [`CaseProcess`] starts `current_exe() run-case --spec JSON`, exchanges [`Request`] /
//! [`Response`] lines with it, and charges the time it waits for each answer to the case's
//! wall-clock budget. How a case that does not finish normally is recorded:
//!
//! | status | detected by |
//! |---|---|
//! | `timeout` | an answer did not arrive before the case's budget ran out: the child is killed |
//! | `oom` | the child's stderr says `memory allocation of N bytes failed` (the counting allocator refused an allocation beyond `--memory-limit-mib`, or the system allocator failed), or the child was killed by `SIGKILL` that the parent did not send (the kernel's OOM killer) |
//! | `crashed` | the child's stderr says `has overflowed its stack` (detail `stack overflow`); or it panicked (detail: the panic message); or it exited otherwise or died of another signal |

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// A running `run-case` child and the budget it has left. Its methods follow the protocol:
/// [`CaseProcess::spawn`], [`CaseProcess::counted`], [`CaseProcess::ready`], any number of
/// [`CaseProcess::measure`], then [`CaseProcess::finish`].
#[derive(Debug)]
pub struct CaseProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    stderr: Option<JoinHandle<String>>,
    budget: Duration,
    busy: Duration,
}

impl CaseProcess {
    /// Start `exe run-case` for `spec` with a wall-clock budget.
    pub fn spawn(exe: &Path, spec: &CaseSpec, budget: Duration) -> Result<Self, Failure> {
        let spec_json = serde_json::to_string(spec).expect("case specs serialise");
        let mut child = Command::new(exe)
            .args(["run-case", "--spec", &spec_json])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure {
                status: Status::Crashed,
                detail: format!("could not start the case's process: {e}"),
            })?;
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
        Ok(CaseProcess {
            child,
            stdin,
            lines,
            stderr: Some(stderr),
            budget,
            busy: Duration::ZERO,
        })
    }

    /// Wait until the case is instantiated and counted.
    pub fn counted(&mut self) -> Result<CaseInfo, Failure> {
        match self.receive()? {
            Response::Counted(info) => Ok(info),
            other => Err(self.protocol_error(&other)),
        }
    }

    /// Wait until the case is warmed up.
    pub fn ready(&mut self) -> Result<Setup, Failure> {
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
    pub fn measure(&mut self, samples: u64, phase_samples: u64) -> Result<Samples, Failure> {
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
    pub fn finish(mut self) -> Result<Option<u64>, Failure> {
        self.send(Request::Finish)?;
        match self.receive()? {
            Response::Finished { peak_rss_bytes } => {
                // The child exits on its own; reap it so no zombie is left.
                let _ = self.child.wait();
                Ok(peak_rss_bytes)
            }
            other => Err(self.protocol_error(&other)),
        }
    }

    fn send(&mut self, request: Request) -> Result<(), Failure> {
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
    fn receive(&mut self) -> Result<Response, Failure> {
        let start = Instant::now();
        let got = self.lines.recv_timeout(self.remaining());
        self.busy += start.elapsed();
        match got {
            Ok(Ok(line)) => serde_json::from_str(&line).map_err(|e| {
                self.kill();
                Failure {
                    status: Status::Crashed,
                    detail: format!("unreadable answer from the case's process ({e}): {line}"),
                }
            }),
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => Err(self.died()),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(Failure {
                    status: Status::Timeout,
                    detail: format!(
                        "exceeded the budget of {} s",
                        format_seconds(self.budget.as_secs_f64())
                    ),
                })
            }
        }
    }

    fn kill(&mut self) {
        // Already exited is fine: either way it is gone after `wait`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn protocol_error(&mut self, response: &Response) -> Failure {
        self.kill();
        Failure {
            status: Status::Crashed,
            detail: format!("unexpected answer from the case's process: {response:?}"),
        }
    }

    /// The child closed its stdout: wait for it and classify how it ended.
    fn died(&mut self) -> Failure {
        let status = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        match status {
            Ok(status) => classify(status, &stderr),
            Err(e) => Failure {
                status: Status::Crashed,
                detail: format!("could not wait for the case's process: {e}"),
            },
        }
    }
}

impl Drop for CaseProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Seconds without trailing zeros (`2`, `0.5`).
pub fn format_seconds(s: f64) -> String {
    let text = format!("{s:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How a child that ended on its own (not killed by the parent) failed.
pub fn classify(status: ExitStatus, stderr: &str) -> Failure {
    let crashed = |detail: String| Failure {
        status: Status::Crashed,
        detail,
    };
    if stderr.contains("has overflowed its stack") {
        return crashed("stack overflow".into());
    }
    if let Some(line) = stderr
        .lines()
        .find(|l| l.contains("memory allocation of") && l.contains("failed"))
    {
        return Failure {
            status: Status::Oom,
            detail: line.trim().to_string(),
        };
    }
    if let Some(message) = panic_message(stderr) {
        return crashed(format!("panicked: {message}"));
    }
    if let Some(error) = stderr.lines().find_map(|l| l.strip_prefix("error: ")) {
        return crashed(error.to_string());
    }
    match signal(status) {
        Some(libc::SIGKILL) => Failure {
            status: Status::Oom,
            detail: "killed by SIGKILL (the system's out-of-memory killer)".into(),
        },
        Some(sig) => crashed(format!("killed by signal {sig}")),
        None => crashed(format!("exited with {status}")),
    }
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

    #[test]
    fn stderr_and_signals_map_to_statuses() {
        let abort = ExitStatus::from_raw(libc::SIGABRT);
        let overflow =
            "\nthread 'evaluation' has overflowed its stack\nfatal runtime error: stack overflow\n";
        assert_eq!(
            classify(abort, overflow),
            Failure {
                status: Status::Crashed,
                detail: "stack overflow".into()
            }
        );
        let oom = classify(abort, "memory allocation of 8388608 bytes failed\n");
        assert_eq!(oom.status, Status::Oom);
        assert!(oom.detail.contains("8388608"));
        let panic = "thread 'evaluation' (7) panicked at strategies/src/tape.rs:9:5:\nnot implemented: tape\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            classify(ExitStatus::from_raw(101 << 8), panic).detail,
            "panicked: not implemented: tape"
        );
        assert_eq!(
            classify(ExitStatus::from_raw(libc::SIGKILL), "").status,
            Status::Oom
        );
        assert_eq!(
            classify(ExitStatus::from_raw(libc::SIGSEGV), "").detail,
            "killed by signal 11"
        );
    }

    #[test]
    fn seconds_are_printed_without_trailing_zeros() {
        assert_eq!(format_seconds(2.0), "2");
        assert_eq!(format_seconds(0.25), "0.25");
    }
}
