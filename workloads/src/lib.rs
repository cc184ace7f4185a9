//! Programs written once, generic over [`strategies::Real`], with deterministic input
//! generators.
//!
//! A [`Workload`] is a family of programs indexed by a primary size and named parameters; it
//! [`instantiates`](instantiate) into an [`Instance`]: one program at one size, with its input
//! layout (named blocks, as in `docs/workloads.md`) and its generated input vector. [`all`] is the
//! one place a workload is registered.
//!
//! One module per family of `docs/workloads.md`; each workload is a unit struct named after its CLI
//! name, documented with what it computes, its input blocks and its operation count T:
//!
//! | family | module | workloads |
//! |---|---|---|
//! | the paper's benchmarks | [`paper`] | `fmult`, `fdotprod`, `fsummatvec`, `frotvecquat`, `fneural`, `mlp` |
//! | sharing stress | [`sharing`] | `square-chain`, `fib-chain`, `fanout`, `deep-chain`, `random-dag` |
//! | higher-order, control flow | [`higher_order`] | `horner`, `tree-reduce`, `newton` |
//! | classic AD problems | [`classic`] | `lse`, `sin-product-sum`, `llsq`, `det`, `ode`, `gmm`, `kmeans`, `advection` |
//! | parallel (fork-join) programs | [`parallel`] | `fparticles`, `par-tree`, `random-fork-join` |
//!
//! The parallel family's programs are [`strategies::ForkJoin`]s: a fork-join program and its
//! sequential twin. Only `primal` and `dualrev-par` run the branches of a `join` in parallel
//! (inside a rayon pool of more than one thread); every other strategy runs them sequentially:
//! `forward` and `tape` the fork-join form with every `join` in order, the rest the twin.
//!
//! Random inputs come from ChaCha8 with a fixed seed, whose stream does not depend on the
//! platform, so every input vector is the same on every machine.

use std::collections::BTreeMap;
use std::fmt;

use strategies::{DynProgram, StrategyKind};

pub mod classic;
pub mod higher_order;
mod inputs;
pub mod paper;
pub mod parallel;
pub mod sharing;

pub use classic::{Advection, Det, Gmm, Kmeans, Llsq, Lse, Ode, SinProductSum};
pub use higher_order::{Horner, Newton, TreeReduce};
pub use paper::{Fdotprod, Fmult, Fneural, Frotvecquat, Fsummatvec, Mlp};
pub use parallel::{
    Fparticles, ParTree, ParticleFork, ParticleSimulation, RandomForkJoin, SeededForkJoin,
    TreeSumOfSquares,
};
pub use sharing::{DeepChain, Fanout, FibChain, RandomDag, SquareChain};

/// The workload's family, as grouped in `docs/workloads.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// The paper's benchmark programs (ad-dualrev-th, bench/Main.hs).
    Paper,
    /// Sharing stress programs, where naive reverse AD is exponential.
    Sharing,
    /// Higher-order and control-flow programs.
    HigherOrder,
    /// Classic AD benchmark problems (GradBench, cmpad).
    Classic,
    /// Fork-join (task-parallel) programs, with their sequential twins.
    Parallel,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Paper => "paper",
            Family::Sharing => "sharing",
            Family::HigherOrder => "higher-order",
            Family::Classic => "classic",
            Family::Parallel => "parallel",
        })
    }
}

/// The primary size of a workload: what it means, its default, the accepted range and the
/// default sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeSpec {
    /// What the size is, e.g. "n, the length of each vector".
    pub meaning: &'static str,
    /// The size used when none is given.
    pub default: usize,
    /// Smallest accepted size.
    pub min: usize,
    /// Largest accepted size.
    pub max: usize,
    /// Sizes at which `verify` checks every strategy by default (small enough that even the
    /// exponential strategies finish in seconds).
    pub verify: &'static [usize],
    /// The default sweep for measurements.
    pub sweep: &'static [usize],
}

/// A named parameter besides the size: a number, or one of named choices.
///
/// Every parameter value is held as an `f64` ([`Params`]). A choice parameter (non-empty
/// [`ParamSpec::choices`]) holds the index of its choice: 0 for the first name, 1 for the
/// second, ...; its `integer`, `min` and `max` are `true`, 0 and the last index. People write
/// and read it by name (`--param fork=balanced`): [`ParamSpec::parse_value`] turns the text
/// into the value and [`ParamSpec::format_value`] the value into the text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// The name used in `--param name=value`.
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// Its default value (for a choice parameter, the default choice's index).
    pub default: f64,
    /// Whether only integer values are accepted.
    pub integer: bool,
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
    /// The names of its choices, in index order; empty for a numeric parameter.
    pub choices: &'static [&'static str],
}

