//! `peer-echidna`: [echidna](https://crates.io/crates/echidna) 0.15 (built with
//! `default-features = false`: no simba, no bytecode tape, no GPU), its eager reverse mode as a
//! dualbench strategy.
//!
//! # Representation
//!
//! A scalar is an [`EchidnaReal`], a newtype around the crate's reverse-mode variable
//! `echidna::Reverse<f64>`: the primal value and a `u32` tape index (`u32::MAX`,
//! `echidna::tape::CONSTANT`, for a constant), `Copy`, 16 bytes. The tape is an
//! `echidna::tape::Tape<f64>`, an Adept-style two-stack tape (statements; precomputed
//! multipliers and operand indices). The crate finds it through its own thread-local
//! active-tape pointer, which the RAII `echidna::tape::TapeGuard` installs (and restores to the
//! previous tape on drop). Every operation on a `Reverse` — constants included — pushes one
//! statement with its local partials onto the active tape; only the active operands get an
//! operand entry. Each [`PeerEchidna`] method calls the crate's own operation: its `+ - * /` and
//! `Neg` on `Reverse<f64>`, its mixed `Reverse<f64> op f64` (one unary statement), and its
//! `num_traits::Float` implementation for every elementary function of [`Real`](crate::Real)
//! but `erf` (`sin`, `powi`, `powf`, `asin`, `atan2`, `hypot`, ...; reached through the
//! `echidna::Float` bound, as dualbench does not depend on num-traits itself). echidna has no
//! `erf`: it is one statement pushed with the crate's `Tape::push_unary` on the active tape, as
//! its own functions push theirs, with dualbench's derivative.
//!
//! # How the driver uses the crate
//!
//! The driver is the body of `echidna::vjp` written out with the crate's public tape API, so
//! that the tape is retained between gradients (as the crate's own private tape pool does) and
//! nothing of ours is allocated per gradient:
//!
//! 1. take this thread's retained tape, or `Tape::with_capacity(10 n)` the first time (the
//!    estimate `echidna::vjp` uses);
//! 2. register each input with `Tape::new_variable` (indices 0..n) and wrap it with
//!    `Reverse::from_tape`;
//! 3. `TapeGuard::new(&mut tape)` makes it the active tape; evaluate the program; drop the
//!    guard (also on unwind);
//! 4. seed the outputs that are on the tape (index not `CONSTANT`) with their cotangents and
//!    run `Tape::reverse_seeded`, which accumulates repeated seeds, allocates the adjoint vector
//!    (one entry per tape variable) and sweeps the statements once;
//! 5. the gradient is the first n adjoints; `Tape::clear` resets the tape (keeping its
//!    capacity) and it is put back for the next gradient.
//!
//! [`PeerEchidna::release_memory`] drops the retained tape, for a cold-memory measurement.
//!
//! # Cost
//!
//! O(T): one statement per operation, one sweep. Cost class linear. Besides the tape, each
//! gradient allocates (inside `reverse_seeded`) an adjoint vector with one entry per variable.
//!
//! # Counters
//!
//! - `tape_variables`: the length of the adjoint vector `reverse_seeded` returns, i.e. the
//!   variables on the tape: the n inputs plus one per recorded statement — every operation
//!   the program performed on an echidna scalar, constants included.
//!
//! # Limitations
//!
//! - **No operation outside a gradient.** Every operation goes through the crate's
//!   `with_active_tape`, which panics with "No active tape" when no tape is active — also
//!   for an operation on constants only (`EchidnaReal::constant(2.0).exp()` outside a
//!   gradient panics). Inside a gradient an operation on constants records a statement with no
//!   operands (it costs a tape variable, no sweep work).
//! - **Nested gradients run, unchecked.** A gradient started inside the program of another
//!   gets a fresh tape and the guard restores the outer tape afterwards, so it computes the
//!   right result (tested in `strategies/tests/deep_chain.rs`); but a value of the outer gradient used inside the inner one
//!   is not detected: its index is read on the inner tape. Stale values from a finished
//!   gradient are likewise unchecked (an index past the tape's end panics in the sweep, one
//!   inside it silently routes its adjoint to an unrelated variable). dualbench's
//!   [`Program`] contract forbids keeping active values, so the workloads never do this.
//! - **Threads.** The tape and the active pointer are thread-local: gradients on different
//!   threads are independent (no lock). [`EchidnaReal`] does not implement
//!   [`ParReal`](crate::ParReal), so fork-join programs do not run under this peer.
//! - **NaN rules.** The sweep skips a zero adjoint and a zero multiplier, so a zero partial
//!   times an infinite adjoint contributes 0, as dualbench's
//!   [`partials::times`] does. Its local rules are its own:
//!   `ln` has a NaN derivative below 0, `abs` derivative 0 at 0, `tan` and `tanh` use
//!   1 / cos^2 and 1 / cosh^2, and `powf` with a constant integer exponent becomes `powi`.
//! - **Depth.** Recording and the sweep are loops over flat vectors and `Reverse` is `Copy`
//!   with no destructor: a 10^6-operation chain differentiates on the default 2 MiB
//!   test-thread stack (tested in `strategies/tests/deep_chain.rs`).
//! - Tape variable indices are `u32`; the crate only checks the overflow in debug builds.
//!
//! # Licence
//!
//! echidna is dual-licensed MIT OR Apache-2.0.

