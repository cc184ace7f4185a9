//! `naive`: rung 0 of the ladder — dual numbers whose second component is a backpropagator
//! closure returning a dense cotangent vector (Smeding & Vákár, POPL 2023, Fig. 6;
//! `docs/ladder.md`, rung 0). Faithfully slow: its cost is the point.
//!
//! # Representation
//!
//! A scalar is a [`NaiveDual`]: its primal value and a [`Backpropagator`], a reference-counted
//! closure `dz -> cotangent of the inputs`, a dense vector of length n. The closure captures its
//! operands' backpropagators, so the computation graph lives in the values. n is read, when a
//! closure is created, from a thread-local that [`Naive::vjp`] sets for the duration of the call
//! (and restores afterwards, so a gradient may run inside another's program).
//!
//! - input i:    `dz -> dz * e_i` (a one-hot vector of length n);
//! - constant:   `dz -> 0` (the zero vector of length n); this includes [`Real::constant`] and
//!   results such as `relu`'s zero, and the closure is called like any other;
//! - binary op with partials (dx, dy): `dz -> bx(dx * dz) + by(dy * dz)`, e.g. for `x * y`
//!   `dz -> bx(y dz) + by(x dz)` and for `x + y` `dz -> bx(dz) + by(dz)` (dx = dy = 1);
//! - unary op (elementary functions and mixed operations with an `f64`): `dz -> bx(op'(x) dz)`.
//!
//! Nothing is memoised: an operation on constants still builds a closure, and a backpropagator
//! runs once per use of its value.
//!
//! # Algorithm and cost
//!
//! The gradient calls each output's backpropagator with its cotangent and sums the vectors:
//! `b_1(w_1) + ... + b_m(w_m)` (every output, also those with w_j = 0, as the backpropagator of
//! the output tuple would; m = 0 gives the zero vector). Two independent costs follow, both of
//! which the harness shows:
//!
//! 1. each call of a binary node adds two length-n vectors, and each input or constant call
//!    creates one, so even a program without sharing costs O(n T) (dot product: Theta(n^2));
//! 2. a value used k times has its backpropagator — and all its ancestors' — run k times: the
//!    number of calls is the number of paths in the graph, exponential in the worst case
//!    (repeated squaring: 2^(k+1) - 1 calls for k steps).
//!
//! For a single output seeded with 1 the number of calls equals
//! [`crate::op_count::count_ops`]'s `naive_calls` exactly (an input or constant makes one call,
//! an operation one plus the calls of each operand use).
//!
//! # Stack use
//!
//! Calling a backpropagator recurses once per operation on the path, and dropping a long chain
//! of closures recurses too: naive is recursive by nature. The harness therefore runs it on a
//! thread with a large stack and records a stack overflow as the case's status.
//!
//! # Counters
//!
//! - `backprop_calls`: backpropagator invocations, the seed calls of the outputs included;
//! - `dense_elements`: vector elements written by dense vector operations: n for each one-hot or
//!   zero vector created (inputs, constants, the gradient of a program without outputs) and n
//!   for each elementwise addition of two cotangent vectors (binary nodes, and summing the
//!   outputs' vectors).
//!
//! Both count everything done during the call, including gradients nested inside the program.
//! Counting is a property of the closures: a gradient that reports counters (the untimed
//! counting pass) builds closures that increment them, a timed gradient builds closures that
//! do exactly the paper's work and nothing else. The choice is made once per closure, when it
//! is created.
//!
//! # Generations
//!
//! Every value carries the generation of the gradient call that created it (constants carry
//! none and are valid everywhere). An operation on a value of another generation — one kept
//! from a finished gradient, or carried into a nested one — panics with a clear message, as in
//! every other strategy.
//!
//! # Phases
//!
//! `forward` is lifting the inputs and evaluating the program (building the closures);
//! `reverse` is calling the backpropagators and dropping the closure graph.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use crate::contrib::{next_generation, Generation};
use crate::forward::impl_real_from_partials;
use crate::program::{check_inputs, check_lengths, Derivatives, Probe, Program, Strategy};
use crate::real::{partials, Real};

