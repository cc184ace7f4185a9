//! Plain-text and Markdown tables for the summaries that commands print.
//!
//! A [`Table`] is a header row and rows of already formatted cells; it renders as aligned plain
//! text ([`TableStyle::Plain`]), as plain text fitted to a terminal's width
//! ([`TableStyle::Fitted`]), or as a GitHub-flavoured Markdown table for a README or a CI
//! summary ([`TableStyle::Markdown`]). Column widths count `char`s, which is exact for the
//! ASCII the harness prints.
//!
//! A fitted table that is wider than its width is laid out in the first of these that fits:
//!
//! 1. the columns narrowed, the widest first, no column narrower than its longest word (up
//!    to [`MAX_WORD_FLOOR`]), cells wrapping at spaces onto further lines of their row;
//! 2. the same with [`Table::detail`] columns taken out of the grid, one at a time in the order
//!    they were marked, until it fits: their cells are printed under their row instead, as
//!    one indented paragraph `header: cell; header: cell` (empty and `-` cells left out);
//! 3. one `header: cell` paragraph per cell, a blank line between rows.
//!
//! ```
//! use dualbench::table::{Align, Table, TableStyle};
//!
//! let mut table = Table::new(["strategy", "calls"]).align(1, Align::Right);
//! table.push_row(["naive", "127"]);
//! table.push_row(["dualrev", "8"]);
//! assert_eq!(
//!     table.render(TableStyle::Plain),
//!     "strategy  calls\n--------  -----\nnaive       127\ndualrev       8\n"
//! );
//! assert_eq!(
//!     table.render(TableStyle::Markdown),
//!     "| strategy | calls |\n| --- | ---: |\n| naive | 127 |\n| dualrev | 8 |\n"
//! );
//! ```

use std::fmt;

/// How the cells of a column are aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right (text).
    #[default]
    Left,
    /// Padded on the left (numbers).
    Right,
}

/// How a table is rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TableStyle {
    /// Columns padded to a common width and separated by two spaces, a dashed line under the
    /// header, no trailing spaces.
    #[default]
    Plain,
    /// A GitHub-flavoured Markdown table; `|` inside a cell is escaped.
    Markdown,
    /// [`TableStyle::Plain`] when it fits in `width` columns, else laid out to fit as the
    /// module documentation says. No line is wider than `width`.
    Fitted {
        /// The columns available, e.g. [`crate::output::terminal_width`].
        width: usize,
    },
}

impl TableStyle {
    /// `text`, a paragraph printed with a table of this style: reflowed to the width of
    /// [`TableStyle::Fitted`] ([`crate::output::reflow`]), unchanged in the other styles.
    pub fn paragraph(self, text: &str) -> String {
        match self {
            TableStyle::Fitted { width } => {
                let body = text.trim_end_matches('\n');
                crate::output::reflow(body, width) + &text[body.len()..]
            }
            TableStyle::Plain | TableStyle::Markdown => text.to_string(),
        }
    }
}

/// A fitted column is never narrower than this, nor than its longest word up to
/// [`MAX_WORD_FLOOR`] (or its widest cell, if narrower).
pub const MIN_COLUMN_WIDTH: usize = 6;

/// A word longer than this (a path, a long list) may be broken to fit a column.
pub const MAX_WORD_FLOOR: usize = 24;

/// How far the cells of [`Table::detail`] columns are indented under their row.
const DETAIL_INDENT: &str = "    ";

/// How far the further lines of a wrapped `header: cell` paragraph are indented.
const CONTINUATION_INDENT: &str = "        ";

/// The spaces between two columns of a plain table.
const GAP: usize = 2;

