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
//! | `hessian` | only with `--hessian`: the Hessian of w^T f (w as for `gradient`), one row per input, from n Hessian-vector products under the strategy (reverse over forward, [`crate::hessian`]); `null` for `primal` |
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
//! A strategy that cannot run the workload at all (`manual` on a workload without a
//! hand-written adjoint) is an input error naming the workloads it runs.
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

impl OutputValue {
    /// The outputs `values` as printed: a number for one output, an array otherwise.
    pub fn of(values: &[f64]) -> Self {
        match values {
            [v] => OutputValue::One(JsonNumber(*v)),
            many => OutputValue::Many(json_numbers(many)),
        }
    }
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
    /// With `--hessian`: the Hessian of w^T f, one row per input (`null` for `primal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hessian: Option<Option<Vec<Vec<JsonNumber>>>>,
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
    /// Also compute the Hessian (n Hessian-vector products, [`crate::hessian`]).
    pub hessian: bool,
}

/// A validated request of one case: the workload and strategy found, the instance built (with
/// `--input`'s vector in place of the generated one) and the cotangent read. Shared by `grad`
/// and `hvp` ([`crate::hessian`]).
pub(crate) struct Prepared {
    /// The workload's CLI name.
    pub(crate) workload: &'static str,
    /// The strategy.
    pub(crate) strategy: StrategyKind,
    /// The instance, its input replaced by `--input`'s.
    pub(crate) instance: Instance,
    /// The cotangent of `--cotangent`, of length m.
    pub(crate) cotangent: Option<Vec<f64>>,
}

impl Prepared {
    /// Every parameter of the instance, as printed in `params`.
    pub(crate) fn params(&self) -> BTreeMap<String, JsonNumber> {
        self.instance
            .params
            .iter()
            .map(|(k, &v)| (k.clone(), JsonNumber(v)))
            .collect()
    }

    /// The input layout, as printed in `inputs`.
    pub(crate) fn inputs(&self) -> Vec<InputBlock> {
        self.instance.layout.iter().map(InputBlock::from).collect()
    }
}

