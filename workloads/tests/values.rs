//! Each workload computes what its documentation says: values against closed forms or
//! independent `f64` computations, gradients (central finite differences on the primal)
//! against closed forms, and the primal operation count T against its formula.

mod common;

use common::{assert_close, build, determinant, relative_error};
use workloads::Instance;

/// The single output of `instance` at its own input.
fn value(instance: &Instance) -> f64 {
    let out = instance.program.primal(&instance.input);
    assert_eq!(out.len(), 1, "expected one output");
    out[0]
}

/// d output[row] / d x by central differences on the primal, step 1e-6 max(1, |x_i|).
fn finite_difference(instance: &Instance, row: usize) -> Vec<f64> {
    finite_difference_with_step(instance, row, 1e-6)
}

/// As [`finite_difference`] with step `step` max(1, |x_i|). A central difference is exact, up to
/// rounding, for a function that is at most quadratic in each input, at any step.
fn finite_difference_with_step(instance: &Instance, row: usize, step: f64) -> Vec<f64> {
    let mut x = instance.input.clone();
    (0..x.len())
        .map(|i| {
            let original = x[i];
            let h = step * original.abs().max(1.0);
            x[i] = original + h;
            let up = instance.program.primal(&x)[row];
            x[i] = original - h;
            let down = instance.program.primal(&x)[row];
            x[i] = original;
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// T, the primal operation count of `instance` at its own input.
fn ops(instance: &Instance) -> u64 {
    instance.program.op_count(&instance.input).ops
}

/// The Hamilton product of quaternions written (x, y, z, w), w the scalar part.
fn hamilton(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    let [ax, ay, az, aw] = a;
    let [bx, by, bz, bw] = b;
    [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ]
}

/// q v q* for the quaternion q = (x, y, z, w): the rotation of v scaled by |q|^2.
fn conjugate_rotation(q: [f64; 4], v: [f64; 3]) -> [f64; 3] {
    let conjugate = [-q[0], -q[1], -q[2], q[3]];
    let r = hamilton(hamilton(q, [v[0], v[1], v[2], 0.0]), conjugate);
    [r[0], r[1], r[2]]
}

#[test]
fn fmult_is_the_product_and_its_gradient_swaps_the_inputs() {
    let w = build("fmult", None, &[]);
    assert_eq!(value(&w), 12.0);
    assert_close("gradient", &finite_difference(&w, 0), &[4.0, 3.0], 1e-8);
    assert_eq!(ops(&w), 1);
}

#[test]
fn fdotprod_matches_the_closed_form_and_its_gradient_swaps_the_lists() {
    for n in [1, 10, 100] {
        let w = build("fdotprod", Some(n), &[]);
        let expected: f64 = (1..=n).map(|i| (i * (2 * i + 1)) as f64).sum();
        assert_eq!(value(&w), expected);
        let (l1, l2) = w.input.split_at(n);
        let swapped: Vec<f64> = l2.iter().chain(l1).copied().collect();
        let gradient = finite_difference_with_step(&w, 0, 1.0);
        assert_close("gradient", &gradient, &swapped, 1e-12);
        assert_eq!(ops(&w), 2 * n as u64, "T = 2n");
    }
}

#[test]
fn fsummatvec_matches_an_independent_sum_and_its_gradient_is_v_and_column_sums() {
    for n in [1, 4, 10] {
        let w = build("fsummatvec", Some(n), &[]);
        let (m, v) = w.input.split_at(n * n);
        let mut expected = 0.0;
        for i in 0..n {
            for j in 0..n {
                expected += ((i * n + j + 1) as f64) * (2 * j + 3) as f64;
            }
        }
        assert_eq!(value(&w), expected);
        let d_m = (0..n * n).map(|ij| v[ij % n]);
        let d_v = (0..n).map(|j| (0..n).map(|i| m[i * n + j]).sum::<f64>());
        let closed: Vec<f64> = d_m.chain(d_v).collect();
        let gradient = finite_difference_with_step(&w, 0, 1.0);
        assert_close("gradient", &gradient, &closed, 1e-12);
        assert_eq!(ops(&w), (2 * n * n + n) as u64, "T = 2n^2 + n");
    }
}

#[test]
fn frotvecquat_agrees_with_the_quaternion_sandwich_product() {
    let w = build("frotvecquat", None, &[]);
    let q = [4.0, 5.0, 6.0, 7.0];
    let out = w.program.primal(&w.input);
    assert_close(
        "value",
        &out,
        &conjugate_rotation(q, [1.0, 2.0, 3.0]),
        1e-14,
    );
    // The output is linear in v: d out / d v_j is the image of the j-th unit vector.
    for row in 0..3 {
        let jacobian_row = finite_difference(&w, row);
        for j in 0..3 {
            let mut unit = [0.0; 3];
            unit[j] = 1.0;
            let image = conjugate_rotation(q, unit);
            assert_close("d out / d v", &[jacobian_row[j]], &[image[row]], 1e-8);
        }
    }
}

#[test]
fn fneural_sums_its_softmax_to_one_and_has_the_stated_op_count() {
    for n in [2, 4, 8, 50] {
        let w = build("fneural", Some(n), &[]);
        assert!((value(&w) - 1.0).abs() < 1e-12, "n = {n}");
        let n = n as u64;
        assert_eq!(ops(&w), 8 * n * n + 8 * n, "T = 8n^2 + 8n");
    }
}

/// The mlp loss computed independently on f64 with plain loops.
fn mlp_reference(n: usize, x: &[f64]) -> f64 {
    let (w1, rest) = x.split_at(2 * n * n);
    let (b1, rest) = rest.split_at(2 * n);
    let (w2, rest) = rest.split_at(2 * n * n);
    let (b2, input) = rest.split_at(n);
    let layer = |w: &[f64], b: &[f64], v: &[f64]| -> Vec<f64> {
        (0..b.len())
            .map(|i| {
                let s: f64 = (0..v.len()).map(|j| w[i * v.len() + j] * v[j]).sum();
                (s + b[i]).max(0.0)
            })
            .collect()
    };
    let z = layer(w2, b2, &layer(w1, b1, input));
    let m = z.iter().fold(0.0f64, |a, &b| a.max(b));
    let total: f64 = z.iter().map(|zi| (zi - m).exp()).sum();
    -((z[0] - m).exp() / total).ln()
}

#[test]
fn mlp_is_the_cross_entropy_of_the_softmax_against_class_zero() {
    for n in [2, 4, 8, 50] {
        let w = build("mlp", Some(n), &[]);
        let expected = mlp_reference(n, &w.input);
        assert!(relative_error(value(&w), expected) < 1e-12, "n = {n}");
        assert!(value(&w) > 0.0);
    }
}

#[test]
fn square_chain_is_x0_to_the_two_to_the_k_with_derivative_two_to_the_k_at_one() {
    for k in [0usize, 1, 4, 8, 20, 1023] {
        let w = build("square-chain", Some(k), &[]);
        assert_eq!(value(&w), 1.0);
        assert_eq!(ops(&w), k as u64, "T = k");
    }
    for k in [1, 4, 8] {
        let w = build("square-chain", Some(k), &[]);
        let expected = 2f64.powi(k as i32);
        assert_close("derivative", &finite_difference(&w, 0), &[expected], 1e-6);
    }
    let w = build("square-chain", Some(5), &[("x0", 1.01)]);
    assert_eq!(w.input, vec![1.01]);
    assert!(relative_error(value(&w), 1.01f64.powi(32)) < 1e-14);
    assert_close(
        "derivative",
        &finite_difference(&w, 0),
        &[32.0 * 1.01f64.powi(31)],
        1e-6,
    );
}

#[test]
fn fib_chain_follows_the_recurrence_and_its_gradient_the_coefficients() {
    for k in [1usize, 2, 8, 20] {
        let w = build("fib-chain", Some(k), &[]);
        // x_i = a_i x + b_i y with (a_0, b_0) = (1, 0) and (a_1, b_1) = (1, 1).
        let (mut a, mut b) = ((1.0, 0.0), (1.0, 1.0));
        for _ in 1..k {
            (a, b) = (b, (a.0 + b.0, a.1 + b.1));
        }
        let (x, y) = (w.input[0], w.input[1]);
        let last = b.0 * x + b.1 * y;
        assert_eq!(value(&w), last * last);
        let closed = [2.0 * last * b.0, 2.0 * last * b.1];
        assert_close("gradient", &finite_difference(&w, 0), &closed, 1e-7);
        assert_eq!(ops(&w), k as u64 + 1, "T = k + 1");
    }
}

#[test]
fn fanout_doubles_each_step_with_seven_operations() {
    for k in [0usize, 1, 3, 6, 20] {
        let w = build("fanout", Some(k), &[]);
        let expected = 1e-6 * 4f64.powi(k as i32);
        assert!(relative_error(value(&w), expected) < 1e-14);
        let derivative = 2e-6 * 4f64.powi(k as i32);
        assert_close("derivative", &finite_difference(&w, 0), &[derivative], 1e-6);
        assert_eq!(ops(&w), 7 * k as u64 + 2, "T = 7k + 2");
    }
}

#[test]
fn deep_chain_is_k_nested_sines_with_the_chain_rule_derivative() {
    for k in [1usize, 10, 1000] {
        let w = build("deep-chain", Some(k), &[]);
        let (mut v, mut derivative) = (w.input[0], 1.0);
        for _ in 0..k {
            derivative *= v.cos();
            v = v.sin();
        }
        assert_eq!(value(&w), v);
        assert_close("derivative", &finite_difference(&w, 0), &[derivative], 1e-8);
        assert_eq!(ops(&w), k as u64, "T = k");
    }
    let deep = build("deep-chain", Some(1_000_000), &[]);
    assert_eq!(ops(&deep), 1_000_000);
}

#[test]
fn random_dag_depends_on_its_seed_and_window_and_has_one_or_two_ops_per_node() {
    let base = value(&build("random-dag", Some(64), &[]));
    assert_eq!(
        base,
        value(&build("random-dag", Some(64), &[("seed", 0.0)]))
    );
    assert_ne!(
        base,
        value(&build("random-dag", Some(64), &[("seed", 1.0)]))
    );
    assert_ne!(
        base,
        value(&build("random-dag", Some(64), &[("window", 2.0)]))
    );
    for size in [1usize, 16, 1000] {
        let w = build("random-dag", Some(size), &[("inputs", 6.0)]);
        assert_eq!(w.input.len(), 6);
        assert!(w.input.iter().all(|x| (-1.0..1.0).contains(x)));
        let t = ops(&w);
        assert!(
            (size as u64..=2 * size as u64).contains(&t),
            "T = {t} for {size} nodes"
        );
        let v = value(&w);
        assert!((-1.0..=1.0).contains(&v) && v != 0.0, "value {v}");
    }
}

#[test]
fn random_dag_reuses_values_so_the_naive_cost_grows_exponentially() {
    let calls = |size| {
        let w = build("random-dag", Some(size), &[]);
        w.program.op_count(&w.input).naive_calls
    };
    assert!(calls(64) > 1e3 * calls(16));
}

#[test]
fn horner_matches_the_power_sum_and_its_gradient_the_powers_and_derivative() {
    for n in [1usize, 5, 20] {
        let w = build("horner", Some(n), &[]);
        let (c, t) = w.input.split_at(n);
        let p = |t: f64| (0..n).map(|j| c[j] * t.powi(j as i32)).sum::<f64>();
        let dp = |t: f64| {
            (1..n)
                .map(|j| j as f64 * c[j] * t.powi(j as i32 - 1))
                .sum::<f64>()
        };
        let expected: f64 = t.iter().map(|&ti| p(ti)).sum();
        assert!(relative_error(value(&w), expected) < 1e-14);
        let d_c = (0..n).map(|j| t.iter().map(|ti| ti.powi(j as i32)).sum::<f64>());
        let closed: Vec<f64> = d_c.chain(t.iter().map(|&ti| dp(ti))).collect();
        assert_close("gradient", &finite_difference(&w, 0), &closed, 1e-8);
        assert_eq!(ops(&w), 6 * n as u64 - 3, "T = 6n - 3");
    }
}

/// ln sum exp(x) with the max trick, and softmax(x).
fn log_sum_exp(x: &[f64]) -> (f64, Vec<f64>) {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = x.iter().map(|xi| (xi - m).exp()).sum();
    let softmax = x.iter().map(|xi| (xi - m).exp() / total).collect();
    (m + total.ln(), softmax)
}

#[test]
fn tree_reduce_is_log_sum_exp_with_softmax_gradient() {
    for n in [1usize, 7, 64, 1000] {
        let w = build("tree-reduce", Some(n), &[]);
        let (expected, softmax) = log_sum_exp(&w.input);
        assert!(relative_error(value(&w), expected) < 1e-13, "n = {n}");
        assert_close("gradient", &finite_difference(&w, 0), &softmax, 1e-8);
        assert_eq!(ops(&w), 5 * (n as u64 - 1), "T = 5(n - 1)");
    }
}

#[test]
fn lse_is_log_sum_exp_with_softmax_gradient() {
    for n in [1usize, 10, 100] {
        let w = build("lse", Some(n), &[]);
        let (expected, softmax) = log_sum_exp(&w.input);
        assert!(relative_error(value(&w), expected) < 1e-14, "n = {n}");
        assert_close("gradient", &finite_difference(&w, 0), &softmax, 1e-8);
        assert_eq!(ops(&w), 3 * n as u64 + 2, "T = 3n + 2");
    }
}

#[test]
fn newton_finds_cube_roots_with_gradient_one_third_a_to_the_minus_two_thirds() {
    for n in [1usize, 4, 16, 1000] {
        let w = build("newton", Some(n), &[]);
        let expected: f64 = w.input.iter().map(|a| a.cbrt()).sum();
        assert!(relative_error(value(&w), expected) < 1e-14, "n = {n}");
        if n <= 16 {
            let closed: Vec<f64> = w.input.iter().map(|a| a.powf(-2.0 / 3.0) / 3.0).collect();
            assert_close("gradient", &finite_difference(&w, 0), &closed, 1e-8);
        }
    }
}

#[test]
fn newton_trip_count_depends_on_the_values() {
    let w = build("newton", Some(1), &[]);
    let t = |a: f64| w.program.op_count(&[a]).ops;
    // At a = 1 the start y = 1 is the root: one step, of size zero.
    assert!(t(1.0) < t(2.0));
    assert!(t(2.0) < t(1000.0));
}

#[test]
fn llsq_matches_the_gradbench_reference_and_the_normal_equations_gradient() {
    for (n, m) in [(2usize, 128usize), (16, 128), (64, 128), (33, 5)] {
        let w = build("llsq", Some(n), &[("m", m as f64)]);
        assert_eq!(w.input.len(), m);
        let x = &w.input;
        let residuals: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let t = -1.0 + (i * 2) as f64 / (n - 1) as f64;
                let s = if t > 0.0 {
                    1.0
                } else if t < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                let fit: f64 = (0..m).map(|j| x[j] * t.powi(j as i32)).sum();
                (t, s - fit)
            })
            .collect();
        let expected = residuals.iter().map(|(_, r)| r * r).sum::<f64>() / 2.0;
        assert!(relative_error(value(&w), expected) < 1e-12, "n = {n}");
        let closed: Vec<f64> = (0..m)
            .map(|j| {
                -residuals
                    .iter()
                    .map(|(t, r)| r * t.powi(j as i32))
                    .sum::<f64>()
            })
            .collect();
        assert_close("gradient", &finite_difference(&w, 0), &closed, 1e-6);
        assert_eq!(ops(&w), (n * (2 * m + 2) + 1) as u64, "T = n(2m + 2) + 1");
    }
}

#[test]
fn det_of_known_matrices() {
    let det_of = |l: usize, matrix: Vec<f64>| {
        let w = build("det", Some(l), &[]);
        w.program.primal(&matrix)[0]
    };
    let identity = |l: usize| (0..l * l).map(|ij| f64::from(ij % (l + 1) == 0)).collect();
    for l in 1..=7 {
        assert_eq!(det_of(l, identity(l)), 1.0);
    }
    let diagonal: Vec<f64> = (0..25)
        .map(|ij| {
            if ij % 6 == 0 {
                (ij / 6 + 1) as f64
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(det_of(5, diagonal), 120.0);
    // Swapping two rows of the identity flips the sign.
    let swapped = vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    assert_eq!(det_of(3, swapped), -1.0);
    // An upper-triangular matrix: the product of the diagonal.
    let upper = vec![2.0, 7.0, -1.0, 0.0, 3.0, 5.0, 0.0, 0.0, -4.0];
    assert_eq!(det_of(3, upper), -24.0);
    assert_eq!(det_of(2, vec![1.0, 2.0, 3.0, 4.0]), -2.0);
}

#[test]
fn det_matches_elimination_and_its_gradient_is_the_cofactor_matrix() {
    for l in [1usize, 2, 3, 5, 7] {
        let w = build("det", Some(l), &[]);
        let det = value(&w);
        assert!(relative_error(det, determinant(w.input.clone(), l)) < 1e-12);
        // The gradient G is the cofactor matrix, so A^T G = det(A) I.
        let g = finite_difference(&w, 0);
        for k in 0..l {
            for j in 0..l {
                let entry: f64 = (0..l).map(|i| w.input[i * l + k] * g[i * l + j]).sum();
                let expected = if k == j { det } else { 0.0 };
                assert!(relative_error(entry, expected) < 1e-8, "l = {l}");
            }
        }
        // T(l) = l (T(l - 1) + 1) + l - 1, T(1) = 0.
        let t = (2..=l as u64).fold(0, |t, l| l * (t + 1) + l - 1);
        assert_eq!(ops(&w), t);
    }
}

/// GradBench's reference RK4 on f64, returning the whole state.
fn ode_reference(x: &[f64], steps: usize) -> Vec<f64> {
    let n = x.len();
    let rate = |y: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| if i == 0 { x[0] } else { x[i] * y[i - 1] })
            .collect()
    };
    let h = 2.0 / steps as f64;
    let mut y = vec![0.0; n];
    for _ in 0..steps {
        let shifted = |k: &[f64], c: f64| -> Vec<f64> { (0..n).map(|i| y[i] + c * k[i]).collect() };
        let k1 = rate(&y);
        let k2 = rate(&shifted(&k1, h / 2.0));
        let k3 = rate(&shifted(&k2, h / 2.0));
        let k4 = rate(&shifted(&k3, h));
        for i in 0..n {
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
    }
    y
}

#[test]
fn ode_matches_the_gradbench_reference() {
    for (n, steps) in [(1usize, 1usize), (8, 4), (8, 10), (100, 3)] {
        let w = build("ode", Some(n), &[("steps", steps as f64)]);
        let expected = ode_reference(&w.input, steps)[n - 1];
        assert!(relative_error(value(&w), expected) < 1e-13);
    }
}

#[test]
fn ode_is_exact_for_four_variables_with_gradient_y_over_x() {
    for steps in [1.0, 4.0, 10.0] {
        let w = build("ode", Some(4), &[("steps", steps)]);
        let product: f64 = w.input.iter().product();
        // y_3(t) = x_0 x_1 x_2 x_3 t^4 / 4!, a quartic that RK4 integrates exactly.
        let exact = product * 16.0 / 24.0;
        assert!(relative_error(value(&w), exact) < 1e-14);
        let closed: Vec<f64> = w.input.iter().map(|xi| exact / xi).collect();
        assert_close("gradient", &finite_difference(&w, 0), &closed, 1e-8);
    }
}

#[test]
fn advection_matches_an_independent_lax_wendroff_and_has_eight_ops_per_point() {
    for steps in [0usize, 1, 3, 100] {
        let w = build("advection", Some(steps), &[]);
        let mut q = w.input.clone();
        let nx = q.len();
        for _ in 0..steps {
            q = (0..nx)
                .map(|i| {
                    let (l, c, r) = (q[(i + nx - 1) % nx], q[i], q[(i + 1) % nx]);
                    c - 0.25 * (r - l) + 0.125 * (r - 2.0 * c + l)
                })
                .collect();
        }
        let expected: f64 = q.iter().map(|qi| qi * qi).sum();
        assert!(relative_error(value(&w), expected) < 1e-13);
        assert_eq!(ops(&w), 800 * steps as u64 + 200, "T = 800 steps + 200");
    }
    let initial = build("advection", Some(0), &[]);
    assert_eq!(initial.input[30], 1.0);
    assert!((initial.input[38] - (-1.0f64).exp()).abs() < 1e-15);
}

#[test]
fn kmeans_has_one_centroid_block_and_its_stated_op_count() {
    let w = build("kmeans", Some(50), &[("k", 3.0), ("d", 2.0)]);
    assert_eq!(w.input.len(), 6);
    assert_eq!(ops(&w), 50 * (3 * 2 * 3 + 1), "T = n(3dk + 1)");
}

#[test]
fn sin_product_sum_matches_its_closed_form_gradient() {
    for n in [2usize, 3, 50] {
        let w = build("sin-product-sum", Some(n), &[]);
        let x = &w.input;
        let expected: f64 = (0..n - 1).map(|i| x[i] * x[i + 1] * x[i].sin()).sum();
        assert!(relative_error(value(&w), expected) < 1e-14);
        // d/dx_i: from term i, x_{i+1} (sin x_i + x_i cos x_i); from term i - 1, x_{i-1} sin x_{i-1}.
        let gradient: Vec<f64> = (0..n)
            .map(|i| {
                let own = if i + 1 < n {
                    x[i + 1] * (x[i].sin() + x[i] * x[i].cos())
                } else {
                    0.0
                };
                let previous = if i > 0 {
                    x[i - 1] * x[i - 1].sin()
                } else {
                    0.0
                };
                own + previous
            })
            .collect();
        assert_close("gradient", &finite_difference(&w, 0), &gradient, 1e-8);
        assert_eq!(ops(&w), 4 * (n as u64 - 1), "T = 4(n - 1)");
    }
}

#[test]
fn gmm_has_its_stated_op_count_and_layout() {
    for (k, d, n, m) in [
        (1usize, 1usize, 1usize, 0usize),
        (2, 3, 5, 2),
        (3, 10, 7, 0),
    ] {
        let params = [("d", d as f64), ("n", n as f64), ("m", m as f64)];
        let w = build("gmm", Some(k), &params);
        let blocks: Vec<(&str, usize)> = w.layout.iter().map(|b| (b.name, b.len)).collect();
        let lower = d * (d - 1) / 2;
        assert_eq!(
            blocks,
            [("alpha", k), ("mu", k * d), ("q", k * d), ("l", k * lower)]
        );
        // T = N (K (D + 1)(D + 2) + 3K + 3) + K D (D + 3) + 5K + 9.
        let t = n * (k * (d + 1) * (d + 2) + 3 * k + 3) + k * d * (d + 3) + 5 * k + 9;
        assert_eq!(ops(&w), t as u64, "k = {k}, d = {d}, n = {n}");
    }
}
