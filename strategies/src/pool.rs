//! The per-thread pool that the ladder rungs' [`Contrib`](crate::contrib::Contrib) nodes are
//! allocated from: fixed-size cells carved out of slabs, recycled through a free list.
//!
//! A node is freed the moment the last value referring to it is dropped, as with `Rc`; only the
//! allocator differs. Allocation pops the free list, or bumps a pointer through the slabs;
//! freeing pushes the cell back on the free list. Both are a handful of instructions on a
//! constant-initialised thread-local, against a general-purpose `malloc`/`free` per node — the
//! paper's implementation likewise allocates its nodes by bumping a pointer, under GHC's
//! garbage collector. The pool counts its live cells; when the last one is freed (a gradient
//! has released its whole graph) the free list is dropped and the bump pointer rewinds to the
//! first slab, so the next gradient allocates its nodes sequentially again instead of chasing
//! the free list through memory it last touched a gradient ago.
//!
//! Memory: slabs are kept for the life of the thread (a freed cell serves the next allocation,
//! in the same gradient or a later one), so a thread's pool holds as many cells as the most
//! nodes it ever had alive at once. Slabs grow geometrically from [`FIRST_SLAB_CELLS`] to
//! [`MAX_SLAB_CELLS`]. When the thread exits, the slabs are freed if every cell is back in the
//! pool; if some node is still alive (held by another thread-local being destroyed), they are
//! leaked instead, so that no live node ever points into freed memory.

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

/// The size of a cell: one node.
pub(crate) const CELL_BYTES: usize = 48;

/// One cell: storage for a node, or, while free, the pointer to the next free cell.
#[repr(C, align(8))]
pub(crate) struct RawCell(MaybeUninit<[u8; CELL_BYTES]>);

/// Cells in the first slab of a thread; each further slab doubles, up to [`MAX_SLAB_CELLS`].
pub(crate) const FIRST_SLAB_CELLS: usize = 1 << 6;
/// The largest slab: 16 Ki cells, 768 KiB.
pub(crate) const MAX_SLAB_CELLS: usize = 1 << 14;

/// The hot state: the free list, the unused tail of the slab being bumped through and the
/// number of cells in use. No destructor, so reading it needs no initialisation check.
struct FreeCells {
    /// The first free cell, null if none.
    head: Cell<*mut RawCell>,
    /// The next unused cell of the slab being bumped through.
    bump: Cell<*mut RawCell>,
    /// One past that slab's last cell.
    bump_end: Cell<*mut RawCell>,
    /// Cells handed out and not yet released.
    live: Cell<usize>,
}

/// The slabs this thread has allocated, (start, cells), and the index of the one being bumped
/// through.
struct Slabs {
    slabs: Vec<(NonNull<RawCell>, usize)>,
    bumping: usize,
}

thread_local! {
    static FREE: FreeCells = const {
        FreeCells {
            head: Cell::new(ptr::null_mut()),
            bump: Cell::new(ptr::null_mut()),
            bump_end: Cell::new(ptr::null_mut()),
            live: Cell::new(0),
        }
    };
    static SLABS: RefCell<Slabs> = const {
        RefCell::new(Slabs { slabs: Vec::new(), bumping: 0 })
    };
}

fn new_slab_memory(cells: usize) -> NonNull<RawCell> {
    let slab: Box<[MaybeUninit<RawCell>]> = Box::new_uninit_slice(cells);
    NonNull::new(Box::into_raw(slab).cast::<RawCell>()).expect("a boxed slice")
}

/// Moves the bump pointer to the next slab (allocating one if there is none) and hands out its
/// first cell. The cold path of [`allocate`].
#[cold]
#[inline(never)]
fn allocate_from_next_slab() -> NonNull<RawCell> {
    let registered = SLABS.try_with(|slabs| {
        let mut slabs = slabs.borrow_mut();
        let next = if slabs.slabs.is_empty() {
            0
        } else {
            slabs.bumping + 1
        };
        if next == slabs.slabs.len() {
            let cells = slabs
                .slabs
                .last()
                .map_or(FIRST_SLAB_CELLS, |&(_, c)| (c * 2).min(MAX_SLAB_CELLS));
            slabs.slabs.push((new_slab_memory(cells), cells));
        }
        slabs.bumping = next;
        slabs.slabs[next]
    });
    // After this thread's slab list is gone (a node allocated by another thread-local's
    // destructor), a slab of one cell is leaked rather than registered.
    let (start, cells) = registered.unwrap_or_else(|_| (new_slab_memory(1), 1));
    FREE.with(|free| {
        // SAFETY: `start` is the first of `cells` cells of one allocation; `add(cells)` is one
        // past its end.
        unsafe {
            free.bump.set(start.as_ptr().add(1));
            free.bump_end.set(start.as_ptr().add(cells));
        }
    });
    start
}

