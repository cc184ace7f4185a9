//! `dualrev`: rung 4 of the ladder, the optimised dual-numbers reverse AD algorithm (Smeding &
//! Vákár, POPL 2023, the step "using mutable arrays"; JFP 2025, Sect. 5).
//!
//! # Representation
//!
//! A scalar is a [`Dual`]: its primal value and a reference to its **Contrib** — the staged
//! backpropagator that linear factoring introduced (rungs 1–3, [`contrib`](crate::contrib)):
//! the list of edges (operand ID, partial derivative). IDs come from a per-gradient counter in
//! topological order; the inputs get the first IDs `0..n` and have no Contrib; constants, and
//! values computed from constants only, have neither.
//!
//! From this rung on the Contribs live in a **per-gradient arena**, the Rust counterpart of the
//! heap the paper's Haskell implementation allocates them on: the Contrib of ID i is a record
//! written when i is allocated (`arena.rs`, shared with the tape: a header with its operand
//! IDs and a tag, and only the partials that are not ±1, as the artifact's `C1`/`C2`
//! constructors), so the record of ID i is found by its ID and a value's reference to its
//! Contrib *is* its ID.
//! That makes the scalar `Copy` and 24 bytes (value, ID, the gradient's 64-bit generation), with
//! no reference count: a Contrib the output does not reach costs nothing after it is written,
//! as an uncollected object costs a garbage collector nothing. The difference from a GC heap is
//! when memory comes back: every record is kept until the gradient ends (O(T) memory, like a
//! tape), and the arena's blocks are reused by the next gradient of the thread.
//!
//! The step from [`sparse`](crate::sparse) (rung 3) to this rung is the paper's: the two
//! functional collectors — the staging map from ID to (Contrib, cotangent) and the sparse
//! gradient map from input index to cotangent — become **one mutable array indexed by ID**.
//! Here it is split in two: `adjoints[i]`, the accumulated cotangent of ID i, and `reached[i]`,
//! whether ID i's Contrib is staged (reached from a seeded output). Because the inputs have the
//! first IDs, their adjoints are the gradient; the input backpropagators disappear.
//!
//! # Algorithm ("resolve")
//!
//! 1. Seed each active output: `adjoints[id] += w`, `reached[id] = true`.
//! 2. For `i` from the largest ID down to n: if `reached[i]`, apply ID i's Contrib once: for
//!    each edge `(j, d)`, `adjoints[j] += adjoints[i] * d` and `reached[j] = true`. Every user of
//!    `i` has a larger ID, so `adjoints[i]` is complete when `i` is reached.
//! 3. The gradient is `adjoints[0..n]`.
//!
//! Each entry of the two arrays is reset as it is read, so the arrays are all zero and all
//! unreached when a resolve ends and are kept for the next without clearing. Cost: O(T) for the
//! whole gradient, the paper's "correct complexity" — a constant factor over the primal whatever
//! the sharing. Both passes are loops, so a chain of 10^6 operations runs on any stack.
//!
//! # Relation to taping
//!
//! The arena is the Wengert list the paper observes the algorithm to reconstruct, and it shares
//! its records and blocks with the [`tape`](crate::tape) strategy. What differs is the reverse
//! pass: the tape sweeps every entry and steps over those whose adjoint is zero; resolve applies
//! exactly the Contribs reached from the seeded outputs, once each, and reports them
//! (`contribs_applied`), which is the paper's algorithm and its counters.
//!
//! # Counters
//!
//! - `ids_allocated`: IDs handed out by the forward pass: n inputs plus one per operation with
//!   an active operand (operations on constants only are constants and get none).
//! - `resolves`: reverse passes over the one Contrib graph of the call: 1 for a
//!   vector-Jacobian product, m for a Jacobian (the graph is built once and resolved once per
//!   output).
//! - `contribs_applied`: Contribs applied, each exactly once per resolve: the non-input nodes
//!   reachable from the seeded outputs, the outputs' own nodes (the seed) included.
//! - `edges_applied`: edges of the applied Contribs (one or two per node).
//! - `collector_updates`: additions into the adjoint array: one per seeded (active) output plus
//!   one per edge applied.
//! - `slots_swept`: slots of the ID-indexed array, `ids_allocated` per resolve: the sweep steps
//!   over every ID above the inputs (applying the reached ones) and reads the input slots out as
//!   the gradient.

