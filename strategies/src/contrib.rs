//! The forward pass shared by the ladder rungs 1–3 ([`staged`](crate::staged),
//! [`cayley`](crate::cayley), [`sparse`](crate::sparse)); rung 4 ([`dualrev`](crate::dualrev))
//! keeps the same Contrib graph and IDs in a per-gradient arena instead.
//!
//! From the paper's first optimisation step on (*linear factoring*, Smeding & Vákár, POPL 2023,
//! Sect. 4), an active scalar is a [`Dual`]: its primal value, a unique **ID** from a counter
//! threaded through the forward pass, and a [`Contrib`], the *staged* form of its
//! backpropagator `dz -> sum_j b_j(d_j * dz)`: the list of edges (operand ID, operand's
//! Contrib, partial derivative). The next three steps (Cayley transform, sparse collector,
//! mutable arrays) change only how the reverse pass ("resolve") collects cotangents, so the
//! forward pass is the same at every rung and lives here. What differs between the rungs — the
//! collector and the input backpropagators — is written out in each rung's module, never here.
//!
//! # Representation
//!
//! - **IDs** come from a per-gradient counter; an ID is allocated after its operands' IDs, so ID
//!   order is a topological order and every edge points to a smaller ID. The program's inputs
//!   get the first IDs, `0..n`, and are the only active values without a [`Contrib`].
//! - **Constants** ([`Real::constant`], and every value computed from constants only) carry no
//!   ID and no node: an operation skips the edges to its inactive operands (the zero
//!   backpropagator contributes nothing), so `x * 2.0`, `R::constant(2.0) * x` and `x.sin()`
//!   are all nodes with one edge. Every primitive operation has one or two operands, so a
//!   Contrib stores its at most two edges inline, in its single allocation.
//! - **Per-gradient state** (the generation number and the ID counter) is a thread-local frame
//!   that a gradient call installs for its duration (a `GradientScope` guard) and restores on exit, so
//!   nested gradients stack on the Rust call stack and gradients on different threads never
//!   meet. Every active value is tagged with its gradient's generation; an operation on a value
//!   whose generation is not the running gradient's (a value that outlived its gradient, or one
//!   carried into a nested gradient) panics with a clear message.
//! - **Destruction is iterative**: dropping the last reference to a long chain of Contribs
//!   would recurse once per node (`Rc` drop glue) and overflow the stack at ~10^5 nodes, so
//!   [`Contrib`]'s `Drop` unwinds the uniquely owned part of the graph onto an explicit stack.
//!
//! Generations are per-thread 64-bit counters that never wrap, so a value kept from a finished
//! gradient is always detected. A gradient may allocate at most 2^32 - 1 IDs.

use std::cell::Cell;
use std::fmt;
use std::iter::{Product, Sum};
use std::mem;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use std::ptr::NonNull;

use rpds::RedBlackTreeMap;
use smallvec::SmallVec;

use crate::pool;
use crate::program::{check_inputs, check_lengths, Derivatives, Probe, Program};
use crate::real::{partials, Binary, Real, Unary};

/// A node's ID: its position in the topological order of one gradient's computation graph.
pub type Id = u32;

/// A gradient call's number on its thread: 64 bits, so that the counter cannot wrap in a
/// thread's lifetime (at one gradient per nanosecond it lasts 584 years) and a value kept from
/// a finished gradient can never pass for one of the running gradient.
pub(crate) type Generation = u64;

/// The generation of constants, and the frame's generation when no gradient is running.
const NO_GRADIENT: Generation = 0;

/// The per-gradient state of the running gradient call on this thread.
#[derive(Clone, Copy)]
struct Frame {
    generation: Generation,
    next_id: Id,
}

thread_local! {
    static FRAME: Cell<Frame> = const {
        Cell::new(Frame { generation: NO_GRADIENT, next_id: 0 })
    };
    static LAST_GENERATION: Cell<Generation> = const { Cell::new(NO_GRADIENT) };
}

/// A new generation for a gradient call on this thread: never `NO_GRADIENT`, unique among the
/// calls of this thread. Shared by the strategies whose values carry a per-thread generation
/// tag (the ladder rungs and `naive`).
pub(crate) fn next_generation() -> Generation {
    LAST_GENERATION.with(|last| {
        let next = last
            .get()
            .checked_add(1)
            .expect("more than 2^64 - 1 gradients on one thread");
        last.set(next);
        next
    })
}