impl ParamSpec {
    /// Whether it takes one of named choices rather than a number.
    pub fn is_choice(&self) -> bool {
        !self.choices.is_empty()
    }

    /// What it accepts, for messages: `one of chain, balanced`, `an integer in 1..=64` or
    /// `a number in 0..=1`.
    pub fn expected(&self) -> String {
        if self.is_choice() {
            return format!("one of {}", self.choices.join(", "));
        }
        let kind = if self.integer {
            "an integer"
        } else {
            "a number"
        };
        format!("{kind} in {}..={}", self.min, self.max)
    }

    /// Whether `value` is accepted: finite, in `min..=max`, an integer where one is needed
    /// (for a choice parameter: the index of one of its choices).
    pub fn accepts(&self, value: f64) -> bool {
        value.is_finite()
            && value >= self.min
            && value <= self.max
            && (!self.integer || value.fract() == 0.0)
            && (!self.is_choice() || value < self.choices.len() as f64)
    }

    /// The value that `text` (as written in `--param name=text`) gives it: for a choice
    /// parameter the index of the choice named `text`, else the number `text`. An error says
    /// what was wrong with `text` and what is accepted (the valid choices, or the range).
    pub fn parse_value(&self, text: &str) -> Result<f64, String> {
        let text = text.trim();
        if self.is_choice() {
            return self
                .choices
                .iter()
                .position(|&choice| choice == text)
                .map(|index| index as f64)
                .ok_or_else(|| {
                    format!(
                        "`{text}` is not a choice of `{}`; valid choices: {}",
                        self.name,
                        self.choices.join(", ")
                    )
                });
        }
        let value: f64 = text.parse().map_err(|_| {
            format!(
                "`{text}` is not a number; `{}` takes {}",
                self.name,
                self.expected()
            )
        })?;
        if self.accepts(value) {
            Ok(value)
        } else {
            Err(format!(
                "`{}` takes {}; got {}",
                self.name,
                self.expected(),
                shown(value)
            ))
        }
    }

    /// `value` as people write it: the name of its choice for a choice parameter, else the
    /// number as Rust prints it (`4`, `0.5`), which [`ParamSpec::parse_value`] reads back.
    /// A value that names no choice (from a file edited by hand, say) is printed as a number.
    pub fn format_value(&self, value: f64) -> String {
        if self.is_choice() && self.accepts(value) {
            self.choices[value as usize].to_string()
        } else {
            format!("{value}")
        }
    }
}

/// Parameter values by name, as given on the command line (`--param key=value`); a choice
/// parameter's value is the index of its choice ([`ParamSpec`]).
pub type Params = BTreeMap<String, f64>;

/// Parameter values by name as written on the command line, not yet read
/// ([`parse_params`]): `fork` → `balanced`, `particles` → `16`.
pub type ParamTexts = BTreeMap<String, String>;

/// One named block of the flat input vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The block's name, as in `docs/workloads.md` (e.g. `l1`, `w1`).
    pub name: &'static str,
    /// How many scalars it holds (matrices row-major).
    pub len: usize,
}

/// A program at one size: what a strategy differentiates.
pub struct Instance {
    /// The size it was instantiated at (`None` for fixed-size workloads).
    pub size: Option<usize>,
    /// All parameter values, defaults filled in.
    pub params: Params,
    /// The input layout, in order.
    pub layout: Vec<Block>,
    /// The generated input vector.
    pub input: Vec<f64>,
    /// The program.
    pub program: Box<dyn DynProgram>,
}

impl Instance {
    /// Whether its program has a hand-written adjoint, so that the `manual` strategy runs it
    /// ([`strategies::HandAdjoint`]).
    pub fn has_hand_adjoint(&self) -> bool {
        self.program.why_unavailable(StrategyKind::Manual).is_none()
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("size", &self.size)
            .field("params", &self.params)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// Why a workload could not be found or instantiated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkloadError {
    /// No workload has this name.
    #[error("unknown workload `{name}`; valid workloads: {valid}")]
    Unknown {
        /// The name given.
        name: String,
        /// The valid names, comma separated.
        valid: String,
    },
    /// The size is outside the accepted range.
    #[error(
        "workload `{workload}` does not accept size {size}: {meaning} must be in {min}..={max}"
    )]
    SizeOutOfRange {
        /// The workload.
        workload: &'static str,
        /// The size given.
        size: usize,
        /// What the size means.
        meaning: &'static str,
        /// Smallest accepted.
        min: usize,
        /// Largest accepted.
        max: usize,
    },
    /// A size was given to a fixed-size workload.
    #[error("workload `{workload}` has a fixed size and takes no --size (got {size})")]
    FixedSize {
        /// The workload.
        workload: &'static str,
        /// The size given.
        size: usize,
    },
    /// The parameter name is not one of the workload's.
    #[error("workload `{workload}` has no parameter `{name}`; valid parameters: {valid}")]
    UnknownParam {
        /// The workload.
        workload: &'static str,
        /// The name given.
        name: String,
        /// The valid names, comma separated (or "none").
        valid: String,
    },
    /// The text given for a parameter is not a value it takes.
    #[error("parameter `{name}` of workload `{workload}`: {reason}")]
    InvalidParam {
        /// The workload.
        workload: &'static str,
        /// The parameter.
        name: &'static str,
        /// What was wrong and what is accepted ([`ParamSpec::parse_value`]).
        reason: String,
    },
    /// The parameter value is out of range or not an integer where one is needed.
    #[error("parameter `{name}` of workload `{workload}` must be {expected}; got {}", shown(*value))]
    BadParam {
        /// The workload.
        workload: &'static str,
        /// The parameter.
        name: &'static str,
        /// What is accepted.
        expected: String,
        /// The value given.
        value: f64,
    },
}

