//! Fork-join (task-parallel) programs: each is a [`ParProgram`], whose branches
//! [`ParReal::join`] may run on two threads, together with its sequential twin, the same type's
//! [`Program`], which performs exactly the same primitive operations in the same order as the
//! fork-join form does when every `join` runs its first branch and then its second. The
//! registry holds them as [`ForkJoin`]s: strategies with a fork-join form (`primal`, `forward`,
//! `tape`, `dualrev-par`) run the [`ParProgram`] (only `primal` and `dualrev-par` in parallel),
//! every other strategy runs the twin.
//!
//! - `fparticles` ([`ParticleSimulation`]): the JFP 2025 paper's benchmark, independent particles
//!   simulated as parallel tasks, forked as a chain (the paper's) or a balanced tree
//!   ([`ParticleFork`]).
//! - `par-tree` ([`TreeSumOfSquares`]): a divide-and-conquer reduction over an expensive
//!   per-element function.
//! - `random-fork-join` ([`SeededForkJoin`]): seeded random series-parallel programs whose
//!   parallel branches read values of any ancestor.
//!
//! Time steps, iterations and sequences of operations are loops; only the fork structure
//! recurses: once per particle, once per halving of an index range, once per nested split (at
//! most 6 deep).

use std::iter;
use std::ops::Range;

use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use strategies::{ForkJoin, Outputs, ParProgram, ParReal, Program, Real};

use crate::inputs::{instance, integer_param, seeded, uniform};
use crate::{Family, Instance, ParamSpec, Params, SizeSpec, Workload};

/// The time step of `fparticles`' explicit Euler integration.
const TIME_STEP: f64 = 0.05;
/// The spring constant of `fparticles`' force: a = -SPRING pos - DAMPING vel (mass 1).
const SPRING: f64 = 0.5;
/// The damping constant of `fparticles`' force.
const DAMPING: f64 = 0.2;
/// Scalars per particle in `fparticles`' input: px, py, vx, vy.
const PARTICLE_STATE: usize = 4;

/// `particles` particles in the plane, each integrated independently for `steps` explicit Euler
/// steps under a damped spring force towards the origin, a = -0.5 pos - 0.2 vel (mass 1), with
/// pos' = pos + dt vel and vel' = vel + dt a, both from the old pos and vel, dt = 0.05. The
/// output is the sum over the particles of x · y of the final position.
///
/// Fork-join form, by [`ParticleFork`]: as a right-nested chain (the paper's),
/// join(simulate p_0, join(simulate p_1, ...)), whose sum is p_0 + (p_1 + (... + p_{count-1}));
/// or as a balanced binary tree, the particle list split in halves (the first ⌊count / 2⌋
/// particles, then the rest) whose sums are joined and added, down to single particles. Each
/// join's two results are added. The twin recurses over the particles in the same way and runs
/// both branches of each join in order.
///
/// Input: `particles` (count × 4: px, py, vx, vy per particle). T = count · (14 steps + 2) − 1
/// under either fork: 7 operations per coordinate and step, one product per particle, and
/// count − 1 additions (one per join; a chain and a binary tree over count particles both have
/// count − 1 joins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParticleSimulation {
    particles: usize,
    steps: usize,
    fork: ParticleFork,
}

/// How `fparticles` forks its particles into parallel tasks (its parameter `fork`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParticleFork {
    /// A right-nested chain, join(p_0, join(p_1, ...)): the JFP 2025 paper's, whose critical
    /// path has count − 1 joins.
    #[default]
    Chain,
    /// A balanced binary tree of joins over halves of the particle list (the first ⌊count / 2⌋
    /// particles first), whose critical path has ⌈log2 count⌉ joins.
    Balanced,
}

impl ParticleFork {
    /// Every fork, in the order of the names of `fparticles`' parameter `fork` (its value is
    /// the index here).
    pub const ALL: [ParticleFork; 2] = [ParticleFork::Chain, ParticleFork::Balanced];

    /// The names of [`ParticleFork::ALL`], as written in `--param fork=...`.
    pub const NAMES: [&'static str; 2] = ["chain", "balanced"];

    /// The fork whose index in [`ParticleFork::ALL`] is `index` (the value of the parameter
    /// `fork`), if there is one.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// Its name, as written in `--param fork=...`.
    pub fn name(self) -> &'static str {
        match self {
            ParticleFork::Chain => Self::NAMES[0],
            ParticleFork::Balanced => Self::NAMES[1],
        }
    }
}

impl ParticleSimulation {
    /// `particles` particles (at least one), integrated for `steps` steps, forked as a chain.
    pub fn new(particles: usize, steps: usize) -> Self {
        Self {
            particles: particles.max(1),
            steps,
            fork: ParticleFork::Chain,
        }
    }

    /// The same simulation with its particles forked as `fork`.
    pub fn with_fork(self, fork: ParticleFork) -> Self {
        Self { fork, ..self }
    }

    /// The workload's input: particle i = 1..=count at position (0.5 i, 0.1) with velocity
    /// (1, 1).
    pub fn input(&self) -> Vec<f64> {
        (1..=self.particles)
            .flat_map(|i| [0.5 * i as f64, 0.1, 1.0, 1.0])
            .collect()
    }
}

/// One explicit Euler step of one coordinate: (pos + dt vel, vel + dt a) with
/// a = -SPRING pos - DAMPING vel, from the old position and velocity. 7 operations.
fn euler_step<R: Real>(position: R, velocity: R) -> (R, R) {
    let acceleration = position.clone() * -SPRING - velocity.clone() * DAMPING;
    (
        position + velocity.clone() * TIME_STEP,
        velocity + acceleration * TIME_STEP,
    )
}