/// The context of one gradient call: installs a fresh frame (new generation, ID counter at 0)
/// and restores the enclosing one when dropped, also on unwinding. Scopes nest with the Rust
/// call stack, which is the per-thread stack of contexts.
pub(crate) struct GradientScope {
    saved: Frame,
}

impl GradientScope {
    /// Start a gradient on this thread.
    pub(crate) fn enter() -> Self {
        let generation = next_generation();
        let saved = FRAME.with(|frame| {
            frame.replace(Frame {
                generation,
                next_id: 0,
            })
        });
        Self { saved }
    }

    /// IDs allocated so far by this (innermost) gradient.
    pub(crate) fn ids_allocated(&self) -> Id {
        FRAME.with(|frame| frame.get().next_id)
    }
}

impl Drop for GradientScope {
    fn drop(&mut self) {
        FRAME.with(|frame| frame.set(self.saved));
    }
}

#[cold]
#[inline(never)]
fn foreign_value(value_generation: Generation, running: Generation) -> ! {
    if running == NO_GRADIENT {
        panic!(
            "active value used outside the gradient call that created it (it belongs to \
             gradient #{value_generation} of this thread, and no gradient is running): active \
             values must not outlive the `vjp` call that created them"
        );
    }
    panic!(
        "active value used outside the gradient call that created it (it belongs to gradient \
         #{value_generation} of this thread, the running gradient is #{running}): active values \
         must not outlive their `vjp` call nor be carried into a nested one"
    );
}

/// Check that operands of generations `a` and `b` (`NO_GRADIENT` for a constant or an absent
/// operand) belong to the running gradient, and allocate the next ID in it.
#[inline(always)]
fn allocate_id(a: Generation, b: Generation) -> (Generation, Id) {
    FRAME.with(|cell| {
        let frame = cell.get();
        for g in [a, b] {
            if g != NO_GRADIENT && g != frame.generation {
                foreign_value(g, frame.generation);
            }
        }
        let next_id = frame
            .next_id
            .checked_add(1)
            .expect("a gradient allocated more than 2^32 - 1 IDs");
        cell.set(Frame { next_id, ..frame });
        (frame.generation, frame.next_id)
    })
}

/// The ID a one-edge [`Contrib`] stores in place of a second operand's. Never allocated to a
/// value: [`allocate_id`] panics before handing it out.
const NO_EDGE: Id = Id::MAX;

/// The staged backpropagator of one operation (the paper's `Contrib`): its edges to its active
/// operands. Shared through a counted reference (`ContribRef`) by every value that uses the operation's result,
/// and freed when the last one is gone; dropping a long chain is iterative (see the module
/// docs).
///
/// Edge `k` is (operand ID `ids[k]`, operand's Contrib `operands[k]` (`None` for an input),
/// partial derivative `partials[k]`); a one-edge node has `ids[1] == NO_EDGE`. The edges are
/// stored field by field rather than as an array of (ID, Contrib, partial) records so that no
/// field is padded and no variant tag is needed: with its reference count the node is 48
/// bytes, one cell of the per-thread node pool, which is the memory every operation
/// writes in the forward pass and reads back in the reverse pass.
pub struct Contrib {
    /// The number of [`ContribRef`]s to this node (values, other nodes, collector slots).
    references: Cell<u32>,
    ids: [Id; 2],
    partials: [f64; 2],
    operands: [Option<ContribRef>; 2],
}

const _: () = assert!(mem::size_of::<Contrib>() == pool::CELL_BYTES);
const _: () = assert!(mem::align_of::<Contrib>() <= mem::align_of::<pool::RawCell>());

impl Contrib {
    /// The number of edges: 1 or 2.
    #[inline]
    pub(crate) fn edge_count(&self) -> usize {
        if self.ids[1] == NO_EDGE {
            1
        } else {
            2
        }
    }

    /// Whether the node still holds an operand's Contrib. The reverse pass moves them out of
    /// the nodes it frees, so most nodes die without any.
    #[inline]
    fn holds_operands(&self) -> bool {
        self.operands.iter().any(Option::is_some)
    }
}

