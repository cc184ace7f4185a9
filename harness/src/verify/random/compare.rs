//! The comparison of every strategy with every other, with the `f64` program, with the path
//! bounds and with finite differences.

use super::*;

/// A comparison that failed on one program, or a panic.
#[derive(Clone, Debug, PartialEq)]
pub enum Disagreement {
    /// Evaluating the program itself (on `f64`, counting its operations, its path bounds or
    /// finite differences) panicked.
    ProgramPanicked {
        /// The panic message.
        message: String,
    },
    /// A strategy panicked or returned a result of the wrong shape.
    StrategyFailed {
        /// The strategy.
        strategy: StrategyKind,
        /// What went wrong.
        message: String,
    },
    /// A strategy's value differs from the `f64` program's.
    Value {
        /// The strategy.
        strategy: StrategyKind,
        /// The output.
        output: usize,
        /// The strategy's value and the `f64` value.
        numbers: (f64, f64),
        /// Their error.
        error: f64,
    },
    /// Two strategies' derivatives differ beyond the tolerance and the rounding allowance.
    Derivatives {
        /// The two strategies, in selection order.
        strategies: (StrategyKind, StrategyKind),
        /// The output.
        output: usize,
        /// The input.
        input: usize,
        /// The two derivatives.
        numbers: (f64, f64),
        /// Their error.
        error: f64,
        /// The largest error allowed there.
        allowed: f64,
    },
    /// A derivative is larger than its path bound B allows, or not finite where B is.
    OverBound {
        /// The strategy.
        strategy: StrategyKind,
        /// The output.
        output: usize,
        /// The input.
        input: usize,
        /// The derivative and B.
        numbers: (f64, f64),
    },
    /// A strategy disagrees with a trusted finite-difference estimate.
    FiniteDifferences {
        /// The strategy.
        strategy: StrategyKind,
        /// The output.
        output: usize,
        /// The input.
        input: usize,
        /// The derivative and the estimate.
        numbers: (f64, f64),
        /// Their error.
        error: f64,
        /// The largest error allowed there.
        allowed: f64,
    },
}

