//! What a strategy differentiates ([`Program`]), where it writes its result ([`Derivatives`]),
//! what it tells an observer ([`Probe`]) and the interface every strategy implements
//! ([`Strategy`]).
//!
//! # One implementation, three uses
//!
//! A strategy implements one generic entry point, [`Strategy::vjp_into`], which takes a
//! [`Probe`]. The probe is a type parameter, so each use is compiled separately and what the
//! probe does not want costs nothing:
//!
//! - [`Silent`] wants nothing: no clock is read, no counter is formed, nothing is allocated
//!   for the caller. This is what the harness times.
//! - [`PhaseClock`] reads the clock at the phase boundaries, for the separate pass that times
//!   the forward and reverse phases.
//! - [`Recorder`] reads the clock and collects the counters: [`Strategy::vjp`] and
//!   [`Strategy::jacobian`] use it, for `grad`, `verify`, `check` and the tests.
//!
//! Counters a strategy keeps in local variables are only assembled when [`Probe::COUNTS`] is
//! true; with [`Silent`] and [`PhaseClock`] the compiler drops them.

use std::time::{Duration, Instant};

use smallvec::SmallVec;

use crate::real::{ParReal, Real};

/// The outputs of one evaluation of a program: up to four are stored inline, so a program with
/// few outputs (every workload but the largest) allocates nothing to return them.
pub type Outputs<R> = SmallVec<[R; 4]>;

/// Builds [`Outputs`] like `vec!` builds a `Vec`: `outputs![y]`, `outputs![a, b, c]`.
pub use smallvec::smallvec as outputs;

/// A program f : R^n -> R^m written once, generic over the scalar type.
///
/// `eval` is called with the inputs lifted to the strategy's scalar type and returns the
/// outputs. It must be deterministic and must not keep active values between calls.
pub trait Program {
    /// n, the number of inputs.
    fn input_len(&self) -> usize;
    /// m, the number of outputs.
    fn output_len(&self) -> usize;
    /// Evaluate the program on active inputs.
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R>;
    /// The program's hand-written adjoint, if it has one: what the `manual` strategy runs
    /// ([`crate::manual`]). A program that has one returns `Some(self)`.
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        None
    }
}

/// A vector-Jacobian product written by hand on plain `f64`: the program's outputs and
/// w^T J, computed directly from the program's definition, with no AD. It is the floor that
/// the `manual` strategy measures: what a careful programmer's adjoint costs, below which no
/// AD tool can go.
///
/// It must differentiate exactly the function [`Program::eval`] computes (the same operations
/// in the same order on the primal values, the same branches), so that its gradient agrees
/// with every AD strategy's to rounding.
pub trait HandAdjoint {
    /// Evaluate the program at `x` and write its m outputs into `value`, and add
    /// `cotangent^T J` into `gradient` (n entries, zero on entry). `workspace` is scratch
    /// memory that the caller keeps between calls on one thread (its length and contents on
    /// entry are whatever the last call left): take what the adjoint needs from it with
    /// [`scratch`], so that a warm call allocates nothing.
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        workspace: &mut Vec<f64>,
    );
}

/// The first `len` entries of `workspace`, growing it (never shrinking) when it is shorter:
/// the buffer a [`HandAdjoint`] computes in. Its contents are whatever an earlier call left,
/// so the adjoint writes every entry before reading it.
pub fn scratch(workspace: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if workspace.len() < len {
        workspace.resize(len, 0.0);
    }
    &mut workspace[..len]
}

/// A fork-join program: like [`Program`], but it may call [`ParReal::join`], so it can only be
/// run by strategies whose scalars cross threads.
pub trait ParProgram {
    /// n, the number of inputs.
    fn input_len(&self) -> usize;
    /// m, the number of outputs.
    fn output_len(&self) -> usize;
    /// Evaluate the program on active inputs.
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R>;
}

/// Deterministic counts of what a strategy did during one call: backpropagator calls, edges
/// applied, tape entries swept, IDs allocated, forward passes, ... Names are stable
/// (documented per strategy in `docs/ladder.md` and README, declared in
/// [`Strategy::COUNTERS`]) and kept in the order the strategy reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    entries: Vec<(&'static str, u64)>,
}