/// A counted reference to a [`Contrib`] node in this thread's [`pool`](crate::pool): the
/// single-threaded `Rc` of the ladder rungs, with the node allocated from the pool instead of
/// by `malloc` and a 4-byte count instead of `Rc`'s two 8-byte ones. Not `Send`: a node is
/// freed into the pool of the thread that allocated it.
pub(crate) struct ContribRef(NonNull<Contrib>);

impl ContribRef {
    /// A new node, referenced once.
    #[inline(always)]
    fn new(ids: [Id; 2], partials: [f64; 2], operands: [Option<ContribRef>; 2]) -> ContribRef {
        let cell = pool::allocate().cast::<Contrib>();
        // SAFETY: the cell is a fresh, exclusively owned allocation of the node's size and
        // alignment (checked above).
        unsafe {
            cell.as_ptr().write(Contrib {
                references: Cell::new(1),
                ids,
                partials,
                operands,
            });
        }
        ContribRef(cell)
    }

    /// Whether this is the only reference to the node.
    #[inline(always)]
    fn is_unique(&self) -> bool {
        self.references.get() == 1
    }

    /// The node, mutably, if this is its only reference.
    #[inline(always)]
    fn get_mut(&mut self) -> Option<&mut Contrib> {
        if self.is_unique() {
            // SAFETY: a unique reference has exclusive access to its node.
            Some(unsafe { self.0.as_mut() })
        } else {
            None
        }
    }
}

impl std::ops::Deref for ContribRef {
    type Target = Contrib;
    #[inline(always)]
    fn deref(&self) -> &Contrib {
        // SAFETY: the node lives while a reference to it does.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for ContribRef {
    #[inline(always)]
    fn clone(&self) -> ContribRef {
        let count = self.references.get();
        if count == u32::MAX {
            std::process::abort();
        }
        self.references.set(count + 1);
        ContribRef(self.0)
    }
}

impl Drop for ContribRef {
    /// Decrements the count; the last reference frees the node. A node whose operands the
    /// reverse pass has already taken (the common case) goes straight back to the pool; one
    /// that still holds operands unwinds its uniquely owned descendants onto an explicit stack
    /// instead of recursing once per node, so a long chain is freed on any stack. A child that
    /// someone else still holds is only decremented, so the loop visits exactly the nodes
    /// that are freed.
    #[inline(always)]
    fn drop(&mut self) {
        let count = self.references.get();
        if count > 1 {
            self.references.set(count - 1);
            return;
        }
        // SAFETY: this was the last reference: the node is ours to free.
        unsafe {
            let node = self.0.as_mut();
            if node.holds_operands() {
                drop_unique_descendants(node);
            }
            free_node(self.0);
        }
    }
}

/// Returns a node whose operands are gone to the pool.
///
/// # Safety
///
/// `node` is unreferenced and holds no operands.
#[inline(always)]
unsafe fn free_node(node: NonNull<Contrib>) {
    // SAFETY: the node holds no operands, so dropping it in place has nothing to do; its cell
    // came from `pool::allocate` on this thread and is released once.
    unsafe { pool::release(node.cast()) };
}

#[inline(never)]
fn drop_unique_descendants(node: &mut Contrib) {
    let mut stack: Vec<ContribRef> = Vec::new();
    take_unique_children(node, &mut stack);
    while let Some(mut child) = stack.pop() {
        if let Some(owned) = child.get_mut() {
            take_unique_children(owned, &mut stack);
        }
        // `child` now holds no operands (or is shared): dropping it does not recurse.
    }
}

fn take_unique_children(node: &mut Contrib, stack: &mut Vec<ContribRef>) {
    for operand in &mut node.operands {
        if let Some(child) = operand.take() {
            if child.is_unique() {
                stack.push(child);
            }
        }
    }
}

/// Apply `f(operand ID, operand Contrib, partial)` to each edge of `contrib`, consuming it, and
/// return the number of edges. The paper's reverse pass applies a node's edges once; this is
/// that traversal. When `contrib` is uniquely held (the usual case during a resolve, where the
/// collector holds the only reference) the operands' Contribs are moved out rather than cloned,
/// and the node is freed without touching its children's reference counts.
#[inline]
pub(crate) fn for_each_edge(
    mut contrib: ContribRef,
    mut f: impl FnMut(Id, Option<ContribRef>, f64),
) -> u64 {
    let n = contrib.edge_count();
    match contrib.get_mut() {
        Some(owned) => {
            for k in 0..n {
                f(owned.ids[k], owned.operands[k].take(), owned.partials[k]);
            }
        }
        None => {
            for k in 0..n {
                f(
                    contrib.ids[k],
                    contrib.operands[k].clone(),
                    contrib.partials[k],
                );
            }
        }
    }
    n as u64
}

/// The active scalar of rungs 1–3: (value, ID, Contrib), tagged with its gradient's generation.
/// Outside a gradient call only constants exist.
#[derive(Clone)]
pub struct Dual {
    value: f64,
    generation: Generation,
    id: Id,
    contrib: Option<ContribRef>,
}

impl Dual {
    #[inline]
    fn is_active(&self) -> bool {
        self.generation != NO_GRADIENT
    }

