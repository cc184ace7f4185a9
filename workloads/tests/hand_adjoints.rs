//! The hand-written adjoints (the `manual` strategy, the floor) against `tape`: on every
//! workload that defines one, at several sizes and parameter sets, at the generated input and
//! at random points, with cotangents other than 1, the vector-Jacobian products agree to
//! rounding and the values equal the primal's exactly. Also: exactly the documented workloads
//! have an adjoint, at every size.

mod common;

use common::{assert_close, build};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use strategies::StrategyKind;
use workloads::classic::{
    DeterminantByMinors, GmmLogPosterior, LeastSquares, LogSumExp, RungeKutta,
};
use workloads::{all, has_hand_adjoint, Instance, Workload};

/// The workloads with a hand-written adjoint, as `docs/workloads.md` and `docs/ladder.md`
/// list them.
const WITH_ADJOINT: &[&str] = &[
    "fdotprod",
    "fsummatvec",
    "fneural",
    "mlp",
    "deep-chain",
    "lse",
    "sin-product-sum",
    "llsq",
    "det",
    "ode",
    "gmm",
];

/// Agreement with `tape` in GradBench's metric |x - y| / max(1, |x| + |y|): rounding only.
const TOLERANCE: f64 = 1e-12;

/// The cotangents every case is checked with: the gradient's 1 and two others.
const COTANGENTS: [f64; 3] = [1.0, -2.5, 0.375];

/// Check `manual` against `tape` on `instance` at its generated input and at `random_points`
/// points drawn around it (each entry moved by up to `spread` times its magnitude, at least
/// `spread`), with every cotangent of [`COTANGENTS`] (scaled per output).
fn check(what: &str, instance: &Instance, random_points: usize, spread: f64, seed: u64) {
    assert!(
        instance.has_hand_adjoint(),
        "{what}: no hand-written adjoint"
    );
    let program = instance.program.as_ref();
    let m = program.output_len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points = vec![instance.input.clone()];
    for _ in 0..random_points {
        let point = instance
            .input
            .iter()
            .map(|&v| v + spread * v.abs().max(1.0) * rng.random_range(-1.0..1.0))
            .collect();
        points.push(point);
    }
    for (p, x) in points.iter().enumerate() {
        for (c, &scale) in COTANGENTS.iter().enumerate() {
            let w: Vec<f64> = (0..m).map(|j| scale * (1.0 + j as f64)).collect();
            let manual = program.vjp(StrategyKind::Manual, x, &w);
            let tape = program.vjp(StrategyKind::Tape, x, &w);
            let at = format!("{what}, point {p}, cotangent {c}");
            assert_eq!(manual.value, program.primal(x), "{at}: the primal's value");
            assert_close(
                &format!("{at}: value"),
                &manual.value,
                &tape.value,
                TOLERANCE,
            );
            assert_close(
                &format!("{at}: w^T J"),
                manual.gradient.as_deref().expect("manual differentiates"),
                tape.gradient.as_deref().expect("tape differentiates"),
                TOLERANCE,
            );
            assert_eq!(manual.counters.get("vjp_calls"), Some(1), "{at}");
        }
        if m > 1 {
            let manual = program.jacobian(StrategyKind::Manual, x);
            let tape = program.jacobian(StrategyKind::Tape, x);
            let (manual_rows, tape_rows) = (manual.rows.unwrap(), tape.rows.unwrap());
            for (j, (a, b)) in manual_rows.iter().zip(&tape_rows).enumerate() {
                assert_close(&format!("{what}, point {p}: row {j}"), a, b, TOLERANCE);
            }
            assert_eq!(manual.counters.get("vjp_calls"), Some(m as u64), "{what}");
        }
    }
}

/// Check the workload `name` at each size (in the order given, so that the adjoint's
/// workspace, kept between calls, shrinks and grows) with the parameters `params`.
fn check_sizes(name: &str, sizes: &[usize], params: &[(&str, f64)], spread: f64) {
    for (k, &size) in sizes.iter().enumerate() {
        let instance = build(name, Some(size), params);
        let what = format!("{name} size {size} {params:?}");
        check(&what, &instance, 2, spread, k as u64);
    }
}

#[test]
fn exactly_the_documented_workloads_have_an_adjoint_at_every_size() {
    let with: Vec<&str> = all()
        .iter()
        .filter(|w| has_hand_adjoint(**w))
        .map(|w| w.name())
        .collect();
    let mut expected = WITH_ADJOINT.to_vec();
    let position = |name: &str| all().iter().position(|w| w.name() == name);
    expected.sort_by_key(|name| position(name));
    assert_eq!(with, expected);
    for w in all() {
        let sizes: Vec<Option<usize>> = match w.size() {
            None => vec![None],
            Some(spec) => spec.verify.iter().map(|&s| Some(s)).collect(),
        };
        for size in sizes {
            let instance = build(w.name(), size, &[]);
            assert_eq!(
                instance.has_hand_adjoint(),
                has_hand_adjoint(*w as &dyn Workload),
                "{} at {size:?}",
                w.name()
            );
        }
    }
}

#[test]
fn fdotprod_agrees_with_tape() {
    check_sizes("fdotprod", &[1, 7, 1000, 2, 100], &[], 0.5);
}

