//! The random programs: their operations, the interpreter (generic over `Real`) and the
//! printer.

use super::*;
use strategies::real::{Binary as Elementary2, Unary as Elementary};

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arith {
    pub(super) const ALL: [Arith; 4] = [Arith::Add, Arith::Sub, Arith::Mul, Arith::Div];

    pub(super) fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
        }
    }

    /// `a op b`, or with `assign` `{ let mut t = a; t op= b; t }`.
    pub(super) fn combine<R, B>(self, assign: bool, a: R, b: B) -> R
    where
        R: Add<B, Output = R> + Sub<B, Output = R> + Mul<B, Output = R> + Div<B, Output = R>,
        R: AddAssign<B> + SubAssign<B> + MulAssign<B> + DivAssign<B>,
    {
        if !assign {
            return match self {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div => a / b,
            };
        }
        let mut t = a;
        match self {
            Arith::Add => t += b,
            Arith::Sub => t -= b,
            Arith::Mul => t *= b,
            Arith::Div => t /= b,
        }
        t
    }
}

/// The right operand of an arithmetic operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Rhs {
    /// An earlier value.
    Value(usize),
    /// An `f64` on the right (`a + 2.0`): a unary node.
    Constant(f64),
    /// An inactive `R::constant(c)`: a binary node with one inactive operand.
    Lifted(f64),
}

/// A one-operand primitive: negation, `relu`, `square`, or one of [`Real`]'s elementary
/// functions ([`Real::apply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unary {
    Neg,
    Relu,
    Square,
    Function(Elementary),
}

impl Unary {
    /// Every one-operand primitive, in the order the generator draws from. The first eight
    /// elementary functions (`sin` to `abs`) come before `relu` and `square`, as they did
    /// before the others existed, so that a seed draws the programs it always drew.
    pub(super) const ALL: [Unary; 3 + Elementary::ALL.len()] = {
        let mut all = [Unary::Neg; 3 + Elementary::ALL.len()];
        let mut i = 0;
        while i < Elementary::ALL.len() {
            all[if i < 8 { i + 1 } else { i + 3 }] = Unary::Function(Elementary::ALL[i]);
            i += 1;
        }
        all[9] = Unary::Relu;
        all[10] = Unary::Square;
        all
    };

    /// The elementary function of [`Real`] it applies, for those that are one
    /// ([`Real::apply`]).
    pub(super) fn elementary(self) -> Option<Elementary> {
        match self {
            Unary::Function(f) => Some(f),
            Unary::Neg | Unary::Relu | Unary::Square => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Unary::Function(f) => f.name(),
            Unary::Neg => "neg",
            Unary::Relu => "relu",
            Unary::Square => "square",
        }
    }

    /// Whether the primitive applies to `a` itself rather than to its guard's stand-in (always,
    /// for primitives without a guard).
    pub(super) fn in_domain(self, a: f64) -> bool {
        match self {
            Unary::Function(Elementary::Tan) => a.abs() < TAN_LIMIT,
            Unary::Function(Elementary::Exp | Elementary::ExpM1 | Elementary::Exp2) => {
                a < EXP_LIMIT
            }
            Unary::Function(Elementary::Sinh | Elementary::Cosh) => a.abs() < EXP_LIMIT,
            Unary::Function(
                Elementary::Ln | Elementary::Sqrt | Elementary::Log2 | Elementary::Log10,
            ) => a > 0.0,
            Unary::Function(Elementary::Asin | Elementary::Acos | Elementary::Atanh) => {
                a.abs() < 1.0
            }
            Unary::Function(Elementary::Acosh) => a > 1.0,
            Unary::Function(Elementary::Ln1p) => a > -1.0,
            Unary::Function(Elementary::Cbrt | Elementary::Recip) => a != 0.0,
            _ => true,
        }
    }

