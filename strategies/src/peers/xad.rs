//! `peer-xad`: [xad-rs](https://crates.io/crates/xad-rs) 1.0, an independent Rust
//! implementation of the C++ XAD operator-overloading tape, as a dualbench strategy.
//!
//! # Representation
//!
//! A scalar is an [`XadReal`], a newtype around the crate's reverse-mode active real
//! `xad_rs::AReal<f64>`: the primal value and a `u32` tape slot (`u32::MAX` for a constant),
//! `Copy`. The tape is an `xad_rs::Tape<f64>`, a handle to heap-allocated recording buffers
//! (one 4-byte statement per variable, a stream of (multiplier, slot) operands, and an adjoint
//! array materialised for the sweep). The crate finds the tape to record on through its own
//! thread-local *active-tape* pointer: every operation on an `AReal` with an active operand
//! pushes its local partials onto the active tape; an operation whose operands are all
//! constants records nothing and yields a constant. Each [`PeerXad`] method calls the crate's
//! own operation — its `+ - * /` on `AReal`, its mixed `AReal op f64` (recorded as one
//! unary statement), its `Neg` and `f64 / AReal` (for `recip`), and its `xad_rs::math::ad`
//! functions: every elementary function of [`Real`](crate::Real) (`sin` ... `erf`, `atan2`,
//! `hypot`, `powi`, `pow`) — so what is measured is the crate's recording and reverse sweep.
//!
//! # How the driver uses the crate
//!
//! The driver follows the crate's documented loop for many valuations on one retained tape
//! (`Tape::record`, as in `xad_rs::compute_gradient_rev_with`), keeping one tape per thread
//! in a thread-local of ours between gradients:
//!
//! 1. take this thread's retained tape (or `Tape::<f64>::new(true)` the first time) and call
//!    `tape.record()`: `new_recording` (clears the buffers, keeps their capacity) plus
//!    `activate_guard`, an RAII guard that deactivates the tape on drop, also on unwind;
//! 2. lift each input with `AReal::input(value, &mut tape)` (a registered input slot);
//! 3. evaluate the program on the lifted inputs (recording);
//! 4. for each output, `AReal::register_output` (a no-op for a recorded value; a fresh slot
//!    for a constant output), then seed it with `set_adjoint(&mut tape, adjoint + w)`, reading
//!    the current adjoint first with `AReal::adjoint`, because `set_adjoint` *sets* and two
//!    outputs may be the same variable;
//! 5. `tape.compute_adjoints()`, one backward sweep over the statements;
//! 6. read the gradient with `AReal::adjoint(&tape)` on each input, drop the guard
//!    (deactivating the tape) and put the tape back for the next gradient; its buffers are
//!    reset by the next `record()`.
//!
//! [`PeerXad::release_memory`] drops the retained tape, for a cold-memory measurement.
//!
//! # Cost
//!
//! O(T): one statement (and one or two operands) per active operation, one sweep over the
//! statements. Cost class linear.
//!
//! # Counters
//!
//! - `tape_statements`: `Tape::num_statements` after the sweep: one per variable on the
//!   tape, i.e. the n inputs, every recorded operation, and one per constant output.
//! - `tape_operands`: `Tape::num_operations`: the (multiplier, slot) operands recorded,
//!   one per active operand of every recorded operation.
//!
//! # Limitations
//!
//! - **Nested gradients are not supported.** The crate allows one active tape per thread
//!   ("recordings do not nest"): a gradient started inside the program of another panics in
//!   `Tape::activate` with "A tape is already active on this thread".
//! - **Stale values are not detected reliably.** An `AReal` kept from an earlier gradient
//!   carries a slot of a cleared recording: used in a later gradient it either panics in the
//!   sweep ("operand slot ... is not on this recording") or, if the slot happens to be in
//!   range, silently routes its adjoint to an unrelated variable (the crate's documented
//!   behaviour). Outside any gradient an operation on it records nothing and yields a
//!   constant. dualbench's [`Program`] contract forbids keeping active values, so the
//!   workloads never do this.
//! - **Threads.** The tape and the active-tape pointer are thread-local, so gradients on
//!   different threads are independent (no lock); [`XadReal`] does not implement
//!   [`ParReal`](crate::ParReal), so fork-join programs do not run under this peer.
//! - **Derivative rules differ from dualbench's at kinks and infinities.** `abs` has
//!   derivative +1 at 0 (the crate's documented sub-gradient; dualbench takes 0). The sweep
//!   skips a zero adjoint but multiplies a zero partial by an infinite adjoint, so where
//!   dualbench's [`partials::times`](crate::real::partials::times) gives 0 the crate gives
//!   NaN: `sqrt(x * 0.0)` at x = 1 has gradient NaN under this peer, 0 under `tape` (the
//!   partial 0 of `* 0.0` meets the infinite partial of `sqrt` at 0). `powi(i32::MIN)`
//!   computes its partial as `n * x.powi(n - 1)`, whose `n - 1` overflows `i32`: "attempt to
//!   subtract with overflow" when overflow checks are on (debug and test builds); in release
//!   builds the exponent wraps to `i32::MAX`, which is right at x = 1 only (x = 2 gives -inf
//!   instead of -0, x = 0.5 gives 0 instead of -inf).
//! - **Depth.** Recording, the sweep and releasing the tape are all loops over flat buffers
//!   and `AReal` is `Copy` with no destructor: a 10^6-operation chain differentiates on the
//!   default 2 MiB test-thread stack (tested in `strategies/tests/deep_chain.rs`).
//! - A tape holds at most 2^30 variables (the crate asserts it).
//!
//! # Licence
//!
//! xad-rs is MIT-licensed.

