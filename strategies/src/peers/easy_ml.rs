//! `peer-easy-ml`: the reverse mode of [`easy-ml`](https://crates.io/crates/easy-ml), version
//! 2.3 (its `differentiation` module), as a dualbench strategy. easy-ml is licensed MPL-2.0,
//! which is why this peer is optional and never in a default build.
//!
//! # The crate
//!
//! easy-ml's reverse-mode scalar is `easy_ml::differentiation::Record<'a, f64>`: a number, an
//! index and an `Option<&'a WengertList<f64>>`, the list being a `RefCell<Vec<Operation>>`
//! (two parent indices and two local derivatives per entry, computed during recording). A
//! record without a list is a constant: operations on constants record nothing, and an
//! operation with one constant operand records a unary entry. `Record::derivatives` (here
//! `try_derivatives`) seeds one record with 1 and sweeps the whole list backwards in a loop,
//! returning one derivative per entry, indexed by records.
//!
//! # How the driver uses it
//!
//! The crate's documented steps ("create a WengertList, create variables from this list, do
//! operations, call `.derivatives()` on the output, index it with the inputs, `clear()` the
//! list before another pass"), per gradient ([`PeerEasyMl`]'s `vjp_into`):
//!
//! 1. take a `WengertList` (a reused one, see below) and install a fresh *generation*;
//! 2. lift each input with `WengertList::variable`, evaluate the program; every [`EasyMlReal`]
//!    operation is the crate's own (`&Record + &Record`, `Record * f64`, `Sin`, `Exp`, `Ln`,
//!    `Sqrt`, `Pow` for `powf` and, with an `f64` exponent, `powi`), and
//!    [`Real::constant`](crate::Real::constant) is `Record::constant`; `recip` is its
//!    `SwappedOperations::div_swapped`. easy-ml has no `tan`, `tanh`, `abs` nor any other
//!    elementary function (`asin` ... `erf`, `atan2`, `hypot`): those use the crate's
//!    documented extension points `Record::unary` and `Record::binary` with dualbench's local
//!    derivatives ([`partials`]);
//! 3. seed: if exactly one cotangent entry is nonzero and it is 1, that output itself;
//!    otherwise `sum_j w_j y_j` over the nonzero entries, recorded with the crate's `Record *
//!    f64` and `Record + Record`. With no nonzero entry, or a constant seed, the gradient is
//!    zero and no pass runs;
//! 4. `Record::try_derivatives` on the seed, `Derivatives::at` for each input;
//! 5. `WengertList::clear` (which keeps the entry buffer's capacity) and put the list back.
//!
//! # No lifetime for workloads: pooled lists and generations
//!
//! [`Real`](crate::Real) has no lifetime parameter, so an [`EasyMlReal`] wraps a
//! `Record<'static, f64>`: its list is leaked once (`Box::leak`) and then reused forever
//! through a process-wide pool (a mutex-guarded shelf), by whichever thread runs the next
//! gradient. The harness runs each evaluation on a new thread, so a per-thread list would leak
//! one list per evaluation; the shelf holds only as many lists as gradients ever ran at the
//! same time (threads times nesting depth), each at the largest size it reached, for the life
//! of the process. The first gradient of a fresh process (how `dualbench run` measures
//! memory) starts from an empty list.
//!
//! Every recorded value also carries the generation of the gradient that created it (a
//! constant carries none), and every operation checks it against the generation running on
//! this thread before it lets the crate touch the list: one thread-local read and compare per
//! operation, as dualbench's own `tape` does. Hence, as with `tape`: gradients in sequence, on
//! several threads, or nested inside a program (each nesting depth takes its own list) work;
//! using a recorded value after its gradient returned, or an enclosing gradient's value inside
//! a nested one, panics with a message naming both generations (reading
//! [`Real::value`](crate::Real::value) stays allowed); constants are valid everywhere. The
//! check is also what makes the pool sound (`// SAFETY:` on `ShelvedList`).
//!
//! # Cost and limitations
//!
//! O(T): one entry per operation with an active operand (and per input), one sweep over all
//! entries (also those recorded after the seed), plus the crate's allocation of one derivative
//! per entry in each `try_derivatives`. Both passes are loops and a list is a flat `Vec`: the
//! unit test `a_million_op_chain_runs_on_the_default_stack` differentiates a 10^6-operation
//! chain on a default 2 MiB test thread, correctly.
//!
//! The crate's local rules, where they differ from dualbench's:
//!
//! - `a / b` has partial `-a / b^2` in `b`, which overflows to infinity where the quotient is
//!   finite (a = b = 1e-200);
//! - `-a` is recorded as `0 - a`, `powi(n)` as `a.pow(n as f64)` (its value is `f64::powf`'s),
//!   whose partial `n * a^(n-1)` is NaN for `n = 0` at `a = 0` (`0 * inf`; dualbench: 0);
//! - the sweep multiplies every derivative by the entry's adjoint with no zero test, and also
//!   visits the unused parent slots of unary and input entries with derivative 0: an infinite
//!   partial times a zero adjoint is NaN (`sqrt` at 0 in a direction that does not move it),
//!   and an infinite adjoint reaching an input becomes NaN (`0 * inf`).
//!
//! # Counters
//!
//! - `wengert_entries`: the length of the Wengert list after the reverse pass: one entry per
//!   input and per operation with an active operand, and the seed's entries when the cotangent
//!   is combined (step 3). It is read, as the crate exposes it, as the index a new variable
//!   would get (only when a probe wants counters).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use easy_ml::differentiation::record_operations::SwappedOperations;
use easy_ml::differentiation::{Record, WengertList};
use easy_ml::numeric::extra::{Cos, Exp, Ln, Pow, Sin, Sqrt};

