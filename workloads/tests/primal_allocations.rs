//! The f64 primal is the denominator of every overhead, so it must be the program a careful
//! Rust programmer writes: buffers are allocated once per evaluation and reused, never once per
//! operation, per step, per minor or per element. A counting global allocator checks that one
//! f64 evaluation makes a small number of allocations that does not grow with the size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use workloads::{all, find, instantiate, Params, Workload};

/// `System`, counting the calls to `alloc`, `alloc_zeroed` and `realloc` made by each thread.
struct CountingAllocator;

thread_local! {
    /// Allocations made by this thread so far. A `const`-initialised `Cell` has no destructor
    /// and needs no allocation to access, so the allocator may use it.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with` fails only while the thread is being torn down; nothing is measured then.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to `System`; counting allocates nothing.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// At most this many allocations per f64 evaluation: the returned `Vec` of outputs, plus a few
/// buffers allocated once per evaluation (the largest user, the two-layer network, has one per
/// layer and one for its exponentials).
const MOST_ALLOCATIONS: u64 = 4;

/// The allocations made by one f64 evaluation of `name` at `size` (`DynProgram::primal`,
/// including the one for the `Vec` it returns), and the evaluation's value.
fn primal_allocations(name: &str, size: Option<usize>, params: &Params) -> u64 {
    let workload = find(name).expect("registered");
    let instance = instantiate(workload, size, params).expect("valid size");
    let before = ALLOCATIONS.with(Cell::get);
    let outputs = instance.program.primal(&instance.input);
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert!(
        outputs.iter().all(|v| v.is_finite()),
        "{name} at {size:?}: {outputs:?}"
    );
    allocations
}

/// The sizes to evaluate `workload` at: its verify sizes, its default and a larger one from its
/// sweep (bounded so that the test stays quick), or `None` for a fixed-size workload.
fn sizes(workload: &dyn Workload) -> Vec<Option<usize>> {
    match workload.size() {
        None => vec![None],
        Some(spec) => {
            let larger = spec
                .sweep
                .iter()
                .copied()
                .filter(|&s| s > spec.default && s <= 10 * spec.default.max(1))
                .filter(|&s| workload.name() != "det" || s <= 8)
                .min();
            spec.verify
                .iter()
                .copied()
                .chain([spec.default])
                .chain(larger)
                .map(Some)
                .collect()
        }
    }
}

/// The allocation counts of `name` at each of `sizes`, or a description of how they fail to
/// be all the same and at most [`MOST_ALLOCATIONS`].
fn size_independent(name: &str, sizes: &[Option<usize>], params: &Params) -> Result<u64, String> {
    let counts: Vec<(Option<usize>, u64)> = sizes
        .iter()
        .map(|&size| (size, primal_allocations(name, size, params)))
        .collect();
    let first = counts[0].1;
    if counts
        .iter()
        .all(|&(_, c)| c == first && c <= MOST_ALLOCATIONS)
    {
        Ok(first)
    } else {
        Err(format!("{name} {params:?}: (size, allocations) {counts:?}"))
    }
}

/// As [`size_independent`], panicking on failure.
fn assert_size_independent(name: &str, sizes: &[Option<usize>], params: &Params) -> u64 {
    size_independent(name, sizes, params).unwrap_or_else(|failure| {
        panic!(
            "one f64 evaluation must make the same small number (at most {MOST_ALLOCATIONS}) \
             of allocations at every size; {failure}"
        )
    })
}

#[test]
fn det_primal_allocates_the_same_few_times_at_every_matrix_side() {
    let sides: Vec<Option<usize>> = (1..=8).map(Some).collect();
    let allocations = assert_size_independent("det", &sides, &Params::new());
    // The returned Vec and the column workspace.
    assert!(allocations <= 2, "det: {allocations} allocations");
}

#[test]
fn advection_primal_allocates_the_same_few_times_for_any_number_of_steps() {
    let steps = [0, 1, 2, 3, 100, 1000].map(Some);
    let allocations = assert_size_independent("advection", &steps, &Params::new());
    // The returned Vec and the two grids.
    assert!(allocations <= 3, "advection: {allocations} allocations");
}

#[test]
fn ode_primal_allocates_the_same_few_times_for_any_state_size_and_step_count() {
    for steps in [1.0, 4.0, 20.0] {
        let params = Params::from([("steps".to_string(), steps)]);
        let allocations = assert_size_independent("ode", &[1, 4, 8, 1000].map(Some), &params);
        assert!(allocations <= 2, "ode: {allocations} allocations");
    }
}

#[test]
fn gmm_primal_allocates_the_same_few_times_for_any_number_of_components_and_dimension() {
    for d in [1.0, 2.0, 10.0] {
        let params = Params::from([("d".to_string(), d), ("n".to_string(), 20.0)]);
        let allocations = assert_size_independent("gmm", &[1, 2, 3, 25, 100].map(Some), &params);
        // The returned Vec and the workspace.
        assert!(allocations <= 2, "gmm: {allocations} allocations");
    }
}

#[test]
fn tree_reduce_primal_allocates_the_same_few_times_for_any_number_of_leaves() {
    let leaves = [1, 2, 3, 7, 64, 1024, 4096].map(Some);
    let allocations = assert_size_independent("tree-reduce", &leaves, &Params::new());
    assert!(allocations <= 2, "tree-reduce: {allocations} allocations");
}

#[test]
fn random_dag_primal_allocates_the_same_few_times_for_any_number_of_nodes() {
    let nodes = [0, 1, 8, 64, 1000, 65_536].map(Some);
    let allocations = assert_size_independent("random-dag", &nodes, &Params::new());
    assert!(allocations <= 2, "random-dag: {allocations} allocations");
}

#[test]
fn every_primal_allocates_a_small_number_of_times_independent_of_its_size() {
    let failures: Vec<String> = all()
        .iter()
        .filter_map(|w| size_independent(w.name(), &sizes(*w), &Params::new()).err())
        .collect();
    assert!(
        failures.is_empty(),
        "one f64 evaluation must make the same small number (at most {MOST_ALLOCATIONS}) of \
         allocations at every size:\n{}",
        failures.join("\n")
    );
}
