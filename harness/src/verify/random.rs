//! `dualbench verify --random N [--seed S]`: every strategy against every other on seeded
//! random programs, each disagreement shrunk to the smallest program that still shows it.
//!
//! # The programs
//!
//! A [`RandomProgram`] is an explicit list of operations over earlier values (a DAG with
//! sharing) together with the point it is evaluated at. Its values are the inputs `x0 ..`
//! (1 to 4), then one value `v0, v1, ..` per operation (5 to 40 drawn, plus the helpers placed
//! near domain edges, see below); its outputs `y0 ..` (1 to 3) are the last value and up to two
//! others, inputs included. The interpreter implements [`Program`] for every `R: Real`, and the
//! printer ([`fmt::Display`]) writes a program as the pseudo-code the interpreter runs, guards
//! included.
//!
//! [`generate`] draws a program from its seed with ChaCha8 (the same program on every
//! machine). Every operation applies one primitive of [`Real`] to earlier values: `+ - * /`
//! with an active right operand, with an `f64` constant on the right and with an inactive
//! `R::constant`, each also in its `*Assign` form; `neg sin cos tan exp ln sqrt tanh abs relu
//! square`; `powi` (exponents from -64 to 64); `powf` with an active and with a constant
//! exponent; `max` and `min` (a quarter of them of a value with itself: exact ties); `Sum` and
//! `Product` of 2 to 4 values; `R::constant`; and a value-dependent branch `if a > b { c } else
//! { d }`. Operands are one of the last three values half of the time (depth) and any earlier
//! value otherwise (sharing).
//!
//! Arguments stay inside each primitive's domain by branching on primal values, as every
//! strategy does identically: a zero denominator becomes `b + 1`; `ln`, `sqrt` and `powf` with
//! an active or a fractional exponent take `|a| + 1` unless `a > 0`; `tan` takes `tan(sin a)`
//! beyond |a| = 1.5, `exp` takes `exp(-a)` from a = 4, and `powi` takes `(sin a + 2)^n` where
//! |a| > 2 (or |a| < 0.5 with n < 0). A `powf` with an integral constant exponent keeps a
//! negative base, where its exponent's partial is NaN. Inside the domain the generator goes to
//! the edges: a third of the denominators, and a quarter of the arguments of `ln`, `sqrt` and
//! the bases of `powf`, are a helper `a - c` whose constant c puts it at 1e-12 .. 1e-3 in
//! magnitude at the program's point; constants and coordinates are also drawn tiny
//! (1e-12 .. 1e-3), integral, or equal to one another (ties).
//!
//! # The comparison
//!
//! [`check`] evaluates the full Jacobian under every selected strategy (skipping one only where
//! [`caps::predicted_work`] exceeds [`WORK_CAP`]: `naive` on programs with too many paths),
//! each on an evaluation thread through [`guarded`], so a panic is a finding. Then, in this
//! order, the first failure being the finding:
//!
//! - every strategy's values equal the `f64` program's within [`TOLERANCE`];
//! - no derivative exceeds its path bound B (below) beyond the tolerance and the rounding
//!   allowance, nor is NaN or infinite: this catches strategies that agree with each other but
//!   not with the program;
//! - every pair of differentiating strategies agrees entry by entry within [`TOLERANCE`] plus
//!   the rounding allowance;
//! - every strategy agrees with [`finite_differences`] within [`FD_TOLERANCE`] plus the
//!   rounding allowance, where that estimate can be trusted (below).
//!
//! # The tolerance
//!
//! Every strategy takes its local partials from `strategies::real::partials` and computes the
//! primal values with the same operations, so values and partials agree to the last bit; what
//! differs is the order in which products of partials are formed and summed (forward mode from
//! the inputs, reverse mode from the outputs, naive once per path). On an ill-conditioned
//! program (large terms that cancel) honest strategies then differ by far more than 1e-10: on
//! `v0 = x0 - x0; v2 = x0 / (v0 - 4e-8); y = (v2 * v2 * v0 - 1) * v2` forward mode is exact
//! and reverse mode is off by 0.7%. Rather than discarding such programs by the size of their
//! values, or loosening the tolerance for all of them, the check computes a rounding bound with
//! its own interpreter ([`Tracked`], a forward pass on absolute partials): B(j, i), the sum over
//! all paths from input i to output j of |product of the partials along the path|. Each path's
//! term passes through at most T multiplications and T additions (T = the primal operation
//! count), so an honest entry is within about 2 T eps B of the exact derivative, and two of
//! them within 4 T eps B of each other. Entries u and v pass when
//!
//! ```text
//! relative_error(u, v) <= 1e-10 + ROUNDING_ULPS_PER_OPERATION (T + 1) eps B / max(1, |u| + |v|)
//! ```
//!
//! The allowance is relative to B, not to the derivative: a wrong partial, or a lost or doubled
//! contribution, changes an entry by a sizeable fraction of some path's term and still fails,
//! unless that is below about 1e-13 of B, where the exact derivative is lost to cancellation
//! anyway. It needs every product a strategy forms to be representable, and a path's product
//! can be while a part of it is not: 1e-200 from the input times 1e400 to the output overflows
//! in reverse mode only, and an infinite partial gives an infinite bound even where a zero
//! partial next to it makes every strategy's product zero (`partials::times`). So the
//! interpreter records the computation graph its evaluation builds (a vertex per primitive
//! operation on an input-dependent operand, those inside guards and folds included), and a
//! program is *testable* only where its output values are finite and, at every vertex, the
//! path bound from the inputs (a forward sweep, zero tangents absorbing) and the one to the
//! outputs (a reverse sweep, zero cotangents absorbing) are at most [`RANGE_LIMIT`].
//! [`generate`] draws again from the same stream until the program is testable (about 2% of
//! the draws are discarded), and the run reports how many it discarded.
//!
//! # Finite differences
//!
//! [`finite_differences`] flags the estimates it trusts, but its tests look at the outputs
//! only, and random programs defeat them: an intermediate 1e13 that absorbs the step leaves a
//! flat output, an oscillation faster than the step with a small amplitude passes its
//! absolute convergence test, a guard at the point itself (`x / x` at x = 0) makes AD
//! differentiate a different branch than the neighbouring points, and a NaN at the stencil
//! passes as converged. The interpreter knows more, so an estimate is compared only where,
//! besides, it is finite; every operation the output depends on makes the same choice (guard
//! side, kink side, `max` or `min` winner, select branch) at the probes x ± s as at x; the
//! primal's rounding noise (a first-order bound carried by [`Tracked`]) is small beside the
//! step, 3 noise / h <= FD_TOLERANCE / 10 max(1, |f'|); and f' itself (the interpreter's
//! tangent) is smooth at the probes, |f'(x + s) + f'(x - s) - 2 f'(x)| <= FD_TOLERANCE / 10
//! max(1, |f'|). The probes are at s = h and h / 2 (the stencil) and at two irrational
//! fractions of h, which an oscillation whose period divides h / 2 cannot alias with. None of
//! these tests uses the value of a partial, only the smoothness of the tangent, so a wrong
//! partial shared by every strategy still shows against finite differences. The run reports at
//! how many Jacobian entries finite differences were compared (about 85%).
//!
//! # Shrinking
//!
//! A disagreement is reported with the program's seed and the smallest program that still
//! shows a disagreement of the same kind (the same strategy, or the same pair). [`shrink`]
//! applies the first of these steps that keeps the disagreement, until none does: drop an
//! output; remove an operation, redirecting its uses to one of its operands or to `x0`; drop an
//! input, redirecting its uses to another input; drop a term of a `Sum` or `Product`; replace a
//! constant, an exponent or a coordinate by a simpler one (0, 1, -1, 2, 0.5, -2, its rounding).
//! Every step makes the program strictly smaller, so shrinking ends; the result is minimal in
//! that no single step keeps the disagreement.

use std::cell::RefCell;
use std::f64::consts::FRAC_1_PI;
use std::fmt;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use std::ops::{Range, RangeInclusive};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use strategies::op_count::{count_ops, OpCount};
use strategies::real::partials;
use strategies::{outputs, Jacobian, Outputs, Program, Real, StrategyKind};

use crate::error::Result;
use crate::measure::thread::guarded;
use crate::select;
use crate::verify::caps::{self, WORK_CAP};
use crate::verify::fd::{finite_differences, FdJacobian};
use crate::verify::metric::{relative_error, FD_TOLERANCE};

/// Agreement required between two strategies' derivatives (on top of the rounding allowance)
/// and between a strategy's value and the `f64` program's, in the metric
/// [`relative_error`].
pub const TOLERANCE: f64 = 1e-10;

/// Units in the last place per primal operation that two honest strategies may differ by,
/// relative to the path bound B (see the module documentation, "The tolerance").
pub const ROUNDING_ULPS_PER_OPERATION: f64 = 4.0;

/// The most inputs a random program has (a [`Tracked`] keeps one entry per input).
pub const MAX_INPUTS: usize = 4;

/// How many operations a program draws (the helpers near domain edges come on top).
const OPERATIONS: RangeInclusive<usize> = 5..=40;

/// How many outputs a program has besides its last value.
const EXTRA_OUTPUTS: RangeInclusive<usize> = 0..=2;

/// Below this magnitude `tan` is applied directly, beyond it to `sin a`.
const TAN_LIMIT: f64 = 1.5;

/// Below this value `exp` is applied to `a`, from it on to `-a`.
const EXP_LIMIT: f64 = 4.0;

/// Magnitudes of the tiny constants, coordinates and near-edge values: 10^-12 .. 10^-3.
const TINY_EXPONENTS: RangeInclusive<i32> = 3..=12;

/// The largest path bound, at any vertex of its computation graph and in either direction, of
/// a testable program: far enough below `f64::MAX` that no tangent, cotangent or partial
/// product of any strategy overflows.
pub const RANGE_LIMIT: f64 = 1e300;

