//! A counting global allocator: heap accounting for the threads of a memory pass, and an
//! optional process-wide cap.
//!
//! The `dualbench` binary installs [`CountingAllocator`] as its `#[global_allocator]`. It
//! forwards every request to mimalloc and, while a [`MemoryPass`] is open, also counts the
//! bytes allocated in total, the allocation requests and the peak of live bytes — on the
//! threads that belong to the pass only. A pass belongs to the thread that opens it
//! ([`MemoryPass::open`]), or to every worker of a rayon pool ([`MemoryPass::open_in`]: a case
//! of `run --threads` runs in such a pool, and the branches of its `join`s allocate on
//! whichever worker runs them). Counting only the pass's threads keeps parallel test threads
//! and the harness's own threads out of a case's figures.
//!
//! Totals and requests are counted per thread and summed when the pass closes. The peak is not
//! a sum of per-thread peaks (two threads need not peak at the same moment, and a thread may
//! free what another allocated): each pass has one shared count of the live bytes of all its
//! threads together, updated with an atomic add on every allocation and free of a member
//! thread, and the peak is the largest value that count reached. These atomics are touched only
//! while a pass is open — the memory pass of a case, never its timed loops. For a pass of one
//! thread the figures are exactly that thread's.
//!
//! Why mimalloc: every strategy, the primal included, runs on the same allocator, and that
//! allocator should be the kind a practical implementation would link, so that a comparison is
//! one of algorithms rather than of one `malloc`. Few strategies allocate per operation through
//! it: the ladder rungs' Contrib nodes come from a per-thread pool of fixed-size cells
//! (`strategies::pool`), and `tape` and `dualrev-par` write their records into large blocks and
//! arenas. But `naive` allocates a reference-counted closure per operation, some peers a node
//! per operation, and every strategy its slot arrays, tapes and vectors. Under glibc's
//! allocator those small, short-lived requests would measure `malloc` and `free` as much as the
//! algorithm; mimalloc, a modern small-object allocator, serves them in a few instructions.
//!
//! When [`set_limit`] has been called, every allocation also updates a process-wide count of
//! live bytes, and a request that would take it past the limit fails: the standard library then
//! prints `memory allocation of N bytes failed` and aborts, which the parent of a `run-case`
//! child records as the case's `oom` status. The cap is enforced here rather than with address
//! space limits (`RLIMIT_AS`) because the evaluation threads reserve a 1 GiB stack of address
//! space each that they mostly never touch.
//!
//! Outside a pass, the extra work per allocation is two relaxed atomic loads and, with a
//! limit, a thread-local credit update: threads reserve the cap's bytes in 1 MiB chunks, so the
//! shared atomic count is touched once per chunk, not once per allocation, and timed
//! repetitions are not distorted by the accounting.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use mimalloc::MiMalloc;
use rayon::ThreadPool;

/// The allocator every request is forwarded to.
static INNER: MiMalloc = MiMalloc;

/// How many threads belong to an open [`MemoryPass`] (a cheap global gate for the counters).
static OPEN_PASSES: AtomicUsize = AtomicUsize::new(0);
/// The live-bytes cap, 0 for none.
static LIMIT: AtomicUsize = AtomicUsize::new(0);
/// Live bytes of the whole process, maintained only while a limit is set.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The largest value `LIVE` reached: the process's heap high-water mark against the cap.
static LIVE_PEAK: AtomicUsize = AtomicUsize::new(0);

/// The live bytes of a pass's threads together: shared by the threads of one pass.
#[derive(Debug, Default)]
struct Live {
    /// Bytes allocated minus bytes freed by the pass's threads since it opened (may dip below
    /// zero when they free memory allocated before the pass).
    now: AtomicI64,
    /// The largest value `now` reached.
    peak: AtomicI64,
}

thread_local! {
    /// Whether this thread belongs to an open pass.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// The live bytes of this thread's pass. Set (first touched) before `ACTIVE`, so the
    /// allocator reads it only once it exists: registering its destructor may allocate.
    static LIVE_OF_PASS: RefCell<Option<Arc<Live>>> = const { RefCell::new(None) };
    /// Bytes this thread allocated during the pass, frees not subtracted.
    static TOTAL: Cell<u64> = const { Cell::new(0) };
    /// Allocation requests of this thread during the pass (`alloc`, `alloc_zeroed`, `realloc`).
    static REQUESTS: Cell<u64> = const { Cell::new(0) };
}

/// mimalloc with byte counting for memory passes and an optional cap; see the module
/// documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAllocator;

