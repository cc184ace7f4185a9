//! The elementary functions of `Real` (`Real::apply` with every `Unary`, `Real::apply2` with
//! every `Binary`) under every strategy, at ordinary points and at the edges of their domains.
//!
//! dualbench's own strategies all take their local partials from one table
//! (`strategies::real::partials`) and propagate them with one rule (`partials::times`), so on a
//! program of one elementary function each of them must give exactly the table's partial (or
//! NaN exactly where the table does), and the value exactly `f64`'s. The table itself is held to
//! central finite differences at interior points. The peers take their rules from their crates:
//! they are held to the table within a tolerance, at the interior points only.
//!
//! The mixed operations with the constant on the left (`2.0 * x`, `1.0 - x`, `3.0 / x`,
//! `1.0 + x`) exist only for concrete scalar types (a generic `R: Real` cannot name them), so
//! they are tested on the strategies whose scalars a test can drive: `tape` (through
//! `Tape::vjp_with`), `forward` and `forward-vec` (whose duals are public), and the forward
//! peers `peer-autodiff` and `peer-num-dual`. `dualrev`, `dualrev-par`, `tape-par`, `naive` and
//! the ladder rungs' scalar (`staged`, `cayley`, `sparse`) test them in their own unit tests; the
//! reverse-mode peers' scalars exist only inside their drivers and are not tested here.

mod common;

use strategies::real::{partials, Binary, Unary};
use strategies::{outputs, Outputs, Program, Real, StrategyKind};

use common::{assert_close, distance};

/// `f(x0)`.
struct OneOperand(Unary);

impl Program for OneOperand {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].apply(self.0)]
    }
}

/// `f(x0, x1)`.
struct TwoOperands(Binary);

impl Program for TwoOperands {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].apply2(&x[1], self.0)]
    }
}

/// Interior points of `f`'s domain, away from its edges, where finite differences hold.
fn interior(f: Unary) -> Vec<f64> {
    match f {
        Unary::Ln | Unary::Sqrt | Unary::Log2 | Unary::Log10 => vec![0.3, 1.0, 2.5, 40.0],
        Unary::Asin | Unary::Acos | Unary::Atanh => vec![-0.6, -0.1, 0.2, 0.9],
        Unary::Acosh => vec![1.2, 2.0, 7.5],
        Unary::Ln1p => vec![-0.7, -0.2, 0.4, 3.0],
        Unary::Tan => vec![-1.2, -0.3, 0.5, 1.4],
        Unary::Abs | Unary::Cbrt | Unary::Recip => vec![-2.7, -0.4, 0.6, 3.1],
        _ => vec![-2.3, -0.7, 0.1, 0.9, 2.6],
    }
}

/// The edges of `f`'s domain and the far-away points where its value is defined: ±0 (the sign
/// of zero matters for `ln`, `recip`, `cbrt`), ±1 for `asin`, `acos` and `atanh`, 1 for
/// `acosh`, -1 for `ln_1p`, large arguments, and ±infinity where `f` has a value there.
fn edges(f: Unary) -> Vec<f64> {
    let (inf, big) = (f64::INFINITY, 1e300);
    match f {
        Unary::Sin | Unary::Cos | Unary::Tan => vec![0.0, -0.0, 1e6, -1e6, big],
        Unary::Ln | Unary::Log2 | Unary::Log10 | Unary::Sqrt => {
            vec![0.0, -0.0, 5e-324, 1.0, big, inf]
        }
        Unary::Asin | Unary::Acos => vec![0.0, -0.0, 1.0, -1.0],
        Unary::Atanh => vec![0.0, -0.0, 1.0, -1.0, 1.0 - f64::EPSILON],
        Unary::Acosh => vec![1.0, 1.0 + f64::EPSILON, big, inf],
        Unary::Ln1p => vec![-1.0, -0.0, 0.0, 1e-300, big, inf],
        Unary::Exp | Unary::Exp2 | Unary::ExpM1 | Unary::Sinh | Unary::Cosh => {
            vec![0.0, -0.0, 700.0, -745.0, 1000.0, -1000.0, inf, -inf]
        }
        Unary::Cbrt | Unary::Recip => vec![0.0, -0.0, 5e-324, -big, big, inf, -inf],
        Unary::Tanh | Unary::Atan | Unary::Asinh | Unary::Erf | Unary::Abs => {
            vec![0.0, -0.0, 30.0, -30.0, big, -big, inf, -inf]
        }
    }
}

