//! Classic AD benchmark problems, implemented from their mathematical definitions in the public
//! GradBench evals (`evals/<name>/README.md` and their reference code) and cmpad: `lse`,
//! `llsq`, `det`, `ode`, `gmm` and `kmeans`; `advection` after the Adept paper (Hogan 2014);
//! and the kernel `sin-product-sum`.
//!
//! The programs of `lse`, `llsq`, `det`, `ode`, `gmm` and `kmeans` are public ([`LogSumExp`],
//! [`LeastSquares`], [`DeterminantByMinors`], [`RungeKutta`], [`GmmLogPosterior`],
//! [`KmeansObjective`]), so that another crate can build them from data of its own
//! (GradBench's inputs, say) and differentiate them with any strategy.

use std::mem;

use strategies::{outputs, scratch, HandAdjoint, Outputs, Program, Real};

use crate::inputs::{instance, integer_param, normal, real_param, seeded, uniform};
use crate::{Family, Instance, ParamSpec, Params, SizeSpec, Workload};

/// `lse`: log-sum-exp of the input `x` (n values uniform in [-2, 2], seed 0) with the max
/// trick: a = max x; a + ln sum_i exp(x_i - a). The gradient is softmax(x). T = 3n + 2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lse;

/// The program of `lse`: a + ln sum_i exp(x_i - a) with a = max x, over the input `x` of
/// length n (GradBench's `lse` eval). Its gradient is softmax(x). T = 3n + 2.
#[derive(Clone, Copy, Debug)]
pub struct LogSumExp {
    n: usize,
}

impl LogSumExp {
    /// The log-sum-exp of `n` inputs.
    ///
    /// # Panics
    ///
    /// If `n` is 0: the maximum of no values does not exist.
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "log-sum-exp of at least one value");
        Self { n }
    }
}

/// ln sum_i exp(v_i) by the max trick: a = max v (decided on the primal values, the first on
/// ties, as [`Real::max`] does), then a + ln sum_i exp(v_i - a), where no exponential
/// overflows. 3 len + 2 operations: len subtractions, exponentials and additions (the sum
/// starts from an inactive 0), one logarithm and one addition.
fn log_sum_exp<R: Real>(values: &[R]) -> R {
    let a = values
        .iter()
        .cloned()
        .reduce(R::max)
        .expect("log-sum-exp of at least one value");
    let total: R = values.iter().map(|v| (v.clone() - a.clone()).exp()).sum();
    a + total.ln()
}

impl Program for LogSumExp {
    fn input_len(&self) -> usize {
        self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![log_sum_exp(x)]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// The gradient of a + ln sum_i exp(x_i - a) is softmax(x): the derivatives through the
/// shift a cancel (1 - sum_i e_i / S = 0 with e_i = exp(x_i - a), S = sum_i e_i), so w e_i / S.
/// The e_i are formed in the gradient itself, then scaled by w / S.
impl HandAdjoint for LogSumExp {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let a = x
            .iter()
            .copied()
            .reduce(Real::max)
            .expect("log-sum-exp of at least one value");
        let mut total = 0.0;
        for (e, &xi) in gradient.iter_mut().zip(x) {
            *e = (xi - a).exp();
            total += *e;
        }
        value[0] = a + total.ln();
        let scale = cotangent[0] / total;
        for e in gradient.iter_mut() {
            *e *= scale;
        }
    }
}

impl Workload for Lse {
    fn name(&self) -> &'static str {
        "lse"
    }
    fn description(&self) -> &'static str {
        "log-sum-exp with the max trick (GradBench lse); the gradient is softmax(x)"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the length of x",
            default: 10_000,
            min: 1,
            max: 10_000_000,
            verify: &[1, 10, 100],
            sweep: &[100, 1000, 10_000, 100_000, 1_000_000],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = uniform(&mut seeded(0), n, -2.0, 2.0);
        instance(Some(n), params, &[("x", n)], input, LogSumExp::new(n))
    }
}

/// `sin-product-sum`: sum_{i < n-1} x_i x_{i+1} sin x_i over the input `x` (n values uniform in
/// [-2, 2], seed 0): a kernel with a transcendental per element and neighbouring elements
/// shared, where per-scalar taping is not bound by memory traffic alone. T = 4(n - 1).
#[derive(Clone, Copy, Debug, Default)]
pub struct SinProductSum;

/// sum_i x_i x_{i+1} sin x_i.
struct SinProducts {
    n: usize,
}

impl Program for SinProducts {
    fn input_len(&self) -> usize {
        self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let total = x
            .windows(2)
            .map(|pair| pair[0].clone() * pair[1].clone() * pair[0].sin())
            .sum();
        outputs![total]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// Each term (x_i x_{i+1}) sin x_i, with product p = x_i x_{i+1} and s = sin x_i, gives
/// x_i the cotangent w (s x_{i+1} + p cos x_i) and x_{i+1} the cotangent w s x_i: one pass
/// with one `sin_cos` per term.
impl HandAdjoint for SinProducts {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let w = cotangent[0];
        let mut total = 0.0;
        for i in 0..x.len().saturating_sub(1) {
            let (a, b) = (x[i], x[i + 1]);
            let (sine, cosine) = a.sin_cos();
            let product = a * b;
            total += product * sine;
            // The cotangents of the product and of the sine.
            let (product_adj, sine_adj) = (w * sine, w * product);
            gradient[i] += sine_adj * cosine + product_adj * b;
            gradient[i + 1] += product_adj * a;
        }
        value[0] = total;
    }
}

impl Workload for SinProductSum {
    fn name(&self) -> &'static str {
        "sin-product-sum"
    }
    fn description(&self) -> &'static str {
        "sum of x_i x_(i+1) sin x_i: one transcendental per element, neighbours shared"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the length of x",
            default: 10_000,
            min: 2,
            max: 10_000_000,
            verify: &[2, 10, 100],
            sweep: &[100, 1000, 10_000, 100_000, 1_000_000],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = uniform(&mut seeded(0), n, -2.0, 2.0);
        instance(Some(n), params, &[("x", n)], input, SinProducts { n })
    }
}

/// `llsq`: the linear least-squares objective 1/2 sum_{i<n} (s_i - sum_{j<m} x_j t_i^j)^2 with
/// t_i = -1 + 2i/(n - 1) and s_i = sign(t_i) (0 at 0), over the input `x` (m values uniform in
/// [0, 1), seed 0; parameter `m`, default 128). As GradBench's llsq. T = n(2m + 2) + 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Llsq;

/// The program of `llsq` (GradBench's `llsq` eval): the least-squares objective
/// 1/2 sum_{i<n} (s_i - sum_{j<m} x_j t_i^j)^2 over the m coefficients `x`, at the n sample
/// points t_i = -1 + 2i/(n - 1) with targets s_i = sign(t_i) (0 at 0). The points and their
/// powers are `f64` constants. T = n(2m + 2) + 1.
#[derive(Clone, Copy, Debug)]
pub struct LeastSquares {
    n: usize,
    m: usize,
}

