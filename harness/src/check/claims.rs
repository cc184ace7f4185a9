//! The claims file: what a complexity claim says, parsed and validated once before any work.
//!
//! A claims file (`claims.toml` at the repository root) is a list of `[[claim]]` tables and an
//! optional `[settings]` table:
//!
//! ```toml
//! [settings]
//! confidence = 0.95      # level of the confidence intervals of timing fits and speedups
//! max_work = 1e6         # cap on the predicted work of one in-process counter case
//!
//! [[claim]]
//! id = "naive-square-chain-exponential"
//! sentence = "Naive reverse AD makes 2^(k+1) - 1 backpropagator calls on square-chain."
//! strategies = ["naive"]          # glob patterns over strategy names (`*`, `?`)
//! workloads = ["square-chain"]    # glob patterns over workload names
//! exclude_workloads = []          # optional: glob patterns of workloads to leave out
//! params = { }                    # optional: only cases with these parameter values
//! metric = "counter:backprop_calls"
//! x = "size"                      # or "ops": T, the primal operation count
//! model = "exponential 2"
//! tolerance = 0.01                # in the units of the fitted quantity (exponent or base)
//! sizes = [8, 10, 12, 14, 16]     # optional: the sizes counter cases are evaluated at
//! min_ops = 1e4                   # optional: leave cases with T below this out of the fit
//! ```
//!
//! `min_ops` is for ratios to the primal: where T is a few thousand operations or fewer, the
//! primal's time is dominated by a fixed per-call cost (lifting inputs, returning the output
//! vector), so an overhead ratio measures that cost rather than the algorithm.
//!
//! `params` selects the cases whose workload parameters have the given values (the others are
//! left out): a number, or for a choice parameter the choice's name (`fork = "balanced"`);
//! in-process cases are evaluated with them (the other parameters at their
//! defaults). Without `params`, in-process cases use the defaults and a results file's cases
//! are taken at every parameter value, one series per value.
//!
//! Metrics: `counter:NAME` (or `counter:A+B`, a sum of counters), `ops` (T itself), `time` (the
//! gradient's wall time), `forward-time`, `reverse-time` (its phases), `overhead` (gradient time
//! / primal time of the same run), `peak-heap` (peak heap bytes) and `speedup` (median time on
//! one thread / median time on t threads of the same case, at the largest t the data hold;
//! `speedup:T` at T threads). Counters and `ops` are exact: deterministic, so they are decided
//! without statistics and evaluated in-process by `dualbench check --counters-only`. The others
//! are measurements and need a results file; `speedup` one from `dualbench run --threads 1,2`.
//!
//! Models come in three forms (the third with two variants):
//!
//! - **Growth** laws, fitted over sizes: `constant`, `log`, `linear`, `n log n`, `power P`,
//!   `exponential B`, each optionally prefixed by `at most` (an upper bound: `at most power
//!   1.2`). They need `x` and `tolerance`, which is in the units of the fitted quantity: the
//!   exponent for every model but `exponential`, whose fitted quantity is the base.
//! - **Equality** with another strategy, `same as NAME` (a counter metric; no `x`, no
//!   `tolerance`, no `min_ops`): at every case of the selected workloads, each counter the
//!   metric names (`counter:A+B` compares A and B one by one, not their sum) equals NAME's on
//!   the same workload, size and parameters, exactly. NAME must be a strategy that reports those
//!   counters; a selected strategy that does not report one fails the claim at every case.
//!
//!   ```toml
//!   [[claim]]
//!   id = "sparse-edges-same-as-dualrev"
//!   sentence = "Rungs 3 and 4 apply the same edges."
//!   strategies = ["sparse"]
//!   workloads = ["fdotprod", "square-chain"]
//!   metric = "counter:ids_allocated+edges_applied"
//!   model = "same as dualrev"
//!   sizes = [10, 20, 40]
//!   ```
//!
//! - **A lower bound** on a speedup (metric `speedup` or `speedup:T` only; no `x`,
//!   `tolerance`, `min_ops`, `sizes` or `max_work`), decided from a results file at the largest
//!   size with rows at one and at t threads, by the confidence interval of the ratio of
//!   medians; inconclusive when the file has no row at t threads:
//!   - `at least B`: the interval lies at or above B;
//!   - `at least F of bound` (F in (0, 1]): the interval lies at or above F · min(t, W / S),
//!     with W and S the work and the span of the whole gradient from the case's counters
//!     `work_forward`, `span_forward`, `work_reverse`, `span_reverse`
//!     ([`crate::parallel::span`], `docs/parallel.md`); inconclusive, saying so, when the case
//!     does not report them.
//!
//!   ```toml
//!   [[claim]]
//!   id = "par-tree-speedup-of-bound"
//!   sentence = "On 2 threads dualrev-par reaches 0.9 of what its job graph allows."
//!   strategies = ["dualrev-par"]
//!   workloads = ["par-tree"]
//!   metric = "speedup:2"
//!   model = "at least 0.9 of bound"
//!   ```

use std::collections::BTreeSet;
use std::fmt;
use std::mem;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use strategies::StrategyKind;
use wildmatch::WildMatch;
use workloads::Params;

use crate::suggest::{did_you_mean, plain_types};

/// Why a claims file could not be used. Every variant names the claim (and its line) or the
/// place in the file, and what is valid; [`ClaimsError::in_file`] adds the file's name.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClaimsError {
    /// The file is not valid TOML or does not have the expected shape (an unknown key, a value
    /// of the wrong type): the parser's message, which names the line and column.
    #[error("{file}: {message}")]
    Syntax {
        /// The file (or a description of the source).
        file: String,
        /// The parser's message.
        message: String,
    },
    /// One field of one claim is invalid.
    #[error("line {line}, claim `{id}`: {message}")]
    Invalid {
        /// The claim's id.
        id: String,
        /// The line of its `[[claim]]` table.
        line: usize,
        /// What is wrong and what is valid.
        message: String,
    },
    /// Two claims have the same id.
    #[error(
        "lines {first_line} and {line}: the claim id `{id}` is used twice; ids must be unique"
    )]
    DuplicateId {
        /// The id.
        id: String,
        /// The line of the first claim with it.
        first_line: usize,
        /// The line of the second.
        line: usize,
    },
    /// A setting is out of range.
    #[error("settings: {0}")]
    Settings(String),
    /// The file has no claims.
    #[error("{0}: the file has no [[claim]] tables")]
    Empty(String),
}

