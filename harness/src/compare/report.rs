//! What `compare` prints: a one-line verdict, the changed cases, and (Markdown) the full table
//! collapsed under them, ready to paste as a pull-request comment; or the comparison as JSON.

use std::collections::BTreeMap;

use crate::compare::{CaseComparison, Comparison, ExactChange, Kind, TimeVerdict};
use crate::plot::style::short;
use crate::results::summary::format_ns;
use crate::table::{Align, Table, TableStyle};

impl Comparison {
    /// The number of cases in both files.
    pub fn common(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.base_status.is_some() && c.new_status.is_some())
            .count()
    }

    /// One line: whether a gated regression was found, and of which kinds.
    pub fn verdict_line(&self) -> String {
        let failing: Vec<&CaseComparison> = self.failing().collect();
        let gated: Vec<&str> = self.fail_on.iter().map(tier_name).collect();
        let changed = self.cases.iter().filter(|c| c.changed()).count();
        let ungated_timeouts = self
            .cases
            .iter()
            .filter(|c| {
                c.regressions
                    .iter()
                    .any(|k| *k == Kind::ExplainedTimeout && !k.fails_under(&self.fail_on))
            })
            .count();
        let timeouts = if ungated_timeouts == 0 {
            String::new()
        } else {
            format!(
                "; {ungated_timeouts} timed out in NEW as its budget or pace explains (not gated \
                 without --fail-on time; see Timeouts)"
            )
        };
        if failing.is_empty() {
            format!(
                "no regression in {} common cases (gating on {}); {changed} changed{timeouts}",
                self.common(),
                gated.join(", ")
            )
        } else {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for c in &failing {
                for k in c
                    .regressions
                    .iter()
                    .filter(|k| k.fails_under(&self.fail_on))
                {
                    *kinds.entry(k.name()).or_default() += 1;
                }
            }
            let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            format!(
                "REGRESSION in {} of {} common cases ({}; gating on {}){timeouts}",
                failing.len(),
                self.common(),
                kinds.join(", "),
                gated.join(", ")
            )
        }
    }

    /// One paragraph per case that finished in BASE and timed out in NEW: how long it took in
    /// BASE, NEW's budget and pace, whether they explain the timeout, how it gates, and how to
    /// tell a slower machine from a slower case.
    pub fn timeout_notes(&self) -> Vec<String> {
        self.cases
            .iter()
            .filter_map(|c| c.timeout.as_ref().map(|t| (c, t)))
            .map(|(c, t)| {
                let how = match t.skipped_after {
                    Some(size) => format!(
                        "was skipped in NEW after {} timed out",
                        size.map_or_else(|| "a smaller size".to_string(), |s| format!("size {s}"))
                    ),
                    None => "timed out in NEW".to_string(),
                };
                let pace = match t.pace {
                    Some(p) => format!(
                        "NEW ran the cases that finished in both at {}x BASE's time (median), so \
                         this one needs about {} s there",
                        short(p),
                        short(t.expected_s)
                    ),
                    None => "no case finished in both to measure NEW's pace".to_string(),
                };
                let verdict = if t.explained {
                    format!(
                        "that reaches half of NEW's budget or more, so a slower machine, the \
                         budget or noise near the limit explains the timeout (a real slowdown is \
                         not ruled out: rerun NEW with --budget {} or more to tell). Gated only \
                         with --fail-on time",
                        short((1.5 * t.expected_s).max(t.base_budget_s).ceil())
                    )
                } else {
                    "that is under half of NEW's budget: the case slowed down more than twice \
                     beyond the machine's pace, a regression whatever --fail-on says"
                        .to_string()
                };
                format!(
                    "{}: finished in BASE in {} s (budget {} s) and {how} (budget {} s); {pace}; \
                     {verdict}.",
                    c.label(),
                    short(t.base_wall_s),
                    short(t.base_budget_s),
                    short(t.new_budget_s)
                )
            })
            .collect()
    }

    /// The table of `cases`.
    pub fn table<'a>(&self, cases: impl Iterator<Item = &'a CaseComparison>) -> Table {
        let mut table = Table::new([
            "case",
            "status",
            "time",
            "time change",
            "counters",
            "allocations",
            "instructions",
            "verdict",
        ])
        .align(3, Align::Right);
        for c in cases {
            table.push_row([
                c.label(),
                status_cell(c),
                c.time.as_ref().map_or_else(String::new, |t| {
                    format!("{} -> {}", format_ns(t.base_ns), format_ns(t.new_ns))
                }),
                c.time.as_ref().map_or_else(String::new, |t| {
                    let interval = t.interval.map_or_else(String::new, |(lo, hi)| {
                        format!(" [{}, {}]", percent(lo), percent(hi))
                    });
                    format!("{}{interval}", percent(t.ratio))
                }),
                exact_cell(&c.counters),
                exact_cell(&c.allocations),
                c.instructions.as_ref().map_or_else(String::new, |i| {
                    if !i.beyond_threshold {
                        String::new()
                    } else {
                        format!("{} -> {} ({:+.2}%)", i.base, i.new, i.relative * 100.0)
                    }
                }),
                verdict_cell(c),
            ]);
        }
        table
    }

    /// The report in `style`: verdict, changed cases, cases in one file only; Markdown adds
    /// the full table in a collapsed section.
    pub fn render(&self, style: TableStyle) -> String {
        let changed: Vec<&CaseComparison> = self.cases.iter().filter(|c| c.changed()).collect();
        let mut out = String::new();
        let verdict = self.verdict_line();
        match style {
            TableStyle::Markdown => out.push_str(&format!("**dualbench compare: {verdict}**\n\n")),
            TableStyle::Plain | TableStyle::Fitted { .. } => {
                out.push_str(&style.paragraph(&format!("compare: {verdict}\n\n")))
            }
        }
        out.push_str(&style.paragraph(&format!(
            "{} (BASE) against {} (NEW); time: median change with its {}% bootstrap interval, \
             flagged beyond {}%; counters and allocations exact; instructions beyond {}%.\n\n",
            self.base,
            self.new,
            short(self.confidence * 100.0),
            short(self.time_threshold * 100.0),
            short(self.instructions_threshold * 100.0)
        )));
        for difference in &self.provenance {
            out.push_str(&style.paragraph(&format!("{difference}.\n\n")));
        }
        if let Some(pace) = self.pace.filter(|p| (p - 1.0).abs() > self.time_threshold) {
            out.push_str(&style.paragraph(&format!(
                "NEW ran the cases that finished in both at {}x BASE's time (median): a \
                 different machine, build or load moves every time, so judge time changes on \
                 one machine.\n\n",
                short(pace)
            )));
        }
        if changed.is_empty() {
            out.push_str("No case changed.\n");
        } else {
            out.push_str(&self.table(changed.into_iter()).render(style));
        }
        let notes = self.timeout_notes();
        if !notes.is_empty() {
            out.push_str("\nTimeouts (cases that finished in BASE):\n");
            for note in notes {
                let bullet = if style == TableStyle::Markdown {
                    "- "
                } else {
                    "  "
                };
                out.push_str(&format!("{bullet}{note}\n"));
            }
        }
        if style == TableStyle::Markdown {
            out.push_str(&format!(
                "\n<details><summary>All {} cases</summary>\n\n{}\n</details>\n",
                self.cases.len(),
                self.table(self.cases.iter()).render(style)
            ));
        }
        out
    }
}