impl LeastSquares {
    /// The objective of a fit of `m` coefficients at `n` sample points.
    ///
    /// # Panics
    ///
    /// If `n` is less than 2: the sample points span [-1, 1] with spacing 2/(n - 1).
    pub fn new(n: usize, m: usize) -> Self {
        assert!(
            n >= 2,
            "least squares needs at least two sample points, got {n}"
        );
        Self { n, m }
    }
}

impl Program for LeastSquares {
    fn input_len(&self) -> usize {
        self.m
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let squares: R = (0..self.n)
            .map(|i| {
                let t = -1.0 + (2 * i) as f64 / (self.n - 1) as f64;
                let mut residual = R::constant(sign(t));
                let mut power = 1.0;
                for xj in x {
                    residual -= xj.clone() * power;
                    power *= t;
                }
                residual.clone() * residual
            })
            .sum();
        outputs![squares * 0.5]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// d/dx_j of 1/2 sum_i r_i^2, r_i = s_i - sum_j x_j t_i^j, is -sum_i r_i t_i^j: per sample
/// point, one pass forms r_i (the program's powers and order) and a second adds
/// -w r_i t_i^j into every coefficient's gradient.
impl HandAdjoint for LeastSquares {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let w = cotangent[0];
        let mut squares = 0.0;
        for i in 0..self.n {
            let t = -1.0 + (2 * i) as f64 / (self.n - 1) as f64;
            let mut residual = sign(t);
            let mut power = 1.0;
            for &xj in x {
                residual -= xj * power;
                power *= t;
            }
            squares += residual * residual;
            let residual_adj = w * residual;
            let mut power = 1.0;
            for gj in gradient.iter_mut() {
                *gj -= residual_adj * power;
                power *= t;
            }
        }
        value[0] = squares * 0.5;
    }
}

/// -1, 0 or 1 (0 at 0, unlike `f64::signum`).
fn sign(t: f64) -> f64 {
    if t > 0.0 {
        1.0
    } else if t < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Workload for Llsq {
    fn name(&self) -> &'static str {
        "llsq"
    }
    fn description(&self) -> &'static str {
        "linear least squares of a degree-(m-1) polynomial fit to sign(t) (GradBench llsq)"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of sample points",
            default: 256,
            min: 2,
            max: 100_000,
            verify: &[2, 16, 64],
            sweep: &[16, 64, 256, 1024, 4096, 16_392],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[ParamSpec {
            name: "m",
            meaning: "the number of polynomial coefficients (inputs)",
            default: 128.0,
            integer: true,
            min: 1.0,
            max: 4096.0,
            choices: &[],
        }]
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let m = integer_param(params, "m");
        let input = uniform(&mut seeded(0), m, 0.0, 1.0);
        instance(Some(n), params, &[("x", m)], input, LeastSquares::new(n, m))
    }
}

/// `det`: the determinant of the l x l matrix `A` (row-major, entries uniform in [-1, 1],
/// seed 0) by recursive expansion by minors along the first row: T(l) = l (T(l-1) + 1) + l - 1,
/// T(1) = 0, which grows as l!. A minor is the index set of its columns, kept with those of
/// every enclosing minor in one workspace allocated once per evaluation: no matrix or vector is
/// built per minor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Det;

/// The program of `det` (GradBench's `det` eval): det A of the l x l input `A` (row-major) by
/// recursive expansion by minors along the first row, with alternating signs. Its gradient is
/// the cofactor matrix. T(l) = l (T(l-1) + 1) + l - 1, T(1) = 0, which grows as l!.
#[derive(Clone, Copy, Debug)]
pub struct DeterminantByMinors {
    l: usize,
}

impl DeterminantByMinors {
    /// The determinant of an `l` x `l` matrix.
    ///
    /// # Panics
    ///
    /// If `l` is 0.
    pub fn new(l: usize) -> Self {
        assert!(l > 0, "the matrix has at least one row");
        Self { l }
    }

    /// The determinant of the submatrix of rows `row..l` and the columns
    /// `workspace[..l - row]` (in increasing order), expanded along its first row. The rest of
    /// the workspace (l - row - 1 entries per deeper row) holds the columns of the minors: the
    /// k-th minor's columns are this submatrix's without its k-th, in order, and each is made
    /// from the previous one by rewriting one entry.
    fn minor<R: Real>(&self, a: &[R], row: usize, workspace: &mut [usize]) -> R {
        let entry = |column: usize| a[row * self.l + column].clone();
        let (columns, deeper) = workspace.split_at_mut(self.l - row);
        if let [column] = columns {
            return entry(*column);
        }
        // The first minor's columns: all but the first.
        deeper[..columns.len() - 1].copy_from_slice(&columns[1..]);
        let mut total = entry(columns[0]) * self.minor(a, row + 1, deeper);
        for k in 1..columns.len() {
            // All but column k - 1 becomes all but column k.
            deeper[k - 1] = columns[k - 1];
            let term = entry(columns[k]) * self.minor(a, row + 1, deeper);
            total = if k % 2 == 0 {
                total + term
            } else {
                total - term
            };
        }
        total
    }
}

impl Program for DeterminantByMinors {
    fn input_len(&self) -> usize {
        self.l * self.l
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        // The columns of the whole matrix (0..l), then room for those of one minor per row.
        let l = self.l;
        let mut workspace = vec![0; l * (l + 1) / 2];
        for (column, slot) in workspace[..l].iter_mut().enumerate() {
            *slot = column;
        }
        outputs![self.minor(x, 0, &mut workspace)]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// The most column indices [`DeterminantByMinors`]'s adjoint keeps on the stack:
/// l (l + 1) / 2 for l = 11, the largest size `det` accepts.
const STACK_COLUMNS: usize = 66;

impl DeterminantByMinors {
    /// [`DeterminantByMinors::minor`] and its adjoint in one recursion: returns the minor's
    /// value and adds `adj` (the minor's cotangent) times its derivative into `gradient`.
    /// The expansion total = sum_k (+/-) a_k M_k (in the program's order) gives entry a_k the
    /// cotangent (+/-) adj M_k and minor M_k the cotangent (+/-) adj a_k, which is known
    /// before M_k is visited: so each minor is visited once, as in the program, and the
    /// gradient costs about three times the primal's operations, with no storage but the
    /// recursion's.
    fn minor_adjoint(
        &self,
        a: &[f64],
        row: usize,
        workspace: &mut [usize],
        adj: f64,
        gradient: &mut [f64],
    ) -> f64 {
        let (columns, deeper) = workspace.split_at_mut(self.l - row);
        let at = |column: usize| row * self.l + column;
        if let [column] = columns {
            gradient[at(*column)] += adj;
            return a[at(*column)];
        }
        deeper[..columns.len() - 1].copy_from_slice(&columns[1..]);
        let first = a[at(columns[0])];
        let minor = self.minor_adjoint(a, row + 1, deeper, adj * first, gradient);
        gradient[at(columns[0])] += adj * minor;
        let mut total = first * minor;
        for k in 1..columns.len() {
            deeper[k - 1] = columns[k - 1];
            let entry = a[at(columns[k])];
            let signed_adj = if k % 2 == 0 { adj } else { -adj };
            let minor = self.minor_adjoint(a, row + 1, deeper, signed_adj * entry, gradient);
            gradient[at(columns[k])] += signed_adj * minor;
            let term = entry * minor;
            total = if k % 2 == 0 {
                total + term
            } else {
                total - term
            };
        }
        total
    }
}

/// The cofactor recurrence the program uses, differentiated as it runs: the expansion
/// total = sum_k (+/-) a_k M_k gives entry a_k the cotangent (+/-) adj M_k and minor M_k the
/// cotangent (+/-) adj a_k, known before M_k is visited, so one recursion visits each minor
/// once, as the program does, returning its value and adding its derivative. Not the adjugate
/// by an O(l^3) factorisation, which would be a different (and far cheaper) algorithm than the
/// one measured.
impl HandAdjoint for DeterminantByMinors {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let l = self.l;
        let len = l * (l + 1) / 2;
        let mut on_stack = [0; STACK_COLUMNS];
        let mut on_heap = Vec::new();
        let columns: &mut [usize] = if len <= STACK_COLUMNS {
            &mut on_stack[..len]
        } else {
            on_heap.resize(len, 0);
            &mut on_heap
        };
        for (column, slot) in columns[..l].iter_mut().enumerate() {
            *slot = column;
        }
        value[0] = self.minor_adjoint(x, 0, columns, cotangent[0], gradient);
    }
}

impl Workload for Det {
    fn name(&self) -> &'static str {
        "det"
    }
    fn description(&self) -> &'static str {
        "determinant of an l x l matrix by expansion by minors: l! operations (GradBench det)"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "l, the matrix side (the cost grows as l!)",
            default: 7,
            min: 1,
            max: 11,
            verify: &[1, 2, 3, 5, 7],
            sweep: &[5, 6, 7, 8, 9, 10, 11],
        })
    }
    fn build(&self, l: usize, params: &Params) -> Instance {
        let input = uniform(&mut seeded(0), l * l, -1.0, 1.0);
        instance(
            Some(l),
            params,
            &[("A", l * l)],
            input,
            DeterminantByMinors::new(l),
        )
    }
}

