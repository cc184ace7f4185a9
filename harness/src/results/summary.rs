//! The summary table that `run` and `merge` print on stdout: one line per case, and the
//! legend that explains its columns.

use crate::measure::stats::CI_LEVEL;
use crate::parallel;
use crate::results::floor::Floors;
use crate::results::{CaseResult, Status};
use crate::table::{Align, Table, TableStyle};

/// What the columns of the summary table mean (printed under it, and in `run --help`).
pub const LEGEND: &str = "\
Columns of the summary table:
  strategy  the strategy; `@Nt` (dualrev-par@2t) when the case ran on N threads (`--threads`)
  median    wall time of one gradient (a full Jacobian when the program has several
            outputs), the median of the timed samples
  95% CI    distribution-free confidence interval of that median; an interval marked * has
            fewer than 6 samples and covers the median with less than 95% (2 to 5 samples:
            1 - 2^(1-n)); one sample has none
  cold      the wall time of the first gradient of the case's process (cold: code, caches
            and the strategy's buffers untouched, as in a run timed once) / median; one
            sample, so a busy machine shows in it; the time itself is `cold_ns` in the
            results files
  overhead  median / the median of `primal` on the same workload and size, same run (at the
            case's thread count when the primal ran on it, else on one thread): the cost of a
            gradient in primal evaluations
  floor     median / the median of `manual` (the hand-written adjoint) on the same workload
            and size, same run: the distance to what a careful programmer reaches by hand
  T         the primal operation count of the case (operators and elementary functions)
  heap      peak live heap bytes of one cold gradient (the first of its process), over all
            of the case's threads
  heap/op   heap / T: bytes per primal operation (for a tape, what it records per operation)
  status    ok, or timeout / oom / crashed / skipped with the reason";

/// A duration in nanoseconds with three significant digits and a unit (`812 ns`, `1.25 ms`).
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "us")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

/// A byte count in binary units (`512 B`, `3.2 MiB`).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A ratio as the summary prints it: `12.3x`.
fn format_ratio(ratio: f64) -> String {
    format!("{ratio:.1}x")
}

/// The summary of `rows` as a table: the workload with the parameters that are not at their
/// defaults (`fparticles [fork=balanced, particles=16]`), the strategy with its thread count when not 1, time and
/// its 95% interval, the cold gradient over the median, overhead against the primal and
/// against the floor (`manual`), T, peak heap and heap per operation, and the status with its
/// detail for cases that did not finish.
pub fn table(rows: &[CaseResult]) -> Table {
    let mut table = Table::new([
        "workload", "size", "strategy", "status", "median", "95% CI", "cold", "overhead", "floor",
        "T", "heap", "heap/op",
    ]);
    for column in [1, 4, 5, 6, 7, 8, 9, 10, 11] {
        table = table.align(column, Align::Right);
    }
    // In a narrow terminal the interval (never wrapped), then the status, go under their row.
    table = table.whole(5).detail(5).detail(3);
    let floors = Floors::of(rows);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for r in rows {
        let status = match r.status {
            Status::Ok => "ok".to_string(),
            other => format!("{}: {}", other.name(), r.detail),
        };
        let below_level = r.ci_level.is_some_and(|level| level < CI_LEVEL);
        let ci = r.ci_low_ns.zip(r.ci_high_ns).map(|(lo, hi)| {
            let mark = if below_level { " *" } else { "" };
            format!("{} - {}{mark}", format_ns(lo), format_ns(hi))
        });
        let params = workloads::non_default_params(&r.workload, &r.params);
        let workload = if params.is_empty() {
            r.workload.clone()
        } else {
            format!("{} [{}]", r.workload, params.join(", "))
        };
        table.push_row([
            workload,
            or_dash(r.size.map(|s| s.to_string())),
            r.strategy_label(),
            status,
            or_dash(r.median_ns.map(format_ns)),
            or_dash(ci),
            or_dash(r.cold_ratio().map(format_ratio)),
            or_dash(r.overhead.map(format_ratio)),
            or_dash(floors.ratio(r).map(format_ratio)),
            or_dash(r.ops.map(|t| t.to_string())),
            or_dash(r.peak_heap_bytes.map(format_bytes)),
            or_dash(r.heap_per_op().map(|b| format!("{b:.1} B"))),
        ]);
    }
    table
}

