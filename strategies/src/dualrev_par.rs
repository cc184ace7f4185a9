//! `dualrev-par`: the task-parallel optimised dual-numbers reverse AD (Smeding & Vákár,
//! "Parallel Dual-Numbers Reverse AD", JFP 2025): rung 4 of the ladder extended to fork-join
//! programs, with a parallel forward pass *and* a parallel reverse pass.
//!
//! # Representation
//!
//! As in [`dualrev`](crate::dualrev), a scalar is (value, ID, Contrib) and a Contrib is the
//! staged backpropagator of one operation: its at most two edges (operand ID, operand's
//! Contrib, partial derivative), stored inline in a 48-byte node. What changes:
//!
//! - **IDs are (job, index).** A *job* is a stretch of sequential execution with its own ID
//!   counter. A gradient starts in the root job, whose first IDs `0..n` are the inputs. At a
//!   fork ([`ParReal::join`]) the running job ends; each branch runs as a new job; the code
//!   after the join continues in a third new job whose record says "forked from the parent,
//!   children a and b" (the last jobs of the two branches, which may themselves have forked).
//!   Forks nest, so each branch is a job graph of its own. Within a job, ID order is a
//!   topological order; across jobs the job graph is.
//! - **Per-job context travels with the task.** The running job's state (its ID, counter and
//!   node arena) is installed in a thread-local by the task that runs the job, and the previous
//!   one is restored when the task ends. A work-stealing scheduler runs a stolen task *inside*
//!   the frame of a thread that waits at a join, so installs and restores nest like the call
//!   stack and a stolen task never writes into the job it interrupted; while a thread waits at
//!   a join, no job is installed on it at all.
//! - **Nodes live in per-job arenas, not behind reference counts.** A Contrib is written once
//!   by its job into that job's arena (bump allocation, chunks recycled through a process-wide
//!   pool) and is immutable afterwards, so values are plain `Copy` data that cross threads
//!   freely: cloning a value costs no atomic reference count. The price is that nodes the output
//!   does not need are kept until the gradient ends, where `dualrev` frees them as soon as they
//!   are unreachable; the reverse pass still applies only the reachable ones. A job's chunks
//!   go to the gradient when the job ends — also when a panic unwinds it — and are recycled
//!   only when the gradient ends, so no value or node of a gradient ever points into freed or
//!   reused memory while the gradient runs.
//! - **Generations are unique across the process** (one 64-bit atomic counter, which cannot
//!   wrap), because values cross threads: an operation on a value of another gradient — one
//!   that outlived its gradient, was carried into a nested one, or reached a thread that runs
//!   no job of its gradient — panics with a clear message before any node is touched.
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
//!   schedule exactly when `a` precedes `b` in both. Every edge into another job's slots — the
//!   atomic path of the reverse pass — checks this with two comparisons before it adds.
//! - **A caught panic.** A panic in a branch propagates out of `join` (after both branches
//!   ended), leaving the job graph incomplete. If the program catches it and goes on, the
//!   gradient is *poisoned*: every later operation on its active values, every `join` and the
//!   end of the forward pass panic ("a branch of this gradient panicked"). Its reverse pass
//!   never runs, so the nodes of a branch that handed a value out before it panicked are never
//!   read.
//!
//! # Algorithm
//!
//! Forward pass: run the program; every job, when it ends, files its record (where it started,
//! how many IDs it allocated, its arena). `join` runs its branches as two rayon tasks when
//! [`parallel_here`](crate::real::parallel_here) (inside a rayon pool of more than one thread) and one after the other
//! otherwise; the job structure, the IDs and every counter are the same either way.
//!
//! Reverse pass: one mutable slot array indexed by (job, index) — the jobs' slot ranges laid
//! end to end — whose slots hold the Contrib once reached and the accumulated cotangent. Seed
//! the outputs, then resolve the job graph backwards from the root chain's last job:
//!
//! 1. resolve the job's IDs from high to low, applying each reached slot's edges once
//!    (`adjoint[j] += partial * adjoint[i]`, `contrib[j] = operand's Contrib`), as `dualrev`;
//! 2. if the job began at a join, resolve its two child job graphs — in parallel — and only
//!    when both are done continue with the parent job (a loop along a chain of joins, a
//!    recursion only into nested forks).
//!
//! Every user of a value runs after it in the job graph, so a slot's cotangent is complete
//! when its job is resolved. A job may contribute to any ancestor's slots (not only its
//! parent's), and two parallel jobs may contribute to the same slot: contributions into
//! another job's slots are atomic adds (a compare-and-swap loop on the `f64` bits), and a
//! Contrib slot is written by every writer with the same value. Contributions into the job's
//! own slots cannot race (every other user of them is already resolved) and are plain loads
//! and stores. The summation order of the atomic adds, and so the last bits of a gradient,
//! may vary between parallel runs.
//!
//! Cost: O(T + J) work for T operations and J jobs, as `dualrev`'s O(T) plus a constant per
//! job; the span of both passes follows the program's own fork-join structure. Sequential code
//! is one job and pays no atomic operation.
//!
//! # Counters
//!
//! `ids_allocated`, `resolves`, `contribs_applied`, `edges_applied`, `collector_updates` and
//! `slots_swept` mean what they mean for [`dualrev`](crate::dualrev) (summed over jobs), and
//! are equal to its counters on the same program run sequentially. Further:
//!
//! - `jobs`: jobs of the job graph (1 for a program without `join`, 3 more per join);
//! - `atomic_adds`: edges applied into another job's slots (compare-and-swap adds);
//! - `atomic_retries`: compare-and-swap attempts that lost a race and were retried. The only
//!   counter that depends on the schedule: 0 on one thread, and it varies between parallel
//!   runs ([`DualrevPar::SCHEDULE_DEPENDENT_COUNTERS`]).

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::fmt;
use std::mem;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use smallvec::SmallVec;