/// A backpropagator: from the cotangent of one scalar to the dense cotangent of the n inputs.
pub type Backpropagator = Rc<dyn Fn(f64) -> Vec<f64>>;

/// The generation of constants, and of "no gradient running".
const NO_GRADIENT: Generation = 0;

/// The gradient call running on this thread.
#[derive(Clone, Copy)]
struct Frame {
    generation: Generation,
    /// n, the length of every cotangent vector.
    inputs: usize,
    /// Whether closures created now count their calls and dense elements.
    counting: bool,
}

thread_local! {
    static FRAME: Cell<Frame> = const {
        Cell::new(Frame { generation: NO_GRADIENT, inputs: 0, counting: true })
    };
    static BACKPROP_CALLS: Cell<u64> = const { Cell::new(0) };
    static DENSE_ELEMENTS: Cell<u64> = const { Cell::new(0) };
}

fn count_call() {
    BACKPROP_CALLS.with(|c| c.set(c.get() + 1));
}

fn count_dense(elements: usize) {
    DENSE_ELEMENTS.with(|c| c.set(c.get() + elements as u64));
}

/// `acc += other`, elementwise.
#[inline]
fn add_dense(acc: &mut [f64], other: &[f64]) {
    assert_eq!(
        acc.len(),
        other.len(),
        "naive: cotangent vectors of different lengths"
    );
    for (a, b) in acc.iter_mut().zip(other) {
        *a += b;
    }
}

/// `acc += other`, counting the n elements written.
fn add_dense_counted(acc: &mut [f64], other: &[f64]) {
    count_dense(acc.len());
    add_dense(acc, other);
}

/// The zero cotangent of the running gradient: the value of a constant's backpropagator.
fn zero_cotangent() -> Vec<f64> {
    vec![0.0; FRAME.with(Cell::get).inputs]
}

#[cold]
#[inline(never)]
fn foreign_value(value_generation: Generation, running: Generation) -> ! {
    if running == NO_GRADIENT {
        panic!(
            "naive: active value used outside the gradient call that created it (it belongs \
             to gradient #{value_generation} of this thread, and no gradient is running): \
             active values must not outlive the `vjp` call that created them"
        );
    }
    panic!(
        "naive: active value used outside the gradient call that created it (it belongs to \
         gradient #{value_generation} of this thread, the running gradient is #{running}): \
         active values must not outlive their `vjp` call nor be carried into a nested one"
    );
}

/// The running frame, after checking that operands of generations `a` and `b` belong to it
/// (or are constants); and the generation of their result (a constant's, if both are).
#[inline]
fn frame_for(a: Generation, b: Generation) -> (Frame, Generation) {
    let frame = FRAME.with(Cell::get);
    for g in [a, b] {
        if g != NO_GRADIENT && g != frame.generation {
            foreign_value(g, frame.generation);
        }
    }
    (frame, a.max(b))
}

/// A dual number of rung 0: a value and its backpropagator.
#[derive(Clone)]
pub struct NaiveDual {
    value: f64,
    generation: Generation,
    backprop: Backpropagator,
}

