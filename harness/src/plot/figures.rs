//! The figures `plot` draws, each built from the [`Dataset`] alone:
//!
//! | stem | figure | what it shows |
//! |---|---|---|
//! | `cost` | 1. cost vs size | median time per gradient vs size, one panel per workload, log-log, interval bars, fitted exponent in the legend |
//! | `ladder` | 2. the ladder | on `square-chain` and `fdotprod`, each rung's exact work count and its time vs size, naive to dualrev |
//! | `overhead` | 3. overhead | gradient / primal per strategy per workload at the largest size all reached, log bars |
//! | `heap` | 4. peak heap vs size | peak live heap of one gradient vs size, one panel per workload, log-log |
//! | `phases` | 5. phase split | share of the forward and the reverse phase in each strategy's gradient |
//! | `speedup` | 6. parallel speedup | time at 1 thread / time at t threads vs t, with the ideal line t and each strategy's span bound min(t, W/S), one panel per workload |
//!
//! The figures with one panel per workload are also written one panel per file
//! (`cost-<workload>`, `heap-<workload>`, `speedup-<workload>`), each a paper column wide.
//!
//! The fitted exponents in the legends of figure 1 come from `check`'s fitting code
//! ([`crate::check::fit::fit_growth`]) over the same points: a power law (exponent p of
//! n^p), or an exponential (base b of b^n) when that fits better (higher R^2) with a base
//! above 1.05 — the naive rung on the sharing workloads. Fewer than three sizes give no fit,
//! and one size is drawn as points.
//!
//! The span bound of figure 6 comes from the counters of the strategy's case at the size drawn
//! ([`crate::parallel::span`]): W / S, the work over the span of its job graph's forward and
//! reverse passes, gives min(t, W / S), drawn dashed in the strategy's colour from t = 1 to the
//! panel's largest thread count. A strategy without the counters has no bound line.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::check::claims::FitKind;
use crate::check::fit::fit_growth;
use crate::parallel::span::Span;
use crate::plot::dataset::{largest_common_size, Dataset, Group};
use crate::plot::panel::{Axis, Bar, BarChart, BarGroup, Line, LinePanel, Point};
use crate::plot::render::{DrawResult, Figure};
use crate::plot::style::{short, strategy_style, Style, Unit};
use crate::results::{CaseResult, Status};

/// A figure to write: its file stem, the text around it in the report, and the drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// The file name without extension.
    pub stem: String,
    /// A heading for the report.
    pub title: String,
    /// What it shows and which claim it illustrates (one paragraph).
    pub caption: String,
    /// Cases the figure could not draw (timed out, failed, missing a metric).
    pub notes: Vec<String>,
    /// The drawing.
    pub drawing: Drawing,
    /// Single-panel versions of the drawing's panels, each written as its own file
    /// (stem, drawing): for a paper's column.
    pub parts: Vec<(String, Drawing)>,
}

/// A drawing: panels in a grid, or a bar chart.
#[derive(Clone, Debug, PartialEq)]
pub enum Drawing {
    /// Line panels, `columns` per row, each `panel` SVG px large.
    Panels {
        /// The panels, row by row.
        panels: Vec<LinePanel>,
        /// Panels per row.
        columns: usize,
        /// The size of one panel.
        panel: (u32, u32),
    },
    /// One horizontal bar chart, `width` SVG px wide.
    Bars {
        /// The chart.
        chart: BarChart,
        /// Its width.
        width: u32,
    },
}

/// The size of a single-panel figure (SVG px): about 3.4 in at 140 dpi, a paper's column.
pub const PANEL: (u32, u32) = (480, 330);