/// How much of the primal's rounding noise reaches a finite-difference estimate with step h, in
/// units of noise / h: (4 D(h/2) - D(h)) / 3 takes differences of values each off by at most
/// `noise`, so its error is at most (4 * 2 noise / h + noise / h) / 3 = 3 noise / h.
const FD_NOISE_FACTOR: f64 = 3.0;

/// Where f' and the operations' choices are probed around the point, in units of the finite
/// difference step h: the stencil's own offsets h and h/2, and two irrational fractions, so that
/// an oscillation that aliases with the stencil (its period dividing h/2) is still seen.
const PROBE_FRACTIONS: [f64; 4] = [1.0, 0.5, 0.618_033_988_749_894_8, FRAC_1_PI];

/// The simplest constants, simplest first: what shrinking replaces a constant with.
const SIMPLE_CONSTANTS: [f64; 6] = [0.0, 1.0, -1.0, 2.0, 0.5, -2.0];

/// The seed of program `index` in a run with seed `seed`.
pub fn program_seed(seed: u64, index: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(index as u64)
}

// ---------------------------------------------------------------------------------------------
// The programs
// ---------------------------------------------------------------------------------------------

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arith {
    const ALL: [Arith; 4] = [Arith::Add, Arith::Sub, Arith::Mul, Arith::Div];

    fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
        }
    }

    /// `a op b`, or with `assign` `{ let mut t = a; t op= b; t }`.
    fn combine<R, B>(self, assign: bool, a: R, b: B) -> R
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
enum Rhs {
    /// An earlier value.
    Value(usize),
    /// An `f64` on the right (`a + 2.0`): a unary node.
    Constant(f64),
    /// An inactive `R::constant(c)`: a binary node with one inactive operand.
    Lifted(f64),
}

/// A one-operand primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unary {
    Neg,
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
    Tanh,
    Abs,
    Relu,
    Square,
}

impl Unary {
    const ALL: [Unary; 11] = [
        Unary::Neg,
        Unary::Sin,
        Unary::Cos,
        Unary::Tan,
        Unary::Exp,
        Unary::Ln,
        Unary::Sqrt,
        Unary::Tanh,
        Unary::Abs,
        Unary::Relu,
        Unary::Square,
    ];

    fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Tan => "tan",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sqrt => "sqrt",
            Unary::Tanh => "tanh",
            Unary::Abs => "abs",
            Unary::Relu => "relu",
            Unary::Square => "square",
        }
    }

    /// Whether the primitive applies to `a` itself rather than to its guard's stand-in (always,
    /// for primitives without a guard).
    fn in_domain(self, a: f64) -> bool {
        match self {
            Unary::Tan => a.abs() < TAN_LIMIT,
            Unary::Exp => a < EXP_LIMIT,
            Unary::Ln | Unary::Sqrt => a > 0.0,
            _ => true,
        }
    }

    /// The primitive, behind its domain guard.
    fn apply<R: Real>(self, a: &R) -> R {
        let direct = self.in_domain(a.value());
        match self {
            Unary::Neg => -a.clone(),
            Unary::Sin => a.sin(),
            Unary::Cos => a.cos(),
            Unary::Tan if direct => a.tan(),
            Unary::Tan => a.sin().tan(),
            Unary::Exp if direct => a.exp(),
            Unary::Exp => (-a.clone()).exp(),
            Unary::Ln if direct => a.ln(),
            Unary::Ln => shifted(a).ln(),
            Unary::Sqrt if direct => a.sqrt(),
            Unary::Sqrt => shifted(a).sqrt(),
            Unary::Tanh => a.tanh(),
            Unary::Abs => a.abs(),
            Unary::Relu => a.relu(),
            Unary::Square => a.square(),
        }
    }

    /// Which side of its guard, or of its kink (`abs`, `relu`), `a` is on.
    fn branch(self, a: f64) -> u8 {
        match self {
            Unary::Abs if a > 0.0 => 0,
            Unary::Abs if a < 0.0 => 1,
            Unary::Abs => 2,
            Unary::Relu => u8::from(a > 0.0),
            _ => u8::from(self.in_domain(a)),
        }
    }

    /// The guarded primitive as pseudo-code.
    fn text(self, a: &str) -> String {
        match self {
            Unary::Neg => format!("-{a}"),
            Unary::Tan => {
                format!("if abs({a}) < {TAN_LIMIT:?} {{ tan({a}) }} else {{ tan(sin({a})) }}")
            }
            Unary::Exp => format!("if {a} < {EXP_LIMIT:?} {{ exp({a}) }} else {{ exp(-{a}) }}"),
            Unary::Ln | Unary::Sqrt => {
                let f = self.name();
                format!("if {a} > 0 {{ {f}({a}) }} else {{ {f}(abs({a}) + 1) }}")
            }
            _ => format!("{}({a})", self.name()),
        }
    }
}

/// `|a| + 1`, the in-domain stand-in for an argument that is not positive.
fn shifted<R: Real>(a: &R) -> R {
    a.abs() + 1.0
}

/// The exponent of `powf`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Exponent {
    /// An earlier value.
    Value(usize),
    /// An inactive `R::constant(c)`.
    Constant(f64),
}

