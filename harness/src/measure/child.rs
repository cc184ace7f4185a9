//! The child side of isolation: measuring one case in this process (`dualbench run-case`).
//!
//! Everything that evaluates the program runs on one evaluation thread with the case's stack
//! ([`crate::select::with_stack`]): instantiation, the operation count T, the untimed memory
//! pass, the warm-up and every timed sample. A stack overflow or a failed allocation there
//! aborts this process, and the parent records it; a panic unwinds to `main` and exits 101.
//!
//! Timing: the first gradient is the memory pass (heap counted on this thread, not timed); more
//! untimed gradients follow until the warm-up time has passed. The fastest warm-up gradient
//! sets the batch: gradients faster than the target sample duration are timed `batch` at a
//! time and reported per gradient, so the clock's resolution never dominates. A "gradient"
//! is what a user of the strategy pays for: one vector-Jacobian product with cotangent `[1]`
//! for one output, the full Jacobian (one product per output, or n forward passes) for several.

use std::hash::Hasher;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use strategies::{Counters, DynProgram, Phases, StrategyKind};

use crate::error::{Error, Result};
use crate::measure::alloc::{self, MemoryPass};
use crate::measure::protocol::{CaseInfo, CaseSpec, Request, Response, Sample, Setup};
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
    select::with_stack(spec.stack_bytes, move || {
        let instance = workloads::instantiate(workload, spec.size, &spec.params)?;
        let case = Case {
            program: instance.program.as_ref(),
            strategy,
            input: &instance.input,
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
                Request::Measure { samples } => {
                    let samples = (0..samples).map(|_| case.sample(batch)).collect();
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

/// One program, strategy and input.
struct Case<'a> {
    program: &'a dyn DynProgram,
    strategy: StrategyKind,
    input: &'a [f64],
}

impl Case<'_> {
    /// One gradient (the full Jacobian when there are several outputs): its counters and
    /// phases.
    fn gradient(&self) -> (Counters, Phases) {
        if self.program.output_len() == 1 {
            let r = self.program.vjp(self.strategy, self.input, &[1.0]);
            std::hint::black_box(&r.gradient);
            (r.counters, r.phases)
        } else {
            let r = self.program.jacobian(self.strategy, self.input);
            std::hint::black_box(&r.rows);
            (r.counters, r.phases)
        }
    }

    /// Shape, operation count and input identity.
    fn count(&self) -> CaseInfo {
        let op_count = self.program.op_count(self.input);
        CaseInfo {
            inputs: self.program.input_len() as u64,
            outputs: self.program.output_len() as u64,
            ops: op_count.ops,
            naive_calls: op_count.naive_calls,
            input_hash: input_hash(self.input),
        }
    }

    /// Memory pass, warm-up and batch size.
    fn set_up(&self, spec: &CaseSpec) -> Setup {
        let start = Instant::now();
        let pass = MemoryPass::open();
        let (counters, _) = self.gradient();
        let heap = pass.close();
        let mut fastest = start.elapsed();

        let warmup = Duration::from_nanos(spec.warmup_ns);
        let warmup_start = Instant::now();
        while warmup_start.elapsed() < warmup {
            let t = Instant::now();
            self.gradient();
            fastest = fastest.min(t.elapsed());
        }
        let estimate_ns = (fastest.as_nanos() as f64).max(1.0);
        let batch = (spec.target_sample_ns as f64 / estimate_ns).ceil() as u64;

        Setup {
            counters: counters.iter().map(|(k, v)| (k.to_string(), v)).collect(),
            heap,
            batch: batch.clamp(1, MAX_BATCH),
            estimate_ns,
        }
    }

    /// `batch` gradients timed together, reported per gradient.
    fn sample(&self, batch: u64) -> Sample {
        let mut phases = Phases::default();
        let start = Instant::now();
        for _ in 0..batch {
            phases.merge(self.gradient().1);
        }
        let elapsed = start.elapsed();
        let per = |d: Duration| d.as_nanos() as f64 / batch as f64;
        Sample {
            ns: per(elapsed),
            forward_ns: per(phases.forward),
            reverse_ns: per(phases.reverse),
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
