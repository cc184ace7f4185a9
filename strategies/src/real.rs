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
    + for<'a> Sum<&'a Self>
    + for<'a> Product<&'a Self>
{
    /// An inactive value (derivative zero).
    fn constant(value: f64) -> Self;
    /// The primal value, for control flow and for reading results.
    fn value(&self) -> f64;

    /// Whether this is a plain number, with no derivative of its own (`f64`): every 0 is then a
    /// structural zero, and adding one changes nothing but the sign of a zero. A dual number
    /// over a plain scalar (the `forward` strategy) forms its tangents exactly as it did before
    /// nesting existed; over an active scalar it leaves structural zeros out of its sums, so
    /// that they record nothing in the strategy below.
    const PLAIN: bool = false;

    /// Whether this value is a *structural* zero: an inactive 0 (a constant), whose derivative
    /// is zero in every direction and at every order. [`partials::times`] drops a product with
    /// a structural zero, and only with one: an active value that merely *has* the value 0 (`y`
    /// in `x * y` at `y = 0`) still carries derivatives, which a nested (second-order)
    /// derivative needs. For `f64`, which carries no derivative, every 0 is structural.
    fn is_structural_zero(&self) -> bool;

    /// The one-operand elementary function `f` of this value: one primitive operation, whose
    /// local partial is [`partials::unary`]. Every named one-operand function below
    /// ([`Real::sin`], [`Real::erf`], ...) is this with its [`Unary`].
    fn apply(&self, f: Unary) -> Self;
    /// The two-operand elementary function `f` of `(self, other)`: one primitive operation
    /// with two partials ([`partials::binary`]); [`Real::powf`], [`Real::atan2`] and
    /// [`Real::hypot`] are this with their [`Binary`].
    fn apply2(&self, other: &Self, f: Binary) -> Self;
    /// Integer power `self^n`.
    fn powi(&self, n: i32) -> Self;

    /// Sine.
    #[inline(always)]
    fn sin(&self) -> Self {
        self.apply(Unary::Sin)
    }
    /// Cosine.
    #[inline(always)]
    fn cos(&self) -> Self {
        self.apply(Unary::Cos)
    }
    /// Tangent.
    #[inline(always)]
    fn tan(&self) -> Self {
        self.apply(Unary::Tan)
    }
    /// Exponential.
    #[inline(always)]
    fn exp(&self) -> Self {
        self.apply(Unary::Exp)
    }
    /// Natural logarithm.
    #[inline(always)]
    fn ln(&self) -> Self {
        self.apply(Unary::Ln)
    }
    /// Square root.
    #[inline(always)]
    fn sqrt(&self) -> Self {
        self.apply(Unary::Sqrt)
    }
    /// Hyperbolic tangent.
    #[inline(always)]
    fn tanh(&self) -> Self {
        self.apply(Unary::Tanh)
    }
    /// Absolute value (derivative `sign(self)`, taken as 0 at 0).
    #[inline(always)]
    fn abs(&self) -> Self {
        self.apply(Unary::Abs)
    }
    /// Arcsine (derivative infinite at ±1).
    #[inline(always)]
    fn asin(&self) -> Self {
        self.apply(Unary::Asin)
    }
    /// Arccosine (derivative infinite at ±1).
    #[inline(always)]
    fn acos(&self) -> Self {
        self.apply(Unary::Acos)
    }
    /// Arctangent.
    #[inline(always)]
    fn atan(&self) -> Self {
        self.apply(Unary::Atan)
    }
    /// Hyperbolic sine.
    #[inline(always)]
    fn sinh(&self) -> Self {
        self.apply(Unary::Sinh)
    }
    /// Hyperbolic cosine.
    #[inline(always)]
    fn cosh(&self) -> Self {
        self.apply(Unary::Cosh)
    }
    /// Inverse hyperbolic sine.
    #[inline(always)]
    fn asinh(&self) -> Self {
        self.apply(Unary::Asinh)
    }
    /// Inverse hyperbolic cosine (defined for `self >= 1`, derivative infinite at 1).
    #[inline(always)]
    fn acosh(&self) -> Self {
        self.apply(Unary::Acosh)
    }
    /// Inverse hyperbolic tangent (derivative infinite at ±1).
    #[inline(always)]
    fn atanh(&self) -> Self {
        self.apply(Unary::Atanh)
    }
    /// `ln(1 + self)`, accurate near 0.
    #[inline(always)]
    fn ln_1p(&self) -> Self {
        self.apply(Unary::Ln1p)
    }
    /// `exp(self) - 1`, accurate near 0.
    #[inline(always)]
    fn exp_m1(&self) -> Self {
        self.apply(Unary::ExpM1)
    }
    /// Base-2 logarithm.
    #[inline(always)]
    fn log2(&self) -> Self {
        self.apply(Unary::Log2)
    }
    /// Base-10 logarithm.
    #[inline(always)]
    fn log10(&self) -> Self {
        self.apply(Unary::Log10)
    }
    /// `2^self`.
    #[inline(always)]
    fn exp2(&self) -> Self {
        self.apply(Unary::Exp2)
    }
    /// Cube root, defined for every real (derivative infinite at 0).
    #[inline(always)]
    fn cbrt(&self) -> Self {
        self.apply(Unary::Cbrt)
    }
    /// The error function.
    #[inline(always)]
    fn erf(&self) -> Self {
        self.apply(Unary::Erf)
    }
    /// `1 / self`.
    #[inline(always)]
    fn recip(&self) -> Self {
        self.apply(Unary::Recip)
    }
    /// Real power `self^p` with an active exponent (defined for `self > 0`, and for
    /// `self <= 0` where `p` is an integer, whose partial in `p` is then not finite).
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        self.apply2(p, Binary::Powf)
    }
    /// The four-quadrant arctangent of `self / x` (`self` is y, as `f64::atan2`).
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        self.apply2(x, Binary::Atan2)
    }
    /// `sqrt(self^2 + y^2)` without overflow or underflow.
    #[inline(always)]
    fn hypot(&self, y: &Self) -> Self {
        self.apply2(y, Binary::Hypot)
    }
    /// `self * a + b`. Strategies record it as a multiplication and an addition (two
    /// operations, with the rounding of two); the value is not fused.
    #[inline(always)]
    fn mul_add(&self, a: &Self, b: &Self) -> Self {
        self.clone() * a.clone() + b.clone()
    }

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
    const PLAIN: bool = true;

    #[inline]
    fn constant(value: f64) -> Self {
        value
    }
    #[inline]
    fn value(&self) -> f64 {
        *self
    }
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        *self == 0.0
    }
    #[inline(always)]
    fn apply(&self, f: Unary) -> Self {
        f.value(*self)
    }
    #[inline(always)]
    fn apply2(&self, other: &Self, f: Binary) -> Self {
        f.value(*self, *other)
    }
    #[inline]
    fn powi(&self, n: i32) -> Self {
        f64::powi(*self, n)
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

/// Implements `f64 + x`, `f64 - x`, `f64 * x` and `f64 / x` for the scalar type `$T`, each by
/// the named method of `$T` that takes `(&self, c: f64)` and computes `x + c`, `c - x`, `x * c`
/// and `c / x` as one one-operand operation. Generic code over `R: Real` writes the constant on
/// the right or as [`Real::constant`]: Rust does not carry a bound on `f64` from a trait to its
/// users, so `2.0 * x` compiles for every strategy's scalar type but not for a type parameter
/// without `where f64: Mul<R, Output = R>`.
macro_rules! impl_constant_on_the_left {
    ($T:ty, $add:ident, $sub_from:ident, $mul:ident, $div_into:ident) => {
        impl ::std::ops::Add<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn add(self, rhs: $T) -> $T {
                rhs.$add(self)
            }
        }
        impl ::std::ops::Sub<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn sub(self, rhs: $T) -> $T {
                rhs.$sub_from(self)
            }
        }
        impl ::std::ops::Mul<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn mul(self, rhs: $T) -> $T {
                rhs.$mul(self)
            }
        }
        impl ::std::ops::Div<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn div(self, rhs: $T) -> $T {
                rhs.$div_into(self)
            }
        }
    };
}

