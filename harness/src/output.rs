//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`dualbench grad ... | head
//! -c 100`), which prints a panic trace and exits 101. Every command writes through [`print()`]
//! instead: a closed stdout ends the output quietly (the reader asked for no more), and other
//! write errors are reported as errors. Messages on stderr go through [`note`], which never
//! fails; progress goes to a [`progress_bar`], shown only on a terminal. The formats commands
//! print in are [`Format`] (summaries) and [`ResultsFormat`] (results files).

use std::io::{ErrorKind, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

/// How `run` and `merge` print results on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ResultsFormat {
    /// The summary as an aligned plain-text table, with a legend.
    #[default]
    Table,
    /// The whole results file as JSON (as `results.json`).
    Json,
    /// The rows as CSV (as `results.csv`).
    Csv,
    /// The summary as a Markdown table, with a legend.
    Markdown,
}

impl ResultsFormat {
    /// `file` rendered in this format.
    pub fn render(self, file: &crate::results::ResultsFile) -> String {
        match self {
            ResultsFormat::Table => {
                crate::results::summary::render_with_legend(&file.rows, TableStyle::Plain)
            }
            ResultsFormat::Markdown => {
                crate::results::summary::render_with_legend(&file.rows, TableStyle::Markdown)
            }
            ResultsFormat::Json => {
                serde_json::to_string_pretty(file).expect("results serialise") + "\n"
            }
            ResultsFormat::Csv => {
                let mut bytes = Vec::new();
                crate::results::csv::write(&file.rows, &mut bytes).expect("writing to memory");
                String::from_utf8(bytes).expect("CSV of UTF-8 fields")
            }
        }
    }
}

/// A progress bar on stderr with an ETA, hidden when stderr is not a terminal or `quiet`.
pub fn progress_bar(total: usize, unit: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total as u64),
        if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}, ETA {{eta}} {{wide_msg}}"
        ))
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar
}
