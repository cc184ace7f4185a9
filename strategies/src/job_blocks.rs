//! Where the jobs of the fork-join strategies ([`dualrev_par`](crate::dualrev_par) and
//! [`tape_par`](crate::tape_par)) take the blocks their record streams grow by, and where the
//! blocks go when a job's records have been read: a cache per thread, by block size, over a
//! process-wide pool.
//!
//! A job's stream grows as the arena's streams do (`arena.rs`): a first block of
//! [`FIRST_BLOCK_WORDS`] words, each further one twice the last, up to [`MAX_BLOCK_WORDS`]. The
//! blocks are raw allocations of one of those sizes, so the cache keeps one list per size and a
//! stream always gets the size it asks for (a single list handed a 2 KiB block to a stream that
//! wanted 256 KiB, and the reverse).
//!
//! **Per thread.** A job takes its blocks from the cache of the thread that runs it, and the
//! reverse pass gives a job's blocks back, once their last row is resolved, to the cache of the
//! thread that resolved the job. Both are lock-free thread-local operations, and a block is
//! written next by a thread that last touched it, instead of moving through one process-wide
//! list (under a lock) to whichever core asks next.
//!
//! **Bounded.** The schedule decides which thread resolves a job, so one thread may receive
//! more blocks than it takes. A thread keeps at most [`LOCAL_WORDS`] words of each size; what is
//! beyond goes to the process-wide pool, which a thread whose own cache is empty draws from
//! before it allocates. So the pool and the caches together hold at most the blocks that the
//! process ever had in use at once (as the single pool did), and a thread's cache a bounded
//! amount more.

use std::cell::RefCell;
use std::sync::Mutex;

use crate::arena::{Block, FIRST_BLOCK_WORDS, MAX_BLOCK_WORDS};

/// The block sizes: [`FIRST_BLOCK_WORDS`] times a power of two up to [`MAX_BLOCK_WORDS`].
const SIZES: usize =
    (MAX_BLOCK_WORDS.trailing_zeros() - FIRST_BLOCK_WORDS.trailing_zeros()) as usize + 1;

/// The words of each size a thread keeps in its own cache (8 MiB); more go to the pool.
pub(crate) const LOCAL_WORDS: usize = 1 << 20;

/// Free blocks, one list per size.
type BySize = [Vec<Block>; SIZES];

thread_local! {
    static LOCAL: RefCell<BySize> = const { RefCell::new([const { Vec::new() }; SIZES]) };
}

/// Blocks that threads gave beyond their caches' bound, for any thread.
static POOL: Mutex<BySize> = Mutex::new([const { Vec::new() }; SIZES]);

/// The list index of a block of `words` words.
fn size_index(words: usize) -> usize {
    assert!(
        words.is_power_of_two() && (FIRST_BLOCK_WORDS..=MAX_BLOCK_WORDS).contains(&words),
        "a job's blocks have a size of the arena's streams, not {words} words"
    );
    (words.trailing_zeros() - FIRST_BLOCK_WORDS.trailing_zeros()) as usize
}

/// A block of `words` words for a job's stream: from this thread's cache, else from the pool,
/// else newly allocated.
pub(crate) fn take(words: usize) -> Block {
    let size = size_index(words);
    let cached = LOCAL
        .try_with(|local| local.borrow_mut()[size].pop())
        .ok()
        .flatten();
    cached
        .or_else(|| POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[size].pop())
        .unwrap_or_else(|| Block::new(words))
}

/// Gives `blocks` (a finished job's, no longer read) to this thread's cache, and what exceeds
/// its bound to the pool.
pub(crate) fn give(blocks: impl IntoIterator<Item = Block>) {
    let mut overflow: Vec<Block> = Vec::new();
    let kept = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        for block in blocks {
            let list = &mut local[size_index(block.capacity)];
            if (list.len() + 1) * block.capacity <= LOCAL_WORDS.max(block.capacity) {
                list.push(block);
            } else {
                overflow.push(block);
            }
        }
    });
    // A thread being torn down has no cache: its blocks are freed.
    if kept.is_ok() && !overflow.is_empty() {
        let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for block in overflow {
            pool[size_index(block.capacity)].push(block);
        }
    }
}

/// The words of free blocks in this thread's cache.
#[cfg(test)]
pub(crate) fn cached_words() -> usize {
    LOCAL.with(|local| local.borrow().iter().flatten().map(|b| b.capacity).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_gets_the_size_it_asks_for() {
        give([Block::new(FIRST_BLOCK_WORDS), Block::new(MAX_BLOCK_WORDS)]);
        assert_eq!(take(MAX_BLOCK_WORDS).capacity, MAX_BLOCK_WORDS);
        assert_eq!(take(FIRST_BLOCK_WORDS).capacity, FIRST_BLOCK_WORDS);
        assert_eq!(take(2 * FIRST_BLOCK_WORDS).capacity, 2 * FIRST_BLOCK_WORDS);
    }

    #[test]
    fn a_thread_keeps_a_bounded_cache_and_pools_the_rest() {
        std::thread::spawn(|| {
            let blocks = 2 * LOCAL_WORDS / MAX_BLOCK_WORDS;
            give((0..blocks).map(|_| Block::new(MAX_BLOCK_WORDS)));
            assert_eq!(cached_words(), LOCAL_WORDS);
        })
        .join()
        .expect("the test thread");
    }

    #[test]
    #[should_panic(expected = "a job's blocks have a size of the arena's streams")]
    fn a_block_of_another_size_is_refused() {
        take(FIRST_BLOCK_WORDS + 1);
    }
}
