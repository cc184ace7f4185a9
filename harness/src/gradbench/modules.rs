//! The GradBench modules dualbench defines, their functions and input types, and one
//! evaluation of a function: the input checked against the module's type (every error names
//! the field and what it should be), the program built from `workloads`' public program types
//! (written once, generic over `Real`), the function run `min_runs` times and for
//! `min_seconds`, and the output in the module's output type.
//!
//! | module | functions | program | output of the value / the derivative |
//! |---|---|---|---|
//! | `hello` | `square`, `double` | x * x; `double` is its derivative, by the strategy | number / number |
//! | `lse` | `primal`, `gradient` | [`LogSumExp`] over `x` | number / number[] |
//! | `llsq` | `primal`, `gradient` | [`LeastSquares`] of `x` at `n` points | number / number[] |
//! | `det` | `primal`, `gradient` | [`DeterminantByMinors`] of `A` (`ell` x `ell`) | number / number[] |
//! | `ode` | `primal`, `gradient` | [`RungeKutta`], `s` steps over `x` | the state / the gradient of its last element |
//! | `gmm` | `objective`, `jacobian` | [`GmmLogPosterior`] | number / `{alpha, mu, q, l}` |
//! | `kmeans` | `cost` (`dir` is refused) | [`KmeansObjective`] | number |
//!
//! The value functions (`square`, `primal`, `objective`, `cost`) run the program on plain
//! `f64`, whatever the strategy: they are GradBench's baseline. The derivative functions run
//! one vector-Jacobian product with output cotangent 1 under the session's strategy. kmeans'
//! `dir` is J H^-1 with H the Hessian's diagonal: it needs second derivatives, which no strategy
//! computes (there is no nested AD yet), so it fails with that reason.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use strategies::{DynProgram, Outputs, Program, Real, StrategyKind};
use workloads::classic::{
    DeterminantByMinors, GmmLogPosterior, KmeansObjective, LeastSquares, LogSumExp, RungeKutta,
};

use crate::gradbench::protocol::{json_kind, EvaluateReply, EvaluateRequest, Timing};
use crate::verify::caps;

/// A module dualbench defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Module {
    /// GradBench's protocol test: `square` and its derivative `double`.
    Hello,
    /// Log-sum-exp.
    Lse,
    /// Linear least squares.
    Llsq,
    /// The determinant by expansion by minors.
    Det,
    /// Runge-Kutta integration of a linear ODE chain.
    Ode,
    /// The Gaussian mixture model's log posterior.
    Gmm,
    /// The k-means cost (its `dir` needs second derivatives and is refused).
    Kmeans,
}

/// What a function computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Computes {
    /// The program's outputs on `f64`.
    Value,
    /// The gradient of the program's one output under the strategy.
    Gradient,
}

impl Module {
    /// Every module, in listing order.
    pub const ALL: [Module; 7] = [
        Module::Hello,
        Module::Lse,
        Module::Llsq,
        Module::Det,
        Module::Ode,
        Module::Gmm,
        Module::Kmeans,
    ];

    /// GradBench's name of the module.
    pub fn name(self) -> &'static str {
        match self {
            Module::Hello => "hello",
            Module::Lse => "lse",
            Module::Llsq => "llsq",
            Module::Det => "det",
            Module::Ode => "ode",
            Module::Gmm => "gmm",
            Module::Kmeans => "kmeans",
        }
    }

    /// The module called `name`.
    pub fn from_name(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The module names, comma separated (for error messages).
    pub fn names() -> String {
        Module::ALL.map(Module::name).join(", ")
    }

    /// The module's functions, in GradBench's order.
    pub fn functions(self) -> &'static [&'static str] {
        match self {
            Module::Hello => &["square", "double"],
            Module::Lse | Module::Llsq | Module::Det | Module::Ode => &["primal", "gradient"],
            Module::Gmm => &["objective", "jacobian"],
            Module::Kmeans => &["cost", "dir"],
        }
    }

    /// What `function` computes, or why the module cannot evaluate it.
    fn computes(self, function: &str) -> Result<Computes, String> {
        match (self, function) {
            (Module::Kmeans, "dir") => Err("kmeans `dir` is J H^-1 with H the diagonal of the \
                 Hessian: it needs second derivatives, and no dualbench strategy computes them \
                 (there is no nested AD yet)"
                .into()),
            (_, f) if f == self.functions()[0] => Ok(Computes::Value),
            (_, f) if f == self.functions()[1] => Ok(Computes::Gradient),
            (m, f) => Err(format!(
                "module `{}` has no function `{f}`; its functions are {}",
                m.name(),
                m.functions().join(", ")
            )),
        }
    }
}

