//! A counting global allocator: heap accounting per thread, and an optional process-wide cap.
//!
//! The `dualbench` binary installs [`CountingAllocator`] as its `#[global_allocator]`. It
//! forwards every request to mimalloc and, while a [`MemoryPass`] is open, also
//! counts on the *calling thread* the bytes allocated in total and the peak of live bytes.
//! Counting per thread keeps parallel test threads and the harness's own
//! threads out of a case's figures; the measured gradient runs on the evaluation thread that
//! [`crate::measure::thread::with_stack`] creates, so the pass is opened on that thread.
//!
//! Why mimalloc: the Contrib-graph and closure strategies allocate one small node per
//! operation, the paper's representation, while a tape appends to one growing array. With
//! glibc's allocator a measurement of `dualrev` is to a large part a measurement of
//! `malloc`/`free` (about 40% of its time on `fdotprod`); a modern small-object allocator, as
//! any practical implementation would link, makes the comparison one of algorithms. Every
//! strategy, the primal included, runs on the same allocator.
//!
//! When [`set_limit`] has been called, every allocation also updates a process-wide count of
//! live bytes, and a request that would take it past the limit fails: the standard library then
//! prints `memory allocation of N bytes failed` and aborts, which the parent of a `run-case`
//! child records as the case's `oom` status. The cap is enforced here rather than with address
//! space limits (`RLIMIT_AS`) because the evaluation thread reserves a 1 GiB stack of address
//! space that it mostly never touches.
//!
//! Outside a pass, the extra work per allocation is two relaxed atomic loads and, with a
//! limit, a thread-local credit update: threads reserve the cap's bytes in 1 MiB chunks, so the
//! shared atomic count is touched once per chunk, not once per allocation, and timed
//! repetitions are not distorted by the accounting.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimalloc::MiMalloc;

/// The allocator every request is forwarded to.
static INNER: MiMalloc = MiMalloc;

/// How many threads have an open [`MemoryPass`] (a cheap global gate for the per-thread
/// counters).
static OPEN_PASSES: AtomicUsize = AtomicUsize::new(0);
/// The live-bytes cap, 0 for none.
static LIMIT: AtomicUsize = AtomicUsize::new(0);
/// Live bytes of the whole process, maintained only while a limit is set.
static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread has an open pass.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Live bytes allocated by this thread since its pass opened (may dip below zero when the
    /// thread frees memory allocated before the pass).
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    /// The largest value `CURRENT` reached during the pass.
    static PEAK: Cell<i64> = const { Cell::new(0) };
    /// Bytes allocated during the pass, frees not subtracted.
    static TOTAL: Cell<u64> = const { Cell::new(0) };
    /// Allocation requests during the pass (`alloc`, `alloc_zeroed`, `realloc`).
    static REQUESTS: Cell<u64> = const { Cell::new(0) };
}

/// mimalloc with per-thread byte counting and an optional cap; see the module
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
/// `requests` allocation requests on the calling thread, if it has an open pass. `try_with`
/// because the allocator may be called while thread-locals are torn down.
fn count(delta: i64, allocated: u64, requests: u64) {
    if OPEN_PASSES.load(Ordering::Relaxed) == 0 {
        return;
    }
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            CURRENT.with(|c| {
                let now = c.get() + delta;
                c.set(now);
                PEAK.with(|p| p.set(p.get().max(now)));
            });
            TOTAL.with(|t| t.set(t.get() + allocated));
            REQUESTS.with(|r| r.set(r.get() + requests));
        }
    });
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

/// What a [`MemoryPass`] measured on its thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeapUsage {
    /// The peak of live heap bytes above the level at which the pass opened.
    pub peak_bytes: u64,
    /// Bytes allocated in total (reallocations count their growth), frees not subtracted.
    pub allocated_bytes: u64,
    /// Allocation requests (`alloc`, `alloc_zeroed` and `realloc` calls), frees not counted.
    pub allocations: u64,
}

/// Heap accounting on the current thread, from [`MemoryPass::open`] to [`MemoryPass::close`].
/// Not `Send`: it must be closed on the thread that opened it.
#[derive(Debug)]
pub struct MemoryPass {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl MemoryPass {
    /// Start counting on the current thread.
    pub fn open() -> Self {
        CURRENT.with(|c| c.set(0));
        PEAK.with(|p| p.set(0));
        TOTAL.with(|t| t.set(0));
        REQUESTS.with(|r| r.set(0));
        ACTIVE.with(|a| a.set(true));
        OPEN_PASSES.fetch_add(1, Ordering::Relaxed);
        MemoryPass {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Stop counting and report, or `None` when [`CountingAllocator`] is not the global
    /// allocator of this process (nothing was counted although the pass allocates a probe).
    pub fn close(self) -> Option<HeapUsage> {
        drop(std::hint::black_box(vec![0u8; 1]));
        ACTIVE.with(|a| a.set(false));
        OPEN_PASSES.fetch_sub(1, Ordering::Relaxed);
        let allocated_bytes = TOTAL.with(Cell::get);
        // The probe above is one request of one byte; it is not the pass's.
        (allocated_bytes > 0).then(|| HeapUsage {
            peak_bytes: PEAK.with(Cell::get).max(0) as u64,
            allocated_bytes: allocated_bytes - 1,
            allocations: REQUESTS.with(Cell::get) - 1,
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
