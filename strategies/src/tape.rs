//! `tape`: classic Wengert-list reverse AD, the practitioners' reference point.
//!
//! # Representation
//!
//! A scalar is a [`TapeReal`]: its primal value, the index of its adjoint slot, and the
//! *generation* of the gradient call that created it (24 bytes, `Copy`; the generation is a
//! 64-bit counter, which cannot wrap, because the sweep trusts it). Inputs occupy slots
//! 0..n; each operation with at least one active operand appends one entry to the tape and
//! takes slot n + (its position on the tape). Constants, and operations whose operands are all
//! constants, have no slot and record nothing (`docs/ladder.md`, the tape).
//!
//! An entry is an 8-byte header — its operands' slots and its kind — and only the partials its
//! kind needs: none for `a + b`, `a - b`, `a ± c` and `-a` (partials ±1), one for the other
//! one-operand operations, two for `*`, `/` and `powf` (8, 16 or 24 bytes; Adept and CoDiPack
//! likewise store one index per operand and a partial only where it is not fixed). Headers and
//! partials go into two streams, in entry order, so that the sweep finds every header at a
//! fixed stride: with the partials interleaved, finding the previous entry waited for the
//! current entry's kind, a load-to-load dependency per entry that bounded the sweep (measured:
//! 1.4x slower on `ode`, 1.45x on `llsq`). Each stream is a list of blocks that never move (the
//! first of 2 KiB, doubling up to 256 KiB), so the tape grows without copying and wastes at
//! most one block per stream. Recording is inlined into every operation: a
//! constant-initialised thread-local cursor (no lazy-initialisation check, no `RefCell`
//! borrow), two generation compares, one capacity check per stream written and the stores;
//! taking a new block is the one cold path.
//!
//! # Algorithm and cost
//!
//! [`Tape::vjp`] starts a fresh tape, lifts the inputs, evaluates the program (recording), then
//! sweeps the tape backwards once over an array of adjoints: seed the outputs' slots with the
//! cotangent; for every entry from the last the outputs depend on down to the first,
//! `adj[operand] += adj[entry] * partial` for each operand. The gradient is `adj[0..n]`. The
//! sweep is unchecked: an entry's operands are values recorded earlier on the same tape (the
//! generation check ensures it), so their slots are below the entry's. A Jacobian records once
//! and sweeps the tape once per output. Both passes are loops — no recursion — so a
//! 10^6-operation chain runs on any stack. Cost: O(T)
//! for recording plus O(entries + edges) for the sweep; the smallest constant factor of the
//! reverse strategies, which is why it is the baseline the dual-numbers ladder is compared to.
//!
//! # The tape stack: sequential, nested and concurrent gradients
//!
//! The tapes live in a thread-local *stack*. A gradient pushes a new tape with a fresh
//! generation (from a process-wide counter, so generations are unique across threads) and pops
//! it when done, also when the program panics. An operation records on the top tape and checks
//! that its active operands carry the top tape's generation. Hence:
//!
//! - gradients run one after another each get a new tape;
//! - a gradient may run inside the program of another (nested): the outer tape is suspended
//!   and the outer's values are valid again once the inner gradient returns;
//! - gradients on different threads never share a tape;
//! - using an active value outside the gradient call that created it (a finished gradient, an
//!   enclosing one while a nested gradient runs, or another thread's) panics with a message
//!   naming both generations. Reading its [`Real::value`] stays allowed.
//!
//! # Counters
//!
//! - `tape_entries`: entries recorded, one per operation with at least one active operand
//!   (inputs have slots but no entries). It is the active part of the primal count T.
//! - `entries_swept`: entries visited by the reverse sweep, from the entry of the highest seeded
//!   output down to the first (entries recorded after it are skipped; entries below it are all
//!   swept, also those the output does not depend on, whose adjoint is zero).
//! - `edges_applied`: adjoint updates `adj[operand] += adj[entry] * partial`, one per active
//!   operand of each swept entry (an entry whose adjoint is zero — no seeded output reaches
//!   it — makes its updates as no-ops: it is stepped over, and its edges still count).
//! - `sweeps`: reverse sweeps of the one recorded tape: 1 for a vector-Jacobian product, m for
//!   a Jacobian (`entries_swept` and `edges_applied` sum over them; `tape_entries` does not).
//!
//! # Phases and memory
//!
//! `forward` is starting the tape, lifting the inputs and recording; `reverse` is the sweep
//! and resetting the tape and the adjoint array. Resetting keeps the blocks, the lifted-input
//! vector and the adjoint array in a thread-local pool for the next gradient, as practical tapes (Adept, CoDiPack, Stan's arena)
//! do: a warm gradient neither grows its tape nor touches fresh pages. The price is that a
//! thread keeps its largest tape (per nesting depth) until it exits or calls
//! [`Tape::release_memory`]. `dualbench run` measures memory on the first gradient of a fresh
//! process, where the pool is empty: a cold gradient.
//!
//! # Fork-join programs
//!
//! [`TapeReal`] is plain data and implements [`ParReal`]; `join` runs both branches in order on
//! the calling thread, recording them on its tape, which makes [`Tape`] a [`ParStrategy`].

use std::cell::{Cell, RefCell};
use std::mem::{self, MaybeUninit};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::forward::impl_real_from_partials;
use crate::program::{
    check_inputs, check_lengths, Derivatives, Outputs, ParProgram, ParStrategy, Probe, Program,
    Strategy, Vjp,
};
use crate::real::{partials, ParReal, Real};

/// The slot of a constant: no adjoint, no entry.
const NO_SLOT: u32 = u32::MAX;