impl ClaimsError {
    /// The message with the claims file's name `file` in front (the syntax errors and an empty
    /// file name it already).
    pub fn in_file(&self, file: &str) -> String {
        match self {
            ClaimsError::Syntax { .. } | ClaimsError::Empty(_) => self.to_string(),
            _ => format!("{file}: {self}"),
        }
    }
}

/// What is measured: the y-axis of a claim.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// T, the primal operation count (exact).
    Ops,
    /// The sum of one or more named counters (exact).
    Counters(Vec<String>),
    /// The gradient's wall time, end to end.
    Time,
    /// The forward phase's wall time.
    ForwardTime,
    /// The reverse phase's wall time.
    ReverseTime,
    /// Gradient time divided by primal time, from the same run.
    Overhead,
    /// Peak heap bytes during the gradient.
    PeakHeap,
    /// Median time on one thread over median time on t threads, of the same case: at `Some(t)`
    /// threads, or (`None`) at the largest thread count the data hold.
    Speedup(Option<u64>),
}

impl Metric {
    /// Whether the metric is deterministic (decided exactly, evaluated in-process).
    pub fn is_exact(&self) -> bool {
        matches!(self, Metric::Ops | Metric::Counters(_))
    }

    /// Whether the metric compares cases run at different thread counts, which only a results
    /// file of `dualbench run --threads` holds (neither in-process evaluation nor `check`'s own
    /// measurements run a case on more than one thread count).
    pub fn across_threads(&self) -> bool {
        matches!(self, Metric::Speedup(_))
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(names) = text.strip_prefix("counter:") {
            let names: Vec<String> = names.split('+').map(|n| n.trim().to_string()).collect();
            if names.iter().any(String::is_empty) {
                return Err(format!(
                    "metric `{text}` names an empty counter; write counter:NAME or counter:A+B"
                ));
            }
            return Ok(Metric::Counters(names));
        }
        if let Some(threads) = text.strip_prefix("speedup:") {
            return match threads.trim().parse::<u64>() {
                Ok(t) if t >= 2 => Ok(Metric::Speedup(Some(t))),
                _ => Err(format!(
                    "metric `{text}`: the thread count `{threads}` is not a whole number of at \
                     least 2; write speedup:2, or speedup for the largest thread count measured"
                )),
            };
        }
        Ok(match text {
            "ops" => Metric::Ops,
            "time" => Metric::Time,
            "forward-time" => Metric::ForwardTime,
            "reverse-time" => Metric::ReverseTime,
            "overhead" => Metric::Overhead,
            "peak-heap" => Metric::PeakHeap,
            "speedup" => Metric::Speedup(None),
            _ => {
                // `countr:edges` is `counter:edges` mistyped: suggest the whole metric.
                let suggestion = match text.split_once(':') {
                    Some((kind, rest)) => did_you_mean(kind, ["counter", "speedup"])
                        .replace("`?", &format!(":{rest}`?")),
                    None => String::new(),
                };
                return Err(format!(
                    "unknown metric `{text}`{suggestion}{}; valid metrics: counter:NAME, \
                     counter:A+B, ops, time, forward-time, reverse-time, overhead, peak-heap, \
                     speedup, speedup:T",
                    did_you_mean(
                        text,
                        [
                            "ops",
                            "time",
                            "forward-time",
                            "reverse-time",
                            "overhead",
                            "peak-heap",
                            "speedup"
                        ]
                    )
                ));
            }
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Ops => f.write_str("ops"),
            Metric::Counters(names) => write!(f, "counter:{}", names.join("+")),
            Metric::Time => f.write_str("time"),
            Metric::ForwardTime => f.write_str("forward-time"),
            Metric::ReverseTime => f.write_str("reverse-time"),
            Metric::Overhead => f.write_str("overhead"),
            Metric::PeakHeap => f.write_str("peak-heap"),
            Metric::Speedup(None) => f.write_str("speedup"),
            Metric::Speedup(Some(t)) => write!(f, "speedup:{t}"),
        }
    }
}

/// The x-axis of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// The workload's primary size.
    Size,
    /// T, the primal operation count of the case.
    Ops,
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Size => "size",
            Axis::Ops => "ops",
        })
    }
}

/// A growth law y(x), up to a constant factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Growth {
    /// y = c.
    Constant,
    /// y = c ln x.
    Log,
    /// y = c x.
    Linear,
    /// y = c x ln x.
    NLogN,
    /// y = c x^p.
    Power(f64),
    /// y = c b^x.
    Exponential(f64),
}

/// The quantity a fit estimates: how the data are transformed before a least-squares line is
/// fitted to them, and how the slope is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitKind {
    /// ln y on ln x; the slope is the exponent.
    Power,
    /// ln y on ln ln x; the slope is the exponent of ln x (1 for `log`).
    PowerOfLog,
    /// ln(y / ln x) on ln x; the slope is the exponent of x beside one factor ln x (1 for
    /// `n log n`).
    PowerTimesLog,
    /// ln y on x; e^slope is the base.
    Exponential,
}

impl FitKind {
    /// The reported quantity: "exponent" or "base".
    pub fn quantity(self) -> &'static str {
        match self {
            FitKind::Exponential => "base",
            _ => "exponent",
        }
    }
}

impl Growth {
    /// How the data are fitted for this law.
    pub fn fit_kind(self) -> FitKind {
        match self {
            Growth::Log => FitKind::PowerOfLog,
            Growth::NLogN => FitKind::PowerTimesLog,
            Growth::Exponential(_) => FitKind::Exponential,
            Growth::Constant | Growth::Linear | Growth::Power(_) => FitKind::Power,
        }
    }

