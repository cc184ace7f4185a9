//! The work caps of `verify`, `grad` and `gradbench`: a case is refused before it starts when
//! its predicted work is beyond a cap (see the [`crate::verify`] documentation, "Caps"). One
//! prediction serves them all ([`work`]); `verify` and `grad`, whose sizes are bounded, cap
//! only the strategies whose work runs away ([`is_capped`]); `gradbench`, whose inputs are
//! not, caps every strategy with the same prediction.

use strategies::op_count::OpCount;
use strategies::{CostClass, StrategyKind};

/// Largest predicted work (see the module documentation) at which a `paths` or `dense`
/// strategy is still run: about a second for the slowest of them in a release build.
pub const WORK_CAP: f64 = 2e7;

/// Largest (4n + 1) * T at which finite differences are computed.
pub const FD_WORK_CAP: f64 = 2e8;

/// The predicted work of `m` vector-Jacobian products under `strategy` (the full Jacobian
/// when m is the number of outputs): m times [`StrategyKind::predicted_work`].
pub fn work(strategy: StrategyKind, count: &OpCount, n: usize, m: usize) -> f64 {
    strategy.predicted_work(count, n) * m as f64
}

/// Whether `strategy`'s work can run away at the sizes `verify` and `grad` accept: the dense
/// and path-counting strategies (work n T and paths); the primal, linear and log-linear ones
/// (T, T log T) always finish there.
pub fn is_capped(strategy: StrategyKind) -> bool {
    match strategy.cost_class() {
        CostClass::Paths | CostClass::Dense => true,
        CostClass::Primal | CostClass::Linear | CostClass::LogLinear => false,
    }
}

/// `verify`'s and `grad`'s prediction: the [`work`] of a capped strategy ([`is_capped`]),
/// `None` for the strategies that always run.
pub fn predicted_work(strategy: StrategyKind, count: &OpCount, n: usize, m: usize) -> Option<f64> {
    is_capped(strategy).then(|| work(strategy, count, n, m))
}

/// Whether `work` is beyond `cap`, 0 meaning no cap: the one test of every cap.
pub fn beyond(work: f64, cap: f64) -> bool {
    cap > 0.0 && work > cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_work_caps_only_paths_and_dense_strategies() {
        let count = OpCount {
            ops: 10,
            naive_calls: 1e6,
        };
        // m = 2 vector-Jacobian products of (n + 1) max(paths, T + n), resp. (n + 1)(T + n).
        assert_eq!(
            predicted_work(StrategyKind::Naive, &count, 3, 2),
            Some(2.0 * 4.0 * 1e6)
        );
        assert_eq!(
            predicted_work(StrategyKind::Forward, &count, 3, 2),
            Some(2.0 * 4.0 * 13.0)
        );
        assert_eq!(predicted_work(StrategyKind::Dualrev, &count, 3, 2), None);
        assert_eq!(predicted_work(StrategyKind::Primal, &count, 3, 2), None);
    }

    #[test]
    fn every_strategy_has_a_work_and_exactly_the_dense_and_path_counting_are_capped() {
        let count = OpCount {
            ops: 10,
            naive_calls: 1e6,
        };
        for &strategy in StrategyKind::ALL {
            let capped = matches!(strategy.cost_class(), CostClass::Dense | CostClass::Paths);
            assert_eq!(is_capped(strategy), capped, "{}", strategy.name());
            assert_eq!(
                predicted_work(strategy, &count, 3, 2).is_some(),
                capped,
                "{}",
                strategy.name()
            );
            // The linear strategies' work is T + n per product.
            if strategy.cost_class() == CostClass::Linear {
                assert_eq!(work(strategy, &count, 3, 2), 2.0 * 13.0);
            }
            assert!(work(strategy, &count, 3, 2) >= 2.0 * 13.0);
        }
    }

    #[test]
    fn a_cap_of_zero_is_no_cap() {
        assert!(beyond(2.0, 1.0));
        assert!(!beyond(1.0, 1.0));
        assert!(!beyond(f64::INFINITY, 0.0));
        assert!(beyond(f64::INFINITY, 1e300));
    }
}
