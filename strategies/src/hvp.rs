//! Second derivatives: Hessian-vector products by nesting forward mode inside a strategy.
//!
//! # Reverse over forward
//!
//! For a program f : R^n -> R^m, a direction v in R^n and output weights w in R^m, the
//! Hessian-vector product is
//!
//! ```text
//! H_w v = sum_j w_j (d^2 f_j / dx^2) v = grad_x ( w^T (J(x) v) ),
//! ```
//!
//! the gradient of the directional derivative. [`Directional`] is the program x -> J(x) v: it
//! evaluates f on [`Dual`] numbers over the caller's scalar type R, with x's tangent set to the
//! constant v, and returns the tangents. Every strategy S then computes H_w v as an ordinary
//! vector-Jacobian product of that program, with the cotangent w: the forward mode runs inside
//! the program (the outer derivative is S's), so this is *S over forward*:
//!
//! - under a reverse strategy (`tape`, `naive`, every rung, `dualrev`, `dualrev-par`,
//!   `tape-par`, the reverse peers) it is reverse over forward, the standard way to get an HVP
//!   in O(T);
//! - under `forward` it is forward over forward (n passes of a dual number of dual numbers),
//!   O(n T), the reference the others are checked against;
//! - under `manual` it is unavailable (the nested program has no hand-written adjoint), and
//!   `primal` computes no derivative.
//!
//! Because [`Directional`] is an ordinary [`Program`], every command of the harness applies to
//! it unchanged: its counters are the strategy's counters on the nested program, its primal
//! operation count is T of the nested program (the operations of f on dual numbers, partials
//! included), and `naive`'s predicted cost on it is its own path count.
//!
//! # Why the nesting is exact
//!
//! Every operation of [`Dual`] forms its tangent from the partials of [`partials`](crate::real::partials),
//! computed in R on the value: for `sin`, `t' = cos(x) * t` with `cos(x)` an operation of S's
//! program. S therefore differentiates the partials themselves, which is where the second
//! derivatives come from. A tangent that is a structural zero (an unseeded input, a constant)
//! records nothing, and a value that is merely 0 is never dropped
//! ([`Real::is_structural_zero`]): in `x * y` at `y = 0` the term `y * dx` is still formed,
//! because its derivative in `y` is not zero.
//!
//! # Example
//!
//! ```
//! use strategies::{hvp, outputs, tape::Tape, Outputs, Program, Real};
//!
//! /// f(x, y) = x^2 y + sin(y).
//! struct F;
//! impl Program for F {
//!     fn input_len(&self) -> usize { 2 }
//!     fn output_len(&self) -> usize { 1 }
//!     fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
//!         outputs![x[0].square() * x[1].clone() + x[1].sin()]
//!     }
//! }
//!
//! // H = [[2y, 2x], [2x, -sin y]]; H (1, 0) = (2y, 2x).
//! let r = hvp::hvp::<Tape, _>(&F, &[3.0, 0.5], &[1.0], &[1.0, 0.0]);
//! assert_eq!(r.gradient, Some(vec![1.0, 6.0]));
//! ```

use crate::forward::Dual;
use crate::program::{Outputs, ParProgram, Program, Strategy, Vjp};
use crate::real::{ParReal, Real};

/// The program x -> J(x) v of a program f and a direction v: its outputs are f's directional
/// derivatives along v, and its vector-Jacobian product with cotangent w is the Hessian-vector
/// product H_w v (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct Directional<'a, P: ?Sized> {
    program: &'a P,
    direction: &'a [f64],
}

impl<'a, P: ?Sized> Directional<'a, P> {
    /// The directional derivative of `program` along `direction`.
    ///
    /// # Panics
    ///
    /// If `direction` does not have one entry per input of `program` (`input_len`, given by
    /// the caller, which knows whether the program is sequential or fork-join).
    pub fn new(program: &'a P, direction: &'a [f64], input_len: usize) -> Self {
        if direction.len() != input_len {
            wrong_direction(direction.len(), input_len);
        }
        Self { program, direction }
    }

    /// The direction v.
    pub fn direction(&self) -> &[f64] {
        self.direction
    }

    /// `x` lifted to dual numbers over R, with tangent v (a constant of R).
    fn lift<R: Real>(&self, x: &[R]) -> Vec<Dual<R>> {
        x.iter()
            .zip(self.direction)
            .map(|(x, &v)| Dual::new(x.clone(), R::constant(v)))
            .collect()
    }
}

#[cold]
#[inline(never)]
fn wrong_direction(len: usize, n: usize) -> ! {
    panic!("direction has length {len} but the program takes {n} inputs");
}

/// The tangents of a program's outputs.
fn tangents<R: Real>(outputs: Outputs<Dual<R>>) -> Outputs<R> {
    outputs.into_iter().map(|y| y.into_parts().1).collect()
}

impl<P: Program + ?Sized> Program for Directional<'_, P> {
    fn input_len(&self) -> usize {
        self.program.input_len()
    }
    fn output_len(&self) -> usize {
        self.program.output_len()
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        tangents(self.program.eval(&self.lift(x)))
    }
}

impl<P: ParProgram + ?Sized> ParProgram for Directional<'_, P> {
    fn input_len(&self) -> usize {
        self.program.input_len()
    }
    fn output_len(&self) -> usize {
        self.program.output_len()
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        tangents(self.program.eval(&self.lift(x)))
    }
}

