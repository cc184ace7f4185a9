//! What the workload tests share: building an instance, GradBench's comparison metric, and an
//! independent determinant.

#![allow(dead_code)]

use workloads::{find, instantiate, Instance, Params};

/// Instantiate the workload `name` at `size` with the given parameters (defaults for the rest).
pub fn build(name: &str, size: Option<usize>, params: &[(&str, f64)]) -> Instance {
    let params: Params = params.iter().map(|&(k, v)| (k.to_string(), v)).collect();
    instantiate(find(name).expect("workload exists"), size, &params).expect("valid size")
}

/// The ADBench / GradBench comparison: |a - b| / max(1, |a| + |b|).
pub fn relative_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / (a.abs() + b.abs()).max(1.0)
}

/// Assert that two vectors agree elementwise to `tolerance` in the GradBench metric.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            relative_error(a, e) <= tolerance,
            "{what}[{i}]: got {a}, expected {e}"
        );
    }
}

/// The determinant of the `side` x `side` matrix `a` (row-major) by Gaussian elimination with
/// partial pivoting; 1 for the empty matrix, 0 for a singular one.
pub fn determinant(mut a: Vec<f64>, side: usize) -> f64 {
    let mut det = 1.0;
    for col in 0..side {
        let pivot = (col..side)
            .max_by(|&i, &j| a[i * side + col].abs().total_cmp(&a[j * side + col].abs()))
            .expect("rows left");
        if pivot != col {
            for j in 0..side {
                a.swap(pivot * side + j, col * side + j);
            }
            det = -det;
        }
        let p = a[col * side + col];
        if p == 0.0 {
            return 0.0;
        }
        det *= p;
        for i in col + 1..side {
            let factor = a[i * side + col] / p;
            for j in col..side {
                a[i * side + j] -= factor * a[col * side + j];
            }
        }
    }
    det
}
