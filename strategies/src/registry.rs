//! The one place a strategy is registered: [`StrategyKind`] names every strategy and dispatches
//! to its [`Strategy`] implementation. Everything that iterates over strategies (the CLI's
//! `list`, `verify`, the shared property tests) goes through [`StrategyKind::ALL`], so a new
//! strategy added to the `strategies!` invocation below is picked up everywhere.

use std::time::Duration;

use crate::hvp::Directional;
use crate::op_count::{count_ops, OpCount};
use crate::program::{
    Derivatives, Jacobian, ParProgram, ParStrategy, Phases, Program, Recorder, Strategy, Vjp,
};
use crate::timing;

/// How a strategy's cost grows, in the paper's terms: used to decide which cases a strategy can
/// finish (e.g. `verify` caps) and to group strategies in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CostClass {
    /// No derivative: the primal itself.
    Primal,
    /// O(T) per gradient: the correct complexity (tape, the optimised algorithm).
    Linear,
    /// O(T log T): correct up to a log factor (the sparse rung).
    LogLinear,
    /// O(n T): one pass per input (forward mode) or dense length-n cotangents (rungs 1-2).
    Dense,
    /// Exponential in the worst case: one backpropagator call per path (naive, rung 0).
    Paths,
}

/// Picks the fork-join or the sequential-twin expression for a strategy, by its registration's
/// mode: `par` strategies implement [`ParStrategy`] and run a fork-join program itself, `seq`
/// strategies run its sequential twin ([`ForkJoin`]).
macro_rules! by_mode {
    (par, $par:expr, $seq:expr) => {
        $par
    };
    (seq, $par:expr, $seq:expr) => {
        $seq
    };
}

