//! `tape-par`: the tape's answer to the JFP 2025 paper's parallel reverse pass — a tape per
//! job of the fork-join program's job graph, swept in parallel over that graph.
//!
//! The question this strategy lets dualbench answer is whether dual numbers buy anything for
//! parallelism that a tape cannot have. It differs from [`dualrev_par`](crate::dualrev_par)
//! exactly where [`tape`](crate::tape) differs from [`dualrev`](crate::dualrev), and nowhere
//! else:
//!
//! - **The same forward pass.** Each job of the job graph (a stretch of sequential execution
//!   between forks and joins, see `dualrev_par`) records on its own tape: the job's header and
//!   partial streams, in the entry format `tape` writes (`arena.rs`). A value is its primal,
//!   its slot — (job, index) — and its job's generation, 24 bytes and `Copy`, as a `tape`
//!   value is its primal, slot and generation. The tapes are linked at forks and joins by the
//!   job graph; a value of another job enters a tape through an import entry, which names the
//!   foreign slot. `dualrev-par` and `tape-par` therefore record the same words for the same
//!   program, and the scalar type is shared.
//! - **The tape's reverse pass.** Each job's tape is swept from its last entry to its first,
//!   and every entry whose adjoint is not zero is applied (`adj[operand] += partial *
//!   adj[entry]`), as `tape` sweeps; there is no reached flag. `dualrev-par` instead resolves
//!   only the IDs that a reached flag marks, as `dualrev` does. The job graph is swept in the
//!   same parallel order: a job after every job that uses its values (the continuation of a
//!   join before its two branches, which are swept in parallel, and both before the job that
//!   forked them); imports add into another job's slot atomically.
//!
//! So on this representation dual numbers buy nothing for parallelism that a tape lacks: once
//! the paper's optimisations have turned backpropagators into records in ID order, the
//! parallel extension is a property of the job graph, and a tape per job gets it too. What is
//! left to measure is the cost of the two sweeps, and that they scale alike.
//!
//! # Counters
//!
//! - `tape_entries`, `entries_swept`, `edges_applied`, `sweeps`: as [`tape`](crate::tape)'s,
//!   summed over the jobs' tapes (import entries are not counted). Every entry of every job is
//!   swept, once per sweep;
//! - `jobs`, `atomic_adds`, `atomic_retries`: as `dualrev-par`'s;
//! - `work_forward`, `span_forward`, `work_reverse`, `span_reverse`: the work (summed over
//!   jobs) and the span (the heaviest path through the job graph) of the forward pass, in
//!   entries written plus inputs lifted, and of the reverse passes, in entries swept.
//!   work / span is the parallelism the program allows on any number of threads
//!   (`docs/parallel.md`).
//!
//! # Example
//!
//! ```
//! use strategies::tape_par::TapePar;
//! use strategies::{outputs, Outputs, ParProgram, ParReal, ParStrategy};
//!
//! /// sin(x0) * cos(x1), the factors computed in the two branches of a join.
//! struct ForkedProduct;
//! impl ParProgram for ForkedProduct {
//!     fn input_len(&self) -> usize {
//!         2
//!     }
//!     fn output_len(&self) -> usize {
//!         1
//!     }
//!     fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
//!         let (a, b) = R::join(|| x[0].clone().sin(), || x[1].clone().cos());
//!         outputs![a * b]
//!     }
//! }
//!
//! let d = TapePar::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0]);
//! let gradient = d.gradient.expect("a gradient");
//! let expected = [0.5f64.cos() * 0.25f64.cos(), -(0.5f64.sin() * 0.25f64.sin())];
//! assert!((gradient[0] - expected[0]).abs() < 1e-15);
//! assert!((gradient[1] - expected[1]).abs() < 1e-15);
//! // The root job (the 2 inputs), two branches (an import of their input and sin or cos:
//! // 2 entries each) and the continuation (two imports and the product: 3). The forward
//! // pass's span is the root, one branch and the continuation; the reverse pass visits the
//! // same jobs but not the inputs.
//! assert_eq!(d.counters.get("jobs"), Some(4));
//! assert_eq!(d.counters.get("work_forward"), Some(2 + 2 + 2 + 3));
//! assert_eq!(d.counters.get("span_forward"), Some(2 + 2 + 3));
//! assert_eq!(d.counters.get("work_reverse"), Some(2 + 2 + 3));
//! assert_eq!(d.counters.get("span_reverse"), Some(2 + 3));
//! ```

use crate::dualrev_par::{job_graph_jacobian, job_graph_vjp, DualrevPar};
use crate::program::{Derivatives, ParProgram, ParStrategy, Probe, Program, Strategy};

/// A tape per job, swept in parallel over the job graph (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct TapePar;

impl TapePar {
    /// The counters whose value depends on how the threads were scheduled; every other counter
    /// is the same for every thread count and every run.
    pub const SCHEDULE_DEPENDENT_COUNTERS: &'static [&'static str] =
        DualrevPar::SCHEDULE_DEPENDENT_COUNTERS;
}

impl Strategy for TapePar {
    const NAME: &'static str = "tape-par";
    const DESCRIPTION: &'static str =
        "task-parallel tape: a tape per job of the fork-join graph, swept in parallel with atomic adds: O(T + jobs)";
    const COUNTERS: &'static [&'static str] = &[
        "tape_entries",
        "entries_swept",
        "edges_applied",
        "sweeps",
        "jobs",
        "atomic_adds",
        "atomic_retries",
        "work_forward",
        "span_forward",
        "work_reverse",
        "span_reverse",
    ];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_vjp::<true, _, _>(
            shape,
            x,
            cotangent,
            |inputs| program.eval(inputs),
            out,
            probe,
        );
    }

    /// One forward pass, the jobs' tapes swept once per output.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_jacobian::<true, _, _>(shape, x, |inputs| program.eval(inputs), out, probe);
    }
}

impl ParStrategy for TapePar {
    const PARALLEL: bool = true;

    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_vjp::<true, _, _>(
            shape,
            x,
            cotangent,
            |inputs| program.eval(inputs),
            out,
            probe,
        );
    }

    /// One forward pass, the jobs' tapes swept once per output.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_jacobian::<true, _, _>(shape, x, |inputs| program.eval(inputs), out, probe);
    }
}
