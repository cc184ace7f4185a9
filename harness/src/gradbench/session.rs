//! One GradBench session: read messages line by line, answer each on one line, never stop
//! on bad input (whatever its bytes). What each message kind gets is in
//! [`crate::gradbench::protocol`]; a line that cannot be answered is reported on stderr and
//! skipped; an `evaluate` of a module that was not defined first is refused; evaluations go to
//! the session's [`Evaluator`].

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
    /// `output` goes away; notes (lines skipped, malformed messages, invalid verdicts) go to
    /// stderr. Only errors reading `input` or writing `output` end it early: a line of any
    /// content, UTF-8 or not, is answered or skipped.
    pub fn serve(
        &mut self,
        mut input: impl BufRead,
        mut output: impl Write,
    ) -> std::io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let content = line.strip_suffix(b"\n").unwrap_or(&line);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            if content.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let response = match self.answer(content) {
                Answer::Respond { response, note } => {
                    if let Some(note) = note {
                        output::note(&note);
                    }
                    response
                }
                Answer::Skip(why) => {
                    output::note(&why);
                    continue;
                }
            };
            let written = writeln!(output, "{}", response.to_line()).and_then(|()| output.flush());
            match written {
                Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
                other => other?,
            }
        }
    }

    /// What one line gets: a response (with a note for stderr when the message was malformed
    /// or reports an invalid verdict), or, when it cannot be answered, why it was skipped.
    pub fn answer(&mut self, line: &[u8]) -> Answer {
        let message = match parse_line(line) {
            Incoming::Message(message) => message,
            Incoming::Malformed { id, error } => {
                return Answer::Respond {
                    note: Some(format!("gradbench: message {id} is malformed: {error}")),
                    response: Response::Status {
                        id,
                        success: false,
                        error: Some(error),
                    },
                };
            }
            Incoming::Unanswerable(why) => {
                return Answer::Skip(format!(
                    "gradbench: skipped a line that cannot be answered: {why}: {}",
                    abbreviate(&String::from_utf8_lossy(line))
                ));
            }
        };
        let mut note = None;
        let response = match message {
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
                    note = Some(format!(
                        "gradbench: the eval found the response to message {of} invalid: {}",
                        error.as_deref().unwrap_or("no reason given")
                    ));
                }
                Response::Ack { id }
            }
            Message::Other { id, .. } => Response::Ack { id },
        };
        Answer::Respond { response, note }
    }
}

/// What a line gets from [`Session::answer`].
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A response line for stdout.
    Respond {
        /// The response.
        response: Response,
        /// A note for stderr beside it.
        note: Option<String>,
    },
    /// No response: the line cannot be answered (no single integer `id` can be read); why,
    /// for stderr.
    Skip(String),
}

/// The first 200 characters of a line, for stderr.
fn abbreviate(line: &str) -> String {
    match line.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line.to_string(),
    }
}
