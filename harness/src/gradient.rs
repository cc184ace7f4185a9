//! One evaluation of one workload under one strategy as one JSON object: what `dualbench grad`
//! prints, the scriptable entry point.
//!
//! The object has these keys, in this order (documented in `docs/results.md`, "`grad` JSON"):
//!
//! | key | value |
//! |---|---|
//! | `schema_version` | [`GRAD_SCHEMA_VERSION`] |
//! | `workload`, `strategy` | the CLI names |
//! | `size` | the primary size, `null` for a fixed-size workload |
//! | `params` | every parameter with its value, defaults filled in |
//! | `inputs` | the input layout: `[{"name": "l1", "len": 1000}, ...]` in order |
//! | `cotangent` | only with `--cotangent`: the output cotangent w that was used |
//! | `value` | the output: a number, or an array when the program has several outputs |
//! | `gradient` | one output, or `--cotangent` given: w^T J (w = 1 by default); `null` for `primal` |
//! | `jacobian` | several outputs and no `--cotangent`: one row per output (`null` for `primal`); then there is no `gradient` key |
//! | `counters` | the strategy's counters, `{"name": count, ...}` in the strategy's order |
//! | `ops` | T, the primal operation count at this input |
//!
//! Numbers JSON cannot carry are written as the strings `"NaN"`, `"inf"`, `"-inf"`.
//!
//! `--input FILE` replaces the generated input by a JSON array of numbers (`-` reads stdin;
//! the strings above are accepted for non-finite entries); its length must match the layout.
//! `--cotangent FILE` reads w the same way (length m).
//!
//! Every evaluation runs through a [`GuardedPool`] of `--threads` threads (default 1): on a
//! thread with a large stack (so the closure strategies' recursion fits), with a panic inside a
//! strategy or a program (an unimplemented strategy, a domain error at a user-supplied input)
//! turned into an error message instead of a panic trace. With more than one thread a parallel
//! strategy runs a fork-join workload's `join`s in parallel.
//!
//! A case whose predicted work is beyond `verify`'s cap ([`WORK_CAP`]: `naive` on
//! `square-chain` at size 100 makes 2^101 backpropagator calls) is refused before it starts,
//! unless the request says `force`: a gradient that would run for years is an input error,
//! not a hang.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use strategies::{Counters, StrategyKind};
use workloads::{Block, Instance};

use crate::error::{Error, Result};
use crate::measure::thread::GuardedPool;
use crate::results::nonfinite::{json_numbers, JsonNumber};
use crate::select;
use crate::verify::caps::{self, WORK_CAP};

/// The version of the `grad` JSON object; bumped when a key changes meaning or disappears.
pub const GRAD_SCHEMA_VERSION: u32 = 1;

/// A strategy's counters as a JSON object, in the strategy's reporting order.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterMap(pub Counters);

impl Serialize for CounterMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, count) in self.0.iter() {
            map.serialize_entry(name, &count)?;
        }
        map.end()
    }
}

/// One block of the input layout, as printed in `inputs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputBlock {
    /// The block's name, as in `docs/workloads.md`.
    pub name: &'static str,
    /// How many scalars it holds.
    pub len: usize,
}

impl From<&Block> for InputBlock {
    fn from(block: &Block) -> Self {
        Self {
            name: block.name,
            len: block.len,
        }
    }
}

/// The program's output: one number, or an array for several outputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OutputValue {
    /// A program with one output.
    One(JsonNumber),
    /// A program with several (or no) outputs.
    Many(Vec<JsonNumber>),
}

/// What was differentiated: exactly one of the two keys appears in the JSON object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Derivative {
    /// `gradient`: w^T J for one output or a given cotangent; `None` (`null`) for `primal`.
    Gradient(Option<Vec<JsonNumber>>),
    /// `jacobian`: one row per output; `None` (`null`) for `primal`.
    Jacobian(Option<Vec<Vec<JsonNumber>>>),
}

/// The JSON object `dualbench grad` prints; see the module documentation for its keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradReport {
    /// [`GRAD_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The workload's CLI name.
    pub workload: &'static str,
    /// The strategy's CLI name.
    pub strategy: &'static str,
    /// The primary size; `None` for fixed-size workloads.
    pub size: Option<usize>,
    /// Every parameter, defaults filled in.
    pub params: BTreeMap<String, JsonNumber>,
    /// The input layout, in order.
    pub inputs: Vec<InputBlock>,
    /// The output cotangent, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cotangent: Option<Vec<JsonNumber>>,
    /// The program's output.
    pub value: OutputValue,
    /// The gradient or the Jacobian.
    #[serde(flatten)]
    pub derivative: Derivative,
    /// The strategy's counters (the output's seed call counts as a call).
    pub counters: CounterMap,
    /// T, the primal operation count at this input.
    pub ops: u64,
}

