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
//! | `kmeans` | `cost`, `dir` | [`KmeansObjective`]; `dir` also its [`Curvature`] | `cost`: n(3dk + 1); `dir`: n(3dk + 1) + nk(9d - 2) + 4n - 2 | number / k rows of d numbers |
//!
//! The value functions (`square`, `primal`, `objective`, `cost`) run the program on plain
//! `f64`, whatever the strategy: they are GradBench's baseline. The derivative functions run
//! one vector-Jacobian product with output cotangent 1 under the session's strategy.
//!
//! kmeans' `dir` is J H^-1, J the gradient of the cost with respect to the centroids and H
//! the diagonal of its Hessian (GradBench's kmeans README), computed entry by entry as J / H
//! ([`Computes::NewtonDirection`]): J by one vector-Jacobian product of the cost, H by one
//! Hessian-vector product, both under the session's strategy (see [`Curvature`] for why one
//! product gives the whole diagonal). A run of `dir` is both products, so its T is the sum
//! of the cost's T and that of the cost on dual numbers: the second summand is an upper
//! bound, reached wherever no difference of a centroid's and a point's coordinate, nor a
//! tangent (a sum of such differences), is exactly 0, since the count leaves out a product
//! by an exact 0 (GradBench's centroids are points, so its inputs count a little below it).
//! The strategies that compute no derivatives or run only hand-written adjoints (`primal`,
//! `manual`) answer it with an error.

use strategies::hvp::Directional;
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
    /// The k-means cost, and its Newton direction `dir`.
    Kmeans,
}

/// What a function computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Computes {
    /// The program's outputs on `f64`.
    Value,
    /// The gradient of the program's one output under the strategy.
    Gradient,
    /// The gradient divided entry by entry by the Hessian's diagonal, both under the
    /// strategy: kmeans' `dir`, the direction of a Newton step when the Hessian is diagonal
    /// ([`Curvature`]).
    NewtonDirection,
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
            (Module::Kmeans, "dir") => Ok(Computes::NewtonDirection),
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
            Computes::Gradient | Computes::NewtonDirection => Shape::Vector,
        };
        let name = self.name();
        if computes == Computes::NewtonDirection && self != Module::Kmeans {
            return Err(format!(
                "module `{name}` has no Newton direction; only kmeans' `dir` is one"
            ));
        }
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
                        Computes::Gradient | Computes::NewtonDirection => RungeKutta::last(n, s),
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
                let sizes = format!("{n} `points` and {k} `centroids` of {d} coordinates");
                let cost_ops = n as f64 * (3.0 * (d * k) as f64 + 1.0);
                if computes != Computes::NewtonDirection {
                    return Ok(Plan::new(
                        cost_ops,
                        sizes,
                        centroids,
                        Shape::Number,
                        move || KmeansObjective::new(k, d, points.clone()),
                    ));
                }
                let (nf, kf, df) = (n as f64, k as f64, d as f64);
                let curvature = Curvature {
                    ops: nf * kf * (9.0 * df - 2.0) + 4.0 * nf - 2.0,
                    width: d,
                    build: {
                        let points = points.clone();
                        Box::new(move || {
                            Box::new(AlongOnes::new(KmeansObjective::new(k, d, points.clone())))
                                as Box<dyn DynProgram>
                        })
                    },
                };
                let mut plan = Plan::new(cost_ops, sizes, centroids, Shape::Rows(d), move || {
                    KmeansObjective::new(k, d, points.clone())
                });
                plan.curvature = Some(curvature);
                plan
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
    /// An array of rows of this many numbers each (kmeans' `dir`: k rows of d).
    Rows(usize),
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
    /// The program whose Hessian-vector product gives the Hessian's diagonal, for a Newton
    /// direction ([`Computes::NewtonDirection`]); `None` for the other functions.
    pub curvature: Option<Curvature>,
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
            .field("curvature", &self.curvature.as_ref().map(|c| c.ops))
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
            curvature: None,
            build: Box::new(move || Box::new(build()) as Box<dyn DynProgram>),
        }
    }

    /// The program, built.
    pub fn build(&self) -> Box<dyn DynProgram> {
        (self.build)()
    }

    /// T of one run: the program's, plus its curvature program's for a Newton direction.
    pub fn ops_per_run(&self) -> f64 {
        self.ops + self.curvature.as_ref().map_or(0.0, |c| c.ops)
    }
}