/// Points for a two-operand function: ordinary ones (interior: finite differences hold there)
/// and edges.
fn binary_points(f: Binary) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let inf = f64::INFINITY;
    match f {
        Binary::Powf => (
            vec![[2.0, 3.0], [0.5, -1.5], [1.7, 0.3], [3.0, 0.0]],
            vec![
                [0.0, 2.0],
                [0.0, 0.5],
                [0.0, -1.0],
                [0.0, 0.0],
                [-2.0, 3.0],
                [-2.0, 0.5],
                [1.0, inf],
                [inf, 2.0],
            ],
        ),
        Binary::Atan2 => (
            vec![[1.0, 2.0], [-1.0, -2.0], [3.0, -0.5], [-0.2, 0.7]],
            vec![
                [0.0, 0.0],
                [0.0, -1.0],
                [-0.0, -1.0],
                [1.0, 0.0],
                [1e300, 1e300],
                [1e-300, 1e-300],
                [inf, 1.0],
                [1.0, -inf],
            ],
        ),
        Binary::Hypot => (
            vec![[3.0, 4.0], [-1.5, 0.2], [0.7, -2.0]],
            vec![
                [0.0, 0.0],
                [0.0, 2.0],
                [-0.0, -3.0],
                [1e300, 1e300],
                [1e-300, 1e-300],
                [inf, 1.0],
            ],
        ),
    }
}

/// The strategies held to the table bit for bit: dualbench's own that differentiate and run
/// the program (`manual` runs only programs with a hand-written adjoint).
fn own_strategies<P: Program>(program: &P) -> Vec<StrategyKind> {
    StrategyKind::ALL
        .iter()
        .copied()
        .filter(|k| k.differentiates() && !k.is_peer() && k.why_unavailable(program).is_none())
        .collect()
}

/// The peers compiled into this build.
fn peers() -> Vec<StrategyKind> {
    StrategyKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_peer())
        .collect()
}

/// Equal, or both NaN. (A zero of either sign equals the other: `partials::times` drops the
/// sign of a zero partial, as every strategy does.)
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The central difference of `g` at `x` with step `h`, refined once by Richardson
/// extrapolation: error O(h^4).
fn central_difference(g: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-3 * x.abs().max(0.1);
    let d = |h: f64| (g(x + h) - g(x - h)) / (2.0 * h);
    (4.0 * d(h / 2.0) - d(h)) / 3.0
}

#[test]
fn every_own_strategy_gives_the_tables_partial_and_f64s_value_for_every_unary_function() {
    let mut checked = 0;
    for f in Unary::ALL {
        let program = OneOperand(f);
        let strategies = own_strategies(&program);
        assert!(strategies.len() >= 8, "{strategies:?}");
        for x in interior(f).into_iter().chain(edges(f)) {
            let y = f.value(x);
            let partial = partials::unary(f, &x, &y);
            for &k in &strategies {
                let r = k.vjp(&program, &[x], &[1.0]);
                let g = r.gradient.expect("a gradient")[0];
                assert!(
                    same(r.value[0], y)
                        && (r.value[0] != 0.0 || r.value[0].to_bits() == y.to_bits()),
                    "{}: {}({x:e}) = {}, f64 gives {y}",
                    k.name(),
                    f.name(),
                    r.value[0]
                );
                assert!(
                    same(g, partial),
                    "{}: d {}({x:e}) = {g}, the table gives {partial}",
                    k.name(),
                    f.name()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 24 * 8 * 8, "{checked}");
}

#[test]
fn every_own_strategy_gives_the_tables_partials_for_every_binary_function() {
    for f in Binary::ALL {
        let program = TwoOperands(f);
        let (ordinary, edges) = binary_points(f);
        for [x, y] in ordinary.into_iter().chain(edges) {
            let r = f.value(x, y);
            let (dx, dy) = partials::binary(f, &x, &y, &r);
            for k in own_strategies(&program) {
                let v = k.vjp(&program, &[x, y], &[1.0]);
                let g = v.gradient.expect("a gradient");
                assert!(
                    same(v.value[0], r),
                    "{}: {}({x:e}, {y:e}) = {}, f64 gives {r}",
                    k.name(),
                    f.name(),
                    v.value[0]
                );
                assert!(
                    same(g[0], dx) && same(g[1], dy),
                    "{}: d {}({x:e}, {y:e}) = {g:?}, the table gives [{dx}, {dy}]",
                    k.name(),
                    f.name()
                );
            }
        }
    }
}

#[test]
fn the_tables_unary_partials_agree_with_finite_differences_inside_the_domain() {
    for f in Unary::ALL {
        for x in interior(f) {
            let partial = partials::unary(f, &x, &f.value(x));
            let fd = central_difference(|x| f.value(x), x);
            assert!(
                distance(partial, fd) <= 1e-8,
                "d {}({x}): table {partial}, finite differences {fd}",
                f.name()
            );
        }
    }
}

#[test]
fn the_tables_binary_partials_agree_with_finite_differences_inside_the_domain() {
    for f in Binary::ALL {
        for [x, y] in binary_points(f).0 {
            let (dx, dy) = partials::binary(f, &x, &y, &f.value(x, y));
            let fdx = central_difference(|x| f.value(x, y), x);
            let fdy = central_difference(|y| f.value(x, y), y);
            assert!(
                distance(dx, fdx) <= 1e-8 && distance(dy, fdy) <= 1e-8,
                "d {}({x}, {y}): table ({dx}, {dy}), finite differences ({fdx}, {fdy})",
                f.name()
            );
        }
    }
}

/// `x0 * f(x1 * 0 + at)`: `f`'s argument does not move with x1, so its partial at `at` (infinite
/// at the edges below) meets the zero partial of `* 0`.
struct BehindAZero(Unary, f64);

impl Program for BehindAZero {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].clone() * (x[1].clone() * 0.0 + self.1).apply(self.0)]
    }
}

