//! `forward`: forward-mode AD with dual numbers, one pass per input direction.
//!
//! # Representation
//!
//! A scalar is a [`Dual`]: its primal value and one tangent, the derivative of that value in
//! the direction being pushed through the program (LADDER.md, "Forward mode (dual numbers)").
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
//! dot product of length n (LADDER.md, "Measurable signatures"). There is no reverse phase;
//! [`Phases::reverse`] is zero.
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
//! use strategies::{forward::Forward, Program, Real, Strategy};
//!
//! /// f(x, y) = x * y + sin(x).
//! struct F;
//! impl Program for F {
//!     fn input_len(&self) -> usize { 2 }
//!     fn output_len(&self) -> usize { 1 }
//!     fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
//!         vec![x[0].clone() * x[1].clone() + x[0].sin()]
//!     }
//! }
//!
//! let r = Forward::vjp(&F, &[2.0, 3.0], &[1.0]);
//! let g = r.gradient.unwrap();
//! assert!((g[0] - (3.0 + 2.0f64.cos())).abs() < 1e-15);
//! assert_eq!(g[1], 2.0);
//! assert_eq!(r.counters.get("forward_passes"), Some(2));
//! ```

use std::time::{Duration, Instant};

use crate::program::{
    check_lengths, Counters, Jacobian, ParProgram, ParStrategy, Phases, Program, Strategy, Vjp,
};
use crate::real::{ParReal, Real};