use crate::forward::impl_real_from_partials;
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

/// The job number of constants, and of the absent second edge of a one-edge node.
const NO_JOB: JobId = JobId::MAX;

/// A gradient's number, unique in the process: 64 bits, so that the counter cannot wrap in a
/// process's lifetime (at one gradient per nanosecond it lasts 584 years) and a value of a
/// finished gradient can never pass for one of the running gradient.
type Generation = u64;

/// The generation of constants; never given to a gradient.
const NO_GRADIENT: Generation = 0;

/// The source of gradient generations, shared by every thread.
static LAST_GENERATION: AtomicU64 = AtomicU64::new(NO_GRADIENT);

/// A generation no other gradient of the process has had.
fn next_generation() -> Generation {
    let last = LAST_GENERATION.fetch_add(1, Relaxed);
    match last.checked_add(1) {
        Some(generation) => generation,
        None => too_many("gradients in one process"),
    }
}

/// A value's ID: its job and its index in the job's topological order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Id {
    job: JobId,
    index: u32,
}

/// One edge of a Contrib: the operand's ID, the operand's Contrib (null for an input) and the
/// partial derivative.
#[derive(Clone, Copy)]
struct Edge {
    id: Id,
    operand: *const Contrib,
    partial: f64,
}

/// The staged backpropagator of one operation: its one or two edges (a one-edge node's second
/// edge has job [`NO_JOB`]). Written once into its job's arena, immutable afterwards.
struct Contrib {
    edges: [Edge; 2],
}

const _: () = assert!(mem::size_of::<Contrib>() == 48);

// SAFETY: a Contrib is immutable once written (by the job that allocated it, before any other
// thread can see its address); its operand pointers point to Contribs of the same gradient,
// which stay allocated until the gradient ends (see `Arena`).
unsafe impl Send for Contrib {}
// SAFETY: as above; there is no interior mutability.
unsafe impl Sync for Contrib {}

impl Contrib {
    #[inline(always)]
    fn edges(&self) -> &[Edge] {
        if self.edges[1].id.job == NO_JOB {
            &self.edges[..1]
        } else {
            &self.edges
        }
    }
}

/// A chunk of arena storage: an uninitialised allocation of `capacity` nodes. A raw
/// allocation rather than a `Box`, because the arena's bump pointer and the Contrib pointers
/// of values and nodes point into it while the chunk itself moves (into its job's record, the
/// pool, another job's arena); moving a `Box` would assert unique access to memory that those
/// pointers still use.
struct Chunk {
    start: NonNull<Contrib>,
    capacity: usize,
}

