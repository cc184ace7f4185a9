//! `tape`: classic Wengert-list reverse AD, the practitioners' reference point.
//!
//! # Representation
//!
//! A scalar is a [`TapeReal`]: its primal value, the index of its adjoint slot, and the
//! *generation* of the gradient call that created it (16 bytes, `Copy`). Inputs occupy slots
//! 0..n; each operation with at least one active operand appends one compact entry to the tape
//! — up to two operand slots and the matching local partial derivatives — and takes slot
//! n + (its position on the tape). Constants, and operations whose operands are all constants,
//! have no slot and record nothing (`docs/ladder.md`, the tape).
//!
//! # Algorithm and cost
//!
//! [`Tape::vjp`] starts a fresh tape, lifts the inputs, evaluates the program (recording), then
//! sweeps the tape backwards once over an array of adjoints: seed the outputs' slots with the
//! cotangent; for every entry from the last the outputs depend on down to the first,
//! `adj[operand] += adj[entry] * partial` for each operand. The gradient is `adj[0..n]`. Both
//! passes are loops — no recursion — so a 10^6-operation chain runs on any stack. Cost: O(T)
//! for recording plus O(entries + edges) for the sweep; the smallest constant factor of the
//! reverse strategies, which is why it is the baseline the dual-numbers ladder is compared to.
//!
//! # The tape stack: sequential, nested and concurrent gradients
//!
//! The tapes live in a thread-local *stack*. A gradient pushes a new tape with a fresh
//! generation (from a process-wide counter, so generations are unique across threads) and pops
//! it when done, also when the program panics. An operation records on the top tape and checks
//! that its active operands carry the top tape's generation. Hence:
//!
//! - gradients run one after another each get a new tape;
//! - a gradient may run inside the program of another (nested): the outer tape is suspended
//!   and the outer's values are valid again once the inner gradient returns;
//! - gradients on different threads never share a tape;
//! - using an active value outside the gradient call that created it (a finished gradient, an
//!   enclosing one while a nested gradient runs, or another thread's) panics with a message
//!   naming both generations. Reading its [`Real::value`] stays allowed.
//!
//! # Counters
//!
//! - `tape_entries`: entries recorded, one per operation with at least one active operand
//!   (inputs have slots but no entries). It is the active part of the primal count T.
//! - `entries_swept`: entries visited by the reverse sweep, from the entry of the highest seeded
//!   output down to the first (entries recorded after it are skipped; entries below it are all
//!   swept, also those the output does not depend on, whose adjoint is zero).
//! - `edges_applied`: adjoint updates `adj[operand] += adj[entry] * partial`, one per active
//!   operand of each swept entry.
//!
//! # Phases and memory
//!
//! `forward` is starting the tape, lifting the inputs and recording; `reverse` is the sweep
//! and resetting the tape and the adjoint array. Resetting keeps their capacity in a
//! thread-local pool for the next gradient, as practical tapes (Adept, CoDiPack, Stan's arena)
//! do: a warm gradient neither grows its tape nor touches fresh pages. The price is that a
//! thread keeps its largest tape (per nesting depth) until it exits or calls
//! [`Tape::release_memory`]. `dualbench run` measures memory on the first gradient of a fresh
//! process, where the pool is empty: a cold gradient.
//!
//! # Fork-join programs
//!
//! [`TapeReal`] is plain data and implements [`ParReal`]; `join` runs both branches in order on
//! the calling thread, recording them on its tape, which makes [`Tape`] a [`ParStrategy`].

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::forward::impl_real_from_partials;
use crate::program::{
    check_lengths, Derivatives, Outputs, ParProgram, ParStrategy, Probe, Program, Strategy, Vjp,
};
use crate::real::{partials, ParReal, Real};

/// The slot of a constant: no adjoint, no entry.
const NO_SLOT: u32 = u32::MAX;

/// The generation of "no gradient running" (never allocated to a gradient).
const NO_GENERATION: u32 = 0;

/// Source of gradient generations, shared by all threads so that a value carried to another
/// thread cannot be mistaken for one of that thread's.
static NEXT_GENERATION: AtomicU32 = AtomicU32::new(1);

/// A scalar recorded on the tape of one gradient call.
#[derive(Clone, Copy, Debug)]
pub struct TapeReal {
    value: f64,
    slot: u32,
    generation: u32,
}

/// One recorded operation: its operands' slots (the second is [`NO_SLOT`] for a unary entry)
/// and the partial derivatives of the result with respect to them.
#[derive(Clone, Copy, Debug)]
struct Entry {
    operands: [u32; 2],
    partials: [f64; 2],
}

