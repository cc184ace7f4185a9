//! Evaluating counter cases in-process: what `dualbench check --counters-only` (and `check`
//! without a results file) runs for the claims whose metric is exact.
//!
//! Counters and T are deterministic, so one evaluation per (workload, size, parameters,
//! strategy) suffices and no child process or repetition is needed. The cases a claim needs are
//! its selected workloads and strategies (and, for a `same as` claim, the strategy it compares
//! with) at its `sizes` (or, without `sizes`, at the workload's sweep and verification sizes),
//! with its `params` (the other parameters at their defaults). Every case is evaluated once
//! even if several claims need it, on one thread with a large stack ([`with_stack`]), since the
//! closure-based strategies recurse through their graphs; a fork-join workload therefore runs
//! sequentially under every strategy.
//!
//! **The work cap.** Before running a strategy, its work is predicted from T (computed first,
//! in O(T), by [`DynProgram::op_count`](strategies::DynProgram::op_count)), the input count n and the predicted number of naive
//! backpropagator calls ([`StrategyKind::predicted_work`]: T for the linear strategies, T log2 T
//! for the log-linear one, n T for the dense ones, (naive calls) n for the naive one). A case whose predicted work exceeds the
//! claim's `max_work` (default: the `[settings]` value) is not run and is recorded as "not
//! evaluated", so a claim with sizes beyond the cap becomes inconclusive rather than slow. The
//! default sweep of a workload is walked upwards and stops at the first size over the cap.

use std::collections::{BTreeMap, BTreeSet};

use strategies::op_count::OpCount;
use strategies::StrategyKind;
use workloads::{Params, Workload};

use crate::check::claims::{Claim, ClaimsFile, Expectation, Metric};
use crate::check::observation::{params_key, CaseFailure, FailureKind, Observation};
use crate::error::Result;
use crate::measure::thread::{guarded, with_stack, EVALUATION_STACK_BYTES};

/// The sizes at which `claim` evaluates `workload` in-process: its `sizes`, or else the
/// workload's sweep and verification sizes (empty for a fixed-size workload).
pub fn requested_sizes(claim: &Claim, workload: &dyn Workload) -> BTreeSet<usize> {
    match (&claim.sizes, workload.size()) {
        (_, None) => BTreeSet::new(),
        (Some(sizes), Some(_)) => sizes.iter().copied().collect(),
        (None, Some(spec)) => spec.sweep.iter().chain(spec.verify).copied().collect(),
    }
}

/// The parameters `claim` evaluates `workload` with: the workload's defaults, overridden by the
/// claim's `params` (the validated claims name only parameters the workload has).
pub fn resolved_params(claim: &Claim, workload: &dyn Workload) -> Params {
    workload
        .params()
        .iter()
        .map(|spec| {
            let value = claim.params.get(spec.name).copied().unwrap_or(spec.default);
            (spec.name.to_string(), value)
        })
        .collect()
}

/// One in-process case: a workload, a size and the parameters rendered by [`params_key`].
pub(crate) type CaseKey = (&'static str, usize, String);

/// A strategy's work cap at one (workload, size), and whether a claim lists that size
/// explicitly (rather than taking it from the workload's default sweep).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    /// The largest cap of the claims that need the case.
    pub(crate) cap: f64,
    /// Whether a claim lists the size explicitly.
    pub(crate) explicit: bool,
}

impl Run {
    fn widen(&mut self, cap: f64, explicit: bool) {
        self.cap = self.cap.max(cap);
        self.explicit |= explicit;
    }
}

/// What one (workload, size, parameters) needs: the parameters, which strategies must run, and
/// which need only T.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    /// Every parameter of the workload, defaults included.
    pub(crate) params: Params,
    /// Strategies to run, with their caps.
    pub(crate) run: BTreeMap<StrategyKind, Run>,
    /// Strategies whose claims need only T (metric `ops`).
    pub(crate) count_only: BTreeSet<StrategyKind>,
}

/// The cases that the claims `include` selects need, by (workload, size, parameters), sizes
/// ascending.
pub(crate) fn plan_cases(
    claims: &ClaimsFile,
    include: impl Fn(&Claim) -> bool,
) -> BTreeMap<CaseKey, Needs> {
    let mut needs: BTreeMap<CaseKey, Needs> = BTreeMap::new();
    for claim in claims.claims.iter().filter(|c| include(c)) {
        let cap = claim.max_work.unwrap_or(claims.settings.max_work);
        let reference = match &claim.expect {
            Expectation::SameAs(other) => StrategyKind::from_name(other),
            _ => None,
        };
        let strategies: BTreeSet<StrategyKind> = StrategyKind::ALL
            .iter()
            .copied()
            .filter(|s| claim.strategies.matches(s.name()) || Some(*s) == reference)
            .collect();
        let count_only = claim.metric == Metric::Ops;
        let explicit = claim.sizes.is_some();
        for w in workloads::all()
            .iter()
            .filter(|w| claim.workloads.matches(w.name()))
        {
            let params = resolved_params(claim, *w);
            for size in requested_sizes(claim, *w) {
                let n = needs
                    .entry((w.name(), size, params_key(w.name(), &params)))
                    .or_insert_with(|| Needs {
                        params: params.clone(),
                        ..Needs::default()
                    });
                for &s in &strategies {
                    if count_only {
                        n.count_only.insert(s);
                    } else {
                        n.run
                            .entry(s)
                            .and_modify(|r| r.widen(cap, explicit))
                            .or_insert(Run { cap, explicit });
                    }
                }
            }
        }
    }
    needs
}