macro_rules! strategies {
    ($($(#[cfg($cfg:meta)])? $(#[doc = $doc:literal])* $variant:ident => $ty:ty, $cost:expr, $mode:ident;)*) => {
        /// Every strategy dualbench knows, in the order they are listed.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum StrategyKind {
            $($(#[cfg($cfg)])? $(#[doc = $doc])* $variant,)*
        }

        impl StrategyKind {
            /// Every strategy, in listing order.
            pub const ALL: &'static [StrategyKind] = &[$($(#[cfg($cfg)])? StrategyKind::$variant,)*];

            /// The CLI name.
            pub fn name(self) -> &'static str {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => <$ty as Strategy>::NAME,)* }
            }

            /// One line: representation and cost.
            pub fn description(self) -> &'static str {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => <$ty as Strategy>::DESCRIPTION,)* }
            }

            /// The names of the counters it reports, in reporting order.
            pub fn counter_names(self) -> &'static [&'static str] {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => <$ty as Strategy>::COUNTERS,)* }
            }

            /// How its cost grows.
            pub fn cost_class(self) -> CostClass {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => $cost,)* }
            }

            /// Why it cannot run `program`, if it cannot ([`Strategy::why_unavailable`]:
            /// `manual` on a program without a hand-written adjoint).
            pub fn why_unavailable<P: Program>(self, program: &P) -> Option<&'static str> {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => <$ty as Strategy>::why_unavailable(program),)* }
            }

            /// One vector-Jacobian product of `program` at `x` with output cotangent `w`.
            pub fn vjp<P: Program>(self, program: &P, x: &[f64], w: &[f64]) -> Vjp {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => <$ty as Strategy>::vjp(program, x, w),)* }
            }

            /// The full Jacobian of `program` at `x`.
            pub fn jacobian<P: Program>(self, program: &P, x: &[f64]) -> Jacobian {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => <$ty as Strategy>::jacobian(program, x),)* }
            }

            /// One gradient of the case ([`timing::gradient_into`]) observed by `recorder`.
            pub fn gradient_recorded<P: Program>(
                self,
                program: &P,
                x: &[f64],
                out: &mut Derivatives,
                recorder: &mut Recorder,
            ) {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => {
                        timing::gradient_into::<$ty, P, _>(program, x, out, recorder)
                    })*
                }
            }

            /// [`timing::time_gradients`] under this strategy.
            pub fn time_gradients<P: Program>(
                self,
                program: &P,
                x: &[f64],
                samples: usize,
                batch: u64,
            ) -> Vec<Duration> {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => {
                        timing::time_gradients::<$ty, P>(program, x, samples, batch)
                    })*
                }
            }

            /// [`timing::time_phases`] under this strategy.
            pub fn time_phases<P: Program>(
                self,
                program: &P,
                x: &[f64],
                samples: usize,
                batch: u64,
            ) -> Vec<Phases> {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => {
                        timing::time_phases::<$ty, P>(program, x, samples, batch)
                    })*
                }
            }

            /// Whether it runs fork-join programs as such ([`ParStrategy`]); the others run
            /// their sequential twin ([`ForkJoin`]).
            pub fn runs_fork_join(self) -> bool {
                match self { $($(#[cfg($cfg)])? StrategyKind::$variant => by_mode!($mode, true, false),)* }
            }

            /// Whether its time on a fork-join program depends on the thread count: its `join`
            /// may run the two branches in parallel ([`ParStrategy::PARALLEL`]).
            pub fn is_parallel(self) -> bool {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => {
                        by_mode!($mode, <$ty as ParStrategy>::PARALLEL, false)
                    })*
                }
            }

            /// [`StrategyKind::vjp`] of a fork-join program.
            pub fn fork_join_vjp<P: ParProgram + Program>(self, program: &P, x: &[f64], w: &[f64]) -> Vjp {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => by_mode!(
                        $mode,
                        <$ty as ParStrategy>::par_vjp(program, x, w),
                        <$ty as Strategy>::vjp(program, x, w)
                    ),)*
                }
            }

            /// [`StrategyKind::jacobian`] of a fork-join program.
            pub fn fork_join_jacobian<P: ParProgram + Program>(self, program: &P, x: &[f64]) -> Jacobian {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => by_mode!(
                        $mode,
                        <$ty as ParStrategy>::par_jacobian(program, x),
                        <$ty as Strategy>::jacobian(program, x)
                    ),)*
                }
            }

            /// [`StrategyKind::gradient_recorded`] of a fork-join program.
            pub fn fork_join_gradient_recorded<P: ParProgram + Program>(
                self,
                program: &P,
                x: &[f64],
                out: &mut Derivatives,
                recorder: &mut Recorder,
            ) {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => by_mode!(
                        $mode,
                        timing::par_gradient_into::<$ty, P, _>(program, x, out, recorder),
                        timing::gradient_into::<$ty, P, _>(program, x, out, recorder)
                    ),)*
                }
            }

            /// [`StrategyKind::time_gradients`] of a fork-join program.
            pub fn fork_join_time_gradients<P: ParProgram + Program>(
                self,
                program: &P,
                x: &[f64],
                samples: usize,
                batch: u64,
            ) -> Vec<Duration> {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => by_mode!(
                        $mode,
                        timing::time_par_gradients::<$ty, P>(program, x, samples, batch),
                        timing::time_gradients::<$ty, P>(program, x, samples, batch)
                    ),)*
                }
            }

            /// [`StrategyKind::time_phases`] of a fork-join program.
            pub fn fork_join_time_phases<P: ParProgram + Program>(
                self,
                program: &P,
                x: &[f64],
                samples: usize,
                batch: u64,
            ) -> Vec<Phases> {
                match self {
                    $($(#[cfg($cfg)])? StrategyKind::$variant => by_mode!(
                        $mode,
                        timing::time_par_phases::<$ty, P>(program, x, samples, batch),
                        timing::time_phases::<$ty, P>(program, x, samples, batch)
                    ),)*
                }
            }
        }
    };
}

