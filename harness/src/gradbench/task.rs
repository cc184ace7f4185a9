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
//!
//! **Two programs.** kmeans' `dir` runs two vector-Jacobian products per run, the cost's and
//! that of its derivative along all ones ([`crate::gradbench::modules::Curvature`]): its
//! predicted work is the sum of the two programs' works, each checked as above, and both must
//! be available under the strategy.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use strategies::op_count::OpCount;
use strategies::{CostClass, DynProgram, StrategyKind};

use crate::gradbench::input::{Runs, MAX_RUNS};
use crate::gradbench::modules::{Computes, Curvature, Module, Plan, Shape};
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
            Computes::Gradient | Computes::NewtonDirection => strategy,
        }
    }

    /// The predicted work of the whole evaluation under `strategy` at `counts`, one for each
    /// program a run differentiates: `min_runs` runs plus the setup.
    fn predicted_work(&self, strategy: StrategyKind, counts: &[OpCount]) -> f64 {
        let per_run: f64 = counts
            .iter()
            .map(|count| caps::work(self.runs_under(strategy), count, self.plan.x.len(), 1))
            .sum();
        per_run * self.runs.min_runs as f64 + self.plan.setup
    }

    /// Why the evaluation is refused under `strategy` and `work_cap` (0: no cap), if it is:
    /// the input, the predicted work and the cap. `counts` are those of
    /// [`predicted_work`](Self::predicted_work).
    fn refusal(&self, strategy: StrategyKind, counts: &[OpCount], work_cap: f64) -> Option<String> {
        let work = self.predicted_work(strategy, counts);
        if !caps::beyond(work, work_cap) {
            return None;
        }
        let under = match self.computes {
            Computes::Value => "on f64".to_string(),
            Computes::Gradient | Computes::NewtonDirection => {
                format!("under strategy `{}`", strategy.name())
            }
        };
        let naive_calls: f64 = counts.iter().map(|c| c.naive_calls).sum();
        let runs = match self.runs.min_runs {
            1 => String::new(),
            runs => format!(" and `min_runs` = {runs}"),
        };
        // Before the count, a path-counting strategy's work is known only from below.
        let (about, paths) = match self.runs_under(strategy).cost_class() {
            CostClass::Paths if naive_calls == 0.0 => ("at least", String::new()),
            CostClass::Paths => ("about", format!(", {naive_calls:.3e} backpropagator calls")),
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
            self.plan.ops_per_run(),
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
        let shape_count = |ops: f64| OpCount {
            ops: ops as u64,
            naive_calls: 0.0,
        };
        let mut shape_counts = vec![shape_count(self.plan.ops)];
        shape_counts.extend(self.plan.curvature.as_ref().map(|c| shape_count(c.ops)));
        if let Some(refusal) = self.refusal(strategy, &shape_counts, work_cap) {
            return EvaluateReply::failure(refusal);
        }
        let program = self.plan.build();
        let curvature = self.plan.curvature.as_ref().map(Curvature::build);
        let programs: Vec<&dyn DynProgram> = std::iter::once(&*program)
            .chain(curvature.as_deref())
            .collect();
        for p in &programs {
            if let Some(reason) = p.why_unavailable(self.runs_under(strategy)) {
                return EvaluateReply::failure(format!(
                    "strategy `{}` cannot compute {} `{}`: {reason}",
                    strategy.name(),
                    self.module.name(),
                    self.function
                ));
            }
        }
        if self.runs_under(strategy).cost_class() == CostClass::Paths {
            let counts: Vec<OpCount> = programs.iter().map(|p| p.op_count(&self.plan.x)).collect();
            if let Some(refusal) = self.refusal(strategy, &counts, work_cap) {
                return EvaluateReply::failure(refusal);
            }
        }
        let x = &self.plan.x;
        let gradient = |program: &dyn DynProgram| {
            program
                .vjp(strategy, x, &[1.0])
                .gradient
                .ok_or_else(|| format!("strategy `{}` computes no derivatives", strategy.name()))
        };
        let mut timings = Vec::new();
        let mut total = Duration::ZERO;
        let mut output;
        loop {
            let started = Instant::now();
            // A curvature program is planned exactly for a Newton direction.
            let run = match (self.computes, &self.plan.curvature, curvature.as_deref()) {
                (Computes::Value, _, _) => Ok(program.primal(x)),
                (_, Some(plan), Some(curvature)) => gradient(&*program).and_then(|j| {
                    let h = gradient(curvature)?;
                    plan.direction(&j, &h)
                }),
                _ => gradient(&*program),
            };
            let elapsed = started.elapsed();
            output = match run {
                Ok(output) => output,
                Err(error) => return EvaluateReply::failure(error),
            };
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
        Shape::Rows(width) => json!(values.chunks(width).collect::<Vec<_>>()),
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

    /// Points 0 and 1 are nearest (0.5, 0), the point (10, 4) nearest (9, 2): `dir` is each
    /// centroid minus its cluster's mean, (0.5 - 0.5, 0 - 0.5) and (9 - 10, 2 - 4).
    fn kmeans_dir() -> Task {
        task(
            "kmeans",
            "dir",
            json!({"points": [[0.0, 0.0], [1.0, 1.0], [10.0, 4.0]],
                   "centroids": [[0.5, 0.0], [9.0, 2.0]], "min_runs": 2}),
        )
    }

    #[test]
    fn kmeans_dir_answers_a_row_per_centroid_under_the_strategy() {
        for strategy in [
            StrategyKind::Tape,
            StrategyKind::Forward,
            StrategyKind::Dualrev,
            StrategyKind::Naive,
        ] {
            let reply = kmeans_dir().run(strategy, 0.0);
            assert!(reply.success, "{}: {reply:?}", strategy.name());
            assert_eq!(
                reply.output,
                Some(json!([[0.0, -0.5], [-1.0, -2.0]])),
                "{}",
                strategy.name()
            );
            assert_eq!(reply.timings.len(), 2);
        }
    }

    #[test]
    fn kmeans_dir_is_refused_by_the_strategies_without_second_derivatives() {
        let error = kmeans_dir().run(StrategyKind::Manual, 0.0).error.unwrap();
        assert!(
            error.contains("strategy `manual` cannot compute kmeans `dir`"),
            "{error}"
        );
        assert!(error.contains("hand-written adjoint"), "{error}");
        let error = kmeans_dir().run(StrategyKind::Primal, 0.0).error.unwrap();
        assert_eq!(error, "strategy `primal` computes no derivatives");
        let error = task(
            "kmeans",
            "dir",
            json!({"points": [[0.0]], "centroids": [[0.0], [5.0]]}),
        )
        .run(StrategyKind::Tape, 0.0)
        .error
        .unwrap();
        assert!(error.contains("0 at centroid 1 (coordinate 0)"), "{error}");
    }

    /// `dir`'s work is its two products': a cap that the cost's product alone is within
    /// refuses it, and the error's T is the sum.
    #[test]
    fn kmeans_dirs_work_is_both_products() {
        let dir = kmeans_dir();
        let (n, runs) = (dir.plan.x.len() as f64, 2.0);
        let curvature = dir.plan.curvature.as_ref().unwrap().ops;
        let both = (dir.plan.ops + n + curvature + n) * runs;
        let error = dir.run(StrategyKind::Tape, both - 1.0).error.unwrap();
        assert!(
            error.contains(&format!(
                "T = {:.3e} operations per run",
                dir.plan.ops + curvature
            )),
            "{error}"
        );
        assert!((dir.plan.ops + n) * runs < both - 1.0);
        assert!(kmeans_dir().run(StrategyKind::Tape, both).success);
    }
}