impl Figure for Drawing {
    fn size(&self) -> (u32, u32) {
        match self {
            Drawing::Panels {
                panels,
                columns,
                panel,
            } => {
                let rows = panels.len().div_ceil(*columns).max(1) as u32;
                (
                    panel.0 * (*columns).min(panels.len()).max(1) as u32,
                    panel.1 * rows,
                )
            }
            Drawing::Bars { chart, width } => (*width, chart.height()),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        style: Style,
    ) -> DrawResult<DB> {
        match self {
            Drawing::Panels {
                panels, columns, ..
            } => {
                let columns = (*columns).min(panels.len()).max(1);
                let rows = panels.len().div_ceil(columns).max(1);
                for (panel, area) in panels.iter().zip(root.split_evenly((rows, columns))) {
                    panel.draw(&area, style)?;
                }
                Ok(())
            }
            Drawing::Bars { chart, .. } => chart.draw(root, style),
        }
    }
}

/// Every figure the data support, in report order, and a note for each that it does not.
pub fn plan(data: &Dataset, confidence: f64) -> (Vec<Planned>, Vec<String>) {
    let mut planned = Vec::new();
    let mut missing = Vec::new();
    let sized: Vec<Group> = data
        .groups()
        .into_iter()
        .filter(|g| data.rows_of(g).any(|r| r.size.is_some()))
        .collect();
    if sized.is_empty() {
        missing.push(
            "cost vs size and peak heap vs size: not drawn — no sequential row (thread \
             count 1) has a size: only fixed-size workloads"
                .to_string(),
        );
    }
    let mut costs = Vec::new();
    for group in &sized {
        match cost(data, group, confidence) {
            Ok(p) => costs.push(p),
            Err(why) => missing.push(why),
        }
    }
    planned.extend(overview("cost", "Cost vs size", costs));
    match ladder(data) {
        Ok(p) => planned.push(p),
        Err(why) => missing.push(why),
    }
    match overhead(data) {
        Ok(p) => planned.push(p),
        Err(why) => missing.push(why),
    }
    let mut heaps = Vec::new();
    for group in &sized {
        match heap(data, group) {
            Ok(p) => heaps.push(p),
            Err(why) => missing.push(why),
        }
    }
    planned.extend(overview("heap", "Peak heap vs size", heaps));
    match phases(data) {
        Ok(p) => planned.push(p),
        Err(why) => missing.push(why),
    }
    match speedup(data) {
        Ok(p) => planned.extend(overview("speedup", "Parallel speedup", p)),
        Err(why) => missing.push(why),
    }
    (planned, missing)
}

/// Panels per row of an overview figure.
pub const OVERVIEW_COLUMNS: usize = 3;

/// One figure with every panel of `singles` (one per workload), which become its parts:
/// the overview for a page, the single panels for a paper's column. `None` without panels.
fn overview(stem: &str, title: &str, singles: Vec<Planned>) -> Option<Planned> {
    let caption = singles.first()?.caption.clone();
    let mut panels = Vec::new();
    let mut notes = Vec::new();
    let mut parts = Vec::new();
    for single in singles {
        if let Drawing::Panels { panels: p, .. } = &single.drawing {
            panels.extend(p.iter().cloned());
        }
        notes.extend(single.notes);
        parts.push((single.stem, single.drawing));
    }
    Some(Planned {
        stem: stem.to_string(),
        title: title.to_string(),
        caption,
        notes,
        drawing: Drawing::Panels {
            panels,
            columns: OVERVIEW_COLUMNS,
            panel: PANEL,
        },
        parts,
    })
}

/// The rows of one strategy in `rows`, by size.
fn by_strategy<'a>(rows: &[&'a CaseResult]) -> BTreeMap<String, Vec<&'a CaseResult>> {
    let mut map: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in rows {
        map.entry(r.strategy.clone()).or_default().push(r);
    }
    for v in map.values_mut() {
        v.sort_by_key(|r| r.size);
    }
    map
}

/// The unfinished cases of `rows` as notes, one per strategy:
/// `title / naive: skipped at size 30, 32; timeout at size 28`.
fn unfinished(rows: &[&CaseResult], title: &str) -> Vec<String> {
    let mut notes = Vec::new();
    for (strategy, rows) in by_strategy(rows) {
        let mut by_status: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.status != Status::Ok) {
            by_status.entry(r.status.name()).or_default().push(
                r.size
                    .map_or_else(|| "its one size".into(), |s| s.to_string()),
            );
        }
        if !by_status.is_empty() {
            let parts: Vec<String> = by_status
                .into_iter()
                .map(|(status, sizes)| format!("{status} at size {}", sizes.join(", ")))
                .collect();
            notes.push(format!("{title} / {strategy}: {}", parts.join("; ")));
        }
    }
    notes
}

