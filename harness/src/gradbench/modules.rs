//! The GradBench modules dualbench defines, their functions and input types, and the plan of
//! one function at one input: the input checked against the module's type (every error names
//! the field and what it should be), the primal operation count T the program will make,
//! worked out from the input's shape alone (so that a hopeless request is refused before
//! anything runs, [`crate::gradbench::task`]), and the program itself, built from `workloads`'
//! public program types (written once, generic over `Real`) only when it is to run.
//!
//! | module | functions | program | T | output of the value / the derivative |
//! |---|---|---|---|---|
//! | `hello` | `square`, `double` | x * x; `double` is its derivative, by the strategy | 1 | number / number |
//! | `lse` | `primal`, `gradient` | [`LogSumExp`] over `x` (n) | 3n + 2 | number / number[] |
//! | `llsq` | `primal`, `gradient` | [`LeastSquares`] of `x` (m) at `n` points | n(2m + 2) + 1 | number / number[] |
//! | `det` | `primal`, `gradient` | [`DeterminantByMinors`] of `A` (`ell` x `ell`) | l(T(l-1) + 1) + l - 1, about e l! | number / number[] |
//! | `ode` | `primal`, `gradient` | [`RungeKutta`], `s` steps over `x` (n) | s(17n - 4) | the state / the gradient of its last element |
//! | `gmm` | `objective`, `jacobian` | [`GmmLogPosterior`] | N(K(D+1)(D+2) + 3K + 3) + KD(D+3) + 5K + 9 | number / `{alpha, mu, q, l}` |
//! | `kmeans` | `cost` (`dir` is refused) | [`KmeansObjective`] | n(3dk + 1) | number |
//!
//! The value functions (`square`, `primal`, `objective`, `cost`) run the program on plain
//! `f64`, whatever the strategy: they are GradBench's baseline. The derivative functions run
//! one vector-Jacobian product with output cotangent 1 under the session's strategy. kmeans'
//! `dir` is J H^-1 with H the Hessian's diagonal: it needs second derivatives, which no strategy
//! computes (there is no nested AD yet), so it fails with that reason.

use strategies::{DynProgram, Outputs, Program, Real};
use workloads::classic::{
    DeterminantByMinors, GmmLogPosterior, KmeansObjective, LeastSquares, LogSumExp, RungeKutta,
};

