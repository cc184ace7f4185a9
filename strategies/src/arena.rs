//! The per-gradient record arena shared by [`tape`](crate::tape) and
//! [`dualrev`](crate::dualrev): where one gradient call writes, in order, one record per
//! operation with an active operand, and where its reverse pass reads them back.
//! [`dualrev_par`](crate::dualrev_par) writes each job's records in the same format, into the
//! same [`Stream`]s of [`Block`]s, through a cursor of its own.
//!
//! # Records
//!
//! A record is an 8-byte header — its operands' positions (slots for the tape, IDs for
//! `dualrev`) and its [`Kind`] — and only the partials its kind needs: none for `a + b`,
//! `a - b`, `a ± c` and `-a` (partials ±1), one for the other one-operand operations, two for
//! `*`, `/` and `powf` (8, 16 or 24 bytes; Adept and CoDiPack likewise store one index per
//! operand and a partial only where it is not fixed, and the paper's Haskell artifact has its
//! `C1`/`C2` Contrib constructors). Headers and partials go into two streams, in record order,
//! so that the reverse pass finds every header at a fixed stride: with the partials interleaved,
//! finding the previous record waited for the current record's kind, a load-to-load dependency
//! per record that bounded the sweep (measured on the tape: 1.4x slower on `ode`, 1.45x on
//! `llsq`).
//!
//! # Blocks
//!
//! Each stream is a list of blocks that never move (the first of 2 KiB, doubling up to
//! 256 KiB), so a recording grows without copying and wastes at most one block per stream.
//! Recording ([`record`]) is inlined into every operation: a constant-initialised thread-local
//! cursor (no lazy-initialisation check, no `RefCell` borrow), two generation compares, one
//! capacity check per stream written and the stores; taking a new block is the one cold path.
//! A finished gradient's streams keep their blocks, and stay with its adjoint array in a
//! thread-local pool for the next gradient, as practical tapes (Adept, CoDiPack, Stan's arena) and a garbage-collected
//! heap do: a warm gradient neither grows its arena nor touches fresh pages.
//!
//! # Generations and nesting
//!
//! The recordings live in a thread-local stack. A gradient pushes a new recording with a fresh
//! generation (from a process-wide 64-bit counter, so generations are unique across threads
//! and never wrap) and pops it when done, also when the program panics. [`record`] checks that
//! the active operands carry the top recording's generation, so a value kept from a finished
//! gradient, one of an enclosing gradient used inside a nested one, or one from another thread
//! panics instead of reaching an unchecked reverse pass.

use std::cell::{Cell, RefCell};
use std::mem::{self, MaybeUninit};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

/// A gradient call's number, unique in the process: 64 bits, so that the counter cannot wrap
/// in a process's lifetime (at one gradient per nanosecond it lasts 584 years) and a value of
/// a finished gradient can never pass for one of the running gradient — whose records the
/// reverse pass indexes unchecked.
pub(crate) type Generation = u64;

/// The generation of constants and of "no gradient running" (never allocated to a gradient).
pub(crate) const NO_GENERATION: Generation = 0;

/// Source of gradient generations, shared by all threads so that a value carried to another
/// thread cannot be mistaken for one of that thread's.
pub(crate) static LAST_GENERATION: AtomicU64 = AtomicU64::new(NO_GENERATION);

/// Where a record's kind sits in its header: the top three bits of the second operand's field.
const KIND_SHIFT: u32 = 29;

/// The number of positions one gradient can hold (inputs plus records): positions are stored
/// in the 29 bits of a header's operand field that the kind leaves free.
pub(crate) const MAX_SLOTS: u32 = 1 << KIND_SHIFT;

const OPERAND_MASK: u32 = MAX_SLOTS - 1;

/// Words in the first block of a fresh recording; each further block doubles, up to
/// [`MAX_BLOCK_WORDS`], so a small program allocates little and a large one wastes at most one
/// block (256 KiB) beyond what it records.
pub(crate) const FIRST_BLOCK_WORDS: usize = 1 << 8;
pub(crate) const MAX_BLOCK_WORDS: usize = 1 << 15;

