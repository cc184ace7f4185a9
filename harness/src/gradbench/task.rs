//! One evaluation: a request resolved to a module's function at a checked input
//! ([`Task::new`]), refused when its predicted work is beyond the work cap, else built and run
//! `min_runs` times and for `min_seconds`, each run timed alone ([`Task::run`]).
//!
//! **The work cap.** GradBench's inputs have no size limit, so every strategy is capped here
//! (in `verify` and `grad`, whose sizes are bounded, only the dense and path-counting ones
//! are, [`caps::is_capped`]). The prediction is `verify`'s ([`caps::work`]) from the T that
//! the module works out from the input's shape alone, times `min_runs`, plus the program's
//! setup: a hopeless request (`det` at `ell` = 20, `llsq` at n = 10^12, `min_runs` = 10^12)
//! is refused before anything is built. A path-counting strategy's work also depends on the
//! program's paths, which only a counting run of the program tells: that run is made once the
//! shape's bound has passed (it costs T, below the cap), and its count is checked again.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use strategies::op_count::OpCount;
use strategies::{CostClass, StrategyKind};

use crate::gradbench::input::{Runs, MAX_RUNS};
use crate::gradbench::modules::{Computes, Module, Plan, Shape};
use crate::gradbench::protocol::{EvaluateReply, EvaluateRequest, Timing};
use crate::output;
use crate::verify::caps;

/// One function of one module at one input, checked and planned.
#[derive(Debug)]
pub struct Task {
    module: Module,
    function: String,
    computes: Computes,
    runs: Runs,
    plan: Plan,
}

impl Task {
    /// The task of `request`: its module and function resolved, its input checked and its
    /// cost planned.
    pub fn new(request: &EvaluateRequest) -> Result<Task, String> {
        let module = Module::from_name(&request.module).ok_or_else(|| {
            format!(
                "unknown module `{}`; dualbench defines {}",
                request.module,
                Module::names()
            )
        })?;
        let computes = module.computes(&request.function)?;
        let runs = Runs::of(&request.input)?;
        let plan = module.plan(computes, &request.input)?;
        Ok(Task {
            module,
            function: request.function.clone(),
            computes,
            runs,
            plan,
        })
    }

    /// The strategy whose work one run is: `strategy` for a derivative, `primal` (plain
    /// `f64`) for a value.
    fn runs_under(&self, strategy: StrategyKind) -> StrategyKind {
        match self.computes {
            Computes::Value => StrategyKind::Primal,
            Computes::Gradient => strategy,
        }
    }

    /// The predicted work of the whole evaluation under `strategy` at `count`: `min_runs`
    /// runs plus the setup.
    fn predicted_work(&self, strategy: StrategyKind, count: &OpCount) -> f64 {
        let per_run = caps::work(self.runs_under(strategy), count, self.plan.x.len(), 1);
        per_run * self.runs.min_runs as f64 + self.plan.setup
    }

    /// Why the evaluation is refused under `strategy` and `work_cap` (0: no cap), if it is:
    /// the input, the predicted work and the cap.
    fn refusal(&self, strategy: StrategyKind, count: &OpCount, work_cap: f64) -> Option<String> {
        let work = self.predicted_work(strategy, count);
        if !caps::beyond(work, work_cap) {
            return None;
        }
        let under = match self.computes {
            Computes::Value => "on f64".to_string(),
            Computes::Gradient => format!("under strategy `{}`", strategy.name()),
        };
        let runs = match self.runs.min_runs {
            1 => String::new(),
            runs => format!(" and `min_runs` = {runs}"),
        };
        // Before the count, a path-counting strategy's work is known only from below.
        let (about, paths) = match self.runs_under(strategy).cost_class() {
            CostClass::Paths if count.naive_calls == 0.0 => ("at least", String::new()),
            CostClass::Paths => (
                "about",
                format!(", {:.3e} backpropagator calls", count.naive_calls),
            ),
            _ => ("about", String::new()),
        };
        let linear = if caps::is_capped(self.runs_under(strategy)) {
            ", or run dualbench gradbench with a linear strategy (tape, dualrev)"
        } else {
            ""
        };
        Some(format!(
            "{} `{}` at {}{runs} would take {about} {work:.3e} steps of work {under} (T = {:.3e} \
             operations per run{paths}, {} inputs), beyond the work cap of {work_cap:e} steps; \
             send a smaller input{}, raise `dualbench gradbench --work-cap` (0 for no cap){linear}",
            self.module.name(),
            self.function,
            self.plan.sizes,
            self.plan.ops,
            self.plan.x.len(),
            if runs.is_empty() {
                ""
            } else {
                " or fewer runs"
            },
        ))
    }