/// The granularity in which threads reserve bytes from the process-wide cap: a thread takes
/// the cap's bytes in chunks of this size and serves its allocations from its local credit, so
/// that the shared atomic is touched once per chunk rather than once per allocation (a
/// per-node-allocating strategy would otherwise pay an atomic read-modify-write per operation
/// in every timed gradient). The cap is therefore enforced to within one chunk per thread.
const CREDIT_CHUNK: usize = 1 << 20;

thread_local! {
    /// Bytes this thread has reserved from `LIVE` but not yet handed out.
    static CREDIT: Cell<usize> = const { Cell::new(0) };
}

/// Take `bytes` from the process-wide cap; `false` when the cap would be exceeded.
fn reserve_global(bytes: usize, limit: usize) -> bool {
    let before = LIVE.fetch_add(bytes, Ordering::Relaxed);
    if before.saturating_add(bytes) > limit {
        LIVE.fetch_sub(bytes, Ordering::Relaxed);
        return false;
    }
    LIVE_PEAK.fetch_max(before + bytes, Ordering::Relaxed);
    true
}

/// Return `bytes` to the process-wide cap. Saturating: memory allocated before the limit was
/// set may be freed after it.
fn release_global(bytes: usize) {
    let _ = LIVE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
        Some(live.saturating_sub(bytes))
    });
}

/// Account an allocation of `size` bytes against the cap; `false` when it would exceed it.
fn reserve(size: usize) -> bool {
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit == 0 {
        return true;
    }
    // `try_with`: the allocator may be called while thread-locals are torn down; such late
    // requests go straight to the shared count.
    CREDIT
        .try_with(|credit| {
            let have = credit.get();
            if have >= size {
                credit.set(have - size);
                return true;
            }
            let grab = (size - have).div_ceil(CREDIT_CHUNK) * CREDIT_CHUNK;
            if !reserve_global(grab, limit) {
                return false;
            }
            credit.set(have + grab - size);
            true
        })
        .unwrap_or_else(|_| reserve_global(size, limit))
}

fn release(size: usize) {
    if LIMIT.load(Ordering::Relaxed) == 0 {
        return;
    }
    let returned = CREDIT.try_with(|credit| {
        let have = credit.get() + size;
        if have > 2 * CREDIT_CHUNK {
            release_global(have - CREDIT_CHUNK);
            credit.set(CREDIT_CHUNK);
        } else {
            credit.set(have);
        }
    });
    if returned.is_err() {
        release_global(size);
    }
}

/// Record `delta` live bytes (positive for an allocation), `allocated` new bytes and
/// `requests` allocation requests of the calling thread, if it belongs to an open pass.
/// `try_with` because the allocator may be called while thread-locals are torn down.
fn count(delta: i64, allocated: u64, requests: u64) {
    if OPEN_PASSES.load(Ordering::Relaxed) == 0 {
        return;
    }
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            TOTAL.with(|t| t.set(t.get() + allocated));
            REQUESTS.with(|r| r.set(r.get() + requests));
            let _ = LIVE_OF_PASS.try_with(|live| {
                if let Some(live) = live.try_borrow().ok().as_deref().and_then(Option::as_ref) {
                    // One atomic count for all the pass's threads: its successive values are
                    // the live bytes of all of them, so their largest is the peak of the sum.
                    let now = live.now.fetch_add(delta, Ordering::Relaxed) + delta;
                    live.peak.fetch_max(now, Ordering::Relaxed);
                }
            });
        }
    });
}

/// Make the calling thread a member of the pass whose live bytes are `live`.
fn join_pass(live: &Arc<Live>) {
    TOTAL.with(|t| t.set(0));
    REQUESTS.with(|r| r.set(0));
    let live = Arc::clone(live);
    LIVE_OF_PASS.with(|slot| *slot.borrow_mut() = Some(live));
    ACTIVE.with(|a| a.set(true));
    OPEN_PASSES.fetch_add(1, Ordering::Relaxed);
}

/// End the calling thread's membership of its pass: its bytes allocated and its requests.
fn leave_pass() -> (u64, u64) {
    ACTIVE.with(|a| a.set(false));
    OPEN_PASSES.fetch_sub(1, Ordering::Relaxed);
    // Dropped outside the borrow (and uncounted: the thread is no longer active).
    drop(LIVE_OF_PASS.with(|slot| slot.borrow_mut().take()));
    (TOTAL.with(Cell::get), REQUESTS.with(Cell::get))
}