/// A gradient call's number, unique in the process: 64 bits, so that the counter cannot wrap
/// in a process's lifetime (at one gradient per nanosecond it lasts 584 years) and a value of
/// a finished gradient can never pass for one of the running gradient — whose slots the sweep
/// indexes unchecked.
type Generation = u64;

/// The generation of "no gradient running" (never allocated to a gradient).
const NO_GENERATION: Generation = 0;

/// Source of gradient generations, shared by all threads so that a value carried to another
/// thread cannot be mistaken for one of that thread's.
static LAST_GENERATION: AtomicU64 = AtomicU64::new(NO_GENERATION);

/// Where an entry's kind sits in its header: the top three bits of the second operand's field.
const KIND_SHIFT: u32 = 29;

/// The number of slots one gradient can hold (inputs plus entries): slots are stored in the
/// 29 bits of a header's operand field that the kind leaves free.
pub const MAX_SLOTS: u32 = 1 << KIND_SHIFT;

const OPERAND_MASK: u32 = MAX_SLOTS - 1;

/// Words in the first block of a fresh tape; each further block doubles, up to
/// [`MAX_BLOCK_WORDS`], so a small program allocates little and a large one wastes at most one
/// block (256 KiB) beyond what it records.
const FIRST_BLOCK_WORDS: usize = 1 << 8;
const MAX_BLOCK_WORDS: usize = 1 << 15;

/// A scalar recorded on the tape of one gradient call.
#[derive(Clone, Copy, Debug)]
pub struct TapeReal {
    value: f64,
    slot: u32,
    generation: Generation,
}

/// What a recorded operation is: how many partials precede its header and how its adjoint
/// flows to its operands. Operations whose partials are +-1 store none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `a + b`: `adj[a] += dz; adj[b] += dz`.
    Add = 0,
    /// `a - b`: `adj[a] += dz; adj[b] -= dz`.
    Sub = 1,
    /// One operand with partial 1 (`a + c`, `a - c`): `adj[a] += dz`.
    Shift = 2,
    /// One operand with partial -1 (`-a`, `c - a`): `adj[a] -= dz`.
    Negate = 3,
    /// One operand and its stored partial `d`: `adj[a] += d dz`.
    Unary = 4,
    /// Two operands and their stored partials (`*`, `/`, `powf`).
    Binary = 5,
}

impl Kind {
    /// Decodes the kind bits of a header (written only by [`header`]).
    #[inline(always)]
    fn of(header: u64) -> Kind {
        match header >> (32 + KIND_SHIFT) {
            0 => Kind::Add,
            1 => Kind::Sub,
            2 => Kind::Shift,
            3 => Kind::Negate,
            4 => Kind::Unary,
            _ => Kind::Binary,
        }
    }

    /// Partials stored before the header.
    #[inline(always)]
    fn stored_partials(self) -> usize {
        match self {
            Kind::Add | Kind::Sub | Kind::Shift | Kind::Negate => 0,
            Kind::Unary => 1,
            Kind::Binary => 2,
        }
    }

    /// Operands (edges) of the entry.
    #[inline(always)]
    fn edges(self) -> u64 {
        match self {
            Kind::Shift | Kind::Negate | Kind::Unary => 1,
            Kind::Add | Kind::Sub | Kind::Binary => 2,
        }
    }
}

/// An entry's header word: the first operand's slot in the low 32 bits, the second operand's
/// slot (0 for one-operand kinds) and the kind in the high 32.
#[inline(always)]
fn header(kind: Kind, first: u32, second: u32) -> u64 {
    u64::from(first) | u64::from(second | (kind as u32) << KIND_SHIFT) << 32
}

/// A fixed-capacity block of tape words, allocated uninitialised; the first `used` words have
/// been written by [`record`]. A raw allocation rather than a `Box`, because the recording
/// cursor keeps a pointer into it while the block itself is moved between lists.
struct Block {
    start: NonNull<u64>,
    capacity: usize,
    used: usize,
}

impl Block {
    fn new(capacity: usize) -> Block {
        let words: Box<[MaybeUninit<u64>]> = Box::new_uninit_slice(capacity);
        let start = NonNull::new(Box::into_raw(words).cast::<u64>()).expect("a boxed slice");
        Block {
            start,
            capacity,
            used: 0,
        }
    }

    /// The recorded words.
    #[inline]
    fn words(&self) -> &[u64] {
        // SAFETY: the first `used` words lie in the allocation and were written by `record`
        // (`used` is only ever set from the cursor, which never runs past a written word).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.used) }
    }

    /// One past the last word.
    fn end(&self) -> *mut u64 {
        // SAFETY: one past the end of the allocation.
        unsafe { self.start.as_ptr().add(self.capacity) }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let words = ptr::slice_from_raw_parts_mut(
            self.start.as_ptr().cast::<MaybeUninit<u64>>(),
            self.capacity,
        );
        // SAFETY: `start` and `capacity` came from `Box::into_raw` in `Block::new`, and the
        // block is dropped once.
        drop(unsafe { Box::from_raw(words) });
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("capacity", &self.capacity)
            .field("used", &self.used)
            .finish()
    }
}

/// A write position in one of a tape's two streams: the next free word of its current block
/// (null before the first block) and one past that block's last word.
struct StreamCursor {
    next: Cell<*mut u64>,
    end: Cell<*mut u64>,
}

impl StreamCursor {
    /// A cursor before its stream's first block.
    const fn idle() -> StreamCursor {
        StreamCursor {
            next: Cell::new(ptr::null_mut()),
            end: Cell::new(ptr::null_mut()),
        }
    }
}

