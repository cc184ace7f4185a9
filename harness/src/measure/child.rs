//! The child side of isolation: measuring one case in this process (`dualbench run-case`).
//!
//! Everything that evaluates the program runs inside a rayon pool of exactly the case's thread
//! count ([`CaseSpec::threads`]), built for the case with the case's stack on every worker
//! ([`crate::measure::thread::evaluation_pool`]): instantiation, the operation count T, the
//! memory pass, the counting pass, the warm-up and every sample run on one worker, through
//! [`rayon::ThreadPool::install`], and the `join`s of a parallel strategy on a fork-join
//! program spread over the others ([`strategies::real::parallel_here`]). A sequential case
//! runs in a pool of one thread, which is its evaluation thread. A stack overflow or a failed
//! allocation on any worker aborts this process, and the parent records it; a panic unwinds to
//! `main` and exits 101.
//!
//! Passes, in order:
//!
//! 1. the operation count T (on counting scalars, not a gradient);
//! 2. the memory and counting pass: the first gradient of the process (so a cold one), with the
//!    heap counted on every worker of the pool ([`MemoryPass::open_in`]: allocations in either
//!    branch of a `join` count, and the peak is that of all workers' live bytes together) and
//!    the strategy's counters recorded (into room reserved
//!    before the pass, so recording them allocates nothing). It is not a timed sample, since
//!    forming counters is not part of a timed gradient, but its wall time is reported as the
//!    cold gradient's ([`Setup::cold_ns`]): the clock is read inside the pass, around the
//!    gradient alone. Counting is lost in the cold time's own spread for a strategy that
//!    allocates a few blocks (the counters are local sums, and the heap is counted per
//!    allocation request), but adds to the cold time of one that allocates per operation
//!    (measured in docs/results.md, "The cold gradient");
//! 3. the warm-up: timed single gradients until the warm-up time has passed. The fastest sets
//!    the batch: gradients faster than the target sample duration are timed `batch` at a time
//!    and reported per gradient, so the clock's resolution never dominates;
//! 4. per [`Request::Measure`]: the phase samples first — after the idle period since the last
//!    share, they are the share's warm-up, discarded from the timed samples — then the timed
//!    samples.
//!
//! The timed loops are [`strategies::timing`]'s: the clock is read around a batch, and inside
//! it there are the gradients and nothing else. A "gradient" is what a user of the strategy
//! pays for: one vector-Jacobian product with cotangent `[1]` for one output, the full Jacobian
//! (one product per output, or n forward passes) for several.

use std::hash::Hasher;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use rayon::ThreadPool;
use strategies::{DynProgram, Recorder, StrategyKind};

use crate::error::{Error, Result};
use crate::measure::alloc::{self, MemoryPass};
use crate::measure::protocol::{
    CaseInfo, CaseSpec, PhaseSample, Request, Response, Samples, Setup,
};
use crate::measure::thread::{evaluation_pool, with_active_workers};
use crate::select;

/// The most gradients batched into one sample.
const MAX_BATCH: u64 = 1 << 20;

/// Measure the case `spec` describes, reading [`Request`]s from `requests` and writing
/// [`Response`]s to `responses`, one JSON line each, until [`Request::Finish`] or the end of
/// the requests.
pub fn serve(
    spec: &CaseSpec,
    requests: impl BufRead + Send,
    responses: impl Write + Send,
) -> Result<()> {
    alloc::set_limit(spec.memory_limit_bytes);
    let workload = workloads::find(&spec.workload)?;
    let strategy = select::strategy(&spec.strategy)?;
    let pool = evaluation_pool(spec.threads, spec.stack_bytes)?;
    let pool = &pool;
    pool.install(move || {
        let instance = workloads::instantiate(workload, spec.size, &spec.params)?;
        if let Some(reason) = instance.program.why_unavailable(strategy) {
            return Err(crate::gradient::unavailable(
                workload.name(),
                strategy,
                reason,
            ));
        }
        let case = Case {
            program: instance.program.as_ref(),
            strategy,
            input: &instance.input,
            pool,
        };
        let mut responses = responses;
        send(&mut responses, &Response::Counted(case.count()))?;
        let setup = case.set_up(spec);
        let batch = setup.batch;
        send(&mut responses, &Response::Ready(setup))?;
        for line in requests.lines() {
            let line = line.map_err(|e| io_error("reading a request from the parent", e))?;
            let request: Request = serde_json::from_str(&line)
                .map_err(|e| Error::usage(format!("invalid run-case request `{line}`: {e}")))?;
            match request {
                Request::Measure {
                    samples,
                    phase_samples,
                } => {
                    let samples = case.measure(batch, samples, phase_samples);
                    send(&mut responses, &Response::Samples(samples))?;
                }
                Request::Finish => break,
            }
        }
        send(
            &mut responses,
            &Response::Finished {
                peak_rss_bytes: peak_rss_bytes(),
            },
        )
    })
}

