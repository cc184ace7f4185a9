//! The paper's benchmark programs (ad-dualrev-th, `bench/Main.hs`), with the paper's inputs so
//! that numbers are comparable: `fmult`, `fdotprod`, `fsummatvec`, `frotvecquat`, `fneural`,
//! and `mlp`, the same network with an output whose gradient is meaningful.

use strategies::{outputs, scratch, HandAdjoint, Outputs, Program, Real};

use crate::inputs::instance;
use crate::{Family, Instance, Params, SizeSpec, Workload};

/// Dot product written with zip / map / fold, as the paper's `fdotprod`: one multiplication
/// per pair and one addition per product, starting from an inactive zero (2n operations).
fn dot<R: Real>(l1: &[R], l2: &[R]) -> R {
    l1.iter()
        .zip(l2)
        .map(|(a, b)| a.clone() * b.clone())
        .fold(R::constant(0.0), |acc, p| acc + p)
}

/// `fmult`: the product x * y of the inputs `x` = 3 and `y` = 4 (one operation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fmult;

/// x * y.
struct Mult;

impl Program for Mult {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].clone() * x[1].clone()]
    }
}

impl Workload for Fmult {
    fn name(&self) -> &'static str {
        "fmult"
    }
    fn description(&self) -> &'static str {
        "x * y of two scalars (the paper's smallest benchmark)"
    }
    fn family(&self) -> Family {
        Family::Paper
    }
    fn size(&self) -> Option<SizeSpec> {
        None
    }
    fn build(&self, _size: usize, params: &Params) -> Instance {
        instance(None, params, &[("x", 1), ("y", 1)], vec![3.0, 4.0], Mult)
    }
}

/// `fdotprod`: sum of the elementwise products of `l1` = 1, 2, ..., n and `l2` = 3, 5, 7, ...
/// (both of length n), written with zip / map / fold. T = 2n.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fdotprod;

/// l1 . l2 over the inputs `l1` (n) and `l2` (n).
struct DotProduct {
    n: usize,
}

impl Program for DotProduct {
    fn input_len(&self) -> usize {
        2 * self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (l1, l2) = x.split_at(self.n);
        outputs![dot(l1, l2)]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// d(l1 . l2)/d l1 = l2 and d/d l2 = l1: one loop forms the products' sum (in the program's
/// order, from 0) and writes w l2 and w l1.
impl HandAdjoint for DotProduct {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let w = cotangent[0];
        let (l1, l2) = x.split_at(self.n);
        let (d1, d2) = gradient.split_at_mut(self.n);
        let mut total = 0.0;
        for (((&a, &b), da), db) in l1.iter().zip(l2).zip(d1).zip(d2) {
            total += a * b;
            *da = w * b;
            *db = w * a;
        }
        value[0] = total;
    }
}

/// The paper's inputs: 1, 2, ..., n.
fn counting(len: usize) -> impl Iterator<Item = f64> {
    (1..=len).map(|i| i as f64)
}

/// The paper's inputs: 3, 5, 7, ... (len of them).
fn odd_from_three(len: usize) -> impl Iterator<Item = f64> {
    (1..=len).map(|i| (2 * i + 1) as f64)
}

impl Workload for Fdotprod {
    fn name(&self) -> &'static str {
        "fdotprod"
    }
    fn description(&self) -> &'static str {
        "dot product of two length-n lists, written with zip / map / fold"
    }
    fn family(&self) -> Family {
        Family::Paper
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the length of each list",
            default: 1000,
            min: 1,
            max: 10_000_000,
            verify: &[1, 10, 100],
            sweep: &[
                100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000,
            ],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = counting(n).chain(odd_from_three(n)).collect();
        instance(
            Some(n),
            params,
            &[("l1", n), ("l2", n)],
            input,
            DotProduct { n },
        )
    }
}

/// `fsummatvec`: the sum over the rows of the n x n matrix `m` (entries 1, 2, 3, ... row by
/// row) of the row's dot product with `v` = 3, 5, 7, .... T = 2n^2 + n.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fsummatvec;

