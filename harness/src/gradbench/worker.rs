//! Where evaluations run: an [`Evaluator`] turns an [`EvaluateRequest`] into an
//! [`EvaluateReply`].
//!
//! - [`InProcess`] builds the [`Task`] and runs it on an evaluation thread with a 1 GiB stack
//!   ([`guarded`]): a panic (a program's domain error, an unimplemented strategy) becomes a
//!   failed reply.
//! - [`Isolated`], what `dualbench gradbench` uses, sends each request to a worker process
//!   (`dualbench gradbench-worker`, an [`InProcess`] evaluator behind a line protocol, [`serve`])
//!   with a cap on its live heap bytes. A stack overflow, a memory exhaustion or any other death
//!   of the worker ends only that evaluation: its reply says what happened (classified as `run`
//!   classifies a crashed case, [`classify`]) and the next request starts a fresh worker. A
//!   worker ends with its session ([`exit_when_orphaned`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use strategies::StrategyKind;

use crate::gradbench::protocol::{EvaluateReply, EvaluateRequest};
use crate::gradbench::task::Task;
use crate::measure::isolate::classify;
use crate::measure::thread::guarded;
use crate::results::Status;

/// Something that evaluates GradBench requests.
pub trait Evaluator {
    /// Evaluate one request; failures are replies, never panics.
    fn evaluate(&mut self, request: &EvaluateRequest) -> EvaluateReply;
}

/// Evaluates in this process, on a large-stack thread, under one strategy.
#[derive(Clone, Copy, Debug)]
pub struct InProcess {
    /// The strategy of the derivative functions.
    pub strategy: StrategyKind,
    /// The largest predicted work an evaluation may take ([`Task::run`]; 0 for no cap).
    pub work_cap: f64,
}

impl Evaluator for InProcess {
    fn evaluate(&mut self, request: &EvaluateRequest) -> EvaluateReply {
        let (strategy, work_cap) = (self.strategy, self.work_cap);
        match guarded(|| Task::new(request).map(|task| task.run(strategy, work_cap))) {
            Ok(Ok(reply)) => reply,
            Ok(Err(input_error)) => EvaluateReply::failure(input_error),
            Err(panic) => EvaluateReply::failure(format!("the evaluation failed: {panic}")),
        }
    }
}

/// How often a worker checks that the session that started it is still there.
const PARENT_CHECK: Duration = Duration::from_millis(200);

/// End this (worker) process as soon as its parent, the session, is gone: a session killed
/// from outside (a GradBench timeout, Ctrl-C) must not leave its worker computing a long
/// evaluation for nobody. The worker would notice its closed stdin only after the evaluation.
pub fn exit_when_orphaned() {
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || loop {
        std::thread::sleep(PARENT_CHECK);
        if std::os::unix::process::parent_id() != parent {
            std::process::exit(1);
        }
    });
}

/// The worker side: read one [`EvaluateRequest`] per line from `input` until it ends, and
/// answer each with one [`EvaluateReply`] line on `output`.
pub fn serve(
    evaluator: &mut impl Evaluator,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let reply = match serde_json::from_str::<EvaluateRequest>(&line) {
            Ok(request) => evaluator.evaluate(&request),
            Err(e) => EvaluateReply::failure(format!("the worker got a malformed request: {e}")),
        };
        let text = serde_json::to_string(&reply).expect("replies serialise");
        writeln!(output, "{text}")?;
        output.flush()?;
    }
    Ok(())
}

/// Evaluates each request in a worker process (see the module documentation).
#[derive(Debug)]
pub struct Isolated {
    /// The dualbench binary.
    exe: PathBuf,
    /// The worker's arguments after `gradbench-worker`.
    args: Vec<String>,
    /// The running worker, started on the first request and after a crash.
    worker: Option<Worker>,
}

/// A running worker process.
#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Its stderr so far (also forwarded to ours), read by a thread.
    stderr: Arc<Mutex<String>>,
    stderr_reader: JoinHandle<()>,
}

impl Isolated {
    /// Workers of `exe gradbench-worker --strategy S --work-cap W --memory-limit-mib M`.
    pub fn new(exe: PathBuf, strategy: StrategyKind, work_cap: f64, memory_limit_mib: u64) -> Self {
        let args = vec![
            "--strategy".into(),
            strategy.name().into(),
            "--work-cap".into(),
            work_cap.to_string(),
            "--memory-limit-mib".into(),
            memory_limit_mib.to_string(),
        ];
        Isolated {
            exe,
            args,
            worker: None,
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let mut child = Command::new(&self.exe)
            .arg("gradbench-worker")
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = err.read(&mut chunk) {
                let text = String::from_utf8_lossy(&chunk[..read]);
                eprint!("{text}");
                sink.lock().expect("stderr buffer").push_str(&text);
            }
        });
        Ok(Worker {
            child,
            stdin,
            stdout,
            stderr,
            stderr_reader,
        })
    }

    /// What ended `worker`, once its stdout has closed.
    fn obituary(worker: Worker) -> String {
        let Worker {
            mut child,
            stdin,
            stderr,
            stderr_reader,
            ..
        } = worker;
        drop(stdin);
        let status = child.wait();
        let _ = stderr_reader.join();
        let text = stderr.lock().expect("stderr buffer").clone();
        let failure = match status {
            Ok(status) => classify(status, &text),
            Err(e) => return format!("the evaluation's worker process was lost: {e}"),
        };
        let what = match failure.status {
            Status::Oom => "ran out of memory",
            _ => "crashed",
        };
        format!(
            "the evaluation {what} ({}); it ran in a worker process, so the session goes on",
            failure.detail
        )
    }
}

impl Evaluator for Isolated {
    fn evaluate(&mut self, request: &EvaluateRequest) -> EvaluateReply {
        let mut worker = match self.worker.take() {
            Some(worker) => worker,
            None => match self.spawn() {
                Ok(worker) => worker,
                Err(e) => {
                    return EvaluateReply::failure(format!(
                        "cannot start the worker process {}: {e}",
                        self.exe.display()
                    ))
                }
            },
        };
        let line = serde_json::to_string(request).expect("requests serialise");
        let sent = writeln!(worker.stdin, "{line}").and_then(|()| worker.stdin.flush());
        let mut answer = String::new();
        let read = sent.and_then(|()| worker.stdout.read_line(&mut answer));
        match read {
            Ok(1..) => match serde_json::from_str::<EvaluateReply>(&answer) {
                Ok(reply) => {
                    worker.stderr.lock().expect("stderr buffer").clear();
                    self.worker = Some(worker);
                    reply
                }
                Err(e) => {
                    let _ = worker.child.kill();
                    let _ = Isolated::obituary(worker);
                    EvaluateReply::failure(format!(
                        "the worker process answered something that is not a reply ({e}): {}",
                        answer.trim()
                    ))
                }
            },
            _ => EvaluateReply::failure(Isolated::obituary(worker)),
        }
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            // End of input: the worker exits when its stdin closes.
            drop(worker.stdin);
            let mut child = worker.child;
            let _ = child.wait();
            let _ = worker.stderr_reader.join();
        }
    }
}