/// A cell for a new node: the most recently freed one, or the next unused one of the slabs.
/// Its contents are uninitialised.
#[inline(always)]
pub(crate) fn allocate() -> NonNull<RawCell> {
    FREE.with(|free| {
        free.live.set(free.live.get() + 1);
        let head = free.head.get();
        if let Some(cell) = NonNull::new(head) {
            // SAFETY: a free cell holds the pointer to the next free cell (`release`).
            free.head.set(unsafe { head.cast::<*mut RawCell>().read() });
            return cell;
        }
        let bump = free.bump.get();
        if bump != free.bump_end.get() {
            // SAFETY: `bump` is below `bump_end`, within the newest slab.
            free.bump.set(unsafe { bump.add(1) });
            // SAFETY: never null: it lies in a slab.
            return unsafe { NonNull::new_unchecked(bump) };
        }
        allocate_from_next_slab()
    })
}

/// Returns a cell to this thread's pool.
///
/// # Safety
///
/// `cell` came from [`allocate`] on this thread, its node has been dropped, and it is
/// released once.
#[inline(always)]
pub(crate) unsafe fn release(cell: NonNull<RawCell>) {
    FREE.with(|free| {
        // SAFETY: the cell is ours to overwrite (the caller's contract); it now links the
        // free list.
        unsafe { cell.as_ptr().cast::<*mut RawCell>().write(free.head.get()) };
        free.head.set(cell.as_ptr());
        let live = free.live.get() - 1;
        free.live.set(live);
        if live == 0 {
            rewind();
        }
    });
}

/// Every cell is free: forget the free list and bump through the slabs from the first again.
#[cold]
#[inline(never)]
fn rewind() {
    // During thread exit the slab list may be gone; then the free list simply stays.
    let _ = SLABS.try_with(|slabs| {
        let Ok(mut slabs) = slabs.try_borrow_mut() else {
            return;
        };
        let Some(&(start, cells)) = slabs.slabs.first() else {
            return;
        };
        slabs.bumping = 0;
        FREE.with(|free| {
            free.head.set(ptr::null_mut());
            free.bump.set(start.as_ptr());
            // SAFETY: one past the end of the first slab.
            free.bump_end.set(unsafe { start.as_ptr().add(cells) });
        });
    });
}

impl Drop for Slabs {
    /// Frees the slabs if no cell is in use, and leaks them otherwise; either way the hot state
    /// is reset, so no later allocation on this thread can hand out a cell of a freed slab.
    fn drop(&mut self) {
        let live = FREE.with(|free| {
            free.head.set(ptr::null_mut());
            free.bump.set(ptr::null_mut());
            free.bump_end.set(ptr::null_mut());
            free.live.get()
        });
        if live != 0 {
            return;
        }
        for &(start, cells) in &self.slabs {
            let slab =
                ptr::slice_from_raw_parts_mut(start.as_ptr().cast::<MaybeUninit<RawCell>>(), cells);
            // SAFETY: allocated by `new_slab_memory` with this length, freed once, and no cell
            // of it is in use.
            drop(unsafe { Box::from_raw(slab) });
        }
    }
}

/// The cells this thread's pool holds (in use or free).
#[cfg(test)]
fn capacity() -> usize {
    SLABS.with(|slabs| slabs.borrow().slabs.iter().map(|&(_, cells)| cells).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_cell_is_the_next_one_allocated() {
        let a = allocate();
        let b = allocate();
        assert_ne!(a, b);
        // SAFETY: allocated above, released once, never used.
        unsafe { release(a) };
        assert_eq!(allocate(), a);
        // SAFETY: as above.
        unsafe {
            release(a);
            release(b);
        }
    }

    #[test]
    fn when_every_cell_is_free_allocation_starts_over_at_the_first_slab() {
        std::thread::spawn(|| {
            let first: Vec<_> = (0..FIRST_SLAB_CELLS + 5).map(|_| allocate()).collect();
            for &cell in first.iter().rev() {
                // SAFETY: each allocated above and released once.
                unsafe { release(cell) };
            }
            let again: Vec<_> = (0..FIRST_SLAB_CELLS + 5).map(|_| allocate()).collect();
            assert_eq!(again, first, "the same cells, in allocation order");
            for cell in again {
                // SAFETY: as above.
                unsafe { release(cell) };
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn slabs_grow_geometrically_and_are_reused() {
        std::thread::spawn(|| {
            let cells: Vec<_> = (0..FIRST_SLAB_CELLS * 3).map(|_| allocate()).collect();
            assert_eq!(capacity(), FIRST_SLAB_CELLS * 3);
            for &cell in &cells {
                // SAFETY: each allocated above and released once.
                unsafe { release(cell) };
            }
            let again: Vec<_> = (0..FIRST_SLAB_CELLS * 3).map(|_| allocate()).collect();
            assert_eq!(capacity(), FIRST_SLAB_CELLS * 3, "freed cells are reused");
            for cell in again {
                // SAFETY: as above.
                unsafe { release(cell) };
            }
        })
        .join()
        .unwrap();
    }
}