use std::cell::Cell;

use xad_rs::{math, AReal, Tape};

use crate::peers::{composed, PeerScalar};
use crate::program::{check_lengths, Derivatives, Probe, Program, Strategy};
use crate::real::Unary;

/// The active scalar of `peer-xad`: xad-rs's reverse-mode `AReal<f64>`, recording on the
/// thread's active xad tape.
#[derive(Clone, Copy, Debug)]
pub struct XadReal(AReal<f64>);

impl PeerScalar for XadReal {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        XadReal(AReal::new(value))
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.0.value()
    }
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        XadReal(self.0 + rhs.0)
    }
    #[inline(always)]
    fn sub(&self, rhs: &Self) -> Self {
        XadReal(self.0 - rhs.0)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        XadReal(self.0 * rhs.0)
    }
    #[inline(always)]
    fn div(&self, rhs: &Self) -> Self {
        XadReal(self.0 / rhs.0)
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        XadReal(-self.0)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        XadReal(self.0 + c)
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        XadReal(self.0 - c)
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        XadReal(self.0 * c)
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        XadReal(self.0 / c)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        XadReal(math::ad::sin(&self.0))
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        XadReal(math::ad::cos(&self.0))
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        XadReal(math::ad::tan(&self.0))
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        XadReal(math::ad::exp(&self.0))
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        XadReal(math::ad::ln(&self.0))
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        XadReal(math::ad::sqrt(&self.0))
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        XadReal(math::ad::tanh(&self.0))
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        XadReal(math::ad::powi(&self.0, n))
    }
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        XadReal(math::ad::pow(&self.0, &p.0))
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        XadReal(math::ad::abs(&self.0))
    }
    /// A constant of xad-rs is an `AReal` without tape slot.
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        !self.0.should_record() && self.0.value() == 0.0
    }
    /// Every one of them is the crate's own `math::ad` function (`recip` is its `f64 / AReal`).
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        let x = &self.0;
        XadReal(match f {
            Unary::Asin => math::ad::asin(x),
            Unary::Acos => math::ad::acos(x),
            Unary::Atan => math::ad::atan(x),
            Unary::Sinh => math::ad::sinh(x),
            Unary::Cosh => math::ad::cosh(x),
            Unary::Asinh => math::ad::asinh(x),
            Unary::Acosh => math::ad::acosh(x),
            Unary::Atanh => math::ad::atanh(x),
            Unary::Ln1p => math::ad::ln_1p(x),
            Unary::ExpM1 => math::ad::exp_m1(x),
            Unary::Log2 => math::ad::log2(x),
            Unary::Log10 => math::ad::log10(x),
            Unary::Exp2 => math::ad::exp2(x),
            Unary::Cbrt => math::ad::cbrt(x),
            Unary::Erf => math::ad::erf(x),
            Unary::Recip => 1.0 / *x,
            f => return composed(self, f),
        })
    }
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        XadReal(math::ad::atan2(&self.0, &x.0))
    }
    #[inline(always)]
    fn hypot(&self, y: &Self) -> Self {
        XadReal(math::ad::hypot(&self.0, &y.0))
    }
}

crate::peers::impl_real_for_peer!(XadReal);

/// What a thread keeps between gradients: its xad tape (reset by `Tape::record`) and the
/// buffer of lifted inputs.
struct Retained {
    tape: Tape<f64>,
    inputs: Vec<XadReal>,
}

thread_local! {
    /// This thread's retained tape; taken out for the duration of one gradient.
    static RETAINED: Cell<Option<Retained>> = const { Cell::new(None) };
}

/// xad-rs's reverse mode: `AReal<f64>` recorded on a retained thread-local `Tape`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerXad;

