//! The established Rust AD crates, each adapted to [`Real`](crate::Real) as one more strategy,
//! so that a workload written once runs under them exactly as under dualbench's own strategies.
//!
//! Every peer sits behind its own cargo feature (`peer-xad`, `peer-echidna`, ...; `peers` turns
//! them all on) and is named for what it is: `peer-<crate>`. An adapter is a newtype around the
//! crate's own active scalar whose [`PeerScalar`] methods call the crate's own operations, so
//! what is measured is the crate's recording and reverse pass (or its forward mode), not ours;
//! the only code of ours on the hot path is the forwarding, which inlines away. The driver of
//! each peer (its [`Strategy`](crate::Strategy) impl) follows the crate's documented use: start
//! its tape or register its inputs, evaluate, seed the outputs, run its reverse pass, read the
//! input adjoints.
//!
//! [`CATALOGUE`] lists every peer dualbench knows, compiled in or not, so that `dualbench list`
//! can say which ones a build has and how to get the others.
//!
//! Peers differentiate with their own local derivative rules. They agree with dualbench's
//! strategies wherever the derivative is defined; where a rule meets an infinite partial times a
//! zero cotangent (dualbench's [`partials::times`](crate::real::partials::times) gives 0), a
//! peer may give NaN, which `verify` reports.

use crate::real::Unary;

#[cfg(feature = "peer-ad-trait")]
pub mod ad_trait;
#[cfg(feature = "peer-autodiff")]
pub mod autodiff;
#[cfg(feature = "peer-easy-ml")]
pub mod easy_ml;
#[cfg(feature = "peer-echidna")]
pub mod echidna;
#[cfg(feature = "peer-num-dual")]
pub mod num_dual;
#[cfg(feature = "peer-reverse")]
pub mod reverse;
#[cfg(feature = "peer-xad")]
pub mod xad;

/// One peer crate: what it is and whether this build has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The strategy's CLI name, `peer-<crate>`.
    pub name: &'static str,
    /// The cargo feature that compiles it in (the same as the name).
    pub feature: &'static str,
    /// The crate and the version requirement dualbench builds it with.
    pub krate: &'static str,
    /// The crate's licence.
    pub licence: &'static str,
    /// Whether this build has it.
    pub compiled_in: bool,
}

macro_rules! catalogue {
    ($($name:literal, $krate:literal, $licence:literal;)*) => {
        /// Every peer dualbench can be built with, in listing order.
        pub const CATALOGUE: &[PeerInfo] = &[$(PeerInfo {
            name: $name,
            feature: $name,
            krate: $krate,
            licence: $licence,
            compiled_in: cfg!(feature = $name),
        },)*];
    };
}

catalogue! {
    "peer-xad", "xad-rs 1.0", "MIT";
    "peer-echidna", "echidna 0.15", "MIT OR Apache-2.0";
    "peer-reverse", "reverse 0.2", "MIT OR Apache-2.0";
    "peer-easy-ml", "easy-ml 2.3", "MPL-2.0";
    "peer-ad-trait", "ad_trait 0.3", "MIT OR Apache-2.0";
    "peer-num-dual", "num-dual 0.15", "MIT OR Apache-2.0";
    "peer-autodiff", "autodiff 0.7", "MIT OR Apache-2.0";
}

/// The peer of that name, compiled in or not.
pub fn find(name: &str) -> Option<&'static PeerInfo> {
    CATALOGUE.iter().find(|p| p.name == name)
}

/// The primitives of [`Real`](crate::Real), each implemented by the peer's own operation on its
/// own active scalar. The crate-private macro `impl_real_for_peer!` turns an implementation into the operators and the
/// [`Real`](crate::Real) impl, so an adapter writes each primitive once.
///
/// Mixed arithmetic with an `f64` constant (`*_f64`) should use the crate's own mixed operation
/// where it has one (a unary record), and lift the constant otherwise.
pub trait PeerScalar: Clone + std::fmt::Debug {
    /// An inactive value.
    fn constant(value: f64) -> Self;
    /// The primal value.
    fn value(&self) -> f64;
    /// `self + rhs`.
    fn add(&self, rhs: &Self) -> Self;
    /// `self - rhs`.
    fn sub(&self, rhs: &Self) -> Self;
    /// `self * rhs`.
    fn mul(&self, rhs: &Self) -> Self;
    /// `self / rhs`.
    fn div(&self, rhs: &Self) -> Self;
    /// `-self`.
    fn neg(&self) -> Self;
    /// `self + c`.
    fn add_f64(&self, c: f64) -> Self;
    /// `self - c`.
    fn sub_f64(&self, c: f64) -> Self;
    /// `self * c`.
    fn mul_f64(&self, c: f64) -> Self;
    /// `self / c`.
    fn div_f64(&self, c: f64) -> Self;
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
    /// `self^n`.
    fn powi(&self, n: i32) -> Self;
    /// `self^p`.
    fn powf(&self, p: &Self) -> Self;
    /// Absolute value.
    fn abs(&self) -> Self;

