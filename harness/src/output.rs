//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`dualbench grad ... | head
//! -c 100`), which prints a panic trace and exits 101. Every command writes through [`print()`]
//! instead: a closed stdout ends the output quietly (the reader asked for no more), and other
//! write errors are reported as errors. Messages on stderr go through [`note`], which never
//! fails; progress goes to a [`progress_bar`], shown only on a terminal. The formats commands
//! print in are [`Format`] (summaries) and [`ResultsFormat`] (results files).
//!
//! Plain-text tables fit [`terminal_width`]: `COLUMNS` when set, else the terminal's width when
//! stdout is one, else [`DEFAULT_WIDTH`]. The machine formats (JSON, CSV, Markdown) are never
//! wrapped.

use std::io::{ErrorKind, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Error, Result};
use crate::table::TableStyle;

/// The width of plain-text output when stdout is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 100;

/// The narrowest width output is fitted to: a narrower `COLUMNS` or terminal gets this many
/// columns, as a table of several columns cannot be read in fewer.
pub const MIN_WIDTH: usize = 40;

/// The number of columns that text printed on stdout should fit (see the module documentation).
pub fn terminal_width() -> usize {
    let terminal = || {
        terminal_size::terminal_size_of(std::io::stdout()).map(|(width, _)| usize::from(width.0))
    };
    width_from(std::env::var("COLUMNS").ok().as_deref(), terminal)
}

/// `COLUMNS` when it holds a positive whole number, else `terminal()`, else [`DEFAULT_WIDTH`];
/// never below [`MIN_WIDTH`].
fn width_from(columns: Option<&str>, terminal: impl FnOnce() -> Option<usize>) -> usize {
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// `text` wrapped to `width` columns, keeping its layout of indented, labelled entries such as
///
/// ```text
///   median    wall time of one gradient, the median
///             of the timed samples
/// ```
///
/// An entry's text starts after the first two spaces that follow its label; a line indented
/// exactly that far continues the entry and is joined to it; the entry is then wrapped with
/// its further lines indented that far. Other lines are wrapped at their own indentation.
pub fn reflow(text: &str, width: usize) -> String {
    /// An entry: its indentation, where its text starts, and its words so far.
    struct Entry {
        indent: usize,
        hang: usize,
        text: String,
    }
    let mut entries: Vec<Entry> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        match entries.last_mut() {
            Some(entry)
                if !body.is_empty() && entry.hang > entry.indent && indent == entry.hang =>
            {
                entry.text.push(' ');
                entry.text.push_str(body);
            }
            _ => entries.push(Entry {
                indent,
                hang: label_end(line).unwrap_or(indent),
                text: body.to_string(),
            }),
        }
    }
    entries
        .iter()
        .map(|entry| {
            // A label too wide for the width leaves no room to hang the text under it.
            let hang = if entry.hang + 20 > width {
                entry.indent
            } else {
                entry.hang
            };
            let indent = " ".repeat(entry.indent.min(width / 2));
            let hang = " ".repeat(hang);
            let options = textwrap::Options::new(width)
                .initial_indent(&indent)
                .subsequent_indent(&hang)
                .break_words(true);
            textwrap::fill(&entry.text, options)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the text after a line's label starts: after the first run of two or more spaces
/// that follows the line's first word (`None` when there is no such run).
fn label_end(line: &str) -> Option<usize> {
    let start = line.len() - line.trim_start().len();
    let gap = start + line[start..].find("  ")?;
    let text = gap + line[gap..].len() - line[gap..].trim_start().len();
    (text < line.len()).then_some(text)
}

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
    /// Aligned plain-text tables, wrapped to the terminal's width.
    #[default]
    Table,
    /// One JSON object.
    Json,
    /// Markdown tables.
    Markdown,
}

impl Format {
    /// The table style for the two tabular formats (`None` for JSON): `table` fitted to
    /// [`terminal_width`], Markdown whole.
    pub fn table_style(self) -> Option<TableStyle> {
        match self {
            Format::Table => Some(TableStyle::Fitted {
                width: terminal_width(),
            }),
            Format::Markdown => Some(TableStyle::Markdown),
            Format::Json => None,
        }
    }
}

/// How `run` and `merge` print results on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ResultsFormat {
    /// The summary as an aligned plain-text table, with a legend, wrapped to the terminal's
    /// width.
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
    /// `file` rendered in this format (`table` fitted to [`terminal_width`]).
    pub fn render(self, file: &crate::results::ResultsFile) -> String {
        match self {
            ResultsFormat::Table => crate::results::summary::render_with_legend(
                &file.rows,
                TableStyle::Fitted {
                    width: terminal_width(),
                },
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflow_keeps_labelled_entries_and_fits() {
        let text =
            "Columns:\n  median    wall time of one gradient, the median\n            of the \
                    timed samples\n  T         the operation count\n\nExit codes:\n  0  success";
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let wide = reflow(text, 200);
        assert_eq!(
            wide,
            "Columns:\n  median    wall time of one gradient, the median of the timed samples\n  \
             T         the operation count\n\nExit codes:\n  0  success"
        );
        let narrow = reflow(text, 40);
        assert!(narrow.lines().all(|l| l.len() <= 40), "{narrow}");
        assert_eq!(words(&narrow), words(text));
        assert!(
            narrow.contains("\n  median    wall time of one gradient,\n            the"),
            "{narrow}"
        );
    }

    #[test]
    fn columns_overrides_the_terminal_and_a_default_applies_without_either() {
        assert_eq!(width_from(Some("120"), || Some(80)), 120);
        assert_eq!(width_from(None, || Some(80)), 80);
        assert_eq!(width_from(None, || None), DEFAULT_WIDTH);
        assert_eq!(width_from(Some("wide"), || None), DEFAULT_WIDTH);
        assert_eq!(width_from(Some("0"), || Some(90)), 90);
        assert_eq!(width_from(Some("10"), || None), MIN_WIDTH);
    }
}