/// The recording state of this thread's running tape, on the hot path of every operation: the
/// write positions in its two streams, the running gradient's generation and the slot the next
/// entry takes. Plain cells in a constant-initialised thread-local, so an operation reads it
/// without a lazy-initialisation check or a `RefCell` borrow.
struct Cursor {
    /// Where the next entry's header goes.
    headers: StreamCursor,
    /// Where the next entry's partials go.
    partials: StreamCursor,
    /// The running gradient's generation, [`NO_GENERATION`] when none runs.
    generation: Cell<Generation>,
    /// The slot of the next entry.
    next_slot: Cell<u32>,
}

/// One of a tape's two streams of words: the blocks written so far, the current one last.
#[derive(Debug, Default)]
struct Stream {
    blocks: Vec<Block>,
}

impl Stream {
    /// Saves the cursor's position into the current block.
    fn close(&mut self, cursor: &StreamCursor) {
        if let Some(last) = self.blocks.last_mut() {
            last.used = (cursor.next.get() as usize - last.start.as_ptr() as usize) / 8;
        }
    }

    /// Points the cursor at the end of this stream, to continue writing it.
    fn resume(&self, cursor: &StreamCursor) {
        match self.blocks.last() {
            Some(last) => {
                // SAFETY: `used <= capacity`: within the allocation or one past its end.
                cursor
                    .next
                    .set(unsafe { last.start.as_ptr().add(last.used) });
                cursor.end.set(last.end());
            }
            None => {
                cursor.next.set(ptr::null_mut());
                cursor.end.set(ptr::null_mut());
            }
        }
    }
}

/// The tape of one gradient call, while it is not the one being written to (suspended by a
/// nested gradient, or finished): one header per entry in `headers`, and the stored partials of
/// the entries that have any, in the same order, in `partials`. Two streams, so that the sweep
/// finds every header at a fixed stride, without waiting for the previous entry's kind.
#[derive(Debug)]
struct Recording {
    generation: Generation,
    /// n: slots 0..n are the inputs; entry k has slot n + k.
    inputs: u32,
    /// The slot of the next entry, saved from the cursor.
    next_slot: u32,
    headers: Stream,
    partials: Stream,
}

impl Recording {
    const IDLE: Recording = Recording {
        generation: NO_GENERATION,
        inputs: 0,
        next_slot: 0,
        headers: Stream { blocks: Vec::new() },
        partials: Stream { blocks: Vec::new() },
    };

    /// Saves the cursor's positions into this (current) recording.
    fn close(&mut self, cursor: &Cursor) {
        self.headers.close(&cursor.headers);
        self.partials.close(&cursor.partials);
        self.next_slot = cursor.next_slot.get();
    }

    /// Points the cursor at the end of this recording, to continue writing it.
    fn resume(&self, cursor: &Cursor) {
        cursor.generation.set(self.generation);
        cursor.next_slot.set(self.next_slot);
        self.headers.resume(&cursor.headers);
        self.partials.resume(&cursor.partials);
    }

    /// Entries recorded.
    fn entries(&self) -> usize {
        (self.next_slot - self.inputs) as usize
    }
}

/// This thread's tapes apart from the cursor: the blocks of the one being recorded, those
/// suspended by nested gradients, and the buffers of finished gradients kept for reuse.
#[derive(Debug)]
struct TapeStack {
    current: Recording,
    suspended: Vec<Recording>,
    /// Emptied blocks of finished gradients.
    spare_blocks: Vec<Block>,
    /// Emptied block lists, lifted-input vectors and the adjoint array of finished gradients.
    spare_lists: Vec<Vec<Block>>,
    spare_inputs: Vec<TapeReal>,
    spare_adjoints: Vec<f64>,
}

thread_local! {
    static CURSOR: Cursor = const {
        Cursor {
            headers: StreamCursor::idle(),
            partials: StreamCursor::idle(),
            generation: Cell::new(NO_GENERATION),
            next_slot: Cell::new(0),
        }
    };
    static TAPES: RefCell<TapeStack> = const {
        RefCell::new(TapeStack {
            current: Recording::IDLE,
            suspended: Vec::new(),
            spare_blocks: Vec::new(),
            spare_lists: Vec::new(),
            spare_inputs: Vec::new(),
            spare_adjoints: Vec::new(),
        })
    };
}

/// A generation no other gradient of the process has had.
fn next_generation() -> Generation {
    let last = LAST_GENERATION.fetch_add(1, Ordering::Relaxed);
    last.checked_add(1)
        .expect("tape: more than 2^64 - 1 gradients in one process")
}

/// Panics because a value of `generation` met the running tape of generation `current`; says
/// which of the three misuses it is.
#[cold]
#[inline(never)]
fn foreign_value(current: Generation, generation: Generation) -> ! {
    if current == NO_GENERATION {
        panic!(
            "tape: a value of gradient generation {generation} was used outside any gradient \
             call (generation {generation} has finished); active values must not outlive the \
             gradient call that created them"
        );
    }
    let suspended = TAPES.with(|tapes| {
        tapes
            .try_borrow()
            .is_ok_and(|stack| stack.suspended.iter().any(|r| r.generation == generation))
    });
    if suspended {
        panic!(
            "tape: a value of the enclosing gradient generation {generation} was used inside \
             the nested gradient generation {current}; pass primal values (`value()`) into a \
             nested gradient instead"
        );
    }
    panic!(
        "tape: a value of gradient generation {generation} was used in gradient generation \
         {current}, but generation {generation} has finished or belongs to another thread; \
         active values must not outlive the gradient call that created them"
    );
}