    /// The value of the fitted quantity that the law predicts (an exponent, or a base).
    pub fn target(self) -> f64 {
        match self {
            Growth::Constant => 0.0,
            Growth::Log | Growth::Linear | Growth::NLogN => 1.0,
            Growth::Power(p) => p,
            Growth::Exponential(b) => b,
        }
    }
}

/// A growth law, possibly only as an upper bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Model {
    /// The law.
    pub growth: Growth,
    /// `at most`: the claim is an upper bound on the fitted quantity, not an equality.
    pub at_most: bool,
}

impl FromStr for Model {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (at_most, rest) = match words.as_slice() {
            ["at", "most", rest @ ..] => (true, rest),
            rest => (false, rest),
        };
        let number = |word: &str, what: &str| -> Result<f64, String> {
            word.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("model `{text}`: the {what} `{word}` is not a number"))
        };
        let growth = match rest {
            ["constant"] => Growth::Constant,
            ["log"] => Growth::Log,
            ["linear"] => Growth::Linear,
            ["n", "log", "n"] => Growth::NLogN,
            ["power", p] => Growth::Power(number(p, "exponent")?),
            ["exponential", b] => {
                let b = number(b, "base")?;
                if b <= 0.0 {
                    return Err(format!("model `{text}`: the base must be positive"));
                }
                Growth::Exponential(b)
            }
            _ => {
                return Err(format!(
                    "unknown model `{text}`{}; valid models: constant, log, linear, n log n, \
                     power P, exponential B (growth laws, each optionally prefixed by `at \
                     most`), same as STRATEGY, at least B, at least F of bound",
                    did_you_mean(
                        rest.first().copied().unwrap_or(""),
                        ["constant", "log", "linear", "power", "exponential"]
                    )
                ))
            }
        };
        Ok(Model { growth, at_most })
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at_most {
            f.write_str("at most ")?;
        }
        match self.growth {
            Growth::Constant => f.write_str("constant"),
            Growth::Log => f.write_str("log"),
            Growth::Linear => f.write_str("linear"),
            Growth::NLogN => f.write_str("n log n"),
            Growth::Power(p) => write!(f, "power {p}"),
            Growth::Exponential(b) => write!(f, "exponential {b}"),
        }
    }
}

/// A growth claim's law, and how it is fitted and judged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrowthClaim {
    /// The x-axis.
    pub x: Axis,
    /// The expected growth.
    pub model: Model,
    /// Allowed deviation of the fitted quantity from the model's target.
    pub tolerance: f64,
}

/// What a claim expects of its metric: its `model`, in one of three forms.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// A growth law over sizes (`linear`, `at most power 1.2`, ...).
    Growth(GrowthClaim),
    /// At every case, each counter of the metric equals this strategy's (`same as dualrev`).
    SameAs(String),
    /// The speedup's confidence interval lies at or above this floor (`at least 1.5`, `at least
    /// 0.9 of bound`).
    AtLeast(SpeedupFloor),
}

/// The floor of a speedup claim: a number, or a share of the bound of the job graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpeedupFloor {
    /// `at least B`: the speedup is at least B.
    Fixed(f64),
    /// `at least F of bound`: the speedup on T threads is at least F · min(T, W / S), with W and
    /// S the work and span of the case's counters ([`crate::parallel::span`]); F in (0, 1].
    OfBound(f64),
}

impl fmt::Display for SpeedupFloor {
    /// As written in the claims file, after `at least`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpeedupFloor::Fixed(bound) => write!(f, "{bound}"),
            SpeedupFloor::OfBound(share) => write!(f, "{share} of bound"),
        }
    }
}

impl fmt::Display for Expectation {
    /// The model as written in the claims file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Growth(g) => g.model.fmt(f),
            Expectation::SameAs(other) => write!(f, "same as {other}"),
            Expectation::AtLeast(floor) => write!(f, "at least {floor}"),
        }
    }
}

/// Glob patterns (`*`, `?`) over names: a name is selected when it matches one of the
/// included patterns and none of the excluded ones.
#[derive(Clone, Debug)]
pub struct Selection {
    include: Vec<(String, WildMatch)>,
    exclude: Vec<(String, WildMatch)>,
}

impl Selection {
    fn new(include: Vec<String>, exclude: Vec<String>) -> Self {
        let compile = |ps: Vec<String>| {
            ps.into_iter()
                .map(|p| {
                    let m = WildMatch::new(&p);
                    (p, m)
                })
                .collect()
        };
        Self {
            include: compile(include),
            exclude: compile(exclude),
        }
    }

    /// Whether `name` is selected.
    pub fn matches(&self, name: &str) -> bool {
        self.include.iter().any(|(_, m)| m.matches(name))
            && !self.exclude.iter().any(|(_, m)| m.matches(name))
    }

    /// The patterns (included, then excluded) that match none of `names`.
    pub fn unmatched<'a>(&'a self, names: &BTreeSet<String>) -> Vec<&'a str> {
        self.include
            .iter()
            .chain(&self.exclude)
            .filter(|(_, m)| !names.iter().any(|n| m.matches(n)))
            .map(|(p, _)| p.as_str())
            .collect()
    }
}

impl PartialEq for Selection {
    fn eq(&self, other: &Self) -> bool {
        let patterns = |s: &Self| {
            let names =
                |v: &[(String, WildMatch)]| v.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
            (names(&s.include), names(&s.exclude))
        };
        patterns(self) == patterns(other)
    }
}

/// One validated claim.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// Unique id (lowercase letters, digits and `-`).
    pub id: String,
    /// The line of its `[[claim]]` table in the claims file, for messages.
    pub line: usize,
    /// The sentence it tests, for humans.
    pub sentence: String,
    /// Which strategies.
    pub strategies: Selection,
    /// Which workloads.
    pub workloads: Selection,
    /// Parameter values a case must have to be selected (empty: any); in-process cases are
    /// evaluated with them.
    pub params: Params,
    /// The y-axis.
    pub metric: Metric,
    /// What the metric is expected to do: its model.
    pub expect: Expectation,
    /// Sizes at which in-process counter cases are evaluated; `None`: the workload's sweep and
    /// verification sizes, capped by the work budget.
    pub sizes: Option<Vec<usize>>,
    /// This claim's cap on the predicted work of one in-process case (overrides the setting).
    pub max_work: Option<f64>,
    /// Cases whose T is below this are left out of the fits (and named in the notes).
    pub min_ops: Option<u64>,
}

