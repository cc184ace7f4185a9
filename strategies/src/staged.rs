//! `staged`: rung 1 of the ladder, *linear factoring* (Smeding & Vákár, POPL 2023, the first
//! optimisation step, taken from Brunel, Mazza & Pagani, POPL 2020).
//!
//! # Representation
//!
//! Backpropagators are linear, so `b(a) + b(c) = b(a + c)`: a backpropagator used several times
//! may be called once, on the sum of its cotangents. To be able to sum them, the backpropagator
//! of rung 0 ([`naive`](crate::naive)) stops being an opaque closure and becomes data: the
//! scalar is (value, ID, Contrib), where the Contrib lists the edges (operand ID, operand
//! Contrib, partial) — the staged form of `dz -> sum_j b_j(d_j * dz)`. IDs come from a counter
//! threaded through the forward pass, so ID order is a topological order. The forward pass is
//! shared with rungs 2–4 ([`contrib`](crate::contrib)).
//!
//! The cotangent type is still rung 0's `c = R^n`: a dense, immutable vector of length n, and
//! an input's backpropagator is still `dz -> dz * e_i`, which creates a one-hot vector.
//!
//! # Algorithm ("resolve")
//!
//! A staging map from ID to (Contrib, accumulated cotangent) collects the calls instead of
//! making them:
//!
//! 1. stage each active output with its cotangent, and start from the zero cotangent `c = 0`;
//! 2. repeatedly take the entry with the largest ID (its cotangent is complete, since every
//!    user has a larger ID) and apply it once: a node's edges each stage `partial * cotangent`
//!    for their operand; an input calls its backpropagator once, `c = c + dz * e_i`;
//! 3. when the map is empty, `c` is the gradient.
//!
//! No backpropagator is called twice: the exponential blow-up of rung 0 is gone (square-chain
//! with k steps applies k Contribs instead of making 2^(k+1) - 1 calls). What remains:
//!
//! - the staging map is a persistent ordered map, as the paper's `Data.Map`: O(log T) per
//!   update, each update allocating a new path of nodes (see [`contrib`](crate::contrib)'s
//!   `StagingMap`);
//! - every input reached costs a dense one-hot vector and a dense vector addition, O(n) each:
//!   a dot product of length n costs Theta(n^2).
//!
//! Cost: O(n T + T log T). Resolve and destruction are iterative.
//!
//! # Counters
//!
//! - `ids_allocated`: IDs handed out by the forward pass: n inputs plus one per operation with
//!   an active operand.
//! - `resolves`: reverse passes over the one Contrib graph of the call: 1 for a
//!   vector-Jacobian product, m for a Jacobian (the graph is built once and resolved once per
//!   output; see [`contrib::jacobian`](crate::contrib)).
//! - `contribs_applied`: Contribs applied, each once: the non-input nodes reachable from the
//!   seeded outputs, the outputs' own nodes (the seed) included.
//! - `edges_applied`: edges of the applied Contribs.
//! - `collector_updates`: insert-with operations on the staging map: one per seeded (active)
//!   output plus one per edge applied.
//! - `dense_elements`: elements written by dense length-n vector operations: n for the zero
//!   cotangent, and for each input reached n for its one-hot vector plus n for adding it to `c`;
//!   so exactly `n * (1 + 2 * inputs reached)`. (Copying the result out is not counted.)

use crate::contrib::{differentiate, for_each_edge, jacobian, Id, Seeds, StagingMap};
use crate::program::{Derivatives, Probe, Program, Strategy};
use crate::real::partials;

/// Rung 1: linear factoring (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Staged;

impl Strategy for Staged {
    const NAME: &'static str = "staged";
    const DESCRIPTION: &'static str =
        "rung 1: Contrib graph with IDs, each node applied once; staging map, dense one-hot input cotangents: O(n T + T log T)";

    const COUNTERS: &'static [&'static str] = &[
        "ids_allocated",
        "resolves",
        "contribs_applied",
        "edges_applied",
        "collector_updates",
        "dense_elements",
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

/// The cotangent type `c = R^n` of rungs 0 and 1: a dense vector, immutable — every operation
/// returns a new one, as the paper's functional vectors do.
struct Cotangent(Vec<f64>);

impl Cotangent {
    fn zero(n: usize, dense_elements: &mut u64) -> Cotangent {
        *dense_elements += n as u64;
        Cotangent(vec![0.0; n])
    }

    fn plus(&self, other: &Cotangent, dense_elements: &mut u64) -> Cotangent {
        *dense_elements += self.0.len() as u64;
        Cotangent(self.0.iter().zip(&other.0).map(|(a, b)| a + b).collect())
    }
}

/// The backpropagator of input `i`: `dz -> dz * e_i`, a one-hot vector of length n.
fn input_backpropagator(n: usize, i: Id, dz: f64, dense_elements: &mut u64) -> Cotangent {
    *dense_elements += n as u64;
    let mut one_hot = vec![0.0; n];
    one_hot[i as usize] = dz;
    Cotangent(one_hot)
}

/// The reverse pass: drain the staging map from the largest ID down, applying each reachable
/// node's Contrib once and each reached input's backpropagator once. Appends the gradient to
/// `out`.
#[inline]
fn resolve<Q: Probe>(
    seeds: Seeds,
    n: usize,
    _ids_allocated: Id,
    out: &mut Vec<f64>,
    probe: &mut Q,
) {
    let mut staging = StagingMap::default();
    let mut contribs_applied = 0u64;
    let mut edges_applied = 0u64;
    let mut collector_updates = 0u64;
    let mut dense_elements = 0u64;

    for seed in seeds {
        staging.stage(seed.id, seed.contrib, seed.cotangent);
        collector_updates += 1;
    }

    let mut gradient = Cotangent::zero(n, &mut dense_elements);
    while let Some((id, contrib, dz)) = staging.pop_max() {
        let Some(contrib) = contrib else {
            let one_hot = input_backpropagator(n, id, dz, &mut dense_elements);
            gradient = gradient.plus(&one_hot, &mut dense_elements);
            continue;
        };
        contribs_applied += 1;
        edges_applied += for_each_edge(contrib, |j, cb, d| {
            staging.stage(j, cb, partials::times(d, dz));
            collector_updates += 1;
        });
    }

    out.extend_from_slice(&gradient.0);
    if Q::COUNTS {
        probe.counters(&[
            ("contribs_applied", contribs_applied),
            ("edges_applied", edges_applied),
            ("collector_updates", collector_updates),
            ("dense_elements", dense_elements),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_programs::{Shared, SinChain};

    #[test]
    fn each_shared_node_is_applied_once_and_each_input_makes_one_one_hot() {
        let r = Staged::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        // f = s x2 + s x0, s = x0 + x1: df/dx0 = x2 + s + x0, df/dx1 = x2 + x0, df/dx2 = s.
        assert_eq!(r.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(r.counters.get("contribs_applied"), Some(4));
        assert_eq!(r.counters.get("edges_applied"), Some(8));
        assert_eq!(r.counters.get("collector_updates"), Some(9));
        assert_eq!(r.counters.get("dense_elements"), Some(4 * (1 + 2 * 3)));
    }

    #[test]
    fn resolves_and_frees_a_long_chain_without_recursion() {
        let k = 200_000;
        let r = Staged::vjp(&SinChain(k), &[0.5], &[1.0]);
        assert_eq!(r.counters.get("contribs_applied"), Some(k as u64));
        assert!(r.gradient.unwrap()[0].is_finite());
    }
}