pub(crate) use impl_constant_on_the_left;

/// A one-operand elementary function of [`Real`]: what [`Real::apply`] computes. Its value on
/// `f64` is [`Unary::value`], its local partial [`partials::unary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unary {
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Tangent.
    Tan,
    /// Exponential.
    Exp,
    /// Natural logarithm.
    Ln,
    /// Square root.
    Sqrt,
    /// Hyperbolic tangent.
    Tanh,
    /// Absolute value.
    Abs,
    /// Arcsine.
    Asin,
    /// Arccosine.
    Acos,
    /// Arctangent.
    Atan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Inverse hyperbolic sine.
    Asinh,
    /// Inverse hyperbolic cosine.
    Acosh,
    /// Inverse hyperbolic tangent.
    Atanh,
    /// `ln(1 + x)`.
    Ln1p,
    /// `exp(x) - 1`.
    ExpM1,
    /// Base-2 logarithm.
    Log2,
    /// Base-10 logarithm.
    Log10,
    /// `2^x`.
    Exp2,
    /// Cube root.
    Cbrt,
    /// The error function.
    Erf,
    /// `1 / x`.
    Recip,
}

impl Unary {
    /// Every one-operand function, in declaration order.
    pub const ALL: [Unary; 24] = [
        Unary::Sin,
        Unary::Cos,
        Unary::Tan,
        Unary::Exp,
        Unary::Ln,
        Unary::Sqrt,
        Unary::Tanh,
        Unary::Abs,
        Unary::Asin,
        Unary::Acos,
        Unary::Atan,
        Unary::Sinh,
        Unary::Cosh,
        Unary::Asinh,
        Unary::Acosh,
        Unary::Atanh,
        Unary::Ln1p,
        Unary::ExpM1,
        Unary::Log2,
        Unary::Log10,
        Unary::Exp2,
        Unary::Cbrt,
        Unary::Erf,
        Unary::Recip,
    ];