/// One operation of a random program; operands are indices of earlier values.
#[derive(Clone, Debug, PartialEq)]
enum Operation {
    /// `lhs op rhs` (a zero active denominator becomes `rhs + 1`), or its `*Assign` form.
    Arith {
        op: Arith,
        assign: bool,
        lhs: usize,
        rhs: Rhs,
    },
    /// A one-operand primitive behind its domain guard.
    Unary { op: Unary, arg: usize },
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
    fn apply<R: Real>(&self, v: &[R]) -> R {
        match self {
            Operation::Arith {
                op,
                assign,
                lhs,
                rhs,
            } => arith(*op, *assign, v[*lhs].clone(), *rhs, v),
            Operation::Unary { op, arg } => op.apply(&v[*arg]),
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
    fn branch(&self, v: &[f64]) -> u8 {
        match *self {
            Operation::Arith {
                op: Arith::Div,
                rhs: Rhs::Value(b),
                ..
            } => u8::from(v[b] == 0.0),
            Operation::Unary { op, arg } => op.branch(v[arg]),
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
    fn operands(&self) -> Vec<usize> {
        let mut operands = self.clone();
        operands.operands_mut().into_iter().map(|o| *o).collect()
    }

    /// The indices of the values it reads, to rewrite them.
    fn operands_mut(&mut self) -> Vec<&mut usize> {
        match self {
            Operation::Arith { lhs, rhs, .. } => match rhs {
                Rhs::Value(b) => vec![lhs, b],
                Rhs::Constant(_) | Rhs::Lifted(_) => vec![lhs],
            },
            Operation::Unary { arg, .. } => vec![arg],
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
    fn constants_mut(&mut self) -> Vec<(&mut f64, bool)> {
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
    fn text(&self, own: &str, name: impl Fn(usize) -> String) -> String {
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
fn arith<R: Real>(op: Arith, assign: bool, a: R, rhs: Rhs, v: &[R]) -> R {
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
fn powi_base_in_range(a: f64, n: i32) -> bool {
    a.abs() <= 2.0 && (n >= 0 || a.abs() >= 0.5)
}

fn powi<R: Real>(a: &R, n: i32) -> R {
    if powi_base_in_range(a.value(), n) {
        a.powi(n)
    } else {
        (a.sin() + 2.0).powi(n)
    }
}

/// Whether `powf` takes any base with this exponent: an integral constant.
fn keeps_any_base(exponent: Exponent) -> bool {
    matches!(exponent, Exponent::Constant(c) if c.fract() == 0.0)
}

/// Whether `powf` applies to `a` itself rather than to `|a| + 1`.
fn powf_base_in_domain(a: f64, exponent: Exponent) -> bool {
    keeps_any_base(exponent) || a > 0.0
}

fn powf<R: Real>(a: &R, exponent: Exponent, v: &[R]) -> R {
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
    point: Vec<f64>,
    /// Operation k computes value `point.len() + k` from earlier values.
    operations: Vec<Operation>,
    /// The value of each output.
    outputs: Vec<usize>,
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
    fn recorded(&self, x: &[f64]) -> (Outputs<Tracked>, Graph) {
        let outputs = self.tracked(x);
        (outputs, Graph::take())
    }

    /// The choice every operation makes at `x` (see [`Operation::branch`]).
    fn branches(&self, x: &[f64]) -> Vec<u8> {
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
    fn ancestors(&self) -> Vec<Vec<bool>> {
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
    fn values<R: Real>(&self, x: &[R]) -> Vec<R> {
        let mut values = x.to_vec();
        for operation in &self.operations {
            let value = operation.apply(&values);
            values.push(value);
        }
        values
    }

    /// The outputs on [`Tracked`] scalars at `x`, recording a new graph on this thread.
    fn tracked(&self, x: &[f64]) -> Outputs<Tracked> {
        Graph::start();
        let inputs: Vec<Tracked> = x
            .iter()
            .enumerate()
            .map(|(i, &x)| Tracked::input(x, i))
            .collect();
        self.eval(&inputs)
    }

    /// The name of value `index`: `x2` for an input, `v5` for an operation's result.
    fn name(&self, index: usize) -> String {
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

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// A testable program drawn from a seed, and how many untestable ones were drawn before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The program.
    pub program: RandomProgram,
    /// Programs drawn from the same stream before it and discarded as untestable.
    pub discarded: usize,
}

/// The program of `seed`: drawn with ChaCha8 seeded by `seed`, again from the same stream
/// until it is testable (see the module documentation).
pub fn generate(seed: u64) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut discarded = 0;
    loop {
        let program = Generator::draw(&mut rng);
        if program.is_testable() {
            return Generated { program, discarded };
        }
        discarded += 1;
    }
}

/// Draws one program, keeping the primal value of everything drawn so far (so that it can
/// place values next to domain edges).
struct Generator<'a> {
    rng: &'a mut ChaCha8Rng,
    values: Vec<f64>,
    operations: Vec<Operation>,
}

impl<'a> Generator<'a> {
    fn draw(rng: &'a mut ChaCha8Rng) -> RandomProgram {
        let inputs = rng.random_range(1..=MAX_INPUTS);
        let mut generator = Generator {
            rng,
            values: Vec::new(),
            operations: Vec::new(),
        };
        for _ in 0..inputs {
            let x = generator.coordinate();
            generator.values.push(x);
        }
        let point = generator.values.clone();
        for _ in 0..generator.rng.random_range(OPERATIONS) {
            let operation = generator.operation();
            generator.push(operation);
        }
        let last = generator.values.len() - 1;
        let mut outputs = vec![last];
        for _ in 0..generator.rng.random_range(EXTRA_OUTPUTS) {
            outputs.push(generator.rng.random_range(0..=last));
        }
        RandomProgram {
            point,
            operations: generator.operations,
            outputs,
        }
    }

    /// Appends `operation` and returns the index of its value.
    fn push(&mut self, operation: Operation) -> usize {
        let value = operation.apply(&self.values);
        self.values.push(value);
        self.operations.push(operation);
        self.values.len() - 1
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn index(&mut self, range: Range<usize>) -> usize {
        self.rng.random_range(range)
    }

    /// An earlier value: one of the last three half of the time, any otherwise.
    fn operand(&mut self) -> usize {
        let available = self.values.len();
        if self.chance(0.5) {
            available - 1 - self.index(0..available.min(3))
        } else {
            self.index(0..available)
        }
    }

    /// `a` itself a quarter of the time (an exact tie in a comparison), else any operand.
    fn tie_or_operand(&mut self, a: usize) -> usize {
        if self.chance(0.25) {
            a
        } else {
            self.operand()
        }
    }

    /// A number in [-2, 2] with three decimals.
    fn ordinary(&mut self) -> f64 {
        f64::from(self.rng.random_range(-2000..=2000_i32)) / 1000.0
    }

    /// A positive number in 1e-12 ..= 9e-3, written with one digit (`7e-5`).
    fn tiny(&mut self) -> f64 {
        let digit: u32 = self.rng.random_range(1..=9);
        let exponent = self.rng.random_range(TINY_EXPONENTS);
        format!("{digit}e-{exponent}")
            .parse()
            .expect("a valid number")
    }

    fn signed(&mut self, x: f64) -> f64 {
        if self.chance(0.5) {
            -x
        } else {
            x
        }
    }

    /// A coordinate: ordinary, integral, tiny, or equal to an earlier one.
    fn coordinate(&mut self) -> f64 {
        match self.rng.random_range(0..20) {
            0..=11 => self.ordinary(),
            12..=14 => f64::from(self.rng.random_range(-2..=2_i32)),
            15..=16 => {
                let tiny = self.tiny();
                self.signed(tiny)
            }
            _ if !self.values.is_empty() => {
                let i = self.index(0..self.values.len());
                self.values[i]
            }
            _ => self.ordinary(),
        }
    }

    /// A constant: ordinary, integral, tiny, or one of the simplest.
    fn constant(&mut self) -> f64 {
        match self.rng.random_range(0..20) {
            0..=9 => self.ordinary(),
            10..=13 => f64::from(self.rng.random_range(-3..=3_i32)),
            14..=16 => {
                let tiny = self.tiny();
                self.signed(tiny)
            }
            _ => self.pick(&SIMPLE_CONSTANTS),
        }
    }

    fn nonzero_constant(&mut self) -> f64 {
        loop {
            let c = self.constant();
            if c != 0.0 {
                return c;
            }
        }
    }

    /// A `powi` exponent: small, up to 16 in magnitude, or large.
    fn exponent(&mut self) -> i32 {
        match self.rng.random_range(0..10) {
            0..=5 => self.rng.random_range(-4..=5),
            6..=8 => {
                let n = self.rng.random_range(6..=16);
                if self.chance(0.5) {
                    -n
                } else {
                    n
                }
            }
            _ => self.pick(&[25, -25, 31, -31, 64, -64]),
        }
    }

    /// With probability `p`, a new value `a - c` at 1e-12 .. 1e-3 in magnitude (positive, or
    /// of either sign), else `a`.
    fn near_edge(&mut self, a: usize, p: f64, positive: bool) -> usize {
        if !self.chance(p) {
            return a;
        }
        let tiny = self.tiny();
        let target = if positive { tiny } else { self.signed(tiny) };
        let c = self.values[a] - target;
        self.push(Operation::Arith {
            op: Arith::Sub,
            assign: false,
            lhs: a,
            rhs: Rhs::Constant(c),
        })
    }

    fn operation(&mut self) -> Operation {
        match self.rng.random_range(0..20) {
            0..=6 => self.arith(),
            7..=11 => self.unary(),
            12 => {
                let base = self.operand();
                let exponent = self.exponent();
                Operation::Powi { base, exponent }
            }
            13 => self.powf(),
            14 => {
                let a = self.operand();
                Operation::Max(a, self.tie_or_operand(a))
            }
            15 => {
                let a = self.operand();
                Operation::Min(a, self.tie_or_operand(a))
            }
            16 => Operation::Sum(self.operands()),
            17 => Operation::Product(self.operands()),
            18 => {
                let left = self.operand();
                Operation::Select {
                    left,
                    right: self.tie_or_operand(left),
                    then: self.operand(),
                    otherwise: self.operand(),
                }
            }
            _ => Operation::Constant(self.constant()),
        }
    }

    fn operands(&mut self) -> Vec<usize> {
        let count = self.rng.random_range(2..=4);
        (0..count).map(|_| self.operand()).collect()
    }

    fn arith(&mut self) -> Operation {
        let op = self.pick(&Arith::ALL);
        let assign = self.chance(0.3);
        let lhs = self.operand();
        let divides = op == Arith::Div;
        let constant = |g: &mut Self| {
            if divides {
                g.nonzero_constant()
            } else {
                g.constant()
            }
        };
        let rhs = match self.rng.random_range(0..10) {
            0..=4 => {
                let b = self.operand();
                Rhs::Value(if divides {
                    self.near_edge(b, 1.0 / 3.0, false)
                } else {
                    b
                })
            }
            5..=7 => Rhs::Constant(constant(self)),
            _ => Rhs::Lifted(constant(self)),
        };
        Operation::Arith {
            op,
            assign,
            lhs,
            rhs,
        }
    }

    fn unary(&mut self) -> Operation {
        let op = self.pick(&Unary::ALL);
        let arg = self.operand();
        let arg = match op {
            Unary::Ln | Unary::Sqrt => self.near_edge(arg, 0.25, true),
            _ => arg,
        };
        Operation::Unary { op, arg }
    }

    fn powf(&mut self) -> Operation {
        let base = self.operand();
        let base = self.near_edge(base, 0.25, true);
        let exponent = if self.chance(0.5) {
            Exponent::Value(self.operand())
        } else if self.chance(0.5) {
            Exponent::Constant(f64::from(self.rng.random_range(-4..=4_i32)))
        } else {
            Exponent::Constant(self.ordinary())
        };
        Operation::Powf { base, exponent }
    }
}

// ---------------------------------------------------------------------------------------------
// The checker's interpreter: tangents, path bounds, rounding noise, the computation graph
// ---------------------------------------------------------------------------------------------

/// The scalar of the checker's own interpreter: a primal value with, per input, its tangent
/// (the forward-mode derivative, used only to judge finite differences), its path bound B (the
/// sum over all paths from that input of |product of the partials along the path|), and a
/// first-order bound on the rounding error of the value. Partials come from
/// `strategies::real::partials`, with their zero-tangent rule, as in every strategy.
#[derive(Clone, Copy, Debug)]
pub struct Tracked {
    value: f64,
    tangent: [f64; MAX_INPUTS],
    reach: [f64; MAX_INPUTS],
    noise: f64,
    /// Its vertex in the [`Graph`] being recorded, if it depends on an input.
    vertex: Option<usize>,
}

impl Tracked {
    fn inactive(value: f64) -> Self {
        Self {
            value,
            tangent: [0.0; MAX_INPUTS],
            reach: [0.0; MAX_INPUTS],
            noise: 0.0,
            vertex: None,
        }
    }

    fn input(value: f64, i: usize) -> Self {
        let mut x = Self::inactive(value);
        x.tangent[i] = 1.0;
        x.reach[i] = 1.0;
        x.vertex = Some(Graph::add(1.0, Vec::new()));
        x
    }

    /// The result of an operation with `value` and, per operand, its partial.
    fn node(value: f64, edges: &[(&Tracked, f64)]) -> Self {
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

    fn unary(&self, value: f64, d: f64) -> Self {
        Self::node(value, &[(self, d)])
    }

    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        Self::node(value, &[(self, dx), (other, dy)])
    }

    fn plus(&self, other: &Self) -> Self {
        let (dx, dy) = partials::add();
        self.binary(other, self.value + other.value, dx, dy)
    }

    fn minus(&self, other: &Self) -> Self {
        let (dx, dy) = partials::sub();
        self.binary(other, self.value - other.value, dx, dy)
    }

    fn times(&self, other: &Self) -> Self {
        let (dx, dy) = partials::mul(self.value, other.value);
        self.binary(other, self.value * other.value, dx, dy)
    }

    fn over(&self, other: &Self) -> Self {
        let q = self.value / other.value;
        let (dx, dy) = partials::div(other.value, q);
        self.binary(other, q, dx, dy)
    }

    fn plus_constant(&self, c: f64) -> Self {
        self.unary(self.value + c, partials::add_constant())
    }

    fn minus_constant(&self, c: f64) -> Self {
        self.unary(self.value - c, partials::add_constant())
    }

    fn times_constant(&self, c: f64) -> Self {
        self.unary(self.value * c, partials::mul_constant(c))
    }

    fn over_constant(&self, c: f64) -> Self {
        self.unary(self.value / c, partials::div_constant(c))
    }
}

thread_local! {
    /// The graph the evaluation on [`Tracked`] scalars running on this thread records.
    static GRAPH: RefCell<Vec<Vertex>> = const { RefCell::new(Vec::new()) };
}

/// A node of a recorded [`Graph`]: its largest path bound from the inputs and its edges
/// (operand vertex, partial).
struct Vertex {
    from_inputs: f64,
    edges: Vec<(usize, f64)>,
}

/// The computation graph of one evaluation on [`Tracked`] scalars, as a strategy builds it: one
/// vertex per input and per primitive operation with an operand that depends on an input, in
/// evaluation order.
struct Graph(Vec<Vertex>);

impl Graph {
    /// Start recording a new graph on this thread.
    fn start() {
        GRAPH.with(|graph| graph.borrow_mut().clear());
    }

    /// Record a vertex; returns its index.
    fn add(from_inputs: f64, edges: Vec<(usize, f64)>) -> usize {
        GRAPH.with(|graph| {
            let mut graph = graph.borrow_mut();
            graph.push(Vertex { from_inputs, edges });
            graph.len() - 1
        })
    }

    /// The graph recorded on this thread since [`Graph::start`].
    fn take() -> Graph {
        Graph(GRAPH.with(|graph| std::mem::take(&mut *graph.borrow_mut())))
    }

    /// The largest path bound from the inputs at any vertex, and the largest to an output: a
    /// reverse sweep of absolute partials from each output, with reverse mode's rule that a
    /// zero cotangent contributes zero. NaN if any bound is.
    fn largest_path_bounds(&self, outputs: &[Tracked]) -> (f64, f64) {
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
fn larger_bound(a: f64, b: f64) -> f64 {
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
    fn sin(&self) -> Self {
        self.unary(self.value.sin(), partials::sin(self.value))
    }
    fn cos(&self) -> Self {
        self.unary(self.value.cos(), partials::cos(self.value))
    }
    fn tan(&self) -> Self {
        let t = self.value.tan();
        self.unary(t, partials::tan_from_result(t))
    }
    fn exp(&self) -> Self {
        let e = self.value.exp();
        self.unary(e, partials::exp_from_result(e))
    }
    fn ln(&self) -> Self {
        self.unary(self.value.ln(), partials::ln(self.value))
    }
    fn sqrt(&self) -> Self {
        let s = self.value.sqrt();
        self.unary(s, partials::sqrt_from_result(s))
    }
    fn tanh(&self) -> Self {
        let t = self.value.tanh();
        self.unary(t, partials::tanh_from_result(t))
    }
    fn powi(&self, n: i32) -> Self {
        self.unary(self.value.powi(n), partials::powi(self.value, n))
    }
    fn powf(&self, p: &Self) -> Self {
        let r = self.value.powf(p.value);
        let (dx, dp) = partials::powf(self.value, p.value, r);
        self.binary(p, r, dx, dp)
    }
    fn abs(&self) -> Self {
        self.unary(self.value.abs(), partials::abs(self.value))
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------------

/// A comparison that failed on one program, or a panic.
#[derive(Clone, Debug, PartialEq)]
pub enum Disagreement {
    /// Evaluating the program itself (on `f64`, counting its operations, its path bounds or
    /// finite differences) panicked.
    ProgramPanicked {
        /// The panic message.
        message: String,
    },
    /// A strategy panicked or returned a result of the wrong shape.
    StrategyFailed {
        /// The strategy.
        strategy: StrategyKind,
        /// What went wrong.
        message: String,
    },
    /// A strategy's value differs from the `f64` program's.
    Value {
        /// The strategy.
        strategy: StrategyKind,
        /// The output.
        output: usize,
        /// The strategy's value and the `f64` value.
        numbers: (f64, f64),
        /// Their error.
        error: f64,
    },
    /// Two strategies' derivatives differ beyond the tolerance and the rounding allowance.
    Derivatives {
        /// The two strategies, in selection order.
        strategies: (StrategyKind, StrategyKind),
        /// The output.
        output: usize,
        /// The input.
        input: usize,
        /// The two derivatives.
        numbers: (f64, f64),
        /// Their error.
        error: f64,
        /// The largest error allowed there.
        allowed: f64,
    },
    /// A derivative is larger than its path bound B allows, or not finite where B is.
    OverBound {
        /// The strategy.
        strategy: StrategyKind,
        /// The output.
        output: usize,
        /// The input.
        input: usize,
        /// The derivative and B.
        numbers: (f64, f64),
    },
    /// A strategy disagrees with a trusted finite-difference estimate.
    FiniteDifferences {
        /// The strategy.
        strategy: StrategyKind,
        /// The output.
        output: usize,
        /// The input.
        input: usize,
        /// The derivative and the estimate.
        numbers: (f64, f64),
        /// Their error.
        error: f64,
        /// The largest error allowed there.
        allowed: f64,
    },
}

impl Disagreement {
    /// Whether `other` is the same failure, possibly elsewhere in the Jacobian: the same
    /// comparison of the same strategy (or pair). Shrinking keeps a program only while this
    /// holds.
    pub fn same_kind(&self, other: &Disagreement) -> bool {
        use Disagreement as D;
        match (self, other) {
            (D::ProgramPanicked { .. }, D::ProgramPanicked { .. }) => true,
            (D::StrategyFailed { strategy: a, .. }, D::StrategyFailed { strategy: b, .. })
            | (D::Value { strategy: a, .. }, D::Value { strategy: b, .. })
            | (D::OverBound { strategy: a, .. }, D::OverBound { strategy: b, .. })
            | (
                D::FiniteDifferences { strategy: a, .. },
                D::FiniteDifferences { strategy: b, .. },
            ) => a == b,
            (D::Derivatives { strategies: a, .. }, D::Derivatives { strategies: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |output: &usize, input: &usize| format!("d y{output} / d x{input}");
        match self {
            Disagreement::ProgramPanicked { message } => {
                write!(f, "the program panicked: {message}")
            }
            Disagreement::StrategyFailed { strategy, message } => {
                write!(f, "{} {message}", strategy.name())
            }
            Disagreement::Value {
                strategy,
                output,
                numbers: (u, v),
                error,
            } => write!(
                f,
                "{} value y{output}: {u:e} vs f64 {v:e} (error {error:.1e} > {TOLERANCE:e})",
                strategy.name()
            ),
            Disagreement::Derivatives {
                strategies: (a, b),
                output,
                input,
                numbers: (u, v),
                error,
                allowed,
            } => write!(
                f,
                "{} vs {} at {}: {u:e} vs {v:e} (error {error:.1e} > allowed {allowed:.1e})",
                a.name(),
                b.name(),
                at(output, input)
            ),
            Disagreement::OverBound {
                strategy,
                output,
                input,
                numbers: (u, bound),
            } => write!(
                f,
                "{} at {}: {u:e} exceeds the sum over paths of |products of partials|, {bound:e}",
                strategy.name(),
                at(output, input)
            ),
            Disagreement::FiniteDifferences {
                strategy,
                output,
                input,
                numbers: (u, v),
                error,
                allowed,
            } => write!(
                f,
                "{} vs finite differences at {}: {u:e} vs {v:e} (error {error:.1e} > allowed {allowed:.1e})",
                strategy.name(),
                at(output, input)
            ),
        }
    }
}

/// What [`check`] found on one program.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every comparison passed.
    Agrees {
        /// Strategies whose predicted work exceeded [`WORK_CAP`].
        skipped: Vec<StrategyKind>,
        /// Jacobian entries, m n.
        entries: usize,
        /// Entries where finite differences were trusted and compared.
        fd_compared: usize,
    },
    /// The first comparison that failed.
    Disagrees(Disagreement),
}

/// What every strategy is compared against: the `f64` program, the interpreter's [`Tracked`]
/// outputs, the operation count and finite differences with the entries that can be trusted.
struct Reference {
    inputs: usize,
    values: Vec<f64>,
    tracked: Outputs<Tracked>,
    count: OpCount,
    fd: FdJacobian,
    fd_trusted: Vec<Vec<bool>>,
}

impl Reference {
    fn of(program: &RandomProgram) -> Reference {
        let x = program.point();
        let tracked = program.tracked(x);
        let fd = finite_differences(program, x);
        let fd_trusted = trusted_finite_differences(program, &tracked, &fd);
        Reference {
            inputs: x.len(),
            values: program.eval(x).to_vec(),
            tracked,
            count: count_ops(program, x),
            fd,
            fd_trusted,
        }
    }

    /// B for output j and input i.
    fn bound(&self, j: usize, i: usize) -> f64 {
        self.tracked[j].reach[i]
    }

    /// How far an honest strategy's entry (j, i) may be from another's, or from the exact
    /// derivative, because of rounding, in absolute terms (zero where B is not finite: such
    /// programs are not testable).
    fn rounding_allowance(&self, j: usize, i: usize) -> f64 {
        let bound = self.bound(j, i);
        if bound.is_finite() {
            ROUNDING_ULPS_PER_OPERATION * (self.count.ops as f64 + 1.0) * f64::EPSILON * bound
        } else {
            0.0
        }
    }

    /// The largest [`relative_error`] accepted between `u` and `v` at (j, i) when `tolerance`
    /// is the comparison's own: the tolerance plus the rounding allowance in the metric's
    /// scale.
    fn allowed_error(&self, tolerance: f64, j: usize, i: usize, u: f64, v: f64) -> f64 {
        tolerance + self.rounding_allowance(j, i) / (u.abs() + v.abs()).max(1.0)
    }
}

/// Which finite-difference estimates can be trusted: those `fd` flags reliable that are
/// finite, where every operation makes the same choice across the stencil, whose step is large
/// beside the primal's rounding noise, and where f' (the interpreter's tangent) is smooth at
/// the probes (see the module documentation).
fn trusted_finite_differences(
    program: &RandomProgram,
    at_point: &[Tracked],
    fd: &FdJacobian,
) -> Vec<Vec<bool>> {
    let x = program.point();
    let branches = program.branches(x);
    let ancestors = program.ancestors();
    let mut trusted = fd.reliable.clone();
    for (i, &xi) in x.iter().enumerate() {
        let h = f64::EPSILON.cbrt() * xi.abs().max(1.0);
        let moved = |s: f64| {
            let mut point = x.to_vec();
            point[i] = xi + s;
            (program.branches(&point), program.tracked(&point))
        };
        let probes: Vec<_> = PROBE_FRACTIONS
            .iter()
            .map(|fraction| (moved(fraction * h), moved(-fraction * h)))
            .collect();
        for (j, row) in trusted.iter_mut().enumerate() {
            let same_branches = probes.iter().all(|(plus, minus)| {
                same_choices(&plus.0, &branches, &ancestors[j])
                    && same_choices(&minus.0, &branches, &ancestors[j])
            });
            let slope = at_point[j].tangent[i];
            let scale = FD_TOLERANCE / 10.0 * slope.abs().max(1.0);
            let quiet = FD_NOISE_FACTOR * at_point[j].noise / h <= scale;
            let smooth = probes.iter().all(|(plus, minus)| {
                (plus.1[j].tangent[i] + minus.1[j].tangent[i] - 2.0 * slope).abs() <= scale
            });
            row[i] &= same_branches && fd.estimate[j][i].is_finite() && quiet && smooth;
        }
    }
    trusted
}

/// Whether the operations marked in `needed` make the same choices in `a` as in `b`.
fn same_choices(a: &[u8], b: &[u8], needed: &[bool]) -> bool {
    a.iter()
        .zip(b)
        .zip(needed)
        .all(|((a, b), &needed)| !needed || a == b)
}

/// Check `program` at its point under `strategies` (see the module documentation, "The
/// comparison"). Meaningful on testable programs; on others the rounding allowance is zero.
pub fn check(program: &RandomProgram, strategies: &[StrategyKind]) -> Verdict {
    let reference = match guarded(|| Reference::of(program)) {
        Ok(reference) => reference,
        Err(message) => return Verdict::Disagrees(Disagreement::ProgramPanicked { message }),
    };
    let (n, m) = (program.input_len(), program.output_len());
    let mut skipped = Vec::new();
    let mut jacobians = Vec::new();
    for &strategy in strategies {
        if caps::predicted_work(strategy, &reference.count, n, m).is_some_and(|w| w > WORK_CAP) {
            skipped.push(strategy);
            continue;
        }
        let evaluated = evaluate(program, strategy).and_then(|jacobian| {
            compare_values(strategy, &jacobian.value, &reference).map(|()| jacobian.rows)
        });
        match evaluated {
            Err(disagreement) => return Verdict::Disagrees(disagreement),
            Ok(Some(rows)) => jacobians.push((strategy, rows)),
            Ok(None) => {}
        }
    }
    let found = compare_with_bounds(&jacobians, &reference)
        .or_else(|| compare_pairs(&jacobians, &reference))
        .or_else(|| compare_with_finite_differences(&jacobians, &reference));
    match found {
        Some(disagreement) => Verdict::Disagrees(disagreement),
        None => Verdict::Agrees {
            skipped,
            entries: m * n,
            fd_compared: if jacobians.is_empty() {
                0
            } else {
                positions(&reference)
                    .filter(|&(j, i)| reference.fd_trusted[j][i])
                    .count()
            },
        },
    }
}

/// The Jacobian of `strategy` at the point, checked for its shape, or why it failed.
fn evaluate(
    program: &RandomProgram,
    strategy: StrategyKind,
) -> std::result::Result<Jacobian, Disagreement> {
    let (n, m) = (program.input_len(), program.output_len());
    let failed = |message: String| Disagreement::StrategyFailed { strategy, message };
    let jacobian = guarded(|| strategy.jacobian(program, program.point()))
        .map_err(|message| failed(format!("panicked: {message}")))?;
    if jacobian.value.len() != m {
        return Err(failed(format!(
            "returned {} values, expected {m}",
            jacobian.value.len()
        )));
    }
    match &jacobian.rows {
        Some(rows) if rows.len() != m || rows.iter().any(|r| r.len() != n) => Err(failed(format!(
            "returned a Jacobian of the wrong shape, expected {m} rows of {n}"
        ))),
        None if strategy.differentiates() => Err(failed("returned no derivative".to_string())),
        _ => Ok(jacobian),
    }
}

fn compare_values(
    strategy: StrategyKind,
    values: &[f64],
    reference: &Reference,
) -> std::result::Result<(), Disagreement> {
    for (output, (&u, &v)) in values.iter().zip(&reference.values).enumerate() {
        let error = relative_error(u, v);
        if error > TOLERANCE {
            return Err(Disagreement::Value {
                strategy,
                output,
                numbers: (u, v),
                error,
            });
        }
    }
    Ok(())
}

/// Every (output, input) position of the Jacobian.
fn positions(reference: &Reference) -> impl Iterator<Item = (usize, usize)> {
    let (m, n) = (reference.values.len(), reference.inputs);
    (0..m).flat_map(move |j| (0..n).map(move |i| (j, i)))
}

fn compare_with_bounds(
    jacobians: &[(StrategyKind, Vec<Vec<f64>>)],
    reference: &Reference,
) -> Option<Disagreement> {
    for (strategy, rows) in jacobians {
        for (j, i) in positions(reference) {
            let (u, bound) = (rows[j][i], reference.bound(j, i));
            let excess = (u.abs() - bound) / (u.abs() + bound).max(1.0);
            let within = excess <= reference.allowed_error(TOLERANCE, j, i, u, bound);
            if bound.is_finite() && !within {
                return Some(Disagreement::OverBound {
                    strategy: *strategy,
                    output: j,
                    input: i,
                    numbers: (u, bound),
                });
            }
        }
    }
    None
}

fn compare_pairs(
    jacobians: &[(StrategyKind, Vec<Vec<f64>>)],
    reference: &Reference,
) -> Option<Disagreement> {
    for (k, (first, a)) in jacobians.iter().enumerate() {
        for (second, b) in &jacobians[k + 1..] {
            for (j, i) in positions(reference) {
                let (u, v) = (a[j][i], b[j][i]);
                let error = relative_error(u, v);
                let allowed = reference.allowed_error(TOLERANCE, j, i, u, v);
                if error > allowed {
                    return Some(Disagreement::Derivatives {
                        strategies: (*first, *second),
                        output: j,
                        input: i,
                        numbers: (u, v),
                        error,
                        allowed,
                    });
                }
            }
        }
    }
    None
}

fn compare_with_finite_differences(
    jacobians: &[(StrategyKind, Vec<Vec<f64>>)],
    reference: &Reference,
) -> Option<Disagreement> {
    for (strategy, rows) in jacobians {
        for (j, i) in positions(reference).filter(|&(j, i)| reference.fd_trusted[j][i]) {
            let (u, v) = (rows[j][i], reference.fd.estimate[j][i]);
            let error = relative_error(u, v);
            let allowed = reference.allowed_error(FD_TOLERANCE, j, i, u, v);
            if error > allowed {
                return Some(Disagreement::FiniteDifferences {
                    strategy: *strategy,
                    output: j,
                    input: i,
                    numbers: (u, v),
                    error,
                    allowed,
                });
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Shrinking
// ---------------------------------------------------------------------------------------------

/// The smallest program reachable from `program` by the steps of the module documentation
/// ("Shrinking") along which `still_fails` stays true: the first smaller candidate that still
/// fails replaces the program, until none does. `still_fails(program)` is assumed.
pub fn shrink(
    program: &RandomProgram,
    mut still_fails: impl FnMut(&RandomProgram) -> bool,
) -> RandomProgram {
    let mut current = program.clone();
    while let Some(smaller) = smaller_programs(&current)
        .into_iter()
        .find(|candidate| still_fails(candidate))
    {
        current = smaller;
    }
    current
}

/// Every program one shrinking step away, the largest reductions first.
fn smaller_programs(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut candidates = without_each_output(p);
    candidates.extend(without_each_operation(p));
    candidates.extend(without_each_input(p));
    candidates.extend(without_each_term(p));
    candidates.extend(with_simpler_exponents(p));
    candidates.extend(with_simpler_constants(p));
    candidates
}

fn without_each_output(p: &RandomProgram) -> Vec<RandomProgram> {
    if p.outputs.len() < 2 {
        return Vec::new();
    }
    (0..p.outputs.len())
        .map(|j| {
            let mut q = p.clone();
            q.outputs.remove(j);
            q
        })
        .collect()
}

/// `p` with every value index rewritten by `map`.
fn remapped(p: &RandomProgram, map: impl Fn(usize) -> usize) -> RandomProgram {
    let mut q = p.clone();
    for operation in &mut q.operations {
        for operand in operation.operands_mut() {
            *operand = map(*operand);
        }
    }
    for output in &mut q.outputs {
        *output = map(*output);
    }
    q
}

fn without_each_operation(p: &RandomProgram) -> Vec<RandomProgram> {
    let n = p.point.len();
    let mut candidates = Vec::new();
    for k in (0..p.operations.len()).rev() {
        let removed = n + k;
        let mut replacements = p.operations[k].operands();
        replacements.push(0);
        replacements.sort_unstable();
        replacements.dedup();
        for replacement in replacements {
            let mut q = remapped(p, |v| match v {
                v if v == removed => replacement,
                v if v > removed => v - 1,
                v => v,
            });
            q.operations.remove(k);
            candidates.push(q);
        }
    }
    candidates
}

fn without_each_input(p: &RandomProgram) -> Vec<RandomProgram> {
    let n = p.point.len();
    if n < 2 {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let replacement = if i == 0 { 1 } else { 0 };
            let mut q = remapped(p, |v| {
                let v = if v == i { replacement } else { v };
                if v > i {
                    v - 1
                } else {
                    v
                }
            });
            q.point.remove(i);
            q
        })
        .collect()
}

fn without_each_term(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut candidates = Vec::new();
    for (k, operation) in p.operations.iter().enumerate() {
        if let Operation::Sum(terms) | Operation::Product(terms) = operation {
            for t in 0..terms.len() {
                let mut q = p.clone();
                if let Operation::Sum(terms) | Operation::Product(terms) = &mut q.operations[k] {
                    terms.remove(t);
                }
                candidates.push(q);
            }
        }
    }
    candidates
}

/// How complex an exponent is: its magnitude, negative ones a little more.
fn exponent_complexity(n: i32) -> u64 {
    2 * u64::from(n.unsigned_abs()) + u64::from(n < 0)
}

fn with_simpler_exponents(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut candidates = Vec::new();
    for (k, operation) in p.operations.iter().enumerate() {
        if let Operation::Powi { exponent, .. } = *operation {
            for simpler in [0, 1, -1, 2, -2, exponent / 2] {
                if exponent_complexity(simpler) < exponent_complexity(exponent) {
                    let mut q = p.clone();
                    if let Operation::Powi { exponent, .. } = &mut q.operations[k] {
                        *exponent = simpler;
                    }
                    candidates.push(q);
                }
            }
        }
    }
    candidates
}

/// How complex a constant is: its position among [`SIMPLE_CONSTANTS`], else longer than all
/// of them by the length of its shortest decimal form.
fn constant_complexity(c: f64) -> usize {
    SIMPLE_CONSTANTS
        .iter()
        .position(|&s| s == c)
        .unwrap_or_else(|| SIMPLE_CONSTANTS.len() + format!("{c:?}").len())
}

/// Simpler replacements for `c`: the simplest constants, its rounding to an integer and to one
/// significant digit, each only if simpler than `c`.
fn simpler_constants(c: f64) -> Vec<f64> {
    let one_digit = format!("{c:.0e}").parse().unwrap_or(c);
    SIMPLE_CONSTANTS
        .into_iter()
        .chain([c.round(), one_digit])
        .filter(|&s| constant_complexity(s) < constant_complexity(c))
        .collect()
}

/// Every real constant of `p` (coordinates first), each with whether it must stay nonzero.
fn constants_mut(p: &mut RandomProgram) -> Vec<(&mut f64, bool)> {
    let mut constants: Vec<(&mut f64, bool)> = p.point.iter_mut().map(|x| (x, false)).collect();
    for operation in &mut p.operations {
        constants.extend(operation.constants_mut());
    }
    constants
}

fn with_simpler_constants(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut probe = p.clone();
    let current: Vec<(f64, bool)> = constants_mut(&mut probe)
        .into_iter()
        .map(|(c, nonzero)| (*c, nonzero))
        .collect();
    let mut candidates = Vec::new();
    for (slot, &(c, nonzero)) in current.iter().enumerate() {
        for simpler in simpler_constants(c) {
            if nonzero && simpler == 0.0 {
                continue;
            }
            let mut q = p.clone();
            *constants_mut(&mut q)[slot].0 = simpler;
            candidates.push(q);
        }
    }
    candidates
}

// ---------------------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------------------

/// A validated `verify --random` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomCheck {
    /// How many programs.
    pub programs: usize,
    /// The run's seed: program k has seed [`program_seed`]`(seed, k)`.
    pub seed: u64,
    /// The strategies to compare.
    pub strategies: Vec<StrategyKind>,
}

/// A program that disagreed, shrunk.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// Its index k in the run.
    pub index: usize,
    /// Its seed, [`program_seed`]`(seed, k)`.
    pub program_seed: u64,
    /// How many operations it had before shrinking.
    pub original_operations: usize,
    /// The smallest program that still disagrees the same way.
    pub shrunk: RandomProgram,
    /// The disagreement on the shrunk program.
    pub disagreement: Disagreement,
}

/// Everything a `verify --random` run found.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomReport {
    /// The run's seed.
    pub seed: u64,
    /// How many programs were checked.
    pub programs: usize,
    /// Untestable programs drawn and discarded on the way (see [`generate`]).
    pub discarded: usize,
    /// Per strategy skipped at least once, on how many programs (over [`WORK_CAP`]).
    pub skipped: Vec<(StrategyKind, usize)>,
    /// Jacobian entries of the programs that agreed.
    pub entries: usize,
    /// Of those, the entries where finite differences were trusted and compared.
    pub fd_compared: usize,
    /// The programs that disagreed, in order.
    pub failures: Vec<Failure>,
}

impl RandomCheck {
    /// A request for `programs` programs of run seed `seed` under the strategies named in
    /// `strategies` (empty: all).
    pub fn new(programs: usize, seed: u64, strategies: &[String]) -> Result<RandomCheck> {
        Ok(RandomCheck {
            programs,
            seed,
            strategies: select::strategies(strategies)?,
        })
    }

    /// Check every program, calling `on_program` after each with its failure, if any.
    pub fn run(&self, mut on_program: impl FnMut(Option<&Failure>)) -> RandomReport {
        let mut report = RandomReport {
            seed: self.seed,
            programs: self.programs,
            discarded: 0,
            skipped: Vec::new(),
            entries: 0,
            fd_compared: 0,
            failures: Vec::new(),
        };
        for index in 0..self.programs {
            let seed = program_seed(self.seed, index);
            let generated = generate(seed);
            report.discarded += generated.discarded;
            match check(&generated.program, &self.strategies) {
                Verdict::Agrees {
                    skipped,
                    entries,
                    fd_compared,
                } => {
                    report.count_skipped(&skipped);
                    report.entries += entries;
                    report.fd_compared += fd_compared;
                    on_program(None);
                }
                Verdict::Disagrees(disagreement) => {
                    let failure = self.failure(index, seed, &generated.program, disagreement);
                    on_program(Some(&failure));
                    report.failures.push(failure);
                }
            }
        }
        report
    }

    /// The failure of program `index`, shrunk while it disagrees the same way.
    fn failure(
        &self,
        index: usize,
        seed: u64,
        program: &RandomProgram,
        disagreement: Disagreement,
    ) -> Failure {
        let mut latest = disagreement.clone();
        let shrunk = shrink(program, |candidate| {
            if !candidate.is_testable() {
                return false;
            }
            match check(candidate, &self.strategies) {
                Verdict::Disagrees(found) if found.same_kind(&disagreement) => {
                    latest = found;
                    true
                }
                _ => false,
            }
        });
        Failure {
            index,
            program_seed: seed,
            original_operations: program.operation_count(),
            shrunk,
            disagreement: latest,
        }
    }
}

impl RandomReport {
    /// Whether no program disagreed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn count_skipped(&mut self, skipped: &[StrategyKind]) {
        for &strategy in skipped {
            match self.skipped.iter_mut().find(|(s, _)| *s == strategy) {
                Some((_, count)) => *count += 1,
                None => self.skipped.push((strategy, 1)),
            }
        }
    }

    /// The failures (each with its seed, the disagreement and the shrunk program), what was
    /// skipped or discarded, and the summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for failure in &self.failures {
            out.push_str(&self.render_failure(failure));
            out.push('\n');
        }
        for (strategy, count) in &self.skipped {
            out.push_str(&format!(
                "note: {} skipped on {count} programs (predicted work over {WORK_CAP:e})\n",
                strategy.name()
            ));
        }
        out.push_str(&format!(
            "note: finite differences trusted and compared at {} of {} Jacobian entries\n",
            self.fd_compared, self.entries
        ));
        if self.discarded > 0 {
            out.push_str(&format!(
                "note: {} untestable programs (non-finite output or path bound over {RANGE_LIMIT:e}) drawn again\n",
                self.discarded
            ));
        }
        let plural = if self.failures.len() == 1 { "" } else { "s" };
        out.push_str(&format!(
            "random: {} programs (seed {}), {} disagreement{plural}\n",
            self.programs,
            self.seed,
            self.failures.len()
        ));
        out
    }

    fn render_failure(&self, failure: &Failure) -> String {
        let program: String = failure
            .shrunk
            .to_string()
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect();
        format!(
            "FAIL program {} (program seed {}; reproduce with `dualbench verify --random {} --seed {}`): {}\n  \
             shrunk from {} to {} operations:\n{program}",
            failure.index,
            failure.program_seed,
            failure.index + 1,
            self.seed,
            failure.disagreement,
            failure.original_operations,
            failure.shrunk.operation_count(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program from its parts, checking that every operand refers to an earlier value.
    fn program(point: &[f64], operations: Vec<Operation>, outputs: &[usize]) -> RandomProgram {
        let p = RandomProgram {
            point: point.to_vec(),
            operations,
            outputs: outputs.to_vec(),
        };
        assert!(well_formed(&p), "{p:?}");
        p
    }

    fn well_formed(p: &RandomProgram) -> bool {
        let n = p.point.len();
        let values = n + p.operations.len();
        (1..=MAX_INPUTS).contains(&n)
            && !p.outputs.is_empty()
            && p.outputs.iter().all(|&o| o < values)
            && p.operations
                .iter()
                .enumerate()
                .all(|(k, op)| op.operands().iter().all(|&v| v < n + k))
    }

    /// Which primitive (and form) an operation exercises.
    fn label(operation: &Operation) -> String {
        match operation {
            Operation::Arith {
                op, assign, rhs, ..
            } => {
                let form = match rhs {
                    Rhs::Value(_) => "active",
                    Rhs::Constant(_) => "f64",
                    Rhs::Lifted(_) => "lifted",
                };
                format!("{op:?} {form}{}", if *assign { " assign" } else { "" })
            }
            Operation::Unary { op, .. } => op.name().to_string(),
            Operation::Powi { exponent, .. } if *exponent < 0 => "powi negative".to_string(),
            Operation::Powi { exponent, .. } if *exponent > 16 => "powi large".to_string(),
            Operation::Powi { .. } => "powi".to_string(),
            Operation::Powf {
                exponent: Exponent::Value(_),
                ..
            } => "powf active".to_string(),
            Operation::Powf { .. } => "powf constant".to_string(),
            Operation::Max(a, b) | Operation::Min(a, b) if a == b => "tie".to_string(),
            Operation::Max(..) => "max".to_string(),
            Operation::Min(..) => "min".to_string(),
            Operation::Sum(_) => "sum".to_string(),
            Operation::Product(_) => "product".to_string(),
            Operation::Constant(_) => "constant".to_string(),
            Operation::Select { .. } => "select".to_string(),
        }
    }

    /// One operation of every kind, over inputs x0 = 0.5 and x1 = 2 (values 0 and 1).
    fn every_operation() -> Vec<Operation> {
        let mut operations = Vec::new();
        for op in Arith::ALL {
            for assign in [false, true] {
                for rhs in [Rhs::Value(1), Rhs::Constant(2.0), Rhs::Lifted(3.0)] {
                    operations.push(Operation::Arith {
                        op,
                        assign,
                        lhs: 0,
                        rhs,
                    });
                }
            }
        }
        operations.extend(Unary::ALL.map(|op| Operation::Unary { op, arg: 0 }));
        operations.extend([
            Operation::Powi {
                base: 0,
                exponent: -31,
            },
            Operation::Powf {
                base: 0,
                exponent: Exponent::Value(1),
            },
            Operation::Powf {
                base: 0,
                exponent: Exponent::Constant(0.5),
            },
            Operation::Max(0, 1),
            Operation::Min(0, 0),
            Operation::Sum(vec![0, 1, 0]),
            Operation::Product(vec![1, 0]),
            Operation::Constant(1e-12),
            Operation::Select {
                left: 0,
                right: 1,
                then: 0,
                otherwise: 1,
            },
        ]);
        operations
    }

    fn contains_active_division(p: &RandomProgram) -> bool {
        p.operations.iter().any(|op| {
            matches!(
                op,
                Operation::Arith {
                    op: Arith::Div,
                    rhs: Rhs::Value(_),
                    ..
                }
            )
        })
    }

    #[test]
    fn the_generator_is_deterministic_per_seed() {
        assert_eq!(generate(42), generate(42));
        assert_ne!(generate(42).program, generate(43).program);
        assert_eq!(program_seed(0, 5), 5);
        assert_eq!(program_seed(2, 5), 2_000_011);
    }

    #[test]
    fn generated_programs_have_the_documented_shape_and_are_testable() {
        for seed in 0..300 {
            let p = generate(seed).program;
            assert!(well_formed(&p), "seed {seed}");
            assert!((1..=3).contains(&p.outputs.len()), "seed {seed}");
            assert!(p.operations.len() >= *OPERATIONS.start(), "seed {seed}");
            assert!(p.is_testable(), "seed {seed}");
        }
    }

    #[test]
    fn generated_programs_exercise_every_primitive_and_form() {
        let mut seen: Vec<String> = (0..400)
            .flat_map(|seed| generate(seed).program.operations)
            .map(|op| label(&op))
            .collect();
        seen.sort();
        seen.dedup();
        let mut expected: Vec<String> = every_operation().iter().map(label).collect();
        expected.extend(["powi", "powi large", "tie", "min"].map(String::from));
        expected.sort();
        expected.dedup();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_printer_writes_every_operation_as_one_line_naming_its_primitive() {
        let operations = every_operation();
        let p = program(&[0.5, 2.0], operations.clone(), &[2, 30]);
        let text = p.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), operations.len() + 2, "{text}");
        assert_eq!(lines[0], "input x0 = 0.5, x1 = 2.0");
        assert_eq!(lines[1], "v0 = x0 + x1");
        assert_eq!(lines[10], "v9 = x0; v9 -= x1");
        assert_eq!(lines.last(), Some(&"output y0 = v0, y1 = v28"));
        let tokens = [
            "x0 + x1",
            "x0 + 2.0",
            "x0 + constant(3.0)",
            "v3 += x1",
            "v4 += 2.0",
            "v5 += constant(3.0)",
            "x0 - x1",
            "x0 - 2.0",
            "x0 - constant(3.0)",
            "v9 -= x1",
            "v10 -= 2.0",
            "v11 -= constant(3.0)",
            "x0 * x1",
            "x0 * 2.0",
            "x0 * constant(3.0)",
            "v15 *= x1",
            "v16 *= 2.0",
            "v17 *= constant(3.0)",
            "x0 / (if x1 != 0",
            "x0 / 2.0",
            "x0 / constant(3.0)",
            "v21 /= (if x1 != 0",
            "v22 /= 2.0",
            "v23 /= constant(3.0)",
            "-x0",
            "sin(x0)",
            "cos(x0)",
            "tan(sin(x0))",
            "exp(-x0)",
            "ln(abs(x0) + 1)",
            "sqrt(abs(x0) + 1)",
            "tanh(x0)",
            "abs(x0)",
            "relu(x0)",
            "square(x0)",
            "powi(x0, -31)",
            "powf(x0, x1)",
            "powf(x0, constant(0.5))",
            "max(x0, x1)",
            "min(x0, x0)",
            "sum(x0, x1, x0)",
            "product(x1, x0)",
            "constant(1e-12)",
            "if x0 > x1 { x0 } else { x1 }",
        ];
        assert_eq!(tokens.len(), operations.len());
        for (k, token) in tokens.iter().enumerate() {
            assert!(
                lines[k + 1].starts_with(&format!("v{k} = ")),
                "{}",
                lines[k + 1]
            );
            assert!(
                lines[k + 1].contains(token),
                "{} lacks {token}",
                lines[k + 1]
            );
        }
    }

    #[test]
    fn every_operation_agrees_across_strategies() {
        let operations = every_operation();
        let values: Vec<usize> = (0..2 + operations.len()).collect();
        let p = program(&[0.5, 2.0], operations, &values);
        assert!(p.is_testable());
        assert!(matches!(
            check(&p, StrategyKind::ALL),
            Verdict::Agrees { .. }
        ));
    }

    #[test]
    fn shrinking_a_program_with_a_division_leaves_one_division_of_one_input() {
        let original = (0..)
            .map(|seed| generate(seed).program)
            .find(|p| contains_active_division(p) && p.operations.len() > 10 && p.point.len() > 1)
            .expect("a generated program with a division");
        let shrunk = shrink(&original, contains_active_division);
        assert!(well_formed(&shrunk));
        assert_eq!(shrunk.point, [0.0]);
        assert_eq!(shrunk.outputs.len(), 1);
        assert!(
            matches!(
                shrunk.operations[..],
                [Operation::Arith {
                    op: Arith::Div,
                    lhs: 0,
                    rhs: Rhs::Value(0),
                    ..
                }]
            ),
            "{shrunk}"
        );
    }

    #[test]
    fn shrinking_simplifies_constants_and_exponents_it_does_not_need() {
        let original = program(
            &[0.731, -1.25],
            vec![
                Operation::Powi {
                    base: 0,
                    exponent: -25,
                },
                Operation::Arith {
                    op: Arith::Mul,
                    assign: true,
                    lhs: 2,
                    rhs: Rhs::Constant(3.7e-9),
                },
            ],
            &[3, 1],
        );
        let has_powi = |p: &RandomProgram| {
            p.operations
                .iter()
                .any(|op| matches!(op, Operation::Powi { .. }))
        };
        let shrunk = shrink(&original, has_powi);
        assert_eq!(
            shrunk,
            program(
                &[0.0],
                vec![Operation::Powi {
                    base: 0,
                    exponent: 0
                }],
                &[0]
            )
        );
    }

    #[test]
    fn programs_that_disagreed_before_the_shared_partials_now_agree() {
        // x0^3 with a negative base and a constant exponent, whose partial in the exponent is
        // NaN: forward mode seeding x1 or x2 multiplied it by a zero tangent. And x1 / x2 at
        // 1e-200, where -x1 / x2^2 overflowed to infinity.
        let p = program(
            &[-2.0, 1e-200, 1e-200],
            vec![
                Operation::Powf {
                    base: 0,
                    exponent: Exponent::Constant(3.0),
                },
                Operation::Arith {
                    op: Arith::Div,
                    assign: false,
                    lhs: 1,
                    rhs: Rhs::Value(2),
                },
                Operation::Arith {
                    op: Arith::Add,
                    assign: false,
                    lhs: 3,
                    rhs: Rhs::Value(4),
                },
            ],
            &[5, 3],
        );
        assert!(p.is_testable());
        let verdict = check(&p, StrategyKind::ALL);
        assert!(
            matches!(verdict, Verdict::Agrees { ref skipped, .. } if skipped.is_empty()),
            "{verdict:?}"
        );
        let rows = StrategyKind::Dualrev.jacobian(&p, p.point()).rows.unwrap();
        assert_eq!(rows, [[12.0, 1e200, -1e200], [12.0, 0.0, 0.0]]);
    }

    fn arith(op: Arith, lhs: usize, rhs: Rhs) -> Operation {
        Operation::Arith {
            op,
            assign: false,
            lhs,
            rhs,
        }
    }

    #[test]
    fn honest_rounding_beyond_the_tolerance_is_within_the_path_bound_allowance() {
        // v0 = x0 - x0; v2 = x0 / (v0 - 4e-8); y = (v2 * v2 * v0 - 1) * v2 at x0 = 1: reverse
        // mode adds 2.5e7 to a cotangent of 1.6e22 before that cancels; forward mode is exact.
        let p = program(
            &[1.0],
            vec![
                arith(Arith::Sub, 0, Rhs::Value(0)),
                arith(Arith::Sub, 1, Rhs::Constant(4e-8)),
                arith(Arith::Div, 0, Rhs::Value(2)),
                Operation::Product(vec![3, 3, 1]),
                arith(Arith::Sub, 4, Rhs::Constant(1.0)),
                arith(Arith::Mul, 5, Rhs::Value(3)),
            ],
            &[6],
        );
        let forward = StrategyKind::Forward.jacobian(&p, p.point()).rows.unwrap()[0][0];
        let tape = StrategyKind::Tape.jacobian(&p, p.point()).rows.unwrap()[0][0];
        let error = relative_error(forward, tape);
        assert!(error > 1e-3, "{forward} vs {tape}");
        let reference = Reference::of(&p);
        assert!(error <= reference.allowed_error(TOLERANCE, 0, 0, forward, tape));
        assert!(matches!(
            check(&p, StrategyKind::ALL),
            Verdict::Agrees { .. }
        ));
    }

    #[test]
    fn a_program_whose_reverse_mode_products_overflow_is_untestable() {
        // B is 2.6e262, but the path bound from v6 to the output overflows: reverse mode
        // returns infinity, forward mode a finite derivative.
        let p = program(
            &[-0.092],
            vec![
                arith(Arith::Div, 0, Rhs::Constant(0.754)),
                arith(Arith::Mul, 1, Rhs::Constant(-1.304)),
                Operation::Powi {
                    base: 2,
                    exponent: -15,
                },
                Operation::Powi {
                    base: 3,
                    exponent: 13,
                },
                Operation::Constant(0.529),
                arith(Arith::Mul, 5, Rhs::Value(4)),
                Operation::Arith {
                    op: Arith::Mul,
                    assign: true,
                    lhs: 6,
                    rhs: Rhs::Value(6),
                },
                arith(Arith::Div, 1, Rhs::Value(7)),
                arith(Arith::Sub, 8, Rhs::Constant(-8.994202781128405e129)),
                arith(Arith::Div, 8, Rhs::Value(9)),
            ],
            &[10],
        );
        let (outputs, graph) = p.recorded(p.point());
        let (from_inputs, to_outputs) = graph.largest_path_bounds(&outputs);
        assert!(outputs[0].reach[0] > 1e262 && from_inputs <= RANGE_LIMIT);
        assert!(to_outputs.is_infinite());
        let derivative = |s: StrategyKind| s.jacobian(&p, p.point()).rows.unwrap()[0][0];
        assert!(derivative(StrategyKind::Forward).is_finite());
        assert!(derivative(StrategyKind::Tape).is_infinite());
        assert!(!p.is_testable());
    }

    #[test]
    fn an_infinite_partial_behind_a_zero_partial_is_absorbed_in_both_modes() {
        // (|x0| + 1)^(0^-1) at x0 = 0: the exponent is infinite, so is the partial of powf in
        // its base |x0| + 1; forward mode's zero tangent (abs' = 0) absorbs it, and so does
        // reverse mode, whose infinite cotangent meets the zero partial abs' = 0. The program
        // stays untestable: a vertex's bound to the output is infinite.
        let p = program(
            &[0.0],
            vec![
                Operation::Unary {
                    op: Unary::Relu,
                    arg: 0,
                },
                Operation::Powf {
                    base: 1,
                    exponent: Exponent::Constant(-1.0),
                },
                Operation::Powf {
                    base: 0,
                    exponent: Exponent::Value(2),
                },
            ],
            &[3],
        );
        let derivative = |s: StrategyKind| s.jacobian(&p, p.point()).rows.unwrap()[0][0];
        assert_eq!(derivative(StrategyKind::Forward), 0.0);
        assert_eq!(derivative(StrategyKind::Tape), 0.0);
        assert_eq!(derivative(StrategyKind::Dualrev), 0.0);
        assert_eq!(p.tracked(p.point())[0].reach[0], 0.0);
        assert!(!p.is_testable());
    }

    #[test]
    fn a_derivative_off_by_more_than_rounding_fails_each_comparison() {
        // sin(x0) * x1 at (0.7, -0.4): forward mode's Jacobian, then made wrong.
        let p = program(
            &[0.7, -0.4],
            vec![
                Operation::Unary {
                    op: Unary::Sin,
                    arg: 0,
                },
                arith(Arith::Mul, 2, Rhs::Value(1)),
            ],
            &[3],
        );
        let reference = Reference::of(&p);
        let honest = StrategyKind::Forward.jacobian(&p, p.point()).rows.unwrap();
        let off = |factor: f64| {
            let mut rows = honest.clone();
            rows[0][0] *= factor;
            vec![
                (StrategyKind::Forward, honest.clone()),
                (StrategyKind::Tape, rows),
            ]
        };
        assert_eq!(compare_pairs(&off(1.0), &reference), None);
        assert!(matches!(
            compare_pairs(&off(1.0 + 1e-8), &reference),
            Some(Disagreement::Derivatives {
                output: 0,
                input: 0,
                ..
            })
        ));
        assert!(matches!(
            compare_with_finite_differences(&off(1.001), &reference),
            Some(Disagreement::FiniteDifferences {
                strategy: StrategyKind::Tape,
                ..
            })
        ));
        assert!(matches!(
            compare_with_bounds(&off(f64::NAN), &reference),
            Some(Disagreement::OverBound {
                strategy: StrategyKind::Tape,
                ..
            })
        ));
        assert!(matches!(
            compare_with_bounds(&off(2.0), &reference),
            Some(Disagreement::OverBound { .. })
        ));
    }

    #[test]
    fn finite_differences_are_not_trusted_across_a_guard_at_the_point() {
        // x0^2 / x0 at x0 = 0 takes the guard x0^2 / (x0 + 1): AD says 0, the neighbours 1.
        let p = program(
            &[0.0],
            vec![
                Operation::Unary {
                    op: Unary::Square,
                    arg: 0,
                },
                arith(Arith::Div, 1, Rhs::Value(0)),
            ],
            &[2],
        );
        let reference = Reference::of(&p);
        assert!(reference.fd.reliable[0][0]);
        assert!((reference.fd.estimate[0][0] - 1.0).abs() < 1e-6);
        assert!(!reference.fd_trusted[0][0]);
        assert!(matches!(
            check(&p, StrategyKind::ALL),
            Verdict::Agrees { fd_compared: 0, .. }
        ));
    }

    #[test]
    fn finite_differences_are_not_trusted_where_an_intermediate_absorbs_the_step() {
        // sin(x0 / 2e-12 + x1): the sum is 5e11, whose rounding swallows a step in x1.
        let p = program(
            &[1.0, 0.0],
            vec![
                arith(Arith::Div, 0, Rhs::Constant(2e-12)),
                Operation::Sum(vec![2, 1]),
                Operation::Unary {
                    op: Unary::Sin,
                    arg: 3,
                },
            ],
            &[4],
        );
        let reference = Reference::of(&p);
        assert!(reference.fd.reliable[0][1]);
        assert!(!reference.fd_trusted[0][1]);
        assert!(matches!(
            check(&p, StrategyKind::ALL),
            Verdict::Agrees { .. }
        ));
    }

    #[test]
    fn finite_differences_are_trusted_on_smooth_well_conditioned_programs() {
        // sin(x0) * x1 + exp(x1).
        let p = program(
            &[0.7, -0.4],
            vec![
                Operation::Unary {
                    op: Unary::Sin,
                    arg: 0,
                },
                arith(Arith::Mul, 2, Rhs::Value(1)),
                Operation::Unary {
                    op: Unary::Exp,
                    arg: 1,
                },
                arith(Arith::Add, 3, Rhs::Value(4)),
            ],
            &[5],
        );
        let verdict = check(&p, StrategyKind::ALL);
        assert!(
            matches!(
                verdict,
                Verdict::Agrees {
                    entries: 2,
                    fd_compared: 2,
                    ..
                }
            ),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_random_run_agrees_and_reports_its_summary() {
        let run = RandomCheck::new(40, 3, &[]).expect("all strategies");
        let mut seen = 0;
        let report = run.run(|failure| {
            assert_eq!(failure, None);
            seen += 1;
        });
        assert_eq!(seen, 40);
        assert!(report.passed());
        assert!(report
            .render()
            .ends_with("random: 40 programs (seed 3), 0 disagreements\n"));
    }

    #[test]
    fn a_failure_is_rendered_with_its_seed_numbers_and_shrunk_program() {
        let shrunk = program(
            &[1.0],
            vec![Operation::Unary {
                op: Unary::Sin,
                arg: 0,
            }],
            &[1],
        );
        let report = RandomReport {
            seed: 9,
            programs: 20,
            discarded: 0,
            skipped: vec![(StrategyKind::Naive, 2)],
            entries: 50,
            fd_compared: 40,
            failures: vec![Failure {
                index: 4,
                program_seed: program_seed(9, 4),
                original_operations: 17,
                shrunk,
                disagreement: Disagreement::Derivatives {
                    strategies: (StrategyKind::Forward, StrategyKind::Tape),
                    output: 0,
                    input: 0,
                    numbers: (0.5, f64::NAN),
                    error: f64::INFINITY,
                    allowed: 1e-10,
                },
            }],
        };
        let text = report.render();
        for expected in [
            "FAIL program 4 (program seed 9000031; reproduce with `dualbench verify --random 5 --seed 9`)",
            "forward vs tape at d y0 / d x0: 5e-1 vs NaN",
            "shrunk from 17 to 1 operations",
            "    v0 = sin(x0)",
            "note: naive skipped on 2 programs",
            "random: 20 programs (seed 9), 1 disagreement\n",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
        assert!(!report.passed());
    }
}