    /// Whether it is a structural zero ([`Real::is_structural_zero`](crate::Real)): an
    /// inactive 0. The default, for a crate whose scalar cannot tell, is never: a product with
    /// it is then always formed.
    fn is_structural_zero(&self) -> bool {
        false
    }
    /// The one-operand function `f` when it is none of the eight above. The default composes
    /// it from the crate's own operations (`sinh x = (e^x - e^-x) / 2`, `log2 x = ln x / ln 2`,
    /// ...), so that what is measured is still only the crate's recording; an adapter overrides
    /// it with the crate's own function where the crate has one. A function with no composition
    /// from the operations above (`asin`, `acos`, `atan`, `erf`) panics with the peer's name
    /// unless the adapter provides it.
    fn elementary(&self, f: Unary) -> Self {
        composed(self, f)
    }
    /// `atan2(self, x)`. The default panics: it has no composition from the operations above.
    fn atan2(&self, x: &Self) -> Self {
        let _ = x;
        not_provided::<Self>("atan2")
    }
    /// `hypot(self, y)`. The default is `sqrt(self^2 + y^2)`, which overflows where the
    /// squares do.
    fn hypot(&self, y: &Self) -> Self {
        self.mul(self).add(&y.mul(y)).sqrt()
    }
}

/// The default of [`PeerScalar::elementary`]: `f` composed from the crate's own operations.
/// An adapter whose crate has some of the functions calls it for the others.
pub(crate) fn composed<T: PeerScalar>(x: &T, f: Unary) -> T {
    use std::f64::consts::{LN_10, LN_2};
    match f {
        Unary::Sin => x.sin(),
        Unary::Cos => x.cos(),
        Unary::Tan => x.tan(),
        Unary::Exp => x.exp(),
        Unary::Ln => x.ln(),
        Unary::Sqrt => x.sqrt(),
        Unary::Tanh => x.tanh(),
        Unary::Abs => x.abs(),
        Unary::Sinh => x.exp().sub(&x.neg().exp()).mul_f64(0.5),
        Unary::Cosh => x.exp().add(&x.neg().exp()).mul_f64(0.5),
        Unary::Asinh => x.add(&x.mul(x).add_f64(1.0).sqrt()).ln(),
        Unary::Acosh => x.add(&x.mul(x).sub_f64(1.0).sqrt()).ln(),
        Unary::Atanh => x.add_f64(1.0).div(&x.neg().add_f64(1.0)).ln().mul_f64(0.5),
        Unary::Ln1p => x.add_f64(1.0).ln(),
        Unary::ExpM1 => x.exp().sub_f64(1.0),
        Unary::Log2 => x.ln().div_f64(LN_2),
        Unary::Log10 => x.ln().div_f64(LN_10),
        Unary::Exp2 => x.mul_f64(LN_2).exp(),
        Unary::Cbrt => x
            .abs()
            .powf(&T::constant(1.0 / 3.0))
            .mul_f64(x.value().signum()),
        Unary::Recip => T::constant(1.0).div(x),
        Unary::Asin | Unary::Acos | Unary::Atan | Unary::Erf => not_provided::<T>(f.name()),
    }
}

/// `f(x)` recorded with the crate's own mixed operations as its tangent line at x:
/// `(x - v) * f'(v) + f(v)` with `v` the value of `x`, `f(v)` from [`Unary::value`] and
/// `f'(v)` from [`partials::unary`](crate::real::partials::unary). `x - v` is exactly 0, so the
/// value is `f(v)` and the derivative `f'(v)`, both dualbench's to the bit; the crate records
/// three unary operations (`- f64`, `* f64`, `+ f64`). It is the fallback for a function a
/// crate neither has nor can compose (`erf`) and whose crate offers no operation with a
/// caller-given derivative; it holds for first derivatives only, which is all a peer computes.
/// Where the derivative is 0, or x is not finite (`x - v` would be NaN), the result is the
/// constant `f(v)`: a derivative 0 either way for every function it is used for (`erf`).
#[cfg(any(feature = "peer-reverse", feature = "peer-ad-trait"))]
pub(crate) fn linearized<T: PeerScalar>(x: &T, f: Unary) -> T {
    let v = x.value();
    let y = f.value(v);
    let d = crate::real::partials::unary(f, &v, &y);
    if d == 0.0 || !v.is_finite() {
        T::constant(y)
    } else {
        x.sub_f64(v).mul_f64(d).add_f64(y)
    }
}

