//! Fork-join programs that safe Rust can write and that break the rule of
//! [`ParReal::join`](strategies::ParReal::join): a panic caught inside the gradient, and active
//! values passed between jobs that the job graph does not order. Every parallel strategy
//! either computes the right gradient or panics with a message that names the broken rule —
//! never a wrong number, never undefined behaviour (CI runs this file under valgrind).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use strategies::dualrev_par::DualrevPar;
use strategies::primal::Primal;
use strategies::tape::Tape;
use strategies::tape_par::TapePar;
use strategies::{outputs, Outputs, ParProgram, ParReal, ParStrategy};

const BRANCH_PANICKED: &str = "a branch of this gradient panicked";
const UNORDERED_FLOW: &str = "an active value may flow only from a job to its descendants";

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

/// The message of the panic `f` raised.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the gradient panics");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else {
        String::from("(a panic without a message)")
    }
}

/// The gradient of `program` at `x` panics under `dualrev-par` and `tape-par` (which share the
/// forward pass that enforces the rule), on 1 and 2 threads, with a message containing `rule`.
fn dualrev_par_panics_naming<P: ParProgram + Sync>(program: &P, x: &[f64], rule: &str) {
    panics_naming::<DualrevPar, P>(program, x, rule);
    panics_naming::<TapePar, P>(program, x, rule);
}

/// `S`'s gradient of `program` at `x` panics, on 1 and 2 threads, with a message containing
/// `rule`.
fn panics_naming<S: ParStrategy, P: ParProgram + Sync>(program: &P, x: &[f64], rule: &str) {
    for threads in [1, 2] {
        for _ in 0..10 {
            let message = panic_message(|| {
                pool(threads).install(|| {
                    S::par_vjp(program, x, &[1.0]);
                });
            });
            assert!(
                message.contains(rule),
                "{} on {threads} threads: the panic says {message:?}, not {rule:?}",
                S::NAME
            );
        }
    }
}

/// A branch hands an active value out through a mutex, then panics; the program catches the
/// panic and computes with the value (its node lived in the panicked branch's arena).
struct HandOutThenPanic;

impl ParProgram for HandOutThenPanic {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let stash = Mutex::new(None);
        let forked = catch_unwind(AssertUnwindSafe(|| {
            R::join(
                || {
                    *stash.lock().unwrap() = Some(x[0].sin());
                    panic!("the branch fails after handing its value out");
                },
                || x[0].cos(),
            )
        }));
        assert!(forked.is_err());
        let handed_out = stash.lock().unwrap().take().expect("the branch ran");
        outputs![handed_out * 2.0]
    }
}

#[test]
fn a_value_handed_out_of_a_panicked_branch_panics_naming_the_panic() {
    dualrev_par_panics_naming(&HandOutThenPanic, &[0.4], BRANCH_PANICKED);
}

/// As [`HandOutThenPanic`], but the handed-out value is returned as it is: no operation
/// touches it, the reverse pass would start from it.
struct ReturnHandedOut;

impl ParProgram for ReturnHandedOut {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let stash = Mutex::new(None);
        let forked = catch_unwind(AssertUnwindSafe(|| {
            R::join(
                || {
                    *stash.lock().unwrap() = Some(x[0].sin() * x[0].clone());
                    panic!("the branch fails after handing its value out");
                },
                || (),
            )
        }));
        assert!(forked.is_err());
        let handed_out = stash.lock().unwrap().take().expect("the branch ran");
        outputs![handed_out]
    }
}

#[test]
fn an_output_from_a_panicked_branch_panics_naming_the_panic() {
    dualrev_par_panics_naming(&ReturnHandedOut, &[0.4], BRANCH_PANICKED);
}

/// Catches the panic of a join's branch and goes on computing: f(x) = 0.8 x.
struct ContinueAfterCaughtPanic;

impl ParProgram for ContinueAfterCaughtPanic {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let before = x[0].clone() * 0.5;
        let forked = catch_unwind(AssertUnwindSafe(|| {
            R::join(|| panic!("the branch fails"), || before.sin())
        }));
        assert!(forked.is_err());
        outputs![x[0].clone() * 0.8 + before * 0.0]
    }
}

#[test]
fn computing_after_a_caught_branch_panic_panics_naming_the_panic() {
    dualrev_par_panics_naming(&ContinueAfterCaughtPanic, &[0.4], BRANCH_PANICKED);
}

/// Catches the panic of a join's branch, then forks again.
struct ForkAfterCaughtPanic;

impl ParProgram for ForkAfterCaughtPanic {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let forked = catch_unwind(AssertUnwindSafe(|| {
            R::join(|| panic!("the branch fails"), || ())
        }));
        assert!(forked.is_err());
        let (a, b) = R::join(|| x[0].sin(), || x[0].cos());
        outputs![a * b]
    }
}