fn io_error(context: &str, source: std::io::Error) -> Error {
    Error::Io {
        context: context.to_string(),
        source,
    }
}

fn send(out: &mut impl Write, response: &Response) -> Result<()> {
    let line = serde_json::to_string(response).expect("responses serialise");
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| io_error("writing a response to the parent", e))
}

/// One program, strategy and input, and the pool it runs in.
struct Case<'a> {
    program: &'a dyn DynProgram,
    strategy: StrategyKind,
    input: &'a [f64],
    pool: &'a ThreadPool,
}

impl Case<'_> {
    /// Shape, operation count and input identity.
    fn count(&self) -> CaseInfo {
        let op_count = self.program.op_count(self.input);
        CaseInfo {
            inputs: self.program.input_len() as u64,
            outputs: self.program.output_len() as u64,
            ops: op_count.ops,
            naive_calls: op_count.naive_calls,
            input_hash: input_hash(self.input),
            heap_bytes: alloc::high_water_bytes(),
        }
    }

    /// Memory and counting pass (the cold gradient, timed), warm-up and batch size.
    fn set_up(&self, spec: &CaseSpec) -> Setup {
        let mut out = self.program.gradient_buffer();
        let mut recorder = Recorder::with_room_for(self.strategy.counter_names().len());
        let pass = MemoryPass::open_in(self.pool);
        let start = Instant::now();
        self.program
            .gradient_recorded(self.strategy, self.input, &mut out, &mut recorder);
        let cold = start.elapsed();
        let heap = pass.close();
        std::hint::black_box(&out);
        let mut fastest = cold;
        let (_, counters) = recorder.into_parts();

        let warmup = Duration::from_nanos(spec.warmup_ns);
        let warmup_start = Instant::now();
        with_active_workers(|| loop {
            let times = self.program.time_gradients(self.strategy, self.input, 1, 1);
            fastest = times.into_iter().fold(fastest, Duration::min);
            if warmup_start.elapsed() >= warmup {
                break;
            }
        });
        let estimate_ns = (fastest.as_nanos() as f64).max(1.0);
        let batch = (spec.target_sample_ns as f64 / estimate_ns).ceil() as u64;

        Setup {
            counters: counters.iter().map(|(k, v)| (k.to_string(), v)).collect(),
            heap,
            cold_ns: cold.as_nanos() as f64,
            batch: batch.clamp(1, MAX_BATCH),
            estimate_ns,
            heap_bytes: alloc::high_water_bytes(),
        }
    }

    /// `phase_samples` phase batches (the share's warm-up), then `samples` timed batches, of
    /// `batch` gradients each, reported per gradient; the pool's other workers wait actively
    /// meanwhile ([`with_active_workers`]).
    fn measure(&self, batch: u64, samples: u64, phase_samples: u64) -> Samples {
        with_active_workers(|| self.measure_timed(batch, samples, phase_samples))
    }

    /// [`Case::measure`] on this worker.
    fn measure_timed(&self, batch: u64, samples: u64, phase_samples: u64) -> Samples {
        let per = |d: Duration| d.as_nanos() as f64 / batch as f64;
        let phases = self
            .program
            .time_phases(self.strategy, self.input, phase_samples as usize, batch)
            .into_iter()
            .map(|p| PhaseSample {
                forward_ns: per(p.forward),
                reverse_ns: per(p.reverse),
            })
            .collect();
        let ns = self
            .program
            .time_gradients(self.strategy, self.input, samples as usize, batch)
            .into_iter()
            .map(per)
            .collect();
        Samples {
            ns,
            phases,
            warmup_gradients: phase_samples * batch,
            heap_bytes: alloc::high_water_bytes(),
        }
    }
}