/// What a recorded operation is: how many partials precede its header and how its adjoint
/// flows to its operands. Operations whose partials are ±1 store none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
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
    pub(crate) fn of(header: u64) -> Kind {
        match header >> (32 + KIND_SHIFT) {
            0 => Kind::Add,
            1 => Kind::Sub,
            2 => Kind::Shift,
            3 => Kind::Negate,
            4 => Kind::Unary,
            _ => Kind::Binary,
        }
    }

    /// Partials stored with the header.
    #[inline(always)]
    pub(crate) fn stored_partials(self) -> usize {
        match self {
            Kind::Add | Kind::Sub | Kind::Shift | Kind::Negate => 0,
            Kind::Unary => 1,
            Kind::Binary => 2,
        }
    }

    /// Operands (edges) of the record.
    #[inline(always)]
    pub(crate) fn edges(self) -> u64 {
        match self {
            Kind::Shift | Kind::Negate | Kind::Unary => 1,
            Kind::Add | Kind::Sub | Kind::Binary => 2,
        }
    }
}

/// A record's header word: the first operand's position in the low 32 bits, the second
/// operand's position (0 for one-operand kinds) and the kind in the high 32.
#[inline(always)]
pub(crate) fn header(kind: Kind, first: u32, second: u32) -> u64 {
    u64::from(first) | u64::from(second | (kind as u32) << KIND_SHIFT) << 32
}

/// The first operand's position in a header.
#[inline(always)]
pub(crate) fn first_operand(header: u64) -> usize {
    header as u32 as usize
}

/// The second operand's position in a header (0 for one-operand kinds).
#[inline(always)]
pub(crate) fn second_operand(header: u64) -> usize {
    ((header >> 32) as u32 & OPERAND_MASK) as usize
}

/// A fixed-capacity block of record words, allocated uninitialised; the first `used` words
/// have been written through a recording cursor. A raw allocation rather than a `Box`, because
/// the cursor keeps a pointer into it while the block itself is moved between lists (and, for
/// `dualrev-par`, between a job's stream, its gradient and the process-wide pool).
pub(crate) struct Block {
    start: NonNull<u64>,
    pub(crate) capacity: usize,
    used: usize,
}

// SAFETY: a block owns its allocation; its words are written only through the cursor of the
// one recording (or `dualrev-par` job) whose stream holds it, on that recording's thread.
unsafe impl Send for Block {}
// SAFETY: a shared `&Block` only reads the words written before its recording (or job) ended:
// the reverse pass runs after the forward pass that wrote them has finished.
unsafe impl Sync for Block {}

impl Block {
    /// A block of `capacity` words, none written.
    pub(crate) fn new(capacity: usize) -> Block {
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
    pub(crate) fn words(&self) -> &[u64] {
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

/// A write position in one of a recording's two streams: the next free word of its current
/// block (null before the first block) and one past that block's last word.
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

    /// Points the cursor at `next`, in a block that ends at `end`.
    fn set(&self, (next, end): (*mut u64, *mut u64)) {
        self.next.set(next);
        self.end.set(end);
    }
}

/// The recording state of this thread's running gradient, on the hot path of every operation:
/// the write positions in its two streams, the running gradient's generation and the position
/// the next record takes. Plain cells in a constant-initialised thread-local, so an operation
/// reads it without a lazy-initialisation check or a `RefCell` borrow.
struct Cursor {
    /// Where the next record's header goes.
    headers: StreamCursor,
    /// Where the next record's partials go.
    partials: StreamCursor,
    /// The running gradient's generation, [`NO_GENERATION`] when none runs.
    generation: Cell<Generation>,
    /// Where position 0 would lie if every header of the recording were in the current header
    /// block, as an address: the next record's position is `(headers.next - slot_origin) / 8`
    /// (in wrapping address arithmetic, so also before the first block, where `next` is null).
    /// The position thus costs no load and store of a counter of its own per record: only the
    /// header pointer is carried from one record to the next.
    slot_origin: Cell<usize>,
}

impl Cursor {
    /// The position the next record takes.
    #[inline(always)]
    fn next_position(&self) -> u32 {
        ((self.headers.next.get() as usize).wrapping_sub(self.slot_origin.get()) / 8) as u32
    }

    /// Makes `position` the next record's position, at the header cursor's current place.
    fn set_next_position(&self, position: u32) {
        let origin = (self.headers.next.get() as usize).wrapping_sub(8 * position as usize);
        self.slot_origin.set(origin);
    }
}

/// One of a recording's two streams of words: its blocks, of which the first `in_use` hold
/// what was written (the current one last); the others are kept from earlier gradients of the
/// thread, to be written next without allocating. `tape` and `dualrev` keep one pair per
/// recording, `dualrev-par` one pair per job.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    blocks: Vec<Block>,
    in_use: usize,
}

impl Stream {
    /// The words this stream's blocks hold, written or not.
    #[cfg(test)]
    pub(crate) fn capacity_words(&self) -> usize {
        self.blocks.iter().map(|b| b.capacity).sum()
    }

