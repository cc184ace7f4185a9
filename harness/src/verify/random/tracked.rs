//! The checker's own interpreter: tangents, path bounds, rounding noise and the computation
//! graph of one evaluation.

use super::*;
use strategies::real::{Binary, Unary};

/// The scalar of the checker's own interpreter: a primal value with, per input, its tangent
/// (the forward-mode derivative, used only to judge finite differences), its path bound B (the
/// sum over all paths from that input of |product of the partials along the path|), and a
/// first-order bound on the rounding error of the value. Partials come from
/// `strategies::real::partials`, with their zero-tangent rule, as in every strategy.
#[derive(Clone, Copy, Debug)]
pub struct Tracked {
    pub(super) value: f64,
    pub(super) tangent: [f64; MAX_INPUTS],
    pub(super) reach: [f64; MAX_INPUTS],
    pub(super) noise: f64,
    /// Its vertex in the [`Graph`] being recorded, if it depends on an input.
    pub(super) vertex: Option<usize>,
}

impl Tracked {
    pub(super) fn inactive(value: f64) -> Self {
        Self {
            value,
            tangent: [0.0; MAX_INPUTS],
            reach: [0.0; MAX_INPUTS],
            noise: 0.0,
            vertex: None,
        }
    }

    pub(super) fn input(value: f64, i: usize) -> Self {
        let mut x = Self::inactive(value);
        x.tangent[i] = 1.0;
        x.reach[i] = 1.0;
        x.vertex = Some(Graph::add(1.0, Vec::new()));
        x
    }

    /// The result of an operation with `value` and, per operand, its partial.
    pub(super) fn node(value: f64, edges: &[(&Tracked, f64)]) -> Self {
        let mut y = Self::inactive(value);
        for &(operand, d) in edges {
            for i in 0..MAX_INPUTS {
                y.tangent[i] += partials::times(d, operand.tangent[i]);
                y.reach[i] += partials::times(d.abs(), operand.reach[i]);
            }
            y.noise += partials::times(d.abs(), operand.noise);
        }
        y.noise += f64::EPSILON * value.abs();
        let recorded: Vec<(usize, f64)> = edges
            .iter()
            .filter_map(|&(operand, d)| operand.vertex.map(|v| (v, d)))
            .collect();
        if !recorded.is_empty() {
            let from_inputs = y.reach.iter().copied().fold(0.0, larger_bound);
            y.vertex = Some(Graph::add(from_inputs, recorded));
        }
        y
    }

    pub(super) fn unary(&self, value: f64, d: f64) -> Self {
        Self::node(value, &[(self, d)])
    }

    pub(super) fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        Self::node(value, &[(self, dx), (other, dy)])
    }

    pub(super) fn plus(&self, other: &Self) -> Self {
        let (dx, dy) = partials::add();
        self.binary(other, self.value + other.value, dx, dy)
    }

    pub(super) fn minus(&self, other: &Self) -> Self {
        let (dx, dy) = partials::sub();
        self.binary(other, self.value - other.value, dx, dy)
    }

    pub(super) fn times(&self, other: &Self) -> Self {
        let (dx, dy) = partials::mul(self.value, other.value);
        self.binary(other, self.value * other.value, dx, dy)
    }

    pub(super) fn over(&self, other: &Self) -> Self {
        let q = self.value / other.value;
        let (dx, dy) = partials::div(other.value, q);
        self.binary(other, q, dx, dy)
    }

    pub(super) fn plus_constant(&self, c: f64) -> Self {
        self.unary(self.value + c, partials::add_constant())
    }

    pub(super) fn minus_constant(&self, c: f64) -> Self {
        self.unary(self.value - c, partials::add_constant())
    }

    pub(super) fn times_constant(&self, c: f64) -> Self {
        self.unary(self.value * c, partials::mul_constant(c))
    }

    pub(super) fn over_constant(&self, c: f64) -> Self {
        self.unary(self.value / c, partials::div_constant(c))
    }
}

thread_local! {
    /// The graph the evaluation on [`Tracked`] scalars running on this thread records.
    static GRAPH: RefCell<Vec<Vertex>> = const { RefCell::new(Vec::new()) };
}

/// A node of a recorded [`Graph`]: its largest path bound from the inputs and its edges
/// (operand vertex, partial).
pub(super) struct Vertex {
    pub(super) from_inputs: f64,
    pub(super) edges: Vec<(usize, f64)>,
}

/// The computation graph of one evaluation on [`Tracked`] scalars, as a strategy builds it: one
/// vertex per input and per primitive operation with an operand that depends on an input, in
/// evaluation order.
pub(super) struct Graph(Vec<Vertex>);