fn tier_name(t: &crate::compare::Tier) -> &'static str {
    match t {
        crate::compare::Tier::Counters => "counters",
        crate::compare::Tier::Instructions => "instructions",
        crate::compare::Tier::Time => "time",
        crate::compare::Tier::All => "all",
    }
}

/// A ratio as a signed percentage change: 1.25 -> `+25%`.
fn percent(ratio: f64) -> String {
    format!("{:+.1}%", (ratio - 1.0) * 100.0)
}

fn status_cell(c: &CaseComparison) -> String {
    let name = |s: Option<crate::results::Status>| s.map_or("absent", |s| s.name());
    if c.base_status == c.new_status {
        name(c.base_status).to_string()
    } else {
        format!("{} -> {}", name(c.base_status), name(c.new_status))
    }
}

fn exact_cell(changes: &[ExactChange]) -> String {
    let value = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    changes
        .iter()
        .map(|c| format!("{} {} -> {}", c.name, value(c.base), value(c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn verdict_cell(c: &CaseComparison) -> String {
    if !c.regressions.is_empty() {
        let kinds: Vec<&str> = c.regressions.iter().map(|k| k.name()).collect();
        return format!("regression: {}", kinds.join(", "));
    }
    if c.time
        .as_ref()
        .is_some_and(|t| t.verdict == TimeVerdict::Faster)
    {
        return "faster".into();
    }
    if c.base_status.is_none() {
        return "new case".into();
    }
    if c.new_status.is_none() {
        return "not in NEW".into();
    }
    if c.changed() {
        "changed".into()
    } else {
        String::new()
    }
}