    /// A new input of the running gradient (inputs get the first IDs, and no Contrib).
    fn input(value: f64) -> Dual {
        let (generation, id) = allocate_id(NO_GRADIENT, NO_GRADIENT);
        Dual {
            value,
            generation,
            id,
            contrib: None,
        }
    }

    /// The result of a one-operand operation with partial `dx`.
    #[inline(always)]
    fn unary(x: Dual, value: f64, dx: f64) -> Dual {
        if !x.is_active() {
            return Dual::constant(value);
        }
        let (generation, id) = allocate_id(x.generation, NO_GRADIENT);
        Dual {
            value,
            generation,
            id,
            contrib: Some(ContribRef::new(
                [x.id, NO_EDGE],
                [dx, 0.0],
                [x.contrib, None],
            )),
        }
    }

    /// The result of a two-operand operation with partials `dx`, `dy`; an inactive operand
    /// gets no edge.
    #[inline(always)]
    fn binary(x: Dual, y: Dual, value: f64, dx: f64, dy: f64) -> Dual {
        match (x.is_active(), y.is_active()) {
            (false, false) => Dual::constant(value),
            (true, false) => Dual::unary(x, value, dx),
            (false, true) => Dual::unary(y, value, dy),
            (true, true) => {
                let (generation, id) = allocate_id(x.generation, y.generation);
                Dual {
                    value,
                    generation,
                    id,
                    contrib: Some(ContribRef::new(
                        [x.id, y.id],
                        [dx, dy],
                        [x.contrib, y.contrib],
                    )),
                }
            }
        }
    }

    #[inline]
    fn take(&mut self) -> Dual {
        mem::replace(self, Dual::constant(0.0))
    }
}

impl fmt::Debug for Dual {
    /// Value, ID and generation only: printing the Contrib graph would recurse over its depth.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Dual");
        s.field("value", &self.value);
        if self.is_active() {
            s.field("id", &self.id)
                .field("generation", &self.generation)
                .field(
                    "edges",
                    &self.contrib.as_ref().map_or(0, |c| c.edge_count()),
                );
        }
        s.finish()
    }
}

