//! `dualrev-par`: the task-parallel optimised dual-numbers reverse AD (Smeding & Vákár,
//! "Parallel Dual-Numbers Reverse AD", JFP 2025): rung 4 of the ladder extended to fork-join
//! programs, with a parallel forward pass *and* a parallel reverse pass.
//!
//! # Representation
//!
//! As in [`dualrev`](crate::dualrev) (the paper's optimised algorithm, Smeding & Vákár, POPL
//! 2023 and JFP 2025, Sect. 5), a scalar is a primal value and a reference to its **Contrib**
//! (the staged backpropagator that linear factoring introduced: its edges, operand ID and
//! partial derivative), and the Contribs are records in a per-gradient arena, written in ID
//! order when the ID is allocated, in the format `dualrev` and the tape share (`arena.rs`): an
//! 8-byte header with the operand IDs and a tag, and only the partials that are not ±1 (the
//! artifact's `C1`/`C2` constructors), headers and partials in two streams of never-moving
//! blocks. A value's reference to its Contrib is its ID, so the scalar is `Copy` and 24 bytes
//! — value, generation, ID — with no reference count and no pointer: it crosses threads and
//! copies for free. What the JFP paper's parallel extension adds, and this module with it:
//!
//! - **IDs are (job, index)** (one word: the job in the high 32 bits). A *job* is a stretch
//!   of sequential execution with its own ID counter and its own record streams. A gradient
//!   starts in the root job, whose first IDs `0..n` are the inputs. At a fork
//!   ([`ParReal::join`]) the running job ends; each branch runs as a new job; the code after
//!   the join continues in a third new job whose record says "forked from the parent, children
//!   a and b" (the last jobs of the two branches, which may themselves have forked). Forks
//!   nest, so each branch is a job graph of its own. Within a job, index order is a
//!   topological order; across jobs the job graph is.
//! - **Every job has its own generation**, drawn from the process-wide 64-bit counter
//!   `dualrev` and the tape draw theirs from (it cannot wrap), and a value carries its job's.
//!   So the check of `dualrev`'s hot path — the operands carry the running generation — is
//!   also the check that they are the running job's own values, whose indices a record can
//!   name: an operation does what `dualrev`'s does (one thread-local read, one compare per
//!   operand, the stores). Any other operand takes an out-of-line path, which looks the
//!   operand's job up in the gradient's table of job generations (written once per job before
//!   it starts, read without a lock): a value of another job of the gradient is *imported*, a
//!   value of no job of the gradient (one that outlived its gradient, was carried into a
//!   nested one, or reached a thread that runs no job of its gradient) panics before any
//!   record is written.
//! - **A record names its operands by index in its own job.** An import is a one-edge record
//!   in the running job whose header marks its operand as foreign and whose stored word is the
//!   operand's (job, index) ID. Each use of a foreign operand gets its own import, so the
//!   reverse pass applies exactly the edges `dualrev` would; imports are neither IDs nor
//!   Contribs of the paper's algorithm, and no counter but `atomic_adds` sees them. Sequential
//!   code is one job and never imports.
//! - **The running job's recording state travels with the task.** Its write positions in its
//!   two streams, its generation and its next ID are in a constant-initialised thread-local
//!   cursor (as `dualrev`'s), installed by the task that runs the job and restored to the
//!   previous job's when the task ends. A work-stealing scheduler runs a stolen task *inside*
//!   the frame of a thread that waits at a join, so installs and restores nest like the call
//!   stack and a stolen task never writes into the job it interrupted; while a thread waits at
//!   a join, no job is installed on it at all.
//! - **Blocks are never freed or reused while their gradient runs.** A job's blocks go to the
//!   gradient when the job ends — also when a panic unwinds it — and are reused only when the
//!   gradient has ended: the root job's streams stay, blocks in order, with its thread for the
//!   next gradient's root job (as the arena keeps `dualrev`'s, so a warm sequential gradient
//!   writes the same blocks), and every other job's blocks go to a process-wide pool, from
//!   which any thread's jobs take theirs.
//!
//! # The rule of `join`, and how it is enforced
//!
//! An active value may flow only from a job to the jobs that run after it in every schedule:
//! from a job to its branches and everything after them, and from a branch to the code after
//! its join — along the job graph, which is what [`ParReal::join`] documents. Two programs that
//! safe Rust can write break it, and both panic with a message that names the rule instead of
//! giving a wrong derivative:
//!
//! - **Values passed between parallel jobs** (the two branches of a join, or a branch and a
//!   branch of an enclosing join, through a mutex or a channel). The reverse pass resolves
//!   parallel jobs in either order, so such a contribution could arrive after its target was
//!   resolved (lost), or race with the target job's plain stores. After the forward pass every
//!   job is labelled with its place in two topological orders of the job graph (`JobOrder`:
//!   left branches first, and right branches first); job `a` runs before job `b` in every
//!   schedule exactly when `a` precedes `b` in both. Every import — the only way into another
//!   job's slots — checks this with two comparisons before it adds.
//! - **A caught panic.** A panic in a branch propagates out of `join` (after both branches
//!   ended), leaving the job graph incomplete. If the program catches it and goes on, the
//!   gradient is *poisoned*: every later operation on its active values, every `join` and the
//!   end of the forward pass panic ("a branch of this gradient panicked"). Its reverse pass
//!   never runs, so the records of a branch that handed a value out before it panicked are
//!   never read.
//!
//! # Algorithm
//!
//! Forward pass: run the program; every job, when it ends, files its record (where it started,
//! how many IDs and imports it allocated, its two streams). `join` runs its branches as two
//! rayon tasks when [`parallel_here`](crate::real::parallel_here) (inside a rayon pool of more
//! than one thread) and one after the other otherwise; the job structure, the IDs and every
//! counter are the same either way.
//!
//! Reverse pass: the paper's one mutable array indexed by ID (Smeding & Vákár, POPL 2023, the
//! step "using mutable arrays"; JFP 2025, Sect. 5), indexed by (job, index) — the jobs' slot
//! ranges laid end to end — and split, as `dualrev`'s, into `adjoints` (the accumulated
//! cotangents, `f64` bits) and `reached` (whether the slot's Contrib is staged). Seed the
//! outputs, then resolve the job graph backwards from the root chain's last job:
//!
//! 1. resolve the job's IDs from high to low: if `reached[i]`, apply its record's edges once
//!    (`adjoints[j] += partial * adjoints[i]`, `reached[j] = true`), as `dualrev`; an import
//!    adds its cotangent into its foreign operand's slot instead;
//! 2. if the job began at a join, resolve its two child job graphs — in parallel — and only
//!    when both are done continue with the parent job (a loop along a chain of joins, a
//!    recursion only into nested forks).
//!
//! Every user of a value runs after it in the job graph, so a slot's cotangent is complete
//! when its job is resolved. A job may import from any ancestor (not only its parent), and two
//! parallel jobs may import the same value: an import adds into another job's slot atomically
//! (a compare-and-swap loop on the `f64` bits) and sets its reached flag. Updates of the job's
//! own slots cannot race (every other user of them is already resolved) and are plain loads
//! and stores. Each slot is reset as it is read, so the two arrays are all zero and unreached
//! when a resolve ends and are kept for the next resolve — a Jacobian's next row or the
//! thread's next gradient — without clearing. The summation order of the atomic adds, and so
//! the last bits of a gradient, may vary between parallel runs.
//!
//! Cost: O(T + J + F) work for T operations, J jobs and F uses of a foreign operand, as
//! `dualrev`'s O(T) plus a constant per job and per import; the span of both passes follows
//! the program's own fork-join structure. Sequential code is one job, imports nothing and pays
//! no atomic operation.
//!
//! # Counters
//!
//! `ids_allocated`, `resolves`, `contribs_applied`, `edges_applied`, `collector_updates` and
//! `slots_swept` mean what they mean for [`dualrev`](crate::dualrev) (summed over jobs; imports
//! are not counted), and are equal to its counters on the same program run sequentially.
//! Further:
//!
//! - `jobs`: jobs of the job graph (1 for a program without `join`, 3 more per join);
//! - `atomic_adds`: edges applied into another job's slots (the applied imports);
//! - `atomic_retries`: compare-and-swap attempts that lost a race and were retried. The only
//!   counter that depends on the schedule: 0 on one thread, and it varies between parallel
//!   runs ([`DualrevPar::SCHEDULE_DEPENDENT_COUNTERS`]).

use std::cell::Cell;
use std::fmt;
use std::mem;
use std::ptr;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::Mutex;

use smallvec::SmallVec;

use crate::arena::{
    self, first_operand, header, next_generation, second_operand, Block, Generation, Kind, Stream,
    MAX_SLOTS, NO_GENERATION,
};
use crate::forward::impl_real_from_partials;
use crate::job_blocks;
use crate::program::{
    check_inputs, check_lengths, Derivatives, Outputs, ParProgram, ParStrategy, Probe, Program,
    Strategy,
};
use crate::real::{fork, partials, ParReal};

/// The task-parallel optimised algorithm (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct DualrevPar;

impl DualrevPar {
    /// The counters whose value depends on how the threads were scheduled; every other counter
    /// is the same for every thread count and every run.
    pub const SCHEDULE_DEPENDENT_COUNTERS: &'static [&'static str] = &["atomic_retries"];
}

/// A job's number: the first component of an ID.
type JobId = u32;

/// The job number of constants and of "no job installed".
const NO_JOB: JobId = JobId::MAX;

/// An ID, (job, index), packed in one word: the job in the high 32 bits, the index in the low
/// (below [`MAX_SLOTS`], so that the next index never carries into the job).
type Id = u64;

#[inline(always)]
const fn pack(job: JobId, index: u32) -> Id {
    (job as u64) << 32 | index as u64
}

#[inline(always)]
fn job_of(id: Id) -> JobId {
    (id >> 32) as JobId
}

#[inline(always)]
fn index_of(id: Id) -> u32 {
    id as u32
}

/// The first-operand field of an import's header: no index of a job (a record's operands lie
/// below its own index, which is below [`MAX_SLOTS`]), so it marks the operand as foreign.
const FOREIGN: usize = (MAX_SLOTS - 1) as usize;

/// Which of a job's streams a new block is for.
#[derive(Clone, Copy)]
enum StreamKind {
    Headers,
    Partials,
}

/// The recording state of the job installed on this thread, on the hot path of every
/// operation: the write positions in its two streams, its generation, its next ID (its number
/// and the index of its next record), and its [`JobState`]. Plain cells in a constant-initialised
/// thread-local, so an operation reads it without a lazy-initialisation check or a borrow.
struct Cursor {
    headers_next: Cell<*mut u64>,
    headers_end: Cell<*mut u64>,
    partials_next: Cell<*mut u64>,
    partials_end: Cell<*mut u64>,
    /// The installed job's generation; [`NO_GENERATION`] when no job is installed or its
    /// gradient is poisoned, so that every operation on an active value takes the path that
    /// reports it.
    generation: Cell<Generation>,
    /// The installed job's next ID (its number and the index of its next record).
    next_id: Cell<Id>,
    /// The installed job's state; null when none.
    running: Cell<*mut JobState>,
}