use std::cell::Cell;

use crate::arena::{self, ActiveRecording, Generation, Kind, Recording};
use crate::forward::impl_real_from_partials;
use crate::program::{check_inputs, check_lengths, Derivatives, Outputs, Probe, Program, Strategy};
use crate::real::{partials, Real};

/// The strategy's name in the messages of misuse.
const STRATEGY: &str = "dualrev";

/// The ID of a constant: no Contrib, no adjoint.
const NO_ID: u32 = u32::MAX;

/// The scalar of `dualrev`: a primal value and the ID of its Contrib in the running gradient's
/// arena, tagged with the gradient's generation (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct Dual {
    value: f64,
    id: u32,
    generation: Generation,
}

arena::impl_recorded_scalar!(Dual, id, NO_ID);
impl_real_from_partials!(Dual);

/// The one mutable array indexed by ID, split into the accumulated cotangents and the reached
/// flags. Between resolves every adjoint is zero and no ID is reached.
#[derive(Default)]
struct Collector {
    adjoints: Vec<f64>,
    reached: Vec<bool>,
}

thread_local! {
    /// The collector and the lifted-input vector of the last finished gradient on this thread,
    /// kept for the next (a nested gradient finds them taken and allocates its own).
    static SPARE_COLLECTOR: Cell<Collector> = Cell::new(Collector::default());
    static SPARE_INPUTS: Cell<Vec<Dual>> = const { Cell::new(Vec::new()) };
}

/// Which products a Contrib graph is resolved for.
#[derive(Clone, Copy)]
enum Rows<'a> {
    /// One resolve: `cotangent^T J`.
    Cotangent(&'a [f64]),
    /// m resolves, seeded with e_1 .. e_m: the Jacobian's rows.
    Unit(usize),
}

/// The counts of one resolve.
#[derive(Default)]
struct Applied {
    contribs: u64,
    edges: u64,
}

/// Resolves the Contrib graph of `recording` from the IDs below `top` down (see the module
/// documentation), with `collector` seeded, and appends the gradient to `gradient`. Leaves the
/// collector all zero and unreached.
///
/// Unchecked: every operand ID of the Contrib of ID i is below i (an operand is a value of this
/// very gradient — [`arena::record`]'s generation check guarantees it), and
/// `top <= collector.adjoints.len() == n + records`, so every index is in bounds.
#[inline]
fn resolve<Q: Probe>(
    recording: &Recording,
    top: usize,
    collector: &mut Collector,
    gradient: &mut Vec<f64>,
) -> Applied {
    let n = recording.inputs as usize;
    let len = n + recording.records();
    assert!(top <= len && collector.adjoints.len() >= len && collector.reached.len() >= len);
    let adj = collector.adjoints.as_mut_ptr();
    let reached = collector.reached.as_mut_ptr();
    let mut applied = Applied::default();
    recording.for_each_record_backwards(top, |i, h, stored| {
        // SAFETY: the IDs are in bounds as argued above, and `stored` holds the partials the
        // Contrib's kind stores.
        unsafe {
            if !*reached.add(i) {
                return;
            }
            *reached.add(i) = false;
            let dz = *adj.add(i);
            *adj.add(i) = 0.0;
            let kind = Kind::of(h);
            if Q::COUNTS {
                applied.contribs += 1;
                applied.edges += kind.edges();
            }
            let (j, k) = (arena::first_operand(h), arena::second_operand(h));
            debug_assert!(j < i && k < i);
            *reached.add(j) = true;
            match kind {
                Kind::Add => {
                    *adj.add(j) += dz;
                    *adj.add(k) += dz;
                    *reached.add(k) = true;
                }
                Kind::Sub => {
                    *adj.add(j) += dz;
                    *adj.add(k) -= dz;
                    *reached.add(k) = true;
                }
                Kind::Shift => *adj.add(j) += dz,
                Kind::Negate => *adj.add(j) -= dz,
                Kind::Unary => {
                    let d = f64::from_bits(*stored.get_unchecked(0));
                    *adj.add(j) += partials::times(d, dz);
                }
                Kind::Binary => {
                    let dx = f64::from_bits(*stored.get_unchecked(0));
                    let dy = f64::from_bits(*stored.get_unchecked(1));
                    *adj.add(j) += partials::times(dx, dz);
                    *adj.add(k) += partials::times(dy, dz);
                    *reached.add(k) = true;
                }
            }
        }
    });
    // The input slots `0..n` end the sweep: inputs have no Contrib; their adjoints are the
    // gradient, read and reset.
    gradient.extend_from_slice(&collector.adjoints[..n]);
    collector.adjoints[..n].fill(0.0);
    collector.reached[..n].fill(false);
    applied
}

