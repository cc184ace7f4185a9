//! `tape`: classic Wengert-list reverse AD, the practitioners' reference point.
//!
//! # Representation
//!
//! A scalar is a [`TapeReal`]: its primal value, the index of its adjoint slot, and the
//! *generation* of the gradient call that created it (24 bytes, `Copy`; the generation is a
//! 64-bit counter, which cannot wrap, because the sweep trusts it). Inputs occupy slots
//! 0..n; each operation with at least one active operand appends one entry to the tape and
//! takes slot n + (its position on the tape). Constants, and operations whose operands are all
//! constants, have no slot and record nothing (`docs/ladder.md`, the tape).
//!
//! An entry is an 8-byte header — its operands' slots and its kind — and only the partials its
//! kind needs: none for `a + b`, `a - b`, `a ± c` and `-a` (partials ±1), one for the other
//! one-operand operations, two for `*`, `/` and `powf` (8, 16 or 24 bytes; Adept and CoDiPack
//! likewise store one index per operand and a partial only where it is not fixed). Headers and
//! partials go into two streams, in entry order, so that the sweep finds every header at a
//! fixed stride: with the partials interleaved, finding the previous entry waited for the
//! current entry's kind, a load-to-load dependency per entry that bounded the sweep (measured:
//! 1.4x slower on `ode`, 1.45x on `llsq`). Each stream is a list of blocks that never move (the
//! first of 2 KiB, doubling up to 256 KiB), so the tape grows without copying and wastes at
//! most one block per stream. Recording is inlined into every operation: a
//! constant-initialised thread-local cursor (no lazy-initialisation check, no `RefCell`
//! borrow), two generation compares, one capacity check per stream written and the stores;
//! taking a new block is the one cold path.
//!
//! # Algorithm and cost
//!
//! [`Tape::vjp`] starts a fresh tape, lifts the inputs, evaluates the program (recording), then
//! sweeps the tape backwards once over an array of adjoints: seed the outputs' slots with the
//! cotangent; for every entry from the last the outputs depend on down to the first,
//! `adj[operand] += adj[entry] * partial` for each operand. The gradient is `adj[0..n]`. The
//! sweep is unchecked: an entry's operands are values recorded earlier on the same tape (the
//! generation check ensures it), so their slots are below the entry's. A Jacobian records once
//! and sweeps the tape once per output. Both passes are loops — no recursion — so a
//! 10^6-operation chain runs on any stack. Cost: O(T)
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
//!   operand of each swept entry (an entry whose adjoint is zero — no seeded output reaches
//!   it — makes its updates as no-ops: it is stepped over, and its edges still count).
//! - `sweeps`: reverse sweeps of the one recorded tape: 1 for a vector-Jacobian product, m for
//!   a Jacobian (`entries_swept` and `edges_applied` sum over them; `tape_entries` does not).
//!
//! # Phases and memory
//!
//! `forward` is starting the tape, lifting the inputs and recording; `reverse` is the sweep
//! and resetting the tape and the adjoint array. Resetting keeps the blocks, the lifted-input
//! vector and the adjoint array in a thread-local pool for the next gradient, as practical tapes (Adept, CoDiPack, Stan's arena)
//! do: a warm gradient neither grows its tape nor touches fresh pages. The price is that a
//! thread keeps its largest tape (per nesting depth) until it exits or calls
//! [`Tape::release_memory`]. `dualbench run` measures memory on the first gradient of a fresh
//! process, where the pool is empty: a cold gradient.
//!
//! # Fork-join programs
//!
//! [`TapeReal`] is plain data and implements [`ParReal`]; `join` runs both branches in order on
//! the calling thread, recording them on its tape, which makes [`Tape`] a [`ParStrategy`].

use std::cell::Cell;

use crate::arena::{self, ActiveRecording, Generation, Kind, Recording};

use crate::forward::impl_real_from_partials;
use crate::program::{
    check_inputs, check_lengths, Derivatives, Outputs, ParProgram, ParStrategy, Probe, Program,
    Strategy, Vjp,
};
use crate::real::{partials, ParReal, Real};

/// The slot of a constant: no adjoint, no entry.
const NO_SLOT: u32 = u32::MAX;

