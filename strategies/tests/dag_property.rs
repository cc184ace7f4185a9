//! Property test: on random expression DAGs with sharing, every strategy's derivatives equal
//! forward mode's, and the naive strategy makes exactly the predicted number of backpropagator
//! calls.
//!
//! A DAG has 1-4 inputs and 1-14 operation nodes; each node applies a primitive drawn from the
//! whole `Real` interface to earlier nodes, picked either among the last three (so chains get
//! deep) or uniformly (so values are reused several times: sharing). Primitives with a
//! restricted domain branch on the primal value to stay inside it, which every strategy follows
//! identically. Cases whose values or derivatives grow huge are discarded, so that the
//! comparison measures AD, not floating-point cancellation.

mod common;

use proptest::prelude::*;
use strategies::op_count::count_ops;
use strategies::{Outputs, Program, Real, StrategyKind};

use common::assert_close;

/// Agreement required between strategies, under the GradBench metric.
const TOLERANCE: f64 = 1e-10;

/// Naive cases beyond this many backpropagator calls are skipped (debug builds are slow).
const NAIVE_CALL_BUDGET: f64 = 20_000.0;

#[derive(Clone, Copy, Debug)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    AddF64,
    SubF64,
    MulF64,
    DivF64,
    Neg,
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
    Tanh,
    Powi,
    Powf,
    Abs,
    Relu,
    Max,
    Min,
    Square,
    Sum3,
    Product3,
    AddSubAssign,
    SubAddAssign,
    MulAssign,
    DivAssign,
}

const OPS: [Op; 29] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::AddF64,
    Op::SubF64,
    Op::MulF64,
    Op::DivF64,
    Op::Neg,
    Op::Sin,
    Op::Cos,
    Op::Tan,
    Op::Exp,
    Op::Ln,
    Op::Sqrt,
    Op::Tanh,
    Op::Powi,
    Op::Powf,
    Op::Abs,
    Op::Relu,
    Op::Max,
    Op::Min,
    Op::Square,
    Op::Sum3,
    Op::Product3,
    Op::AddSubAssign,
    Op::SubAddAssign,
    Op::MulAssign,
    Op::DivAssign,
];

/// One operation node: its primitive, three operand indices (earlier nodes; unused ones are
/// ignored), a constant `k` with 0.5 <= |k| <= 2 and an exponent for `powi`.
#[derive(Clone, Debug)]
struct Node {
    op: Op,
    args: [usize; 3],
    k: f64,
    exponent: i32,
}

impl Node {
    fn apply<R: Real>(&self, v: &[R]) -> R {
        let [a, b, c] = self.args.map(|i| v[i].clone());
        let k = self.k;
        match self.op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div if b.value().abs() > 0.5 => a / b,
            Op::Div => a / (b + 2.0),
            Op::AddF64 => a + k,
            Op::SubF64 => a - k,
            Op::MulF64 => a * k,
            Op::DivF64 => a / k,
            Op::Neg => -a,
            Op::Sin => a.sin(),
            Op::Cos => a.cos(),
            Op::Tan if a.value().abs() < 1.2 => a.tan(),
            Op::Tan => a.sin().tan(),
            Op::Exp if a.value() < 3.0 => a.exp(),
            Op::Exp => (-a).exp(),
            Op::Ln if a.value() > 0.2 => a.ln(),
            Op::Ln => (a.square() + 1.0).ln(),
            Op::Sqrt if a.value() > 0.2 => a.sqrt(),
            Op::Sqrt => (a.abs() + 0.5).sqrt(),
            Op::Tanh => a.tanh(),
            Op::Powi if self.exponent < 0 && a.value().abs() < 0.5 => {
                (a.square() + 1.0).powi(self.exponent)
            }
            Op::Powi => a.powi(self.exponent),
            Op::Powf if a.value() > 0.2 => a.powf(&b.sin()),
            Op::Powf => (a.abs() + 0.5).powf(&b.sin()),
            Op::Abs => a.abs(),
            Op::Relu => a.relu(),
            Op::Max => a.max(b),
            Op::Min => a.min(b),
            Op::Square => a.square(),
            Op::Sum3 => [a, b, c].into_iter().sum(),
            Op::Product3 => [a, b, c].into_iter().product(),
            Op::AddSubAssign => {
                let mut t = a;
                t += b;
                t -= k;
                t
            }
            Op::SubAddAssign => {
                let mut t = a;
                t -= b;
                t += k;
                t
            }
            Op::MulAssign => {
                let mut t = a;
                t *= b;
                t *= k;
                t
            }
            Op::DivAssign => {
                let mut t = a;
                if b.value().abs() > 0.5 {
                    t /= b;
                } else {
                    t /= k;
                }
                t
            }
        }
    }
}

/// A random program: `inputs` inputs, then the nodes in order; outputs are node indices (an
/// input, or the same node twice, may be an output).
#[derive(Clone, Debug)]
struct Dag {
    inputs: usize,
    nodes: Vec<Node>,
    outputs: Vec<usize>,
}

impl Dag {
    /// Every value: the inputs, then one per node.
    fn values<R: Real>(&self, x: &[R]) -> Vec<R> {
        let mut v = x.to_vec();
        for node in &self.nodes {
            let y = node.apply(&v);
            v.push(y);
        }
        v
    }