/// `ode`: y_0' = x_0, y_i' = x_i y_{i-1} (i >= 1), y(0) = 0, integrated over t in [0, 2] by
/// `steps` steps of classic fourth-order Runge-Kutta (h = 2 / steps); output y_{n-1}(2). This is
/// GradBench's reference code (its README's sum over j is not what it validates against).
/// Input `x` (n values uniform in [0, 1), seed 0); parameter `steps` (default 4). Since the
/// exact solution is y_i = x_0 ... x_i t^(i+1) / (i+1)!, RK4 is exact for n <= 4. The state,
/// the stage point and the four slopes live in one workspace allocated once per evaluation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ode;

/// The program of `ode` (GradBench's `ode` eval, after its reference code): the system
/// y_0' = x_0, y_i' = x_i y_{i-1} (i >= 1), y(0) = 0, integrated over t in [0, 2] by `steps`
/// steps of classic fourth-order Runge-Kutta (h = 2 / steps), over the n inputs `x`.
///
/// Two forms differ only in their outputs: [`RungeKutta::last`] returns y_{n-1}(2) (the
/// workload, and what GradBench's `gradient` differentiates), [`RungeKutta::state`] the whole
/// final state y(2) (GradBench's `primal`). T = steps (17n - 4) *(measured)*.
#[derive(Clone, Copy, Debug)]
pub struct RungeKutta {
    n: usize,
    steps: usize,
    outputs: OdeOutputs,
}

/// Which part of the final state [`RungeKutta`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OdeOutputs {
    /// y_{n-1}(2) alone.
    LastVariable,
    /// All of y(2), in order.
    WholeState,
}

impl RungeKutta {
    /// The last state variable y_{n-1}(2) of `n` variables after `steps` steps: one output.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn last(n: usize, steps: usize) -> Self {
        Self::with_outputs(n, steps, OdeOutputs::LastVariable)
    }

    /// The whole final state y(2) of `n` variables after `steps` steps: n outputs.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn state(n: usize, steps: usize) -> Self {
        Self::with_outputs(n, steps, OdeOutputs::WholeState)
    }

    fn with_outputs(n: usize, steps: usize, outputs: OdeOutputs) -> Self {
        assert!(n > 0, "the state has at least one variable");
        Self { n, steps, outputs }
    }
}

/// The right-hand side (x_0, x_1 y_0, x_2 y_1, ...) into `rate`.
fn ode_rate<R: Real>(x: &[R], y: &[R], rate: &mut [R]) {
    rate[0] = x[0].clone();
    for ((ri, xi), yi) in rate[1..].iter_mut().zip(&x[1..]).zip(y) {
        *ri = xi.clone() * yi.clone();
    }
}

/// y + k * scale, elementwise, into `sum`.
fn add_scaled<R: Real>(y: &[R], k: &[R], scale: f64, sum: &mut [R]) {
    for ((si, yi), ki) in sum.iter_mut().zip(y).zip(k) {
        *si = yi.clone() + ki.clone() * scale;
    }
}

