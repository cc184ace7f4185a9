//! `peer-autodiff`: the [`autodiff`](https://crates.io/crates/autodiff) crate, version 0.7
//! (`default-features = false`: its `cwise` component-wise extensions are not needed), as a
//! forward-mode strategy.
//!
//! # The crate's active scalar
//!
//! autodiff's first-order dual number is `F1 = FT<f64> = F<f64, f64>`: a plain `Copy` pair of
//! a value `x` and one derivative `dx`, with every rule implemented by the crate's operators
//! and its `num_traits::Float` impl (re-exported as `autodiff::Float`). There is no tape and
//! no global or thread-local state: the derivative travels with the value. [`AutodiffReal`]
//! wraps an `F1`, and each [`PeerScalar`] method calls the crate's own operation: `F1 + F1`,
//! `F1 * f64` (its mixed operation with an `f64` constant, which scales `dx` by the constant),
//! `Float::sin`, `Float::powi`, `Float::powf`, `Float::abs`, `Float::atan2`, ... (every
//! elementary function but `erf`, which autodiff lacks: an `F1` formed with its public `F::new`
//! with dualbench's derivative).
//!
//! # How the driver uses it
//!
//! [`PeerAutodiff`] follows the crate's own `autodiff::grad`: it lifts every input with
//! `F::cst(x_i)` (a constant, `dx = 0`) once, and for pass i makes input i a variable with
//! `F::var(x_i)` (`dx = 1`), evaluates the program, reads every output's `deriv()` (column i
//! of the Jacobian) and turns input i back into a constant with `F::cst`. A vector-Jacobian
//! product forms `sum_j w_j * d out_j / d x_i` from the columns with dualbench's rule
//! [`partials::times`] (a zero cotangent times an infinite derivative contributes 0), exactly
//! as [`crate::forward`] does; [`Strategy::jacobian_into`] fills all m rows from the same n
//! passes. Nothing is cleared between gradients because nothing is kept.
//!
//! # Cost class
//!
//! Dense: n passes of O(T) each, O(n T) per gradient (one pass when n = 0, for the value).
//! Per operation the work is one primal operation plus one or two multiplications of the
//! derivative, the same as [`crate::forward`]'s `Dual`.
//!
//! # Counters
//!
//! - `forward_passes`: program evaluations, n (one when n = 0).
//!
//! # Limitations (found by testing against dualbench's closed forms)
//!
//! - **Stack depth, threads, nesting.** Forward mode records nothing, so a 10^6-operation chain
//!   runs on the default stack (tested in `strategies/tests/deep_chain.rs`); an `F1` is plain data (`Send + Sync`), there is
//!   no shared state, and a gradient inside a program of another strategy cannot interfere.
//! - **Division** uses `dx = (a' b - b' a) / (b * b)`: the denominator `b * b` underflows to
//!   0 for |b| < 1e-154, so `a / b` at a = b = 1e-200 gives derivatives (inf, -inf) where
//!   dualbench's `(1 / b, -q / b)` gives (1e200, -1e200).
//! - **`abs` at 0** has derivative +1 (the crate takes `x >= 0` as the positive branch);
//!   dualbench takes 0.
//! - **`powi` with exponent 0** computes `dx * (x^(-1) * 0)`, which is NaN at x = 0 in every
//!   pass, even for a constant (`0 * (inf * 0)`), and the NaN reaches every output that
//!   depends on it; dualbench gives 0. The shared DAG property test meets it whenever a node
//!   computes an exact 0 (`x - x`, `relu` below 0) and a later `powi(_, 0)` uses it.
//! - **`powi(i32::MIN)`** computes `n - 1` in `i32`: it overflows, which panics in a build with
//!   overflow checks (debug and test builds, so dualbench's `powi(i32::MIN)` test panics); a
//!   release build wraps it to `i32::MAX`: the value is right, the derivative only at x = +-1.
//! - **0 * inf = NaN.** The crate multiplies a derivative by a local derivative with plain
//!   `f64` arithmetic, so an infinite local derivative in a pass whose direction does not move
//!   through it gives NaN where dualbench's rule gives 0 (`powi(-2)` or `ln` at x = 0 in
//!   another input's pass). Its `sqrt` returns 0 when `dx = 0` and its `powf` skips the
//!   exponent's term when the exponent's `dx = 0`, so the cases dualbench tests
//!   (`y * sqrt(z)` at z = 0, `x.powf(constant(2))` at x < 0) agree.
//! - Elsewhere its rules are dualbench's up to rounding.
//!
//! # Licence
//!
//! autodiff is MIT OR Apache-2.0 (its forward-mode module was forked from `rust-ad`, whose MIT
//! notice it reproduces).

