//! What `verify` found: per strategy, per finite-difference reference and per case, and the
//! table and detail lines it prints.

use serde::Serialize;
use strategies::StrategyKind;
use workloads::Block;

use crate::results::nonfinite::JsonNumber;
use crate::table::{Align, Table};

/// What happened to one strategy at one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and its results were compared.
    Checked,
    /// Its predicted work exceeded the cap, or it cannot run the case (its `message` says
    /// why: `manual` without a hand-written adjoint).
    Skipped,
    /// It panicked or returned a result of the wrong shape.
    Failed,
}

/// One strategy at one case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrategyResult {
    /// The strategy's CLI name.
    pub strategy: &'static str,
    /// What happened.
    pub status: Status,
    /// The predicted work, for capped strategies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_work: Option<JsonNumber>,
    /// Why it failed, or why it cannot run the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Largest error of its value against the primal value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_error: Option<JsonNumber>,
    /// Largest error of its Jacobian against any other strategy's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_error: Option<JsonNumber>,
    /// Largest error of its Jacobian against reliable finite-difference entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd_error: Option<JsonNumber>,
}

impl StrategyResult {
    /// A strategy's result with nothing compared yet.
    pub fn new(strategy: StrategyKind, status: Status) -> Self {
        Self {
            strategy: strategy.name(),
            status,
            predicted_work: None,
            message: None,
            value_error: None,
            ad_error: None,
            fd_error: None,
        }
    }
}

/// The finite-difference reference at one case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FdResult {
    /// Whether it was computed (`checked`), capped (`skipped`) or the program panicked.
    pub status: Status,
    /// (4n + 1) * T.
    pub predicted_work: JsonNumber,
    /// Jacobian entries where the estimate is reliable (the ones that can fail the case).
    pub reliable: usize,
    /// Entries where it disagreed with AD beyond tolerance but was unreliable (informational).
    pub inconclusive: usize,
}

/// A comparison beyond tolerance, or an inconclusive one, located in the Jacobian.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// `value`, `ad`, `fd` or `fd-inconclusive`.
    pub kind: &'static str,
    /// What was compared, e.g. `dualrev vs forward`.
    pub what: String,
    /// Where: `d value[1] / d q[3]` (or `value[1]` for values).
    pub at: String,
    /// The two numbers compared.
    pub numbers: (JsonNumber, JsonNumber),
    /// Their error.
    pub error: JsonNumber,
}

/// Everything `verify` found at one case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseReport {
    /// The workload.
    pub workload: &'static str,
    /// Its size (`None` for fixed-size workloads).
    pub size: Option<usize>,
    /// n.
    pub inputs: usize,
    /// m.
    pub outputs: usize,
    /// T at the generated input.
    pub ops: u64,
    /// Each strategy, in selection order.
    pub strategies: Vec<StrategyResult>,
    /// The finite-difference reference.
    pub fd: FdResult,
    /// The largest AD-against-AD error and its pair, if two strategies differentiated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_pair: Option<(String, JsonNumber)>,
    /// Failures and inconclusive entries (the worst entry per comparison).
    pub findings: Vec<Finding>,
    /// A panic of the program itself at its generated input (nothing else is then checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_error: Option<String>,
    /// Whether every comparison passed.
    pub passed: bool,
}

/// Everything `verify --format json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    /// [`AD_TOLERANCE`](crate::verify::metric::AD_TOLERANCE).
    pub ad_tolerance: f64,
    /// [`FD_TOLERANCE`](crate::verify::metric::FD_TOLERANCE).
    pub fd_tolerance: f64,
    /// [`WORK_CAP`](crate::verify::caps::WORK_CAP).
    pub work_cap: f64,
    /// [`FD_WORK_CAP`](crate::verify::caps::FD_WORK_CAP).
    pub fd_work_cap: f64,
    /// Whether every case passed.
    pub passed: bool,
    /// One report per case.
    pub cases: Vec<CaseReport>,
}

impl VerifyReport {
    /// The report of `cases`, with the tolerances and caps they were held to.
    pub fn new(cases: Vec<CaseReport>) -> Self {
        Self {
            ad_tolerance: crate::verify::metric::AD_TOLERANCE,
            fd_tolerance: crate::verify::metric::FD_TOLERANCE,
            work_cap: crate::verify::caps::WORK_CAP,
            fd_work_cap: crate::verify::caps::FD_WORK_CAP,
            passed: cases.iter().all(|c| c.passed),
            cases,
        }
    }