impl Program for RungeKutta {
    fn input_len(&self) -> usize {
        self.n
    }
    fn output_len(&self) -> usize {
        match self.outputs {
            OdeOutputs::LastVariable => 1,
            OdeOutputs::WholeState => self.n,
        }
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (n, h) = (self.n, 2.0 / self.steps as f64);
        // The state, the stage point and the four slopes, allocated once and reused by every
        // step; the state is updated in place.
        let mut workspace = vec![R::constant(0.0); 6 * n];
        let (y, rest) = workspace.split_at_mut(n);
        let (stage, rest) = rest.split_at_mut(n);
        let (k1, rest) = rest.split_at_mut(n);
        let (k2, rest) = rest.split_at_mut(n);
        let (k3, k4) = rest.split_at_mut(n);
        for _ in 0..self.steps {
            ode_rate(x, y, k1);
            add_scaled(y, k1, h / 2.0, stage);
            ode_rate(x, stage, k2);
            add_scaled(y, k2, h / 2.0, stage);
            ode_rate(x, stage, k3);
            add_scaled(y, k3, h, stage);
            ode_rate(x, stage, k4);
            for i in 0..n {
                let slope =
                    k1[i].clone() + k2[i].clone() * 2.0 + k3[i].clone() * 2.0 + k4[i].clone();
                y[i] = y[i].clone() + slope * (h / 6.0);
            }
        }
        // y is the first n entries.
        match self.outputs {
            OdeOutputs::LastVariable => outputs![workspace.swap_remove(n - 1)],
            OdeOutputs::WholeState => {
                workspace.truncate(n);
                Outputs::from_vec(workspace)
            }
        }
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// The adjoint of the rate r = f(x, y) (r_0 = x_0, r_i = x_i y_{i-1}) at the point `y`, for
/// the rate's cotangent `rate_adj`: x_i gets rate_adj_i y_{i-1} (x_0 gets rate_adj_0), and
/// y_{i-1} gets rate_adj_i x_i, added into `y_adj` (whose last entry, which no rate reads,
/// gets nothing).
fn ode_rate_adjoint(x: &[f64], y: &[f64], rate_adj: &[f64], x_adj: &mut [f64], y_adj: &mut [f64]) {
    x_adj[0] += rate_adj[0];
    for i in 1..x.len() {
        x_adj[i] += rate_adj[i] * y[i - 1];
        y_adj[i - 1] += rate_adj[i] * x[i];
    }
}

/// One RK4 stage backwards: the stage s = y + scale k_prev feeds the rate k = f(x, s), whose
/// cotangent is `k_adj`. f's adjoint gives x its share and s the cotangent
/// s-bar_i = k-bar_{i+1} x_{i+1} (0 for the last), which goes to y (`y_adj`) and, times
/// `scale`, to k_prev, whose cotangent (`weight` c from the slope, plus that) is written into
/// `k_prev_adj`.
fn ode_stage_adjoint(
    x: &[f64],
    stage: &[f64],
    slope_adj: &[f64],
    (weight, scale): (f64, f64),
    (k_adj, k_prev_adj): (&[f64], &mut [f64]),
    y_adj: &mut [f64],
    x_adj: &mut [f64],
) {
    let n = x.len();
    x_adj[0] += k_adj[0];
    for ((xa, &ka), &s) in x_adj[1..].iter_mut().zip(&k_adj[1..]).zip(stage) {
        *xa += ka * s;
    }
    for ((((kp, ya), &ka), &xi), &c) in k_prev_adj
        .iter_mut()
        .zip(y_adj.iter_mut())
        .zip(&k_adj[1..])
        .zip(&x[1..])
        .zip(slope_adj)
    {
        let stage_adj = ka * xi;
        *ya += stage_adj;
        *kp = c * weight + stage_adj * scale;
    }
    k_prev_adj[n - 1] = slope_adj[n - 1] * weight;
}

/// The adjoint of the explicit RK4 integration, step by step backwards. The forward pass is
/// the program's (the same operations in the same order, so the same value) and keeps, for
/// every step, its start y and its three stages (4 steps n numbers, so that the reverse pass
/// recomputes nothing). Backwards from y(2)'s cotangent (w on y_{n-1}, or w itself for the
/// whole state), each step y' = y + (h/6)(k1 + 2 k2 + 2 k3 + k4), with the stages
/// s1 = y + (h/2) k1, s2 = y + (h/2) k2, s3 = y + h k3 and k1 = f(y), k2 = f(s1),
/// k3 = f(s2), k4 = f(s3), takes c = (h/6) y'-bar (y-bar starts as y'-bar) and:
///
/// - k4-bar = c; s3-bar = f's adjoint of k4-bar at s3; y-bar += s3-bar;
/// - k3-bar = 2c + h s3-bar; s2-bar = f's adjoint at s2; y-bar += s2-bar;
/// - k2-bar = 2c + (h/2) s2-bar; s1-bar = f's adjoint at s1; y-bar += s1-bar;
/// - k1-bar = c + (h/2) s1-bar; y-bar += f's adjoint of k1-bar at y;
///
/// and x collects f's adjoint at every stage of every step.
impl HandAdjoint for RungeKutta {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        workspace: &mut Vec<f64>,
    ) {
        let (n, steps, h) = (self.n, self.steps, 2.0 / self.steps as f64);
        let buffer = scratch(workspace, (4 * steps + 5) * n);
        let (trajectory, rest) = buffer.split_at_mut(4 * steps * n);
        let (y, rest) = rest.split_at_mut(n);
        let (k, rest) = rest.split_at_mut(n);
        let (slope, rest) = rest.split_at_mut(n);
        let (y_adj, k_adj) = rest.split_at_mut(n);

        // Forward, as the program, keeping each step's start and stages.
        y.fill(0.0);
        for step in trajectory.chunks_mut(4 * n) {
            let (start, stages) = step.split_at_mut(n);
            let (stage1, stages) = stages.split_at_mut(n);
            let (stage2, stage3) = stages.split_at_mut(n);
            start.copy_from_slice(y);
            ode_rate(x, y, k);
            slope.copy_from_slice(k);
            add_scaled(y, k, h / 2.0, stage1);
            ode_rate(x, stage1, k);
            for (si, &ki) in slope.iter_mut().zip(k.iter()) {
                *si += ki * 2.0;
            }
            add_scaled(y, k, h / 2.0, stage2);
            ode_rate(x, stage2, k);
            for (si, &ki) in slope.iter_mut().zip(k.iter()) {
                *si += ki * 2.0;
            }
            add_scaled(y, k, h, stage3);
            ode_rate(x, stage3, k);
            for ((yi, &si), &ki) in y.iter_mut().zip(slope.iter()).zip(k.iter()) {
                *yi += (si + ki) * (h / 6.0);
            }
        }
        match self.outputs {
            OdeOutputs::LastVariable => {
                value[0] = y[n - 1];
                y_adj.fill(0.0);
                y_adj[n - 1] = cotangent[0];
            }
            OdeOutputs::WholeState => {
                value.copy_from_slice(y);
                y_adj.copy_from_slice(cotangent);
            }
        }

        // Backwards, step by step: `slope` holds c, which is also k4's cotangent.
        for step in trajectory.chunks(4 * n).rev() {
            let (start, stages) = step.split_at(n);
            let (stage1, stages) = stages.split_at(n);
            let (stage2, stage3) = stages.split_at(n);
            for (c, &ya) in slope.iter_mut().zip(y_adj.iter()) {
                *c = ya * (h / 6.0);
            }
            // k4-bar = c, then k3-bar, k2-bar and k1-bar in turn, alternating between k_adj
            // and k (whose forward values are no longer needed).
            let g = &mut *gradient;
            ode_stage_adjoint(x, stage3, slope, (2.0, h), (slope, k_adj), y_adj, g);
            ode_stage_adjoint(x, stage2, slope, (2.0, h / 2.0), (k_adj, k), y_adj, g);
            ode_stage_adjoint(x, stage1, slope, (1.0, h / 2.0), (k, k_adj), y_adj, g);
            ode_rate_adjoint(x, start, k_adj, g, y_adj);
        }
    }
}

impl Workload for Ode {
    fn name(&self) -> &'static str {
        "ode"
    }
    fn description(&self) -> &'static str {
        "RK4 integration of y_0' = x_0, y_i' = x_i y_{i-1}; last state variable (GradBench ode)"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of state variables (and inputs)",
            default: 1000,
            min: 1,
            max: 1_000_000,
            verify: &[1, 4, 8],
            sweep: &[10, 100, 1000, 10_000, 100_000],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[ParamSpec {
            name: "steps",
            meaning: "the number of Runge-Kutta steps s (h = 2 / s)",
            default: 4.0,
            integer: true,
            min: 1.0,
            max: 100_000.0,
            choices: &[],
        }]
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let steps = integer_param(params, "steps");
        let input = uniform(&mut seeded(0), n, 0.0, 1.0);
        instance(
            Some(n),
            params,
            &[("x", n)],
            input,
            RungeKutta::last(n, steps),
        )
    }
}