/// Run `case` on every planned (workload, size, parameters), in ascending sizes. Once a
/// strategy is over its cap at a size, its larger default (not explicitly listed) sizes of that
/// workload and those parameters are dropped without instantiating them.
pub(crate) fn walk_cases(
    needs: BTreeMap<CaseKey, Needs>,
    mut case: impl FnMut(&dyn Workload, usize, &Needs) -> Result<Vec<Observation>>,
) -> Result<Vec<Observation>> {
    let mut out = Vec::new();
    let mut over_cap: BTreeSet<(&'static str, String, String)> = BTreeSet::new();
    for ((name, size, params), mut n) in needs {
        n.run.retain(|s, r| {
            r.explicit || !over_cap.contains(&(name, params.clone(), s.name().to_string()))
        });
        if n.run.is_empty() && n.count_only.is_empty() {
            continue;
        }
        for o in case(workloads::find(name)?, size, &n)? {
            if o.failure
                .as_ref()
                .is_some_and(|f| f.kind == FailureKind::NotEvaluated)
            {
                over_cap.insert((name, params.clone(), o.strategy.clone()));
            }
            out.push(o);
        }
    }
    Ok(out)
}

/// Why `strategy` is not run on a case with T = `ops`, n = `inputs` and `naive_calls`
/// predicted naive calls under `cap`, if its predicted work exceeds the cap.
pub(crate) fn over_cap(
    strategy: StrategyKind,
    ops: u64,
    inputs: usize,
    naive_calls: f64,
    cap: f64,
) -> Option<CaseFailure> {
    let work = strategy.predicted_work(&OpCount { ops, naive_calls }, inputs);
    (work > cap).then(|| {
        CaseFailure::new(
            FailureKind::NotEvaluated,
            &format!("predicted work {work:.3e} exceeds the cap {cap:.3e} (max_work)"),
        )
    })
}

/// Why `strategy` is not run on `program` if it cannot run it at all (`manual` without a
/// hand-written adjoint): the case is left out of the claim's fits, as one over the cap is.
pub(crate) fn unavailable(
    strategy: StrategyKind,
    program: &dyn strategies::DynProgram,
) -> Option<CaseFailure> {
    program
        .why_unavailable(strategy)
        .map(|reason| CaseFailure::new(FailureKind::NotEvaluated, reason))
}

/// Evaluate, in-process, every counter case that the exact claims of `claims` need, and return
/// them as observations (cases over the work cap, or that panicked, carry a failure).
/// `on_case(name)` is called before each (workload, size).
pub fn evaluate_counters(
    claims: &ClaimsFile,
    on_case: &mut (impl FnMut(&str) + Send),
) -> Result<Vec<Observation>> {
    let needs = plan_cases(claims, |c| c.metric.is_exact());
    with_stack(EVALUATION_STACK_BYTES, move || {
        walk_cases(needs, |w, size, n| {
            on_case(&format!("{} {size}", w.name()));
            evaluate_case(w, size, n)
        })
    })
}

/// Evaluate one (workload, size, parameters) under every strategy it needs.
fn evaluate_case(w: &dyn Workload, size: usize, needs: &Needs) -> Result<Vec<Observation>> {
    let instance = workloads::instantiate(w, Some(size), &needs.params)?;
    let program = instance.program.as_ref();
    let count = program.op_count(&instance.input);
    let base = Observation {
        workload: w.name().to_string(),
        params: instance.params.clone(),
        size: Some(size as u64),
        ops: Some(count.ops),
        ..Observation::default()
    };
    let mut out = Vec::new();
    for &s in &needs.count_only {
        if !needs.run.contains_key(&s) {
            out.push(Observation {
                strategy: s.name().to_string(),
                ..base.clone()
            });
        }
    }
    for (&s, run) in &needs.run {
        let mut o = Observation {
            strategy: s.name().to_string(),
            ..base.clone()
        };
        o.failure = unavailable(s, program).or_else(|| {
            over_cap(
                s,
                count.ops,
                program.input_len(),
                count.naive_calls,
                run.cap,
            )
        });
        if o.failure.is_some() {
            out.push(o);
            continue;
        }
        let result = guarded(|| {
            if program.output_len() == 1 {
                program.vjp(s, &instance.input, &[1.0]).counters
            } else {
                program.jacobian(s, &instance.input).counters
            }
        });
        match result {
            Ok(counters) => {
                o.counters = counters.iter().map(|(k, v)| (k.to_string(), v)).collect();
            }
            Err(message) => o.failure = Some(CaseFailure::new(FailureKind::Panicked, &message)),
        }
        out.push(o);
    }
    Ok(out)
}
