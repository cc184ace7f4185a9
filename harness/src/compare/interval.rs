//! The confidence interval of a change in median time: a bootstrap of the ratio of medians.
//!
//! Each file's samples of a case are resampled independently, `RESAMPLES` times, and the ratio
//! median(new) / median(base) of each pair of resamples is taken; the interval is the central
//! `confidence` share of those ratios (the percentile bootstrap). When a row records its
//! rounds (`round_samples`) and has at least two, whole rounds are resampled, not single
//! samples: samples within a round share the machine's state at that moment, so rounds are the
//! independent units and resampling them keeps drift inside the interval instead of
//! pretending it away. The random stream is seeded from the case, so the same two files always
//! give the same interval.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::measure::stats::median;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;

/// The units a row's samples are resampled in: its rounds when it has two or more, else
/// single samples.
pub fn units(samples: &[f64], round_samples: &[u64]) -> Vec<Vec<f64>> {
    let total: u64 = round_samples.iter().sum();
    if round_samples.len() >= 2 && total == samples.len() as u64 {
        let mut units = Vec::with_capacity(round_samples.len());
        let mut start = 0;
        for &n in round_samples {
            let end = start + n as usize;
            if end > start {
                units.push(samples[start..end].to_vec());
            }
            start = end;
        }
        if units.len() >= 2 {
            return units;
        }
    }
    samples.iter().map(|&s| vec![s]).collect()
}

/// The `confidence` interval of median(new) / median(base) by the bootstrap over `base` and
/// `new` units ([`units`]); `None` when either side has no samples. `seed` fixes the stream.
pub fn ratio_of_medians(
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buffer = Vec::new();
    let mut resampled_median = |units: &[Vec<f64>], rng: &mut ChaCha8Rng| -> Option<f64> {
        buffer.clear();
        for _ in 0..units.len() {
            buffer.extend_from_slice(&units[rng.random_range(0..units.len())]);
        }
        median(&buffer)
    };
    let mut ratios = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        let b = resampled_median(base, &mut rng)?;
        let n = resampled_median(new, &mut rng)?;
        if b > 0.0 {
            ratios.push(n / b);
        }
    }
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at =
        |q: f64| ratios[((q * (ratios.len() - 1) as f64).round() as usize).min(ratios.len() - 1)];
    Some((at(tail), at(1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_the_units_when_recorded() {
        let samples = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            units(&samples, &[2, 3]),
            vec![vec![1.0, 2.0], vec![3.0, 4.0, 5.0]]
        );
        assert_eq!(units(&samples, &[5]).len(), 5, "one round: single samples");
        assert_eq!(units(&samples, &[]).len(), 5);
        assert_eq!(
            units(&samples, &[2, 2]).len(),
            5,
            "counts that do not add up"
        );
    }

    #[test]
    fn the_interval_covers_the_true_ratio_and_is_reproducible() {
        let base: Vec<Vec<f64>> = (0..30).map(|i| vec![100.0 + (i % 7) as f64]).collect();
        let slow: Vec<Vec<f64>> = base.iter().map(|u| vec![u[0] * 2.0]).collect();
        let (lo, hi) = ratio_of_medians(&base, &slow, 0.95, 1).unwrap();
        assert!(lo <= 2.0 && 2.0 <= hi && hi - lo < 0.2, "[{lo}, {hi}]");
        assert_eq!(ratio_of_medians(&base, &slow, 0.95, 1), Some((lo, hi)));
        let (lo, hi) = ratio_of_medians(&base, &base, 0.95, 1).unwrap();
        assert!(
            lo < 1.0 + 1e-12 && hi > 1.0 - 1e-12 && hi < 1.1,
            "[{lo}, {hi}]"
        );
        assert_eq!(ratio_of_medians(&[], &base, 0.95, 1), None);
    }
}