impl Counters {
    /// No counters.
    pub fn new() -> Self {
        Self::default()
    }
    /// Build from `(name, count)` pairs.
    pub fn from_pairs(pairs: &[(&'static str, u64)]) -> Self {
        let mut c = Self::new();
        for &(name, count) in pairs {
            c.add(name, count);
        }
        c
    }
    /// Add `count` to counter `name`, creating it (at the end) if absent.
    pub fn add(&mut self, name: &'static str, count: u64) {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += count,
            None => self.entries.push((name, count)),
        }
    }
    /// The value of counter `name`, if the strategy reports it.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, c)| c)
    }
    /// All counters in reporting order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.entries.iter().copied()
    }
    /// Add every counter of `other` into `self` (used when a Jacobian is m vector-Jacobian
    /// products).
    pub fn merge(&mut self, other: &Counters) {
        for (name, count) in other.iter() {
            self.add(name, count);
        }
    }
}

/// Wall-clock time of the phases of one call.
///
/// `forward` covers lifting the inputs and evaluating the program; `reverse` covers the reverse
/// pass (or, for forward mode, nothing) and releasing the graph / resetting the tape. Their sum
/// is the whole call as a user experiences it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    /// Lifting inputs and evaluating the program (all passes, for forward mode).
    pub forward: Duration,
    /// The reverse pass and releasing the graph.
    pub reverse: Duration,
}

impl Phases {
    /// Sum of two phase records (for Jacobians computed as several passes).
    pub fn merge(&mut self, other: Phases) {
        self.forward += other.forward;
        self.reverse += other.reverse;
    }
}

/// Observes one call of [`Strategy::vjp_into`]: the phase boundaries and, if it wants them,
/// the counters. Every method has an empty default, and [`Probe::COUNTS`] is a constant, so a
/// probe that ignores something makes it free.
///
/// A strategy calls [`Probe::forward_starts`] before lifting its inputs,
/// [`Probe::reverse_starts`] when its reverse pass begins (forward mode: when its passes are
/// done) and [`Probe::finished`] when it has released its graph; a Jacobian computed as m
/// calls makes m such sequences.
pub trait Probe {
    /// Whether the strategy forms its counters and hands them to [`Probe::counters`].
    const COUNTS: bool;
    /// The forward phase begins.
    #[inline(always)]
    fn forward_starts(&mut self) {}
    /// The reverse phase begins.
    #[inline(always)]
    fn reverse_starts(&mut self) {}
    /// The call is done.
    #[inline(always)]
    fn finished(&mut self) {}
    /// The counters of the call, in reporting order (called only when [`Probe::COUNTS`]).
    #[inline(always)]
    fn counters(&mut self, _counters: &[(&'static str, u64)]) {}
}

/// The probe of timed calls: observes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Probe for Silent {
    const COUNTS: bool = false;
}

/// Reads the clock at the phase boundaries and sums the phases over the calls it observes.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseClock {
    last: Option<Instant>,
    /// The phases summed so far.
    pub phases: Phases,
}

impl PhaseClock {
    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let elapsed = self.last.map_or(Duration::ZERO, |t| now - t);
        self.last = Some(now);
        elapsed
    }
}

impl Probe for PhaseClock {
    const COUNTS: bool = false;
    #[inline]
    fn forward_starts(&mut self) {
        self.last = Some(Instant::now());
    }
    #[inline]
    fn reverse_starts(&mut self) {
        let d = self.lap();
        self.phases.forward += d;
    }
    #[inline]
    fn finished(&mut self) {
        let d = self.lap();
        self.phases.reverse += d;
    }
}

/// Reads the clock at the phase boundaries and collects the counters of the calls it observes
/// (summed, for a Jacobian of several calls).
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    clock: PhaseClock,
    counters: Counters,
}

impl Recorder {
    /// A recorder with room for `counters` counters, so that recording them allocates nothing
    /// (for a memory measurement of the recorded gradient).
    pub fn with_room_for(counters: usize) -> Self {
        Self {
            clock: PhaseClock::default(),
            counters: Counters {
                entries: Vec::with_capacity(counters),
            },
        }
    }

    /// The phases and the counters recorded so far.
    pub fn into_parts(self) -> (Phases, Counters) {
        (self.clock.phases, self.counters)
    }
}

