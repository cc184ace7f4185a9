//! `forward`: forward-mode AD with dual numbers, one pass per input direction.
//!
//! # Representation
//!
//! A scalar is a [`Dual`]: its primal value and one tangent, the derivative of that value in
//! the direction being pushed through the program (`docs/ladder.md`, forward mode).
//! Every primitive maps `(v, t)` to `(op(v), op'(v) * t)`; a binary primitive combines the two
//! tangents with its two partial derivatives. Constants have tangent zero.
//!
//! # Algorithm and cost
//!
//! Pass i seeds input i with tangent 1 and every other input with 0, so that after the pass
//! output j carries d out_j / d x_i: one column of the Jacobian. A vector-Jacobian product
//! w^T J therefore runs all n passes and forms `gradient_i = sum_j w_j * d out_j / d x_i`;
//! [`Strategy::jacobian`] is overridden to build every row from the same n passes instead of
//! running n passes per row. Each pass costs O(T), so a gradient costs O(n T): Theta(n^2) on a
//! dot product of length n (`docs/ladder.md`, the signature table). There is no reverse phase;
//! [`Phases::reverse`](crate::Phases::reverse) is zero.
//!
//! # Counters
//!
//! - `forward_passes`: program evaluations, n (one when n = 0: the pass that computes the
//!   value).
//!
//! # Fork-join programs
//!
//! [`Dual`] is plain data, so it implements [`ParReal`]; `join` runs the two branches one after
//! the other on the calling thread (the passes are sequential anyway), which makes [`Forward`]
//! a [`ParStrategy`].
//!
//! # The shared operator table
//!
//! `forward`, `forward-vec`, `tape` and `naive` all describe a primitive by its local partial
//! derivatives at the primal point. This module defines the crate-internal macro
//! `impl_real_from_partials!` that derives every [`Real`] operation of such a scalar from three
//! inherent functions — `inactive(value)`, `unary(&self, value, d)` and
//! `binary(&self, &other, value, dx, dy)` — and its `value: f64` field, taking every partial
//! from [`crate::real::partials`], so these strategies differentiate exactly the same functions.
//! Mixed operations with an `f64` on the right are unary (one edge), and `Sum` / `Product` fold
//! from an inactive 0 / 1 (as [`crate::op_count::Counted`] does, so operation counts agree).
//!
//! # Example
//!
//! ```
//! use strategies::{forward::Forward, outputs, Outputs, Program, Real, Strategy};
//!
//! /// f(x, y) = x * y + sin(x).
//! struct F;
//! impl Program for F {
//!     fn input_len(&self) -> usize { 2 }
//!     fn output_len(&self) -> usize { 1 }
//!     fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
//!         outputs![x[0].clone() * x[1].clone() + x[0].sin()]
//!     }
//! }
//!
//! let r = Forward::vjp(&F, &[2.0, 3.0], &[1.0]);
//! let g = r.gradient.unwrap();
//! assert!((g[0] - (3.0 + 2.0f64.cos())).abs() < 1e-15);
//! assert_eq!(g[1], 2.0);
//! assert_eq!(r.counters.get("forward_passes"), Some(2));
//! ```

use crate::program::{
    check_inputs, check_lengths, Derivatives, Outputs, ParProgram, ParStrategy, Probe, Program,
    Strategy,
};
use crate::real::{partials, ParReal, Real};