    /// The primitive, behind its domain guard.
    pub(super) fn apply<R: Real>(self, a: &R) -> R {
        let Some(f) = self.elementary() else {
            return match self {
                Unary::Neg => -a.clone(),
                Unary::Relu => a.relu(),
                _ => a.square(),
            };
        };
        if self.in_domain(a.value()) {
            return a.apply(f);
        }
        let stand_in = match self {
            Unary::Function(Elementary::Tan | Elementary::Sinh | Elementary::Cosh) => a.sin(),
            Unary::Function(Elementary::Exp | Elementary::ExpM1 | Elementary::Exp2) => -a.clone(),
            Unary::Function(Elementary::Asin | Elementary::Acos | Elementary::Atanh) => {
                a.sin() * 0.5
            }
            Unary::Function(Elementary::Acosh) => shifted(a) + 1.0,
            Unary::Function(Elementary::Ln1p) => a.abs(),
            Unary::Function(Elementary::Cbrt | Elementary::Recip) => a.clone() + 1.0,
            _ => shifted(a),
        };
        stand_in.apply(f)
    }

    /// Which side of its guard, or of its kink (`abs`, `relu`), `a` is on.
    pub(super) fn branch(self, a: f64) -> u8 {
        match self {
            Unary::Function(Elementary::Abs) if a > 0.0 => 0,
            Unary::Function(Elementary::Abs) if a < 0.0 => 1,
            Unary::Function(Elementary::Abs) => 2,
            Unary::Relu => u8::from(a > 0.0),
            _ => u8::from(self.in_domain(a)),
        }
    }

    /// The guarded primitive as pseudo-code.
    pub(super) fn text(self, a: &str) -> String {
        let f = self.name();
        let guarded = |condition: String, stand_in: String| {
            format!("if {condition} {{ {f}({a}) }} else {{ {f}({stand_in}) }}")
        };
        match self {
            Unary::Neg => format!("-{a}"),
            Unary::Function(Elementary::Tan) => {
                guarded(format!("abs({a}) < {TAN_LIMIT:?}"), format!("sin({a})"))
            }
            Unary::Function(Elementary::Exp | Elementary::ExpM1 | Elementary::Exp2) => {
                guarded(format!("{a} < {EXP_LIMIT:?}"), format!("-{a}"))
            }
            Unary::Function(Elementary::Sinh | Elementary::Cosh) => {
                guarded(format!("abs({a}) < {EXP_LIMIT:?}"), format!("sin({a})"))
            }
            Unary::Function(
                Elementary::Ln | Elementary::Sqrt | Elementary::Log2 | Elementary::Log10,
            ) => guarded(format!("{a} > 0"), format!("abs({a}) + 1")),
            Unary::Function(Elementary::Asin | Elementary::Acos | Elementary::Atanh) => {
                guarded(format!("abs({a}) < 1"), format!("sin({a}) * 0.5"))
            }
            Unary::Function(Elementary::Acosh) => {
                guarded(format!("{a} > 1"), format!("abs({a}) + 2"))
            }
            Unary::Function(Elementary::Ln1p) => guarded(format!("{a} > -1"), format!("abs({a})")),
            Unary::Function(Elementary::Cbrt | Elementary::Recip) => {
                guarded(format!("{a} != 0"), format!("{a} + 1"))
            }
            _ => format!("{f}({a})"),
        }
    }
}

/// A two-operand elementary function besides `powf` (which has its own operation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Binary {
    Atan2,
    Hypot,
}

impl Binary {
    pub(super) const ALL: [Binary; 2] = [Binary::Atan2, Binary::Hypot];

    /// The function of [`Real`] it applies ([`Real::apply2`]).
    pub(super) fn elementary(self) -> Elementary2 {
        match self {
            Binary::Atan2 => Elementary2::Atan2,
            Binary::Hypot => Elementary2::Hypot,
        }
    }