/// How often to run a function: GradBench's `Runs` fields of the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Runs {
    /// At least this many runs (at least one).
    pub min_runs: u64,
    /// And until the runs together took this long.
    pub min_seconds: f64,
}

impl Runs {
    /// The `min_runs` and `min_seconds` of an input object (1 run and 0 s when absent).
    fn of(input: &Value) -> Result<Runs, String> {
        let Value::Object(fields) = input else {
            return Ok(Runs {
                min_runs: 1,
                min_seconds: 0.0,
            });
        };
        let min_runs = match fields.get("min_runs") {
            None => 1,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| {
                    format!(
                        "input field `min_runs` must be a non-negative integer, not {v} ({})",
                        json_kind(v)
                    )
                })?
                .max(1),
        };
        let min_seconds = match fields.get("min_seconds") {
            None => 0.0,
            Some(v) => match v.as_f64() {
                Some(s) if s >= 0.0 => s,
                _ => {
                    return Err(format!(
                        "input field `min_seconds` must be a non-negative number, not {v}"
                    ))
                }
            },
        };
        Ok(Runs {
            min_runs,
            min_seconds,
        })
    }
}

/// How the flat outputs of a program become the function's JSON output.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// One number.
    Number,
    /// An array of numbers.
    Vector,
    /// GMM's `Independent`: `alpha` (k), `mu` and `q` (k arrays of d), `l` (k arrays of
    /// d(d-1)/2).
    GmmIndependent {
        /// The dimension.
        d: usize,
        /// The number of components.
        k: usize,
    },
}

/// One function of one module at one input, ready to run.
pub struct Task {
    program: Box<dyn DynProgram>,
    x: Vec<f64>,
    computes: Computes,
    shape: Shape,
    runs: Runs,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("inputs", &self.x.len())
            .field("computes", &self.computes)
            .field("shape", &self.shape)
            .field("runs", &self.runs)
            .finish_non_exhaustive()
    }
}

/// A function's program, the point it runs at, and the shape of its output.
struct Built {
    program: Box<dyn DynProgram>,
    x: Vec<f64>,
    shape: Shape,
}

impl Built {
    fn new(program: impl DynProgram + 'static, x: Vec<f64>, shape: Shape) -> Built {
        Built {
            program: Box::new(program),
            x,
            shape,
        }
    }
}

/// x * x: `hello`'s `square`, whose derivative is `double`.
struct Square;

impl Program for Square {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        strategies::outputs![x[0].clone() * x[0].clone()]
    }
}

/// The input object's fields, or an error naming the module's input type.
fn fields(module: Module, input: &Value) -> Result<&Map<String, Value>, String> {
    input.as_object().ok_or_else(|| {
        format!(
            "the `{}` input must be an object, not {}",
            module.name(),
            json_kind(input)
        )
    })
}

/// The field `name`, present.
fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    fields
        .get(name)
        .ok_or_else(|| format!("the input has no field `{name}`"))
}

/// The field `name` as a non-negative integer of at least `min`.
fn integer(fields: &Map<String, Value>, name: &str, min: u64) -> Result<usize, String> {
    let value = field(fields, name)?;
    match value.as_u64() {
        Some(n) if n >= min => usize::try_from(n).map_err(|_| format!("`{name}` is too large")),
        _ => Err(format!(
            "input field `{name}` must be an integer of at least {min}, not {value}"
        )),
    }
}

/// The field `name` as an array of numbers, of `len` entries when given.
fn numbers(
    fields: &Map<String, Value>,
    name: &str,
    len: Option<usize>,
) -> Result<Vec<f64>, String> {
    number_array(field(fields, name)?, name, len)
}

/// `value` as an array of numbers, of `len` entries when given; `what` names it in errors.
fn number_array(value: &Value, what: &str, len: Option<usize>) -> Result<Vec<f64>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "`{what}` must be an array of numbers, not {}",
            json_kind(value)
        ));
    };
    if let Some(len) = len {
        if items.len() != len {
            return Err(format!(
                "`{what}` must have {len} numbers, not {}",
                items.len()
            ));
        }
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_f64()
                .ok_or_else(|| format!("`{what}[{i}]` must be a number, not {}", json_kind(item)))
        })
        .collect()
}