/// Implements every [`Real`] operation (and the operator traits, comparisons on primal values,
/// `Sum` and `Product`) for a scalar type that provides `inactive`, `unary`, `binary` and a
/// `value: f64` field; see the module documentation.
macro_rules! impl_real_from_partials {
    ($T:ident) => {
        impl $T {
            /// `self + rhs` on borrowed operands (shared by `Add` and `AddAssign`).
            #[inline(always)]
            fn add_ref(&self, rhs: &Self) -> Self {
                let (dx, dy) = $crate::real::partials::add();
                self.binary(rhs, self.value + rhs.value, dx, dy)
            }
            /// `self - rhs`.
            #[inline(always)]
            fn sub_ref(&self, rhs: &Self) -> Self {
                let (dx, dy) = $crate::real::partials::sub();
                self.binary(rhs, self.value - rhs.value, dx, dy)
            }
            /// `self * rhs`.
            #[inline(always)]
            fn mul_ref(&self, rhs: &Self) -> Self {
                let (dx, dy) = $crate::real::partials::mul(self.value, rhs.value);
                self.binary(rhs, self.value * rhs.value, dx, dy)
            }
            /// `self / rhs`.
            #[inline(always)]
            fn div_ref(&self, rhs: &Self) -> Self {
                let q = self.value / rhs.value;
                let (dx, dy) = $crate::real::partials::div(rhs.value, q);
                self.binary(rhs, q, dx, dy)
            }
            /// `self + c`, a unary node.
            #[inline(always)]
            fn add_f64(&self, c: f64) -> Self {
                self.unary(self.value + c, $crate::real::partials::add_constant())
            }
            /// `self - c`, a unary node.
            #[inline(always)]
            fn sub_f64(&self, c: f64) -> Self {
                self.unary(self.value - c, $crate::real::partials::add_constant())
            }
            /// `self * c`, a unary node.
            #[inline(always)]
            fn mul_f64(&self, c: f64) -> Self {
                self.unary(self.value * c, $crate::real::partials::mul_constant(c))
            }
            /// `self / c`, a unary node.
            #[inline(always)]
            fn div_f64(&self, c: f64) -> Self {
                self.unary(self.value / c, $crate::real::partials::div_constant(c))
            }
        }

        $crate::forward::impl_real_from_partials!(@op $T, Add, add, AddAssign, add_assign, add_ref, add_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Sub, sub, SubAssign, sub_assign, sub_ref, sub_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Mul, mul, MulAssign, mul_assign, mul_ref, mul_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Div, div, DivAssign, div_assign, div_ref, div_f64);

        impl ::std::ops::Neg for $T {
            type Output = $T;
            #[inline(always)]
            fn neg(self) -> $T {
                self.unary(-self.value, $crate::real::partials::neg())
            }
        }

        impl ::std::cmp::PartialEq for $T {
            fn eq(&self, other: &Self) -> bool {
                self.value == other.value
            }
        }

        impl ::std::cmp::PartialOrd for $T {
            fn partial_cmp(&self, other: &Self) -> Option<::std::cmp::Ordering> {
                self.value.partial_cmp(&other.value)
            }
        }

        impl ::std::iter::Sum for $T {
            fn sum<I: Iterator<Item = $T>>(iter: I) -> $T {
                iter.fold(<$T>::inactive(0.0), |acc, x| acc.add_ref(&x))
            }
        }

        impl ::std::iter::Product for $T {
            fn product<I: Iterator<Item = $T>>(iter: I) -> $T {
                iter.fold(<$T>::inactive(1.0), |acc, x| acc.mul_ref(&x))
            }
        }

        impl $crate::real::Real for $T {
            #[inline(always)]
            fn constant(value: f64) -> Self {
                <$T>::inactive(value)
            }
            #[inline(always)]
            fn value(&self) -> f64 {
                self.value
            }
            #[inline(always)]
            fn sin(&self) -> Self {
                self.unary(self.value.sin(), $crate::real::partials::sin(self.value))
            }
            #[inline(always)]
            fn cos(&self) -> Self {
                self.unary(self.value.cos(), $crate::real::partials::cos(self.value))
            }
            #[inline(always)]
            fn tan(&self) -> Self {
                let t = self.value.tan();
                self.unary(t, $crate::real::partials::tan_from_result(t))
            }
            #[inline(always)]
            fn exp(&self) -> Self {
                let e = self.value.exp();
                self.unary(e, $crate::real::partials::exp_from_result(e))
            }
            #[inline(always)]
            fn ln(&self) -> Self {
                self.unary(self.value.ln(), $crate::real::partials::ln(self.value))
            }
            #[inline(always)]
            fn sqrt(&self) -> Self {
                let s = self.value.sqrt();
                self.unary(s, $crate::real::partials::sqrt_from_result(s))
            }
            #[inline(always)]
            fn tanh(&self) -> Self {
                let t = self.value.tanh();
                self.unary(t, $crate::real::partials::tanh_from_result(t))
            }
            #[inline(always)]
            fn powi(&self, n: i32) -> Self {
                self.unary(self.value.powi(n), $crate::real::partials::powi(self.value, n))
            }
            #[inline(always)]
            fn powf(&self, p: &Self) -> Self {
                let r = self.value.powf(p.value);
                let (dx, dp) = $crate::real::partials::powf(self.value, p.value, r);
                self.binary(p, r, dx, dp)
            }
            #[inline(always)]
            fn abs(&self) -> Self {
                self.unary(self.value.abs(), $crate::real::partials::abs(self.value))
            }
        }
    };
    (@op $T:ident, $Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident, $by_ref:ident, $by_f64:ident) => {
        impl ::std::ops::$Op for $T {
            type Output = $T;
            #[inline(always)]
            fn $op(self, rhs: $T) -> $T {
                self.$by_ref(&rhs)
            }
        }
        impl ::std::ops::$Op<f64> for $T {
            type Output = $T;
            #[inline(always)]
            fn $op(self, rhs: f64) -> $T {
                self.$by_f64(rhs)
            }
        }
        impl ::std::ops::$OpAssign for $T {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: $T) {
                *self = self.$by_ref(&rhs);
            }
        }
        impl ::std::ops::$OpAssign<f64> for $T {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: f64) {
                *self = self.$by_f64(rhs);
            }
        }
    };
}

