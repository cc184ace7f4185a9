//! Sharing stress programs: each value is used several times, so the number of paths through
//! the computation graph, and with it the naive strategy's cost, grows exponentially in the
//! program's length while T grows linearly. `deep-chain` is the control: one use per value,
//! linear for every strategy, and the long-graph (stack depth) test. `random-dag` draws such
//! graphs from a seed.

use rand::RngExt;
use strategies::{outputs, HandAdjoint, Outputs, Program, Real};

use crate::inputs::{instance, integer_param, real_param, seeded, uniform};
use crate::{Family, Instance, ParamSpec, Params, SizeSpec, Workload};

/// `square-chain`: repeated squaring x_i = x_{i-1} * x_{i-1}, i = 1..k, of the input `x` =
/// x_0 (parameter `x0`, default 1.0); output x_k = x_0^(2^k). T = k; the naive strategy makes
/// 2^(k+1) - 1 backpropagator calls. At x_0 = 1 every value is 1 and the derivative is 2^k.
#[derive(Clone, Copy, Debug, Default)]
pub struct SquareChain;

/// x_0^(2^k) by k squarings of the input `x`.
struct RepeatedSquaring {
    k: usize,
}

impl Program for RepeatedSquaring {
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

impl Workload for SquareChain {
    fn name(&self) -> &'static str {
        "square-chain"
    }
    fn description(&self) -> &'static str {
        "k repeated squarings x_i = x_{i-1} * x_{i-1}: 2^(k+1) - 1 naive backpropagator calls"
    }
    fn family(&self) -> Family {
        Family::Sharing
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "k, the number of squarings (the derivative 2^k at x0 = 1 needs k < 1024)",
            default: 20,
            min: 0,
            max: 1023,
            verify: &[1, 4, 8, 12],
            sweep: &[
                4, 8, 12, 16, 20, 22, 24, 26, 28, 30, 32, 64, 128, 256, 512, 1000,
            ],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[ParamSpec {
            name: "x0",
            meaning: "the input x_0",
            default: 1.0,
            integer: false,
            min: -1000.0,
            max: 1000.0,
            choices: &[],
        }]
    }
    fn build(&self, k: usize, params: &Params) -> Instance {
        let x0 = real_param(params, "x0");
        instance(
            Some(k),
            params,
            &[("x", 1)],
            vec![x0],
            RepeatedSquaring { k },
        )
    }
}

/// `fib-chain`: x_0 = x, x_1 = x + y, x_i = x_{i-1} + x_{i-2} for i = 2..k, output x_k * x_k,
/// at the inputs `x` = 1 and `y` = 0.5. Every value is used twice, so the naive cost grows as
/// the Fibonacci numbers. T = k + 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct FibChain;

/// x_k^2 of the Fibonacci-like recurrence started from the inputs `x` and `y`.
struct FibonacciSquare {
    k: usize,
}

impl Program for FibonacciSquare {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut previous = x[0].clone();
        let mut current = x[0].clone() + x[1].clone();
        for _ in 1..self.k {
            let next = current.clone() + previous;
            previous = current;
            current = next;
        }
        outputs![current.clone() * current]
    }
}

impl Workload for FibChain {
    fn name(&self) -> &'static str {
        "fib-chain"
    }
    fn description(&self) -> &'static str {
        "Fibonacci-like chain x_i = x_{i-1} + x_{i-2}, output x_k^2: naive cost grows as Fibonacci"
    }
    fn family(&self) -> Family {
        Family::Sharing
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "k, the index of the last term (x_k^2 stays finite for k <= 700)",
            default: 20,
            min: 1,
            max: 700,
            verify: &[1, 2, 8, 20],
            sweep: &[5, 10, 15, 20, 25, 30, 32, 34, 36, 38, 40, 50, 100, 200, 500],
        })
    }
    fn build(&self, k: usize, params: &Params) -> Instance {
        instance(
            Some(k),
            params,
            &[("x", 1), ("y", 1)],
            vec![1.0, 0.5],
            FibonacciSquare { k },
        )
    }
}