use crate::peers::PeerScalar;
use crate::program::{check_lengths, Derivatives, Probe, Program, Strategy};
use crate::real::{partials, Binary, Unary};

/// The generation of constants and of "no gradient running" (never given to a gradient).
const IDLE: u64 = 0;

/// Source of gradient generations, shared by all threads, so that a generation is current on
/// at most one thread, once.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// A leaked Wengert list while it is on the shelf, between two gradients.
struct ShelvedList(&'static WengertList<f64>);

// SAFETY: `WengertList` keeps its entries in a `RefCell`, so it is not `Sync` and a reference to
// it is not `Send`: the compiler cannot see that a list on the shelf has no other user. It has
// none:
// (1) a list leaves the shelf (under the mutex) for exactly one gradient, whose `Session` is
//     then its only user on its only thread until `Session::drop` clears it and puts it back;
// (2) the other references to a list are the `Record`s inside `EasyMlReal` values that a
//     program may keep; every path from such a value into the crate (every `PeerScalar` method
//     except `value`, which reads the record's own `number` field, and the driver's uses of its
//     outputs) first checks that the value's generation is the one running on the current
//     thread, or `IDLE`, which only constants (records without a list) carry. Generations are
//     unique in the process (`NEXT_GENERATION`) and a generation is running only while its
//     `Session` holds the list, so a value of a finished gradient panics before its (possibly
//     re-lent) list is touched; `Debug` prints without the list;
// (3) the mutex orders the last use of a list by one gradient before the first use by the
//     next, on whatever thread.
// So no two threads ever access one list's `RefCell`, which is all `Sync` would have promised.
unsafe impl Send for ShelvedList {}

/// Wengert lists between gradients.
static SHELF: Mutex<Vec<ShelvedList>> = Mutex::new(Vec::new());

thread_local! {
    /// The generation of the gradient running on this thread, or [`IDLE`].
    static GENERATION: Cell<u64> = const { Cell::new(IDLE) };
    /// The input buffer of the last gradient, kept for the next one.
    static SPARE_INPUTS: RefCell<Vec<EasyMlReal>> = const { RefCell::new(Vec::new()) };
}

/// One gradient's hold on a list: installs a fresh generation, and on drop (also when the
/// program panics) restores the enclosing gradient's, clears the list and shelves it.
struct Session {
    generation: u64,
    list: &'static WengertList<f64>,
    outer: u64,
}

impl Session {
    fn start() -> Session {
        let shelved = SHELF.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let list = shelved.map_or_else(|| &*Box::leak(Box::new(WengertList::new())), |s| s.0);
        let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        let outer = GENERATION.replace(generation);
        Session {
            generation,
            list,
            outer,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        GENERATION.set(self.outer);
        self.list.clear();
        SHELF
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ShelvedList(self.list));
    }
}

/// Panics because a value of `generation` was used where it does not belong.
#[cold]
#[inline(never)]
fn foreign_value(generation: u64) -> ! {
    let current = GENERATION.with(Cell::get);
    if current == IDLE {
        panic!(
            "peer-easy-ml: a value of gradient generation {generation} was used outside any \
             gradient call; active values must not outlive the gradient call that created them"
        );
    }
    panic!(
        "peer-easy-ml: a value of gradient generation {generation} was used in gradient \
         generation {current}; active values must not outlive the gradient call that created \
         them, and a nested gradient cannot use its enclosing gradient's values (pass `value()`)"
    );
}

/// An easy-ml `Record<f64>` on a pooled Wengert list (or a constant), with the generation of
/// the gradient that recorded it.
///
/// Every operation is the crate's own; see the module documentation for the generation check
/// in front of it.
#[derive(Clone, Copy)]
pub struct EasyMlReal {
    record: Record<'static, f64>,
    generation: u64,
}

impl std::fmt::Debug for EasyMlReal {
    // Not the crate's derived `Debug`, which prints the whole Wengert list.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EasyMlReal")
            .field("value", &self.record.number)
            .field("generation", &self.generation)
            .finish()
    }
}

