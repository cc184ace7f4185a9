//! Measuring a (workload, size) group: every case — a strategy on a thread count — in its own
//! process, samples interleaved.
//!
//! A group's cases are started one after the other (setup, memory pass and warm-up run alone,
//! so they do not compete for the cores); each child then waits, idle, for requests. Samples
//! are taken in [`Settings::rounds`] rounds: in each round every live case takes its share of
//! its samples, and the order of the cases rotates from round to round. Drift of a noisy
//! machine (thermal throttling, a neighbour's job) is thereby spread over all strategies of a
//! group instead of landing on whichever ran last, and `primal` — always a group's first case —
//! is measured under the same conditions as the gradients it is the denominator of.
//!
//! A case's thread count is the size of the rayon pool its process runs it in (`run
//! --threads`, [`crate::measure::child`]). The denominator of a case on t threads is the primal
//! on t threads when the group has it (the parallel primal of a fork-join workload: the same
//! program, its `join`s run in parallel), else the primal on one thread.
//!
//! Each round's share starts with one phase sample (a batch of gradients whose forward and
//! reverse phases are timed, apart from the samples): the child idled since its last share and
//! its first gradients back are slower, so they are this batch, never a timed sample.
//!
//! How many samples: at least [`Settings::repeat`], more until [`Settings::min_time`] of
//! sampling is reached, at most [`Settings::max_samples`], and never more than fits in 80% of
//! the case's remaining budget after its phase samples (but at least
//! one). A case whose process does not answer within its budget is killed (`timeout`); see
//! [`crate::measure::isolate`] for the other statuses.
//!
//! Cases that are not run (`skipped`: after a failure at a smaller size, or because the
//! strategy cannot run the workload, [`Case::unavailable`]) still carry the case's shape and
//! T, taken from a case of the same group that counted them (every case counts T before its
//! first gradient).
//!
//! A case that could not be run for a reason that is not the case's (its process could not be
//! started or set up, [`Stop::Setup`]) or an interrupt ([`Stop::Interrupted`]) ends the group
//! with an error: no row of the group is made, so none can record a crash that the case did
//! not cause.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use strategies::StrategyKind;
use workloads::Params;

use crate::error::{Error, Result};
use crate::interrupt;
use crate::measure::isolate::{CaseProcess, Failure, Stop};
use crate::measure::protocol::{CaseInfo, CaseSpec, PhaseSample, Setup};
use crate::measure::settings::Settings;
use crate::measure::stats::{self, Summary};
use crate::results::{CaseResult, Status};

/// One case of a group, as planned: a strategy on a thread count.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The strategy.
    pub strategy: StrategyKind,
    /// The threads of the pool it runs in (1 for a sequential case).
    pub threads: usize,
    /// The command that reproduces it (for its row).
    pub command: String,
    /// Why the strategy cannot run the workload, if it cannot (`manual` without a
    /// hand-written adjoint): the case is recorded as `skipped` with this reason, unrun.
    pub unavailable: Option<&'static str>,
}

/// The cases of one workload at one size.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseGroup {
    /// The workload's name.
    pub workload: String,
    /// The size (`None` for fixed-size workloads).
    pub size: Option<usize>,
    /// The parameters as given on the command line.
    pub params: Params,
    /// Every parameter, defaults filled in (for the rows).
    pub resolved_params: Params,
    /// The cases, `primal` on one thread first.
    pub cases: Vec<Case>,
}

/// One case of a [`Group`], as planned: a strategy on one thread.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCase {
    /// The strategy.
    pub strategy: StrategyKind,
    /// The command that reproduces it (for its row).
    pub command: String,
}

/// The cases of one workload at one size, every one on one thread (what `check` measures; a
/// sweep's groups are [`CaseGroup`]s).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The workload's name.
    pub workload: String,
    /// The size (`None` for fixed-size workloads).
    pub size: Option<usize>,
    /// The parameters as given on the command line.
    pub params: Params,
    /// Every parameter, defaults filled in (for the rows).
    pub resolved_params: Params,
    /// The cases, `primal` first.
    pub cases: Vec<PlannedCase>,
}