/// [`foreign_value`] for whichever of two operands is foreign.
#[cold]
#[inline(never)]
fn foreign_operand(generations: [Generation; 2], current: Generation) -> ! {
    let foreign = if generations[0] != current {
        generations[0]
    } else {
        generations[1]
    };
    foreign_value(current, foreign)
}

/// Which of a recording's streams a new block is for.
#[derive(Clone, Copy)]
enum StreamKind {
    Headers,
    Partials,
}

/// Closes the current block of one stream and moves its cursor to a fresh one (a spare block
/// if there is one). For the header stream, checks that the slots a full block could take
/// still fit in [`MAX_SLOTS`]. The cold path of [`record`], taken once per block.
#[cold]
#[inline(never)]
fn next_block(which: StreamKind) -> *mut u64 {
    TAPES.with(|tapes| {
        CURSOR.with(|cursor| {
            let mut stack = tapes.borrow_mut();
            let stack = &mut *stack;
            stack.current.close(cursor);
            let (stream, stream_cursor) = match which {
                StreamKind::Headers => (&mut stack.current.headers, &cursor.headers),
                StreamKind::Partials => (&mut stack.current.partials, &cursor.partials),
            };
            let block = match stack.spare_blocks.pop() {
                Some(mut block) => {
                    block.used = 0;
                    block
                }
                None => {
                    let words = stream
                        .blocks
                        .last()
                        .map_or(FIRST_BLOCK_WORDS, |b| (b.capacity * 2).min(MAX_BLOCK_WORDS));
                    Block::new(words)
                }
            };
            if let StreamKind::Headers = which {
                let slots = u64::from(cursor.next_slot.get()) + block.capacity as u64;
                if slots > u64::from(MAX_SLOTS) {
                    panic!(
                        "tape: more than {MAX_SLOTS} slots (inputs and entries) in one gradient"
                    );
                }
            }
            let start = block.start.as_ptr();
            stream_cursor.next.set(start);
            stream_cursor.end.set(block.end());
            stream.blocks.push(block);
            start
        })
    })
}

/// Appends an entry — its `P` partials to the partial stream, its header to the header
/// stream — to the running tape after checking the operands' generations, and returns the
/// result's scalar. The hot path of the tape: a thread-local read, two compares, one capacity
/// check per stream written, `P + 1` stores.
#[inline(always)]
fn record<const P: usize>(
    generations: [Generation; 2],
    partials: [f64; P],
    header: u64,
    value: f64,
) -> TapeReal {
    CURSOR.with(|cursor| {
        let generation = cursor.generation.get();
        if generations[0] != generation || generations[1] != generation {
            foreign_operand(generations, generation);
        }
        if P > 0 {
            let mut next = cursor.partials.next.get();
            if (cursor.partials.end.get() as usize).wrapping_sub(next as usize) < P * 8 {
                next = next_block(StreamKind::Partials);
            }
            // SAFETY: [next, next + P) lies in the current partial block: the check above (or
            // `next_block`, whose blocks hold far more than P words) guarantees the room, and
            // the block belongs to the running recording until it finishes.
            unsafe {
                for (k, p) in partials.iter().enumerate() {
                    next.add(k).write(p.to_bits());
                }
                cursor.partials.next.set(next.add(P));
            }
        }
        let mut next = cursor.headers.next.get();
        if cursor.headers.end.get() == next {
            next = next_block(StreamKind::Headers);
        }
        // SAFETY: `next` is below the end of the current header block, which belongs to the
        // running recording.
        unsafe {
            next.write(header);
            cursor.headers.next.set(next.add(1));
        }
        let slot = cursor.next_slot.get();
        cursor.next_slot.set(slot + 1);
        TapeReal {
            value,
            slot,
            generation,
        }
    })
}

impl TapeReal {
    fn inactive(value: f64) -> Self {
        Self {
            value,
            slot: NO_SLOT,
            generation: NO_GENERATION,
        }
    }

    #[inline(always)]
    fn is_active(&self) -> bool {
        self.slot != NO_SLOT
    }

    /// A one-operand operation with partial `d`; a partial of +-1 is not stored.
    #[inline(always)]
    fn unary(&self, value: f64, d: f64) -> Self {
        if !self.is_active() {
            return Self::inactive(value);
        }
        let generations = [self.generation; 2];
        if d == 1.0 {
            record(generations, [], header(Kind::Shift, self.slot, 0), value)
        } else if d == -1.0 {
            record(generations, [], header(Kind::Negate, self.slot, 0), value)
        } else {
            record(generations, [d], header(Kind::Unary, self.slot, 0), value)
        }
    }

    /// A binary operation; with one constant operand it records a one-operand entry.
    #[inline(always)]
    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        match (self.is_active(), other.is_active()) {
            (true, true) => {
                let generations = [self.generation, other.generation];
                if dx == 1.0 && dy == 1.0 {
                    record(
                        generations,
                        [],
                        header(Kind::Add, self.slot, other.slot),
                        value,
                    )
                } else if dx == 1.0 && dy == -1.0 {
                    record(
                        generations,
                        [],
                        header(Kind::Sub, self.slot, other.slot),
                        value,
                    )
                } else {
                    let h = header(Kind::Binary, self.slot, other.slot);
                    record(generations, [dx, dy], h, value)
                }
            }
            (true, false) => self.unary(value, dx),
            (false, true) => other.unary(value, dy),
            (false, false) => Self::inactive(value),
        }
    }
}

impl_real_from_partials!(TapeReal);

impl ParReal for TapeReal {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        (a(), b())
    }
}

/// A tape pushed on this thread's stack; popped by [`ActiveTape::finish`], or on drop if the
/// program panicked, so that a failed gradient never leaves its tape behind.
struct ActiveTape {
    generation: Generation,
    finished: bool,
}