/// `atan2(y, x)` (y the ordinate, as `f64::atan2`) composed from the crate's `atan` and its
/// arithmetic, for a crate that has `atan` but no `atan2`: `atan(y / x)` moved by ±π into the
/// right quadrant where x < 0, and `±π/2 - atan(x / y)` where |y| > |x| (so that the quotient
/// never exceeds 1 in magnitude and never divides by zero away from the origin). Each branch has
/// the partials `(x, -y) / (x^2 + y^2)`. At the origin, where dualbench's partials are NaN, the
/// result is the constant `atan2(y, x)`, without derivative.
#[cfg(feature = "peer-reverse")]
pub(crate) fn atan2_from_atan<T: PeerScalar>(y: &T, x: &T) -> T {
    use std::f64::consts::{FRAC_PI_2, PI};
    let (yv, xv) = (y.value(), x.value());
    if yv == 0.0 && xv == 0.0 {
        return T::constant(yv.atan2(xv));
    }
    if yv.abs() > xv.abs() {
        let quarter = if yv > 0.0 { FRAC_PI_2 } else { -FRAC_PI_2 };
        x.div(y).elementary(Unary::Atan).neg().add_f64(quarter)
    } else {
        let angle = y.div(x).elementary(Unary::Atan);
        if xv > 0.0 {
            angle
        } else if yv.is_sign_negative() {
            angle.sub_f64(PI)
        } else {
            angle.add_f64(PI)
        }
    }
}

/// Panics: the peer's crate has no such function and it has no composition from the crate's
/// operations.
#[cold]
fn not_provided<T>(function: &str) -> ! {
    panic!(
        "{} has no `{function}`: the crate provides no such operation and it cannot be composed \
         from the operations it has",
        std::any::type_name::<T>()
    )
}

/// The output a reverse-mode peer sweeps from, for crates that seed one output with 1: that
/// output itself where the cotangent's only nonzero entry is a 1, otherwise `sum_j w_j y_j` over
/// the nonzero cotangent entries, recorded with the crate's own operations; `None` if every
/// entry is zero.
#[cfg(any(
    feature = "peer-reverse",
    feature = "peer-easy-ml",
    feature = "peer-ad-trait"
))]
pub(crate) fn combined_output<T: PeerScalar>(outputs: &[T], cotangent: &[f64]) -> Option<T> {
    let mut seeded = outputs.iter().zip(cotangent).filter(|(_, &w)| w != 0.0);
    let (first, &w) = seeded.next()?;
    let term = |y: &T, w: f64| if w == 1.0 { y.clone() } else { y.mul_f64(w) };
    Some(seeded.fold(term(first, w), |acc, (y, &w)| acc.add(&term(y, w))))
}