pub(crate) use impl_real_from_partials;

/// A dual number: a primal value and one tangent (directional derivative).
#[derive(Clone, Copy, Debug)]
pub struct Dual {
    value: f64,
    tangent: f64,
}

impl Dual {
    /// A dual number with the given value and tangent (an input seeded in some direction).
    pub fn new(value: f64, tangent: f64) -> Self {
        Self { value, tangent }
    }

    /// The tangent: the derivative of this value in the direction the pass was seeded with.
    pub fn tangent(&self) -> f64 {
        self.tangent
    }

    fn inactive(value: f64) -> Self {
        Self::new(value, 0.0)
    }

    #[inline]
    fn unary(&self, value: f64, d: f64) -> Self {
        Self::new(value, partials::times(d, self.tangent))
    }

    #[inline]
    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        Self::new(
            value,
            partials::times(dx, self.tangent) + partials::times(dy, other.tangent),
        )
    }
}

impl_real_from_partials!(Dual);

impl ParReal for Dual {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        (a(), b())
    }
}

/// Forward-mode AD: one dual-number pass per input direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct Forward;

/// The counters of `passes` forward passes.
const COUNTER_NAMES: &[&str] = &["forward_passes"];

/// Runs the forward passes: pass i seeds input i. Writes the output values of the first pass
/// into `value` and calls `column(i, outputs)` after pass i. When n = 0 one unseeded pass
/// still runs, to compute the value (it reports no column). Returns the number of passes.
#[inline]
fn run_passes<E, C>(x: &[f64], eval: E, value: &mut Vec<f64>, mut column: C) -> u64
where
    E: Fn(&[Dual]) -> Outputs<Dual>,
    C: FnMut(usize, &[Dual]),
{
    value.clear();
    let passes = x.len().max(1);
    let mut inputs: Vec<Dual> = x.iter().map(|&v| Dual::new(v, 0.0)).collect();
    for i in 0..passes {
        if let Some(seed) = inputs.get_mut(i) {
            seed.tangent = 1.0;
        }
        let outputs = eval(&inputs);
        if i < x.len() {
            column(i, &outputs);
            inputs[i].tangent = 0.0;
        }
        if i == 0 {
            value.extend(outputs.iter().map(Real::value));
        }
    }
    passes as u64
}

