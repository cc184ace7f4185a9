//! `peer-ad-trait`: the reverse mode of [`ad_trait`](https://crates.io/crates/ad_trait),
//! version 0.3 (MIT OR Apache-2.0), as a dualbench strategy.
//!
//! # The crate
//!
//! ad_trait's reverse-mode scalar is `ad_trait::reverse_ad::adr::adr`: a value and a node
//! index (or "constant") into a *global* computation graph, which is a thread-local
//! `RefCell<Vec<ComputationGraphNode>>` inside the crate (`GRAPH_OPT`, preallocated with room
//! for 100 000 nodes of 40 bytes on a thread's first use, freed when the thread exits; no
//! mutex). A node stores its operation kind and its parents' values and indices; an operation
//! whose operands are all constants records nothing. The local partials are computed during
//! the reverse pass from the stored kind and values. `adr::get_backwards_mode_grad` seeds one
//! node with 1 and sweeps the whole graph backwards in a loop, returning one adjoint per node,
//! read with `wrt`.
//!
//! # How the driver uses it
//!
//! As the crate's own `ReverseAD::derivative` does, per gradient ([`PeerAdTrait`]'s
//! `vjp_into`):
//!
//! 1. `GlobalComputationGraph::get().reset()` (which keeps the graph's capacity), then
//!    `adr::new_variable(x_i, false)` for each input;
//! 2. evaluate the program; every [`AdTraitReal`] operation is the crate's own (`adr + adr`,
//!    `adr * F64(c)` (its mixed constant operation, which records a binary node with a constant
//!    operand), and `ComplexField::sin`, `powi`, `powf`, `abs`, `asin`, ..., `RealField::atan2`
//!    as ad_trait implements them); [`Real::constant`](crate::Real::constant) is
//!    `AD::constant`, which records nothing. The crate's `cbrt` is `powf(1/3)`, NaN below 0,
//!    so `cbrt` is composed from its `abs` and `powf`; it has no `erf`, which is recorded as
//!    its tangent line with the crate's mixed operations (`docs/peers.md`, "Elementary
//!    functions");
//! 3. seed: if exactly one cotangent entry is nonzero and it is 1, that output itself;
//!    otherwise `sum_j w_j y_j` over the nonzero entries, recorded with the crate's `adr *
//!    F64` and `adr + adr` (the crate seeds one output per pass). With no nonzero entry the
//!    gradient is zero and no pass runs;
//! 4. `get_backwards_mode_grad` on the seed, then `wrt` for each input;
//! 5. reset the graph again, so a finished gradient leaves nothing on it.
//!
//! The graph's reset lives in a guard, so a panicking program leaves no stale nodes behind.
//!
//! # Cost and limitations
//!
//! O(T): one node per operation with an active operand, one sweep over all nodes, plus the
//! crate's allocation of one adjoint per node in each `get_backwards_mode_grad` (and a
//! `TinyVec` of partials formed per node during the sweep). Both passes are loops and the graph
//! is a flat `Vec`: the test `every_peer_differentiates_a_million_op_chain_on_the_default_stack` (`strategies/tests/deep_chain.rs`) differentiates
//! a 10^6-operation chain on a default 2 MiB test thread, correctly.
//!
//! - **One graph per thread, no nesting.** A gradient started inside another's program would
//!   reset the outer graph, so the driver refuses it with a panic ("nested gradients are not
//!   supported"). Gradients on different threads are independent.
//! - **No stale-value detection.** `adr` is `Copy + Send` and carries a bare node index: a
//!   value kept past its gradient, or moved to another thread, refers to whatever node now has
//!   that index, silently (or panics on an index out of bounds). The crate has no check and
//!   this adapter adds none to the crate's hot path (contrast `peer-reverse` and
//!   `peer-easy-ml`, whose lifetime erasure needs one).
//! - **Memory.** The first gradient on a thread allocates the crate's preallocated graph (4 MB)
//!   whatever the program's size.
//!
//! The crate's local rules, where they differ from dualbench's
//! ([`partials`](crate::real::partials)):
//!
//! - `abs` has partial +1 at 0 (dualbench: 0);
//! - `sqrt` at 0 substitutes 0.0001 for the argument in its partial: 50 instead of infinity;
//!   `powf` substitutes it in the `ln` of its exponent partial at a zero base;
//! - `a / b` has partial `-a / b^2` in `b`, which overflows to infinity where the quotient is
//!   finite (a = b = 1e-200);
//! - `powi(n)` is `powf(x, n as f64)`, whose partial `n * x^(n-1)` is NaN for `n = 0` at
//!   `x = 0` (`0 * inf`; dualbench: 0);
//! - `ln x` is `log(x, e)`, with partial `1 / (x ln e)`; `tan` and `tanh` use `1 / cos^2` and
//!   `1 / cosh^2`;
//! - the sweep multiplies every partial by the node's adjoint with no zero test: an infinite or
//!   NaN partial times a zero adjoint is NaN.
//!
//! # Counters
//!
//! - `graph_nodes`: `GlobalComputationGraph::num_nodes` when the reverse pass starts: one per
//!   input and per operation with an active operand, and the seed's nodes when the cotangent is
//!   combined (step 3).

