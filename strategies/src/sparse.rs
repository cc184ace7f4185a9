//! `sparse`: rung 3 of the ladder, the *sparse collector* (Smeding & Vákár, POPL 2023, the
//! third optimisation step).
//!
//! # Representation
//!
//! As rung 2 ([`cayley`](crate::cayley)): the scalar is (value, ID, Contrib), with the forward
//! pass shared by rungs 1–3 ([`contrib`](crate::contrib)); a staging map from ID to (Contrib,
//! accumulated cotangent) collects the calls; an input's backpropagator is Cayley-transformed,
//! `dz -> (acc -> acc + dz * e_i)`.
//!
//! The step from rung 2: the accumulator becomes a **sparse map** from input index to
//! cotangent instead of a dense vector. Adding `dz * e_i` is an insert-with at key `i`,
//! O(log n), instead of a copy of length n — the Cayley transform is what makes this possible,
//! since an input's backpropagator now *updates* a collector rather than producing a vector.
//!
//! The map is persistent, as the paper's is: an insert-with builds a new version by path
//! copying, O(log n) new nodes, and the old version is dropped. (An in-place ordered map would
//! cost O(log n) too, with a smaller constant: it would flatter this rung the way an in-place
//! dense vector would have flattered rung 2.)
//!
//! # Algorithm ("resolve")
//!
//! 1. stage each active output with its cotangent, and start from the empty accumulator;
//! 2. repeatedly take the entry with the largest ID and apply it once: a node's edges each
//!    stage `partial * cotangent` for their operand; an input's backpropagator updates the
//!    accumulator, `acc = insertWith (+) i dz acc`;
//! 3. when the map is empty, the accumulator holds the gradient's nonzero-reached entries; it is
//!    read out into a vector of length n.
//!
//! Cost: O(T log T): correct up to the log factor of the two ordered maps, a dot product of
//! length n Theta(n log n). Resolve and destruction are iterative.
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
//! - `sparse_updates`: insert-with operations on the sparse accumulator: one per input reached.
//!   (Reading the result out into a vector of length n is not counted.)

use rpds::RedBlackTreeMap;

use crate::contrib::{differentiate, for_each_edge, jacobian, Id, Seeds, StagingMap};
use crate::program::{Derivatives, Probe, Program, Strategy};
use crate::real::partials;

/// Rung 3: the sparse collector (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sparse;

impl Strategy for Sparse {
    const NAME: &'static str = "sparse";
    const DESCRIPTION: &'static str =
        "rung 3: Cayley-transformed input backpropagators updating a sparse ordered-map accumulator: O(T log T)";

    const COUNTERS: &'static [&'static str] = &[
        "ids_allocated",
        "resolves",
        "contribs_applied",
        "edges_applied",
        "collector_updates",
        "sparse_updates",
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

/// The accumulator that Cayley-transformed backpropagators update: a sparse map from input
/// index to cotangent, persistent as the paper's `Data.Map` (each update builds a new version
/// by path copying, O(log n) new nodes; see the module documentation).
#[derive(Default)]
struct Accumulator(RedBlackTreeMap<Id, f64>);

impl Accumulator {
    fn add_at(self, i: Id, dz: f64, sparse_updates: &mut u64) -> Accumulator {
        *sparse_updates += 1;
        let sum = self.0.get(&i).map_or(dz, |c| c + dz);
        Accumulator(self.0.insert(i, sum))
    }

    /// Read the map out as a dense gradient of length n, appended to `out`.
    fn append_dense(&self, n: usize, out: &mut Vec<f64>) {
        let start = out.len();
        out.resize(start + n, 0.0);
        for (&i, &v) in self.0.iter() {
            out[start + i as usize] = v;
        }
    }
}

/// The backpropagator of input `i`: `dz -> (acc -> acc + dz * e_i)`.
fn input_backpropagator(i: Id, dz: f64, acc: Accumulator, sparse_updates: &mut u64) -> Accumulator {
    acc.add_at(i, dz, sparse_updates)
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
    let mut sparse_updates = 0u64;

    for seed in seeds {
        staging.stage(seed.id, seed.contrib, seed.cotangent);
        collector_updates += 1;
    }

    let mut gradient = Accumulator::default();
    while let Some((id, contrib, dz)) = staging.pop_max() {
        let Some(contrib) = contrib else {
            gradient = input_backpropagator(id, dz, gradient, &mut sparse_updates);
            continue;
        };
        contribs_applied += 1;
        edges_applied += for_each_edge(contrib, |j, cb, d| {
            staging.stage(j, cb, partials::times(d, dz));
            collector_updates += 1;
        });
    }

    gradient.append_dense(n, out);
    if Q::COUNTS {
        probe.counters(&[
            ("contribs_applied", contribs_applied),
            ("edges_applied", edges_applied),
            ("collector_updates", collector_updates),
            ("sparse_updates", sparse_updates),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_programs::{Shared, SinChain};

    #[test]
    fn each_input_reached_is_one_sparse_update_and_unreached_inputs_none() {
        let r = Sparse::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(r.counters.get("contribs_applied"), Some(4));
        assert_eq!(r.counters.get("edges_applied"), Some(8));
        assert_eq!(r.counters.get("collector_updates"), Some(9));
        assert_eq!(r.counters.get("sparse_updates"), Some(3));
        assert_eq!(r.counters.get("dense_elements"), None);
    }

    #[test]
    fn resolves_and_frees_a_long_chain_without_recursion() {
        let k = 200_000;
        let r = Sparse::vjp(&SinChain(k), &[0.5], &[1.0]);
        assert_eq!(r.counters.get("contribs_applied"), Some(k as u64));
        assert!(r.gradient.unwrap()[0].is_finite());
    }
}
