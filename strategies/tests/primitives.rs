//! Every primitive of `Real`, differentiated by every strategy, against closed forms.
//!
//! The closed forms are written out by hand here (e.g. d tan = 1 / cos^2, not the
//! `partials` module's 1 + tan^2), so a wrong entry in the shared partials table fails too.

mod common;

use strategies::{outputs, Outputs, Program, Real, StrategyKind};

use common::assert_close;

/// The constant used by the mixed operations with an `f64` on the right.
const C: f64 = 2.5;

/// One primitive as a program of 1-3 inputs.
#[derive(Clone, Copy, Debug)]
enum Primitive {
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
    Powi(i32),
    Powf,
    Abs,
    Relu,
    Max,
    Min,
    Square,
    Sum,
    Product,
    AddAssign,
    SubAssign,
    MulAssign,
    DivAssign,
    AddAssignF64,
    SubAssignF64,
    MulAssignF64,
    DivAssignF64,
    /// `x * constant(3) + exp(constant(2))`: constants created with `Real::constant`.
    WithConstants,
}

impl Primitive {
    fn arity(self) -> usize {
        use Primitive::*;
        match self {
            Add | Sub | Mul | Div | Powf | Max | Min | AddAssign | SubAssign | MulAssign
            | DivAssign => 2,
            Sum | Product => 3,
            _ => 1,
        }
    }

    /// The value and gradient at `x`, in closed form.
    fn expected(self, x: &[f64]) -> (f64, Vec<f64>) {
        use Primitive::*;
        let a = x[0];
        let b = x.get(1).copied().unwrap_or(f64::NAN);
        let c = x.get(2).copied().unwrap_or(f64::NAN);
        match self {
            Add | AddAssign => (a + b, vec![1.0, 1.0]),
            Sub | SubAssign => (a - b, vec![1.0, -1.0]),
            Mul | MulAssign => (a * b, vec![b, a]),
            Div | DivAssign => (a / b, vec![1.0 / b, -a / (b * b)]),
            AddF64 | AddAssignF64 => (a + C, vec![1.0]),
            SubF64 | SubAssignF64 => (a - C, vec![1.0]),
            MulF64 | MulAssignF64 => (a * C, vec![C]),
            DivF64 | DivAssignF64 => (a / C, vec![1.0 / C]),
            Neg => (-a, vec![-1.0]),
            Sin => (a.sin(), vec![a.cos()]),
            Cos => (a.cos(), vec![-a.sin()]),
            Tan => (a.tan(), vec![1.0 / (a.cos() * a.cos())]),
            Exp => (a.exp(), vec![a.exp()]),
            Ln => (a.ln(), vec![1.0 / a]),
            Sqrt => (a.sqrt(), vec![1.0 / (2.0 * a.sqrt())]),
            Tanh => (a.tanh(), vec![1.0 / (a.cosh() * a.cosh())]),
            Powi(0) => (1.0, vec![0.0]),
            Powi(n) => (a.powi(n), vec![f64::from(n) * a.powi(n - 1)]),
            Powf => (a.powf(b), vec![b * a.powf(b - 1.0), a.powf(b) * a.ln()]),
            Abs if a > 0.0 => (a, vec![1.0]),
            Abs if a < 0.0 => (-a, vec![-1.0]),
            Abs => (0.0, vec![0.0]),
            Relu if a > 0.0 => (a, vec![1.0]),
            Relu => (0.0, vec![0.0]),
            Max if b > a => (b, vec![0.0, 1.0]),
            Max => (a, vec![1.0, 0.0]),
            Min if b < a => (b, vec![0.0, 1.0]),
            Min => (a, vec![1.0, 0.0]),
            Square => (a * a, vec![2.0 * a]),
            Sum => (a + b + c, vec![1.0, 1.0, 1.0]),
            Product => (a * b * c, vec![b * c, a * c, a * b]),
            WithConstants => (3.0 * a + 2f64.exp(), vec![3.0]),
        }
    }
}