// SAFETY: a chunk owns its allocation, which no thread-bound state refers to; the nodes in it
// are `Send` and `Sync` (see `Contrib`).
unsafe impl Send for Chunk {}
// SAFETY: a shared `&Chunk` only reads the chunk's bounds; the nodes are read through
// Contrib pointers, which `Contrib`'s own `Sync` covers.
unsafe impl Sync for Chunk {}

impl Chunk {
    fn new(capacity: usize) -> Chunk {
        let layout = Chunk::layout(capacity);
        // SAFETY: the layout has a non-zero size (`capacity >= FIRST_CHUNK_NODES`).
        let start = unsafe { alloc::alloc(layout) };
        match NonNull::new(start.cast::<Contrib>()) {
            Some(start) => Chunk { start, capacity },
            None => alloc::handle_alloc_error(layout),
        }
    }

    fn layout(capacity: usize) -> Layout {
        Layout::array::<Contrib>(capacity).expect("a chunk's size fits in memory")
    }

    /// The chunk's first node and one past its last.
    fn bounds(&self) -> (*mut Contrib, *mut Contrib) {
        let start = self.start.as_ptr();
        // SAFETY: one past the end of the allocation.
        (start, unsafe { start.add(self.capacity) })
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: `start` was allocated by `Chunk::new` with this layout, and a chunk is
        // dropped once; its nodes need no drop.
        unsafe { alloc::dealloc(self.start.as_ptr().cast(), Chunk::layout(self.capacity)) };
    }
}

/// Nodes in a job's first chunk; each further chunk of the job doubles, up to
/// [`MAX_CHUNK_NODES`].
const FIRST_CHUNK_NODES: usize = 1 << 6;
/// The largest chunk: 4 Ki nodes, 192 KiB.
const MAX_CHUNK_NODES: usize = 1 << 12;

/// Chunks of finished gradients, for the arenas of the next ones (any thread's). Its size is
/// the most chunks the process ever had in use at once.
static SPARE_CHUNKS: Mutex<Vec<Chunk>> = Mutex::new(Vec::new());

/// The node storage of one job: a bump pointer through its chunks. Nodes never move and are
/// never freed one by one; the chunks go to the job's record when the job ends (normally or by
/// a panic) and back to [`SPARE_CHUNKS`] when the gradient ends, so a node outlives every value
/// and node of its gradient that points to it.
struct Arena {
    chunks: Vec<Chunk>,
    next: *mut Contrib,
    end: *mut Contrib,
}

impl Arena {
    const fn new() -> Arena {
        Arena {
            chunks: Vec::new(),
            next: ptr::null_mut(),
            end: ptr::null_mut(),
        }
    }

    /// Store `node`; its address is stable until the gradient ends.
    #[inline(always)]
    fn push(&mut self, node: Contrib) -> *const Contrib {
        if self.next == self.end {
            self.grow();
        }
        let at = self.next;
        // SAFETY: `at` is in bounds of the last chunk (`next < end`) and not yet written.
        unsafe {
            at.write(node);
            self.next = at.add(1);
        }
        at
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let wanted = (FIRST_CHUNK_NODES << self.chunks.len().min(6)).min(MAX_CHUNK_NODES);
        let spare = SPARE_CHUNKS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let chunk = spare.unwrap_or_else(|| Chunk::new(wanted));
        (self.next, self.end) = chunk.bounds();
        self.chunks.push(chunk);
    }

    /// The chunks, leaving the arena empty.
    fn take_chunks(&mut self) -> Vec<Chunk> {
        self.next = ptr::null_mut();
        self.end = ptr::null_mut();
        mem::take(&mut self.chunks)
    }
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

/// A finished job, as the reverse pass needs it.
struct JobRecord {
    job: JobId,
    start: JobStart,
    ids: u32,
    chunks: Vec<Chunk>,
}

/// What the jobs of one gradient share: the generation, the job counter, the finished jobs,
/// and whether a job of the gradient panicked.
struct Gradient {
    generation: Generation,
    next_job: AtomicU32,
    finished: Mutex<Vec<JobRecord>>,
    /// Set when a panic unwinds out of a job or through a `join`: the job graph is then
    /// incomplete (a job ended half way, a continuation never began), so the gradient must not
    /// go on — every later operation, `join` and the end of the forward pass panic.
    poisoned: AtomicBool,
}

impl Gradient {
    fn new() -> Gradient {
        Gradient {
            generation: next_generation(),
            next_job: AtomicU32::new(0),
            finished: Mutex::new(Vec::new()),
            poisoned: AtomicBool::new(false),
        }
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Relaxed)
    }