impl From<&Group> for CaseGroup {
    fn from(group: &Group) -> Self {
        CaseGroup {
            workload: group.workload.clone(),
            size: group.size,
            params: group.params.clone(),
            resolved_params: group.resolved_params.clone(),
            cases: group
                .cases
                .iter()
                .map(|c| Case {
                    strategy: c.strategy,
                    threads: 1,
                    command: c.command.clone(),
                    unavailable: None,
                })
                .collect(),
        }
    }
}

/// Strategies that already failed on a smaller size of a workload with the same parameters at a
/// thread count, with the reason, keyed by (workload, parameters as JSON, strategy, threads):
/// their larger sizes are recorded as `skipped`. A series of the workload with other
/// parameters (`fparticles` forked otherwise, say) is not skipped.
pub type Failures = BTreeMap<(String, String, StrategyKind, usize), String>;

/// The parameters of a case in a [`Failures`] key.
fn params_json(params: &Params) -> String {
    serde_json::to_string(params).expect("params serialise")
}

/// A case while its group runs.
enum State {
    Live(CaseProcess),
    Ended(Option<Failure>),
}

struct Progress {
    state: State,
    info: Option<CaseInfo>,
    setup: Option<Setup>,
    samples: Vec<f64>,
    round_samples: Vec<u64>,
    phases: Vec<PhaseSample>,
    target: u64,
    busy: Duration,
    peak_rss: Option<u64>,
}

impl Progress {
    fn fail(&mut self, failure: Failure) {
        self.state = State::Ended(Some(failure));
    }
}

/// Measure `group`, every case on one thread ([`run_cases`]).
pub fn run_group(
    group: &Group,
    settings: &Settings,
    failures: &mut Failures,
    on_case: impl FnMut(),
) -> Result<Vec<CaseResult>> {
    run_cases(&CaseGroup::from(group), settings, failures, on_case)
}

/// The error that ends a group when one of its cases stopped for a reason that is not the
/// case's.
fn group_error(group: &CaseGroup, case: &Case, stop: Stop) -> Error {
    let size = group
        .size
        .map_or(String::new(), |s| format!(" at size {s}"));
    let which = format!(
        "{}{size}, {} on {} thread{}",
        group.workload,
        case.strategy.name(),
        case.threads,
        if case.threads == 1 { "" } else { "s" }
    );
    match stop {
        Stop::Interrupted(signal) => Error::Interrupted {
            message: format!("interrupted by {signal} while measuring {which}"),
        },
        Stop::Setup(reason) => Error::usage(format!(
            "the case {which} could not be run: {reason}. This is not a result of the case \
             (nothing about it was measured): check --stack-mib, --threads and the machine's \
             limits on processes and threads"
        )),
        Stop::Failed(failure) => unreachable!("a failure is a result: {failure:?}"),
    }
}

/// The error of an interrupt noticed between cases.
fn interrupted(group: &CaseGroup, signal: i32) -> Error {
    let size = group
        .size
        .map_or(String::new(), |s| format!(" at size {s}"));
    Error::Interrupted {
        message: format!(
            "interrupted by {} while measuring {}{size}",
            interrupt::signal_name(signal),
            group.workload
        ),
    }
}

/// The key of `case` of `group` in [`Failures`].
fn failure_key(group: &CaseGroup, case: &Case) -> (String, String, StrategyKind, usize) {
    (
        group.workload.clone(),
        params_json(&group.resolved_params),
        case.strategy,
        case.threads,
    )
}