strategies! {
    /// f64, no derivative.
    Primal => crate::primal::Primal, CostClass::Primal, par;
    /// Dual numbers, one pass per input.
    Forward => crate::forward::Forward, CostClass::Dense, par;
    /// Dual numbers with a vector tangent.
    ForwardVec => crate::forward_vec::ForwardVec, CostClass::Dense, seq;
    /// Wengert-list reverse AD.
    Tape => crate::tape::Tape, CostClass::Linear, par;
    /// Rung 0: backpropagator closures with dense cotangents.
    Naive => crate::naive::Naive, CostClass::Paths, seq;
    /// Rung 1: Contrib data with IDs and a functional collector.
    Staged => crate::staged::Staged, CostClass::Dense, seq;
    /// Rung 2: Cayley-transformed backpropagators, immutable accumulator.
    Cayley => crate::cayley::Cayley, CostClass::Dense, seq;
    /// Rung 3: sparse collector.
    Sparse => crate::sparse::Sparse, CostClass::LogLinear, seq;
    /// Rung 4: the optimised algorithm with mutable arrays.
    Dualrev => crate::dualrev::Dualrev, CostClass::Linear, seq;
    /// The task-parallel optimised algorithm: job IDs, parallel reverse pass.
    DualrevPar => crate::dualrev_par::DualrevPar, CostClass::Linear, par;
    /// The task-parallel tape: a tape per job, swept in parallel over the job graph.
    TapePar => crate::tape_par::TapePar, CostClass::Linear, par;
    /// Hand-written adjoints on f64: the floor, where a workload defines one.
    Manual => crate::manual::Manual, CostClass::Linear, seq;
    #[cfg(feature = "peer-xad")]
    /// xad-rs: a thread-local tape of adjoint reals.
    PeerXad => crate::peers::xad::PeerXad, CostClass::Linear, seq;
    #[cfg(feature = "peer-echidna")]
    /// echidna: its reverse-mode tape.
    PeerEchidna => crate::peers::echidna::PeerEchidna, CostClass::Linear, seq;
    #[cfg(feature = "peer-reverse")]
    /// reverse: a tape of variables borrowed from it.
    PeerReverse => crate::peers::reverse::PeerReverse, CostClass::Linear, seq;
    #[cfg(feature = "peer-easy-ml")]
    /// easy-ml: its reverse-mode `Record` on a `WengertList`.
    PeerEasyMl => crate::peers::easy_ml::PeerEasyMl, CostClass::Linear, seq;
    #[cfg(feature = "peer-ad-trait")]
    /// ad_trait: its reverse-mode `adr` type.
    PeerAdTrait => crate::peers::ad_trait::PeerAdTrait, CostClass::Linear, seq;
    #[cfg(feature = "peer-num-dual")]
    /// num-dual: dual numbers with 8 tangents, n / 8 passes.
    PeerNumDual => crate::peers::num_dual::PeerNumDual, CostClass::Dense, seq;
    #[cfg(feature = "peer-autodiff")]
    /// autodiff: forward-mode dual numbers, one pass per input.
    PeerAutodiff => crate::peers::autodiff::PeerAutodiff, CostClass::Dense, seq;
}

impl StrategyKind {
    /// Look a strategy up by its CLI name.
    pub fn from_name(name: &str) -> Option<StrategyKind> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// Whether it is one of the established crates ([`crate::peers`]) rather than dualbench's
    /// own.
    pub fn is_peer(self) -> bool {
        crate::peers::find(self.name()).is_some()
    }

    /// dualbench's own strategies (every registered strategy but the peers), in listing order.
    pub fn own() -> Vec<StrategyKind> {
        Self::ALL.iter().copied().filter(|s| !s.is_peer()).collect()
    }

    /// Whether it computes derivatives at all (everything but `primal`).
    pub fn differentiates(self) -> bool {
        self.cost_class() != CostClass::Primal
    }

    /// The predicted work of one vector-Jacobian product under this strategy, in abstract
    /// steps, from the case's [`OpCount`] and its number of inputs n. With t = T + n:
    ///
    /// | cost class | predicted work |
    /// |---|---|
    /// | primal, linear | t |
    /// | log-linear | t log2 t |
    /// | dense | (n + 1) t |
    /// | paths | (n + 1) max(naive calls, t) |
    ///
    /// The harness uses it to skip cases a strategy could not finish (`verify`'s caps,
    /// `check`'s `max_work`) before starting them.
    pub fn predicted_work(self, count: &OpCount, inputs: usize) -> f64 {
        let n = inputs as f64;
        let t = count.ops as f64 + n;
        match self.cost_class() {
            CostClass::Primal | CostClass::Linear => t,
            CostClass::LogLinear => t * t.log2().max(1.0),
            CostClass::Dense => (n + 1.0) * t,
            CostClass::Paths => count.naive_calls.max(t) * (n + 1.0),
        }
    }