/// The second program of a Newton direction ([`Computes::NewtonDirection`]): x -> J(x) 1,
/// the derivative of the cost along the all-ones direction, evaluated on nested dual numbers
/// ([`Directional`]). Its vector-Jacobian product with cotangent 1 under a strategy is the
/// Hessian-vector product H 1 under that strategy (reverse over forward; forward over forward
/// under `forward`): the row sums of the Hessian H.
///
/// **For the k-means cost H 1 is the Hessian's diagonal, exactly.** The cost is
/// f(C) = sum_i min_j |C_j - P_i|^2 (GradBench's kmeans README: squared distances, summed).
/// Wherever the nearest centroid a(i) of every point is fixed — everywhere but where a point
/// is equidistant from two nearest centroids, and the program decides a tie as GradBench's
/// reference does, for the first, on primal values, so that it differentiates that piece —
/// f(C) = sum_i sum_l (C_{a(i),l} - P_{i,l})^2: a sum of terms each of which is the square
/// of one coordinate C_{k,l} minus a constant. No term holds two coordinates, so every mixed
/// second derivative is 0 and H is diagonal, with d^2 f / dC_{k,l}^2 = 2 |{i : a(i) = k}|,
/// twice the number of points whose nearest centroid is C_k. The row sums of a diagonal
/// matrix are its diagonal: one product, not one per coordinate, gives all of it. The gradient
/// is J_{k,l} = 2 sum_{a(i)=k} (C_{k,l} - P_{i,l}), so J / H is C_k minus the mean of its
/// points: Lloyd's step, which is how GradBench's `manual` tool answers `dir`.
pub struct Curvature {
    /// T of the program: the cost's operations on dual numbers, partials included — an upper
    /// bound, reached at an input where no difference of a centroid's and a point's
    /// coordinate and no tangent is exactly 0 (the count leaves out products by an exact 0).
    pub ops: f64,
    /// The length of a row of the output (kmeans: d, a row per centroid).
    width: usize,
    build: Builder,
}

impl Curvature {
    /// The program, built.
    pub fn build(&self) -> Box<dyn DynProgram> {
        (self.build)()
    }

    /// The Newton direction `gradient` / `diagonal`, entry by entry; an error naming the
    /// first centroid (row) and coordinate (column) where the diagonal is 0: no point has
    /// that centroid as its nearest, and the direction is undefined there.
    pub fn direction(&self, gradient: &[f64], diagonal: &[f64]) -> Result<Vec<f64>, String> {
        if let Some(i) = diagonal.iter().position(|&h| h == 0.0) {
            let (row, column) = (i / self.width, i % self.width);
            return Err(format!(
                "the Hessian's diagonal is 0 at centroid {row} (coordinate {column}): centroid \
                 {row} is the nearest centroid of no point, so `dir` = J / H is undefined \
                 there; send centroids that each have at least one point nearest to them (as \
                 GradBench's kmeans eval does)"
            ));
        }
        Ok(gradient.iter().zip(diagonal).map(|(g, h)| g / h).collect())
    }
}

/// x -> J(x) 1 of a program: [`Directional`] along the all-ones direction, owning the
/// program and the direction so that it can be built and boxed as any other program.
struct AlongOnes<P> {
    program: P,
    ones: Vec<f64>,
}

impl<P: Program> AlongOnes<P> {
    fn new(program: P) -> Self {
        let ones = vec![1.0; program.input_len()];
        Self { program, ones }
    }
}

