//! Plain-text and Markdown tables for the summaries that commands print.
//!
//! A [`Table`] is a header row and rows of already formatted cells; it renders as aligned plain
//! text for a terminal ([`TableStyle::Plain`]) or as a GitHub-flavoured Markdown table for a
//! README or a CI summary ([`TableStyle::Markdown`]). Column widths count `char`s, which is exact
//! for the ASCII the harness prints.
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
}

/// A header row and rows of formatted cells, every row as long as the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
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
            TableStyle::Plain => self.render_plain(),
            TableStyle::Markdown => self.render_markdown(),
        }
    }

    fn render_plain(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let dashes: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers)
            .chain(std::iter::once(&dashes))
            .chain(&self.rows)
        {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .zip(&self.align)
                .map(|((cell, &width), align)| match align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
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
        f.write_str(&self.render_plain())
    }
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

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn rows_of_the_wrong_length_are_rejected() {
        Table::new(["a", "b"]).push_row(["only one"]);
    }
}