/// `gmm`: the log posterior of a Gaussian mixture model with a Wishart prior on its precision
/// matrices, GradBench's `gmm` eval (`evals/gmm/README.md`, the corrected definition; its
/// constant terms as in the reference `cpp/gradbench/evals/gmm.hpp`). See
/// [`GmmLogPosterior`] for the objective. The size is K, the number of components;
/// parameters `d` (D, default 10), `n` (N, the number of points, default 1000), `m` (default
/// 0) and `gamma` (default 1). Inputs, in order: `alpha` (K), `mu` (K x D), `q` (K x D), `l`
/// (K x D(D-1)/2); the data X (N x D) is part of the program. All are drawn from seed 0 in
/// the order of GradBench's generator: X ~ N(0, 1), then alpha ~ N(0, 1), mu ~ U[0, 1),
/// q ~ N(0, 1), l ~ N(0, 1) (normals by Box-Muller).
///
/// T = N (K (D + 1)(D + 2) + 3K + 3) + K D (D + 3) + 5K + 9.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gmm;

/// The program of `gmm`: GradBench's GMM log posterior (`evals/gmm/README.md`) over the
/// independent variables `alpha` (K), `mu` (K x D, row-major), `q` (K x D) and `l`
/// (K x D(D-1)/2), in that order, for the N data points X (N x D) and the Wishart parameters
/// m and gamma, which are constants of the program.
///
/// Component k has the lower-triangular factor Q_k with exp(q_kj) on its diagonal and l_k
/// filling its strictly lower part column by column (`l_k[0..D-1]` is column 0 below the
/// diagonal, and so on), and the precision matrix Q_k^T Q_k. With
/// beta_ik = alpha_k - 1/2 ||Q_k (x_i - mu_k)||^2 + sum_j q_kj and n = D + m + 1, the
/// objective is
///
/// ```text
/// - N (D/2 ln 2pi + lse(alpha)) + sum_i lse(beta_i)
///     + K (n D ln(gamma / sqrt 2) - ln Gamma_D(n/2))
///     - gamma^2/2 sum_k ||Q_k||_F^2 + m sum_k sum_j q_kj
/// ```
///
/// where lse is log-sum-exp with the max trick and Gamma_D the multivariate gamma function
/// (computed once, in `f64`, by the recursion Gamma(s + 1) = s Gamma(s) from Gamma(1) = 1 and
/// Gamma(1/2) = sqrt pi, since its arguments are multiples of 1/2). Q_k (x_i - mu_k) is
/// computed through the triangular structure, as D products with the diagonal and one
/// multiply-add per entry below it, without building a matrix; it is computed as
/// Q_k (mu_k - x_i), the same vector negated exactly, because the constant goes on the right.
/// exp(q), alpha_k + sum_j q_kj, the betas of one point and the two vectors of the product live
/// in one workspace allocated once per evaluation.
///
/// T = N (K (D + 1)(D + 2) + 3K + 3) + K D (D + 3) + 5K + 9: per point and component D
/// subtractions, D diagonal products, D(D - 1) for the lower part, 2D for the squared norm and
/// 2 for beta; per point a log-sum-exp (3K + 2) and its addition to the sum; then exp(q) and
/// the sums of q (2KD), alpha_k + sum_j q_kj (K), lse(alpha) (3K + 2), the squared Frobenius
/// norms (K D (D + 1)), the sum of all q (K) and 7 operations to combine the terms.
#[derive(Clone, Debug)]
pub struct GmmLogPosterior {
    d: usize,
    k: usize,
    n: usize,
    m: usize,
    gamma: f64,
    /// X, row-major N x D.
    points: Vec<f64>,
    /// The terms that do not depend on the inputs:
    /// -N D/2 ln 2pi + K (n D ln(gamma / sqrt 2) - ln Gamma_D(n/2)).
    constant: f64,
}

impl GmmLogPosterior {
    /// The log posterior of `k` components in `d` dimensions for the `n` points `x` (row-major
    /// n x d) and the Wishart prior with `m` additional degrees of freedom and precision
    /// `gamma`.
    ///
    /// # Panics
    ///
    /// If `d` or `k` is 0, if `x.len()` is not `n * d`, or if `gamma` is not a finite positive
    /// number.
    pub fn new(d: usize, k: usize, n: usize, x: Vec<f64>, m: usize, gamma: f64) -> Self {
        assert!(d > 0, "the dimension D must be at least 1");
        assert!(k > 0, "there must be at least one component");
        assert_eq!(
            x.len(),
            n * d,
            "the data holds n x d = {n} x {d} values, got {}",
            x.len()
        );
        assert!(
            gamma.is_finite() && gamma > 0.0,
            "the Wishart precision gamma must be finite and positive, got {gamma}"
        );
        let degrees = d + m + 1;
        let per_component = (degrees * d) as f64 * (gamma.ln() - 0.5 * 2f64.ln())
            - ln_multivariate_gamma_of_half(d, degrees);
        let constant =
            k as f64 * per_component - (n * d) as f64 * 0.5 * (2.0 * std::f64::consts::PI).ln();
        Self {
            d,
            k,
            n,
            m,
            gamma,
            points: x,
            constant,
        }
    }

    /// D(D - 1)/2, the length of each component's block of `l`.
    fn lower_len(&self) -> usize {
        self.d * (self.d - 1) / 2
    }
}

/// ln Gamma_D(t / 2), the log multivariate gamma function
/// D(D - 1)/4 ln pi + sum_{j=1..D} ln Gamma((t + 1 - j) / 2), for an integer t >= D + 1.
/// Every argument is a multiple of 1/2, so ln Gamma(s / 2) is tabulated for s = 1..=t by
/// Gamma(1/2) = sqrt pi, Gamma(1) = 1 and Gamma(s/2) = (s/2 - 1) Gamma(s/2 - 1).
fn ln_multivariate_gamma_of_half(dimension: usize, t: usize) -> f64 {
    assert!(t > dimension, "ln Gamma_D(t/2) needs t > D");
    let ln_pi = std::f64::consts::PI.ln();
    // ln_gamma_of_half[s] = ln Gamma(s / 2); entry 0 is unused.
    let mut ln_gamma_of_half = vec![0.0; t + 1];
    for s in 1..=t {
        ln_gamma_of_half[s] = match s {
            1 => 0.5 * ln_pi,
            2 => 0.0,
            s => ln_gamma_of_half[s - 2] + ((s - 2) as f64 / 2.0).ln(),
        };
    }
    let terms: f64 = (1..=dimension).map(|j| ln_gamma_of_half[t + 1 - j]).sum();
    (dimension * (dimension - 1)) as f64 / 4.0 * ln_pi + terms
}

/// ||Q (mu - x)||^2 for the lower-triangular Q with `diagonal` on its diagonal and `lower` its
/// strictly lower part column by column, as GradBench's `Qtimesx`: `transformed` starts as
/// the diagonal times `centred` = mu - x, then each column c adds lower[r, c] centred_c to
/// every row r > c. 2D + D(D - 1) + 2D operations.
fn squared_norm_of_factor_times<R: Real>(
    diagonal: &[R],
    lower: &[R],
    mu: &[R],
    x: &[f64],
    centred: &mut [R],
    transformed: &mut [R],
) -> R {
    for (((c, t), (mu_j, &x_j)), e) in centred
        .iter_mut()
        .zip(transformed.iter_mut())
        .zip(mu.iter().zip(x))
        .zip(diagonal)
    {
        *c = mu_j.clone() - x_j;
        *t = e.clone() * c.clone();
    }
    let mut entries = lower.iter();
    for (column, c) in centred.iter().enumerate() {
        for t in &mut transformed[column + 1..] {
            let entry = entries
                .next()
                .expect("D(D - 1)/2 entries below the diagonal");
            *t += entry.clone() * c.clone();
        }
    }
    transformed.iter().map(R::square).sum()
}

