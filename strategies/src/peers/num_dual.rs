//! `peer-num-dual`: the [`num-dual`](https://crates.io/crates/num-dual) crate, version 0.15,
//! as a chunked vector-tangent forward-mode strategy, [`LANES`] directions per pass.
//!
//! # The crate's active scalar
//!
//! num-dual's vector dual number `DualSVec64<N> = DualVec<f64, Const<N>>` holds a value `re`
//! and a derivative part `eps: Derivative<f64, Const<N>, U1>`, which is an
//! `Option<SVector<f64, N>>` (nalgebra): `None` for a value that depends on none of the N
//! seeded directions, so constants and values computed from unseeded inputs carry no vector
//! at all and their operations skip the tangent arithmetic. It is `Copy` plain data; there is
//! no tape and no global or thread-local state. [`NumDualReal`] wraps a `DualSVec64<8>`, and
//! each [`PeerScalar`] method calls the crate's own operation: `a + b`, `a * b` (its
//! product rule), `a + f64` / `a * f64` (its mixed operations with an `f64` constant, which
//! leave or scale `eps`), `DualNum::sin`, `DualNum::powi`, `DualNum::powf` / `DualNum::powd`,
//! `DualNum::asin`, `DualNum::atan2`, ... (every elementary function but `erf` and `hypot`),
//! and its `num_traits::Signed::abs`. `hypot` is `sqrt(x^2 + y^2)` from the crate's operations
//! (what its nalgebra `hypot` computes); `erf`, which num-dual lacks, is its chain rule written
//! with its public constructor (`DualVec::new(erf(re), eps * erf'(re))`).
//!
//! `powf` with an active exponent calls `DualNum::powd` (the crate's "power with dual
//! exponent", `exp(ln(x) * p)`); when the exponent carries no derivative part (a constant,
//! or an input outside the pass's chunk) it calls `DualNum::powf(x, p.re)`, the crate's "power
//! with real exponent", as a num-dual user would for a constant exponent. The distinction
//! matters at x < 0: `x.powf(&constant(2.0))` is 4 at x = -2 with `powf`, NaN with `powd`.
//!
//! # How the driver uses it
//!
//! The n inputs are split into ceil(n / [`LANES`]) chunks, as in [`crate::forward_vec`]. All
//! inputs are lifted once with `DualSVec64::from_re(x_i)` (no derivative part); the pass for
//! chunk c seeds input c * LANES + l with `DualSVec64::from_re(x_i).derivative(l)` (the crate's
//! API for setting "the derivative part of variable `index` to 1"; a last partial chunk seeds
//! fewer inputs), evaluates the program, reads lane l of every output's `eps` (an output with
//! no derivative part has zeros) and lifts the chunk's inputs back with `from_re`. A
//! vector-Jacobian product contracts the lanes with the output cotangent using dualbench's
//! rule [`partials::times`]; [`Strategy::jacobian_into`] fills all m rows from the same
//! passes. Nothing is cleared between gradients because nothing is kept. (The crate's own
//! `num_dual::gradient` pushes all n directions in one pass with an n-wide `DualVec`; a
//! dynamic n would need the heap-allocated `DualDVec64`, which allocates on every operation.)
//!
//! # Cost class
//!
//! Dense: ceil(n / 8) passes of O(8 T) each, O(n T) per gradient like [`crate::forward_vec`]
//! (one pass when n = 0, for the value), with the primal work divided by 8.
//!
//! # Counters
//!
//! - `forward_passes`: program evaluations, ceil(n / 8) (one when n = 0).
//!
//! # Build requirement
//!
//! `DualVec` and its aliases are only compiled with num-dual's `nalgebra` feature (its default
//! feature; nalgebra 0.35 and simba 0.10 are pulled in). The dependency must therefore be
//! declared as `num-dual = { version = "0.15", optional = true, default-features = false,
//! features = ["nalgebra"] }`.
//!
//! # Limitations (found by testing against dualbench's closed forms)
//!
//! - **Stack depth, threads, nesting.** Forward mode records nothing, so a 10^6-operation chain
//!   runs on the default stack (tested in `strategies/tests/deep_chain.rs`); a `DualSVec64` is plain data (`Send + Sync`),
//!   there is no shared state, and a gradient inside a program of another strategy cannot
//!   interfere.
//! - **0 * inf = NaN.** The crate scales a present derivative vector by the local derivative
//!   in every lane, so an infinite or NaN local derivative poisons all 8 lanes of the pass,
//!   also lanes whose tangent is 0 (dualbench's rule gives 0 there). Its `sqrt` computes the
//!   local derivative as `sqrt(x) * (1 / x) * 0.5`, which is NaN (not inf) at x = 0, so
//!   `y * sqrt(z)` at z = 0 gives NaN in every lane of the pass that seeds z, where dualbench
//!   gives (0, inf). An input outside the pass's chunk has no derivative vector and is not
//!   affected.
//! - **`abs` at 0** has derivative +1 at +0.0 and -1 at -0.0 (`Signed::abs` takes the sign
//!   bit); dualbench takes 0.
//! - **`powi(i32::MIN)`** computes `n - 3` in `i32`: it overflows, which panics in a build with
//!   overflow checks (debug and test builds, so dualbench's `powi(i32::MIN)` test panics); a
//!   release build wraps it to `i32::MAX - 2`, so value and derivative are right at x = +-1
//!   only (at x = 2 the value is inf, not 0). `powi` computes the value as
//!   `x^(n-3) * x * x * x`, so for n < 0 it is NaN at x = 0 (inf * 0), not inf.
//! - `tan` and `tanh` are the crate's quotients `sin / cos` and `sinh / cosh`, equal to
//!   dualbench's rules up to rounding.
//!
//! # Licence
//!
//! num-dual is MIT OR Apache-2.0 (nalgebra, which it needs here, is Apache-2.0).