/// A scalar recorded on the tape of one gradient call.
#[derive(Clone, Copy, Debug)]
pub struct TapeReal {
    value: f64,
    slot: u32,
    generation: Generation,
}

/// The strategy's name in the messages of misuse.
const STRATEGY: &str = "tape";

arena::impl_recorded_scalar!(TapeReal, slot, NO_SLOT);
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

thread_local! {
    /// The lifted-input vector of the last finished gradient on this thread, kept for the next.
    static SPARE_INPUTS: Cell<Vec<TapeReal>> = const { Cell::new(Vec::new()) };
}

/// Starts a tape ([`ActiveRecording::start`]: suspends the running one, if any) and lifts the
/// inputs into slots 0..n (into a reused vector).
fn start(x: &[f64]) -> (ActiveRecording, Vec<TapeReal>) {
    let tape = ActiveRecording::start(STRATEGY, x.len());
    let mut lifted = SPARE_INPUTS.take();
    lifted.clear();
    lifted.extend(x.iter().zip(0..).map(|(&value, slot)| TapeReal {
        value,
        slot,
        generation: tape.generation,
    }));
    (tape, lifted)
}

/// Keeps a finished gradient's tape, input vector and adjoint array for the next gradient.
fn recycle(recording: Recording, inputs: Vec<TapeReal>, adjoints: Vec<f64>) {
    arena::recycle(recording, adjoints);
    SPARE_INPUTS.set(inputs);
}

/// Sweeps the entries of `recording` whose slot is below `top` from the last to the first:
/// each propagates its adjoint to its operands (an entry whose adjoint is zero, which no
/// seeded output reaches, has nothing to propagate and is stepped over). Each entry's adjoint
/// is reset to zero as it is read, so once the caller has read out and reset the inputs' the
/// array is all zero again and the next gradient takes it without clearing it. Returns the
/// edges of the swept entries (counted only when the probe counts).
///
/// The sweep is unchecked: every operand slot of the entry of slot s is below s (an operand is
/// a value recorded earlier on this very tape — the generation check of [`arena::record`]
/// guarantees it), and s < `adjoints.len()`, so every index is in bounds.
#[inline]
fn sweep<Q: Probe>(recording: &Recording, top: usize, adjoints: &mut [f64]) -> u64 {
    let n = recording.inputs as usize;
    assert!(top <= adjoints.len() && adjoints.len() == n + recording.records());
    debug_assert!(adjoints[top..].iter().all(|&a| a == 0.0));
    let mut edges = 0;
    let adj = adjoints.as_mut_ptr();
    recording.for_each_record_backwards(top, |slot, h, stored| {
        let kind = Kind::of(h);
        // SAFETY: the slots are in bounds as argued above, and `stored` holds the partials the
        // entry's kind stores.
        unsafe {
            let first = adj.add(arena::first_operand(h));
            let second = adj.add(arena::second_operand(h));
            debug_assert!(arena::first_operand(h) < slot);
            let dz = *adj.add(slot);
            *adj.add(slot) = 0.0;
            if Q::COUNTS {
                edges += kind.edges();
            }
            // A zero adjoint propagates nothing (`times(partial, 0) = 0` on every edge):
            // entries the seeded outputs do not reach are stepped over.
            if dz == 0.0 {
                return;
            }
            match kind {
                Kind::Add => {
                    *first += dz;
                    *second += dz;
                }
                Kind::Sub => {
                    *first += dz;
                    *second -= dz;
                }
                Kind::Shift => *first += dz,
                Kind::Negate => *first -= dz,
                Kind::Unary => {
                    let d = f64::from_bits(*stored.get_unchecked(0));
                    *first += partials::times(d, dz);
                }
                Kind::Binary => {
                    let dx = f64::from_bits(*stored.get_unchecked(0));
                    let dy = f64::from_bits(*stored.get_unchecked(1));
                    *first += partials::times(dx, dz);
                    *second += partials::times(dy, dz);
                }
            }
        }
    });
    edges
}

/// Which products a recording is swept for.
#[derive(Clone, Copy)]
enum Rows<'a> {
    /// One sweep: `cotangent^T J`.
    Cotangent(&'a [f64]),
    /// m sweeps, seeded with e_1 .. e_m: the Jacobian's rows.
    Unit(usize),
}