/// A copy of a [`Cursor`], kept by [`Installed`] while another job (or none) is installed.
#[derive(Clone, Copy)]
struct Position {
    headers: (*mut u64, *mut u64),
    partials: (*mut u64, *mut u64),
    generation: Generation,
    next_id: Id,
    running: *mut JobState,
}

impl Position {
    /// No job installed.
    const IDLE: Position = Position {
        headers: (ptr::null_mut(), ptr::null_mut()),
        partials: (ptr::null_mut(), ptr::null_mut()),
        generation: NO_GENERATION,
        next_id: pack(NO_JOB, 0),
        running: ptr::null_mut(),
    };
}

impl Cursor {
    fn save(&self) -> Position {
        Position {
            headers: (self.headers_next.get(), self.headers_end.get()),
            partials: (self.partials_next.get(), self.partials_end.get()),
            generation: self.generation.get(),
            next_id: self.next_id.get(),
            running: self.running.get(),
        }
    }

    fn restore(&self, p: Position) {
        self.headers_next.set(p.headers.0);
        self.headers_end.set(p.headers.1);
        self.partials_next.set(p.partials.0);
        self.partials_end.set(p.partials.1);
        self.generation.set(p.generation);
        self.next_id.set(p.next_id);
        self.running.set(p.running);
    }

    /// Points the cursor at the end of `state`'s streams, to record into its job.
    fn load(&self, state: *mut JobState) {
        // SAFETY: `state` is the live state of a job that the calling task runs (see
        // `Installed`), and no other reference to it is in use during this call.
        let s = unsafe { &*state };
        self.restore(Position {
            headers: s.headers.resume(),
            partials: s.partials.resume(),
            generation: s.generation,
            next_id: pack(s.job, s.next_index),
            running: state,
        });
    }

    /// Saves the cursor's positions into the installed job's state (if any).
    fn close(&self) {
        let state = self.running.get();
        if state.is_null() {
            return;
        }
        // SAFETY: the installed job's live state (see `Installed`); no other reference to it
        // is in use during this call.
        let s = unsafe { &mut *state };
        s.headers.close(self.headers_next.get());
        s.partials.close(self.partials_next.get());
        s.next_index = index_of(self.next_id.get());
    }
}

thread_local! {
    static CURSOR: Cursor = const {
        Cursor {
            headers_next: Cell::new(ptr::null_mut()),
            headers_end: Cell::new(ptr::null_mut()),
            partials_next: Cell::new(ptr::null_mut()),
            partials_end: Cell::new(ptr::null_mut()),
            generation: Cell::new(NO_GENERATION),
            next_id: Cell::new(pack(NO_JOB, 0)),
            running: Cell::new(ptr::null_mut()),
        }
    };
    /// The collector of the last reverse pass on this thread, all zero and unreached, kept for
    /// the next one (a nested gradient finds it taken and allocates its own).
    static SPARE_COLLECTOR: Cell<Collector> = Cell::new(Collector::default());
    /// The lifted-input vector and the (empty) job list of the last gradient on this thread.
    static SPARE_INPUTS: Cell<Vec<ParDual>> = const { Cell::new(Vec::new()) };
    static SPARE_JOBS: Cell<Vec<JobRecord>> = const { Cell::new(Vec::new()) };
    /// The streams of the last root job finished on this thread, with their blocks, kept for
    /// the next root job (a nested gradient's root finds them taken and uses the pool).
    static SPARE_STREAMS: Cell<(Stream, Stream)> = Cell::new(Default::default());
    /// The job orders of the last forward pass on this thread and the stack of the walk that
    /// labels them, empty, kept for the next one.
    static SPARE_ORDER: Cell<Vec<JobOrder>> = const { Cell::new(Vec::new()) };
    static SPARE_VISITS: Cell<Vec<Visit>> = const { Cell::new(Vec::new()) };
}

/// This thread's cursor, as a pointer (as `arena.rs` takes its own: a `LocalKey::with` small
/// enough to be inlined into every operation).
#[inline(always)]
fn running_cursor() -> *const Cursor {
    CURSOR.with(|cursor| cursor as *const Cursor)
}

/// This thread's cursor.
#[inline(always)]
fn cursor() -> &'static Cursor {
    // SAFETY: `CURSOR` is a constant-initialised thread-local without drop glue (cells of
    // integers and raw pointers), so it is never destroyed: it stays at its address as long as
    // its thread runs, and the reference never leaves this thread (`Cursor` is not `Sync`).
    unsafe { &*running_cursor() }
}

/// Closes the installed job's current block of one stream and moves the cursor to a new one
/// (of the size the stream grows to, from this thread's [`job_blocks`] cache). For the header stream,
/// checks that the indices a full block could take still fit in [`MAX_SLOTS`]. The cold path
/// of [`write_record`], taken once per block.
#[cold]
#[inline(never)]
fn next_block(cursor: &Cursor, which: StreamKind) -> *mut u64 {
    let state = cursor.running.get();
    assert!(!state.is_null(), "dualrev-par: a record needs a job");
    // SAFETY: the installed job's live state (see `Installed`); no other reference to it is
    // in use during this call.
    let state = unsafe { &mut *state };
    let (stream, next, end) = match which {
        StreamKind::Headers => (
            &mut state.headers,
            &cursor.headers_next,
            &cursor.headers_end,
        ),
        StreamKind::Partials => (
            &mut state.partials,
            &cursor.partials_next,
            &cursor.partials_end,
        ),
    };
    stream.close(next.get());
    let block = stream.next_block(job_blocks::take);
    if let StreamKind::Headers = which {
        if !arena::positions_fit(index_of(cursor.next_id.get()), block) {
            panic!(
                "dualrev-par: more than {MAX_SLOTS} indices (inputs, operations and imports) in \
                 one job"
            );
        }
    }
    let (start, block_end) = stream.begin_next_block();
    next.set(start);
    end.set(block_end);
    start
}

/// Appends a record — its `P` stored words to the partial stream, its header to the header
/// stream — to the installed job and returns its ID. The caller has checked that a job is
/// installed (the cursor's generation is a job's) and that the header's operands are indices
/// of that job below the next one (or, for an import, [`FOREIGN`]).
#[inline(always)]
fn write_record<const P: usize>(cursor: &Cursor, words: [u64; P], header: u64) -> Id {
    if P > 0 {
        let mut next = cursor.partials_next.get();
        if (cursor.partials_end.get() as usize).wrapping_sub(next as usize) < P * 8 {
            next = next_block(cursor, StreamKind::Partials);
        }
        // SAFETY: [next, next + P) lies in the current partial block: the check above (or
        // `next_block`, whose blocks hold far more than P words) guarantees the room, and the
        // block belongs to the installed job until it ends.
        unsafe {
            for (k, w) in words.iter().enumerate() {
                next.add(k).write(*w);
            }
            cursor.partials_next.set(next.add(P));
        }
    }
    let mut next = cursor.headers_next.get();
    if cursor.headers_end.get() == next {
        next = next_block(cursor, StreamKind::Headers);
    }
    // SAFETY: `next` is below the end of the current header block, which belongs to the
    // installed job.
    unsafe {
        next.write(header);
        cursor.headers_next.set(next.add(1));
    }
    let id = cursor.next_id.get();
    cursor.next_id.set(id + 1);
    id
}

/// Where a job began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobStart {
    /// The gradient's first job (the inputs are its first IDs).
    Root,
    /// The first job of a branch of a fork: resolving it ends its branch's resolution.
    Branch,
    /// The continuation after a join: forked from `parent`, whose branches ended in the jobs
    /// `left` and `right`.
    Join {
        parent: JobId,
        left: JobId,
        right: JobId,
    },
}

/// A finished job, as the reverse pass needs it: its records, one header per index but the
/// root job's first n (the inputs, which have none).
struct JobRecord {
    job: JobId,
    start: JobStart,
    /// Indices allocated: inputs, records and imports.
    ids: u32,
    /// Of which imports.
    imports: u32,
    /// Its records. Behind a lock only so that the thread that resolves the job last can give
    /// the blocks to its own cache ([`job_blocks`]); no two threads ever contend for it.
    records: Mutex<JobStreams>,
}

/// A job's two streams of records.
#[derive(Default)]
struct JobStreams {
    headers: Stream,
    partials: Stream,
}

impl JobStreams {
    /// Every block of both streams, leaving them empty.
    fn take_blocks(&mut self) -> impl Iterator<Item = Block> {
        let headers = self.headers.take_blocks();
        headers.into_iter().chain(self.partials.take_blocks())
    }
}

impl JobRecord {
    /// The job's streams, for the one thread that reads them.
    fn records(&self) -> std::sync::MutexGuard<'_, JobStreams> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The records the reverse pass visits: one per index but the root job's inputs.
    fn visited(&self, inputs: u32) -> u64 {
        u64::from(self.ids) - if self.job == 0 { u64::from(inputs) } else { 0 }
    }
}

/// The generations of a gradient's jobs after the root, by job number, readable by every job
/// without a lock: segment k holds the jobs 2^k to 2^(k+1) - 1 and is allocated by the first of
/// them created. An entry is written once, before its job starts; a job not created yet reads
/// as [`NO_GENERATION`].
struct JobGenerations {
    segments: [AtomicPtr<AtomicU64>; 32],
    /// Bit k is set once segment k is allocated.
    allocated: AtomicU32,
}

impl JobGenerations {
    fn new() -> JobGenerations {
        JobGenerations {
            segments: [const { AtomicPtr::new(ptr::null_mut()) }; 32],
            allocated: AtomicU32::new(0),
        }
    }

    /// The segment of job `job` (at least 1) and its entry in it.
    fn place(job: JobId) -> (usize, usize) {
        let k = (JobId::BITS - 1 - job.leading_zeros()) as usize;
        (k, (job - (1 << k)) as usize)
    }

