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
//!   error of a difference, [`FD_ROUNDING_ULPS`](fd::FD_ROUNDING_ULPS) * eps * |f| / (2s), is too large beside the
//!   slope (a large output with a small derivative, as `fdotprod` at large n; or a non-finite
//!   output).
//!
//! # Caps
//!
//! Slow strategies run only where they finish in seconds. Before running, the case's
//! [`OpCount`](strategies::op_count::OpCount) predicts each strategy's work for the Jacobian,
//! from its [`CostClass`](strategies::CostClass):
//!
//! | cost class | predicted work | strategies (at the time of writing) |
//! |---|---|---|
//! | `paths` | m (n + 1) max(naive_calls, T + n) | `naive` |
//! | `dense` | m (n + 1) (T + n) | `forward`, `forward-vec`, `staged`, `cayley` |
//! | others | always run | `primal`, `tape`, `sparse`, `dualrev` |
//!
//! (m times [`StrategyKind::predicted_work`], the work of one vector-Jacobian product.)
//!
//! A strategy that cannot run a case at all (`manual` where the workload has no hand-written
//! adjoint) is skipped there with its reason, and so is a strategy whose predicted work
//! exceeds [`WORK_CAP`]; finite differences are skipped where (4n + 1) * T exceeds
//! [`FD_WORK_CAP`]. Skipped strategies are named in the table (and marked `skipped`, with the
//! predicted work or the reason, in the JSON), never silently dropped.
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
//! empty); `--sizes` overrides them as in every command. Nothing given is ignored: sizes named
//! for a workload that is not selected, and `--threads` above 1 where no selected strategy
//! would run in parallel, are errors.
//!
//! # Threads
//!
//! Every evaluation runs on a worker of one rayon pool of `--threads` threads (default 1,
//! [`GuardedPool`]), so with more than one thread the parallel strategies run the `join`s of
//! the fork-join workloads in parallel, and their Jacobians are held to the same tolerances as
//! every other strategy's.

pub mod caps;
pub mod fd;
pub mod metric;
pub mod random;
pub mod report;
#[cfg(test)]
mod test_programs;

use strategies::StrategyKind;
use workloads::Instance;

use crate::error::{Error, Result};
use crate::measure::thread::GuardedPool;
use crate::results::nonfinite::JsonNumber;
use crate::select::{self, SizeSelection};
use caps::{beyond, predicted_work, FD_WORK_CAP, WORK_CAP};
use fd::finite_differences;
use metric::{relative_error, AD_TOLERANCE, FD_TOLERANCE};
use report::{input_name, CaseReport, FdResult, Finding, Status, StrategyResult, VerifyReport};

/// What `dualbench verify` was asked to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `--workloads` (empty: all).
    pub workloads: Vec<String>,
    /// `--strategies` (empty: all).
    pub strategies: Vec<String>,
    /// `--sizes` (empty: each workload's verify sizes).
    pub sizes: Vec<String>,
    /// `--threads`: the threads of the pool every evaluation runs in.
    pub threads: usize,
    /// `--second-order`: check Hessian-vector products instead of Jacobians.
    pub second_order: bool,
}

impl Default for Request {
    /// Every workload at its verify sizes, every strategy, on one thread.
    fn default() -> Request {
        Request {
            workloads: Vec::new(),
            strategies: Vec::new(),
            sizes: Vec::new(),
            threads: 1,
            second_order: false,
        }
    }
}