use crate::gradbench::input::{fields, integer, matrix, nonempty_numbers, numbers};
use crate::strict_json::kind_with_article as json_kind;
use serde_json::Value;

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
pub enum Computes {
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
    pub fn computes(self, function: &str) -> Result<Computes, String> {
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

    /// The plan of `computes` at `input`: the input checked, T worked out, the program ready
    /// to build.
    pub fn plan(self, computes: Computes, input: &Value) -> Result<Plan, String> {
        let scalar = match computes {
            Computes::Value => Shape::Number,
            Computes::Gradient => Shape::Vector,
        };
        let name = self.name();
        Ok(match self {
            Module::Hello => {
                let x = input.as_f64().ok_or_else(|| {
                    format!(
                        "the `hello` input must be a number, not {}",
                        json_kind(input)
                    )
                })?;
                Plan::new(1.0, "x", vec![x], Shape::Number, || Square)
            }
            Module::Lse => {
                let x = nonempty_numbers(fields(name, input)?, "x")?;
                let n = x.len();
                Plan::new(
                    3.0 * n as f64 + 2.0,
                    format!("{n} numbers `x`"),
                    x,
                    scalar,
                    move || LogSumExp::new(n),
                )
            }
            Module::Llsq => {
                let f = fields(name, input)?;
                let x = nonempty_numbers(f, "x")?;
                let n = integer(f, "n", 2)?;
                let m = x.len();
                Plan::new(
                    n as f64 * (2.0 * m as f64 + 2.0) + 1.0,
                    format!("`n` = {n} points and {m} coefficients `x`"),
                    x,
                    scalar,
                    move || LeastSquares::new(n, m),
                )
            }
            Module::Det => {
                let f = fields(name, input)?;
                let ell = integer(f, "ell", 1)?;
                let entries = ell.checked_mul(ell).ok_or_else(|| {
                    format!(
                        "input field `ell` is {ell}: an ell x ell matrix that large cannot be sent"
                    )
                })?;
                let a = numbers(f, "A", Some(entries))
                    .map_err(|e| format!("{e} (`A` is the ell x ell matrix, row-major)"))?;
                Plan::new(
                    determinant_ops(ell),
                    format!("`ell` = {ell}"),
                    a,
                    scalar,
                    move || DeterminantByMinors::new(ell),
                )
            }
            Module::Ode => {
                let f = fields(name, input)?;
                let x = nonempty_numbers(f, "x")?;
                let s = integer(f, "s", 1)?;
                let n = x.len();
                Plan::new(
                    s as f64 * (17.0 * n as f64 - 4.0),
                    format!("`s` = {s} steps of {n} numbers `x`"),
                    x,
                    Shape::Vector,
                    move || match computes {
                        Computes::Value => RungeKutta::state(n, s),
                        Computes::Gradient => RungeKutta::last(n, s),
                    },
                )
            }
            Module::Gmm => gmm_plan(input, scalar)?,
            Module::Kmeans => {
                let f = fields(name, input)?;
                let (k, centroids) = matrix(f, "centroids", None, None)?;
                if k == 0 {
                    return Err("`centroids` must have at least one row".into());
                }
                let d = centroids.len() / k;
                if d == 0 {
                    return Err("each centroid must have at least one coordinate".into());
                }
                let (n, points) = matrix(f, "points", None, Some(d))
                    .map_err(|e| format!("{e} (each point has the centroids' {d} coordinates)"))?;
                Plan::new(
                    n as f64 * (3.0 * (d * k) as f64 + 1.0),
                    format!("{n} `points` and {k} `centroids` of {d} coordinates"),
                    centroids,
                    Shape::Number,
                    move || KmeansObjective::new(k, d, points.clone()),
                )
            }
        })
    }
}

/// T of the determinant of an `ell` x `ell` matrix by minors: T(1) = 0,
/// T(l) = l (T(l-1) + 1) + l - 1; infinite once beyond `f64` (from about ell = 170), which
/// ends the loop for any `ell`.
fn determinant_ops(ell: usize) -> f64 {
    let mut ops = 0.0f64;
    for l in 2..=ell {
        let l = l as f64;
        ops = l * (ops + 1.0) + l - 1.0;
        if ops.is_infinite() {
            break;
        }
    }
    ops
}

/// How the flat outputs of a program become the function's JSON output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
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

/// Builds a function's program.
type Builder = Box<dyn Fn() -> Box<dyn DynProgram> + Send>;

/// One function at one input, planned but not built: what it will cost and how to build it.
pub struct Plan {
    /// T, the primal operations of one run, from the input's shape (`f64`: det's can exceed
    /// every integer type).
    pub ops: f64,
    /// The operations of building the program once (gmm's Wishart constant takes D + m + 1).
    pub setup: f64,
    /// The input's sizes, for messages: "`ell` = 12".
    pub sizes: String,
    /// The point it runs at.
    pub x: Vec<f64>,
    /// The shape of its output.
    pub shape: Shape,
    build: Builder,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("ops", &self.ops)
            .field("setup", &self.setup)
            .field("sizes", &self.sizes)
            .field("inputs", &self.x.len())
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

impl Plan {
    fn new<P: Program + Send + Sync + 'static>(
        ops: f64,
        sizes: impl Into<String>,
        x: Vec<f64>,
        shape: Shape,
        build: impl Fn() -> P + Send + 'static,
    ) -> Plan {
        Plan {
            ops,
            setup: 0.0,
            sizes: sizes.into(),
            x,
            shape,
            build: Box::new(move || Box::new(build()) as Box<dyn DynProgram>),
        }
    }

