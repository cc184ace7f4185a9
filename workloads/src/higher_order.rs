//! Higher-order and control-flow programs: the language features that dual-numbers reverse AD
//! handles without a special case: closures capturing active values, map / fold over closures,
//! recursion over slices and over a tree of active values, branches on primal values, and a
//! loop whose trip count depends on values.

use std::mem;

use strategies::{outputs, Outputs, Program, Real};

use crate::inputs::{instance, seeded, uniform};
use crate::{Family, Instance, Params, SizeSpec, Workload};

/// The evaluation points of `horner`.
const HORNER_POINTS: [f64; 3] = [-0.5, 0.25, 0.75];

/// `horner`: the polynomial p(t) = sum_j c_j t^j with active coefficients `c` (n of them,
/// c_j = 1 / (j + 1), lowest degree first) evaluated by recursive Horner's rule at the three
/// active points `t` = (-0.5, 0.25, 0.75); output p(t_1) + p(t_2) + p(t_3). The polynomial is
/// a closure capturing the coefficients, mapped over the points. T = 6n - 3.
#[derive(Clone, Copy, Debug, Default)]
pub struct Horner;

/// sum_i p(t_i) over the inputs `c` (n coefficients) and `t` (3 points).
struct PolynomialSum {
    n: usize,
}

/// p(t) = c_0 + t (c_1 + t (c_2 + ...)), recursively on the coefficient slice.
fn horner<R: Real>(coefficients: &[R], t: &R) -> R {
    match coefficients {
        [] => R::constant(0.0),
        [last] => last.clone(),
        [first, rest @ ..] => horner(rest, t) * t.clone() + first.clone(),
    }
}

/// The polynomial with the given coefficients, as a function of its argument.
fn polynomial<R: Real>(coefficients: &[R]) -> impl Fn(&R) -> R + '_ {
    move |t| horner(coefficients, t)
}

impl Program for PolynomialSum {
    fn input_len(&self) -> usize {
        self.n + HORNER_POINTS.len()
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (coefficients, points) = x.split_at(self.n);
        let p = polynomial(coefficients);
        outputs![points.iter().map(p).sum()]
    }
}

impl Workload for Horner {
    fn name(&self) -> &'static str {
        "horner"
    }
    fn description(&self) -> &'static str {
        "a polynomial closure over active coefficients, evaluated by recursive Horner's rule"
    }
    fn family(&self) -> Family {
        Family::HigherOrder
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of coefficients (the recursion depth)",
            default: 100,
            min: 1,
            max: 10_000,
            verify: &[1, 5, 20],
            sweep: &[10, 30, 100, 300, 1000, 3000, 10_000],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = (0..n)
            .map(|j| 1.0 / (j + 1) as f64)
            .chain(HORNER_POINTS)
            .collect();
        instance(
            Some(n),
            params,
            &[("c", n), ("t", HORNER_POINTS.len())],
            input,
            PolynomialSum { n },
        )
    }
}

/// A node of a [`Tree`].
enum Node<R> {
    /// A value.
    Leaf(R),
    /// Two subtrees, by their indices in the arena (32 bits, so that a node of `f64` takes
    /// 16 bytes, as a boxed node would).
    Branch(u32, u32),
    /// A node whose value the reduction has moved out.
    Reduced,
}

/// A binary tree of active values, its nodes in one arena (children before their parent, the
/// root last) allocated once, not a box per node.
struct Tree<R> {
    nodes: Vec<Node<R>>,
}

impl<R: Real> Tree<R> {
    /// The balanced tree over `values` (left half, right half), which must not be empty.
    fn balanced(values: &[R]) -> Self {
        assert!(!values.is_empty(), "a tree needs at least one value");
        let mut tree = Tree {
            nodes: Vec::with_capacity(2 * values.len() - 1),
        };
        tree.push_balanced(values);
        tree
    }

    /// Append the balanced subtree over `values` and return its root's index.
    fn push_balanced(&mut self, values: &[R]) -> u32 {
        let node = match values {
            [value] => Node::Leaf(value.clone()),
            _ => {
                let (left, right) = values.split_at(values.len() / 2);
                Node::Branch(self.push_balanced(left), self.push_balanced(right))
            }
        };
        self.nodes.push(node);
        u32::try_from(self.nodes.len() - 1).expect("a tree has fewer than 2^32 nodes")
    }

    /// Reduce bottom-up, combining the two children of each node with `combine`.
    fn reduce(mut self, combine: &impl Fn(R, R) -> R) -> R {
        let root = self.nodes.len() - 1;
        self.reduce_subtree(root, combine)
    }

