//! A chain of 10^6 dependent operations, x_i = sin(x_(i-1)), differentiated on the default test
//! thread (no big-stack thread): the efficient strategies' (and the peers') forward pass, reverse pass and
//! release of the graph must all be iterative.

use strategies::{outputs, Outputs, Program, Real, StrategyKind};

/// Operations in the chain.
const DEPTH: usize = 1_000_000;

/// x_0 = input, x_i = sin(x_(i-1)); the output is x_DEPTH.
struct SinChain(usize);

impl Program for SinChain {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut v = x[0].clone();
        for _ in 0..self.0 {
            v = v.sin();
        }
        outputs![v]
    }
}

/// The value and the derivative prod_i cos(x_(i-1)) computed in plain f64.
fn reference(x0: f64, depth: usize) -> (f64, f64) {
    let mut v = x0;
    let mut derivative = 1.0;
    for _ in 0..depth {
        derivative *= v.cos();
        v = v.sin();
    }
    (v, derivative)
}

fn check_deep_chain(kind: StrategyKind) {
    let x0 = 1.2;
    let (value, derivative) = reference(x0, DEPTH);
    let r = kind.vjp(&SinChain(DEPTH), &[x0], &[1.0]);
    assert_eq!(r.value, vec![value], "{}: value", kind.name());
    let g = r.gradient.expect("a gradient")[0];
    // The product is tiny (about DEPTH^(-3/2)): compare relatively. Only the order of the
    // multiplications differs, so the error is a few ulps per factor at most.
    let relative = ((g - derivative) / derivative).abs();
    assert!(
        relative < 1e-9,
        "{}: derivative {g}, expected {derivative} (relative error {relative})",
        kind.name()
    );
}

#[test]
fn tape_differentiates_a_million_op_chain_on_the_default_stack() {
    check_deep_chain(StrategyKind::Tape);
}

#[test]
fn dualrev_differentiates_a_million_op_chain_on_the_default_stack() {
    check_deep_chain(StrategyKind::Dualrev);
}

#[test]
fn dualrev_par_differentiates_a_million_op_chain_on_the_default_stack() {
    check_deep_chain(StrategyKind::DualrevPar);
}

#[test]
fn tape_par_differentiates_a_million_op_chain_on_the_default_stack() {
    check_deep_chain(StrategyKind::TapePar);
}

#[test]
fn tape_records_and_sweeps_one_entry_per_chain_operation() {
    let r = StrategyKind::Tape.vjp(&SinChain(DEPTH), &[0.3], &[1.0]);
    let depth = DEPTH as u64;
    assert_eq!(r.counters.get("tape_entries"), Some(depth));
    assert_eq!(r.counters.get("entries_swept"), Some(depth));
    assert_eq!(r.counters.get("edges_applied"), Some(depth));
}

/// Every compiled-in peer on the same chain (built with `--features peers`): the crates'
/// recording, reverse pass and release of their tapes must not recurse either.
#[cfg(feature = "any-peer")]
#[test]
fn every_peer_differentiates_a_million_op_chain_on_the_default_stack() {
    for &kind in StrategyKind::ALL.iter().filter(|k| k.is_peer()) {
        check_deep_chain(kind);
    }
}