/// The Hessian-vector product H_w v of `program` at `x` under the strategy `S` (reverse over
/// forward; forward over forward for `forward`), with its counters and phases. The result's
/// `value` is J(x) v (the outputs of [`Directional`]) and its `gradient` is H_w v.
pub fn hvp<S: Strategy, P: Program>(program: &P, x: &[f64], w: &[f64], v: &[f64]) -> Vjp {
    S::vjp(&Directional::new(program, v, program.input_len()), x, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::outputs;
    use crate::registry::{DynProgram, ForkJoin, StrategyKind};
    use crate::test_programs::Product;

    /// f(x, y, z) = x y + sin(x) z^2 + exp(y z) / (1 + x^2): every kind of second-order term.
    struct Mixed;
    impl Program for Mixed {
        fn input_len(&self) -> usize {
            3
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (a, b, c) = (&x[0], &x[1], &x[2]);
            let denominator = a.square() + 1.0;
            outputs![
                a.clone() * b.clone()
                    + a.sin() * c.square()
                    + (b.clone() * c.clone()).exp() / denominator
            ]
        }
    }

    /// The Hessian of [`Mixed`] in closed form.
    fn mixed_hessian(x: &[f64]) -> [[f64; 3]; 3] {
        let (a, b, c) = (x[0], x[1], x[2]);
        let e = (b * c).exp();
        let d = 1.0 + a * a;
        // g = e / d: d/da g = -2a e / d^2, d^2/da^2 g = e (6a^2 - 2) / d^3.
        let gaa = e * (6.0 * a * a - 2.0) / (d * d * d);
        let ga = -2.0 * a * e / (d * d);
        [
            [
                -a.sin() * c * c + gaa,
                1.0 + ga * c,
                2.0 * a.cos() * c + ga * b,
            ],
            [1.0 + ga * c, c * c * e / d, (1.0 + b * c) * e / d],
            [
                2.0 * a.cos() * c + ga * b,
                (1.0 + b * c) * e / d,
                2.0 * a.sin() + b * b * e / d,
            ],
        ]
    }

    fn close(got: &[f64], want: &[f64], what: &str) {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what}: got {got:?}, want {want:?}"
            );
        }
    }

    /// Every strategy that differentiates gives the closed-form H v, for each coordinate
    /// direction and a dense one.
    #[test]
    fn every_strategy_gives_the_closed_form_hessian_vector_product() {
        let x = [0.7, -0.4, 1.3];
        let h = mixed_hessian(&x);
        let directions = [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.5, -2.0, 0.25],
        ];
        let mut checked = Vec::new();
        for &strategy in StrategyKind::ALL {
            let program = Mixed;
            let probe = Directional::new(&program, &directions[0], 3);
            if strategy == StrategyKind::Primal || strategy.why_unavailable(&probe).is_some() {
                continue;
            }
            checked.push(strategy.name());
            for v in &directions {
                let directional = Directional::new(&program, v, 3);
                let r = DynProgram::vjp(&directional, strategy, &x, &[1.0]);
                let want: Vec<f64> = h
                    .iter()
                    .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
                    .collect();
                close(
                    &r.gradient.unwrap(),
                    &want,
                    &format!("{} along {v:?}", strategy.name()),
                );
            }
        }
        for name in [
            "forward",
            "forward-vec",
            "tape",
            "naive",
            "staged",
            "cayley",
            "sparse",
            "dualrev",
            "dualrev-par",
            "tape-par",
        ] {
            assert!(
                checked.contains(&name),
                "{name} was not checked: {checked:?}"
            );
        }
    }

    #[test]
    fn a_factor_with_value_zero_keeps_its_second_order_term() {
        for &strategy in StrategyKind::ALL {
            if strategy == StrategyKind::Primal {
                continue;
            }
            let directional = Directional::new(&Product, &[1.0, 0.0], 2);
            if strategy.why_unavailable(&directional).is_some() {
                continue;
            }
            let r = DynProgram::vjp(&directional, strategy, &[2.0, 0.0], &[1.0]);
            assert_eq!(r.gradient, Some(vec![0.0, 1.0]), "{}", strategy.name());
            assert_eq!(r.value, vec![0.0], "{}: J v = y = 0", strategy.name());
        }
    }

    /// sin(x0) exp(x1), its factors computed in the two branches of a `join`, with its
    /// sequential twin.
    struct Forked;
    impl ParProgram for Forked {
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
    impl Program for Forked {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![x[0].sin() * x[1].exp()]
        }
    }

    /// The HVP of a fork-join program, under the strategies that run it as such and those that
    /// run its twin: f = sin(x0) exp(x1), H = [[-s e, c e], [c e, s e]].
    #[test]
    fn fork_join_programs_have_hessian_vector_products() {
        let x = [0.5, 0.25];
        let (s, c, e) = (x[0].sin(), x[0].cos(), x[1].exp());
        let v = [1.0, -1.0];
        let want = [-s * e - c * e, c * e - s * e];
        let held: Box<dyn DynProgram> = Box::new(ForkJoin(Forked));
        let program = held.directional(&v);
        assert!(program.fork_join());
        for &strategy in StrategyKind::ALL {
            if strategy == StrategyKind::Primal || program.why_unavailable(strategy).is_some() {
                continue;
            }
            let r = program.vjp(strategy, &x, &[1.0]);
            close(&r.gradient.unwrap(), &want, strategy.name());
        }
    }

    #[test]
    #[should_panic(expected = "second derivatives, not third")]
    fn a_directional_derivative_has_no_directional_derivative() {
        let held: Box<dyn DynProgram> = Box::new(Product);
        let v = [1.0, 0.0];
        let _ = held.directional(&v).directional(&v);
    }

    #[test]
    #[should_panic(expected = "direction has length 1 but the program takes 2 inputs")]
    fn a_direction_of_the_wrong_length_is_refused() {
        let _ = Directional::new(&Product, &[1.0], 2);
    }
}