impl ActiveTape {
    /// Suspends the running tape (if any), starts a new one and lifts the inputs into slots
    /// 0..n (into a reused vector).
    fn start(x: &[f64]) -> (ActiveTape, Vec<TapeReal>) {
        let inputs = u32::try_from(x.len())
            .ok()
            .filter(|&n| n < MAX_SLOTS)
            .unwrap_or_else(|| panic!("tape: more than {MAX_SLOTS} inputs"));
        let generation = next_generation();
        let mut lifted = TAPES.with(|tapes| {
            CURSOR.with(|cursor| {
                let mut stack = tapes.borrow_mut();
                let mut headers = Stream {
                    blocks: stack.spare_lists.pop().unwrap_or_default(),
                };
                let mut partials = Stream {
                    blocks: stack.spare_lists.pop().unwrap_or_default(),
                };
                // A warm tape starts writing into spare blocks at once, instead of taking each
                // stream's first block on the cold path. (The slot limit is checked there, so
                // a header block that could take the slots past it is left to that path.)
                for (stream, headers) in [(&mut headers, true), (&mut partials, false)] {
                    let fits = |block: &Block| {
                        !headers
                            || u64::from(inputs) + block.capacity as u64 <= u64::from(MAX_SLOTS)
                    };
                    if stack.spare_blocks.last().is_some_and(fits) {
                        let mut block = stack.spare_blocks.pop().expect("checked above");
                        block.used = 0;
                        stream.blocks.push(block);
                    }
                }
                let fresh = Recording {
                    generation,
                    inputs,
                    next_slot: inputs,
                    headers,
                    partials,
                };
                let mut outer = mem::replace(&mut stack.current, fresh);
                if outer.generation != NO_GENERATION {
                    outer.close(cursor);
                    stack.suspended.push(outer);
                }
                stack.current.resume(cursor);
                mem::take(&mut stack.spare_inputs)
            })
        });
        lifted.clear();
        lifted.extend(x.iter().zip(0..inputs).map(|(&value, slot)| TapeReal {
            value,
            slot,
            generation,
        }));
        (
            ActiveTape {
                generation,
                finished: false,
            },
            lifted,
        )
    }

    /// Pops this tape, resuming the one it suspended, and returns it.
    fn pop(&mut self) -> Recording {
        self.finished = true;
        TAPES.with(|tapes| {
            CURSOR.with(|cursor| {
                let mut stack = tapes.borrow_mut();
                let outer = stack.suspended.pop().unwrap_or(Recording::IDLE);
                let mut mine = mem::replace(&mut stack.current, outer);
                mine.close(cursor);
                stack.current.resume(cursor);
                debug_assert_eq!(mine.generation, self.generation, "tapes pop in LIFO order");
                mine
            })
        })
    }

    fn finish(mut self) -> Recording {
        self.pop()
    }
}

impl Drop for ActiveTape {
    fn drop(&mut self) {
        if !self.finished {
            let recording = self.pop();
            recycle(recording, Vec::new(), Vec::new());
        }
    }
}

/// Takes the spare adjoint array, zero-filled to `len` slots.
fn take_adjoints(len: usize) -> Vec<f64> {
    let mut adjoints = TAPES.with(|tapes| mem::take(&mut tapes.borrow_mut().spare_adjoints));
    adjoints.clear();
    adjoints.resize(len, 0.0);
    adjoints
}

/// Keeps a finished gradient's blocks, block list, input vector and adjoint array for the next
/// gradient.
fn recycle(recording: Recording, inputs: Vec<TapeReal>, adjoints: Vec<f64>) {
    TAPES.with(|tapes| {
        let mut stack = tapes.borrow_mut();
        for mut stream in [recording.headers, recording.partials] {
            stack.spare_blocks.extend(stream.blocks.drain(..).rev());
            stack.spare_lists.push(stream.blocks);
        }
        if inputs.capacity() > stack.spare_inputs.capacity() {
            stack.spare_inputs = inputs;
        }
        if adjoints.capacity() > stack.spare_adjoints.capacity() {
            stack.spare_adjoints = adjoints;
        }
    });
}

/// Sweeps the entries of `recording` whose slot is below `top` from the last to the first:
/// each propagates its adjoint to its operands (an entry whose adjoint is zero, which no
/// seeded output reaches, has nothing to propagate and is stepped over). Returns the edges of
/// the swept entries (counted only when the probe counts).
///
/// The sweep is unchecked: every operand slot of the entry of slot s is below s (an operand is
/// a value recorded earlier on this very tape — the generation check of [`record`] guarantees
/// it), and s < `adjoints.len()`, so every index is in bounds.
#[inline]
fn sweep<Q: Probe>(recording: &Recording, top: usize, adjoints: &mut [f64]) -> u64 {
    let n = recording.inputs as usize;
    debug_assert!(top <= adjoints.len() && adjoints.len() == n + recording.entries());
    let mut slot = n + recording.entries();
    let mut edges = 0;
    let adj = adjoints.as_mut_ptr();
    // The partials are read backwards alongside the headers: `stored` counts down through the
    // current partial block, and the previous block is taken when it is used up (an entry's
    // partials never straddle two blocks).
    let mut partial_blocks = recording.partials.blocks.iter().rev();
    let mut partial_words: &[u64] = &[];
    let mut stored = 0;
    for block in recording.headers.blocks.iter().rev() {
        for &h in block.words().iter().rev() {
            let kind = Kind::of(h);
            let count = kind.stored_partials();
            if count > stored {
                let previous = partial_blocks
                    .next()
                    .expect("an entry's partials were stored");
                partial_words = previous.words();
                stored = partial_words.len();
            }
            stored -= count;
            slot -= 1;
            if slot >= top {
                continue;
            }
            // SAFETY: the slots are in bounds as argued above, and the partials of this entry
            // are the `count` words at `stored` in the current partial block.
            unsafe {
                let first = adj.add(h as u32 as usize);
                let second = adj.add(((h >> 32) as u32 & OPERAND_MASK) as usize);
                debug_assert!((h as u32 as usize) < slot);
                let dz = *adj.add(slot);
                if Q::COUNTS {
                    edges += kind.edges();
                }
                // A zero adjoint propagates nothing (`times(partial, 0) = 0` on every edge):
                // entries the seeded outputs do not reach are stepped over.
                if dz == 0.0 {
                    continue;
                }
                match kind {
                    Kind::Add => {
                        *first += dz;
                        *second += dz;
                    }
                    Kind::Sub => {
                        *first += dz;
                        *second -= dz;
                    }
                    Kind::Shift => *first += dz,
                    Kind::Negate => *first -= dz,
                    Kind::Unary => {
                        let d = f64::from_bits(*partial_words.get_unchecked(stored));
                        *first += partials::times(d, dz);
                    }
                    Kind::Binary => {
                        let dx = f64::from_bits(*partial_words.get_unchecked(stored));
                        let dy = f64::from_bits(*partial_words.get_unchecked(stored + 1));
                        *first += partials::times(dx, dz);
                        *second += partials::times(dy, dz);
                    }
                }
            }
        }
    }
    edges
}