impl EasyMlReal {
    /// Panics unless `self` is a constant or belongs to the gradient running on this thread.
    #[inline(always)]
    fn check(&self) {
        if self.generation != IDLE && self.generation != GENERATION.with(Cell::get) {
            foreign_value(self.generation);
        }
    }

    /// [`EasyMlReal::check`] for two operands; returns the result's generation.
    #[inline(always)]
    fn check_both(&self, other: &Self) -> u64 {
        if self.generation != IDLE || other.generation != IDLE {
            let current = GENERATION.with(Cell::get);
            if self.generation != IDLE && self.generation != current {
                foreign_value(self.generation);
            }
            if other.generation != IDLE && other.generation != current {
                foreign_value(other.generation);
            }
        }
        self.generation.max(other.generation)
    }

    /// The result of a unary operation on `self`.
    #[inline(always)]
    fn with(&self, record: Record<'static, f64>) -> Self {
        EasyMlReal {
            record,
            generation: self.generation,
        }
    }

    /// A function easy-ml does not have, through its `Record::unary` with dualbench's
    /// derivative. `unary` ties its result to the borrow of `self`; `Record::from_existing`
    /// gives it back the list's lifetime.
    #[inline(always)]
    fn unary(&self, f: impl Fn(f64) -> f64, df: impl Fn(f64) -> f64) -> Self {
        self.check();
        let r = self.record.unary(f, df);
        self.with(Record::from_existing(
            (r.number, r.index),
            self.record.history(),
        ))
    }

    /// A two-operand function easy-ml does not have, through its `Record::binary` with
    /// dualbench's partials ([`partials::binary`]); like [`EasyMlReal::unary`], the result gets
    /// the list's lifetime back with `Record::from_existing`, on the list of whichever operand
    /// has one.
    #[inline(always)]
    fn binary(&self, other: &Self, f: Binary) -> Self {
        let generation = self.check_both(other);
        let partial = |x: f64, y: f64| partials::binary(f, &x, &y, &f.value(x, y));
        let r = self.record.binary(
            &other.record,
            |x, y| f.value(x, y),
            |x, y| partial(x, y).0,
            |x, y| partial(x, y).1,
        );
        EasyMlReal {
            record: Record::from_existing(
                (r.number, r.index),
                self.record.history().or(other.record.history()),
            ),
            generation,
        }
    }
}