    /// The name of the [`Real`] method that computes it (`sin`, `ln_1p`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Tan => "tan",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sqrt => "sqrt",
            Unary::Tanh => "tanh",
            Unary::Abs => "abs",
            Unary::Asin => "asin",
            Unary::Acos => "acos",
            Unary::Atan => "atan",
            Unary::Sinh => "sinh",
            Unary::Cosh => "cosh",
            Unary::Asinh => "asinh",
            Unary::Acosh => "acosh",
            Unary::Atanh => "atanh",
            Unary::Ln1p => "ln_1p",
            Unary::ExpM1 => "exp_m1",
            Unary::Log2 => "log2",
            Unary::Log10 => "log10",
            Unary::Exp2 => "exp2",
            Unary::Cbrt => "cbrt",
            Unary::Erf => "erf",
            Unary::Recip => "recip",
        }
    }

    /// Its value at `x`: the standard library's function (`libm`'s `erf`, which the standard
    /// library lacks on stable).
    #[inline(always)]
    pub fn value(self, x: f64) -> f64 {
        match self {
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tan => x.tan(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Tanh => x.tanh(),
            Unary::Abs => x.abs(),
            Unary::Asin => x.asin(),
            Unary::Acos => x.acos(),
            Unary::Atan => x.atan(),
            Unary::Sinh => x.sinh(),
            Unary::Cosh => x.cosh(),
            Unary::Asinh => x.asinh(),
            Unary::Acosh => x.acosh(),
            Unary::Atanh => x.atanh(),
            Unary::Ln1p => x.ln_1p(),
            Unary::ExpM1 => x.exp_m1(),
            Unary::Log2 => x.log2(),
            Unary::Log10 => x.log10(),
            Unary::Exp2 => x.exp2(),
            Unary::Cbrt => x.cbrt(),
            Unary::Erf => libm::erf(x),
            Unary::Recip => x.recip(),
        }
    }
}

