//! Central finite differences with Richardson extrapolation, and whether each estimate can be
//! trusted (see the [`crate::verify`] documentation, "Finite differences").

use strategies::DynProgram;

use crate::verify::metric::{relative_error, FD_TOLERANCE};

/// How many units in the last place of the output the rounding of one primal evaluation is
/// assumed to contribute to a finite difference (see the module documentation).
pub const FD_ROUNDING_ULPS: f64 = 4.0;

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
                            .is_none_or(|order| order.is_gt()),
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
            // A non-finite estimate (an infinite or NaN value at a probe) is never trusted:
            // NaN would pass the convergence test, as relative_error(NaN, NaN) = 0.
            let finite = d1.is_finite() && d2.is_finite() && estimate[j][i].is_finite();
            reliable[j][i] = finite && converged && !kink && !noisy1 && !noisy2;
        }
    }
    FdJacobian { estimate, reliable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::test_programs::{SquareChain, TwoOutputs};
    use strategies::{outputs, Outputs, Program, Real};

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

    /// sqrt(x0 - 1) at x0 = 1: the probes below 1 are NaN.
    struct DomainEdge;
    impl Program for DomainEdge {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![(x[0].clone() - 1.0).sqrt()]
        }
    }

    #[test]
    fn a_non_finite_estimate_is_never_reliable() {
        let fd = finite_differences(&DomainEdge, &[1.0]);
        assert!(fd.estimate[0][0].is_nan());
        assert!(!fd.reliable[0][0]);
    }
}