    fn new_job(&self) -> JobId {
        let job = self.next_job.fetch_add(1, Relaxed);
        if job == NO_JOB {
            too_many("jobs");
        }
        job
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

/// The state of the job a task is running: installed in [`RUNNING_JOB`] for the task's
/// duration.
struct JobState {
    /// The gradient's generation, which every active operand must carry; [`NO_GRADIENT`]
    /// once the gradient is poisoned, so that every later operation takes the cold path that
    /// reports it.
    generation: Generation,
    job: JobId,
    next_index: u32,
    start: JobStart,
    arena: Arena,
    gradient: GradientRef,
    /// Whether the job's record has been filed (a state that `join` turns into the
    /// continuation job is unfinished again).
    finished: bool,
}

impl JobState {
    fn new(gradient: GradientRef, job: JobId, start: JobStart) -> JobState {
        JobState {
            generation: gradient.get().generation,
            job,
            next_index: 0,
            start,
            arena: Arena::new(),
            gradient,
            finished: false,
        }
    }

    /// End the job: file its record with the gradient and return its number.
    fn finish(&mut self) -> JobId {
        let record = JobRecord {
            job: self.job,
            start: self.start,
            ids: self.next_index,
            chunks: self.arena.take_chunks(),
        };
        self.gradient.get().file(record);
        self.finished = true;
        self.job
    }

    /// Mark the gradient poisoned, and this job unable to record anything more.
    fn poison(&mut self) {
        self.gradient.get().poisoned.store(true, Relaxed);
        self.generation = NO_GRADIENT;
    }
}

impl Drop for JobState {
    /// A job that ends without [`JobState::finish`] is one a panic unwound: its nodes may be
    /// referred to by values it handed out before it panicked, so its chunks are filed with the
    /// gradient (freed only when the gradient ends), and the gradient is poisoned.
    fn drop(&mut self) {
        if !self.finished {
            self.finish();
            self.poison();
        }
    }
}

thread_local! {
    /// The slot array of the last reverse pass on this thread, empty, kept for the next one (a
    /// nested gradient finds it taken and allocates its own).
    static SPARE_SLOTS: Cell<Vec<Slot>> = const { Cell::new(Vec::new()) };
    /// The job orders of the last forward pass on this thread and the stack of the walk that
    /// labels them, empty, kept for the next one.
    static SPARE_ORDER: Cell<Vec<JobOrder>> = const { Cell::new(Vec::new()) };
    static SPARE_VISITS: Cell<Vec<Visit>> = const { Cell::new(Vec::new()) };
    /// The job the running task of this thread belongs to; null when no job runs here (no
    /// gradient, or the thread waits at a join).
    static RUNNING_JOB: Cell<*mut JobState> = const { Cell::new(ptr::null_mut()) };
}

/// Installs a job (or none) on this thread and restores the previous one when dropped, also
/// on unwinding.
struct Installed {
    previous: *mut JobState,
}

impl Installed {
    fn new(job: *mut JobState) -> Installed {
        Installed {
            previous: RUNNING_JOB.with(|running| running.replace(job)),
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        RUNNING_JOB.with(|running| running.set(self.previous));
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

/// Panics because an operation met an active value of another gradient than the running one
/// (`running`: the running job, if any), or any value after its gradient was poisoned.
#[cold]
#[inline(never)]
fn foreign_value(value_generation: Generation, running: Option<&JobState>) -> ! {
    if running.is_some_and(|job| job.gradient.get().is_poisoned()) {
        branch_panicked();
    }
    match running.map(|job| job.generation) {
        None => panic!(
            "active value used outside the gradient call that created it (it belongs to \
             gradient #{value_generation}, and no job of a dualrev-par gradient runs on this \
             thread): active values must not outlive their `vjp` call, and fork-join programs \
             must fork with `ParReal::join`, not with threads or rayon directly"
        ),
        Some(running) => panic!(
            "active value used outside the gradient call that created it (it belongs to \
             gradient #{value_generation}, the running gradient is #{running}): active values \
             must not outlive their `vjp` call nor be carried into a nested one"
        ),
    }
}

/// The active scalar of `dualrev-par`: (value, (job, index) ID, Contrib), tagged with its
/// gradient's process-unique generation. Plain data: it crosses threads and clones for free.
#[derive(Clone, Copy)]
pub struct ParDual {
    value: f64,
    contrib: *const Contrib,
    id: Id,
    generation: Generation,
}

// SAFETY: the forward pass never dereferences a value's Contrib pointer; only the reverse pass
// of the value's own gradient does, after every job has ended (rayon's join orders each job's
// writes before what follows the join; a value handed to another thread through a mutex or a
// channel is synchronised by it). Until then the node stays allocated (see `Arena`). A value of
// another gradient is rejected by its generation before anything is read, and a poisoned
// gradient never reaches its reverse pass.
unsafe impl Send for ParDual {}
// SAFETY: as above; a `ParDual` has no interior mutability.
unsafe impl Sync for ParDual {}

impl ParDual {
    #[inline(always)]
    fn inactive(value: f64) -> ParDual {
        ParDual {
            value,
            contrib: ptr::null(),
            id: Id {
                job: NO_JOB,
                index: 0,
            },
            generation: NO_GRADIENT,
        }
    }

    #[inline(always)]
    fn is_active(&self) -> bool {
        self.generation != NO_GRADIENT
    }

    /// A new ID in the running job, with `node` (if any) stored in its arena; the operands'
    /// generations `a` and `b` must be the running gradient's.
    #[inline(always)]
    fn allocate(value: f64, a: Generation, b: Generation, node: Option<Contrib>) -> ParDual {
        let job = RUNNING_JOB.with(Cell::get);
        if job.is_null() {
            foreign_value(a, None);
        }
        // SAFETY: a non-null running job is the live state its task installed on this thread,
        // and nothing else refers to it while the task runs an operation.
        let job = unsafe { &mut *job };
        if (a != NO_GRADIENT && a != job.generation) || (b != NO_GRADIENT && b != job.generation) {
            foreign_value(if a != job.generation { a } else { b }, Some(job));
        }
        let index = job.next_index;
        job.next_index = match index.checked_add(1) {
            Some(next) => next,
            None => too_many("IDs in one job"),
        };
        let contrib = match node {
            Some(node) => job.arena.push(node),
            None => ptr::null(),
        };
        ParDual {
            value,
            contrib,
            id: Id {
                job: job.job,
                index,
            },
            generation: job.generation,
        }
    }

    #[inline(always)]
    fn edge(&self, partial: f64) -> Edge {
        Edge {
            id: self.id,
            operand: self.contrib,
            partial,
        }
    }

    #[inline(always)]
    fn unary(&self, value: f64, d: f64) -> ParDual {
        if !self.is_active() {
            return ParDual::inactive(value);
        }
        let none = Edge {
            id: Id {
                job: NO_JOB,
                index: 0,
            },
            operand: ptr::null(),
            partial: 0.0,
        };
        let node = Contrib {
            edges: [self.edge(d), none],
        };
        ParDual::allocate(value, self.generation, NO_GRADIENT, Some(node))
    }

    /// A two-operand operation; an inactive operand gets no edge (as in `dualrev`).
    #[inline(always)]
    fn binary(&self, other: &ParDual, value: f64, dx: f64, dy: f64) -> ParDual {
        match (self.is_active(), other.is_active()) {
            (true, true) => {
                let node = Contrib {
                    edges: [self.edge(dx), other.edge(dy)],
                };
                ParDual::allocate(value, self.generation, other.generation, Some(node))
            }
            (true, false) => self.unary(value, dx),
            (false, true) => other.unary(value, dy),
            (false, false) => ParDual::inactive(value),
        }
    }
}

impl fmt::Debug for ParDual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ParDual");
        s.field("value", &self.value);
        if self.is_active() {
            s.field("job", &self.id.job)
                .field("index", &self.id.index)
                .field("generation", &self.generation);
        }
        s.finish()
    }
}

impl_real_from_partials!(ParDual);

/// Run `branch` as the first job `job` of a fork's branch; returns its result and the
/// branch's last job (the branch may fork in turn).
fn run_branch<R>(gradient: GradientRef, job: JobId, branch: impl FnOnce() -> R) -> (R, JobId) {
    // Declared before `installed`, so dropped after it: a panicking branch uninstalls its
    // state before the state files its chunks and poisons the gradient.
    let mut state = JobState::new(gradient, job, JobStart::Branch);
    let installed = Installed::new(&mut state);
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
    /// [`parallel_here`](crate::real::parallel_here)) and continues in a new job that records the fork. If a branch
    /// panics, the panic goes on to the caller and the gradient is poisoned: a program that
    /// catches it can no longer compute with its active values.
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let running = RUNNING_JOB.with(Cell::get);
        if running.is_null() {
            // No gradient here: only constants exist, there are no jobs to record.
            return fork(a, b);
        }
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
            let _waiting = Installed::new(ptr::null_mut());
            fork(
                move || run_branch(gradient, left, a),
                move || run_branch(gradient, right, b),
            )
        };
        mem::forget(poison_on_unwind);
        // SAFETY: as above; the branches have restored this thread's running job, and the
        // `&mut` above is no longer used.
        let state = unsafe { &mut *running };
        state.job = gradient.get().new_job();
        state.next_index = 0;
        state.start = JobStart::Join {
            parent,
            left: left_last,
            right: right_last,
        };
        state.finished = false;
        (ra, rb)
    }
}

/// An output to start the reverse pass from.
struct Seed {
    output: usize,
    id: Id,
    contrib: *const Contrib,
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
    /// Returns the arenas' chunks to the pool.
    fn drop(&mut self) {
        let mut spare = SPARE_CHUNKS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for job in &mut self.jobs {
            spare.append(&mut job.chunks);
        }
    }
}

/// Lift `x` to the root job's IDs `0..n`, run `eval` and gather the job graph; every active
/// output is seeded with its cotangent in `cotangent` (all ones for a Jacobian).
fn forward_pass<F>(x: &[f64], cotangent: &[f64], eval: F, value: &mut Vec<f64>) -> Recorded
where
    F: FnOnce(&[ParDual]) -> Outputs<ParDual>,
{
    let m = cotangent.len();
    let gradient = Gradient::new();
    let handle = GradientRef(&gradient);
    let root = gradient.new_job();
    let mut state = JobState::new(handle, root, JobStart::Root);
    let outputs = {
        let _installed = Installed::new(&mut state);
        let inputs: Vec<ParDual> = x
            .iter()
            .map(|&v| ParDual::allocate(v, NO_GRADIENT, NO_GRADIENT, None))
            .collect();
        eval(&inputs)
    };
    if gradient.is_poisoned() {
        branch_panicked();
    }
    if let Some(o) = outputs
        .iter()
        .find(|o| o.is_active() && o.generation != gradient.generation)
    {
        foreign_value(o.generation, Some(&state));
    }
    if outputs.len() != m {
        panic!(
            "the program returned {} outputs but declares {m}",
            outputs.len()
        );
    }
    let last = state.finish();
    drop(state);
    let mut jobs = gradient
        .finished
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
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
                contrib: o.contrib,
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

/// One slot of the reverse pass: the Contrib of its ID once reached, and its cotangent (the
/// bits of an `f64`, added to atomically from other jobs).
#[derive(Default)]
struct Slot {
    contrib: AtomicPtr<Contrib>,
    adjoint: AtomicU64,
}

/// What a reverse pass did, summed over the jobs it resolved.
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

/// The reverse pass's view of one gradient: the job graph and its orders, where each job's
/// slots begin in the slot array, and the slots.
struct Sweep<'a> {
    jobs: &'a [JobRecord],
    /// The jobs' places in the job graph's two orders (empty for one job).
    order: Vec<JobOrder>,
    offsets: Vec<usize>,
    slots: Vec<Slot>,
}

impl Sweep<'_> {
    fn new(recorded: &Recorded) -> Sweep<'_> {
        let jobs = &recorded.jobs;
        let mut offsets = Vec::with_capacity(jobs.len());
        let mut total = 0usize;
        for job in jobs {
            offsets.push(total);
            total += job.ids as usize;
        }
        let mut slots = SPARE_SLOTS.take();
        if slots.len() < total {
            slots.resize_with(total, Slot::default);
        }
        slots.truncate(total);
        clear_slots(&mut slots);
        Sweep {
            jobs,
            order: JobOrder::of(jobs, recorded.last),
            offsets,
            slots,
        }
    }

    #[inline(always)]
    fn slot(&self, id: Id) -> &Slot {
        debug_assert!(id.index < self.jobs[id.job as usize].ids);
        &self.slots[self.offsets[id.job as usize] + id.index as usize]
    }

    /// Empty every slot (between the rows of a Jacobian).
    fn clear(&mut self) {
        clear_slots(&mut self.slots);
    }

    /// Add the seeds' cotangents to their slots (before any job is resolved).
    fn seed<'s>(&self, seeds: impl Iterator<Item = &'s Seed>) -> u64 {
        let mut seeded = 0;
        for seed in seeds {
            let slot = self.slot(seed.id);
            let sum = f64::from_bits(slot.adjoint.load(Relaxed)) + seed.cotangent;
            slot.adjoint.store(sum.to_bits(), Relaxed);
            if slot.contrib.load(Relaxed).is_null() {
                slot.contrib.store(seed.contrib.cast_mut(), Relaxed);
            }
            seeded += 1;
        }
        seeded
    }

    /// Resolve the chain of jobs that ends in `job`, back to its first job (a branch's first
    /// job or the root), resolving the branches of every join on the way in parallel.
    fn resolve_chain(&self, mut job: JobId) -> Work {
        let mut work = Work::default();
        loop {
            work += self.resolve_job(job);
            match self.jobs[job as usize].start {
                JobStart::Root | JobStart::Branch => return work,
                JobStart::Join {
                    parent,
                    left,
                    right,
                } => {
                    let (l, r) = fork(|| self.resolve_chain(left), || self.resolve_chain(right));
                    work += l;
                    work += r;
                    job = parent;
                }
            }
        }
    }

    /// Resolve one job's IDs from high to low.
    fn resolve_job(&self, job: JobId) -> Work {
        let base = self.offsets[job as usize];
        let own = &self.slots[base..base + self.jobs[job as usize].ids as usize];
        let mut work = Work::default();
        for slot in own.iter().rev() {
            let node = slot.contrib.load(Relaxed);
            if node.is_null() {
                continue;
            }
            let dz = f64::from_bits(slot.adjoint.load(Relaxed));
            work.contribs_applied += 1;
            // A slot's Contrib comes from a seed (an output checked to be of this gradient) or
            // from an edge of this gradient's nodes (operands checked when it was allocated).
            // SAFETY: so it is a node in the chunks of `Recorded`, which outlive the sweep,
            // written by its job before the forward pass ended.
            let node = unsafe { &*node };
            for edge in node.edges() {
                work.edges_applied += 1;
                let contribution = partials::times(edge.partial, dz);
                let target = if edge.id.job == job {
                    let target = &own[edge.id.index as usize];
                    let sum = f64::from_bits(target.adjoint.load(Relaxed)) + contribution;
                    target.adjoint.store(sum.to_bits(), Relaxed);
                    target
                } else {
                    // Contributions into another job's slots must arrive before that job is
                    // resolved: only from jobs that run after it in every schedule.
                    let from = edge.id.job;
                    if !self.order[from as usize].runs_before(self.order[job as usize]) {
                        unordered_flow(from, job);
                    }
                    let target = self.slot(edge.id);
                    work.atomic_adds += 1;
                    work.atomic_retries += atomic_add(&target.adjoint, contribution);
                    target
                };
                if !edge.operand.is_null() && target.contrib.load(Relaxed).is_null() {
                    target.contrib.store(edge.operand.cast_mut(), Relaxed);
                }
            }
        }
        work
    }
}

