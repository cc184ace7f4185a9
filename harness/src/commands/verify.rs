//! `dualbench verify`: every strategy against every other and against finite differences, on
//! every workload at several sizes.
//!
//! # What is compared
//!
//! For each case (workload, size) at the workload's generated input x, with n inputs, m outputs
//! and T primal operations:
//!
//! - **values**: every strategy's output against the program run on plain `f64`;
//! - **AD against AD**: the full Jacobian (m vector-Jacobian products, or n forward passes) of
//!   every differentiating strategy against that of every other, entry by entry;
//! - **AD against finite differences**: every strategy's Jacobian against a central-difference
//!   estimate.
//!
//! Every comparison uses the ADBench / GradBench metric |x - y| / max(1, |x| + |y|), which
//! judges exact zeros and large values alike. Values and AD against AD must agree to rounding,
//! within [`AD_TOLERANCE`]; finite differences within the looser [`FD_TOLERANCE`].
//!
//! # Finite differences
//!
//! Per input i, with step h = cbrt(eps) * max(1, |x_i|) ≈ 6e-6 * max(1, |x_i|) (the step that
//! balances the O(h^2) truncation error against the O(eps / h) rounding error of a central
//! difference, scaled to the input's magnitude), the program is evaluated at x, x ± h e_i and
//! x ± h/2 e_i (4n + 1 primal evaluations; the steps are the exactly representable
//! differences of the perturbed inputs). The estimate is the Richardson extrapolation
//! (4 D(h/2) - D(h)) / 3 of the central differences D, accurate to O(h^4).
//!
//! Finite differences cannot be trusted everywhere, so an entry where they disagree with AD is
//! a failure only when the estimate is *reliable*; otherwise it is reported as *inconclusive*
//! (informational, never a failure). An entry is unreliable when
//!
//! - D(h) and D(h/2) differ beyond [`FD_TOLERANCE`] (the difference has not converged: a kink
//!   of relu, max, abs or a branch lies between the steps, or the program curves on the scale
//!   of h, as `square-chain` does at large k),
//! - the one-sided slopes (f(x + s) - f(x)) / s and (f(x) - f(x - s)) / s still differ beyond
//!   [`FD_TOLERANCE`] at s = h/2 and their gap does not shrink in proportion to the step (it
//!   halves when the program is smooth): a kink at or next to x, where AD returns one
//!   one-sided derivative and central differences their mean, or
//! - rounding could account for more than a tenth of [`FD_TOLERANCE`]: the estimated rounding
//!   error of a difference, [`FD_ROUNDING_ULPS`] * eps * |f| / (2s), is too large beside the
//!   slope (a large output with a small derivative, as `fdotprod` at large n; or a non-finite
//!   output).
//!
//! # Caps
//!
//! Slow strategies run only where they finish in seconds. Before running, the case's
//! [`OpCount`] predicts each strategy's work for the Jacobian,
//! from its [`CostClass`]:
//!
//! | cost class | predicted work | strategies (at the time of writing) |
//! |---|---|---|
//! | `paths` | m (n + 1) max(naive_calls, T + n) | `naive` |
//! | `dense` | m (n + 1) (T + n) | `forward`, `forward-vec`, `staged`, `cayley` |
//! | others | always run | `primal`, `tape`, `sparse`, `dualrev` |
//!
//! (m times [`StrategyKind::predicted_work`], the work of one vector-Jacobian product.)
//!
//! A strategy whose predicted work exceeds [`WORK_CAP`] is skipped at that case, and finite
//! differences are skipped where (4n + 1) * T exceeds [`FD_WORK_CAP`]; skipped strategies are
//! named in the table (and marked `skipped`, with the predicted work, in the JSON), never
//! silently dropped.
//!
//! # Output and exit code
//!
//! One row per case: sizes, which strategies ran and which were skipped, the largest error
//! between two AD strategies (and the pair), the largest reliable error against finite
//! differences, and the verdict; then one line per failure (the worst entry of each failing
//! comparison) and per case with inconclusive finite differences (its worst entry). `--format json` prints everything, per strategy. Exit code 1 when any case fails:
//! a strategy panicked, returned a wrongly shaped result, or disagreed beyond tolerance; 2 on
//! bad input (nothing is run).
//!
//! Default sizes are each workload's `SizeSpec::verify` (its default size if that list is
//! empty); `--sizes` overrides them as in every command.

use std::time::Instant;