use std::cell::Cell;

use echidna::tape::{with_active_tape, Tape, TapeGuard, CONSTANT};
use echidna::{Reverse, Scalar};
use smallvec::SmallVec;

use crate::peers::PeerScalar;
use crate::program::{check_lengths, Derivatives, Probe, Program, Strategy};
use crate::real::{partials, Unary};

/// The active scalar of `peer-echidna`: echidna's reverse-mode `Reverse<f64>`, recording on the
/// thread's active echidna tape.
#[derive(Clone, Copy, Debug)]
pub struct EchidnaReal(Reverse<f64>);

/// echidna's elementary functions are its `num_traits::Float` implementation for `Reverse`;
/// these forward to it through the `echidna::Float` bound (whose supertrait it is).
mod elementary {
    use echidna::Float;

    use crate::real::Unary;

    #[inline(always)]
    pub(super) fn sin<T: Float>(x: T) -> T {
        x.sin()
    }
    #[inline(always)]
    pub(super) fn cos<T: Float>(x: T) -> T {
        x.cos()
    }
    #[inline(always)]
    pub(super) fn tan<T: Float>(x: T) -> T {
        x.tan()
    }
    #[inline(always)]
    pub(super) fn exp<T: Float>(x: T) -> T {
        x.exp()
    }
    #[inline(always)]
    pub(super) fn ln<T: Float>(x: T) -> T {
        x.ln()
    }
    #[inline(always)]
    pub(super) fn sqrt<T: Float>(x: T) -> T {
        x.sqrt()
    }
    #[inline(always)]
    pub(super) fn tanh<T: Float>(x: T) -> T {
        x.tanh()
    }
    #[inline(always)]
    pub(super) fn powi<T: Float>(x: T, n: i32) -> T {
        x.powi(n)
    }
    #[inline(always)]
    pub(super) fn powf<T: Float>(x: T, p: T) -> T {
        x.powf(p)
    }
    #[inline(always)]
    pub(super) fn abs<T: Float>(x: T) -> T {
        x.abs()
    }
    /// The crate's own `f`: every one-operand function but `erf`, which it does not have.
    #[inline(always)]
    pub(super) fn named<T: Float>(x: T, f: Unary) -> Option<T> {
        Some(match f {
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
            Unary::Recip => x.recip(),
            Unary::Erf => return None,
        })
    }
    #[inline(always)]
    pub(super) fn atan2<T: Float>(y: T, x: T) -> T {
        y.atan2(x)
    }
    #[inline(always)]
    pub(super) fn hypot<T: Float>(x: T, y: T) -> T {
        x.hypot(y)
    }
}