/// [`table`] rendered in `style`.
pub fn render(rows: &[CaseResult], style: TableStyle) -> String {
    table(rows).render(style)
}

/// The [`LEGEND`] reflowed to `width` columns ([`crate::output::reflow`]): each column's
/// explanation joined into one paragraph and wrapped under the explanation's start.
pub fn legend(width: usize) -> String {
    crate::output::reflow(LEGEND, width)
}

/// A legend (`LEGEND`, or the parallel table's) as `style` shows it: reflowed to the width of
/// a [`TableStyle::Fitted`] table, indented as a code block under a Markdown one.
fn legend_in(text: &str, style: TableStyle) -> String {
    match style {
        TableStyle::Plain => text.to_string(),
        TableStyle::Fitted { width } => crate::output::reflow(text, width),
        TableStyle::Markdown => text
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// [`table`] rendered in `style`, followed by the [`LEGEND`] (reflowed to the width of a
/// [`TableStyle::Fitted`] table); when some case ran on more than one thread count or its span
/// counters show parallelism, then the parallel table ([`crate::parallel::table`]) with its
/// own legend: each case's measured speedups beside the bound of its job graph.
pub fn render_with_legend(rows: &[CaseResult], style: TableStyle) -> String {
    let mut out = format!("{}\n{}\n", render(rows, style), legend_in(LEGEND, style));
    let cases = parallel::cases::cases(rows);
    if !cases.is_empty() {
        out.push_str(&format!(
            "\n{}\n\n{}\n{}\n",
            parallel::table::TITLE,
            parallel::table::table(&cases).render(style),
            legend_in(parallel::table::LEGEND, style)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_table_explains_its_columns_and_marks_weak_intervals() {
        let mut row = crate::results::fixture::fmult_row("tape");
        row.median_ns = Some(3.0);
        row.ci_low_ns = Some(2.0);
        row.ci_high_ns = Some(4.0);
        row.ci_level = Some(0.9375);
        let text = render_with_legend(&[row], TableStyle::Plain);
        assert!(text.contains("2.00 ns - 4.00 ns *"), "{text}");
        for column in [
            "overhead", "T ", "heap ", "95% CI", "cold", "floor", "heap/op",
        ] {
            assert!(LEGEND.contains(&format!("\n  {column}")), "{column}");
        }
        assert!(text.ends_with(&format!("{LEGEND}\n")));
    }

    /// The cell of the `line`th row (0 = the first under the header) of the plain table
    /// `text`, in the column `column`: cells are separated by two spaces or more.
    fn cell(text: &str, line: usize, column: &str) -> String {
        let cells = |l: &str| -> Vec<String> {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        };
        let lines: Vec<&str> = text.lines().collect();
        let k = cells(lines[0]).iter().position(|h| h == column).unwrap();
        cells(lines[line + 2])[k].clone()
    }

    fn measured(workload: &str, strategy: &str, median: f64) -> CaseResult {
        let mut row = crate::results::fixture::fmult_row(strategy);
        row.workload = workload.into();
        row.size = Some(100);
        row.median_ns = Some(median);
        row.ops = Some(200);
        row
    }

    #[test]
    fn cold_floor_and_heap_per_op_are_shown_where_measured() {
        let mut tape = measured("fdotprod", "tape", 1000.0);
        tape.cold_ns = Some(3500.0);
        tape.peak_heap_bytes = Some(11_660);
        let manual = measured("fdotprod", "manual", 80.0);
        // Another workload, without a hand-written adjoint, from an older file (no cold time).
        let other = measured("lse", "tape", 500.0);
        let text = render(&[tape, manual, other], TableStyle::Plain);
        assert_eq!(cell(&text, 0, "cold"), "3.5x", "{text}");
        assert_eq!(cell(&text, 0, "floor"), "12.5x", "{text}");
        assert_eq!(cell(&text, 0, "heap/op"), "58.3 B", "{text}");
        assert_eq!(cell(&text, 1, "floor"), "1.0x", "{text}");
        for column in ["cold", "floor", "heap/op"] {
            assert_eq!(cell(&text, 2, column), "-", "{column}: {text}");
        }
    }

    #[test]
    fn a_workload_shows_the_parameters_off_their_defaults_a_choice_by_name() {
        let params = |fork: f64, particles: f64| {
            std::collections::BTreeMap::from([
                ("fork".to_string(), fork),
                ("particles".to_string(), particles),
            ])
        };
        let mut chain = measured("fparticles", "tape", 1000.0);
        chain.params = params(0.0, 4.0);
        let mut balanced = measured("fparticles", "tape", 1000.0);
        balanced.params = params(1.0, 16.0);
        let table = table(&[chain, balanced]);
        assert_eq!(table.rows()[0][0], "fparticles");
        assert_eq!(
            table.rows()[1][0],
            "fparticles [fork=balanced, particles=16]"
        );
    }

    #[test]
    fn without_manual_there_is_no_floor() {
        let rows = [
            measured("fdotprod", "primal", 10.0),
            measured("fdotprod", "tape", 1000.0),
        ];
        let text = render(&rows, TableStyle::Plain);
        assert!(text.lines().next().unwrap().contains("floor"), "{text}");
        assert_eq!(cell(&text, 1, "floor"), "-", "{text}");
    }

    #[test]
    fn a_case_on_several_threads_names_its_thread_count() {
        let mut row = crate::results::fixture::fmult_row("dualrev-par");
        let one = render(std::slice::from_ref(&row), TableStyle::Plain);
        row.threads = 2;
        let two = render(&[row], TableStyle::Plain);
        assert!(one.contains("dualrev-par ") && !one.contains('@'), "{one}");
        assert!(two.contains("dualrev-par@2t"), "{two}");
    }

    #[test]
    fn parallel_cases_get_their_own_table_with_the_span_bound() {
        use crate::parallel::span::COUNTERS;
        let counters: BTreeMap<String, u64> = COUNTERS
            .into_iter()
            .map(String::from)
            .zip([1200, 400, 800, 200])
            .collect();
        let rows: Vec<CaseResult> = [(1, 1000.0), (2, 550.0)]
            .into_iter()
            .map(|(threads, median)| {
                let mut row = measured("par-tree", "dualrev-par", median);
                row.threads = threads;
                row.counters = counters.clone();
                row
            })
            .collect();
        let text = render_with_legend(&rows, TableStyle::Plain);
        let (main, section) = text
            .split_once(parallel::table::TITLE)
            .expect("a parallel section");
        assert!(main.contains("dualrev-par@2t"), "{main}");
        let table = section.trim_start();
        assert_eq!(cell(table, 0, "speedup"), "1.82x", "{table}");
        assert_eq!(cell(table, 0, "bound"), "2.00x", "{table}");
        assert_eq!(cell(table, 0, "greedy"), "1.25x", "{table}");
        assert_eq!(cell(table, 0, "W/S"), "3.33", "{table}");
        assert!(text.ends_with(&format!("{}\n", parallel::table::LEGEND)));

        // Without a second thread count or span counters: no section.
        let text = render_with_legend(&rows[..1], TableStyle::Plain);
        assert!(
            text.contains(parallel::table::TITLE),
            "the counters show parallelism"
        );
        let mut sequential = rows[0].clone();
        sequential.counters.clear();
        let text = render_with_legend(&[sequential], TableStyle::Plain);
        assert!(!text.contains(parallel::table::TITLE), "{text}");
    }

    #[test]
    fn the_reflowed_legend_fits_and_keeps_every_word() {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        for width in [40, 80, 200] {
            let text = legend(width);
            assert!(
                text.lines().all(|l| l.chars().count() <= width),
                "{width}:\n{text}"
            );
            assert_eq!(words(&text), words(LEGEND), "{width}");
            assert!(text.contains("\n  status    ok, or"), "{text}");
        }
        assert!(legend(200).lines().count() < LEGEND.lines().count());
    }

    #[test]
    fn durations_and_bytes_are_printed_with_units() {
        assert_eq!(format_ns(812.0), "812 ns");
        assert_eq!(format_ns(1_250_000.0), "1.25 ms");
        assert_eq!(format_ns(42_000.0), "42.0 us");
        assert_eq!(format_ns(3.5e9), "3.50 s");
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(3 << 20), "3.0 MiB");
    }
}
