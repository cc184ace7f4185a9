//! GradBench's messages and responses: one JSON object per line, every response carrying the
//! `id` of the message it answers (`crates/gradbench/src/protocol.rs` and `js/common/protocol.ts`
//! in the GradBench repository define them).
//!
//! | message `kind` | response |
//! |---|---|
//! | `start` | `{"id", "tool", "config"}` |
//! | `define` | `{"id", "success", "error"?}` |
//! | `evaluate` | `{"id", "success", "output"?, "timings"?, "error"?}` |
//! | `analysis`, any other | `{"id"}` |
//!
//! [`parse_line`] sorts a line into a [`Message`] to act on, a [`Incoming::Malformed`] message
//! that has an `id` (answered with `success: false` and what was wrong: a missing or mistyped
//! field, a key given twice, a number beyond `f64`, bytes that are not UTF-8) or an
//! [`Incoming::Unanswerable`] line (not JSON, or no single integer `id`: reported on stderr).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::gradbench::json;

/// A message ID (GradBench's `Id`, a 64-bit integer).
pub type Id = i64;

/// A well-formed message from the eval.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// The first message; `eval` names the eval, if it says.
    Start {
        /// The message ID.
        id: Id,
        /// The eval's name.
        eval: Option<String>,
    },
    /// A request to define (check that the tool has) a module.
    Define {
        /// The message ID.
        id: Id,
        /// The module's name.
        module: String,
    },
    /// A request to evaluate a function of a defined module.
    Evaluate {
        /// The message ID.
        id: Id,
        /// The evaluation itself.
        request: EvaluateRequest,
    },
    /// The eval's verdict on an earlier response.
    Analysis {
        /// The message ID.
        id: Id,
        /// The ID of the message whose response was analysed.
        of: Id,
        /// Whether the response was valid.
        valid: bool,
        /// Why not, when it was not.
        error: Option<String>,
    },
    /// A kind this tool does not act on: answered with its `id` alone.
    Other {
        /// The message ID.
        id: Id,
        /// The kind.
        kind: String,
    },
}

/// What an `evaluate` message asks for; also the request line a worker process reads.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvaluateRequest {
    /// The module's name.
    pub module: String,
    /// The function's name.
    pub function: String,
    /// The function's input, not yet checked against the module's input type.
    pub input: Value,
}

/// One line read from the eval.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A message to act on.
    Message(Message),
    /// A message with an `id` that is otherwise malformed: answered with `success: false`.
    Malformed {
        /// Its ID.
        id: Id,
        /// What is wrong with it.
        error: String,
    },
    /// A line that cannot be answered (not JSON, or no single integer `id`), with why.
    Unanswerable(String),
}

/// Sort one line from the eval (see the module documentation). The line is bytes: one that is
/// not UTF-8 is an error like any other, answered when its `id` can still be read (from the
/// line with the bad bytes replaced), never the end of the session.
pub fn parse_line(line: &[u8]) -> Incoming {
    let (text, not_utf8) = match std::str::from_utf8(line) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), None),
        Err(e) => (
            String::from_utf8_lossy(line),
            Some(format!(
                "the line is not UTF-8 (byte {} of the line, 0x{:02X}, begins no UTF-8 \
                 character); JSON text must be UTF-8",
                e.valid_up_to() + 1,
                line[e.valid_up_to()]
            )),
        ),
    };
    let id = match json::message_id(&text) {
        Ok(id) => id,
        Err(why) => return Incoming::Unanswerable(not_utf8.unwrap_or(why)),
    };
    if let Some(error) = not_utf8 {
        return Incoming::Malformed { id, error };
    }
    let fields = match json::parse_strict(&text) {
        Ok(Value::Object(fields)) => fields,
        Ok(other) => {
            return Incoming::Malformed {
                id,
                error: format!(
                    "the message is {}, not an object",
                    crate::strict_json::kind_with_article(&other)
                ),
            }
        }
        Err(e) => {
            return Incoming::Malformed {
                id,
                error: format!("the message is not acceptable JSON: {e}"),
            }
        }
    };
    match message(id, &fields) {
        Ok(message) => Incoming::Message(message),
        Err(error) => Incoming::Malformed { id, error },
    }
}