impl PartialEq for Dual {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl PartialOrd for Dual {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl Add for Dual {
    type Output = Dual;
    #[inline(always)]
    fn add(self, rhs: Dual) -> Dual {
        let v = self.value + rhs.value;
        let (dx, dy) = partials::add();
        Dual::binary(self, rhs, v, dx, dy)
    }
}

impl Sub for Dual {
    type Output = Dual;
    #[inline(always)]
    fn sub(self, rhs: Dual) -> Dual {
        let v = self.value - rhs.value;
        let (dx, dy) = partials::sub();
        Dual::binary(self, rhs, v, dx, dy)
    }
}

impl Mul for Dual {
    type Output = Dual;
    #[inline(always)]
    fn mul(self, rhs: Dual) -> Dual {
        let (a, b) = (self.value, rhs.value);
        let (dx, dy) = partials::mul(a, b);
        Dual::binary(self, rhs, a * b, dx, dy)
    }
}

impl Div for Dual {
    type Output = Dual;
    #[inline(always)]
    fn div(self, rhs: Dual) -> Dual {
        let (a, b) = (self.value, rhs.value);
        let q = a / b;
        let (dx, dy) = partials::div(b, q);
        Dual::binary(self, rhs, q, dx, dy)
    }
}

impl Add<f64> for Dual {
    type Output = Dual;
    #[inline(always)]
    fn add(self, rhs: f64) -> Dual {
        let v = self.value + rhs;
        Dual::unary(self, v, partials::add_constant())
    }
}

impl Sub<f64> for Dual {
    type Output = Dual;
    #[inline(always)]
    fn sub(self, rhs: f64) -> Dual {
        let v = self.value - rhs;
        Dual::unary(self, v, partials::add_constant())
    }
}

impl Mul<f64> for Dual {
    type Output = Dual;
    #[inline(always)]
    fn mul(self, rhs: f64) -> Dual {
        let v = self.value * rhs;
        Dual::unary(self, v, partials::mul_constant(rhs))
    }
}

impl Div<f64> for Dual {
    type Output = Dual;
    #[inline(always)]
    fn div(self, rhs: f64) -> Dual {
        let v = self.value / rhs;
        Dual::unary(self, v, partials::div_constant(rhs))
    }
}

impl Neg for Dual {
    type Output = Dual;
    #[inline(always)]
    fn neg(self) -> Dual {
        let v = -self.value;
        Dual::unary(self, v, partials::neg())
    }
}

macro_rules! assign_via_binary {
    ($($Trait:ident $method:ident $op:tt $Rhs:ty;)*) => {$(
        impl $Trait<$Rhs> for Dual {
            #[inline(always)]
            fn $method(&mut self, rhs: $Rhs) {
                *self = self.take() $op rhs;
            }
        }
    )*};
}

assign_via_binary! {
    AddAssign add_assign + Dual;
    SubAssign sub_assign - Dual;
    MulAssign mul_assign * Dual;
    DivAssign div_assign / Dual;
    AddAssign add_assign + f64;
    SubAssign sub_assign - f64;
    MulAssign mul_assign * f64;
    DivAssign div_assign / f64;
}

impl Sum for Dual {
    fn sum<I: Iterator<Item = Dual>>(iter: I) -> Dual {
        iter.fold(Dual::constant(0.0), Add::add)
    }
}

impl Product for Dual {
    fn product<I: Iterator<Item = Dual>>(iter: I) -> Dual {
        iter.fold(Dual::constant(1.0), Mul::mul)
    }
}

impl Real for Dual {
    #[inline(always)]
    fn constant(value: f64) -> Self {
        Dual {
            value,
            generation: NO_GRADIENT,
            id: 0,
            contrib: None,
        }
    }
    #[inline(always)]
    fn value(&self) -> f64 {
        self.value
    }
    #[inline(always)]
    fn is_structural_zero(&self) -> bool {
        self.value == 0.0 && !self.is_active()
    }
    #[inline(always)]
    fn apply(&self, f: Unary) -> Self {
        // The value and the partial before the clone, whose reference count update would
        // otherwise stand between them: LLVM fuses a sine and a cosine of the same argument
        // into one `sincos` call only when nothing lies between the two.
        let y = f.value(self.value);
        let d = partials::unary(f, &self.value, &y);
        Dual::unary(self.clone(), y, d)
    }
    #[inline(always)]
    fn apply2(&self, other: &Self, f: Binary) -> Self {
        let r = f.value(self.value, other.value);
        let (dx, dy) = partials::binary(f, &self.value, &other.value, &r);
        Dual::binary(self.clone(), other.clone(), r, dx, dy)
    }
    #[inline(always)]
    fn powi(&self, n: i32) -> Self {
        Dual::unary(
            self.clone(),
            self.value.powi(n),
            partials::powi(&self.value, n),
        )
    }
}

impl<'a> Sum<&'a Dual> for Dual {
    fn sum<I: Iterator<Item = &'a Dual>>(iter: I) -> Dual {
        iter.fold(Dual::constant(0.0), |acc, x| acc + x.clone())
    }
}

impl<'a> Product<&'a Dual> for Dual {
    fn product<I: Iterator<Item = &'a Dual>>(iter: I) -> Dual {
        iter.fold(Dual::constant(1.0), |acc, x| acc * x.clone())
    }
}

impl Dual {
    /// `c - self`, a one-operand operation.
    #[inline(always)]
    fn f64_sub(self, c: f64) -> Dual {
        let v = c - self.value;
        Dual::unary(self, v, partials::neg())
    }
    /// `c / self`, a one-operand operation.
    #[inline(always)]
    fn f64_div(self, c: f64) -> Dual {
        let q = c / self.value;
        let d = partials::div(self.value, q).1;
        Dual::unary(self, q, d)
    }
}

