//! `dualbench verify --random N [--seed S]`: every strategy against every other on seeded
//! random programs, each disagreement shrunk to the smallest program that still shows it.
//!
//! # The programs
//!
//! A [`RandomProgram`] is an explicit list of operations over earlier values (a DAG with
//! sharing) together with the point it is evaluated at. Its values are the inputs `x0 ..`
//! (1 to 4), then one value `v0, v1, ..` per operation (5 to 40 drawn, plus the helpers placed
//! near domain edges, see below); its outputs `y0 ..` (1 to 3) are the last value and up to two
//! others, inputs included. The interpreter implements [`Program`] for every `R: Real`, and the
//! printer ([`fmt::Display`]) writes a program as the pseudo-code the interpreter runs, guards
//! included.
//!
//! [`generate`] draws a program from its seed with ChaCha8 (the same program on every
//! machine). Every operation applies one primitive of [`Real`] to earlier values: `+ - * /`
//! with an active right operand, with an `f64` constant on the right and with an inactive
//! `R::constant`, each also in its `*Assign` form; `neg relu square` and every one-operand
//! elementary function (`sin cos tan exp ln sqrt tanh abs asin acos atan sinh cosh asinh acosh
//! atanh ln_1p exp_m1 log2 log10 exp2 cbrt erf recip`, [`Real::apply`]); `atan2` and `hypot`;
//! `powi` (exponents from -64 to 64); `powf` with an active and with a constant exponent; `max`
//! and `min` (a quarter of them of a value with itself: exact ties); `Sum` and `Product` of 2
//! to 4 values; `R::constant`; and a value-dependent branch `if a > b { c } else { d }`.
//! Operands are one of the last three values half of the time (depth) and any earlier value
//! otherwise (sharing).
//!
//! Arguments stay inside each primitive's domain by branching on primal values, as every
//! strategy does identically: a zero denominator becomes `b + 1`, and so does the argument 0 of
//! `recip` and `cbrt` (whose partial is infinite there) and the second argument of `atan2` and
//! `hypot` at the origin (where their partials are NaN); `ln`, `log2`, `log10`, `sqrt` and
//! `powf` with an active or a fractional exponent take `|a| + 1` unless `a > 0`; `asin`, `acos`
//! and `atanh` take `sin(a) * 0.5` unless |a| < 1, `acosh` takes `|a| + 2` unless a > 1, and
//! `ln_1p` takes `|a|` unless a > -1; `tan` takes `tan(sin a)` beyond |a| = 1.5, `sinh` and
//! `cosh` take `sin a` from |a| = 4, `exp`, `exp_m1` and `exp2` take `-a` from a = 4, and
//! `powi` takes `(sin a + 2)^n` where |a| > 2 (or |a| < 0.5 with n < 0). A `powf` with an
//! integral constant exponent keeps a negative base, where its exponent's partial is NaN.
//! Inside the domain the generator goes to the edges: a third of the denominators, and a
//! quarter of the arguments of `ln`, `log2`, `log10`, `sqrt`, `recip`, `cbrt`, `asin`, `acos`,
//! `atanh`, `acosh` and `ln_1p` and of the bases of `powf`, are a helper `a - c` whose constant
//! c puts it at 1e-12 .. 1e-3 from the domain's edge (0, ±1, 1, -1) at the program's point;
//! constants and coordinates are also drawn tiny (1e-12 .. 1e-3), integral, or equal to one
//! another (ties).
//!
//! # The comparison
//!
//! [`check`] evaluates the full Jacobian under every selected strategy (skipping one only where
//! [`caps::predicted_work`] exceeds [`WORK_CAP`]: `naive` on programs with too many paths),
//! each on an evaluation thread through [`guarded`], so a panic is a finding. Then, in this
//! order, the first failure being the finding:
//!
//! - every strategy's values equal the `f64` program's within [`TOLERANCE`];
//! - no derivative exceeds its path bound B (below) beyond the tolerance and the rounding
//!   allowance, nor is NaN or infinite: this catches strategies that agree with each other but
//!   not with the program;
//! - every pair of differentiating strategies agrees entry by entry within [`TOLERANCE`] plus
//!   the rounding allowance;
//! - every strategy agrees with [`finite_differences`] within [`FD_TOLERANCE`] plus the
//!   rounding allowance, where that estimate can be trusted (below).
//!
//! # The tolerance
//!
//! Every strategy takes its local partials from `strategies::real::partials` and computes the
//! primal values with the same operations, so values and partials agree to the last bit; what
//! differs is the order in which products of partials are formed and summed (forward mode from
//! the inputs, reverse mode from the outputs, naive once per path). On an ill-conditioned
//! program (large terms that cancel) honest strategies then differ by far more than 1e-10: on
//! `v0 = x0 - x0; v2 = x0 / (v0 - 4e-8); y = (v2 * v2 * v0 - 1) * v2` forward mode is exact
//! and reverse mode is off by 0.7%. Rather than discarding such programs by the size of their
//! values, or loosening the tolerance for all of them, the check computes a rounding bound with
//! its own interpreter ([`Tracked`], a forward pass on absolute partials): B(j, i), the sum over
//! all paths from input i to output j of |product of the partials along the path|. Each path's
//! term passes through at most T multiplications and T additions (T = the primal operation
//! count), so an honest entry is within about 2 T eps B of the exact derivative, and two of
//! them within 4 T eps B of each other. Entries u and v pass when
//!
//! ```text
//! relative_error(u, v) <= 1e-10 + ROUNDING_ULPS_PER_OPERATION (T + 1) eps B / max(1, |u| + |v|)
//! ```
//!
//! The allowance is relative to B, not to the derivative: a wrong partial, or a lost or doubled
//! contribution, changes an entry by a sizeable fraction of some path's term and still fails,
//! unless that is below about 1e-13 of B, where the exact derivative is lost to cancellation
//! anyway. It needs every product a strategy forms to be representable, and a path's product
//! can be while a part of it is not: 1e-200 from the input times 1e400 to the output overflows
//! in reverse mode only, and an infinite partial gives an infinite bound even where a zero
//! partial next to it makes every strategy's product zero (`partials::times`). So the
//! interpreter records the computation graph its evaluation builds (a vertex per primitive
//! operation on an input-dependent operand, those inside guards and folds included), and a
//! program is *testable* only where its output values are finite and, at every vertex, the
//! path bound from the inputs (a forward sweep, zero tangents absorbing) and the one to the
//! outputs (a reverse sweep, zero cotangents absorbing) are at most [`RANGE_LIMIT`].
//! [`generate`] draws again from the same stream until the program is testable (about 2% of
//! the draws are discarded), and the run reports how many it discarded.
//!
//! # Finite differences
//!
//! [`finite_differences`] flags the estimates it trusts, but its tests look at the outputs
//! only, and random programs defeat them: an intermediate 1e13 that absorbs the step leaves a
//! flat output, an oscillation faster than the step with a small amplitude passes its
//! absolute convergence test, a guard at the point itself (`x / x` at x = 0) makes AD
//! differentiate a different branch than the neighbouring points, and a NaN at the stencil
//! passes as converged. The interpreter knows more, so an estimate is compared only where,
//! besides, it is finite; every operation the output depends on makes the same choice (guard
//! side, kink side, `max` or `min` winner, select branch) at the probes x ± s as at x; the
//! primal's rounding noise (a first-order bound carried by [`Tracked`]) is small beside the
//! step, 3 noise / h <= FD_TOLERANCE / 10 max(1, |f'|); and f' itself (the interpreter's
//! tangent) is smooth at the probes, |f'(x + s) + f'(x - s) - 2 f'(x)| <= FD_TOLERANCE / 10
//! max(1, |f'|). The probes are at s = h and h / 2 (the stencil) and at two irrational
//! fractions of h, which an oscillation whose period divides h / 2 cannot alias with. None of
//! these tests uses the value of a partial, only the smoothness of the tangent, so a wrong
//! partial shared by every strategy still shows against finite differences. The run reports at
//! how many Jacobian entries finite differences were compared (about 80%).
//!
//! # Shrinking
//!
//! A disagreement is reported with the program's seed and the smallest program that still
//! shows a disagreement of the same kind (the same strategy, or the same pair). [`shrink`]
//! applies the first of these steps that keeps the disagreement, until none does: drop an
//! output; remove an operation, redirecting its uses to one of its operands or to `x0`; drop an
//! input, redirecting its uses to another input; drop a term of a `Sum` or `Product`; replace a
//! constant, an exponent or a coordinate by a simpler one (0, 1, -1, 2, 0.5, -2, its rounding).
//! Every step makes the program strictly smaller, so shrinking ends; the result is minimal in
//! that no single step keeps the disagreement.