    /// The blocks written, in order.
    pub(crate) fn written(&self) -> &[Block] {
        &self.blocks[..self.in_use]
    }

    /// Whether the stream holds no block at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Takes all the stream's blocks, written or kept, leaving it empty.
    pub(crate) fn take_blocks(&mut self) -> Vec<Block> {
        self.in_use = 0;
        mem::take(&mut self.blocks)
    }

    /// This stream, kept from an earlier recording, to be written from its first block: none
    /// written, and the first block already current if it `fits` (so a warm recording does not
    /// take it on the cold path).
    pub(crate) fn reuse(mut self, fits: impl Fn(&Block) -> bool) -> Stream {
        self.in_use = 0;
        if let Some(first) = self.blocks.first_mut().filter(|b| fits(b)) {
            first.used = 0;
            self.in_use = 1;
        }
        self
    }

    /// Saves the write position `next`, a position in the current block, into that block.
    pub(crate) fn close(&mut self, next: *mut u64) {
        if let Some(last) = self.blocks[..self.in_use].last_mut() {
            last.used = (next as usize - last.start.as_ptr() as usize) / 8;
        }
    }

    /// The write position and the end of the current block, to continue writing the stream
    /// (both null before its first block).
    pub(crate) fn resume(&self) -> (*mut u64, *mut u64) {
        match self.written().last() {
            // SAFETY: `used <= capacity`: within the allocation or one past its end.
            Some(last) => (unsafe { last.start.as_ptr().add(last.used) }, last.end()),
            None => (ptr::null_mut(), ptr::null_mut()),
        }
    }

    /// The block the stream is to write next: its next kept block, else a new one that
    /// `fresh(words)` supplies for the size the stream grows to (the first block
    /// [`FIRST_BLOCK_WORDS`], each further one twice the last, at most [`MAX_BLOCK_WORDS`]).
    /// It becomes current only with [`Stream::begin_next_block`], so a caller may check it
    /// first.
    pub(crate) fn next_block(&mut self, fresh: impl FnOnce(usize) -> Block) -> &Block {
        if self.in_use == self.blocks.len() {
            let words = self
                .blocks
                .last()
                .map_or(FIRST_BLOCK_WORDS, |b| (b.capacity * 2).min(MAX_BLOCK_WORDS));
            self.blocks.push(fresh(words));
        }
        &self.blocks[self.in_use]
    }

    /// Makes the block [`Stream::next_block`] supplied current, empty, and returns its write
    /// position and end.
    pub(crate) fn begin_next_block(&mut self) -> (*mut u64, *mut u64) {
        let block = &mut self.blocks[self.in_use];
        block.used = 0;
        self.in_use += 1;
        (block.start.as_ptr(), block.end())
    }
}

/// Whether a header block written from position `first` on keeps every position it can take
/// below [`MAX_SLOTS`] (the bound of a header's operand fields).
pub(crate) fn positions_fit(first: u32, block: &Block) -> bool {
    u64::from(first) + block.capacity as u64 <= u64::from(MAX_SLOTS)
}

/// The records of one gradient call, while it is not the one being written to (suspended by a
/// nested gradient, or finished): one header per record in `headers`, and the stored partials
/// of the records that have any, in the same order, in `partials`.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) generation: Generation,
    /// n: positions 0..n are the inputs; record k has position n + k.
    pub(crate) inputs: u32,
    /// The position of the next record, saved from the cursor.
    next_slot: u32,
    pub(crate) headers: Stream,
    pub(crate) partials: Stream,
}