/// Which products a recording is swept for.
#[derive(Clone, Copy)]
enum Rows<'a> {
    /// One sweep: `cotangent^T J`.
    Cotangent(&'a [f64]),
    /// m sweeps, seeded with e_1 .. e_m: the Jacobian's rows.
    Unit(usize),
}

impl Rows<'_> {
    fn outputs(self) -> usize {
        match self {
            Rows::Cotangent(w) => w.len(),
            Rows::Unit(m) => m,
        }
    }
}

/// Classic Wengert-list reverse AD.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tape;

impl Tape {
    /// `cotangent^T J` of the function computed by `eval` at `x`, recorded on a fresh tape,
    /// with its counters and phases.
    ///
    /// This is [`Strategy::vjp`] for a closure instead of a [`Program`]: `eval` receives the
    /// lifted inputs and returns the outputs (as many as `cotangent` has entries). The values
    /// it sees belong to this call only; keeping one and using it in an operation after the
    /// call returns panics.
    ///
    /// ```
    /// use strategies::tape::{Tape, TapeReal};
    /// use strategies::{outputs, Real};
    ///
    /// let r = Tape::vjp_with(&[3.0], &[1.0], |x: &[TapeReal]| outputs![x[0].square().sin()]);
    /// assert_eq!(r.gradient, Some(vec![9.0f64.cos() * 6.0]));
    /// assert_eq!(r.counters.get("tape_entries"), Some(2));
    /// ```
    pub fn vjp_with<F>(x: &[f64], cotangent: &[f64], eval: F) -> Vjp
    where
        F: FnOnce(&[TapeReal]) -> Outputs<TapeReal>,
    {
        Vjp::record(true, |out, recorder| {
            Self::differentiate(x, Rows::Cotangent(cotangent), eval, out, recorder);
        })
    }

    /// Record `eval` at `x` once, write the values, then sweep the tape once per row of
    /// `rows`, appending each product (n numbers) to `out.derivative`.
    #[inline]
    fn differentiate<F, Q>(x: &[f64], rows: Rows<'_>, eval: F, out: &mut Derivatives, probe: &mut Q)
    where
        F: FnOnce(&[TapeReal]) -> Outputs<TapeReal>,
        Q: Probe,
    {
        probe.forward_starts();
        let (tape, inputs) = ActiveTape::start(x);
        let outputs = eval(&inputs);
        let m = rows.outputs();
        if outputs.len() != m {
            panic!(
                "cotangent has length {m} but the program returned {} outputs",
                outputs.len()
            );
        }
        for output in &outputs {
            if output.is_active() && output.generation != tape.generation {
                foreign_value(tape.generation, output.generation);
            }
        }

        probe.reverse_starts();
        let recording = tape.finish();
        let n = x.len();
        let mut adjoints = take_adjoints(n + recording.entries());
        out.value.clear();
        out.value.extend(outputs.iter().map(Real::value));
        let (mut swept, mut edges_applied, mut sweeps) = (0u64, 0u64, 0u64);
        let mut sweep_with = |adjoints: &mut [f64], seed: &mut dyn FnMut(&mut [f64]) -> usize| {
            let top = seed(adjoints);
            edges_applied += sweep::<Q>(&recording, top, adjoints);
            swept += (top - n) as u64;
            sweeps += 1;
            out.derivative.extend_from_slice(&adjoints[..n]);
        };
        match rows {
            Rows::Cotangent(w) => {
                sweep_with(&mut adjoints, &mut |adjoints| {
                    seed(adjoints, n, &outputs, |i| w[i])
                });
            }
            Rows::Unit(m) => {
                for row in 0..m {
                    sweep_with(&mut adjoints, &mut |adjoints| {
                        adjoints.fill(0.0);
                        seed(adjoints, n, &outputs, |i| if i == row { 1.0 } else { 0.0 })
                    });
                }
            }
        }
        let recorded = recording.entries() as u64;
        recycle(recording, inputs, adjoints);
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[
                ("tape_entries", recorded),
                ("entries_swept", swept),
                ("edges_applied", edges_applied),
                ("sweeps", sweeps),
            ]);
        }
    }

    /// Frees the tape blocks and buffers this thread keeps for reuse between gradients (the
    /// tapes of running gradients are untouched). Between gradients the tape is only reset, as
    /// practical tapes do, so a thread holds on to the largest tape it has recorded until it
    /// exits or calls this; measuring the memory of a cold gradient starts with this call.
    pub fn release_memory() {
        TAPES.with(|tapes| {
            let mut stack = tapes.borrow_mut();
            stack.spare_blocks = Vec::new();
            stack.spare_lists = Vec::new();
            stack.spare_inputs = Vec::new();
            stack.spare_adjoints = Vec::new();
        });
    }
}