/// A header row and rows of formatted cells, every row as long as the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    details: Vec<usize>,
    whole: Vec<usize>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and no rows; every column left-aligned.
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = vec![Align::Left; headers.len()];
        Self {
            headers,
            align,
            details: Vec::new(),
            whole: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Align column `column` (counted from 0) as `align`.
    ///
    /// # Panics
    /// If the table has no such column.
    pub fn align(mut self, column: usize, align: Align) -> Self {
        assert!(
            column < self.headers.len(),
            "column {column} out of range: the table has {} columns",
            self.headers.len()
        );
        self.align[column] = align;
        self
    }

    /// Make column `column` a detail: when a [`TableStyle::Fitted`] table does not fit with
    /// it, its cells are printed under their rows instead (long descriptions and reasons).
    /// Details leave the grid in the order they were marked.
    ///
    /// # Panics
    /// If the table has no such column.
    pub fn detail(mut self, column: usize) -> Self {
        assert!(
            column < self.headers.len(),
            "column {column} out of range: the table has {} columns",
            self.headers.len()
        );
        if !self.details.contains(&column) {
            self.details.push(column);
        }
        self
    }

    /// Never wrap the cells of column `column` in a [`TableStyle::Fitted`] table (an interval
    /// `2.45 ns - 3.26 ns` is unreadable on three lines): it is as wide as its widest cell, or,
    /// if it is a [`Table::detail`], printed under its row.
    ///
    /// # Panics
    /// If the table has no such column.
    pub fn whole(mut self, column: usize) -> Self {
        assert!(
            column < self.headers.len(),
            "column {column} out of range: the table has {} columns",
            self.headers.len()
        );
        self.whole.push(column);
        self
    }

    /// Append a row.
    ///
    /// # Panics
    /// If the row does not have one cell per column.
    pub fn push_row<I, S>(&mut self, row: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let row: Vec<String> = row.into_iter().map(Into::into).collect();
        assert_eq!(
            row.len(),
            self.headers.len(),
            "a row needs one cell per column ({:?})",
            self.headers
        );
        self.rows.push(row);
    }

    /// The column headers.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The rows, in the order they were pushed.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Render in `style`; every line ends with a newline.
    pub fn render(&self, style: TableStyle) -> String {
        match style {
            TableStyle::Plain => {
                let all = vec![true; self.headers.len()];
                self.render_plain(&all, &self.natural_widths(), usize::MAX)
            }
            TableStyle::Markdown => self.render_markdown(),
            TableStyle::Fitted { width } => self.render_fitted(width),
        }
    }

    /// Each column's width: its widest cell.
    fn natural_widths(&self) -> Vec<usize> {
        self.column_max(|cell| cell.chars().count())
    }

    /// Each column's narrowest fitted width: its longest word, at least [`MIN_COLUMN_WIDTH`]
    /// and at most [`MAX_WORD_FLOOR`], and never more than its natural width; a
    /// [`Table::whole`] column's natural width.
    fn floor_widths(&self) -> Vec<usize> {
        let longest_word = |cell: &str| {
            cell.split_whitespace()
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0)
        };
        self.column_max(longest_word)
            .into_iter()
            .zip(self.natural_widths())
            .enumerate()
            .map(|(c, (word, natural))| {
                if self.whole.contains(&c) {
                    natural
                } else {
                    word.clamp(MIN_COLUMN_WIDTH, MAX_WORD_FLOOR).min(natural)
                }
            })
            .collect()
    }

    /// The largest `measure` of each column's cells, its header included.
    fn column_max(&self, measure: impl Fn(&str) -> usize) -> Vec<usize> {
        (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|cell| measure(cell))
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Plain text of the columns where `shown` is true, with these widths (one per shown
    /// column); a cell wider than its column wraps onto further lines of its row. The cells of
    /// the other (detail) columns follow each row as one indented paragraph wrapped to
    /// `width`.
    fn render_plain(&self, shown: &[bool], widths: &[usize], width: usize) -> String {
        let visible = |row: &[String]| -> Vec<String> {
            row.iter()
                .zip(shown)
                .filter(|(_, &s)| s)
                .map(|(cell, _)| cell.clone())
                .collect()
        };
        let align: Vec<Align> = self
            .align
            .iter()
            .zip(shown)
            .filter(|(_, &s)| s)
            .map(|(a, _)| *a)
            .collect();
        let dashes: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        let mut out = grid_lines(&visible(&self.headers), widths, &align);
        out.push_str(&grid_lines(&dashes, widths, &align));
        let options = textwrap::Options::new(width)
            .initial_indent(DETAIL_INDENT)
            .subsequent_indent(CONTINUATION_INDENT)
            .word_splitter(textwrap::WordSplitter::NoHyphenation)
            .break_words(true);
        for row in &self.rows {
            out.push_str(&grid_lines(&visible(row), widths, &align));
            let details: Vec<String> = self
                .details
                .iter()
                .filter(|&&c| !shown[c] && !matches!(row[c].trim(), "" | "-"))
                .map(|&c| format!("{}: {}", self.headers[c], row[c]))
                .collect();
            if !details.is_empty() {
                out.push_str(&textwrap::fill(&details.join("; "), &options));
                out.push('\n');
            }
        }
        out
    }

    fn render_fitted(&self, width: usize) -> String {
        let natural = self.natural_widths();
        let floors = self.floor_widths();
        let mut shown = vec![true; self.headers.len()];
        let mut details = self.details.iter();
        loop {
            let keep = |widths: &[usize]| -> Vec<usize> {
                widths
                    .iter()
                    .zip(&shown)
                    .filter(|(_, &s)| s)
                    .map(|(&w, _)| w)
                    .collect()
            };
            if let Some(widths) = fit_columns(&keep(&natural), &keep(&floors), width) {
                return self.render_plain(&shown, &widths, width);
            }
            match details.next() {
                Some(&column) => shown[column] = false,
                None => return self.render_records(width),
            }
        }
    }

    /// One `header: cell` paragraph per cell, a blank line between rows.
    fn render_records(&self, width: usize) -> String {
        let options = textwrap::Options::new(width)
            .subsequent_indent(DETAIL_INDENT)
            .word_splitter(textwrap::WordSplitter::NoHyphenation)
            .break_words(true);
        let blocks: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                self.headers
                    .iter()
                    .zip(row)
                    .map(|(header, cell)| {
                        textwrap::fill(&format!("{header}: {cell}"), &options) + "\n"
                    })
                    .collect()
            })
            .collect();
        blocks.join("\n")
    }

    fn render_markdown(&self) -> String {
        let line = |cells: &[String]| {
            let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            format!("| {} |\n", escaped.join(" | "))
        };
        let rule: Vec<String> = self
            .align
            .iter()
            .map(|a| match a {
                Align::Left => "---".to_string(),
                Align::Right => "---:".to_string(),
            })
            .collect();
        let mut out = line(&self.headers);
        out.push_str(&line(&rule));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

impl fmt::Display for Table {
    /// The plain-text rendering.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(TableStyle::Plain))
    }
}

