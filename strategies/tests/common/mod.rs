//! Helpers shared by the integration tests.

/// The ADBench / GradBench comparison metric |x - y| / max(1, |x| + |y|): relative for large
/// values, absolute near zero.
pub fn distance(x: f64, y: f64) -> f64 {
    (x - y).abs() / f64::max(1.0, x.abs() + y.abs())
}

/// Asserts that two vectors have the same length and agree entry by entry to `tolerance` under
/// [`distance`]; `what` names the comparison in the failure message.
pub fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            distance(a, e) <= tolerance,
            "{what}: entry {i} is {a}, expected {e} (distance {})",
            distance(a, e)
        );
    }
}