/// FNV-1a of the input's bits: a stable identifier of the generated input.
fn input_hash(input: &[f64]) -> String {
    let mut h = fnv::FnvHasher::default();
    for x in input {
        h.write(&x.to_bits().to_le_bytes());
    }
    format!("{:016x}", h.finish())
}

/// This process's peak resident set size.
fn peak_rss_bytes() -> Option<u64> {
    // SAFETY: `getrusage` only writes the zero-initialised struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    }?;
    let max = u64::try_from(usage.ru_maxrss).ok()?;
    // Linux reports KiB, macOS bytes.
    Some(if cfg!(target_os = "macos") {
        max
    } else {
        max * 1024
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heap bytes the calling thread allocates while `f` runs.
    fn allocated(f: impl FnOnce()) -> u64 {
        let pass = MemoryPass::open();
        f();
        pass.close()
            .expect("the counting allocator is installed in the harness's tests")
            .allocated_bytes
    }

    #[test]
    fn the_timed_region_is_the_gradient_and_nothing_else() {
        // The primal of one multiplication, and of a three-output program: whatever the batch,
        // the timed loop allocates the same (its buffer and the sample list, before the clock
        // starts; nothing per gradient), so no counter, output vector or clock is paid per
        // call.
        for name in ["fmult", "frotvecquat"] {
            let w = workloads::find(name).unwrap();
            let instance = workloads::instantiate(w, None, &Default::default()).unwrap();
            let (program, x) = (instance.program.as_ref(), instance.input.as_slice());
            let timed = |batch| {
                allocated(|| {
                    program.time_gradients(StrategyKind::Primal, x, 1, batch);
                })
            };
            assert_eq!(timed(1), timed(1000), "{name}");
        }
    }

    #[test]
    fn no_cold_samples_each_share_starts_with_its_phase_samples() {
        let spec = CaseSpec {
            workload: "fdotprod".into(),
            strategy: "dualrev".into(),
            size: Some(10),
            params: Default::default(),
            threads: 1,
            stack_bytes: 8 << 20,
            memory_limit_bytes: 0,
            warmup_ns: 0,
            target_sample_ns: 10_000,
        };
        let requests = [
            Request::Measure {
                samples: 3,
                phase_samples: 1,
            },
            Request::Finish,
        ]
        .map(|r| serde_json::to_string(&r).unwrap())
        .join("\n");
        let mut responses = Vec::new();
        serve(&spec, requests.as_bytes(), &mut responses).unwrap();
        let lines: Vec<Response> = String::from_utf8(responses)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let Response::Ready(setup) = &lines[1] else {
            panic!("{lines:?}")
        };
        assert!(setup.counters.iter().any(|(k, _)| k == "slots_swept"));
        // The first gradient, cold, is timed.
        assert!(setup.cold_ns > 0.0, "{setup:?}");
        let Response::Samples(samples) = &lines[2] else {
            panic!("{lines:?}")
        };
        assert_eq!((samples.ns.len(), samples.phases.len()), (3, 1));
        // The phase batch ran first: its gradients are the share's warm-up.
        assert_eq!(samples.warmup_gradients, setup.batch);
        assert!(samples.warmup_gradients >= 1);
    }

    #[test]
    fn input_hash_depends_on_every_bit_of_the_input() {
        let a = input_hash(&[1.0, 2.0]);
        assert_eq!(a, input_hash(&[1.0, 2.0]));
        assert_ne!(a, input_hash(&[2.0, 1.0]));
        assert_ne!(a, input_hash(&[1.0, 2.0000000000000004]));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn peak_rss_is_reported_on_this_system() {
        let rss = peak_rss_bytes().unwrap();
        assert!(rss > 1 << 20, "{rss}");
    }
}