    /// The table, the detail lines and the verdict line, as `verify` prints them.
    pub fn render(&self, style: crate::table::TableStyle) -> String {
        use crate::verify::metric::{AD_TOLERANCE, FD_TOLERANCE};
        let mut out = summary_table(&self.cases).render(style);
        let details = details(&self.cases);
        if !details.is_empty() {
            out.push('\n');
            for line in details {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "\n{}: {} of {} cases passed (AD tolerance {AD_TOLERANCE:e}, finite differences \
             {FD_TOLERANCE:e})\n",
            if self.passed { "ok" } else { "FAIL" },
            self.cases.iter().filter(|r| r.passed).count(),
            self.cases.len()
        ));
        out
    }
}

/// The name of input `i` in `layout`: `l1[3]`.
pub fn input_name(layout: &[Block], mut i: usize) -> String {
    for block in layout {
        if i < block.len {
            return format!("{}[{i}]", block.name);
        }
        i -= block.len;
    }
    format!("x[{i}]")
}

fn format_error(e: f64) -> String {
    if e == 0.0 {
        "0".to_string()
    } else {
        format!("{e:.1e}")
    }
}

/// The summary table: one row per case.
pub fn summary_table(reports: &[CaseReport]) -> Table {
    let mut table = Table::new([
        "workload",
        "size",
        "n",
        "m",
        "T",
        "ran",
        "skipped",
        "AD vs AD",
        "worst pair",
        "vs FD",
        "verdict",
    ])
    .align(1, Align::Right)
    .align(2, Align::Right)
    .align(3, Align::Right)
    .align(4, Align::Right)
    .align(7, Align::Right)
    .align(9, Align::Right);
    for r in reports {
        let names = |status| {
            let names: Vec<&str> = r
                .strategies
                .iter()
                .filter(|s| s.status == status)
                .map(|s| s.strategy)
                .collect();
            names
        };
        let skipped = names(Status::Skipped);
        let failed = names(Status::Failed);
        let fd = match r.fd.status {
            Status::Checked if r.fd.reliable == 0 => "unreliable".to_string(),
            Status::Checked => format_error(
                r.strategies
                    .iter()
                    .filter_map(|s| s.fd_error.map(|e| e.0))
                    .fold(0.0, f64::max),
            ),
            Status::Skipped => "skipped".to_string(),
            Status::Failed => "failed".to_string(),
        };
        let verdict = if r.program_error.is_some() {
            "FAIL (program panicked)".to_string()
        } else if !failed.is_empty() {
            format!("FAIL ({} failed)", failed.join(", "))
        } else if !r.passed {
            "FAIL".to_string()
        } else if r.fd.inconclusive > 0 {
            let plural = if r.fd.inconclusive == 1 { "y" } else { "ies" };
            format!("ok ({} FD entr{plural} inconclusive)", r.fd.inconclusive)
        } else {
            "ok".to_string()
        };
        let (pair_error, pair) = match &r.worst_pair {
            Some((pair, e)) if e.0 > 0.0 => (format_error(e.0), pair.clone()),
            Some(_) => ("0".to_string(), "(all equal)".to_string()),
            None => ("-".to_string(), "-".to_string()),
        };
        table.push_row([
            r.workload.to_string(),
            r.size.map_or("-".to_string(), |s| s.to_string()),
            r.inputs.to_string(),
            r.outputs.to_string(),
            r.ops.to_string(),
            (r.strategies.len() - skipped.len()).to_string(),
            if skipped.is_empty() {
                "-".to_string()
            } else {
                skipped.join(", ")
            },
            pair_error,
            pair,
            fd,
            verdict,
        ]);
    }
    table
}

/// One line per failure and per inconclusive finite-difference comparison.
pub fn details(reports: &[CaseReport]) -> Vec<String> {
    let mut lines = Vec::new();
    for r in reports {
        let case = match r.size {
            Some(size) => format!("{} size {size}", r.workload),
            None => r.workload.to_string(),
        };
        if let Some(message) = &r.program_error {
            lines.push(format!("FAIL {case}: {message}"));
        }
        for s in r.strategies.iter().filter(|s| s.status == Status::Failed) {
            let message = s.message.as_deref().unwrap_or("failed");
            lines.push(format!("FAIL {case}: {} {message}", s.strategy));
        }
        for f in &r.findings {
            let label = if f.kind == "fd-inconclusive" {
                "note"
            } else {
                "FAIL"
            };
            let suffix = if f.kind == "fd-inconclusive" {
                " (finite differences unreliable here: a kink, strong curvature or rounding noise at this step)"
            } else {
                ""
            };
            lines.push(format!(
                "{label} {case}: {} at {}: {:e} vs {:e}, error {:.1e}{suffix}",
                f.what, f.at, f.numbers.0 .0, f.numbers.1 .0, f.error.0
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_named_by_their_block() {
        let layout = [Block { name: "a", len: 2 }, Block { name: "b", len: 3 }];
        assert_eq!(input_name(&layout, 1), "a[1]");
        assert_eq!(input_name(&layout, 4), "b[2]");
    }
}
