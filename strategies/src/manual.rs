//! `manual`: hand-written adjoints, the floor — not AD.
//!
//! A workload may define its vector-Jacobian product by hand, on plain `f64`
//! ([`HandAdjoint`], offered through [`Program::hand_adjoint`]): the primal outputs and
//! w^T J, derived on paper from the program's definition and written out as loops, with no
//! scalar type, no tape, no graph and no allocation in a warm call. That is the cheap-gradient
//! limit a careful programmer reaches (GradBench's `manual` tool plays the same role), and so
//! the line no AD strategy can be expected to go below: `tape / manual` is an AD tool's
//! distance to the floor.
//!
//! **Availability.** `manual` runs exactly the programs that have an adjoint;
//! [`Strategy::why_unavailable`] says "no hand-written adjoint" for the others, and the
//! harness skips those cases with that reason. Calling it on such a program anyway panics
//! with the same words.
//!
//! **Algorithm.** One call of the adjoint per product: it evaluates the program and
//! propagates the cotangent backwards through the operations it just did, in whatever form the
//! derivation gives (a closed form for `fdotprod`, the RK4 steps reversed for `ode`, ...;
//! each workload's documentation states its derivation). A Jacobian is m products
//! ([`crate::program::jacobian_by_rows`]), each re-evaluating the program. The adjoint's scratch
//! memory is a vector kept in a thread-local between gradients, as `tape` keeps its blocks:
//! a warm gradient allocates nothing. The adjoint does the primal and the reverse work in one
//! call, so the phase split is not meaningful: all of its time is reported as the forward
//! phase.
//!
//! **Counters.**
//!
//! | counter | definition |
//! |---|---|
//! | `vjp_calls` | calls of the hand-written adjoint: 1 per product, m per Jacobian |

use std::cell::Cell;

use crate::program::{check_lengths, Derivatives, HandAdjoint, Probe, Program, Strategy};

thread_local! {
    /// The adjoints' scratch memory on this thread, between gradients. A call takes it and
    /// puts it back, so a nested gradient (inside a program run by another strategy) gets an
    /// empty one rather than the outer call's.
    static WORKSPACE: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
}

/// Why `manual` cannot run a program without a hand-written adjoint.
pub const NO_HAND_ADJOINT: &str = "no hand-written adjoint";

/// Hand-written adjoints on `f64`: the floor below every AD strategy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Manual;

impl Manual {
    /// The program's adjoint; panics (with [`NO_HAND_ADJOINT`]) if it has none.
    fn adjoint_of<P: Program>(program: &P) -> &dyn HandAdjoint {
        match program.hand_adjoint() {
            Some(adjoint) => adjoint,
            None => panic!("`manual` cannot run this program: {NO_HAND_ADJOINT}"),
        }
    }
}

impl Strategy for Manual {
    const NAME: &'static str = "manual";
    const DESCRIPTION: &'static str =
        "hand-written adjoint on f64, not AD: the floor, on the workloads that define one";
    const COUNTERS: &'static [&'static str] = &["vjp_calls"];

    fn why_unavailable<P: Program>(program: &P) -> Option<&'static str> {
        program.hand_adjoint().is_none().then_some(NO_HAND_ADJOINT)
    }

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let (n, m) = (program.input_len(), program.output_len());
        check_lengths(n, m, x, cotangent);
        let adjoint = Self::adjoint_of(program);
        probe.forward_starts();
        out.value.clear();
        out.value.resize(m, 0.0);
        let start = out.derivative.len();
        out.derivative.resize(start + n, 0.0);
        let mut workspace = WORKSPACE.take();
        adjoint.vjp(
            x,
            cotangent,
            &mut out.value,
            &mut out.derivative[start..],
            &mut workspace,
        );
        WORKSPACE.set(workspace);
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("vjp_calls", 1)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, scratch, Outputs};
    use crate::real::Real;
    use crate::tape::Tape;

    /// (x0 x1, sin x0): two outputs, with its adjoint.
    struct ProductAndSine;

    impl Program for ProductAndSine {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![x[0].clone() * x[1].clone(), x[0].sin()]
        }
        fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
            Some(self)
        }
    }

    impl HandAdjoint for ProductAndSine {
        fn vjp(
            &self,
            x: &[f64],
            w: &[f64],
            value: &mut [f64],
            gradient: &mut [f64],
            workspace: &mut Vec<f64>,
        ) {
            // The workspace is used only to show that it is handed on between calls.
            let cosine = scratch(workspace, 1);
            cosine[0] = x[0].cos();
            value[0] = x[0] * x[1];
            value[1] = x[0].sin();
            gradient[0] += w[0] * x[1] + w[1] * cosine[0];
            gradient[1] += w[0] * x[0];
        }
    }

    /// x0 + x1, without an adjoint.
    struct Sum;

    impl Program for Sum {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            outputs![x[0].clone() + x[1].clone()]
        }
    }

    #[test]
    fn a_product_is_one_adjoint_call_and_a_jacobian_one_per_output() {
        let x = [0.5, 3.0];
        let vjp = Manual::vjp(&ProductAndSine, &x, &[2.0, -1.0]);
        assert_eq!(vjp.value, vec![1.5, 0.5f64.sin()]);
        assert_eq!(
            vjp.gradient,
            Some(vec![2.0 * 3.0 - 0.5f64.cos(), 2.0 * 0.5])
        );
        assert_eq!(vjp.counters.get("vjp_calls"), Some(1));

        let jacobian = Manual::jacobian(&ProductAndSine, &x);
        let tape = Tape::jacobian(&ProductAndSine, &x);
        assert_eq!(jacobian.rows, tape.rows);
        assert_eq!(jacobian.value, tape.value);
        assert_eq!(jacobian.counters.get("vjp_calls"), Some(2));
    }

    #[test]
    fn a_program_without_an_adjoint_is_unavailable_with_a_reason() {
        assert_eq!(Manual::why_unavailable(&Sum), Some(NO_HAND_ADJOINT));
        assert_eq!(Manual::why_unavailable(&ProductAndSine), None);
        assert_eq!(Tape::why_unavailable(&Sum), None);
        let panic = std::panic::catch_unwind(|| Manual::vjp(&Sum, &[1.0, 2.0], &[1.0]))
            .expect_err("no adjoint");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains(NO_HAND_ADJOINT), "{message}");
    }
}
