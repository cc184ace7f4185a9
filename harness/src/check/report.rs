//! The report of `dualbench check`: every claim's verdict, as a table (plain or Markdown) or as
//! JSON.

use serde::Serialize;

use crate::check::verdict::{num, ClaimOutcome, SeriesOutcome, Verdict};
use crate::table::{Align, Table, TableStyle};

/// Version of the JSON report's layout. 2: `same as` and speedup claims (a claim's `x` and
/// `tolerance` only for growth claims; a series' `equality` or `speedup`). 3: a `speedup` may
/// carry its phases' speedups (`forward`, `reverse`), the case's work and span (`span`) and
/// the bound min(t, W/S) (`bound`), each when known.
pub const SCHEMA_VERSION: u32 = 3;

/// How many claims ended with each verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Claims that hold.
    pub holds: usize,
    /// Claims that fail.
    pub fails: usize,
    /// Claims that could not be decided.
    pub inconclusive: usize,
    /// Claims not evaluated by request.
    pub skipped: usize,
    /// Claims the data hold no case of.
    pub errors: usize,
}

/// Everything `check` decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Version of this layout.
    pub schema_version: u32,
    /// Where the numbers came from: a results file, or in-process counter evaluation.
    pub source: String,
    /// The confidence level of the intervals of measured series.
    pub confidence: f64,
    /// Verdict counts.
    pub summary: Summary,
    /// One outcome per claim, in claims-file order.
    pub claims: Vec<ClaimOutcome>,
}

impl Report {
    /// A report of `claims` read from `source`.
    pub fn new(source: String, confidence: f64, claims: Vec<ClaimOutcome>) -> Self {
        let mut summary = Summary::default();
        for c in &claims {
            match c.verdict {
                Verdict::Holds => summary.holds += 1,
                Verdict::Fails => summary.fails += 1,
                Verdict::Inconclusive => summary.inconclusive += 1,
                Verdict::Skipped => summary.skipped += 1,
                Verdict::Error => summary.errors += 1,
            }
        }
        Self {
            schema_version: SCHEMA_VERSION,
            source,
            confidence,
            summary,
            claims,
        }
    }

    /// Whether a claim failed.
    pub fn any_failed(&self) -> bool {
        self.summary.fails > 0
    }

    /// One row per claim, showing the series that decided it; with `every_series`, one row per
    /// series instead.
    pub fn table(&self, every_series: bool) -> Table {
        let mut table = Table::new([
            "claim", "verdict", "series", "fit", "interval", "sizes", "reason",
        ])
        .align(3, Align::Right)
        // In a narrow terminal these go under their row, the reason first.
        .detail(6)
        .detail(5)
        .detail(4)
        .detail(3)
        .detail(2);
        for claim in &self.claims {
            let rows: Vec<(Verdict, Option<&SeriesOutcome>, String)> = if every_series {
                if claim.series.is_empty() {
                    vec![(claim.verdict, None, claim.reason.clone())]
                } else {
                    claim
                        .series
                        .iter()
                        .map(|s| (s.verdict, Some(s), s.reason.clone()))
                        .collect()
                }
            } else {
                let deciding = claim.deciding.map(|i| &claim.series[i]);
                let reason = deciding.map_or_else(|| claim.reason.clone(), |s| s.reason.clone());
                vec![(claim.verdict, deciding, reason)]
            };
            for (verdict, series, reason) in rows {
                let label = series.map_or_else(String::new, |s| {
                    let count = claim.series.len();
                    if count > 1 && !every_series {
                        format!("{} (+{} more)", s.series.label(), count - 1)
                    } else {
                        s.series.label()
                    }
                });

                let sizes = series.map_or_else(String::new, |s| {
                    s.sizes_used()
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                });
                table.push_row([
                    claim.id.clone(),
                    verdict.as_str().to_string(),
                    label,
                    series.map_or_else(String::new, fit_cell),
                    series.map_or_else(String::new, |s| interval_cell(s, self.confidence)),
                    sizes,
                    reason,
                ]);
            }
        }
        table
    }

    /// The table rendered in `style`, followed by a one-line summary.
    pub fn render(&self, style: TableStyle, every_series: bool) -> String {
        let mut out = self.table(every_series).render(style);
        if style == TableStyle::Markdown {
            out.push('\n');
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// "N claims: a hold, b fail, c inconclusive" (and the skipped and errors, if any).
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "{} claims: {} hold, {} fail, {} inconclusive",
            self.claims.len(),
            self.summary.holds,
            self.summary.fails,
            self.summary.inconclusive
        );
        if self.summary.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.summary.skipped));
        }
        if self.summary.errors > 0 {
            line.push_str(&format!(", {} without data (error)", self.summary.errors));
        }
        line
    }
}

/// The fitted quantity, the speedup (with the bound min(t, W/S) of its case's counters), or how
/// many counters differ from the other strategy.
fn fit_cell(series: &SeriesOutcome) -> String {
    if let Some(fit) = &series.fit {
        format!("{} {}", fit.kind.quantity(), num(fit.estimate))
    } else if let Some(s) = &series.speedup {
        match s.bound {
            Some(bound) => format!("speedup {} (bound {})", num(s.estimate), num(bound)),
            None => format!("speedup {}", num(s.estimate)),
        }
    } else if let Some(e) = &series.equality {
        match (e.differences.len(), series.verdict) {
            (0, Verdict::Holds) => format!("= {}", e.other),
            (0, _) => String::new(),
            (n, _) => format!("{n} differ"),
        }
    } else {
        String::new()
    }
}

fn interval_cell(series: &SeriesOutcome, confidence: f64) -> String {
    if let Some((lo, hi)) = series.speedup.as_ref().and_then(|s| s.interval) {
        return format!("{}% [{}, {}]", num(confidence * 100.0), num(lo), num(hi));
    }
    let Some(fit) = &series.fit else {
        return String::new();
    };
    if series.exact {
        let lo = fit.local.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = fit.local.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("local [{}, {}]", num(lo), num(hi))
    } else {
        fit.interval.map_or_else(String::new, |(lo, hi)| {
            format!("{}% [{}, {}]", num(confidence * 100.0), num(lo), num(hi))
        })
    }
}