/// `value` as a person writes it: in full while that is short, in scientific notation when it
/// is huge or tiny (`1e300`, not three hundred digits).
fn shown(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e15).contains(&magnitude) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// A family of programs indexed by a size and parameters.
pub trait Workload: Send + Sync {
    /// The stable CLI name.
    fn name(&self) -> &'static str;
    /// One line: what it computes.
    fn description(&self) -> &'static str;
    /// Which family of `docs/workloads.md` it belongs to.
    fn family(&self) -> Family;
    /// The primary size; `None` for fixed-size workloads.
    fn size(&self) -> Option<SizeSpec>;
    /// The named parameters besides the size.
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    /// Build the program at a size already validated by [`instantiate`] (the default size when
    /// none was given; ignored by fixed-size workloads) with every parameter present.
    fn build(&self, size: usize, params: &Params) -> Instance;
}

/// Validate `size` and `params` against `workload`'s specification, fill in defaults, and
/// build the instance.
pub fn instantiate(
    workload: &dyn Workload,
    size: Option<usize>,
    params: &Params,
) -> Result<Instance, WorkloadError> {
    let name = workload.name();
    let size = match (workload.size(), size) {
        (None, Some(size)) => {
            return Err(WorkloadError::FixedSize {
                workload: name,
                size,
            })
        }
        (None, None) => None,
        (Some(spec), given) => {
            let size = given.unwrap_or(spec.default);
            if size < spec.min || size > spec.max {
                return Err(WorkloadError::SizeOutOfRange {
                    workload: name,
                    size,
                    meaning: spec.meaning,
                    min: spec.min,
                    max: spec.max,
                });
            }
            Some(size)
        }
    };
    let mut resolved = Params::new();
    for (key, &value) in params {
        let spec = param_spec(workload, key)?;
        if !spec.accepts(value) {
            return Err(WorkloadError::BadParam {
                workload: name,
                name: spec.name,
                expected: spec.expected(),
                value,
            });
        }
        resolved.insert(key.clone(), value);
    }
    for spec in workload.params() {
        resolved
            .entry(spec.name.to_string())
            .or_insert(spec.default);
    }
    let mut instance = workload.build(size.unwrap_or(0), &resolved);
    instance.size = size;
    instance.params = resolved;
    Ok(instance)
}

/// The parameter `key` of `workload`; an error names its parameters when it has none by
/// that name.
pub fn param_spec(workload: &dyn Workload, key: &str) -> Result<&'static ParamSpec, WorkloadError> {
    let specs = workload.params();
    specs.iter().find(|s| s.name == key).ok_or_else(|| {
        let valid = specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
        WorkloadError::UnknownParam {
            workload: workload.name(),
            name: key.to_string(),
            valid: if valid.is_empty() {
                "none".into()
            } else {
                valid
            },
        }
    })
}

/// The values that `texts` (as written in `--param name=text`) give `workload`'s parameters,
/// each read by its [`ParamSpec::parse_value`]: `fork=balanced` gives `fork` the index of
/// `balanced`. A name that is not one of its parameters, or a text the parameter does not
/// take, is an error that says what is valid.
pub fn parse_params(workload: &dyn Workload, texts: &ParamTexts) -> Result<Params, WorkloadError> {
    texts
        .iter()
        .map(|(key, text)| {
            let spec = param_spec(workload, key)?;
            let value = spec
                .parse_value(text)
                .map_err(|reason| WorkloadError::InvalidParam {
                    workload: workload.name(),
                    name: spec.name,
                    reason,
                })?;
            Ok((key.clone(), value))
        })
        .collect()
}