/// sum_i (m_i . v) over the inputs `m` (n x n, row-major) and `v` (n).
struct SumMatVec {
    n: usize,
}

impl Program for SumMatVec {
    fn input_len(&self) -> usize {
        self.n * self.n + self.n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (m, v) = x.split_at(self.n * self.n);
        let total = m
            .chunks(self.n)
            .map(|row| dot(row, v))
            .fold(R::constant(0.0), |acc, r| acc + r);
        outputs![total]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// d(sum_i m_i . v)/d m_ij = v_j and d/d v_j = sum_i m_ij: one pass over the rows forms each
/// row's dot product (in the program's order) and writes w v into the row's gradient while it
/// adds w m_i into v's.
impl HandAdjoint for SumMatVec {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        _workspace: &mut Vec<f64>,
    ) {
        let w = cotangent[0];
        let n = self.n;
        let (m, v) = x.split_at(n * n);
        let (dm, dv) = gradient.split_at_mut(n * n);
        let mut total = 0.0;
        for (row, drow) in m.chunks(n).zip(dm.chunks_mut(n)) {
            let mut row_dot = 0.0;
            for (((&mij, &vj), dmij), dvj) in row.iter().zip(v).zip(drow).zip(dv.iter_mut()) {
                row_dot += mij * vj;
                *dmij = w * vj;
                *dvj += w * mij;
            }
            total += row_dot;
        }
        value[0] = total;
    }
}

impl Workload for Fsummatvec {
    fn name(&self) -> &'static str {
        "fsummatvec"
    }
    fn description(&self) -> &'static str {
        "sum over the rows of an n x n matrix of the row's dot product with a vector"
    }
    fn family(&self) -> Family {
        Family::Paper
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(SizeSpec {
            meaning: "n, the matrix side (n^2 + n inputs)",
            default: 100,
            min: 1,
            max: 4000,
            verify: &[1, 4, 10],
            sweep: &[10, 20, 50, 100, 200, 500, 1000, 2000],
        })
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        let input = counting(n * n).chain(odd_from_three(n)).collect();
        instance(
            Some(n),
            params,
            &[("m", n * n), ("v", n)],
            input,
            SumMatVec { n },
        )
    }
}

/// `frotvecquat`: the 3-vector `v` = (1, 2, 3) rotated by the quaternion `q` = (x, y, z, w) =
/// (4, 5, 6, 7), w the scalar part: 2(u.v)u + (s^2 - u.u)v + 2s(u x v) with u = (x, y, z) and
/// s = w. Three outputs (the Jacobian is three reverse passes). The quaternion is not
/// normalised, so the result is the rotation scaled by |q|^2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frotvecquat;

/// The rotated vector over the inputs `v` (3) and `q` (4, scalar part last).
struct RotateByQuaternion;

impl Program for RotateByQuaternion {
    fn input_len(&self) -> usize {
        7
    }
    fn output_len(&self) -> usize {
        3
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let (v, q) = x.split_at(3);
        let (u, s) = (&q[..3], &q[3]);
        let u_dot_v =
            u[0].clone() * v[0].clone() + u[1].clone() * v[1].clone() + u[2].clone() * v[2].clone();
        let u_dot_u =
            u[0].clone() * u[0].clone() + u[1].clone() * u[1].clone() + u[2].clone() * u[2].clone();
        let cross = [
            u[1].clone() * v[2].clone() - u[2].clone() * v[1].clone(),
            u[2].clone() * v[0].clone() - u[0].clone() * v[2].clone(),
            u[0].clone() * v[1].clone() - u[1].clone() * v[0].clone(),
        ];
        let along_u = u_dot_v * 2.0;
        let along_v = s.clone() * s.clone() - u_dot_u;
        let along_cross = s.clone() * 2.0;
        cross
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                u[i].clone() * along_u.clone()
                    + v[i].clone() * along_v.clone()
                    + c * along_cross.clone()
            })
            .collect()
    }
}