use autodiff::{Float, F, F1};

use crate::peers::{composed, PeerScalar};
use crate::program::{check_inputs, check_lengths, Derivatives, Outputs, Probe, Program, Strategy};
use crate::real::{partials, Real, Unary};

/// autodiff's first-order dual number `F1` (value and one derivative) as a [`Real`].
#[derive(Clone, Copy, Debug)]
pub struct AutodiffReal(pub F1);

impl AutodiffReal {
    /// The derivative carried by this value: d value / d (the input seeded in this pass).
    #[inline]
    pub fn deriv(&self) -> f64 {
        self.0.deriv()
    }
}

impl PeerScalar for AutodiffReal {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        Self(F::cst(value))
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.0.value()
    }
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        Self(self.0 + rhs.0)
    }
    #[inline(always)]
    fn sub(&self, rhs: &Self) -> Self {
        Self(self.0 - rhs.0)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        Self(self.0 * rhs.0)
    }
    #[inline(always)]
    fn div(&self, rhs: &Self) -> Self {
        Self(self.0 / rhs.0)
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        Self(-self.0)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        Self(self.0 + c)
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        Self(self.0 - c)
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        Self(self.0 * c)
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        Self(self.0 / c)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        Self(Float::sin(self.0))
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        Self(Float::cos(self.0))
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        Self(Float::tan(self.0))
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        Self(Float::exp(self.0))
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        Self(Float::ln(self.0))
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        Self(Float::sqrt(self.0))
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        Self(Float::tanh(self.0))
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        Self(Float::powi(self.0, n))
    }
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        Self(Float::powf(self.0, p.0))
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        Self(Float::abs(self.0))
    }
    /// The crate's own `Float` function; `erf`, which autodiff lacks, is an `F1` formed with
    /// the crate's public constructor `F::new(f(x), dx * f'(x))`, as its own functions form
    /// theirs, with dualbench's derivative. (`is_structural_zero` keeps its default: an `F1`
    /// with `dx = 0` may be an active value in a direction that does not move it, which the
    /// crate does not tell from a constant.)
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        let x = self.0;
        Self(match f {
            Unary::Asin => Float::asin(x),
            Unary::Acos => Float::acos(x),
            Unary::Atan => Float::atan(x),
            Unary::Sinh => Float::sinh(x),
            Unary::Cosh => Float::cosh(x),
            Unary::Asinh => Float::asinh(x),
            Unary::Acosh => Float::acosh(x),
            Unary::Atanh => Float::atanh(x),
            Unary::Ln1p => Float::ln_1p(x),
            Unary::ExpM1 => Float::exp_m1(x),
            Unary::Log2 => Float::log2(x),
            Unary::Log10 => Float::log10(x),
            Unary::Exp2 => Float::exp2(x),
            Unary::Cbrt => Float::cbrt(x),
            Unary::Recip => Float::recip(x),
            Unary::Erf => {
                let y = f.value(x.x);
                F::new(y, x.dx * partials::unary(f, &x.x, &y))
            }
            f => return composed(self, f),
        })
    }
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        Self(Float::atan2(self.0, x.0))
    }
    #[inline(always)]
    fn hypot(&self, y: &Self) -> Self {
        Self(Float::hypot(self.0, y.0))
    }
}

crate::peers::impl_real_for_peer!(AutodiffReal);

/// autodiff 0.7 forward mode: one `F1` pass per input.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerAutodiff;

/// Runs the passes: pass i makes input i a variable (`F::var`). Writes the output values of the
/// first pass into `value` and calls `column(i, outputs)` after pass i; when n = 0 one pass
/// still runs for the value (reporting no column). Returns the number of passes.
#[inline]
fn run_passes<P, C>(program: &P, x: &[f64], value: &mut Vec<f64>, mut column: C) -> u64
where
    P: Program,
    C: FnMut(usize, &[AutodiffReal]),
{
    value.clear();
    let passes = x.len().max(1);
    let mut inputs: Vec<AutodiffReal> = x.iter().map(|&v| AutodiffReal(F::cst(v))).collect();
    for i in 0..passes {
        if let Some(seed) = inputs.get_mut(i) {
            seed.0 = F::var(x[i]);
        }
        let outputs: Outputs<AutodiffReal> = program.eval(&inputs);
        if i < x.len() {
            column(i, &outputs);
            inputs[i].0 = F::cst(x[i]);
        }
        if i == 0 {
            value.extend(outputs.iter().map(Real::value));
        }
    }
    passes as u64
}

