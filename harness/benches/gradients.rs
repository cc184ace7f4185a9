//! criterion benchmarks: one group per workload, every strategy of this build that finishes it
//! in reasonable time, at one representative size (the largest of the workload's `verify`
//! sizes, small enough for the exponential strategies). Each iteration is one gradient (a full
//! Jacobian for several outputs) through the same timed loop `dualbench run` uses.
//!
//! `cargo bench -p dualbench --bench gradients` runs them; criterion's `--save-baseline NAME`
//! and `--baseline NAME` compare runs. `dualbench run` and `dualbench compare` remain the
//! project's own measurement and gating path; these benches are for those who prefer
//! criterion's workflow.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use strategies::StrategyKind;

/// Strategies whose predicted work on a case exceeds this are left out of its group.
const MAX_WORK: f64 = 1e7;

fn gradients(c: &mut Criterion) {
    for workload in workloads::all() {
        let size = workload.size().and_then(|s| s.verify.last().copied());
        let Ok(instance) = workloads::instantiate(*workload, size, &Default::default()) else {
            continue;
        };
        let program = instance.program.as_ref();
        let count = program.op_count(&instance.input);
        let mut group = c.benchmark_group(workload.name());
        for &strategy in StrategyKind::ALL {
            if program.why_unavailable(strategy).is_some()
                || strategy.predicted_work(&count, program.input_len()) > MAX_WORK
            {
                continue;
            }
            let id = BenchmarkId::new(strategy.name(), size.unwrap_or(0));
            group.bench_function(id, |b| {
                b.iter_custom(|iterations| {
                    program.time_gradients(strategy, &instance.input, 1, iterations)[0]
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, gradients);
criterion_main!(benches);