/// Adds each active output's cotangent `w(i)` to its slot and returns one past the highest
/// seeded slot (at least n): entries above it cannot reach a seeded output.
#[inline]
fn seed(adjoints: &mut [f64], n: usize, outputs: &[TapeReal], w: impl Fn(usize) -> f64) -> usize {
    let mut top = n;
    for (i, output) in outputs.iter().enumerate() {
        if output.is_active() {
            let slot = output.slot as usize;
            adjoints[slot] += w(i);
            top = top.max(slot + 1);
        }
    }
    top
}

impl Strategy for Tape {
    const NAME: &'static str = "tape";
    const DESCRIPTION: &'static str =
        "Wengert list: (value, slot) scalars, one backward sweep over the tape: O(T)";
    const COUNTERS: &'static [&'static str] =
        &["tape_entries", "entries_swept", "edges_applied", "sweeps"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let rows = Rows::Cotangent(cotangent);
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }

    /// One recording, swept once per output (m sweeps of the same tape).
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        let rows = Rows::Unit(program.output_len());
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }
}

impl ParStrategy for Tape {
    const PARALLEL: bool = false;

    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let rows = Rows::Cotangent(cotangent);
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }

    /// One recording, swept once per output, as for a sequential program.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        let rows = Rows::Unit(program.output_len());
        Self::differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::panic::AssertUnwindSafe;

    use super::*;
    use crate::program::outputs;
    use crate::test_programs::ForkedProduct;

    fn sin_of_product(x: &[TapeReal]) -> Outputs<TapeReal> {
        outputs![(x[0] * x[1]).sin()]
    }

    fn sin_of_product_gradient(a: f64, b: f64) -> Vec<f64> {
        let c = (a * b).cos();
        vec![b * c, a * c]
    }

    #[test]
    fn counters_count_entries_swept_entries_and_edges() {
        let r = Tape::vjp_with(&[2.0, 3.0], &[1.0], |x| {
            let y = x[0] * x[1]; // binary entry: 2 edges
            let z = y.sin() + 1.0; // two unary entries: 1 edge each
            let c = TapeReal::constant(2.0) * TapeReal::constant(3.0); // constants: no entry
            let out = z * c; // one active operand: a unary entry
            let _after = x[0].cos(); // recorded after the output: not swept
            outputs![out]
        });
        assert_eq!(r.gradient, Some(vec![18.0 * 6f64.cos(), 12.0 * 6f64.cos()]));
        assert_eq!(r.counters.get("tape_entries"), Some(5));
        assert_eq!(r.counters.get("entries_swept"), Some(4));
        assert_eq!(r.counters.get("edges_applied"), Some(5));
    }

    #[test]
    fn gradients_in_sequence_each_start_a_fresh_tape() {
        for (a, b) in [(0.5, 2.0), (1.5, -1.0), (0.5, 2.0)] {
            let r = Tape::vjp_with(&[a, b], &[1.0], sin_of_product);
            assert_eq!(r.gradient, Some(sin_of_product_gradient(a, b)));
            assert_eq!(r.counters.get("tape_entries"), Some(2));
        }
    }

    #[test]
    fn nested_gradient_leaves_the_outer_values_valid() {
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], |x| {
            let p = x[0] * x[1];
            let inner = Tape::vjp_with(&[p.value(), 3.0], &[1.0], sin_of_product);
            assert_eq!(
                inner.gradient,
                Some(sin_of_product_gradient(p.value(), 3.0))
            );
            // The outer tape resumes: p and the inputs are still usable.
            outputs![p * x[0] + inner.gradient.unwrap()[1]]
        });
        // f = x0^2 x1 + sin(3 x0 x1)'s partial in its second argument (a constant here).
        assert_eq!(r.gradient, Some(vec![2.0 * 0.5 * 2.0, 0.25]));
        assert_eq!(r.counters.get("tape_entries"), Some(3));
    }

    #[test]
    fn gradients_on_four_threads_do_not_interfere() {
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for k in 0..200 {
                        let (a, b) = (0.01 * k as f64, 1.0 + t as f64);
                        let r = Tape::vjp_with(&[a, b], &[1.0], |x| {
                            let mut v = x[0] * x[1];
                            for _ in 0..t {
                                v += 0.0;
                            }
                            outputs![v.sin()]
                        });
                        assert_eq!(r.gradient, Some(sin_of_product_gradient(a, b)));
                        assert_eq!(r.counters.get("tape_entries"), Some(2 + t));
                    }
                });
            }
        });
    }

    #[test]
    #[should_panic(expected = "was used in gradient generation")]
    fn a_value_from_a_finished_gradient_panics_in_a_later_one() {
        let kept = Cell::new(None);
        Tape::vjp_with(&[1.0], &[1.0], |x| {
            kept.set(Some(x[0].sin()));
            outputs![x[0]]
        });
        let stale = kept.get().unwrap();
        Tape::vjp_with(&[1.0], &[1.0], |x| outputs![x[0] * stale]);
    }

    /// A 32-bit generation wrapped after 2^32 gradients, so that a stale value passed the check
    /// of the gradient that drew its generation again (and the unchecked sweep indexed its
    /// slot). Jumps the process's counter ahead until a gradient's generation agrees with a
    /// stale value's in the low 32 bits (other tests' gradients may take a number first; the
    /// counter only moves forward, which they do not notice).
    #[test]
    fn a_stale_value_is_refused_by_the_gradient_2_to_the_32_generations_later() {
        let kept = Cell::new(None);
        Tape::vjp_with(&[1.0], &[1.0], |x| {
            kept.set(Some(x[0].sin()));
            outputs![x[0]]
        });
        let stale = kept.get().unwrap();
        let mut alias = stale.generation;
        loop {
            alias += 1 << 32;
            LAST_GENERATION.fetch_max(alias - 1, Ordering::Relaxed);
            let running = Cell::new(NO_GENERATION);
            let used = std::panic::catch_unwind(AssertUnwindSafe(|| {
                Tape::vjp_with(&[1.0], &[1.0], |x| {
                    running.set(x[0].generation);
                    outputs![x[0] * stale]
                })
            }));
            if running.get() == alias {
                assert_eq!(alias as u32, stale.generation as u32);
                assert!(used.is_err(), "the stale value passed the generation check");
                return;
            }
        }
    }

    #[test]
    #[should_panic(expected = "used outside any gradient call")]
    fn a_value_from_a_finished_gradient_panics_outside_any_gradient() {
        let kept = Cell::new(None);
        Tape::vjp_with(&[1.0], &[1.0], |x| {
            kept.set(Some(x[0]));
            outputs![x[0]]
        });
        let _ = kept.get().unwrap().exp();
    }

    #[test]
    #[should_panic(expected = "inside the nested gradient")]
    fn an_outer_value_panics_inside_a_nested_gradient() {
        Tape::vjp_with(&[1.0], &[1.0], |outer| {
            let o = outer[0];
            Tape::vjp_with(&[2.0], &[1.0], |inner| outputs![inner[0] + o]);
            outputs![o]
        });
    }

    #[test]
    fn a_panicking_program_leaves_no_tape_behind() {
        let result = std::panic::catch_unwind(|| {
            Tape::vjp_with(&[1.0], &[1.0], |_| panic!("program failed"));
        });
        assert!(result.is_err());
        TAPES.with(|tapes| {
            let stack = tapes.borrow();
            assert_eq!(stack.current.generation, NO_GENERATION);
            assert!(stack.suspended.is_empty());
        });
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        assert_eq!(r.gradient, Some(sin_of_product_gradient(0.5, 2.0)));
    }

    #[test]
    fn finished_gradients_leave_their_buffers_for_reuse_until_released() {
        let spare = || {
            TAPES.with(|tapes| {
                let stack = tapes.borrow();
                let entries: usize = stack.spare_blocks.iter().map(|b| b.capacity).sum();
                (entries, stack.spare_adjoints.capacity())
            })
        };
        Tape::release_memory();
        assert_eq!(spare(), (0, 0));
        let r = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        let (entries, adjoints) = spare();
        assert!(
            entries >= FIRST_BLOCK_WORDS && adjoints >= 4,
            "kept {entries} tape words, {adjoints} adjoints"
        );
        let again = Tape::vjp_with(&[0.5, 2.0], &[1.0], sin_of_product);
        assert_eq!(again.gradient, r.gradient);
        assert_eq!(
            spare(),
            (entries, adjoints),
            "a warm gradient reuses, not grows"
        );
        Tape::release_memory();
        assert_eq!(spare(), (0, 0));
    }

    #[test]
    fn fork_join_programs_record_both_branches_on_one_tape() {
        let r = Tape::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0]);
        let e = 0.25f64.exp();
        assert_eq!(r.gradient, Some(vec![0.5f64.cos() * e, 0.5f64.sin() * e]));
        assert_eq!(r.counters.get("tape_entries"), Some(3));
    }

    /// 3 inputs, 2 * 10^5 operations of every kind in an irregular order, so that both
    /// streams cross many block boundaries at different entries.
    struct MixedKinds;
    impl Program for MixedKinds {
        fn input_len(&self) -> usize {
            3
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (mut a, mut b) = (x[0].clone(), x[1].clone());
            for i in 0..50_000u32 {
                let t = match i % 7 {
                    0 | 3 => a.clone() * b.clone() * 0.5,
                    1 => (a.clone() - x[2].clone()).sin(),
                    2 | 5 => a.clone() + b.clone() + 0.25,
                    4 => -b.clone() / (a.clone() * a.clone() + 1.0),
                    _ => b.clone().tanh() - 0.5,
                };
                b = a;
                a = t.tanh();
            }
            outputs![a, b * x[2].clone()]
        }
    }

    #[test]
    fn the_sweep_reads_both_streams_across_their_block_boundaries() {
        let x = [0.3, -0.7, 0.2];
        let tape = Tape::jacobian(&MixedKinds, &x);
        let forward = crate::forward::Forward::jacobian(&MixedKinds, &x);
        assert_eq!(tape.value, forward.value);
        for (t, f) in tape.rows.unwrap().iter().zip(forward.rows.unwrap()) {
            for (a, b) in t.iter().zip(f) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
        assert!(tape.counters.get("tape_entries").unwrap() > 4 * MAX_BLOCK_WORDS as u64);
    }

    #[test]
    fn values_outside_a_gradient_are_constants() {
        let v = TapeReal::constant(2.0).sin() * 3.0;
        assert!(!v.is_active());
        assert_eq!(v.value(), 3.0 * 2f64.sin());
    }
}