    pub(super) fn name(self) -> &'static str {
        self.elementary().name()
    }

    /// `f(a, b)`, with `b + 1` for `b` at the origin, where both functions have NaN partials.
    pub(super) fn apply<R: Real>(self, a: &R, b: &R) -> R {
        if at_origin(a.value(), b.value()) {
            a.apply2(&(b.clone() + 1.0), self.elementary())
        } else {
            a.apply2(b, self.elementary())
        }
    }

    /// Which side of its guard (the origin) the point is on and, for `atan2`, of its branch
    /// cut: a negative `b` with `a` of either sign (the sign bit, so that `-0` and `+0`, whose
    /// angles are -pi and pi, are on different sides).
    pub(super) fn branch(self, a: f64, b: f64) -> u8 {
        if at_origin(a, b) {
            2
        } else {
            u8::from(self == Binary::Atan2 && b < 0.0 && a.is_sign_negative())
        }
    }

    /// The guarded function as pseudo-code.
    pub(super) fn text(self, a: &str, b: &str) -> String {
        let f = self.name();
        format!("if {a} != 0 || {b} != 0 {{ {f}({a}, {b}) }} else {{ {f}({a}, {b} + 1) }}")
    }
}

/// Whether (a, b) is the origin, where `atan2` and `hypot` have NaN partials.
pub(super) fn at_origin(a: f64, b: f64) -> bool {
    a == 0.0 && b == 0.0
}

/// `|a| + 1`, the in-domain stand-in for an argument that is not positive.
pub(super) fn shifted<R: Real>(a: &R) -> R {
    a.abs() + 1.0
}

/// The exponent of `powf`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Exponent {
    /// An earlier value.
    Value(usize),
    /// An inactive `R::constant(c)`.
    Constant(f64),
}

/// One operation of a random program; operands are indices of earlier values.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Operation {
    /// `lhs op rhs` (a zero active denominator becomes `rhs + 1`), or its `*Assign` form.
    Arith {
        op: Arith,
        assign: bool,
        lhs: usize,
        rhs: Rhs,
    },
    /// A one-operand primitive behind its domain guard.
    Unary { op: Unary, arg: usize },
    /// `atan2(a, b)` or `hypot(a, b)`, with `b + 1` at the origin.
    Binary { op: Binary, a: usize, b: usize },
    /// `base^exponent`, with the base replaced by `sin(base) + 2` out of range.
    Powi { base: usize, exponent: i32 },
    /// `base^exponent`, with the base replaced by `|base| + 1` unless positive (or the exponent
    /// is an integral constant).
    Powf { base: usize, exponent: Exponent },
    /// `max(a, b)`.
    Max(usize, usize),
    /// `min(a, b)`.
    Min(usize, usize),
    /// `Sum` of the values.
    Sum(Vec<usize>),
    /// `Product` of the values.
    Product(Vec<usize>),
    /// `R::constant(c)`.
    Constant(f64),
    /// `if left > right { then } else { otherwise }`.
    Select {
        left: usize,
        right: usize,
        then: usize,
        otherwise: usize,
    },
}

impl Operation {
    /// The operation's value, given every earlier value.
    pub(super) fn apply<R: Real>(&self, v: &[R]) -> R {
        match self {
            Operation::Arith {
                op,
                assign,
                lhs,
                rhs,
            } => arith(*op, *assign, v[*lhs].clone(), *rhs, v),
            Operation::Unary { op, arg } => op.apply(&v[*arg]),
            Operation::Binary { op, a, b } => op.apply(&v[*a], &v[*b]),
            Operation::Powi { base, exponent } => powi(&v[*base], *exponent),
            Operation::Powf { base, exponent } => powf(&v[*base], *exponent, v),
            Operation::Max(a, b) => v[*a].clone().max(v[*b].clone()),
            Operation::Min(a, b) => v[*a].clone().min(v[*b].clone()),
            Operation::Sum(terms) => terms.iter().map(|&t| v[t].clone()).sum(),
            Operation::Product(factors) => factors.iter().map(|&t| v[t].clone()).product(),
            Operation::Constant(c) => R::constant(*c),
            Operation::Select {
                left,
                right,
                then,
                otherwise,
            } => {
                if v[*left] > v[*right] {
                    v[*then].clone()
                } else {
                    v[*otherwise].clone()
                }
            }
        }
    }