    /// The same program with only output `j`.
    fn single_output(&self, j: usize) -> Dag {
        Dag {
            outputs: vec![self.outputs[j]],
            ..self.clone()
        }
    }
}

impl Program for Dag {
    fn input_len(&self) -> usize {
        self.inputs
    }
    fn output_len(&self) -> usize {
        self.outputs.len()
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let v = self.values(x);
        self.outputs.iter().map(|&i| v[i].clone()).collect()
    }
}

/// An operand among `available` values from a raw draw: even draws pick one of the last three
/// (depth), odd draws any earlier value (sharing across the graph).
fn operand(raw: u32, available: usize) -> usize {
    let r = (raw / 2) as usize;
    if raw.is_multiple_of(2) {
        available - 1 - r % available.min(3)
    } else {
        r % available
    }
}

type RawNode = (usize, [u32; 3], f64, bool, i32);

fn build(inputs: usize, raw_nodes: &[RawNode], raw_outputs: &[u32]) -> Dag {
    let nodes = raw_nodes
        .iter()
        .enumerate()
        .map(|(i, &(op, args, k, negative, exponent))| Node {
            op: OPS[op],
            args: args.map(|a| operand(a, inputs + i)),
            k: if negative { -k } else { k },
            exponent,
        })
        .collect::<Vec<_>>();
    let last = inputs + nodes.len() - 1;
    let mut outputs = vec![last];
    outputs.extend(raw_outputs.iter().map(|&r| r as usize % (last + 1)));
    Dag {
        inputs,
        nodes,
        outputs,
    }
}

/// A DAG, a point (inputs in [-1.5, 1.5]) and an output cotangent (entries in [-2, 2]).
fn case() -> impl Strategy<Value = (Dag, Vec<f64>, Vec<f64>)> {
    let node = (
        0..OPS.len(),
        any::<[u32; 3]>(),
        0.5f64..2.0,
        any::<bool>(),
        -2i32..=3,
    );
    (
        1usize..=4,
        prop::collection::vec(node, 1..=14),
        prop::collection::vec(any::<u32>(), 0..=2),
        prop::array::uniform4(-1.5f64..1.5),
        prop::array::uniform3(-2.0f64..2.0),
    )
        .prop_map(|(inputs, raw_nodes, raw_outputs, x, w)| {
            let dag = build(inputs, &raw_nodes, &raw_outputs);
            let w = w[..dag.outputs.len()].to_vec();
            (dag, x[..inputs].to_vec(), w)
        })
}

fn tame(values: &[f64], bound: f64) -> bool {
    values.iter().all(|v| v.is_finite() && v.abs() <= bound)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_strategy_agrees_with_forward_mode_on_shared_dags((dag, x, w) in case()) {
        prop_assume!(tame(&dag.values(&x), 1e4));
        let reference = StrategyKind::Forward.jacobian(&dag, &x);
        let rows = reference.rows.expect("forward computes a Jacobian");
        prop_assume!(rows.iter().all(|row| tame(row, 1e6)));
        let reference_vjp = StrategyKind::Forward.vjp(&dag, &x, &w).gradient.unwrap();
        let naive_affordable = count_ops(&dag, &x).naive_calls <= NAIVE_CALL_BUDGET;

        // The peers are left out: these DAGs meet exact zeros (x - x, relu) under powi(_, 0),
        // abs and sqrt, where each peer crate has its own rule (`docs/peers.md`); the peers are
        // checked against `tape` on the workloads instead (`harness/tests/peers.rs`).
        for &kind in StrategyKind::ALL {
            if !kind.differentiates()
                || kind.is_peer()
                || kind.why_unavailable(&dag).is_some()
                || kind == StrategyKind::Forward
                || (kind == StrategyKind::Naive && !naive_affordable)
            {
                continue;
            }
            let name = kind.name();
            let jacobian = kind.jacobian(&dag, &x);
            assert_close(&jacobian.value, &reference.value, TOLERANCE, &format!("{name} value"));
            let got = jacobian.rows.expect("a differentiating strategy returns rows");
            prop_assert_eq!(got.len(), rows.len());
            for (j, (g, r)) in got.iter().zip(&rows).enumerate() {
                assert_close(g, r, TOLERANCE, &format!("{name} Jacobian row {j}"));
            }
            let vjp = kind.vjp(&dag, &x, &w).gradient.expect("a gradient");
            assert_close(&vjp, &reference_vjp, TOLERANCE, &format!("{name} vjp with {w:?}"));
        }
    }

    #[test]
    fn naive_backprop_calls_equal_the_predicted_path_count((dag, x, _w) in case()) {
        for j in 0..dag.outputs.len() {
            let single = dag.single_output(j);
            let predicted = count_ops(&single, &x).naive_calls;
            if predicted > NAIVE_CALL_BUDGET {
                continue;
            }
            let calls = StrategyKind::Naive.vjp(&single, &x, &[1.0]).counters.get("backprop_calls");
            prop_assert_eq!(calls.map(|c| c as f64), Some(predicted), "output {}", j);
        }
    }
}