impl fmt::Debug for NaiveDual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NaiveDual")
            .field("value", &self.value)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl NaiveDual {
    /// Input `i` of the running gradient: backpropagator `dz -> dz * e_i`.
    fn input(value: f64, i: usize, frame: Frame) -> Self {
        let n = frame.inputs;
        let backprop: Backpropagator = if frame.counting {
            Rc::new(move |dz| {
                count_call();
                count_dense(n);
                let mut c = vec![0.0; n];
                c[i] = dz;
                c
            })
        } else {
            Rc::new(move |dz| {
                let mut c = vec![0.0; n];
                c[i] = dz;
                c
            })
        };
        Self {
            value,
            generation: frame.generation,
            backprop,
        }
    }

    /// Whether it belongs to a gradient (a constant does not).
    #[inline(always)]
    fn is_active(&self) -> bool {
        self.generation != NO_GRADIENT
    }

    /// A constant: backpropagator `dz -> 0`, the zero vector of the gradient that calls it.
    fn inactive(value: f64) -> Self {
        let backprop: Backpropagator = if FRAME.with(Cell::get).counting {
            Rc::new(move |_dz| {
                count_call();
                let zero = zero_cotangent();
                count_dense(zero.len());
                zero
            })
        } else {
            Rc::new(move |_dz| zero_cotangent())
        };
        Self {
            value,
            generation: NO_GRADIENT,
            backprop,
        }
    }

    fn unary(&self, value: f64, d: f64) -> Self {
        let (frame, generation) = frame_for(self.generation, NO_GRADIENT);
        let bx = Rc::clone(&self.backprop);
        let backprop: Backpropagator = if frame.counting {
            Rc::new(move |dz| {
                count_call();
                bx(partials::times(d, dz))
            })
        } else {
            Rc::new(move |dz| bx(partials::times(d, dz)))
        };
        Self {
            value,
            generation,
            backprop,
        }
    }

    fn binary(&self, other: &Self, value: f64, dx: f64, dy: f64) -> Self {
        let (frame, generation) = frame_for(self.generation, other.generation);
        let bx = Rc::clone(&self.backprop);
        let by = Rc::clone(&other.backprop);
        let backprop: Backpropagator = if frame.counting {
            Rc::new(move |dz| {
                count_call();
                let mut c = bx(partials::times(dx, dz));
                add_dense_counted(&mut c, &by(partials::times(dy, dz)));
                c
            })
        } else {
            Rc::new(move |dz| {
                let mut c = bx(partials::times(dx, dz));
                add_dense(&mut c, &by(partials::times(dy, dz)));
                c
            })
        };
        Self {
            value,
            generation,
            backprop,
        }
    }
}

impl_real_from_partials!(NaiveDual);

/// Installs a fresh frame for one gradient call and restores the previous one when dropped
/// (also on panic), so that nested gradients see their own n and generation.
struct GradientScope {
    previous: Frame,
}

impl GradientScope {
    fn enter(inputs: usize, counting: bool) -> (Self, Frame) {
        let generation = next_generation();
        let frame = Frame {
            generation,
            inputs,
            counting,
        };
        let previous = FRAME.with(|f| f.replace(frame));
        (Self { previous }, frame)
    }
}

impl Drop for GradientScope {
    fn drop(&mut self) {
        FRAME.with(|f| f.set(self.previous));
    }
}

/// Rung 0: backpropagator closures with dense cotangent vectors.
#[derive(Clone, Copy, Debug, Default)]
pub struct Naive;

impl Strategy for Naive {
    const NAME: &'static str = "naive";
    const DESCRIPTION: &'static str =
        "rung 0: (value, closure -> dense cotangent) pairs: one call per path, O(n) per add";
    const COUNTERS: &'static [&'static str] = &["backprop_calls", "dense_elements"];

    fn vjp_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        cotangent: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        backpropagate(program, x, Rows::Cotangent(cotangent), out, probe);
    }

    /// One forward pass; each output's backpropagator is called once with cotangent 1, giving
    /// its row (a backpropagator is a closure: it can be called again).
    fn jacobian_into<P: Program, Q: Probe>(
        program: &P,
        x: &[f64],
        out: &mut Derivatives,
        probe: &mut Q,
    ) {
        check_inputs(program.input_len(), x);
        out.clear();
        backpropagate(program, x, Rows::Unit, out, probe);
    }
}

/// What the output backpropagators are called with.
#[derive(Clone, Copy)]
enum Rows<'a> {
    /// Output j's with `w[j]`, the parts summed: `w^T J`.
    Cotangent(&'a [f64]),
    /// Each output's with 1, each part a row of the Jacobian.
    Unit,
}