    fn set(&self, job: JobId, generation: Generation) {
        let (k, entry) = JobGenerations::place(job);
        let mut segment = self.segments[k].load(Acquire);
        if segment.is_null() {
            let fresh: Box<[AtomicU64]> = (0..1usize << k).map(|_| AtomicU64::default()).collect();
            let fresh = Box::into_raw(fresh).cast::<AtomicU64>();
            segment =
                match self.segments[k].compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
                    Ok(_) => {
                        self.allocated.fetch_or(1 << k, Relaxed);
                        fresh
                    }
                    Err(current) => {
                        let fresh = ptr::slice_from_raw_parts_mut(fresh, 1 << k);
                        // SAFETY: `fresh` came from `Box::into_raw` above and was not published.
                        drop(unsafe { Box::from_raw(fresh) });
                        current
                    }
                };
        }
        // SAFETY: a non-null segment k is an allocation of 2^k entries (published by the
        // exchange above), freed only when the gradient is dropped; `entry < 2^k`.
        unsafe { &*segment.add(entry) }.store(generation, Release);
    }

    fn get(&self, job: JobId) -> Generation {
        let (k, entry) = JobGenerations::place(job);
        let segment = self.segments[k].load(Acquire);
        if segment.is_null() {
            return NO_GENERATION;
        }
        // SAFETY: as in `set`.
        unsafe { &*segment.add(entry) }.load(Acquire)
    }
}

impl Drop for JobGenerations {
    fn drop(&mut self) {
        let mut allocated = *self.allocated.get_mut();
        while allocated != 0 {
            let k = allocated.trailing_zeros() as usize;
            allocated &= allocated - 1;
            let segment = ptr::slice_from_raw_parts_mut(*self.segments[k].get_mut(), 1 << k);
            // SAFETY: segment k is marked allocated only after `set` published it, a
            // `Box::into_raw` of 2^k entries, and it is freed once, here.
            drop(unsafe { Box::from_raw(segment) });
        }
    }
}

/// What the jobs of one gradient share: the jobs' generations, the job counter, the finished
/// jobs, and whether a job of the gradient panicked.
struct Gradient {
    /// The root job's generation, drawn first: the gradient's number in messages.
    root: Generation,
    /// The other jobs' generations.
    generations: JobGenerations,
    next_job: AtomicU32,
    finished: Mutex<Vec<JobRecord>>,
    /// Set when a panic unwinds out of a job or through a `join`: the job graph is then
    /// incomplete (a job ended half way, a continuation never began), so the gradient must not
    /// go on — every later operation, `join` and the end of the forward pass panic.
    poisoned: AtomicBool,
}

impl Gradient {
    /// A gradient whose root job, number 0, has the generation `root`.
    fn new() -> Gradient {
        Gradient {
            root: next_generation(),
            generations: JobGenerations::new(),
            next_job: AtomicU32::new(1),
            finished: Mutex::new(SPARE_JOBS.take()),
            poisoned: AtomicBool::new(false),
        }
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Relaxed)
    }

    /// A new job: its number and generation.
    fn new_job(&self) -> (JobId, Generation) {
        let job = self.next_job.fetch_add(1, Relaxed);
        if job == NO_JOB {
            too_many("jobs");
        }
        let generation = next_generation();
        self.generations.set(job, generation);
        (job, generation)
    }

    /// The generation of job `job`, [`NO_GENERATION`] if the gradient has no such job (yet).
    fn generation_of(&self, job: JobId) -> Generation {
        if job == 0 {
            self.root
        } else {
            self.generations.get(job)
        }
    }

    fn file(&self, record: JobRecord) {
        self.finished
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(record);
    }
}

/// A reference to the [`Gradient`] of the running call, carried by the tasks of its jobs.
#[derive(Clone, Copy)]
struct GradientRef(*const Gradient);

impl GradientRef {
    fn get(&self) -> &Gradient {
        // SAFETY: a `GradientRef` is made in `forward_pass` from its local `Gradient`, and
        // only the jobs of that call hold it; every job ends (its state is dropped, normally
        // or by unwinding) before `forward_pass` drops the gradient.
        unsafe { &*self.0 }
    }
}

// SAFETY: a `Gradient` is `Sync` (atomics and a mutex); the reference is only used by the
// jobs of the gradient call that owns it, all of which end before that call returns.
unsafe impl Send for GradientRef {}
// SAFETY: as above.
unsafe impl Sync for GradientRef {}

/// The state of a job, owned by the frame of the task that runs it; while the job is
/// installed ([`Installed`]) its write positions and next index live in the thread's
/// [`Cursor`] instead, and are saved back when it is uninstalled.
struct JobState {
    /// The job's generation, which the values it creates carry; [`NO_GENERATION`] once the
    /// gradient is poisoned, so that every later operation takes the path that reports it.
    generation: Generation,
    job: JobId,
    next_index: u32,
    imports: u32,
    start: JobStart,
    headers: Stream,
    partials: Stream,
    gradient: GradientRef,
    /// Whether the job's record has been filed (a state that `join` turns into the
    /// continuation job is unfinished again).
    finished: bool,
}

impl JobState {
    fn new(
        gradient: GradientRef,
        (job, generation): (JobId, Generation),
        start: JobStart,
        first_index: u32,
    ) -> JobState {
        JobState {
            generation,
            job,
            next_index: first_index,
            imports: 0,
            start,
            headers: Stream::default(),
            partials: Stream::default(),
            gradient,
            finished: false,
        }
    }

    /// End the job (not installed, or closed): file its record with the gradient and return
    /// its number.
    fn finish(&mut self) -> JobId {
        let record = self.record();
        self.gradient.get().file(record);
        self.job
    }

    /// End the job (not installed, or closed): its record.
    fn record(&mut self) -> JobRecord {
        self.finished = true;
        JobRecord {
            job: self.job,
            start: self.start,
            ids: self.next_index,
            imports: self.imports,
            records: Mutex::new(JobStreams {
                headers: mem::take(&mut self.headers),
                partials: mem::take(&mut self.partials),
            }),
        }
    }

    /// Mark the gradient poisoned, and this job unable to record anything more.
    fn poison(&mut self) {
        self.gradient.get().poisoned.store(true, Relaxed);
        self.generation = NO_GENERATION;
        let cursor = cursor();
        if ptr::eq(cursor.running.get(), self) {
            cursor.generation.set(NO_GENERATION);
        }
    }
}

impl Drop for JobState {
    /// A job that ends without [`JobState::finish`] is one a panic unwound: values it handed
    /// out before it panicked may name its records, so its blocks are filed with the gradient
    /// (returned to the pool only when the gradient ends), and the gradient is poisoned.
    fn drop(&mut self) {
        if !self.finished {
            self.finish();
            self.poison();
        }
    }
}

/// Installs a job (or none) on this thread — its positions in the thread's cursor — and, when
/// dropped (also on unwinding), saves the installed job's positions back into its state and
/// restores the cursor as it was.
struct Installed {
    previous: Position,
}

impl Installed {
    /// Installs the job of `state`, which must stay alive and otherwise unused until the
    /// guard is dropped.
    fn job(state: *mut JobState) -> Installed {
        let cursor = cursor();
        let previous = cursor.save();
        cursor.load(state);
        Installed { previous }
    }

    /// Installs no job (while this thread waits at a join).
    fn none() -> Installed {
        let cursor = cursor();
        let previous = cursor.save();
        cursor.restore(Position::IDLE);
        Installed { previous }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let cursor = cursor();
        cursor.close();
        cursor.restore(self.previous);
    }
}

#[cold]
#[inline(never)]
fn too_many(what: &str) -> ! {
    panic!("dualrev-par: a gradient used more than 2^32 - 1 {what}");
}

/// Panics because a branch of the running gradient panicked (and the panic was caught).
#[cold]
#[inline(never)]
fn branch_panicked() -> ! {
    panic!(
        "dualrev-par: a branch of this gradient panicked, and the program caught the panic and \
         went on computing; the gradient cannot continue (its job graph is incomplete): let the \
         panic of a `ParReal::join` branch end the gradient"
    )
}

/// Panics because an operation met an active value of the job of generation
/// `value_generation`, which is no job of the gradient `running` (numbered by its root job's
/// generation; `None`: no job runs on this thread).
#[cold]
#[inline(never)]
fn foreign_value(value_generation: Generation, running: Option<Generation>) -> ! {
    match running {
        None => panic!(
            "active value used outside the gradient call that created it (it belongs to the \
             job of generation #{value_generation}, and no job of a dualrev-par gradient runs \
             on this thread): active values must not outlive their `vjp` call, and fork-join \
             programs must fork with `ParReal::join`, not with threads or rayon directly"
        ),
        Some(running) => panic!(
            "active value used outside the gradient call that created it (it belongs to the \
             job of generation #{value_generation}, which is no job of the running gradient \
             #{running}): active values must not outlive their `vjp` call nor be carried into \
             a nested one"
        ),
    }
}

/// The active scalar of `dualrev-par`: a value and its (job, index) ID, tagged with the
/// generation of the job that created it (process-unique: every job of every gradient draws
/// its own). Plain data: it crosses threads and copies for free.
#[derive(Clone, Copy)]
pub struct ParDual {
    value: f64,
    generation: Generation,
    id: Id,
}

const _: () = assert!(mem::size_of::<ParDual>() == 24);

impl ParDual {
    #[inline(always)]
    fn inactive(value: f64) -> ParDual {
        ParDual {
            value,
            generation: NO_GENERATION,
            id: pack(NO_JOB, 0),
        }
    }

    #[inline(always)]
    fn is_active(&self) -> bool {
        self.generation != NO_GENERATION
    }

    #[inline(always)]
    fn operand(&self) -> Operand {
        Operand {
            generation: self.generation,
            id: self.id,
        }
    }

    /// A one-operand operation with partial `d`; a partial of ±1 is not stored.
    #[inline(always)]
    fn unary(&self, value: f64, d: f64) -> ParDual {
        if !self.is_active() {
            return ParDual::inactive(value);
        }
        if d == 1.0 {
            record(Kind::Shift, self, self, [], value)
        } else if d == -1.0 {
            record(Kind::Negate, self, self, [], value)
        } else {
            record(Kind::Unary, self, self, [d], value)
        }
    }

    /// A two-operand operation; with one constant operand its Contrib has one edge.
    #[inline(always)]
    fn binary(&self, other: &ParDual, value: f64, dx: f64, dy: f64) -> ParDual {
        match (self.is_active(), other.is_active()) {
            (true, true) => {
                if dx == 1.0 && dy == 1.0 {
                    record(Kind::Add, self, other, [], value)
                } else if dx == 1.0 && dy == -1.0 {
                    record(Kind::Sub, self, other, [], value)
                } else {
                    record(Kind::Binary, self, other, [dx, dy], value)
                }
            }
            (true, false) => self.unary(value, dx),
            (false, true) => other.unary(value, dy),
            (false, false) => ParDual::inactive(value),
        }
    }
}

/// A value's generation and ID, as [`record_across_jobs`] takes them (16 bytes: passed in
/// registers, where a whole [`ParDual`] would be passed through memory).
#[derive(Clone, Copy)]
struct Operand {
    generation: Generation,
    id: Id,
}