/// x · y of the final position of the particle whose state (px, py, vx, vy) is `state`, after
/// `steps` steps: 14 steps + 1 operations.
fn simulate_particle<R: Real>(state: &[R], steps: usize) -> R {
    let (mut px, mut py) = (state[0].clone(), state[1].clone());
    let (mut vx, mut vy) = (state[2].clone(), state[3].clone());
    for _ in 0..steps {
        (px, vx) = euler_step(px, vx);
        (py, vy) = euler_step(py, vy);
    }
    px * py
}

/// The twin of [`par_particle_sum`]: the same right-nested recursion, both halves in order.
fn chain_particle_sum<R: Real>(states: &[R], steps: usize) -> R {
    if states.len() <= PARTICLE_STATE {
        return simulate_particle(states, steps);
    }
    let (first, rest) = states.split_at(PARTICLE_STATE);
    let head = simulate_particle(first, steps);
    let tail = chain_particle_sum(rest, steps);
    head + tail
}

/// The sum of x · y over the particles of `states`: the first particle forked against the
/// rest, recursively.
fn par_chain_particle_sum<R: ParReal>(states: &[R], steps: usize) -> R {
    if states.len() <= PARTICLE_STATE {
        return simulate_particle(states, steps);
    }
    let (first, rest) = states.split_at(PARTICLE_STATE);
    let (head, tail) = R::join(
        || simulate_particle(first, steps),
        || par_chain_particle_sum(rest, steps),
    );
    head + tail
}

/// The twin of [`par_balanced_particle_sum`]: the same halving, both halves in order.
fn balanced_particle_sum<R: Real>(states: &[R], steps: usize) -> R {
    let count = states.len() / PARTICLE_STATE;
    if count <= 1 {
        return simulate_particle(states, steps);
    }
    let (first, rest) = states.split_at(count / 2 * PARTICLE_STATE);
    let first = balanced_particle_sum(first, steps);
    let rest = balanced_particle_sum(rest, steps);
    first + rest
}

/// The sum of x · y over the particles of `states`: the first ⌊count / 2⌋ particles forked
/// against the rest, recursively down to single particles.
fn par_balanced_particle_sum<R: ParReal>(states: &[R], steps: usize) -> R {
    let count = states.len() / PARTICLE_STATE;
    if count <= 1 {
        return simulate_particle(states, steps);
    }
    let (first, rest) = states.split_at(count / 2 * PARTICLE_STATE);
    let (first, rest) = R::join(
        || par_balanced_particle_sum(first, steps),
        || par_balanced_particle_sum(rest, steps),
    );
    first + rest
}

impl Program for ParticleSimulation {
    fn input_len(&self) -> usize {
        PARTICLE_STATE * self.particles
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let sum = match self.fork {
            ParticleFork::Chain => chain_particle_sum(x, self.steps),
            ParticleFork::Balanced => balanced_particle_sum(x, self.steps),
        };
        strategies::outputs![sum]
    }
}

impl ParProgram for ParticleSimulation {
    fn input_len(&self) -> usize {
        PARTICLE_STATE * self.particles
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let sum = match self.fork {
            ParticleFork::Chain => par_chain_particle_sum(x, self.steps),
            ParticleFork::Balanced => par_balanced_particle_sum(x, self.steps),
        };
        strategies::outputs![sum]
    }
}

/// `fparticles`: the JFP 2025 paper's particle benchmark, one parallel task per particle; see
/// [`ParticleSimulation`]. Size: the number of steps; parameters `particles` (default 4) and
/// `fork` (`chain`, the default and the paper's, or `balanced`; [`ParticleFork`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fparticles;

impl Workload for Fparticles {
    fn name(&self) -> &'static str {
        "fparticles"
    }
    fn description(&self) -> &'static str {
        "independent 2-D particles, explicit Euler steps, one fork-join task per particle"
    }
    fn family(&self) -> Family {
        Family::Parallel
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "the number of Euler steps of each particle",
            default: 1000,
            min: 1,
            max: 100_000,
            verify: &[1, 5, 10],
            sweep: &[100, 200, 500, 1000, 2000, 5000],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[
            ParamSpec {
                name: "particles",
                meaning: "the number of particles (one parallel task each)",
                default: 4.0,
                integer: true,
                min: 1.0,
                max: 64.0,
                choices: &[],
            },
            ParamSpec {
                name: "fork",
                meaning: "how the particles are forked: chain, right-nested (the paper's), or \
                          balanced, a binary tree of halves",
                default: 0.0,
                integer: true,
                min: 0.0,
                max: 1.0,
                choices: &ParticleFork::NAMES,
            },
        ]
    }
    fn build(&self, steps: usize, params: &Params) -> Instance {
        let fork = ParticleFork::from_index(integer_param(params, "fork"))
            .expect("instantiate accepts only the index of a fork");
        let program =
            ParticleSimulation::new(integer_param(params, "particles"), steps).with_fork(fork);
        let input = program.input();
        let layout = [("particles", input.len())];
        instance(Some(steps), params, &layout, input, ForkJoin(program))
    }
}

/// Σᵢ f(xᵢ)² over the n inputs x, where f iterates v ← 0.9 sin v + 0.1 xᵢ `work` times from
/// v = xᵢ (values stay in [−1, 1]; f′ > 0), summed by divide and conquer: a range of more than
/// `grain` elements is split in halves (the first half ⌊len / 2⌋ elements) whose sums are
/// computed by `join` and added; a range of at most `grain` elements is summed in order,
/// starting from its first term. The squares make every leaf value used twice.
///
/// Input: `x` (n). T = n (3 work + 3) − 1: per element one product 0.1 xᵢ, 3 operations per
/// iteration and one square; n − 1 additions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeSumOfSquares {
    elements: usize,
    work: usize,
    grain: usize,
}

impl TreeSumOfSquares {
    /// `elements` inputs (at least one), `work` iterations per element, ranges of at most
    /// `grain` elements (at least one) summed sequentially.
    pub fn new(elements: usize, work: usize, grain: usize) -> Self {
        Self {
            elements: elements.max(1),
            work,
            grain: grain.max(1),
        }
    }
}