impl Program for Primitive {
    fn input_len(&self) -> usize {
        self.arity()
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        use Primitive::*;
        let a = x[0].clone();
        let b = || x[1].clone();
        let y = match *self {
            Add => a + b(),
            Sub => a - b(),
            Mul => a * b(),
            Div => a / b(),
            AddF64 => a + C,
            SubF64 => a - C,
            MulF64 => a * C,
            DivF64 => a / C,
            Neg => -a,
            Sin => a.sin(),
            Cos => a.cos(),
            Tan => a.tan(),
            Exp => a.exp(),
            Ln => a.ln(),
            Sqrt => a.sqrt(),
            Tanh => a.tanh(),
            Powi(n) => a.powi(n),
            Powf => a.powf(&b()),
            Abs => a.abs(),
            Relu => a.relu(),
            Max => a.max(b()),
            Min => a.min(b()),
            Square => a.square(),
            Sum => x.iter().cloned().sum(),
            Product => x.iter().cloned().product(),
            AddAssign => {
                let mut t = a;
                t += b();
                t
            }
            SubAssign => {
                let mut t = a;
                t -= b();
                t
            }
            MulAssign => {
                let mut t = a;
                t *= b();
                t
            }
            DivAssign => {
                let mut t = a;
                t /= b();
                t
            }
            AddAssignF64 => {
                let mut t = a;
                t += C;
                t
            }
            SubAssignF64 => {
                let mut t = a;
                t -= C;
                t
            }
            MulAssignF64 => {
                let mut t = a;
                t *= C;
                t
            }
            DivAssignF64 => {
                let mut t = a;
                t /= C;
                t
            }
            WithConstants => a * R::constant(3.0) + R::constant(2.0).exp(),
        };
        outputs![y]
    }
}

/// Every primitive at one or more points, chosen inside its domain and on both sides of its
/// kinks and branches (ties of max / min pick the first operand).
fn cases() -> Vec<(Primitive, Vec<f64>)> {
    use Primitive::*;
    let mut cases = Vec::new();
    for p in [
        Add, Sub, Mul, Div, AddAssign, SubAssign, MulAssign, DivAssign,
    ] {
        cases.push((p, vec![0.7, -1.3]));
    }
    for p in [
        AddF64,
        SubF64,
        MulF64,
        DivF64,
        AddAssignF64,
        SubAssignF64,
        MulAssignF64,
        DivAssignF64,
        Neg,
        Sin,
        Cos,
        Tan,
        Exp,
        Tanh,
        Square,
        WithConstants,
    ] {
        cases.push((p, vec![-0.8]));
    }
    for p in [Ln, Sqrt] {
        cases.push((p, vec![1.7]));
    }
    for n in [-2, 0, 1, 3] {
        cases.push((Powi(n), vec![-1.3]));
    }
    cases.push((Powf, vec![1.7, 2.3]));
    cases.push((Powf, vec![0.4, -0.6]));
    for a in [-1.5, 0.0, 2.0] {
        cases.push((Abs, vec![a]));
    }
    for a in [-0.5, 1.5] {
        cases.push((Relu, vec![a]));
    }
    for p in [Max, Min] {
        for x in [vec![0.3, 0.9], vec![0.9, 0.3], vec![0.5, 0.5]] {
            cases.push((p, x));
        }
    }
    for p in [Sum, Product] {
        cases.push((p, vec![0.6, -1.1, 2.2]));
    }
    cases
}

/// dualbench's own AD strategies: the tests of the shared partials rules (`partials::times`,
/// the quotient form of division's partials, `powi` of `i32::MIN`) are about them. The peers
/// take their own rules from their crates; where those differ (`docs/peers.md`) the peers are
/// left out, and everywhere else they are held to the same closed forms. `manual` is not AD
/// and runs only programs with a hand-written adjoint, which these test programs do not have.
fn own_strategies() -> impl Iterator<Item = StrategyKind> {
    StrategyKind::ALL
        .iter()
        .copied()
        .filter(|k| k.differentiates() && !k.is_peer() && *k != StrategyKind::Manual)
}

/// Every strategy that runs `program` (all but `manual`, on these test programs without a
/// hand-written adjoint).
fn strategies_running<P: Program>(program: &P) -> impl Iterator<Item = StrategyKind> + '_ {
    StrategyKind::ALL
        .iter()
        .copied()
        .filter(|k| k.why_unavailable(program).is_none())
}

/// Where a peer crate's rule differs from the closed form by design: the derivative of |x| at
/// 0, which the crates take as +1 (xad-rs, ad_trait, autodiff), by the sign bit (num-dual) or
/// NaN (reverse), where dualbench takes 0.
fn peer_rule_differs(kind: StrategyKind, primitive: Primitive, x: &[f64]) -> bool {
    kind.is_peer() && matches!(primitive, Primitive::Abs) && x[0] == 0.0
}