/// The tape of one gradient call.
#[derive(Debug)]
struct Recording {
    generation: u32,
    /// n: slots 0..n are the inputs; entry k has slot n + k.
    inputs: u32,
    entries: Vec<Entry>,
}

impl Recording {
    const IDLE: Recording = Recording {
        generation: NO_GENERATION,
        inputs: 0,
        entries: Vec::new(),
    };
}

/// This thread's tapes: the one being recorded, those suspended by nested gradients, and the
/// buffers of finished gradients kept for reuse.
#[derive(Debug)]
struct TapeStack {
    current: Recording,
    suspended: Vec<Recording>,
    /// Emptied tapes with their capacity, one per nesting depth reached so far.
    spare_entries: Vec<Vec<Entry>>,
    /// The adjoint array of the last sweep (sweeps never nest, so one suffices).
    spare_adjoints: Vec<f64>,
}

thread_local! {
    static TAPES: RefCell<TapeStack> = const {
        RefCell::new(TapeStack {
            current: Recording::IDLE,
            suspended: Vec::new(),
            spare_entries: Vec::new(),
            spare_adjoints: Vec::new(),
        })
    };
}

/// Takes the spare adjoint array, cleared and zero-filled to `len` slots.
fn take_adjoints(len: usize) -> Vec<f64> {
    let mut adjoints = TAPES.with(|tapes| std::mem::take(&mut tapes.borrow_mut().spare_adjoints));
    adjoints.clear();
    adjoints.resize(len, 0.0);
    adjoints
}

/// Resets a finished gradient's tape and adjoint array and keeps them for the next gradient.
fn recycle(mut entries: Vec<Entry>, adjoints: Vec<f64>) {
    entries.clear();
    TAPES.with(|tapes| {
        let mut stack = tapes.borrow_mut();
        stack.spare_entries.push(entries);
        if adjoints.capacity() > stack.spare_adjoints.capacity() {
            stack.spare_adjoints = adjoints;
        }
    });
}

fn next_generation() -> u32 {
    loop {
        let g = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
        if g != NO_GENERATION {
            return g;
        }
    }
}

/// Panics because a value of `generation` met the tape of `stack.current`; says which of the
/// three misuses it is.
#[cold]
#[inline(never)]
fn foreign_value(stack: &TapeStack, generation: u32) -> ! {
    let current = stack.current.generation;
    if current == NO_GENERATION {
        panic!(
            "tape: a value of gradient generation {generation} was used outside any gradient \
             call (generation {generation} has finished); active values must not outlive the \
             gradient call that created them"
        );
    }
    if stack.suspended.iter().any(|r| r.generation == generation) {
        panic!(
            "tape: a value of the enclosing gradient generation {generation} was used inside \
             the nested gradient generation {current}; pass primal values (`value()`) into a \
             nested gradient instead"
        );
    }
    panic!(
        "tape: a value of gradient generation {generation} was used in gradient generation \
         {current}, but generation {generation} has finished or belongs to another thread; \
         active values must not outlive the gradient call that created them"
    );
}

/// Appends `entry` to the current tape after checking the operands' generations, and returns
/// the result's scalar.
#[inline]
fn record(generations: [u32; 2], entry: Entry, value: f64) -> TapeReal {
    TAPES.with(|tapes| {
        let mut stack = tapes.borrow_mut();
        let current = stack.current.generation;
        if generations[0] != current || generations[1] != current {
            let foreign = if generations[0] != current {
                generations[0]
            } else {
                generations[1]
            };
            foreign_value(&stack, foreign);
        }
        let tape = &mut stack.current;
        let slot = tape.inputs as usize + tape.entries.len();
        assert!(
            slot < NO_SLOT as usize,
            "tape: more than {} slots in one gradient",
            NO_SLOT
        );
        tape.entries.push(entry);
        TapeReal {
            value,
            slot: slot as u32,
            generation: current,
        }
    })
}

impl TapeReal {
    fn inactive(value: f64) -> Self {
        Self {
            value,
            slot: NO_SLOT,
            generation: NO_GENERATION,
        }
    }

    fn is_active(&self) -> bool {
        self.slot != NO_SLOT
    }

    #[inline]
    fn unary(&self, value: f64, d: f64) -> Self {
        if !self.is_active() {
            return Self::inactive(value);
        }
        let entry = Entry {
            operands: [self.slot, NO_SLOT],
            partials: [d, 0.0],
        };
        record([self.generation; 2], entry, value)
    }