impl Recording {
    const IDLE: Recording = Recording {
        generation: NO_GENERATION,
        inputs: 0,
        next_slot: 0,
        headers: Stream {
            blocks: Vec::new(),
            in_use: 0,
        },
        partials: Stream {
            blocks: Vec::new(),
            in_use: 0,
        },
    };

    /// Saves the cursor's positions into this (current) recording.
    fn close(&mut self, cursor: &Cursor) {
        self.headers.close(cursor.headers.next.get());
        self.partials.close(cursor.partials.next.get());
        self.next_slot = cursor.next_position();
    }

    /// Points the cursor at the end of this recording, to continue writing it.
    fn resume(&self, cursor: &Cursor) {
        cursor.generation.set(self.generation);
        cursor.headers.set(self.headers.resume());
        cursor.partials.set(self.partials.resume());
        cursor.set_next_position(self.next_slot);
    }

    /// Records written.
    pub(crate) fn records(&self) -> usize {
        (self.next_slot - self.inputs) as usize
    }

    /// Calls `visit(position, header, partials)` for every record whose position is below
    /// `top`, from the last to the first; `partials` is the record's stored partials (as many as
    /// its kind stores, see [`Kind::stored_partials`]). The reverse passes are this loop: every
    /// header is read at a fixed stride, and the partials backwards alongside them (a record's
    /// partials never straddle two blocks).
    #[inline(always)]
    pub(crate) fn for_each_record_backwards(
        &self,
        top: usize,
        mut visit: impl FnMut(usize, u64, &[u64]),
    ) {
        let mut position = self.inputs as usize + self.records();
        let mut partial_blocks = self.partials.written().iter().rev();
        let mut partial_words: &[u64] = &[];
        let mut stored = 0;
        for block in self.headers.written().iter().rev() {
            for &h in block.words().iter().rev() {
                let count = Kind::of(h).stored_partials();
                if count > stored {
                    let previous = partial_blocks
                        .next()
                        .expect("a record's partials were stored");
                    partial_words = previous.words();
                    stored = partial_words.len();
                }
                stored -= count;
                position -= 1;
                if position >= top {
                    continue;
                }
                // SAFETY: `stored + count <= partial_words.len()`: the words at `stored` are
                // this record's partials, counted down from the end of the current block.
                let partials = unsafe { partial_words.get_unchecked(stored..stored + count) };
                visit(position, h, partials);
            }
        }
    }
}

/// This thread's recordings apart from the cursor: the blocks of the one being written, those
/// suspended by nested gradients, and the streams of finished gradients, kept with their blocks
/// for the next gradients (one pair per nesting depth the thread has reached).
#[derive(Debug)]
pub(crate) struct RecordingStack {
    pub(crate) current: Recording,
    pub(crate) suspended: Vec<Recording>,
    /// The (header, partial) streams of finished gradients.
    pub(crate) spare_streams: Vec<(Stream, Stream)>,
}

thread_local! {
    static CURSOR: Cursor = const {
        Cursor {
            headers: StreamCursor::idle(),
            partials: StreamCursor::idle(),
            generation: Cell::new(NO_GENERATION),
            slot_origin: Cell::new(0),
        }
    };
    pub(crate) static RECORDINGS: RefCell<RecordingStack> = const {
        RefCell::new(RecordingStack {
            current: Recording::IDLE,
            suspended: Vec::new(),
            spare_streams: Vec::new(),
        })
    };
    /// The adjoint array of the last finished gradient on this thread, kept for the next.
    pub(crate) static SPARE_ADJOINTS: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
}

/// A generation no other gradient (or `dualrev-par` job) of the process has had.
pub(crate) fn next_generation() -> Generation {
    let last = LAST_GENERATION.fetch_add(1, Ordering::Relaxed);
    last.checked_add(1)
        .expect("more than 2^64 - 1 gradients in one process")
}