/// f(x) = v after `work` iterations of v ← 0.9 sin v + 0.1 x from v = x: 3 work + 1
/// operations.
fn iterate_element<R: Real>(x: &R, work: usize) -> R {
    let pull = x.clone() * 0.1;
    let mut v = x.clone();
    for _ in 0..work {
        v = v.sin() * 0.9 + pull.clone();
    }
    v
}

/// Σ f(xᵢ)² over a non-empty range, in order, starting from its first term.
fn grain_sum<R: Real>(x: &[R], work: usize) -> R {
    let mut terms = x.iter().map(|xi| iterate_element(xi, work).square());
    let first = terms
        .next()
        .expect("a range of the reduction is never empty");
    terms.fold(first, |sum, term| sum + term)
}

/// The twin of [`par_tree_sum`]: the same halving, both halves in order.
fn tree_sum<R: Real>(x: &[R], work: usize, grain: usize) -> R {
    if x.len() <= grain {
        return grain_sum(x, work);
    }
    let (left, right) = x.split_at(x.len() / 2);
    let left = tree_sum(left, work, grain);
    let right = tree_sum(right, work, grain);
    left + right
}

/// Σ f(xᵢ)² over a non-empty range: its halves forked with `join` down to `grain` elements.
fn par_tree_sum<R: ParReal>(x: &[R], work: usize, grain: usize) -> R {
    if x.len() <= grain {
        return grain_sum(x, work);
    }
    let (left, right) = x.split_at(x.len() / 2);
    let (left, right) = R::join(
        || par_tree_sum(left, work, grain),
        || par_tree_sum(right, work, grain),
    );
    left + right
}

impl Program for TreeSumOfSquares {
    fn input_len(&self) -> usize {
        self.elements
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        strategies::outputs![tree_sum(x, self.work, self.grain)]
    }
}

impl ParProgram for TreeSumOfSquares {
    fn input_len(&self) -> usize {
        self.elements
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        strategies::outputs![par_tree_sum(x, self.work, self.grain)]
    }
}

/// `par-tree`: a parallel divide-and-conquer sum of squares of an iterated per-element
/// function; see [`TreeSumOfSquares`]. Size n; parameters `work` (default 64) and `grain`
/// (default 16).
#[derive(Clone, Copy, Debug, Default)]
pub struct ParTree;

impl Workload for ParTree {
    fn name(&self) -> &'static str {
        "par-tree"
    }
    fn description(&self) -> &'static str {
        "divide-and-conquer sum of squares of an iterated sine, halves forked down to a grain"
    }
    fn family(&self) -> Family {
        Family::Parallel
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of elements",
            default: 1024,
            min: 1,
            max: 1 << 20,
            verify: &[1, 20, 64],
            sweep: &[64, 256, 1024, 4096, 16_384, 65_536],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[
            ParamSpec {
                name: "work",
                meaning: "iterations of the per-element function",
                default: 64.0,
                integer: true,
                min: 1.0,
                max: 10_000.0,
                choices: &[],
            },
            ParamSpec {
                name: "grain",
                meaning: "ranges of at most this many elements are summed without forking",
                default: 16.0,
                integer: true,
                min: 1.0,
                max: 1_048_576.0,
                choices: &[],
            },
        ]
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let work = integer_param(params, "work");
        let grain = integer_param(params, "grain");
        let input = uniform(&mut seeded(0), n, -1.0, 1.0);
        let program = TreeSumOfSquares::new(n, work, grain);
        instance(Some(n), params, &[("x", n)], input, ForkJoin(program))
    }
}

/// One primitive step of a random fork-join program. Each maps operands in [−1, 1] to a result
/// in [−1, 1], and the ones with a constant shift keep long chains away from 0.
#[derive(Clone, Copy, Debug, PartialEq)]
enum OpKind {
    /// sin a.
    Sin,
    /// cos a.
    Cos,
    /// tanh a.
    Tanh,
    /// a · c for a constant |c| < 1.
    Scale(f64),
    /// a · b.
    Mul,
    /// (a + b) · 0.5.
    Mean,
    /// (a − b) · 0.5.
    HalfDifference,
    /// sin(a + b).
    SinOfSum,
    /// exp(a − 1).
    ShiftedExp,
    /// sqrt(a² + 1) · 0.7.
    ScaledHypot,
    /// a / (b² + 1).
    Damped,
}

impl OpKind {
    /// Every kind, the constant of `Scale` drawn separately from [`SCALES`].
    const ALL: [OpKind; 11] = [
        OpKind::Sin,
        OpKind::Cos,
        OpKind::Tanh,
        OpKind::Scale(1.0),
        OpKind::Mul,
        OpKind::Mean,
        OpKind::HalfDifference,
        OpKind::SinOfSum,
        OpKind::ShiftedExp,
        OpKind::ScaledHypot,
        OpKind::Damped,
    ];

    /// The primitive operations it performs (its share of T).
    fn cost(self) -> usize {
        match self {
            OpKind::Sin | OpKind::Cos | OpKind::Tanh | OpKind::Scale(_) | OpKind::Mul => 1,
            OpKind::Mean | OpKind::HalfDifference | OpKind::SinOfSum | OpKind::ShiftedExp => 2,
            OpKind::Damped => 3,
            OpKind::ScaledHypot => 4,
        }
    }

    /// Whether it reads a second operand.
    fn is_binary(self) -> bool {
        matches!(
            self,
            OpKind::Mul | OpKind::Mean | OpKind::HalfDifference | OpKind::SinOfSum | OpKind::Damped
        )
    }
}

/// The constants of [`OpKind::Scale`].
const SCALES: [f64; 3] = [0.5, -0.75, 0.9];

/// One operation of a random fork-join program: its kind applied to the values at indices `a`
/// and (binary kinds only) `b`; the result is appended to the running block's values.
#[derive(Clone, Copy, Debug, PartialEq)]
struct RandomOp {
    kind: OpKind,
    a: usize,
    b: usize,
}

