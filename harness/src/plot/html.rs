//! `index.html`: one page that shows a whole run — its metadata, the claims verdicts (claim,
//! verdict and the evidence that decided it), the paper table, every figure with its caption
//! and notes, and the figures the data could not support.
//!
//! **Width.** The page fits a 1280 px window with every column of its tables in view. A row
//! of the paper table per strategy would be as wide, but its columns are what a reader
//! compares across, so the table keeps one column per strategy and makes the columns narrow:
//! each cell stacks its median, its interval and its ratio on three lines in small numerals
//! (the interval may break after its comma), and below them, when the results have them, its
//! distance to the floor and its cold ratio (each may break after its label), the
//! strategies' names break after their
//! hyphens, and beyond ten strategies (the peers) the headers are set vertically. A column is
//! then about 50 px, so that all seventeen strategies fit; long words in the other tables
//! (paths, claim ids) may break anywhere. A narrower window scrolls the table, never the page.
//!
//! Under the paper table, when the results hold parallel cases, the parallel table
//! ([`crate::parallel::table`]): measured speedups beside the bound of each case's job graph,
//! in a box of its own that scrolls in a narrow window.
//!
//! The page is self-contained in the sense that matters for results folders: inline CSS, no
//! script, no font or style sheet from the network; images are the figure files beside it
//! (`figures/*.svg`, or PNG when no SVG was written), referenced by relative paths, so the
//! folder (not the page alone) opens from disk or from any static host. Nothing
//! time-dependent is written: the same results, named the same way on the command line, give
//! the same page.

use std::fmt::Write as _;

use crate::check::report::Report;
use crate::plot::dataset::Dataset;
use crate::plot::figures::Planned;
use crate::plot::table::PaperTable;
use crate::plot::FIGURES_DIR;
use crate::table::Table;

/// Everything the page shows.
pub struct Page<'a> {
    /// The data (for metadata).
    pub data: &'a Dataset,
    /// The figures, with the relative path of the image each shows and whether it is wider
    /// than one panel (then it spans the page).
    pub figures: &'a [(Planned, String, bool)],
    /// Figures not drawn, and why.
    pub missing: &'a [String],
    /// The paper table.
    pub table: &'a PaperTable,
    /// The claims verdicts, with the name of the claims file.
    pub claims: (&'a str, &'a Report),
    /// Other files written beside the page (relative paths), listed at its end.
    pub files: &'a [String],
}

