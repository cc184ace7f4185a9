//! Counter signatures of the ladder rungs 1–4 (`staged`, `cayley`, `sparse`, `dualrev`) on the
//! two programs that separate them (`docs/ladder.md`, the signature table):
//!
//! - `square-chain`, k steps: x_i = x_{i-1} * x_{i-1}. Naive reverse AD makes 2^(k+1) - 1
//!   backpropagator calls; every rung applies each of the k nodes once.
//! - `fdotprod`, length n: sum of l1_i * l2_i, folded from 0. Rungs 1 and 2 touch Theta(n^2)
//!   dense vector elements, rung 3 makes O(n) sparse-map updates, rung 4 sweeps O(n) array slots.
//!
//! Every count is derived here from the program's shape, not read off a run.

use strategies::cayley::Cayley;
use strategies::dualrev::Dualrev;
use strategies::op_count::count_ops;
use strategies::sparse::Sparse;
use strategies::staged::Staged;
use strategies::{outputs, Counters, Outputs, Program, Real, Strategy, Vjp};

/// x_0 = the input; x_i = x_{i-1} * x_{i-1} for i = 1..k; output x_k.
struct SquareChain {
    k: usize,
}

impl Program for SquareChain {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut v = x[0].clone();
        for _ in 0..self.k {
            v = v.clone() * v;
        }
        outputs![v]
    }
}

/// Inputs l1 (n) then l2 (n); output the fold from 0 of l1_i * l2_i, as in the paper's
/// benchmark (zip, map, fold).
struct Fdotprod {
    n: usize,
}

impl Fdotprod {
    /// l1 = 1, 2, ..., n; l2 = 3, 5, 7, ...
    fn inputs(&self) -> Vec<f64> {
        let l1 = (1..=self.n).map(|i| i as f64);
        let l2 = (1..=self.n).map(|i| (2 * i + 1) as f64);
        l1.chain(l2).collect()
    }
}

impl Program for Fdotprod {
    fn input_len(&self) -> usize {
        2 * self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (l1, l2) = x.split_at(self.n);
        let dot = l1
            .iter()
            .zip(l2)
            .map(|(a, b)| a.clone() * b.clone())
            .fold(R::constant(0.0), |acc, p| acc + p);
        outputs![dot]
    }
}

fn gradient<S: Strategy, P: Program>(program: &P, x: &[f64]) -> Vjp {
    S::vjp(program, x, &[1.0])
}

fn count(counters: &Counters, name: &str) -> u64 {
    counters
        .get(name)
        .unwrap_or_else(|| panic!("counter `{name}` missing from {counters:?}"))
}

/// The counters every rung shares, with their value on square-chain with k steps: k + 1 IDs
/// (the input and one per multiplication), each multiplication applied once with its two
/// edges (both to the same operand), one staging / adjoint update for the seed and one per edge.
fn assert_square_chain_graph_counters(strategy: &str, c: &Counters, k: u64) {
    assert_eq!(count(c, "ids_allocated"), k + 1, "{strategy} ids_allocated");
    assert_eq!(
        count(c, "contribs_applied"),
        k,
        "{strategy} contribs_applied"
    );
    assert_eq!(count(c, "edges_applied"), 2 * k, "{strategy} edges_applied");
    assert_eq!(
        count(c, "collector_updates"),
        1 + 2 * k,
        "{strategy} collector_updates"
    );
}

#[test]
fn every_rung_applies_each_square_chain_node_once() {
    for k in [0u64, 1, 2, 5, 10, 20, 30] {
        let p = SquareChain { k: k as usize };
        let x = [1.0];
        let staged = gradient::<Staged, _>(&p, &x).counters;
        let cayley = gradient::<Cayley, _>(&p, &x).counters;
        let sparse = gradient::<Sparse, _>(&p, &x).counters;
        let dualrev = gradient::<Dualrev, _>(&p, &x).counters;
        assert_square_chain_graph_counters("staged", &staged, k);
        assert_square_chain_graph_counters("cayley", &cayley, k);
        assert_square_chain_graph_counters("sparse", &sparse, k);
        assert_square_chain_graph_counters("dualrev", &dualrev, k);
        // One input (n = 1), reached once: staged n (zero) + n (one-hot) + n (add); cayley
        // n (zero) + n (copy); sparse one insert-with; dualrev sweeps every ID slot.
        assert_eq!(count(&staged, "dense_elements"), 3);
        assert_eq!(count(&cayley, "dense_elements"), 2);
        assert_eq!(count(&sparse, "sparse_updates"), 1);
        assert_eq!(count(&dualrev, "slots_swept"), k + 1);
    }
}

#[test]
fn naive_square_chain_calls_are_exponential_where_the_rungs_are_linear() {
    for k in [5u32, 10, 20] {
        let p = SquareChain { k: k as usize };
        let naive_calls = count_ops(&p, &[1.0]).naive_calls;
        assert_eq!(naive_calls, f64::from(2u32.pow(k + 1) - 1));
        // The rungs' equivalent of a backpropagator call: each node (k Contribs and the input)
        // is applied once.
        let applied = count(
            &gradient::<Dualrev, _>(&p, &[1.0]).counters,
            "contribs_applied",
        ) + 1;
        assert_eq!(applied, u64::from(k) + 1);
    }
}