/// Measure `group`, skipping cases listed in `failures` and adding those that fail.
/// `on_case` is called once per finished case (for progress). A case that stopped for a reason
/// that is not the case's, or an interrupt, is an error (see the module documentation).
pub fn run_cases(
    group: &CaseGroup,
    settings: &Settings,
    failures: &mut Failures,
    mut on_case: impl FnMut(),
) -> Result<Vec<CaseResult>> {
    let mut progress: Vec<Option<Progress>> = Vec::with_capacity(group.cases.len());
    for case in &group.cases {
        if case.unavailable.is_some() || failures.contains_key(&failure_key(group, case)) {
            progress.push(None);
            continue;
        }
        let started =
            start(group, case, settings).map_err(|stop| group_error(group, case, stop))?;
        progress.push(Some(started));
    }

    for p in progress.iter_mut().flatten() {
        p.target = planned_samples(p, settings);
    }
    let n = progress.len();
    for round in 0..settings.rounds {
        for k in 0..n {
            let index = (k + round as usize) % n;
            let Some(p) = progress[index].as_mut() else {
                continue;
            };
            let share =
                p.target * (round + 1) / settings.rounds - p.target * round / settings.rounds;
            if let (State::Live(process), true) = (&mut p.state, share > 0) {
                let t = Instant::now();
                let result = process.measure(share, PHASE_SAMPLES_PER_SHARE);
                p.busy += t.elapsed();
                match result {
                    Ok(samples) => {
                        p.round_samples.push(samples.ns.len() as u64);
                        p.samples.extend(samples.ns);
                        p.phases.extend(samples.phases);
                    }
                    Err(Stop::Failed(failure)) => p.fail(failure),
                    Err(stop) => return Err(group_error(group, &group.cases[index], stop)),
                }
            }
        }
    }
    for (case, p) in group.cases.iter().zip(progress.iter_mut()) {
        let Some(p) = p else { continue };
        if let State::Live(_) = p.state {
            let State::Live(process) = std::mem::replace(&mut p.state, State::Ended(None)) else {
                unreachable!("matched above")
            };
            let t = Instant::now();
            match process.finish() {
                Ok(rss) => p.peak_rss = rss,
                Err(Stop::Failed(failure)) => p.fail(failure),
                Err(stop) => return Err(group_error(group, case, stop)),
            }
            p.busy += t.elapsed();
        }
    }

    // The primal's median at each thread count it finished at.
    let primal_medians: BTreeMap<usize, f64> = group
        .cases
        .iter()
        .zip(&progress)
        .filter(|(c, _)| c.strategy == StrategyKind::Primal)
        .filter_map(|(c, p)| {
            let p = p
                .as_ref()
                .filter(|p| matches!(p.state, State::Ended(None)))?;
            Some((c.threads, stats::median(&p.samples)?))
        })
        .collect();
    let mut group_info = progress.iter().flatten().find_map(|p| p.info.clone());
    if group_info.is_none() && progress.iter().any(Option::is_none) {
        group_info = count_only(group, settings);
    }
    // The group is complete only if no interrupt came while it ran: a case killed by it would
    // otherwise be a row.
    if let Some(signal) = interrupt::requested() {
        return Err(interrupted(group, signal));
    }

    let mut rows = Vec::with_capacity(n);
    for (case, p) in group.cases.iter().zip(progress) {
        let row = match p {
            None => {
                let reason = match case.unavailable {
                    Some(reason) => reason.to_string(),
                    None => format!("after {}", failures[&failure_key(group, case)]),
                };
                skipped_row(group, case, reason, group_info.as_ref())
            }
            Some(p) => {
                let primal = primal_medians
                    .get(&case.threads)
                    .or_else(|| primal_medians.get(&1))
                    .copied();
                measured_row(group, case, p, primal)
            }
        };
        record_failures(std::slice::from_ref(&row), failures);
        on_case();
        rows.push(row);
    }
    Ok(rows)
}