/// The message with ID `id` and these fields, or what is wrong with them.
fn message(id: Id, fields: &Map<String, Value>) -> Result<Message, String> {
    let kind = match fields.get("kind") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => {
            return Err(format!(
                "the message's `kind` is {}, not a string",
                crate::strict_json::kind_with_article(other)
            ))
        }
        None => return Err("the message has no `kind`".into()),
    };
    Ok(match kind {
        "start" => Message::Start {
            id,
            eval: optional_string(fields, "eval", kind)?,
        },
        "define" => Message::Define {
            id,
            module: string(fields, "module", kind)?,
        },
        "evaluate" => Message::Evaluate {
            id,
            request: EvaluateRequest {
                module: string(fields, "module", kind)?,
                function: string(fields, "function", kind)?,
                input: fields
                    .get("input")
                    .cloned()
                    .ok_or("the `evaluate` message has no `input`")?,
            },
        },
        "analysis" => Message::Analysis {
            id,
            of: match fields.get("of") {
                Some(Value::Number(n)) if n.is_i64() => n.as_i64().expect("checked"),
                _ => return Err("the `analysis` message has no integer `of`".into()),
            },
            valid: match fields.get("valid") {
                Some(Value::Bool(valid)) => *valid,
                _ => return Err("the `analysis` message has no boolean `valid`".into()),
            },
            error: optional_string(fields, "error", kind)?,
        },
        other => Message::Other {
            id,
            kind: other.to_string(),
        },
    })
}

/// The string field `name` of a `kind` message.
fn string(fields: &Map<String, Value>, name: &str, kind: &str) -> Result<String, String> {
    optional_string(fields, name, kind)?
        .ok_or_else(|| format!("the `{kind}` message has no `{name}`"))
}

/// The string field `name` of a `kind` message, if present.
fn optional_string(
    fields: &Map<String, Value>,
    name: &str,
    kind: &str,
) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "the `{kind}` message's `{name}` is {}, not a string",
            crate::strict_json::kind_with_article(other)
        )),
    }
}

/// One timed subtask of an evaluation: GradBench sums the `evaluate` timings of a response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Timing {
    /// The subtask's name; `evaluate` is one run of the function.
    pub name: String,
    /// How long it took.
    pub nanoseconds: u128,
}

/// How an evaluation ended: what a worker process answers, and an `evaluate` response without
/// its `id`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct EvaluateReply {
    /// Whether the function was evaluated.
    pub success: bool,
    /// Its output, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// One `evaluate` timing per run, on success.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timings: Vec<Timing>,
    /// What went wrong, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl EvaluateReply {
    /// A failed evaluation.
    pub fn failure(error: impl Into<String>) -> Self {
        EvaluateReply {
            success: false,
            output: None,
            timings: Vec::new(),
            error: Some(error.into()),
        }
    }
}

/// A response line to the eval.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// To `start`: the tool's name and configuration.
    Start {
        /// The message ID.
        id: Id,
        /// `dualbench`.
        tool: String,
        /// The strategy and the version.
        config: Value,
    },
    /// To `define`, and to a malformed message (with `success: false`).
    Status {
        /// The message ID.
        id: Id,
        /// Whether the module is defined.
        success: bool,
        /// Why not.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// To `evaluate`.
    Evaluate {
        /// The message ID.
        id: Id,
        /// How the evaluation ended.
        #[serde(flatten)]
        reply: EvaluateReply,
    },
    /// To `analysis` and every other kind.
    Ack {
        /// The message ID.
        id: Id,
    },
}