#[test]
fn an_infinite_partial_at_a_domain_edge_behind_a_zero_partial_carries_nothing() {
    for (f, at) in [
        (Unary::Asin, 1.0),
        (Unary::Acos, -1.0),
        (Unary::Acosh, 1.0),
        (Unary::Atanh, 1.0),
        (Unary::Ln1p, -1.0),
        (Unary::Cbrt, 0.0),
        (Unary::Sqrt, 0.0),
        (Unary::Recip, 0.0),
    ] {
        assert!(
            partials::unary(f, &at, &f.value(at)).is_infinite(),
            "{}",
            f.name()
        );
        let program = BehindAZero(f, at);
        for k in own_strategies(&program) {
            let g = k.vjp(&program, &[2.0, 0.5], &[1.0]).gradient.unwrap();
            assert_eq!(g, [f.value(at), 0.0], "{}: {}", k.name(), f.name());
        }
    }
}

#[test]
fn peers_agree_with_the_table_within_tolerance_inside_the_domain() {
    for k in peers() {
        for f in Unary::ALL {
            let program = OneOperand(f);
            for x in interior(f) {
                let y = f.value(x);
                let partial = partials::unary(f, &x, &y);
                let r = k.vjp(&program, &[x], &[1.0]);
                let g = r.gradient.expect("a gradient")[0];
                assert!(
                    distance(r.value[0], y) <= 1e-14 && distance(g, partial) <= 1e-12,
                    "{}: {}({x}) = {} with derivative {g}; expected {y} and {partial}",
                    k.name(),
                    f.name(),
                    r.value[0]
                );
            }
        }
        for f in Binary::ALL {
            let program = TwoOperands(f);
            for [x, y] in binary_points(f).0 {
                let r = f.value(x, y);
                let (dx, dy) = partials::binary(f, &x, &y, &r);
                let v = k.vjp(&program, &[x, y], &[1.0]);
                let g = v.gradient.expect("a gradient");
                assert!(
                    distance(v.value[0], r) <= 1e-14
                        && distance(g[0], dx) <= 1e-12
                        && distance(g[1], dy) <= 1e-12,
                    "{}: {}({x}, {y}) = {} with derivatives {g:?}; expected {r} and ({dx}, {dy})",
                    k.name(),
                    f.name(),
                    v.value[0]
                );
            }
        }
    }
}

/// `sum(xs)` and `product(xs)` over references (`Sum<&R>`, `Product<&R>`), and the same by
/// value.
struct Folds;

impl Program for Folds {
    fn input_len(&self) -> usize {
        4
    }
    fn output_len(&self) -> usize {
        4
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![
            x.iter().sum::<R>(),
            x.iter().product::<R>(),
            x.iter().cloned().sum::<R>(),
            x.iter().cloned().product::<R>()
        ]
    }
}

#[test]
fn sums_and_products_over_references_have_the_closed_form_jacobian() {
    for x in [[1.5, -2.0, 0.5, 3.0], [0.7, 0.0, -1.25, 4.0]] {
        let product: f64 = x.iter().product();
        let others = |i: usize| -> f64 {
            x.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, v)| v)
                .product()
        };
        let expected = [
            vec![1.0; 4],
            (0..4).map(others).collect::<Vec<f64>>(),
            vec![1.0; 4],
            (0..4).map(others).collect::<Vec<f64>>(),
        ];
        for k in StrategyKind::ALL
            .iter()
            .copied()
            .filter(|k| k.differentiates() && k.why_unavailable(&Folds).is_none())
        {
            let j = k.jacobian(&Folds, &x);
            let rows = j.rows.expect("a Jacobian");
            assert_eq!(j.value[0], x.iter().sum::<f64>(), "{}", k.name());
            assert_eq!(j.value[1], product, "{}", k.name());
            assert_eq!(rows.len(), expected.len(), "{}", k.name());
            for (row, want) in rows.iter().zip(&expected) {
                assert_close(row, want, 1e-15, k.name());
            }
        }
    }
}

