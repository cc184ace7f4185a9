//! Growth fits: least-squares lines through transformed data, with Student-t confidence
//! intervals for the slope, and local slopes between consecutive sizes.
//!
//! A power law y = c x^p is a line in (ln x, ln y) with slope p; an exponential y = c b^x is a
//! line in (x, ln y) with slope ln b. `log` and `n log n` are power laws of a transformed axis
//! (see [`FitKind`]). The fitted quantity is reported in the claim's units: the exponent, or the
//! base e^slope.
//!
//! **Which sizes are fitted.** Lower-order terms distort the smallest sizes, so a fit uses the
//! largest ones. A measured (noisy) series of k usable points drops its smallest floor(k / 3),
//! but never so many that fewer than [`MIN_POINTS`] remain: more points narrow the interval.
//! An exact (counter) series has no noise to average out, so it is fitted on its
//! [`MIN_POINTS`] largest sizes only, where lower-order terms matter least. A series with fewer
//! than [`MIN_POINTS`] usable points is not fitted at all (the claim is then inconclusive).
//! Points whose transform is undefined (y <= 0, or x <= 1 for the models with ln x) are
//! unusable.
//!
//! **Local slopes** are the slopes between consecutive fitted points: a series whose local
//! slopes drift shows curvature (an n log n looks like a power slightly above 1 that creeps up).
//!
//! **Intervals** come from the t distribution with k - 2 degrees of freedom (statrs), assuming
//! independent errors of the transformed y values; exact (counter) series are decided from the
//! fit and the local slopes instead (see [`crate::check::verdict`]).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::check::claims::FitKind;

/// The fewest points a fit uses: two points determine a line but leave no residual, so no
/// interval and no test of curvature.
pub const MIN_POINTS: usize = 3;

/// A least-squares line v = intercept + slope * u.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line {
    /// The slope.
    pub slope: f64,
    /// The intercept.
    pub intercept: f64,
    /// The confidence interval of the slope, when there are at least three points.
    pub interval: Option<(f64, f64)>,
    /// Coefficient of determination (1 for a perfect line).
    pub r_squared: f64,
}

/// Ordinary least squares of `v` on `u`, with a two-sided `confidence` interval for the slope.
/// `None` when fewer than two points or all `u` equal.
pub fn least_squares(u: &[f64], v: &[f64], confidence: f64) -> Option<Line> {
    let k = u.len();
    if k < 2 || v.len() != k {
        return None;
    }
    let kf = k as f64;
    let mu = u.iter().sum::<f64>() / kf;
    let mv = v.iter().sum::<f64>() / kf;
    let suu: f64 = u.iter().map(|a| (a - mu).powi(2)).sum();
    let svv: f64 = v.iter().map(|b| (b - mv).powi(2)).sum();
    let suv: f64 = u.iter().zip(v).map(|(a, b)| (a - mu) * (b - mv)).sum();
    if suu <= 0.0 {
        return None;
    }
    let slope = suv / suu;
    let intercept = mv - slope * mu;
    let sse: f64 = u
        .iter()
        .zip(v)
        .map(|(a, b)| (b - intercept - slope * a).powi(2))
        .sum();
    let r_squared = if svv > 0.0 { 1.0 - sse / svv } else { 1.0 };
    let interval = (k > 2).then(|| {
        let df = (k - 2) as f64;
        let se = (sse / df / suu).sqrt();
        let t = StudentsT::new(0.0, 1.0, df)
            .expect("positive degrees of freedom")
            .inverse_cdf(0.5 + confidence / 2.0);
        (slope - t * se, slope + t * se)
    });
    Some(Line {
        slope,
        intercept,
        interval,
        r_squared,
    })
}

/// How many of `k` usable sizes a fit uses (the largest ones); see the module docs.
pub fn fitted_count(k: usize, exact: bool) -> usize {
    if exact {
        MIN_POINTS.min(k)
    } else {
        (k - k / 3).max(MIN_POINTS).min(k)
    }
}

/// A fit of one series for one [`FitKind`], reported in the claim's units.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthFit {
    /// What was fitted.
    pub kind: FitKind,
    /// The fitted exponent or base.
    pub estimate: f64,
    /// Its confidence interval (in the same units).
    pub interval: Option<(f64, f64)>,
    /// Local exponents or bases between consecutive fitted points, smallest sizes first.
    pub local: Vec<f64>,
    /// Coefficient of determination of the line in transformed coordinates.
    pub r_squared: f64,
    /// Indices (into the given points) of the points the fit used.
    pub used: Vec<usize>,
}