/// Escape text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text with `code spans` in backticks rendered as `<code>`.
fn prose(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;max-width:1100px;\
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:.85em;margin:1em 0}\
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;\
overflow-wrap:anywhere}th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap}\
table.paper{font-size:.78em}table.paper th,table.paper td{padding:.2em .3em;overflow-wrap:normal}\
table.paper td.cell{text-align:right}table.paper td.cell span{display:block;white-space:nowrap}\
table.paper td.cell span.ci{white-space:normal}\
table.paper .ci,table.paper .ratio{font-size:.85em;color:#555}\
table.paper.many th.strategy{vertical-align:bottom}\
table.paper.many th.strategy span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}\
.sentence{display:block;font-size:.9em;color:#444}\
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:.9em;color:#444}.notes{font-size:.85em;color:#666}\
.holds{color:#006d2c;font-weight:bold}.fails{color:#b30000;font-weight:bold}\
.inconclusive,.skipped,.error{color:#8a6d00;font-weight:bold}\
td.verdict{white-space:nowrap;overflow-wrap:normal}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1em}\
figure.wide{grid-column:1/-1}.scroll{overflow-x:auto}";

/// Render `table` (already formatted text cells) as an HTML table.
fn html_table(table: &Table) -> String {
    let mut out = String::from("<table>\n<tr>");
    for h in table.headers() {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in table.rows() {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// The evidence of one row of `check`'s table (claim, verdict, series, fit, interval, sizes,
/// reason) as one sentence: `fdotprod/tape: exponent 1 (local [1, 1]) at sizes
/// 100,1000,10000. exponent 1 within 1 ± 0.02`.
fn evidence(row: &[String]) -> String {
    let cell = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
    let (series, fit, interval, sizes, reason) = (cell(2), cell(3), cell(4), cell(5), cell(6));
    let mut text = String::new();
    if !series.is_empty() {
        text.push_str(series);
        text.push_str(": ");
    }
    let mut decided = fit.to_string();
    if !interval.is_empty() {
        decided.push_str(&format!(" ({interval})"));
    }
    if !sizes.is_empty() {
        decided.push_str(&format!(" at sizes {sizes}"));
    }
    if !decided.trim().is_empty() {
        text.push_str(decided.trim());
        text.push_str(". ");
    }
    text.push_str(reason);
    text
}

/// A name that may break after each hyphen.
fn breakable(name: &str) -> String {
    escape(name).replace('-', "-<wbr>")
}

/// Beyond this many strategy columns the paper table's headers are set vertically: even
/// broken after their hyphens, the peers' names are wider than the numbers below them.
const MANY_STRATEGIES: usize = 10;

/// The paper table: one column per strategy, each measured cell its median, interval and
/// ratio on three lines (see the module documentation, "Width").
fn paper_table(table: &PaperTable) -> String {
    let class = if table.strategies.len() > MANY_STRATEGIES {
        "paper many"
    } else {
        "paper"
    };
    let mut out = format!("<table class=\"{class}\">\n<tr><th>workload</th><th>size</th>");
    for strategy in &table.strategies {
        let _ = write!(
            out,
            "<th class=\"strategy\"><span>{}</span></th>",
            breakable(strategy)
        );
    }
    out.push_str("</tr>\n");
    for row in &table.rows {
        let size = row.size.map_or_else(|| "—".into(), |s| s.to_string());
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{size}</td>",
            breakable(&row.workload)
        );
        for cell in &row.cells {
            match PaperTable::cell_parts(cell) {
                Some(parts) => {
                    let _ = write!(
                        out,
                        "<td class=\"cell\"><span class=\"median\">{}</span>",
                        escape(&parts.median)
                    );
                    if let Some(interval) = &parts.interval {
                        let _ = write!(out, "<span class=\"ci\">{}</span>", escape(interval));
                    }
                    if let Some(ratio) = &parts.ratio {
                        let _ = write!(out, "<span class=\"ratio\">{}</span>", escape(ratio));
                    }
                    // Labelled ratios (`floor 12.5×`): styled as ratios, and free to break at
                    // their space as the interval is (`ci`), so that the column stays narrow.
                    for labelled in [&parts.floor, &parts.cold].into_iter().flatten() {
                        let _ = write!(out, "<span class=\"ratio ci\">{}</span>", escape(labelled));
                    }
                    out.push_str("</td>");
                }
                None => {
                    let _ = write!(
                        out,
                        "<td class=\"cell\">{}</td>",
                        escape(&PaperTable::cell_text(cell))
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

impl Page<'_> {
    /// The page's HTML.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let suites: Vec<String> = self
            .data
            .sources
            .iter()
            .filter_map(|s| s.metadata.as_ref().map(|m| m.options.suite.clone()))
            .collect();
        let title = if suites.is_empty() {
            "dualbench results".to_string()
        } else {
            format!("dualbench results: {} suite", suites.join(" + "))
        };
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            escape(&title),
            escape(&title)
        );
        let _ = writeln!(
            out,
            "<p>{} cases from {} results file{}. Contents: <a href=\"#run\">the run</a>, \
             <a href=\"#claims\">claims</a>, <a href=\"#table\">table</a>, \
             <a href=\"#figures\">figures</a>.</p>",
            self.data.rows.len(),
            self.data.sources.len(),
            if self.data.sources.len() == 1 {
                ""
            } else {
                "s"
            },
        );
        self.metadata(&mut out);
        self.claims(&mut out);
        let _ = writeln!(
            out,
            "<h2 id=\"table\">Table</h2>\n<p>{}</p>",
            escape(&self.table.caption())
        );
        out.push_str("<div class=\"scroll\">\n");
        out.push_str(&paper_table(self.table));
        out.push_str("</div>\n");
        if !self.table.parallel.is_empty() {
            let _ = writeln!(
                out,
                "<h3 id=\"parallel\">Parallel cases</h3>\n<p>{}</p>\n<div class=\"scroll\">",
                escape(&self.table.parallel_caption())
            );
            out.push_str(&html_table(&crate::parallel::table::table(
                &self.table.parallel,
            )));
            out.push_str("</div>\n");
        }
        out.push_str("<h2 id=\"figures\">Figures</h2>\n<div class=\"grid\">\n");
        for (figure, image, wide) in self.figures {
            let _ = write!(
                out,
                "<figure id=\"{}\"{}>\n<img src=\"{}\" alt=\"{}\">\n<figcaption><b>{}.</b> {}</figcaption>\n",
                escape(&figure.stem),
                if *wide { " class=\"wide\"" } else { "" },
                escape(image),
                escape(&figure.title),
                escape(&figure.title),
                prose(&figure.caption)
            );
            if !figure.parts.is_empty() {
                let extension = image.rsplit('.').next().unwrap_or("svg");
                let links: Vec<String> = figure
                    .parts
                    .iter()
                    .map(|(stem, _)| {
                        format!(
                            "<a href=\"{FIGURES_DIR}/{0}.{extension}\">{0}</a>",
                            escape(stem)
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "<p class=\"notes\">Single panels, one column wide: {}.</p>",
                    links.join(", ")
                );
            }
            if !figure.notes.is_empty() {
                out.push_str("<ul class=\"notes\">\n");
                for note in &figure.notes {
                    let _ = writeln!(out, "<li>{}</li>", escape(note));
                }
                out.push_str("</ul>\n");
            }
            out.push_str("</figure>\n");
        }
        out.push_str("</div>\n");
        if !self.missing.is_empty() {
            out.push_str("<h3>Not drawn</h3>\n<ul class=\"notes\">\n");
            for m in self.missing {
                let _ = writeln!(out, "<li>{}</li>", prose(m));
            }
            out.push_str("</ul>\n");
        }
        if !self.files.is_empty() {
            out.push_str("<p class=\"notes\">Also written: ");
            let links: Vec<String> = self
                .files
                .iter()
                .map(|f| format!("<a href=\"{0}\">{0}</a>", escape(f)))
                .collect();
            out.push_str(&links.join(", "));
            out.push_str(".</p>\n");
        }
        let _ = writeln!(
            out,
            "<p class=\"notes\">Drawn by <code>dualbench plot</code> {} from the results files \
             alone.</p>\n</body>\n</html>",
            env!("CARGO_PKG_VERSION")
        );
        out
    }

    /// The claims section: one row per claim — its id and sentence, its verdict, and the
    /// evidence `check` decided it on (the deciding series, its fit, interval and sizes, and
    /// why).
    fn claims(&self, out: &mut String) {
        let (name, report) = self.claims;
        let _ = writeln!(
            out,
            "<h2 id=\"claims\">Claims</h2>\n<p>{} — decided on these results by \
             <code>dualbench check</code> with <code>{}</code>.</p>",
            escape(&report.summary_line()),
            escape(name)
        );
        out.push_str(
            "<table class=\"claims\">\n<tr><th>claim</th><th>verdict</th><th>evidence</th></tr>\n",
        );
        // One row per claim, in the claims' order, with the cells of check's own table:
        // claim, verdict, series, fit, interval, sizes, reason.
        let table = report.table(false);
        for (claim, row) in report.claims.iter().zip(table.rows()) {
            let verdict = claim.verdict.as_str();
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code><span class=\"sentence\">{}</span></td>\
                 <td class=\"verdict {verdict}\">{verdict}</td><td>{}</td></tr>",
                escape(&claim.id),
                prose(&claim.sentence),
                escape(&evidence(row))
            );
        }
        out.push_str("</table>\n");
    }

    fn metadata(&self, out: &mut String) {
        out.push_str("<h2 id=\"run\">The run</h2>\n");
        let mut table = Table::new(["field", "value"]);
        for source in &self.data.sources {
            let name = source.path.display().to_string();
            table.push_row([
                "results".to_string(),
                format!("{name} ({} rows)", source.rows),
            ]);
            let Some(m) = &source.metadata else {
                table.push_row(["metadata".to_string(), "none (a CSV file)".to_string()]);
                continue;
            };
            let commit = m
                .build
                .git_commit
                .clone()
                .unwrap_or_else(|| "unknown".into());
            let dirty = match m.build.git_dirty {
                Some(true) => " (uncommitted changes)",
                _ => "",
            };
            let o = &m.options;
            for (k, v) in [
                ("command", m.command.clone()),
                ("date", m.date.clone()),
                ("suite", o.suite.clone()),
                (
                    "build",
                    format!(
                        "dualbench {}, commit {commit}{dirty}, {} profile",
                        m.build.dualbench_version, m.build.profile
                    ),
                ),
                ("compiler", m.build.rustc_version.clone()),
                (
                    "machine",
                    format!(
                        "{}, {} cores, {}, {}, {}",
                        m.machine.cpu_model,
                        m.machine.cores,
                        crate::results::summary::format_bytes(m.machine.memory_bytes),
                        m.machine.os,
                        m.machine.arch
                    ),
                ),
                (
                    "options",
                    format!(
                        "budget {} s, at least {} samples and {} s per case, warm-up {} s, {} rounds, \
                         stack {} MiB, memory limit {} MiB, confidence {}",
                        o.budget_s,
                        o.repeat,
                        o.min_time_s,
                        o.warmup_s,
                        o.rounds,
                        o.stack_mib,
                        o.memory_limit_mib,
                        m.ci_level
                    ),
                ),
            ] {
                table.push_row([k.to_string(), v]);
            }
            if let Some(shard) = &o.shard {
                table.push_row(["shard".to_string(), shard.clone()]);
            }
            if !m.merged_from.is_empty() {
                table.push_row([
                    "merged from".to_string(),
                    format!("{} files", m.merged_from.len()),
                ]);
            }
        }
        out.push_str(&html_table(&table));
    }
}