impl PeerScalar for EasyMlReal {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        EasyMlReal {
            record: Record::constant(value),
            generation: IDLE,
        }
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.record.number
    }
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        let generation = self.check_both(rhs);
        EasyMlReal {
            record: self.record + rhs.record,
            generation,
        }
    }
    #[inline(always)]
    fn sub(&self, rhs: &Self) -> Self {
        let generation = self.check_both(rhs);
        EasyMlReal {
            record: self.record - rhs.record,
            generation,
        }
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        let generation = self.check_both(rhs);
        EasyMlReal {
            record: self.record * rhs.record,
            generation,
        }
    }
    #[inline(always)]
    fn div(&self, rhs: &Self) -> Self {
        let generation = self.check_both(rhs);
        EasyMlReal {
            record: self.record / rhs.record,
            generation,
        }
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        self.check();
        self.with(-&self.record)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.record + c)
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.record - c)
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.record * c)
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        self.check();
        self.with(self.record / c)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        self.check();
        self.with(Sin::sin(&self.record))
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        self.check();
        self.with(Cos::cos(&self.record))
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        self.unary(f64::tan, |x| partials::unary(Unary::Tan, &x, &x.tan()))
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        self.check();
        self.with(Exp::exp(&self.record))
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        self.check();
        self.with(Ln::ln(&self.record))
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        self.check();
        self.with(Sqrt::sqrt(&self.record))
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        self.unary(f64::tanh, |x| partials::unary(Unary::Tanh, &x, &x.tanh()))
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        self.check();
        self.with(Pow::pow(&self.record, &f64::from(n)))
    }
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        let generation = self.check_both(p);
        EasyMlReal {
            record: Pow::pow(&self.record, &p.record),
            generation,
        }
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        self.unary(f64::abs, |x| partials::unary(Unary::Abs, &x, &x.abs()))
    }
    /// A constant of easy-ml is a record without list.
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        self.record.history().is_none() && self.record.number == 0.0
    }
    /// easy-ml has none of these but `recip` (its `SwappedOperations::div_swapped`, `1 / x`
    /// as one entry); each other one is one entry through its documented extension point
    /// `Record::unary`, with dualbench's derivative, as `tan`, `tanh` and `abs` are.
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        if f == Unary::Recip {
            self.check();
            return self.with(SwappedOperations::div_swapped(self.record, 1.0));
        }
        self.unary(|x| f.value(x), |x| partials::unary(f, &x, &f.value(x)))
    }
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        self.binary(x, Binary::Atan2)
    }
    #[inline(always)]
    fn hypot(&self, y: &Self) -> Self {
        self.binary(y, Binary::Hypot)
    }
}

crate::peers::impl_real_for_peer!(EasyMlReal);

/// easy-ml 2.3's reverse mode as a strategy (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerEasyMl;

