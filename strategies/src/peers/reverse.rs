//! `peer-reverse`: the [`reverse`](https://crates.io/crates/reverse) crate, version 0.2
//! (MIT OR Apache-2.0), as a dualbench strategy.
//!
//! # The crate
//!
//! `reverse` is a small zero-dependency Wengert-list crate. Its active scalar is
//! `reverse::Var<'a>`: a primal value, a node index and a *borrowed* `&'a reverse::Tape`. The
//! tape is a `RefCell<Vec<Node>>`, each node holding two dependency indices and two weights
//! (local partials computed during recording). Every operation pushes one node (`a - b` and
//! `a / b` push two: `a + (b * -1)` and `a * recip(b)`; `-a` is `a * -1`); there are no
//! inactive values, so a constant is a leaf node too. `Var::grad` seeds one output with 1 and
//! sweeps the whole tape backwards in a loop, returning one adjoint per node.
//!
//! # How the driver uses it
//!
//! Per gradient ([`PeerReverse`]'s `vjp_into`):
//!
//! 1. take a `Tape` (a reused one, see below) and install it, with a fresh *generation*, in
//!    this thread's state;
//! 2. lift each input with `Tape::add_var` and evaluate the program; every [`ReverseReal`]
//!    operation is the crate's own (`Var + Var`, `Var * f64`, `Var::sin`, `Var::powi`,
//!    `Powf::powf`, `Var::asin`, ...), and [`Real::constant`](crate::Real::constant) is
//!    `Tape::add_var` on the installed tape. The crate lacks `exp_m1`, `atan2` and `hypot`,
//!    which are composed from its operations, and `erf`, which is recorded as its tangent line
//!    with the crate's mixed operations (`docs/peers.md`, "Elementary functions"); its `cbrt`
//!    is `powf(1/3)`, NaN below 0, so `cbrt` is composed too;
//! 3. seed: if exactly one cotangent entry is nonzero and it is 1, that output itself;
//!    otherwise `sum_j w_j y_j` over the nonzero entries, recorded with the crate's `Var * f64`
//!    and `Var + Var` (the crate's only reverse pass seeds one `Var` with 1). With no nonzero
//!    entry the gradient is zero and no pass runs;
//! 4. `Var::grad` on the seed, then `Gradient::wrt` for each input;
//! 5. `Tape::clear` (which keeps the node buffer's capacity) and put the tape back.
//!
//! # No lifetime for workloads: pooled tapes and generations
//!
//! [`Real`](crate::Real) has no lifetime parameter, and a constant needs a tape handle, so a
//! [`ReverseReal`] wraps a `Var<'static>`: its tape is leaked once (`Box::leak`) and then
//! reused forever through a process-wide pool (a mutex-guarded shelf), by whichever thread runs
//! the next gradient. The harness runs each evaluation on a new thread, so a per-thread tape
//! would leak one tape per evaluation; the shelf holds only as many tapes as gradients ever ran
//! at the same time (threads times nesting depth), each at the largest size it reached, for the
//! life of the process. That is the memory price; a gradient never grows a tape it already
//! grew (a warm gradient), and the first gradient of a fresh process (how `dualbench run`
//! measures memory) starts from an empty tape.
//!
//! Every value also carries the generation of the gradient that created it, and every
//! operation checks it against the generation running on this thread before it lets the crate
//! touch the tape: one thread-local read and compare per operation, as dualbench's own `tape`
//! does. Hence, as with `tape`:
//!
//! - gradients in sequence, on several threads, or nested inside a program (each nesting depth
//!   takes its own tape from the shelf) work;
//! - using a value after its gradient returned, or an enclosing gradient's value inside a
//!   nested one, panics with a message naming both generations (reading
//!   [`Real::value`](crate::Real::value) stays allowed);
//! - [`Real::constant`](crate::Real::constant) outside any gradient panics: the crate has no
//!   inactive values, and there is no tape to put the constant on.
//!
//! The check is also what makes the pool sound (`// SAFETY:` on `ShelvedTape`).
//!
//! # Cost and limitations
//!
//! O(T): one node per operation, one sweep over all nodes (also those recorded after the seed
//! and those the seed does not depend on), plus the crate's allocation of one adjoint per node
//! in each `Var::grad`. Both passes are loops and a tape is a flat `Vec` freed without
//! recursion: the test `every_peer_differentiates_a_million_op_chain_on_the_default_stack` (`strategies/tests/deep_chain.rs`) differentiates a
//! 10^6-operation chain on a default 2 MiB test thread, correctly.
//!
//! The crate's local rules, where they differ from dualbench's
//! ([`partials`](crate::real::partials)):
//!
//! - `abs` has partial NaN at 0 (dualbench: 0);
//! - `a / b` is `a * recip(b)` with partial `-1 / b^2`, which overflows to infinity where the
//!   quotient is finite (b = 1e-200); its *value* (and that of `a / c` for a constant) can
//!   differ from `f64` division in the last bit, so a program that branches on a quotient
//!   exactly at a threshold can take the other branch than `f64` does (`dag_property` finds
//!   such programs: a value off by one ulp at `|v| < 0.5`);
//! - `powi(n)` has partial `n * x^(n-1)`: NaN for `n = 0` at `x = 0` (`0 * inf`), and `n - 1`
//!   is computed in `i32`, so `powi(i32::MIN)` overflows (a panic in debug builds, a wrapped
//!   exponent in release builds);
//! - `tan` and `tanh` use `1 / cos^2` and `1 / cosh^2`;
//! - the sweep multiplies every weight by the node's adjoint, with no zero test, and visits the
//!   second dependency of unary nodes and both of leaves with weight 0: an infinite or NaN
//!   partial times a zero adjoint is NaN (`sqrt` at 0 in a direction that does not move it),
//!   and an infinite adjoint reaching a leaf or a unary node becomes NaN (`0 * inf`).
//!
//! # Counters
//!
//! - `tape_nodes`: `Tape::len` when the reverse pass starts: one leaf per input and per
//!   constant, one node per recorded operation (two for `-` and `/`), and the seed's nodes when
//!   the cotangent is combined (step 3).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use reverse::{Gradient, Powf, Tape, Var};