/// The legend text of a strategy's series with its growth in the size (called `symbol`):
/// `tape n^1.02`, `naive 2^k`, or the bare name when no fit is possible.
fn fitted_label(strategy: &str, symbol: &str, points: &[Point], confidence: f64) -> String {
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.x, p.y)).collect();
    let power = fit_growth(FitKind::Power, &xy, false, confidence);
    let exponential = fit_growth(FitKind::Exponential, &xy, false, confidence);
    match (power, exponential) {
        (Ok(p), Ok(e)) if e.r_squared > p.r_squared && e.estimate > 1.05 => {
            format!("{strategy} {}^{symbol}", short(e.estimate))
        }
        (Ok(p), _) => format!("{strategy} {symbol}^{}", short(p.estimate)),
        _ => strategy.to_string(),
    }
}

fn size_axis(group: &Group) -> Axis {
    Axis {
        title: match size_symbol(&group.workload) {
            Some(symbol) => format!("size ({symbol})"),
            None => "size".into(),
        },
        unit: Unit::Count,
        log: true,
    }
}

/// The letter a workload's size is called by (`n`, `k`), from the start of its registered
/// size meaning ("k, the number of squarings ..."); `None` for a workload this build does not
/// know or whose meaning names no letter.
fn size_symbol(workload: &str) -> Option<&'static str> {
    let meaning = workloads::find(workload).ok()?.size()?.meaning;
    let (symbol, _) = meaning.split_once(", ")?;
    (symbol.len() <= 2 && symbol.chars().all(|c| c.is_ascii_alphabetic())).then_some(symbol)
}

/// `n=1000` for a size of `workload` (its letter, else `size`).
fn size_label(workload: &str, size: u64) -> String {
    format!("{}={size}", size_symbol(workload).unwrap_or("size"))
}

/// A value a log axis can show: finite and above 0.
pub fn positive(v: f64) -> Option<f64> {
    (v.is_finite() && v > 0.0).then_some(v)
}

/// The confidence interval of a row's median, when both ends are finite and above 0.
fn interval_of(r: &CaseResult) -> Option<(f64, f64)> {
    let (lo, hi) = (positive(r.ci_low_ns?)?, positive(r.ci_high_ns?)?);
    (lo <= hi).then_some((lo, hi))
}

/// The `ok` rows of `strategy` whose `metric` a log axis can show, as points by size; the
/// others become notes (`title / strategy: size 10: median 0 not drawn`).
fn points_of(
    rows: &[&CaseResult],
    strategy: &str,
    title: &str,
    what: &str,
    metric: impl Fn(&CaseResult) -> Option<f64>,
    interval: impl Fn(&CaseResult) -> Option<(f64, f64)>,
    notes: &mut Vec<String>,
) -> Vec<Point> {
    let mut points = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.strategy == strategy && r.status == Status::Ok)
    {
        let Some(size) = r.size else { continue };
        match metric(r) {
            Some(v) if positive(v).is_some() => points.push(Point {
                x: size as f64,
                y: v,
                interval: interval(r),
            }),
            Some(v) => notes.push(format!(
                "{title} / {strategy}: size {size}: {what} {v} cannot be drawn on a log axis"
            )),
            None => notes.push(format!(
                "{title} / {strategy}: size {size}: no {what} recorded"
            )),
        }
    }
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    points
}

/// Figure 1 for one group: median time vs size; `Err` (a note) when no case has a time.
fn cost(data: &Dataset, group: &Group, confidence: f64) -> Result<Planned, String> {
    let rows: Vec<&CaseResult> = data.rows_of(group).collect();
    let title = group.title(data.params_vary(&group.workload));
    let symbol = size_symbol(&group.workload).unwrap_or("n");
    let mut lines = Vec::new();
    let mut notes = unfinished(&rows, &title);
    for strategy in Dataset::strategies_in(rows.iter().copied()) {
        let points = points_of(
            &rows,
            &strategy,
            &title,
            "median time",
            |r| r.median_ns,
            interval_of,
            &mut notes,
        );
        if points.is_empty() {
            continue;
        }
        lines.push(Line {
            label: fitted_label(&strategy, symbol, &points, confidence),
            strategy,
            points,
        });
    }
    if lines.is_empty() {
        return Err(format!(
            "cost vs size of {title}: not drawn — no case of it finished with a time"
        ));
    }
    Ok(Planned {
        stem: format!("cost-{}", group.stem(data.params_vary(&group.workload))),
        title: format!("Cost vs size: {title}"),
        caption: "Median time per gradient against size, one panel per workload, log-log, \
                  with the confidence interval of each median as a bar. The legend gives \
                  each strategy's growth in the size, fitted by `check`'s least-squares code \
                  over the largest two thirds of the sizes: n^p for a power law, b^n for an \
                  exponential. The claims fit against T instead where T is not linear in the \
                  size (fsummatvec, fneural: T grows as n^2), so compare a strategy with \
                  primal: a linear-time strategy grows as primal does (claims \
                  dualrev-tape-time-linear-in-t and linear-square-chain-time-at-most-linear)."
            .into(),
        notes,
        drawing: Drawing::Panels {
            panels: vec![LinePanel {
                title,
                x: size_axis(group),
                y: Axis {
                    title: "time per gradient".into(),
                    unit: Unit::Nanoseconds,
                    log: true,
                },
                lines,
                reference: None,
                bounds: Vec::new(),
            }],
            columns: 1,
            panel: PANEL,
        },
        parts: Vec::new(),
    })
}