impl Claim {
    /// Whether a case with these (resolved) parameters is selected: it has every value of
    /// `params`.
    pub fn selects_params(&self, params: &Params) -> bool {
        self.params.iter().all(|(k, v)| params.get(k) == Some(v))
    }
}

/// File-wide settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Settings {
    /// Confidence level of the intervals of timing fits, in (0, 1).
    pub confidence: f64,
    /// Default cap on the predicted work of one in-process counter case (see
    /// [`crate::check::evaluate`]).
    pub max_work: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            max_work: 1e6,
        }
    }
}

/// A parsed and validated claims file.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsFile {
    /// File-wide settings.
    pub settings: Settings,
    /// The claims, in file order.
    pub claims: Vec<Claim>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    settings: Option<RawSettings>,
    #[serde(default)]
    claim: Vec<toml::Spanned<RawClaim>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    confidence: Option<f64>,
    max_work: Option<f64>,
}

/// A value of a claim's `params`: a number, or the name of a choice parameter's choice.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawParam {
    Number(f64),
    Choice(String),
}

/// The claim's `params` as numbers: a choice's name becomes its index, looked up among the
/// choice parameters of that name of the registered workloads.
fn resolve_params(
    raw: std::collections::BTreeMap<String, RawParam>,
) -> std::result::Result<Params, String> {
    let mut params = Params::new();
    for (key, value) in raw {
        let number = match value {
            RawParam::Number(v) if v.is_finite() => v,
            RawParam::Number(v) => {
                return Err(format!("params: `{key}` = {v} is not a finite number"));
            }
            RawParam::Choice(name) => match workloads::choice_value(&key, &name) {
                Some(Ok(value)) => value,
                Some(Err(valid)) => {
                    return Err(format!(
                        "params: `{key}` = \"{name}\" is not a choice of `{key}`; valid \
                         choices: {}",
                        valid.join(", ")
                    ));
                }
                None => {
                    return Err(format!(
                        "params: `{key}` = \"{name}\" is not a number, and no workload has a \
                         choice parameter `{key}`"
                    ));
                }
            },
        };
        params.insert(key, number);
    }
    Ok(params)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    id: String,
    sentence: String,
    strategies: Vec<String>,
    workloads: Vec<String>,
    #[serde(default)]
    exclude_workloads: Vec<String>,
    #[serde(default)]
    params: std::collections::BTreeMap<String, RawParam>,
    metric: String,
    x: Option<Axis>,
    model: String,
    tolerance: Option<f64>,
    sizes: Option<Vec<usize>>,
    max_work: Option<f64>,
    min_ops: Option<f64>,
}

