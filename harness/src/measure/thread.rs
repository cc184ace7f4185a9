//! Evaluation threads: every evaluation of a program runs on a thread with a large stack, and
//! a panic inside one can be turned into an error message.
//!
//! A fork-join program runs its `join`s in parallel only on a worker of a rayon pool of more
//! than one thread ([`strategies::real::parallel_here`]), so the evaluations that take a thread
//! count (`run --threads`, `grad --threads`, `verify --threads`) run on the workers of a pool
//! built for them, [`evaluation_pool`], every worker with the evaluation stack: a deep chain
//! recurses on whichever worker runs it.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use rayon::ThreadPool;

use crate::error::{Error, Result};

/// Run `f` on a new thread with a stack of `stack_bytes` and return its result. Closure-based
/// strategies (naive) recurse through their graph when calling and dropping it, so the harness
/// runs every evaluation on a thread with a large stack; a panic inside is resumed here.
pub fn with_stack<T: Send>(stack_bytes: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("evaluation".into())
            .stack_size(stack_bytes)
            .spawn_scoped(scope, f)
            .expect("spawning the evaluation thread");
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The stack given to evaluation threads: 1 GiB of address space (only touched pages are
/// backed), deep enough for closure chains of ~10^6 nodes.
pub const EVALUATION_STACK_BYTES: usize = 1 << 30;

/// The most threads an evaluation pool may have (`--threads`).
pub const MAX_THREADS: usize = 256;

/// A rayon pool of exactly `threads` workers, each with a stack of `stack_bytes` (named
/// `evaluation-0`, `evaluation-1`, ...): what a case of `run --threads` runs in, the calling
/// work through [`ThreadPool::install`].
pub fn evaluation_pool(threads: usize, stack_bytes: usize) -> Result<ThreadPool> {
    pool_builder(threads, stack_bytes)?
        .build()
        .map_err(|e| Error::usage(format!("cannot start {threads} evaluation threads: {e}")))
}

/// Prove, before any case runs, that this machine starts `threads` evaluation threads with a
/// stack of `stack_bytes` each (`--stack-mib`): a stack it cannot give would otherwise fail in
/// every case's process, for a reason that is none of the case's.
pub fn check_stack(threads: usize, stack_bytes: usize) -> Result<()> {
    let mib = stack_bytes >> 20;
    pool_builder(threads, stack_bytes)?
        .build()
        .map(drop)
        .map_err(|e| {
            Error::usage(format!(
                "--stack-mib {mib}: this machine cannot start {threads} evaluation thread{} \
                 with a stack of {mib} MiB ({e}); choose a smaller --stack-mib (default {})",
                if threads == 1 { "" } else { "s" },
                EVALUATION_STACK_BYTES >> 20
            ))
        })
}

/// The builder of [`evaluation_pool`], with the thread count checked (rayon reads 0 as "one per
/// core").
fn pool_builder(threads: usize, stack_bytes: usize) -> Result<rayon::ThreadPoolBuilder> {
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(Error::usage(format!(
            "an evaluation pool has 1 to {MAX_THREADS} threads, not {threads}"
        )));
    }
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(stack_bytes)
        .thread_name(|i| format!("evaluation-{i}")))
}

/// Run `timed` on this worker while every other worker of the current rayon pool waits
/// *actively* for work: it spins, looking for a task to steal between short pauses, instead of
/// going to sleep. Called on a worker of a pool of one thread, or outside any pool, it just
/// runs `timed`.
///
/// Why: an idle rayon worker sleeps, and waking it on a virtual machine (an idle vCPU is
/// halted) can take longer than the task it is woken for. Measured on the 2-core CI machine: a
/// `join` of two 200 µs tasks takes 202 µs while the other worker is awake and 400 µs (no
/// speed-up at all) after a 300 µs pause in which it fell asleep. The timed loops of a
/// multi-thread case (warm-up, phase and timed samples) therefore run under this active wait,
/// as parallel runtimes with an active wait policy do (OpenMP's `OMP_WAIT_POLICY=active`); the
/// parallel primal and the parallel strategies get the same treatment, and one-thread cases
/// have no other worker to keep awake.
pub fn with_active_workers<T>(timed: impl FnOnce() -> T) -> T {
    let others = rayon::current_num_threads().saturating_sub(1);
    if others == 0 || rayon::current_thread_index().is_none() {
        return timed();
    }
    let stop = AtomicBool::new(false);
    let started = AtomicUsize::new(0);
    rayon::in_place_scope(|scope| {
        for _ in 0..others {
            scope.spawn(|_| {
                started.fetch_add(1, Ordering::SeqCst);
                // Steal nothing until every waiter runs on a worker of its own.
                while started.load(Ordering::SeqCst) < others && !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                while !stop.load(Ordering::Relaxed) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        for _ in 0..64 {
                            std::hint::spin_loop();
                        }
                    }
                }
            });
        }
        // This worker must not run a waiter itself: wait until the others have taken them all.
        while started.load(Ordering::SeqCst) < others {
            std::hint::spin_loop();
        }
        /// Releases the waiters when `timed` returns or panics.
        struct Release<'a>(&'a AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _release = Release(&stop);
        timed()
    })
}