impl Workload for Frotvecquat {
    fn name(&self) -> &'static str {
        "frotvecquat"
    }
    fn description(&self) -> &'static str {
        "rotate a 3-vector by a quaternion: three outputs, the Jacobian by three reverse passes"
    }
    fn family(&self) -> Family {
        Family::Paper
    }
    fn size(&self) -> Option<SizeSpec> {
        None
    }
    fn build(&self, _size: usize, params: &Params) -> Instance {
        let input = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        instance(
            None,
            params,
            &[("v", 3), ("q", 4)],
            input,
            RotateByQuaternion,
        )
    }
}

/// What the two-layer network reports.
#[derive(Clone, Copy, Debug)]
enum NetworkOutput {
    /// The sum of the softmax outputs (identically 1: the paper's `fneural`).
    SumOfSoftmax,
    /// Cross-entropy of the softmax against class 0: -ln softmax(z)_0.
    CrossEntropy,
}

/// The paper's network: z = relu(W2 relu(W1 x + b1) + b2) with hidden width 2n and n outputs,
/// then a safe softmax. Inputs `w1` (2n x n, one row per output unit), `b1` (2n), `w2`
/// (n x 2n), `b2` (n), `x` (n).
struct Network {
    n: usize,
    output: NetworkOutput,
}

/// relu(W input + b), one row of `w` per output unit.
fn dense_relu<R: Real>(w: &[R], b: &[R], input: &[R]) -> Vec<R> {
    w.chunks(input.len())
        .zip(b)
        .map(|(row, bias)| (dot(row, input) + bias.clone()).relu())
        .collect()
}

/// exp(z_i - m) for m = max(0, max z), and their sum: the numerator and the denominator of a
/// softmax that cannot overflow.
fn shifted_exponentials<R: Real>(z: &[R]) -> (R, Vec<R>, R) {
    let m = z.iter().cloned().fold(R::constant(0.0), R::max);
    let e: Vec<R> = z.iter().map(|zi| (zi.clone() - m.clone()).exp()).collect();
    let total = e.iter().cloned().sum();
    (m, e, total)
}

impl Program for Network {
    fn input_len(&self) -> usize {
        let n = self.n;
        2 * n * n + 2 * n + 2 * n * n + n + n
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        let n = self.n;
        let (w1, rest) = x.split_at(2 * n * n);
        let (b1, rest) = rest.split_at(2 * n);
        let (w2, rest) = rest.split_at(2 * n * n);
        let (b2, input) = rest.split_at(n);
        let hidden = dense_relu(w1, b1, input);
        let z = dense_relu(w2, b2, &hidden);
        let (m, e, total) = shifted_exponentials(&z);
        let out = match self.output {
            NetworkOutput::SumOfSoftmax => e.into_iter().map(|ei| ei / total.clone()).sum(),
            NetworkOutput::CrossEntropy => total.ln() - (z[0].clone() - m),
        };
        outputs![out]
    }
    fn hand_adjoint(&self) -> Option<&dyn HandAdjoint> {
        Some(self)
    }
}

/// The pre-activations W input + b of one dense layer into `pre` (each unit's dot product
/// from 0 in the program's order, then its bias).
fn dense_forward(w: &[f64], b: &[f64], input: &[f64], pre: &mut [f64]) {
    for ((p, row), &bias) in pre.iter_mut().zip(w.chunks(input.len())).zip(b) {
        let mut acc = 0.0;
        for (&wij, &xj) in row.iter().zip(input) {
            acc += wij * xj;
        }
        *p = acc + bias;
    }
}