/// Find the workload and the strategy, build the instance and read `--input` and
/// `--cotangent`, refusing what does not fit (a strategy that cannot run the workload, both
/// files on stdin, a vector of the wrong length).
pub(crate) fn prepare(
    workload: &str,
    strategy: &str,
    size: Option<usize>,
    params: &[String],
    input: Option<&Path>,
    cotangent: Option<&Path>,
) -> Result<Prepared> {
    let workload = select::workload(workload)?;
    let strategy = select::strategy(strategy)?;
    let params = select::resolve_params(workload, &select::params(params)?)?;
    let mut instance = workloads::instantiate(workload, size, &params)?;
    if let Some(reason) = instance.program.why_unavailable(strategy) {
        return Err(unavailable(workload.name(), strategy, reason));
    }
    if input.is_some() && input == cotangent && is_stdin(input) {
        return Err(Error::usage(
            "--input and --cotangent cannot both read stdin (`-`); put one of them in a file",
        ));
    }
    if let Some(path) = input {
        let x = read_vector(path, "--input")?;
        check_input_len(path, workload.name(), &instance, &x)?;
        instance.input = x;
    }
    let m = instance.program.output_len();
    let cotangent = match cotangent {
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
    Ok(Prepared {
        workload: workload.name(),
        strategy,
        instance,
        cotangent,
    })
}

/// Validate the request, evaluate, and build the report (everything but printing it).
pub fn compute(args: &Request) -> Result<GradReport> {
    let prepared = prepare(
        &args.workload,
        &args.strategy,
        args.size,
        &args.params,
        args.input.as_deref(),
        args.cotangent.as_deref(),
    )?;
    let Prepared {
        workload,
        strategy,
        ref instance,
        ref cotangent,
    } = prepared;
    let m = instance.program.output_len();
    let program = instance.program.as_ref();
    let x = instance.input.as_slice();
    let pool = GuardedPool::new(args.threads)?;
    if !args.force {
        // A given cotangent is one vector-Jacobian product; otherwise the Jacobian is m.
        let rows = if cotangent.is_some() { 1 } else { m };
        refuse_beyond_cap(&pool, workload, strategy, program, x, rows)?;
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
        .map_err(|message| evaluation_error(workload, strategy, &message))?;

    let hessian = if args.hessian {
        let w = hessian_weights(workload, m, cotangent.as_deref())?;
        crate::hessian::check_hessian_size(workload, program.input_len())?;
        let rows = pool
            .run(|| crate::hessian::hessian_rows(program, strategy, x, &w))
            .map_err(|message| evaluation_error(workload, strategy, &message))??;
        Some(rows.map(|rows| rows.iter().map(|r| json_numbers(r)).collect()))
    } else {
        None
    };

    Ok(GradReport {
        schema_version: GRAD_SCHEMA_VERSION,
        workload,
        strategy: strategy.name(),
        size: instance.size,
        params: prepared.params(),
        inputs: prepared.inputs(),
        cotangent: cotangent.as_deref().map(json_numbers),
        value: OutputValue::of(&value),
        derivative,
        hessian,
        counters: CounterMap(counters),
        ops,
    })
}

/// The output weights w of a second derivative H_w = sum_j w_j H_j: `--cotangent`'s, or 1 for
/// a program with one output; an error naming the fix for a program with several outputs and
/// no `--cotangent` (its Hessians are m matrices, not one).
pub(crate) fn hessian_weights(
    workload: &str,
    m: usize,
    cotangent: Option<&[f64]>,
) -> Result<Vec<f64>> {
    match (cotangent, m) {
        (Some(w), _) => Ok(w.to_vec()),
        (None, 1) => Ok(vec![1.0]),
        (None, m) => Err(Error::usage(format!(
            "workload `{workload}` has {m} outputs: give --cotangent FILE with {m} weights w, \
             for the Hessian of w^T f (sum_j w_j H_j)"
        ))),
    }
}

/// An error if the predicted work of the evaluation (`rows` vector-Jacobian products) is
/// beyond [`WORK_CAP`]. The prediction and its exemptions are `verify`'s
/// ([`caps::predicted_work`]): the linear and log-linear strategies always run.
pub(crate) fn refuse_beyond_cap(
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
    let Some(work) = caps::predicted_work(strategy, &count, x.len(), rows)
        .filter(|&w| caps::beyond(w, WORK_CAP))
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

/// The error of a strategy that cannot run a workload at all (`manual` where no hand-written
/// adjoint is defined), naming the workloads it runs.
pub fn unavailable(workload: &str, strategy: StrategyKind, reason: &str) -> Error {
    let runs_on = if reason == strategies::manual::NO_HAND_ADJOINT {
        format!(
            "; it runs the workloads with one: {}",
            workloads::hand_adjoint_names()
        )
    } else {
        String::new()
    };
    Error::usage(format!(
        "strategy `{}` cannot run workload `{workload}`: {reason}{runs_on}",
        strategy.name()
    ))
}

pub(crate) fn evaluation_error(workload: &str, strategy: StrategyKind, message: &str) -> Error {
    Error::usage(format!(
        "strategy `{}` failed on workload `{workload}`: {message}",
        strategy.name()
    ))
}

fn is_stdin(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p == Path::new("-"))
}

/// An error unless `x`, read from `path`, has one number per input of the instance; it names
/// the workload's input count and layout.
fn check_input_len(path: &Path, workload: &str, instance: &Instance, x: &[f64]) -> Result<()> {
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
    let source = if path == Path::new("-") {
        "stdin".to_string()
    } else {
        format!("`{}`", path.display())
    };
    Err(Error::usage(format!(
        "--input {source} has {} numbers but workload `{workload}`{at} takes {n} inputs: \
         {layout}",
        x.len()
    )))
}

/// What `--input` and `--cotangent` files hold, for error messages.
const EXPECTED_VECTOR: &str = "expected a JSON array of numbers such as [1.0, 2.5, -3] \
                               (non-finite numbers as \"NaN\", \"inf\", \"-inf\")";

/// Read a vector of numbers from `path` (`-` = stdin): a JSON array whose elements are numbers
/// or the strings `"NaN"`, `"inf"`, `"-inf"`. `flag` names the option in error messages, which
/// also name the file, the line, the column and the element.
pub fn read_vector(path: &Path, flag: &str) -> Result<Vec<f64>> {
    let (bytes, source) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                context: format!("{flag}: reading stdin"),
                source,
            })?;
        (bytes, "stdin".to_string())
    } else {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            context: format!("{flag}: reading `{}`", path.display()),
            source,
        })?;
        (bytes, format!("`{}`", path.display()))
    };
    parse_vector(&bytes).map_err(|why| Error::usage(format!("{flag} {source}: {why}")))
}

/// Why a vector file was refused, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorError {
    /// The line (from 1) of the fault; 0 when the fault is the file as a whole.
    pub line: usize,
    /// The column (from 1) of the fault on that line.
    pub column: usize,
    /// The element (from 0) being read, when the fault is inside the array.
    pub element: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for VectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}", self.line, self.column)?;
            if let Some(element) = self.element {
                write!(f, " (element {element})")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}; {EXPECTED_VECTOR}", self.problem)
    }
}