impl Probe for Recorder {
    const COUNTS: bool = true;
    fn forward_starts(&mut self) {
        self.clock.forward_starts();
    }
    fn reverse_starts(&mut self) {
        self.clock.reverse_starts();
    }
    fn finished(&mut self) {
        self.clock.finished();
    }
    fn counters(&mut self, counters: &[(&'static str, u64)]) {
        for &(name, count) in counters {
            self.counters.add(name, count);
        }
    }
}

/// Where one call writes its result. The harness keeps one and reuses it, so a timed call
/// allocates nothing of the harness's own (its capacity survives between calls).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Derivatives {
    /// The m output values.
    pub value: Vec<f64>,
    /// `w^T J` (length n) after [`Strategy::vjp_into`] on an empty buffer; the Jacobian,
    /// row-major (length m n), after [`Strategy::jacobian_into`]. Empty for `primal`, which
    /// computes none.
    pub derivative: Vec<f64>,
}

impl Derivatives {
    /// Empty both vectors, keeping their capacity.
    pub fn clear(&mut self) {
        self.value.clear();
        self.derivative.clear();
    }
}

/// The result of one vector-Jacobian product w^T J (a gradient when m = 1 and w = (1)).
#[derive(Clone, Debug, PartialEq)]
pub struct Vjp {
    /// The m output values.
    pub value: Vec<f64>,
    /// w^T J, of length n; `None` for the `primal` strategy, which computes no derivative.
    pub gradient: Option<Vec<f64>>,
    /// What the strategy did.
    pub counters: Counters,
    /// How long each phase took.
    pub phases: Phases,
}

impl Vjp {
    /// Run `compute` (one vector-Jacobian product into a fresh buffer, observed by a
    /// [`Recorder`]) and gather what it wrote and recorded; the gradient is `None` unless the
    /// strategy `differentiates`.
    pub fn record(
        differentiates: bool,
        compute: impl FnOnce(&mut Derivatives, &mut Recorder),
    ) -> Vjp {
        let mut out = Derivatives::default();
        let mut recorder = Recorder::default();
        compute(&mut out, &mut recorder);
        let (phases, counters) = recorder.into_parts();
        Vjp {
            value: out.value,
            gradient: differentiates.then_some(out.derivative),
            counters,
            phases,
        }
    }
}

/// A full Jacobian: one row per output, each of length n.
#[derive(Clone, Debug, PartialEq)]
pub struct Jacobian {
    /// The m output values.
    pub value: Vec<f64>,
    /// m rows of length n; `None` for the `primal` strategy.
    pub rows: Option<Vec<Vec<f64>>>,
    /// What the strategy did for all rows together.
    pub counters: Counters,
    /// Time of all passes together.
    pub phases: Phases,
}

impl Jacobian {
    /// Gather what a Jacobian call wrote (row-major, n numbers per row) and recorded.
    fn from_rows(differentiates: bool, n: usize, out: Derivatives, recorder: Recorder) -> Self {
        let (phases, counters) = recorder.into_parts();
        let rows = differentiates.then(|| {
            if n == 0 {
                vec![Vec::new(); out.value.len()]
            } else {
                out.derivative.chunks(n).map(<[f64]>::to_vec).collect()
            }
        });
        Jacobian {
            value: out.value,
            rows,
            counters,
            phases,
        }
    }
}

/// An AD strategy: a scalar representation plus the driver that computes derivatives with it.
///
/// The primitive is the vector-Jacobian product [`Strategy::vjp_into`]; the default
/// [`Strategy::jacobian_into`] computes one per output (one reverse pass per output row).
/// Forward-mode strategies override it with n forward passes, `primal` with one evaluation.
pub trait Strategy {
    /// The CLI name (`naive`, `dualrev`, ...); module and type are named after it.
    const NAME: &'static str;
    /// One line: the representation and the cost.
    const DESCRIPTION: &'static str;
    /// The counters it reports, in reporting order (each defined in its module's docs).
    const COUNTERS: &'static [&'static str];
    /// Whether it computes derivatives (everything but `primal`).
    const DIFFERENTIATES: bool = true;