use crate::peers::{atan2_from_atan, composed, linearized, PeerScalar};
use crate::program::{check_lengths, Derivatives, Probe, Program, Strategy};
use crate::real::Unary;

/// The generation of "no gradient running" (never given to a gradient).
const IDLE: u64 = 0;

/// Source of gradient generations, shared by all threads, so that a generation is current on
/// at most one thread, once.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// A leaked tape while it is on the shelf, between two gradients.
struct ShelvedTape(&'static Tape);

// SAFETY: `Tape` keeps its nodes in a `RefCell`, so it is not `Sync` and `&Tape` is not `Send`:
// the compiler cannot see that a tape on the shelf has no other user. It has none:
// (1) a tape leaves the shelf (under the mutex) for exactly one gradient, whose `Session` is
//     then its only user on its only thread until `Session::drop` clears it and puts it back;
// (2) the other references to a tape are the `Var`s inside `ReverseReal` values that a program
//     may keep; every path from such a value into the crate (every `PeerScalar` method except
//     `value`, which reads the `Var`'s own `val` field, and the driver's uses of its outputs)
//     first checks that the value's generation is the one running on the current thread.
//     Generations are unique in the process (`NEXT_GENERATION`) and a generation is running
//     only while its `Session` holds the tape, so a value of a finished gradient panics before
//     its (possibly re-lent) tape is touched; `Debug` prints without the tape;
// (3) the mutex orders the last use of a tape by one gradient before the first use by the
//     next, on whatever thread.
// So no two threads ever access one tape's `RefCell`, which is all `Sync` would have promised.
unsafe impl Send for ShelvedTape {}

/// Tapes between gradients.
static SHELF: Mutex<Vec<ShelvedTape>> = Mutex::new(Vec::new());

thread_local! {
    /// The generation of the gradient running on this thread, or [`IDLE`].
    static GENERATION: Cell<u64> = const { Cell::new(IDLE) };
    /// The tape of the gradient running on this thread.
    static TAPE: Cell<Option<&'static Tape>> = const { Cell::new(None) };
    /// The input buffer of the last gradient, kept for the next one.
    static SPARE_INPUTS: RefCell<Vec<ReverseReal>> = const { RefCell::new(Vec::new()) };
}

/// One gradient's hold on a tape: installs it with a fresh generation, and on drop (also when
/// the program panics) restores the enclosing gradient's state, clears the tape and shelves it.
struct Session {
    generation: u64,
    tape: &'static Tape,
    outer: (u64, Option<&'static Tape>),
}

impl Session {
    fn start() -> Session {
        let shelved = SHELF.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let tape = shelved.map_or_else(|| &*Box::leak(Box::new(Tape::new())), |s| s.0);
        debug_assert!(tape.is_empty(), "a shelved tape is empty");
        let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        let outer = (GENERATION.replace(generation), TAPE.replace(Some(tape)));
        Session {
            generation,
            tape,
            outer,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        GENERATION.set(self.outer.0);
        TAPE.set(self.outer.1);
        self.tape.clear();
        SHELF
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ShelvedTape(self.tape));
    }
}

/// Panics because a value of `generation` was used while `current` runs.
#[cold]
#[inline(never)]
fn foreign_value(generation: u64) -> ! {
    let current = GENERATION.with(Cell::get);
    if current == IDLE {
        panic!(
            "peer-reverse: a value of gradient generation {generation} was used outside any \
             gradient call; active values must not outlive the gradient call that created them"
        );
    }
    panic!(
        "peer-reverse: a value of gradient generation {generation} was used in gradient \
         generation {current}; active values must not outlive the gradient call that created \
         them, and a nested gradient cannot use its enclosing gradient's values (pass `value()`)"
    );
}

#[cold]
#[inline(never)]
fn no_gradient(value: f64) -> ! {
    panic!(
        "peer-reverse: Real::constant({value}) outside any gradient call: the reverse crate has \
         no inactive values, every constant is a leaf on the tape of a running gradient"
    );
}

/// A `reverse::Var` on a pooled tape, with the generation of the gradient that recorded it.
///
/// Every operation is the crate's own; see the module documentation for the generation check
/// in front of it.
#[derive(Clone, Copy)]
pub struct ReverseReal {
    var: Var<'static>,
    generation: u64,
}

impl std::fmt::Debug for ReverseReal {
    // Not the crate's derived `Debug`, which prints the whole tape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReverseReal")
            .field("value", &self.var.val)
            .field("generation", &self.generation)
            .finish()
    }
}

impl ReverseReal {
    /// Panics unless `self` belongs to the gradient running on this thread.
    #[inline(always)]
    fn check(&self) {
        if self.generation != GENERATION.with(Cell::get) {
            foreign_value(self.generation);
        }
    }

    /// Panics unless both operands belong to the gradient running on this thread.
    #[inline(always)]
    fn check_both(&self, other: &Self) {
        let current = GENERATION.with(Cell::get);
        if self.generation != current {
            foreign_value(self.generation);
        }
        if other.generation != current {
            foreign_value(other.generation);
        }
    }

    /// The result of an operation on `self`, in `self`'s (checked) generation.
    #[inline(always)]
    fn with(&self, var: Var<'static>) -> Self {
        ReverseReal {
            var,
            generation: self.generation,
        }
    }
}

impl PeerScalar for ReverseReal {
    #[inline]
    fn constant(value: f64) -> Self {
        let tape = TAPE.with(Cell::get).unwrap_or_else(|| no_gradient(value));
        ReverseReal {
            var: tape.add_var(value),
            generation: GENERATION.with(Cell::get),
        }
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.var.val()
    }
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        self.check_both(rhs);
        self.with(self.var + rhs.var)
    }
    #[inline(always)]
    fn sub(&self, rhs: &Self) -> Self {
        self.check_both(rhs);
        self.with(self.var - rhs.var)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        self.check_both(rhs);
        self.with(self.var * rhs.var)
    }
    #[inline(always)]
    fn div(&self, rhs: &Self) -> Self {
        self.check_both(rhs);
        self.with(self.var / rhs.var)
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        self.check();
        self.with(-self.var)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.var + c)
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.var - c)
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.var * c)
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.var / c)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        self.check();
        self.with(self.var.sin())
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        self.check();
        self.with(self.var.cos())
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        self.check();
        self.with(self.var.tan())
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        self.check();
        self.with(self.var.exp())
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        self.check();
        self.with(self.var.ln())
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        self.check();
        self.with(self.var.sqrt())
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        self.check();
        self.with(self.var.tanh())
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        self.check();
        self.with(self.var.powi(n))
    }
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        self.check_both(p);
        self.with(Powf::powf(&self.var, p.var))
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        self.check();
        self.with(self.var.abs())
    }
    /// The crate's own `Var` method where it has one; `exp_m1` (which it lacks) and `cbrt` (its
    /// `cbrt` is `powf(1/3)`, NaN below 0) are composed (`peers::composed`), and `erf`, which
    /// it neither has nor can compose, and which it cannot record with a given derivative (its
    /// node constructor is private), is linearized (`peers::linearized`).
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        // Before the crate touches the tape (see `ShelvedTape`).
        self.check();
        let var = &self.var;
        let own = match f {
            Unary::Asin => var.asin(),
            Unary::Acos => var.acos(),
            Unary::Atan => var.atan(),
            Unary::Sinh => var.sinh(),
            Unary::Cosh => var.cosh(),
            Unary::Asinh => var.asinh(),
            Unary::Acosh => var.acosh(),
            Unary::Atanh => var.atanh(),
            Unary::Ln1p => var.ln_1p(),
            Unary::Log2 => var.log2(),
            Unary::Log10 => var.log10(),
            Unary::Exp2 => var.exp2(),
            Unary::Recip => var.recip(),
            Unary::Erf => return linearized(self, f),
            f => return composed(self, f),
        };
        self.with(own)
    }
    /// Composed from the crate's `atan` (`peers::atan2_from_atan`): it has no `atan2`.
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        atan2_from_atan(self, x)
    }
}

