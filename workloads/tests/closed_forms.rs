//! Independent evidence that the classic programs are differentiated correctly: every strategy's
//! gradient (or Jacobian) against a closed form computed here in plain `f64`, on instances built
//! through `workloads::instantiate` and through the public constructors at random points.
//!
//! Every differentiating strategy of `StrategyKind::ALL` whose cost class is not `Paths` is
//! checked (`manual` where the program has a hand-written adjoint); the `Paths` ones (naive) too where their predicted work is small. Comparisons use
//! GradBench's metric |x - y| / max(1, |x| + |y|).

mod common;

use common::{assert_close, build, determinant};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use strategies::{CostClass, DynProgram, StrategyKind};
use workloads::classic::{
    DeterminantByMinors, GmmLogPosterior, LeastSquares, LogSumExp, RungeKutta,
};

/// Tolerance for a closed form: agreement to rounding.
const CLOSED_FORM_TOLERANCE: f64 = 1e-9;

/// Tolerance against Richardson-extrapolated central differences.
const FINITE_DIFFERENCE_TOLERANCE: f64 = 1e-7;

/// Largest predicted work (`StrategyKind::predicted_work`) at which a `Paths` strategy is run.
const PATHS_WORK: f64 = 2e6;

/// The strategies checked on `program` at `x`: every differentiating strategy whose cost class
/// is not `Paths`, and the `Paths` ones where their predicted work is at most [`PATHS_WORK`].
fn strategies_for(program: &dyn DynProgram, x: &[f64]) -> Vec<StrategyKind> {
    let count = program.op_count(x);
    StrategyKind::ALL
        .iter()
        .copied()
        .filter(|s| s.differentiates() && program.why_unavailable(*s).is_none())
        .filter(|s| {
            s.cost_class() != CostClass::Paths
                || s.predicted_work(&count, x.len()) * program.output_len() as f64 <= PATHS_WORK
        })
        .collect()
}

/// How many strategies of `StrategyKind::ALL` compute derivatives of `program` (`manual`
/// where it has a hand-written adjoint).
fn differentiating_strategies(program: &dyn DynProgram) -> usize {
    StrategyKind::ALL
        .iter()
        .filter(|s| s.differentiates() && program.why_unavailable(**s).is_none())
        .count()
}

/// Assert that every strategy of [`strategies_for`] computes `value` and `gradient` at `x`, and
/// return how many strategies were checked.
fn assert_gradients(
    what: &str,
    program: &dyn DynProgram,
    x: &[f64],
    value: f64,
    gradient: &[f64],
    tolerance: f64,
) -> usize {
    let strategies = strategies_for(program, x);
    for &strategy in &strategies {
        let vjp = program.vjp(strategy, x, &[1.0]);
        let at = format!("{what}, {}", strategy.name());
        assert_close(&format!("{at}: value"), &vjp.value, &[value], tolerance);
        let got = vjp.gradient.expect("a differentiating strategy");
        assert_close(&format!("{at}: gradient"), &got, gradient, tolerance);
    }
    strategies.len()
}

/// Assert that every strategy of [`strategies_for`] computes the outputs `values` and the
/// Jacobian `rows` at `x`.
fn assert_jacobians(
    what: &str,
    program: &dyn DynProgram,
    x: &[f64],
    values: &[f64],
    rows: &[Vec<f64>],
    tolerance: f64,
) {
    for strategy in strategies_for(program, x) {
        let jacobian = program.jacobian(strategy, x);
        let at = format!("{what}, {}", strategy.name());
        assert_close(&format!("{at}: values"), &jacobian.value, values, tolerance);
        let got = jacobian.rows.expect("a differentiating strategy");
        assert_eq!(got.len(), rows.len(), "{at}: rows");
        for (i, (got, expected)) in got.iter().zip(rows).enumerate() {
            assert_close(&format!("{at}: row {i}"), got, expected, tolerance);
        }
    }
}