/// The field `name` as `rows` arrays of `columns` numbers each, flattened row by row; `rows`
/// free when `None`. Returns the rows found and the numbers.
fn matrix(
    fields: &Map<String, Value>,
    name: &str,
    rows: Option<usize>,
    columns: Option<usize>,
) -> Result<(usize, Vec<f64>), String> {
    let value = field(fields, name)?;
    let Value::Array(items) = value else {
        return Err(format!(
            "`{name}` must be an array of arrays of numbers, not {}",
            json_kind(value)
        ));
    };
    if let Some(rows) = rows {
        if items.len() != rows {
            return Err(format!(
                "`{name}` must have {rows} rows, not {}",
                items.len()
            ));
        }
    }
    let mut width = columns;
    let mut flat = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let row = number_array(item, &format!("{name}[{i}]"), width)?;
        width = Some(row.len());
        flat.extend(row);
    }
    Ok((items.len(), flat))
}

impl Task {
    /// The task of `request`: its module and function resolved and its input checked.
    pub fn new(request: &EvaluateRequest) -> Result<Task, String> {
        let module = Module::from_name(&request.module).ok_or_else(|| {
            format!(
                "unknown module `{}`; dualbench defines {}",
                request.module,
                Module::names()
            )
        })?;
        let computes = module.computes(&request.function)?;
        let input = &request.input;
        let runs = Runs::of(input)?;
        let scalar = match computes {
            Computes::Value => Shape::Number,
            Computes::Gradient => Shape::Vector,
        };
        let Built { program, x, shape } = match module {
            Module::Hello => {
                let x = input.as_f64().ok_or_else(|| {
                    format!(
                        "the `hello` input must be a number, not {}",
                        json_kind(input)
                    )
                })?;
                Built::new(Square, vec![x], Shape::Number)
            }
            Module::Lse => {
                let f = fields(module, input)?;
                let x = numbers(f, "x", None)?;
                if x.is_empty() {
                    return Err("`x` must have at least one number".into());
                }
                Built::new(LogSumExp::new(x.len()), x, scalar)
            }
            Module::Llsq => {
                let f = fields(module, input)?;
                let x = numbers(f, "x", None)?;
                if x.is_empty() {
                    return Err("`x` must have at least one number".into());
                }
                let n = integer(f, "n", 2)?;
                Built::new(LeastSquares::new(n, x.len()), x, scalar)
            }
            Module::Det => {
                let f = fields(module, input)?;
                let ell = integer(f, "ell", 1)?;
                let a = numbers(f, "A", Some(ell * ell))
                    .map_err(|e| format!("{e} (`A` is the ell x ell matrix, row-major)"))?;
                Built::new(DeterminantByMinors::new(ell), a, scalar)
            }
            Module::Ode => {
                let f = fields(module, input)?;
                let x = numbers(f, "x", None)?;
                if x.is_empty() {
                    return Err("`x` must have at least one number".into());
                }
                let s = integer(f, "s", 1)?;
                let program = match computes {
                    Computes::Value => RungeKutta::state(x.len(), s),
                    Computes::Gradient => RungeKutta::last(x.len(), s),
                };
                Built::new(program, x, Shape::Vector)
            }
            Module::Gmm => gmm_task(input, scalar)?,
            Module::Kmeans => {
                let f = fields(module, input)?;
                let (k, centroids) = matrix(f, "centroids", None, None)?;
                if k == 0 {
                    return Err("`centroids` must have at least one row".into());
                }
                let d = centroids.len() / k;
                if d == 0 {
                    return Err("each centroid must have at least one coordinate".into());
                }
                let (_, points) = matrix(f, "points", None, Some(d))
                    .map_err(|e| format!("{e} (each point has the centroids' {d} coordinates)"))?;
                Built::new(KmeansObjective::new(k, d, points), centroids, Shape::Number)
            }
        };
        Ok(Task {
            program,
            x,
            computes,
            shape,
            runs,
        })
    }