/// Records an operation of `kind` on `a` (and `b`, for a two-operand kind; `a` again
/// otherwise) with its stored partials in the installed job, and returns its value. The hot
/// path of every operation, `dualrev`'s: both operands carry the installed job's generation,
/// which no other job of the process has, so they were allocated earlier in this job and
/// their indices are its own; any other case goes to [`record_across_jobs`].
#[inline(always)]
fn record<const P: usize>(
    kind: Kind,
    a: &ParDual,
    b: &ParDual,
    partials: [f64; P],
    value: f64,
) -> ParDual {
    let cursor = cursor();
    let generation = cursor.generation.get();
    let id = if a.generation != generation || b.generation != generation {
        let mut stored = [0.0; 2];
        stored[..P].copy_from_slice(&partials);
        record_across_jobs(kind, a.operand(), b.operand(), stored)
    } else {
        let second = if kind.edges() == 2 { index_of(b.id) } else { 0 };
        write_record(
            cursor,
            partials.map(f64::to_bits),
            header(kind, index_of(a.id), second),
        )
    };
    ParDual {
        value,
        generation,
        id,
    }
}

/// [`record`] when an operand is not of the installed job: imports the operands of other jobs
/// of the gradient and records the operation (returning its ID), or panics naming the misuse
/// (no job here, a value of another gradient, a poisoned gradient). When it returns, the
/// cursor's generation is that of the operation's value.
#[cold]
#[inline(never)]
fn record_across_jobs(kind: Kind, a: Operand, b: Operand, partials: [f64; 2]) -> Id {
    let cursor = cursor();
    let operands: &[Operand] = if kind.edges() == 2 { &[a, b] } else { &[a] };
    let state = cursor.running.get();
    if state.is_null() {
        foreign_value(a.generation, None);
    }
    // SAFETY: the installed job's live state (see `Installed`); the reference ends before the
    // records below are written.
    let gradient = unsafe { (*state).gradient };
    let gradient = gradient.get();
    if gradient.is_poisoned() {
        branch_panicked();
    }
    let running = cursor.generation.get();
    if let Some(o) = operands
        .iter()
        .find(|o| o.generation != running && gradient.generation_of(job_of(o.id)) != o.generation)
    {
        foreign_value(o.generation, Some(gradient.root));
    }
    // Every operand is a value of this job or of another job of this gradient (its
    // generation is that job's); those of other jobs are imported, one import per use.
    let mut local = [0u32; 2];
    for (slot, o) in local.iter_mut().zip(operands) {
        *slot = if o.generation == running {
            index_of(o.id)
        } else {
            // SAFETY: as above; the reference is a statement long.
            unsafe { (*state).imports += 1 };
            let import = header(Kind::Unary, FOREIGN as u32, 0);
            index_of(write_record(cursor, [o.id], import))
        };
    }
    let h = header(
        kind,
        local[0],
        if operands.len() == 2 { local[1] } else { 0 },
    );
    match kind.stored_partials() {
        0 => write_record(cursor, [], h),
        1 => write_record(cursor, [partials[0].to_bits()], h),
        _ => write_record(cursor, partials.map(f64::to_bits), h),
    }
}

impl fmt::Debug for ParDual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ParDual");
        s.field("value", &self.value);
        if self.is_active() {
            s.field("job", &job_of(self.id))
                .field("index", &index_of(self.id))
                .field("generation", &self.generation);
        }
        s.finish()
    }
}

impl_real_from_partials!(ParDual);

/// Run `branch` as the first job `job` of a fork's branch; returns its result and the
/// branch's last job (the branch may fork in turn).
fn run_branch<R>(
    gradient: GradientRef,
    job: (JobId, Generation),
    branch: impl FnOnce() -> R,
) -> (R, JobId) {
    // Declared before `installed`, so dropped after it: a panicking branch uninstalls its
    // state (saving its positions) before the state files its blocks and poisons the gradient.
    let mut state = JobState::new(gradient, job, JobStart::Branch, 0);
    let installed = Installed::job(&mut state);
    let result = branch();
    drop(installed);
    (result, state.finish())
}

/// Poisons the running job's gradient if a panic unwinds through a `join` (out of a branch),
/// so that a program that catches the panic cannot continue the gradient.
struct PoisonOnUnwind(*mut JobState);

impl Drop for PoisonOnUnwind {
    fn drop(&mut self) {
        // SAFETY: the state of the job that called `join`, alive until its task ends (the
        // task is still in `join`'s frame); no branch uses it (they run their own states).
        unsafe { (*self.0).poison() };
    }
}

impl ParReal for ParDual {
    /// Ends the running job, runs `a` and `b` as new jobs (in parallel when
    /// [`parallel_here`](crate::real::parallel_here)) and continues in a new job that records
    /// the fork. If a branch panics, the panic goes on to the caller and the gradient is
    /// poisoned: a program that catches it can no longer compute with its active values.
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let cursor = cursor();
        let running = cursor.running.get();
        if running.is_null() {
            // No gradient here: only constants exist, there are no jobs to record.
            return fork(a, b);
        }
        // The running job ends: its positions go back into its state, which files them.
        cursor.close();
        // SAFETY: the running job's state, installed by the task that runs this code and
        // used by nothing else while this task runs.
        let state = unsafe { &mut *running };
        let gradient = state.gradient;
        if gradient.get().is_poisoned() {
            branch_panicked();
        }
        let parent = state.finish();
        let (left, right) = (gradient.get().new_job(), gradient.get().new_job());
        let poison_on_unwind = PoisonOnUnwind(running);
        let ((ra, left_last), (rb, right_last)) = {
            // While this thread waits for the branches, no job runs on it.
            let _waiting = Installed::none();
            fork(
                move || run_branch(gradient, left, a),
                move || run_branch(gradient, right, b),
            )
        };
        mem::forget(poison_on_unwind);
        // SAFETY: as above; the branches have restored this thread's cursor, and the `&mut`
        // above is no longer used.
        let state = unsafe { &mut *running };
        (state.job, state.generation) = gradient.get().new_job();
        state.next_index = 0;
        state.imports = 0;
        state.start = JobStart::Join {
            parent,
            left: left_last,
            right: right_last,
        };
        state.finished = false;
        cursor.load(running);
        (ra, rb)
    }
}

/// An output to start the reverse pass from.
struct Seed {
    output: usize,
    id: Id,
    cotangent: f64,
}

/// The finished forward pass: the job graph, the seeds and the end of the root chain.
struct Recorded {
    /// The jobs, indexed by job number.
    jobs: Vec<JobRecord>,
    seeds: SmallVec<[Seed; 4]>,
    /// The last job of the root chain, where the reverse pass starts.
    last: JobId,
}

impl Drop for Recorded {
    /// Keeps the root job's streams, with their blocks in order, for the next root job of this
    /// thread (if none are kept yet), gives the blocks that the reverse pass did not give back
    /// (all of them when it did not run or panicked) to this thread's cache, and keeps the job
    /// list.
    fn drop(&mut self) {
        let mut jobs = mem::take(&mut self.jobs);
        let kept = SPARE_STREAMS.take();
        let mut cached = 0;
        match jobs.first_mut() {
            Some(root) if kept.0.is_empty() && kept.1.is_empty() => {
                let root = root.records.get_mut().unwrap_or_else(|p| p.into_inner());
                SPARE_STREAMS.set((mem::take(&mut root.headers), mem::take(&mut root.partials)));
                cached = 1;
            }
            _ => SPARE_STREAMS.set(kept),
        }
        for job in jobs.iter_mut().skip(cached) {
            let records = job.records.get_mut().unwrap_or_else(|p| p.into_inner());
            job_blocks::give(records.take_blocks());
        }
        jobs.clear();
        SPARE_JOBS.set(jobs);
    }
}

/// Lift `x` to the root job's IDs `0..n`, run `eval` and gather the job graph; every active
/// output is seeded with its cotangent in `cotangent` (all ones for a Jacobian).
fn forward_pass<F>(x: &[f64], cotangent: &[f64], eval: F, value: &mut Vec<f64>) -> Recorded
where
    F: FnOnce(&[ParDual]) -> Outputs<ParDual>,
{
    let m = cotangent.len();
    let n = u32::try_from(x.len())
        .ok()
        .filter(|&n| n < MAX_SLOTS)
        .unwrap_or_else(|| panic!("dualrev-par: more than {MAX_SLOTS} inputs"));
    let gradient = Gradient::new();
    let handle = GradientRef(&gradient);
    let root = (0, gradient.root);
    let mut state = JobState::new(handle, root, JobStart::Root, n);
    // A warm root job writes into its first kept blocks at once, instead of taking them on the
    // cold path (which checks the index limit, so a header block that could take the indices
    // past it is left to that path).
    let (headers, partials) = SPARE_STREAMS.take();
    state.headers = headers.reuse(|b| arena::positions_fit(n, b));
    state.partials = partials.reuse(|_| true);
    let mut inputs = SPARE_INPUTS.take();
    inputs.clear();
    inputs.extend(x.iter().zip(0..).map(|(&value, index)| ParDual {
        value,
        generation: gradient.root,
        id: pack(0, index),
    }));
    let outputs = {
        let _installed = Installed::job(&mut state);
        eval(&inputs)
    };
    SPARE_INPUTS.set(inputs);
    if gradient.is_poisoned() {
        branch_panicked();
    }
    if let Some(o) = outputs
        .iter()
        .find(|o| o.is_active() && gradient.generation_of(job_of(o.id)) != o.generation)
    {
        foreign_value(o.generation, Some(gradient.root));
    }
    if outputs.len() != m {
        panic!(
            "the program returned {} outputs but declares {m}",
            outputs.len()
        );
    }
    let root_chain_end = state.record();
    let last = root_chain_end.job;
    drop(state);
    let mut jobs = gradient
        .finished
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    jobs.push(root_chain_end);
    jobs.sort_unstable_by_key(|record| record.job);
    assert!(
        jobs.iter().enumerate().all(|(i, r)| r.job as usize == i),
        "dualrev-par: every job of the gradient filed exactly one record"
    );
    value.clear();
    let mut seeds = SmallVec::new();
    for (output, (o, &w)) in outputs.into_iter().zip(cotangent).enumerate() {
        value.push(o.value);
        if o.is_active() {
            seeds.push(Seed {
                output,
                id: o.id,
                cotangent: w,
            });
        }
    }
    Recorded { jobs, seeds, last }
}
/// A job's places in two topological orders of the job graph: `english` visits the left
/// branch of every fork before the right one, `hebrew` the right before the left. In a
/// series-parallel graph such as a fork-join program's, job `a` runs before job `b` (every
/// path of the graph orders them) exactly when `a` precedes `b` in both orders, and the two
/// run in parallel when the orders disagree (Nudler & Rudolph's labelling, as used by
/// determinacy-race detectors). Two comparisons decide whether a value may flow from one job
/// to another.
#[derive(Clone, Copy, Default)]
struct JobOrder {
    english: u32,
    hebrew: u32,
}

