//! Counting the primal operations T of a program, and predicting the naive strategy's cost.
//!
//! [`Counted`] is an `f64` that counts, in a thread-local, every primitive operation performed
//! on it (each operator application and elementary function: everything but
//! [`Real::constant`]). Complexity claims are judged against this T, because T is not linear in
//! the size for every workload (det: l!, fsummatvec: n^2).
//!
//! Alongside, each value carries `calls`: how many backpropagator calls the naive strategy
//! (rung 0) makes when it calls this value's backpropagator once. An input or a constant makes
//! one call (its own); an operation makes one plus the calls of each operand it uses, once per
//! use. Evaluated at the output this is the number of paths through the computation graph,
//! the naive strategy's exponential cost, computed in O(T) without running it — the harness
//! uses it to skip naive cases that could not finish. It is kept as `f64` because it overflows
//! every integer type on sharing workloads.

use std::cell::Cell;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::program::Program;
use crate::real::{Binary, Real, Unary};

thread_local! {
    static OPS: Cell<u64> = const { Cell::new(0) };
}

fn tick() {
    OPS.with(|c| c.set(c.get() + 1));
}

/// The primal operation count of one evaluation, and the predicted naive cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpCount {
    /// T: primitive operations executed (operators and elementary functions).
    pub ops: u64,
    /// Backpropagator calls the naive strategy would make for a gradient of the output that
    /// needs the most (the seed call included); `f64` because it can exceed `u64::MAX`.
    pub naive_calls: f64,
}

/// Evaluate `program` at `x` on [`Counted`] scalars and report T and the predicted naive cost.
pub fn count_ops<P: Program>(program: &P, x: &[f64]) -> OpCount {
    let before = OPS.with(Cell::get);
    let inputs: Vec<Counted> = x.iter().map(|&v| Counted::leaf(v, true)).collect();
    let outputs = program.eval(&inputs);
    let ops = OPS.with(Cell::get) - before;
    let naive_calls = outputs.iter().map(|o| o.calls).fold(0.0, f64::max);
    OpCount { ops, naive_calls }
}

/// An `f64` that counts operations; see the module documentation.
#[derive(Clone, Copy, Debug)]
pub struct Counted {
    value: f64,
    calls: f64,
    /// Whether it depends on an input: only a value that does not is a structural zero
    /// ([`Real::is_structural_zero`]), so that T of a nested program counts what an active
    /// strategy records.
    active: bool,
}

impl Counted {
    fn leaf(value: f64, active: bool) -> Self {
        Self {
            value,
            calls: 1.0,
            active,
        }
    }
    fn unary(&self, value: f64) -> Self {
        tick();
        Self {
            value,
            calls: 1.0 + self.calls,
            active: self.active,
        }
    }
    fn binary(&self, other: &Self, value: f64) -> Self {
        tick();
        Self {
            value,
            calls: 1.0 + self.calls + other.calls,
            active: self.active || other.active,
        }
    }
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl PartialOrd for Counted {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

macro_rules! counted_binary {
    ($Trait:ident, $method:ident, $AssignTrait:ident, $assign:ident, $op:tt) => {
        impl $Trait for Counted {
            type Output = Counted;
            fn $method(self, rhs: Counted) -> Counted {
                self.binary(&rhs, self.value $op rhs.value)
            }
        }
        impl $Trait<f64> for Counted {
            type Output = Counted;
            fn $method(self, rhs: f64) -> Counted {
                self.unary(self.value $op rhs)
            }
        }
        impl $AssignTrait for Counted {
            fn $assign(&mut self, rhs: Counted) {
                *self = *self $op rhs;
            }
        }
        impl $AssignTrait<f64> for Counted {
            fn $assign(&mut self, rhs: f64) {
                *self = *self $op rhs;
            }
        }
    };
}

counted_binary!(Add, add, AddAssign, add_assign, +);
counted_binary!(Sub, sub, SubAssign, sub_assign, -);
counted_binary!(Mul, mul, MulAssign, mul_assign, *);
counted_binary!(Div, div, DivAssign, div_assign, /);

impl Neg for Counted {
    type Output = Counted;
    fn neg(self) -> Counted {
        self.unary(-self.value)
    }
}

impl Sum for Counted {
    fn sum<I: Iterator<Item = Counted>>(iter: I) -> Counted {
        iter.fold(Counted::constant(0.0), |a, b| a + b)
    }
}

impl Product for Counted {
    fn product<I: Iterator<Item = Counted>>(iter: I) -> Counted {
        iter.fold(Counted::constant(1.0), |a, b| a * b)
    }
}

impl Real for Counted {
    fn constant(value: f64) -> Self {
        Self::leaf(value, false)
    }
    fn value(&self) -> f64 {
        self.value
    }
    fn is_structural_zero(&self) -> bool {
        self.value == 0.0 && !self.active
    }
    fn apply(&self, f: Unary) -> Self {
        self.unary(f.value(self.value))
    }
    fn apply2(&self, other: &Self, f: Binary) -> Self {
        self.binary(other, f.value(self.value, other.value))
    }
    fn powi(&self, n: i32) -> Self {
        self.unary(self.value.powi(n))
    }
}

impl<'a> Sum<&'a Counted> for Counted {
    fn sum<I: Iterator<Item = &'a Counted>>(iter: I) -> Counted {
        iter.fold(Counted::constant(0.0), |a, b| a + *b)
    }
}

impl<'a> Product<&'a Counted> for Counted {
    fn product<I: Iterator<Item = &'a Counted>>(iter: I) -> Counted {
        iter.fold(Counted::constant(1.0), |a, b| a * *b)
    }
}

impl Counted {
    fn plus_constant(&self, c: f64) -> Counted {
        self.unary(self.value + c)
    }
    fn subtracted_from(&self, c: f64) -> Counted {
        self.unary(c - self.value)
    }
    fn times_constant(&self, c: f64) -> Counted {
        self.unary(self.value * c)
    }
    fn divided_into(&self, c: f64) -> Counted {
        self.unary(c / self.value)
    }
}

crate::real::impl_constant_on_the_left!(
    Counted,
    plus_constant,
    subtracted_from,
    times_constant,
    divided_into
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_programs::{Product, SquareChain};

    /// x * y at y = 0 along (1, 0), on dual numbers: the value's product and y's partial times
    /// x's tangent, 2 operations. y has the value 0 but depends on an input, so it is no
    /// structural zero and its product is counted; only y's constant tangent is left out.
    #[test]
    fn an_active_zero_is_counted_and_a_constant_zero_is_not() {
        let along = crate::hvp::Directional::new(&Product, &[1.0, 0.0], 2);
        assert_eq!(count_ops(&along, &[2.0, 0.0]).ops, 2);
    }

    #[test]
    fn square_chain_has_k_ops_and_exponentially_many_paths() {
        for k in 0..20 {
            let c = count_ops(&SquareChain(k), &[1.0]);
            assert_eq!(c.ops, k as u64);
            assert_eq!(c.naive_calls, (2u64.pow(k as u32 + 1) - 1) as f64);
        }
    }
}