/// Fit `points` (x, y), sorted by increasing distinct x, for `kind`, as an `exact` or a
/// measured series; `Err` says why no fit was possible (too few usable points).
pub fn fit_growth(
    kind: FitKind,
    points: &[(f64, f64)],
    exact: bool,
    confidence: f64,
) -> Result<GrowthFit, String> {
    let usable: Vec<(usize, f64, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, &(x, y))| transform(kind, x, y).map(|(u, v)| (i, u, v)))
        .collect();
    if usable.len() < MIN_POINTS {
        let dropped = points.len() - usable.len();
        let why = if dropped > 0 {
            format!(" ({dropped} unusable: metric <= 0, or x <= 1 for a model with ln x)")
        } else {
            String::new()
        };
        return Err(format!(
            "{} usable sizes{why}, need at least {MIN_POINTS}",
            usable.len()
        ));
    }
    let used = &usable[usable.len() - fitted_count(usable.len(), exact)..];
    let u: Vec<f64> = used.iter().map(|p| p.1).collect();
    let v: Vec<f64> = used.iter().map(|p| p.2).collect();
    let line = least_squares(&u, &v, confidence).ok_or("the fitted sizes do not differ")?;
    let report = |s: f64| match kind {
        FitKind::Exponential => s.exp(),
        _ => s,
    };
    let local = used
        .windows(2)
        .map(|w| report((w[1].2 - w[0].2) / (w[1].1 - w[0].1)))
        .collect();
    Ok(GrowthFit {
        kind,
        estimate: report(line.slope),
        interval: line.interval.map(|(lo, hi)| (report(lo), report(hi))),
        local,
        r_squared: line.r_squared,
        used: used.iter().map(|p| p.0).collect(),
    })
}

/// The transformed point (u, v) of (x, y) for `kind`, if defined.
fn transform(kind: FitKind, x: f64, y: f64) -> Option<(f64, f64)> {
    if !(y > 0.0 && y.is_finite() && x.is_finite()) {
        return None;
    }
    let v = y.ln();
    match kind {
        FitKind::Power => (x > 0.0).then(|| (x.ln(), v)),
        FitKind::PowerOfLog => (x > 1.0).then(|| (x.ln().ln(), v)),
        FitKind::PowerTimesLog => (x > 1.0).then(|| (x.ln(), v - x.ln().ln())),
        FitKind::Exponential => Some((x, v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(xs: &[f64], f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        xs.iter().map(|&x| (x, f(x))).collect()
    }

    #[test]
    fn a_clean_power_law_has_its_exponent_and_a_zero_width_interval() {
        let pts = series(&[10.0, 20.0, 40.0, 80.0, 160.0], |x| 3.0 * x * x);
        let fit = fit_growth(FitKind::Power, &pts, false, 0.95).unwrap();
        assert!((fit.estimate - 2.0).abs() < 1e-12);
        let (lo, hi) = fit.interval.unwrap();
        assert!((hi - lo).abs() < 1e-9);
        assert!(fit.local.iter().all(|s| (s - 2.0).abs() < 1e-12));
    }

    #[test]
    fn a_clean_exponential_reports_its_base() {
        let pts = series(&[4.0, 5.0, 6.0, 7.0, 8.0, 9.0], |k| 2f64.powf(k + 1.0));
        let fit = fit_growth(FitKind::Exponential, &pts, false, 0.95).unwrap();
        assert!((fit.estimate - 2.0).abs() < 1e-12);
        assert_eq!(fit.used, vec![2, 3, 4, 5], "drops the smallest third");
    }

    #[test]
    fn n_log_n_data_fit_exponent_one_beside_the_log_factor() {
        let pts = series(&[100.0, 1e3, 1e4, 1e5], |n| n * n.ln());
        let nlogn = fit_growth(FitKind::PowerTimesLog, &pts, false, 0.95).unwrap();
        assert!((nlogn.estimate - 1.0).abs() < 1e-12);
        let plain = fit_growth(FitKind::Power, &pts, false, 0.95).unwrap();
        assert!(plain.estimate > 1.05 && plain.local.windows(2).all(|w| w[1] < w[0]));
        let logs = series(&[10.0, 100.0, 1e3, 1e4], |n| 5.0 * n.ln());
        let log = fit_growth(FitKind::PowerOfLog, &logs, false, 0.95).unwrap();
        assert!((log.estimate - 1.0).abs() < 1e-12);
    }

    #[test]
    fn too_few_usable_points_are_refused_with_the_reason() {
        let e = fit_growth(FitKind::Power, &[(1.0, 1.0), (2.0, 2.0)], false, 0.95).unwrap_err();
        assert!(e.contains("need at least 3"), "{e}");
        let e = fit_growth(
            FitKind::Power,
            &[(1.0, 1.0), (2.0, 0.0), (3.0, 3.0)],
            false,
            0.95,
        )
        .unwrap_err();
        assert!(e.contains("1 unusable"), "{e}");
    }

    #[test]
    fn the_interval_widens_with_noise_and_covers_the_true_slope() {
        // v = 1 + 2u with residuals +-0.1 alternating.
        let u = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let v: Vec<f64> = u
            .iter()
            .enumerate()
            .map(|(i, x)| 1.0 + 2.0 * x + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        let line = least_squares(&u, &v, 0.95).unwrap();
        let (lo, hi) = line.interval.unwrap();
        assert!(lo < 2.0 && 2.0 < hi && hi - lo > 0.01);
        let wider = least_squares(&u, &v, 0.99).unwrap().interval.unwrap();
        assert!(wider.0 < lo && wider.1 > hi);
    }

    #[test]
    fn measured_fits_keep_the_largest_two_thirds_and_exact_fits_the_largest_three() {
        assert_eq!(
            [3, 4, 5, 6, 9, 10].map(|k| fitted_count(k, false)),
            [3, 3, 4, 4, 6, 7]
        );
        assert_eq!(fitted_count(2, false), 2);
        assert_eq!([3, 4, 10].map(|k| fitted_count(k, true)), [3, 3, 3]);
    }
}
