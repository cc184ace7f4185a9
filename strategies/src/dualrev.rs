//! `dualrev`: rung 4 of the ladder, the optimised dual-numbers reverse AD algorithm (Smeding &
//! Vákár, POPL 2023, the step "using mutable arrays"; JFP 2025, Sect. 5).
//!
//! # Representation
//!
//! The forward pass is the one shared by rungs 1–4 ([`contrib`](crate::contrib)): a scalar is
//! (value, ID, Contrib), IDs come from a per-gradient counter, the inputs get the first IDs
//! `0..n`, and a Contrib is a reference-counted node holding its edges (operand ID, operand
//! Contrib, partial) inline.
//!
//! The step from [`sparse`](crate::sparse) (rung 3) to this rung: the two functional
//! collectors — the staging map from ID to (Contrib, cotangent) and the sparse gradient map
//! from input index to cotangent — become **one mutable array indexed by ID**, whose slot
//! `i` holds `contribs[i]` (the Contrib of ID `i`, once reached) and `adjoints[i]` (its
//! accumulated cotangent) side by side. Because the inputs have the first IDs, their slots are
//! the gradient; the input backpropagators disappear.
//!
//! # Algorithm ("resolve")
//!
//! 1. Allocate the array with one slot per ID; seed each active output: `adjoints[id] += w`,
//!    `contribs[id] = its Contrib`.
//! 2. For `i` from the largest ID down to 0: if `contribs[i]` holds a Contrib (node `i` is
//!    reachable from an output), apply its edges once: for each edge `(j, cb_j, d)`,
//!    `contribs[j] = cb_j` and `adjoints[j] += adjoints[i] * d`. Every user of `i` has a larger
//!    ID, so `adjoints[i]` is complete when `i` is reached.
//! 3. The gradient is `adjoints[0..n]`.
//!
//! Cost: O(T) for the whole gradient, the paper's "correct complexity" — a constant factor over
//! the primal whatever the sharing. The array makes each collector update O(1) (rung 3 paid
//! O(log T) in its ordered maps).
//!
//! Resolve is a loop, and it also frees the graph as it goes: a slot is emptied when its node is
//! applied, and a node held only by its slot moves its operands' Contribs into their slots
//! instead of cloning them, so each freed node is freed without recursion. Values dropped
//! elsewhere release their graph iteratively too ([`contrib`](crate::contrib)). A chain of
//! 10^6 operations is resolved and freed on a 2 MiB stack.
//!
//! # Memory
//!
//! Nodes are 48 bytes (two edges and a 4-byte reference count) in cells of a per-thread pool
//! (fixed-size cells carved from slabs, recycled through a free list): a node is freed the
//! moment its last reference is dropped, as with `Rc`, but allocating and freeing it is a few
//! instructions instead of a `malloc` and a `free`. When a gradient has released its whole
//! graph the pool starts again at its first slab, so the next gradient allocates its nodes by
//! bumping a pointer, as the paper's implementation does under GHC. The ID-indexed slot array
//! is kept between gradients too. The pool keeps its slabs for the thread's life: its size is
//! the most nodes the thread ever had alive at once. The harness measures peak heap on a cold
//! gradient, where the pool starts empty.
//!
//! # Relation to taping
//!
//! The ID-indexed array is a Wengert list (a tape) reconstructed after the fact from the
//! Contrib graph, and the sweep over it is the classic reverse sweep of the [`tape`](crate::tape)
//! strategy. The differences are where the graph lives and what is swept: here the graph lives in
//! the values themselves (reachable from the output, freed as soon as it is unreachable, with no
//! global append-only tape), and the edges of nodes the output does not depend on are never
//! applied — those nodes were freed during the forward pass. The sweep still steps over every
//! ID slot, so the reverse pass costs O(IDs + edges applied), like a tape's.
//!
//! # Counters
//!
//! - `ids_allocated`: IDs handed out by the forward pass: n inputs plus one per operation with
//!   an active operand (operations on constants only are constants and get none).
//! - `resolves`: reverse passes over the one Contrib graph of the call: 1 for a
//!   vector-Jacobian product, m for a Jacobian (the graph is built once and resolved once per
//!   output; see [`contrib::jacobian`](crate::contrib)).
//! - `contribs_applied`: nodes whose Contrib was applied, each exactly once: the non-input
//!   nodes reachable from the seeded outputs, the outputs' own nodes (the seed) included.
//!   Inputs have no Contrib and are not counted.
//! - `edges_applied`: edges of the applied Contribs (one or two per node).
//! - `collector_updates`: additions into the adjoint array: one per seeded (active) output plus
//!   one per edge applied.
//! - `slots_swept`: slots of the ID-indexed array, `ids_allocated`: the sweep pops every slot
//!   above the inputs (applying the ones that hold a Contrib) and reads the input slots out as
//!   the gradient.