/// Rung 4: the optimised dual-numbers reverse AD (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Dualrev;

impl Dualrev {
    /// Runs the forward pass of `eval` at `x`, then resolves its Contrib graph once per row of
    /// `rows`, appending each product (n numbers) to `out.derivative`.
    #[inline]
    fn differentiate<F, Q>(x: &[f64], rows: Rows<'_>, eval: F, out: &mut Derivatives, probe: &mut Q)
    where
        F: FnOnce(&[Dual]) -> Outputs<Dual>,
        Q: Probe,
    {
        probe.forward_starts();
        let gradient = ActiveRecording::start(STRATEGY, x.len());
        let mut inputs = SPARE_INPUTS.take();
        inputs.clear();
        inputs.extend(x.iter().zip(0..).map(|(&value, id)| Dual {
            value,
            id,
            generation: gradient.generation,
        }));
        let outputs = eval(&inputs);
        let m = match rows {
            Rows::Cotangent(w) => w.len(),
            Rows::Unit(m) => m,
        };
        if outputs.len() != m {
            panic!(
                "the program returned {} outputs but declares {m}",
                outputs.len()
            );
        }
        for output in &outputs {
            if output.is_active() && output.generation != gradient.generation {
                arena::foreign_value(STRATEGY, gradient.generation, output.generation);
            }
        }

        probe.reverse_starts();
        let recording = gradient.finish();
        let n = x.len();
        let len = n + recording.records();
        let mut collector = SPARE_COLLECTOR.take();
        if collector.adjoints.len() < len {
            collector.adjoints.resize(len, 0.0);
            collector.reached.resize(len, false);
        }
        out.value.clear();
        out.value.extend(outputs.iter().map(Real::value));
        let mut resolve_seeded = |seed: &mut dyn FnMut(usize) -> Option<f64>| -> (u64, Applied) {
            let mut top = n;
            let mut seeds = 0;
            for (i, output) in outputs.iter().enumerate() {
                if let (true, Some(w)) = (output.is_active(), seed(i)) {
                    let id = output.id as usize;
                    collector.adjoints[id] += w;
                    collector.reached[id] = true;
                    top = top.max(id + 1);
                    seeds += 1;
                }
            }
            let applied = resolve::<Q>(&recording, top, &mut collector, &mut out.derivative);
            (seeds, applied)
        };
        let mut totals = (0u64, Applied::default(), 0u64);
        let mut add = |(seeds, applied): (u64, Applied)| {
            totals.0 += seeds;
            totals.1.contribs += applied.contribs;
            totals.1.edges += applied.edges;
            totals.2 += 1;
        };
        match rows {
            Rows::Cotangent(w) => add(resolve_seeded(&mut |i| Some(w[i]))),
            Rows::Unit(m) => {
                for row in 0..m {
                    add(resolve_seeded(&mut |i| (i == row).then_some(1.0)));
                }
            }
        }
        arena::recycle(recording, Vec::new());
        SPARE_COLLECTOR.set(collector);
        SPARE_INPUTS.set(inputs);
        probe.finished();
        if Q::COUNTS {
            let (seeds, applied, resolves) = totals;
            probe.counters(&[
                ("ids_allocated", len as u64),
                ("resolves", resolves),
                ("contribs_applied", applied.contribs),
                ("edges_applied", applied.edges),
                ("collector_updates", seeds + applied.edges),
                ("slots_swept", len as u64 * resolves),
            ]);
        }
    }
}

#[cfg(test)]
impl Dualrev {
    /// A vector-Jacobian product of a closure with one input and one output (tests only).
    fn vjp_with_for_test<F>(x: &[f64], eval: F) -> Derivatives
    where
        F: FnOnce(&[Dual]) -> Outputs<Dual>,
    {
        let mut out = Derivatives::default();
        Self::differentiate(
            x,
            Rows::Cotangent(&[1.0]),
            eval,
            &mut out,
            &mut crate::program::Silent,
        );
        out
    }
}

impl Strategy for Dualrev {
    const NAME: &'static str = "dualrev";
    const DESCRIPTION: &'static str =
        "rung 4: Contrib records in a per-gradient arena, resolved in one mutable array indexed by ID, the optimised algorithm: O(T)";