impl Strategy for PeerEasyMl {
    const NAME: &'static str = "peer-easy-ml";
    const DESCRIPTION: &'static str =
        "easy-ml 2.3: Record on a RefCell WengertList (pooled lists), one derivatives sweep: O(T)";
    const COUNTERS: &'static [&'static str] = &["wengert_entries"];

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
        inputs.extend(x.iter().map(|&value| EasyMlReal {
            record: session.list.variable(value),
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
        outputs.iter().for_each(EasyMlReal::check);

        probe.reverse_starts();
        let derivatives = crate::peers::combined_output(&outputs, cotangent)
            .and_then(|s| s.record.try_derivatives());
        out.value.clear();
        out.value.extend(outputs.iter().map(|y| y.record.number));
        match derivatives {
            Some(d) => out
                .derivative
                .extend(inputs.iter().map(|input| d.at(&input.record))),
            None => out.derivative.resize(out.derivative.len() + x.len(), 0.0),
        }
        let entries = if Q::COUNTS {
            session.list.variable(0.0).index as u64
        } else {
            0
        };
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
            probe.counters(&[("wengert_entries", entries)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::test_programs::Shared;
    use crate::Real;

    /// sin(x0 x1) + x0 / x1 + tanh(x0) + |x1|.
    struct Closed;
    impl Program for Closed {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (a, b) = (x[0].clone(), x[1].clone());
            outputs![(a.clone() * b.clone()).sin() + a.clone() / b.clone() + a.tanh() + b.abs()]
        }
    }

    fn closed_form(a: f64, b: f64) -> Vec<f64> {
        let c = (a * b).cos();
        let t = a.tanh();
        vec![
            b * c + 1.0 / b + 1.0 - t * t,
            a * c - a / (b * b) + b.signum(),
        ]
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
        let r = PeerEasyMl::vjp(&Closed, &[0.7, -1.3], &[1.0]);
        assert_near(&r.gradient.unwrap(), &closed_form(0.7, -1.3));
        // 2 inputs, mul, sin, div, add, tanh, add, abs, add.
        assert_eq!(r.counters.get("wengert_entries"), Some(10));
    }

    #[test]
    fn gradients_in_a_row_start_from_an_empty_list() {
        let first = PeerEasyMl::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        let second = PeerEasyMl::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(first.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(second.gradient, first.gradient);
        assert_eq!(second.counters, first.counters);
    }

    /// ((x + 2) * 3 - 1) / 4 + constant(5) * x - x + (constant(2) * constant(3)).
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
            let c = R::constant(2.0) * R::constant(3.0);
            outputs![((a.clone() + 2.0) * 3.0 - 1.0) / 4.0 + R::constant(5.0) * a.clone() - a + c]
        }
    }

    #[test]
    fn mixed_constant_arithmetic_records_constants_as_nothing() {
        let r = PeerEasyMl::vjp(&Mixed, &[0.5], &[1.0]);
        assert_eq!(r.value, vec![(2.5 * 3.0 - 1.0) / 4.0 + 2.5 - 0.5 + 6.0]);
        assert_near(&r.gradient.unwrap(), &[0.75 + 5.0 - 1.0]);
        // 1 input, 4 mixed ops, constant * x, sub, add, + c: constants have no entry.
        assert_eq!(r.counters.get("wengert_entries"), Some(9));
    }

    /// (x0 x1, sin x0, x1, 7): four outputs, the last a constant.
    struct FourOutputs;
    impl Program for FourOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            4
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![
                x[0].clone() * x[1].clone(),
                x[0].sin(),
                x[1].clone(),
                R::constant(7.0)
            ]
        }
    }

    #[test]
    fn a_cotangent_combines_the_outputs_and_the_jacobian_has_every_row() {
        let (a, b) = (0.3, 2.0);
        let r = PeerEasyMl::vjp(&FourOutputs, &[a, b], &[2.0, -1.0, 0.5, 3.0]);
        assert_near(&r.gradient.unwrap(), &[2.0 * b - a.cos(), 2.0 * a + 0.5]);
        let zero = PeerEasyMl::vjp(&FourOutputs, &[a, b], &[0.0; 4]);
        assert_eq!(zero.gradient, Some(vec![0.0, 0.0]));
        let j = PeerEasyMl::jacobian(&FourOutputs, &[a, b]);
        assert_eq!(
            j.rows,
            Some(vec![
                vec![b, a],
                vec![a.cos(), 0.0],
                vec![0.0, 1.0],
                vec![0.0, 0.0]
            ])
        );
    }

    /// x0^2 * g where g is a gradient taken inside the program.
    struct Nested;
    impl Program for Nested {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let inner = PeerEasyMl::vjp(&Closed, &[x[0].value(), 2.0], &[1.0]);
            outputs![x[0].square() * inner.gradient.unwrap()[1]]
        }
    }

    #[test]
    fn a_nested_gradient_leaves_the_outer_values_valid() {
        let g = PeerEasyMl::vjp(&Nested, &[0.5], &[1.0]).gradient.unwrap();
        assert_near(&g, &[2.0 * 0.5 * closed_form(0.5, 2.0)[1]]);
    }

    /// A value recorded by a gradient that has finished.
    fn value_of_a_finished_gradient(value: f64) -> EasyMlReal {
        let session = Session::start();
        let v = EasyMlReal {
            record: session.list.variable(value),
            generation: session.generation,
        };
        drop(session);
        v
    }

    #[test]
    #[should_panic(expected = "was used in gradient generation")]
    fn a_value_of_a_finished_gradient_panics_in_a_later_one() {
        let stale = value_of_a_finished_gradient(1.0);
        let session = Session::start();
        let fresh = EasyMlReal {
            record: session.list.variable(2.0),
            generation: session.generation,
        };
        let _ = fresh * stale;
    }

    #[test]
    fn a_finished_value_panics_outside_but_constants_are_valid_everywhere() {
        let stale = value_of_a_finished_gradient(1.5);
        assert_eq!(Real::value(&stale), 1.5, "reading the value stays allowed");
        assert!(
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Real::sin(&stale))).is_err()
        );
        let c = Real::sin(&<EasyMlReal as Real>::constant(2.0)) * 3.0;
        assert_eq!(Real::value(&c), 2f64.sin() * 3.0);
        let r = PeerEasyMl::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
    }

    #[test]
    fn gradients_on_four_threads_share_the_shelf() {
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for k in 0..100 {
                        let (a, b) = (0.01 * k as f64 + 0.1, 1.0 + t as f64);
                        let r = PeerEasyMl::vjp(&Closed, &[a, b], &[1.0]);
                        assert_near(&r.gradient.unwrap(), &closed_form(a, b));
                    }
                });
            }
        });
    }
}