/// The four mixed operations with the constant on the left, and their derivatives at `x`:
/// `2 x`, `1 - x`, `3 / x`, `1 + x`.
fn left_constants_expected(x: f64) -> ([f64; 4], [f64; 4]) {
    (
        [2.0 * x, 1.0 - x, 3.0 / x, 1.0 + x],
        [2.0, -1.0, -(3.0 / x) / x, 1.0],
    )
}

/// Asserts the values and derivatives of the four left-constant operations: exactly for
/// dualbench's own strategies (`tolerance` 0), within `tolerance` for a peer, whose crate forms
/// `c / x` its own way (num-dual's value is off by an ulp).
fn assert_left_constants(
    what: &str,
    tolerance: f64,
    x: f64,
    values: [f64; 4],
    derivatives: [f64; 4],
) {
    let (want_values, want_derivatives) = left_constants_expected(x);
    for i in 0..4 {
        for (got, want, kind) in [
            (values[i], want_values[i], "value"),
            (derivatives[i], want_derivatives[i], "derivative"),
        ] {
            assert!(
                got == want || distance(got, want) <= tolerance,
                "{what}: {kind} {i} at {x} is {got}, expected {want}"
            );
        }
    }
}

#[test]
fn tape_differentiates_constants_on_the_left() {
    use strategies::tape::{Tape, TapeReal};
    for x in [0.75, -2.5] {
        let mut values = [0.0; 4];
        let mut derivatives = [0.0; 4];
        for i in 0..4 {
            let r = Tape::vjp_with(&[x], &[1.0], |v: &[TapeReal]| {
                let a = v[0];
                outputs![match i {
                    0 => 2.0 * a,
                    1 => 1.0 - a,
                    2 => 3.0 / a,
                    _ => 1.0 + a,
                }]
            });
            values[i] = r.value[0];
            derivatives[i] = r.gradient.unwrap()[0];
        }
        assert_left_constants("tape", 0.0, x, values, derivatives);
    }
}

#[test]
fn forward_duals_differentiate_constants_on_the_left() {
    use strategies::forward::Dual;
    use strategies::forward_vec::{DualVec, LANES};
    for x in [0.75, -2.5] {
        let a = Dual::new(x, 1.0);
        let results = [2.0 * a, 1.0 - a, 3.0 / a, 1.0 + a];
        assert_left_constants(
            "forward",
            0.0,
            x,
            results.map(|d| *d.primal()),
            results.map(|d| *d.tangent()),
        );

        let mut seed = [0.0; LANES];
        seed[LANES - 1] = 1.0;
        let v = DualVec::new(x, seed);
        let results = [2.0 * v, 1.0 - v, 3.0 / v, 1.0 + v];
        assert_left_constants(
            "forward-vec",
            0.0,
            x,
            results.map(|d| d.value()),
            results.map(|d| d.tangent()[LANES - 1]),
        );
        assert!(results.iter().all(|d| d.tangent()[0] == 0.0));
    }
}

#[cfg(feature = "peer-autodiff")]
#[test]
fn peer_autodiff_differentiates_constants_on_the_left() {
    use strategies::peers::autodiff::AutodiffReal;
    for x in [0.75, -2.5] {
        let a = AutodiffReal(autodiff::F::var(x));
        let results = [2.0 * a, 1.0 - a, 3.0 / a, 1.0 + a];
        assert_left_constants(
            "peer-autodiff",
            1e-15,
            x,
            results.map(|d| d.value()),
            results.map(|d| d.deriv()),
        );
    }
}

#[cfg(feature = "peer-num-dual")]
#[test]
fn peer_num_dual_differentiates_constants_on_the_left() {
    use strategies::peers::num_dual::NumDualReal;
    for x in [0.75, -2.5] {
        let a = NumDualReal(num_dual::DualSVec64::from_re(x).derivative(2));
        let results = [2.0 * a, 1.0 - a, 3.0 / a, 1.0 + a];
        assert_left_constants(
            "peer-num-dual",
            1e-15,
            x,
            results.map(|d| d.value()),
            results.map(|d| d.tangent(2)),
        );
    }
}