/// The rungs of the ladder, in order, and the counters that sum to each one's work.
pub const LADDER: &[(&str, &[&str])] = &[
    ("naive", &["backprop_calls", "dense_elements"]),
    (
        "staged",
        &[
            "ids_allocated",
            "edges_applied",
            "collector_updates",
            "dense_elements",
        ],
    ),
    (
        "cayley",
        &[
            "ids_allocated",
            "edges_applied",
            "collector_updates",
            "dense_elements",
        ],
    ),
    (
        "sparse",
        &[
            "ids_allocated",
            "edges_applied",
            "collector_updates",
            "sparse_updates",
        ],
    ),
    (
        "dualrev",
        &["ids_allocated", "edges_applied", "slots_swept"],
    ),
];

/// The workloads of the ladder figure.
pub const LADDER_WORKLOADS: &[&str] = &["square-chain", "fdotprod"];

/// Figure 2: each rung's work count and time vs size on the ladder workloads.
fn ladder(data: &Dataset) -> Result<Planned, String> {
    let mut panels = Vec::new();
    let mut notes = Vec::new();
    for workload in LADDER_WORKLOADS {
        let groups: Vec<Group> = data
            .groups()
            .into_iter()
            .filter(|g| g.workload == *workload)
            .collect();
        let Some(group) = groups.first().cloned() else {
            notes.push(format!("{workload}: not in the results"));
            continue;
        };
        if groups.len() > 1 {
            notes.push(format!(
                "{workload}: drawn with its first parameter set, {}, of {}",
                group.title(true),
                groups.len()
            ));
        }
        let rows: Vec<&CaseResult> = data
            .rows_of(&group)
            .filter(|r| LADDER.iter().any(|(s, _)| *s == r.strategy))
            .collect();
        let mut work = Vec::new();
        let mut time = Vec::new();
        for (strategy, counters) in LADDER {
            let sum = |r: &CaseResult| -> Option<f64> {
                counters
                    .iter()
                    .try_fold(0u64, |total, c| total.checked_add(*r.counters.get(*c)?))
                    .map(|total| total as f64)
            };
            let w = points_of(&rows, strategy, workload, "work", sum, |_| None, &mut notes);
            let t = points_of(
                &rows,
                strategy,
                workload,
                "median time",
                |r| r.median_ns,
                interval_of,
                &mut notes,
            );
            if !w.is_empty() {
                work.push(Line {
                    strategy: strategy.to_string(),
                    label: strategy.to_string(),
                    points: w,
                });
            }
            if !t.is_empty() {
                time.push(Line {
                    strategy: strategy.to_string(),
                    label: strategy.to_string(),
                    points: t,
                });
            }
        }
        if time.is_empty() {
            notes.push(format!("{workload}: no rung finished a case"));
            continue;
        }
        notes.extend(unfinished(&rows, workload));
        let x = size_axis(&group);
        panels.push(LinePanel {
            title: format!("{workload}: work"),
            x: x.clone(),
            y: Axis {
                title: "work (exact counters)".into(),
                unit: Unit::Count,
                log: true,
            },
            lines: work,
            reference: None,
            bounds: Vec::new(),
        });
        panels.push(LinePanel {
            title: format!("{workload}: time"),
            x,
            y: Axis {
                title: "time per gradient".into(),
                unit: Unit::Nanoseconds,
                log: true,
            },
            lines: time,
            reference: None,
            bounds: Vec::new(),
        });
    }
    if panels.is_empty() {
        return Err(format!(
            "ladder: not drawn — no rung ({}) finished a case of {}",
            LADDER.iter().map(|l| l.0).collect::<Vec<_>>().join(", "),
            LADDER_WORKLOADS.join(" or ")
        ));
    }
    let counters: Vec<String> = LADDER
        .iter()
        .map(|(s, c)| format!("{s}: {}", c.join(" + ")))
        .collect();
    Ok(Planned {
        stem: "ladder".into(),
        title: "The ladder: naive to dualrev".into(),
        caption: format!(
            "The paper's argument in one picture. Left: each rung's exact work (the sum of \
             its counters; {}) against size; right: its measured time. On square-chain the \
             naive rung is exponential (claim naive-square-chain-exponential) and linear \
             factoring alone (staged) makes it linear (rungs-square-chain-linear); on \
             fdotprod the dense rungs are quadratic (naive-fdotprod-quadratic, \
             staged-cayley-fdotprod-quadratic), the sparse collector brings n log n \
             (sparse-fdotprod-time-n-log-n) and mutable arrays (dualrev) linear time \
             (dualrev-tape-fdotprod-linear).",
            counters.join("; ")
        ),
        notes,
        drawing: Drawing::Panels {
            panels,
            columns: 2,
            panel: PANEL,
        },
        parts: Vec::new(),
    })
}