    /// Which way its value-dependent choice goes, given every earlier primal value (0 for
    /// operations without one): the side of a domain guard or of a kink, the winner of `max` or
    /// `min`, the branch of a select.
    pub(super) fn branch(&self, v: &[f64]) -> u8 {
        match *self {
            Operation::Arith {
                op: Arith::Div,
                rhs: Rhs::Value(b),
                ..
            } => u8::from(v[b] == 0.0),
            Operation::Unary { op, arg } => op.branch(v[arg]),
            Operation::Binary { op, a, b } => op.branch(v[a], v[b]),
            Operation::Powi { base, exponent } => u8::from(powi_base_in_range(v[base], exponent)),
            Operation::Powf { base, exponent } => u8::from(powf_base_in_domain(v[base], exponent)),
            Operation::Max(a, b) => u8::from(v[b] > v[a]),
            Operation::Min(a, b) => u8::from(v[b] < v[a]),
            Operation::Select { left, right, .. } => u8::from(v[left] > v[right]),
            Operation::Arith { .. }
            | Operation::Sum(_)
            | Operation::Product(_)
            | Operation::Constant(_) => 0,
        }
    }

    /// The indices of the values it reads, in order.
    pub(super) fn operands(&self) -> Vec<usize> {
        let mut operands = self.clone();
        operands.operands_mut().into_iter().map(|o| *o).collect()
    }

    /// The indices of the values it reads, to rewrite them.
    pub(super) fn operands_mut(&mut self) -> Vec<&mut usize> {
        match self {
            Operation::Arith { lhs, rhs, .. } => match rhs {
                Rhs::Value(b) => vec![lhs, b],
                Rhs::Constant(_) | Rhs::Lifted(_) => vec![lhs],
            },
            Operation::Unary { arg, .. } => vec![arg],
            Operation::Binary { a, b, .. } => vec![a, b],
            Operation::Powi { base, .. } => vec![base],
            Operation::Powf { base, exponent } => match exponent {
                Exponent::Value(p) => vec![base, p],
                Exponent::Constant(_) => vec![base],
            },
            Operation::Max(a, b) | Operation::Min(a, b) => vec![a, b],
            Operation::Sum(terms) | Operation::Product(terms) => terms.iter_mut().collect(),
            Operation::Constant(_) => Vec::new(),
            Operation::Select {
                left,
                right,
                then,
                otherwise,
            } => vec![left, right, then, otherwise],
        }
    }

    /// Its real constants, each with whether it must stay nonzero (a constant denominator).
    pub(super) fn constants_mut(&mut self) -> Vec<(&mut f64, bool)> {
        match self {
            Operation::Arith {
                op,
                rhs: Rhs::Constant(c) | Rhs::Lifted(c),
                ..
            } => vec![(c, *op == Arith::Div)],
            Operation::Powf {
                exponent: Exponent::Constant(c),
                ..
            }
            | Operation::Constant(c) => vec![(c, false)],
            _ => Vec::new(),
        }
    }

