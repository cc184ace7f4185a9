//! The parallel section of the tables `run` prints and `plot` writes: one line per parallel
//! case and thread count, its measured speedups beside the bounds of its job graph.

use std::collections::{BTreeMap, BTreeSet};

use crate::parallel::cases::ParallelCase;
use crate::parallel::span::BOUND_THREADS;
use crate::table::{Align, Table};

/// The section's heading.
pub const TITLE: &str = "Parallel cases: measured speedup beside the bound of the job graph";

/// What the columns of the parallel table mean.
pub const LEGEND: &str = "\
Columns of the parallel table (one line per case and thread count t above 1; t `-`: a case
measured on one thread whose span counters show parallelism):
  speedup   median gradient time on 1 thread / on t threads, same case
  forward   the same for the forward phase's median
  reverse   the same for the reverse phase's median
  bound     min(t, W/S): by the work law and the span law no schedule on t threads is faster
            than this many times one thread
  greedy    W / (W/t + S): the speedup a greedy scheduler reaches at least (Brent's theorem)
  W/S       the gradient's parallelism: W = work_forward + work_reverse, S = span_forward +
            span_reverse, from the strategy's counters (records, the same for every t)
  W/S fwd   the forward pass's parallelism, work_forward / span_forward
  W/S rev   the reverse pass's parallelism, work_reverse / span_reverse
  bound at P  min(P, W/S) for P = 2/4/8/16/64 threads, whatever was measured
The bounds count one unit per record and nothing for scheduling, wake-ups or memory
bandwidth; a case without the span counters shows its measured speedups only
(docs/parallel.md).";

/// A speedup or a bound: `1.82x`.
pub fn times(v: f64) -> String {
    format!("{}x", number(v))
}

/// A ratio with three significant digits at most two decimals: `1.82`, `15.3`, `120`.
pub fn number(v: f64) -> String {
    let decimals = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$}")
}

/// The workload of `case`, with its parameters when `with_params`: `fparticles [particles=4]`.
fn workload_text(case: &ParallelCase, with_params: bool) -> String {
    if with_params && !case.params.is_empty() {
        format!("{} [{}]", case.workload, case.params_text())
    } else {
        case.workload.clone()
    }
}

/// The column headers.
pub const HEADERS: [&str; 13] = [
    "workload",
    "size",
    "strategy",
    "threads",
    "speedup",
    "forward",
    "reverse",
    "bound",
    "greedy",
    "W/S",
    "W/S fwd",
    "W/S rev",
    "bound at P",
];

/// The cells of each case, in [`HEADERS`] order; a workload's parameters are shown when it
/// appears with more than one set of them.
pub fn cells(cases: &[ParallelCase]) -> Vec<Vec<String>> {
    let mut param_sets: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for c in cases {
        param_sets
            .entry(c.workload.as_str())
            .or_default()
            .insert(c.params_text());
    }
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    cases
        .iter()
        .map(|c| {
            let span = c.span.as_ref();
            vec![
                workload_text(c, param_sets[c.workload.as_str()].len() > 1),
                dash(c.size.map(|s| s.to_string())),
                c.strategy.clone(),
                dash(c.threads.map(|t| t.to_string())),
                dash(c.speedup.map(times)),
                dash(c.forward.map(times)),
                dash(c.reverse.map(times)),
                dash(c.bound().map(times)),
                dash(c.greedy().map(times)),
                dash(span.map(|s| number(s.parallelism()))),
                dash(span.and_then(|s| s.forward_parallelism()).map(number)),
                dash(span.and_then(|s| s.reverse_parallelism()).map(number)),
                dash(span.map(|s| {
                    BOUND_THREADS
                        .iter()
                        .map(|&p| number(s.bound(p)))
                        .collect::<Vec<_>>()
                        .join("/")
                })),
            ]
        })
        .collect()
}

/// The parallel table of `cases`.
pub fn table(cases: &[ParallelCase]) -> Table {
    let mut table = Table::new(HEADERS);
    for column in 1..HEADERS.len() {
        if column != 2 {
            table = table.align(column, Align::Right);
        }
    }
    // In a narrow terminal the per-phase parallelism and the bounds at other P go under
    // their row first.
    table = table.detail(12).detail(11).detail(10);
    for row in cells(cases) {
        table.push_row(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::cases::{cases, tests::row};
    use crate::table::TableStyle;

    #[test]
    fn the_table_shows_bounds_beside_measured_speedups() {
        let span = Some([1200, 400, 800, 200]);
        let rows = vec![
            row("dualrev-par", 100, 1, 1000.0, span),
            row("dualrev-par", 100, 2, 550.0, span),
            row("primal", 100, 1, 100.0, None),
            row("primal", 100, 2, 80.0, None),
        ];
        let cells = cells(&cases(&rows));
        assert_eq!(
            cells[0],
            [
                "fparticles",
                "100",
                "dualrev-par",
                "2",
                "1.82x",
                "1.82x",
                "1.82x",
                "2.00x",
                "1.25x",
                "3.33",
                "3.00",
                "4.00",
                "2.00/3.33/3.33/3.33/3.33"
            ]
        );
        assert_eq!(
            cells[1][3..],
            ["2", "1.25x", "1.25x", "1.25x", "-", "-", "-", "-", "-", "-"]
        );
        let text = table(&cases(&rows)).render(TableStyle::Plain);
        assert!(text.starts_with("workload    size  strategy"), "{text}");
        for header in HEADERS.iter().skip(4) {
            assert!(LEGEND.contains(&format!("\n  {header}  ")), "{header}");
        }
    }

    #[test]
    fn parameters_are_shown_when_a_workload_has_several() {
        let mut eight = row("dualrev-par", 100, 2, 500.0, None);
        eight.params.insert("particles".into(), 8.0);
        let mut eight_one = row("dualrev-par", 100, 1, 900.0, None);
        eight_one.params.insert("particles".into(), 8.0);
        let rows = vec![
            row("dualrev-par", 100, 1, 1000.0, None),
            row("dualrev-par", 100, 2, 550.0, None),
            eight_one,
            eight,
        ];
        let cells = cells(&cases(&rows));
        assert_eq!(cells[0][0], "fparticles [particles=4]");
        assert_eq!(cells[1][0], "fparticles [particles=8]");
        assert_eq!(cells[1][4], "1.80x");
    }
}
