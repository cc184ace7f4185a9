//! The one scalar trait every workload computes with.
//!
//! A workload is ordinary numeric Rust written against a single bound, `R: Real`. Each AD
//! strategy supplies its own active scalar type implementing [`Real`]; `f64` implements it too
//! and is the primal baseline that every overhead is measured against.
//!
//! Design decisions:
//!
//! - **No `Copy`.** The naive strategy's scalar holds a reference-counted closure, the ladder
//!   rungs hold `Contrib` graphs. Operators take their operands by value; a workload that uses a
//!   value twice writes `.clone()`, and that clone is precisely the *sharing* the ladder is
//!   about. Elementary functions take `&self`, so `x.sin()` does not consume `x`.
//! - **Mixed arithmetic with `f64`** is written with the constant on the right (`x * 2.0`,
//!   `x - 1.0`) or with [`Real::constant`]; a strategy records such an operation as a unary node
//!   (one edge), not as a binary node with a constant operand.
//! - **Comparisons look at primal values only** (`PartialOrd`, `PartialEq`, [`Real::value`]): they
//!   are for control flow (relu, max, branches, loops to a tolerance) and are not differentiated.
//! - **Not `Send`.** `Rc`-based strategies must not pay for atomics. Fork-join workloads use the
//!   second bound [`ParReal`], implemented only by strategies whose scalars may cross threads.
//! - **Per-gradient state** (a tape, an ID counter) lives in a thread-local that the strategy's
//!   gradient function sets up for the duration of one call. Values created outside a gradient
//!   call are constants.
//!
//! # Example
//!
//! A workload is generic over `R: Real` and reads like `f64` code:
//!
//! ```
//! use strategies::Real;
//!
//! /// Sum of x_i * y_i + sin(x_0), with a branch on a primal value.
//! fn f<R: Real>(x: &[R], y: &[R]) -> R {
//!     let mut acc = R::constant(0.0);
//!     for (a, b) in x.iter().zip(y) {
//!         acc += a.clone() * b.clone();
//!     }
//!     let s = x[0].sin();
//!     if s > R::constant(0.0) { acc + s } else { acc - s * 0.5 }
//! }
//!
//! // Under the primal strategy (`f64`) it is plain arithmetic.
//! let v = f(&[1.0, 2.0], &[3.0, 4.0]);
//! assert!((v - (11.0 + 1.0f64.sin())).abs() < 1e-15);
//! ```