use serde::Serialize;
use strategies::op_count::OpCount;
use strategies::{CostClass, DynProgram, StrategyKind};
use workloads::{Block, Instance};

use super::grad::JsonNumber;
use super::list::Format;
use crate::error::{Error, Outcome, Result};
use crate::select::{self, guarded, SizeSelection};
use crate::table::{Align, Table};

/// Largest accepted error between two AD strategies, or between a strategy's value and the
/// primal value: they must agree to rounding.
pub const AD_TOLERANCE: f64 = 1e-8;

/// Largest accepted error between a strategy and a reliable finite-difference estimate.
pub const FD_TOLERANCE: f64 = 1e-5;

/// How many units in the last place of the output the rounding of one primal evaluation is
/// assumed to contribute to a finite difference (see the module documentation).
pub const FD_ROUNDING_ULPS: f64 = 4.0;

/// Largest predicted work (see the module documentation) at which a `paths` or `dense`
/// strategy is still run: about a second for the slowest of them in a release build.
pub const WORK_CAP: f64 = 2e7;

/// Largest (4n + 1) * T at which finite differences are computed.
pub const FD_WORK_CAP: f64 = 2e8;

/// Arguments of `dualbench verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Workloads to check, comma separated or repeated (default: all).
    #[arg(long, value_name = "NAMES", num_args = 1..)]
    pub workloads: Vec<String>,
    /// Strategies to check, comma separated or repeated (default: all).
    #[arg(long, value_name = "NAMES", num_args = 1..)]
    pub strategies: Vec<String>,
    /// Sizes: `100,200` for every workload, `fdotprod=10,100` for one (default: each workload's
    /// verify sizes).
    #[arg(long, value_name = "SIZES", num_args = 1..)]
    pub sizes: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The metric |x - y| / max(1, |x| + |y|); equal numbers (infinities included) and two NaNs
/// are at distance 0, a NaN and a number at infinite distance.
pub fn relative_error(x: f64, y: f64) -> f64 {
    if x == y || (x.is_nan() && y.is_nan()) {
        return 0.0;
    }
    let e = (x - y).abs() / (x.abs() + y.abs()).max(1.0);
    if e.is_nan() {
        f64::INFINITY
    } else {
        e
    }
}

/// What happened to one strategy at one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It ran and its results were compared.
    Checked,
    /// Its predicted work exceeded the cap.
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
    /// Why it failed.
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
    fn new(strategy: StrategyKind, status: Status) -> Self {
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
    /// [`AD_TOLERANCE`].
    pub ad_tolerance: f64,
    /// [`FD_TOLERANCE`].
    pub fd_tolerance: f64,
    /// [`WORK_CAP`].
    pub work_cap: f64,
    /// [`FD_WORK_CAP`].
    pub fd_work_cap: f64,
    /// Whether every case passed.
    pub passed: bool,
    /// One report per case.
    pub cases: Vec<CaseReport>,
}

/// Run `dualbench verify`.
pub fn execute(args: VerifyArgs) -> Result<Outcome> {
    let workloads = select::workloads(&args.workloads)?;
    let strategies = select::strategies(&args.strategies)?;
    let sizes = SizeSelection::parse(&args.sizes)?;
    // Validate every case before any work starts.
    let mut cases = Vec::new();
    for &w in &workloads {
        let default_sizes = |spec: &workloads::SizeSpec| {
            if spec.verify.is_empty() {
                vec![spec.default]
            } else {
                spec.verify.to_vec()
            }
        };
        for size in sizes.sizes_for(w, default_sizes)? {
            cases.push((
                w.name(),
                workloads::instantiate(w, size, &Default::default())?,
            ));
        }
    }
    if cases.is_empty() {
        return Err(Error::usage(
            "nothing to verify: no workload is selected (or none is registered)",
        ));
    }

    let mut reports = Vec::with_capacity(cases.len());
    for (name, instance) in &cases {
        let start = Instant::now();
        let report = verify_case(name, instance, &strategies);
        eprintln!(
            "verify {name}{}: {} ({:.2} s)",
            report
                .size
                .map(|s| format!(" size {s}"))
                .unwrap_or_default(),
            if report.passed { "ok" } else { "FAIL" },
            start.elapsed().as_secs_f64()
        );
        reports.push(report);
    }
    let passed = reports.iter().all(|r| r.passed);
    match args.format.table_style() {
        None => {
            let report = VerifyReport {
                ad_tolerance: AD_TOLERANCE,
                fd_tolerance: FD_TOLERANCE,
                work_cap: WORK_CAP,
                fd_work_cap: FD_WORK_CAP,
                passed,
                cases: reports,
            };
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::usage(format!("cannot encode the report as JSON: {e}")))?;
            println!("{json}");
        }
        Some(style) => {
            print!("{}", summary_table(&reports).render(style));
            let details = details(&reports);
            if !details.is_empty() {
                println!();
                for line in details {
                    println!("{line}");
                }
            }
            println!(
                "\n{}: {} of {} cases passed (AD tolerance {AD_TOLERANCE:e}, finite differences {FD_TOLERANCE:e})",
                if passed { "ok" } else { "FAIL" },
                reports.iter().filter(|r| r.passed).count(),
                reports.len()
            );
        }
    }
    Ok(if passed {
        Outcome::Success
    } else {
        Outcome::VerdictFailed
    })
}