/// Implements the arithmetic operators, comparisons (on primal values), `Sum`, `Product` and
/// [`Real`](crate::Real) for a type implementing [`PeerScalar`], every method forwarding to it.
#[allow(unused_macros)]
macro_rules! impl_real_for_peer {
    ($T:ty) => {
        $crate::peers::impl_real_for_peer!(@op $T, Add, add, AddAssign, add_assign, add, add_f64);
        $crate::peers::impl_real_for_peer!(@op $T, Sub, sub, SubAssign, sub_assign, sub, sub_f64);
        $crate::peers::impl_real_for_peer!(@op $T, Mul, mul, MulAssign, mul_assign, mul, mul_f64);
        $crate::peers::impl_real_for_peer!(@op $T, Div, div, DivAssign, div_assign, div, div_f64);

        impl ::std::ops::Neg for $T {
            type Output = $T;
            #[inline(always)]
            fn neg(self) -> $T {
                <$T as $crate::peers::PeerScalar>::neg(&self)
            }
        }
        impl ::std::cmp::PartialEq for $T {
            fn eq(&self, other: &Self) -> bool {
                <$T as $crate::peers::PeerScalar>::value(self)
                    == <$T as $crate::peers::PeerScalar>::value(other)
            }
        }
        impl ::std::cmp::PartialOrd for $T {
            fn partial_cmp(&self, other: &Self) -> Option<::std::cmp::Ordering> {
                <$T as $crate::peers::PeerScalar>::value(self)
                    .partial_cmp(&<$T as $crate::peers::PeerScalar>::value(other))
            }
        }
        impl ::std::iter::Sum for $T {
            fn sum<I: Iterator<Item = $T>>(iter: I) -> $T {
                iter.fold(<$T as $crate::peers::PeerScalar>::constant(0.0), |acc, x| {
                    <$T as $crate::peers::PeerScalar>::add(&acc, &x)
                })
            }
        }
        impl ::std::iter::Product for $T {
            fn product<I: Iterator<Item = $T>>(iter: I) -> $T {
                iter.fold(<$T as $crate::peers::PeerScalar>::constant(1.0), |acc, x| {
                    <$T as $crate::peers::PeerScalar>::mul(&acc, &x)
                })
            }
        }
        impl $crate::real::Real for $T {
            #[inline(always)]
            fn constant(value: f64) -> Self {
                <$T as $crate::peers::PeerScalar>::constant(value)
            }
            #[inline(always)]
            fn value(&self) -> f64 {
                <$T as $crate::peers::PeerScalar>::value(self)
            }
            #[inline(always)]
            fn is_structural_zero(&self) -> bool {
                <$T as $crate::peers::PeerScalar>::is_structural_zero(self)
            }
            #[inline(always)]
            fn apply(&self, f: $crate::real::Unary) -> Self {
                use $crate::peers::PeerScalar as P;
                use $crate::real::Unary;
                match f {
                    Unary::Sin => P::sin(self),
                    Unary::Cos => P::cos(self),
                    Unary::Tan => P::tan(self),
                    Unary::Exp => P::exp(self),
                    Unary::Ln => P::ln(self),
                    Unary::Sqrt => P::sqrt(self),
                    Unary::Tanh => P::tanh(self),
                    Unary::Abs => P::abs(self),
                    f => P::elementary(self, f),
                }
            }
            #[inline(always)]
            fn apply2(&self, other: &Self, f: $crate::real::Binary) -> Self {
                use $crate::peers::PeerScalar as P;
                use $crate::real::Binary;
                match f {
                    Binary::Powf => P::powf(self, other),
                    Binary::Atan2 => P::atan2(self, other),
                    Binary::Hypot => P::hypot(self, other),
                }
            }
            #[inline(always)]
            fn powi(&self, n: i32) -> Self {
                <$T as $crate::peers::PeerScalar>::powi(self, n)
            }
        }
        impl<'a> ::std::iter::Sum<&'a $T> for $T {
            fn sum<I: Iterator<Item = &'a $T>>(iter: I) -> $T {
                iter.fold(<$T as $crate::peers::PeerScalar>::constant(0.0), |acc, x| {
                    <$T as $crate::peers::PeerScalar>::add(&acc, x)
                })
            }
        }
        impl<'a> ::std::iter::Product<&'a $T> for $T {
            fn product<I: Iterator<Item = &'a $T>>(iter: I) -> $T {
                iter.fold(<$T as $crate::peers::PeerScalar>::constant(1.0), |acc, x| {
                    <$T as $crate::peers::PeerScalar>::mul(&acc, x)
                })
            }
        }
        impl ::std::ops::Add<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn add(self, rhs: $T) -> $T {
                <$T as $crate::peers::PeerScalar>::add_f64(&rhs, self)
            }
        }
        impl ::std::ops::Sub<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn sub(self, rhs: $T) -> $T {
                <$T as $crate::peers::PeerScalar>::add_f64(&<$T as $crate::peers::PeerScalar>::neg(&rhs), self)
            }
        }
        impl ::std::ops::Mul<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn mul(self, rhs: $T) -> $T {
                <$T as $crate::peers::PeerScalar>::mul_f64(&rhs, self)
            }
        }
        impl ::std::ops::Div<$T> for f64 {
            type Output = $T;
            #[inline(always)]
            fn div(self, rhs: $T) -> $T {
                let c = <$T as $crate::peers::PeerScalar>::constant(self);
                <$T as $crate::peers::PeerScalar>::div(&c, &rhs)
            }
        }
    };
    (@op $T:ty, $Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident, $by_ref:ident, $by_f64:ident) => {
        impl ::std::ops::$Op for $T {
            type Output = $T;
            #[inline(always)]
            fn $op(self, rhs: $T) -> $T {
                <$T as $crate::peers::PeerScalar>::$by_ref(&self, &rhs)
            }
        }
        impl ::std::ops::$Op<f64> for $T {
            type Output = $T;
            #[inline(always)]
            fn $op(self, rhs: f64) -> $T {
                <$T as $crate::peers::PeerScalar>::$by_f64(&self, rhs)
            }
        }
        impl ::std::ops::$OpAssign for $T {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: $T) {
                *self = <$T as $crate::peers::PeerScalar>::$by_ref(self, &rhs);
            }
        }
        impl ::std::ops::$OpAssign<f64> for $T {
            #[inline(always)]
            fn $op_assign(&mut self, rhs: f64) {
                *self = <$T as $crate::peers::PeerScalar>::$by_f64(self, rhs);
            }
        }
    };
}

#[allow(unused_imports)]
pub(crate) use impl_real_for_peer;