/// For each group: its rows at the largest size that every strategy with an `ok` row of the
/// group (primal excluded) reached, with that size's label.
fn common_cases(data: &Dataset) -> Vec<(String, Vec<&CaseResult>)> {
    let mut out = Vec::new();
    for group in data.groups() {
        let rows: Vec<&CaseResult> = data.rows_of(&group).collect();
        let strategies: Vec<String> = Dataset::strategies_in(
            rows.iter()
                .filter(|r| r.status == Status::Ok && r.strategy != "primal")
                .copied(),
        );
        if strategies.is_empty() {
            continue;
        }
        let Some(size) = largest_common_size(&rows, &strategies) else {
            continue;
        };
        let title = group.title(data.params_vary(&group.workload));
        let label = match size {
            Some(s) => format!("{title} {}", size_label(&group.workload, s)),
            None => title,
        };
        let mut at: Vec<&CaseResult> = rows
            .into_iter()
            .filter(|r| r.size == size && r.status == Status::Ok && r.strategy != "primal")
            .collect();
        at.sort_by_key(|r| crate::plot::style::strategy_rank(&r.strategy));
        out.push((label, at));
    }
    out
}

fn legend_of(groups: &[BarGroup]) -> Vec<String> {
    let mut names: Vec<String> = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.strategy.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    crate::plot::style::sort_strategies(&mut names);
    names
}

/// Figure 3: overhead bars.
fn overhead(data: &Dataset) -> Result<Planned, String> {
    let groups: Vec<BarGroup> = common_cases(data)
        .into_iter()
        .filter_map(|(label, rows)| {
            let bars: Vec<Bar> = rows
                .iter()
                .filter_map(|r| {
                    Some(Bar {
                        strategy: r.strategy.clone(),
                        value: positive(r.overhead?)?,
                        stacked: None,
                    })
                })
                .collect();
            (!bars.is_empty()).then_some(BarGroup { label, bars })
        })
        .collect();
    if groups.is_empty() {
        return Err(
            "overhead: not drawn — no workload has a size that every strategy \
                    finished with an overhead (a primal in the same run)"
                .into(),
        );
    }
    let legend = legend_of(&groups);
    let mut caption = "The cost of one gradient in primal evaluations, per strategy and \
                       workload, at the largest size every strategy of that workload finished \
                       (log scale; the line marks 1, the primal itself). The \
                       correct-complexity strategies (tape, dualrev) keep a bounded overhead on \
                       every workload (claim dualrev-tape-overhead-constant); naive and the \
                       dense rungs grow with the size."
        .to_string();
    let mut legend_notes = Vec::new();
    if legend.iter().any(|s| strategy_style(s).floor) {
        caption.push_str(
            " The dashed line across a workload's bars is manual, its hand-written adjoint \
             (not AD): the floor no AD strategy goes below.",
        );
        legend_notes.push("dashed: the floor".to_string());
    }
    Ok(Planned {
        stem: "overhead".into(),
        title: "Overhead: gradient / primal".into(),
        caption,
        notes: Vec::new(),
        drawing: Drawing::Bars {
            chart: BarChart {
                title: "overhead (gradient time / primal time)".into(),
                axis: Axis {
                    title: "overhead".into(),
                    unit: Unit::Ratio,
                    log: true,
                },
                groups,
                legend,
                legend_notes,
                reference: Some(1.0),
            },
            width: 640,
        },
        parts: Vec::new(),
    })
}