/// The value `value` of the parameter `name` of the workload called `workload` as people write
/// it ([`ParamSpec::format_value`]): `balanced` for `fparticles`' `fork` = 1. For a workload or
/// parameter that is not registered (a results file from another build, say), the number as
/// Rust prints it.
pub fn format_param(workload: &str, name: &str, value: f64) -> String {
    find(workload)
        .ok()
        .and_then(|w| w.params().iter().find(|s| s.name == name))
        .map_or_else(|| format!("{value}"), |spec| spec.format_value(value))
}

/// The value of the choice `name` of the choice parameters called `key` among the registered
/// workloads: `None` when no workload has a choice parameter `key`, else its index, or, when
/// `name` is none of the choices, every valid choice (in the order the workloads list them,
/// each once).
pub fn choice_value(key: &str, name: &str) -> Option<Result<f64, Vec<&'static str>>> {
    let specs: Vec<&ParamSpec> = all()
        .iter()
        .flat_map(|w| w.params())
        .filter(|spec| spec.name == key && spec.is_choice())
        .collect();
    if specs.is_empty() {
        return None;
    }
    if let Some(value) = specs.iter().find_map(|spec| spec.parse_value(name).ok()) {
        return Some(Ok(value));
    }
    let mut valid: Vec<&'static str> = Vec::new();
    for &choice in specs.iter().flat_map(|spec| spec.choices.iter()) {
        if !valid.contains(&choice) {
            valid.push(choice);
        }
    }
    Some(Err(valid))
}

/// Every parameter of `params` as `name=value` ([`format_param`]), in name order:
/// `["fork=balanced", "particles=16"]`.
pub fn format_params(workload: &str, params: &Params) -> Vec<String> {
    params
        .iter()
        .map(|(name, &value)| format!("{name}={}", format_param(workload, name, value)))
        .collect()
}

/// The parameters of `params` that differ from their defaults in the workload called `workload`,
/// as `name=value` ([`format_param`]), in name order: what tells apart two series of one
/// workload in a table (`["fork=balanced", "particles=16"]`; empty at the defaults). Every
/// parameter counts for a workload that is not registered.
pub fn non_default_params(workload: &str, params: &Params) -> Vec<String> {
    let default = |name: &str| {
        find(workload)
            .ok()
            .and_then(|w| w.params().iter().find(|s| s.name == name))
            .map(|spec| spec.default)
    };
    params
        .iter()
        .filter(|&(name, &value)| default(name) != Some(value))
        .map(|(name, &value)| format!("{name}={}", format_param(workload, name, value)))
        .collect()
}

/// Add to `params` every parameter of the workload called `workload` that it lacks, at its
/// default: rows recorded before a parameter existed then name the case that has it at its
/// default, as they measured. Nothing changes for a workload that is not registered.
pub fn add_default_params(workload: &str, params: &mut Params) {
    if let Ok(w) = find(workload) {
        for spec in w.params() {
            params.entry(spec.name.to_string()).or_insert(spec.default);
        }
    }
}

/// Every workload, in listing order: the one place a workload is registered.
pub fn all() -> &'static [&'static dyn Workload] {
    &[
        &Fmult,
        &Fdotprod,
        &Fsummatvec,
        &Frotvecquat,
        &Fneural,
        &Mlp,
        &SquareChain,
        &FibChain,
        &Fanout,
        &DeepChain,
        &RandomDag,
        &Horner,
        &TreeReduce,
        &Newton,
        &Lse,
        &SinProductSum,
        &Llsq,
        &Det,
        &Ode,
        &Gmm,
        &Kmeans,
        &Advection,
        &Fparticles,
        &ParTree,
        &RandomForkJoin,
    ]
}

/// Whether `workload` defines a hand-written adjoint (the `manual` strategy runs it), read off
/// its instance at its smallest size with default parameters: a workload has one at every size
/// or at none (`tests/registry.rs` checks this at every verify size and the default).
pub fn has_hand_adjoint(workload: &dyn Workload) -> bool {
    let smallest = workload.size().map(|spec| spec.min);
    instantiate(workload, smallest, &Params::new())
        .is_ok_and(|instance| instance.has_hand_adjoint())
}

/// The names of the workloads with a hand-written adjoint ([`has_hand_adjoint`]), comma
/// separated, in listing order (for messages).
pub fn hand_adjoint_names() -> String {
    all()
        .iter()
        .filter(|w| has_hand_adjoint(**w))
        .map(|w| w.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Look a workload up by name.
pub fn find(name: &str) -> Result<&'static dyn Workload, WorkloadError> {
    all()
        .iter()
        .copied()
        .find(|w| w.name() == name)
        .ok_or_else(|| WorkloadError::Unknown {
            name: name.to_string(),
            valid: names(),
        })
}

/// The names of all workloads, comma separated (for error messages).
pub fn names() -> String {
    all()
        .iter()
        .map(|w| w.name())
        .collect::<Vec<_>>()
        .join(", ")
}