    const COUNTERS: &'static [&'static str] = &[
        "ids_allocated",
        "resolves",
        "contribs_applied",
        "edges_applied",
        "collector_updates",
        "slots_swept",
    ];

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

    /// One forward pass, its Contrib graph resolved once per output.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::real::Real;
    use crate::test_programs::SinChain;

    #[test]
    fn constants_on_the_left_have_the_shared_partials() {
        use crate::test_programs::{constants_on_the_left, constants_on_the_left_expected};
        for x in [0.75, -2.5] {
            let (values, derivatives) = constants_on_the_left_expected(x);
            for k in 0..4 {
                let r =
                    Dualrev::vjp_with_for_test(&[x], |v| outputs![constants_on_the_left(&v[0])[k]]);
                assert_eq!(
                    (r.value[0], r.derivative[0]),
                    (values[k], derivatives[k]),
                    "{k}"
                );
            }
        }
    }

    /// Builds a long sin chain, then returns only the input: the chain is dropped inside the
    /// program, outside any reverse pass.
    struct DiscardedChain(usize);
    impl Program for DiscardedChain {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let chain = SinChain(self.0).eval(x);
            assert!(chain[0].value().is_finite());
            outputs![x[0].clone() * 3.0]
        }
    }

    #[test]
    fn resolves_a_million_op_chain_on_the_default_stack() {
        let k = 1_000_000;
        let r = Dualrev::vjp(&SinChain(k), &[0.5], &[1.0]);
        let (v, d) = SinChain(k).reference(0.5);
        assert_eq!(r.value, vec![v]);
        let g = r.gradient.unwrap()[0];
        assert!((g - d).abs() <= 1e-12 * d.abs(), "{g} vs {d}");
        assert_eq!(r.counters.get("contribs_applied"), Some(k as u64));
        assert_eq!(r.counters.get("slots_swept"), Some(k as u64 + 1));
    }

    #[test]
    fn drops_a_million_op_chain_the_output_does_not_use_on_the_default_stack() {
        let r = Dualrev::vjp(&DiscardedChain(1_000_000), &[0.5], &[1.0]);
        assert_eq!(r.gradient, Some(vec![3.0]));
        assert_eq!(r.counters.get("ids_allocated"), Some(1_000_002));
        assert_eq!(r.counters.get("contribs_applied"), Some(1));
        assert_eq!(r.counters.get("edges_applied"), Some(1));
        assert_eq!(r.counters.get("slots_swept"), Some(1_000_002));
    }

    /// y = x0 * x1 + sin(x0), with an unused branch exp(x1) computed and dropped.
    struct Small;
    impl Program for Small {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let _unused = x[1].exp();
            outputs![x[0].clone() * x[1].clone() + x[0].sin()]
        }
    }

    #[test]
    fn nodes_the_output_does_not_depend_on_are_never_applied() {
        let r = Dualrev::vjp(&Small, &[0.3, 2.0], &[1.0]);
        let g = r.gradient.unwrap();
        assert!((g[0] - (2.0 + 0.3f64.cos())).abs() < 1e-15);
        assert!((g[1] - 0.3).abs() < 1e-15);
        // IDs: x0, x1, exp, mul, sin, add.
        assert_eq!(r.counters.get("ids_allocated"), Some(6));
        assert_eq!(r.counters.get("contribs_applied"), Some(3));
        assert_eq!(r.counters.get("edges_applied"), Some(5));
        assert_eq!(r.counters.get("collector_updates"), Some(6));
    }

    /// f(x) = x^2 * c, where c = d/dy (y^3) at y = x is computed by a nested gradient.
    struct OuterUsesInnerGradient;
    struct Cube;
    impl Program for Cube {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![x[0].powi(3)]
        }
    }
    impl Program for OuterUsesInnerGradient {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let square = x[0].clone() * x[0].clone();
            let inner = Dualrev::vjp(&Cube, &[x[0].value()], &[1.0]);
            let c = inner.gradient.unwrap()[0];
            outputs![square * c]
        }
    }

    #[test]
    fn a_nested_gradient_does_not_disturb_the_outer_one() {
        let r = Dualrev::vjp(&OuterUsesInnerGradient, &[2.0], &[1.0]);
        // c = 3 x^2 = 12 is a constant to the outer gradient: f = 12 x^2, f' = 24 x = 48.
        assert_eq!(r.value, vec![48.0]);
        assert_eq!(r.gradient, Some(vec![48.0]));
        // Outer IDs: x, square, square * c — the inner gradient's two IDs are not among them.
        assert_eq!(r.counters.get("ids_allocated"), Some(3));
    }

    #[test]
    fn gradients_on_different_threads_do_not_interfere() {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    (0..50)
                        .map(|i| {
                            let x = [0.1 * f64::from(t) + 0.01 * f64::from(i), 2.0];
                            let r = Dualrev::vjp(&Small, &x, &[1.0]);
                            let g = r.gradient.unwrap();
                            (g[0] - (x[1] + x[0].cos())).abs() + (g[1] - x[0]).abs()
                        })
                        .fold(0.0, f64::max)
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap() < 1e-15);
        }
    }

    /// Returns the same active value twice, and a constant.
    struct SharedOutputs;
    impl Program for SharedOutputs {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            3
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let y = x[0].exp();
            outputs![y.clone(), y, R::constant(1.0)]
        }
    }

    #[test]
    fn an_output_returned_twice_is_applied_once_with_the_summed_cotangent() {
        let r = Dualrev::vjp(&SharedOutputs, &[0.0], &[2.0, 3.0, 7.0]);
        assert_eq!(r.gradient, Some(vec![5.0]));
        assert_eq!(r.counters.get("contribs_applied"), Some(1));
        assert_eq!(r.counters.get("collector_updates"), Some(3));
    }

    #[test]
    fn a_value_kept_from_a_finished_gradient_panics_naming_the_misuse() {
        let kept = std::cell::Cell::new(None);
        let _ = Dualrev::vjp_with_for_test(&[0.5], |x| {
            kept.set(Some(x[0].sin()));
            outputs![x[0]]
        });
        let stale = kept.get().unwrap();
        let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Dualrev::vjp_with_for_test(&[0.5], |x| outputs![x[0] * stale])
        }))
        .expect_err("a stale value must panic")
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
        assert!(
            message.contains("dualrev:") && message.contains("has finished"),
            "{message}"
        );
        let outside = std::panic::catch_unwind(|| stale.exp());
        assert!(outside.is_err(), "outside any gradient, too");
        // The value itself stays readable, and the next gradient is unharmed.
        assert_eq!(stale.value(), 0.5f64.sin());
        let r = Dualrev::vjp(&Small, &[0.3, 2.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![2.0 + 0.3f64.cos(), 0.3]));
    }

    #[test]
    fn a_jacobian_resolves_the_one_graph_once_per_output() {
        let r = Dualrev::jacobian(&SharedOutputs, &[0.0]);
        assert_eq!(r.rows, Some(vec![vec![1.0], vec![1.0], vec![0.0]]));
        assert_eq!(r.counters.get("resolves"), Some(3));
        assert_eq!(r.counters.get("ids_allocated"), Some(2));
        assert_eq!(r.counters.get("slots_swept"), Some(6));
        assert_eq!(r.counters.get("contribs_applied"), Some(2));
    }
}