/// Figure 4 for one group: peak heap vs size.
fn heap(data: &Dataset, group: &Group) -> Result<Planned, String> {
    let rows: Vec<&CaseResult> = data.rows_of(group).collect();
    let title = group.title(data.params_vary(&group.workload));
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    for strategy in Dataset::strategies_in(rows.iter().copied()) {
        let mut points = Vec::new();
        let (mut zero, mut missing) = (Vec::new(), Vec::new());
        for r in rows
            .iter()
            .filter(|r| r.strategy == strategy && r.status == Status::Ok)
        {
            let Some(size) = r.size else { continue };
            match r.peak_heap_bytes {
                Some(0) => zero.push(size.to_string()),
                Some(bytes) => points.push(Point {
                    x: size as f64,
                    y: bytes as f64,
                    interval: None,
                }),
                None => missing.push(size.to_string()),
            }
        }
        if !zero.is_empty() {
            notes.push(format!(
                "{title} / {strategy}: no heap live (0 bytes, not on a log axis) at size {}",
                zero.join(", ")
            ));
        }
        if !missing.is_empty() {
            notes.push(format!(
                "{title} / {strategy}: no peak heap recorded at size {}",
                missing.join(", ")
            ));
        }
        if points.is_empty() {
            continue;
        }
        points.sort_by(|a: &Point, b: &Point| a.x.total_cmp(&b.x));
        lines.push(Line {
            label: strategy.clone(),
            strategy,
            points,
        });
    }
    if lines.is_empty() {
        return Err(format!(
            "peak heap of {title}: not drawn — no row records a heap above 0"
        ));
    }
    Ok(Planned {
        stem: format!("heap-{}", group.stem(data.params_vary(&group.workload))),
        title: format!("Peak heap vs size: {title}"),
        caption: "Peak live heap bytes during one gradient against size, one panel per workload, log-log \
             (exact: one untimed pass). Tape and dualrev hold memory linear in T (claim \
             dualrev-tape-heap-linear-in-t)."
            .into(),
        notes,
        drawing: Drawing::Panels {
            panels: vec![LinePanel {
                title,
                x: size_axis(group),
                y: Axis {
                    title: "peak heap".into(),
                    unit: Unit::Bytes,
                    log: true,
                },
                lines,
                reference: None,
                bounds: Vec::new(),
            }],
            columns: 1,
            panel: PANEL,
        },
        parts: Vec::new(),
    })
}

/// Figure 5: forward and reverse phase shares.
fn phases(data: &Dataset) -> Result<Planned, String> {
    let groups: Vec<BarGroup> = common_cases(data)
        .into_iter()
        .filter_map(|(label, rows)| {
            let bars: Vec<Bar> = rows
                .iter()
                .filter_map(|r| {
                    let (f, b) = (r.forward_median_ns?, r.reverse_median_ns?);
                    (f.is_finite() && b.is_finite() && b > 0.0 && f >= 0.0).then(|| Bar {
                        strategy: r.strategy.clone(),
                        value: f / (f + b),
                        stacked: Some(b / (f + b)),
                    })
                })
                .collect();
            (!bars.is_empty()).then_some(BarGroup { label, bars })
        })
        .collect();
    if groups.is_empty() {
        return Err(
            "phase split: not drawn — no row has a reverse phase (forward-mode \
                    strategies have none)"
                .into(),
        );
    }
    let legend = legend_of(&groups);
    Ok(Planned {
        stem: "phases".into(),
        title: "Forward and reverse phases".into(),
        caption: "The share of each reverse-mode strategy's gradient spent in its forward \
                  phase (lifting the inputs, running the program and recording: solid) and \
                  its reverse phase (the reverse pass and releasing the graph: pale), at the \
                  sizes of the overhead figure. Phases are timed apart from the gradient, so \
                  the shares, not the sums, are the figure's content."
            .into(),
        notes: Vec::new(),
        drawing: Drawing::Bars {
            chart: BarChart {
                title: "phase split (forward | reverse)".into(),
                axis: Axis {
                    title: "share of the gradient's time".into(),
                    unit: Unit::Percent,
                    log: false,
                },
                groups,
                legend,
                legend_notes: vec!["solid: forward".into(), "pale: reverse".into()],
                reference: None,
            },
            width: 640,
        },
        parts: Vec::new(),
    })
}

