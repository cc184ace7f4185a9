//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`dualbench grad ... | head
//! -c 100`), which prints a panic trace and exits 101. Every command writes through [`print()`]
//! instead: a closed stdout ends the output quietly (the reader asked for no more), and other
//! write errors are reported as errors. Messages on stderr go through [`note`], which never
//! fails.

use std::io::{ErrorKind, Write};

use crate::error::{Error, Result};
use crate::table::TableStyle;

/// Write `text` to stdout and flush it. A reader that closed the pipe is not an error.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(Error::Io {
            context: "writing to stdout".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Write one line to stderr (progress, diagnostics); a closed stderr is ignored.
pub fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// How a command prints its summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned plain-text tables.
    #[default]
    Table,
    /// One JSON object.
    Json,
    /// Markdown tables.
    Markdown,
}

impl Format {
    /// The table style for the two tabular formats (`None` for JSON).
    pub fn table_style(self) -> Option<TableStyle> {
        match self {
            Format::Table => Some(TableStyle::Plain),
            Format::Markdown => Some(TableStyle::Markdown),
            Format::Json => None,
        }
    }
}