use num_dual::{DualNum, DualSVec64};

use crate::peers::{composed, PeerScalar};
use crate::program::{check_inputs, check_lengths, Derivatives, Outputs, Probe, Program, Strategy};
use crate::real::{partials, Real, Unary};

/// Directions pushed per pass: the width of the crate's tangent vector in [`NumDualReal`].
pub const LANES: usize = 8;

/// The crate's scalar with [`LANES`] tangents.
type Dual8 = DualSVec64<LANES>;

/// num-dual's vector dual number `DualSVec64<8>` (a value and up to 8 tangents) as a
/// [`Real`].
#[derive(Clone, Copy, Debug)]
pub struct NumDualReal(pub DualSVec64<LANES>);

impl NumDualReal {
    /// Lane `lane` of the derivative part: d value / d (the input seeded in that lane), zero
    /// when the value carries no derivative part.
    #[inline]
    pub fn tangent(&self, lane: usize) -> f64 {
        self.0
            .eps
            .0
            .as_ref()
            .map_or(0.0, |eps| eps.as_slice()[lane])
    }
}

/// num-dual's `num_traits::Signed::abs`, reached through `DualNum`'s supertrait bound (the
/// strategies crate does not depend on `num_traits` itself).
#[inline(always)]
fn signed_abs<D: DualNum>(x: &D) -> D {
    x.abs()
}