impl Disagreement {
    /// Whether `other` is the same failure, possibly elsewhere in the Jacobian: the same
    /// comparison of the same strategy (or pair). Shrinking keeps a program only while this
    /// holds.
    pub fn same_kind(&self, other: &Disagreement) -> bool {
        use Disagreement as D;
        match (self, other) {
            (D::ProgramPanicked { .. }, D::ProgramPanicked { .. }) => true,
            (D::StrategyFailed { strategy: a, .. }, D::StrategyFailed { strategy: b, .. })
            | (D::Value { strategy: a, .. }, D::Value { strategy: b, .. })
            | (D::OverBound { strategy: a, .. }, D::OverBound { strategy: b, .. })
            | (
                D::FiniteDifferences { strategy: a, .. },
                D::FiniteDifferences { strategy: b, .. },
            ) => a == b,
            (D::Derivatives { strategies: a, .. }, D::Derivatives { strategies: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |output: &usize, input: &usize| format!("d y{output} / d x{input}");
        match self {
            Disagreement::ProgramPanicked { message } => {
                write!(f, "the program panicked: {message}")
            }
            Disagreement::StrategyFailed { strategy, message } => {
                write!(f, "{} {message}", strategy.name())
            }
            Disagreement::Value {
                strategy,
                output,
                numbers: (u, v),
                error,
            } => write!(
                f,
                "{} value y{output}: {u:e} vs f64 {v:e} (error {error:.1e} > {TOLERANCE:e})",
                strategy.name()
            ),
            Disagreement::Derivatives {
                strategies: (a, b),
                output,
                input,
                numbers: (u, v),
                error,
                allowed,
            } => write!(
                f,
                "{} vs {} at {}: {u:e} vs {v:e} (error {error:.1e} > allowed {allowed:.1e})",
                a.name(),
                b.name(),
                at(output, input)
            ),
            Disagreement::OverBound {
                strategy,
                output,
                input,
                numbers: (u, bound),
            } => write!(
                f,
                "{} at {}: {u:e} exceeds the sum over paths of |products of partials|, {bound:e}",
                strategy.name(),
                at(output, input)
            ),
            Disagreement::FiniteDifferences {
                strategy,
                output,
                input,
                numbers: (u, v),
                error,
                allowed,
            } => write!(
                f,
                "{} vs finite differences at {}: {u:e} vs {v:e} (error {error:.1e} > allowed {allowed:.1e})",
                strategy.name(),
                at(output, input)
            ),
        }
    }
}

/// What [`check`] found on one program.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every comparison passed.
    Agrees {
        /// Strategies whose predicted work exceeded [`WORK_CAP`].
        skipped: Vec<StrategyKind>,
        /// Jacobian entries, m n.
        entries: usize,
        /// Entries where finite differences were trusted and compared.
        fd_compared: usize,
    },
    /// The first comparison that failed.
    Disagrees(Disagreement),
}

/// What every strategy is compared against: the `f64` program, the interpreter's [`Tracked`]
/// outputs, the operation count and finite differences with the entries that can be trusted.
pub(super) struct Reference {
    pub(super) inputs: usize,
    pub(super) values: Vec<f64>,
    pub(super) tracked: Outputs<Tracked>,
    pub(super) count: OpCount,
    pub(super) fd: FdJacobian,
    pub(super) fd_trusted: Vec<Vec<bool>>,
}

impl Reference {
    pub(super) fn of(program: &RandomProgram) -> Reference {
        let x = program.point();
        let tracked = program.tracked(x);
        let fd = finite_differences(program, x);
        let fd_trusted = trusted_finite_differences(program, &tracked, &fd);
        Reference {
            inputs: x.len(),
            values: program.eval(x).to_vec(),
            tracked,
            count: count_ops(program, x),
            fd,
            fd_trusted,
        }
    }

    /// B for output j and input i.
    pub(super) fn bound(&self, j: usize, i: usize) -> f64 {
        self.tracked[j].reach[i]
    }

    /// How far an honest strategy's entry (j, i) may be from another's, or from the exact
    /// derivative, because of rounding, in absolute terms (zero where B is not finite: such
    /// programs are not testable).
    pub(super) fn rounding_allowance(&self, j: usize, i: usize) -> f64 {
        let bound = self.bound(j, i);
        if bound.is_finite() {
            ROUNDING_ULPS_PER_OPERATION * (self.count.ops as f64 + 1.0) * f64::EPSILON * bound
        } else {
            0.0
        }
    }

    /// The largest [`relative_error`] accepted between `u` and `v` at (j, i) when `tolerance`
    /// is the comparison's own: the tolerance plus the rounding allowance in the metric's
    /// scale.
    pub(super) fn allowed_error(&self, tolerance: f64, j: usize, i: usize, u: f64, v: f64) -> f64 {
        tolerance + self.rounding_allowance(j, i) / (u.abs() + v.abs()).max(1.0)
    }
}

/// Which finite-difference estimates can be trusted: those `fd` flags reliable that are
/// finite, where every operation makes the same choice across the stencil, whose step is large
/// beside the primal's rounding noise, and where f' (the interpreter's tangent) is smooth at
/// the probes (see the module documentation).
pub(super) fn trusted_finite_differences(
    program: &RandomProgram,
    at_point: &[Tracked],
    fd: &FdJacobian,
) -> Vec<Vec<bool>> {
    let x = program.point();
    let branches = program.branches(x);
    let ancestors = program.ancestors();
    let mut trusted = fd.reliable.clone();
    for (i, &xi) in x.iter().enumerate() {
        let h = f64::EPSILON.cbrt() * xi.abs().max(1.0);
        let moved = |s: f64| {
            let mut point = x.to_vec();
            point[i] = xi + s;
            (program.branches(&point), program.tracked(&point))
        };
        let probes: Vec<_> = PROBE_FRACTIONS
            .iter()
            .map(|fraction| (moved(fraction * h), moved(-fraction * h)))
            .collect();
        for (j, row) in trusted.iter_mut().enumerate() {
            let same_branches = probes.iter().all(|(plus, minus)| {
                same_choices(&plus.0, &branches, &ancestors[j])
                    && same_choices(&minus.0, &branches, &ancestors[j])
            });
            let slope = at_point[j].tangent[i];
            let scale = FD_TOLERANCE / 10.0 * slope.abs().max(1.0);
            let quiet = FD_NOISE_FACTOR * at_point[j].noise / h <= scale;
            let smooth = probes.iter().all(|(plus, minus)| {
                (plus.1[j].tangent[i] + minus.1[j].tangent[i] - 2.0 * slope).abs() <= scale
            });
            row[i] &= same_branches && fd.estimate[j][i].is_finite() && quiet && smooth;
        }
    }
    trusted
}

/// Whether the operations marked in `needed` make the same choices in `a` as in `b`.
pub(super) fn same_choices(a: &[u8], b: &[u8], needed: &[bool]) -> bool {
    a.iter()
        .zip(b)
        .zip(needed)
        .all(|((a, b), &needed)| !needed || a == b)
}

/// Check `program` at its point under `strategies` (see the module documentation, "The
/// comparison"). Meaningful on testable programs; on others the rounding allowance is zero.
pub fn check(program: &RandomProgram, strategies: &[StrategyKind]) -> Verdict {
    let reference = match guarded(|| Reference::of(program)) {
        Ok(reference) => reference,
        Err(message) => return Verdict::Disagrees(Disagreement::ProgramPanicked { message }),
    };
    let (n, m) = (program.input_len(), program.output_len());
    let mut skipped = Vec::new();
    let mut jacobians = Vec::new();
    // A random program has no hand-written adjoint: `manual` has nothing to run.
    for &strategy in strategies
        .iter()
        .filter(|s| s.why_unavailable(program).is_none())
    {
        if caps::predicted_work(strategy, &reference.count, n, m)
            .is_some_and(|w| caps::beyond(w, WORK_CAP))
        {
            skipped.push(strategy);
            continue;
        }
        let evaluated = evaluate(program, strategy).and_then(|jacobian| {
            compare_values(strategy, &jacobian.value, &reference).map(|()| jacobian.rows)
        });
        match evaluated {
            Err(disagreement) => return Verdict::Disagrees(disagreement),
            Ok(Some(rows)) => jacobians.push((strategy, rows)),
            Ok(None) => {}
        }
    }
    let found = compare_with_bounds(&jacobians, &reference)
        .or_else(|| compare_pairs(&jacobians, &reference))
        .or_else(|| compare_with_finite_differences(&jacobians, &reference));
    match found {
        Some(disagreement) => Verdict::Disagrees(disagreement),
        None => Verdict::Agrees {
            skipped,
            entries: m * n,
            fd_compared: if jacobians.is_empty() {
                0
            } else {
                positions(&reference)
                    .filter(|&(j, i)| reference.fd_trusted[j][i])
                    .count()
            },
        },
    }
}

/// The Jacobian of `strategy` at the point, checked for its shape, or why it failed.
pub(super) fn evaluate(
    program: &RandomProgram,
    strategy: StrategyKind,
) -> std::result::Result<Jacobian, Disagreement> {
    let (n, m) = (program.input_len(), program.output_len());
    let failed = |message: String| Disagreement::StrategyFailed { strategy, message };
    let jacobian = guarded(|| strategy.jacobian(program, program.point()))
        .map_err(|message| failed(format!("panicked: {message}")))?;
    if jacobian.value.len() != m {
        return Err(failed(format!(
            "returned {} values, expected {m}",
            jacobian.value.len()
        )));
    }
    match &jacobian.rows {
        Some(rows) if rows.len() != m || rows.iter().any(|r| r.len() != n) => Err(failed(format!(
            "returned a Jacobian of the wrong shape, expected {m} rows of {n}"
        ))),
        None if strategy.differentiates() => Err(failed("returned no derivative".to_string())),
        _ => Ok(jacobian),
    }
}

pub(super) fn compare_values(
    strategy: StrategyKind,
    values: &[f64],
    reference: &Reference,
) -> std::result::Result<(), Disagreement> {
    for (output, (&u, &v)) in values.iter().zip(&reference.values).enumerate() {
        let error = relative_error(u, v);
        if error > TOLERANCE {
            return Err(Disagreement::Value {
                strategy,
                output,
                numbers: (u, v),
                error,
            });
        }
    }
    Ok(())
}

/// Every (output, input) position of the Jacobian.
pub(super) fn positions(reference: &Reference) -> impl Iterator<Item = (usize, usize)> {
    let (m, n) = (reference.values.len(), reference.inputs);
    (0..m).flat_map(move |j| (0..n).map(move |i| (j, i)))
}

pub(super) fn compare_with_bounds(
    jacobians: &[(StrategyKind, Vec<Vec<f64>>)],
    reference: &Reference,
) -> Option<Disagreement> {
    for (strategy, rows) in jacobians {
        for (j, i) in positions(reference) {
            let (u, bound) = (rows[j][i], reference.bound(j, i));
            let excess = (u.abs() - bound) / (u.abs() + bound).max(1.0);
            let within = excess <= reference.allowed_error(TOLERANCE, j, i, u, bound);
            if bound.is_finite() && !within {
                return Some(Disagreement::OverBound {
                    strategy: *strategy,
                    output: j,
                    input: i,
                    numbers: (u, bound),
                });
            }
        }
    }
    None
}

pub(super) fn compare_pairs(
    jacobians: &[(StrategyKind, Vec<Vec<f64>>)],
    reference: &Reference,
) -> Option<Disagreement> {
    for (k, (first, a)) in jacobians.iter().enumerate() {
        for (second, b) in &jacobians[k + 1..] {
            for (j, i) in positions(reference) {
                let (u, v) = (a[j][i], b[j][i]);
                let error = relative_error(u, v);
                let allowed = reference.allowed_error(TOLERANCE, j, i, u, v);
                if error > allowed {
                    return Some(Disagreement::Derivatives {
                        strategies: (*first, *second),
                        output: j,
                        input: i,
                        numbers: (u, v),
                        error,
                        allowed,
                    });
                }
            }
        }
    }
    None
}

pub(super) fn compare_with_finite_differences(
    jacobians: &[(StrategyKind, Vec<Vec<f64>>)],
    reference: &Reference,
) -> Option<Disagreement> {
    for (strategy, rows) in jacobians {
        for (j, i) in positions(reference).filter(|&(j, i)| reference.fd_trusted[j][i]) {
            let (u, v) = (rows[j][i], reference.fd.estimate[j][i]);
            let error = relative_error(u, v);
            let allowed = reference.allowed_error(FD_TOLERANCE, j, i, u, v);
            if error > allowed {
                return Some(Disagreement::FiniteDifferences {
                    strategy: *strategy,
                    output: j,
                    input: i,
                    numbers: (u, v),
                    error,
                    allowed,
                });
            }
        }
    }
    None
}