impl Rows<'_> {
    fn outputs(self) -> usize {
        match self {
            Rows::Cotangent(w) => w.len(),
            Rows::Unit(m) => m,
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
            Self::differentiate(x, Rows::Cotangent(cotangent), eval, out, recorder);
        })
    }

    /// Record `eval` at `x` once, write the values, then sweep the tape once per row of
    /// `rows`, appending each product (n numbers) to `out.derivative`.
    #[inline]
    fn differentiate<F, Q>(x: &[f64], rows: Rows<'_>, eval: F, out: &mut Derivatives, probe: &mut Q)
    where
        F: FnOnce(&[TapeReal]) -> Outputs<TapeReal>,
        Q: Probe,
    {
        probe.forward_starts();
        let (tape, inputs) = start(x);
        let outputs = eval(&inputs);
        let m = rows.outputs();
        if outputs.len() != m {
            panic!(
                "cotangent has length {m} but the program returned {} outputs",
                outputs.len()
            );
        }
        for output in &outputs {
            if output.is_active() && output.generation != tape.generation {
                arena::foreign_value(STRATEGY, tape.generation, output.generation);
            }
        }

        probe.reverse_starts();
        let recording = tape.finish();
        let n = x.len();
        let len = n + recording.records();
        let mut kept_adjoints = arena::take_adjoints(len);
        let adjoints = &mut kept_adjoints[..len];
        out.value.clear();
        out.value.extend(outputs.iter().map(Real::value));
        let (mut swept, mut edges_applied, mut sweeps) = (0u64, 0u64, 0u64);
        let mut sweep_with = |adjoints: &mut [f64], seed: &mut dyn FnMut(&mut [f64]) -> usize| {
            let top = seed(adjoints);
            edges_applied += sweep::<Q>(&recording, top, adjoints);
            swept += (top - n) as u64;
            sweeps += 1;
            out.derivative.extend_from_slice(&adjoints[..n]);
            adjoints[..n].fill(0.0);
        };
        match rows {
            Rows::Cotangent(w) => {
                sweep_with(adjoints, &mut |adjoints| {
                    seed(adjoints, n, &outputs, |i| w[i])
                });
            }
            Rows::Unit(m) => {
                for row in 0..m {
                    sweep_with(adjoints, &mut |adjoints| {
                        seed(adjoints, n, &outputs, |i| if i == row { 1.0 } else { 0.0 })
                    });
                }
            }
        }
        let recorded = recording.records() as u64;
        recycle(recording, inputs, kept_adjoints);
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[
                ("tape_entries", recorded),
                ("entries_swept", swept),
                ("edges_applied", edges_applied),
                ("sweeps", sweeps),
            ]);
        }
    }

    /// Frees the tape blocks and buffers this thread keeps for reuse between gradients (the
    /// tapes of running gradients are untouched). Between gradients the tape is only reset, as
    /// practical tapes do, so a thread holds on to the largest tape it has recorded until it
    /// exits or calls this; measuring the memory of a cold gradient starts with this call.
    pub fn release_memory() {
        arena::release_memory();
        SPARE_INPUTS.set(Vec::new());
    }
}

/// Adds each active output's cotangent `w(i)` to its slot and returns one past the highest
/// seeded slot (at least n): entries above it cannot reach a seeded output.
#[inline]
fn seed(adjoints: &mut [f64], n: usize, outputs: &[TapeReal], w: impl Fn(usize) -> f64) -> usize {
    let mut top = n;
    for (i, output) in outputs.iter().enumerate() {
        if output.is_active() {
            let slot = output.slot as usize;
            adjoints[slot] += w(i);
            top = top.max(slot + 1);
        }
    }
    top
}

impl Strategy for Tape {
    const NAME: &'static str = "tape";
    const DESCRIPTION: &'static str =
        "Wengert list: (value, slot) scalars, one backward sweep over the tape: O(T)";
    const COUNTERS: &'static [&'static str] =
        &["tape_entries", "entries_swept", "edges_applied", "sweeps"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let rows = Rows::Cotangent(cotangent);
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }

    /// One recording, swept once per output (m sweeps of the same tape).
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        let rows = Rows::Unit(program.output_len());
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }
}