    /// The operation as pseudo-code assigning to `own`, with `name` naming values.
    pub(super) fn text(&self, own: &str, name: impl Fn(usize) -> String) -> String {
        let list = |values: &[usize]| values.iter().map(|&v| name(v)).collect::<Vec<_>>();
        match self {
            Operation::Arith {
                op,
                assign,
                lhs,
                rhs,
            } => {
                let b = match *rhs {
                    Rhs::Value(b) if *op == Arith::Div => {
                        let b = name(b);
                        format!("(if {b} != 0 {{ {b} }} else {{ {b} + 1 }})")
                    }
                    Rhs::Value(b) => name(b),
                    Rhs::Constant(c) => format!("{c:?}"),
                    Rhs::Lifted(c) => format!("constant({c:?})"),
                };
                let symbol = op.symbol();
                if *assign {
                    format!("{own} = {}; {own} {symbol}= {b}", name(*lhs))
                } else {
                    format!("{own} = {} {symbol} {b}", name(*lhs))
                }
            }
            Operation::Unary { op, arg } => format!("{own} = {}", op.text(&name(*arg))),
            Operation::Binary { op, a, b } => format!("{own} = {}", op.text(&name(*a), &name(*b))),
            Operation::Powi { base, exponent } => {
                let a = name(*base);
                let range = if *exponent < 0 {
                    format!("0.5 <= abs({a}) <= 2")
                } else {
                    format!("abs({a}) <= 2")
                };
                format!(
                    "{own} = if {range} {{ powi({a}, {exponent}) }} else {{ powi(sin({a}) + 2, {exponent}) }}"
                )
            }
            Operation::Powf { base, exponent } => {
                let a = name(*base);
                let p = match *exponent {
                    Exponent::Value(p) => name(p),
                    Exponent::Constant(c) => format!("constant({c:?})"),
                };
                if keeps_any_base(*exponent) {
                    format!("{own} = powf({a}, {p})")
                } else {
                    format!(
                        "{own} = if {a} > 0 {{ powf({a}, {p}) }} else {{ powf(abs({a}) + 1, {p}) }}"
                    )
                }
            }
            Operation::Max(a, b) => format!("{own} = max({}, {})", name(*a), name(*b)),
            Operation::Min(a, b) => format!("{own} = min({}, {})", name(*a), name(*b)),
            Operation::Sum(terms) => format!("{own} = sum({})", list(terms).join(", ")),
            Operation::Product(factors) => {
                format!("{own} = product({})", list(factors).join(", "))
            }
            Operation::Constant(c) => format!("{own} = constant({c:?})"),
            Operation::Select {
                left,
                right,
                then,
                otherwise,
            } => format!(
                "{own} = if {} > {} {{ {} }} else {{ {} }}",
                name(*left),
                name(*right),
                name(*then),
                name(*otherwise)
            ),
        }
    }
}

/// `a op rhs`, with a zero active denominator replaced by `rhs + 1` (constant denominators are
/// never zero).
pub(super) fn arith<R: Real>(op: Arith, assign: bool, a: R, rhs: Rhs, v: &[R]) -> R {
    let nonzero = |b: R| {
        if op == Arith::Div && b.value() == 0.0 {
            b + 1.0
        } else {
            b
        }
    };
    match rhs {
        Rhs::Value(b) => op.combine(assign, a, nonzero(v[b].clone())),
        Rhs::Lifted(c) => op.combine(assign, a, R::constant(c)),
        Rhs::Constant(c) => op.combine(assign, a, c),
    }
}

/// Whether `powi` applies to `a` itself: |a| <= 2, and |a| >= 0.5 for negative exponents.
pub(super) fn powi_base_in_range(a: f64, n: i32) -> bool {
    a.abs() <= 2.0 && (n >= 0 || a.abs() >= 0.5)
}

pub(super) fn powi<R: Real>(a: &R, n: i32) -> R {
    if powi_base_in_range(a.value(), n) {
        a.powi(n)
    } else {
        (a.sin() + 2.0).powi(n)
    }
}

/// Whether `powf` takes any base with this exponent: an integral constant.
pub(super) fn keeps_any_base(exponent: Exponent) -> bool {
    matches!(exponent, Exponent::Constant(c) if c.fract() == 0.0)
}

/// Whether `powf` applies to `a` itself rather than to `|a| + 1`.
pub(super) fn powf_base_in_domain(a: f64, exponent: Exponent) -> bool {
    keeps_any_base(exponent) || a > 0.0
}

pub(super) fn powf<R: Real>(a: &R, exponent: Exponent, v: &[R]) -> R {
    let p = match exponent {
        Exponent::Value(p) => v[p].clone(),
        Exponent::Constant(c) => R::constant(c),
    };
    if powf_base_in_domain(a.value(), exponent) {
        a.powf(&p)
    } else {
        shifted(a).powf(&p)
    }
}

/// A random program at its point: see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomProgram {
    /// The point: one coordinate per input.
    pub(super) point: Vec<f64>,
    /// Operation k computes value `point.len() + k` from earlier values.
    pub(super) operations: Vec<Operation>,
    /// The value of each output.
    pub(super) outputs: Vec<usize>,
}

impl RandomProgram {
    /// The point it is checked at (one coordinate per input).
    pub fn point(&self) -> &[f64] {
        &self.point
    }

