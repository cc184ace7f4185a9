//! A Jacobian records (or builds its Contrib graph) once and runs one reverse pass per output:
//! `tape` sweeps one tape m times, rungs 1–4 resolve one graph m times, `naive` calls each
//! output's backpropagator once. The rows equal the m
//! separate vector-Jacobian products bit for bit, and the counters show one forward pass.

use strategies::{outputs, Outputs, Program, Real, StrategyKind};

/// Three outputs sharing intermediate values: u = x0 x1, v = sin(u) + x2, outputs (u v,
/// v / x0, exp(u) - v), and one output computed from shared parts only.
struct SharedOutputs;

impl Program for SharedOutputs {
    fn input_len(&self) -> usize {
        3
    }
    fn output_len(&self) -> usize {
        4
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let u = x[0].clone() * x[1].clone();
        let v = u.sin() + x[2].clone();
        outputs![
            u.clone() * v.clone(),
            v.clone() / x[0].clone(),
            u.exp() - v,
            R::constant(2.0)
        ]
    }
}

#[test]
fn jacobian_rows_are_the_separate_products_from_one_forward_pass() {
    let x = [0.7, -1.2, 0.4];
    let kinds = [
        (StrategyKind::Tape, "tape_entries", "sweeps"),
        (StrategyKind::Naive, "backprop_calls", ""),
        (StrategyKind::Staged, "ids_allocated", "resolves"),
        (StrategyKind::Cayley, "ids_allocated", "resolves"),
        (StrategyKind::Sparse, "ids_allocated", "resolves"),
        (StrategyKind::Dualrev, "ids_allocated", "resolves"),
        (StrategyKind::DualrevPar, "ids_allocated", "resolves"),
        (StrategyKind::TapePar, "tape_entries", "sweeps"),
    ];
    for (kind, recorded, passes) in kinds {
        let jacobian = kind.jacobian(&SharedOutputs, &x);
        let rows = jacobian.rows.expect("a Jacobian");
        let mut one_pass = None;
        for (j, row) in rows.iter().enumerate() {
            let mut w = [0.0; 4];
            w[j] = 1.0;
            let vjp = kind.vjp(&SharedOutputs, &x, &w);
            assert_eq!(Some(row), vjp.gradient.as_ref(), "{} row {j}", kind.name());
            one_pass = vjp.counters.get(recorded);
        }
        if passes.is_empty() {
            // naive: its counter counts backpropagator calls, which the rows add up.
            continue;
        }
        assert_eq!(
            jacobian.counters.get(recorded),
            one_pass,
            "{}: one forward pass",
            kind.name()
        );
        assert_eq!(jacobian.counters.get(passes), Some(4), "{}", kind.name());
    }
}
