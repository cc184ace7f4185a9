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
use crate::real::{partials, Binary, ParReal, Real, Unary};

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
            /// `c - self`, a unary node.
            #[inline(always)]
            fn f64_sub(&self, c: f64) -> Self {
                self.unary(c - self.value, $crate::real::partials::neg())
            }
            /// `c / self`, a unary node.
            #[inline(always)]
            fn f64_div(&self, c: f64) -> Self {
                let q = c / self.value;
                self.unary(q, $crate::real::partials::div(self.value, q).1)
            }
        }

        $crate::forward::impl_real_from_partials!(@op $T, Add, add, AddAssign, add_assign, add_ref, add_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Sub, sub, SubAssign, sub_assign, sub_ref, sub_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Mul, mul, MulAssign, mul_assign, mul_ref, mul_f64);
        $crate::forward::impl_real_from_partials!(@op $T, Div, div, DivAssign, div_assign, div_ref, div_f64);
        $crate::real::impl_constant_on_the_left!($T, add_f64, f64_sub, mul_f64, f64_div);

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

        impl<'a> ::std::iter::Sum<&'a $T> for $T {
            fn sum<I: Iterator<Item = &'a $T>>(iter: I) -> $T {
                iter.fold(<$T>::inactive(0.0), |acc, x| acc.add_ref(x))
            }
        }

        impl<'a> ::std::iter::Product<&'a $T> for $T {
            fn product<I: Iterator<Item = &'a $T>>(iter: I) -> $T {
                iter.fold(<$T>::inactive(1.0), |acc, x| acc.mul_ref(x))
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
            fn is_structural_zero(&self) -> bool {
                self.value == 0.0 && !self.is_active()
            }
            #[inline(always)]
            fn apply(&self, f: $crate::real::Unary) -> Self {
                let y = f.value(self.value);
                self.unary(y, $crate::real::partials::unary(f, &self.value, &y))
            }
            #[inline(always)]
            fn apply2(&self, other: &Self, f: $crate::real::Binary) -> Self {
                let r = f.value(self.value, other.value);
                let (dx, dy) = $crate::real::partials::binary(f, &self.value, &other.value, &r);
                self.binary(other, r, dx, dy)
            }
            #[inline(always)]
            fn powi(&self, n: i32) -> Self {
                self.unary(self.value.powi(n), $crate::real::partials::powi(&self.value, n))
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

/// A dual number: a primal value and one tangent (directional derivative), both of the scalar
/// type `R`.
///
/// `Dual` (`R = f64`) is the scalar of the `forward` strategy. With `R` the active scalar of
/// another strategy, `Dual<R>` is itself a [`Real`], so a program evaluated on it is a program
/// of that strategy: differentiating its tangent in reverse mode gives a Hessian-vector
/// product (reverse over forward, [`crate::hvp`]). Every operation takes its partial from the
/// generic table [`partials`], computed in `R` on the value, so the strategy below sees the
/// partials themselves as operations of the program and differentiates them too. A tangent that
/// is a structural zero ([`Real::is_structural_zero`]: an unseeded direction) stays one and
/// records nothing below.
#[derive(Clone, Copy, Debug)]
pub struct Dual<R = f64> {
    value: R,
    tangent: R,
}

impl<R: Real> Dual<R> {
    /// A dual number with the given value and tangent (an input seeded in some direction).
    pub fn new(value: R, tangent: R) -> Self {
        Self { value, tangent }
    }

    /// The value, as the scalar it is made of (for `Dual<f64>`, the primal value).
    pub fn primal(&self) -> &R {
        &self.value
    }

    /// The tangent: the derivative of this value in the direction the pass was seeded with.
    pub fn tangent(&self) -> &R {
        &self.tangent
    }

    /// Both parts, value first.
    pub fn into_parts(self) -> (R, R) {
        (self.value, self.tangent)
    }

    #[inline(always)]
    fn inactive(value: f64) -> Self {
        Self::new(R::constant(value), R::constant(0.0))
    }

    /// A one-operand operation with value `value` and partial `d`.
    #[inline(always)]
    fn unary(&self, value: R, d: R) -> Self {
        Self::new(value, partials::times(d, self.tangent.clone()))
    }

    /// A two-operand operation with value `value` and partials `dx`, `dy`; a structural zero
    /// term is left out of the sum.
    #[inline(always)]
    fn binary(&self, other: &Self, value: R, dx: R, dy: R) -> Self {
        let a = partials::times(dx, self.tangent.clone());
        let b = partials::times(dy, other.tangent.clone());
        let tangent = if R::PLAIN {
            a + b
        } else if b.is_structural_zero() {
            a
        } else if a.is_structural_zero() {
            b
        } else {
            a + b
        };
        Self::new(value, tangent)
    }

    /// A one-operand operation with a constant partial `d` (a constant operand of `+`, `*`,
    /// ...).
    #[inline(always)]
    fn scaled(&self, value: R, d: f64) -> Self {
        let tangent = if R::PLAIN {
            partials::times(R::constant(d), self.tangent.clone())
        } else if d == 0.0 || self.tangent.is_structural_zero() {
            R::constant(0.0)
        } else if d == 1.0 {
            self.tangent.clone()
        } else if d == -1.0 {
            -self.tangent.clone()
        } else {
            self.tangent.clone() * d
        };
        Self::new(value, tangent)
    }

    #[inline(always)]
    fn add_ref(&self, rhs: &Self) -> Self {
        let (dx, dy) = partials::add();
        self.binary(
            rhs,
            self.value.clone() + rhs.value.clone(),
            R::constant(dx),
            R::constant(dy),
        )
    }
    #[inline(always)]
    fn sub_ref(&self, rhs: &Self) -> Self {
        let (dx, dy) = partials::sub();
        self.binary(
            rhs,
            self.value.clone() - rhs.value.clone(),
            R::constant(dx),
            R::constant(dy),
        )
    }
    #[inline(always)]
    fn mul_ref(&self, rhs: &Self) -> Self {
        let (dx, dy) = partials::mul(self.value.clone(), rhs.value.clone());
        self.binary(rhs, self.value.clone() * rhs.value.clone(), dx, dy)
    }
    #[inline(always)]
    fn div_ref(&self, rhs: &Self) -> Self {
        let q = self.value.clone() / rhs.value.clone();
        let (dx, dy) = partials::div(rhs.value.clone(), q.clone());
        self.binary(rhs, q, dx, dy)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        self.scaled(self.value.clone() + c, partials::add_constant())
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        self.scaled(self.value.clone() - c, partials::add_constant())
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        self.scaled(self.value.clone() * c, partials::mul_constant(c))
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        self.scaled(self.value.clone() / c, partials::div_constant(c))
    }
    #[inline(always)]
    fn f64_sub(&self, c: f64) -> Self {
        self.scaled(R::constant(c) - self.value.clone(), partials::neg())
    }
    #[inline(always)]
    fn f64_div(&self, c: f64) -> Self {
        let q = R::constant(c) / self.value.clone();
        let d = partials::div(self.value.clone(), q.clone()).1;
        self.unary(q, d)
    }
}

macro_rules! dual_operators {
    ($($Op:ident $op:ident $OpAssign:ident $op_assign:ident $by_ref:ident $by_f64:ident;)*) => {$(
        impl<R: Real> ::std::ops::$Op for Dual<R> {
            type Output = Dual<R>;
            #[inline(always)]
            fn $op(self, rhs: Dual<R>) -> Dual<R> {
                self.$by_ref(&rhs)
            }
        }
        impl<R: Real> ::std::ops::$Op<f64> for Dual<R> {
            type Output = Dual<R>;
            #[inline(always)]
            fn $op(self, rhs: f64) -> Dual<R> {
                self.$by_f64(rhs)
            }
        }
        impl<R: Real> ::std::ops::$OpAssign for Dual<R> {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: Dual<R>) {
                *self = self.$by_ref(&rhs);
            }
        }
        impl<R: Real> ::std::ops::$OpAssign<f64> for Dual<R> {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: f64) {
                *self = self.$by_f64(rhs);
            }
        }
    )*};
}