/// Figure 6: parallel speedup per group that has rows with a thread count above 1.
fn speedup(data: &Dataset) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::new();
    let mut threaded = false;
    let mut unmatched = Vec::new();
    for group in data.groups() {
        let rows: Vec<&CaseResult> = data
            .rows
            .iter()
            .filter(|r| Group::of(r) == group && r.status == Status::Ok)
            .collect();
        if !rows.iter().any(|r| r.threads > 1) {
            continue;
        }
        threaded = true;
        let mut notes = Vec::new();
        let title = group.title(data.params_vary(&group.workload));
        let mut lines = Vec::new();
        let mut parallelism = Vec::new();
        let mut max_threads = 1u64;
        for strategy in Dataset::strategies_in(rows.iter().copied()) {
            let mine: Vec<&&CaseResult> = rows.iter().filter(|r| r.strategy == strategy).collect();
            let Some(size) = mine.iter().filter(|r| r.threads > 1).map(|r| r.size).max() else {
                continue;
            };
            let at: Vec<&&CaseResult> = mine.iter().copied().filter(|r| r.size == size).collect();
            let Some(base) = at
                .iter()
                .find(|r| r.threads == 1)
                .and_then(|r| positive(r.median_ns?))
            else {
                notes.push(format!(
                    "{title} / {strategy}: no 1-thread case with a time at the size of its \
                     parallel cases, so no speedup"
                ));
                continue;
            };
            let mut points: Vec<Point> = at
                .iter()
                .filter_map(|r| {
                    let t = r.threads;
                    let m = positive(r.median_ns?)?;
                    max_threads = max_threads.max(t);
                    Some(Point {
                        x: t as f64,
                        y: base / m,
                        interval: interval_of(r).map(|(lo, hi)| (base / hi, base / lo)),
                    })
                })
                .collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            if let Some(span) = at.iter().find_map(|r| Span::of(&r.counters).ok()) {
                parallelism.push((strategy.clone(), span.parallelism()));
            }
            let size_text = size.map_or_else(String::new, |s| {
                format!(" ({})", size_label(&group.workload, s))
            });
            lines.push(Line {
                label: format!("{strategy}{size_text}"),
                strategy,
                points,
            });
        }
        if lines.is_empty() {
            unmatched.extend(notes);
            continue;
        }
        let bounds = parallelism
            .into_iter()
            .map(|(strategy, p)| Line {
                label: format!("{strategy} W/S={}", short(p)),
                points: bound_points(p, max_threads as f64),
                strategy,
            })
            .collect();
        planned.push(Planned {
            stem: format!("speedup-{}", group.stem(data.params_vary(&group.workload))),
            title: format!("Parallel speedup: {title}"),
            caption: "Time at one thread over time at t threads, whole gradient, one panel per \
                 workload, with the ideal speedup t as a grey line and, for each strategy that \
                 reports the work and span counters of its job graph, its bound min(t, W/S) \
                 dashed in its colour: W is the work and S the span of the forward and the \
                 reverse pass together, in records (the legend gives W/S), and in that model no \
                 schedule on t threads is faster than min(t, W/S) times one thread \
                 (docs/parallel.md)."
                .into(),
            notes,
            drawing: Drawing::Panels {
                panels: vec![LinePanel {
                    title,
                    x: Axis {
                        title: "threads".into(),
                        unit: Unit::Count,
                        log: false,
                    },
                    y: Axis {
                        title: "speedup".into(),
                        unit: Unit::Ratio,
                        log: false,
                    },
                    lines,
                    reference: Some((
                        "ideal".into(),
                        vec![(1.0, 1.0), (max_threads as f64, max_threads as f64)],
                    )),
                    bounds,
                }],
                columns: 1,
                panel: PANEL,
            },
            parts: Vec::new(),
        });
    }
    if planned.is_empty() {
        return Err(if threaded {
            format!(
                "parallel speedup: not drawn — rows carry thread counts above 1 but none has \
                 a 1-thread case with a time at the same size ({})",
                unmatched.join("; ")
            )
        } else {
            "parallel speedup: not drawn — no row carries a thread count above 1 (`dualbench \
             run --threads 1,2` measures parallel strategies on fork-join workloads)"
                .to_string()
        });
    }
    Ok(planned)
}