/// Panics because a value of `generation` met the running gradient of generation `current`;
/// says which of the three misuses it is. `strategy` names the scalar's strategy.
#[cold]
#[inline(never)]
pub(crate) fn foreign_value(strategy: &str, current: Generation, generation: Generation) -> ! {
    if current == NO_GENERATION {
        panic!(
            "{strategy}: a value of gradient generation {generation} was used outside any \
             gradient call (generation {generation} has finished); active values must not \
             outlive the gradient call that created them"
        );
    }
    let suspended = RECORDINGS.with(|recordings| {
        recordings
            .try_borrow()
            .is_ok_and(|stack| stack.suspended.iter().any(|r| r.generation == generation))
    });
    if suspended {
        panic!(
            "{strategy}: a value of the enclosing gradient generation {generation} was used \
             inside the nested gradient generation {current}; pass primal values (`value()`) \
             into a nested gradient instead"
        );
    }
    panic!(
        "{strategy}: a value of gradient generation {generation} was used in gradient \
         generation {current}, but generation {generation} has finished or belongs to another \
         thread; active values must not outlive the gradient call that created them"
    );
}

/// [`foreign_value`] for whichever of two operands is foreign.
#[cold]
#[inline(never)]
fn foreign_operand(strategy: &str, generations: [Generation; 2], current: Generation) -> ! {
    let foreign = if generations[0] != current {
        generations[0]
    } else {
        generations[1]
    };
    foreign_value(strategy, current, foreign)
}

/// Which of a recording's streams a new block is for.
#[derive(Clone, Copy)]
enum StreamKind {
    Headers,
    Partials,
}

/// Closes the current block of one stream and moves its cursor to the next: the stream's next
/// kept block if it has one, else a new block twice the size of the last. For the header
/// stream, checks that the positions a full block could take still fit in [`MAX_SLOTS`]. The
/// cold path of [`record`], taken once per block.
#[cold]
#[inline(never)]
fn next_block(which: StreamKind, strategy: &str) -> *mut u64 {
    RECORDINGS.with(|recordings| {
        CURSOR.with(|cursor| {
            let mut stack = recordings.borrow_mut();
            let stack = &mut *stack;
            let position = cursor.next_position();
            stack.current.close(cursor);
            let (stream, stream_cursor) = match which {
                StreamKind::Headers => (&mut stack.current.headers, &cursor.headers),
                StreamKind::Partials => (&mut stack.current.partials, &cursor.partials),
            };
            let block = stream.next_block(Block::new);
            if let StreamKind::Headers = which {
                if !positions_fit(position, block) {
                    panic!(
                        "{strategy}: more than {MAX_SLOTS} positions (inputs and operations) in \
                         one gradient"
                    );
                }
            }
            let (start, end) = stream.begin_next_block();
            stream_cursor.set((start, end));
            cursor.set_next_position(position);
            start
        })
    })
}