/// What `dualbench grad` was asked to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The workload's name.
    pub workload: String,
    /// The strategy's name.
    pub strategy: String,
    /// The primary size (`None`: the default; none for fixed-size workloads).
    pub size: Option<usize>,
    /// `key=value` parameters.
    pub params: Vec<String>,
    /// A file (`-`: stdin) holding the input vector.
    pub input: Option<PathBuf>,
    /// A file (`-`: stdin) holding an output cotangent.
    pub cotangent: Option<PathBuf>,
    /// Run even if the predicted work is beyond [`WORK_CAP`].
    pub force: bool,
    /// The threads of the pool the evaluation runs in.
    pub threads: usize,
}

/// Validate the request, evaluate, and build the report (everything but printing it).
pub fn compute(args: &Request) -> Result<GradReport> {
    let workload = workloads::find(&args.workload)?;
    let strategy = select::strategy(&args.strategy)?;
    let params = select::params(&args.params)?;
    let mut instance = workloads::instantiate(workload, args.size, &params)?;
    if args.input.is_some() && args.input == args.cotangent && is_stdin(args.input.as_deref()) {
        return Err(Error::usage(
            "--input and --cotangent cannot both read stdin (`-`); put one of them in a file",
        ));
    }
    if let Some(path) = &args.input {
        let x = read_vector(path, "--input")?;
        check_input_len(workload.name(), &instance, &x)?;
        instance.input = x;
    }
    let m = instance.program.output_len();
    let cotangent = match &args.cotangent {
        Some(path) => {
            let w = read_vector(path, "--cotangent")?;
            if w.len() != m {
                return Err(Error::usage(format!(
                    "--cotangent `{}` has {} numbers but workload `{}` has {m} output{}",
                    path.display(),
                    w.len(),
                    workload.name(),
                    if m == 1 { "" } else { "s" }
                )));
            }
            Some(w)
        }
        None => None,
    };

    let program = instance.program.as_ref();
    let x = instance.input.as_slice();
    let pool = GuardedPool::new(args.threads)?;
    if !args.force {
        // A given cotangent is one vector-Jacobian product; otherwise the Jacobian is m.
        let rows = if cotangent.is_some() { 1 } else { m };
        refuse_beyond_cap(&pool, workload.name(), strategy, program, x, rows)?;
    }
    let (value, derivative, counters, ops) = pool
        .run(|| {
            let ops = program.op_count(x).ops;
            match (&cotangent, m) {
                // One evaluation for `primal`: it has no Jacobian to build row by row.
                (None, m) if m != 1 && !strategy.differentiates() => {
                    let r = program.vjp(strategy, x, &vec![0.0; m]);
                    (r.value, Derivative::Jacobian(None), r.counters, ops)
                }
                (None, m) if m != 1 => {
                    let j = program.jacobian(strategy, x);
                    let rows = j
                        .rows
                        .map(|rows| rows.iter().map(|r| json_numbers(r)).collect());
                    (j.value, Derivative::Jacobian(rows), j.counters, ops)
                }
                (w, _) => {
                    let one = [1.0];
                    let w = w.as_deref().unwrap_or(&one);
                    let r = program.vjp(strategy, x, w);
                    let g = r.gradient.as_deref().map(json_numbers);
                    (r.value, Derivative::Gradient(g), r.counters, ops)
                }
            }
        })
        .map_err(|message| evaluation_error(workload.name(), strategy, &message))?;

    Ok(GradReport {
        schema_version: GRAD_SCHEMA_VERSION,
        workload: workload.name(),
        strategy: strategy.name(),
        size: instance.size,
        params: instance
            .params
            .iter()
            .map(|(k, &v)| (k.clone(), JsonNumber(v)))
            .collect(),
        inputs: instance.layout.iter().map(InputBlock::from).collect(),
        cotangent: cotangent.as_deref().map(json_numbers),
        value: match value.as_slice() {
            [v] => OutputValue::One(JsonNumber(*v)),
            many => OutputValue::Many(json_numbers(many)),
        },
        derivative,
        counters: CounterMap(counters),
        ops,
    })
}

/// An error if the predicted work of the evaluation (`rows` vector-Jacobian products) is
/// beyond [`WORK_CAP`]. The prediction and its exemptions are `verify`'s
/// ([`caps::predicted_work`]): the linear and log-linear strategies always run.
fn refuse_beyond_cap(
    pool: &GuardedPool,
    workload: &str,
    strategy: StrategyKind,
    program: &dyn strategies::DynProgram,
    x: &[f64],
    rows: usize,
) -> Result<()> {
    let count = pool
        .run(|| program.op_count(x))
        .map_err(|message| evaluation_error(workload, StrategyKind::Primal, &message))?;
    let Some(work) =
        caps::predicted_work(strategy, &count, x.len(), rows).filter(|&w| w > WORK_CAP)
    else {
        return Ok(());
    };
    let paths = if strategy.cost_class() == strategies::CostClass::Paths {
        format!(
            " ({:.3e} backpropagator calls, one per path)",
            count.naive_calls
        )
    } else {
        String::new()
    };
    Err(Error::usage(format!(
        "strategy `{}` on workload `{workload}` would do about {work:.3e} steps of work{paths}, \
         beyond the cap of {WORK_CAP:e} that `verify` uses; pass --force to run it anyway, or \
         choose a smaller --size",
        strategy.name()
    )))
}