impl JobOrder {
    /// Both orders of the job graph whose root chain ends in `last`, indexed by job; empty for
    /// a graph of one job, where no edge crosses jobs. Reuses this thread's spare buffers.
    #[inline]
    fn of(jobs: &[JobRecord], last: JobId) -> Vec<JobOrder> {
        if jobs.len() == 1 {
            return Vec::new();
        }
        JobOrder::of_forks(jobs, last)
    }

    /// [`JobOrder::of`] for a graph with forks, out of line.
    #[inline(never)]
    fn of_forks(jobs: &[JobRecord], last: JobId) -> Vec<JobOrder> {
        let mut order = SPARE_ORDER.take();
        let mut stack = SPARE_VISITS.take();
        order.resize(jobs.len(), JobOrder::default());
        visit_in_order(jobs, last, true, &mut stack, |job, place| {
            order[job as usize].english = place
        });
        visit_in_order(jobs, last, false, &mut stack, |job, place| {
            order[job as usize].hebrew = place
        });
        SPARE_VISITS.set(stack);
        order
    }

    /// Whether job `self` runs before job `other` in every schedule.
    #[inline]
    fn runs_before(self, other: JobOrder) -> bool {
        self.english < other.english && self.hebrew < other.hebrew
    }
}

/// A step of [`visit_in_order`]'s walk.
enum Visit {
    /// The chain of jobs that ends in this one: its jobs and forks in order.
    Chain(JobId),
    /// This job alone.
    Job(JobId),
}

/// Calls `label(job, place)` for every job of the graph whose root chain ends in `last`, in a
/// topological order that visits each fork's left branch first if `left_first`, its right
/// branch first otherwise. Iterative: nesting and chains may be deep.
fn visit_in_order(
    jobs: &[JobRecord],
    last: JobId,
    left_first: bool,
    stack: &mut Vec<Visit>,
    mut label: impl FnMut(JobId, u32),
) {
    stack.clear();
    stack.push(Visit::Chain(last));
    let mut place = 0u32;
    while let Some(visit) = stack.pop() {
        match visit {
            Visit::Job(job) => {
                label(job, place);
                place += 1;
            }
            Visit::Chain(mut job) => loop {
                // Pushed from the chain's end back to its start: popped start first.
                stack.push(Visit::Job(job));
                match jobs[job as usize].start {
                    JobStart::Root | JobStart::Branch => break,
                    JobStart::Join {
                        parent,
                        left,
                        right,
                    } => {
                        let (first, second) = if left_first {
                            (left, right)
                        } else {
                            (right, left)
                        };
                        stack.push(Visit::Chain(second));
                        stack.push(Visit::Chain(first));
                        job = parent;
                    }
                }
            },
        }
    }
    assert_eq!(
        place as usize,
        jobs.len(),
        "dualrev-par: every job of the gradient lies on its job graph"
    );
}

/// The paper's one mutable array indexed by ID, here by (job, index) with the jobs' slot
/// ranges end to end, split into the accumulated cotangents (the bits of an `f64`, added to
/// atomically by imports from other jobs) and the reached flags. Between resolves every
/// adjoint is zero and no slot is reached.
#[derive(Default)]
struct Collector {
    adjoints: Vec<AtomicU64>,
    reached: Vec<AtomicBool>,
}

/// What a reverse pass did, summed over the jobs it resolved (counted only when the probe
/// counts).
#[derive(Clone, Copy, Default)]
struct Work {
    contribs_applied: u64,
    edges_applied: u64,
    atomic_adds: u64,
    atomic_retries: u64,
}

impl std::ops::AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        self.contribs_applied += other.contribs_applied;
        self.edges_applied += other.edges_applied;
        self.atomic_adds += other.atomic_adds;
        self.atomic_retries += other.atomic_retries;
    }
}

/// The words of the partial block before the current one, read backwards by the reverse
/// loop, and their number; the cold path of the loop, once per block.
#[cold]
#[inline(never)]
fn previous_partials<'b>(
    blocks: &mut impl Iterator<Item = &'b Block>,
    count: usize,
) -> (&'b [u64], usize) {
    let words = blocks
        .next()
        .expect("a record's partials were stored")
        .words();
    // A record's words never straddle two blocks.
    assert!(
        count <= words.len(),
        "dualrev-par: a record's partials in one block"
    );
    (words, words.len())
}

/// `*cell += x` for a slot of the resolving job (no other thread uses it: see the module
/// documentation), as a plain load and store.
#[inline(always)]
fn add_own(cell: &AtomicU64, x: f64) {
    cell.store((f64::from_bits(cell.load(Relaxed)) + x).to_bits(), Relaxed);
}

/// The reverse pass's view of one gradient: the job graph and its orders, where each job's
/// slots begin in the collector, and the collector.
struct Sweep<'a> {
    jobs: &'a [JobRecord],
    /// The jobs' places in the job graph's two orders (empty for one job).
    order: Vec<JobOrder>,
    offsets: SmallVec<[usize; 4]>,
    collector: Collector,
}

impl<'a> Sweep<'a> {
    /// Lays the jobs' slots end to end in this thread's spare collector, grown if needed.
    fn new(recorded: &'a Recorded) -> Sweep<'a> {
        let jobs = &recorded.jobs;
        let mut offsets = SmallVec::with_capacity(jobs.len());
        let mut total = 0usize;
        for job in jobs {
            offsets.push(total);
            total += job.ids as usize;
        }
        let mut collector = SPARE_COLLECTOR.take();
        if collector.adjoints.len() < total {
            collector.adjoints.resize_with(total, AtomicU64::default);
            collector.reached.resize_with(total, AtomicBool::default);
        }
        Sweep {
            jobs,
            order: JobOrder::of(jobs, recorded.last),
            offsets,
            collector,
        }
    }

    /// The IDs of the gradient: every job's indices but its imports.
    fn ids(&self) -> u64 {
        self.jobs
            .iter()
            .map(|job| u64::from(job.ids - job.imports))
            .sum()
    }

    /// The collector slot of an ID of this gradient.
    fn slot(&self, id: Id) -> usize {
        let (job, index) = (job_of(id), index_of(id));
        let record = &self.jobs[job as usize];
        assert!(index < record.ids, "dualrev-par: an ID of this gradient");
        self.offsets[job as usize] + index as usize
    }

    /// Add the seeds' cotangents to their slots (before any job is resolved); under the
    /// dual-numbers rule (`TAPE` false) the seeded slots are reached.
    fn seed<'s, const TAPE: bool>(&self, seeds: impl Iterator<Item = &'s Seed>) -> u64 {
        let mut seeded = 0;
        for seed in seeds {
            let i = self.slot(seed.id);
            add_own(&self.collector.adjoints[i], seed.cotangent);
            if !TAPE {
                self.collector.reached[i].store(true, Relaxed);
            }
            seeded += 1;
        }
        seeded
    }

    /// Resolve the chain of jobs that ends in `job`, back to its first job (a branch's first
    /// job or the root), resolving the branches of every join on the way in parallel. In the
    /// `last_row` of a call, each job's blocks go to the cache of the thread that resolved it.
    fn resolve_chain<const TAPE: bool, Q: Probe>(&self, mut job: JobId, last_row: bool) -> Work {
        let mut work = Work::default();
        loop {
            work += self.resolve_job::<TAPE, Q>(job, last_row);
            match self.jobs[job as usize].start {
                JobStart::Root | JobStart::Branch => return work,
                JobStart::Join {
                    parent,
                    left,
                    right,
                } => {
                    let (l, r) = fork(
                        || self.resolve_chain::<TAPE, Q>(left, last_row),
                        || self.resolve_chain::<TAPE, Q>(right, last_row),
                    );
                    work += l;
                    work += r;
                    job = parent;
                }
            }
        }
    }

    /// Resolve one job's records from the highest index to the lowest; every slot is reset as
    /// it is read. Under the dual-numbers rule (`TAPE` false, `dualrev`'s resolve) a record is
    /// applied once if its slot is reached, and reaches its operands; under the tape's rule
    /// (`tape`'s sweep) every record is visited and applied unless its adjoint is zero, and no
    /// reached flag is read or written. In the `last_row`, the job's blocks then go to this
    /// thread's cache (the root job's stay with the gradient, for the next root job).
    fn resolve_job<const TAPE: bool, Q: Probe>(&self, job: JobId, last_row: bool) -> Work {
        let record = &self.jobs[job as usize];
        let base = self.offsets[job as usize];
        let len = record.ids as usize;
        let adjoints = &self.collector.adjoints[base..base + len];
        let reached = &self.collector.reached[base..base + len];
        let mut streams = record.records();
        let records: usize = streams
            .headers
            .written()
            .iter()
            .map(|b| b.words().len())
            .sum();
        // One header per index above the inputs, so the indices counted down stay in bounds.
        assert!(
            records <= len,
            "dualrev-par: a job's records fit its indices"
        );
        let mut work = Work::default();
        let mut position = len;
        let mut partial_blocks = streams.partials.written().iter().rev();
        let mut partial_words: &[u64] = &[];
        let mut stored = 0;
        for block in streams.headers.written().iter().rev() {
            for &h in block.words().iter().rev() {
                let kind = Kind::of(h);
                let count = kind.stored_partials();
                if count > stored {
                    (partial_words, stored) = previous_partials(&mut partial_blocks, count);
                }
                stored -= count;
                position -= 1;
                let (j, k) = (first_operand(h), second_operand(h));
                if TAPE && Q::COUNTS && j != FOREIGN {
                    // The tape counts the edges of every entry it sweeps.
                    work.edges_applied += kind.edges();
                }
                // The record's operands are indices of this job below `position`: `record`
                // names an operand by index only if it carries this job's generation, so it was
                // allocated earlier in this job (another job's operand is imported, and an
                // import's operand field, `FOREIGN`, is read only as a marker).
                // SAFETY: `position < len` (at most `len` headers, asserted above), so are the
                // operands (above), and the words at `stored` are the record's `count` partials.
                unsafe {
                    let slot = adjoints.get_unchecked(position);
                    if TAPE {
                        if slot.load(Relaxed) == 0 {
                            continue;
                        }
                    } else {
                        let r = reached.get_unchecked(position);
                        if !r.load(Relaxed) {
                            continue;
                        }
                        r.store(false, Relaxed);
                    }
                    let dz = f64::from_bits(slot.load(Relaxed));
                    slot.store(0, Relaxed);
                    let adj = |i: usize| adjoints.get_unchecked(i);
                    let reach = |i: usize| {
                        if !TAPE {
                            reached.get_unchecked(i).store(true, Relaxed)
                        }
                    };
                    match kind {
                        Kind::Add => {
                            add_own(adj(j), dz);
                            add_own(adj(k), dz);
                            reach(j);
                            reach(k);
                        }
                        Kind::Sub => {
                            add_own(adj(j), dz);
                            add_own(adj(k), -dz);
                            reach(j);
                            reach(k);
                        }
                        Kind::Shift => {
                            add_own(adj(j), dz);
                            reach(j);
                        }
                        Kind::Negate => {
                            add_own(adj(j), -dz);
                            reach(j);
                        }
                        Kind::Unary => {
                            let word = *partial_words.get_unchecked(stored);
                            if j == FOREIGN {
                                work += self.import::<TAPE, Q>(job, word, dz);
                                continue;
                            }
                            add_own(adj(j), partials::times(f64::from_bits(word), dz));
                            reach(j);
                        }
                        Kind::Binary => {
                            let dx = f64::from_bits(*partial_words.get_unchecked(stored));
                            let dy = f64::from_bits(*partial_words.get_unchecked(stored + 1));
                            add_own(adj(j), partials::times(dx, dz));
                            add_own(adj(k), partials::times(dy, dz));
                            reach(j);
                            reach(k);
                        }
                    }
                    if !TAPE && Q::COUNTS {
                        work.contribs_applied += 1;
                        work.edges_applied += kind.edges();
                    }
                }
            }
        }
        if last_row && job != 0 {
            job_blocks::give(streams.take_blocks());
        }
        work
    }