/// Appends a record — its `P` partials to the partial stream, its header to the header
/// stream — to the running gradient's recording after checking the operands' generations, and
/// returns the record's position and the gradient's generation. The hot path of the tape and
/// of `dualrev`: a thread-local read, two compares, one capacity check per stream written,
/// `P + 1` stores. `strategy` names the caller in the messages of misuse.
#[inline(always)]
pub(crate) fn record<const P: usize>(
    strategy: &'static str,
    generations: [Generation; 2],
    partials: [f64; P],
    header: u64,
) -> (u32, Generation) {
    // SAFETY: `CURSOR` is a constant-initialised thread-local without drop glue (cells of
    // integers and raw pointers), so it is never destroyed: it stays at its address as long as
    // its thread runs, and this reference lives only for this call, on this thread.
    let cursor = unsafe { &*running_cursor() };
    {
        let generation = cursor.generation.get();
        if generations[0] != generation || generations[1] != generation {
            foreign_operand(strategy, generations, generation);
        }
        if P > 0 {
            let mut next = cursor.partials.next.get();
            if (cursor.partials.end.get() as usize).wrapping_sub(next as usize) < P * 8 {
                next = next_block(StreamKind::Partials, strategy);
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
            next = next_block(StreamKind::Headers, strategy);
        }
        let slot = ((next as usize).wrapping_sub(cursor.slot_origin.get()) / 8) as u32;
        // SAFETY: `next` is below the end of the current header block, which belongs to the
        // running recording.
        unsafe {
            next.write(header);
            cursor.headers.next.set(next.add(1));
        }
        (slot, generation)
    }
}

/// The recording half of a scalar that lives in this arena — `tape`'s `TapeReal` and
/// `dualrev`'s `Dual`, each `(value, position, generation)` with `NO_POSITION` marking a
/// constant: `inactive`, `is_active`, and the `unary` and `binary` operations that
/// [`impl_real_from_partials`](crate::forward::impl_real_from_partials) builds every operation
/// from. A one-operand operation records a [`Kind::Shift`] or [`Kind::Negate`] record when its
/// partial is ±1 (nothing stored), else a [`Kind::Unary`] record with the partial; a
/// two-operand one an [`Kind::Add`] or [`Kind::Sub`] record when its partials are (1, ±1),
/// else a [`Kind::Binary`] record with both, and a one-operand record when one operand is a
/// constant. Expanded in each strategy's module (with its `STRATEGY` name for the messages of
/// misuse) rather than shared as functions: the shared functions measured 38% slower on
/// `deep-chain` (1.50 -> 2.08 ms per gradient under `tape`).
macro_rules! impl_recorded_scalar {
    ($ty:ident, $position:ident, $no_position:expr) => {
        impl $ty {
            /// A constant: no position, nothing recorded.
            fn inactive(value: f64) -> Self {
                Self {
                    value,
                    $position: $no_position,
                    generation: $crate::arena::NO_GENERATION,
                }
            }

            #[inline(always)]
            fn is_active(&self) -> bool {
                self.$position != $no_position
            }

            /// Appends a record ([`arena::record`](crate::arena::record)) and returns the
            /// value that refers to it.
            #[inline(always)]
            fn recorded<const P: usize>(
                generations: [$crate::arena::Generation; 2],
                partials: [f64; P],
                header: u64,
                value: f64,
            ) -> Self {
                let ($position, generation) =
                    $crate::arena::record(STRATEGY, generations, partials, header);
                Self {
                    value,
                    $position,
                    generation,
                }
            }

            /// A one-operand operation with partial `d`; a partial of ±1 is not stored.
            #[inline(always)]
            fn unary(&self, value: f64, d: f64) -> Self {
                use $crate::arena::{header, Kind};
                if !self.is_active() {
                    return Self::inactive(value);
                }
                let generations = [self.generation; 2];
                let x = self.$position;
                if d == 1.0 {
                    Self::recorded(generations, [], header(Kind::Shift, x, 0), value)
                } else if d == -1.0 {
                    Self::recorded(generations, [], header(Kind::Negate, x, 0), value)
                } else {
                    Self::recorded(generations, [d], header(Kind::Unary, x, 0), value)
                }
            }

            /// A two-operand operation; with one constant operand it records a one-operand
            /// record.
            #[inline(always)]
            fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
                use $crate::arena::{header, Kind};
                match (self.is_active(), other.is_active()) {
                    (true, true) => {
                        let generations = [self.generation, other.generation];
                        let (x, y) = (self.$position, other.$position);
                        if dx == 1.0 && dy == 1.0 {
                            Self::recorded(generations, [], header(Kind::Add, x, y), value)
                        } else if dx == 1.0 && dy == -1.0 {
                            Self::recorded(generations, [], header(Kind::Sub, x, y), value)
                        } else {
                            let h = header(Kind::Binary, x, y);
                            Self::recorded(generations, [dx, dy], h, value)
                        }
                    }
                    (true, false) => self.unary(value, dx),
                    (false, true) => other.unary(value, dy),
                    (false, false) => Self::inactive(value),
                }
            }
        }
    };
}
pub(crate) use impl_recorded_scalar;

/// This thread's cursor, as a pointer: taking it is a `LocalKey::with` small enough to be
/// inlined everywhere, where a `with` around the whole recording may be left out of line
/// (measured: 23% more instructions per gradient on `fneural` once both `tape` and `dualrev`
/// recorded through it).
#[inline(always)]
fn running_cursor() -> *const Cursor {
    CURSOR.with(|cursor| cursor as *const Cursor)
}