    /// The CLI names of all strategies, comma separated (for error messages).
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A program at one size, with the strategy chosen at run time: the object-safe face of
/// [`Program`] that the harness holds (`Box<dyn DynProgram>`). Every `Program + Send + Sync`
/// is one.
pub trait DynProgram: Send + Sync {
    /// Whether it is a fork-join program ([`ForkJoin`]): its parallel strategies' times
    /// depend on the thread count.
    fn fork_join(&self) -> bool;
    /// n, the number of inputs.
    fn input_len(&self) -> usize;
    /// m, the number of outputs.
    fn output_len(&self) -> usize;
    /// The outputs on plain `f64` (used by finite differences).
    fn primal(&self, x: &[f64]) -> Vec<f64>;
    /// Why `strategy` cannot run it, if it cannot ([`StrategyKind::why_unavailable`]); the
    /// harness skips such cases with this reason.
    fn why_unavailable(&self, strategy: StrategyKind) -> Option<&'static str>;
    /// T and the predicted naive cost at `x`.
    fn op_count(&self, x: &[f64]) -> OpCount;
    /// One vector-Jacobian product under `strategy`.
    fn vjp(&self, strategy: StrategyKind, x: &[f64], cotangent: &[f64]) -> Vjp;
    /// The full Jacobian under `strategy`.
    fn jacobian(&self, strategy: StrategyKind, x: &[f64]) -> Jacobian;
    /// One gradient under `strategy`, observed by `recorder`
    /// ([`StrategyKind::gradient_recorded`]).
    fn gradient_recorded(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        out: &mut Derivatives,
        recorder: &mut Recorder,
    );
    /// A buffer with room for one gradient ([`timing::buffer_for`]).
    fn gradient_buffer(&self) -> Derivatives;
    /// Timed batches of gradients under `strategy` ([`StrategyKind::time_gradients`]).
    fn time_gradients(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Duration>;
    /// Batches of gradients with their phases timed ([`StrategyKind::time_phases`]).
    fn time_phases(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Phases>;
    /// Its directional derivative along `direction` ([`Directional`]), held the same way:
    /// its gradient is the Hessian-vector product, and every use of a `DynProgram` (timing,
    /// counters, T) applies to it.
    ///
    /// # Panics
    ///
    /// If `direction` does not have one entry per input.
    fn directional<'a>(&'a self, direction: &'a [f64]) -> Box<dyn DynProgram + 'a>;
}

impl<P: Program + Send + Sync> DynProgram for P {
    fn fork_join(&self) -> bool {
        false
    }
    fn input_len(&self) -> usize {
        Program::input_len(self)
    }
    fn output_len(&self) -> usize {
        Program::output_len(self)
    }
    fn primal(&self, x: &[f64]) -> Vec<f64> {
        self.eval(x).to_vec()
    }
    fn why_unavailable(&self, strategy: StrategyKind) -> Option<&'static str> {
        strategy.why_unavailable(self)
    }
    fn op_count(&self, x: &[f64]) -> OpCount {
        count_ops(self, x)
    }
    fn vjp(&self, strategy: StrategyKind, x: &[f64], cotangent: &[f64]) -> Vjp {
        strategy.vjp(self, x, cotangent)
    }
    fn jacobian(&self, strategy: StrategyKind, x: &[f64]) -> Jacobian {
        strategy.jacobian(self, x)
    }
    fn gradient_recorded(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        out: &mut Derivatives,
        recorder: &mut Recorder,
    ) {
        strategy.gradient_recorded(self, x, out, recorder);
    }
    fn gradient_buffer(&self) -> Derivatives {
        timing::buffer_for(self)
    }
    fn time_gradients(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Duration> {
        strategy.time_gradients(self, x, samples, batch)
    }
    fn time_phases(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Phases> {
        strategy.time_phases(self, x, samples, batch)
    }
    fn directional<'a>(&'a self, direction: &'a [f64]) -> Box<dyn DynProgram + 'a> {
        Box::new(SecondOrder(Directional::new(
            self,
            direction,
            Program::input_len(self),
        )))
    }
}

/// A fork-join program as the harness holds it: a [`ParProgram`] together with its sequential
/// twin, the same type's [`Program`] implementation.
///
/// Strategies that implement [`ParStrategy`] (`primal`, `forward`, `tape`, `dualrev-par`, `tape-par`) run
/// the fork-join program; the others, whose scalars cannot cross threads, run the twin. The
/// twin must perform the same primitive operations in the same order as the fork-join program
/// does when every `join` runs its first branch and then its second, so that every strategy
/// differentiates the same function and the counters of the two forms are comparable (the
/// claim that `dualrev-par` does `dualrev`'s work).
pub struct ForkJoin<P>(pub P);

impl<P: ParProgram + Program + Send + Sync> DynProgram for ForkJoin<P> {
    fn fork_join(&self) -> bool {
        true
    }
    fn input_len(&self) -> usize {
        Program::input_len(&self.0)
    }
    fn output_len(&self) -> usize {
        Program::output_len(&self.0)
    }
    fn primal(&self, x: &[f64]) -> Vec<f64> {
        Program::eval(&self.0, x).to_vec()
    }
    /// The strategies that run the fork-join form run every one; the others run the twin,
    /// and ask it.
    fn why_unavailable(&self, strategy: StrategyKind) -> Option<&'static str> {
        if strategy.runs_fork_join() {
            None
        } else {
            strategy.why_unavailable(&self.0)
        }
    }
    fn op_count(&self, x: &[f64]) -> OpCount {
        count_ops(&self.0, x)
    }
    fn vjp(&self, strategy: StrategyKind, x: &[f64], cotangent: &[f64]) -> Vjp {
        strategy.fork_join_vjp(&self.0, x, cotangent)
    }
    fn jacobian(&self, strategy: StrategyKind, x: &[f64]) -> Jacobian {
        strategy.fork_join_jacobian(&self.0, x)
    }
    fn gradient_recorded(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        out: &mut Derivatives,
        recorder: &mut Recorder,
    ) {
        strategy.fork_join_gradient_recorded(&self.0, x, out, recorder);
    }
    fn gradient_buffer(&self) -> Derivatives {
        timing::buffer_for(&self.0)
    }
    fn time_gradients(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Duration> {
        strategy.fork_join_time_gradients(&self.0, x, samples, batch)
    }
    fn time_phases(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Phases> {
        strategy.fork_join_time_phases(&self.0, x, samples, batch)
    }
    fn directional<'a>(&'a self, direction: &'a [f64]) -> Box<dyn DynProgram + 'a> {
        Box::new(SecondOrder(ForkJoin(Directional::new(
            &self.0,
            direction,
            Program::input_len(&self.0),
        ))))
    }
}

/// A directional-derivative program as [`DynProgram::directional`] hands it out: `D` (the
/// [`Directional`] of a program, or its [`ForkJoin`]) with every method forwarded to it, except
/// `directional` itself, which panics. Without this wrapper the held program's `directional`
/// would be the directional of a directional, and so on: the compiler would instantiate the
/// nesting without end. dualbench computes second derivatives, not third.
struct SecondOrder<D>(D);

impl<D: DynProgram> DynProgram for SecondOrder<D> {
    fn fork_join(&self) -> bool {
        self.0.fork_join()
    }
    fn input_len(&self) -> usize {
        self.0.input_len()
    }
    fn output_len(&self) -> usize {
        self.0.output_len()
    }
    fn primal(&self, x: &[f64]) -> Vec<f64> {
        self.0.primal(x)
    }
    fn why_unavailable(&self, strategy: StrategyKind) -> Option<&'static str> {
        self.0.why_unavailable(strategy)
    }
    fn op_count(&self, x: &[f64]) -> OpCount {
        self.0.op_count(x)
    }
    fn vjp(&self, strategy: StrategyKind, x: &[f64], cotangent: &[f64]) -> Vjp {
        self.0.vjp(strategy, x, cotangent)
    }
    fn jacobian(&self, strategy: StrategyKind, x: &[f64]) -> Jacobian {
        self.0.jacobian(strategy, x)
    }
    fn gradient_recorded(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        out: &mut Derivatives,
        recorder: &mut Recorder,
    ) {
        self.0.gradient_recorded(strategy, x, out, recorder);
    }
    fn gradient_buffer(&self) -> Derivatives {
        self.0.gradient_buffer()
    }
    fn time_gradients(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Duration> {
        self.0.time_gradients(strategy, x, samples, batch)
    }
    fn time_phases(
        &self,
        strategy: StrategyKind,
        x: &[f64],
        samples: usize,
        batch: u64,
    ) -> Vec<Phases> {
        self.0.time_phases(strategy, x, samples, batch)
    }
    fn directional<'a>(&'a self, _direction: &'a [f64]) -> Box<dyn DynProgram + 'a> {
        panic!(
            "a directional derivative has no directional derivative here: dualbench computes \
             second derivatives, not third"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_work_follows_each_cost_class() {
        let count = |naive_calls| OpCount {
            ops: 1000,
            naive_calls,
        };
        let n = 10;
        assert_eq!(StrategyKind::Dualrev.predicted_work(&count(1.0), n), 1010.0);
        assert_eq!(StrategyKind::Primal.predicted_work(&count(1.0), n), 1010.0);
        assert_eq!(
            StrategyKind::Forward.predicted_work(&count(1.0), n),
            11.0 * 1010.0
        );
        assert!(StrategyKind::Sparse.predicted_work(&count(1.0), n) > 1010.0 * 9.0);
        assert_eq!(
            StrategyKind::Naive.predicted_work(&count(1e9), n),
            1e9 * 11.0
        );
        assert_eq!(
            StrategyKind::Naive.predicted_work(&count(1.0), n),
            1010.0 * 11.0
        );
    }
}