#[test]
fn every_strategy_differentiates_every_primitive_as_its_closed_form() {
    for (primitive, x) in cases() {
        let (value, gradient) = primitive.expected(&x);
        for kind in strategies_running(&primitive) {
            if peer_rule_differs(kind, primitive, &x) {
                continue;
            }
            let what = format!("{} on {primitive:?} at {x:?}", kind.name());
            let r = kind.vjp(&primitive, &x, &[1.0]);
            assert_close(&r.value, &[value], 1e-14, &format!("{what}: value"));
            if kind.differentiates() {
                let g = r.gradient.unwrap_or_else(|| panic!("{what}: no gradient"));
                assert_close(&g, &gradient, 1e-12, &format!("{what}: gradient"));
            } else {
                assert_eq!(r.gradient, None, "{what}: primal computes no gradient");
            }
        }
    }
}

#[test]
fn every_strategy_scales_the_gradient_by_the_cotangent() {
    let x = [0.7, -1.3];
    let (_, gradient) = Primitive::Mul.expected(&x);
    for kind in strategies_running(&Primitive::Mul).filter(|k| k.differentiates()) {
        let r = kind.vjp(&Primitive::Mul, &x, &[-3.0]);
        let expected: Vec<f64> = gradient.iter().map(|g| -3.0 * g).collect();
        assert_close(&r.gradient.unwrap(), &expected, 1e-14, kind.name());
    }
}

/// a / b, and a * b / b: the second multiplies the partials of division with sharing.
struct Quotient;
impl Program for Quotient {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].clone() / x[1].clone()]
    }
}

/// A softmax of four values, summed with weights: every strategy takes the same partials.
struct WeightedSoftmax;
impl Program for WeightedSoftmax {
    fn input_len(&self) -> usize {
        4
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let e: Vec<R> = x.iter().map(Real::exp).collect();
        let total: R = e.iter().cloned().sum();
        let weighted: R = e
            .iter()
            .enumerate()
            .map(|(i, ei)| ei.clone() / total.clone() * (i as f64 + 0.5))
            .sum();
        outputs![weighted]
    }
}

#[test]
fn division_has_one_definition_of_its_partials_in_every_strategy() {
    // (1 / b, -q / b) with q = a / b: finite where the quotient is, unlike -a / b^2, which
    // overflows to -inf at a = b = 1e-200.
    let x = [1e-200, 1e-200];
    for kind in own_strategies() {
        let g = kind.vjp(&Quotient, &x, &[1.0]).gradient.unwrap();
        assert_eq!(g, vec![1e200, -1e200], "{}", kind.name());
    }
    // The reverse strategies apply the same partials in the same order: bit for bit equal.
    let x = [0.3, -1.2, 2.5, 0.7];
    let reference = StrategyKind::Tape
        .vjp(&WeightedSoftmax, &x, &[1.0])
        .gradient;
    for kind in [
        StrategyKind::Staged,
        StrategyKind::Cayley,
        StrategyKind::Sparse,
        StrategyKind::Dualrev,
    ] {
        let g = kind.vjp(&WeightedSoftmax, &x, &[1.0]).gradient;
        assert_eq!(g, reference, "{}", kind.name());
    }
}

/// x0^c for a constant c = 2 (at x0 < 0: the partial in c is NaN, but c is inactive), and
/// x1 * sqrt(x2) at x2 = 0 (the partial of sqrt is infinite, but in x1's direction nothing
/// moves through it).
struct InactiveInfinitePartials;
impl Program for InactiveInfinitePartials {
    fn input_len(&self) -> usize {
        3
    }
    fn output_len(&self) -> usize {
        2
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].powf(&R::constant(2.0)), x[1].clone() * x[2].sqrt()]
    }
}

#[test]
fn a_zero_tangent_contributes_zero_in_every_strategy() {
    let x = [-2.0, 3.0, 0.0];
    for kind in own_strategies() {
        let rows = kind.jacobian(&InactiveInfinitePartials, &x).rows.unwrap();
        let what = kind.name();
        assert_eq!(rows[0], vec![-4.0, 0.0, 0.0], "{what}: d x0^2");
        assert_eq!(rows[1][0], 0.0, "{what}");
        assert_eq!(rows[1][1], 0.0, "{what}: sqrt(0) = 0, not 0 * inf");
        assert_eq!(rows[1][2], f64::INFINITY, "{what}: 3 / (2 sqrt 0)");
    }
}

/// x^n for the most negative exponent.
struct MostNegativePower;
impl Program for MostNegativePower {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].powi(i32::MIN)]
    }
}

#[test]
fn powi_of_the_most_negative_exponent_does_not_overflow() {
    for kind in own_strategies() {
        let g = kind
            .vjp(&MostNegativePower, &[1.0], &[1.0])
            .gradient
            .unwrap();
        assert_eq!(g, vec![f64::from(i32::MIN)], "{}", kind.name());
    }
}