crate::real::impl_constant_on_the_left!(Dual, add, f64_sub, mul, f64_div);

/// An output to start the reverse pass from: its ID, its Contrib (`None` if the output is an
/// input) and its cotangent (the output's component of the vector `w` of `w^T J`).
pub(crate) struct Seed {
    /// Which output it is.
    pub(crate) output: usize,
    pub(crate) id: Id,
    pub(crate) contrib: Option<ContribRef>,
    pub(crate) cotangent: f64,
}

/// The seeded outputs of one call (inline for up to four outputs).
pub(crate) type Seeds = SmallVec<[Seed; 4]>;

/// The gradient driver shared by rungs 1–3: the forward pass ([`forward_pass`]), then the
/// rung's own `resolve` (its reverse pass and collector, the part that differs between rungs).
/// `resolve` receives the seeded outputs, n and the number of IDs, appends the gradient to the
/// vector it is given and reports its counters to the probe; the driver reports the forward
/// pass's (`ids_allocated`, `resolves`).
#[inline]
pub(crate) fn differentiate<P, Q, F>(
    program: &P,
    x: &[f64],
    cotangent: &[f64],
    out: &mut Derivatives,
    probe: &mut Q,
    resolve: F,
) where
    P: Program,
    Q: Probe,
    F: FnOnce(Seeds, usize, Id, &mut Vec<f64>, &mut Q),
{
    probe.forward_starts();
    let (seeds, ids_allocated) = forward_pass(program, x, cotangent, &mut out.value);
    probe.reverse_starts();
    if Q::COUNTS {
        probe.counters(&[("ids_allocated", u64::from(ids_allocated)), ("resolves", 1)]);
    }
    resolve(seeds, x.len(), ids_allocated, &mut out.derivative, probe);
    probe.finished();
}

/// The Jacobian driver shared by rungs 1–3: one forward pass builds the Contrib graph of all m
/// outputs, then `resolve` runs once per output j, seeded with output j alone (cotangent 1),
/// appending row j to `out.derivative` (emptied first).
///
/// The graph is not rebuilt between rows. While row j is resolved, the seeds of the later
/// rows still hold their outputs' Contribs, so every node they reach is shared and is read,
/// not consumed (`for_each_edge` clones the operands of a shared node and moves those of a
/// unique one); the nodes only earlier rows reach are freed as their rows are resolved.
#[inline]
pub(crate) fn jacobian<P, Q, F>(
    program: &P,
    x: &[f64],
    out: &mut Derivatives,
    probe: &mut Q,
    mut resolve: F,
) where
    P: Program,
    Q: Probe,
    F: FnMut(Seeds, usize, Id, &mut Vec<f64>, &mut Q),
{
    let m = program.output_len();
    check_inputs(program.input_len(), x);
    out.clear();
    probe.forward_starts();
    let unit: SmallVec<[f64; 4]> = smallvec::smallvec![1.0; m];
    let (seeds, ids_allocated) = forward_pass(program, x, &unit, &mut out.value);
    probe.reverse_starts();
    if Q::COUNTS {
        probe.counters(&[
            ("ids_allocated", u64::from(ids_allocated)),
            ("resolves", m as u64),
        ]);
    }
    let mut seeds = seeds.into_iter().peekable();
    for row in 0..m {
        let mut seed = Seeds::new();
        if let Some(s) = seeds.next_if(|s| s.output == row) {
            seed.push(s);
        }
        resolve(seed, x.len(), ids_allocated, &mut out.derivative, probe);
    }
    probe.finished();
}