impl Program for GmmLogPosterior {
    fn input_len(&self) -> usize {
        self.k * (1 + 2 * self.d + self.lower_len())
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (d, k, lower_len) = (self.d, self.k, self.lower_len());
        let (alpha, rest) = x.split_at(k);
        let (mu, rest) = rest.split_at(k * d);
        let (q, l) = rest.split_at(k * d);
        // exp(q), ln det Q_k = sum_j q_kj, alpha_k + ln det Q_k, the betas of one point and the
        // two vectors of Q_k (mu_k - x_i), allocated once.
        let mut workspace = vec![R::constant(0.0); k * d + 3 * k + 2 * d];
        let (diagonal, rest) = workspace.split_at_mut(k * d);
        let (log_det_factor, rest) = rest.split_at_mut(k);
        let (alpha_plus_log_det, rest) = rest.split_at_mut(k);
        let (beta, rest) = rest.split_at_mut(k);
        let (centred, transformed) = rest.split_at_mut(d);
        for (e, q_kj) in diagonal.iter_mut().zip(q) {
            *e = q_kj.exp();
        }
        for (component, (sum_q, alpha_plus_log_det_k)) in log_det_factor
            .iter_mut()
            .zip(alpha_plus_log_det.iter_mut())
            .enumerate()
        {
            *sum_q = q[component * d..(component + 1) * d].iter().cloned().sum();
            *alpha_plus_log_det_k = alpha[component].clone() + sum_q.clone();
        }
        let data: R = self
            .points
            .chunks(d)
            .map(|x_i| {
                for (component, beta_ik) in beta.iter_mut().enumerate() {
                    let squared = squared_norm_of_factor_times(
                        &diagonal[component * d..(component + 1) * d],
                        &l[component * lower_len..(component + 1) * lower_len],
                        &mu[component * d..(component + 1) * d],
                        x_i,
                        centred,
                        transformed,
                    );
                    *beta_ik = alpha_plus_log_det[component].clone() - squared * 0.5;
                }
                log_sum_exp(beta)
            })
            .sum();
        let frobenius: R = diagonal.iter().chain(l).map(R::square).sum();
        let total_log_det: R = log_det_factor.iter().cloned().sum();
        let value = data - log_sum_exp(alpha) * self.n as f64 + total_log_det * self.m as f64
            - frobenius * (self.gamma * self.gamma / 2.0)
            + self.constant;
        outputs![value]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// log-sum-exp by the max trick on `f64`, as [`log_sum_exp`] computes it, with the softmax
/// (its gradient) written into `softmax`.
fn log_sum_exp_and_softmax(values: &[f64], softmax: &mut [f64]) -> f64 {
    let a = values
        .iter()
        .copied()
        .reduce(Real::max)
        .expect("log-sum-exp of at least one value");
    let mut total = 0.0;
    for (e, &v) in softmax.iter_mut().zip(values) {
        *e = (v - a).exp();
        total += *e;
    }
    for e in softmax.iter_mut() {
        *e /= total;
    }
    a + total.ln()
}

/// The adjoint of GradBench's GMM objective as the program computes it. With the output's
/// cotangent w, the terms get: the data term w, lse(alpha) -N w, sum_k sum_j q_kj m w and the
/// squared Frobenius norms -(gamma^2/2) w. Then:
///
/// - lse(alpha) gives alpha its softmax times its cotangent (the max trick's shift cancels);
/// - ||Q_k||_F^2 = sum_j exp(q_kj)^2 + sum l_k^2 gives exp(q_kj) and l_k twice themselves
///   times its cotangent;
/// - point i's lse(beta_i) gives beta_ik the cotangent w softmax(beta_i)_k; beta_ik =
///   alpha_k + sum_j q_kj - 1/2 ||t||^2 with t = Q_k (mu_k - x_i) passes it to alpha_k and
///   every q_kj, and -beta-bar t to t; t = diag(exp q_k) c + (lower part) c with
///   c = mu_k - x_i gives l_k[r, c'] the cotangent t-bar_r c_c', c the cotangent
///   exp(q_kj) t-bar_j + sum_r l_k[r, j] t-bar_r, exp(q_kj) the cotangent t-bar_j c_j, and
///   mu_k gets c-bar;
/// - finally q_kj gets exp(q_kj) times exp(q_kj)'s cotangent.
///
/// Per point, the forward values c and t of every component are kept (2 K D numbers) for the
/// backward step, which needs the softmax over all components first.
impl HandAdjoint for GmmLogPosterior {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        workspace: &mut Vec<f64>,
    ) {
        let w = cotangent[0];
        let (d, k, lower_len) = (self.d, self.k, self.lower_len());
        let (alpha, rest) = x.split_at(k);
        let (mu, rest) = rest.split_at(k * d);
        let (q, l) = rest.split_at(k * d);
        let (alpha_adj, rest) = gradient.split_at_mut(k);
        let (mu_adj, rest) = rest.split_at_mut(k * d);
        let (q_adj, l_adj) = rest.split_at_mut(k * d);

        let buffer = scratch(workspace, 4 * k * d + 4 * k + d);
        let (diagonal, rest) = buffer.split_at_mut(k * d);
        let (diagonal_adj, rest) = rest.split_at_mut(k * d);
        let (centred, rest) = rest.split_at_mut(k * d);
        let (transformed, rest) = rest.split_at_mut(k * d);
        let (alpha_plus_log_det, rest) = rest.split_at_mut(k);
        let (alpha_plus_log_det_adj, rest) = rest.split_at_mut(k);
        let (beta, rest) = rest.split_at_mut(k);
        let (weights, centred_adj) = rest.split_at_mut(k);

        for (e, &q_kj) in diagonal.iter_mut().zip(q) {
            *e = q_kj.exp();
        }
        diagonal_adj.fill(0.0);
        alpha_plus_log_det_adj.fill(0.0);
        let mut total_log_det = 0.0;
        for (component, (apld, &alpha_k)) in alpha_plus_log_det.iter_mut().zip(alpha).enumerate() {
            let sum_q: f64 = q[component * d..(component + 1) * d].iter().sum();
            *apld = alpha_k + sum_q;
            total_log_det += sum_q;
        }

        let mut data = 0.0;
        for x_i in self.points.chunks(d) {
            // Forward: c = mu_k - x_i and t = Q_k c for every component, and beta_i.
            for component in 0..k {
                let span = component * d..(component + 1) * d;
                let lower = &l[component * lower_len..(component + 1) * lower_len];
                let (c, t) = (&mut centred[span.clone()], &mut transformed[span.clone()]);
                for ((((c_j, t_j), &mu_j), &x_j), &e_j) in c
                    .iter_mut()
                    .zip(t.iter_mut())
                    .zip(&mu[span.clone()])
                    .zip(x_i)
                    .zip(&diagonal[span.clone()])
                {
                    *c_j = mu_j - x_j;
                    *t_j = e_j * *c_j;
                }
                let mut entries = lower.iter();
                for (column, &c_c) in c.iter().enumerate() {
                    for t_r in &mut t[column + 1..] {
                        let entry = entries
                            .next()
                            .expect("D(D - 1)/2 entries below the diagonal");
                        *t_r += entry * c_c;
                    }
                }
                let squared: f64 = t.iter().map(|t_j| t_j * t_j).sum();
                beta[component] = alpha_plus_log_det[component] - squared * 0.5;
            }
            data += log_sum_exp_and_softmax(beta, weights);
            // Backward through every component.
            for component in 0..k {
                let beta_adj = w * weights[component];
                alpha_plus_log_det_adj[component] += beta_adj;
                let squared_adj = -0.5 * beta_adj;
                let span = component * d..(component + 1) * d;
                let lower = &l[component * lower_len..(component + 1) * lower_len];
                let lower_adj = &mut l_adj[component * lower_len..(component + 1) * lower_len];
                let (c, t) = (&centred[span.clone()], &transformed[span.clone()]);
                // t-bar_j = 2 t_j squared-bar, formed where it is needed.
                let t_adj = |j: usize| 2.0 * t[j] * squared_adj;
                centred_adj.fill(0.0);
                let mut index = 0;
                for (column, &c_c) in c.iter().enumerate() {
                    for r in column + 1..d {
                        let t_adj_r = t_adj(r);
                        lower_adj[index] += t_adj_r * c_c;
                        centred_adj[column] += t_adj_r * lower[index];
                        index += 1;
                    }
                }
                for (j, (&c_j, &c_adj)) in c.iter().zip(centred_adj.iter()).enumerate() {
                    let t_adj_j = t_adj(j);
                    diagonal_adj[component * d + j] += t_adj_j * c_j;
                    mu_adj[component * d + j] += c_adj + t_adj_j * diagonal[component * d + j];
                }
            }
        }

        // lse(alpha), the Frobenius norms, the sum of all q, and what beta gave.
        let lse_alpha = log_sum_exp_and_softmax(alpha, weights);
        let frobenius: f64 = diagonal.iter().chain(l).map(|v| v * v).sum();
        value[0] = data - lse_alpha * self.n as f64 + total_log_det * self.m as f64
            - frobenius * (self.gamma * self.gamma / 2.0)
            + self.constant;
        let (lse_alpha_adj, frobenius_adj) =
            (-w * self.n as f64, -w * self.gamma * self.gamma / 2.0);
        let log_det_adj = w * self.m as f64;
        for (component, a) in alpha_adj.iter_mut().enumerate() {
            *a += weights[component] * lse_alpha_adj + alpha_plus_log_det_adj[component];
        }
        for (l_r, a) in l.iter().zip(l_adj.iter_mut()) {
            *a += 2.0 * l_r * frobenius_adj;
        }
        for (j, a) in q_adj.iter_mut().enumerate() {
            let component = j / d;
            let e = diagonal[j];
            let e_adj = diagonal_adj[j] + 2.0 * e * frobenius_adj;
            *a += alpha_plus_log_det_adj[component] + log_det_adj + e_adj * e;
        }
    }
}

impl Workload for Gmm {
    fn name(&self) -> &'static str {
        "gmm"
    }
    fn description(&self) -> &'static str {
        "Gaussian mixture log posterior with a Wishart prior (GradBench gmm)"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "K, the number of mixture components",
            default: 25,
            min: 1,
            max: 1000,
            verify: &[1, 2, 3],
            sweep: &[5, 10, 25, 50, 100],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[
            ParamSpec {
                name: "d",
                meaning: "D, the dimension of the points",
                default: 10.0,
                integer: true,
                min: 1.0,
                max: 128.0,
                choices: &[],
            },
            ParamSpec {
                name: "n",
                meaning: "N, the number of data points",
                default: 1000.0,
                integer: true,
                min: 1.0,
                max: 100_000.0,
                choices: &[],
            },
            ParamSpec {
                name: "m",
                meaning: "the additional degrees of freedom of the Wishart prior",
                default: 0.0,
                integer: true,
                min: 0.0,
                max: 1000.0,
                choices: &[],
            },
            ParamSpec {
                name: "gamma",
                meaning: "the precision of the Wishart prior",
                default: 1.0,
                integer: false,
                min: 1e-6,
                max: 1000.0,
                choices: &[],
            },
        ]
    }
    fn build(&self, k: usize, params: &Params) -> Instance {
        let (d, n) = (integer_param(params, "d"), integer_param(params, "n"));
        let (m, gamma) = (integer_param(params, "m"), real_param(params, "gamma"));
        let lower_len = d * (d - 1) / 2;
        let mut rng = seeded(0);
        let points = normal(&mut rng, n * d);
        let mut input = normal(&mut rng, k);
        input.extend(uniform(&mut rng, k * d, 0.0, 1.0));
        input.extend(normal(&mut rng, k * d));
        input.extend(normal(&mut rng, k * lower_len));
        instance(
            Some(k),
            params,
            &[
                ("alpha", k),
                ("mu", k * d),
                ("q", k * d),
                ("l", k * lower_len),
            ],
            input,
            GmmLogPosterior::new(d, k, n, points, m, gamma),
        )
    }
}