impl ClaimsFile {
    /// Read and validate a claims file.
    pub fn read(path: &Path) -> Result<Self, crate::Error> {
        let file = path.display().to_string();
        let valid = "--claims names a claims file (TOML), such as the repository's claims.toml";
        if path.is_dir() {
            return Err(crate::Error::usage(format!(
                "{file} is a directory; {valid}"
            )));
        }
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => {
                crate::Error::usage(format!("{file}: no such file; {valid}"))
            }
            _ => crate::Error::Io {
                context: format!("reading the claims file {file}"),
                source,
            },
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            crate::Error::usage(format!(
                "{file}: not a text file (invalid UTF-8 at byte {}); a claims file is TOML \
                 text, like claims.toml",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Self::parse(&text, &file).map_err(|e| crate::Error::usage(e.in_file(&file)))
    }

    /// Parse and validate claims from TOML text; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ClaimsError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ClaimsError::Syntax {
            file: file.to_string(),
            message: syntax_message(&e),
        })?;
        let mut settings = Settings::default();
        if let Some(s) = raw.settings {
            if let Some(c) = s.confidence {
                if !(c > 0.0 && c < 1.0) {
                    return Err(ClaimsError::Settings(format!(
                        "confidence must be in (0, 1), e.g. 0.95; got {c}"
                    )));
                }
                settings.confidence = c;
            }
            if let Some(w) = s.max_work {
                settings.max_work = positive_work(w).map_err(ClaimsError::Settings)?;
            }
        }
        if raw.claim.is_empty() {
            return Err(ClaimsError::Empty(file.to_string()));
        }
        let mut lines = std::collections::BTreeMap::new();
        let mut claims = Vec::with_capacity(raw.claim.len());
        for c in raw.claim {
            let line = line_of(text, c.span().start);
            let claim = validate(c.into_inner(), line)?;
            if let Some(first_line) = lines.insert(claim.id.clone(), line) {
                return Err(ClaimsError::DuplicateId {
                    id: claim.id,
                    first_line,
                    line,
                });
            }
            claims.push(claim);
        }
        Ok(Self { settings, claims })
    }

    /// Check that every counter a claim's metric names is reported by every strategy the claim
    /// selects, so that a typo (`counter:nosuch`) is an input error naming the valid counters,
    /// not a claim that silently has no data. For a `same as` claim, check instead that the
    /// strategy it compares with exists and reports those counters, and that the claim selects
    /// some other strategy: a selected strategy lacking a counter fails the claim (it does not
    /// count the same work), it is not an input error.
    pub fn check_counters(&self) -> Result<(), ClaimsError> {
        for claim in &self.claims {
            let Metric::Counters(names) = &claim.metric else {
                continue;
            };
            let selected: Vec<StrategyKind> = StrategyKind::ALL
                .iter()
                .copied()
                .filter(|s| claim.strategies.matches(s.name()))
                .collect();
            if let Expectation::SameAs(other) = &claim.expect {
                check_reference(claim, other, names, &selected)?;
                continue;
            }
            for name in names {
                let lacking: Vec<StrategyKind> = selected
                    .iter()
                    .copied()
                    .filter(|s| !s.counter_names().contains(&name.as_str()))
                    .collect();
                if lacking.is_empty() {
                    continue;
                }
                let valid: Vec<String> = selected
                    .iter()
                    .map(|s| format!("{}: {}", s.name(), s.counter_names().join(", ")))
                    .collect();
                let counters: BTreeSet<&str> = selected
                    .iter()
                    .flat_map(|s| s.counter_names().iter().copied())
                    .collect();
                return Err(ClaimsError::Invalid {
                    id: claim.id.clone(),
                    line: claim.line,
                    message: format!(
                        "metric `{}`: no counter `{name}` in strategy {}{}; the selected \
                         strategies report {}",
                        claim.metric,
                        lacking
                            .iter()
                            .map(|s| format!("`{}`", s.name()))
                            .collect::<Vec<_>>()
                            .join(", "),
                        did_you_mean(name, counters),
                        valid.join("; ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Check that every parameter a claim's `params` names is a parameter of every registered
    /// workload the claim selects, so that a typo is an input error naming the valid ones.
    pub fn check_params(&self) -> Result<(), ClaimsError> {
        for claim in &self.claims {
            for w in workloads::all()
                .iter()
                .filter(|w| claim.workloads.matches(w.name()))
            {
                let specs = w.params();
                if let Some(name) = claim
                    .params
                    .keys()
                    .find(|k| !specs.iter().any(|s| s.name == k.as_str()))
                {
                    let valid: Vec<&str> = specs.iter().map(|s| s.name).collect();
                    return Err(ClaimsError::Invalid {
                        id: claim.id.clone(),
                        line: claim.line,
                        message: format!(
                            "params: workload `{}` has no parameter `{name}`{} (its parameters: \
                             {}); narrow `workloads` or leave the parameter out",
                            w.name(),
                            did_you_mean(name, valid.iter().copied()),
                            if valid.is_empty() {
                                "none".to_string()
                            } else {
                                valid.join(", ")
                            }
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Check that every strategy and workload pattern matches at least one known name, so that
    /// a typo is an input error rather than a claim that silently tests nothing.
    pub fn check_names(
        &self,
        strategies: &BTreeSet<String>,
        workloads: &BTreeSet<String>,
    ) -> Result<(), ClaimsError> {
        for claim in &self.claims {
            for (selection, names, what) in [
                (&claim.strategies, strategies, "strategy"),
                (&claim.workloads, workloads, "workload"),
            ] {
                if let Some(p) = selection.unmatched(names).first() {
                    return Err(ClaimsError::Invalid {
                        id: claim.id.clone(),
                        line: claim.line,
                        message: format!(
                            "the {what} pattern `{p}` matches no {what}{}; known: {}",
                            did_you_mean(p, names.iter().map(String::as_str)),
                            names.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The checks of a `same as other` claim with counters `names` that selects `selected`.
fn check_reference(
    claim: &Claim,
    other: &str,
    names: &[String],
    selected: &[StrategyKind],
) -> Result<(), ClaimsError> {
    let invalid = |message: String| ClaimsError::Invalid {
        id: claim.id.clone(),
        line: claim.line,
        message,
    };
    let Some(reference) = StrategyKind::from_name(other) else {
        return Err(invalid(format!(
            "model `{}`: no strategy `{other}`{}; strategies: {}",
            claim.expect,
            did_you_mean(other, StrategyKind::ALL.iter().map(|s| s.name())),
            StrategyKind::names()
        )));
    };
    // (A pattern that matches nothing is reported by `check_names`.)
    if !selected.is_empty() && selected.iter().all(|&s| s == reference) {
        return Err(invalid(format!(
            "model `{}`: the claim's strategies select no strategy but `{other}` itself; \
             select the strategies to compare with it",
            claim.expect
        )));
    }
    let reported = reference.counter_names();
    if let Some(name) = names.iter().find(|n| !reported.contains(&n.as_str())) {
        return Err(invalid(format!(
            "model `{}`: `{other}` reports no counter `{name}`; it reports: {}",
            claim.expect,
            reported.join(", ")
        )));
    }
    Ok(())
}

fn positive_work(w: f64) -> Result<f64, String> {
    if w.is_finite() && w >= 1.0 {
        Ok(w)
    } else {
        Err(format!("max_work must be a number >= 1, e.g. 1e6; got {w}"))
    }
}

/// The parser's message (which names the line and column, and shows it), with the valid name
/// nearest to an unknown key or value.
fn syntax_message(e: &toml::de::Error) -> String {
    let message = e.message();
    let unknown = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'));
    let suggestion = unknown.map_or_else(String::new, |(word, rest)| {
        let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        did_you_mean(word, candidates)
    });
    let text = plain_types(&e.to_string());
    if suggestion.is_empty() {
        text
    } else {
        format!("{}\n{}", text.trim_end(), suggestion.trim_start())
    }
}

/// The 1-based line of the byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn validate(mut raw: RawClaim, line: usize) -> Result<Claim, ClaimsError> {
    let id = raw.id.trim().to_string();
    let invalid = |message: String| ClaimsError::Invalid {
        id: id.clone(),
        line,
        message,
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(
            "ids are non-empty and use lowercase letters, digits and `-`".into(),
        ));
    }
    if raw.sentence.trim().is_empty() {
        return Err(invalid(
            "the sentence is empty: say what the claim tests".into(),
        ));
    }
    for (list, what) in [
        (&raw.strategies, "strategies"),
        (&raw.workloads, "workloads"),
    ] {
        if list.is_empty() || list.iter().any(|p| p.trim().is_empty()) {
            return Err(invalid(format!(
                "`{what}` needs at least one non-empty name or glob pattern (e.g. \"*\")"
            )));
        }
    }
    if raw.exclude_workloads.iter().any(|p| p.trim().is_empty()) {
        return Err(invalid("`exclude_workloads` has an empty pattern".into()));
    }
    let params = resolve_params(mem::take(&mut raw.params)).map_err(invalid)?;
    let metric: Metric = raw.metric.parse().map_err(invalid)?;
    let expect = expectation(&raw, &metric).map_err(invalid)?;
    if let Some(sizes) = &raw.sizes {
        let distinct: BTreeSet<_> = sizes.iter().collect();
        if distinct.len() != sizes.len() || sizes.is_empty() {
            return Err(invalid("`sizes` must list distinct sizes".into()));
        }
    }
    let max_work = raw
        .max_work
        .map(positive_work)
        .transpose()
        .map_err(invalid)?;
    let min_ops = match raw.min_ops {
        None => None,
        Some(t) if t.is_finite() && t >= 0.0 && t.fract() == 0.0 && t <= u64::MAX as f64 => {
            Some(t as u64)
        }
        Some(t) => {
            return Err(invalid(format!(
                "min_ops must be a non-negative whole number of operations, e.g. 1e4; got {t}"
            )))
        }
    };
    Ok(Claim {
        id: id.clone(),
        line,
        sentence: raw.sentence.trim().to_string(),
        strategies: Selection::new(raw.strategies, Vec::new()),
        workloads: Selection::new(raw.workloads, raw.exclude_workloads),
        params,
        metric,
        expect,
        sizes: raw.sizes,
        max_work,
        min_ops,
    })
}

/// The expectation of `raw`'s `model` for `metric`: a growth law (which needs `x` and
/// `tolerance`), `same as NAME` (counters only) or `at least B` / `at least F of bound`
/// (speedups only), with the keys
/// a form does not take rejected rather than ignored.
fn expectation(raw: &RawClaim, metric: &Metric) -> Result<Expectation, String> {
    let text = raw.model.trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    // Keys that only some forms use: (given, key, what it sets).
    let keys = [
        (raw.x.is_some(), "x", "the x-axis of a growth fit"),
        (
            raw.tolerance.is_some(),
            "tolerance",
            "the band of a growth fit",
        ),
        (
            raw.min_ops.is_some(),
            "min_ops",
            "the cases a growth fit leaves out",
        ),
        (
            raw.sizes.is_some(),
            "sizes",
            "the sizes of in-process cases",
        ),
        (
            raw.max_work.is_some(),
            "max_work",
            "the work cap of in-process cases",
        ),
    ];
    let refuse = |taken: &[&str], why: &str| -> Result<(), String> {
        match keys
            .iter()
            .find(|(given, key, _)| *given && !taken.contains(key))
        {
            Some((_, key, what)) => Err(format!(
                "model `{text}` takes no `{key}` ({what}): {why}; remove it"
            )),
            None => Ok(()),
        }
    };
    match words.as_slice() {
        ["same", "as", other] => {
            if !matches!(metric, Metric::Counters(_)) {
                return Err(format!(
                    "model `{text}` compares counters case by case: the metric must be \
                     counter:NAME or counter:A+B (each counter compared on its own); got \
                     `{metric}`"
                ));
            }
            refuse(
                &["sizes", "max_work"],
                "the comparison is exact, case by case",
            )?;
            Ok(Expectation::SameAs(other.to_string()))
        }
        ["same", "as", ..] => Err(format!(
            "model `{text}`: write `same as STRATEGY` with one strategy name, e.g. `same as \
             dualrev`"
        )),
        ["at", "least", rest @ ..] => {
            let floor = match rest {
                [bound] => SpeedupFloor::Fixed(
                    bound
                        .parse::<f64>()
                        .ok()
                        .filter(|b| b.is_finite() && *b > 0.0)
                        .ok_or_else(|| {
                            format!("model `{text}`: the bound `{bound}` is not a positive number")
                        })?,
                ),
                [share, "of", "bound"] => SpeedupFloor::OfBound(
                    share
                        .parse::<f64>()
                        .ok()
                        .filter(|f| *f > 0.0 && *f <= 1.0)
                        .ok_or_else(|| {
                            format!(
                                "model `{text}`: the share `{share}` is not a number in (0, 1]; \
                                 the bound min(T, W/S) is the most any schedule reaches, so \
                                 write e.g. `at least 0.9 of bound`"
                            )
                        })?,
                ),
                _ => {
                    return Err(format!(
                        "model `{text}`: write `at least B` (a speedup of at least B) or `at \
                         least F of bound` (at least F times the bound min(T, W/S) of the \
                         case's span counters, F in (0, 1])"
                    ))
                }
            };
            if !metric.across_threads() {
                return Err(format!(
                    "model `{text}` is a lower bound on a speedup: the metric must be speedup \
                     or speedup:T; got `{metric}`"
                ));
            }
            refuse(&[], "a speedup is decided from a results file")?;
            Ok(Expectation::AtLeast(floor))
        }
        _ => {
            let model: Model = text.parse()?;
            if metric.across_threads() {
                return Err(format!(
                    "metric `{metric}` takes the model `at least B` (e.g. \"at least 1.5\") or \
                     `at least F of bound` (e.g. \"at least 0.9 of bound\"), not the growth \
                     model `{model}`"
                ));
            }
            let x = raw.x.ok_or_else(|| {
                format!("model `{model}` is a growth law: `x` is required (\"size\" or \"ops\")")
            })?;
            let tolerance = raw.tolerance.ok_or_else(|| {
                format!(
                    "model `{model}` is a growth law: `tolerance` is required (in the units of \
                     the fitted {})",
                    model.growth.fit_kind().quantity()
                )
            })?;
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                return Err(format!(
                    "tolerance must be a non-negative number; got {tolerance}"
                ));
            }
            Ok(Expectation::Growth(GrowthClaim {
                x,
                model,
                tolerance,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
        [[claim]]
        id = "naive-square-chain"
        sentence = "naive is exponential on square-chain"
        strategies = ["naive"]
        workloads = ["square-*"]
        metric = "counter:backprop_calls"
        x = "size"
        model = "exponential 2"
        tolerance = 0.01
        sizes = [4, 6, 8]
    "#;

    #[test]
    fn a_complete_claim_parses_with_default_settings() {
        let f = ClaimsFile::parse(ONE, "t").unwrap();
        assert_eq!(f.settings, Settings::default());
        let c = &f.claims[0];
        assert_eq!(c.metric, Metric::Counters(vec!["backprop_calls".into()]));
        let Expectation::Growth(g) = &c.expect else {
            panic!("a growth claim: {:?}", c.expect)
        };
        assert_eq!(g.model.growth, Growth::Exponential(2.0));
        assert_eq!((g.x, g.tolerance), (Axis::Size, 0.01));
        assert!(c.workloads.matches("square-chain") && !c.workloads.matches("fib-chain"));
        assert_eq!(c.sizes.as_deref(), Some(&[4, 6, 8][..]));
    }

    #[test]
    fn models_parse_with_optional_upper_bound() {
        let m: Model = "at most power 1.2".parse().unwrap();
        assert!(m.at_most);
        assert_eq!(m.growth, Growth::Power(1.2));
        let m: Model = "n log n".parse().unwrap();
        assert_eq!(
            (m.growth.fit_kind(), m.growth.target()),
            (FitKind::PowerTimesLog, 1.0)
        );
        assert_eq!(
            "log".parse::<Model>().unwrap().growth.fit_kind(),
            FitKind::PowerOfLog
        );
        assert_eq!(m.to_string(), "n log n");
        let e = "quadratic".parse::<Model>().unwrap_err();
        assert!(e.contains("valid models") && e.contains("power P"), "{e}");
        assert!("exponential -2".parse::<Model>().is_err());
    }

    #[test]
    fn metrics_parse_counter_sums_and_reject_unknown_names() {
        let m: Metric = "counter:edges_applied+slots_swept".parse().unwrap();
        assert_eq!(m.to_string(), "counter:edges_applied+slots_swept");
        assert!(m.is_exact());
        assert!(!"overhead".parse::<Metric>().unwrap().is_exact());
        assert!("counter:".parse::<Metric>().is_err());
        assert!("seconds"
            .parse::<Metric>()
            .unwrap_err()
            .contains("peak-heap"));
    }

    #[test]
    fn invalid_claims_name_the_claim_and_the_field() {
        let bad = ONE.replace("tolerance = 0.01", "tolerance = -1.0");
        let e = ClaimsFile::parse(&bad, "t").unwrap_err().to_string();
        assert!(
            e.contains("naive-square-chain") && e.contains("tolerance"),
            "{e}"
        );
        let twice = format!("{ONE}\n{ONE}");
        assert_eq!(
            ClaimsFile::parse(&twice, "t").unwrap_err(),
            ClaimsError::DuplicateId {
                id: "naive-square-chain".into(),
                first_line: 2,
                line: 14
            }
        );
        let unknown_key = ONE.replace("x = \"size\"", "x = \"size\"\nslope = 2");
        assert!(matches!(
            ClaimsFile::parse(&unknown_key, "t").unwrap_err(),
            ClaimsError::Syntax { .. }
        ));
        assert!(matches!(
            ClaimsFile::parse("", "t").unwrap_err(),
            ClaimsError::Empty(_)
        ));
    }

    #[test]
    fn excluded_workloads_are_not_selected() {
        let text = ONE.replace(
            "workloads = [\"square-*\"]",
            "workloads = [\"*\"]\nexclude_workloads = [\"f*\"]",
        );
        let c = &ClaimsFile::parse(&text, "t").unwrap().claims[0];
        assert!(c.workloads.matches("square-chain"));
        assert!(!c.workloads.matches("fdotprod") && !c.workloads.matches("fib-chain"));
    }

    #[test]
    fn an_unknown_counter_name_is_an_input_error_naming_the_valid_counters() {
        let bad = ONE.replace("counter:backprop_calls", "counter:nosuch");
        let e = ClaimsFile::parse(&bad, "t")
            .unwrap()
            .check_counters()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nosuch") && e.contains("naive: backprop_calls, dense_elements"),
            "{e}"
        );
        assert!(ClaimsFile::parse(ONE, "t")
            .unwrap()
            .check_counters()
            .is_ok());
    }

    #[test]
    fn patterns_that_match_nothing_are_reported() {
        let f = ClaimsFile::parse(ONE, "t").unwrap();
        let strategies: BTreeSet<String> = ["naive".to_string()].into();
        let good: BTreeSet<String> = ["square-chain".to_string()].into();
        let bad: BTreeSet<String> = ["fdotprod".to_string()].into();
        assert!(f.check_names(&strategies, &good).is_ok());
        let e = f.check_names(&strategies, &bad).unwrap_err().to_string();
        assert!(e.contains("square-*") && e.contains("fdotprod"), "{e}");
    }

    /// `ONE` with its metric and model replaced and its `x`, `tolerance` and `sizes` lines
    /// removed (`extra` lines added instead).
    fn form(metric: &str, model: &str, extra: &str) -> String {
        ONE.replace("counter:backprop_calls", metric)
            .replace("exponential 2", model)
            .replace("x = \"size\"", extra)
            .replace("tolerance = 0.01", "")
            .replace("sizes = [4, 6, 8]", "")
    }

    fn error(text: &str) -> String {
        ClaimsFile::parse(text, "t").unwrap_err().to_string()
    }

    #[test]
    fn same_as_claims_parse_without_x_or_tolerance() {
        let text = form(
            "counter:ids_allocated+edges_applied",
            "same as dualrev",
            "sizes = [4, 8]",
        )
        .replace("[\"naive\"]", "[\"sparse\"]");
        let f = ClaimsFile::parse(&text, "t").unwrap();
        let c = &f.claims[0];
        assert_eq!(c.expect, Expectation::SameAs("dualrev".into()));
        assert_eq!(c.expect.to_string(), "same as dualrev");
        assert_eq!(c.sizes.as_deref(), Some(&[4, 8][..]));
        assert!(f.check_counters().is_ok());
    }

    #[test]
    fn same_as_claims_name_what_is_wrong_and_what_is_valid() {
        let e = error(&form("time", "same as dualrev", ""));
        assert!(
            e.contains("naive-square-chain") && e.contains("counter:NAME"),
            "{e}"
        );
        let e = error(&form(
            "counter:edges_applied",
            "same as dualrev",
            "x = \"size\"",
        ));
        assert!(e.contains("takes no `x`") && e.contains("remove it"), "{e}");
        let e = error(&form(
            "counter:edges_applied",
            "same as dualrev",
            "tolerance = 0",
        ));
        assert!(e.contains("takes no `tolerance`"), "{e}");
        let e = error(&form("counter:edges_applied", "same as", ""));
        assert!(e.contains("same as STRATEGY"), "{e}");

        let check = |metric: &str, model: &str| {
            ClaimsFile::parse(&form(metric, model, ""), "t")
                .unwrap()
                .check_counters()
                .unwrap_err()
                .to_string()
        };
        let e = check("counter:edges_applied", "same as dualrevv");
        assert!(
            e.contains("no strategy `dualrevv`") && e.contains("dualrev-par"),
            "{e}"
        );
        let e = check("counter:backprop_calls", "same as dualrev");
        assert!(
            e.contains("`dualrev` reports no counter `backprop_calls`")
                && e.contains("slots_swept"),
            "{e}"
        );
        let e = check("counter:backprop_calls", "same as naive");
        assert!(e.contains("no strategy but `naive` itself"), "{e}");
        // The claim's own strategy lacking the counter is a verdict, not an input error.
        assert!(
            ClaimsFile::parse(&form("counter:slots_swept", "same as dualrev", ""), "t")
                .unwrap()
                .check_counters()
                .is_ok()
        );
    }

    #[test]
    fn a_choice_parameter_is_named_by_its_choice() {
        let text = form(
            "speedup:2",
            "at least 1.5",
            "params = { particles = 16, fork = \"balanced\" }",
        );
        let c = &ClaimsFile::parse(&text, "t").unwrap().claims[0];
        assert_eq!(
            c.params,
            [("particles".to_string(), 16.0), ("fork".to_string(), 1.0)].into()
        );
        let e = error(&form(
            "speedup:2",
            "at least 1.5",
            "params = { fork = \"tree\" }",
        ));
        assert!(
            e.contains("\"tree\" is not a choice of `fork`") && e.contains("chain, balanced"),
            "{e}"
        );
        let e = error(&form(
            "speedup:2",
            "at least 1.5",
            "params = { steps = \"many\" }",
        ));
        assert!(
            e.contains("no workload has a choice parameter `steps`"),
            "{e}"
        );
    }

    #[test]
    fn speedup_claims_parse_with_params_and_reject_growth_keys() {
        let text = form("speedup:2", "at least 1.5", "params = { particles = 4 }");
        let c = &ClaimsFile::parse(&text, "t").unwrap().claims[0];
        assert_eq!(c.metric, Metric::Speedup(Some(2)));
        assert_eq!(c.expect, Expectation::AtLeast(SpeedupFloor::Fixed(1.5)));
        assert_eq!(c.params, [("particles".to_string(), 4.0)].into());
        assert!(c.selects_params(&[("particles".into(), 4.0), ("steps".into(), 9.0)].into()));
        assert!(!c.selects_params(&[("particles".into(), 8.0)].into()));
        assert_eq!("speedup".parse::<Metric>().unwrap(), Metric::Speedup(None));
        assert!("speedup:1"
            .parse::<Metric>()
            .unwrap_err()
            .contains("at least 2"));
        assert!(!Metric::Speedup(None).is_exact() && Metric::Speedup(None).across_threads());

        let e = error(&form("speedup", "linear", "x = \"size\"\ntolerance = 0.1"));
        assert!(e.contains("takes the model `at least B`"), "{e}");
        let e = error(&form("time", "at least 1.5", ""));
        assert!(e.contains("speedup or speedup:T"), "{e}");
        let e = error(&form("speedup", "at least 1.5", "sizes = [4]"));
        assert!(
            e.contains("takes no `sizes`") && e.contains("results file"),
            "{e}"
        );
        let c = &ClaimsFile::parse(&form("speedup:2", "at least 0.9 of bound", ""), "t")
            .unwrap()
            .claims[0];
        assert_eq!(c.expect, Expectation::AtLeast(SpeedupFloor::OfBound(0.9)));
        assert_eq!(c.expect.to_string(), "at least 0.9 of bound");
        for (model, message) in [
            ("at least 1.2 of bound", "not a number in (0, 1]"),
            ("at least 0 of bound", "not a number in (0, 1]"),
            ("at least x of bound", "`x` is not a number in (0, 1]"),
            ("at least 0.9 of span", "write `at least B`"),
            ("at least", "`at least F of bound`"),
        ] {
            let e = error(&form("speedup:2", model, ""));
            assert!(
                e.contains("naive-square-chain") && e.contains(message),
                "{model}: {e}"
            );
        }
        let e = error(&form("time", "at least 0.9 of bound", ""));
        assert!(e.contains("speedup or speedup:T"), "{e}");
        let e = error(&form("speedup", "at least -1", ""));
        assert!(e.contains("not a positive number"), "{e}");
        let e = error(&form(
            "speedup",
            "at least 1.5",
            "params = { particles = nan }",
        ));
        assert!(
            e.contains("params") && e.contains("not a finite number"),
            "{e}"
        );
    }

    #[test]
    fn growth_claims_need_x_and_tolerance() {
        let e = error(&ONE.replace("x = \"size\"", ""));
        assert!(
            e.contains("`x` is required") && e.contains("\"ops\""),
            "{e}"
        );
        let e = error(&ONE.replace("tolerance = 0.01", ""));
        assert!(
            e.contains("`tolerance` is required") && e.contains("base"),
            "{e}"
        );
        let e = "quadratic".parse::<Model>().unwrap_err();
        assert!(
            e.contains("same as STRATEGY, at least B, at least F of bound"),
            "{e}"
        );
    }

    #[test]
    fn params_must_be_parameters_of_every_selected_workload() {
        let text = ONE.replace("sizes = [4, 6, 8]", "params = { nosuch = 1 }");
        let e = ClaimsFile::parse(&text, "t")
            .unwrap()
            .check_params()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("workload `square-chain` has no parameter `nosuch`"),
            "{e}"
        );
        assert!(ClaimsFile::parse(ONE, "t").unwrap().check_params().is_ok());
    }
}