impl PeerXad {
    /// Drops this thread's retained xad tape, so that the next gradient starts from a fresh
    /// `Tape::new` (for measuring the memory of a cold gradient). Between gradients the tape is
    /// only reset, so a thread otherwise keeps the largest recording's buffers.
    pub fn release_memory() {
        RETAINED.with(|retained| retained.set(None));
    }
}

impl Strategy for PeerXad {
    const NAME: &'static str = "peer-xad";
    const DESCRIPTION: &'static str =
        "xad-rs 1.0: AReal on a reused thread-local Tape, one compute_adjoints sweep: O(T)";
    const COUNTERS: &'static [&'static str] = &["tape_statements", "tape_operands"];

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
            tape: Tape::new(true),
            inputs: Vec::new(),
        });
        // A fresh recording on the retained buffers, active until `recording` drops (also on
        // unwind). Panics if a tape is already active on this thread (a nested gradient).
        let recording = tape.record();
        inputs.clear();
        inputs.extend(x.iter().map(|&v| XadReal(AReal::input(v, &mut tape))));
        let outputs = program.eval(&inputs);

        probe.reverse_starts();
        if outputs.len() != cotangent.len() {
            panic!(
                "cotangent has length {} but the program returned {} outputs",
                cotangent.len(),
                outputs.len()
            );
        }
        for (output, &w) in outputs.iter().zip(cotangent) {
            let mut y = output.0;
            AReal::register_output(std::slice::from_mut(&mut y), &mut tape);
            // `set_adjoint` overwrites: accumulate, in case two outputs are one variable.
            let seed = y.adjoint(&tape) + w;
            y.set_adjoint(&mut tape, seed);
        }
        tape.compute_adjoints();
        out.value.clear();
        out.value.extend(outputs.iter().map(|y| y.0.value()));
        out.derivative
            .extend(inputs.iter().map(|input| input.0.adjoint(&tape)));
        drop(recording);
        let (statements, operands) = (tape.num_statements() as u64, tape.num_operations() as u64);
        RETAINED.set(Some(Retained { tape, inputs }));
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("tape_statements", statements), ("tape_operands", operands)]);
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
        let r = PeerXad::vjp(&Quadratic, &[a, b], &[1.0]);
        assert_eq!(r.value, vec![a * a * b + a.sin()]);
        let g = r.gradient.unwrap();
        assert!((g[0] - (2.0 * a * b + a.cos())).abs() < 1e-15);
        assert_eq!(g[1], a * a);
        // Two inputs, square, mul, sin, add.
        assert_eq!(r.counters.get("tape_statements"), Some(6));
        assert_eq!(r.counters.get("tape_operands"), Some(7));
    }

    #[test]
    fn gradients_in_a_row_do_not_see_a_stale_tape() {
        let first = PeerXad::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        let other = PeerXad::vjp(&Quadratic, &[0.3, 0.4], &[2.0]);
        let again = PeerXad::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(first.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(again.gradient, first.gradient);
        assert_eq!(again.counters, first.counters);
        assert_eq!(other.gradient.unwrap()[1], 2.0 * 0.3 * 0.3);
    }

    #[test]
    fn mixed_constant_arithmetic_records_unary_statements() {
        let r = PeerXad::vjp(&MixedConstants, &[0.9], &[1.0]);
        assert_eq!(r.gradient, Some(vec![0.75 + 0.5]));
        let expected = ((0.9 + 2.0) * 3.0 - 1.0) / 4.0 + 0.45 - 2f64.exp();
        assert!((r.value[0] - expected).abs() < 1e-15);
        // The input, four mixed operations, the product with a constant, the sum and the
        // difference with a constant: the constants themselves record nothing.
        assert_eq!(r.counters.get("tape_statements"), Some(8));
        assert_eq!(r.counters.get("tape_operands"), Some(8));
    }

    #[test]
    fn repeated_outputs_accumulate_their_cotangents() {
        let x = 0.4f64;
        let r = PeerXad::vjp(&RepeatedOutput, &[x], &[2.0, 3.0, 5.0]);
        assert_eq!(r.gradient, Some(vec![5.0 * x.cos()]));
        let j = PeerXad::jacobian(&RepeatedOutput, &[x]);
        assert_eq!(j.rows, Some(vec![vec![x.cos()], vec![x.cos()], vec![0.0]]));
    }

    /// Recordings do not nest in xad-rs.
    struct Nested;
    impl Program for Nested {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let inner = PeerXad::vjp(&Quadratic, &[x[0].value(), 1.0], &[1.0]);
            outputs![x[0].clone() * inner.value[0]]
        }
    }

    #[test]
    #[should_panic(expected = "already active")]
    fn a_nested_gradient_panics() {
        PeerXad::vjp(&Nested, &[0.5], &[1.0]);
    }
}
