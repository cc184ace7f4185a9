//! `forward-vec`: forward-mode AD with a chunked vector tangent, [`LANES`] directions per pass.
//!
//! # Representation
//!
//! A scalar is a [`DualVec`]: its primal value and a fixed-width array of [`LANES`] tangents,
//! one per input direction pushed through the program at once (`docs/ladder.md`, forward
//! mode, the vector-tangent variant) — or no tangent at all when the value depends on no input
//! seeded in this pass (a constant, or a value computed from inputs of other chunks only). A
//! primitive computes its partial derivatives once and applies them to every lane, so the
//! primal work and the partials are shared by the lanes and the lane loop is a short
//! fixed-length loop the compiler vectorises; an operand without a tangent costs no lane work,
//! so a pass pays lane arithmetic only on the part of the program its chunk reaches.
//!
//! # Algorithm and cost
//!
//! The n inputs are split into ceil(n / [`LANES`]) chunks. The inputs are lifted once; the
//! pass for chunk c seeds input c * LANES + l with the unit tangent in lane l (the previous
//! chunk's inputs lose theirs, every other input has none); after the pass, lane l of output j
//! holds
//! d out_j / d x_(c LANES + l). A vector-Jacobian product combines the lanes with the output
//! cotangent; the Jacobian is filled from the same passes. Cost: ceil(n / LANES) passes of
//! O(LANES * T) each, O(n T) in total like [`crate::forward`], with the primal work divided by
//! LANES.
//!
//! Why chunks rather than one tangent of length n: a length-n tangent makes every intermediate
//! value carry O(n) numbers, so memory grows as O(n) per live intermediate (and each operation
//! allocates), while a fixed chunk keeps each scalar a small `Copy` value on the stack with the
//! same O(n T) arithmetic.
//!
//! # Counters
//!
//! - `forward_passes`: program evaluations, ceil(n / LANES) (one when n = 0: the pass that
//!   computes the value).
//! - `lanes`: the chunk width [`LANES`], so that `forward_passes * lanes` bounds the directions
//!   pushed.

use smallvec::SmallVec;

use crate::forward::impl_real_from_partials;
use crate::program::{check_inputs, check_lengths, Derivatives, Outputs, Probe, Program, Strategy};
use crate::real::{partials, Real};

/// Directions pushed per pass: the width of a [`DualVec`]'s tangent. Eight `f64`s fill one
/// 64-byte cache line and a few SIMD registers.
pub const LANES: usize = 8;

/// A dual number with [`LANES`] tangents, or none (all zero: it depends on no seeded input).
#[derive(Clone, Copy, Debug)]
pub struct DualVec {
    value: f64,
    tangent: Option<[f64; LANES]>,
}

impl DualVec {
    /// A value with the given tangents (an input seeded in up to [`LANES`] directions).
    pub fn new(value: f64, tangent: [f64; LANES]) -> Self {
        Self {
            value,
            tangent: Some(tangent),
        }
    }

    /// The tangents, one per lane (zeros for a value that carries none).
    pub fn tangent(&self) -> [f64; LANES] {
        self.tangent.unwrap_or([0.0; LANES])
    }

    fn inactive(value: f64) -> Self {
        Self {
            value,
            tangent: None,
        }
    }

    /// Whether it carries a tangent (depends on a seeded input).
    #[inline(always)]
    fn is_active(&self) -> bool {
        self.tangent.is_some()
    }

    #[inline(always)]
    fn unary(&self, value: f64, d: f64) -> Self {
        Self {
            value,
            tangent: self.tangent.map(|t| partials::times_each(d, &t)),
        }
    }

    #[inline(always)]
    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        let tangent = match (&self.tangent, &other.tangent) {
            (Some(a), Some(b)) => {
                let (a, b) = (partials::times_each(dx, a), partials::times_each(dy, b));
                let mut t = [0.0; LANES];
                for ((t, a), b) in t.iter_mut().zip(a).zip(b) {
                    *t = a + b;
                }
                Some(t)
            }
            (Some(a), None) => Some(partials::times_each(dx, a)),
            (None, Some(b)) => Some(partials::times_each(dy, b)),
            (None, None) => None,
        };
        Self { value, tangent }
    }
}

impl_real_from_partials!(DualVec);

/// Forward-mode AD with a chunked vector tangent: ceil(n / [`LANES`]) passes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardVec;