impl PeerScalar for EchidnaReal {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        EchidnaReal(Reverse::constant(value))
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        Scalar::value(&self.0)
    }
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        EchidnaReal(self.0 + rhs.0)
    }
    #[inline(always)]
    fn sub(&self, rhs: &Self) -> Self {
        EchidnaReal(self.0 - rhs.0)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        EchidnaReal(self.0 * rhs.0)
    }
    #[inline(always)]
    fn div(&self, rhs: &Self) -> Self {
        EchidnaReal(self.0 / rhs.0)
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        EchidnaReal(-self.0)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        EchidnaReal(self.0 + c)
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        EchidnaReal(self.0 - c)
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        EchidnaReal(self.0 * c)
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        EchidnaReal(self.0 / c)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        EchidnaReal(elementary::sin(self.0))
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        EchidnaReal(elementary::cos(self.0))
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        EchidnaReal(elementary::tan(self.0))
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        EchidnaReal(elementary::exp(self.0))
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        EchidnaReal(elementary::ln(self.0))
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        EchidnaReal(elementary::sqrt(self.0))
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        EchidnaReal(elementary::tanh(self.0))
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        EchidnaReal(elementary::powi(self.0, n))
    }
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        EchidnaReal(elementary::powf(self.0, p.0))
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        EchidnaReal(elementary::abs(self.0))
    }
    /// A constant of echidna is a `Reverse` with index `CONSTANT` (an operation on constants
    /// inside a gradient is on the tape, without operands, and is not one).
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        self.0.index() == CONSTANT && PeerScalar::value(self) == 0.0
    }
    /// The crate's own function (its `num_traits::Float`); `erf`, which echidna lacks, is one
    /// statement pushed with the crate's public `Tape::push_unary` on the active tape (exactly
    /// what its own unary functions do) with dualbench's derivative.
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        elementary::named(self.0, f).map_or_else(
            || {
                let v = PeerScalar::value(self);
                let y = f.value(v);
                let d = partials::unary(f, &v, &y);
                let index =
                    with_active_tape(|tape: &mut Tape<f64>| tape.push_unary(self.0.index(), d));
                EchidnaReal(Reverse::from_tape(y, index))
            },
            EchidnaReal,
        )
    }
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        EchidnaReal(elementary::atan2(self.0, x.0))
    }
    #[inline(always)]
    fn hypot(&self, y: &Self) -> Self {
        EchidnaReal(elementary::hypot(self.0, y.0))
    }
}

crate::peers::impl_real_for_peer!(EchidnaReal);

/// What a thread keeps between gradients: its echidna tape (cleared after each gradient) and
/// the buffer of lifted inputs.
struct Retained {
    tape: Tape<f64>,
    inputs: Vec<EchidnaReal>,
}

thread_local! {
    /// This thread's retained tape; taken out for the duration of one gradient.
    static RETAINED: Cell<Option<Retained>> = const { Cell::new(None) };
}

/// echidna's eager reverse mode: `Reverse<f64>` on a retained thread-local Adept-style tape.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerEchidna;

impl PeerEchidna {
    /// Drops this thread's retained echidna tape, so that the next gradient starts from a fresh
    /// `Tape::with_capacity` (for measuring the memory of a cold gradient). Between gradients
    /// the tape is only cleared, so a thread otherwise keeps the largest recording's buffers.
    pub fn release_memory() {
        RETAINED.with(|retained| retained.set(None));
    }
}