impl RandomOp {
    /// The result, reading the operands from `frame`; shared by the twin and the fork-join
    /// interpreter.
    fn apply<R: Real>(&self, frame: &impl Frame<R>) -> R {
        let a = frame.value(self.a).clone();
        let b = || frame.value(self.b).clone();
        match self.kind {
            OpKind::Sin => a.sin(),
            OpKind::Cos => a.cos(),
            OpKind::Tanh => a.tanh(),
            OpKind::Scale(c) => a * c,
            OpKind::Mul => a * b(),
            OpKind::Mean => (a + b()) * 0.5,
            OpKind::HalfDifference => (a - b()) * 0.5,
            OpKind::SinOfSum => (a + b()).sin(),
            OpKind::ShiftedExp => (a - 1.0).exp(),
            OpKind::ScaledHypot => (a.square() + 1.0).sqrt() * 0.7,
            OpKind::Damped => a / (b().square() + 1.0),
        }
    }
}

/// One step of a block: an operation, or a split into two sub-programs.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// Append one value.
    Op(RandomOp),
    /// Run two blocks (in parallel in the fork-join form) and append their results, the
    /// left's first.
    Split(Split),
}

/// Two sub-programs forked at one point of a block. Both may read every value the block can
/// read at that point: its own and its ancestors', numbered below L (the block's next index).
/// The left block's own values are numbered from L, the right block's from L + (the left's
/// result count), so that the twin can keep the left's results in place while the right runs;
/// neither branch reads the other's values, so the right branch and its descendants never read
/// the indices L .. L + (the left's result count).
#[derive(Clone, Debug, PartialEq)]
struct Split {
    left: Block,
    right: Block,
}

/// A sequence of steps whose results are its last `results` values.
#[derive(Clone, Debug, PartialEq)]
struct Block {
    steps: Vec<Step>,
    results: usize,
}

impl Block {
    /// Run every step in `frame`: the one loop shared by the twin and the fork-join form,
    /// which differ only in how a frame runs a split.
    fn run<R: Real>(&self, frame: &mut impl Frame<R>) {
        for step in &self.steps {
            match step {
                Step::Op(op) => {
                    let value = op.apply(frame);
                    frame.push(value);
                }
                Step::Split(split) => frame.split(split),
            }
        }
    }

    /// How many values it appends to a pool (its steps' values, a split counting its two
    /// result lists).
    fn appended(&self) -> usize {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Op(_) => 1,
                Step::Split(split) => split.left.results + split.right.results,
            })
            .sum()
    }

    /// The most values the twin's pool holds while this block runs, started on a pool of
    /// `start` values.
    fn twin_peak(&self, start: usize) -> usize {
        let mut len = start;
        let mut peak = start;
        for step in &self.steps {
            match step {
                Step::Op(_) => len += 1,
                Step::Split(split) => {
                    peak = peak.max(split.left.twin_peak(len));
                    len += split.left.results;
                    peak = peak.max(split.right.twin_peak(len));
                    len += split.right.results;
                }
            }
            peak = peak.max(len);
        }
        peak
    }
}

/// Where a block runs: the values it can read by index, where it appends, and how it runs a
/// split.
trait Frame<R: Real> {
    /// The value at `index` (an ancestor's or the block's own).
    fn value(&self, index: usize) -> &R;
    /// Append a value of the running block.
    fn push(&mut self, value: R);
    /// Run the two blocks of `split` and append their results, the left's first.
    fn split(&mut self, split: &Split);
}

/// The twin's frame: one pool of every readable value, indexed directly. A split runs its left
/// block on the pool, drops the left's values but its results, runs the right block after them,
/// and drops the right's values but its results.
struct SequentialPool<R> {
    values: Vec<R>,
}

impl<R: Real> Frame<R> for SequentialPool<R> {
    fn value(&self, index: usize) -> &R {
        &self.values[index]
    }
    fn push(&mut self, value: R) {
        self.values.push(value);
    }
    fn split(&mut self, split: &Split) {
        for block in [&split.left, &split.right] {
            let start = self.values.len();
            block.run(self);
            let kept = self.values.len() - block.results;
            self.values.drain(start..kept);
        }
    }
}

/// The fork-join form's frame: the values of one running block (numbered from `base`) and the
/// frame of the block it was forked from, which holds every value below `base` that it may read.
struct Scope<'a, R> {
    outer: Option<&'a Scope<'a, R>>,
    base: usize,
    values: Vec<R>,
}

impl<R: ParReal> Frame<R> for Scope<'_, R> {
    fn value(&self, index: usize) -> &R {
        let mut scope = self;
        while index < scope.base {
            scope = scope
                .outer
                .expect("a block reads only its own values and those of the blocks enclosing it");
        }
        &scope.values[index - scope.base]
    }
    fn push(&mut self, value: R) {
        self.values.push(value);
    }
    fn split(&mut self, split: &Split) {
        let visible = self.base + self.values.len();
        let outer = &*self;
        let (left, right) = R::join(
            || run_branch(&split.left, outer, visible),
            || run_branch(&split.right, outer, visible + split.left.results),
        );
        self.values.extend(left);
        self.values.extend(right);
    }
}

/// Run `block` forked from `outer`, its own values numbered from `base`, and return its
/// results.
fn run_branch<'a, R: ParReal>(block: &Block, outer: &'a Scope<'a, R>, base: usize) -> Outputs<R> {
    let mut scope = Scope {
        outer: Some(outer),
        base,
        values: Vec::with_capacity(block.appended()),
    };
    block.run(&mut scope);
    let first_result = scope.values.len() - block.results;
    scope.values.drain(first_result..).collect()
}