/// One row of a grid: its cells padded to `widths` and aligned, separated by [`GAP`] spaces,
/// a cell wider than its column wrapped onto further lines; no trailing spaces.
fn grid_lines(row: &[String], widths: &[usize], align: &[Align]) -> String {
    let wrapped: Vec<Vec<String>> = row
        .iter()
        .zip(widths)
        .map(|(cell, &width)| wrap(cell, width))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = String::new();
    for line in 0..height {
        let cells: Vec<String> = wrapped
            .iter()
            .zip(widths)
            .zip(align)
            .map(|((lines, &width), align)| {
                let cell = lines.get(line).map_or("", String::as_str);
                match align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                }
            })
            .collect();
        out.push_str(cells.join(&" ".repeat(GAP)).trim_end());
        out.push('\n');
    }
    out
}

/// `cell` as lines of at most `width` chars (one line when it fits), broken at spaces; a word
/// longer than `width` is broken after its hyphens, or anywhere if it has none.
fn wrap(cell: &str, width: usize) -> Vec<String> {
    if cell.chars().count() <= width {
        return vec![cell.to_string()];
    }
    // Hyphens are break points only where a word cannot fit whole: `--features peer-xad`
    // stays one piece when it can.
    let splitter = if cell.split_whitespace().any(|w| w.chars().count() > width) {
        textwrap::WordSplitter::HyphenSplitter
    } else {
        textwrap::WordSplitter::NoHyphenation
    };
    let options = textwrap::Options::new(width.max(1))
        .word_splitter(splitter)
        .break_words(true);
    textwrap::wrap(cell, options)
        .into_iter()
        .map(|line| line.trim_end().to_string())
        .collect()
}

