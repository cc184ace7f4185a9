//! Small programs shared by the unit tests of the strategy modules.

use crate::program::{outputs, Outputs, ParProgram, Program};
use crate::real::{ParReal, Real};

/// f(x, y) = x y, the smallest program with a second-order term: at y = 0 the value of y is 0
/// but y is active, so H (1, 0) = (0, 1), and a rule that dropped a product whose factor *has
/// value* 0 would give (0, 0).
pub(crate) struct Product;
impl Program for Product {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].clone() * x[1].clone()]
    }
}

/// x_i = sin(x_{i-1}), k times: one use per value, the long-graph test.
pub(crate) struct SinChain(pub(crate) usize);

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

impl SinChain {
    /// The value and the derivative of the chain at `x0`, computed directly in `f64`: the
    /// reference the strategies' deep-chain tests compare against.
    pub(crate) fn reference(&self, x0: f64) -> (f64, f64) {
        let (mut v, mut d) = (x0, 1.0);
        for _ in 0..self.0 {
            d *= v.cos();
            v = v.sin();
        }
        (v, d)
    }
}

/// x_0 = x, x_k = x_{k-1} * x_{k-1}: k multiplications, each using its operand twice.
pub(crate) struct SquareChain(pub(crate) usize);

impl Program for SquareChain {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut v = x[0].clone();
        for _ in 0..self.0 {
            v = v.clone() * v;
        }
        outputs![v]
    }
}

/// s x2 + s x0 with s = x0 + x1: s and x0 are shared; x3 is not used.
/// At (1, 2, 3, 4) the gradient is (x2 + s + x0, x2 + x0, s, 0) = (7, 4, 3, 0).
pub(crate) struct Shared;

impl Program for Shared {
    fn input_len(&self) -> usize {
        4
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let s = x[0].clone() + x[1].clone();
        outputs![s.clone() * x[2].clone() + s * x[0].clone()]
    }
}

/// f(x) = sin(x0) * exp(x1), its two factors forked with `join`.
pub(crate) struct ForkedProduct;

impl ParProgram for ForkedProduct {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let (a, b) = R::join(|| x[0].sin(), || x[1].exp());
        outputs![a * b]
    }
}

// Programs shared by the peer adapters' unit tests.

#[cfg(any(feature = "peer-xad", feature = "peer-echidna"))]
/// f(x, y) = x^2 y + sin(x): gradient (2 x y + cos x, x^2).
pub(crate) struct Quadratic;
#[cfg(any(feature = "peer-xad", feature = "peer-echidna"))]
impl Program for Quadratic {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].square() * x[1].clone() + x[0].sin()]
    }
}

#[cfg(any(feature = "peer-xad", feature = "peer-echidna"))]
/// ((x + 2) * 3 - 1) / 4 + x * constant(0.5) - constant(2).exp(): gradient 3 / 4 + 1 / 2.
pub(crate) struct MixedConstants;
#[cfg(any(feature = "peer-xad", feature = "peer-echidna"))]
impl Program for MixedConstants {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let y = ((x[0].clone() + 2.0) * 3.0 - 1.0) / 4.0;
        outputs![y + x[0].clone() * R::constant(0.5) - R::constant(2.0).exp()]
    }
}

#[cfg(any(feature = "peer-xad", feature = "peer-echidna"))]
/// Two outputs that are the same variable, and a constant output.
pub(crate) struct RepeatedOutput;
#[cfg(any(feature = "peer-xad", feature = "peer-echidna"))]
impl Program for RepeatedOutput {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        3
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let y = x[0].sin();
        outputs![y.clone(), y, R::constant(1.0)]
    }
}

/// `[2 x, 1 - x, 3 / x, 1 + x]`: the four mixed operations with the `f64` constant on the left,
/// which exist only for concrete scalar types (`impl Mul<T> for f64`), so that each strategy's
/// unit tests run them on its own scalar inside its own gradient.
pub(crate) fn constants_on_the_left<T: Clone>(x: &T) -> [T; 4]
where
    f64: std::ops::Mul<T, Output = T>
        + std::ops::Sub<T, Output = T>
        + std::ops::Div<T, Output = T>
        + std::ops::Add<T, Output = T>,
{
    [
        2.0 * x.clone(),
        1.0 - x.clone(),
        3.0 / x.clone(),
        1.0 + x.clone(),
    ]
}

/// The values and derivatives of [`constants_on_the_left`] at `x`, from the shared partials:
/// `d (c / x) = -(c / x) / x`.
pub(crate) fn constants_on_the_left_expected(x: f64) -> ([f64; 4], [f64; 4]) {
    let q = 3.0 / x;
    (
        [2.0 * x, 1.0 - x, q, 1.0 + x],
        [2.0, -1.0, crate::real::partials::div(x, q).1, 1.0],
    )
}
