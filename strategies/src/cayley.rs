//! `cayley`: rung 2 of the ladder, the *Cayley transform* of the cotangent type (Smeding &
//! Vákár, POPL 2023, the second optimisation step).
//!
//! # Representation
//!
//! As rung 1 ([`staged`](crate::staged)): the scalar is (value, ID, Contrib), with the forward
//! pass shared by rungs 1–4 ([`contrib`](crate::contrib)), and a staging map from ID to
//! (Contrib, accumulated cotangent) collects the calls.
//!
//! The step from rung 1: the cotangent type `c` is replaced by `c -> c`, "add my contribution
//! to this accumulator" (the difference-list trick: zero becomes the identity, `+` becomes
//! composition). An input's backpropagator no longer *creates* a one-hot vector to be summed;
//! it receives the accumulator and returns it updated: `dz -> (acc -> acc + dz * e_i)`.
//!
//! The accumulator is still the paper's immutable dense vector, so an update returns a new
//! vector: a copy of length n. It is modelled that way here (`Accumulator::add_at` copies); an
//! in-place `acc[i] += dz` would be an O(1) update the step does not have yet — that is what
//! the next two steps buy. On its own the transform halves the dense work per input (one copy
//! instead of a one-hot plus an addition) and does not change the asymptotics.
//!
//! # Algorithm ("resolve")
//!
//! 1. stage each active output with its cotangent, and start from the zero accumulator;
//! 2. repeatedly take the entry with the largest ID and apply it once: a node's edges each
//!    stage `partial * cotangent` for their operand; an input's backpropagator updates the
//!    accumulator, `acc = acc + dz * e_i`;
//! 3. when the map is empty, the accumulator is the gradient.
//!
//! Cost: O(n T + T log T), a dot product of length n Theta(n^2). Resolve and destruction are
//! iterative.
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
//!   accumulator, and n for each input reached (the copy made by its update); so exactly
//!   `n * (1 + inputs reached)`. (Copying the result out is not counted.)

use crate::contrib::{differentiate, for_each_edge, jacobian, Id, Seeds, StagingMap};
use crate::program::{Derivatives, Probe, Program, Strategy};
use crate::real::partials;

/// Rung 2: the Cayley transform (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Cayley;

impl Strategy for Cayley {
    const NAME: &'static str = "cayley";
    const DESCRIPTION: &'static str =
        "rung 2: Cayley-transformed input backpropagators updating an immutable dense accumulator (a copy per update): O(n T + T log T)";

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

/// The accumulator that Cayley-transformed backpropagators update: a dense vector of length n,
/// immutable — an update returns a new one, as the paper's functional vectors do.
struct Accumulator(Vec<f64>);

impl Accumulator {
    fn zero(n: usize, dense_elements: &mut u64) -> Accumulator {
        *dense_elements += n as u64;
        Accumulator(vec![0.0; n])
    }

    fn add_at(&self, i: Id, dz: f64, dense_elements: &mut u64) -> Accumulator {
        *dense_elements += self.0.len() as u64;
        let mut updated = self.0.clone();
        updated[i as usize] += dz;
        Accumulator(updated)
    }
}

/// The backpropagator of input `i`: `dz -> (acc -> acc + dz * e_i)`.
fn input_backpropagator(
    i: Id,
    dz: f64,
    acc: &Accumulator,
    dense_elements: &mut u64,
) -> Accumulator {
    acc.add_at(i, dz, dense_elements)
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

    let mut gradient = Accumulator::zero(n, &mut dense_elements);
    while let Some((id, contrib, dz)) = staging.pop_max() {
        let Some(contrib) = contrib else {
            gradient = input_backpropagator(id, dz, &gradient, &mut dense_elements);
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
    fn each_shared_node_is_applied_once_and_each_input_copies_the_accumulator_once() {
        let r = Cayley::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(r.counters.get("contribs_applied"), Some(4));
        assert_eq!(r.counters.get("edges_applied"), Some(8));
        assert_eq!(r.counters.get("collector_updates"), Some(9));
        assert_eq!(r.counters.get("dense_elements"), Some(4 * (1 + 3)));
    }

    #[test]
    fn resolves_and_frees_a_long_chain_without_recursion() {
        let k = 200_000;
        let r = Cayley::vjp(&SinChain(k), &[0.5], &[1.0]);
        assert_eq!(r.counters.get("contribs_applied"), Some(k as u64));
        assert!(r.gradient.unwrap()[0].is_finite());
    }
}