#[test]
fn forking_after_a_caught_branch_panic_panics_naming_the_panic() {
    dualrev_par_panics_naming(&ForkAfterCaughtPanic, &[0.4], BRANCH_PANICKED);
}

/// A panic caught inside a branch, around a nested join: the branch itself goes on.
struct CaughtInsideABranch;

impl ParProgram for CaughtInsideABranch {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let (a, b) = R::join(
            || {
                let nested = catch_unwind(AssertUnwindSafe(|| {
                    R::join(|| panic!("the nested branch fails"), || x[0].exp())
                }));
                assert!(nested.is_err());
                x[0].sin()
            },
            || x[0].cos(),
        );
        outputs![a * b]
    }
}

#[test]
fn a_panic_caught_inside_a_branch_panics_naming_the_panic() {
    dualrev_par_panics_naming(&CaughtInsideABranch, &[0.4], BRANCH_PANICKED);
}

/// Branch `a` puts `sin x` in a mutex; branch `b` waits for it and returns `3 v`:
/// f(x) = 3 sin x, f'(0.4) = 3 cos 0.4.
struct SiblingHandOff;

impl ParProgram for SiblingHandOff {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let cell = Mutex::new(None);
        let ((), b) = R::join(
            || *cell.lock().unwrap() = Some(x[0].sin()),
            || loop {
                // `a` starts first (on this thread); on two threads `b` may wait for it.
                if let Some(v) = cell.lock().unwrap().take() {
                    break v * 3.0;
                }
                std::hint::spin_loop();
            },
        );
        outputs![b]
    }
}

#[test]
fn a_value_passed_between_sibling_branches_panics_naming_the_rule() {
    dualrev_par_panics_naming(&SiblingHandOff, &[0.4], UNORDERED_FLOW);
}

#[test]
fn the_sequential_strategies_differentiate_the_sibling_hand_off() {
    let expected = 3.0 * 0.4f64.cos();
    let tape = Tape::par_vjp(&SiblingHandOff, &[0.4], &[1.0]);
    assert_eq!(tape.value, vec![3.0 * 0.4f64.sin()]);
    assert!((tape.gradient.unwrap()[0] - expected).abs() < 1e-15);
    let primal = pool(2).install(|| Primal::par_vjp(&SiblingHandOff, &[0.4], &[1.0]));
    assert_eq!(primal.value, vec![3.0 * 0.4f64.sin()]);
}

/// A value passed from a nested branch to a branch of the enclosing fork (a cousin), where
/// the two jobs are not ordered either: f(x) = sin(x) cos(x) e^x.
struct CousinHandOff;

impl ParProgram for CousinHandOff {
    fn input_len(&self) -> usize {
        1
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let cell = Mutex::new(None);
        let (a, b) = R::join(
            || {
                let (s, c) = R::join(|| x[0].sin(), || x[0].cos());
                *cell.lock().unwrap() = Some(s.clone());
                s * c
            },
            || loop {
                if let Some(s) = cell.lock().unwrap().take() {
                    break s * x[0].exp();
                }
                std::hint::spin_loop();
            },
        );
        outputs![a + b]
    }
}

#[test]
fn a_value_passed_to_a_cousin_branch_panics_naming_the_rule() {
    dualrev_par_panics_naming(&CousinHandOff, &[0.4], UNORDERED_FLOW);
}

/// Values that flow only along the job graph — to a branch from every ancestor job, from
/// branches to the continuation, and through a mutex from a parent job into a nested branch —
/// are allowed, and differentiated exactly as by the tape.
struct OrderedFlows;

impl ParProgram for OrderedFlows {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: ParReal>(&self, x: &[R]) -> Outputs<R> {
        let shared = Mutex::new(x[0].clone() * x[1].clone());
        let (a, b) = R::join(
            || {
                let p = shared.lock().unwrap().clone();
                let (u, v) = R::join(|| p.sin(), || p.clone() * x[0].clone());
                *shared.lock().unwrap() = u.clone() + v.clone();
                u * v
            },
            || x[1].exp(),
        );
        let from_branch = shared.lock().unwrap().clone();
        outputs![a * b + from_branch]
    }
}

#[test]
fn values_that_flow_along_the_job_graph_are_differentiated_as_by_the_tape() {
    let x = [0.3, -0.6];
    let reference = Tape::par_vjp(&OrderedFlows, &x, &[1.0]);
    let expected = reference.gradient.unwrap();
    for threads in [1, 2] {
        for _ in 0..10 {
            for r in [
                pool(threads).install(|| DualrevPar::par_vjp(&OrderedFlows, &x, &[1.0])),
                pool(threads).install(|| TapePar::par_vjp(&OrderedFlows, &x, &[1.0])),
            ] {
                assert_eq!(r.value, reference.value);
                for (got, want) in r.gradient.unwrap().iter().zip(&expected) {
                    assert!((got - want).abs() <= 1e-15 * want.abs().max(1.0));
                }
            }
        }
    }
}