/// Lift `x` to inputs with IDs `0..n`, evaluate `program` in a fresh gradient scope, write the
/// output values into `value` and pair each active output with its cotangent. Every active
/// output is seeded, whatever its cotangent, so the work of a vector-Jacobian product does not
/// depend on the values in `w`. Returns the seeds and the number of IDs allocated.
#[inline]
fn forward_pass<P: Program>(
    program: &P,
    x: &[f64],
    cotangent: &[f64],
    value: &mut Vec<f64>,
) -> (Seeds, Id) {
    let m = program.output_len();
    check_lengths(program.input_len(), m, x, cotangent);
    let scope = GradientScope::enter();
    let inputs: Vec<Dual> = x.iter().map(|&v| Dual::input(v)).collect();
    let outputs = program.eval(&inputs);
    if outputs.len() != m {
        panic!(
            "the program returned {} outputs but declares {m}",
            outputs.len()
        );
    }
    let running = FRAME.with(|frame| frame.get().generation);
    let ids_allocated = scope.ids_allocated();
    drop(inputs);
    drop(scope);
    value.clear();
    let mut seeds = Seeds::new();
    for (index, (output, &w)) in outputs.into_iter().zip(cotangent).enumerate() {
        value.push(output.value);
        if output.is_active() {
            if output.generation != running {
                foreign_value(output.generation, running);
            }
            seeds.push(Seed {
                output: index,
                id: output.id,
                contrib: output.contrib,
                cotangent: w,
            });
        }
    }
    (seeds, ids_allocated)
}

/// The ID -> (Contrib, accumulated cotangent) map of rungs 1–3 (the paper's staging map,
/// introduced by linear factoring): an ordered map, so that the reverse pass can take the
/// largest pending ID, whose cotangent is then complete because every user has a larger ID.
///
/// It is persistent, as the paper's `Data.Map` is: every `insertWith` and every
/// delete-the-maximum builds a new version of the map by path copying — O(log T) newly
/// allocated nodes — and the previous version is dropped. An in-place ordered map would have
/// the same O(log T) bound with a smaller constant (no allocation per update), flattering the
/// three rungs that use it; rung 4 is the step that replaces the map by a mutable array.
#[derive(Default)]
pub(crate) struct StagingMap {
    pending: RedBlackTreeMap<Id, (Option<ContribRef>, f64)>,
}

impl StagingMap {
    /// Add `cotangent` to the entry of `id`, creating it with `contrib` if absent (the paper's
    /// `insertWith (+)`): a new version of the map replaces the old one.
    pub(crate) fn stage(&mut self, id: Id, contrib: Option<ContribRef>, cotangent: f64) {
        let entry = match self.pending.get(&id) {
            Some((staged, sum)) => (staged.clone(), sum + cotangent),
            None => (contrib, cotangent),
        };
        self.pending = self.pending.insert(id, entry);
    }