/// The most values a branch returns to the block that forked it.
const MOST_RESULTS: usize = 3;
/// Splits nest at most this deep.
const MOST_DEPTH: usize = 6;
/// The smallest operation budget of a split (its two branches together).
const SMALLEST_SPLIT_BUDGET: usize = 4;
/// The chance that a block's next step is a split (where one is allowed).
const SPLIT_CHANCE: f64 = 0.1;
/// The chance that a second operand is one of the [`RECENT_WINDOW`] values before the block's
/// latest rather than one drawn uniformly from every value it can read.
const RECENT_OPERAND_CHANCE: f64 = 0.5;
/// How many of the values before a block's latest a recent second operand is drawn from.
const RECENT_WINDOW: usize = 4;

/// A seeded random fork-join program over the inputs `x` (n values): a series-parallel program
/// whose root block (its first values are the inputs) is a random sequence of primitive
/// operations and binary splits.
///
/// - A block is a chain: an operation's first operand is the block's latest value; a branch's
///   first operation continues from the forking block's latest value (the left branch) or from
///   any value the forking block can read (the right branch). A binary operation's second
///   operand is, with probability ½, one of the 4 values before the block's latest, and
///   otherwise uniform over every value the block can read: its own and those of *every*
///   enclosing block, not only its parent's latest.
/// - A split forks two branches, each a random block of the same kind (splits nest up to 6
///   deep), spending between them a random part of the block's budget; each returns its last 1
///   to 3 values, which the continuation appends to its own (the left's first), and the next
///   operation combines them: a random binary operation of the right branch's last result and
///   the left branch's. So every operation is needed by the last output, and parallel branches
///   contribute into the same ancestor values.
/// - The operations (sin, cos, tanh, scaling by 0.5, −0.75 or 0.9, a · b, (a ± b) / 2,
///   sin(a + b), exp(a − 1), 0.7 sqrt(a² + 1), a / (b² + 1)) keep every value in [−1, 1].
///
/// The outputs are the last m values of the root block, m = 1 (probability 0.6), 2 or 3 (0.2
/// each), at most the number of values the root computes. The generator spends an operation
/// budget of exactly `size`, so T = size.
#[derive(Clone, Debug, PartialEq)]
pub struct SeededForkJoin {
    inputs: usize,
    outputs: usize,
    root: Block,
    /// The most values the twin's pool holds, so that it allocates once.
    twin_capacity: usize,
}

impl SeededForkJoin {
    /// Draw a program over `inputs` inputs (at least one) with T = `size` from ChaCha8 with
    /// `seed`.
    pub fn generate(inputs: usize, size: usize, seed: u64) -> Self {
        let inputs = inputs.max(1);
        let mut generator = Generator { rng: seeded(seed) };
        let wanted_outputs = match generator.rng.random_range(0..10) {
            0..6 => 1,
            6..8 => 2,
            _ => 3,
        };
        let root_scope = Readable {
            ancestors: &[],
            base: 0,
            head: inputs - 1,
        };
        let (root, computed) = generator.block(size, &root_scope, inputs, 0);
        let outputs = wanted_outputs.min(computed).max(1);
        let root = Block {
            results: outputs,
            ..root
        };
        let twin_capacity = root.twin_peak(inputs);
        Self {
            inputs,
            outputs,
            root,
            twin_capacity,
        }
    }
}

impl Program for SeededForkJoin {
    fn input_len(&self) -> usize {
        self.inputs
    }
    fn output_len(&self) -> usize {
        self.outputs
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let mut pool = SequentialPool {
            values: Vec::with_capacity(self.twin_capacity),
        };
        pool.values.extend_from_slice(x);
        self.root.run(&mut pool);
        let first_output = pool.values.len() - self.outputs;
        pool.values.drain(first_output..).collect()
    }
}

impl ParProgram for SeededForkJoin {
    fn input_len(&self) -> usize {
        self.inputs
    }
    fn output_len(&self) -> usize {
        self.outputs
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let mut root = Scope {
            outer: None,
            base: 0,
            values: Vec::with_capacity(x.len() + self.root.appended()),
        };
        root.values.extend_from_slice(x);
        self.root.run(&mut root);
        let first_output = root.values.len() - self.outputs;
        root.values.drain(first_output..).collect()
    }
}

/// Where a block being drawn reads its operands.
struct Readable<'a> {
    /// The index ranges of its ancestors' values that it can read, all below `base`.
    ancestors: &'a [Range<usize>],
    /// The index of its first own value.
    base: usize,
    /// The value its chain continues from until it has one of its own.
    head: usize,
}

impl Readable<'_> {
    /// Its latest value when it has `own` values of its own.
    fn latest(&self, own: usize) -> usize {
        if own > 0 {
            self.base + own - 1
        } else {
            self.head
        }
    }
}

/// Draws the blocks of a [`SeededForkJoin`].
struct Generator {
    rng: ChaCha8Rng,
}