    /// A binary operation; with one constant operand it records a unary entry.
    #[inline]
    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        match (self.is_active(), other.is_active()) {
            (true, true) => record(
                [self.generation, other.generation],
                Entry {
                    operands: [self.slot, other.slot],
                    partials: [dx, dy],
                },
                value,
            ),
            (true, false) => self.unary(value, dx),
            (false, true) => other.unary(value, dy),
            (false, false) => Self::inactive(value),
        }
    }
}

impl_real_from_partials!(TapeReal);

impl ParReal for TapeReal {
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

/// A tape pushed on this thread's stack; popped by [`ActiveTape::finish`], or on drop if the
/// program panicked, so that a failed gradient never leaves its tape behind.
struct ActiveTape {
    generation: u32,
    finished: bool,
}

impl ActiveTape {
    /// Suspends the current tape (if any), starts a new one and lifts the inputs into slots
    /// 0..n.
    fn start(x: &[f64]) -> (ActiveTape, Vec<TapeReal>) {
        let inputs = u32::try_from(x.len())
            .ok()
            .filter(|&n| n < NO_SLOT)
            .expect("tape: too many inputs for 32-bit slots");
        let generation = next_generation();
        TAPES.with(|tapes| {
            let mut stack = tapes.borrow_mut();
            let fresh = Recording {
                generation,
                inputs,
                entries: stack.spare_entries.pop().unwrap_or_default(),
            };
            let outer = std::mem::replace(&mut stack.current, fresh);
            if outer.generation != NO_GENERATION {
                stack.suspended.push(outer);
            }
        });
        let lifted = x
            .iter()
            .zip(0..inputs)
            .map(|(&value, slot)| TapeReal {
                value,
                slot,
                generation,
            })
            .collect();
        (
            ActiveTape {
                generation,
                finished: false,
            },
            lifted,
        )
    }

    /// Pops this tape, resuming the one it suspended, and returns its entries.
    fn pop(&mut self) -> Vec<Entry> {
        self.finished = true;
        TAPES.with(|tapes| {
            let mut stack = tapes.borrow_mut();
            let outer = stack.suspended.pop().unwrap_or(Recording::IDLE);
            let mine = std::mem::replace(&mut stack.current, outer);
            debug_assert_eq!(mine.generation, self.generation, "tapes pop in LIFO order");
            mine.entries
        })
    }

    fn finish(mut self) -> Vec<Entry> {
        self.pop()
    }
}

impl Drop for ActiveTape {
    fn drop(&mut self) {
        if !self.finished {
            let entries = self.pop();
            recycle(entries, Vec::new());
        }
    }
}

/// Classic Wengert-list reverse AD.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tape;

impl Tape {
    /// `cotangent^T J` of the function computed by `eval` at `x`, recorded on a fresh tape,
    /// with its counters and phases.
    ///
    /// This is [`Strategy::vjp`] for a closure instead of a [`Program`]: `eval` receives the
    /// lifted inputs and returns the outputs (as many as `cotangent` has entries). The values
    /// it sees belong to this call only; keeping one and using it in an operation after the
    /// call returns panics.
    ///
    /// ```
    /// use strategies::tape::{Tape, TapeReal};
    /// use strategies::{outputs, Real};
    ///
    /// let r = Tape::vjp_with(&[3.0], &[1.0], |x: &[TapeReal]| outputs![x[0].square().sin()]);
    /// assert_eq!(r.gradient, Some(vec![9.0f64.cos() * 6.0]));
    /// assert_eq!(r.counters.get("tape_entries"), Some(2));
    /// ```
    pub fn vjp_with<F>(x: &[f64], cotangent: &[f64], eval: F) -> Vjp
    where
        F: FnOnce(&[TapeReal]) -> Outputs<TapeReal>,
    {
        Vjp::record(true, |out, recorder| {
            Self::differentiate(x, cotangent, eval, out, recorder);
        })
    }