/// The predicted work of `strategy` for the full Jacobian (m vector-Jacobian products, see
/// the module documentation), or `None` for strategies that always run.
pub fn predicted_work(strategy: StrategyKind, count: &OpCount, n: usize, m: usize) -> Option<f64> {
    match strategy.cost_class() {
        CostClass::Paths | CostClass::Dense => Some(strategy.predicted_work(count, n) * m as f64),
        CostClass::Primal | CostClass::Linear | CostClass::LogLinear => None,
    }
}

/// A finite-difference Jacobian: the Richardson estimate and, per entry, whether it is reliable.
#[derive(Clone, Debug, PartialEq)]
pub struct FdJacobian {
    /// m rows of n estimates.
    pub estimate: Vec<Vec<f64>>,
    /// m rows of n flags: whether the estimate can be trusted (see the module documentation).
    pub reliable: Vec<Vec<bool>>,
}

/// Central finite differences of `program` at `x`, as described in the module documentation.
pub fn finite_differences(program: &dyn DynProgram, x: &[f64]) -> FdJacobian {
    let n = x.len();
    let m = program.output_len();
    let f0 = program.primal(x);
    let mut estimate = vec![vec![0.0; n]; m];
    let mut reliable = vec![vec![true; n]; m];
    let mut point = x.to_vec();
    let mut at = |i: usize, xi: f64| {
        point[i] = xi;
        let f = program.primal(&point);
        point[i] = x[i];
        f
    };
    let scale = f64::EPSILON.cbrt();
    for i in 0..n {
        let h = scale * x[i].abs().max(1.0);
        // Slopes (central, forward, backward) at step s, with the exactly representable steps.
        let mut slopes = |s: f64| {
            let (xp, xm) = (x[i] + s, x[i] - s);
            let (fp, fm) = (at(i, xp), at(i, xm));
            (0..m)
                .map(|j| {
                    let central = (fp[j] - fm[j]) / (xp - xm);
                    let magnitude = fp[j].abs().max(fm[j].abs()).max(f0[j].abs());
                    let noise = FD_ROUNDING_ULPS * f64::EPSILON * magnitude / (xp - xm);
                    (
                        central,
                        (fp[j] - f0[j]) / (xp - x[i]),
                        (f0[j] - fm[j]) / (x[i] - xm),
                        // A NaN (from an infinite value) counts as noisy.
                        (noise / central.abs().max(1.0))
                            .partial_cmp(&(FD_TOLERANCE / 10.0))
                            .map_or(true, |order| order.is_gt()),
                    )
                })
                .collect::<Vec<_>>()
        };
        let coarse = slopes(h);
        let fine = slopes(h / 2.0);
        for j in 0..m {
            let (d1, f1, b1, noisy1) = coarse[j];
            let (d2, f2, b2, noisy2) = fine[j];
            estimate[j][i] = (4.0 * d2 - d1) / 3.0;
            let converged = relative_error(d1, d2) <= FD_TOLERANCE;
            let kink =
                relative_error(f2, b2) > FD_TOLERANCE && (f2 - b2).abs() > 0.75 * (f1 - b1).abs();
            reliable[j][i] = converged && !kink && !noisy1 && !noisy2;
        }
    }
    FdJacobian { estimate, reliable }
}

/// The name of input `i` in `layout`: `l1[3]`.
fn input_name(layout: &[Block], mut i: usize) -> String {
    for block in layout {
        if i < block.len {
            return format!("{}[{i}]", block.name);
        }
        i -= block.len;
    }
    format!("x[{i}]")
}

