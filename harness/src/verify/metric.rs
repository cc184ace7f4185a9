//! The comparison metric of `verify`: |x - y| / max(1, |x| + |y|), the ADBench / GradBench
//! metric, which judges exact zeros and large values alike, and the tolerances it is held to.

/// Largest accepted error between two AD strategies, or between a strategy's value and the
/// primal value: they must agree to rounding.
pub const AD_TOLERANCE: f64 = 1e-8;

/// Largest accepted error between a strategy and a reliable finite-difference estimate.
pub const FD_TOLERANCE: f64 = 1e-5;

/// The metric |x - y| / max(1, |x| + |y|); equal numbers (infinities included) and two NaNs
/// are at distance 0, a NaN and a number at infinite distance.
pub fn relative_error(x: f64, y: f64) -> f64 {
    if x == y || (x.is_nan() && y.is_nan()) {
        return 0.0;
    }
    let e = (x - y).abs() / (x.abs() + y.abs()).max(1.0);
    if e.is_nan() {
        f64::INFINITY
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_is_scaled_by_magnitude_and_handles_non_finite() {
        assert_eq!(relative_error(1e-3, 0.0), 1e-3);
        assert!((relative_error(1e6, 1e6 + 1.0) - 1.0 / (2e6 + 1.0)).abs() < 1e-18);
        assert_eq!(relative_error(f64::INFINITY, f64::INFINITY), 0.0);
        assert_eq!(relative_error(f64::NAN, f64::NAN), 0.0);
        assert_eq!(relative_error(f64::NAN, 1.0), f64::INFINITY);
        assert_eq!(relative_error(f64::INFINITY, 1.0), f64::INFINITY);
    }
}