impl Response {
    /// The response as one line of JSON, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("responses serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_sort_into_messages_malformed_and_unanswerable() {
        assert_eq!(
            parse_line(br#"{"id":0,"kind":"start","eval":"lse"}"#),
            Incoming::Message(Message::Start {
                id: 0,
                eval: Some("lse".into())
            })
        );
        assert_eq!(
            parse_line(
                br#"{"id":2,"kind":"evaluate","module":"lse","function":"primal","input":{"x":[1]}}"#
            ),
            Incoming::Message(Message::Evaluate {
                id: 2,
                request: EvaluateRequest {
                    module: "lse".into(),
                    function: "primal".into(),
                    input: json!({"x": [1]}),
                }
            })
        );
        assert_eq!(
            parse_line(br#"{"id":3,"kind":"analysis","of":2,"valid":false,"error":"off"}"#),
            Incoming::Message(Message::Analysis {
                id: 3,
                of: 2,
                valid: false,
                error: Some("off".into())
            })
        );
        assert_eq!(
            parse_line(br#"{"id":4,"kind":"bye"}"#),
            Incoming::Message(Message::Other {
                id: 4,
                kind: "bye".into()
            })
        );
        assert_eq!(
            parse_line(br#"{"id":5,"kind":"define"}"#),
            Incoming::Malformed {
                id: 5,
                error: "the `define` message has no `module`".into()
            }
        );
        assert_eq!(
            parse_line(br#"{"id":6}"#),
            Incoming::Malformed {
                id: 6,
                error: "the message has no `kind`".into()
            }
        );
        assert!(matches!(
            parse_line(br#"{"kind":"start"}"#),
            Incoming::Unanswerable(why) if why.contains("no `id`")
        ));
        assert!(matches!(
            parse_line(br#"{"id":"7","kind":"start"}"#),
            Incoming::Unanswerable(why) if why.contains("a string, not an integer")
        ));
        assert!(matches!(
            parse_line(b"not json"),
            Incoming::Unanswerable(why) if why.contains("not JSON")
        ));
        assert!(matches!(parse_line(b"[1]"), Incoming::Unanswerable(_)));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error_answered_when_the_id_is_readable() {
        let mut line = br#"{"id":8,"kind":"define","module":"l"#.to_vec();
        line.extend([0xFF, b's', b'e', b'"', b'}']);
        let Incoming::Malformed { id, error } = parse_line(&line) else {
            panic!("{:?}", parse_line(&line));
        };
        assert_eq!(id, 8);
        assert!(
            error.contains("not UTF-8 (byte 36 of the line, 0xFF"),
            "{error}"
        );
        // No readable id: skipped, with the reason.
        assert!(matches!(
            parse_line(&[b'{', 0xC3, b'}']),
            Incoming::Unanswerable(why) if why.contains("not UTF-8 (byte 2")
        ));
    }

    #[test]
    fn duplicated_keys_and_numbers_beyond_f64_are_errors_naming_the_place() {
        let Incoming::Malformed { id, error } = parse_line(
            br#"{"id":9,"kind":"evaluate","module":"lse","function":"primal","input":{"x":[1],"x":[2]}}"#,
        ) else {
            panic!("not malformed");
        };
        assert_eq!(id, 9);
        assert!(error.contains("`x` appears twice in `input`"), "{error}");
        let Incoming::Malformed { id, error } =
            parse_line(br#"{"id":10,"kind":"define","module":"lse","module":"det"}"#)
        else {
            panic!("not malformed");
        };
        assert_eq!(id, 10);
        assert!(
            error.contains("`module` appears twice in the message"),
            "{error}"
        );
        let Incoming::Malformed { id, error } = parse_line(
            br#"{"id":11,"kind":"evaluate","module":"lse","function":"primal","input":{"x":[1e400]}}"#,
        ) else {
            panic!("not malformed");
        };
        assert_eq!(id, 11);
        assert!(error.contains("out of range"), "{error}");
        assert!(matches!(
            parse_line(br#"{"id":12,"kind":"start","id":13}"#),
            Incoming::Unanswerable(why) if why.contains("more than one `id`")
        ));
    }

    #[test]
    fn responses_are_the_protocols_objects() {
        let ok = Response::Evaluate {
            id: 2,
            reply: EvaluateReply {
                success: true,
                output: Some(json!(1.5)),
                timings: vec![Timing {
                    name: "evaluate".into(),
                    nanoseconds: 7,
                }],
                error: None,
            },
        };
        assert_eq!(
            ok.to_line(),
            r#"{"id":2,"success":true,"output":1.5,"timings":[{"name":"evaluate","nanoseconds":7}]}"#
        );
        let failed = Response::Evaluate {
            id: 3,
            reply: EvaluateReply::failure("bad"),
        };
        assert_eq!(
            failed.to_line(),
            r#"{"id":3,"success":false,"error":"bad"}"#
        );
        assert_eq!(Response::Ack { id: 4 }.to_line(), r#"{"id":4}"#);
        let defined = Response::Status {
            id: 1,
            success: true,
            error: None,
        };
        assert_eq!(defined.to_line(), r#"{"id":1,"success":true}"#);
    }
}