/// A recording pushed on this thread's stack; popped by [`ActiveRecording::finish`], or on drop
/// if the program panicked, so that a failed gradient never leaves its recording behind.
pub(crate) struct ActiveRecording {
    pub(crate) generation: Generation,
    finished: bool,
}

impl ActiveRecording {
    /// Suspends the running recording (if any) and starts a new one whose positions 0..`inputs`
    /// are the inputs.
    pub(crate) fn start(strategy: &str, inputs: usize) -> ActiveRecording {
        let inputs = u32::try_from(inputs)
            .ok()
            .filter(|&n| n < MAX_SLOTS)
            .unwrap_or_else(|| panic!("{strategy}: more than {MAX_SLOTS} inputs"));
        let generation = next_generation();
        RECORDINGS.with(|recordings| {
            CURSOR.with(|cursor| {
                let mut stack = recordings.borrow_mut();
                let (headers, partials) = stack.spare_streams.pop().unwrap_or_default();
                // A warm recording starts writing into its first kept block at once, instead
                // of taking it on the cold path. (The position limit is checked there, so a
                // header block that could take the positions past it is left to that path.)
                let fresh = Recording {
                    generation,
                    inputs,
                    next_slot: inputs,
                    headers: headers.reuse(|block| positions_fit(inputs, block)),
                    partials: partials.reuse(|_| true),
                };
                let mut outer = mem::replace(&mut stack.current, fresh);
                if outer.generation != NO_GENERATION {
                    outer.close(cursor);
                    stack.suspended.push(outer);
                }
                stack.current.resume(cursor);
            })
        });
        ActiveRecording {
            generation,
            finished: false,
        }
    }

    /// Pops this recording, resuming the one it suspended, and returns it.
    fn pop(&mut self) -> Recording {
        self.finished = true;
        RECORDINGS.with(|recordings| {
            CURSOR.with(|cursor| {
                let mut stack = recordings.borrow_mut();
                let outer = stack.suspended.pop().unwrap_or(Recording::IDLE);
                let mut mine = mem::replace(&mut stack.current, outer);
                mine.close(cursor);
                stack.current.resume(cursor);
                debug_assert_eq!(
                    mine.generation, self.generation,
                    "recordings pop in LIFO order"
                );
                mine
            })
        })
    }

    /// Ends the forward pass: the recording, for the reverse pass.
    pub(crate) fn finish(mut self) -> Recording {
        self.pop()
    }
}

impl Drop for ActiveRecording {
    fn drop(&mut self) {
        if !self.finished {
            let recording = self.pop();
            recycle(recording, Vec::new());
        }
    }
}

/// Takes the spare adjoint array, at least `len` entries long and all zero: its users reset
/// every entry they write before they give it back ([`recycle`]), so it needs no clearing.
pub(crate) fn take_adjoints(len: usize) -> Vec<f64> {
    let mut adjoints = SPARE_ADJOINTS.take();
    if adjoints.len() < len {
        adjoints.resize(len, 0.0);
    }
    adjoints
}

/// Keeps a finished gradient's streams, with their blocks, and its adjoint array (if it is
/// the largest kept; all zero again) for the next gradient.
pub(crate) fn recycle(recording: Recording, adjoints: Vec<f64>) {
    RECORDINGS.with(|recordings| {
        let mut stack = recordings.borrow_mut();
        stack
            .spare_streams
            .push((recording.headers, recording.partials));
    });
    if adjoints.capacity() > 0 {
        let kept = SPARE_ADJOINTS.take();
        SPARE_ADJOINTS.set(if kept.capacity() > adjoints.capacity() {
            kept
        } else {
            adjoints
        });
    }
}

/// Frees the blocks and the adjoint array this thread keeps for reuse between gradients (the
/// recordings of running gradients are untouched).
pub(crate) fn release_memory() {
    RECORDINGS.with(|recordings| {
        recordings.borrow_mut().spare_streams = Vec::new();
    });
    SPARE_ADJOINTS.set(Vec::new());
}
