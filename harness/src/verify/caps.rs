//! The work caps of `verify`: slow strategies run only where they finish in seconds (see the
//! [`crate::verify`] documentation, "Caps").

use strategies::op_count::OpCount;
use strategies::{CostClass, StrategyKind};

/// Largest predicted work (see the module documentation) at which a `paths` or `dense`
/// strategy is still run: about a second for the slowest of them in a release build.
pub const WORK_CAP: f64 = 2e7;

/// Largest (4n + 1) * T at which finite differences are computed.
pub const FD_WORK_CAP: f64 = 2e8;

/// The predicted work of `strategy` for the full Jacobian (m vector-Jacobian products, see
/// the module documentation), or `None` for strategies that always run.
pub fn predicted_work(strategy: StrategyKind, count: &OpCount, n: usize, m: usize) -> Option<f64> {
    match strategy.cost_class() {
        CostClass::Paths | CostClass::Dense => Some(strategy.predicted_work(count, n) * m as f64),
        CostClass::Primal | CostClass::Linear | CostClass::LogLinear => None,
    }
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
}