/// Evaluate `program` at `x` once and call the outputs' backpropagators as `rows` says,
/// appending the result to `out.derivative`.
#[inline]
fn backpropagate<P: Program, Q: Probe>(
    program: &P,
    x: &[f64],
    rows: Rows<'_>,
    out: &mut Derivatives,
    probe: &mut Q,
) {
    let n = x.len();
    let calls_before = BACKPROP_CALLS.with(Cell::get);
    let dense_before = DENSE_ELEMENTS.with(Cell::get);

    probe.forward_starts();
    let (scope, frame) = GradientScope::enter(n, Q::COUNTS);
    let inputs: Vec<NaiveDual> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| NaiveDual::input(v, i, frame))
        .collect();
    let outputs = program.eval(&inputs);

    probe.reverse_starts();
    out.value.clear();
    out.value.extend(outputs.iter().map(Real::value));
    match rows {
        Rows::Cotangent(cotangent) => {
            let mut parts = outputs.iter().zip(cotangent).map(|(o, &w)| {
                frame_for(o.generation, NO_GRADIENT);
                (o.backprop)(w)
            });
            match parts.next() {
                Some(mut sum) => {
                    for part in parts {
                        if Q::COUNTS {
                            add_dense_counted(&mut sum, &part);
                        } else {
                            add_dense(&mut sum, &part);
                        }
                    }
                    out.derivative.extend_from_slice(&sum);
                }
                None => {
                    if Q::COUNTS {
                        count_dense(n);
                    }
                    out.derivative.resize(out.derivative.len() + n, 0.0);
                }
            }
        }
        Rows::Unit => {
            for o in &outputs {
                frame_for(o.generation, NO_GRADIENT);
                out.derivative.extend_from_slice(&(o.backprop)(1.0));
            }
        }
    }
    drop(outputs);
    drop(inputs);
    drop(scope);
    probe.finished();

    if Q::COUNTS {
        probe.counters(&[
            (
                "backprop_calls",
                BACKPROP_CALLS.with(Cell::get) - calls_before,
            ),
            (
                "dense_elements",
                DENSE_ELEMENTS.with(Cell::get) - dense_before,
            ),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op_count::count_ops;
    use crate::program::{outputs, Outputs};
    use crate::test_programs::SquareChain;

    #[test]
    fn constants_on_the_left_have_the_shared_partials() {
        use crate::test_programs::{constants_on_the_left, constants_on_the_left_expected};
        for x in [0.75, -2.5] {
            let (values, derivatives) = constants_on_the_left_expected(x);
            let (_scope, frame) = GradientScope::enter(1, false);
            let input = NaiveDual::input(x, 0, frame);
            for (k, y) in constants_on_the_left(&input).iter().enumerate() {
                assert_eq!(y.value, values[k], "{k}");
                assert_eq!((y.backprop)(1.0), [derivatives[k]], "{k}");
            }
        }
    }

    #[test]
    fn naive_square_chain_calls_are_exponential() {
        // calls(0) = 1 (the input's own call); step k calls its own closure once and the
        // previous value's backpropagator twice: calls(k) = 1 + 2 calls(k - 1) = 2^(k+1) - 1.
        let mut calls = 1u64;
        for k in 0..=12usize {
            if k > 0 {
                calls = 1 + 2 * calls;
            }
            assert_eq!(calls, (1u64 << (k + 1)) - 1);
            let x = 1.001;
            let r = Naive::vjp(&SquareChain(k), &[x], &[1.0]);
            assert_eq!(r.counters.get("backprop_calls"), Some(calls), "k = {k}");
            assert_eq!(count_ops(&SquareChain(k), &[x]).naive_calls, calls as f64);
            // d/dx x^(2^k) = 2^k x^(2^k - 1).
            let p = 2f64.powi(k as i32);
            let expected = p * x.powf(p - 1.0);
            let g = r.gradient.unwrap()[0];
            assert!(
                (g - expected).abs() <= 1e-12 * expected,
                "k = {k}: {g} vs {expected}"
            );
        }
    }

    /// acc = 0; acc += x_i * y_i for i < n; inputs x then y (2n of them).
    struct Dot(usize);
    impl Program for Dot {
        fn input_len(&self) -> usize {
            2 * self.0
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let (a, b) = x.split_at(self.0);
            let mut acc = R::constant(0.0);
            for (ai, bi) in a.iter().zip(b) {
                acc += ai.clone() * bi.clone();
            }
            outputs![acc]
        }
    }

    #[test]
    fn naive_dot_product_dense_elements_are_quadratic() {
        for n in 0..=20usize {
            // N = 2n inputs, so every dense vector has N elements. One backpropagation visits
            // the constant 0 once (a zero vector: N), each product x_i * y_i once (two one-hot
            // vectors and their sum: 3N) and each accumulation once (one sum: N):
            // N + 3Nn + Nn = N (4n + 1) = 2n (4n + 1).
            let len = 2 * n;
            let x: Vec<f64> = (0..len).map(|i| i as f64 + 1.0).collect();
            let r = Naive::vjp(&Dot(n), &x, &[1.0]);
            assert_eq!(
                r.counters.get("dense_elements"),
                Some((2 * n * (4 * n + 1)) as u64),
                "n = {n}"
            );
            assert_eq!(r.counters.get("backprop_calls"), Some(1 + 4 * n as u64));
            let mut expected = x[n..].to_vec();
            expected.extend_from_slice(&x[..n]);
            assert_eq!(r.gradient, Some(expected));
        }
    }

    #[test]
    fn constants_backpropagate_a_called_zero_vector() {
        struct ReluOfNegative;
        impl Program for ReluOfNegative {
            fn input_len(&self) -> usize {
                3
            }
            fn output_len(&self) -> usize {
                1
            }
            fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
                outputs![(x[0].clone() - 10.0).relu()]
            }
        }
        // relu's zero is a constant: its closure is the one call, writing one zero vector.
        let r = Naive::vjp(&ReluOfNegative, &[1.0, 2.0, 3.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![0.0; 3]));
        assert_eq!(r.counters.get("backprop_calls"), Some(1));
        assert_eq!(r.counters.get("dense_elements"), Some(3));
    }

    /// Outer program whose body runs a naive gradient of a 1-input program.
    struct Nested;
    impl Program for Nested {
        fn input_len(&self) -> usize {
            2
        }
        fn output_len(&self) -> usize {
            1
        }
        fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
            let inner = Naive::vjp(&SquareChain(1), &[x[1].value()], &[1.0]);
            let slope = inner.gradient.unwrap()[0];
            outputs![x[0].clone() * x[1].clone() * slope + R::constant(1.0)]
        }
    }

    #[test]
    fn nested_gradient_restores_the_outer_input_length() {
        let r = Naive::vjp(&Nested, &[2.0, 3.0], &[1.0]);
        assert_eq!(r.gradient, Some(vec![18.0, 12.0]));
        assert_eq!(r.value, vec![37.0]);
    }

    #[test]
    #[should_panic(expected = "used outside the gradient call that created it")]
    fn a_value_from_a_finished_gradient_panics_in_a_later_one() {
        let kept = std::cell::RefCell::new(None);
        let mut out = Derivatives::default();
        let mut probe = crate::program::Recorder::default();
        let (scope, frame) = GradientScope::enter(1, true);
        *kept.borrow_mut() = Some(NaiveDual::input(1.0, 0, frame));
        drop(scope);
        let stale = kept.borrow_mut().take().unwrap();
        // A later gradient whose program uses the stale value.
        struct UsesStale(NaiveDual);
        impl Program for UsesStale {
            fn input_len(&self) -> usize {
                1
            }
            fn output_len(&self) -> usize {
                1
            }
            fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
                let _ = self.0.sin();
                outputs![x[0].clone()]
            }
        }
        Naive::vjp_into(&UsesStale(stale), &[2.0], &[1.0], &mut out, &mut probe);
    }

    #[test]
    fn a_constant_made_outside_any_gradient_is_valid_inside_one() {
        let c = NaiveDual::constant(3.0);
        let (_scope, frame) = GradientScope::enter(2, true);
        let x = NaiveDual::input(2.0, 0, frame);
        let y = x * c;
        assert_eq!((y.backprop)(1.0), vec![3.0, 0.0]);
    }
}
