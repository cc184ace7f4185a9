//! The harness's error and outcome types, and their exit codes.

use std::process::ExitCode;

/// Why a command could not do its work. Every variant names what was wrong and what is valid.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line input or input file: exit code 2, nothing written.
    #[error("{0}")]
    Usage(String),
    /// A workload could not be found or instantiated: exit code 2.
    #[error(transparent)]
    Workload(#[from] workloads::WorkloadError),
    /// Reading or writing a file failed: exit code 2.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The user stopped the command (Ctrl-C, SIGTERM, SIGHUP) and it stopped cleanly: exit
    /// code 130, as for a process ended by Ctrl-C.
    #[error("{message}")]
    Interrupted {
        /// What was interrupted, and how to continue.
        message: String,
    },
}

impl Error {
    /// Shorthand for a usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Interrupted { .. } => ExitCode::from(130),
            _ => ExitCode::from(2),
        }
    }
}

/// How a command that did its work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success: exit code 0.
    Success,
    /// A verdict failed (`verify` disagreement, `check` claim failed): exit code 1.
    VerdictFailed,
    /// The command reported its findings, but its input could not support them (`check`: a
    /// claim whose data hold no case): exit code 2.
    BadInput,
    /// `compare` found a regression: exit code 3.
    Regression,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Success => 0,
            Outcome::VerdictFailed => 1,
            Outcome::BadInput => 2,
            Outcome::Regression => 3,
        })
    }
}

/// The result of a command.
pub type Result<T> = std::result::Result<T, Error>;
