//! Rungs 1–3 collect cotangents in persistent ordered maps, as the paper's `Data.Map`: every
//! update builds a new version by path copying (O(log T) new nodes) instead of mutating in
//! place. Counted here through the allocator: on a dot product, each rung that uses the maps
//! allocates several tree nodes per collector update beyond what rung 4 allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use strategies::{outputs, Outputs, Program, Real, StrategyKind};

/// Counts the allocations of the calling thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping does not
// allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// sum_i x_i * y_i over inputs x then y.
struct Dot(usize);
impl Program for Dot {
    fn input_len(&self) -> usize {
        2 * self.0
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (a, b) = x.split_at(self.0);
        let mut acc = R::constant(0.0);
        for (ai, bi) in a.iter().zip(b) {
            acc += ai.clone() * bi.clone();
        }
        outputs![acc]
    }
}

fn allocations_and_updates(kind: StrategyKind, n: usize) -> (u64, u64) {
    let x: Vec<f64> = (0..2 * n).map(|i| i as f64).collect();
    let before = ALLOCATIONS.with(Cell::get);
    let r = kind.vjp(&Dot(n), &x, &[1.0]);
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    (allocations, r.counters.get("collector_updates").unwrap())
}

#[test]
fn rungs_1_to_3_stage_in_persistent_maps_that_allocate_a_path_per_update() {
    let n = 512;
    let (rung4, _) = allocations_and_updates(StrategyKind::Dualrev, n);
    for kind in [
        StrategyKind::Staged,
        StrategyKind::Cayley,
        StrategyKind::Sparse,
    ] {
        let (allocations, updates) = allocations_and_updates(kind, n);
        // log2 of the map's size is about 10 here; path copying allocates about that many
        // nodes per insert-with and per delete-the-maximum.
        assert!(
            allocations > rung4 + 4 * updates,
            "{}: {allocations} allocations for {updates} updates (rung 4: {rung4})",
            kind.name()
        );
    }
}
