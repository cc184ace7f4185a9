//! Measuring the cases that timing, overhead and memory claims need, when `dualbench check`
//! is given neither `--results` nor `--counters-only`.
//!
//! The cases are planned like the counter cases ([`crate::check::evaluate`]: the claim's
//! `sizes` or the workload's sweep and verification sizes, with its `params`, a strategy left
//! out where its predicted work exceeds the cap or where it cannot run the workload at all) and measured by `dualbench run`'s machinery: each
//! (workload, size) group in [`schedule::run_group`], every strategy in its own child process
//! with `primal` first (the denominator of `overhead`), with the `quick` suite's settings
//! ([`Settings::new`]). The rows are read back as observations; nothing is written to disk.
//! For a reproducible, shareable decision run `dualbench run` and pass its directory to
//! `--results` instead.

use strategies::StrategyKind;
use workloads::{Params, Workload};

use crate::check::claims::{Claim, ClaimsFile};
use crate::check::evaluate::{over_cap, plan_cases, unavailable, walk_cases, Needs};
use crate::check::observation::Observation;
use crate::error::Result;
use crate::measure::schedule::{self, Failures, Group, PlannedCase};
use crate::measure::settings::{Overrides, Settings};
use crate::output;
use crate::suite::Suite;
use crate::sweep::shell_join;

/// Measure every case that the claims `include` selects need, in child processes.
/// `on_case(name)` is called before each (workload, size).
pub fn measure_timing(
    claims: &ClaimsFile,
    include: impl Fn(&Claim) -> bool,
    on_case: &mut impl FnMut(&str),
) -> Result<Vec<Observation>> {
    let needs = plan_cases(claims, include);
    if needs.is_empty() {
        return Ok(Vec::new());
    }
    let (settings, _) = Settings::new(Suite::Quick, &Overrides::default())?;
    let mut failures = Failures::new();
    walk_cases(needs, |w, size, n| {
        on_case(&format!("{} {size}", w.name()));
        measure_group(w, size, n, &settings, &mut failures)
    })
}

/// Measure one (workload, size, parameters): `primal` and every needed strategy within its cap.
fn measure_group(
    w: &dyn Workload,
    size: usize,
    needs: &Needs,
    settings: &Settings,
    failures: &mut Failures,
) -> Result<Vec<Observation>> {
    let instance = workloads::instantiate(w, Some(size), &needs.params)?;
    let program = instance.program.as_ref();
    let count = program.op_count(&instance.input);
    let mut out = Vec::new();
    let case_of = |strategy| planned(w.name(), size, &needs.params, strategy);
    let mut cases = vec![case_of(StrategyKind::Primal)];
    for (&s, run) in &needs.run {
        if s == StrategyKind::Primal {
            continue;
        }
        let not_run = unavailable(s, program).or_else(|| {
            over_cap(
                s,
                count.ops,
                program.input_len(),
                count.naive_calls,
                run.cap,
            )
        });
        match not_run {
            Some(why) => out.push(Observation {
                workload: w.name().to_string(),
                strategy: s.name().to_string(),
                params: instance.params.clone(),
                size: Some(size as u64),
                ops: Some(count.ops),
                failure: Some(why),
                ..Observation::default()
            }),
            None => cases.push(case_of(s)),
        }
    }
    output::note(&format!(
        "check: measuring {} at size {size}: {}",
        w.name(),
        cases
            .iter()
            .map(|c| c.strategy.name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let group = Group {
        workload: w.name().to_string(),
        size: Some(size),
        params: needs.params.clone(),
        resolved_params: instance.params.clone(),
        cases,
    };
    let rows = schedule::run_group(&group, settings, failures, || {})?;
    out.extend(rows.iter().map(Observation::from));
    Ok(out)
}

fn planned(workload: &str, size: usize, params: &Params, strategy: StrategyKind) -> PlannedCase {
    let strategies = match strategy {
        StrategyKind::Primal => "primal".to_string(),
        s => format!("primal,{}", s.name()),
    };
    let mut words = vec![
        "dualbench".to_string(),
        "run".into(),
        "--workloads".into(),
        workload.into(),
        "--strategies".into(),
        strategies,
        "--sizes".into(),
        format!("{workload}={size}"),
    ];
    for (key, value) in params {
        words.extend(["--param".into(), format!("{key}={value}")]);
    }
    PlannedCase {
        strategy,
        command: shell_join(words.iter().map(String::as_str)),
    }
}