/// The number of grid points of `advection`.
const ADVECTION_POINTS: usize = 100;
/// The Courant number c of `advection`.
const COURANT: f64 = 0.5;

/// `advection`: linear advection on a periodic grid of 100 points by the Lax-Wendroff scheme,
/// q_i' = q_i - (c/2)(q_{i+1} - q_{i-1}) + (c^2/2)(q_{i+1} - 2 q_i + q_{i-1}) with c = 0.5, for
/// `size` time steps from the input `q` (q_i = exp(-((i - 30)/8)^2)); output sum_i q_i^2.
/// After the benchmark of Hogan's Adept paper (2014). T = 800 steps + 200. The grid lives in
/// two buffers allocated once per evaluation and swapped after each step, each with a ghost
/// point at either end that holds a copy of the far end, so that no point needs a modulo.
#[derive(Clone, Copy, Debug, Default)]
pub struct Advection;

/// sum_i q_i^2 after `steps` Lax-Wendroff steps, over the input `q`.
struct LaxWendroff {
    steps: usize,
}

/// One Lax-Wendroff step of the periodic grid `q[1..=n]` into `next[1..=n]`, where both have
/// n + 2 entries: the ghost points `q[0]` and `q[n + 1]` are first set to the grid's far ends,
/// so that every point, the two at the boundary included, reads a window of three.
fn lax_wendroff_step<R: Real>(q: &mut [R], next: &mut [R]) {
    let n = q.len() - 2;
    q[0] = q[n].clone();
    q[n + 1] = q[1].clone();
    for (point, window) in next[1..=n].iter_mut().zip(q.windows(3)) {
        let left = window[0].clone();
        let centre = window[1].clone();
        let right = window[2].clone();
        *point = centre.clone() - (right.clone() - left.clone()) * (COURANT / 2.0)
            + (right - centre * 2.0 + left) * (COURANT * COURANT / 2.0);
    }
}