/// A two-operand elementary function of [`Real`]: what [`Real::apply2`] computes. Its value on
/// `f64` is [`Binary::value`], its partials [`partials::binary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binary {
    /// `x^y`.
    Powf,
    /// `atan2(x, y)`: the angle of the point (y, x), as `f64::atan2` (x is the ordinate).
    Atan2,
    /// `sqrt(x^2 + y^2)`.
    Hypot,
}

impl Binary {
    /// Every two-operand function, in declaration order.
    pub const ALL: [Binary; 3] = [Binary::Powf, Binary::Atan2, Binary::Hypot];

    /// The name of the [`Real`] method that computes it.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Powf => "powf",
            Binary::Atan2 => "atan2",
            Binary::Hypot => "hypot",
        }
    }

    /// Its value at `(x, y)`.
    #[inline(always)]
    pub fn value(self, x: f64, y: f64) -> f64 {
        match self {
            Binary::Powf => x.powf(y),
            Binary::Atan2 => x.atan2(y),
            Binary::Hypot => x.hypot(y),
        }
    }
}

/// The partial derivatives of every primitive of [`Real`] at a primal point, and the one rule by
/// which a strategy propagates them ([`partials::times`]). Every strategy takes its partials
/// from here, so all of them differentiate exactly the same function, down to the last bit of
/// each local derivative (`tape`, `forward`, the ladder rungs and `naive` alike).
///
/// The table is generic over the scalar it computes in. A first-order strategy instantiates it
/// at `f64`, on primal values. A nested strategy (forward over reverse, or reverse over forward;
/// see [`crate::hvp`]) instantiates it at an *active* scalar: the partial is then itself
/// differentiated, which is where second derivatives come from. Each formula is therefore
/// written with [`Real`] operations only, and a case split (`powf` at a zero exponent) asks
/// whether a value is a structural zero ([`Real::is_structural_zero`]), never whether its value
/// is 0, so that no second-order term is dropped.
pub mod partials {
    use super::{Binary, Real, Unary};