impl PeerScalar for NumDualReal {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        Self(Dual8::from_re(value))
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.0.re
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
        Self(DualNum::sin(&self.0))
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        Self(DualNum::cos(&self.0))
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        Self(DualNum::tan(&self.0))
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        Self(DualNum::exp(&self.0))
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        Self(DualNum::ln(&self.0))
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        Self(DualNum::sqrt(&self.0))
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        Self(DualNum::tanh(&self.0))
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        Self(DualNum::powi(&self.0, n))
    }
    /// `DualNum::powf` for an exponent without derivative part, `DualNum::powd` otherwise.
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        if p.0.eps.0.is_none() {
            Self(DualNum::powf(&self.0, p.0.re))
        } else {
            Self(DualNum::powd(&self.0, p.0))
        }
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        Self(signed_abs(&self.0))
    }
    /// A value without derivative part (a constant, or a value no seeded input of the pass
    /// reaches) has derivative zero in every direction of the pass.
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        self.0.eps.0.is_none() && self.0.re == 0.0
    }
    /// The crate's own `DualNum` function; `erf`, which num-dual lacks, is the crate's chain
    /// rule written with its public API (`DualVec::new(f(re), eps * f'(re))`, what its own
    /// functions do) with dualbench's derivative.
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        let x = &self.0;
        Self(match f {
            Unary::Asin => DualNum::asin(x),
            Unary::Acos => DualNum::acos(x),
            Unary::Atan => DualNum::atan(x),
            Unary::Sinh => DualNum::sinh(x),
            Unary::Cosh => DualNum::cosh(x),
            Unary::Asinh => DualNum::asinh(x),
            Unary::Acosh => DualNum::acosh(x),
            Unary::Atanh => DualNum::atanh(x),
            Unary::Ln1p => DualNum::ln_1p(x),
            Unary::ExpM1 => DualNum::exp_m1(x),
            Unary::Log2 => DualNum::log2(x),
            Unary::Log10 => DualNum::log10(x),
            Unary::Exp2 => DualNum::exp2(x),
            Unary::Cbrt => DualNum::cbrt(x),
            Unary::Recip => DualNum::recip(x),
            Unary::Erf => {
                let y = f.value(x.re);
                Dual8::new(y, x.eps * partials::unary(f, &x.re, &y))
            }
            f => return composed(self, f),
        })
    }
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        Self(DualNum::atan2(&self.0, x.0))
    }
}

crate::peers::impl_real_for_peer!(NumDualReal);

/// num-dual 0.15 forward mode with `DualSVec64<8>`: ceil(n / 8) passes.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerNumDual;

/// Runs the chunked passes, writing the output values of the first pass into `value`. After
/// each pass calls `lanes(first_input, outputs)`: lane l of the outputs is the derivative with
/// respect to input `first_input + l` (for the lanes below n). Returns the number of passes.
#[inline]
fn run_passes<P, C>(program: &P, x: &[f64], value: &mut Vec<f64>, mut lanes: C) -> u64
where
    P: Program,
    C: FnMut(usize, &[NumDualReal]),
{
    value.clear();
    let passes = x.len().div_ceil(LANES).max(1);
    let mut inputs: Vec<NumDualReal> = x.iter().map(|&v| NumDualReal(Dual8::from_re(v))).collect();
    for pass in 0..passes {
        let chunk = pass * LANES..x.len().min((pass + 1) * LANES);
        for (l, i) in chunk.clone().enumerate() {
            inputs[i].0 = Dual8::from_re(x[i]).derivative(l);
        }
        let outputs: Outputs<NumDualReal> = program.eval(&inputs);
        lanes(chunk.start, &outputs);
        for i in chunk {
            inputs[i].0 = Dual8::from_re(x[i]);
        }
        if pass == 0 {
            value.extend(outputs.iter().map(Real::value));
        }
    }
    passes as u64
}