crate::peers::impl_real_for_peer!(ReverseReal);

/// The `reverse` crate 0.2 as a strategy (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerReverse;

impl Strategy for PeerReverse {
    const NAME: &'static str = "peer-reverse";
    const DESCRIPTION: &'static str =
        "reverse 0.2: Var on a RefCell Wengert list (pooled tapes), one Var::grad sweep: O(T)";
    const COUNTERS: &'static [&'static str] = &["tape_nodes"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        probe.forward_starts();
        let session = Session::start();
        let mut inputs = SPARE_INPUTS
            .try_with(|spare| std::mem::take(&mut *spare.borrow_mut()))
            .unwrap_or_default();
        inputs.extend(x.iter().map(|&value| ReverseReal {
            var: session.tape.add_var(value),
            generation: session.generation,
        }));
        let outputs = program.eval(&inputs);
        if outputs.len() != cotangent.len() {
            panic!(
                "cotangent has length {} but the program returned {} outputs",
                cotangent.len(),
                outputs.len()
            );
        }
        outputs.iter().for_each(ReverseReal::check);

        probe.reverse_starts();
        let seed = crate::peers::combined_output(&outputs, cotangent);
        let nodes = session.tape.len() as u64;
        out.value.clear();
        out.value.extend(outputs.iter().map(|y| y.var.val()));
        match seed {
            Some(seed) => {
                let adjoints = seed.var.grad();
                out.derivative
                    .extend(inputs.iter().map(|input| adjoints.wrt(&input.var)));
            }
            None => out.derivative.resize(out.derivative.len() + x.len(), 0.0),
        }
        drop(outputs);
        inputs.clear();
        let _ = SPARE_INPUTS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if inputs.capacity() > spare.capacity() {
                *spare = inputs;
            }
        });
        drop(session);
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("tape_nodes", nodes)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::test_programs::Shared;
    use crate::Real;

    /// sin(x0 x1) + x0 / x1.
    struct SinProductPlusQuotient;
    impl Program for SinProductPlusQuotient {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (a, b) = (x[0].clone(), x[1].clone());
            outputs![(a.clone() * b.clone()).sin() + a / b]
        }
    }

    fn closed_form(a: f64, b: f64) -> Vec<f64> {
        let c = (a * b).cos();
        vec![b * c + 1.0 / b, a * c - a / (b * b)]
    }

    fn assert_near(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-13 * w.abs().max(1.0),
                "{got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn gradient_matches_the_closed_form() {
        let r = PeerReverse::vjp(&SinProductPlusQuotient, &[0.7, -1.3], &[1.0]);
        assert_near(&r.gradient.unwrap(), &closed_form(0.7, -1.3));
        assert_eq!(r.value, vec![(0.7f64 * -1.3).sin() + 0.7 / -1.3]);
        // 2 inputs, mul, sin, recip, mul, add.
        assert_eq!(r.counters.get("tape_nodes"), Some(7));
    }

    #[test]
    fn gradients_in_a_row_start_from_an_empty_tape() {
        let first = PeerReverse::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        let second = PeerReverse::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(first.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(second.gradient, first.gradient);
        assert_eq!(second.counters, first.counters);
    }

    /// ((x + 2) * 3 - 1) / 4 + constant(5) * x - x: mixed arithmetic and a lifted constant.
    struct Mixed;
    impl Program for Mixed {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let a = x[0].clone();
            outputs![((a.clone() + 2.0) * 3.0 - 1.0) / 4.0 + R::constant(5.0) * a.clone() - a]
        }
    }

    #[test]
    fn mixed_constant_arithmetic() {
        let r = PeerReverse::vjp(&Mixed, &[0.5], &[1.0]);
        assert_eq!(r.value, vec![(2.5 * 3.0 - 1.0) / 4.0 + 2.5 - 0.5]);
        assert_near(&r.gradient.unwrap(), &[0.75 + 5.0 - 1.0]);
    }

    /// (x0 x1, sin x0, x1): three outputs.
    struct ThreeOutputs;
    impl Program for ThreeOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            3
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![x[0].clone() * x[1].clone(), x[0].sin(), x[1].clone()]
        }
    }

    #[test]
    fn a_cotangent_combines_the_outputs_and_the_jacobian_has_every_row() {
        let (a, b) = (0.3, 2.0);
        let r = PeerReverse::vjp(&ThreeOutputs, &[a, b], &[2.0, -1.0, 0.5]);
        assert_near(&r.gradient.unwrap(), &[2.0 * b - a.cos(), 2.0 * a + 0.5]);
        let zero = PeerReverse::vjp(&ThreeOutputs, &[a, b], &[0.0; 3]);
        assert_eq!(zero.gradient, Some(vec![0.0, 0.0]));
        let j = PeerReverse::jacobian(&ThreeOutputs, &[a, b]);
        assert_eq!(
            j.rows,
            Some(vec![vec![b, a], vec![a.cos(), 0.0], vec![0.0, 1.0]])
        );
    }

    /// x0 * g where g is a gradient taken inside the program.
    struct Nested;
    impl Program for Nested {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let inner = PeerReverse::vjp(&SinProductPlusQuotient, &[x[0].value(), 2.0], &[1.0]);
            outputs![x[0].square() * inner.gradient.unwrap()[1]]
        }
    }

    #[test]
    fn a_nested_gradient_leaves_the_outer_values_valid() {
        let g = PeerReverse::vjp(&Nested, &[0.5], &[1.0]).gradient.unwrap();
        assert_near(&g, &[2.0 * 0.5 * closed_form(0.5, 2.0)[1]]);
    }

    /// A value recorded by a gradient that has finished.
    fn value_of_a_finished_gradient(value: f64) -> ReverseReal {
        let session = Session::start();
        let v = ReverseReal {
            var: session.tape.add_var(value),
            generation: session.generation,
        };
        drop(session);
        v
    }

    #[test]
    #[should_panic(expected = "was used in gradient generation")]
    fn a_value_of_a_finished_gradient_panics_in_a_later_one() {
        let stale = value_of_a_finished_gradient(1.0);
        let _session = Session::start();
        let _ = <ReverseReal as Real>::constant(2.0) * stale;
    }

    #[test]
    fn a_value_of_a_finished_gradient_panics_outside_and_a_constant_needs_a_gradient() {
        let stale = value_of_a_finished_gradient(1.5);
        assert_eq!(Real::value(&stale), 1.5, "reading the value stays allowed");
        let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Real::sin(&stale)));
        assert!(used.is_err(), "an operation on it panics");
        let constant = std::panic::catch_unwind(|| <ReverseReal as Real>::constant(1.0));
        assert!(constant.is_err(), "a constant outside a gradient panics");
        // The panics left no state behind.
        let r = PeerReverse::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
    }

    #[test]
    fn gradients_on_four_threads_share_the_shelf() {
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for k in 0..100 {
                        let (a, b) = (0.01 * k as f64, 1.0 + t as f64);
                        let r = PeerReverse::vjp(&SinProductPlusQuotient, &[a, b], &[1.0]);
                        assert_near(&r.gradient.unwrap(), &closed_form(a, b));
                    }
                });
            }
        });
    }
}