/// Add the strategies of `rows` that failed (timed out, ran out of memory, crashed) to
/// `failures`, so that their larger sizes are skipped; what `run_group` does with its own
/// rows, and what a resumed sweep does with the journaled ones.
pub fn record_failures(rows: &[CaseResult], failures: &mut Failures) {
    for row in rows {
        if matches!(row.status, Status::Ok | Status::Skipped) {
            continue;
        }
        let Some(strategy) = StrategyKind::from_name(&row.strategy) else {
            continue;
        };
        let at = row.size.map_or(String::new(), |s| format!(" at size {s}"));
        failures
            .entry((
                row.workload.clone(),
                params_json(&row.params),
                strategy,
                row.threads as usize,
            ))
            .or_insert_with(|| format!("{}{at}", row.status.name()));
    }
}

/// T and the shape of the group's case, from a child that only counts (for a group whose
/// every case was skipped).
fn count_only(group: &CaseGroup, settings: &Settings) -> Option<CaseInfo> {
    let spec = case_spec(group, StrategyKind::Primal, 1, settings);
    let mut process = CaseProcess::spawn(&settings.exe, &spec, settings.budget).ok()?;
    process.counted().ok()
}

fn case_spec(
    group: &CaseGroup,
    strategy: StrategyKind,
    threads: usize,
    settings: &Settings,
) -> CaseSpec {
    CaseSpec {
        workload: group.workload.clone(),
        strategy: strategy.name().to_string(),
        size: group.size,
        params: group.params.clone(),
        threads,
        stack_bytes: settings.stack_bytes,
        memory_limit_bytes: settings.memory_limit_bytes,
        warmup_ns: settings.warmup.as_nanos() as u64,
        target_sample_ns: settings.target_sample.as_nanos() as u64,
    }
}

/// Start the case's process and wait until it is set up; a [`Stop`] other than a failure of
/// the case is returned.
fn start(
    group: &CaseGroup,
    case: &Case,
    settings: &Settings,
) -> std::result::Result<Progress, Stop> {
    let spec = case_spec(group, case.strategy, case.threads, settings);
    let t = Instant::now();
    let mut info = None;
    let mut setup = None;
    let failed = |stop: Stop| match stop {
        Stop::Failed(failure) => Ok(State::Ended(Some(failure))),
        other => Err(other),
    };
    let state = match CaseProcess::spawn(&settings.exe, &spec, settings.budget) {
        Err(stop) => failed(stop)?,
        Ok(mut process) => match process.counted() {
            Err(stop) => failed(stop)?,
            Ok(counted) => {
                info = Some(counted);
                match process.ready() {
                    Err(stop) => failed(stop)?,
                    Ok(ready) => {
                        setup = Some(ready);
                        State::Live(process)
                    }
                }
            }
        },
    };
    let busy = t.elapsed();
    Ok(Progress {
        state,
        info,
        setup,
        samples: Vec::new(),
        round_samples: Vec::new(),
        phases: Vec::new(),
        target: 0,
        busy,
        peak_rss: None,
    })
}

/// Phase samples taken at the start of each round's share (its warm-up).
const PHASE_SAMPLES_PER_SHARE: u64 = 1;

/// How many samples a live case takes; see the module documentation.
fn planned_samples(p: &Progress, settings: &Settings) -> u64 {
    let (State::Live(process), Some(setup)) = (&p.state, &p.setup) else {
        return 0;
    };
    let sample_ns = (setup.estimate_ns * setup.batch as f64).max(1.0);
    let for_time = (settings.min_time.as_nanos() as f64 / sample_ns).ceil() as u64;
    let wanted = settings.repeat.max(for_time).min(settings.max_samples);
    let budget_ns = 0.8 * process.remaining().as_nanos() as f64;
    // Each round with a share also costs its phase samples.
    let fits = |samples: u64| {
        let rounds = samples.min(settings.rounds) as f64;
        let extra = rounds * PHASE_SAMPLES_PER_SHARE as f64 * sample_ns;
        samples as f64 * sample_ns + extra <= budget_ns
    };
    let mut planned = wanted;
    while planned > 1 && !fits(planned) {
        planned -= 1;
    }
    planned.max(1)
}