use std::fmt::Debug;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// An active scalar: the type a workload computes with.
///
/// Arithmetic between two `Real`s, and between a `Real` and an `f64` constant on the right, is
/// available through the standard operators. Every method that returns `Self` is one primitive
/// operation of the program (it counts towards the primal operation count T), except
/// [`Real::constant`], which creates an inactive value.
pub trait Real:
    Clone
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + AddAssign<f64>
    + SubAssign<f64>
    + MulAssign<f64>
    + DivAssign<f64>
    + Sum
    + Product
{
    /// An inactive value (derivative zero).
    fn constant(value: f64) -> Self;
    /// The primal value, for control flow and for reading results.
    fn value(&self) -> f64;

    /// Sine.
    fn sin(&self) -> Self;
    /// Cosine.
    fn cos(&self) -> Self;
    /// Tangent.
    fn tan(&self) -> Self;
    /// Exponential.
    fn exp(&self) -> Self;
    /// Natural logarithm.
    fn ln(&self) -> Self;
    /// Square root.
    fn sqrt(&self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(&self) -> Self;
    /// Integer power `self^n`.
    fn powi(&self, n: i32) -> Self;
    /// Real power `self^p` with an active exponent (defined for `self > 0`).
    fn powf(&self, p: &Self) -> Self;
    /// Absolute value (derivative `sign(self)`, taken as 0 at 0).
    fn abs(&self) -> Self;

    /// `max(0, self)`, decided on the primal value.
    fn relu(&self) -> Self {
        if self.value() > 0.0 {
            self.clone()
        } else {
            Self::constant(0.0)
        }
    }
    /// The larger of two values, decided on the primal values (the first on ties).
    fn max(self, other: Self) -> Self {
        if other.value() > self.value() {
            other
        } else {
            self
        }
    }
    /// The smaller of two values, decided on the primal values (the first on ties).
    fn min(self, other: Self) -> Self {
        if other.value() < self.value() {
            other
        } else {
            self
        }
    }
    /// `self * self`, written through `Mul` so that it is one multiplication with a shared
    /// operand, exactly as a program that squares a value by hand.
    fn square(&self) -> Self {
        self.clone() * self.clone()
    }
}

/// A scalar that may cross threads, for fork-join (task-parallel) workloads.
///
/// `join(a, b)` evaluates the two closures, possibly in parallel, and returns both results: the
/// paper's strict parallel pair. Strategies implement it as fits their representation: `f64`
/// and `dualrev-par` run the branches as two rayon tasks when [`parallel_here`] (inside a rayon
/// pool of more than one thread) and one after the other otherwise; `tape` and `forward` always
/// run them in order on the calling thread.
pub trait ParReal: Real + Send + Sync {
    /// Evaluate `a` and `b`, possibly in parallel.
    ///
    /// # The rule: active values flow along the fork-join graph
    ///
    /// An active value may flow only from a job to its descendants: a branch may use the
    /// values computed before the `join` (by its parent and any ancestor), and the code after
    /// the `join` may use what both branches returned. It must not pass an active value to the
    /// *other* branch, or to a branch of an enclosing `join` that runs beside it (through a
    /// `Mutex`, a channel, an atomic cell, …), nor use one on a thread it spawned itself
    /// (fork with `join`, not with `std::thread` or rayon directly): a parallel reverse pass
    /// resolves such jobs in either order. Pass plain numbers ([`Real::value`]) instead.
    ///
    /// A panic in a branch ends the gradient: it propagates out of `join`, and a program that
    /// catches it cannot go on computing with the gradient's active values.
    ///
    /// Strategies that run the branches in order (`tape`, `forward`) differentiate a program
    /// that breaks the rule as the sequential program it then is; `dualrev-par` panics with a
    /// message that names the rule broken ("an active value may flow only from a job to its
    /// descendants", "a branch of this gradient panicked") — never a wrong derivative.
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
}

/// Whether a `join` called here may run its branches in parallel: the calling thread is a
/// worker of a rayon pool with more than one thread. The harness runs each case of a parallel
/// strategy inside a pool of the requested size (`run --threads`); outside any pool, and in a
/// pool of one thread, fork-join programs run sequentially.
#[inline]
pub fn parallel_here() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// Run `a` and `b` as two rayon tasks when [`parallel_here`], one after the other otherwise:
/// the fork of `f64`'s `join` and of `dualrev-par`'s forward and reverse passes. Always
/// inlined, so that `f64`'s `join` compiles as if written out in place.
#[inline(always)]
pub fn fork<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if parallel_here() {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

impl Real for f64 {
    #[inline]
    fn constant(value: f64) -> Self {
        value
    }
    #[inline]
    fn value(&self) -> f64 {
        *self
    }
    #[inline]
    fn sin(&self) -> Self {
        f64::sin(*self)
    }
    #[inline]
    fn cos(&self) -> Self {
        f64::cos(*self)
    }
    #[inline]
    fn tan(&self) -> Self {
        f64::tan(*self)
    }
    #[inline]
    fn exp(&self) -> Self {
        f64::exp(*self)
    }
    #[inline]
    fn ln(&self) -> Self {
        f64::ln(*self)
    }
    #[inline]
    fn sqrt(&self) -> Self {
        f64::sqrt(*self)
    }
    #[inline]
    fn tanh(&self) -> Self {
        f64::tanh(*self)
    }
    #[inline]
    fn powi(&self, n: i32) -> Self {
        f64::powi(*self, n)
    }
    #[inline]
    fn powf(&self, p: &Self) -> Self {
        f64::powf(*self, *p)
    }
    #[inline]
    fn abs(&self) -> Self {
        f64::abs(*self)
    }
}

impl ParReal for f64 {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        fork(a, b)
    }
}

/// The partial derivatives of every primitive of [`Real`] at a primal point, and the one rule by
/// which a strategy propagates them ([`partials::times`]). Every strategy takes its partials
/// from here, so all of them differentiate exactly the same function, down to the last bit of
/// each local derivative (`tape`, `forward`, the ladder rungs and `naive` alike).
pub mod partials {
    /// `partial * t`, the contribution of one edge along a tangent (forward mode) or a
    /// cotangent (reverse mode), and zero when either factor is zero — even where the other is
    /// infinite or NaN. A direction in which nothing moves changes nothing (`sqrt` at 0 or
    /// `powf` of a negative base in an unseeded direction), and an edge whose partial is zero
    /// carries nothing (`relu` below 0 behind an infinite partial); without this rule
    /// `0 * inf = NaN` would poison the result, in one mode and not the other, with whatever
    /// the inactive part of the program computed.
    #[inline(always)]
    pub fn times(partial: f64, t: f64) -> f64 {
        if partial == 0.0 || t == 0.0 {
            0.0
        } else {
            partial * t
        }
    }
    /// [`times`] applied to every lane of a vector tangent, decided once for all lanes: a
    /// finite nonzero partial times a lane equals `times` (a zero lane gives a zero), so the
    /// common case is one vector multiplication; a zero partial gives zeros; only an infinite
    /// or NaN partial takes the rule lane by lane.
    #[inline]
    pub fn times_each<const N: usize>(partial: f64, t: &[f64; N]) -> [f64; N] {
        if partial != 0.0 && partial.is_finite() {
            t.map(|t| partial * t)
        } else if partial == 0.0 {
            [0.0; N]
        } else {
            t.map(|t| times(partial, t))
        }
    }
    /// (d/da, d/db) of a + b.
    #[inline(always)]
    pub fn add() -> (f64, f64) {
        (1.0, 1.0)
    }
    /// (d/da, d/db) of a - b.
    #[inline(always)]
    pub fn sub() -> (f64, f64) {
        (1.0, -1.0)
    }
    /// (d/da, d/db) of a * b.
    #[inline(always)]
    pub fn mul(a: f64, b: f64) -> (f64, f64) {
        (b, a)
    }
    /// (d/da, d/db) of q = a / b: (1 / b, -q / b). Written with the quotient rather than as
    /// -a / b^2, which overflows to infinity where the quotient is finite (a = b = 1e-200).
    #[inline(always)]
    pub fn div(b: f64, q: f64) -> (f64, f64) {
        (1.0 / b, -q / b)
    }
    /// d/da of a + c and a - c for a constant c.
    #[inline(always)]
    pub fn add_constant() -> f64 {
        1.0
    }
    /// d/da of a * c for a constant c.
    #[inline(always)]
    pub fn mul_constant(c: f64) -> f64 {
        c
    }
    /// d/da of a / c for a constant c.
    #[inline(always)]
    pub fn div_constant(c: f64) -> f64 {
        1.0 / c
    }
    /// d/da of -a.
    #[inline(always)]
    pub fn neg() -> f64 {
        -1.0
    }
    /// d/dx sin x.
    #[inline(always)]
    pub fn sin(x: f64) -> f64 {
        x.cos()
    }
    /// d/dx cos x.
    #[inline(always)]
    pub fn cos(x: f64) -> f64 {
        -x.sin()
    }
    /// d/dx tan x = 1 + tan^2 x, given `t = tan x`.
    #[inline(always)]
    pub fn tan_from_result(t: f64) -> f64 {
        1.0 + t * t
    }
    /// d/dx exp x, given `e = exp x`.
    #[inline(always)]
    pub fn exp_from_result(e: f64) -> f64 {
        e
    }
    /// d/dx ln x.
    #[inline(always)]
    pub fn ln(x: f64) -> f64 {
        1.0 / x
    }
    /// d/dx sqrt x, given `s = sqrt x`.
    #[inline(always)]
    pub fn sqrt_from_result(s: f64) -> f64 {
        0.5 / s
    }
    /// d/dx tanh x, given `t = tanh x`.
    #[inline(always)]
    pub fn tanh_from_result(t: f64) -> f64 {
        1.0 - t * t
    }
    /// d/dx x^n = n x^(n-1), for every `i32` n (for `i32::MIN`, whose n - 1 does not exist,
    /// x^(n-1) is computed as a real power).
    #[inline]
    pub fn powi(x: f64, n: i32) -> f64 {
        match n {
            0 => 0.0,
            i32::MIN => f64::from(n) * x.powf(f64::from(n) - 1.0),
            n => f64::from(n) * x.powi(n - 1),
        }
    }
    /// (d/dx, d/dp) of x^p, given `r = x^p`.
    #[inline]
    pub fn powf(x: f64, p: f64, r: f64) -> (f64, f64) {
        let dx = if p == 0.0 { 0.0 } else { p * x.powf(p - 1.0) };
        let dp = if r == 0.0 { 0.0 } else { r * x.ln() };
        (dx, dp)
    }
    /// d/dx |x| (0 at 0).
    #[inline(always)]
    pub fn abs(x: f64) -> f64 {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partials::{times, times_each};

    #[test]
    fn times_each_is_times_in_every_lane() {
        let lanes = [
            0.0,
            -0.0,
            1.5,
            -2.0,
            f64::INFINITY,
            f64::NAN,
            1e-300,
            -1e300,
        ];
        for partial in [
            0.0,
            3.0,
            -0.5,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            let each = times_each(partial, &lanes);
            for (t, got) in lanes.iter().zip(each) {
                let want = times(partial, *t);
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "times({partial}, {t}) = {want}, lane gives {got}"
                );
            }
        }
    }
}