impl Generator {
    /// A block spending exactly `budget` operations (its splits' included), at split depth
    /// `depth`, reading from `scope`, the first `own` of its own values existing already (the
    /// root's inputs). Returns it, with `results` still to be set by the caller, and the number
    /// of values it computes.
    fn block(
        &mut self,
        budget: usize,
        scope: &Readable,
        own: usize,
        depth: usize,
    ) -> (Block, usize) {
        let mut steps = Vec::new();
        let mut own = own;
        let mut computed = 0;
        let mut spent = 0;
        while spent < budget {
            let left_over = budget - spent;
            // A split leaves at least one operation for the one that combines its results.
            let may_split = depth < MOST_DEPTH && left_over > SMALLEST_SPLIT_BUDGET;
            let op = if may_split && self.rng.random_bool(SPLIT_CHANCE) {
                let split_budget = self.rng.random_range(SMALLEST_SPLIT_BUDGET..left_over);
                let left_budget = self.rng.random_range(1..split_budget);
                let visible = scope.base + own;
                let readable: Vec<Range<usize>> = scope
                    .ancestors
                    .iter()
                    .cloned()
                    .chain(iter::once(scope.base..visible))
                    .collect();
                let left_scope = Readable {
                    ancestors: &readable,
                    base: visible,
                    head: scope.latest(own),
                };
                let left = self.branch(left_budget, &left_scope, depth + 1);
                let right_scope = Readable {
                    ancestors: &readable,
                    base: visible + left.results,
                    head: self.any_operand(scope, own),
                };
                let right_budget = split_budget - left_budget;
                let right = self.branch(right_budget, &right_scope, depth + 1);
                let appended = left.results + right.results;
                own += appended;
                computed += appended;
                spent += split_budget;
                steps.push(Step::Split(Split { left, right }));
                RandomOp {
                    kind: self.kind(budget - spent, OpKind::is_binary),
                    a: scope.latest(own),
                    b: right_scope.base - 1,
                }
            } else {
                let kind = self.kind(left_over, |_| true);
                let a = scope.latest(own);
                let b = if kind.is_binary() {
                    self.second_operand(scope, own)
                } else {
                    a
                };
                RandomOp { kind, a, b }
            };
            own += 1;
            computed += 1;
            spent += op.kind.cost();
            steps.push(Step::Op(op));
        }
        (Block { steps, results: 0 }, computed)
    }

    /// A forked block spending exactly `budget` (at least 1) operations, returning between 1
    /// and 3 of its last values (at most as many as it computes).
    fn branch(&mut self, budget: usize, scope: &Readable, depth: usize) -> Block {
        let (block, computed) = self.block(budget, scope, 0, depth);
        let results = self.rng.random_range(1..=MOST_RESULTS.min(computed));
        Block { results, ..block }
    }

    /// An operation kind costing at most `left_over` (at least 1) operations, among those
    /// `allowed` (which admits `Mul`, of cost 1).
    fn kind(&mut self, left_over: usize, allowed: fn(OpKind) -> bool) -> OpKind {
        loop {
            let kind = match OpKind::ALL[self.rng.random_range(0..OpKind::ALL.len())] {
                OpKind::Scale(_) => OpKind::Scale(SCALES[self.rng.random_range(0..SCALES.len())]),
                kind => kind,
            };
            if kind.cost() <= left_over && allowed(kind) {
                return kind;
            }
        }
    }

    /// A second operand for a block reading from `scope` with `own` values of its own: one of
    /// the values before its latest, or any value it can read.
    fn second_operand(&mut self, scope: &Readable, own: usize) -> usize {
        if own >= 2 && self.rng.random_bool(RECENT_OPERAND_CHANCE) {
            let back = self.rng.random_range(0..(own - 1).min(RECENT_WINDOW));
            scope.base + own - 2 - back
        } else {
            self.any_operand(scope, own)
        }
    }

    /// A value drawn uniformly from every value a block reading from `scope` with `own` values
    /// of its own can read.
    fn any_operand(&mut self, scope: &Readable, own: usize) -> usize {
        let ancestors: usize = scope.ancestors.iter().map(ExactSizeIterator::len).sum();
        let mut drawn = self.rng.random_range(0..ancestors + own);
        for range in scope.ancestors {
            if drawn < range.len() {
                return range.start + drawn;
            }
            drawn -= range.len();
        }
        scope.base + drawn
    }
}

/// `random-fork-join`: seeded random series-parallel programs with nested binary splits whose
/// branches read ancestor values; see [`SeededForkJoin`]. Size T; parameters `inputs` and
/// `seed`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomForkJoin;

