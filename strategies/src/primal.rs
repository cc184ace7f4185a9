//! `primal`: plain `f64`, no derivative — the baseline every overhead is measured against.
//!
//! The program runs once on the `f64` inputs themselves (nothing is lifted or copied) and its
//! outputs are read out. A Jacobian is also one evaluation: the primal has no rows to build,
//! so a case with several outputs is not charged m evaluations. Its only counter is
//! `forward_passes` (always 1). Its time is the denominator of
//! `overhead = gradient time / primal time`.

use crate::program::{
    check_inputs, check_lengths, Derivatives, Outputs, ParProgram, ParStrategy, Probe, Program,
    Strategy,
};

/// The primal baseline: the program on `f64`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Primal;

impl Primal {
    /// One evaluation, its values into `out.value`.
    #[inline]
    fn evaluate<Q: Probe>(
        eval: impl FnOnce(&[f64]) -> Outputs<f64>,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        probe.forward_starts();
        let outputs = eval(x);
        out.value.clear();
        out.value.extend_from_slice(&outputs);
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", 1)]);
        }
    }
}

impl Strategy for Primal {
    const NAME: &'static str = "primal";
    const DESCRIPTION: &'static str =
        "f64, value only: the baseline every overhead is measured against";
    const COUNTERS: &'static [&'static str] = &["forward_passes"];
    const DIFFERENTIATES: bool = false;

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        Self::evaluate(|x| program.eval(x), x, out, probe);
    }

    /// One evaluation, whatever m is.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.derivative.clear();
        Self::evaluate(|x| program.eval(x), x, out, probe);
    }
}

impl ParStrategy for Primal {
    /// `join` runs its branches as two rayon tasks inside a pool of more than one thread
    /// (the parallel primal, the denominator of a parallel gradient) and in order otherwise
    /// (the sequential primal).
    const PARALLEL: bool = true;

    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        Self::evaluate(|x| program.eval(x), x, out, probe);
    }

    /// One evaluation, whatever m is.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.derivative.clear();
        Self::evaluate(|x| program.eval(x), x, out, probe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::outputs;
    use crate::real::Real;
    use std::cell::Cell;

    thread_local! {
        static EVALUATIONS: Cell<u32> = const { Cell::new(0) };
    }

    /// Three outputs; counts its evaluations.
    struct ThreeOutputs;
    impl Program for ThreeOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            3
        }
        fn eval<R: Real>(&self, x: &[R]) -> crate::program::Outputs<R> {
            EVALUATIONS.with(|e| e.set(e.get() + 1));
            outputs![x[0].clone() * x[1].clone(), x[0].sin(), x[1].exp()]
        }
    }

    #[test]
    fn one_primal_evaluation_per_case_whatever_the_number_of_outputs() {
        EVALUATIONS.with(|e| e.set(0));
        let j = Primal::jacobian(&ThreeOutputs, &[2.0, 0.5]);
        assert_eq!(EVALUATIONS.with(Cell::get), 1);
        assert_eq!(j.value, vec![1.0, 2f64.sin(), 0.5f64.exp()]);
        assert_eq!(j.rows, None);
        assert_eq!(j.counters.get("forward_passes"), Some(1));
    }
}