use std::cell::{Cell, RefCell};

use ad_trait::nalgebra::{ComplexField, RealField};
use ad_trait::reverse_ad::adr::{adr, GlobalComputationGraph};
use ad_trait::{AD, F64};

use crate::peers::{composed, linearized, PeerScalar};
use crate::program::{check_lengths, Derivatives, Probe, Program, Strategy};
use crate::real::Unary;

thread_local! {
    /// Whether a gradient is running on this thread (the crate's graph is in use).
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    /// The input buffer of the last gradient, kept for the next one.
    static SPARE_INPUTS: RefCell<Vec<AdTraitReal>> = const { RefCell::new(Vec::new()) };
}

/// One gradient's use of this thread's graph: refuses to start inside another, and on drop
/// (also when the program panics) resets the graph.
struct Session;

impl Session {
    fn start() -> Session {
        if RUNNING.replace(true) {
            panic!(
                "peer-ad-trait: nested gradients are not supported: ad_trait records on one \
                 computation graph per thread, which the inner gradient would reset"
            );
        }
        GlobalComputationGraph::get().reset();
        Session
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        GlobalComputationGraph::get().reset();
        RUNNING.set(false);
    }
}

/// An ad_trait `adr`: a value on this thread's global computation graph, or a constant.
///
/// Every operation is the crate's own.
#[derive(Clone, Copy, Debug)]
pub struct AdTraitReal(adr);

impl PeerScalar for AdTraitReal {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        AdTraitReal(<adr as AD>::constant(value))
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.0.value()
    }
    #[inline(always)]
    fn add(&self, rhs: &Self) -> Self {
        AdTraitReal(self.0 + rhs.0)
    }
    #[inline(always)]
    fn sub(&self, rhs: &Self) -> Self {
        AdTraitReal(self.0 - rhs.0)
    }
    #[inline(always)]
    fn mul(&self, rhs: &Self) -> Self {
        AdTraitReal(self.0 * rhs.0)
    }
    #[inline(always)]
    fn div(&self, rhs: &Self) -> Self {
        AdTraitReal(self.0 / rhs.0)
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        AdTraitReal(-self.0)
    }
    #[inline(always)]
    fn add_f64(&self, c: f64) -> Self {
        AdTraitReal(self.0 + F64(c))
    }
    #[inline(always)]
    fn sub_f64(&self, c: f64) -> Self {
        AdTraitReal(self.0 - F64(c))
    }
    #[inline(always)]
    fn mul_f64(&self, c: f64) -> Self {
        AdTraitReal(self.0 * F64(c))
    }
    #[inline(always)]
    fn div_f64(&self, c: f64) -> Self {
        AdTraitReal(self.0 / F64(c))
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        AdTraitReal(ComplexField::sin(self.0))
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        AdTraitReal(ComplexField::cos(self.0))
    }
    #[inline(always)]
    fn tan(&self) -> Self {
        AdTraitReal(ComplexField::tan(self.0))
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        AdTraitReal(ComplexField::exp(self.0))
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        AdTraitReal(ComplexField::ln(self.0))
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        AdTraitReal(ComplexField::sqrt(self.0))
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        AdTraitReal(ComplexField::tanh(self.0))
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        AdTraitReal(ComplexField::powi(self.0, n))
    }
    #[inline(always)]
    fn powf(&self, p: &Self) -> Self {
        AdTraitReal(ComplexField::powf(self.0, p.0))
    }
    #[inline(always)]
    fn abs(&self) -> Self {
        AdTraitReal(ComplexField::abs(self.0))
    }
    /// A constant of ad_trait is an `adr` off the graph (`adr::is_constant`).
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        self.0.is_constant() && self.0.value() == 0.0
    }
    /// The crate's own `ComplexField` function (nalgebra's trait, as ad_trait implements it
    /// for `adr`) where it has one; `cbrt` (its `cbrt` is `powf(1/3)`, NaN below 0) is
    /// composed (`peers::composed`), and `erf`, which it neither has nor can compose, and which
    /// it cannot record with a given derivative (its node kinds are a closed enum), is
    /// linearized (`peers::linearized`).
    #[inline(always)]
    fn elementary(&self, f: Unary) -> Self {
        let x = self.0;
        AdTraitReal(match f {
            Unary::Asin => ComplexField::asin(x),
            Unary::Acos => ComplexField::acos(x),
            Unary::Atan => ComplexField::atan(x),
            Unary::Sinh => ComplexField::sinh(x),
            Unary::Cosh => ComplexField::cosh(x),
            Unary::Asinh => ComplexField::asinh(x),
            Unary::Acosh => ComplexField::acosh(x),
            Unary::Atanh => ComplexField::atanh(x),
            Unary::Ln1p => ComplexField::ln_1p(x),
            Unary::ExpM1 => ComplexField::exp_m1(x),
            Unary::Log2 => ComplexField::log2(x),
            Unary::Log10 => ComplexField::log10(x),
            Unary::Exp2 => ComplexField::exp2(x),
            Unary::Recip => ComplexField::recip(x),
            Unary::Erf => return linearized(self, f),
            f => return composed(self, f),
        })
    }
    #[inline(always)]
    fn atan2(&self, x: &Self) -> Self {
        AdTraitReal(RealField::atan2(self.0, x.0))
    }
    #[inline(always)]
    fn hypot(&self, y: &Self) -> Self {
        AdTraitReal(ComplexField::hypot(self.0, y.0))
    }
}