/// Column widths that fit `width` with the gaps between them: the natural widths when they
/// fit, else the widest column narrowed, one char at a time, while any is wider than its
/// floor; `None` when even the floors do not fit.
fn fit_columns(natural: &[usize], floors: &[usize], width: usize) -> Option<Vec<usize>> {
    let gaps = GAP * natural.len().saturating_sub(1);
    let available = width.checked_sub(gaps)?;
    let mut widths = natural.to_vec();
    let mut total: usize = widths.iter().sum();
    while total > available {
        // The widest column above its floor; of equally wide ones the last (descriptions and
        // reasons come last).
        let (widest, &w) = widths
            .iter()
            .enumerate()
            .filter(|&(c, &w)| w > floors[c])
            .max_by_key(|&(_, &w)| w)?;
        widths[widest] = w - 1;
        total -= 1;
    }
    Some(widths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_columns_are_as_wide_as_their_widest_cell() {
        let mut t = Table::new(["a", "b"]);
        t.push_row(["longer cell", "x"]);
        t.push_row(["y", "z"]);
        let text = t.render(TableStyle::Plain);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a            b");
        assert_eq!(lines[1], "-----------  -");
        assert_eq!(lines[3], "y            z");
    }

    #[test]
    fn plain_lines_have_no_trailing_spaces() {
        let mut t = Table::new(["name", "note"]);
        t.push_row(["a", ""]);
        assert!(t.to_string().lines().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn markdown_escapes_pipes_in_cells() {
        let mut t = Table::new(["expr"]);
        t.push_row(["|x - y|"]);
        assert_eq!(
            t.render(TableStyle::Markdown),
            "| expr |\n| --- |\n| \\|x - y\\| |\n"
        );
    }

    #[test]
    fn empty_table_renders_its_header() {
        let t = Table::new(["a"]);
        assert!(t.is_empty());
        assert_eq!(t.render(TableStyle::Plain), "a\n-\n");
    }

    /// A table like `list`'s: short names, a long description.
    fn wide_table() -> Table {
        let mut t = Table::new(["name", "count", "description"]).align(1, Align::Right);
        t.push_row([
            "fdotprod",
            "12",
            "the dot product of two vectors, written as a fold over a zip of both, with every \
             product and sum on the tape",
        ]);
        t.push_row(["x", "3456789", "short"]);
        t
    }

    #[test]
    fn fitted_is_plain_when_the_table_fits() {
        let t = wide_table();
        let plain = t.render(TableStyle::Plain);
        let widest = plain.lines().map(str::len).max().unwrap();
        assert!(widest > 80, "{plain}");
        assert_eq!(t.render(TableStyle::Fitted { width: widest }), plain);
    }

    #[test]
    fn fitted_tables_wrap_their_widest_column_and_keep_every_word() {
        let t = wide_table();
        for width in [40, 50, 80] {
            let text = t.render(TableStyle::Fitted { width });
            assert!(
                text.lines().all(|l| l.chars().count() <= width),
                "{width}:\n{text}"
            );
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                words(&text).contains("fdotprod 12 the dot product"),
                "{width}:\n{text}"
            );
            // The short columns are not wrapped; the right-aligned count stays right-aligned.
            assert!(
                text.lines()
                    .any(|l| l.starts_with("x         3456789  short")),
                "{text}"
            );
        }
    }

    #[test]
    fn too_narrow_for_columns_prints_one_line_per_cell() {
        let mut t = Table::new(["a", "b", "c", "d", "e", "f"]);
        t.push_row(["aaaaaaaaaa"; 6]);
        let text = t.render(TableStyle::Fitted { width: 30 });
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
        assert!(text.contains("a: aaaaaaaaaa\nb: aaaaaaaaaa\n"), "{text}");
    }

    #[test]
    fn fitting_narrows_the_widest_column_first_down_to_its_floor() {
        assert_eq!(
            fit_columns(&[5, 40, 10], &[5, 6, 6], 50),
            Some(vec![5, 31, 10])
        );
        assert_eq!(
            fit_columns(&[5, 20, 20], &[5, 6, 6], 30),
            Some(vec![5, 11, 10])
        );
        assert_eq!(
            fit_columns(&[5, 20, 20], &[5, 15, 6], 30),
            Some(vec![5, 15, 6])
        );
        assert_eq!(fit_columns(&[5, 10], &[5, 6], 100), Some(vec![5, 10]));
        assert_eq!(fit_columns(&[10; 6], &[6; 6], 30), None);
    }

    #[test]
    fn words_are_not_broken_while_the_floors_fit() {
        let mut t = Table::new(["feature", "note"]);
        t.push_row(["no: build with --features peer-autodiff (or peers)", "a b"]);
        let text = t.render(TableStyle::Fitted { width: 30 });
        assert!(text.contains("peer-autodiff"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 30), "{text}");
    }

    #[test]
    fn detail_columns_move_under_their_rows_when_the_grid_does_not_fit() {
        let mut t = Table::new(["name", "a", "b", "c", "description"]).detail(4);
        t.push_row([
            "random-fork-join",
            "1,10,100,1000",
            "steps=100",
            "paper",
            "a random program of nested joins, a different one at each size",
        ]);
        let text = t.render(TableStyle::Fitted { width: 60 });
        assert!(text.lines().all(|l| l.len() <= 60), "{text}");
        assert!(
            text.contains(
                "random-fork-join  1,10,100,1000  steps=100  paper\n    description: a random"
            ),
            "{text}"
        );
        assert!(
            !text.lines().next().unwrap().contains("description"),
            "{text}"
        );
        // Plain keeps the column.
        let plain = t.render(TableStyle::Plain);
        assert!(plain.lines().next().unwrap().ends_with("description"));
    }

    #[test]
    fn paragraphs_wrap_only_when_fitted() {
        let text = "compare: one two three four five six seven\n\n";
        assert_eq!(
            TableStyle::Fitted { width: 20 }.paragraph(text),
            "compare: one two\nthree four five six\nseven\n\n"
        );
        assert_eq!(TableStyle::Plain.paragraph(text), text);
        assert_eq!(TableStyle::Markdown.paragraph(text), text);
    }

    #[test]
    fn whole_columns_are_never_wrapped() {
        let mut t = Table::new(["name", "interval", "note"]).whole(1).detail(1);
        t.push_row(["a", "2.45 ns - 3.26 ns", "n"]);
        let wide = t.render(TableStyle::Fitted { width: 30 });
        assert!(wide.contains("a     2.45 ns - 3.26 ns  n"), "{wide}");
        let narrow = t.render(TableStyle::Fitted { width: 26 });
        assert!(narrow.starts_with("name  note\n"), "{narrow}");
        let words = narrow.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.ends_with("a n interval: 2.45 ns - 3.26 ns"),
            "{narrow}"
        );
    }

    #[test]
    fn details_leave_in_order_share_one_paragraph_and_skip_empty_cells() {
        let mut t = Table::new(["name", "status", "note", "description"])
            .detail(3)
            .detail(2);
        t.push_row(["a", "ok", "-", ""]);
        t.push_row([
            "b",
            "timeout: beyond the budget",
            "abcdefgh",
            "a long description",
        ]);
        let text = t.render(TableStyle::Fitted { width: 20 });
        assert!(text.lines().all(|l| l.len() <= 20), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "name  status", "{text}");
        assert_eq!(
            lines[2], "a     ok",
            "a's note and description are empty: {text}"
        );
        assert!(lines[3].starts_with("b     timeout:"), "{text}");
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.ends_with("budget description: a long description; note: abcdefgh"),
            "{text}"
        );
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn rows_of_the_wrong_length_are_rejected() {
        Table::new(["a", "b"]).push_row(["only one"]);
    }
}