use std::cell::RefCell;
use std::f64::consts::FRAC_1_PI;
use std::fmt;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use std::ops::{Range, RangeInclusive};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use strategies::op_count::{count_ops, OpCount};
use strategies::real::partials;
use strategies::{outputs, Jacobian, Outputs, Program, Real, StrategyKind};

use crate::error::Result;
use crate::measure::thread::guarded;
use crate::select;
use crate::verify::caps::{self, WORK_CAP};
use crate::verify::fd::{finite_differences, FdJacobian};
use crate::verify::metric::{relative_error, FD_TOLERANCE};

/// Agreement required between two strategies' derivatives (on top of the rounding allowance)
/// and between a strategy's value and the `f64` program's, in the metric
/// [`relative_error`].
pub const TOLERANCE: f64 = 1e-10;

/// Units in the last place per primal operation that two honest strategies may differ by,
/// relative to the path bound B (see the module documentation, "The tolerance").
pub const ROUNDING_ULPS_PER_OPERATION: f64 = 4.0;

/// The most inputs a random program has (a [`Tracked`] keeps one entry per input).
pub const MAX_INPUTS: usize = 4;

/// How many operations a program draws (the helpers near domain edges come on top).
const OPERATIONS: RangeInclusive<usize> = 5..=40;

/// How many outputs a program has besides its last value.
const EXTRA_OUTPUTS: RangeInclusive<usize> = 0..=2;

/// Below this magnitude `tan` is applied directly, beyond it to `sin a`.
const TAN_LIMIT: f64 = 1.5;