impl Strategy for PeerEchidna {
    const NAME: &'static str = "peer-echidna";
    const DESCRIPTION: &'static str =
        "echidna 0.15: Reverse<f64> on a reused thread-local Adept-style tape, one sweep: O(T)";
    const COUNTERS: &'static [&'static str] = &["tape_variables"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        probe.forward_starts();
        let Retained {
            mut tape,
            mut inputs,
        } = RETAINED.take().unwrap_or_else(|| Retained {
            tape: Tape::with_capacity(10 * x.len()),
            inputs: Vec::new(),
        });
        inputs.clear();
        inputs.extend(x.iter().map(|&v| {
            let (index, value) = tape.new_variable(v);
            EchidnaReal(Reverse::from_tape(value, index))
        }));
        let guard = TapeGuard::new(&mut tape);
        let outputs = program.eval(&inputs);
        drop(guard);

        probe.reverse_starts();
        if outputs.len() != cotangent.len() {
            panic!(
                "cotangent has length {} but the program returned {} outputs",
                cotangent.len(),
                outputs.len()
            );
        }
        let seeds: SmallVec<[(u32, f64); 4]> = outputs
            .iter()
            .zip(cotangent)
            .filter(|(y, _)| y.0.index() != CONSTANT)
            .map(|(y, &w)| (y.0.index(), w))
            .collect();
        let adjoints = tape.reverse_seeded(&seeds);
        out.value.clear();
        out.value.extend(outputs.iter().map(PeerScalar::value));
        out.derivative.extend_from_slice(&adjoints[..x.len()]);
        let variables = adjoints.len() as u64;
        drop(adjoints);
        tape.clear();
        RETAINED.set(Some(Retained { tape, inputs }));
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("tape_variables", variables)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::test_programs::{MixedConstants, Quadratic, RepeatedOutput, Shared};
    use crate::Real;

    #[test]
    fn gradient_of_a_small_program_is_its_closed_form() {
        let (a, b) = (0.7, -1.3);
        let r = PeerEchidna::vjp(&Quadratic, &[a, b], &[1.0]);
        assert_eq!(r.value, vec![a * a * b + a.sin()]);
        let g = r.gradient.unwrap();
        assert!((g[0] - (2.0 * a * b + a.cos())).abs() < 1e-15);
        assert_eq!(g[1], a * a);
        // Two inputs, square, mul, sin, add.
        assert_eq!(r.counters.get("tape_variables"), Some(6));
    }

    #[test]
    fn gradients_in_a_row_do_not_see_a_stale_tape() {
        let first = PeerEchidna::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        let other = PeerEchidna::vjp(&Quadratic, &[0.3, 0.4], &[2.0]);
        let again = PeerEchidna::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(first.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(again.gradient, first.gradient);
        assert_eq!(again.counters, first.counters);
        assert_eq!(other.gradient.unwrap()[1], 2.0 * 0.3 * 0.3);
    }

    #[test]
    fn mixed_constant_arithmetic_records_unary_statements() {
        let r = PeerEchidna::vjp(&MixedConstants, &[0.9], &[1.0]);
        assert_eq!(r.gradient, Some(vec![0.75 + 0.5]));
        let expected = ((0.9 + 2.0) * 3.0 - 1.0) / 4.0 + 0.45 - 2f64.exp();
        assert!((r.value[0] - expected).abs() < 1e-15);
        // The input, four mixed operations, the product with a constant, the sum, exp of a
        // constant (recorded, with no operand) and the difference.
        assert_eq!(r.counters.get("tape_variables"), Some(9));
    }

    #[test]
    fn repeated_outputs_accumulate_their_cotangents() {
        let x = 0.4f64;
        let r = PeerEchidna::vjp(&RepeatedOutput, &[x], &[2.0, 3.0, 5.0]);
        assert_eq!(r.gradient, Some(vec![5.0 * x.cos()]));
        let j = PeerEchidna::jacobian(&RepeatedOutput, &[x]);
        assert_eq!(j.rows, Some(vec![vec![x.cos()], vec![x.cos()], vec![0.0]]));
    }

    /// f(x) = x g with g = d/dx of the quadratic at (x, 1) = 2 x + cos x, computed by a gradient
    /// inside the program: g is a constant of the outer program, so the gradient is g.
    struct Nested;
    impl Program for Nested {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let inner = PeerEchidna::vjp(&Quadratic, &[x[0].value(), 1.0], &[1.0]);
            let g = inner.gradient.unwrap()[0];
            // The outer tape is active again: x is still usable.
            outputs![x[0].clone() * g]
        }
    }

    #[test]
    fn a_nested_gradient_restores_the_outer_tape() {
        let a = 0.5f64;
        let r = PeerEchidna::vjp(&Nested, &[a], &[1.0]);
        // The inner gradient is a constant of the outer program.
        assert_eq!(r.gradient, Some(vec![2.0 * a + a.cos()]));
    }

    #[test]
    #[should_panic(expected = "No active tape")]
    fn an_operation_outside_a_gradient_panics() {
        let _ = Real::exp(&<EchidnaReal as Real>::constant(2.0));
    }
}
