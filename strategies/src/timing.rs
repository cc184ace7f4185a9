//! The timed loops: gradients of one case, compiled for one (strategy, program) pair, so that
//! the timed region holds the gradients and nothing else.
//!
//! What a *gradient* of a case is: one vector-Jacobian product with cotangent `[1]` when the
//! program has one output, the full Jacobian (as the strategy computes it: m reverse passes, or
//! n forward passes) when it has several ([`gradient_into`]).
//!
//! [`time_gradients`] reads the clock once before and once after a batch of gradients; inside,
//! each gradient runs with the [`Silent`] probe (no clock, no counters), writes into one
//! [`Derivatives`] sized before the clock starts (no allocation of the caller's), and sees its
//! inputs through [`black_box`], so that the compiler can neither hoist the work out of the
//! loop nor drop it. The phases are timed by [`time_phases`], a separate loop with the
//! [`PhaseClock`] probe: its clock reads never enter a timed sample.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::program::{
    Derivatives, ParProgram, ParStrategy, PhaseClock, Phases, Probe, Program, Silent, Strategy,
};

/// One gradient of `program` at `x` under `S` into `out` (emptied first).
#[inline]
pub fn gradient_into<S: Strategy, P: Program, Q: Probe>(
    program: &P,
    x: &[f64],
    out: &mut Derivatives,
    probe: &mut Q,
) {
    out.clear();
    if program.output_len() == 1 {
        S::vjp_into(program, x, &[1.0], out, probe);
    } else {
        S::jacobian_into(program, x, out, probe);
    }
}

/// One gradient of the fork-join `program` at `x` under `S` into `out` (emptied first): the
/// [`gradient_into`] of [`ParProgram`]s.
#[inline]
pub fn par_gradient_into<S: ParStrategy, P: ParProgram, Q: Probe>(
    program: &P,
    x: &[f64],
    out: &mut Derivatives,
    probe: &mut Q,
) {
    out.clear();
    if program.output_len() == 1 {
        S::par_vjp_into(program, x, &[1.0], out, probe);
    } else {
        S::par_jacobian_into(program, x, out, probe);
    }
}

/// A buffer with room for one gradient of a program with `n` inputs and `m` outputs: its
/// values and its Jacobian.
pub fn buffer(n: usize, m: usize) -> Derivatives {
    Derivatives {
        value: Vec::with_capacity(m),
        derivative: Vec::with_capacity(n * m.max(1)),
    }
}

/// A buffer with room for one gradient of `program` ([`buffer`]).
pub fn buffer_for<P: Program>(program: &P) -> Derivatives {
    buffer(program.input_len(), program.output_len())
}

/// `samples` timed batches of `batch` gradients; returns each batch's wall time. Nothing is
/// computed before the first batch: a caller that wants a warm-up runs one first (the harness
/// runs a phase sample, [`time_phases`]).
pub fn time_gradients<S: Strategy, P: Program>(
    program: &P,
    x: &[f64],
    samples: usize,
    batch: u64,
) -> Vec<Duration> {
    let out = buffer_for(program);
    timed_batches(out, samples, batch, |out| {
        gradient_into::<S, P, _>(program, black_box(x), out, &mut Silent);
    })
}

/// [`time_gradients`] for a fork-join program.
pub fn time_par_gradients<S: ParStrategy, P: ParProgram>(
    program: &P,
    x: &[f64],
    samples: usize,
    batch: u64,
) -> Vec<Duration> {
    let out = buffer(program.input_len(), program.output_len());
    timed_batches(out, samples, batch, |out| {
        par_gradient_into::<S, P, _>(program, black_box(x), out, &mut Silent);
    })
}

/// The timed loop: the clock is read before and after each batch of `batch` calls of
/// `gradient`, which writes into the reused buffer `out`.
#[inline]
fn timed_batches(
    mut out: Derivatives,
    samples: usize,
    batch: u64,
    mut gradient: impl FnMut(&mut Derivatives),
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        for _ in 0..batch {
            gradient(&mut out);
            black_box(&mut out);
        }
        times.push(start.elapsed());
    }
    times
}

/// `samples` batches of `batch` gradients with the clock read at every phase boundary; returns
/// each batch's summed phases.
pub fn time_phases<S: Strategy, P: Program>(
    program: &P,
    x: &[f64],
    samples: usize,
    batch: u64,
) -> Vec<Phases> {
    let out = buffer_for(program);
    phased_batches(out, samples, batch, |out, clock| {
        gradient_into::<S, P, _>(program, black_box(x), out, clock);
    })
}

/// [`time_phases`] for a fork-join program.
pub fn time_par_phases<S: ParStrategy, P: ParProgram>(
    program: &P,
    x: &[f64],
    samples: usize,
    batch: u64,
) -> Vec<Phases> {
    let out = buffer(program.input_len(), program.output_len());
    phased_batches(out, samples, batch, |out, clock| {
        par_gradient_into::<S, P, _>(program, black_box(x), out, clock);
    })
}

/// The phase loop: each batch sums the phases its calls of `gradient` report to the clock.
fn phased_batches(
    mut out: Derivatives,
    samples: usize,
    batch: u64,
    mut gradient: impl FnMut(&mut Derivatives, &mut PhaseClock),
) -> Vec<Phases> {
    (0..samples)
        .map(|_| {
            let mut clock = PhaseClock::default();
            for _ in 0..batch {
                gradient(&mut out, &mut clock);
                black_box(&mut out);
            }
            clock.phases
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::dualrev::Dualrev;
    use crate::primal::Primal;
    use crate::program::{outputs, Outputs};
    use crate::real::Real;

    thread_local! {
        static EVALUATIONS: Cell<u64> = const { Cell::new(0) };
    }

    /// x0 * x1, counting its evaluations.
    struct CountedProduct;
    impl Program for CountedProduct {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            EVALUATIONS.with(|e| e.set(e.get() + 1));
            outputs![x[0].clone() * x[1].clone()]
        }
    }

    fn evaluations(f: impl FnOnce()) -> u64 {
        EVALUATIONS.with(|e| e.set(0));
        f();
        EVALUATIONS.with(Cell::get)
    }

    #[test]
    fn timed_batches_compute_exactly_their_gradients() {
        let x = [2.0, 3.0];
        let n = evaluations(|| {
            let times = time_gradients::<Dualrev, _>(&CountedProduct, &x, 3, 4);
            assert_eq!(times.len(), 3);
        });
        assert_eq!(n, 3 * 4);
    }

    #[test]
    fn phases_are_timed_in_their_own_batches() {
        let x = [2.0, 3.0];
        let n = evaluations(|| {
            let phases = time_phases::<Dualrev, _>(&CountedProduct, &x, 2, 5);
            assert_eq!(phases.len(), 2);
            assert!(phases.iter().all(|p| p.forward > Duration::ZERO));
        });
        assert_eq!(n, 2 * 5);
    }

    #[test]
    fn a_timed_primal_gradient_is_one_evaluation_written_into_the_reused_buffer() {
        let mut out = Derivatives::default();
        let n = evaluations(|| {
            gradient_into::<Primal, _, _>(&CountedProduct, &[2.0, 3.0], &mut out, &mut Silent)
        });
        assert_eq!(n, 1);
        assert_eq!(out.value, vec![6.0]);
        assert!(out.derivative.is_empty());
    }
}