impl Strategy for PeerAutodiff {
    const NAME: &'static str = "peer-autodiff";
    const DESCRIPTION: &'static str =
        "autodiff 0.7: forward-mode dual numbers F1 (value, derivative), one pass per input: O(n T)";
    const COUNTERS: &'static [&'static str] = &["forward_passes"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        probe.forward_starts();
        let start = out.derivative.len();
        out.derivative.resize(start + x.len(), 0.0);
        let (value, gradient) = (&mut out.value, &mut out.derivative[start..]);
        let passes = run_passes(program, x, value, |i, outputs| {
            gradient[i] = outputs
                .iter()
                .zip(cotangent)
                .map(|(o, &w)| partials::times(o.deriv(), w))
                .sum();
        });
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", passes)]);
        }
    }

    /// All m rows from the same n passes: pass i fills column i.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let (n, m) = (x.len(), program.output_len());
        check_inputs(program.input_len(), x);
        probe.forward_starts();
        out.derivative.clear();
        out.derivative.resize(m * n, 0.0);
        let (value, rows) = (&mut out.value, &mut out.derivative);
        let passes = run_passes(program, x, value, |i, outputs| {
            for (j, o) in outputs.iter().enumerate() {
                rows[j * n + i] = o.deriv();
            }
        });
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", passes)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::outputs;

    /// f(x) = (x0 * x1 + sin x0, x0 / x1 - 2 x1): two outputs with closed-form Jacobian rows.
    struct TwoOutputs;
    impl Program for TwoOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![
                x[0].clone() * x[1].clone() + x[0].sin(),
                x[0].clone() / x[1].clone() - x[1].clone() * 2.0
            ]
        }
    }

    /// The Jacobian of [`TwoOutputs`] at (a, b).
    fn jacobian(a: f64, b: f64) -> [[f64; 2]; 2] {
        [[b + a.cos(), a], [1.0 / b, -a / (b * b) - 2.0]]
    }

    #[test]
    fn gradient_matches_the_closed_form_in_one_pass_per_input() {
        let (a, b) = (0.7, -1.3);
        let r = PeerAutodiff::vjp(&TwoOutputs, &[a, b], &[1.0, 0.0]);
        let j = jacobian(a, b);
        assert_eq!(r.value, vec![a * b + a.sin(), a / b - 2.0 * b]);
        let g = r.gradient.unwrap();
        assert!((g[0] - j[0][0]).abs() < 1e-15 && (g[1] - j[0][1]).abs() < 1e-15);
        assert_eq!(r.counters.get("forward_passes"), Some(2));
    }

    #[test]
    fn jacobian_fills_every_row_from_the_same_passes() {
        let (a, b) = (0.4, 2.5);
        let r = PeerAutodiff::jacobian(&TwoOutputs, &[a, b]);
        let j = jacobian(a, b);
        let rows = r.rows.unwrap();
        for (row, want) in rows.iter().zip(j) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-14, "{got} vs {want}");
            }
        }
        assert_eq!(r.counters.get("forward_passes"), Some(2));
    }

    #[test]
    fn two_gradients_in_a_row_agree() {
        let x = [0.3, 1.9];
        let first = PeerAutodiff::vjp(&TwoOutputs, &x, &[2.0, -1.0]);
        let second = PeerAutodiff::vjp(&TwoOutputs, &x, &[2.0, -1.0]);
        assert_eq!(first.value, second.value);
        assert_eq!(first.gradient, second.gradient);
    }

    /// (x + 1.5) * 3 - 0.5, divided by 4, plus constant(2) * x: every mixed operation.
    struct MixedConstants;
    impl Program for MixedConstants {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let mut y = (x[0].clone() + 1.5) * 3.0 - 0.5;
            y /= 4.0;
            outputs![y + R::constant(2.0) * x[0].clone()]
        }
    }

    #[test]
    fn mixed_constant_arithmetic_scales_the_derivative_only_where_it_should() {
        let r = PeerAutodiff::vjp(&MixedConstants, &[0.6], &[1.0]);
        assert_eq!(r.value, vec![((0.6 + 1.5) * 3.0 - 0.5) / 4.0 + 2.0 * 0.6]);
        assert_eq!(r.gradient, Some(vec![3.0 / 4.0 + 2.0]));
    }
}