impl Drop for Sweep<'_> {
    /// Keeps the slot array and the job orders for the next reverse pass on this thread.
    fn drop(&mut self) {
        let mut slots = mem::take(&mut self.slots);
        slots.clear();
        SPARE_SLOTS.set(slots);
        if self.order.capacity() > 0 {
            let mut order = mem::take(&mut self.order);
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

/// Empty every slot.
fn clear_slots(slots: &mut [Slot]) {
    for slot in slots {
        *slot.contrib.get_mut() = ptr::null_mut();
        *slot.adjoint.get_mut() = 0;
    }
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

/// The driver: one forward pass, then one reverse pass per row, each appending n numbers to
/// `out.derivative`.
fn differentiate<F, Q>(x: &[f64], rows: Rows<'_>, eval: F, out: &mut Derivatives, probe: &mut Q)
where
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
            seeded += sweep.seed(recorded.seeds.iter());
            work += sweep.resolve_chain(recorded.last);
            out.derivative.extend(
                sweep.slots[..n]
                    .iter()
                    .map(|s| f64::from_bits(s.adjoint.load(Relaxed))),
            );
            1
        }
        Rows::Unit(m) => {
            for row in 0..m {
                if row > 0 {
                    sweep.clear();
                }
                seeded += sweep.seed(recorded.seeds.iter().filter(|s| s.output == row));
                work += sweep.resolve_chain(recorded.last);
                out.derivative.extend(
                    sweep.slots[..n]
                        .iter()
                        .map(|s| f64::from_bits(s.adjoint.load(Relaxed))),
                );
            }
            m as u64
        }
    };
    let slots = sweep.slots.len() as u64;
    let jobs = recorded.jobs.len() as u64;
    drop(sweep);
    drop(recorded);
    probe.finished();
    if Q::COUNTS {
        probe.counters(&[
            ("ids_allocated", slots),
            ("resolves", resolves),
            ("contribs_applied", work.contribs_applied),
            ("edges_applied", work.edges_applied),
            ("collector_updates", seeded + work.edges_applied),
            ("slots_swept", slots * resolves),
            ("jobs", jobs),
            ("atomic_adds", work.atomic_adds),
            ("atomic_retries", work.atomic_retries),
        ]);
    }
}

impl Strategy for DualrevPar {
    const NAME: &'static str = "dualrev-par";
    const DESCRIPTION: &'static str =
        "task-parallel rung 4: (job, index) IDs, per-job arenas, parallel reverse pass with atomic adds: O(T + jobs)";
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
    ];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let rows = Rows::Cotangent(cotangent);
        differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }

    /// One forward pass, its job graph resolved once per output.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        let rows = Rows::Unit(program.output_len());
        differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
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
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let rows = Rows::Cotangent(cotangent);
        differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }

    /// One forward pass, its job graph resolved once per output.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        let rows = Rows::Unit(program.output_len());
        differentiate(x, rows, |inputs| program.eval(inputs), out, probe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dualrev::Dualrev;
    use crate::program::{outputs, Counters};
    use crate::real::Real;
    use crate::tape::Tape;
    use crate::test_programs::{ForkedProduct, Shared, SinChain, SquareChain};

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

    #[test]
    #[should_panic(expected = "used outside the gradient call that created it")]
    fn a_value_from_a_finished_gradient_panics_in_a_later_one() {
        let stale = std::sync::Mutex::new(None);
        let keep = |x: &[ParDual]| {
            *stale.lock().unwrap() = Some(x[0]);
            outputs![x[0].sin()]
        };
        differentiate(
            &[1.0],
            Rows::Cotangent(&[1.0]),
            keep,
            &mut Derivatives::default(),
            &mut crate::Silent,
        );
        let stale = stale.lock().unwrap().unwrap();
        differentiate(
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
        differentiate(
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
            let running = Cell::new(NO_GRADIENT);
            let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let use_stale = |x: &[ParDual]| {
                    running.set(x[0].generation);
                    outputs![x[0] * stale]
                };
                let mut out = Derivatives::default();
                differentiate(&[1.0], cotangent, use_stale, &mut out, &mut crate::Silent);
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
}