    /// Run the task under `strategy`: refused when its predicted work is beyond `work_cap` (0
    /// for no cap; see the module documentation), else built and run `min_runs` times and
    /// until `min_seconds` have passed (at most [`MAX_RUNS`] runs), each run timed alone; the
    /// output is the last run's.
    pub fn run(&self, strategy: StrategyKind, work_cap: f64) -> EvaluateReply {
        // u64 saturates: a T beyond it is beyond any cap.
        let shape_count = OpCount {
            ops: self.plan.ops as u64,
            naive_calls: 0.0,
        };
        if let Some(refusal) = self.refusal(strategy, &shape_count, work_cap) {
            return EvaluateReply::failure(refusal);
        }
        let program = self.plan.build();
        if let Some(reason) = program.why_unavailable(self.runs_under(strategy)) {
            return EvaluateReply::failure(format!(
                "strategy `{}` cannot compute {} `{}`: {reason}",
                strategy.name(),
                self.module.name(),
                self.function
            ));
        }
        if self.runs_under(strategy).cost_class() == CostClass::Paths {
            let count = program.op_count(&self.plan.x);
            if let Some(refusal) = self.refusal(strategy, &count, work_cap) {
                return EvaluateReply::failure(refusal);
            }
        }
        let x = &self.plan.x;
        let mut timings = Vec::new();
        let mut total = Duration::ZERO;
        let mut output;
        loop {
            let started = Instant::now();
            output = match self.computes {
                Computes::Value => program.primal(x),
                Computes::Gradient => match program.vjp(strategy, x, &[1.0]).gradient {
                    Some(gradient) => gradient,
                    None => {
                        return EvaluateReply::failure(format!(
                            "strategy `{}` computes no derivatives",
                            strategy.name()
                        ))
                    }
                },
            };
            let elapsed = started.elapsed();
            std::hint::black_box(&output);
            total += elapsed;
            timings.push(Timing {
                name: "evaluate".into(),
                nanoseconds: elapsed.as_nanos(),
            });
            let made = timings.len() as u64;
            if made < self.runs.min_runs {
                continue;
            }
            if total.as_secs_f64() >= self.runs.min_seconds {
                break;
            }
            if made >= MAX_RUNS {
                output::note(&format!(
                    "gradbench: {} `{}` stopped after {MAX_RUNS} runs, which took {:.3} s of \
                     the {} s of `min_seconds` (each run is one timing of the response)",
                    self.module.name(),
                    self.function,
                    total.as_secs_f64(),
                    self.runs.min_seconds
                ));
                break;
            }
        }
        match output_value(self.plan.shape, &output) {
            Ok(output) => EvaluateReply {
                success: true,
                output: Some(output),
                timings,
                error: None,
            },
            Err(error) => EvaluateReply::failure(error),
        }
    }
}

/// The flat `values` in the function's output type; an error if one is not finite (JSON has
/// no NaN or infinity).
fn output_value(shape: Shape, values: &[f64]) -> Result<Value, String> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "the output's entry {i} is {}, which JSON cannot carry",
            values[i]
        ));
    }
    Ok(match shape {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(module: &str, function: &str, input: Value) -> Task {
        Task::new(&EvaluateRequest {
            module: module.into(),
            function: function.into(),
            input,
        })
        .unwrap()
    }

    #[test]
    fn a_fast_function_stops_at_the_most_runs_before_a_long_min_seconds() {
        let reply = task("hello", "square", json!(3.0));
        let slow = Task {
            runs: Runs {
                min_runs: 1,
                min_seconds: 600.0,
            },
            ..reply
        };
        let started = Instant::now();
        let reply = slow.run(StrategyKind::Tape, 0.0);
        assert!(reply.success, "{reply:?}");
        assert_eq!(reply.timings.len() as u64, MAX_RUNS);
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn naives_paths_are_counted_once_the_shapes_bound_is_within_the_cap() {
        let det = task("det", "gradient", json!({"A": vec![0.5; 25], "ell": 5}));
        let n = 25.0;
        let shape_bound = (det.plan.ops + n) * (n + 1.0);
        let paths = det.plan.build().op_count(&det.plan.x).naive_calls;
        assert!(paths * (n + 1.0) > shape_bound + 1.0, "{paths} paths");
        // Within the shape's bound, beyond the paths: refused after counting them.
        let reply = det.run(StrategyKind::Naive, shape_bound + 1.0);
        let error = reply.error.unwrap();
        assert!(error.contains("backpropagator calls"), "{error}");
        assert!(error.contains("linear strategy"), "{error}");
        // Below the shape's bound: refused before anything is built (no count of paths).
        let det = task("det", "gradient", json!({"A": vec![0.5; 25], "ell": 5}));
        let error = det
            .run(StrategyKind::Naive, shape_bound / 2.0)
            .error
            .unwrap();
        assert!(error.contains("would take at least"), "{error}");
        assert!(!error.contains("backpropagator calls"), "{error}");
        // A linear strategy runs it under the same cap.
        let det = task("det", "gradient", json!({"A": vec![0.5; 25], "ell": 5}));
        assert!(det.run(StrategyKind::Tape, shape_bound / 2.0).success);
    }
}