    /// Record `eval` at `x`, sweep the tape once, write the values and append
    /// `cotangent^T J` to `out`.
    #[inline]
    fn differentiate<F, Q>(
        x: &[f64],
        cotangent: &[f64],
        eval: F,
        out: &mut Derivatives,
        probe: &mut Q,
    ) where
        F: FnOnce(&[TapeReal]) -> Outputs<TapeReal>,
        Q: Probe,
    {
        probe.forward_starts();
        let (tape, inputs) = ActiveTape::start(x);
        let outputs = eval(&inputs);
        if outputs.len() != cotangent.len() {
            panic!(
                "cotangent has length {} but the program returned {} outputs",
                cotangent.len(),
                outputs.len()
            );
        }
        for output in &outputs {
            if output.is_active() && output.generation != tape.generation {
                TAPES.with(|tapes| foreign_value(&tapes.borrow(), output.generation));
            }
        }

        probe.reverse_starts();
        let entries = tape.finish();
        let n = inputs.len();
        let mut adjoints = take_adjoints(n + entries.len());
        // One past the highest seeded slot: entries above it cannot reach a seeded output.
        let mut top = n;
        for (output, &w) in outputs.iter().zip(cotangent) {
            if output.is_active() {
                let slot = output.slot as usize;
                adjoints[slot] += w;
                top = top.max(slot + 1);
            }
        }
        let swept = &entries[..top - n];
        // Every entry has an active first operand; the loop counts the second ones.
        let mut edges_applied = swept.len() as u64;
        for (k, entry) in swept.iter().enumerate().rev() {
            let adjoint = adjoints[n + k];
            adjoints[entry.operands[0] as usize] += partials::times(entry.partials[0], adjoint);
            if entry.operands[1] != NO_SLOT {
                adjoints[entry.operands[1] as usize] += partials::times(entry.partials[1], adjoint);
                edges_applied += 1;
            }
        }
        out.value.clear();
        out.value.extend(outputs.iter().map(Real::value));
        out.derivative.extend_from_slice(&adjoints[..n]);
        let (recorded, swept) = (entries.len() as u64, swept.len() as u64);
        recycle(entries, adjoints);
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[
                ("tape_entries", recorded),
                ("entries_swept", swept),
                ("edges_applied", edges_applied),
            ]);
        }
    }

    /// Frees the tape and adjoint buffers this thread keeps for reuse between gradients (the
    /// tapes of running gradients are untouched). Between gradients the tape is only reset, as
    /// practical tapes do, so a thread holds on to the largest tape it has recorded until it
    /// exits or calls this; measuring the memory of a cold gradient starts with this call.
    pub fn release_memory() {
        TAPES.with(|tapes| {
            let mut stack = tapes.borrow_mut();
            stack.spare_entries = Vec::new();
            stack.spare_adjoints = Vec::new();
        });
    }
}

impl Strategy for Tape {
    const NAME: &'static str = "tape";
    const DESCRIPTION: &'static str =
        "Wengert list: (value, slot) scalars, one backward sweep over the tape: O(T)";
    const COUNTERS: &'static [&'static str] = &["tape_entries", "entries_swept", "edges_applied"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        Self::differentiate(x, cotangent, |inputs| program.eval(inputs), out, probe);
    }
}

impl ParStrategy for Tape {
    fn par_vjp<P: ParProgram>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        Self::vjp_with(x, cotangent, |inputs| program.eval(inputs))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::program::outputs;
    use crate::test_programs::ForkedProduct;

    fn sin_of_product(x: &[TapeReal]) -> Outputs<TapeReal> {
        outputs![(x[0] * x[1]).sin()]
    }

    fn sin_of_product_gradient(a: f64, b: f64) -> Vec<f64> {
        let c = (a * b).cos();
        vec![b * c, a * c]
    }

    #[test]
    fn counters_count_entries_swept_entries_and_edges() {
        let r = Tape::vjp_with(&[2.0, 3.0], &[1.0], |x| {
            let y = x[0] * x[1]; // binary entry: 2 edges
            let z = y.sin() + 1.0; // two unary entries: 1 edge each
            let c = TapeReal::constant(2.0) * TapeReal::constant(3.0); // constants: no entry
            let out = z * c; // one active operand: a unary entry
            let _after = x[0].cos(); // recorded after the output: not swept
            outputs![out]
        });
        assert_eq!(r.gradient, Some(vec![18.0 * 6f64.cos(), 12.0 * 6f64.cos()]));
        assert_eq!(r.counters.get("tape_entries"), Some(5));
        assert_eq!(r.counters.get("entries_swept"), Some(4));
        assert_eq!(r.counters.get("edges_applied"), Some(5));
    }

    #[test]
    fn gradients_in_sequence_each_start_a_fresh_tape() {
        for (a, b) in [(0.5, 2.0), (1.5, -1.0), (0.5, 2.0)] {
            let r = Tape::vjp_with(&[a, b], &[1.0], sin_of_product);
            assert_eq!(r.gradient, Some(sin_of_product_gradient(a, b)));
            assert_eq!(r.counters.get("tape_entries"), Some(2));
        }
    }