impl Strategy for PeerNumDual {
    const NAME: &'static str = "peer-num-dual";
    const DESCRIPTION: &'static str =
        "num-dual 0.15: vector dual numbers DualSVec64<8>, ceil(n/8) forward passes: O(n T)";
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
        let n = x.len();
        let start = out.derivative.len();
        out.derivative.resize(start + n, 0.0);
        let (value, gradient) = (&mut out.value, &mut out.derivative[start..]);
        let passes = run_passes(program, x, value, |first, outputs| {
            for (l, g) in gradient[first..n.min(first + LANES)].iter_mut().enumerate() {
                *g = outputs
                    .iter()
                    .zip(cotangent)
                    .map(|(o, &w)| partials::times(o.tangent(l), w))
                    .sum();
            }
        });
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", passes)]);
        }
    }

    /// All m rows from the same ceil(n / 8) passes.
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
        let passes = run_passes(program, x, value, |first, outputs| {
            let last = n.min(first + LANES);
            for (j, o) in outputs.iter().enumerate() {
                let row = &mut rows[j * n + first..j * n + last];
                match o.0.eps.0.as_ref() {
                    Some(eps) => row.copy_from_slice(&eps.as_slice()[..last - first]),
                    None => row.fill(0.0),
                }
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

    /// f(x) = (sum_i (i + 1) x_i^2, x_0 * sin x_(n-1)): closed-form gradients for any n.
    struct WeightedSquares(usize);
    impl Program for WeightedSquares {
        fn input_len(&self) -> usize {
            self.0
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let sum = x
                .iter()
                .enumerate()
                .map(|(i, v)| v.square() * (i as f64 + 1.0))
                .sum();
            outputs![sum, x[0].clone() * x[self.0 - 1].sin()]
        }
    }

    fn point(n: usize) -> Vec<f64> {
        (0..n).map(|i| 0.3 + 0.1 * i as f64).collect()
    }

    #[test]
    fn gradient_spans_a_partial_last_chunk_in_ceil_n_over_8_passes() {
        for n in [1, 7, 8, 9, 17] {
            let x = point(n);
            let r = PeerNumDual::vjp(&WeightedSquares(n), &x, &[1.0, 0.0]);
            let want: Vec<f64> = x
                .iter()
                .enumerate()
                .map(|(i, v)| 2.0 * (i as f64 + 1.0) * v)
                .collect();
            assert_eq!(r.gradient, Some(want), "n = {n}");
            assert_eq!(
                r.counters.get("forward_passes"),
                Some(n.div_ceil(LANES) as u64)
            );
        }
    }

    #[test]
    fn jacobian_fills_every_row_from_the_same_passes() {
        let n = 10;
        let x = point(n);
        let r = PeerNumDual::jacobian(&WeightedSquares(n), &x);
        let rows = r.rows.unwrap();
        let mut second = vec![0.0; n];
        second[0] = x[n - 1].sin();
        second[n - 1] = x[0] * x[n - 1].cos();
        for (got, want) in rows[1].iter().zip(&second) {
            assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        }
        assert_eq!(rows[0][9], 2.0 * 10.0 * x[9]);
        assert_eq!(r.counters.get("forward_passes"), Some(2));
    }

    #[test]
    fn two_gradients_in_a_row_agree() {
        let x = point(12);
        let first = PeerNumDual::vjp(&WeightedSquares(12), &x, &[2.0, -1.0]);
        let second = PeerNumDual::vjp(&WeightedSquares(12), &x, &[2.0, -1.0]);
        assert_eq!(first.value, second.value);
        assert_eq!(first.gradient, second.gradient);
    }

    /// (x + 1.5) * 3 - 0.5, divided by 4, plus constant(2) * x, and x^constant(3):
    /// every mixed operation and the constant-exponent power.
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
            outputs![y + R::constant(2.0) * x[0].clone() + x[0].powf(&R::constant(3.0))]
        }
    }

    #[test]
    fn mixed_constant_arithmetic_scales_the_derivative_only_where_it_should() {
        let a: f64 = -0.6;
        let r = PeerNumDual::vjp(&MixedConstants, &[a], &[1.0]);
        let value = ((a + 1.5) * 3.0 - 0.5) / 4.0 + 2.0 * a + a.powi(3);
        assert!((r.value[0] - value).abs() < 1e-15);
        let g = r.gradient.unwrap()[0];
        assert!((g - (3.0 / 4.0 + 2.0 + 3.0 * a * a)).abs() < 1e-15, "{g}");
    }

    /// exp(2) * 3 + 1, from constants only.
    fn from_constants<R: Real>() -> R {
        R::constant(2.0).exp() * 3.0 + 1.0
    }

    #[test]
    fn constants_carry_no_derivative_vector() {
        let c: NumDualReal = from_constants();
        assert!(c.0.eps.0.is_none());
        assert_eq!(c.tangent(7), 0.0);
    }
}