dual_operators! {
    Add add AddAssign add_assign add_ref add_f64;
    Sub sub SubAssign sub_assign sub_ref sub_f64;
    Mul mul MulAssign mul_assign mul_ref mul_f64;
    Div div DivAssign div_assign div_ref div_f64;
}

crate::real::impl_constant_on_the_left!(Dual<f64>, add_f64, f64_sub, mul_f64, f64_div);

impl<R: Real> std::ops::Neg for Dual<R> {
    type Output = Dual<R>;
    #[inline(always)]
    fn neg(self) -> Dual<R> {
        self.scaled(-self.value.clone(), partials::neg())
    }
}

impl<R: Real> PartialEq for Dual<R> {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl<R: Real> PartialOrd for Dual<R> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value().partial_cmp(&other.value())
    }
}

impl<R: Real> std::iter::Sum for Dual<R> {
    fn sum<I: Iterator<Item = Dual<R>>>(iter: I) -> Dual<R> {
        iter.fold(Dual::inactive(0.0), |acc, x| acc.add_ref(&x))
    }
}

impl<R: Real> std::iter::Product for Dual<R> {
    fn product<I: Iterator<Item = Dual<R>>>(iter: I) -> Dual<R> {
        iter.fold(Dual::inactive(1.0), |acc, x| acc.mul_ref(&x))
    }
}

impl<'a, R: Real> std::iter::Sum<&'a Dual<R>> for Dual<R> {
    fn sum<I: Iterator<Item = &'a Dual<R>>>(iter: I) -> Dual<R> {
        iter.fold(Dual::inactive(0.0), |acc, x| acc.add_ref(x))
    }
}

impl<'a, R: Real> std::iter::Product<&'a Dual<R>> for Dual<R> {
    fn product<I: Iterator<Item = &'a Dual<R>>>(iter: I) -> Dual<R> {
        iter.fold(Dual::inactive(1.0), |acc, x| acc.mul_ref(x))
    }
}

impl<R: Real> Real for Dual<R> {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        Dual::inactive(value)
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.value.value()
    }
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        self.value.is_structural_zero() && self.tangent.is_structural_zero()
    }
    #[inline(always)]
    fn apply(&self, f: Unary) -> Self {
        let y = self.value.apply(f);
        let d = partials::unary(f, &self.value, &y);
        self.unary(y, d)
    }
    #[inline(always)]
    fn apply2(&self, other: &Self, f: Binary) -> Self {
        let r = self.value.apply2(&other.value, f);
        let (dx, dy) = partials::binary(f, &self.value, &other.value, &r);
        self.binary(other, r, dx, dy)
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        let d = partials::powi(&self.value, n);
        self.unary(self.value.powi(n), d)
    }
}

/// A nested dual number crosses threads when its parts do. Its `join` runs the two branches
/// one after the other on the calling thread: the fork-join structure is not passed down to
/// the strategy below (`forward`'s passes are sequential anyway, and a nested fork-join
/// program under `dualrev-par` is differentiated as the sequential program it then is).
impl<R: ParReal> ParReal for Dual<R> {
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