/// The adjoint of relu(W input + b): for each unit whose pre-activation `pre` is positive
/// (relu passes it on; otherwise relu gave an inactive 0 and nothing flows back), with output
/// cotangent g, dW_i = g input, db_i = g and input_adj += g W_i.
fn dense_relu_adjoint(
    w: &[f64],
    input: &[f64],
    pre: &[f64],
    out_adj: &[f64],
    dw: &mut [f64],
    db: &mut [f64],
    input_adj: &mut [f64],
) {
    let width = input.len();
    for (i, (&p, &g)) in pre.iter().zip(out_adj).enumerate() {
        if p <= 0.0 || g == 0.0 {
            continue;
        }
        db[i] = g;
        let row = &w[i * width..(i + 1) * width];
        let dw_row = &mut dw[i * width..(i + 1) * width];
        for (((dwij, &xj), a), &wij) in dw_row
            .iter_mut()
            .zip(input)
            .zip(input_adj.iter_mut())
            .zip(row)
        {
            *dwij = g * xj;
            *a += g * wij;
        }
    }
}

/// The network's adjoint, layer by layer backwards. Forward: the pre-activations of both
/// layers (relu(p) is p where p > 0, else an inactive 0), m = max(0, max z) (an inactive 0, or
/// the first z_j attaining it), e_k = exp(z_k - m), S = sum_k e_k. Backwards, with output
/// cotangent w:
///
/// - `fneural`, sum_k e_k / S: e_k gets w / S from its own quotient and S gets
///   -(w / S) sum_k e_k / S from all of them, which flows to every e_k (mathematically
///   1 - 1 = 0: the gradient is rounding noise, as under every AD strategy);
/// - `mlp`, ln S - (z_0 - m): S gets w / S, hence every e_k; z_0 gets -w and m gets w;
/// - then z_k gets e_k times e_k's cotangent and m minus their sum, and m's cotangent goes to
///   the z_j it is (if it is not the constant 0);
/// - each layer: relu passes a unit's cotangent g only where its pre-activation is positive;
///   then dW_i = g input, db_i = g, and the layer's input gets W^T g.
impl HandAdjoint for Network {
    fn vjp(
        &self,
        x: &[f64],
        cotangent: &[f64],
        value: &mut [f64],
        gradient: &mut [f64],
        workspace: &mut Vec<f64>,
    ) {
        let w = cotangent[0];
        let n = self.n;
        let (w1, rest) = x.split_at(2 * n * n);
        let (b1, rest) = rest.split_at(2 * n);
        let (w2, rest) = rest.split_at(2 * n * n);
        let (b2, input) = rest.split_at(n);
        let (dw1, rest) = gradient.split_at_mut(2 * n * n);
        let (db1, rest) = rest.split_at_mut(2 * n);
        let (dw2, rest) = rest.split_at_mut(2 * n * n);
        let (db2, dinput) = rest.split_at_mut(n);

        let buffer = scratch(workspace, 8 * n);
        let (hidden_pre, rest) = buffer.split_at_mut(2 * n);
        let (hidden, rest) = rest.split_at_mut(2 * n);
        let (hidden_adj, rest) = rest.split_at_mut(2 * n);
        let (z, z_adj) = rest.split_at_mut(n);

        // Forward: both layers, relu as the program's (an inactive 0 unless positive).
        let relu = |p: f64| if p > 0.0 { p } else { 0.0 };
        dense_forward(w1, b1, input, hidden_pre);
        for (h, &p) in hidden.iter_mut().zip(hidden_pre.iter()) {
            *h = relu(p);
        }
        dense_forward(w2, b2, hidden, z);
        // z = relu(z_pre) in place (positive exactly where z_pre is, so it stands for z_pre
        // below), and the shift m, decided on values (the first on ties), with its index.
        let mut shift = 0.0;
        let mut shift_index = None;
        for (k, zk) in z.iter_mut().enumerate() {
            *zk = relu(*zk);
            if *zk > shift {
                shift = *zk;
                shift_index = Some(k);
            }
        }
        // e_k (kept in z_adj until it becomes z's cotangent) and S.
        let mut total = 0.0;
        for (e, &zk) in z_adj.iter_mut().zip(z.iter()) {
            *e = (zk - shift).exp();
            total += *e;
        }
        // The output, the cotangent of every e_k (the same for all) and m's own.
        let cross_entropy = matches!(self.output, NetworkOutput::CrossEntropy);
        let (e_adj, mut shift_adj) = if cross_entropy {
            value[0] = total.ln() - (z[0] - shift);
            (w / total, w)
        } else {
            let mut out = 0.0;
            for &e in z_adj.iter() {
                out += e / total;
            }
            value[0] = out;
            let own = w / total;
            (own - own * out, 0.0)
        };
        // z_k's cotangent e_k e_k-bar; m gets minus their sum.
        for e in z_adj.iter_mut() {
            *e *= e_adj;
            shift_adj -= *e;
        }
        if cross_entropy {
            z_adj[0] -= w;
        }
        if let Some(k) = shift_index {
            z_adj[k] += shift_adj;
        }
        hidden_adj.fill(0.0);
        dense_relu_adjoint(w2, hidden, z, z_adj, dw2, db2, hidden_adj);
        dense_relu_adjoint(w1, input, hidden_pre, hidden_adj, dw1, db1, dinput);
    }
}

