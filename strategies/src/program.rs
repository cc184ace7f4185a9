//! What a strategy differentiates ([`Program`]), what it reports ([`Vjp`], [`Jacobian`],
//! [`Counters`], [`Phases`]) and the interface every strategy implements ([`Strategy`]).

use std::time::Duration;

use crate::real::{ParReal, Real};

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
    fn eval<R: Real>(&self, x: &[R]) -> Vec<R>;
}

/// A fork-join program: like [`Program`], but it may call [`ParReal::join`], so it can only be
/// run by strategies whose scalars cross threads.
pub trait ParProgram {
    /// n, the number of inputs.
    fn input_len(&self) -> usize;
    /// m, the number of outputs.
    fn output_len(&self) -> usize;
    /// Evaluate the program on active inputs.
    fn eval<R: ParReal>(&self, x: &[R]) -> Vec<R>;
}

/// Deterministic counts of what a strategy did during one call: backpropagator calls, edges
/// applied, tape entries swept, IDs allocated, forward passes, ... Names are stable
/// (documented per strategy in README) and kept in the order the strategy reports them.
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

/// Wall-clock time of the phases of one call, measured by the strategy itself.
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

/// An AD strategy: a scalar representation plus the driver that computes derivatives with it.
///
/// The primitive is the vector-Jacobian product; the default [`Strategy::jacobian`] computes one
/// per output (one reverse pass per output row). Forward-mode strategies override it with n
/// forward passes.
pub trait Strategy {
    /// The CLI name (`naive`, `dualrev`, ...); module and type are named after it.
    const NAME: &'static str;
    /// One line: the representation and the cost.
    const DESCRIPTION: &'static str;

    /// Evaluate `program` at `x` and compute `cotangent^T J` (`cotangent` has length m).
    fn vjp<P: Program>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp;

    /// The full Jacobian, one row per output.
    fn jacobian<P: Program>(program: &P, x: &[f64]) -> Jacobian {
        jacobian_by_rows::<Self, P>(program, x)
    }
}

/// A strategy that can also run fork-join programs.
pub trait ParStrategy: Strategy {
    /// As [`Strategy::vjp`], for a fork-join program.
    fn par_vjp<P: ParProgram>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp;
}

/// The Jacobian as m vector-Jacobian products with the unit cotangents e_1 .. e_m.
pub fn jacobian_by_rows<S: Strategy + ?Sized, P: Program>(program: &P, x: &[f64]) -> Jacobian {
    let m = program.output_len();
    let mut value = Vec::new();
    let mut rows = Vec::with_capacity(m);
    let mut counters = Counters::new();
    let mut phases = Phases::default();
    let mut any_gradient = true;
    for i in 0..m {
        let mut w = vec![0.0; m];
        w[i] = 1.0;
        let r = S::vjp(program, x, &w);
        value = r.value;
        counters.merge(&r.counters);
        phases.merge(r.phases);
        match r.gradient {
            Some(g) => rows.push(g),
            None => any_gradient = false,
        }
    }
    Jacobian {
        value,
        rows: any_gradient.then_some(rows),
        counters,
        phases,
    }
}

/// Panics with a clear message if `x` or `cotangent` do not fit `program`. Every strategy calls
/// this first, so that a wrong length is reported the same way everywhere.
pub fn check_lengths(n: usize, m: usize, x: &[f64], cotangent: &[f64]) {
    assert_eq!(
        x.len(),
        n,
        "input vector has length {} but the program takes {n} inputs",
        x.len()
    );
    assert_eq!(
        cotangent.len(),
        m,
        "cotangent has length {} but the program has {m} outputs",
        cotangent.len()
    );
}