use std::cell::Cell;

use crate::contrib::{differentiate, for_each_edge, jacobian, ContribRef, Id, Seeds};
use crate::program::{Derivatives, Probe, Program, Strategy};
use crate::real::partials;

/// Rung 4: the optimised dual-numbers reverse AD (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Dualrev;

impl Strategy for Dualrev {
    const NAME: &'static str = "dualrev";
    const DESCRIPTION: &'static str =
        "rung 4: Contrib graph resolved in mutable arrays indexed by ID, the optimised algorithm: O(T)";

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
        differentiate(program, x, cotangent, out, probe, resolve);
    }

    /// One forward pass, its Contrib graph resolved once per output.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        jacobian(program, x, out, probe, resolve);
    }
}

/// One ID's entry in the reverse pass: its Contrib, once reached, and its accumulated
/// cotangent. Kept side by side so that applying an edge touches one cache line.
#[derive(Default)]
struct Slot {
    contrib: Option<ContribRef>,
    adjoint: f64,
}

thread_local! {
    /// The slot array of the last resolve on this thread, empty, kept for the next gradient
    /// (a nested gradient finds it taken and allocates its own).
    static SPARE_SLOTS: Cell<Vec<Slot>> = const { Cell::new(Vec::new()) };
}

/// The reverse pass: sweep the ID-indexed array from the largest ID down, applying each
/// reachable node's edges once. Appends the gradient to `gradient`.
#[inline]
fn resolve<Q: Probe>(
    seeds: Seeds,
    n: usize,
    ids_allocated: Id,
    gradient: &mut Vec<f64>,
    probe: &mut Q,
) {
    let len = ids_allocated as usize;
    let mut slots = SPARE_SLOTS.take();
    slots.clear();
    slots.resize_with(len, Slot::default);
    let mut contribs_applied = 0u64;
    let mut edges_applied = 0u64;
    let mut collector_updates = 0u64;

    for seed in seeds {
        let slot = &mut slots[seed.id as usize];
        slot.adjoint += seed.cotangent;
        collector_updates += 1;
        if slot.contrib.is_none() {
            slot.contrib = seed.contrib;
        }
    }

    // The sweep pops the slots from the top: each is emptied as it is reached, and the edges of
    // slot i point only below i, into the part of the array still present.
    while slots.len() > n {
        let Some(Slot {
            contrib: Some(contrib),
            adjoint: dz,
        }) = slots.pop()
        else {
            continue;
        };
        contribs_applied += 1;
        edges_applied += for_each_edge(contrib, |j, cb, d| {
            let slot = &mut slots[j as usize];
            slot.adjoint += partials::times(d, dz);
            if slot.contrib.is_none() {
                slot.contrib = cb;
            }
        });
    }
    collector_updates += edges_applied;

    // The input slots `0..n` end the sweep: inputs have no Contrib, so stepping over them
    // applies nothing, and their adjoints are the gradient.
    gradient.extend(slots.iter().map(|slot| {
        debug_assert!(slot.contrib.is_none(), "an input has no Contrib");
        slot.adjoint
    }));
    slots.clear();
    SPARE_SLOTS.set(slots);
    if Q::COUNTS {
        probe.counters(&[
            ("contribs_applied", contribs_applied),
            ("edges_applied", edges_applied),
            ("collector_updates", collector_updates),
            ("slots_swept", len as u64),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::real::Real;
    use crate::test_programs::SinChain;

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
}