impl Graph {
    /// Start recording a new graph on this thread.
    pub(super) fn start() {
        GRAPH.with(|graph| graph.borrow_mut().clear());
    }

    /// Record a vertex; returns its index.
    pub(super) fn add(from_inputs: f64, edges: Vec<(usize, f64)>) -> usize {
        GRAPH.with(|graph| {
            let mut graph = graph.borrow_mut();
            graph.push(Vertex { from_inputs, edges });
            graph.len() - 1
        })
    }

    /// The graph recorded on this thread since [`Graph::start`].
    pub(super) fn take() -> Graph {
        Graph(GRAPH.with(|graph| std::mem::take(&mut *graph.borrow_mut())))
    }

    /// The largest path bound from the inputs at any vertex, and the largest to an output: a
    /// reverse sweep of absolute partials from each output, with reverse mode's rule that a
    /// zero cotangent contributes zero. NaN if any bound is.
    pub(super) fn largest_path_bounds(&self, outputs: &[Tracked]) -> (f64, f64) {
        let from_inputs = self.0.iter().map(|v| v.from_inputs).fold(0.0, larger_bound);
        let mut to_outputs = 0.0;
        for output in outputs.iter().filter_map(|y| y.vertex) {
            let mut bound = vec![0.0; output + 1];
            bound[output] = 1.0;
            for v in (0..=output).rev() {
                for &(u, d) in &self.0[v].edges {
                    bound[u] += partials::times(d.abs(), bound[v]);
                }
            }
            to_outputs = bound.into_iter().fold(to_outputs, larger_bound);
        }
        (from_inputs, to_outputs)
    }
}

/// The larger of two bounds, NaN if either is.
pub(super) fn larger_bound(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

macro_rules! tracked_operator {
    ($Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident, $with:ident, $with_constant:ident) => {
        impl $Op for Tracked {
            type Output = Tracked;
            fn $op(self, rhs: Tracked) -> Tracked {
                self.$with(&rhs)
            }
        }
        impl $Op<f64> for Tracked {
            type Output = Tracked;
            fn $op(self, rhs: f64) -> Tracked {
                self.$with_constant(rhs)
            }
        }
        impl $OpAssign for Tracked {
            fn $op_assign(&mut self, rhs: Tracked) {
                *self = self.$with(&rhs);
            }
        }
        impl $OpAssign<f64> for Tracked {
            fn $op_assign(&mut self, rhs: f64) {
                *self = self.$with_constant(rhs);
            }
        }
    };
}

tracked_operator!(Add, add, AddAssign, add_assign, plus, plus_constant);
tracked_operator!(Sub, sub, SubAssign, sub_assign, minus, minus_constant);
tracked_operator!(Mul, mul, MulAssign, mul_assign, times, times_constant);
tracked_operator!(Div, div, DivAssign, div_assign, over, over_constant);

impl Neg for Tracked {
    type Output = Tracked;
    fn neg(self) -> Tracked {
        self.unary(-self.value, partials::neg())
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl PartialOrd for Tracked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl Sum for Tracked {
    fn sum<I: Iterator<Item = Tracked>>(iter: I) -> Tracked {
        iter.fold(Tracked::inactive(0.0), |acc, x| acc.plus(&x))
    }
}

impl Product for Tracked {
    fn product<I: Iterator<Item = Tracked>>(iter: I) -> Tracked {
        iter.fold(Tracked::inactive(1.0), |acc, x| acc.times(&x))
    }
}

impl Real for Tracked {
    fn constant(value: f64) -> Self {
        Tracked::inactive(value)
    }
    fn value(&self) -> f64 {
        self.value
    }
    fn is_structural_zero(&self) -> bool {
        self.value == 0.0 && self.vertex.is_none()
    }
    fn apply(&self, f: Unary) -> Self {
        let y = f.value(self.value);
        self.unary(y, partials::unary(f, &self.value, &y))
    }
    fn apply2(&self, other: &Self, f: Binary) -> Self {
        let r = f.value(self.value, other.value);
        let (dx, dy) = partials::binary(f, &self.value, &other.value, &r);
        self.binary(other, r, dx, dy)
    }
    fn powi(&self, n: i32) -> Self {
        self.unary(self.value.powi(n), partials::powi(&self.value, n))
    }
}

impl<'a> Sum<&'a Tracked> for Tracked {
    fn sum<I: Iterator<Item = &'a Tracked>>(iter: I) -> Tracked {
        iter.fold(Tracked::inactive(0.0), |acc, x| acc.plus(x))
    }
}

impl<'a> Product<&'a Tracked> for Tracked {
    fn product<I: Iterator<Item = &'a Tracked>>(iter: I) -> Tracked {
        iter.fold(Tracked::inactive(1.0), |acc, x| acc.times(x))
    }
}
