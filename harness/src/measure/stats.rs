//! Summary statistics of timing samples: median, extremes, and a distribution-free confidence
//! interval for the median whose level is stated exactly.
//!
//! Timing samples are skewed (a noisy machine only ever adds time) and few, so the summary is
//! the median with an order-statistic interval rather than a mean with a normal interval: with
//! `n` sorted samples and `B ~ Binomial(n, 1/2)`, the interval `[x_(l), x_(n+1-l)]` covers the
//! true median with probability exactly `1 - 2 P(B < l)` (for continuous distributions); `l`
//! is the largest rank keeping that at or above the requested level.
//!
//! The interval's level is reported with it ([`Summary::ci_level`]), because it is not always
//! the requested one: below 6 samples even `[min, max]` covers the median with probability
//! only `1 - 2^(1-n)` (94% at n = 5, 88% at n = 4, 75% at n = 3, 50% at n = 2), and a single
//! sample has no interval at all. `dualbench run` takes at least 6 samples where the budget
//! allows, and marks the rows whose interval is below the requested level.

use statrs::distribution::{Binomial, DiscreteCDF};
use statrs::statistics::{Data, Median};

/// The requested confidence level of the intervals `run` reports.
pub const CI_LEVEL: f64 = 0.95;

/// The fewest samples whose order-statistic interval reaches [`CI_LEVEL`].
pub const MIN_SAMPLES_FOR_LEVEL: u64 = 6;

/// Median, extremes and a confidence interval for the median of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// The interval for the median, `None` with fewer than two samples.
    pub ci: Option<(f64, f64)>,
    /// The interval's exact coverage: at least [`CI_LEVEL`] with 6 or more samples, less below
    /// (`None` without an interval).
    pub ci_level: Option<f64>,
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
        let (ci, ci_level) = match median_interval(n as u64, CI_LEVEL) {
            None => (None, None),
            Some((l, level)) => {
                let l = l as usize;
                (Some((sorted[l - 1], sorted[n - l])), Some(level))
            }
        };
        Some(Summary {
            median: Data::new(sorted.clone()).median(),
            min: sorted[0],
            max: sorted[n - 1],
            ci,
            ci_level,
        })
    }
}

/// The median of `samples`, `None` when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    (!samples.is_empty()).then(|| Data::new(samples.to_vec()).median())
}

/// The exact coverage of the order-statistic interval of rank `l` (1-based) for the median of
/// `n` samples: `1 - 2 P(B < l)`, `B ~ Binomial(n, 1/2)`.
pub fn coverage(n: u64, l: u64) -> f64 {
    match Binomial::new(0.5, n) {
        Ok(b) if l >= 1 => 1.0 - 2.0 * b.cdf(l - 1),
        _ => 0.0,
    }
}

/// The rank `l` of the lower end of the order-statistic interval for the median of `n`
/// samples, and its exact coverage: the largest `l` whose coverage reaches `level`, or, when
/// none does, `l = 1` (`[min, max]`) with its smaller coverage. `None` for fewer than two
/// samples, which have no interval.
pub fn median_interval(n: u64, level: f64) -> Option<(u64, f64)> {
    if n < 2 {
        return None;
    }
    let l = (1..=n / 2)
        .take_while(|&l| coverage(n, l) >= level)
        .last()
        .unwrap_or(1);
    Some((l, coverage(n, l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ci_ranks_match_the_binomial_table() {
        // Classic table of the 95% order-statistic interval for the median.
        let rank = |n| median_interval(n, 0.95).map(|(l, _)| l);
        assert_eq!(rank(6), Some(1));
        assert_eq!(rank(10), Some(2));
        assert_eq!(rank(20), Some(6));
        assert_eq!(rank(100), Some(40));
        for n in [6, 7, 10, 20, 61, 100, 200] {
            let (_, level) = median_interval(n, 0.95).unwrap();
            assert!(level >= 0.95, "n = {n}: {level}");
        }
    }

    #[test]
    fn intervals_keep_their_promise_below_six_samples() {
        // [min, max] of n samples covers the median with probability 1 - 2^(1 - n).
        for n in 2..=5u64 {
            let (l, level) = median_interval(n, CI_LEVEL).unwrap();
            assert_eq!(l, 1);
            let exact = 1.0 - 2f64.powi(1 - n as i32);
            assert!((level - exact).abs() < 1e-12, "n = {n}: {level} vs {exact}");
            assert!(level < CI_LEVEL);
        }
        assert_eq!(median_interval(1, CI_LEVEL), None);
        let one = Summary::of(&[5.0]).unwrap();
        assert_eq!((one.ci, one.ci_level), (None, None));
        let five = Summary::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(five.ci, Some((1.0, 5.0)));
        assert!((five.ci_level.unwrap() - 0.9375).abs() < 1e-12);
    }

    #[test]
    fn summary_interval_brackets_the_median_and_lies_within_the_extremes() {
        let samples: Vec<f64> = (0..25).map(|i| f64::from((i * 7) % 25) + 100.0).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.median, 112.0);
        assert_eq!((s.min, s.max), (100.0, 124.0));
        let (lo, hi) = s.ci.unwrap();
        assert!(s.min < lo && lo <= s.median);
        assert!(s.median <= hi && hi < s.max);
        assert!(s.ci_level.unwrap() >= CI_LEVEL);
    }

    #[test]
    fn summary_of_nothing_or_non_finite_is_none() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    }
}