/// The paper's network inputs at input width n: weight(i, j) = sin(i + j) for output unit i and
/// input j in both layers, bias(i) = sin(0.41 i), x(i) = sin(0.41 i), indices from 0.
fn network_instance(n: usize, params: &Params, output: NetworkOutput) -> Instance {
    let weights = |rows: usize, cols: usize| {
        (0..rows).flat_map(move |i| (0..cols).map(move |j| ((i + j) as f64).sin()))
    };
    let wave = |len: usize| (0..len).map(|i| (0.41 * i as f64).sin());
    let input = weights(2 * n, n)
        .chain(wave(2 * n))
        .chain(weights(n, 2 * n))
        .chain(wave(n))
        .chain(wave(n))
        .collect();
    let layout = [
        ("w1", 2 * n * n),
        ("b1", 2 * n),
        ("w2", 2 * n * n),
        ("b2", n),
        ("x", n),
    ];
    instance(Some(n), params, &layout, input, Network { n, output })
}

/// The size of both networks: the input width n (the paper's network is n = 50, i.e. its width
/// scale s = n / 50).
const NETWORK_SIZE: SizeSpec = SizeSpec {
    meaning: "n, the input width (hidden widths 2n and n; the paper's network is n = 50)",
    default: 50,
    min: 1,
    max: 2000,
    verify: &[2, 4, 8],
    sweep: &[5, 10, 20, 50, 100, 200, 500],
};

/// `fneural`: the paper's two-layer ReLU network followed by a safe softmax, reporting the sum
/// of the softmax outputs (identically 1, so its exact gradient is zero: kept for timing
/// comparability; use `mlp` to check gradients). T = 8n^2 + 8n.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fneural;

impl Workload for Fneural {
    fn name(&self) -> &'static str {
        "fneural"
    }
    fn description(&self) -> &'static str {
        "two-layer ReLU network, safe softmax, sum of the outputs (identically 1; for timing)"
    }
    fn family(&self) -> Family {
        Family::Paper
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(NETWORK_SIZE)
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        network_instance(n, params, NetworkOutput::SumOfSoftmax)
    }
}

/// `mlp`: the `fneural` network with a meaningful output, the cross-entropy of its softmax
/// against class 0, ln(sum_i exp(z_i - m)) - (z_0 - m). Blocks and inputs as `fneural`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mlp;

impl Workload for Mlp {
    fn name(&self) -> &'static str {
        "mlp"
    }
    fn description(&self) -> &'static str {
        "the fneural network with a cross-entropy loss against class 0"
    }
    fn family(&self) -> Family {
        Family::Paper
    }
    fn size(&self) -> Option<SizeSpec> {
        Some(NETWORK_SIZE)
    }
    fn build(&self, n: usize, params: &Params) -> Instance {
        network_instance(n, params, NetworkOutput::CrossEntropy)
    }
}