    /// Run the task under `strategy`: refused when the strategy's predicted work is beyond
    /// `work_cap` ([`caps::predicted_work`]; 0 for no cap), else run `min_runs` times and
    /// until `min_seconds` have passed, each run timed alone; the output is the last run's.
    pub fn run(&self, strategy: StrategyKind, work_cap: f64) -> EvaluateReply {
        let capped = matches!(
            strategy.cost_class(),
            strategies::CostClass::Dense | strategies::CostClass::Paths
        );
        if self.computes == Computes::Gradient && capped && work_cap > 0.0 {
            let count = self.program.op_count(&self.x);
            if let Some(work) = caps::predicted_work(strategy, &count, self.x.len(), 1)
                .filter(|&work| work > work_cap)
            {
                return EvaluateReply::failure(format!(
                    "strategy `{}` would do about {work:.3e} steps of work on this input (T = {} \
                     operations, {} inputs), beyond the work cap of {work_cap:e}; run dualbench \
                     gradbench with a linear strategy (tape, dualrev) or a larger --work-cap",
                    strategy.name(),
                    count.ops,
                    self.x.len()
                ));
            }
        }
        let mut timings = Vec::new();
        let mut total = Duration::ZERO;
        let mut output;
        loop {
            let started = Instant::now();
            output = match self.computes {
                Computes::Value => self.program.primal(&self.x),
                Computes::Gradient => {
                    let vjp = self.program.vjp(strategy, &self.x, &[1.0]);
                    match vjp.gradient {
                        Some(gradient) => gradient,
                        None => {
                            return EvaluateReply::failure(format!(
                                "strategy `{}` computes no derivatives",
                                strategy.name()
                            ))
                        }
                    }
                }
            };
            let elapsed = started.elapsed();
            std::hint::black_box(&output);
            total += elapsed;
            timings.push(Timing {
                name: "evaluate".into(),
                nanoseconds: elapsed.as_nanos(),
            });
            if timings.len() as u64 >= self.runs.min_runs
                && total.as_secs_f64() >= self.runs.min_seconds
            {
                break;
            }
        }
        match self.output(&output) {
            Ok(output) => EvaluateReply {
                success: true,
                output: Some(output),
                timings,
                error: None,
            },
            Err(error) => EvaluateReply::failure(error),
        }
    }

    /// The flat `values` in the function's output type; an error if one is not finite (JSON
    /// has no NaN or infinity).
    fn output(&self, values: &[f64]) -> Result<Value, String> {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "the output's entry {i} is {}, which JSON cannot carry",
                values[i]
            ));
        }
        Ok(match self.shape {
            Shape::Number => json!(values[0]),
            Shape::Vector => json!(values),
            Shape::GmmIndependent { d, k } => {
                let triangle = d * (d - 1) / 2;
                let (alpha, rest) = values.split_at(k);
                let (mu, rest) = rest.split_at(k * d);
                let (q, l) = rest.split_at(k * d);
                let rows = |flat: &[f64], width: usize| -> Value {
                    if width == 0 {
                        json!(vec![Vec::<f64>::new(); k])
                    } else {
                        json!(flat.chunks(width).collect::<Vec<_>>())
                    }
                };
                json!({
                    "alpha": alpha,
                    "mu": rows(mu, d),
                    "q": rows(q, d),
                    "l": rows(l, triangle),
                })
            }
        })
    }
}

/// The `gmm` task: `d`, `k`, `n`, `m` and `gamma`, the data `x` (n x d) and the independent
/// variables `alpha` (k), `mu`, `q` (k x d) and `l` (k x d(d-1)/2), checked against each other.
fn gmm_task(input: &Value, gradient_shape: Shape) -> Result<Built, String> {
    let f = fields(Module::Gmm, input)?;
    let d = integer(f, "d", 1)?;
    let k = integer(f, "k", 1)?;
    let n = integer(f, "n", 1)?;
    let m = integer(f, "m", 0)?;
    let gamma = match field(f, "gamma")?.as_f64() {
        Some(g) if g > 0.0 => g,
        _ => {
            return Err(format!(
                "input field `gamma` must be a positive number, not {}",
                f["gamma"]
            ))
        }
    };
    let (_, x) = matrix(f, "x", Some(n), Some(d))?;
    let mut independent = numbers(f, "alpha", Some(k))?;
    independent.extend(matrix(f, "mu", Some(k), Some(d))?.1);
    independent.extend(matrix(f, "q", Some(k), Some(d))?.1);
    independent.extend(matrix(f, "l", Some(k), Some(d * (d - 1) / 2))?.1);
    let shape = match gradient_shape {
        Shape::Vector => Shape::GmmIndependent { d, k },
        other => other,
    };
    Ok(Built::new(
        GmmLogPosterior::new(d, k, n, x, m, gamma),
        independent,
        shape,
    ))
}
