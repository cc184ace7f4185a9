//! Small programs shared by the unit tests of `verify`.

use strategies::{outputs, Outputs, Program, Real};

/// f(x, y) = (x * y + sin x, relu(y)): two outputs, a kink in the second.
pub(crate) struct TwoOutputs;
impl Program for TwoOutputs {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        2
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let first = x[0].clone() * x[1].clone() + x[0].sin();
        let relu = if x[1] > R::constant(0.0) {
            x[1].clone()
        } else {
            R::constant(0.0)
        };
        outputs![first, relu]
    }
}

/// x^(2^k) by repeated squaring.
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
