//! The fork-join workloads under the strategies that run them in parallel: `dualrev-par` in rayon
//! pools of 1, 2 and 4 threads gives `dualrev`'s gradient (on the sequential twin) and
//! `forward`'s to rounding, the same value as the primal, bit for bit, and the same counters on
//! every thread count (all but those it declares schedule-dependent); it keeps doing so in a long
//! race loop on a loaded machine. The
//! sequential twin and the fork-join form are the same program: their `primal` values and
//! their `tape` gradients agree bit for bit.

use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use rayon::{ThreadPool, ThreadPoolBuilder};
use strategies::dualrev_par::DualrevPar;
use strategies::tape::Tape;
use strategies::{Counters, ParProgram, ParStrategy, Program, Strategy, StrategyKind, Vjp};
use workloads::{
    find, instantiate, Instance, Params, ParticleFork, ParticleSimulation, SeededForkJoin,
    TreeSumOfSquares,
};

/// The thread counts every check runs `dualrev-par` on.
const THREADS: [usize; 3] = [1, 2, 4];

/// Gradients agree to this, relative to the largest component of the reference: the parallel
/// reverse pass may add contributions into a value in another order, and forward mode
/// associates the chain rule differently.
const TOLERANCE: f64 = 1e-12;

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

fn pools() -> Vec<ThreadPool> {
    THREADS.iter().map(|&t| pool(t)).collect()
}

fn build(name: &str, size: usize, params: &[(&str, f64)]) -> Instance {
    let params: Params = params.iter().map(|&(k, v)| (k.to_string(), v)).collect();
    instantiate(find(name).expect("registered"), Some(size), &params).expect("valid case")
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A cotangent of m distinct weights, 1, -0.5, 0.25, ...
fn weights(m: usize) -> Vec<f64> {
    (0..m).map(|j| (-0.5f64).powi(j as i32)).collect()
}

/// The counters of a `dualrev-par` call that do not depend on how its tasks were scheduled:
/// all but those it declares schedule-dependent (`atomic_retries`, compare-and-swap attempts
/// that lost a race, varies between parallel runs).
fn schedule_independent(counters: &Counters) -> Counters {
    let kept: Vec<(&'static str, u64)> = counters
        .iter()
        .filter(|(name, _)| !DualrevPar::SCHEDULE_DEPENDENT_COUNTERS.contains(name))
        .collect();
    Counters::from_pairs(&kept)
}

/// Assert that `got` is `want` to [`TOLERANCE`] relative to `want`'s largest component.
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(f64::MIN_POSITIVE, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOLERANCE * scale,
            "{what}[{i}]: {g} vs {w} (scale {scale})\n{got:?}\n{want:?}"
        );
    }
}

fn gradient(vjp: &Vjp) -> &[f64] {
    vjp.gradient.as_deref().expect("a differentiating strategy")
}

/// `dualrev-par` on `instance` in each of `pools` against `dualrev` (the twin), `forward` and
/// `primal`: gradients to rounding, values bit for bit, the same schedule-independent counters
/// on every thread count, and `dualrev`'s counters where both report one.
fn check_dualrev_par(what: &str, instance: &Instance, pools: &[ThreadPool]) {
    let x = &instance.input;
    let program = &instance.program;
    let w = weights(program.output_len());
    let primal = program.primal(x);
    let dualrev = program.vjp(StrategyKind::Dualrev, x, &w);
    let forward = program.vjp(StrategyKind::Forward, x, &w);
    assert_eq!(bits(&dualrev.value), bits(&primal), "{what}: dualrev value");
    assert_eq!(bits(&forward.value), bits(&primal), "{what}: forward value");
    assert_close(
        &format!("{what}: forward"),
        gradient(&forward),
        gradient(&dualrev),
    );
    let mut first: Option<Counters> = None;
    for pool in pools {
        let threads = pool.current_num_threads();
        let what = format!("{what} on {threads} threads");
        let par = pool.install(|| program.vjp(StrategyKind::DualrevPar, x, &w));
        let primal_here = pool.install(|| program.vjp(StrategyKind::Primal, x, &w));
        assert_eq!(bits(&par.value), bits(&primal), "{what}: value");
        assert_eq!(bits(&primal_here.value), bits(&primal), "{what}: primal");
        assert_close(
            &format!("{what}: vs dualrev"),
            gradient(&par),
            gradient(&dualrev),
        );
        assert_close(
            &format!("{what}: vs forward"),
            gradient(&par),
            gradient(&forward),
        );
        let counters = schedule_independent(&par.counters);
        let first = first.get_or_insert_with(|| counters.clone());
        assert_eq!(
            &counters, first,
            "{what}: counters differ between thread counts"
        );
        for (name, count) in dualrev.counters.iter() {
            assert_eq!(par.counters.get(name), Some(count), "{what}: {name}");
        }
    }
}

#[test]
fn dualrev_par_agrees_with_dualrev_and_forward_on_random_fork_join_programs() {
    let pools = pools();
    for seed in 0..100u32 {
        let size = 20 + (37 * seed as usize) % 300;
        let inputs = f64::from(1 + seed % 6);
        let instance = build(
            "random-fork-join",
            size,
            &[("seed", f64::from(seed)), ("inputs", inputs)],
        );
        check_dualrev_par(
            &format!("random-fork-join seed {seed} size {size}"),
            &instance,
            &pools,
        );
    }
}