/// Implements every [`Real`] operation (and the operator traits, comparisons on primal values,
/// `Sum` and `Product`) for a scalar type that provides `inactive`, `unary`, `binary` and a
/// `value: f64` field; see the module documentation.
macro_rules! impl_real_from_partials {
    ($T:ident) => {
        impl $T {
            /// `self + rhs` on borrowed operands (shared by `Add` and `AddAssign`).
            #[inline]
            fn add_ref(&self, rhs: &Self) -> Self {
                self.binary(rhs, self.value + rhs.value, 1.0, 1.0)
            }
            /// `self - rhs`.
            #[inline]
            fn sub_ref(&self, rhs: &Self) -> Self {
                self.binary(rhs, self.value - rhs.value, 1.0, -1.0)
            }
            /// `self * rhs`.
            #[inline]
            fn mul_ref(&self, rhs: &Self) -> Self {
                self.binary(rhs, self.value * rhs.value, rhs.value, self.value)
            }
            /// `self / rhs`: partials 1/y and -x/y^2 = -q/y.
            #[inline]
            fn div_ref(&self, rhs: &Self) -> Self {
                let q = self.value / rhs.value;
                self.binary(rhs, q, 1.0 / rhs.value, -q / rhs.value)
            }
            /// `self + c`, a unary node.
            #[inline]
            fn add_f64(&self, c: f64) -> Self {
                self.unary(self.value + c, 1.0)
            }
            /// `self - c`, a unary node.
            #[inline]
            fn sub_f64(&self, c: f64) -> Self {
                self.unary(self.value - c, 1.0)
            }
            /// `self * c`, a unary node.
            #[inline]
            fn mul_f64(&self, c: f64) -> Self {
                self.unary(self.value * c, c)
            }
            /// `self / c`, a unary node.
            #[inline]
            fn div_f64(&self, c: f64) -> Self {
                self.unary(self.value / c, 1.0 / c)
            }
        }

        $crate::forward::impl_real_from_partials!(@op $T, Add, add, AddAssign, add_assign, add_ref, add_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Sub, sub, SubAssign, sub_assign, sub_ref, sub_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Mul, mul, MulAssign, mul_assign, mul_ref, mul_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Div, div, DivAssign, div_assign, div_ref, div_f64);

        impl ::std::ops::Neg for $T {
            type Output = $T;
            #[inline]
            fn neg(self) -> $T {
                self.unary(-self.value, -1.0)
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
            fn constant(value: f64) -> Self {
                <$T>::inactive(value)
            }
            #[inline]
            fn value(&self) -> f64 {
                self.value
            }
            fn sin(&self) -> Self {
                self.unary(self.value.sin(), $crate::real::partials::sin(self.value))
            }
            fn cos(&self) -> Self {
                self.unary(self.value.cos(), $crate::real::partials::cos(self.value))
            }
            fn tan(&self) -> Self {
                let t = self.value.tan();
                self.unary(t, $crate::real::partials::tan_from_result(t))
            }
            fn exp(&self) -> Self {
                let e = self.value.exp();
                self.unary(e, $crate::real::partials::exp_from_result(e))
            }
            fn ln(&self) -> Self {
                self.unary(self.value.ln(), $crate::real::partials::ln(self.value))
            }
            fn sqrt(&self) -> Self {
                let s = self.value.sqrt();
                self.unary(s, $crate::real::partials::sqrt_from_result(s))
            }
            fn tanh(&self) -> Self {
                let t = self.value.tanh();
                self.unary(t, $crate::real::partials::tanh_from_result(t))
            }
            fn powi(&self, n: i32) -> Self {
                self.unary(self.value.powi(n), $crate::real::partials::powi(self.value, n))
            }
            fn powf(&self, p: &Self) -> Self {
                let r = self.value.powf(p.value);
                let (dx, dp) = $crate::real::partials::powf(self.value, p.value, r);
                self.binary(p, r, dx, dp)
            }
            fn abs(&self) -> Self {
                self.unary(self.value.abs(), $crate::real::partials::abs(self.value))
            }
        }
    };
    (@op $T:ident, $Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident, $by_ref:ident, $by_f64:ident) => {
        impl ::std::ops::$Op for $T {
            type Output = $T;
            #[inline]
            fn $op(self, rhs: $T) -> $T {
                self.$by_ref(&rhs)
            }
        }
        impl ::std::ops::$Op<f64> for $T {
            type Output = $T;
            #[inline]
            fn $op(self, rhs: f64) -> $T {
                self.$by_f64(rhs)
            }
        }
        impl ::std::ops::$OpAssign for $T {
            #[inline]
            fn $op_assign(&mut self, rhs: $T) {
                *self = self.$by_ref(&rhs);
            }
        }
        impl ::std::ops::$OpAssign<f64> for $T {
            #[inline]
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
        Self::new(value, d * self.tangent)
    }

    #[inline]
    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        Self::new(value, dx * self.tangent + dy * other.tangent)
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

/// Runs the forward passes: pass i seeds input i. Calls `column(i, outputs)` after each pass
/// and returns the output values and the time of all passes. When n = 0 one unseeded pass
/// still runs, to compute the value (it reports no column).
fn run_passes<E, C>(x: &[f64], eval: E, mut column: C) -> (Vec<f64>, u64, Duration)
where
    E: Fn(&[Dual]) -> Vec<Dual>,
    C: FnMut(usize, &[Dual]),
{
    let start = Instant::now();
    let mut value = Vec::new();
    let passes = x.len().max(1);
    for i in 0..passes {
        let inputs: Vec<Dual> = x
            .iter()
            .enumerate()
            .map(|(j, &v)| Dual::new(v, if i == j { 1.0 } else { 0.0 }))
            .collect();
        let outputs = eval(&inputs);
        if i < x.len() {
            column(i, &outputs);
        }
        if i == 0 {
            value = outputs.iter().map(Real::value).collect();
        }
    }
    (value, passes as u64, start.elapsed())
}

/// `w^T J` from the n passes.
fn vjp_with<E>(x: &[f64], cotangent: &[f64], eval: E) -> Vjp
where
    E: Fn(&[Dual]) -> Vec<Dual>,
{
    let mut gradient = vec![0.0; x.len()];
    let (value, passes, forward) = run_passes(x, eval, |i, outputs| {
        gradient[i] = outputs
            .iter()
            .zip(cotangent)
            .map(|(o, w)| w * o.tangent)
            .sum();
    });
    Vjp {
        value,
        gradient: Some(gradient),
        counters: Counters::from_pairs(&[("forward_passes", passes)]),
        phases: Phases {
            forward,
            reverse: Duration::ZERO,
        },
    }
}

impl Strategy for Forward {
    const NAME: &'static str = "forward";
    const DESCRIPTION: &'static str =
        "dual numbers (value, tangent), one forward pass per input: O(n T)";

    fn vjp<P: Program>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        vjp_with(x, cotangent, |inputs| program.eval(inputs))
    }

    /// All m rows from the same n passes: pass i fills column i.
    fn jacobian<P: Program>(program: &P, x: &[f64]) -> Jacobian {
        let m = program.output_len();
        check_lengths(program.input_len(), m, x, &vec![0.0; m]);
        let mut rows = vec![vec![0.0; x.len()]; m];
        let (value, passes, forward) = run_passes(
            x,
            |inputs| program.eval(inputs),
            |i, outputs| {
                for (row, o) in rows.iter_mut().zip(outputs) {
                    row[i] = o.tangent;
                }
            },
        );
        Jacobian {
            value,
            rows: Some(rows),
            counters: Counters::from_pairs(&[("forward_passes", passes)]),
            phases: Phases {
                forward,
                reverse: Duration::ZERO,
            },
        }
    }
}

impl ParStrategy for Forward {
    fn par_vjp<P: ParProgram>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        vjp_with(x, cotangent, |inputs| program.eval(inputs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
            vec![x[0].clone() * x[1].clone(), x[0].clone() + x[1].sin()]
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
        fn eval<R: Real>(&self, _x: &[R]) -> Vec<R> {
            vec![R::constant(2.0).exp()]
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