/// `w^T J` from the n passes, appended to `out.derivative`.
#[inline]
fn vjp_passes<E, Q>(x: &[f64], cotangent: &[f64], eval: E, out: &mut Derivatives, probe: &mut Q)
where
    E: Fn(&[Dual]) -> Outputs<Dual>,
    Q: Probe,
{
    probe.forward_starts();
    let start = out.derivative.len();
    out.derivative.resize(start + x.len(), 0.0);
    let (value, gradient) = (&mut out.value, &mut out.derivative[start..]);
    let passes = run_passes(x, eval, value, |i, outputs| {
        gradient[i] = outputs
            .iter()
            .zip(cotangent)
            .map(|(o, &w)| partials::times(o.tangent, w))
            .sum();
    });
    probe.reverse_starts();
    probe.finished();
    if Q::COUNTS {
        probe.counters(&[("forward_passes", passes)]);
    }
}

impl Strategy for Forward {
    const NAME: &'static str = "forward";
    const DESCRIPTION: &'static str =
        "dual numbers (value, tangent), one forward pass per input: O(n T)";
    const COUNTERS: &'static [&'static str] = COUNTER_NAMES;

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        vjp_passes(x, cotangent, |inputs| program.eval(inputs), out, probe);
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
        let passes = run_passes(
            x,
            |inputs| program.eval(inputs),
            value,
            |i, outputs| {
                for (j, o) in outputs.iter().enumerate() {
                    rows[j * n + i] = o.tangent;
                }
            },
        );
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", passes)]);
        }
    }
}

impl ParStrategy for Forward {
    const PARALLEL: bool = false;

    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        vjp_passes(x, cotangent, |inputs| program.eval(inputs), out, probe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::test_programs::ForkedProduct;

    /// f(x) = (x0 * x1, x0 + sin x1): two outputs.
    struct TwoOutputs;
    impl Program for TwoOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![x[0].clone() * x[1].clone(), x[0].clone() + x[1].sin()]
        }
    }

    #[test]
    fn jacobian_builds_every_row_from_n_passes() {
        let j = Forward::jacobian(&TwoOutputs, &[2.0, 0.5]);
        assert_eq!(j.rows, Some(vec![vec![0.5, 2.0], vec![1.0, 0.5f64.cos()]]));
        assert_eq!(j.counters.get("forward_passes"), Some(2));
        assert_eq!(j.value, vec![1.0, 2.0 + 0.5f64.sin()]);
    }

    #[test]
    fn vjp_weights_each_output_by_its_cotangent() {
        let r = Forward::vjp(&TwoOutputs, &[2.0, 0.5], &[3.0, -1.0]);
        let g = r.gradient.unwrap();
        assert_eq!(g[0], 3.0 * 0.5 - 1.0);
        assert_eq!(g[1], 3.0 * 2.0 - 0.5f64.cos());
    }

    #[test]
    fn fork_join_programs_run_one_pass_per_input() {
        let r = Forward::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0]);
        let e = 0.25f64.exp();
        assert_eq!(r.gradient, Some(vec![0.5f64.cos() * e, 0.5f64.sin() * e]));
        assert_eq!(r.counters.get("forward_passes"), Some(2));
    }

    /// A program with no inputs still has a value.
    struct NoInputs;
    impl Program for NoInputs {
        fn input_len(&self) -> usize {
            0
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, _x: &[R]) -> Outputs<R> {
            outputs![R::constant(2.0).exp()]
        }
    }

    #[test]
    fn program_without_inputs_runs_one_pass_for_its_value() {
        let r = Forward::vjp(&NoInputs, &[], &[1.0]);
        assert_eq!(r.value, vec![2.0f64.exp()]);
        assert_eq!(r.gradient, Some(vec![]));
        assert_eq!(r.counters.get("forward_passes"), Some(1));
    }
}