/// `fanout`: x_i = x_{i-1} + x_{i-1} + x_{i-1} + x_{i-1} + x_{i-1} - x_{i-1} - x_{i-1} - x_{i-1}
/// (= 2 x_{i-1}, seven operations on eight uses), i = 1..k, from the input `x` = x_0 = 1; output
/// 1e-6 * x_k * x_k. T = 7k + 2; the naive cost grows as 8^k.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fanout;

/// 1e-6 x_k^2 of the eight-use doubling chain from the input `x`.
struct EightUses {
    k: usize,
}

impl Program for EightUses {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut v = x[0].clone();
        for _ in 0..self.k {
            v = v.clone() + v.clone() + v.clone() + v.clone() + v.clone()
                - v.clone()
                - v.clone()
                - v;
        }
        outputs![v.clone() * v * 1e-6]
    }
}

impl Workload for Fanout {
    fn name(&self) -> &'static str {
        "fanout"
    }
    fn description(&self) -> &'static str {
        "each step uses the previous value eight times (5 adds, 3 subtracts): naive cost 8^k"
    }
    fn family(&self) -> Family {
        Family::Sharing
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "k, the number of steps (the output stays finite for k <= 500)",
            default: 8,
            min: 0,
            max: 500,
            verify: &[1, 3, 6],
            sweep: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 128, 256, 500],
        })
    }
    fn build(&self, k: usize, params: &Params) -> Instance {
        instance(Some(k), params, &[("x", 1)], vec![1.0], EightUses { k })
    }
}

/// `deep-chain`: x_i = sin(x_{i-1}), i = 1..k, from the input `x` = x_0 = 1; output x_k. One
/// use per value, so every strategy is linear: the long-graph and stack-depth test. T = k.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeepChain;

/// k nested sines of the input `x`.
struct NestedSines {
    k: usize,
}

impl Program for NestedSines {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut v = x[0].clone();
        for _ in 0..self.k {
            v = v.sin();
        }
        outputs![v]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// dx_k/dx_0 = cos x_{k-1} ... cos x_1 cos x_0 by the chain rule. With one input the product
/// can be formed in the same loop as the chain, from x_0 upwards, so nothing is stored: w
/// times the running product of the cosines (the reverse sweep forms the same product from
/// the other end, which differs only in rounding).
impl HandAdjoint for NestedSines {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let mut v = x[0];
        let mut derivative = cotangent[0];
        for _ in 0..self.k {
            let (sine, cosine) = v.sin_cos();
            derivative *= cosine;
            v = sine;
        }
        value[0] = v;
        gradient[0] = derivative;
    }
}

impl Workload for DeepChain {
    fn name(&self) -> &'static str {
        "deep-chain"
    }
    fn description(&self) -> &'static str {
        "k nested sines, one use per value: linear for every strategy, the stack-depth test"
    }
    fn family(&self) -> Family {
        Family::Sharing
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "k, the number of nested sines",
            default: 100_000,
            min: 0,
            max: 10_000_000,
            verify: &[1, 10, 100, 1000],
            sweep: &[
                1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
                2_000_000, 5_000_000, 10_000_000,
            ],
        })
    }
    fn build(&self, k: usize, params: &Params) -> Instance {
        instance(Some(k), params, &[("x", 1)], vec![1.0], NestedSines { k })
    }
}

/// One operation of a random DAG. Each keeps values in [-1, 1] when its operands are, and
/// `Cos` lifts values away from zero, so that long graphs do not decay to 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DagOp {
    /// a * b.
    Mul,
    /// (a + b) * 0.5.
    Mean,
    /// cos(a).
    Cos,
    /// tanh(a - b).
    TanhDifference,
}