#[test]
fn square_chain_gradient_is_two_to_the_k_on_every_rung() {
    for k in [0usize, 1, 7, 30, 100] {
        let p = SquareChain { k };
        let expected = 2f64.powi(k as i32);
        for (name, r) in [
            ("staged", gradient::<Staged, _>(&p, &[1.0])),
            ("cayley", gradient::<Cayley, _>(&p, &[1.0])),
            ("sparse", gradient::<Sparse, _>(&p, &[1.0])),
            ("dualrev", gradient::<Dualrev, _>(&p, &[1.0])),
        ] {
            assert_eq!(r.value, vec![1.0], "{name} value, k = {k}");
            assert_eq!(r.gradient, Some(vec![expected]), "{name} gradient, k = {k}");
        }
    }
}

/// fdotprod of length n has 2n inputs and 2n operations (n products, n additions, the first
/// adding to the constant 0 and so having one edge): 4n IDs, 2n Contribs applied,
/// 2n + 1 + 2(n - 1) = 4n - 1 edges, and 1 + (4n - 1) = 4n staging / adjoint updates.
fn assert_fdotprod_graph_counters(strategy: &str, c: &Counters, n: u64) {
    assert_eq!(count(c, "ids_allocated"), 4 * n, "{strategy} ids_allocated");
    assert_eq!(
        count(c, "contribs_applied"),
        2 * n,
        "{strategy} contribs_applied"
    );
    assert_eq!(
        count(c, "edges_applied"),
        4 * n - 1,
        "{strategy} edges_applied"
    );
    assert_eq!(
        count(c, "collector_updates"),
        4 * n,
        "{strategy} collector_updates"
    );
}

const FDOTPROD_SIZES: [u64; 6] = [1, 2, 5, 10, 50, 200];

#[test]
fn fdotprod_graph_counters_agree_across_rungs() {
    for n in FDOTPROD_SIZES {
        let p = Fdotprod { n: n as usize };
        let x = p.inputs();
        assert_fdotprod_graph_counters("staged", &gradient::<Staged, _>(&p, &x).counters, n);
        assert_fdotprod_graph_counters("cayley", &gradient::<Cayley, _>(&p, &x).counters, n);
        assert_fdotprod_graph_counters("sparse", &gradient::<Sparse, _>(&p, &x).counters, n);
        assert_fdotprod_graph_counters("dualrev", &gradient::<Dualrev, _>(&p, &x).counters, n);
    }
}

#[test]
fn staged_fdotprod_dense_elements_are_quadratic() {
    for n in FDOTPROD_SIZES {
        let p = Fdotprod { n: n as usize };
        let c = gradient::<Staged, _>(&p, &p.inputs()).counters;
        // Gradient length N = 2n: the zero vector (N), then for each of the N inputs a one-hot
        // (N) and an addition (N): N (1 + 2N) = 2n + 8n^2.
        assert_eq!(count(&c, "dense_elements"), 2 * n + 8 * n * n, "n = {n}");
    }
}

#[test]
fn cayley_fdotprod_dense_elements_are_quadratic_with_half_the_constant() {
    for n in FDOTPROD_SIZES {
        let p = Fdotprod { n: n as usize };
        let c = gradient::<Cayley, _>(&p, &p.inputs()).counters;
        // N = 2n: the zero accumulator (N), then one copy (N) per input: N (1 + N) = 2n + 4n^2.
        assert_eq!(count(&c, "dense_elements"), 2 * n + 4 * n * n, "n = {n}");
    }
}

#[test]
fn sparse_fdotprod_makes_one_map_update_per_input() {
    for n in FDOTPROD_SIZES {
        let p = Fdotprod { n: n as usize };
        let c = gradient::<Sparse, _>(&p, &p.inputs()).counters;
        assert_eq!(count(&c, "sparse_updates"), 2 * n, "n = {n}");
        assert_eq!(c.get("dense_elements"), None);
    }
}

#[test]
fn dualrev_fdotprod_sweeps_one_slot_per_id() {
    for n in FDOTPROD_SIZES {
        let p = Fdotprod { n: n as usize };
        let c = gradient::<Dualrev, _>(&p, &p.inputs()).counters;
        assert_eq!(count(&c, "slots_swept"), 4 * n, "n = {n}");
        assert_eq!(c.get("dense_elements"), None);
    }
}

#[test]
fn fdotprod_gradient_is_exact_on_every_rung() {
    for n in FDOTPROD_SIZES {
        let p = Fdotprod { n: n as usize };
        let x = p.inputs();
        // d/d l1_i = l2_i = 2i + 1, d/d l2_i = l1_i = i; value sum of i (2i + 1).
        let expected: Vec<f64> = (1..=n)
            .map(|i| (2 * i + 1) as f64)
            .chain((1..=n).map(|i| i as f64))
            .collect();
        let value = (1..=n).map(|i| i * (2 * i + 1)).sum::<u64>() as f64;
        for (name, r) in [
            ("staged", gradient::<Staged, _>(&p, &x)),
            ("cayley", gradient::<Cayley, _>(&p, &x)),
            ("sparse", gradient::<Sparse, _>(&p, &x)),
            ("dualrev", gradient::<Dualrev, _>(&p, &x)),
        ] {
            assert_eq!(r.value, vec![value], "{name} value, n = {n}");
            assert_eq!(
                r.gradient.as_ref(),
                Some(&expected),
                "{name} gradient, n = {n}"
            );
        }
    }
}