    /// Applies a reached import of job `to`: adds its cotangent `dz` into the slot of its
    /// foreign operand `id` (job in the high 32 bits, index in the low), atomically, after
    /// checking that the operand's job runs before `to` in every schedule; under the
    /// dual-numbers rule the slot is reached.
    #[inline(never)]
    fn import<const TAPE: bool, Q: Probe>(&self, to: JobId, id: Id, dz: f64) -> Work {
        let from = job_of(id);
        // Contributions into another job's slots must arrive before that job is resolved:
        // only from jobs that run after it in every schedule.
        if !self.order[from as usize].runs_before(self.order[to as usize]) {
            unordered_flow(from, to);
        }
        let i = self.slot(id);
        let retries = atomic_add(&self.collector.adjoints[i], dz);
        if !TAPE {
            self.collector.reached[i].store(true, Relaxed);
        }
        let mut work = Work::default();
        if Q::COUNTS {
            work.atomic_adds = 1;
            work.atomic_retries = retries;
        }
        work
    }

    /// Appends the input slots `0..n` (the root job's first indices) to `gradient` and resets
    /// them: the end of a resolve.
    fn read_gradient(&mut self, n: usize, gradient: &mut Vec<f64>) {
        // Read and cleared as whole plain slices, the slots are a copy and a fill, as under
        // `dualrev` (a loop of per-slot atomic accesses was a slower store loop).
        let adjoints: *mut [AtomicU64] = &mut self.collector.adjoints[..n];
        let reached: *mut [AtomicBool] = &mut self.collector.reached[..n];
        // SAFETY: `AtomicU64` has the size and bit validity of `f64` and at least its alignment,
        // `AtomicBool` those of `bool`, and the views come from unique borrows (no resolve runs).
        let (adjoints, reached) = unsafe {
            (
                &mut *(adjoints as *mut [f64]),
                &mut *(reached as *mut [bool]),
            )
        };
        gradient.extend_from_slice(adjoints);
        adjoints.fill(0.0);
        reached.fill(false);
    }

    /// Keeps the collector (all zero and unreached again) and the job orders for the next
    /// reverse pass on this thread. Not called when a resolve panics: its collector is dropped.
    fn finish(self) {
        SPARE_COLLECTOR.set(self.collector);
        if self.order.capacity() > 0 {
            let mut order = self.order;
            order.clear();
            SPARE_ORDER.set(order);
        }
    }
}

/// Panics because a value of job `from` was used in job `to`, which the job graph does not
/// order after it.
#[cold]
#[inline(never)]
fn unordered_flow(from: JobId, to: JobId) -> ! {
    panic!(
        "dualrev-par: an active value may flow only from a job to its descendants: a value \
         created in job {from} was used in job {to}, which may run in parallel with it (the \
         value was passed between the branches of a `ParReal::join`, e.g. through a mutex or a \
         channel); return values from their branch and use them after the join, or pass plain \
         numbers (`value()`) between branches"
    )
}

/// `*cell += x` on the bits of an `f64`, by compare-and-swap; returns the retries.
#[inline]
fn atomic_add(cell: &AtomicU64, x: f64) -> u64 {
    let mut retries = 0;
    let mut current = cell.load(Relaxed);
    loop {
        let sum = (f64::from_bits(current) + x).to_bits();
        match cell.compare_exchange_weak(current, sum, Relaxed, Relaxed) {
            Ok(_) => return retries,
            Err(actual) => {
                current = actual;
                retries += 1;
            }
        }
    }
}

/// Which rows a call computes: one vector-Jacobian product, or every row of the Jacobian.
#[derive(Clone, Copy)]
enum Rows<'a> {
    Cotangent(&'a [f64]),
    Unit(usize),
}

/// The work and the span of one pass over a job graph, in the units of a job's weight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WorkSpan {
    /// The sum of every job's weight.
    work: u64,
    /// The heaviest path through the job graph (the critical path): no schedule on any number
    /// of threads finishes the pass in fewer units.
    span: u64,
}

/// The work and span of the job graph whose root chain ends in `last`, each job weighing
/// `weight(job)`. The graph is series-parallel: the heaviest path through a chain is its jobs'
/// weights plus, at each join, the heavier of the two branches' chains. Jobs are numbered in
/// the order they are created, and a continuation is created after its parent and after both
/// branches have ended, so one pass in job order sees every chain a join names already
/// summed. The reverse pass runs the same graph backwards, which has the same paths.
fn work_and_span(jobs: &[JobRecord], last: JobId, weight: impl Fn(&JobRecord) -> u64) -> WorkSpan {
    // The heaviest path from the first job of each job's chain to the job, itself included.
    let mut through: Vec<u64> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let before = match job.start {
            JobStart::Root | JobStart::Branch => 0,
            JobStart::Join {
                parent,
                left,
                right,
            } => {
                let summed = |j: JobId| {
                    *through.get(j as usize).unwrap_or_else(|| {
                        panic!("dualrev-par: job {} is created after job {j}", job.job)
                    })
                };
                summed(parent) + summed(left).max(summed(right))
            }
        };
        through.push(before + weight(job));
    }
    WorkSpan {
        work: jobs.iter().map(&weight).sum(),
        span: through[last as usize],
    }
}