/// Below this value `exp` is applied to `a`, from it on to `-a`.
const EXP_LIMIT: f64 = 4.0;

/// Magnitudes of the tiny constants, coordinates and near-edge values: 10^-12 .. 10^-3.
const TINY_EXPONENTS: RangeInclusive<i32> = 3..=12;

/// The largest path bound, at any vertex of its computation graph and in either direction, of
/// a testable program: far enough below `f64::MAX` that no tangent, cotangent or partial
/// product of any strategy overflows.
pub const RANGE_LIMIT: f64 = 1e300;

/// How much of the primal's rounding noise reaches a finite-difference estimate with step h, in
/// units of noise / h: (4 D(h/2) - D(h)) / 3 takes differences of values each off by at most
/// `noise`, so its error is at most (4 * 2 noise / h + noise / h) / 3 = 3 noise / h.
const FD_NOISE_FACTOR: f64 = 3.0;

/// Where f' and the operations' choices are probed around the point, in units of the finite
/// difference step h: the stencil's own offsets h and h/2, and two irrational fractions, so that
/// an oscillation that aliases with the stencil (its period dividing h/2) is still seen.
const PROBE_FRACTIONS: [f64; 4] = [1.0, 0.5, 0.618_033_988_749_894_8, FRAC_1_PI];

/// The simplest constants, simplest first: what shrinking replaces a constant with.
const SIMPLE_CONSTANTS: [f64; 6] = [0.0, 1.0, -1.0, 2.0, 0.5, -2.0];

/// The seed of program `index` in a run with seed `seed`.
pub fn program_seed(seed: u64, index: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(index as u64)
}

mod compare;
mod generate;
mod program;
mod shrink;
mod tracked;

pub use compare::{check, Disagreement, Verdict};
pub use generate::{generate, Generated};
pub use program::RandomProgram;
use program::*;
pub use shrink::shrink;
pub use tracked::Tracked;
use tracked::*;

/// A validated `verify --random` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomCheck {
    /// How many programs.
    pub programs: usize,
    /// The run's seed: program k has seed [`program_seed`]`(seed, k)`.
    pub seed: u64,
    /// The strategies to compare.
    pub strategies: Vec<StrategyKind>,
}

/// A program that disagreed, shrunk.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// Its index k in the run.
    pub index: usize,
    /// Its seed, [`program_seed`]`(seed, k)`.
    pub program_seed: u64,
    /// How many operations it had before shrinking.
    pub original_operations: usize,
    /// The smallest program that still disagrees the same way.
    pub shrunk: RandomProgram,
    /// The disagreement on the shrunk program.
    pub disagreement: Disagreement,
}

/// Everything a `verify --random` run found.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomReport {
    /// The run's seed.
    pub seed: u64,
    /// How many programs were checked.
    pub programs: usize,
    /// Untestable programs drawn and discarded on the way (see [`generate`]).
    pub discarded: usize,
    /// Per strategy skipped at least once, on how many programs (over [`WORK_CAP`]).
    pub skipped: Vec<(StrategyKind, usize)>,
    /// Jacobian entries of the programs that agreed.
    pub entries: usize,
    /// Of those, the entries where finite differences were trusted and compared.
    pub fd_compared: usize,
    /// The programs that disagreed, in order.
    pub failures: Vec<Failure>,
}

impl RandomCheck {
    /// A request for `programs` programs of run seed `seed` under the strategies named in
    /// `strategies` (empty: dualbench's own strategies — the random programs probe the shared
    /// partials rules at their edge cases, where the peer crates have rules of their own,
    /// `docs/peers.md`; name a peer to compare it anyway). A random program has no
    /// hand-written adjoint, so `manual` is left out (of `all` too), and naming it is an
    /// error.
    pub fn new(programs: usize, seed: u64, strategies: &[String]) -> Result<RandomCheck> {
        let sample = generate(seed).program;
        let everything = strategies.is_empty() || strategies == ["all"];
        let selected = if strategies.is_empty() {
            StrategyKind::own()
        } else {
            select::strategies(strategies)?
        };
        if let (false, Some((s, reason))) = (
            everything,
            selected
                .iter()
                .find_map(|s| s.why_unavailable(&sample).map(|reason| (s, reason))),
        ) {
            return Err(crate::error::Error::usage(format!(
                "--random: strategy `{}` cannot run the random programs: {reason}",
                s.name()
            )));
        }
        let strategies = selected
            .into_iter()
            .filter(|s| s.why_unavailable(&sample).is_none())
            .collect();
        Ok(RandomCheck {
            programs,
            seed,
            strategies,
        })
    }

    /// Check every program, calling `on_program` after each with its failure, if any.
    pub fn run(&self, mut on_program: impl FnMut(Option<&Failure>)) -> RandomReport {
        let mut report = RandomReport {
            seed: self.seed,
            programs: self.programs,
            discarded: 0,
            skipped: Vec::new(),
            entries: 0,
            fd_compared: 0,
            failures: Vec::new(),
        };
        for index in 0..self.programs {
            let seed = program_seed(self.seed, index);
            let generated = generate(seed);
            report.discarded += generated.discarded;
            match check(&generated.program, &self.strategies) {
                Verdict::Agrees {
                    skipped,
                    entries,
                    fd_compared,
                } => {
                    report.count_skipped(&skipped);
                    report.entries += entries;
                    report.fd_compared += fd_compared;
                    on_program(None);
                }
                Verdict::Disagrees(disagreement) => {
                    let failure = self.failure(index, seed, &generated.program, disagreement);
                    on_program(Some(&failure));
                    report.failures.push(failure);
                }
            }
        }
        report
    }