    /// Reduce the subtree rooted at node `index`, moving its values out.
    fn reduce_subtree(&mut self, index: usize, combine: &impl Fn(R, R) -> R) -> R {
        match mem::replace(&mut self.nodes[index], Node::Reduced) {
            Node::Leaf(value) => value,
            Node::Branch(left, right) => combine(
                self.reduce_subtree(left as usize, combine),
                self.reduce_subtree(right as usize, combine),
            ),
            Node::Reduced => unreachable!("each node is reduced once"),
        }
    }
}

/// ln(e^a + e^b), branching on which operand is larger so that the exponential cannot
/// overflow: max + ln(1 + exp(min - max)). Both branches compute the same smooth function.
fn log_add_exp<R: Real>(a: R, b: R) -> R {
    let (high, low) = if a >= b { (a, b) } else { (b, a) };
    high.clone() + ((low - high).exp() + 1.0).ln()
}

/// `tree-reduce`: log-sum-exp of the input `x` (n values uniform in [-3, 3], seed 0) by
/// recursive divide-and-conquer over a balanced binary tree of active values, each node
/// combining its children with a branch on which is larger. T = 5(n - 1). The tree's nodes
/// live in one arena allocated per evaluation.
#[derive(Clone, Copy, Debug, Default)]
pub struct TreeReduce;

/// ln sum_i exp(x_i) over the input `x`, reduced over a tree.
struct TreeLogSumExp {
    n: usize,
}

impl Program for TreeLogSumExp {
    fn input_len(&self) -> usize {
        self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![Tree::balanced(x).reduce(&log_add_exp)]
    }
}

impl Workload for TreeReduce {
    fn name(&self) -> &'static str {
        "tree-reduce"
    }
    fn description(&self) -> &'static str {
        "log-sum-exp by recursive reduction over a binary tree, branching on the larger child"
    }
    fn family(&self) -> Family {
        Family::HigherOrder
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of leaves",
            default: 1024,
            min: 1,
            max: 1 << 20,
            verify: &[1, 7, 64],
            sweep: &[16, 64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = uniform(&mut seeded(0), n, -3.0, 3.0);
        instance(Some(n), params, &[("x", n)], input, TreeLogSumExp { n })
    }
}

/// Newton's method stops once a step is below this, relative to the iterate.
const NEWTON_TOLERANCE: f64 = 1e-15;
/// Newton's method gives up after this many steps (never reached on `newton`'s inputs).
const NEWTON_MAX_STEPS: usize = 100;

/// A root of `f` by Newton's method from `start`: y <- y - f(y) / f'(y) until the step is
/// negligible. The trip count depends on the values.
fn newton<R: Real>(f: impl Fn(&R) -> R, derivative: impl Fn(&R) -> R, start: R) -> R {
    let mut y = start;
    for _ in 0..NEWTON_MAX_STEPS {
        let step = f(&y) / derivative(&y);
        let converged = step.value().abs() <= NEWTON_TOLERANCE * y.value().abs();
        y -= step;
        if converged {
            break;
        }
    }
    y
}

/// The cube root of `a > 0` as the root of y^3 - a, from y = 1: closures capturing `a`.
fn cube_root<R: Real>(a: &R) -> R {
    newton(
        |y| y.powi(3) - a.clone(),
        |y| y.powi(2) * 3.0,
        R::constant(1.0),
    )
}

/// `newton`: the sum of the cube roots of the input `a` (n values uniform in [0.5, 8], seed 0),
/// each found by Newton's method on y^3 - a from y = 1, iterated until the step is below
/// 1e-15 relative (a value-dependent trip count: 5 to 8 steps on these inputs); the solver takes the
/// function and its derivative as closures capturing the active a, and is mapped and folded
/// over the inputs. The gradient is (1/3) a^(-2/3).
#[derive(Clone, Copy, Debug, Default)]
pub struct Newton;

/// sum_i cbrt(a_i) over the input `a`, each root by Newton's method.
struct CubeRootSum {
    n: usize,
}

impl Program for CubeRootSum {
    fn input_len(&self) -> usize {
        self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x
            .iter()
            .map(cube_root)
            .fold(R::constant(0.0), |acc, root| acc + root)]
    }
}

impl Workload for Newton {
    fn name(&self) -> &'static str {
        "newton"
    }
    fn description(&self) -> &'static str {
        "sum of cube roots, each by a Newton iteration to tolerance over closures"
    }
    fn family(&self) -> Family {
        Family::HigherOrder
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of roots",
            default: 1000,
            min: 1,
            max: 1_000_000,
            verify: &[1, 4, 16],
            sweep: &[10, 100, 1000, 10_000, 100_000],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = uniform(&mut seeded(0), n, 0.5, 8.0);
        instance(Some(n), params, &[("a", n)], input, CubeRootSum { n })
    }
}