    /// Why it cannot run `program`, if it cannot (`manual` needs a hand-written adjoint);
    /// `None` for every program it runs. The harness asks before it runs a case, and skips
    /// the case with this reason.
    fn why_unavailable<P: Program>(_program: &P) -> Option<&'static str> {
        None
    }

    /// Evaluate `program` at `x`, write its m values into `out.value` (replacing what was
    /// there) and append `cotangent^T J` (`cotangent` has length m; n numbers) to
    /// `out.derivative`, telling `probe` about the call.
    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    );

    /// The full Jacobian, row-major, into `out.derivative`: one vector-Jacobian product per
    /// output with the unit cotangents e_1 .. e_m.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        jacobian_by_rows::<Self, P, Q>(program, x, out, probe);
    }

    /// `cotangent^T J` with its counters and phases (allocates; not for timing).
    fn vjp<P: Program>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp {
        Vjp::record(Self::DIFFERENTIATES, |out, recorder| {
            Self::vjp_into(program, x, cotangent, out, recorder);
        })
    }

    /// The full Jacobian with its counters and phases (allocates; not for timing).
    fn jacobian<P: Program>(program: &P, x: &[f64]) -> Jacobian {
        let mut out = Derivatives::default();
        let mut recorder = Recorder::default();
        Self::jacobian_into(program, x, &mut out, &mut recorder);
        Jacobian::from_rows(Self::DIFFERENTIATES, x.len(), out, recorder)
    }
}

/// A strategy that can also run fork-join programs ([`ParProgram`]): its scalar implements
/// [`ParReal`]. The primitive is [`ParStrategy::par_vjp_into`], the fork-join counterpart of
/// [`Strategy::vjp_into`], with the same contract.
pub trait ParStrategy: Strategy {
    /// Whether its `join` may run the two branches on two threads (inside a rayon pool of more
    /// than one thread, see [`crate::real::parallel_here`]); strategies for which this is false
    /// run both branches in order, so their time does not depend on the thread count.
    const PARALLEL: bool;

    /// As [`Strategy::vjp_into`], for a fork-join program.
    fn par_vjp_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    );

    /// As [`Strategy::jacobian_into`], for a fork-join program: one vector-Jacobian product
    /// per output.
    fn par_jacobian_into<P: ParProgram, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let m = program.output_len();
        out.clear();
        let mut w: SmallVec<[f64; 4]> = smallvec::smallvec![0.0; m];
        for i in 0..m {
            w[i] = 1.0;
            Self::par_vjp_into(program, x, &w, out, probe);
            w[i] = 0.0;
        }
    }

    /// As [`Strategy::vjp`], for a fork-join program.
    fn par_vjp<P: ParProgram>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp {
        Vjp::record(Self::DIFFERENTIATES, |out, recorder| {
            Self::par_vjp_into(program, x, cotangent, out, recorder);
        })
    }

    /// As [`Strategy::jacobian`], for a fork-join program.
    fn par_jacobian<P: ParProgram>(program: &P, x: &[f64]) -> Jacobian {
        let mut out = Derivatives::default();
        let mut recorder = Recorder::default();
        Self::par_jacobian_into(program, x, &mut out, &mut recorder);
        Jacobian::from_rows(Self::DIFFERENTIATES, x.len(), out, recorder)
    }
}

/// The Jacobian as m vector-Jacobian products with the unit cotangents e_1 .. e_m, row-major
/// into `out.derivative` (which it empties first; each product re-evaluates the program).
pub fn jacobian_by_rows<S: Strategy + ?Sized, P: Program, Q: Probe>(
    program: &P,
    x: &[f64],
    out: &mut Derivatives,
    probe: &mut Q,
) {
    let m = program.output_len();
    out.clear();
    let mut w: SmallVec<[f64; 4]> = smallvec::smallvec![0.0; m];
    for i in 0..m {
        w[i] = 1.0;
        S::vjp_into(program, x, &w, out, probe);
        w[i] = 0.0;
    }
}

/// Panics with a clear message if `x` or `cotangent` do not fit `program`. Every strategy calls
/// this first, so that a wrong length is reported the same way everywhere.
#[inline]
pub fn check_lengths(n: usize, m: usize, x: &[f64], cotangent: &[f64]) {
    if x.len() != n || cotangent.len() != m {
        wrong_lengths(n, m, x.len(), cotangent.len());
    }
}

/// Panics with the same message as [`check_lengths`] if `x` does not have `n` entries (for a
/// Jacobian, which has no cotangent).
#[inline]
pub fn check_inputs(n: usize, x: &[f64]) {
    if x.len() != n {
        wrong_lengths(n, 0, x.len(), 0);
    }
}

#[cold]
#[inline(never)]
fn wrong_lengths(n: usize, m: usize, x: usize, cotangent: usize) -> ! {
    if x != n {
        panic!("input vector has length {x} but the program takes {n} inputs");
    }
    panic!("cotangent has length {cotangent} but the program has {m} outputs");
}