thread_local! {
    /// Set while a [`guarded`] evaluation runs on this thread, and on every worker of a
    /// [`GuardedPool`]: its panics are reported as errors, so the panic hook stays quiet for
    /// them.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Install, once per process, a panic hook that defers to the previous hook except on threads
/// whose panics are reported as errors (`QUIET_PANICS`).
fn install_quiet_hook() {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// The message of a caught panic.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked with a non-text payload".to_string())
}

/// Run `evaluation` on a thread with [`EVALUATION_STACK_BYTES`] of stack and return its
/// result, or the panic message if it panicked (an unimplemented strategy, a failed assertion,
/// a program's domain error). The panic is not printed: a process-wide hook, installed once,
/// defers to the previous hook except on threads inside `guarded`.
pub fn guarded<T: Send>(evaluation: impl FnOnce() -> T + Send) -> std::result::Result<T, String> {
    install_quiet_hook();
    with_stack(EVALUATION_STACK_BYTES, || {
        QUIET_PANICS.with(|q| q.set(true));
        let result = std::panic::catch_unwind(AssertUnwindSafe(evaluation));
        QUIET_PANICS.with(|q| q.set(false));
        result.map_err(panic_message)
    })
}

/// [`guarded`] on the workers of a rayon pool of a chosen size, for the evaluations of `grad
/// --threads` and `verify --threads`: a fork-join program's `join`s run in parallel there
/// when the pool has more than one thread. Every worker has [`EVALUATION_STACK_BYTES`] of
/// stack, and a panic on any of them (in either branch of a `join`) is returned as its
/// message, not printed. One pool serves any number of evaluations.
#[derive(Debug)]
pub struct GuardedPool {
    pool: ThreadPool,
}

impl GuardedPool {
    /// A pool of `threads` (1 to [`MAX_THREADS`]) quiet evaluation threads.
    pub fn new(threads: usize) -> Result<GuardedPool> {
        install_quiet_hook();
        let pool = pool_builder(threads, EVALUATION_STACK_BYTES)?
            .start_handler(|_| QUIET_PANICS.with(|q| q.set(true)))
            .build()
            .map_err(|e| Error::usage(format!("cannot start {threads} evaluation threads: {e}")))?;
        Ok(GuardedPool { pool })
    }

    /// Run `evaluation` on a worker of the pool and return its result, or the message of a
    /// panic inside it (see [`guarded`]).
    pub fn run<T: Send>(
        &self,
        evaluation: impl FnOnce() -> T + Send,
    ) -> std::result::Result<T, String> {
        self.pool
            .install(|| std::panic::catch_unwind(AssertUnwindSafe(evaluation)))
            .map_err(panic_message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_turns_a_panic_into_its_message() {
        let r: std::result::Result<(), String> = guarded(|| panic!("domain error: ln of {}", -1));
        assert_eq!(r.unwrap_err(), "domain error: ln of -1");
        assert_eq!(guarded(|| 41 + 1), Ok(42));
    }

    #[test]
    fn a_guarded_pool_runs_joins_in_parallel_and_reports_a_panic_of_either_branch() {
        let pool = GuardedPool::new(2).unwrap();
        let (threads, parallel) = pool
            .run(|| {
                (
                    rayon::current_num_threads(),
                    strategies::real::parallel_here(),
                )
            })
            .unwrap();
        assert_eq!((threads, parallel), (2, true));
        let r: std::result::Result<((), ()), String> =
            pool.run(|| rayon::join(|| (), || panic!("in the second branch")));
        assert_eq!(r.unwrap_err(), "in the second branch");
        assert_eq!(pool.run(|| 41 + 1), Ok(42), "the pool outlives a panic");
        assert!(!GuardedPool::new(1)
            .unwrap()
            .run(strategies::real::parallel_here)
            .unwrap());
    }

    #[test]
    fn a_stack_the_machine_cannot_give_is_refused_up_front() {
        check_stack(2, 8 << 20).unwrap();
        // 2^46 bytes (64 TiB) per thread: more address space than a process is given.
        let e = check_stack(4, 1 << 46).unwrap_err().to_string();
        assert!(
            e.starts_with("--stack-mib 67108864: this machine cannot start 4"),
            "{e}"
        );
    }

    #[test]
    fn pools_have_one_to_max_threads() {
        for bad in [0, MAX_THREADS + 1] {
            let e = evaluation_pool(bad, 1 << 20).unwrap_err().to_string();
            assert!(e.contains(&bad.to_string()), "{e}");
        }
        let pool = evaluation_pool(3, 1 << 20).unwrap();
        assert_eq!(pool.current_num_threads(), 3);
    }
}