    /// The program, built.
    pub fn build(&self) -> Box<dyn DynProgram> {
        (self.build)()
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

/// The `gmm` plan: `d`, `k`, `n`, `m` and `gamma`, the data `x` (n x d) and the independent
/// variables `alpha` (k), `mu`, `q` (k x d) and `l` (k x d(d-1)/2), checked against each other.
fn gmm_plan(input: &Value, gradient_shape: Shape) -> Result<Plan, String> {
    let f = fields(Module::Gmm.name(), input)?;
    let d = integer(f, "d", 1)?;
    let k = integer(f, "k", 1)?;
    let n = integer(f, "n", 1)?;
    let m = integer(f, "m", 0)?;
    let gamma = match crate::gradbench::input::field(f, "gamma")?.as_f64() {
        Some(g) if g > 0.0 => g,
        _ => {
            return Err(format!(
                "input field `gamma` must be a positive number, not {}",
                f["gamma"]
            ))
        }
    };
    // The rows of x bound n and d by the message's own size before any product of them.
    let (_, x) = matrix(f, "x", Some(n), Some(d))?;
    let mut independent = numbers(f, "alpha", Some(k))?;
    independent.extend(matrix(f, "mu", Some(k), Some(d))?.1);
    independent.extend(matrix(f, "q", Some(k), Some(d))?.1);
    independent.extend(matrix(f, "l", Some(k), Some(d * (d - 1) / 2))?.1);
    let shape = match gradient_shape {
        Shape::Vector => Shape::GmmIndependent { d, k },
        other => other,
    };
    let (df, kf, nf) = (d as f64, k as f64, n as f64);
    let ops = nf * (kf * (df + 1.0) * (df + 2.0) + 3.0 * kf + 3.0)
        + kf * df * (df + 3.0)
        + 5.0 * kf
        + 9.0;
    let mut plan = Plan::new(
        ops,
        format!("`d` = {d}, `k` = {k}, `n` = {n}, `m` = {m}"),
        independent,
        shape,
        move || GmmLogPosterior::new(d, k, n, x.clone(), m, gamma),
    );
    plan.setup = df + m as f64 + 1.0;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each module's closed-form T is the count of the program it builds, at several shapes.
    #[test]
    fn the_closed_form_op_counts_are_the_programs_counts() {
        let cases = [
            (Module::Hello, json!(3.0)),
            (Module::Lse, json!({"x": [1.0]})),
            (Module::Lse, json!({"x": [1.0, -2.0, 0.5, 4.0, 3.0]})),
            (Module::Llsq, json!({"x": [0.5], "n": 2})),
            (Module::Llsq, json!({"x": [0.5, 0.1, 0.3], "n": 7})),
            (Module::Det, json!({"A": [2.0], "ell": 1})),
            (Module::Det, json!({"A": vec![0.3; 4], "ell": 2})),
            (Module::Det, json!({"A": vec![0.3; 25], "ell": 5})),
            (Module::Ode, json!({"x": [1.0], "s": 1})),
            (Module::Ode, json!({"x": [1.0, 0.5, 0.2], "s": 6})),
            (
                Module::Gmm,
                json!({"d": 1, "k": 1, "n": 1, "m": 0, "gamma": 1.0, "x": [[0.5]],
                       "alpha": [0.3], "mu": [[0.1]], "q": [[0.2]], "l": [[]]}),
            ),
            (
                Module::Gmm,
                json!({"d": 3, "k": 2, "n": 4, "m": 2, "gamma": 0.5,
                       "x": [[0.5, 0.1, 0.2], [0.1, 0.0, 1.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
                       "alpha": [0.3, 0.1], "mu": [[0.1, 0.2, 0.3], [0.0, 0.1, 0.0]],
                       "q": [[0.2, 0.1, 0.0], [0.0, 0.0, 0.1]],
                       "l": [[0.1, 0.2, 0.3], [0.0, 0.1, 0.2]]}),
            ),
            (
                Module::Kmeans,
                json!({"points": [[0.0, 1.0], [3.0, 1.0], [2.0, 2.0]],
                       "centroids": [[1.0, 0.0], [2.5, 1.0]]}),
            ),
        ];
        for (module, input) in cases {
            for function in module.functions() {
                let Ok(computes) = module.computes(function) else {
                    continue;
                };
                let plan = module.plan(computes, &input).unwrap();
                assert_eq!(
                    plan.build().op_count(&plan.x).ops as f64,
                    plan.ops,
                    "{} `{function}` at {input}",
                    module.name()
                );
            }
        }
    }

    #[test]
    fn determinant_ops_follow_the_recurrence_and_stop_at_infinity() {
        assert_eq!(determinant_ops(1), 0.0);
        assert_eq!(determinant_ops(2), 3.0);
        assert_eq!(determinant_ops(3), 3.0 * 4.0 + 2.0);
        assert!(determinant_ops(12) > 1e9);
        assert!(determinant_ops(usize::MAX).is_infinite());
    }

    #[test]
    fn inputs_of_the_wrong_shape_are_refused_by_field() {
        let plan = |module: Module, input: Value| {
            module
                .plan(Computes::Gradient, &input)
                .map(|p| p.sizes)
                .unwrap_err()
        };
        assert!(
            plan(Module::Det, json!({"A": [1.0], "ell": 4_294_967_296u64}))
                .contains("`ell` is 4294967296")
        );
        assert!(plan(Module::Det, json!({"A": [1.0, 2.0, 3.0], "ell": 2}))
            .contains("`A` must have 4 numbers, not 3"));
        assert!(plan(Module::Llsq, json!({"x": [1.0], "n": 1})).contains("`n`"));
        assert!(plan(Module::Ode, json!({"x": [], "s": 1})).contains("at least one"));
        assert!(plan(Module::Hello, json!("3")).contains("a number, not a string"));
        assert!(
            plan(Module::Kmeans, json!({"points": [[1.0]], "centroids": []}))
                .contains("at least one row")
        );
    }
}