// SAFETY: every method forwards to `INNER` with the caller's layout and pointer unchanged;
// the bookkeeping around it never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged, as the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { INNER.alloc(layout) };
        if ptr.is_null() {
            release(layout.size());
        } else {
            count(layout.size() as i64, layout.size() as u64, 1);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `alloc`.
        let ptr = unsafe { INNER.alloc_zeroed(layout) };
        if ptr.is_null() {
            release(layout.size());
        } else {
            count(layout.size() as i64, layout.size() as u64, 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was returned by this allocator (hence by `INNER`) with `layout`.
        unsafe { INNER.dealloc(ptr, layout) };
        release(layout.size());
        count(-(layout.size() as i64), 0, 0);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `dealloc`, and `new_size` is the caller's valid new size.
        let new = unsafe { INNER.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > old {
                release(new_size - old);
            }
        } else {
            if new_size < old {
                release(old - new_size);
            }
            count(
                new_size as i64 - old as i64,
                new_size.saturating_sub(old) as u64,
                1,
            );
        }
        new
    }
}

/// Cap the process's live heap bytes (counted from this call on) at `bytes`; 0 removes the cap.
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The most heap bytes this process has held against the cap since [`set_limit`] (to within
/// the 1 MiB a thread reserves ahead), or `None` without a cap. A `run-case` child reports it
/// with every answer, so that the parent can say how near the cap a case was when something
/// outside killed it.
pub fn high_water_bytes() -> Option<u64> {
    (LIMIT.load(Ordering::Relaxed) > 0).then(|| LIVE_PEAK.load(Ordering::Relaxed) as u64)
}

/// What a [`MemoryPass`] measured on its threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeapUsage {
    /// The peak of live heap bytes of the pass's threads together, above the level at which
    /// the pass opened.
    pub peak_bytes: u64,
    /// Bytes allocated in total (reallocations count their growth), frees not subtracted.
    pub allocated_bytes: u64,
    /// Allocation requests (`alloc`, `alloc_zeroed` and `realloc` calls), frees not counted.
    pub allocations: u64,
}

/// Heap accounting from [`MemoryPass::open`] (the calling thread) or [`MemoryPass::open_in`]
/// (every worker of a rayon pool) to [`MemoryPass::close`]. Not `Send`: it must be closed on
/// the thread that opened it.
#[derive(Debug)]
pub struct MemoryPass<'pool> {
    /// The live bytes of the pass's threads together.
    live: Arc<Live>,
    /// The pool whose every worker belongs to the pass, with the index of the worker that
    /// opened it; `None` for a pass of the calling thread alone.
    pool: Option<(&'pool ThreadPool, usize)>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl MemoryPass<'static> {
    /// Start counting on the current thread.
    pub fn open() -> Self {
        let live = Arc::new(Live::default());
        join_pass(&live);
        MemoryPass {
            live,
            pool: None,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl<'pool> MemoryPass<'pool> {
    /// Start counting on every worker of `pool`; called on one of them (a case runs in its
    /// pool through [`ThreadPool::install`]). The other workers join first, by a broadcast,
    /// and the calling one last, so that the broadcast's own allocations on the calling thread
    /// are not counted.
    ///
    /// # Panics
    ///
    /// If the calling thread is not a worker of `pool`.
    pub fn open_in(pool: &'pool ThreadPool) -> Self {
        let me = pool
            .current_thread_index()
            .expect("a pool's memory pass is opened on a worker of that pool");
        let live = Arc::new(Live::default());
        pool.broadcast(|worker| {
            if worker.index() != me {
                join_pass(&live);
            }
        });
        join_pass(&live);
        MemoryPass {
            live,
            pool: Some((pool, me)),
            _not_send: std::marker::PhantomData,
        }
    }

    /// Stop counting and report, or `None` when [`CountingAllocator`] is not the global
    /// allocator of this process (nothing was counted although the pass allocates a probe).
    /// The calling thread leaves first, so that the broadcast that ends the other workers'
    /// membership is not counted.
    pub fn close(self) -> Option<HeapUsage> {
        // The peak is read before the probe: one live byte more would raise it for a pass that
        // allocates nothing (or ends at its peak).
        let peak_bytes = self.live.peak.load(Ordering::Relaxed).max(0) as u64;
        drop(std::hint::black_box(vec![0u8; 1]));
        let (mut allocated_bytes, mut requests) = leave_pass();
        if let Some((pool, me)) = self.pool {
            let others = pool.broadcast(|worker| {
                if worker.index() == me {
                    (0, 0)
                } else {
                    leave_pass()
                }
            });
            for (bytes, count) in others {
                allocated_bytes += bytes;
                requests += count;
            }
        }
        // The probe above is one request of one byte; it is not the pass's.
        (allocated_bytes > 0).then(|| HeapUsage {
            peak_bytes,
            allocated_bytes: allocated_bytes - 1,
            allocations: requests - 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    #[test]
    fn memory_pass_sees_peak_and_total_of_its_own_thread_only() {
        let pass = MemoryPass::open();
        let a = std::hint::black_box(vec![0u8; 1 << 20]);
        drop(a);
        let b = std::hint::black_box(vec![0u8; 1 << 19]);
        drop(b);
        // Another thread's allocation is not counted here.
        std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 1 << 22])))
            .join()
            .unwrap();
        let usage = pass
            .close()
            .expect("the counting allocator is installed in this test");
        assert!(usage.peak_bytes >= 1 << 20 && usage.peak_bytes < (1 << 20) + (1 << 16));
        assert!(usage.allocated_bytes >= (1 << 20) + (1 << 19));
        assert!(usage.allocated_bytes < 1 << 22);
    }

    #[test]
    fn a_pool_pass_counts_both_branches_of_a_join_and_the_peak_of_their_sum() {
        use std::sync::Barrier;
        use strategies::{outputs, DynProgram, ForkJoin, Outputs, ParProgram, ParReal, Program};

        const MIB: usize = 1 << 20;
        /// Each branch of its one `join` holds a MiB until both branches hold theirs.
        struct BothBranchesAllocate(Barrier);
        impl BothBranchesAllocate {
            fn branch<R: ParReal>(&self, x: &R) -> R {
                let block = std::hint::black_box(vec![1u8; MIB]);
                self.0.wait();
                x.clone() * f64::from(block[MIB - 1])
            }
        }
        impl ParProgram for BothBranchesAllocate {
            fn input_len(&self) -> usize {
                2
            }
            fn output_len(&self) -> usize {
                1
            }
            fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
                let (a, b) = R::join(|| self.branch(&x[0]), || self.branch(&x[1]));
                outputs![a * b]
            }
        }
        impl Program for BothBranchesAllocate {
            fn input_len(&self) -> usize {
                2
            }
            fn output_len(&self) -> usize {
                1
            }
            fn eval<R: strategies::Real>(&self, x: &[R]) -> Outputs<R> {
                outputs![x[0].clone() * x[1].clone()]
            }
        }

        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let program = ForkJoin(BothBranchesAllocate(Barrier::new(2)));
        let gradient = |pass: MemoryPass| {
            let mut out = program.gradient_buffer();
            let mut recorder = strategies::Recorder::default();
            program.gradient_recorded(
                strategies::StrategyKind::Primal,
                &[2.0, 3.0],
                &mut out,
                &mut recorder,
            );
            assert_eq!(out.value, [6.0]);
            pass.close()
                .expect("the counting allocator is installed in this test")
        };
        let (usage, on_this_thread) = pool.install(|| {
            (
                gradient(MemoryPass::open_in(&pool)),
                gradient(MemoryPass::open()),
            )
        });
        // The branches ran on the two workers at once (the barrier needs both): a pass of the
        // calling thread alone sees one MiB; the pool's pass sees both, live at the same time.
        assert!(on_this_thread.allocated_bytes >= MIB as u64);
        assert!(on_this_thread.allocated_bytes < (MIB + MIB / 2) as u64);
        let (two, two_and_a_half) = (2 * MIB as u64, (2 * MIB + MIB / 2) as u64);
        assert!(
            (two..two_and_a_half).contains(&usage.allocated_bytes),
            "{usage:?}"
        );
        assert!(
            (two..two_and_a_half).contains(&usage.peak_bytes),
            "{usage:?}"
        );
        assert!(usage.allocations >= 2, "{usage:?}");
    }

    #[test]
    fn a_pass_that_allocates_nothing_reports_nothing() {
        // The pass's own probe (one byte, to see that this allocator is installed) is none of
        // its figures: a primal that allocates nothing has a peak of 0, not 1 B.
        let pass = MemoryPass::open();
        let x = std::hint::black_box(2.0f64).sin();
        let usage = pass.close().expect("the counting allocator is installed");
        std::hint::black_box(x);
        assert_eq!(
            usage,
            HeapUsage {
                peak_bytes: 0,
                allocated_bytes: 0,
                allocations: 0
            }
        );
        // At its peak when it closes: the peak is the pass's bytes exactly.
        let pass = MemoryPass::open();
        let held = std::hint::black_box(vec![0u8; 100]);
        let usage = pass.close().expect("the counting allocator is installed");
        drop(held);
        assert_eq!((usage.peak_bytes, usage.allocated_bytes), (100, 100));
    }

    #[test]
    fn a_pass_counts_each_allocation_request_once() {
        let pass = MemoryPass::open();
        let mut boxes: Vec<Box<u64>> = std::hint::black_box(Vec::with_capacity(3));
        for i in 0..3 {
            boxes.push(Box::new(i));
        }
        drop(boxes);
        let usage = pass.close().expect("the counting allocator is installed");
        assert_eq!(
            usage.allocations, 4,
            "the vector and three boxes; frees are not requests"
        );
    }
}