    /// The failure of program `index`, shrunk while it disagrees the same way.
    fn failure(
        &self,
        index: usize,
        seed: u64,
        program: &RandomProgram,
        disagreement: Disagreement,
    ) -> Failure {
        let mut latest = disagreement.clone();
        let shrunk = shrink(program, |candidate| {
            if !candidate.is_testable() {
                return false;
            }
            match check(candidate, &self.strategies) {
                Verdict::Disagrees(found) if found.same_kind(&disagreement) => {
                    latest = found;
                    true
                }
                _ => false,
            }
        });
        Failure {
            index,
            program_seed: seed,
            original_operations: program.operation_count(),
            shrunk,
            disagreement: latest,
        }
    }
}

impl RandomReport {
    /// Whether no program disagreed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn count_skipped(&mut self, skipped: &[StrategyKind]) {
        for &strategy in skipped {
            match self.skipped.iter_mut().find(|(s, _)| *s == strategy) {
                Some((_, count)) => *count += 1,
                None => self.skipped.push((strategy, 1)),
            }
        }
    }

    /// The failures (each with its seed, the disagreement and the shrunk program), what was
    /// skipped or discarded, and the summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for failure in &self.failures {
            out.push_str(&self.render_failure(failure));
            out.push('\n');
        }
        for (strategy, count) in &self.skipped {
            out.push_str(&format!(
                "note: {} skipped on {count} programs (predicted work over {WORK_CAP:e})\n",
                strategy.name()
            ));
        }
        out.push_str(&format!(
            "note: finite differences trusted and compared at {} of {} Jacobian entries\n",
            self.fd_compared, self.entries
        ));
        if self.discarded > 0 {
            out.push_str(&format!(
                "note: {} untestable programs (non-finite output or path bound over {RANGE_LIMIT:e}) drawn again\n",
                self.discarded
            ));
        }
        let plural = if self.failures.len() == 1 { "" } else { "s" };
        out.push_str(&format!(
            "random: {} programs (seed {}), {} disagreement{plural}\n",
            self.programs,
            self.seed,
            self.failures.len()
        ));
        out
    }

    fn render_failure(&self, failure: &Failure) -> String {
        let program: String = failure
            .shrunk
            .to_string()
            .lines()
            .map(|line| format!("    {line}\n"))
            .collect();
        format!(
            "FAIL program {} (program seed {}; reproduce with `dualbench verify --random {} --seed {}`): {}\n  \
             shrunk from {} to {} operations:\n{program}",
            failure.index,
            failure.program_seed,
            failure.index + 1,
            self.seed,
            failure.disagreement,
            failure.original_operations,
            failure.shrunk.operation_count(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::compare::*;
    use super::*;
    use strategies::real::Unary as Elementary;

    /// A program from its parts, checking that every operand refers to an earlier value.
    fn program(point: &[f64], operations: Vec<Operation>, outputs: &[usize]) -> RandomProgram {
        let p = RandomProgram {
            point: point.to_vec(),
            operations,
            outputs: outputs.to_vec(),
        };
        assert!(well_formed(&p), "{p:?}");
        p
    }

    /// The Jacobian's first entry under `strategy`.
    fn first_entry(p: &RandomProgram, strategy: StrategyKind) -> f64 {
        strategy.jacobian(p, p.point()).rows.unwrap()[0][0]
    }

    /// Whether every strategy agrees on `p`.
    fn agrees(p: &RandomProgram) -> bool {
        matches!(check(p, &StrategyKind::own()), Verdict::Agrees { .. })
    }

    fn well_formed(p: &RandomProgram) -> bool {
        let n = p.point.len();
        let values = n + p.operations.len();
        (1..=MAX_INPUTS).contains(&n)
            && !p.outputs.is_empty()
            && p.outputs.iter().all(|&o| o < values)
            && p.operations
                .iter()
                .enumerate()
                .all(|(k, op)| op.operands().iter().all(|&v| v < n + k))
    }

    /// Which primitive (and form) an operation exercises.
    fn label(operation: &Operation) -> String {
        match operation {
            Operation::Arith {
                op, assign, rhs, ..
            } => {
                let form = match rhs {
                    Rhs::Value(_) => "active",
                    Rhs::Constant(_) => "f64",
                    Rhs::Lifted(_) => "lifted",
                };
                format!("{op:?} {form}{}", if *assign { " assign" } else { "" })
            }
            Operation::Unary { op, .. } => op.name().to_string(),
            Operation::Binary { op, .. } => op.name().to_string(),
            Operation::Powi { exponent, .. } if *exponent < 0 => "powi negative".to_string(),
            Operation::Powi { exponent, .. } if *exponent > 16 => "powi large".to_string(),
            Operation::Powi { .. } => "powi".to_string(),
            Operation::Powf {
                exponent: Exponent::Value(_),
                ..
            } => "powf active".to_string(),
            Operation::Powf { .. } => "powf constant".to_string(),
            Operation::Max(a, b) | Operation::Min(a, b) if a == b => "tie".to_string(),
            Operation::Max(..) => "max".to_string(),
            Operation::Min(..) => "min".to_string(),
            Operation::Sum(_) => "sum".to_string(),
            Operation::Product(_) => "product".to_string(),
            Operation::Constant(_) => "constant".to_string(),
            Operation::Select { .. } => "select".to_string(),
        }
    }

    /// One operation of every kind, over inputs x0 = 0.5 and x1 = 2 (values 0 and 1).
    fn every_operation() -> Vec<Operation> {
        let mut operations = Vec::new();
        for op in Arith::ALL {
            for assign in [false, true] {
                for rhs in [Rhs::Value(1), Rhs::Constant(2.0), Rhs::Lifted(3.0)] {
                    operations.push(Operation::Arith {
                        op,
                        assign,
                        lhs: 0,
                        rhs,
                    });
                }
            }
        }
        operations.extend(Unary::ALL.map(|op| Operation::Unary { op, arg: 0 }));
        operations.extend([
            Operation::Powi {
                base: 0,
                exponent: -31,
            },
            Operation::Powf {
                base: 0,
                exponent: Exponent::Value(1),
            },
            Operation::Powf {
                base: 0,
                exponent: Exponent::Constant(0.5),
            },
            Operation::Max(0, 1),
            Operation::Min(0, 0),
            Operation::Sum(vec![0, 1, 0]),
            Operation::Product(vec![1, 0]),
            Operation::Constant(1e-12),
            Operation::Select {
                left: 0,
                right: 1,
                then: 0,
                otherwise: 1,
            },
        ]);
        operations.extend(Binary::ALL.map(|op| Operation::Binary { op, a: 0, b: 1 }));
        operations
    }

    fn contains_active_division(p: &RandomProgram) -> bool {
        p.operations.iter().any(|op| {
            matches!(
                op,
                Operation::Arith {
                    op: Arith::Div,
                    rhs: Rhs::Value(_),
                    ..
                }
            )
        })
    }

    #[test]
    fn the_generator_is_deterministic_per_seed() {
        assert_eq!(generate(42), generate(42));
        assert_ne!(generate(42).program, generate(43).program);
        assert_eq!(program_seed(0, 5), 5);
        assert_eq!(program_seed(2, 5), 2_000_011);
    }

    #[test]
    fn generated_programs_have_the_documented_shape_and_are_testable() {
        for seed in 0..300 {
            let p = generate(seed).program;
            assert!(well_formed(&p), "seed {seed}");
            assert!((1..=3).contains(&p.outputs.len()), "seed {seed}");
            assert!(p.operations.len() >= *OPERATIONS.start(), "seed {seed}");
            assert!(p.is_testable(), "seed {seed}");
        }
    }

    #[test]
    fn generated_programs_exercise_every_primitive_and_form() {
        let mut seen: Vec<String> = (0..400)
            .flat_map(|seed| generate(seed).program.operations)
            .map(|op| label(&op))
            .collect();
        seen.sort();
        seen.dedup();
        let mut expected: Vec<String> = every_operation().iter().map(label).collect();
        expected.extend(["powi", "powi large", "tie", "min"].map(String::from));
        expected.sort();
        expected.dedup();
        assert_eq!(seen, expected);
    }

    /// `verify --random N` with the default seed (0) checks programs `program_seed(0, k)` for
    /// k < N: the first 100 of them already apply every elementary function of `Real` (every
    /// `strategies::real::Unary`, and `atan2`, `hypot` and `powf` with an active exponent), so a
    /// run of 10^4 covers each many times over.
    #[test]
    fn the_first_programs_of_the_default_seed_apply_every_elementary_function() {
        let seen: Vec<String> = (0..100)
            .flat_map(|k| generate(program_seed(0, k)).program.operations)
            .map(|op| label(&op))
            .collect();
        let expected =
            Elementary::ALL
                .map(|f| f.name())
                .into_iter()
                .chain(["atan2", "hypot", "powf active"]);
        for name in expected {
            let count = seen.iter().filter(|s| *s == name).count();
            assert!(count >= 3, "{name} appears {count} times");
        }
    }

    #[test]
    fn the_printer_writes_every_operation_as_one_line_naming_its_primitive() {
        let operations = every_operation();
        let p = program(&[0.5, 2.0], operations.clone(), &[2, 30]);
        let text = p.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), operations.len() + 2, "{text}");
        assert_eq!(lines[0], "input x0 = 0.5, x1 = 2.0");
        assert_eq!(lines[1], "v0 = x0 + x1");
        assert_eq!(lines[10], "v9 = x0; v9 -= x1");
        assert_eq!(lines.last(), Some(&"output y0 = v0, y1 = v28"));
        let tokens = [
            "x0 + x1",
            "x0 + 2.0",
            "x0 + constant(3.0)",
            "v3 += x1",
            "v4 += 2.0",
            "v5 += constant(3.0)",
            "x0 - x1",
            "x0 - 2.0",
            "x0 - constant(3.0)",
            "v9 -= x1",
            "v10 -= 2.0",
            "v11 -= constant(3.0)",
            "x0 * x1",
            "x0 * 2.0",
            "x0 * constant(3.0)",
            "v15 *= x1",
            "v16 *= 2.0",
            "v17 *= constant(3.0)",
            "x0 / (if x1 != 0",
            "x0 / 2.0",
            "x0 / constant(3.0)",
            "v21 /= (if x1 != 0",
            "v22 /= 2.0",
            "v23 /= constant(3.0)",
            "-x0",
            "sin(x0)",
            "cos(x0)",
            "tan(sin(x0))",
            "exp(-x0)",
            "ln(abs(x0) + 1)",
            "sqrt(abs(x0) + 1)",
            "tanh(x0)",
            "abs(x0)",
            "relu(x0)",
            "square(x0)",
            "asin(x0)",
            "acos(x0)",
            "atan(x0)",
            "sinh(x0)",
            "cosh(x0)",
            "asinh(x0)",
            "acosh(abs(x0) + 2)",
            "atanh(x0)",
            "ln_1p(x0)",
            "exp_m1(x0)",
            "log2(x0)",
            "log10(x0)",
            "exp2(x0)",
            "cbrt(x0)",
            "erf(x0)",
            "recip(x0)",
            "powi(x0, -31)",
            "powf(x0, x1)",
            "powf(x0, constant(0.5))",
            "max(x0, x1)",
            "min(x0, x0)",
            "sum(x0, x1, x0)",
            "product(x1, x0)",
            "constant(1e-12)",
            "if x0 > x1 { x0 } else { x1 }",
            "{ atan2(x0, x1) }",
            "{ hypot(x0, x1) }",
        ];
        assert_eq!(tokens.len(), operations.len());
        for (k, token) in tokens.iter().enumerate() {
            assert!(
                lines[k + 1].starts_with(&format!("v{k} = ")),
                "{}",
                lines[k + 1]
            );
            assert!(
                lines[k + 1].contains(token),
                "{} lacks {token}",
                lines[k + 1]
            );
        }
    }

    #[test]
    fn every_operation_agrees_across_strategies() {
        let operations = every_operation();
        let values: Vec<usize> = (0..2 + operations.len()).collect();
        let p = program(&[0.5, 2.0], operations, &values);
        assert!(p.is_testable());
        assert!(agrees(&p));
    }

    #[test]
    fn shrinking_a_program_with_a_division_leaves_one_division_of_one_input() {
        let original = (0..)
            .map(|seed| generate(seed).program)
            .find(|p| contains_active_division(p) && p.operations.len() > 10 && p.point.len() > 1)
            .expect("a generated program with a division");
        let shrunk = shrink(&original, contains_active_division);
        assert!(well_formed(&shrunk));
        assert_eq!(shrunk.point, [0.0]);
        assert_eq!(shrunk.outputs.len(), 1);
        assert!(
            matches!(
                shrunk.operations[..],
                [Operation::Arith {
                    op: Arith::Div,
                    lhs: 0,
                    rhs: Rhs::Value(0),
                    ..
                }]
            ),
            "{shrunk}"
        );
    }

    #[test]
    fn shrinking_simplifies_constants_and_exponents_it_does_not_need() {
        let original = program(
            &[0.731, -1.25],
            vec![
                Operation::Powi {
                    base: 0,
                    exponent: -25,
                },
                Operation::Arith {
                    op: Arith::Mul,
                    assign: true,
                    lhs: 2,
                    rhs: Rhs::Constant(3.7e-9),
                },
            ],
            &[3, 1],
        );
        let has_powi = |p: &RandomProgram| {
            p.operations
                .iter()
                .any(|op| matches!(op, Operation::Powi { .. }))
        };
        let shrunk = shrink(&original, has_powi);
        assert_eq!(
            shrunk,
            program(
                &[0.0],
                vec![Operation::Powi {
                    base: 0,
                    exponent: 0
                }],
                &[0]
            )
        );
    }

    #[test]
    fn programs_that_disagreed_before_the_shared_partials_now_agree() {
        // x0^3 with a negative base and a constant exponent, whose partial in the exponent is
        // NaN: forward mode seeding x1 or x2 multiplied it by a zero tangent. And x1 / x2 at
        // 1e-200, where -x1 / x2^2 overflowed to infinity.
        let p = program(
            &[-2.0, 1e-200, 1e-200],
            vec![
                Operation::Powf {
                    base: 0,
                    exponent: Exponent::Constant(3.0),
                },
                Operation::Arith {
                    op: Arith::Div,
                    assign: false,
                    lhs: 1,
                    rhs: Rhs::Value(2),
                },
                Operation::Arith {
                    op: Arith::Add,
                    assign: false,
                    lhs: 3,
                    rhs: Rhs::Value(4),
                },
            ],
            &[5, 3],
        );
        assert!(p.is_testable());
        let verdict = check(&p, &StrategyKind::own());
        assert!(
            matches!(verdict, Verdict::Agrees { ref skipped, .. } if skipped.is_empty()),
            "{verdict:?}"
        );
        let rows = StrategyKind::Dualrev.jacobian(&p, p.point()).rows.unwrap();
        assert_eq!(rows, [[12.0, 1e200, -1e200], [12.0, 0.0, 0.0]]);
    }

    fn arith(op: Arith, lhs: usize, rhs: Rhs) -> Operation {
        Operation::Arith {
            op,
            assign: false,
            lhs,
            rhs,
        }
    }

    #[test]
    fn honest_rounding_beyond_the_tolerance_is_within_the_path_bound_allowance() {
        // v0 = x0 - x0; v2 = x0 / (v0 - 4e-8); y = (v2 * v2 * v0 - 1) * v2 at x0 = 1: reverse
        // mode adds 2.5e7 to a cotangent of 1.6e22 before that cancels; forward mode is exact.
        let p = program(
            &[1.0],
            vec![
                arith(Arith::Sub, 0, Rhs::Value(0)),
                arith(Arith::Sub, 1, Rhs::Constant(4e-8)),
                arith(Arith::Div, 0, Rhs::Value(2)),
                Operation::Product(vec![3, 3, 1]),
                arith(Arith::Sub, 4, Rhs::Constant(1.0)),
                arith(Arith::Mul, 5, Rhs::Value(3)),
            ],
            &[6],
        );
        let forward = first_entry(&p, StrategyKind::Forward);
        let tape = first_entry(&p, StrategyKind::Tape);
        let error = relative_error(forward, tape);
        assert!(error > 1e-3, "{forward} vs {tape}");
        let reference = Reference::of(&p);
        assert!(error <= reference.allowed_error(TOLERANCE, 0, 0, forward, tape));
        assert!(agrees(&p));
    }

    #[test]
    fn a_program_whose_reverse_mode_products_overflow_is_untestable() {
        // B is 2.6e262, but the path bound from v6 to the output overflows: reverse mode
        // returns infinity, forward mode a finite derivative.
        let p = program(
            &[-0.092],
            vec![
                arith(Arith::Div, 0, Rhs::Constant(0.754)),
                arith(Arith::Mul, 1, Rhs::Constant(-1.304)),
                Operation::Powi {
                    base: 2,
                    exponent: -15,
                },
                Operation::Powi {
                    base: 3,
                    exponent: 13,
                },
                Operation::Constant(0.529),
                arith(Arith::Mul, 5, Rhs::Value(4)),
                Operation::Arith {
                    op: Arith::Mul,
                    assign: true,
                    lhs: 6,
                    rhs: Rhs::Value(6),
                },
                arith(Arith::Div, 1, Rhs::Value(7)),
                arith(Arith::Sub, 8, Rhs::Constant(-8.994202781128405e129)),
                arith(Arith::Div, 8, Rhs::Value(9)),
            ],
            &[10],
        );
        let (outputs, graph) = p.recorded(p.point());
        let (from_inputs, to_outputs) = graph.largest_path_bounds(&outputs);
        assert!(outputs[0].reach[0] > 1e262 && from_inputs <= RANGE_LIMIT);
        assert!(to_outputs.is_infinite());
        let derivative = |s: StrategyKind| first_entry(&p, s);
        assert!(derivative(StrategyKind::Forward).is_finite());
        assert!(derivative(StrategyKind::Tape).is_infinite());
        assert!(!p.is_testable());
    }

    #[test]
    fn an_infinite_partial_behind_a_zero_partial_is_absorbed_in_both_modes() {
        // (|x0| + 1)^(0^-1) at x0 = 0: the exponent is infinite, so is the partial of powf in
        // its base |x0| + 1; forward mode's zero tangent (abs' = 0) absorbs it, and so does
        // reverse mode, whose infinite cotangent meets the zero partial abs' = 0. The program
        // stays untestable: a vertex's bound to the output is infinite.
        let p = program(
            &[0.0],
            vec![
                Operation::Unary {
                    op: Unary::Relu,
                    arg: 0,
                },
                Operation::Powf {
                    base: 1,
                    exponent: Exponent::Constant(-1.0),
                },
                Operation::Powf {
                    base: 0,
                    exponent: Exponent::Value(2),
                },
            ],
            &[3],
        );
        let derivative = |s: StrategyKind| first_entry(&p, s);
        assert_eq!(derivative(StrategyKind::Forward), 0.0);
        assert_eq!(derivative(StrategyKind::Tape), 0.0);
        assert_eq!(derivative(StrategyKind::Dualrev), 0.0);
        assert_eq!(p.tracked(p.point())[0].reach[0], 0.0);
        assert!(!p.is_testable());
    }

    #[test]
    fn a_derivative_off_by_more_than_rounding_fails_each_comparison() {
        // sin(x0) * x1 at (0.7, -0.4): forward mode's Jacobian, then made wrong.
        let p = program(
            &[0.7, -0.4],
            vec![
                Operation::Unary {
                    op: Unary::Function(Elementary::Sin),
                    arg: 0,
                },
                arith(Arith::Mul, 2, Rhs::Value(1)),
            ],
            &[3],
        );
        let reference = Reference::of(&p);
        let honest = StrategyKind::Forward.jacobian(&p, p.point()).rows.unwrap();
        let off = |factor: f64| {
            let mut rows = honest.clone();
            rows[0][0] *= factor;
            vec![
                (StrategyKind::Forward, honest.clone()),
                (StrategyKind::Tape, rows),
            ]
        };
        assert_eq!(compare_pairs(&off(1.0), &reference), None);
        assert!(matches!(
            compare_pairs(&off(1.0 + 1e-8), &reference),
            Some(Disagreement::Derivatives {
                output: 0,
                input: 0,
                ..
            })
        ));
        assert!(matches!(
            compare_with_finite_differences(&off(1.001), &reference),
            Some(Disagreement::FiniteDifferences {
                strategy: StrategyKind::Tape,
                ..
            })
        ));
        assert!(matches!(
            compare_with_bounds(&off(f64::NAN), &reference),
            Some(Disagreement::OverBound {
                strategy: StrategyKind::Tape,
                ..
            })
        ));
        assert!(matches!(
            compare_with_bounds(&off(2.0), &reference),
            Some(Disagreement::OverBound { .. })
        ));
    }

    #[test]
    fn finite_differences_are_not_trusted_across_a_guard_at_the_point() {
        // x0^2 / x0 at x0 = 0 takes the guard x0^2 / (x0 + 1): AD says 0, the neighbours 1.
        let p = program(
            &[0.0],
            vec![
                Operation::Unary {
                    op: Unary::Square,
                    arg: 0,
                },
                arith(Arith::Div, 1, Rhs::Value(0)),
            ],
            &[2],
        );
        let reference = Reference::of(&p);
        assert!(reference.fd.reliable[0][0]);
        assert!((reference.fd.estimate[0][0] - 1.0).abs() < 1e-6);
        assert!(!reference.fd_trusted[0][0]);
        assert!(matches!(
            check(&p, &StrategyKind::own()),
            Verdict::Agrees { fd_compared: 0, .. }
        ));
    }

    #[test]
    fn finite_differences_are_not_trusted_where_an_intermediate_absorbs_the_step() {
        // sin(x0 / 2e-12 + x1): the sum is 5e11, whose rounding swallows a step in x1.
        let p = program(
            &[1.0, 0.0],
            vec![
                arith(Arith::Div, 0, Rhs::Constant(2e-12)),
                Operation::Sum(vec![2, 1]),
                Operation::Unary {
                    op: Unary::Function(Elementary::Sin),
                    arg: 3,
                },
            ],
            &[4],
        );
        let reference = Reference::of(&p);
        assert!(reference.fd.reliable[0][1]);
        assert!(!reference.fd_trusted[0][1]);
        assert!(agrees(&p));
    }

    #[test]
    fn finite_differences_are_trusted_on_smooth_well_conditioned_programs() {
        // sin(x0) * x1 + exp(x1).
        let p = program(
            &[0.7, -0.4],
            vec![
                Operation::Unary {
                    op: Unary::Function(Elementary::Sin),
                    arg: 0,
                },
                arith(Arith::Mul, 2, Rhs::Value(1)),
                Operation::Unary {
                    op: Unary::Function(Elementary::Exp),
                    arg: 1,
                },
                arith(Arith::Add, 3, Rhs::Value(4)),
            ],
            &[5],
        );
        let verdict = check(&p, &StrategyKind::own());
        assert!(
            matches!(
                verdict,
                Verdict::Agrees {
                    entries: 2,
                    fd_compared: 2,
                    ..
                }
            ),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_random_run_agrees_and_reports_its_summary() {
        let run = RandomCheck::new(40, 3, &[]).expect("all strategies");
        let mut seen = 0;
        let report = run.run(|failure| {
            assert_eq!(failure, None);
            seen += 1;
        });
        assert_eq!(seen, 40);
        assert!(report.passed());
        assert!(report
            .render()
            .ends_with("random: 40 programs (seed 3), 0 disagreements\n"));
    }

    #[test]
    fn a_failure_is_rendered_with_its_seed_numbers_and_shrunk_program() {
        let shrunk = program(
            &[1.0],
            vec![Operation::Unary {
                op: Unary::Function(Elementary::Sin),
                arg: 0,
            }],
            &[1],
        );
        let report = RandomReport {
            seed: 9,
            programs: 20,
            discarded: 0,
            skipped: vec![(StrategyKind::Naive, 2)],
            entries: 50,
            fd_compared: 40,
            failures: vec![Failure {
                index: 4,
                program_seed: program_seed(9, 4),
                original_operations: 17,
                shrunk,
                disagreement: Disagreement::Derivatives {
                    strategies: (StrategyKind::Forward, StrategyKind::Tape),
                    output: 0,
                    input: 0,
                    numbers: (0.5, f64::NAN),
                    error: f64::INFINITY,
                    allowed: 1e-10,
                },
            }],
        };
        let text = report.render();
        for expected in [
            "FAIL program 4 (program seed 9000031; reproduce with `dualbench verify --random 5 --seed 9`)",
            "forward vs tape at d y0 / d x0: 5e-1 vs NaN",
            "shrunk from 17 to 1 operations",
            "    v0 = sin(x0)",
            "note: naive skipped on 2 programs",
            "random: 20 programs (seed 9), 1 disagreement\n",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
        assert!(!report.passed());
    }
}