/// One node of a random DAG: its operation applied to the previous value (a) and the value at
/// `operand` (b).
#[derive(Clone, Copy, Debug)]
struct DagNode {
    op: DagOp,
    operand: usize,
}

/// A seeded random computation graph over the input `x` (n values in [-1, 1]): node i takes the
/// previous value as its first operand, so the graph is one chain of depth `size` from the last
/// input to the output, and draws its second operand uniformly from the `window` values before
/// the previous one (the previous one itself only when it is the only value); a small window
/// means deep reuse (large fan-out), a large one a wider, shallower graph. The output is the
/// last value.
struct SeededDag {
    inputs: usize,
    nodes: Vec<DagNode>,
}

impl SeededDag {
    /// Draw `size` nodes from `seed`.
    fn generate(inputs: usize, size: usize, window: usize, seed: u64) -> Self {
        const OPS: [DagOp; 4] = [DagOp::Mul, DagOp::Mean, DagOp::Cos, DagOp::TanhDifference];
        let mut rng = seeded(seed);
        let nodes = (0..size)
            .map(|i| {
                let previous = inputs + i - 1;
                let operand = if previous == 0 {
                    0
                } else {
                    rng.random_range(previous.saturating_sub(window)..previous)
                };
                DagNode {
                    op: OPS[rng.random_range(0..OPS.len())],
                    operand,
                }
            })
            .collect();
        Self { inputs, nodes }
    }
}

impl Program for SeededDag {
    fn input_len(&self) -> usize {
        self.inputs
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut values = Vec::with_capacity(x.len() + self.nodes.len());
        values.extend_from_slice(x);
        for node in &self.nodes {
            let a = values[values.len() - 1].clone();
            let b = || values[node.operand].clone();
            let next = match node.op {
                DagOp::Mul => a * b(),
                DagOp::Mean => (a + b()) * 0.5,
                DagOp::Cos => a.cos(),
                DagOp::TanhDifference => (a - b()).tanh(),
            };
            values.push(next);
        }
        outputs![values.pop().expect("a random DAG has at least one input")]
    }
}

/// `random-dag`: seeded random computation graphs with controlled depth (the size) and reuse
/// (`window`); see the program's documentation. Parameters `inputs`, `window`, `seed`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomDag;

impl Workload for RandomDag {
    fn name(&self) -> &'static str {
        "random-dag"
    }
    fn description(&self) -> &'static str {
        "seeded random computation graph: a chain of nodes, each also reusing a recent value"
    }
    fn family(&self) -> Family {
        Family::Sharing
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "the number of operation nodes (the depth of the graph)",
            default: 64,
            min: 0,
            max: 1_000_000,
            verify: &[1, 8, 16, 24],
            sweep: &[
                8, 16, 24, 32, 40, 48, 64, 128, 256, 1024, 4096, 16_384, 65_536,
            ],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[
            ParamSpec {
                name: "inputs",
                meaning: "the number of inputs",
                default: 4.0,
                integer: true,
                min: 1.0,
                max: 100_000.0,
                choices: &[],
            },
            ParamSpec {
                name: "window",
                meaning: "a node's second operand is one of this many most recent values",
                default: 4.0,
                integer: true,
                min: 1.0,
                max: 1_000_000.0,
                choices: &[],
            },
            ParamSpec {
                name: "seed",
                meaning: "the seed of the graph and of the input",
                default: 0.0,
                integer: true,
                min: 0.0,
                max: 9_007_199_254_740_992.0,
                choices: &[],
            },
        ]
    }
    fn build(&self, size: usize, params: &Params) -> Instance {
        let inputs = integer_param(params, "inputs");
        let window = integer_param(params, "window");
        let seed = integer_param(params, "seed") as u64;
        let program = SeededDag::generate(inputs, size, window, seed);
        let input = uniform(&mut seeded(seed.wrapping_add(1)), inputs, -1.0, 1.0);
        instance(Some(size), params, &[("x", inputs)], input, program)
    }
}