#[test]
fn dualrev_par_agrees_with_dualrev_and_forward_on_fparticles_and_par_tree() {
    let pools = pools();
    for steps in [1, 5, 10] {
        for particles in [1.0, 2.0, 4.0, 7.0, 16.0] {
            for fork in [0.0, 1.0] {
                let params = [("particles", particles), ("fork", fork)];
                let instance = build("fparticles", steps, &params);
                let what = format!("fparticles {steps} steps, {particles} particles, fork {fork}");
                check_dualrev_par(&what, &instance, &pools);
            }
        }
    }
    for n in [1, 20, 64, 101] {
        for (work, grain) in [(1.0, 1.0), (5.0, 3.0), (64.0, 16.0)] {
            let instance = build("par-tree", n, &[("work", work), ("grain", grain)]);
            let what = format!("par-tree {n}, work {work}, grain {grain}");
            check_dualrev_par(&what, &instance, &pools);
        }
    }
}

/// The twin (`Program`) and the fork-join form (`ParProgram`) of `program` at `x`: the same
/// `f64` values bit for bit, with `join` in order and on 4 threads, and the same `tape`
/// gradient, value and counters bit for bit.
fn check_twin<P: Program + ParProgram + Sync>(
    what: &str,
    program: &P,
    x: &[f64],
    four: &ThreadPool,
) {
    let twin = Program::eval(program, x);
    let in_order = ParProgram::eval(program, x);
    let parallel = four.install(|| ParProgram::eval(program, x));
    assert_eq!(bits(&in_order), bits(&twin), "{what}: primal in order");
    assert_eq!(bits(&parallel), bits(&twin), "{what}: primal on 4 threads");
    let w = weights(Program::output_len(program));
    let seq = <Tape as Strategy>::vjp(program, x, &w);
    let par = <Tape as ParStrategy>::par_vjp(program, x, &w);
    assert_eq!(bits(&par.value), bits(&seq.value), "{what}: tape value");
    assert_eq!(
        bits(gradient(&par)),
        bits(gradient(&seq)),
        "{what}: tape gradient"
    );
    assert_eq!(par.counters, seq.counters, "{what}: tape counters");
}

#[test]
fn the_twin_and_the_fork_join_form_agree_bit_for_bit_on_primal_values_and_tape_gradients() {
    let four = pool(4);
    for seed in 0..50u32 {
        let size = 10 + (53 * seed as usize) % 800;
        let inputs = 1 + seed as usize % 5;
        let program = SeededForkJoin::generate(inputs, size, u64::from(seed));
        let x: Vec<f64> = (0..inputs).map(|i| 0.9 - 0.35 * i as f64).collect();
        check_twin(
            &format!("random seed {seed} size {size}"),
            &program,
            &x,
            &four,
        );
    }
    for fork in ParticleFork::ALL {
        for (particles, steps) in [(1, 1), (3, 7), (4, 50), (16, 5)] {
            let program = ParticleSimulation::new(particles, steps).with_fork(fork);
            let what = format!("fparticles {} {particles} x {steps}", fork.name());
            check_twin(&what, &program, &program.input(), &four);
        }
    }
    for (n, work, grain) in [(1, 3, 1), (37, 4, 2), (200, 8, 16)] {
        let program = TreeSumOfSquares::new(n, work, grain);
        let x: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 200) as f64 / 100.0 - 1.0)
            .collect();
        check_twin(&format!("par-tree {n}"), &program, &x, &four);
    }
}

/// Gradients of one program computed on each pool of the race: about 10 s in the test profile
/// on an idle 2-core machine.
const RACE_GRADIENTS: usize = 2500;

/// A 4-thread and a 2-thread pool compute gradients of one random program (20 000 operations,
/// about 2400 jobs) at the same time, while a third thread keeps a core busy, so that tasks are
/// stolen and contributions into shared slots race; every gradient is checked against the
/// 1-thread one.
#[test]
fn dualrev_par_gives_the_same_gradient_in_a_long_race_on_a_loaded_machine() {
    let instance = build(
        "random-fork-join",
        20_000,
        &[("seed", 7.0), ("inputs", 8.0)],
    );
    let x = &instance.input;
    let program = &instance.program;
    let w = weights(program.output_len());
    let reference = pool(1).install(|| program.vjp(StrategyKind::DualrevPar, x, &w));
    let expected_counters = schedule_independent(&reference.counters);
    let race = |threads: usize| {
        let pool = pool(threads);
        for round in 0..RACE_GRADIENTS {
            let r = pool.install(|| program.vjp(StrategyKind::DualrevPar, x, &w));
            let what = format!("{threads} threads, round {round}");
            assert_eq!(bits(&r.value), bits(&reference.value), "{what}: value");
            assert_close(&what, gradient(&r), gradient(&reference));
            assert_eq!(
                schedule_independent(&r.counters),
                expected_counters,
                "{what}"
            );
        }
    };
    let stop = AtomicBool::new(false);
    let outcomes = thread::scope(|s| {
        s.spawn(|| {
            let mut v = 0.5f64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..10_000 {
                    v = std::hint::black_box(v.sin() + 0.5);
                }
            }
        });
        let workers: Vec<_> = [4, 2].map(|t| s.spawn(move || race(t))).into();
        let outcomes: Vec<_> = workers.into_iter().map(|h| h.join()).collect();
        stop.store(true, Ordering::Relaxed);
        outcomes
    });
    for outcome in outcomes {
        if let Err(failure) = outcome {
            panic::resume_unwind(failure);
        }
    }
}
