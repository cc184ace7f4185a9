//! Summary statistics of timing samples: median, extremes, and a distribution-free confidence
//! interval for the median.
//!
//! Timing samples are skewed (a noisy machine only ever adds time) and few, so the summary is
//! the median with an order-statistic interval rather than a mean with a normal interval: with
//! `n` sorted samples and `B ~ Binomial(n, 1/2)`, the interval `[x_(l), x_(n+1-l)]` covers the
//! true median with probability `1 - 2 P(B < l)`; `l` is the largest rank keeping that at or
//! above the requested level. With fewer than 6 samples no such rank exists at 95% and the
//! interval is `[min, max]` (documented coverage `1 - 2^(1-n)`).

use statrs::distribution::{Binomial, DiscreteCDF};
use statrs::statistics::{Data, Median};

/// The confidence level of [`Summary::ci_low`] / [`Summary::ci_high`].
pub const CI_LEVEL: f64 = 0.95;

/// Median, extremes and a confidence interval for the median of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// Lower end of the [`CI_LEVEL`] interval for the median.
    pub ci_low: f64,
    /// Upper end of the [`CI_LEVEL`] interval for the median.
    pub ci_high: f64,
}

impl Summary {
    /// Summarise `samples`; `None` when there are none (or any is not finite).
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let rank = median_ci_rank(n as u64, CI_LEVEL);
        let (low, high) = match rank {
            0 => (sorted[0], sorted[n - 1]),
            l => (sorted[l as usize - 1], sorted[n - l as usize]),
        };
        Some(Summary {
            median: Data::new(sorted.clone()).median(),
            min: sorted[0],
            max: sorted[n - 1],
            ci_low: low,
            ci_high: high,
        })
    }
}

/// The median of `samples`, `None` when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    (!samples.is_empty()).then(|| Data::new(samples.to_vec()).median())
}

/// The 1-based rank `l` of the lower end of the order-statistic interval for the median of
/// `n` samples at `level`; 0 when even `[min, max]` does not reach the level.
fn median_ci_rank(n: u64, level: f64) -> u64 {
    let Ok(b) = Binomial::new(0.5, n) else {
        return 0;
    };
    let tail = (1.0 - level) / 2.0;
    // The largest rank l with P(B < l) = P(B <= l - 1) <= tail keeps the level.
    (1..=n / 2)
        .take_while(|&l| b.cdf(l - 1) <= tail)
        .last()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ci_ranks_match_the_binomial_table() {
        // Classic table of the 95% order-statistic interval for the median.
        assert_eq!(median_ci_rank(5, 0.95), 0);
        assert_eq!(median_ci_rank(6, 0.95), 1);
        assert_eq!(median_ci_rank(10, 0.95), 2);
        assert_eq!(median_ci_rank(20, 0.95), 6);
        assert_eq!(median_ci_rank(100, 0.95), 40);
        assert_eq!(median_ci_rank(1, 0.95), 0);
        assert_eq!(median_ci_rank(2, 0.95), 0);
    }

    #[test]
    fn summary_interval_brackets_the_median_and_lies_within_the_extremes() {
        let samples: Vec<f64> = (0..25).map(|i| f64::from((i * 7) % 25) + 100.0).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.median, 112.0);
        assert_eq!((s.min, s.max), (100.0, 124.0));
        assert!(s.min < s.ci_low && s.ci_low <= s.median);
        assert!(s.median <= s.ci_high && s.ci_high < s.max);
    }

    #[test]
    fn summary_of_nothing_or_non_finite_is_none() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    }
}