/// Parse a JSON array of numbers (non-finite entries as `"NaN"`, `"inf"`, `"-inf"`).
pub fn parse_vector(bytes: &[u8]) -> std::result::Result<Vec<f64>, VectorError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(VectorError {
            line: 0,
            column: 0,
            element: None,
            problem: "the file is empty".into(),
        });
    }
    let progress = std::cell::Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde::de::DeserializeSeed::deserialize(
        VectorSeed {
            progress: &progress,
        },
        &mut deserializer,
    )
    .and_then(|v| deserializer.end().map(|()| v));
    parsed.map_err(|e| {
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = e.to_string();
        VectorError {
            line: e.line(),
            column: e.column(),
            element: progress.get(),
            problem: message
                .strip_suffix(&suffix)
                .unwrap_or(&message)
                .to_string(),
        }
    })
}

/// Deserialises the array, counting in `progress` the element being read.
struct VectorSeed<'a> {
    progress: &'a std::cell::Cell<Option<usize>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for VectorSeed<'_> {
    type Value = Vec<f64>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Vec<f64>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for VectorSeed<'_> {
    type Value = Vec<f64>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Vec<f64>, A::Error> {
        let mut values = Vec::new();
        self.progress.set(Some(0));
        while let Some(Element(v)) = seq.next_element()? {
            values.push(v);
            self.progress.set(Some(values.len()));
        }
        // The closing bracket is read after the last element: a fault there is after it.
        self.progress.set(None);
        Ok(values)
    }
}

/// One element: a number, or one of the strings of the non-finite numbers.
struct Element(f64);