/// The driver of `dualrev-par` (`TAPE` false: the dual-numbers reverse pass) and of `tape-par`
/// (`TAPE` true: the tape's sweep): one forward pass, then one reverse pass per row, each
/// appending n numbers to `out.derivative`.
fn differentiate<const TAPE: bool, F, Q>(
    x: &[f64],
    rows: Rows<'_>,
    eval: F,
    out: &mut Derivatives,
    probe: &mut Q,
) where
    F: FnOnce(&[ParDual]) -> Outputs<ParDual>,
    Q: Probe,
{
    probe.forward_starts();
    let unit: SmallVec<[f64; 4]>;
    let cotangent = match rows {
        Rows::Cotangent(w) => w,
        Rows::Unit(m) => {
            unit = smallvec::smallvec![1.0; m];
            &unit
        }
    };
    let recorded = forward_pass(x, cotangent, eval, &mut out.value);
    probe.reverse_starts();
    let n = x.len();
    let mut sweep = Sweep::new(&recorded);
    let mut work = Work::default();
    let mut seeded = 0;
    let resolves = match rows {
        Rows::Cotangent(_) => {
            seeded += sweep.seed::<TAPE>(recorded.seeds.iter());
            work += sweep.resolve_chain::<TAPE, Q>(recorded.last, true);
            sweep.read_gradient(n, &mut out.derivative);
            1
        }
        Rows::Unit(m) => {
            for row in 0..m {
                seeded += sweep.seed::<TAPE>(recorded.seeds.iter().filter(|s| s.output == row));
                work += sweep.resolve_chain::<TAPE, Q>(recorded.last, row + 1 == m);
                sweep.read_gradient(n, &mut out.derivative);
            }
            m as u64
        }
    };
    let ids = sweep.ids();
    let jobs = recorded.jobs.len() as u64;
    let (forward, reverse) = if Q::COUNTS {
        let inputs = n as u32;
        (
            work_and_span(&recorded.jobs, recorded.last, |job| job.ids.into()),
            work_and_span(&recorded.jobs, recorded.last, |job| {
                job.visited(inputs) * resolves
            }),
        )
    } else {
        Default::default()
    };
    sweep.finish();
    drop(recorded);
    probe.finished();
    if Q::COUNTS {
        let entries = ids - n as u64;
        let tape = [
            ("tape_entries", entries),
            ("entries_swept", entries * resolves),
            ("edges_applied", work.edges_applied),
            ("sweeps", resolves),
        ];
        let dual_numbers = [
            ("ids_allocated", ids),
            ("resolves", resolves),
            ("contribs_applied", work.contribs_applied),
            ("edges_applied", work.edges_applied),
            ("collector_updates", seeded + work.edges_applied),
            ("slots_swept", ids * resolves),
        ];
        let own: &[(&'static str, u64)] = if TAPE { &tape } else { &dual_numbers };
        let job_graph = [
            ("jobs", jobs),
            ("atomic_adds", work.atomic_adds),
            ("atomic_retries", work.atomic_retries),
            ("work_forward", forward.work),
            ("span_forward", forward.span),
            ("work_reverse", reverse.work),
            ("span_reverse", reverse.span),
        ];
        let counters: SmallVec<[(&'static str, u64); 13]> =
            own.iter().chain(&job_graph).copied().collect();
        probe.counters(&counters);
    }
}

/// A vector-Jacobian product of a program with `inputs` inputs and `outputs` outputs, its
/// lengths checked: the `vjp_into` of `dualrev-par` (`TAPE` false) and `tape-par` (`TAPE` true),
/// for sequential and fork-join programs alike.
pub(crate) fn job_graph_vjp<
    const TAPE: bool,
    F: FnOnce(&[ParDual]) -> Outputs<ParDual>,
    Q: Probe,
>(
    (inputs, outputs): (usize, usize),
    x: &[f64],
    cotangent: &[f64],
    eval: F,
    out: &mut Derivatives,
    probe: &mut Q,
) {
    check_lengths(inputs, outputs, x, cotangent);
    differentiate::<TAPE, _, _>(x, Rows::Cotangent(cotangent), eval, out, probe);
}

/// The Jacobian of a program with `inputs` inputs and `outputs` outputs: one forward pass, its
/// job graph resolved once per output. The `jacobian_into` of `dualrev-par` and `tape-par`.
pub(crate) fn job_graph_jacobian<
    const TAPE: bool,
    F: FnOnce(&[ParDual]) -> Outputs<ParDual>,
    Q: Probe,
>(
    (inputs, outputs): (usize, usize),
    x: &[f64],
    eval: F,
    out: &mut Derivatives,
    probe: &mut Q,
) {
    check_inputs(inputs, x);
    out.clear();
    differentiate::<TAPE, _, _>(x, Rows::Unit(outputs), eval, out, probe);
}

impl Strategy for DualrevPar {
    const NAME: &'static str = "dualrev-par";
    const DESCRIPTION: &'static str =
        "task-parallel rung 4: (job, index) IDs, dualrev's records per job, parallel reverse pass with atomic adds: O(T + jobs)";
    const COUNTERS: &'static [&'static str] = &[
        "ids_allocated",
        "resolves",
        "contribs_applied",
        "edges_applied",
        "collector_updates",
        "slots_swept",
        "jobs",
        "atomic_adds",
        "atomic_retries",
        "work_forward",
        "span_forward",
        "work_reverse",
        "span_reverse",
    ];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_vjp::<false, _, _>(
            shape,
            x,
            cotangent,
            |inputs| program.eval(inputs),
            out,
            probe,
        );
    }

    /// One forward pass, its job graph resolved once per output.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_jacobian::<false, _, _>(shape, x, |inputs| program.eval(inputs), out, probe);
    }
}

impl ParStrategy for DualrevPar {
    const PARALLEL: bool = true;

    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_vjp::<false, _, _>(
            shape,
            x,
            cotangent,
            |inputs| program.eval(inputs),
            out,
            probe,
        );
    }

    /// One forward pass, its job graph resolved once per output.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let shape = (program.input_len(), program.output_len());
        job_graph_jacobian::<false, _, _>(shape, x, |inputs| program.eval(inputs), out, probe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arena::LAST_GENERATION;
    use crate::dualrev::Dualrev;
    use crate::program::{outputs, Counters};
    use crate::real::Real;
    use crate::tape::Tape;
    use crate::tape_par::TapePar;
    use crate::test_programs::{ForkedProduct, Shared, SinChain, SquareChain};

    /// Both job-graph strategies (`dualrev-par` and, with `TAPE`, `tape-par`) on the four
    /// mixed operations with the constant on the left.
    #[test]
    fn constants_on_the_left_have_the_shared_partials() {
        use crate::program::Silent;
        use crate::test_programs::{constants_on_the_left, constants_on_the_left_expected};
        for x in [0.75, -2.5] {
            let (values, derivatives) = constants_on_the_left_expected(x);
            for k in 0..4 {
                let eval = |v: &[ParDual]| outputs![constants_on_the_left(&v[0])[k]];
                let mut par = Derivatives::default();
                job_graph_vjp::<false, _, _>((1, 1), &[x], &[1.0], eval, &mut par, &mut Silent);
                let mut tape = Derivatives::default();
                job_graph_vjp::<true, _, _>((1, 1), &[x], &[1.0], eval, &mut tape, &mut Silent);
                for r in [par, tape] {
                    assert_eq!(
                        (r.value[0], r.derivative[0]),
                        (values[k], derivatives[k]),
                        "{k}"
                    );
                }
            }
        }
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool")
    }

    /// The counters both strategies report, from `dualrev-par`'s.
    fn shared_counters(c: &Counters) -> Vec<(&'static str, u64)> {
        c.iter()
            .filter(|(name, _)| Dualrev::COUNTERS.contains(name))
            .collect()
    }

    /// Runs `program` under both strategies and asserts the same values, gradient and shared
    /// counters, in one job.
    fn does_dualrevs_work<P: Program>(program: &P, x: &[f64]) {
        let par = DualrevPar::vjp(program, x, &[1.0]);
        let seq = Dualrev::vjp(program, x, &[1.0]);
        assert_eq!(par.value, seq.value);
        assert_eq!(par.gradient, seq.gradient);
        assert_eq!(
            shared_counters(&par.counters),
            seq.counters.iter().collect::<Vec<_>>()
        );
        assert_eq!(par.counters.get("jobs"), Some(1));
        assert_eq!(par.counters.get("atomic_adds"), Some(0));
    }

    #[test]
    fn sequential_programs_do_dualrevs_work_in_one_job() {
        does_dualrevs_work(&SinChain(100), &[0.5]);
        does_dualrevs_work(&SquareChain(30), &[1.0]);
        does_dualrevs_work(&Shared, &[1.0, 2.0, 3.0, 4.0]);
    }

    /// (x0 * x1, sin x0, x1 returned as is): a Jacobian with a shared graph and an input output.
    struct ThreeOutputs;
    impl Program for ThreeOutputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            3
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let p = x[0].clone() * x[1].clone();
            outputs![p.clone() * p, x[0].sin(), x[1].clone()]
        }
    }

    #[test]
    fn a_jacobian_resolves_one_forward_pass_once_per_output() {
        let x = [0.5, 2.0];
        let par = DualrevPar::jacobian(&ThreeOutputs, &x);
        let seq = Dualrev::jacobian(&ThreeOutputs, &x);
        assert_eq!(par.rows, seq.rows);
        assert_eq!(
            shared_counters(&par.counters),
            seq.counters.iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn resolves_a_million_op_chain_on_the_default_stack() {
        let k = 1_000_000;
        let r = DualrevPar::vjp(&SinChain(k), &[0.5], &[1.0]);
        let (v, d) = SinChain(k).reference(0.5);
        assert_eq!(r.value, vec![v]);
        let g = r.gradient.unwrap()[0];
        assert!((g - d).abs() <= 1e-12 * d.abs(), "{g} vs {d}");
        assert_eq!(r.counters.get("contribs_applied"), Some(k as u64));
    }

    /// Nested forks whose branches use values of every ancestor job, and a continuation that
    /// uses both branches' results: f(x0, x1, x2).
    struct NestedForks;
    impl ParProgram for NestedForks {
        fn input_len(&self) -> usize {
            3
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
            let s = x[0].clone() * x[1].clone();
            let (a, b) = R::join(
                || {
                    let (p, q) = R::join(
                        || s.sin() * x[2].clone(),
                        || (s.clone() + x[0].clone()).exp() * 0.1,
                    );
                    p * q + x[1].clone()
                },
                || {
                    let mut v = x[2].clone() * s.clone();
                    for _ in 0..50 {
                        v = v.sin() + x[0].clone() * 0.01;
                    }
                    v
                },
            );
            let t = a.clone() * b + s;
            let (c, _unused) = R::join(|| t.tanh() * a, || x[1].cos());
            outputs![c + t]
        }
    }

    #[test]
    fn fork_join_gradients_agree_with_the_tape_on_every_thread_count() {
        let x = [0.3, -0.7, 1.1];
        let reference = Tape::par_vjp(&NestedForks, &x, &[1.0]);
        let expected = reference.gradient.unwrap();
        let mut counters = Vec::new();
        for threads in [1, 2, 4] {
            for _ in 0..20 {
                let r = pool(threads).install(|| DualrevPar::par_vjp(&NestedForks, &x, &[1.0]));
                assert_eq!(r.value, reference.value);
                let g = r.gradient.unwrap();
                for (got, want) in g.iter().zip(&expected) {
                    assert!(
                        (got - want).abs() <= 1e-14 * want.abs().max(1.0),
                        "{g:?} vs {expected:?}"
                    );
                }
                let mut c = r.counters.clone();
                c = Counters::from_pairs(
                    &c.iter()
                        .filter(|(name, _)| !DualrevPar::SCHEDULE_DEPENDENT_COUNTERS.contains(name))
                        .collect::<Vec<_>>(),
                );
                counters.push(c);
            }
        }
        assert!(counters.windows(2).all(|w| w[0] == w[1]), "{counters:?}");
        // Root, then 3 jobs per join: 2 nested forks in the first branch... 3 joins in all.
        assert_eq!(counters[0].get("jobs"), Some(10));
        assert!(counters[0].get("atomic_adds").unwrap() > 0);
    }

    #[test]
    fn a_fork_join_product_runs_as_four_jobs() {
        let r = pool(2).install(|| DualrevPar::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0]));
        let e = 0.25f64.exp();
        assert_eq!(r.gradient, Some(vec![0.5f64.cos() * e, 0.5f64.sin() * e]));
        assert_eq!(r.counters.get("jobs"), Some(4));
        assert_eq!(r.counters.get("ids_allocated"), Some(5));
    }

    /// The four work and span counters of a gradient: (work, span) of the forward pass, then
    /// of the reverse pass.
    fn work_and_spans(c: &Counters) -> [(u64, u64); 2] {
        let get = |name| c.get(name).expect(name);
        [
            (get("work_forward"), get("span_forward")),
            (get("work_reverse"), get("span_reverse")),
        ]
    }

    #[test]
    fn without_a_join_the_span_is_the_work() {
        let x = [1.0, 2.0, 3.0, 4.0];
        for r in [
            DualrevPar::vjp(&Shared, &x, &[1.0]),
            TapePar::vjp(&Shared, &x, &[1.0]),
        ] {
            let [(wf, sf), (wr, sr)] = work_and_spans(&r.counters);
            assert_eq!((wf, wr), (sf, sr));
            // Forward: the inputs and one record per operation; reverse: the records.
            assert_eq!(wf, wr + x.len() as u64);
        }
        for r in [
            DualrevPar::vjp(&SinChain(100), &[0.5], &[1.0]),
            TapePar::vjp(&SinChain(100), &[0.5], &[1.0]),
        ] {
            assert_eq!(work_and_spans(&r.counters), [(101, 101), (100, 100)]);
        }
    }

    #[test]
    fn the_span_of_a_fork_is_the_heavier_branch() {
        // Root: 2 inputs. Branches: an import and sin (exp): 2 each. Continuation: two imports
        // and the product: 3. The forward span skips one branch; the reverse pass also skips
        // the inputs, which it does not visit.
        for threads in [1, 2] {
            for r in [
                pool(threads).install(|| DualrevPar::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0])),
                pool(threads).install(|| TapePar::par_vjp(&ForkedProduct, &[0.5, 0.25], &[1.0])),
            ] {
                assert_eq!(work_and_spans(&r.counters), [(9, 7), (7, 5)]);
            }
        }
    }

    /// The sum over the inputs of sin applied `depth` times, summed by a balanced binary tree
    /// of joins down to single inputs.
    struct BalancedSines {
        leaves: usize,
        depth: usize,
    }
    impl ParProgram for BalancedSines {
        fn input_len(&self) -> usize {
            self.leaves
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
            fn sum<R: ParReal>(x: &[R], depth: usize) -> R {
                if let [leaf] = x {
                    return (0..depth).fold(leaf.clone(), |v, _| v.sin());
                }
                let (l, r) = x.split_at(x.len() / 2);
                let (a, b) = R::join(|| sum(l, depth), || sum(r, depth));
                a + b
            }
            outputs![sum(x, self.depth)]
        }
    }

    #[test]
    fn a_balanced_tree_of_k_leaves_allows_a_parallelism_that_grows_with_k() {
        let depth = 100;
        let mut parallelism = Vec::new();
        for leaves in [1, 2, 4, 8, 16, 32] {
            let program = BalancedSines { leaves, depth };
            let x: Vec<f64> = (0..leaves).map(|i| 0.1 * i as f64).collect();
            let r = pool(2).install(|| DualrevPar::par_vjp(&program, &x, &[1.0]));
            // Work: the inputs, every leaf's import and `depth` sines, and at each of the k - 1
            // joins a continuation of two imports and a sum. Span: the inputs, one leaf and
            // the log2 k continuations above it.
            let (k, d) = (leaves as u64, depth as u64);
            let joins = k - 1;
            let levels = u64::from(k.trailing_zeros());
            let leaf = if k == 1 { d } else { d + 1 };
            let expected = [
                (k + k * leaf + 3 * joins, k + leaf + 3 * levels),
                (k * leaf + 3 * joins, leaf + 3 * levels),
            ];
            assert_eq!(work_and_spans(&r.counters), expected, "{leaves} leaves");
            let tape = pool(2).install(|| TapePar::par_vjp(&program, &x, &[1.0]));
            assert_eq!(work_and_spans(&tape.counters), expected, "{leaves} leaves");
            let [(wf, sf), (wr, sr)] = expected;
            parallelism.push((wf + wr) as f64 / (sf + sr) as f64);
        }
        // 1 leaf: no parallelism; then nearly k (each leaf is most of the work).
        assert_eq!(parallelism[0], 1.0);
        assert!(
            parallelism.windows(2).all(|w| w[1] > 1.8 * w[0]),
            "{parallelism:?}"
        );
        assert!(parallelism[5] > 25.0, "{parallelism:?}");
    }

    #[test]
    #[should_panic(expected = "used outside the gradient call that created it")]
    fn a_value_from_a_finished_gradient_panics_in_a_later_one() {
        let stale = std::sync::Mutex::new(None);
        let keep = |x: &[ParDual]| {
            *stale.lock().unwrap() = Some(x[0]);
            outputs![x[0].sin()]
        };
        differentiate::<false, _, _>(
            &[1.0],
            Rows::Cotangent(&[1.0]),
            keep,
            &mut Derivatives::default(),
            &mut crate::Silent,
        );
        let stale = stale.lock().unwrap().unwrap();
        differentiate::<false, _, _>(
            &[1.0],
            Rows::Cotangent(&[1.0]),
            |x: &[ParDual]| outputs![x[0] * stale],
            &mut Derivatives::default(),
            &mut crate::Silent,
        );
    }

    /// A 32-bit generation wrapped after 2^32 gradients, so that a stale value passed the check
    /// of the gradient that drew its generation again (and the reverse pass read its node,
    /// long freed). Jumps the process's counter ahead until a gradient's generation agrees
    /// with a stale value's in the low 32 bits (other tests' gradients may take a number first;
    /// the counter only moves forward, which they do not notice).
    #[test]
    fn a_stale_value_is_refused_by_the_gradient_2_to_the_32_generations_later() {
        let kept = Mutex::new(None);
        let keep = |x: &[ParDual]| {
            *kept.lock().unwrap() = Some(x[0].sin());
            outputs![x[0]]
        };
        let cotangent = Rows::Cotangent(&[1.0]);
        differentiate::<false, _, _>(
            &[1.0],
            cotangent,
            keep,
            &mut Derivatives::default(),
            &mut crate::Silent,
        );
        let stale = kept.lock().unwrap().unwrap();
        let mut alias = stale.generation;
        loop {
            alias += 1 << 32;
            LAST_GENERATION.fetch_max(alias - 1, Relaxed);
            let running = Cell::new(NO_GENERATION);
            let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let use_stale = |x: &[ParDual]| {
                    running.set(x[0].generation);
                    outputs![x[0] * stale]
                };
                let mut out = Derivatives::default();
                differentiate::<false, _, _>(
                    &[1.0],
                    cotangent,
                    use_stale,
                    &mut out,
                    &mut crate::Silent,
                );
            }));
            if running.get() == alias {
                assert_eq!(alias as u32, stale.generation as u32);
                assert!(used.is_err(), "the stale value passed the generation check");
                return;
            }
        }
    }

    /// Uses an active value on a thread it spawned itself instead of forking with `join`.
    struct ForksWithAThread;
    impl ParProgram for ForksWithAThread {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
            let y = std::thread::scope(|s| s.spawn(|| x[0].sin()).join());
            match y {
                Ok(y) => outputs![y],
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    }

    #[test]
    #[should_panic(expected = "must fork with `ParReal::join`")]
    fn a_value_used_on_a_thread_that_runs_no_job_panics_clearly() {
        DualrevPar::par_vjp(&ForksWithAThread, &[1.0], &[1.0]);
    }

    /// f(x) = x^2 * c, where c = d/dy (y^3) at y = x comes from a nested gradient.
    struct OuterUsesInnerGradient;
    impl Program for OuterUsesInnerGradient {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let square = x[0].clone() * x[0].clone();
            let inner = DualrevPar::vjp(&SinChain(3), &[x[0].value()], &[1.0]);
            outputs![square * inner.gradient.unwrap()[0]]
        }
    }

    #[test]
    fn a_nested_gradient_does_not_disturb_the_outer_one() {
        let r = DualrevPar::vjp(&OuterUsesInnerGradient, &[2.0], &[1.0]);
        let c = DualrevPar::vjp(&SinChain(3), &[2.0], &[1.0])
            .gradient
            .unwrap()[0];
        assert_eq!(r.gradient, Some(vec![4.0 * c]));
        assert_eq!(r.counters.get("ids_allocated"), Some(3));
    }

    /// Whether this thread's kept collector is all zero and unreached (as every resolve must
    /// leave it, without clearing it).
    fn spare_collector_is_clean() -> bool {
        let collector = SPARE_COLLECTOR.take();
        let clean = collector.adjoints.iter().all(|a| a.load(Relaxed) == 0)
            && collector.reached.iter().all(|r| !r.load(Relaxed));
        SPARE_COLLECTOR.set(collector);
        clean
    }

    /// Branches that use the inputs (their parent's values): f(x0, x1) = x0^2 * sin(x1) + x1.
    struct BranchesUseTheInputs;
    impl ParProgram for BranchesUseTheInputs {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
            let (a, b) = R::join(|| x[0].clone() * x[0].clone(), || x[1].sin());
            outputs![a * b + x[1].clone()]
        }
    }

    #[test]
    fn every_use_of_another_jobs_value_is_one_import_and_no_id() {
        let x = [0.7, -0.4];
        let r = DualrevPar::par_vjp(&BranchesUseTheInputs, &x, &[1.0]);
        let g = r.gradient.unwrap();
        assert_eq!(
            g,
            vec![2.0 * x[0] * x[1].sin(), x[0] * x[0] * x[1].cos() + 1.0]
        );
        // IDs: x0, x1, x0 * x0, sin x1, a * b, + x1 — as `dualrev` counts them.
        assert_eq!(r.counters.get("ids_allocated"), Some(6));
        assert_eq!(r.counters.get("contribs_applied"), Some(4));
        assert_eq!(r.counters.get("edges_applied"), Some(7));
        // Imported: x0 twice (one import per use), x1, then a, b and x1 after the join.
        assert_eq!(r.counters.get("atomic_adds"), Some(6));
        assert_eq!(r.counters.get("jobs"), Some(4));
        assert!(spare_collector_is_clean());
    }

    #[test]
    fn every_resolve_leaves_the_collector_all_zero_and_unreached() {
        DualrevPar::vjp(&Shared, &[1.0, 2.0, 3.0, 4.0], &[1.0]);
        assert!(spare_collector_is_clean());
        DualrevPar::jacobian(&ThreeOutputs, &[0.5, 2.0]);
        assert!(spare_collector_is_clean());
        for threads in [1, 2] {
            pool(threads).install(|| DualrevPar::par_vjp(&NestedForks, &[0.3, -0.7, 1.1], &[1.0]));
            pool(threads).install(|| assert!(spare_collector_is_clean()));
        }
    }

    /// Hands `sin x` from one branch to the other (which the rule of `join` forbids), and
    /// returns `3 v` from the second branch.
    struct SiblingHandOff;
    impl ParProgram for SiblingHandOff {
        fn input_len(&self) -> usize {
            1
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
            let cell = Mutex::new(None);
            let ((), b) = R::join(
                || *cell.lock().unwrap() = Some(x[0].sin()),
                || {
                    cell.lock()
                        .unwrap()
                        .take()
                        .expect("the first branch ran first")
                        * 3.0
                },
            );
            outputs![b]
        }
    }

    #[test]
    fn a_reverse_pass_that_panics_leaves_no_dirty_collector_behind() {
        // Outside a pool the branches run in order, so the hand-off happens, and the reverse
        // pass panics on the import, with adjoints already added: its collector is dropped.
        let refused = std::panic::catch_unwind(|| {
            DualrevPar::par_vjp(&SiblingHandOff, &[0.4], &[1.0]);
        });
        assert!(refused.is_err());
        assert!(spare_collector_is_clean());
        let r = DualrevPar::vjp(&SinChain(3), &[0.4], &[1.0]);
        assert_eq!(
            r.gradient,
            Dualrev::vjp(&SinChain(3), &[0.4], &[1.0]).gradient
        );
    }

    #[test]
    #[should_panic(expected = "used outside the gradient call that created it")]
    fn a_value_of_the_enclosing_gradient_panics_in_a_nested_one() {
        let outer = |x: &[ParDual]| {
            let carried = x[0];
            let inner = |y: &[ParDual]| outputs![y[0] * carried];
            let mut out = Derivatives::default();
            differentiate::<false, _, _>(
                &[1.0],
                Rows::Cotangent(&[1.0]),
                inner,
                &mut out,
                &mut crate::Silent,
            );
            outputs![x[0]]
        };
        let mut out = Derivatives::default();
        differentiate::<false, _, _>(
            &[0.5],
            Rows::Cotangent(&[1.0]),
            outer,
            &mut out,
            &mut crate::Silent,
        );
    }
}