    /// How many operations it has.
    pub fn operation_count(&self) -> usize {
        self.operations.len()
    }

    /// Whether it can be checked: its output values are finite and, at every node of its
    /// computation graph at the point that depends on an input (the nodes inside a guard or a
    /// fold included), the path bounds from the inputs and to the outputs are at most
    /// [`RANGE_LIMIT`] (see the module documentation, "The tolerance").
    pub fn is_testable(&self) -> bool {
        let (outputs, graph) = self.recorded(&self.point);
        let (from_inputs, to_outputs) = graph.largest_path_bounds(&outputs);
        outputs.iter().all(|y| y.value.is_finite())
            && from_inputs <= RANGE_LIMIT
            && to_outputs <= RANGE_LIMIT
    }

    /// The outputs on [`Tracked`] scalars at `x`, and the graph their evaluation recorded.
    pub(super) fn recorded(&self, x: &[f64]) -> (Outputs<Tracked>, Graph) {
        let outputs = self.tracked(x);
        (outputs, Graph::take())
    }

    /// The choice every operation makes at `x` (see [`Operation::branch`]).
    pub(super) fn branches(&self, x: &[f64]) -> Vec<u8> {
        let mut values = x.to_vec();
        let mut branches = Vec::with_capacity(self.operations.len());
        for operation in &self.operations {
            branches.push(operation.branch(&values));
            let value = operation.apply(&values);
            values.push(value);
        }
        branches
    }

    /// Per output, which operations its value depends on (through operands, compared ones
    /// included).
    pub(super) fn ancestors(&self) -> Vec<Vec<bool>> {
        let n = self.point.len();
        self.outputs
            .iter()
            .map(|&output| {
                let mut needed = vec![false; n + self.operations.len()];
                needed[output] = true;
                for k in (0..self.operations.len()).rev() {
                    if needed[n + k] {
                        for operand in self.operations[k].operands() {
                            needed[operand] = true;
                        }
                    }
                }
                needed.split_off(n)
            })
            .collect()
    }

    /// Every value: the inputs, then one per operation.
    pub(super) fn values<R: Real>(&self, x: &[R]) -> Vec<R> {
        let mut values = x.to_vec();
        for operation in &self.operations {
            let value = operation.apply(&values);
            values.push(value);
        }
        values
    }

    /// The outputs on [`Tracked`] scalars at `x`, recording a new graph on this thread.
    pub(super) fn tracked(&self, x: &[f64]) -> Outputs<Tracked> {
        Graph::start();
        let inputs: Vec<Tracked> = x
            .iter()
            .enumerate()
            .map(|(i, &x)| Tracked::input(x, i))
            .collect();
        self.eval(&inputs)
    }

    /// The name of value `index`: `x2` for an input, `v5` for an operation's result.
    pub(super) fn name(&self, index: usize) -> String {
        match index.checked_sub(self.point.len()) {
            None => format!("x{index}"),
            Some(k) => format!("v{k}"),
        }
    }
}

impl Program for RandomProgram {
    fn input_len(&self) -> usize {
        self.point.len()
    }
    fn output_len(&self) -> usize {
        self.outputs.len()
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let values = self.values(x);
        let mut result = outputs![];
        result.extend(self.outputs.iter().map(|&o| values[o].clone()));
        result
    }
}

/// The program as pseudo-code: its point, one line per operation, its outputs.
impl fmt::Display for RandomProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inputs: Vec<String> = self
            .point
            .iter()
            .enumerate()
            .map(|(i, x)| format!("x{i} = {x:?}"))
            .collect();
        writeln!(f, "input {}", inputs.join(", "))?;
        for (k, operation) in self.operations.iter().enumerate() {
            writeln!(f, "{}", operation.text(&format!("v{k}"), |v| self.name(v)))?;
        }
        let outputs: Vec<String> = self
            .outputs
            .iter()
            .enumerate()
            .map(|(j, &o)| format!("y{j} = {}", self.name(o)))
            .collect();
        writeln!(f, "output {}", outputs.join(", "))
    }
}