impl<'de> serde::Deserialize<'de> for Element {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl serde::de::Visitor<'_> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number, or \"NaN\", \"inf\" or \"-inf\"")
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Element, E> {
        Ok(Element(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Element, E> {
        Ok(Element(v as f64))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Element, E> {
        Ok(Element(v as f64))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Element, E> {
        match v {
            "NaN" => Ok(Element(f64::NAN)),
            "inf" => Ok(Element(f64::INFINITY)),
            "-inf" => Ok(Element(f64::NEG_INFINITY)),
            other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

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
        let v = parse_vector(br#"[1, -2.5, "NaN", "inf", "-inf", -0]"#).unwrap();
        assert_eq!(&v[..2], &[1.0, -2.5]);
        assert!(v[2].is_nan());
        assert_eq!(&v[3..5], &[f64::INFINITY, f64::NEG_INFINITY]);
        assert!(v[5] == 0.0 && v[5].is_sign_negative());
        assert_eq!(parse_vector(b" [ ] \n"), Ok(vec![]));
    }

    #[test]
    fn parse_vector_names_the_place_and_what_is_valid() {
        let error = |text: &str| parse_vector(text.as_bytes()).unwrap_err().to_string();
        for (text, place, problem) in [
            (
                "[1, 2",
                "line 1, column 5 (element 2)",
                "EOF while parsing a list",
            ),
            (r#"{"x": 1}"#, "line 1, column 1:", "expected an array"),
            ("[1,\n \"two\"]", "line 2, column 6 (element 1)", "\"two\""),
            (
                "[1, [2]]",
                "line 1, column 5 (element 1)",
                "invalid type: sequence",
            ),
            (
                "[1, 1e999]",
                "line 1, column 9 (element 1)",
                "number out of range",
            ),
            ("[1] 2", "line 1, column 5:", "trailing characters"),
            ("[1,]", "line 1, column 4 (element 1)", "trailing comma"),
            ("  \n", "the file is empty", "the file is empty"),
            ("[1, nul]", "line 1, column 8 (element 1)", "expected ident"),
        ] {
            let e = error(text);
            assert!(e.contains(place) && e.contains(problem), "{text:?}: {e}");
            assert!(e.contains("expected a JSON array of numbers"), "{e}");
        }
        let bytes = b"[1, \xff]";
        let e = parse_vector(bytes).unwrap_err();
        assert_eq!((e.line, e.column, e.element), (1, 5, Some(1)), "{e}");
    }

    /// A vector of f64 with every kind of value the files hold: ordinary, tiny, huge, signed
    /// zeros, non-finite.
    fn vectors() -> impl Strategy<Value = Vec<f64>> {
        let value = prop_oneof![
            4 => any::<f64>(),
            1 => Just(-0.0),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            2 => (-1000i64..1000).prop_map(|i| i as f64),
        ];
        proptest::collection::vec(value, 0..12)
    }

    fn vector_text(values: &[f64]) -> String {
        serde_json::to_string_pretty(&json_numbers(values)).unwrap()
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    }

    /// What a correct reader makes of `bytes`: the numbers, when they are a JSON array of
    /// numbers and non-finite strings; else `None`.
    fn oracle(bytes: &[u8]) -> Option<Vec<f64>> {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        value
            .as_array()?
            .iter()
            .map(|item| match item {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => match s.as_str() {
                    "NaN" => Some(f64::NAN),
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// The reader on `bytes`: the exact data when they are valid, else an error naming the
    /// place (a line and a column, or the empty file); never a panic.
    fn check_reader(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
        match (parse_vector(bytes), oracle(bytes)) {
            (Ok(read), Some(expected)) => prop_assert!(same(&read, &expected)),
            (Ok(read), None) => prop_assert!(false, "accepted invalid input as {read:?}"),
            (Err(e), Some(_)) => prop_assert!(false, "refused valid input: {e}"),
            (Err(e), None) => {
                let text = e.to_string();
                prop_assert!(
                    (e.line > 0 && text.starts_with(&format!("line {}, column", e.line)))
                        || text.starts_with("the file is empty"),
                    "{text}"
                );
                prop_assert!(text.contains("expected a JSON array of numbers"), "{text}");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn valid_files_read_exactly(values in vectors()) {
            let read = parse_vector(vector_text(&values).as_bytes()).unwrap();
            prop_assert!(same(&read, &values), "{read:?} != {values:?}");
        }

        #[test]
        fn truncated_files_are_refused_at_a_place(values in vectors(), cut in any::<prop::sample::Index>()) {
            let text = vector_text(&values);
            check_reader(&text.as_bytes()[..cut.index(text.len())])?;
        }

        #[test]
        fn flipped_bytes_read_exactly_or_are_refused_at_a_place(
            values in vectors(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut bytes = vector_text(&values).into_bytes();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            check_reader(&bytes)?;
        }

        #[test]
        fn duplicated_and_dropped_elements_read_exactly(
            values in vectors().prop_filter("an element", |v| !v.is_empty()),
            at in any::<prop::sample::Index>(),
            duplicate in any::<bool>(),
        ) {
            let mut changed = values.clone();
            let i = at.index(values.len());
            if duplicate {
                changed.insert(i, values[i]);
            } else {
                changed.remove(i);
            }
            let read = parse_vector(vector_text(&changed).as_bytes()).unwrap();
            prop_assert!(same(&read, &changed));
        }

        #[test]
        fn elements_of_the_wrong_type_are_refused_by_index(
            values in vectors().prop_filter("an element", |v| !v.is_empty()),
            at in any::<prop::sample::Index>(),
            wrong in prop_oneof![
                Just("\"1.5\""), Just("true"), Just("null"), Just("{}"), Just("[1]"),
                Just("\"nan\""), Just("\"Infinity\""),
            ],
        ) {
            let i = at.index(values.len());
            let mut items: Vec<String> = json_numbers(&values)
                .iter()
                .map(|n| serde_json::to_string(n).unwrap())
                .collect();
            items[i] = wrong.to_string();
            let text = format!("[{}]", items.join(", "));
            let e = parse_vector(text.as_bytes()).unwrap_err();
            prop_assert_eq!(e.element, Some(i), "{}", e);
            prop_assert!(e.to_string().contains(&format!("(element {i})")), "{}", e);
        }
    }

    fn request(workload: &str, strategy: &str, size: usize, hessian: bool) -> Request {
        Request {
            workload: workload.into(),
            strategy: strategy.into(),
            size: Some(size),
            params: Vec::new(),
            input: None,
            cotangent: None,
            force: false,
            threads: 1,
            hessian,
        }
    }

    /// fdotprod is x . y: its Hessian is [[0, I], [I, 0]], under every strategy that nests.
    #[test]
    fn the_hessian_of_a_dot_product_is_the_exchange_matrix() {
        for strategy in ["tape", "dualrev", "forward", "naive"] {
            let report = compute(&request("fdotprod", strategy, 3, true)).unwrap();
            let json = serde_json::to_value(&report).unwrap();
            let want: Vec<Vec<f64>> = (0..6)
                .map(|i| {
                    (0..6)
                        .map(|j| f64::from(u8::from((i + 3) % 6 == j)))
                        .collect()
                })
                .collect();
            assert_eq!(json["hessian"], serde_json::json!(want), "{strategy}");
        }
        let without = compute(&request("fdotprod", "tape", 3, false)).unwrap();
        assert!(serde_json::to_value(&without)
            .unwrap()
            .get("hessian")
            .is_none());
        let primal = compute(&request("fdotprod", "primal", 3, true)).unwrap();
        assert!(serde_json::to_value(&primal).unwrap()["hessian"].is_null());
    }

    #[test]
    fn a_hessian_of_several_outputs_needs_weights() {
        let mut fixed_size = request("frotvecquat", "tape", 1, true);
        fixed_size.size = None;
        let e = compute(&fixed_size).unwrap_err();
        assert!(e.to_string().contains("give --cotangent FILE"), "{e}");
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
            hessian: None,
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
