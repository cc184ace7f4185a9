//! The paper-style table: one row per workload at a chosen size, one column per strategy
//! holding its median time, the confidence interval of that median and its ratio to a
//! reference strategy; written as Markdown (`table.md`) and LaTeX with booktabs rules
//! (`table.tex`), and shown in the HTML report.
//!
//! **Sizes.** By default each workload appears at the size where the most strategies
//! finished (the largest of those; its one case for a fixed-size workload), so that a row
//! compares as many strategies as the results allow; `--table-sizes fdotprod=1000,10000`
//! chooses sizes per workload. A strategy that did not finish a row's case shows its status
//! (`timeout`, `skipped`, ...), or `—` when the results hold no such case or its median is not a
//! finite time. A ratio is given only against a finite reference median above 0.
//!
//! **The floor and the cold gradient.** When the results hold `manual` (the hand-written
//! adjoints) on a row's case, every other measured cell also gives its ratio to `manual`'s
//! median, its distance to the floor (unless `manual` is the reference); when a row carries the
//! time of its process's first gradient (`cold_ns`, schema version 5), its cell gives that over
//! its median. Results without either show neither, and the caption mentions only what is
//! shown.
//!
//! **The parallel section.** When some case ran on more than one thread count, or its span
//! counters show parallelism, the table is followed by the parallel table
//! ([`crate::parallel::table`]): per workload and strategy at the largest size measured on
//! several threads (the size of figure 6), its measured speedups at each thread count, of the
//! whole gradient and of each phase, beside the bound min(t, W/S) and Brent's greedy estimate
//! of its span counters, and the bound at 2, 4, 8, 16 and 64 threads.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::parallel;
use crate::parallel::cases::ParallelCase;
use crate::plot::dataset::Dataset;
use crate::plot::style::{short, strategy_rank};
use crate::results::floor::{Floors, FLOOR_STRATEGY};
use crate::results::{CaseResult, Status};

/// One cell of the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A measured case.
    Measured {
        /// Median time per gradient, ns.
        median_ns: f64,
        /// Its confidence interval, ns.
        interval: Option<(f64, f64)>,
        /// median / the reference strategy's median on the same case.
        ratio: Option<f64>,
        /// median / `manual`'s median on the same case, the floor (none in `manual`'s own
        /// column, nor when `manual` is the reference).
        floor: Option<f64>,
        /// The time of the process's first gradient / median.
        cold: Option<f64>,
    },
    /// A case that did not finish: its status.
    Unfinished(&'static str),
    /// No such case in the results.
    Missing,
}

/// The text of a measured cell's parts, in one unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellParts {
    /// The median with its unit: `12.3 µs`.
    pub median: String,
    /// Its confidence interval in the same unit: `[12.1, 12.6]`.
    pub interval: Option<String>,
    /// The ratio to the reference strategy: `2.1×`.
    pub ratio: Option<String>,
    /// The ratio to `manual`: `floor 10.3×`.
    pub floor: Option<String>,
    /// The cold gradient over the median: `cold 3.1×`.
    pub cold: Option<String>,
}

/// One row: a workload at one size.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The workload (with parameters when they vary).
    pub workload: String,
    /// The size (`None`: fixed-size).
    pub size: Option<u64>,
    /// One cell per strategy column.
    pub cells: Vec<Cell>,
}

/// The table.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperTable {
    /// The strategy the ratios are taken against.
    pub reference: String,
    /// The strategy columns, in figure order.
    pub strategies: Vec<String>,
    /// The rows.
    pub rows: Vec<Row>,
    /// The parallel cases at the largest size measured on several threads (empty: none).
    pub parallel: Vec<ParallelCase>,
}

/// Parse `--table-sizes` values: `workload=size,size` (repeatable).
pub fn parse_sizes(values: &[String]) -> Result<BTreeMap<String, BTreeSet<u64>>> {
    let mut map: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for value in values {
        let Some((workload, sizes)) = value.split_once('=') else {
            return Err(Error::usage(format!(
                "--table-sizes `{value}`: expected WORKLOAD=SIZE[,SIZE...], e.g. fdotprod=1000,10000"
            )));
        };
        for s in sizes.split(',') {
            let size = crate::select::size(s.trim())
                .map_err(|e| Error::usage(format!("--table-sizes `{value}`: {e}")))?;
            map.entry(workload.trim().to_string())
                .or_default()
                .insert(size as u64);
        }
    }
    Ok(map)
}