#[test]
fn fsummatvec_agrees_with_tape() {
    check_sizes("fsummatvec", &[1, 4, 30, 2, 10], &[], 0.5);
}

#[test]
fn fneural_agrees_with_tape() {
    // Its exact gradient is 0: both compute rounding noise, far below the tolerance.
    check_sizes("fneural", &[1, 8, 2, 20], &[], 0.5);
}

#[test]
fn mlp_agrees_with_tape() {
    check_sizes("mlp", &[1, 8, 2, 20, 50], &[], 0.5);
    // Every unit of the second layer off (z = 0: m is the inactive 0), and one large output.
    let mut instance = build("mlp", Some(3), &[]);
    let b2 = 2 * 9 + 6 + 2 * 9;
    instance.input[b2..b2 + 3].copy_from_slice(&[-100.0, -100.0, -100.0]);
    check("mlp with every output unit off", &instance, 0, 0.0, 0);
    instance.input[b2..b2 + 3].copy_from_slice(&[-100.0, 300.0, -100.0]);
    check("mlp with one large output unit", &instance, 0, 0.0, 0);
}

#[test]
fn lse_agrees_with_tape() {
    check_sizes("lse", &[1, 2, 10, 1000, 3], &[], 0.5);
    // Large values, where the max trick matters, and ties for the maximum.
    let mut instance = build("lse", Some(5), &[]);
    instance.input = vec![700.0, 700.0, -3.0, 699.5, 700.0];
    check("lse at large values with ties", &instance, 0, 0.0, 0);
}

#[test]
fn deep_chain_agrees_with_tape() {
    check_sizes("deep-chain", &[0, 1, 10, 1000, 5, 10_000], &[], 0.9);
}

#[test]
fn sin_product_sum_agrees_with_tape() {
    check_sizes("sin-product-sum", &[2, 3, 100, 10, 10_000], &[], 0.5);
}

#[test]
fn llsq_agrees_with_tape() {
    check_sizes("llsq", &[2, 16, 64, 3], &[], 0.5);
    check_sizes("llsq", &[5, 256], &[("m", 1.0)], 0.5);
    check_sizes("llsq", &[4096, 7], &[("m", 7.0)], 0.5);
    check_sizes("llsq", &[33], &[("m", 300.0)], 0.5);
}

#[test]
fn det_agrees_with_tape() {
    check_sizes("det", &[1, 2, 3, 5, 7, 4, 8], &[], 1.0);
}

#[test]
fn ode_agrees_with_tape() {
    check_sizes("ode", &[1, 4, 8, 2, 100], &[], 0.5);
    check_sizes("ode", &[1, 10, 1000], &[("steps", 1.0)], 0.5);
    check_sizes("ode", &[3, 50], &[("steps", 10.0)], 0.5);
    check_sizes("ode", &[7], &[("steps", 100.0)], 0.5);
}

#[test]
fn gmm_agrees_with_tape() {
    check_sizes("gmm", &[1, 2, 3], &[], 0.5);
    check_sizes("gmm", &[4, 1, 25], &[("d", 3.0), ("n", 20.0)], 0.5);
    check_sizes(
        "gmm",
        &[2],
        &[("d", 1.0), ("n", 5.0), ("m", 3.0), ("gamma", 0.3)],
        0.5,
    );
    check_sizes(
        "gmm",
        &[3],
        &[("d", 6.0), ("n", 50.0), ("m", 2.0), ("gamma", 2.5)],
        0.5,
    );
}

/// The public programs GradBench's modules build (`dualbench gradbench --strategy manual`),
/// at random points: `ode`'s whole final state (n outputs: every row of the Jacobian), and
/// the others from data of their own.
#[test]
fn the_public_programs_agree_with_tape() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut random =
        |len: usize| -> Vec<f64> { (0..len).map(|_| rng.random_range(-1.5..1.5)).collect() };
    let compare = |what: &str, program: &dyn strategies::DynProgram, x: &[f64]| {
        let manual = program.jacobian(StrategyKind::Manual, x);
        let tape = program.jacobian(StrategyKind::Tape, x);
        assert_eq!(
            manual.value,
            program.primal(x),
            "{what}: the primal's value"
        );
        assert_close(
            &format!("{what}: value"),
            &manual.value,
            &tape.value,
            TOLERANCE,
        );
        for (j, (a, b)) in manual
            .rows
            .unwrap()
            .iter()
            .zip(&tape.rows.unwrap())
            .enumerate()
        {
            assert_close(&format!("{what}: row {j}"), a, b, TOLERANCE);
        }
    };
    for (n, steps) in [(1, 1), (5, 3), (40, 10)] {
        let x = random(n);
        compare(
            &format!("ode state {n} {steps}"),
            &RungeKutta::state(n, steps),
            &x,
        );
        compare(
            &format!("ode last {n} {steps}"),
            &RungeKutta::last(n, steps),
            &x,
        );
    }
    compare("lse", &LogSumExp::new(9), &random(9));
    compare("llsq", &LeastSquares::new(11, 4), &random(4));
    compare("det", &DeterminantByMinors::new(6), &random(36));
    let (d, k, n) = (4, 3, 17);
    let points = random(n * d);
    let x = random(k * (1 + 2 * d + d * (d - 1) / 2));
    compare("gmm", &GmmLogPosterior::new(d, k, n, points, 1, 0.7), &x);
}
