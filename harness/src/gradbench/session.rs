//! One GradBench session: read messages line by line, answer each on one line, never stop
//! on bad input. What each message kind gets is in [`crate::gradbench::protocol`]; a line that
//! cannot be answered is reported on stderr and skipped; an `evaluate` of a module that was
//! not defined first is refused; evaluations go to the session's [`Evaluator`].

use std::collections::BTreeSet;
use std::io::{BufRead, ErrorKind, Write};

use serde_json::json;
use strategies::StrategyKind;

use crate::gradbench::modules::Module;
use crate::gradbench::protocol::{parse_line, EvaluateReply, Incoming, Message, Response};
use crate::gradbench::worker::Evaluator;
use crate::output;

/// The tool's state across messages: the modules defined so far.
#[derive(Debug)]
pub struct Session<E> {
    strategy: StrategyKind,
    evaluator: E,
    defined: BTreeSet<Module>,
}

impl<E: Evaluator> Session<E> {
    /// A session whose derivatives are `strategy`'s, evaluated by `evaluator`.
    pub fn new(strategy: StrategyKind, evaluator: E) -> Self {
        Session {
            strategy,
            evaluator,
            defined: BTreeSet::new(),
        }
    }

    /// Answer every line of `input` on `output` until the input ends or the reader of
    /// `output` goes away. Only errors reading `input` or writing `output` end it early.
    pub fn serve(&mut self, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let Some(response) = self.answer(&line) else {
                continue;
            };
            let written = writeln!(output, "{}", response.to_line()).and_then(|()| output.flush());
            match written {
                Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
                other => other?,
            }
        }
        Ok(())
    }

    /// The response to one line, or `None` (reported on stderr) when it cannot be answered.
    pub fn answer(&mut self, line: &str) -> Option<Response> {
        let message = match parse_line(line) {
            Incoming::Message(message) => message,
            Incoming::Malformed { id, error } => {
                output::note(&format!("gradbench: message {id} is malformed: {error}"));
                return Some(Response::Status {
                    id,
                    success: false,
                    error: Some(error),
                });
            }
            Incoming::Unanswerable(why) => {
                output::note(&format!(
                    "gradbench: skipped a line that cannot be answered: {why}: {}",
                    abbreviate(line)
                ));
                return None;
            }
        };
        Some(match message {
            Message::Start { id, .. } => Response::Start {
                id,
                tool: "dualbench".into(),
                config: json!({
                    "strategy": self.strategy.name(),
                    "version": env!("CARGO_PKG_VERSION"),
                }),
            },
            Message::Define { id, module } => match Module::from_name(&module) {
                Some(found) => {
                    self.defined.insert(found);
                    Response::Status {
                        id,
                        success: true,
                        error: None,
                    }
                }
                None => Response::Status {
                    id,
                    success: false,
                    error: Some(format!(
                        "unknown module `{module}`; dualbench defines {}",
                        Module::names()
                    )),
                },
            },
            Message::Evaluate { id, request } => {
                let reply = match Module::from_name(&request.module) {
                    Some(module) if self.defined.contains(&module) => {
                        self.evaluator.evaluate(&request)
                    }
                    Some(module) => EvaluateReply::failure(format!(
                        "module `{}` is not defined: send a `define` message for it first",
                        module.name()
                    )),
                    None => EvaluateReply::failure(format!(
                        "unknown module `{}`; dualbench defines {}",
                        request.module,
                        Module::names()
                    )),
                };
                Response::Evaluate { id, reply }
            }
            Message::Analysis {
                id,
                of,
                valid,
                error,
            } => {
                if !valid {
                    output::note(&format!(
                        "gradbench: the eval found the response to message {of} invalid: {}",
                        error.as_deref().unwrap_or("no reason given")
                    ));
                }
                Response::Ack { id }
            }
            Message::Other { id, .. } => Response::Ack { id },
        })
    }
}

/// The first 200 characters of a line, for stderr.
fn abbreviate(line: &str) -> String {
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line.to_string(),
    }
}