/// Build the table of `data` with ratios to `reference`, at `sizes` (per workload; the
/// default rule for the others).
pub fn build(
    data: &Dataset,
    reference: &str,
    sizes: &BTreeMap<String, BTreeSet<u64>>,
) -> Result<PaperTable> {
    let groups = data.groups();
    for (workload, wanted) in sizes {
        let Some(group) = groups.iter().find(|g| &g.workload == workload) else {
            let names: BTreeSet<&str> = groups.iter().map(|g| g.workload.as_str()).collect();
            return Err(Error::usage(format!(
                "--table-sizes: no rows of workload `{workload}`; workloads in the results: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            )));
        };
        let have: BTreeSet<u64> = data.rows_of(group).filter_map(|r| r.size).collect();
        if let Some(missing) = wanted.iter().find(|s| !have.contains(s)) {
            return Err(Error::usage(format!(
                "--table-sizes: {workload} has no case of size {missing}; its sizes: {}",
                have.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let mut strategies: Vec<String> = data
        .rows
        .iter()
        .map(|r| r.strategy.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|s| s != "primal")
        .collect();
    strategies.sort_by(|a, b| strategy_rank(a).cmp(&strategy_rank(b)).then(a.cmp(b)));
    let floors = Floors::of(&data.rows);
    let mut rows = Vec::new();
    for group in &groups {
        let cases: Vec<&CaseResult> = data.rows_of(group).collect();
        let chosen: Vec<Option<u64>> = match sizes.get(&group.workload) {
            Some(s) => s.iter().map(|s| Some(*s)).collect(),
            None => default_size(&cases).into_iter().collect(),
        };
        for size in chosen {
            let at: Vec<&&CaseResult> = cases.iter().filter(|r| r.size == size).collect();
            let reference_median = at
                .iter()
                .find(|r| r.strategy == reference && r.status == Status::Ok)
                .and_then(|r| r.median_ns)
                .filter(|m| m.is_finite() && *m > 0.0);
            let cells = strategies
                .iter()
                .map(|s| match at.iter().find(|r| &r.strategy == s) {
                    None => Cell::Missing,
                    Some(r) if r.status != Status::Ok => Cell::Unfinished(r.status.name()),
                    Some(r) => match r.median_ns.filter(|m| m.is_finite() && *m >= 0.0) {
                        None => Cell::Missing,
                        Some(m) => Cell::Measured {
                            median_ns: m,
                            interval: r
                                .ci_low_ns
                                .zip(r.ci_high_ns)
                                .filter(|(lo, hi)| lo.is_finite() && hi.is_finite()),
                            ratio: reference_median.map(|base| m / base),
                            floor: (reference != FLOOR_STRATEGY && s != FLOOR_STRATEGY)
                                .then(|| floors.ratio(r))
                                .flatten(),
                            cold: r.cold_ratio().filter(|c| c.is_finite()),
                        },
                    },
                })
                .collect();
            rows.push(Row {
                workload: group.title(data.params_vary(&group.workload)),
                size,
                cells,
            });
        }
    }
    Ok(PaperTable {
        reference: reference.to_string(),
        strategies,
        rows,
        parallel: parallel::cases::largest_sizes(&parallel::cases::cases(&data.rows)),
    })
}

/// The size at which the most strategies finished (the largest such size), so that the row
/// compares as many strategies as the results allow; `None` when no case finished.
fn default_size(cases: &[&CaseResult]) -> Option<Option<u64>> {
    let mut finished: BTreeMap<Option<u64>, usize> = BTreeMap::new();
    for r in cases.iter().filter(|r| r.status == Status::Ok) {
        *finished.entry(r.size).or_default() += 1;
    }
    finished
        .into_iter()
        .max_by_key(|&(size, count)| (count, size))
        .map(|(size, _)| size)
}

/// A time and its interval in one unit: (`12.3`, `[12.1, 12.6]`, `µs`).
fn time_parts(
    median_ns: f64,
    interval: Option<(f64, f64)>,
) -> (String, Option<String>, &'static str) {
    let (factor, unit) = if median_ns >= 1e9 {
        (1e9, "s")
    } else if median_ns >= 1e6 {
        (1e6, "ms")
    } else if median_ns >= 1e3 {
        (1e3, "µs")
    } else {
        (1.0, "ns")
    };
    let interval =
        interval.map(|(lo, hi)| format!("[{}, {}]", short(lo / factor), short(hi / factor)));
    (short(median_ns / factor), interval, unit)
}

impl PaperTable {
    /// The column headers: workload, size, then the strategies.
    fn headers(&self) -> Vec<String> {
        let mut h = vec!["workload".to_string(), "size".to_string()];
        h.extend(self.strategies.iter().cloned());
        h
    }

    /// A measured cell's parts as text: (`12.3 µs`, `[12.1, 12.6]`, `2.1×`); `None` for a
    /// cell without a time.
    pub fn cell_parts(cell: &Cell) -> Option<CellParts> {
        let Cell::Measured {
            median_ns,
            interval,
            ratio,
            floor,
            cold,
        } = cell
        else {
            return None;
        };
        let (m, interval, unit) = time_parts(*median_ns, *interval);
        Some(CellParts {
            median: format!("{m} {unit}"),
            interval,
            ratio: ratio.map(|r| format!("{}×", short(r))),
            floor: floor.map(|r| format!("floor {}×", short(r))),
            cold: cold.map(|r| format!("cold {}×", short(r))),
        })
    }

    /// A cell as plain text: `12.3 µs [12.1, 12.6] 2.1×`, then `floor 10.3×` and `cold 3.1×`
    /// when the results have them.
    pub fn cell_text(cell: &Cell) -> String {
        match (Self::cell_parts(cell), cell) {
            (Some(parts), _) => [
                Some(parts.median),
                parts.interval,
                parts.ratio,
                parts.floor,
                parts.cold,
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
            (None, Cell::Unfinished(status)) => status.to_string(),
            (None, _) => "—".to_string(),
        }
    }

    /// The table as rows of plain-text cells, headers first.
    pub fn text_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![
                    row.workload.clone(),
                    row.size.map_or_else(|| "—".into(), |s| s.to_string()),
                ];
                cells.extend(row.cells.iter().map(Self::cell_text));
                cells
            })
            .collect();
        (self.headers(), rows)
    }

    /// Whether any cell has a part of its kind: its floor, or its cold ratio.
    fn shows(&self, part: fn(&Cell) -> bool) -> bool {
        self.rows.iter().flat_map(|r| &r.cells).any(part)
    }

    /// The caption shared by every rendering.
    pub fn caption(&self) -> String {
        let mut caption = format!(
            "Median time per gradient [confidence interval of the median] and ratio to {}, \
             per workload at its size.",
            self.reference
        );
        if self.shows(|c| matches!(c, Cell::Measured { floor: Some(_), .. })) {
            caption.push_str(&format!(
                " \"floor N×\": the ratio to {FLOOR_STRATEGY} (the hand-written adjoint), the \
                 distance to the floor."
            ));
        }
        if self.shows(|c| matches!(c, Cell::Measured { cold: Some(_), .. })) {
            caption.push_str(
                " \"cold N×\": the time of the first gradient of the case's process (cold \
                 code, caches and buffers) over the median.",
            );
        }
        caption
    }

    /// The caption of the parallel section.
    pub fn parallel_caption(&self) -> String {
        format!(
            "{}, per workload and strategy at the largest size measured on several threads: \
             speedup = median time on 1 thread / on t threads (whole gradient, forward and \
             reverse phase); bound = min(t, W/S) and greedy = W/(W/t + S) (Brent), with \
             W = work_forward + work_reverse and S = span_forward + span_reverse from the \
             strategy's counters; W/S of the gradient and of each pass; bound at P = min(P, \
             W/S) for P = 2/4/8/16/64. A case without span counters shows its measured \
             speedups only (docs/parallel.md).",
            parallel::table::TITLE
        )
    }

    /// GitHub-flavoured Markdown: the table, then the parallel section when there are
    /// parallel cases.
    pub fn markdown(&self) -> String {
        let (headers, rows) = self.text_rows();
        let mut table = crate::table::Table::new(headers);
        for row in rows {
            table.push_row(row);
        }
        let mut out = format!(
            "{}\n\n{}",
            self.caption(),
            table.render(crate::table::TableStyle::Markdown)
        );
        if !self.parallel.is_empty() {
            out.push_str(&format!(
                "\n{}\n\n{}",
                self.parallel_caption(),
                parallel::table::table(&self.parallel).render(crate::table::TableStyle::Markdown)
            ));
        }
        out
    }

    /// LaTeX: a `tabular` with booktabs rules (`\usepackage{booktabs}`); each cell stacks the
    /// median, its interval and the ratio.
    pub fn latex(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "% dualbench plot: {}\n% Needs \\usepackage{{booktabs}}.\n",
            self.caption()
        ));
        out.push_str(&format!(
            "\\begin{{tabular}}{{ll{}}}\n\\toprule\n",
            "r".repeat(self.strategies.len())
        ));
        let headers: Vec<String> = self
            .headers()
            .iter()
            .map(|h| format!("\\texttt{{{}}}", latex_escape(h)))
            .collect();
        out.push_str(&format!("{} \\\\\n\\midrule\n", headers.join(" & ")));
        for row in &self.rows {
            let mut cells = vec![
                format!("\\texttt{{{}}}", latex_escape(&row.workload)),
                row.size.map_or_else(|| "---".into(), |s| s.to_string()),
            ];
            for cell in &row.cells {
                cells.push(match cell {
                    Cell::Measured {
                        median_ns,
                        interval,
                        ratio,
                        floor,
                        cold,
                    } => {
                        let (m, i, unit) = time_parts(*median_ns, *interval);
                        let unit = if unit == "µs" { "$\\mu$s" } else { unit };
                        let mut lines = vec![format!("{m}\\,{unit}")];
                        if let Some(i) = i {
                            lines.push(format!("{{\\scriptsize {i}}}"));
                        }
                        if let Some(r) = ratio {
                            lines.push(format!("{{\\scriptsize {}$\\times$}}", short(*r)));
                        }
                        for (label, r) in [("floor", floor), ("cold", cold)] {
                            if let Some(r) = r {
                                lines.push(format!(
                                    "{{\\scriptsize {label} {}$\\times$}}",
                                    short(*r)
                                ));
                            }
                        }
                        format!(
                            "\\begin{{tabular}}[t]{{@{{}}r@{{}}}}{}\\end{{tabular}}",
                            lines.join("\\\\")
                        )
                    }
                    Cell::Unfinished(status) => format!("\\textit{{{status}}}"),
                    Cell::Missing => "---".into(),
                });
            }
            out.push_str(&format!("{} \\\\\n", cells.join(" & ")));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        if !self.parallel.is_empty() {
            out.push_str(&self.parallel_latex());
        }
        out
    }

    /// The parallel section in LaTeX: a second booktabs `tabular`, its caption in a comment.
    fn parallel_latex(&self) -> String {
        let headers = parallel::table::HEADERS;
        let mut out = format!(
            "\n% {}\n\\begin{{tabular}}{{lll{}}}\n\\toprule\n",
            self.parallel_caption(),
            "r".repeat(headers.len() - 3)
        );
        let escaped = |cells: &[String]| {
            cells
                .iter()
                .map(|c| latex_escape(c))
                .collect::<Vec<_>>()
                .join(" & ")
        };
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        out.push_str(&format!("{} \\\\\n\\midrule\n", escaped(&headers)));
        for row in parallel::table::cells(&self.parallel) {
            out.push_str(&format!("{} \\\\\n", escaped(&row)));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        out
    }
}

/// Escape LaTeX's special characters in plain text.
pub fn latex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latex_special_characters_are_escaped() {
        assert_eq!(
            latex_escape("a_b 50% & #1 {x}"),
            "a\\_b 50\\% \\& \\#1 \\{x\\}"
        );
        assert_eq!(
            latex_escape("~^\\"),
            "\\textasciitilde{}\\textasciicircum{}\\textbackslash{}"
        );
    }

    #[test]
    fn table_sizes_parse_per_workload_and_name_bad_input() {
        let sizes = parse_sizes(&["fdotprod=1000,1e4".into(), "lse=10".into()]).unwrap();
        assert_eq!(sizes["fdotprod"], [1000, 10000].into());
        assert_eq!(sizes["lse"], [10].into());
        let e = parse_sizes(&["fdotprod".into()]).unwrap_err().to_string();
        assert!(e.contains("WORKLOAD=SIZE"), "{e}");
        let e = parse_sizes(&["fdotprod=x".into()]).unwrap_err().to_string();
        assert!(e.contains("invalid size `x`"), "{e}");
    }

    fn measured(workload: &str, strategy: &str, median: f64) -> CaseResult {
        let mut row = crate::results::fixture::fmult_row(strategy);
        row.workload = workload.into();
        row.size = Some(100);
        row.median_ns = Some(median);
        row
    }

    fn table_of(rows: Vec<CaseResult>, reference: &str) -> PaperTable {
        let data = Dataset {
            rows,
            sources: Vec::new(),
        };
        build(&data, reference, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn cells_give_the_floor_and_the_cold_gradient_when_measured() {
        let mut tape = measured("fdotprod", "tape", 1000.0);
        tape.cold_ns = Some(3000.0);
        let rows = vec![
            measured("fdotprod", "primal", 100.0),
            tape,
            measured("fdotprod", "dualrev", 1100.0),
            measured("fdotprod", "manual", 80.0),
            measured("lse", "tape", 500.0),
        ];
        let table = table_of(rows.clone(), "tape");
        assert_eq!(table.strategies, ["tape", "dualrev", "manual"]);
        let text: Vec<Vec<String>> = table.text_rows().1;
        assert_eq!(text[0][2], "1 µs 1× floor 12.5× cold 3×");
        assert_eq!(text[0][3], "1.1 µs 1.1× floor 13.8×");
        // manual's own cell: no ratio to itself.
        assert_eq!(text[0][4], "80 ns 0.08×");
        // No manual on lse: no floor there.
        assert_eq!(text[1][2], "500 ns 1×");
        let caption = table.caption();
        assert!(caption.contains("\"floor N×\"") && caption.contains("\"cold N×\""));
        assert!(table.latex().contains("{\\scriptsize floor 12.5$\\times$}"));

        // Against manual, the ratio is the floor: not given twice.
        let table = table_of(rows.clone(), "manual");
        assert_eq!(table.text_rows().1[0][2], "1 µs 12.5× cold 3×");

        // Results without manual and without cold times (older files): as before, caption
        // included.
        let old: Vec<CaseResult> = rows
            .into_iter()
            .filter(|r| r.strategy != "manual")
            .map(|r| CaseResult { cold_ns: None, ..r })
            .collect();
        let table = table_of(old, "tape");
        assert_eq!(table.text_rows().1[0][2], "1 µs 1×");
        assert_eq!(
            table.caption(),
            "Median time per gradient [confidence interval of the median] and ratio to tape, \
             per workload at its size."
        );
    }

    #[test]
    fn the_parallel_section_follows_the_table_when_a_case_ran_on_several_threads() {
        use crate::parallel::span::COUNTERS;
        let mut rows = vec![measured("fdotprod", "tape", 1000.0)];
        let sequential = table_of(rows.clone(), "tape");
        assert!(sequential.parallel.is_empty());
        assert!(!sequential.markdown().contains(parallel::table::TITLE));
        assert!(!sequential.latex().contains(parallel::table::TITLE));
        for (threads, median) in [(1, 1000.0), (2, 550.0)] {
            let mut r = measured("par-tree", "dualrev-par", median);
            r.threads = threads;
            r.counters = COUNTERS
                .into_iter()
                .map(String::from)
                .zip([1200, 400, 800, 200])
                .collect();
            rows.push(r);
        }
        let table = table_of(rows, "tape");
        assert_eq!(table.parallel.len(), 1);
        // The paper table holds the 1-thread row only.
        assert_eq!(table.rows[1].workload, "par-tree");
        let md = table.markdown();
        let (_, section) = md.split_once(parallel::table::TITLE).expect("a section");
        assert!(
            section.contains(
                "| par-tree | 100 | dualrev-par | 2 | 1.82x | - | - | 2.00x | 1.25x | 3.33 | \
                 3.00 | 4.00 | 2.00/3.33/3.33/3.33/3.33 |"
            ),
            "{section}"
        );
        let tex = table.latex();
        assert_eq!(tex.matches("\\begin{tabular}{lll").count(), 1, "{tex}");
        assert!(tex.contains("W/S fwd & W/S rev & bound at P \\\\"), "{tex}");
        assert!(
            tex.contains("par-tree & 100 & dualrev-par & 2 & 1.82x"),
            "{tex}"
        );
    }

    #[test]
    fn a_cell_shows_its_median_interval_and_ratio_in_one_unit() {
        let cell = Cell::Measured {
            median_ns: 12_345.0,
            interval: Some((12_100.0, 12_600.0)),
            ratio: Some(2.104),
            floor: None,
            cold: None,
        };
        assert_eq!(PaperTable::cell_text(&cell), "12.3 µs [12.1, 12.6] 2.1×");
        assert_eq!(
            PaperTable::cell_text(&Cell::Unfinished("timeout")),
            "timeout"
        );
        assert_eq!(PaperTable::cell_text(&Cell::Missing), "—");
    }
}