impl<P: Program> Program for AlongOnes<P> {
    fn input_len(&self) -> usize {
        self.program.input_len()
    }
    fn output_len(&self) -> usize {
        self.program.output_len()
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        Program::eval(
            &Directional::new(&self.program, &self.ones, self.ones.len()),
            x,
        )
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
    use strategies::StrategyKind;

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
            // No difference of coordinates, nor a sum of them, is 0 (see `Curvature::ops`).
            (
                Module::Kmeans,
                json!({"points": [[0.0, 1.0], [3.0, 1.0], [2.0, 2.0]],
                       "centroids": [[1.0, 0.5], [2.5, 1.25]]}),
            ),
            (
                Module::Kmeans,
                json!({"points": [[0.1], [0.7], [0.2], [0.9]], "centroids": [[0.3]]}),
            ),
            (
                Module::Kmeans,
                json!({"points": [[0.1, 0.2, 0.3], [0.7, 0.8, 0.95], [0.4, 0.4, 0.6],
                                  [0.9, 0.1, 0.5], [0.3, 0.6, 0.2]],
                       "centroids": [[0.25, 0.35, 0.45], [0.65, 0.55, 0.75],
                                     [0.15, 0.83, 0.05]]}),
            ),
        ];
        for (module, input) in cases {
            for function in module.functions() {
                let computes = module.computes(function).unwrap();
                let plan = module.plan(computes, &input).unwrap();
                let mut count = plan.build().op_count(&plan.x).ops;
                assert_eq!(
                    count as f64,
                    plan.ops,
                    "{} `{function}` at {input}",
                    module.name()
                );
                if let Some(curvature) = &plan.curvature {
                    count += curvature.build().op_count(&plan.x).ops;
                }
                assert_eq!(
                    count as f64,
                    plan.ops_per_run(),
                    "{} `{function}` at {input}",
                    module.name()
                );
            }
        }
    }

    /// Where a centroid coordinate equals a point's (GradBench's inputs: the centroids are
    /// points), a difference is an active 0, which the count keeps (only a constant 0 is a
    /// structural zero): `dir`'s T is exact there too.
    #[test]
    fn dirs_op_count_is_exact_where_a_difference_is_zero() {
        let input = json!({"points": [[0.0, 1.0], [3.0, 1.0], [2.0, 2.0]],
                           "centroids": [[0.0, 1.0], [2.0, 2.0]]});
        let plan = Module::Kmeans
            .plan(Computes::NewtonDirection, &input)
            .unwrap();
        let curvature = plan.curvature.as_ref().unwrap();
        let count = curvature.build().op_count(&plan.x).ops as f64;
        assert_eq!(count, curvature.ops);
        assert_eq!(plan.build().op_count(&plan.x).ops as f64, plan.ops);
    }

    /// A deterministic instance: `n` points in [0, 1)^d, the centroids the last `k` of them
    /// (as GradBench's kmeans eval draws them, so that every centroid has a point), as
    /// (points, centroids), row-major.
    fn instance(n: usize, k: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let points: Vec<f64> = (0..n * d)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let centroids = points[(n - k) * d..].to_vec();
        (points, centroids)
    }

    /// The kmeans input of `instance`.
    fn kmeans_input(points: &[f64], centroids: &[f64], d: usize) -> Value {
        let rows = |flat: &[f64]| json!(flat.chunks(d).collect::<Vec<_>>());
        json!({"points": rows(points), "centroids": rows(centroids)})
    }

    /// The closed forms, from the cost's definition alone, with the nearest centroid the
    /// first of the nearest: J_{k,l} = 2 sum_{a(i)=k} (C_{k,l} - P_{i,l}), the Hessian's
    /// diagonal 2 |{i : a(i) = k}| for each coordinate of C_k, and `dir` = J / H.
    fn closed_form(points: &[f64], centroids: &[f64], d: usize) -> [Vec<f64>; 3] {
        let k = centroids.len() / d;
        let mut members = vec![0.0; k];
        let mut sums = vec![0.0; k * d];
        for p in points.chunks(d) {
            let distance = |c: &[f64]| c.iter().zip(p).map(|(c, p)| (c - p) * (c - p)).sum();
            let mut nearest = 0;
            for j in 1..k {
                let closer: f64 = distance(&centroids[j * d..(j + 1) * d]);
                if closer < distance(&centroids[nearest * d..(nearest + 1) * d]) {
                    nearest = j;
                }
            }
            members[nearest] += 1.0;
            for (sum, p) in sums[nearest * d..(nearest + 1) * d].iter_mut().zip(p) {
                *sum += p;
            }
        }
        let at = |i: usize| (members[i / d], sums[i], centroids[i]);
        let j = (0..k * d)
            .map(|i| {
                let (m, s, c) = at(i);
                2.0 * (m * c - s)
            })
            .collect();
        let h = (0..k * d).map(|i| 2.0 * at(i).0).collect();
        let dir = (0..k * d)
            .map(|i| {
                let (m, s, c) = at(i);
                c - s / m
            })
            .collect();
        [j, h, dir]
    }

    fn assert_close(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what}: got {got:?}, want {want:?}"
            );
        }
    }

    /// The strategies that differentiate both of `plan`'s programs.
    fn differentiating(plan: &Plan) -> Vec<StrategyKind> {
        let (cost, curvature) = (plan.build(), plan.curvature.as_ref().unwrap().build());
        StrategyKind::ALL
            .iter()
            .copied()
            .filter(|&s| {
                s != StrategyKind::Primal
                    && cost.why_unavailable(s).is_none()
                    && curvature.why_unavailable(s).is_none()
            })
            .collect()
    }

    /// The Hessian of the cost is diagonal: its every column H e_i, a Hessian-vector product
    /// along a unit vector, has one nonzero entry, 2 |cluster|, at i; so the one product along
    /// all ones that `dir` makes is the diagonal.
    #[test]
    fn the_kmeans_hessian_is_diagonal_so_one_product_gives_its_diagonal() {
        let (k, d) = (3, 2);
        let (points, centroids) = instance(9, k, d, 7);
        let [_, diagonal, _] = closed_form(&points, &centroids, d);
        assert!(diagonal.iter().all(|&h| h > 0.0), "{diagonal:?}");
        assert!(
            diagonal.iter().any(|&h| h != diagonal[0]),
            "clusters of different sizes make a stronger case: {diagonal:?}"
        );
        let cost = KmeansObjective::new(k, d, points.clone());
        for strategy in [
            StrategyKind::Tape,
            StrategyKind::Forward,
            StrategyKind::Dualrev,
        ] {
            let mut row_sums = vec![0.0; k * d];
            for i in 0..k * d {
                let mut unit = vec![0.0; k * d];
                unit[i] = 1.0;
                let along = Directional::new(&cost, &unit, k * d);
                let column = DynProgram::vjp(&along, strategy, &centroids, &[1.0])
                    .gradient
                    .unwrap();
                for (j, &h) in column.iter().enumerate() {
                    let want = if j == i { diagonal[i] } else { 0.0 };
                    assert_eq!(h, want, "{}: H[{j}][{i}]", strategy.name());
                    row_sums[j] += h;
                }
            }
            let ones = AlongOnes::new(KmeansObjective::new(k, d, points.clone()));
            let product = DynProgram::vjp(&ones, strategy, &centroids, &[1.0])
                .gradient
                .unwrap();
            assert_eq!(product, row_sums, "{}", strategy.name());
            assert_eq!(product, diagonal, "{}", strategy.name());
        }
    }

    /// `dir`'s two products and their quotient under every strategy that differentiates,
    /// against the closed forms: one worked by hand, and instances drawn as GradBench draws
    /// them.
    #[test]
    fn kmeans_dir_is_the_closed_form_under_every_strategy() {
        // Points 0 and 1 are nearest 0.5, the point 10 nearest 9: J = (2 (0.5 + (-0.5)),
        // 2 (9 - 10)) = (0, -2), H = (4, 2), dir = (0, -1): each centroid minus its cluster's
        // mean.
        let by_hand = (vec![0.0, 1.0, 10.0], vec![0.5, 9.0], 1);
        let [j, h, dir] = closed_form(&by_hand.0, &by_hand.1, 1);
        assert_eq!(
            (j, h, dir),
            (vec![0.0, -2.0], vec![4.0, 2.0], vec![0.0, -1.0])
        );
        let mut cases = vec![by_hand];
        for (n, k, d, seed) in [(6, 2, 1, 1), (12, 3, 2, 2), (20, 4, 3, 3)] {
            let (points, centroids) = instance(n, k, d, seed);
            cases.push((points, centroids, d));
        }
        for (points, centroids, d) in cases {
            let [want_j, want_h, want_dir] = closed_form(&points, &centroids, d);
            let input = kmeans_input(&points, &centroids, d);
            let plan = Module::Kmeans
                .plan(Computes::NewtonDirection, &input)
                .unwrap();
            assert_eq!(plan.shape, Shape::Rows(d));
            let strategies = differentiating(&plan);
            for name in [
                "forward",
                "tape",
                "naive",
                "dualrev",
                "dualrev-par",
                "sparse",
            ] {
                assert!(
                    strategies.iter().any(|s| s.name() == name),
                    "{name}: {strategies:?}"
                );
            }
            let curvature = plan.curvature.as_ref().unwrap();
            for strategy in strategies {
                let what = format!("{} at {input}", strategy.name());
                let j = plan
                    .build()
                    .vjp(strategy, &plan.x, &[1.0])
                    .gradient
                    .unwrap();
                let h = curvature
                    .build()
                    .vjp(strategy, &plan.x, &[1.0])
                    .gradient
                    .unwrap();
                assert_close(&j, &want_j, &format!("J, {what}"));
                assert_close(&h, &want_h, &format!("H, {what}"));
                assert_close(
                    &curvature.direction(&j, &h).unwrap(),
                    &want_dir,
                    &format!("dir, {what}"),
                );
            }
        }
    }

    #[test]
    fn a_centroid_nearest_to_no_point_has_no_direction() {
        let input = json!({"points": [[0.0, 1.0], [0.5, 1.0]],
                           "centroids": [[0.0, 0.0], [9.0, 9.0]]});
        let plan = Module::Kmeans
            .plan(Computes::NewtonDirection, &input)
            .unwrap();
        let curvature = plan.curvature.as_ref().unwrap();
        let j = plan
            .build()
            .vjp(StrategyKind::Tape, &plan.x, &[1.0])
            .gradient
            .unwrap();
        let h = curvature
            .build()
            .vjp(StrategyKind::Tape, &plan.x, &[1.0])
            .gradient
            .unwrap();
        assert_eq!(h, [4.0, 4.0, 0.0, 0.0]);
        let error = curvature.direction(&j, &h).unwrap_err();
        assert!(error.contains("0 at centroid 1 (coordinate 0)"), "{error}");
        assert!(error.contains("nearest centroid of no point"), "{error}");
    }

    #[test]
    fn only_kmeans_has_a_newton_direction() {
        assert_eq!(
            Module::Kmeans.computes("dir"),
            Ok(Computes::NewtonDirection)
        );
        let error = Module::Lse
            .plan(Computes::NewtonDirection, &json!({"x": [1.0]}))
            .unwrap_err();
        assert!(error.contains("`lse` has no Newton direction"), "{error}");
        assert!(Module::Kmeans
            .plan(
                Computes::Value,
                &json!({"points": [[1.0]], "centroids": [[0.0]]})
            )
            .unwrap()
            .curvature
            .is_none());
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