/// `len` numbers uniform in [low, high).
fn random_point(rng: &mut ChaCha8Rng, len: usize, low: f64, high: f64) -> Vec<f64> {
    (0..len).map(|_| rng.random_range(low..high)).collect()
}

/// log-sum-exp of `x` and its gradient softmax(x), both shifted by max x.
fn log_sum_exp_and_softmax(x: &[f64]) -> (f64, Vec<f64>) {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = x.iter().map(|xi| (xi - max).exp()).sum();
    let softmax = x.iter().map(|xi| (xi - max).exp() / total).collect();
    (max + total.ln(), softmax)
}

#[test]
fn lse_gradient_is_softmax() {
    for n in [1usize, 2, 10, 100] {
        let instance = build("lse", Some(n), &[]);
        let (value, softmax) = log_sum_exp_and_softmax(&instance.input);
        let what = format!("lse n = {n}");
        let program = instance.program.as_ref();
        assert_gradients(
            &what,
            program,
            &instance.input,
            value,
            &softmax,
            CLOSED_FORM_TOLERANCE,
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for n in [1usize, 3, 17, 50] {
        // Values up to 700 in magnitude: exp would overflow without the max trick.
        let x = random_point(&mut rng, n, -700.0, 700.0);
        let (value, softmax) = log_sum_exp_and_softmax(&x);
        let what = format!("LogSumExp::new({n})");
        let program = LogSumExp::new(n);
        assert_gradients(&what, &program, &x, value, &softmax, CLOSED_FORM_TOLERANCE);
    }
}

/// The llsq objective 1/2 |A x - s|^2 and its gradient A^T (A x - s), with A_ij = t_i^j,
/// t_i = -1 + 2i/(n - 1) and s_i = sign(t_i) (0 at 0).
fn least_squares_and_normal_equations(n: usize, x: &[f64]) -> (f64, Vec<f64>) {
    let samples: Vec<(Vec<f64>, f64)> = (0..n)
        .map(|i| {
            let t = -1.0 + (2 * i) as f64 / (n - 1) as f64;
            let powers = (0..x.len()).map(|j| t.powi(j as i32)).collect();
            let sign = if t > 0.0 {
                1.0
            } else if t < 0.0 {
                -1.0
            } else {
                0.0
            };
            (powers, sign)
        })
        .collect();
    let residuals: Vec<f64> = samples
        .iter()
        .map(|(row, s)| row.iter().zip(x).map(|(a, xj)| a * xj).sum::<f64>() - s)
        .collect();
    let value = residuals.iter().map(|r| r * r).sum::<f64>() / 2.0;
    let gradient = (0..x.len())
        .map(|j| {
            samples
                .iter()
                .zip(&residuals)
                .map(|((row, _), r)| row[j] * r)
                .sum()
        })
        .collect();
    (value, gradient)
}

#[test]
fn llsq_gradient_is_the_normal_equations_residual() {
    for (n, m) in [(2usize, 128usize), (16, 128), (64, 128), (33, 5)] {
        let instance = build("llsq", Some(n), &[("m", m as f64)]);
        let (value, gradient) = least_squares_and_normal_equations(n, &instance.input);
        let what = format!("llsq n = {n}, m = {m}");
        let program = instance.program.as_ref();
        assert_gradients(
            &what,
            program,
            &instance.input,
            value,
            &gradient,
            CLOSED_FORM_TOLERANCE,
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (n, m) in [(2usize, 1usize), (7, 3), (40, 12)] {
        let x = random_point(&mut rng, m, -1.0, 1.0);
        let (value, gradient) = least_squares_and_normal_equations(n, &x);
        let what = format!("LeastSquares::new({n}, {m})");
        let program = LeastSquares::new(n, m);
        assert_gradients(&what, &program, &x, value, &gradient, CLOSED_FORM_TOLERANCE);
    }
}

/// The cofactor matrix of the l x l matrix `a`: (-1)^(i+j) times the determinant of `a`
/// without row i and column j, each by elimination.
fn cofactors(a: &[f64], l: usize) -> Vec<f64> {
    (0..l * l)
        .map(|ij| {
            let (i, j) = (ij / l, ij % l);
            let minor: Vec<f64> = (0..l * l)
                .filter(|rc| rc / l != i && rc % l != j)
                .map(|rc| a[rc])
                .collect();
            let sign = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
            sign * determinant(minor, l - 1)
        })
        .collect()
}

#[test]
fn det_gradient_is_the_cofactor_matrix() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for l in 1..=5 {
        let instance = build("det", Some(l), &[]);
        let a = &instance.input;
        let what = format!("det l = {l}");
        let program = instance.program.as_ref();
        let checked = assert_gradients(
            &what,
            program,
            a,
            determinant(a.clone(), l),
            &cofactors(a, l),
            CLOSED_FORM_TOLERANCE,
        );
        // Every differentiating strategy, naive included, is cheap enough at l <= 5.
        assert_eq!(checked, differentiating_strategies(program), "{what}");

        let a = random_point(&mut rng, l * l, -2.0, 2.0);
        let what = format!("DeterminantByMinors::new({l})");
        let program = DeterminantByMinors::new(l);
        let (det, cofactor) = (determinant(a.clone(), l), cofactors(&a, l));
        assert_gradients(&what, &program, &a, det, &cofactor, CLOSED_FORM_TOLERANCE);
    }
}

/// The exact solution of the ode at t = 2, y_i(2) = x_0 ... x_i 2^(i+1) / (i+1)!, which RK4
/// reproduces for n <= 4 (y_i is a polynomial of degree i + 1 <= 4), and its Jacobian
/// d y_i / d x_j = (the product without x_j) 2^(i+1) / (i+1)! for j <= i, 0 otherwise.
fn exact_state_and_jacobian(x: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = x.len();
    let scale = |i: usize| (1..=i + 1).fold(1.0, |s, j| s * 2.0 / j as f64);
    let product_without = |i: usize, skip: Option<usize>| -> f64 {
        (0..=i).filter(|&j| Some(j) != skip).map(|j| x[j]).product()
    };
    let state = (0..n)
        .map(|i| product_without(i, None) * scale(i))
        .collect();
    let jacobian = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if j <= i {
                        product_without(i, Some(j)) * scale(i)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    (state, jacobian)
}

#[test]
fn ode_is_exact_for_at_most_four_variables() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for n in 1..=4 {
        for steps in [1usize, 4, 10] {
            let instance = build("ode", Some(n), &[("steps", steps as f64)]);
            let (state, jacobian) = exact_state_and_jacobian(&instance.input);
            let what = format!("ode n = {n}, steps = {steps}");
            let program = instance.program.as_ref();
            let (last, gradient) = (state[n - 1], &jacobian[n - 1]);
            assert_gradients(
                &what,
                program,
                &instance.input,
                last,
                gradient,
                CLOSED_FORM_TOLERANCE,
            );

            let x = random_point(&mut rng, n, -2.0, 2.0);
            let (state, jacobian) = exact_state_and_jacobian(&x);
            let what = format!("RungeKutta::last({n}, {steps})");
            let program = RungeKutta::last(n, steps);
            let (last, gradient) = (state[n - 1], &jacobian[n - 1]);
            assert_gradients(&what, &program, &x, last, gradient, CLOSED_FORM_TOLERANCE);
            let what = format!("RungeKutta::state({n}, {steps})");
            let program = RungeKutta::state(n, steps);
            assert_eq!(DynProgram::output_len(&program), n, "{what}");
            assert_jacobians(
                &what,
                &program,
                &x,
                &state,
                &jacobian,
                CLOSED_FORM_TOLERANCE,
            );
        }
    }
}

#[test]
fn ode_state_ends_with_the_last_form() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n, steps) in [(1usize, 1usize), (8, 4), (30, 7)] {
        let x = random_point(&mut rng, n, 0.0, 1.0);
        let state = RungeKutta::state(n, steps).primal(&x);
        let last = RungeKutta::last(n, steps).primal(&x);
        assert_eq!(state.len(), n);
        assert_eq!(state[n - 1].to_bits(), last[0].to_bits(), "n = {n}");
    }
}

/// GradBench's gmm log posterior, F = log(p(X | theta, phi) p(theta)), straight from its
/// definition (`evals/gmm/README.md`): the mixture density of every point and the Wishart
/// density of every precision matrix, with full matrices and no algebraic simplification.
/// Inputs as [`GmmLogPosterior`]: alpha (k), mu (k x d), q (k x d), l (k x d(d-1)/2, column
/// by column).
fn naive_log_posterior(
    (d, k): (usize, usize),
    points: &[f64],
    (m, gamma): (usize, f64),
    input: &[f64],
) -> f64 {
    let lower = d * (d - 1) / 2;
    let (alpha, rest) = input.split_at(k);
    let (mu, rest) = rest.split_at(k * d);
    let (q, l) = rest.split_at(k * d);
    let weight_total: f64 = alpha.iter().map(|a| a.exp()).sum();
    let pi = std::f64::consts::PI;
    // Sigma_k^{-1} = Q_k^T Q_k, row-major.
    let precisions: Vec<Vec<f64>> = (0..k)
        .map(|c| {
            let mut factor = vec![0.0; d * d];
            let mut entries = l[c * lower..(c + 1) * lower].iter();
            for col in 0..d {
                factor[col * d + col] = q[c * d + col].exp();
                for row in col + 1..d {
                    factor[row * d + col] = *entries.next().expect("lower entries");
                }
            }
            (0..d * d)
                .map(|ij| {
                    (0..d)
                        .map(|r| factor[r * d + ij / d] * factor[r * d + ij % d])
                        .sum()
                })
                .collect()
        })
        .collect();
    let quadratic =
        |p: &[f64], v: &[f64]| -> f64 { (0..d * d).map(|ij| v[ij / d] * p[ij] * v[ij % d]).sum() };
    let log_likelihood: f64 = points
        .chunks(d)
        .map(|x| {
            let density: f64 = (0..k)
                .map(|c| {
                    let phi = alpha[c].exp() / weight_total;
                    let centred: Vec<f64> = (0..d).map(|j| x[j] - mu[c * d + j]).collect();
                    let det = determinant(precisions[c].clone(), d);
                    phi * (-0.5 * quadratic(&precisions[c], &centred)).exp()
                        / ((2.0 * pi).powi(d as i32) / det).sqrt()
                })
                .sum();
            density.ln()
        })
        .sum();
    // W_d(V, n) with V = I / gamma^2 and n = d + m + 1, at each precision matrix X:
    // det(X)^((n-d-1)/2) exp(-tr(V^-1 X)/2) / (2^(nd/2) det(V)^(n/2) Gamma_d(n/2)).
    let degrees = d + m + 1;
    // Gamma(s/2) for an integer s >= 1, from Gamma(1/2) = sqrt(pi) and Gamma(1) = 1.
    let gamma_of_half = |s: usize| -> f64 {
        let base = if s % 2 == 1 { pi.sqrt() } else { 1.0 };
        (1..=(s - 1) / 2).fold(base, |g, i| g * (s as f64 / 2.0 - i as f64))
    };
    let multivariate_gamma = pi.powf((d * (d - 1)) as f64 / 4.0)
        * (1..=d)
            .map(|j| gamma_of_half(degrees + 1 - j))
            .product::<f64>();
    let log_prior: f64 = precisions
        .iter()
        .map(|x| {
            let trace = gamma * gamma * (0..d).map(|j| x[j * d + j]).sum::<f64>();
            let density = determinant(x.clone(), d).powf(m as f64 / 2.0) * (-trace / 2.0).exp()
                / (2f64.powf((degrees * d) as f64 / 2.0)
                    * (gamma * gamma).powf(-((degrees * d) as f64) / 2.0)
                    * multivariate_gamma);
            density.ln()
        })
        .sum();
    log_likelihood + log_prior
}

/// The gradient of `program` at `x` by Richardson-extrapolated central differences,
/// (4 D(h/2) - D(h)) / 3 with h = 1e-3 max(1, |x_i|): error O(h^4).
fn finite_difference(program: &dyn DynProgram, x: &[f64]) -> Vec<f64> {
    let mut point = x.to_vec();
    let mut central = |i: usize, h: f64| {
        let original = point[i];
        point[i] = original + h;
        let up = program.primal(&point)[0];
        point[i] = original - h;
        let down = program.primal(&point)[0];
        point[i] = original;
        (up - down) / (2.0 * h)
    };
    (0..x.len())
        .map(|i| {
            let h = 1e-3 * x[i].abs().max(1.0);
            (4.0 * central(i, h / 2.0) - central(i, h)) / 3.0
        })
        .collect()
}

#[test]
fn gmm_of_one_point_in_one_dimension_is_worked_by_hand() {
    // D = K = N = 1: Q = (e^q), phi = 1, so lse(alpha) = alpha, beta = alpha - e^{2q}(x - mu)^2/2
    // + q, and the Wishart degrees of freedom are n = D + m + 1 = m + 2. With Gamma_1 = Gamma,
    // F = -(ln 2pi)/2 - alpha + beta + (m + 2) ln(gamma / sqrt 2) - ln Gamma((m + 2)/2)
    //     - gamma^2 e^{2q} / 2 + m q
    //   = -(ln 2pi)/2 - e^{2q} ((x - mu)^2 + gamma^2) / 2 + (m + 1) q
    //     + (m + 2) ln(gamma / sqrt 2) - ln Gamma((m + 2)/2),
    // whose gradient is dF/dalpha = 0, dF/dmu = e^{2q} (x - mu) and
    // dF/dq = m + 1 - e^{2q} ((x - mu)^2 + gamma^2).
    //
    // m = 0, gamma = 1 (Gamma(1) = 1), x = 1, alpha = 0.3, mu = q = 0:
    // F = -(ln 2pi)/2 - 1 - ln 2 and the gradient is (0, 1, -1).
    let program = GmmLogPosterior::new(1, 1, 1, vec![1.0], 0, 1.0);
    let value = -0.5 * (2.0 * std::f64::consts::PI).ln() - 1.0 - 2f64.ln();
    let checked = assert_gradients(
        "d = k = n = 1",
        &program,
        &[0.3, 0.0, 0.0],
        value,
        &[0.0, 1.0, -1.0],
        CLOSED_FORM_TOLERANCE,
    );
    assert_eq!(
        checked,
        differentiating_strategies(&program),
        "naive included"
    );
    // m = 1, gamma = 2 (Gamma(3/2) = sqrt(pi)/2), x = 0.5, alpha = -1, mu = 1.5, q = 0.25:
    // (x - mu)^2 + gamma^2 = 5, so F = -(ln 2pi)/2 - 5 e^{0.5}/2 + 0.5 + 3 ln(sqrt 2)
    // - ln(sqrt(pi)/2), and the gradient is (0, -e^{0.5}, 2 - 5 e^{0.5}).
    let program = GmmLogPosterior::new(1, 1, 1, vec![0.5], 1, 2.0);
    let (e, ln_pi) = (0.5f64.exp(), std::f64::consts::PI.ln());
    let value = -0.5 * (2.0 * std::f64::consts::PI).ln() - 2.5 * e + 0.5 + 1.5 * 2f64.ln()
        - 0.5 * ln_pi
        + 2f64.ln();
    let gradient = [0.0, -e, 2.0 - 5.0 * e];
    let input = [-1.0, 1.5, 0.25];
    assert_gradients(
        "d = k = n = 1, m = 1",
        &program,
        &input,
        value,
        &gradient,
        CLOSED_FORM_TOLERANCE,
    );
}

#[test]
fn gmm_of_one_point_in_two_dimensions_is_worked_by_hand() {
    // D = 2, K = N = 1, m = 0, gamma = 1; x = (1, 2), mu = (0, 0), q = (0, 0), l = (1):
    // Q = [[1, 0], [1, 1]], Q (x - mu) = (1, 3) with squared norm 10, so beta = alpha - 5 and
    // the likelihood term is -(ln 2pi + alpha) + beta = -ln 2pi - 5. The prior has n = 3:
    // K (n D ln(1 / sqrt 2) - ln Gamma_2(3/2)) with Gamma_2(3/2) = sqrt(pi) Gamma(3/2) Gamma(1)
    // = pi / 2, that is -3 ln 2 - ln pi + ln 2, and -||Q||_F^2 / 2 = -3/2. In all,
    // F = -ln 2 - ln pi - 5 - 2 ln 2 - ln pi - 3/2 = -3 ln 2 - 2 ln pi - 13/2.
    let program = GmmLogPosterior::new(2, 1, 1, vec![1.0, 2.0], 0, 1.0);
    let input = [0.7, 0.0, 0.0, 0.0, 0.0, 1.0];
    let value = -3.0 * 2f64.ln() - 2.0 * std::f64::consts::PI.ln() - 6.5;
    assert_close(
        "value",
        &program.primal(&input),
        &[value],
        CLOSED_FORM_TOLERANCE,
    );
    let data = [1.0, 2.0];
    let naive = naive_log_posterior((2, 1), &data, (0, 1.0), &input);
    assert_close(
        "naive definition",
        &[naive],
        &[value],
        CLOSED_FORM_TOLERANCE,
    );
}

#[test]
fn gmm_matches_its_naive_definition_and_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    // d = 4 is the first dimension where filling the lower part column by column differs from
    // filling it row by row.
    for d in 1..=4 {
        for k in 1..=3 {
            for (n, m, gamma) in [(1usize, 0usize, 1.0), (4, 2, 0.5), (6, 1, 1.7)] {
                let lower = d * (d - 1) / 2;
                let points = random_point(&mut rng, n * d, -1.5, 1.5);
                let mut input = random_point(&mut rng, k, -1.0, 1.0);
                input.extend(random_point(&mut rng, k * d, 0.0, 1.0));
                input.extend(random_point(&mut rng, k * d, -0.5, 0.5));
                input.extend(random_point(&mut rng, k * lower, -1.0, 1.0));
                let naive = naive_log_posterior((d, k), &points, (m, gamma), &input);
                let program = GmmLogPosterior::new(d, k, n, points, m, gamma);
                let what = format!("gmm d = {d}, k = {k}, n = {n}, m = {m}, gamma = {gamma}");
                assert_close(
                    &what,
                    &program.primal(&input),
                    &[naive],
                    CLOSED_FORM_TOLERANCE,
                );
                let gradient = finite_difference(&program, &input);
                assert_gradients(
                    &what,
                    &program,
                    &input,
                    naive,
                    &gradient,
                    FINITE_DIFFERENCE_TOLERANCE,
                );
            }
        }
    }
}

#[test]
fn gmm_instances_agree_with_finite_differences() {
    for d in 1..=3 {
        for k in 1..=3 {
            let params = [("d", d as f64), ("n", 5.0), ("m", 1.0), ("gamma", 0.8)];
            let instance = build("gmm", Some(k), &params);
            let program = instance.program.as_ref();
            let value = program.primal(&instance.input)[0];
            let gradient = finite_difference(program, &instance.input);
            let what = format!("gmm instance d = {d}, k = {k}");
            let tolerance = FINITE_DIFFERENCE_TOLERANCE;
            assert_gradients(&what, program, &instance.input, value, &gradient, tolerance);
        }
    }
}