fn evaluation_error(workload: &str, strategy: StrategyKind, message: &str) -> Error {
    Error::usage(format!(
        "strategy `{}` failed on workload `{workload}`: {message}",
        strategy.name()
    ))
}

fn is_stdin(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p == Path::new("-"))
}

fn check_input_len(workload: &str, instance: &Instance, x: &[f64]) -> Result<()> {
    let n = instance.program.input_len();
    if x.len() == n {
        return Ok(());
    }
    let layout = instance
        .layout
        .iter()
        .map(|b| format!("{} ({})", b.name, b.len))
        .collect::<Vec<_>>()
        .join(", ");
    let at = match instance.size {
        Some(size) => format!(" at size {size}"),
        None => String::new(),
    };
    Err(Error::usage(format!(
        "--input has {} numbers but workload `{workload}`{at} takes {n}: {layout}",
        x.len()
    )))
}

/// Read a vector of numbers from `path` (`-` = stdin): a JSON array whose elements are numbers
/// or the strings `"NaN"`, `"inf"`, `"-inf"`. `flag` names the option in error messages.
pub fn read_vector(path: &Path, flag: &str) -> Result<Vec<f64>> {
    let (text, source) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::Io {
                context: format!("{flag}: reading stdin"),
                source,
            })?;
        (text, "stdin".to_string())
    } else {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            context: format!("{flag}: reading `{}`", path.display()),
            source,
        })?;
        (text, format!("`{}`", path.display()))
    };
    parse_vector(&text).map_err(|why| Error::usage(format!("{flag} {source}: {why}")))
}

/// Parse a JSON array of numbers (non-finite entries as `"NaN"`, `"inf"`, `"-inf"`).
pub fn parse_vector(text: &str) -> std::result::Result<Vec<f64>, String> {
    const EXPECTED: &str = "expected a JSON array of numbers such as [1.0, 2.5, -3]";
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e}); {EXPECTED}"))?;
    let serde_json::Value::Array(items) = value else {
        return Err(format!("{EXPECTED}, found {}", json_kind(&value)));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            serde_json::Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| format!("element {i} ({n}) is not representable as f64")),
            serde_json::Value::String(s) if s == "NaN" => Ok(f64::NAN),
            serde_json::Value::String(s) if s == "inf" => Ok(f64::INFINITY),
            serde_json::Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(format!(
                "element {i} is {} `{other}`, not a number (non-finite numbers are written \"NaN\", \"inf\", \"-inf\")",
                json_kind(other)
            )),
        })
        .collect()
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_numbers_are_written_as_strings() {
        let json = serde_json::to_string(&json_numbers(&[
            1.5,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
        ]))
        .unwrap();
        assert_eq!(json, r#"[1.5,"NaN","inf","-inf"]"#);
    }

    #[test]
    fn parse_vector_reads_numbers_and_non_finite_strings() {
        let v = parse_vector(r#"[1, -2.5, "NaN", "inf", "-inf"]"#).unwrap();
        assert_eq!(&v[..2], &[1.0, -2.5]);
        assert!(v[2].is_nan());
        assert_eq!(&v[3..], &[f64::INFINITY, f64::NEG_INFINITY]);
    }

    #[test]
    fn parse_vector_names_what_is_wrong() {
        assert!(parse_vector("[1, 2")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(parse_vector(r#"{"x": 1}"#)
            .unwrap_err()
            .contains("found an object"));
        let e = parse_vector(r#"[1, "two"]"#).unwrap_err();
        assert!(e.contains("element 1") && e.contains("two"), "{e}");
    }

    #[test]
    fn report_has_gradient_or_jacobian_never_both() {
        let report = |derivative| GradReport {
            schema_version: GRAD_SCHEMA_VERSION,
            workload: "w",
            strategy: "s",
            size: None,
            params: BTreeMap::new(),
            inputs: vec![InputBlock { name: "x", len: 1 }],
            cotangent: None,
            value: OutputValue::One(JsonNumber(2.0)),
            derivative,
            counters: CounterMap(Counters::from_pairs(&[("b", 2), ("a", 1)])),
            ops: 3,
        };
        let g = serde_json::to_value(report(Derivative::Gradient(None))).unwrap();
        assert!(g["gradient"].is_null() && g.get("jacobian").is_none());
        let j = serde_json::to_value(report(Derivative::Jacobian(Some(vec![json_numbers(&[
            1.0,
        ])]))))
        .unwrap();
        assert_eq!(j["jacobian"], serde_json::json!([[1.0]]));
        assert!(j.get("gradient").is_none());
    }

    #[test]
    fn counters_keep_the_strategy_order() {
        let json = serde_json::to_string(&CounterMap(Counters::from_pairs(&[
            ("zeta", 2),
            ("alpha", 1),
        ])))
        .unwrap();
        assert_eq!(json, r#"{"zeta":2,"alpha":1}"#);
    }
}