    #[test]
    fn nested_gradient_leaves_the_outer_values_valid() {
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], |x| {
            let p = x[0] * x[1];
            let inner = Tape::vjp_with(&[p.value(), 3.0], &[1.0], sin_of_product);
            assert_eq!(
                inner.gradient,
                Some(sin_of_product_gradient(p.value(), 3.0))
            );
            // The outer tape resumes: p and the inputs are still usable.
            outputs![p * x[0] + inner.gradient.unwrap()[1]]
        });
        // f = x0^2 x1 + sin(3 x0 x1)'s partial in its second argument (a constant here).
        assert_eq!(r.gradient, Some(vec![2.0 * 0.5 * 2.0, 0.25]));
        assert_eq!(r.counters.get("tape_entries"), Some(3));
    }

    #[test]
    fn gradients_on_four_threads_do_not_interfere() {
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for k in 0..200 {
                        let (a, b) = (0.01 * k as f64, 1.0 + t as f64);
                        let r = Tape::vjp_with(&[a, b], &[1.0], |x| {
                            let mut v = x[0] * x[1];
                            for _ in 0..t {
                                v += 0.0;
                            }
                            outputs![v.sin()]
                        });
                        assert_eq!(r.gradient, Some(sin_of_product_gradient(a, b)));
                        assert_eq!(r.counters.get("tape_entries"), Some(2 + t));
                    }
                });
            }
        });
    }

    #[test]
    #[should_panic(expected = "was used in gradient generation")]
    fn a_value_from_a_finished_gradient_panics_in_a_later_one() {
        let kept = Cell::new(None);
        Tape::vjp_with(&[1.0], &[1.0], |x| {
            kept.set(Some(x[0].sin()));
            outputs![x[0]]
        });
        let stale = kept.get().unwrap();
        Tape::vjp_with(&[1.0], &[1.0], |x| outputs![x[0] * stale]);
    }

    #[test]
    #[should_panic(expected = "used outside any gradient call")]
    fn a_value_from_a_finished_gradient_panics_outside_any_gradient() {
        let kept = Cell::new(None);
        Tape::vjp_with(&[1.0], &[1.0], |x| {
            kept.set(Some(x[0]));
            outputs![x[0]]
        });
        let _ = kept.get().unwrap().exp();
    }

    #[test]
    #[should_panic(expected = "inside the nested gradient")]
    fn an_outer_value_panics_inside_a_nested_gradient() {
        Tape::vjp_with(&[1.0], &[1.0], |outer| {
            let o = outer[0];
            Tape::vjp_with(&[2.0], &[1.0], |inner| outputs![inner[0] + o]);
            outputs![o]
        });
    }

    #[test]
    fn a_panicking_program_leaves_no_tape_behind() {
        let result = std::panic::catch_unwind(|| {
            Tape::vjp_with(&[1.0], &[1.0], |_| panic!("program failed"));
        });
        assert!(result.is_err());
        TAPES.with(|tapes| {
            let stack = tapes.borrow();
            assert_eq!(stack.current.generation, NO_GENERATION);
            assert!(stack.suspended.is_empty());
        });
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        assert_eq!(r.gradient, Some(sin_of_product_gradient(0.5, 2.0)));
    }

    #[test]
    fn finished_gradients_leave_their_buffers_for_reuse_until_released() {
        let spare = || {
            TAPES.with(|tapes| {
                let stack = tapes.borrow();
                let entries: usize = stack.spare_entries.iter().map(Vec::capacity).sum();
                (entries, stack.spare_adjoints.capacity())
            })
        };
        Tape::release_memory();
        assert_eq!(spare(), (0, 0));
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        let (entries, adjoints) = spare();
        assert!(
            entries >= 2 && adjoints >= 4,
            "kept {entries} entries, {adjoints} adjoints"
        );
        let again = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        assert_eq!(again.gradient, r.gradient);
        assert_eq!(
            spare(),
            (entries, adjoints),
            "a warm gradient reuses, not grows"
        );
        Tape::release_memory();
        assert_eq!(spare(), (0, 0));
    }

    #[test]
    fn fork_join_programs_record_both_branches_on_one_tape() {
        let r = Tape::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0]);
        let e = 0.25f64.exp();
        assert_eq!(r.gradient, Some(vec![0.5f64.cos() * e, 0.5f64.sin() * e]));
        assert_eq!(r.counters.get("tape_entries"), Some(3));
    }

    #[test]
    fn values_outside_a_gradient_are_constants() {
        let v = TapeReal::constant(2.0).sin() * 3.0;
        assert!(!v.is_active());
        assert_eq!(v.value(), 3.0 * 2f64.sin());
    }
}
