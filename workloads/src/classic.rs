//! Classic AD benchmark problems, implemented from their mathematical definitions in the public
//! GradBench evals (`evals/<name>/README.md` and their reference code) and cmpad: `lse`,
//! `llsq`, `det`, `ode`, `kmeans`, and `advection` after the Adept paper (Hogan 2014).

use std::mem;

use strategies::{outputs, Outputs, Program, Real};

use crate::inputs::{instance, integer_param, seeded, uniform};
use crate::{Family, Instance, ParamSpec, Params, SizeSpec, Workload};

/// `lse`: log-sum-exp of the input `x` (n values uniform in [-2, 2], seed 0) with the max
/// trick: a = max x; a + ln sum_i exp(x_i - a). The gradient is softmax(x). T = 3n + 2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lse;

/// max x + ln sum_i exp(x_i - max x) over the input `x`.
struct LogSumExp {
    n: usize,
}

impl Program for LogSumExp {
    fn input_len(&self) -> usize {
        self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let a = x
            .iter()
            .cloned()
            .reduce(R::max)
            .expect("log-sum-exp of at least one value");
        let total: R = x.iter().map(|xi| (xi.clone() - a.clone()).exp()).sum();
        outputs![a + total.ln()]
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
        instance(Some(n), params, &[("x", n)], input, LogSumExp { n })
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

/// The least-squares objective over the input `x`, at `n` sample points.
struct LeastSquares {
    n: usize,
    m: usize,
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
        }]
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let m = integer_param(params, "m");
        let input = uniform(&mut seeded(0), m, 0.0, 1.0);
        instance(Some(n), params, &[("x", m)], input, LeastSquares { n, m })
    }
}

/// `det`: the determinant of the l x l matrix `A` (row-major, entries uniform in [-1, 1],
/// seed 0) by recursive expansion by minors along the first row: T(l) = l (T(l-1) + 1) + l - 1,
/// T(1) = 0, which grows as l!. A minor is the index set of its columns, kept with those of
/// every enclosing minor in one workspace allocated once per evaluation: no matrix or vector is
/// built per minor.
#[derive(Clone, Copy, Debug, Default)]
pub struct Det;

/// det A over the input `A` (l x l).
struct DeterminantByMinors {
    l: usize,
}

impl DeterminantByMinors {
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
            DeterminantByMinors { l },
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

/// The last state variable after `steps` RK4 steps, over the input `x`.
struct RungeKutta {
    n: usize,
    steps: usize,
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
        1
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
        // y is the first n entries: move its last one out.
        assert!(n > 0, "the state has at least one variable");
        outputs![workspace.swap_remove(n - 1)]
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
        }]
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let steps = integer_param(params, "steps");
        let input = uniform(&mut seeded(0), n, 0.0, 1.0);
        instance(Some(n), params, &[("x", n)], input, RungeKutta { n, steps })
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

/// The k-means objective over the input `centroids`, for the stored points.
struct KmeansObjective {
    k: usize,
    d: usize,
    points: Vec<f64>,
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
            },
            ParamSpec {
                name: "d",
                meaning: "the dimension",
                default: 4.0,
                integer: true,
                min: 1.0,
                max: 1000.0,
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
            KmeansObjective { k, d, points },
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
        let program = KmeansObjective {
            k: 2,
            d: 1,
            points: vec![0.0, 1.0, 10.0],
        };
        let centroids = [0.5, 9.0];
        assert_eq!(program.eval(&centroids)[0], 0.25 + 0.25 + 1.0);
        // The gradient is 2 sum over the cluster of (C - P): 2 (0.5 + (-0.5)) and 2 (9 - 10).
        let gradient = finite_difference(&program, &centroids);
        assert!(gradient[0].abs() < 1e-8 && (gradient[1] + 2.0).abs() < 1e-8);
    }

    #[test]
    fn kmeans_measures_distance_in_every_dimension() {
        let program = KmeansObjective {
            k: 1,
            d: 2,
            points: vec![1.0, 2.0, 3.0, -1.0],
        };
        let centroid = [0.0, 1.0];
        // |(1, 1)|^2 + |(3, -2)|^2.
        assert_eq!(program.eval(&centroid)[0], 2.0 + 13.0);
        // 2 ((0 - 1) + (0 - 3)), 2 ((1 - 2) + (1 + 1)).
        let gradient = finite_difference(&program, &centroid);
        assert!((gradient[0] + 8.0).abs() < 1e-8 && (gradient[1] - 2.0).abs() < 1e-8);
    }
}