impl ParStrategy for Tape {
    const PARALLEL: bool = false;

    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let rows = Rows::Cotangent(cotangent);
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }

    /// One recording, swept once per output, as for a sequential program.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        let rows = Rows::Unit(program.output_len());
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::panic::AssertUnwindSafe;

    use std::sync::atomic::Ordering;

    use super::*;
    use crate::arena::{
        FIRST_BLOCK_WORDS, LAST_GENERATION, MAX_BLOCK_WORDS, NO_GENERATION, RECORDINGS,
        SPARE_ADJOINTS,
    };
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

    /// A 32-bit generation wrapped after 2^32 gradients, so that a stale value passed the check
    /// of the gradient that drew its generation again (and the unchecked sweep indexed its
    /// slot). Jumps the process's counter ahead until a gradient's generation agrees with a
    /// stale value's in the low 32 bits (other tests' gradients may take a number first; the
    /// counter only moves forward, which they do not notice).
    #[test]
    fn a_stale_value_is_refused_by_the_gradient_2_to_the_32_generations_later() {
        let kept = Cell::new(None);
        Tape::vjp_with(&[1.0], &[1.0], |x| {
            kept.set(Some(x[0].sin()));
            outputs![x[0]]
        });
        let stale = kept.get().unwrap();
        let mut alias = stale.generation;
        loop {
            alias += 1 << 32;
            LAST_GENERATION.fetch_max(alias - 1, Ordering::Relaxed);
            let running = Cell::new(NO_GENERATION);
            let used = std::panic::catch_unwind(AssertUnwindSafe(|| {
                Tape::vjp_with(&[1.0], &[1.0], |x| {
                    running.set(x[0].generation);
                    outputs![x[0] * stale]
                })
            }));
            if running.get() == alias {
                assert_eq!(alias as u32, stale.generation as u32);
                assert!(used.is_err(), "the stale value passed the generation check");
                return;
            }
        }
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
        RECORDINGS.with(|tapes| {
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
            RECORDINGS.with(|tapes| {
                let stack = tapes.borrow();
                let entries: usize = stack
                    .spare_streams
                    .iter()
                    .map(|(h, p)| h.capacity_words() + p.capacity_words())
                    .sum();
                let adjoints = SPARE_ADJOINTS.take();
                let capacity = adjoints.capacity();
                SPARE_ADJOINTS.set(adjoints);
                (entries, capacity)
            })
        };
        Tape::release_memory();
        assert_eq!(spare(), (0, 0));
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        let (entries, adjoints) = spare();
        assert!(
            entries >= FIRST_BLOCK_WORDS && adjoints >= 4,
            "kept {entries} tape words, {adjoints} adjoints"
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

    /// 3 inputs, 2 * 10^5 operations of every kind in an irregular order, so that both
    /// streams cross many block boundaries at different entries.
    struct MixedKinds;
    impl Program for MixedKinds {
        fn input_len(&self) -> usize {
            3
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (mut a, mut b) = (x[0].clone(), x[1].clone());
            for i in 0..50_000u32 {
                let t = match i % 7 {
                    0 | 3 => a.clone() * b.clone() * 0.5,
                    1 => (a.clone() - x[2].clone()).sin(),
                    2 | 5 => a.clone() + b.clone() + 0.25,
                    4 => -b.clone() / (a.clone() * a.clone() + 1.0),
                    _ => b.clone().tanh() - 0.5,
                };
                b = a;
                a = t.tanh();
            }
            outputs![a, b * x[2].clone()]
        }
    }

    #[test]
    fn the_sweep_reads_both_streams_across_their_block_boundaries() {
        let x = [0.3, -0.7, 0.2];
        let tape = Tape::jacobian(&MixedKinds, &x);
        let forward = crate::forward::Forward::jacobian(&MixedKinds, &x);
        assert_eq!(tape.value, forward.value);
        for (t, f) in tape.rows.unwrap().iter().zip(forward.rows.unwrap()) {
            for (a, b) in t.iter().zip(f) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
        assert!(tape.counters.get("tape_entries").unwrap() > 4 * MAX_BLOCK_WORDS as u64);
    }

    #[test]
    fn values_outside_a_gradient_are_constants() {
        let v = TapeReal::constant(2.0).sin() * 3.0;
        assert!(!v.is_active());
        assert_eq!(v.value(), 3.0 * 2f64.sin());
    }
}