/// The validated cases of a request: every (workload, size) instantiated, and the strategies,
/// before any work starts.
pub struct Plan {
    /// The cases, with their workload's name.
    pub cases: Vec<(&'static str, Instance)>,
    /// The strategies to check.
    pub strategies: Vec<StrategyKind>,
    /// The pool every evaluation runs in.
    pub pool: GuardedPool,
    /// Whether the cases are checked at second order ([`second_order`]).
    pub second_order: bool,
}

impl Plan {
    /// Validate `request`.
    pub fn new(request: &Request) -> Result<Plan> {
        let workloads = select::workloads(&request.workloads)?;
        let strategies = select::strategies(&request.strategies)?;
        let sizes = SizeSelection::parse(&request.sizes)?;
        sizes.check_selected(&workloads.iter().map(|w| w.name()).collect::<Vec<_>>())?;
        let named = !request.workloads.is_empty();
        let mut cases = Vec::new();
        for &w in &workloads {
            let default_sizes = |spec: &workloads::SizeSpec| {
                if spec.verify.is_empty() {
                    vec![spec.default]
                } else {
                    spec.verify.to_vec()
                }
            };
            let mut seen = Vec::new();
            for size in sizes.sizes_for(w, named, default_sizes)? {
                // A size given twice is one case.
                if seen.contains(&size) {
                    continue;
                }
                seen.push(size);
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
        let fork_join = cases.iter().any(|(_, i)| i.program.fork_join());
        let parallel = strategies.iter().any(|s| s.is_parallel());
        if request.threads > 1 && !(fork_join && parallel) {
            return Err(Error::usage(format!(
                "--threads {}: no selected case would run in parallel, so the count would be \
                 ignored: only the parallel strategies ({}) run a fork-join workload's `join`s \
                 in parallel (family `parallel` in `dualbench list`); {}",
                request.threads,
                select::parallel_strategy_names(),
                if fork_join {
                    "no parallel strategy is selected"
                } else {
                    "no fork-join workload is selected"
                }
            )));
        }
        let pool = GuardedPool::new(request.threads)?;
        Ok(Plan {
            cases,
            strategies,
            pool,
            second_order: request.second_order,
        })
    }

    /// Check every case; `on_case(report)` after each.
    pub fn run(&self, mut on_case: impl FnMut(&CaseReport)) -> VerifyReport {
        let reports = self
            .cases
            .iter()
            .map(|(name, instance)| {
                let report = if self.second_order {
                    second_order(name, instance, &self.strategies, &self.pool)
                } else {
                    verify_case(name, instance, &self.strategies, &self.pool)
                };
                on_case(&report);
                report
            })
            .collect();
        VerifyReport::new(reports)
    }
}

/// The largest entry-wise error between two m x n matrices, with its position.
fn max_error(a: &[Vec<f64>], b: &[Vec<f64>]) -> Option<(f64, usize, usize, f64, f64)> {
    let mut worst: Option<(f64, usize, usize, f64, f64)> = None;
    for (j, (ra, rb)) in a.iter().zip(b).enumerate() {
        for (i, (&x, &y)) in ra.iter().zip(rb).enumerate() {
            let e = relative_error(x, y);
            if worst.is_none_or(|w| e > w.0) {
                worst = Some((e, j, i, x, y));
            }
        }
    }
    worst
}

/// Check every strategy in `strategies` at `instance`'s generated input, every evaluation on a
/// worker of `pool` (see the module documentation).
pub fn verify_case(
    workload: &'static str,
    instance: &Instance,
    strategies: &[StrategyKind],
    pool: &GuardedPool,
) -> CaseReport {
    verify_program(
        workload,
        instance,
        instance.program.as_ref(),
        strategies,
        pool,
    )
}

/// The seeds of the two directions of [`second_order`]: v, along which every strategy's
/// Hessian-vector product is checked, and u, the second side of the symmetry check.
pub const SECOND_ORDER_SEEDS: (u64, u64) = (1, 2);

/// Check `instance` at second order. With v drawn from [`SECOND_ORDER_SEEDS`] (uniform on
/// [-1, 1]^n, [`crate::hessian::random_direction`]), the program is replaced by its
/// directional derivative x -> J(x) v ([`strategies::hvp`]), whose Jacobian rows are the
/// Hessian-vector products H_j v: [`verify_case`]'s checks then hold every strategy's H v
/// (reverse over forward; forward over forward for `forward`) against every other's and
/// against finite differences of the first derivatives, with the same metric, tolerances,
/// reliability rules and caps (the predicted work is that of the nested program). One more
/// check, `symmetry`: with a second direction u, u^T (H v) and v^T (H u), both from the
/// first strategy whose products were checked, agree within [`AD_TOLERANCE`].
pub fn second_order(
    workload: &'static str,
    instance: &Instance,
    strategies: &[StrategyKind],
    pool: &GuardedPool,
) -> CaseReport {
    let program = instance.program.as_ref();
    let x = instance.input.as_slice();
    let n = program.input_len();
    let v = crate::hessian::random_direction(n, SECOND_ORDER_SEEDS.0);
    let u = crate::hessian::random_direction(n, SECOND_ORDER_SEEDS.1);
    let along_v = program.directional(&v);
    let mut report = verify_program(workload, instance, along_v.as_ref(), strategies, pool);
    let checked = report.strategies.iter().find_map(|r| {
        let strategy = strategies.iter().find(|s| s.name() == r.strategy)?;
        (r.status == Status::Checked && strategy.differentiates()).then_some(*strategy)
    });
    let Some(strategy) = checked else {
        return report;
    };
    let along_u = program.directional(&u);
    let w = vec![1.0; program.output_len()];
    let products = pool.run(|| {
        (
            along_v.vjp(strategy, x, &w).gradient,
            along_u.vjp(strategy, x, &w).gradient,
        )
    });
    if let Ok((Some(hv), Some(hu))) = products {
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        let (uhv, vhu) = (dot(&u, &hv), dot(&v, &hu));
        let e = relative_error(uhv, vhu);
        if e > AD_TOLERANCE {
            report.findings.push(Finding {
                kind: "symmetry",
                what: format!("{}: u^T (H v) vs v^T (H u)", strategy.name()),
                at: "sum over the outputs".to_string(),
                numbers: (JsonNumber(uhv), JsonNumber(vhu)),
                error: JsonNumber(e),
            });
            report.passed = false;
        }
    }
    report
}

/// [`verify_case`] of `program` (the instance's own, or its directional derivative) at the
/// instance's input; the instance gives the size and the input layout.
fn verify_program(
    workload: &'static str,
    instance: &Instance,
    program: &dyn strategies::DynProgram,
    strategies: &[StrategyKind],
    pool: &GuardedPool,
) -> CaseReport {
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
    let (primal_value, count) = match pool.run(|| (program.primal(x), program.op_count(x))) {
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
        if let Some(reason) = program.why_unavailable(strategy) {
            result.status = Status::Skipped;
            result.message = Some(reason.to_string());
            report.strategies.push(result);
            continue;
        }
        if work.is_some_and(|w| beyond(w, WORK_CAP)) {
            result.status = Status::Skipped;
            report.strategies.push(result);
            continue;
        }
        match pool.run(|| program.jacobian(strategy, x)) {
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
            if report.worst_pair.as_ref().is_none_or(|w| e > w.1 .0) {
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
    if !beyond(fd_work, FD_WORK_CAP) && !jacobians.is_empty() {
        match pool.run(|| finite_differences(program, x)) {
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
                            if slot.as_ref().is_none_or(|f| e > f.error.0) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::report::{details, summary_table};
    use crate::verify::test_programs::{SquareChain, TwoOutputs};
    use strategies::{Outputs, Program, Real};
    use workloads::Block;

    fn pool() -> GuardedPool {
        GuardedPool::new(1).unwrap()
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

    /// At second order the rows compared are Hessian-vector products: every strategy runs
    /// (manual cannot nest and is skipped with its reason), all agree, and the symmetry check
    /// finds nothing.
    #[test]
    fn second_order_checks_hessian_vector_products_of_every_strategy() {
        let case = instance(TwoOutputs, vec![0.7, -2.5]);
        let r = second_order("two", &case, StrategyKind::ALL, &pool());
        assert!(r.passed, "{r:?}");
        let checked: Vec<&str> = r
            .strategies
            .iter()
            .filter(|s| s.status == Status::Checked)
            .map(|s| s.strategy)
            .collect();
        for name in ["tape", "dualrev", "naive", "forward", "sparse"] {
            assert!(checked.contains(&name), "{name} not checked: {checked:?}");
        }
        let manual = r
            .strategies
            .iter()
            .find(|s| s.strategy == "manual")
            .unwrap();
        assert_eq!(manual.status, Status::Skipped);
        assert!(r.findings.iter().all(|f| f.kind != "symmetry"));
        assert_eq!(r.fd.status, Status::Checked);
        assert!(r.fd.reliable > 0, "{r:?}");
    }

    #[test]
    fn primal_alone_passes_with_nothing_to_compare() {
        let r = verify_case(
            "two",
            &instance(TwoOutputs, vec![0.7, -2.5]),
            &[StrategyKind::Primal],
            &pool(),
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
            fn eval<R: Real>(&self, _: &[R]) -> Outputs<R> {
                panic!("domain error")
            }
        }
        let r = verify_case(
            "p",
            &instance(Panics, vec![1.0]),
            &[StrategyKind::Primal],
            &pool(),
        );
        assert!(!r.passed);
        assert_eq!(r.program_error.as_deref(), Some("domain error"));
        assert!(details(&[r])[0].contains("domain error"));
    }

    #[test]
    fn manual_is_skipped_with_its_reason_where_there_is_no_hand_written_adjoint() {
        let r = verify_case(
            "two",
            &instance(TwoOutputs, vec![0.7, -2.5]),
            &[StrategyKind::Manual, StrategyKind::Tape],
            &pool(),
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.strategies[0].status, Status::Skipped);
        assert_eq!(
            r.strategies[0].message.as_deref(),
            Some("no hand-written adjoint")
        );
        assert_eq!(r.strategies[1].status, Status::Checked);
    }

    #[test]
    fn manual_is_checked_against_tape_and_finite_differences_where_it_runs() {
        let instance = workloads::instantiate(
            workloads::find("ode").unwrap(),
            Some(4),
            &Default::default(),
        )
        .unwrap();
        let r = verify_case(
            "ode",
            &instance,
            &[StrategyKind::Manual, StrategyKind::Tape],
            &pool(),
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.strategies[0].status, Status::Checked);
        assert!(r.strategies[0]
            .ad_error
            .is_some_and(|e| e.0 <= AD_TOLERANCE));
        assert!(r.strategies[0]
            .fd_error
            .is_some_and(|e| e.0 <= FD_TOLERANCE));
    }

    #[test]
    fn naive_is_skipped_where_its_paths_exceed_the_cap() {
        // 2^(k+1) - 1 paths at k = 40: far beyond the cap, so naive must not even start.
        let r = verify_case(
            "square",
            &instance(SquareChain(40), vec![1.0]),
            &[StrategyKind::Naive, StrategyKind::Primal],
            &pool(),
        );
        assert_eq!(r.strategies[0].status, Status::Skipped);
        assert!(r.passed);
        let table = summary_table(&[r]).to_string();
        assert!(table.contains("naive") && table.contains("ok"), "{table}");
    }
}