impl Workload for RandomForkJoin {
    fn name(&self) -> &'static str {
        "random-fork-join"
    }
    fn description(&self) -> &'static str {
        "seeded random fork-join program: nested binary splits whose branches read ancestor values"
    }
    fn family(&self) -> Family {
        Family::Parallel
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "T, the number of primitive operations",
            default: 256,
            min: 1,
            max: 1_000_000,
            verify: &[1, 16, 64, 128],
            sweep: &[64, 256, 1024, 4096, 16_384, 65_536],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[
            ParamSpec {
                name: "inputs",
                meaning: "the number of inputs",
                default: 4.0,
                integer: true,
                min: 1.0,
                max: 100_000.0,
                choices: &[],
            },
            ParamSpec {
                name: "seed",
                meaning: "the seed of the program and of the input",
                default: 0.0,
                integer: true,
                min: 0.0,
                max: 9_007_199_254_740_992.0,
                choices: &[],
            },
        ]
    }
    fn build(&self, size: usize, params: &Params) -> Instance {
        let inputs = integer_param(params, "inputs");
        let seed = integer_param(params, "seed") as u64;
        let program = SeededForkJoin::generate(inputs, size, seed);
        let input = uniform(&mut seeded(seed.wrapping_add(1)), inputs, -1.0, 1.0);
        instance(
            Some(size),
            params,
            &[("x", inputs)],
            input,
            ForkJoin(program),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use strategies::dualrev::Dualrev;
    use strategies::op_count::count_ops;
    use strategies::{Strategy, StrategyKind};

    use super::*;
    use crate::{find, instantiate};

    /// What the tests learn about the split structure of a random program.
    #[derive(Debug, Default)]
    struct Shape {
        /// Splits, at every depth.
        splits: usize,
        /// The deepest nesting of splits (1: splits in the root only).
        depth: usize,
        /// Splits both of whose branches read a common value of the block that forked them or
        /// of its ancestors.
        shared_reads: usize,
        /// Splits inside a forked block one of whose branches reads a value from above the
        /// forked block (of its parent or further up).
        reads_from_above_the_parent: usize,
    }

    /// Every operand index below `limit` read anywhere in `block`, nested splits included.
    fn reads_below(block: &Block, limit: usize, reads: &mut BTreeSet<usize>) {
        for step in &block.steps {
            match step {
                Step::Op(op) => {
                    let arity = if op.kind.is_binary() { 2 } else { 1 };
                    reads.extend([op.a, op.b][..arity].iter().filter(|&&i| i < limit));
                }
                Step::Split(split) => {
                    reads_below(&split.left, limit, reads);
                    reads_below(&split.right, limit, reads);
                }
            }
        }
    }

    /// Walk `block` (reading its ancestors' values in the ranges `ancestors`, its own values
    /// from `base`, the first `own` existing), asserting that every operand is readable there,
    /// and record its shape.
    fn walk(
        block: &Block,
        ancestors: &[Range<usize>],
        base: usize,
        own: usize,
        depth: usize,
        shape: &mut Shape,
    ) {
        let mut own = own;
        for step in &block.steps {
            match step {
                Step::Op(op) => {
                    let readable = |i: usize| {
                        ancestors.iter().any(|r| r.contains(&i)) || (base..base + own).contains(&i)
                    };
                    assert!(readable(op.a) && readable(op.b), "{op:?} at {base}+{own}");
                    own += 1;
                }
                Step::Split(split) => {
                    let visible = base + own;
                    shape.splits += 1;
                    shape.depth = shape.depth.max(depth + 1);
                    let (mut left, mut right) = (BTreeSet::new(), BTreeSet::new());
                    reads_below(&split.left, visible, &mut left);
                    reads_below(&split.right, visible, &mut right);
                    if !left.is_disjoint(&right) {
                        shape.shared_reads += 1;
                    }
                    let (mut above, mut above_right) = (BTreeSet::new(), BTreeSet::new());
                    reads_below(&split.left, base, &mut above);
                    reads_below(&split.right, base, &mut above_right);
                    if depth > 0 && !(above.is_empty() && above_right.is_empty()) {
                        shape.reads_from_above_the_parent += 1;
                    }
                    let right_base = visible + split.left.results;
                    let readable: Vec<Range<usize>> = ancestors
                        .iter()
                        .cloned()
                        .chain(iter::once(base..visible))
                        .collect();
                    walk(&split.left, &readable, visible, 0, depth + 1, shape);
                    walk(&split.right, &readable, right_base, 0, depth + 1, shape);
                    own += split.left.results + split.right.results;
                }
            }
        }
        assert!(own >= block.results, "a block returns values it computed");
    }

    fn shape(program: &SeededForkJoin) -> Shape {
        let mut shape = Shape::default();
        walk(&program.root, &[], 0, program.inputs, 0, &mut shape);
        shape
    }

    fn params(pairs: &[(&str, f64)]) -> Params {
        pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn a_seed_draws_one_program_and_other_seeds_draw_others() {
        for seed in 0..20 {
            let program = SeededForkJoin::generate(4, 300, seed);
            assert_eq!(program, SeededForkJoin::generate(4, 300, seed));
            assert_ne!(program, SeededForkJoin::generate(4, 300, seed + 1));
        }
        let workload = find("random-fork-join").unwrap();
        let seeded = |seed| instantiate(workload, Some(50), &params(&[("seed", seed)])).unwrap();
        let (a, b, c) = (seeded(3.0), seeded(3.0), seeded(4.0));
        assert_eq!(a.input, b.input);
        assert_ne!(a.input, c.input);
        assert_eq!(
            a.program
                .primal(&a.input)
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            b.program
                .primal(&b.input)
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_random_program_performs_exactly_its_size_in_operations() {
        for size in [1, 2, 3, 4, 5, 17, 64, 1000] {
            for seed in 0..20 {
                let program = SeededForkJoin::generate(3, size, seed);
                let x = [0.25, -0.5, 0.75];
                assert_eq!(count_ops(&program, &x).ops, size as u64, "{size} {seed}");
            }
        }
    }

    #[test]
    fn random_programs_nest_splits_whose_branches_read_ancestor_values() {
        let shapes: Vec<Shape> = (0..50)
            .map(|seed| shape(&SeededForkJoin::generate(4, 200, seed)))
            .collect();
        let with = |f: fn(&Shape) -> bool| shapes.iter().filter(|s| f(s)).count();
        assert!(with(|s| s.splits > 0) >= 48, "{shapes:?}");
        assert!(with(|s| s.depth >= 2) >= 45, "{shapes:?}");
        assert!(with(|s| s.depth >= 3) >= 35, "{shapes:?}");
        assert!(with(|s| s.shared_reads > 0) >= 40, "{shapes:?}");
        assert!(
            with(|s| s.reads_from_above_the_parent > 0) >= 45,
            "{shapes:?}"
        );
        let large = shape(&SeededForkJoin::generate(4, 100_000, 0));
        assert!(
            large.splits >= 100 && large.depth == MOST_DEPTH,
            "{large:?}"
        );
    }

    #[test]
    fn every_operation_of_a_random_program_is_needed_by_its_last_output() {
        for (size, seed) in [(1, 0), (5, 1), (64, 2), (300, 3), (5000, 4), (20_000, 7)] {
            let program = SeededForkJoin::generate(3, size, seed);
            let mut last = vec![0.0; program.outputs];
            last[program.outputs - 1] = 1.0;
            let r = Dualrev::vjp(&program, &[0.5, -0.25, 0.125], &last);
            assert_eq!(r.counters.get("contribs_applied"), Some(size as u64));
        }
    }

    #[test]
    fn one_output_is_the_common_case_and_two_or_three_occur() {
        let mut counts = [0; 4];
        for seed in 0..200 {
            counts[SeededForkJoin::generate(2, 100, seed).outputs] += 1;
        }
        assert_eq!(counts[0], 0);
        assert!(counts[1] > counts[2] + counts[3], "{counts:?}");
        assert!(counts[2] > 0 && counts[3] > 0, "{counts:?}");
    }

    #[test]
    fn random_values_stay_in_the_unit_interval() {
        for seed in 0..50 {
            let program = SeededForkJoin::generate(5, 2000, seed);
            let x = uniform(&mut seeded(seed + 1), 5, -1.0, 1.0);
            let y = Program::eval(&program, &x);
            assert!(y.iter().all(|v| v.abs() <= 1.0), "{seed}: {y:?}");
        }
    }

    #[test]
    fn the_twin_pool_never_outgrows_its_capacity() {
        for seed in 0..30 {
            let program = SeededForkJoin::generate(2, 500, seed);
            let mut pool = SequentialPool {
                values: Vec::with_capacity(program.twin_capacity),
            };
            pool.values.extend_from_slice(&[0.5, -0.5]);
            program.root.run(&mut pool);
            assert_eq!(pool.values.capacity(), program.twin_capacity, "{seed}");
        }
    }

    #[test]
    fn layouts_match_the_documentation() {
        let fparticles = find("fparticles").unwrap();
        let three = instantiate(fparticles, Some(2), &params(&[("particles", 3.0)])).unwrap();
        assert_eq!(three.layout[0].name, "particles");
        assert_eq!(three.layout[0].len, 12);
        assert_eq!(
            three.input,
            [0.5, 0.1, 1.0, 1.0, 1.0, 0.1, 1.0, 1.0, 1.5, 0.1, 1.0, 1.0]
        );
        let tree = instantiate(find("par-tree").unwrap(), Some(5), &Params::new()).unwrap();
        assert_eq!((tree.layout[0].name, tree.layout[0].len), ("x", 5));
        assert_eq!(tree.input, uniform(&mut seeded(0), 5, -1.0, 1.0));
        let random = find("random-fork-join").unwrap();
        let seven = instantiate(random, Some(40), &params(&[("inputs", 7.0)])).unwrap();
        assert_eq!((seven.layout[0].name, seven.layout[0].len), ("x", 7));
        for w in [fparticles, find("par-tree").unwrap(), random] {
            assert_eq!(w.family(), Family::Parallel);
            let default = instantiate(w, None, &Params::new()).unwrap();
            assert!(default.program.fork_join(), "{}", w.name());
        }
    }

    /// `fparticles` written out in `f64`: the sum over particles of x · y after `steps` steps.
    fn particles_reference(input: &[f64], steps: usize) -> f64 {
        input
            .chunks(4)
            .map(|p| {
                let (mut px, mut py, mut vx, mut vy) = (p[0], p[1], p[2], p[3]);
                for _ in 0..steps {
                    let (ax, ay) = (-0.5 * px - 0.2 * vx, -0.5 * py - 0.2 * vy);
                    (px, py) = (px + 0.05 * vx, py + 0.05 * vy);
                    (vx, vy) = (vx + 0.05 * ax, vy + 0.05 * ay);
                }
                px * py
            })
            .sum()
    }

    #[test]
    fn fparticles_integrates_each_particle_and_has_the_stated_op_count_under_either_fork() {
        for fork in ParticleFork::ALL {
            for (particles, steps) in [(1, 1), (4, 10), (3, 1000), (7, 3), (64, 20)] {
                let program = ParticleSimulation::new(particles, steps).with_fork(fork);
                let x = program.input();
                let got = Program::eval(&program, &x)[0];
                let want = particles_reference(&x, steps);
                let what = format!("{} {particles} x {steps}", fork.name());
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs(),
                    "{what}: {got} vs {want}"
                );
                let t = (particles * (14 * steps + 2) - 1) as u64;
                assert_eq!(count_ops(&program, &x).ops, t, "{what}");
            }
        }
    }

    #[test]
    fn the_fork_parameter_chooses_the_fork_and_the_chain_is_the_default() {
        let fparticles = find("fparticles").unwrap();
        let chain = instantiate(fparticles, Some(4), &params(&[("particles", 5.0)])).unwrap();
        let balanced = params(&[("particles", 5.0), ("fork", 1.0)]);
        let balanced = instantiate(fparticles, Some(4), &balanced).unwrap();
        assert_eq!(ParticleFork::default(), ParticleFork::Chain);
        for (index, fork) in ParticleFork::ALL.into_iter().enumerate() {
            assert_eq!(ParticleFork::from_index(index), Some(fork));
            assert_eq!(fork.name(), ParticleFork::NAMES[index]);
        }
        assert_eq!(ParticleFork::from_index(2), None);
        assert_eq!(chain.input, balanced.input);
        // Both sum the same terms, associated differently: equal to rounding, not bit for bit.
        let (a, b) = (
            chain.program.primal(&chain.input)[0],
            balanced.program.primal(&balanced.input)[0],
        );
        assert!((a - b).abs() <= 1e-12 * a.abs(), "{a} vs {b}");
        let w = [1.0];
        let (ga, gb) = (
            chain.program.vjp(StrategyKind::Tape, &chain.input, &w),
            balanced
                .program
                .vjp(StrategyKind::Tape, &balanced.input, &w),
        );
        let (ga, gb) = (ga.gradient.unwrap(), gb.gradient.unwrap());
        assert_eq!(ga.len(), 20);
        for (i, (a, b)) in ga.iter().zip(&gb).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "[{i}] {a} vs {b}"
            );
        }
    }

    #[test]
    fn par_tree_sums_squares_of_the_iterated_sine_and_has_the_stated_op_count() {
        for (n, work, grain) in [(1, 1, 1), (20, 5, 3), (64, 64, 16), (100, 2, 100)] {
            let program = TreeSumOfSquares::new(n, work, grain);
            let x = uniform(&mut seeded(0), n, -1.0, 1.0);
            let want: f64 = x
                .iter()
                .map(|&xi| {
                    let mut v = xi;
                    for _ in 0..work {
                        v = 0.9 * v.sin() + 0.1 * xi;
                    }
                    v * v
                })
                .sum();
            let got = Program::eval(&program, &x)[0];
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
            let t = (n * (3 * work + 3) - 1) as u64;
            assert_eq!(count_ops(&program, &x).ops, t);
        }
    }
}