    /// Remove and return the entry with the largest ID: (ID, Contrib, accumulated cotangent).
    /// The new version of the map no longer holds the Contrib, so once the old version is
    /// dropped the caller holds its only reference.
    pub(crate) fn pop_max(&mut self) -> Option<(Id, Option<ContribRef>, f64)> {
        let (&id, (contrib, cotangent)) = self.pending.last()?;
        let popped = (id, contrib.clone(), *cotangent);
        self.pending = self.pending.remove(&id);
        Some(popped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_in_scope(value: f64) -> Dual {
        Dual::input(value)
    }

    /// The ladder rungs' scalar records each mixed operation with the constant on the left
    /// as one edge to its operand, with the shared partial.
    #[test]
    fn constants_on_the_left_are_one_edge_with_the_shared_partial() {
        use crate::test_programs::{constants_on_the_left, constants_on_the_left_expected};
        for x in [0.75, -2.5] {
            let (values, derivatives) = constants_on_the_left_expected(x);
            let _scope = GradientScope::enter();
            let input = input_in_scope(x);
            for (k, y) in constants_on_the_left(&input).iter().enumerate() {
                let node = y.contrib.as_ref().expect("an active result");
                assert_eq!(y.value(), values[k], "{k}");
                assert_eq!(node.edge_count(), 1, "{k}");
                assert_eq!(
                    (node.ids[0], node.partials[0]),
                    (input.id, derivatives[k]),
                    "{k}"
                );
            }
        }
    }

    #[test]
    fn values_outside_a_gradient_are_constants_without_ids() {
        let x = Dual::constant(2.0);
        let y = x.clone() * x.sin() + 1.0;
        assert!(!y.is_active());
        assert!(y.contrib.is_none());
        assert_eq!(y.value(), 2.0 * 2.0f64.sin() + 1.0);
    }

    #[test]
    fn ids_follow_operands_and_constants_get_none() {
        let _scope = GradientScope::enter();
        let x = input_in_scope(3.0);
        let c = Dual::constant(2.0);
        let y = c.clone() * x.clone();
        let z = y.clone() + x.clone();
        let k = c.clone() + c;
        assert_eq!((x.id, y.id, z.id), (0, 1, 2));
        assert!(!k.is_active());
        assert_eq!(y.contrib.as_ref().unwrap().edge_count(), 1);
        assert_eq!(z.contrib.as_ref().unwrap().edge_count(), 2);
    }

    #[test]
    fn a_nested_gradient_restores_the_outer_counter() {
        let outer = GradientScope::enter();
        let x = input_in_scope(1.0);
        let _y = x.clone() + x.clone();
        {
            let inner = GradientScope::enter();
            let a = input_in_scope(5.0);
            let b = a.sin();
            assert_eq!((a.id, b.id), (0, 1));
            assert_eq!(inner.ids_allocated(), 2);
        }
        let z = x.clone() * 2.0;
        assert_eq!(z.id, 2);
        assert_eq!(outer.ids_allocated(), 3);
    }

    #[test]
    #[should_panic(expected = "used outside the gradient call that created it")]
    fn a_value_from_a_finished_gradient_panics_in_a_later_one() {
        let stale = {
            let _first = GradientScope::enter();
            input_in_scope(1.0)
        };
        let _second = GradientScope::enter();
        let _ = stale.sin();
    }

    /// A 32-bit generation wrapped after 2^32 gradients of a thread, so that a stale value
    /// passed the check of the gradient that drew its generation again and added its node's
    /// edges to that gradient's slots: a silently wrong derivative.
    #[test]
    #[should_panic(expected = "used outside the gradient call that created it")]
    fn a_stale_value_is_refused_by_the_gradient_2_to_the_32_generations_later() {
        let stale = {
            let _first = GradientScope::enter();
            input_in_scope(1.0)
        };
        LAST_GENERATION.with(|last| last.set(stale.generation + (1 << 32) - 1));
        let _second = GradientScope::enter();
        let fresh = input_in_scope(1.0);
        assert_eq!(fresh.generation as u32, stale.generation as u32);
        let _ = stale.sin();
    }

    #[test]
    #[should_panic(expected = "and no gradient is running")]
    fn a_value_from_a_finished_gradient_panics_outside_any_gradient() {
        let stale = {
            let _scope = GradientScope::enter();
            input_in_scope(1.0)
        };
        let _ = stale * 2.0;
    }

    #[test]
    #[should_panic(expected = "nor be carried into a nested one")]
    fn an_outer_value_panics_inside_a_nested_gradient() {
        let _outer = GradientScope::enter();
        let x = input_in_scope(1.0);
        let _inner = GradientScope::enter();
        let y = input_in_scope(2.0);
        let _ = x + y;
    }

    #[test]
    fn a_node_is_its_edges_and_nothing_more() {
        // Two (ID, Contrib, partial) edges, unpadded, and the count: 2 * (4 + 8 + 8) + 8 bytes.
        assert_eq!(mem::size_of::<Contrib>(), 48);
        assert_eq!(mem::size_of::<Dual>(), 32);
    }

    #[test]
    fn dropping_a_long_unshared_chain_does_not_recurse() {
        let _scope = GradientScope::enter();
        let mut v = input_in_scope(0.5);
        for _ in 0..1_000_000 {
            v = v.sin();
        }
        drop(v);
    }

    #[test]
    fn dropping_a_long_chain_that_uses_each_value_twice_does_not_recurse() {
        // Each node holds its operand twice: the node is the operand's only holder, through
        // two references.
        let _scope = GradientScope::enter();
        let mut v = input_in_scope(1.0);
        for _ in 0..1_000_000 {
            v = v.clone() * v;
        }
        drop(v);
    }

    #[test]
    fn staging_map_accumulates_and_pops_the_largest_id_first() {
        let mut map = StagingMap::default();
        map.stage(3, None, 1.0);
        map.stage(7, None, 2.0);
        map.stage(3, None, 0.5);
        assert_eq!(map.pop_max().map(|(id, _, c)| (id, c)), Some((7, 2.0)));
        assert_eq!(map.pop_max().map(|(id, _, c)| (id, c)), Some((3, 1.5)));
        assert!(map.pop_max().is_none());
    }
}