    /// `partial * t`, the contribution of one edge along a tangent (forward mode) or a
    /// cotangent (reverse mode), and a structural zero when either factor is one — even where
    /// the other is infinite or NaN. A direction in which nothing moves changes nothing (`sqrt`
    /// at 0 or `powf` of a negative base in an unseeded direction), and an edge whose partial is
    /// zero carries nothing (`relu` below 0 behind an infinite partial); without this rule
    /// `0 * inf = NaN` would poison the result, in one mode and not the other, with whatever
    /// the inactive part of the program computed. On `f64` every 0 is structural; on an active
    /// scalar only an inactive 0 is ([`Real::is_structural_zero`]).
    #[inline(always)]
    pub fn times<R: Real>(partial: R, t: R) -> R {
        // `|`, not `||`: both tests are cheap, and without the short circuit LLVM compiles the
        // f64 case to two selects around an unconditional multiply, not to a branch (6.5
        // instructions per operation less on `forward`, `deep-chain`, under callgrind).
        if partial.is_structural_zero() | t.is_structural_zero() {
            R::constant(0.0)
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
    pub fn mul<R: Real>(a: R, b: R) -> (R, R) {
        (b, a)
    }
    /// (d/da, d/db) of q = a / b: (1 / b, -q / b). Written with the quotient rather than as
    /// -a / b^2, which overflows to infinity where the quotient is finite (a = b = 1e-200).
    #[inline(always)]
    pub fn div<R: Real>(b: R, q: R) -> (R, R) {
        (R::constant(1.0) / b.clone(), -q / b)
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
    /// d/dx f(x) for the one-operand function `f`, given `y = f(x)` (several derivatives are
    /// cheapest, and most accurate, from the result: `exp`, `tan`, `tanh`, `sqrt`, `cbrt`,
    /// `recip`).
    #[inline(always)]
    pub fn unary<R: Real>(f: Unary, x: &R, y: &R) -> R {
        let one = || R::constant(1.0);
        match f {
            Unary::Sin => x.cos(),
            Unary::Cos => -x.sin(),
            Unary::Tan => one() + y.clone() * y.clone(),
            Unary::Exp => y.clone(),
            Unary::Ln => one() / x.clone(),
            Unary::Sqrt => R::constant(0.5) / y.clone(),
            Unary::Tanh => one() - y.clone() * y.clone(),
            Unary::Abs => R::constant(sign(x.value())),
            Unary::Asin => one() / (one() - x.clone() * x.clone()).sqrt(),
            Unary::Acos => R::constant(-1.0) / (one() - x.clone() * x.clone()).sqrt(),
            Unary::Atan => one() / (one() + x.clone() * x.clone()),
            Unary::Sinh => x.cosh(),
            Unary::Cosh => x.sinh(),
            Unary::Asinh => one() / (x.clone() * x.clone() + 1.0).sqrt(),
            // 1 / sqrt(x^2 - 1), as 1 / (sqrt(x - 1) sqrt(x + 1)), which keeps its precision
            // near x = 1 where x^2 - 1 cancels.
            Unary::Acosh => one() / ((x.clone() - 1.0).sqrt() * (x.clone() + 1.0).sqrt()),
            Unary::Atanh => one() / (one() - x.clone() * x.clone()),
            Unary::Ln1p => one() / (x.clone() + 1.0),
            Unary::ExpM1 => y.clone() + 1.0,
            Unary::Log2 => one() / (x.clone() * std::f64::consts::LN_2),
            Unary::Log10 => one() / (x.clone() * std::f64::consts::LN_10),
            Unary::Exp2 => y.clone() * std::f64::consts::LN_2,
            Unary::Cbrt => one() / (y.clone() * y.clone() * 3.0),
            Unary::Erf => (-(x.clone() * x.clone())).exp() * std::f64::consts::FRAC_2_SQRT_PI,
            Unary::Recip => -(y.clone() * y.clone()),
        }
    }
    /// (d/dx, d/dy) of the two-operand function `f` at (x, y), given `r = f(x, y)`.
    ///
    /// - `powf`: (y x^(y-1), r ln x), each a structural zero where its factor `y` or `r` is
    ///   one (a constant exponent 0, a result that is a constant 0), so that a power of a
    ///   non-positive base in a constant exponent has a finite partial in x.
    /// - `atan2`: (y, -x) / (x^2 + y^2) (x is the ordinate, as in `f64::atan2`), written as
    ///   (y / h) / h with h = hypot(x, y), which neither overflows nor underflows.
    /// - `hypot`: (x / r, y / r).
    #[inline(always)]
    pub fn binary<R: Real>(f: Binary, x: &R, y: &R, r: &R) -> (R, R) {
        match f {
            Binary::Powf => {
                let dx = if y.is_structural_zero() {
                    R::constant(0.0)
                } else {
                    y.clone() * x.powf(&(y.clone() - 1.0))
                };
                let dy = if r.is_structural_zero() {
                    R::constant(0.0)
                } else {
                    r.clone() * x.ln()
                };
                (dx, dy)
            }
            Binary::Atan2 => {
                let h = x.hypot(y);
                (
                    y.clone() / h.clone() / h.clone(),
                    -(x.clone() / h.clone()) / h,
                )
            }
            Binary::Hypot => (x.clone() / r.clone(), y.clone() / r.clone()),
        }
    }
    /// d/dx x^n = n x^(n-1), for every `i32` n (for `i32::MIN`, whose n - 1 does not exist,
    /// x^(n-1) is computed as a real power).
    #[inline]
    pub fn powi<R: Real>(x: &R, n: i32) -> R {
        match n {
            0 => R::constant(0.0),
            i32::MIN => R::constant(f64::from(n)) * x.powf(&R::constant(f64::from(n) - 1.0)),
            n => R::constant(f64::from(n)) * x.powi(n - 1),
        }
    }
    /// The sign of x, 0 at ±0 (and for NaN): d/dx |x|.
    #[inline(always)]
    fn sign(x: f64) -> f64 {
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