/// The points of min(t, `parallelism`) for t from 1 to `max_threads`: straight up the ideal
/// line to t = W/S, then flat.
fn bound_points(parallelism: f64, max_threads: f64) -> Vec<Point> {
    let mut xs = vec![1.0];
    if parallelism > 1.0 && parallelism < max_threads {
        xs.push(parallelism);
    }
    xs.push(max_threads);
    xs.into_iter()
        .map(|t| Point {
            x: t,
            y: t.min(parallelism),
            interval: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::span::COUNTERS;

    /// A finished row of `strategy` on `fparticles` at size 1000 on `threads` threads, with
    /// the span counters (forward and reverse work and span) `span` when given.
    fn threaded(strategy: &str, threads: u64, median: f64, span: Option<[u64; 4]>) -> CaseResult {
        let mut r = crate::results::fixture::fmult_row(strategy);
        r.workload = "fparticles".into();
        r.size = Some(1000);
        r.threads = threads;
        r.median_ns = Some(median);
        if let Some(values) = span {
            r.counters = COUNTERS.into_iter().map(String::from).zip(values).collect();
        }
        r
    }

    #[test]
    fn the_speedup_figure_draws_the_span_bound_from_the_counters() {
        // dualrev-par: W = 2000, S = 1250, W/S = 1.6; tape-par: W/S = 8 (beyond 4 threads);
        // primal reports no span counters.
        let par = Some([1200, 1000, 800, 250]);
        let tape = Some([4000, 500, 4000, 500]);
        let rows = vec![
            threaded("dualrev-par", 1, 1000.0, par),
            threaded("dualrev-par", 2, 700.0, par),
            threaded("dualrev-par", 4, 650.0, par),
            threaded("tape-par", 1, 800.0, tape),
            threaded("tape-par", 2, 420.0, tape),
            threaded("primal", 1, 100.0, None),
            threaded("primal", 2, 60.0, None),
        ];
        let data = Dataset {
            rows,
            sources: Vec::new(),
        };
        let planned = speedup(&data).unwrap();
        let Drawing::Panels { panels, .. } = &planned[0].drawing else {
            panic!("a panel figure");
        };
        let panel = &panels[0];
        assert_eq!(panel.lines.len(), 3);
        let labels: Vec<(&str, &str)> = panel
            .bounds
            .iter()
            .map(|b| (b.strategy.as_str(), b.label.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("dualrev-par", "dualrev-par W/S=1.6"),
                ("tape-par", "tape-par W/S=8")
            ]
        );
        let points: Vec<Vec<(f64, f64)>> = panel
            .bounds
            .iter()
            .map(|b| b.points.iter().map(|p| (p.x, p.y)).collect())
            .collect();
        assert_eq!(
            points,
            [
                vec![(1.0, 1.0), (1.6, 1.6), (4.0, 1.6)],
                vec![(1.0, 1.0), (4.0, 4.0)]
            ]
        );
        assert!(planned[0].caption.contains("min(t, W/S)"));
        assert_eq!(
            panel.reference.as_ref().unwrap().1,
            [(1.0, 1.0), (4.0, 4.0)]
        );
    }

    fn points(f: impl Fn(f64) -> f64, xs: &[f64]) -> Vec<Point> {
        xs.iter()
            .map(|&x| Point {
                x,
                y: f(x),
                interval: None,
            })
            .collect()
    }

    #[test]
    fn legends_carry_the_growth_that_fits_best() {
        let sizes = [10.0, 20.0, 40.0, 80.0];
        assert_eq!(
            fitted_label("tape", "n", &points(|x| 3.0 * x, &sizes), 0.95),
            "tape n^1"
        );
        assert_eq!(
            fitted_label(
                "naive",
                "k",
                &points(|x| 2f64.powf(x), &[4.0, 8.0, 12.0, 16.0]),
                0.95
            ),
            "naive 2^k"
        );
        assert_eq!(
            fitted_label("dualrev", "n", &points(|x| x, &[10.0, 20.0]), 0.95),
            "dualrev",
            "two sizes: no fit"
        );
    }
}