/// The largest entry-wise error between two m x n matrices, with its position.
fn max_error(a: &[Vec<f64>], b: &[Vec<f64>]) -> Option<(f64, usize, usize, f64, f64)> {
    let mut worst: Option<(f64, usize, usize, f64, f64)> = None;
    for (j, (ra, rb)) in a.iter().zip(b).enumerate() {
        for (i, (&x, &y)) in ra.iter().zip(rb).enumerate() {
            let e = relative_error(x, y);
            if worst.map_or(true, |w| e > w.0) {
                worst = Some((e, j, i, x, y));
            }
        }
    }
    worst
}

/// Check every strategy in `strategies` at `instance`'s generated input (see the module
/// documentation).
pub fn verify_case(
    workload: &'static str,
    instance: &Instance,
    strategies: &[StrategyKind],
) -> CaseReport {
    let program = instance.program.as_ref();
    let x = instance.input.as_slice();
    let (n, m) = (program.input_len(), program.output_len());
    let mut report = CaseReport {
        workload,
        size: instance.size,
        inputs: n,
        outputs: m,
        ops: 0,
        strategies: Vec::new(),
        fd: FdResult {
            status: Status::Skipped,
            predicted_work: JsonNumber(0.0),
            reliable: 0,
            inconclusive: 0,
        },
        worst_pair: None,
        findings: Vec::new(),
        program_error: None,
        passed: false,
    };
    let (primal_value, count) = match guarded(|| (program.primal(x), program.op_count(x))) {
        Ok(v) => v,
        Err(message) => {
            report.program_error = Some(message);
            return report;
        }
    };
    report.ops = count.ops;
    let at = |j: usize, i: usize| format!("d value[{j}] / d {}", input_name(&instance.layout, i));

    // Run each strategy (or skip it), and compare its value to the primal value.
    let mut jacobians: Vec<(StrategyKind, Vec<Vec<f64>>)> = Vec::new();
    for &strategy in strategies {
        let work = predicted_work(strategy, &count, n, m);
        let mut result = StrategyResult::new(strategy, Status::Checked);
        result.predicted_work = work.map(JsonNumber);
        if work.is_some_and(|w| w > WORK_CAP) {
            result.status = Status::Skipped;
            report.strategies.push(result);
            continue;
        }
        match guarded(|| program.jacobian(strategy, x)) {
            Err(message) => {
                result.status = Status::Failed;
                result.message = Some(format!("panicked: {message}"));
            }
            Ok(j) if j.value.len() != m => {
                result.status = Status::Failed;
                result.message = Some(format!("returned {} values, expected {m}", j.value.len()));
            }
            Ok(j) => {
                let worst = max_error(
                    std::slice::from_ref(&j.value),
                    std::slice::from_ref(&primal_value),
                );
                if let Some((e, _, k, v, p)) = worst {
                    result.value_error = Some(JsonNumber(e));
                    if e > AD_TOLERANCE {
                        report.findings.push(Finding {
                            kind: "value",
                            what: format!("{} vs f64", strategy.name()),
                            at: format!("value[{k}]"),
                            numbers: (JsonNumber(v), JsonNumber(p)),
                            error: JsonNumber(e),
                        });
                    }
                }
                match j.rows {
                    Some(rows) if rows.len() != m || rows.iter().any(|r| r.len() != n) => {
                        result.status = Status::Failed;
                        result.message = Some(format!(
                            "returned a Jacobian with {} rows of lengths {:?}, expected {m} rows of {n}",
                            rows.len(),
                            rows.iter().map(Vec::len).collect::<Vec<_>>()
                        ));
                    }
                    Some(rows) => jacobians.push((strategy, rows)),
                    None if strategy.differentiates() => {
                        result.status = Status::Failed;
                        result.message = Some("returned no derivative".to_string());
                    }
                    None => {}
                }
            }
        }
        report.strategies.push(result);
    }

    // AD against AD: every pair.
    let mut ad_errors = vec![0.0f64; jacobians.len()];
    for a in 0..jacobians.len() {
        for b in a + 1..jacobians.len() {
            let Some((e, j, i, u, v)) = max_error(&jacobians[a].1, &jacobians[b].1) else {
                continue;
            };
            ad_errors[a] = ad_errors[a].max(e);
            ad_errors[b] = ad_errors[b].max(e);
            let what = format!("{} vs {}", jacobians[a].0.name(), jacobians[b].0.name());
            if report.worst_pair.as_ref().map_or(true, |w| e > w.1 .0) {
                report.worst_pair = Some((what.clone(), JsonNumber(e)));
            }
            if e > AD_TOLERANCE {
                report.findings.push(Finding {
                    kind: "ad",
                    what,
                    at: at(j, i),
                    numbers: (JsonNumber(u), JsonNumber(v)),
                    error: JsonNumber(e),
                });
            }
        }
    }

    // AD against finite differences.
    let fd_work = (4 * n + 1) as f64 * count.ops as f64;
    report.fd.predicted_work = JsonNumber(fd_work);
    let mut fd_errors = vec![None; jacobians.len()];
    if fd_work <= FD_WORK_CAP && !jacobians.is_empty() {
        match guarded(|| finite_differences(program, x)) {
            Err(message) => {
                report.fd.status = Status::Failed;
                report.program_error = Some(format!("finite differences panicked: {message}"));
            }
            Ok(fd) => {
                report.fd.status = Status::Checked;
                // One finding per kind for the case (the worst entry over all strategies): AD
                // strategies that agree with each other would only repeat it.
                let mut worst_reliable: Option<Finding> = None;
                let mut worst_unreliable: Option<Finding> = None;
                for j in 0..m {
                    for i in 0..n {
                        let v = fd.estimate[j][i];
                        let reliable = fd.reliable[j][i];
                        let mut disagrees = false;
                        for (k, (strategy, rows)) in jacobians.iter().enumerate() {
                            let u = rows[j][i];
                            let e = relative_error(u, v);
                            if reliable {
                                fd_errors[k] = Some(fd_errors[k].unwrap_or(0.0f64).max(e));
                            }
                            if e <= FD_TOLERANCE {
                                continue;
                            }
                            disagrees = true;
                            let slot = if reliable {
                                &mut worst_reliable
                            } else {
                                &mut worst_unreliable
                            };
                            if slot.as_ref().map_or(true, |f| e > f.error.0) {
                                *slot = Some(Finding {
                                    kind: if reliable { "fd" } else { "fd-inconclusive" },
                                    what: format!("{} vs finite differences", strategy.name()),
                                    at: at(j, i),
                                    numbers: (JsonNumber(u), JsonNumber(v)),
                                    error: JsonNumber(e),
                                });
                            }
                        }
                        if disagrees && !reliable {
                            report.fd.inconclusive += 1;
                        }
                        if reliable {
                            report.fd.reliable += 1;
                        }
                    }
                }
                report.findings.extend(worst_reliable);
                report.findings.extend(worst_unreliable);
            }
        }
    }

    for (k, (strategy, _)) in jacobians.iter().enumerate() {
        if let Some(result) = report
            .strategies
            .iter_mut()
            .find(|r| r.strategy == strategy.name())
        {
            if jacobians.len() > 1 {
                result.ad_error = Some(JsonNumber(ad_errors[k]));
            }
            result.fd_error = fd_errors[k].map(JsonNumber);
        }
    }
    report.passed = report.program_error.is_none()
        && report.strategies.iter().all(|s| s.status != Status::Failed)
        && report.findings.iter().all(|f| f.kind == "fd-inconclusive");
    report
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
    use strategies::{Program, Real};

    /// f(x, y) = (x * y + sin x, relu(y)): two outputs, a kink in the second.
    struct TwoOutputs;
    impl Program for TwoOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
            let first = x[0].clone() * x[1].clone() + x[0].sin();
            let relu = if x[1] > R::constant(0.0) {
                x[1].clone()
            } else {
                R::constant(0.0)
            };
            vec![first, relu]
        }
    }

    /// x^(2^k) by repeated squaring.
    struct SquareChain(usize);
    impl Program for SquareChain {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
            let mut v = x[0].clone();
            for _ in 0..self.0 {
                v = v.clone() * v;
            }
            vec![v]
        }
    }

    fn instance(program: impl Program + Send + Sync + 'static, input: Vec<f64>) -> Instance {
        let layout = vec![Block {
            name: "x",
            len: input.len(),
        }];
        Instance {
            size: None,
            params: Default::default(),
            layout,
            input,
            program: Box::new(program),
        }
    }

    #[test]
    fn relative_error_is_scaled_by_magnitude_and_handles_non_finite() {
        assert_eq!(relative_error(1e-3, 0.0), 1e-3);
        assert!((relative_error(1e6, 1e6 + 1.0) - 1.0 / (2e6 + 1.0)).abs() < 1e-18);
        assert_eq!(relative_error(f64::INFINITY, f64::INFINITY), 0.0);
        assert_eq!(relative_error(f64::NAN, f64::NAN), 0.0);
        assert_eq!(relative_error(f64::NAN, 1.0), f64::INFINITY);
        assert_eq!(relative_error(f64::INFINITY, 1.0), f64::INFINITY);
    }

    #[test]
    fn finite_differences_match_the_analytic_jacobian_where_smooth() {
        let (x, y) = (0.7, -2.5);
        let fd = finite_differences(&TwoOutputs, &[x, y]);
        let exact = [[y + f64::cos(x), x], [0.0, 0.0]];
        for (j, row) in exact.iter().enumerate() {
            for (i, &d) in row.iter().enumerate() {
                assert!(fd.reliable[j][i], "entry ({j}, {i})");
                assert!(relative_error(fd.estimate[j][i], d) < 1e-9);
            }
        }
    }

    #[test]
    fn finite_differences_flag_a_kink_at_the_point_as_unreliable() {
        let fd = finite_differences(&TwoOutputs, &[0.7, 0.0]);
        assert!(!fd.reliable[1][1]);
        assert!(fd.reliable[0][0] && fd.reliable[0][1]);
    }

    #[test]
    fn finite_differences_flag_a_kink_within_the_step_as_unreliable() {
        let fd = finite_differences(&TwoOutputs, &[0.7, 4e-6]);
        assert!(!fd.reliable[1][1]);
    }

    #[test]
    fn finite_differences_trust_smooth_strong_curvature() {
        // x^1024 at 1: derivative 1024, third derivative ~1e9; Richardson handles it.
        let fd = finite_differences(&SquareChain(10), &[1.0]);
        assert!(fd.reliable[0][0]);
        assert!(relative_error(fd.estimate[0][0], 1024.0) < FD_TOLERANCE);
    }

    #[test]
    fn predicted_work_caps_only_paths_and_dense_strategies() {
        let count = OpCount {
            ops: 10,
            naive_calls: 1e6,
        };
        // m = 2 vector-Jacobian products of (n + 1) max(paths, T + n), resp. (n + 1)(T + n).
        assert_eq!(
            predicted_work(StrategyKind::Naive, &count, 3, 2),
            Some(2.0 * 4.0 * 1e6)
        );
        assert_eq!(
            predicted_work(StrategyKind::Forward, &count, 3, 2),
            Some(2.0 * 4.0 * 13.0)
        );
        assert_eq!(predicted_work(StrategyKind::Dualrev, &count, 3, 2), None);
        assert_eq!(predicted_work(StrategyKind::Primal, &count, 3, 2), None);
    }

    #[test]
    fn primal_alone_passes_with_nothing_to_compare() {
        let r = verify_case(
            "two",
            &instance(TwoOutputs, vec![0.7, -2.5]),
            &[StrategyKind::Primal],
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.strategies[0].status, Status::Checked);
        assert_eq!(r.strategies[0].value_error.map(|e| e.0), Some(0.0));
        assert_eq!(r.fd.status, Status::Skipped);
        assert_eq!(r.ops, 3);
    }

    #[test]
    fn a_panicking_program_fails_the_case_with_its_message() {
        struct Panics;
        impl Program for Panics {
            fn input_len(&self) -> usize {
                1
            }
            fn output_len(&self) -> usize {
                1
            }
            fn eval<R: Real>(&self, _: &[R]) -> Vec<R> {
                panic!("domain error")
            }
        }
        let r = verify_case("p", &instance(Panics, vec![1.0]), &[StrategyKind::Primal]);
        assert!(!r.passed);
        assert_eq!(r.program_error.as_deref(), Some("domain error"));
        assert!(details(&[r])[0].contains("domain error"));
    }

    #[test]
    fn naive_is_skipped_where_its_paths_exceed_the_cap() {
        // 2^(k+1) - 1 paths at k = 40: far beyond the cap, so naive must not even start.
        let r = verify_case(
            "square",
            &instance(SquareChain(40), vec![1.0]),
            &[StrategyKind::Naive, StrategyKind::Primal],
        );
        assert_eq!(r.strategies[0].status, Status::Skipped);
        assert!(r.passed);
        let table = summary_table(&[r]).to_string();
        assert!(table.contains("naive") && table.contains("ok"), "{table}");
    }

    #[test]
    fn inputs_are_named_by_their_block() {
        let layout = [Block { name: "a", len: 2 }, Block { name: "b", len: 3 }];
        assert_eq!(input_name(&layout, 1), "a[1]");
        assert_eq!(input_name(&layout, 4), "b[2]");
    }
}
