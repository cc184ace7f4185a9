//! The one place a strategy is registered: [`StrategyKind`] names every strategy and dispatches
//! to its [`Strategy`] implementation. Everything that iterates over strategies (the CLI's
//! `list`, `verify`, the shared property tests) goes through [`StrategyKind::ALL`], so a new
//! strategy added to the `strategies!` invocation below is picked up everywhere.

use std::time::Duration;

use crate::op_count::{count_ops, OpCount};
use crate::program::{Derivatives, Jacobian, Phases, Program, Recorder, Strategy, Vjp};
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

macro_rules! strategies {
    ($($(#[cfg($cfg:meta)])? $(#[doc = $doc:literal])* $variant:ident => $ty:ty, $cost:expr;)*) => {
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
        }
    };
}

strategies! {
    /// f64, no derivative.
    Primal => crate::primal::Primal, CostClass::Primal;
    /// Dual numbers, one pass per input.
    Forward => crate::forward::Forward, CostClass::Dense;
    /// Dual numbers with a vector tangent.
    ForwardVec => crate::forward_vec::ForwardVec, CostClass::Dense;
    /// Wengert-list reverse AD.
    Tape => crate::tape::Tape, CostClass::Linear;
    /// Rung 0: backpropagator closures with dense cotangents.
    Naive => crate::naive::Naive, CostClass::Paths;
    /// Rung 1: Contrib data with IDs and a functional collector.
    Staged => crate::staged::Staged, CostClass::Dense;
    /// Rung 2: Cayley-transformed backpropagators, immutable accumulator.
    Cayley => crate::cayley::Cayley, CostClass::Dense;
    /// Rung 3: sparse collector.
    Sparse => crate::sparse::Sparse, CostClass::LogLinear;
    /// Rung 4: the optimised algorithm with mutable arrays.
    Dualrev => crate::dualrev::Dualrev, CostClass::Linear;
    #[cfg(feature = "peer-xad")]
    /// xad-rs: a thread-local tape of adjoint reals.
    PeerXad => crate::peers::xad::PeerXad, CostClass::Linear;
    #[cfg(feature = "peer-echidna")]
    /// echidna: its reverse-mode tape.
    PeerEchidna => crate::peers::echidna::PeerEchidna, CostClass::Linear;
    #[cfg(feature = "peer-reverse")]
    /// reverse: a tape of variables borrowed from it.
    PeerReverse => crate::peers::reverse::PeerReverse, CostClass::Linear;
    #[cfg(feature = "peer-easy-ml")]
    /// easy-ml: its reverse-mode `Record` on a `WengertList`.
    PeerEasyMl => crate::peers::easy_ml::PeerEasyMl, CostClass::Linear;
    #[cfg(feature = "peer-ad-trait")]
    /// ad_trait: its reverse-mode `adr` type.
    PeerAdTrait => crate::peers::ad_trait::PeerAdTrait, CostClass::Linear;
    #[cfg(feature = "peer-num-dual")]
    /// num-dual: dual numbers with 8 tangents, n / 8 passes.
    PeerNumDual => crate::peers::num_dual::PeerNumDual, CostClass::Dense;
    #[cfg(feature = "peer-autodiff")]
    /// autodiff: forward-mode dual numbers, one pass per input.
    PeerAutodiff => crate::peers::autodiff::PeerAutodiff, CostClass::Dense;
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
    /// n, the number of inputs.
    fn input_len(&self) -> usize;
    /// m, the number of outputs.
    fn output_len(&self) -> usize;
    /// The outputs on plain `f64` (used by finite differences).
    fn primal(&self, x: &[f64]) -> Vec<f64>;
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
}

impl<P: Program + Send + Sync> DynProgram for P {
    fn input_len(&self) -> usize {
        Program::input_len(self)
    }
    fn output_len(&self) -> usize {
        Program::output_len(self)
    }
    fn primal(&self, x: &[f64]) -> Vec<f64> {
        self.eval(x).to_vec()
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