crate::peers::impl_real_for_peer!(AdTraitReal);

/// ad_trait 0.3's reverse mode as a strategy (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerAdTrait;

impl Strategy for PeerAdTrait {
    const NAME: &'static str = "peer-ad-trait";
    const DESCRIPTION: &'static str =
        "ad_trait 0.3: adr on a thread-local global graph, one backwards-mode sweep: O(T)";
    const COUNTERS: &'static [&'static str] = &["graph_nodes"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        probe.forward_starts();
        let session = Session::start();
        let mut inputs = SPARE_INPUTS
            .try_with(|spare| std::mem::take(&mut *spare.borrow_mut()))
            .unwrap_or_default();
        inputs.extend(
            x.iter()
                .map(|&value| AdTraitReal(adr::new_variable(value, false))),
        );
        let outputs = program.eval(&inputs);
        if outputs.len() != cotangent.len() {
            panic!(
                "cotangent has length {} but the program returned {} outputs",
                cotangent.len(),
                outputs.len()
            );
        }

        probe.reverse_starts();
        let seed = crate::peers::combined_output(&outputs, cotangent);
        let nodes = GlobalComputationGraph::get().num_nodes() as u64;
        out.value.clear();
        out.value.extend(outputs.iter().map(|y| y.0.value()));
        match seed {
            Some(seed) => {
                let adjoints = seed.0.get_backwards_mode_grad();
                out.derivative
                    .extend(inputs.iter().map(|input| adjoints.wrt(&input.0)));
            }
            None => out.derivative.resize(out.derivative.len() + x.len(), 0.0),
        }
        drop(outputs);
        inputs.clear();
        let _ = SPARE_INPUTS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if inputs.capacity() > spare.capacity() {
                *spare = inputs;
            }
        });
        drop(session);
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("graph_nodes", nodes)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};
    use crate::test_programs::Shared;
    use crate::Real;

    /// sin(x0 x1) + x0 / x1 + exp(x0) ln(x1).
    struct Closed;
    impl Program for Closed {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (a, b) = (x[0].clone(), x[1].clone());
            outputs![(a.clone() * b.clone()).sin() + a.clone() / b.clone() + a.exp() * b.ln()]
        }
    }

    fn closed_form(a: f64, b: f64) -> Vec<f64> {
        let c = (a * b).cos();
        vec![
            b * c + 1.0 / b + a.exp() * b.ln(),
            a * c - a / (b * b) + a.exp() / b,
        ]
    }

    fn assert_near(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-13 * w.abs().max(1.0),
                "{got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn gradient_matches_the_closed_form() {
        let r = PeerAdTrait::vjp(&Closed, &[0.7, 1.3], &[1.0]);
        assert_near(&r.gradient.unwrap(), &closed_form(0.7, 1.3));
        // 2 inputs, mul, sin, div, add, exp, ln, mul, add.
        assert_eq!(r.counters.get("graph_nodes"), Some(10));
    }

    #[test]
    fn gradients_in_a_row_start_from_an_empty_graph() {
        let first = PeerAdTrait::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        let second = PeerAdTrait::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(first.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
        assert_eq!(second.gradient, first.gradient);
        assert_eq!(second.counters, first.counters);
        assert_eq!(GlobalComputationGraph::get().num_nodes(), 0);
    }

    /// ((x + 2) * 3 - 1) / 4 + constant(5) * x - x + (constant(2) * constant(3)).
    struct Mixed;
    impl Program for Mixed {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let a = x[0].clone();
            let c = R::constant(2.0) * R::constant(3.0);
            outputs![((a.clone() + 2.0) * 3.0 - 1.0) / 4.0 + R::constant(5.0) * a.clone() - a + c]
        }
    }

    #[test]
    fn mixed_constant_arithmetic() {
        let r = PeerAdTrait::vjp(&Mixed, &[0.5], &[1.0]);
        assert_eq!(r.value, vec![(2.5 * 3.0 - 1.0) / 4.0 + 2.5 - 0.5 + 6.0]);
        assert_near(&r.gradient.unwrap(), &[0.75 + 5.0 - 1.0]);
        // 1 input, 4 mixed ops, constant * x, add, sub, + c: constants have no node.
        assert_eq!(r.counters.get("graph_nodes"), Some(9));
    }

    /// (x0 x1, sin x0, x1, 7): four outputs, the last a constant.
    struct FourOutputs;
    impl Program for FourOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            4
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![
                x[0].clone() * x[1].clone(),
                x[0].sin(),
                x[1].clone(),
                R::constant(7.0)
            ]
        }
    }

    #[test]
    fn a_cotangent_combines_the_outputs_and_the_jacobian_has_every_row() {
        let (a, b) = (0.3, 2.0);
        let r = PeerAdTrait::vjp(&FourOutputs, &[a, b], &[2.0, -1.0, 0.5, 3.0]);
        assert_near(&r.gradient.unwrap(), &[2.0 * b - a.cos(), 2.0 * a + 0.5]);
        let zero = PeerAdTrait::vjp(&FourOutputs, &[a, b], &[0.0; 4]);
        assert_eq!(zero.gradient, Some(vec![0.0, 0.0]));
        let j = PeerAdTrait::jacobian(&FourOutputs, &[a, b]);
        assert_eq!(
            j.rows,
            Some(vec![
                vec![b, a],
                vec![a.cos(), 0.0],
                vec![0.0, 1.0],
                vec![0.0, 0.0]
            ])
        );
    }

    /// Takes a gradient inside its program.
    struct Nested;
    impl Program for Nested {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let inner = PeerAdTrait::vjp(&Closed, &[x[0].value(), 2.0], &[1.0]);
            outputs![x[0].square() * inner.gradient.unwrap()[1]]
        }
    }

    #[test]
    fn a_nested_gradient_panics_and_leaves_no_state_behind() {
        let nested = std::panic::catch_unwind(|| PeerAdTrait::vjp(&Nested, &[0.5], &[1.0]));
        let message = nested.unwrap_err();
        let message = message.downcast_ref::<&str>().unwrap();
        assert!(
            message.contains("nested gradients are not supported"),
            "{message}"
        );
        assert_eq!(GlobalComputationGraph::get().num_nodes(), 0);
        let r = PeerAdTrait::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![7.0, 4.0, 3.0, 0.0]));
    }

    #[test]
    fn gradients_on_four_threads_do_not_interfere() {
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for k in 0..100 {
                        let (a, b) = (0.01 * k as f64, 1.0 + t as f64);
                        let r = PeerAdTrait::vjp(&Closed, &[a, b], &[1.0]);
                        assert_near(&r.gradient.unwrap(), &closed_form(a, b));
                    }
                });
            }
        });
    }
}