fn base_row(group: &CaseGroup, case: &Case, status: Status, detail: String) -> CaseResult {
    let mut row = CaseResult::unmeasured(
        &group.workload,
        group.size.map(|s| s as u64),
        group.resolved_params.clone(),
        case.strategy.name(),
        status,
        detail,
        case.command.clone(),
    );
    row.threads = case.threads as u64;
    row
}

fn set_info(row: &mut CaseResult, info: &CaseInfo) {
    row.inputs = Some(info.inputs);
    row.outputs = Some(info.outputs);
    row.ops = Some(info.ops);
    row.naive_calls = Some(info.naive_calls);
    row.input_hash = Some(info.input_hash.clone());
}

/// The row of a case that was not run, with the reason as its detail.
fn skipped_row(
    group: &CaseGroup,
    case: &Case,
    reason: String,
    info: Option<&CaseInfo>,
) -> CaseResult {
    let mut row = base_row(group, case, Status::Skipped, reason);
    if let Some(info) = info {
        set_info(&mut row, info);
    }
    row
}

fn measured_row(
    group: &CaseGroup,
    case: &Case,
    p: Progress,
    primal_median: Option<f64>,
) -> CaseResult {
    let (status, detail) = match p.state {
        State::Ended(Some(failure)) => (failure.status, failure.detail),
        State::Ended(None) | State::Live(_) => (Status::Ok, String::new()),
    };
    let mut row = base_row(group, case, status, detail);
    row.wall_s = p.busy.as_secs_f64();
    row.peak_rss_bytes = p.peak_rss;
    row.samples_ns = p.samples;
    row.round_samples = p.round_samples;
    if let Some(info) = &p.info {
        set_info(&mut row, info);
    }
    if let Some(setup) = p.setup {
        row.batch = Some(setup.batch);
        row.counters = setup.counters.into_iter().collect();
        row.peak_heap_bytes = setup.heap.map(|h| h.peak_bytes);
        row.allocated_bytes = setup.heap.map(|h| h.allocated_bytes);
        row.allocations = setup.heap.map(|h| h.allocations);
        row.cold_ns = Some(setup.cold_ns);
    }
    if status == Status::Ok {
        if let Some(s) = Summary::of(&row.samples_ns) {
            row.median_ns = Some(s.median);
            row.min_ns = Some(s.min);
            row.max_ns = Some(s.max);
            row.ci_low_ns = s.ci.map(|(lo, _)| lo);
            row.ci_high_ns = s.ci.map(|(_, hi)| hi);
            row.ci_level = s.ci_level;
            row.primal_median_ns = primal_median;
            row.overhead = primal_median
                .filter(|&p| p > 0.0)
                .map(|primal| s.median / primal);
        }
        let phase =
            |f: fn(&PhaseSample) -> f64| stats::median(&p.phases.iter().map(f).collect::<Vec<_>>());
        row.forward_median_ns = phase(|s| s.forward_ns);
        row.reverse_median_ns = phase(|s| s.reverse_ns);
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_skips_the_larger_sizes_of_its_own_parameters_only() {
        let params = |fork: f64| Params::from([("fork".into(), fork), ("particles".into(), 4.0)]);
        let timeout = CaseResult::unmeasured(
            "fparticles",
            Some(100),
            params(0.0),
            "naive",
            Status::Timeout,
            "exceeded the budget".into(),
            String::new(),
        );
        let mut failures = Failures::new();
        record_failures(&[timeout], &mut failures);
        let group = |fork| CaseGroup {
            workload: "fparticles".into(),
            size: Some(1000),
            params: params(fork),
            resolved_params: params(fork),
            cases: Vec::new(),
        };
        let case = |strategy| Case {
            strategy,
            threads: 1,
            command: String::new(),
            unavailable: None,
        };
        let naive = case(StrategyKind::Naive);
        assert!(failures.contains_key(&failure_key(&group(0.0), &naive)));
        assert!(!failures.contains_key(&failure_key(&group(1.0), &naive)));
        assert!(!failures.contains_key(&failure_key(&group(0.0), &case(StrategyKind::Tape))));
    }
}