impl Program for LaxWendroff {
    fn input_len(&self) -> usize {
        ADVECTION_POINTS
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        const NX: usize = ADVECTION_POINTS;
        // Two grids with a ghost point at each end, allocated once: each step reads `q` and
        // writes `next`, then they swap.
        let mut q = Vec::with_capacity(NX + 2);
        q.push(R::constant(0.0));
        q.extend_from_slice(x);
        q.push(R::constant(0.0));
        let mut next = vec![R::constant(0.0); NX + 2];
        for _ in 0..self.steps {
            lax_wendroff_step(&mut q, &mut next);
            mem::swap(&mut q, &mut next);
        }
        outputs![q[1..=NX].iter().map(|qi| qi.clone() * qi.clone()).sum()]
    }
}

impl Workload for Advection {
    fn name(&self) -> &'static str {
        "advection"
    }
    fn description(&self) -> &'static str {
        "Lax-Wendroff linear advection on a periodic 100-point grid; sum of squares at the end"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "the number of time steps",
            default: 100,
            min: 0,
            max: 100_000,
            verify: &[1, 2, 3],
            sweep: &[10, 30, 100, 300, 1000, 3000, 10_000],
        })
    }
    fn build(&self, steps: usize, params: &Params) -> Instance {
        let input = (0..ADVECTION_POINTS)
            .map(|i| (-((i as f64 - 30.0) / 8.0).powi(2)).exp())
            .collect();
        instance(
            Some(steps),
            params,
            &[("q", ADVECTION_POINTS)],
            input,
            LaxWendroff { steps },
        )
    }
}

/// `kmeans`: the k-means objective sum_i min_j |C_j - P_i|^2 over the input `centroids`
/// (k x d, uniform in [0, 1)) for n fixed points P (n x d, uniform in [0, 1)), all drawn from
/// seed 0 (points first); parameters `k` (default 10) and `d` (default 4). The centroids are
/// drawn separately rather than taken from the points (as GradBench does) so that no point is
/// equidistant from two centroids. T = n(3dk + 1).
#[derive(Clone, Copy, Debug, Default)]
pub struct Kmeans;

/// The program of `kmeans` (GradBench's `kmeans` eval, its cost): sum_i min_j |C_j - P_i|^2
/// over the input `centroids` C (k x d, row-major) for the fixed points P (row-major, d
/// coordinates each), the nearest centroid selected on primal values. T = n(3dk + 1) for n
/// points.
#[derive(Clone, Debug)]
pub struct KmeansObjective {
    k: usize,
    d: usize,
    points: Vec<f64>,
}

impl KmeansObjective {
    /// The objective of `k` centroids in `d` dimensions for `points` (row-major, d coordinates
    /// per point).
    ///
    /// # Panics
    ///
    /// If `k` or `d` is 0, or if `points.len()` is not a multiple of `d`.
    pub fn new(k: usize, d: usize, points: Vec<f64>) -> Self {
        assert!(k > 0, "there must be at least one centroid");
        assert!(d > 0, "the dimension must be at least 1");
        assert_eq!(
            points.len() % d,
            0,
            "the points hold d = {d} coordinates each, got {} numbers",
            points.len()
        );
        Self { k, d, points }
    }
}

/// |c - p|^2.
fn squared_distance<R: Real>(c: &[R], p: &[f64]) -> R {
    c.iter()
        .zip(p)
        .map(|(cj, &pj)| {
            let difference = cj.clone() - pj;
            difference.clone() * difference
        })
        .sum()
}

impl Program for KmeansObjective {
    fn input_len(&self) -> usize {
        self.k * self.d
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let total = self
            .points
            .chunks(self.d)
            .map(|p| {
                x.chunks(self.d)
                    .map(|c| squared_distance(c, p))
                    .reduce(R::min)
                    .expect("at least one centroid")
            })
            .sum();
        outputs![total]
    }
}

impl Workload for Kmeans {
    fn name(&self) -> &'static str {
        "kmeans"
    }
    fn description(&self) -> &'static str {
        "k-means objective: sum over points of the squared distance to the nearest centroid"
    }
    fn family(&self) -> Family {
        Family::Classic
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the number of points",
            default: 1000,
            min: 1,
            max: 1_000_000,
            verify: &[1, 8, 32],
            sweep: &[100, 1000, 10_000, 100_000],
        })
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[
            ParamSpec {
                name: "k",
                meaning: "the number of centroids",
                default: 10.0,
                integer: true,
                min: 1.0,
                max: 10_000.0,
                choices: &[],
            },
            ParamSpec {
                name: "d",
                meaning: "the dimension",
                default: 4.0,
                integer: true,
                min: 1.0,
                max: 1000.0,
                choices: &[],
            },
        ]
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let (k, d) = (integer_param(params, "k"), integer_param(params, "d"));
        let mut rng = seeded(0);
        let points = uniform(&mut rng, n * d, 0.0, 1.0);
        let centroids = uniform(&mut rng, k * d, 0.0, 1.0);
        instance(
            Some(n),
            params,
            &[("centroids", k * d)],
            centroids,
            KmeansObjective::new(k, d, points),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// d f / d x by central differences with step 1e-6.
    fn finite_difference(program: &KmeansObjective, x: &[f64]) -> Vec<f64> {
        (0..x.len())
            .map(|i| {
                let (mut up, mut down) = (x.to_vec(), x.to_vec());
                up[i] += 1e-6;
                down[i] -= 1e-6;
                (program.eval(&up)[0] - program.eval(&down)[0]) / 2e-6
            })
            .collect()
    }

    #[test]
    fn kmeans_sums_squared_distances_to_the_nearest_centroid() {
        // Points 0 and 1 belong to the centroid at 0.5, the point 10 to the one at 9.
        let program = KmeansObjective::new(2, 1, vec![0.0, 1.0, 10.0]);
        let centroids = [0.5, 9.0];
        assert_eq!(program.eval(&centroids)[0], 0.25 + 0.25 + 1.0);
        // The gradient is 2 sum over the cluster of (C - P): 2 (0.5 + (-0.5)) and 2 (9 - 10).
        let gradient = finite_difference(&program, &centroids);
        assert!(gradient[0].abs() < 1e-8 && (gradient[1] + 2.0).abs() < 1e-8);
    }

    #[test]
    fn kmeans_measures_distance_in_every_dimension() {
        let program = KmeansObjective::new(1, 2, vec![1.0, 2.0, 3.0, -1.0]);
        let centroid = [0.0, 1.0];
        // |(1, 1)|^2 + |(3, -2)|^2.
        assert_eq!(program.eval(&centroid)[0], 2.0 + 13.0);
        // 2 ((0 - 1) + (0 - 3)), 2 ((1 - 2) + (1 + 1)).
        let gradient = finite_difference(&program, &centroid);
        assert!((gradient[0] + 8.0).abs() < 1e-8 && (gradient[1] - 2.0).abs() < 1e-8);
    }
}