/// Runs the chunked passes, writing the output values of the first pass into `value`. After
/// each pass calls `lanes(first_input, outputs)`: lane l of the outputs is the derivative with
/// respect to input `first_input + l` (for the lanes below n). Returns the number of passes.
#[inline]
fn run_passes<E, C>(x: &[f64], eval: E, value: &mut Vec<f64>, mut lanes: C) -> u64
where
    E: Fn(&[DualVec]) -> Outputs<DualVec>,
    C: FnMut(usize, &[DualVec]),
{
    value.clear();
    let passes = x.len().div_ceil(LANES).max(1);
    let mut inputs: SmallVec<[DualVec; LANES]> = x.iter().map(|&v| DualVec::inactive(v)).collect();
    for pass in 0..passes {
        let first = pass * LANES;
        if pass > 0 {
            for input in &mut inputs[first - LANES..first] {
                input.tangent = None;
            }
        }
        let last = x.len().min(first + LANES);
        for (l, input) in inputs[first.min(last)..last].iter_mut().enumerate() {
            let mut tangent = [0.0; LANES];
            tangent[l] = 1.0;
            input.tangent = Some(tangent);
        }
        let outputs = eval(&inputs);
        lanes(first, &outputs);
        if pass == 0 {
            value.extend(outputs.iter().map(Real::value));
        }
    }
    passes as u64
}

impl Strategy for ForwardVec {
    const NAME: &'static str = "forward-vec";
    const DESCRIPTION: &'static str =
        "dual numbers with an 8-lane tangent, ceil(n/8) forward passes: O(n T)";
    const COUNTERS: &'static [&'static str] = &["forward_passes", "lanes"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        probe.forward_starts();
        let n = x.len();
        let start = out.derivative.len();
        out.derivative.resize(start + n, 0.0);
        let (value, gradient) = (&mut out.value, &mut out.derivative[start..]);
        let passes = run_passes(
            x,
            |inputs| program.eval(inputs),
            value,
            |first, outputs| {
                for (l, g) in gradient[first..n.min(first + LANES)].iter_mut().enumerate() {
                    *g = outputs
                        .iter()
                        .zip(cotangent)
                        .map(|(o, &w)| partials::times(o.tangent.map_or(0.0, |t| t[l]), w))
                        .sum();
                }
            },
        );
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", passes), ("lanes", LANES as u64)]);
        }
    }

    /// All m rows from the same ceil(n / LANES) passes.
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        let m = program.output_len();
        check_inputs(program.input_len(), x);
        probe.forward_starts();
        let n = x.len();
        out.derivative.clear();
        out.derivative.resize(m * n, 0.0);
        let (value, rows) = (&mut out.value, &mut out.derivative);
        let passes = run_passes(
            x,
            |inputs| program.eval(inputs),
            value,
            |first, outputs| {
                let last = n.min(first + LANES);
                for (j, o) in outputs.iter().enumerate() {
                    rows[j * n + first..j * n + last].copy_from_slice(&o.tangent()[..last - first]);
                }
            },
        );
        probe.reverse_starts();
        probe.finished();
        if Q::COUNTS {
            probe.counters(&[("forward_passes", passes), ("lanes", LANES as u64)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{outputs, Outputs};

    /// f(x) = sum_i (i + 1) x_i^2, and its sum of sines as a second output.
    struct WeightedSquares(usize);
    impl Program for WeightedSquares {
        fn input_len(&self) -> usize {
            self.0
        }
        fn output_len(&self) -> usize {
            2
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let squares = x
                .iter()
                .enumerate()
                .map(|(i, xi)| xi.square() * (i + 1) as f64)
                .sum();
            let sines = x.iter().map(Real::sin).sum();
            outputs![squares, sines]
        }
    }

    #[test]
    fn gradient_spans_partial_last_chunk_in_ceil_n_over_lanes_passes() {
        let n = 2 * LANES + 3;
        let x: Vec<f64> = (0..n).map(|i| 0.1 * i as f64 - 0.7).collect();
        let r = ForwardVec::vjp(&WeightedSquares(n), &x, &[1.0, 0.0]);
        let expected: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, xi)| 2.0 * (i + 1) as f64 * xi)
            .collect();
        assert_eq!(r.gradient, Some(expected));
        assert_eq!(r.counters.get("forward_passes"), Some(3));
        assert_eq!(r.counters.get("lanes"), Some(LANES as u64));
    }

    #[test]
    fn jacobian_rows_match_closed_form() {
        let n = LANES + 1;
        let x: Vec<f64> = (0..n).map(|i| 0.3 * i as f64).collect();
        let j = ForwardVec::jacobian(&WeightedSquares(n), &x);
        let rows = j.rows.unwrap();
        for i in 0..n {
            assert_eq!(rows[0][i], 2.0 * (i + 1) as f64 * x[i]);
            assert_eq!(rows[1][i], x[i].cos());
        }
        assert_eq!(j.counters.get("forward_passes"), Some(2));
    }
}
