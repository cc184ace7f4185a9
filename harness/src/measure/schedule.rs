//! Measuring a (workload, size) group: every strategy in its own process, samples interleaved.
//!
//! A group's cases are started one after the other (setup, memory pass and warm-up run alone,
//! so they do not compete for the cores); each child then waits, idle, for requests. Samples
//! are taken in [`Settings::rounds`] rounds: in each round every live case takes its share of
//! its samples, and the order of the cases rotates from round to round. Drift of a noisy
//! machine (thermal throttling, a neighbour's job) is thereby spread over all strategies of a
//! group instead of landing on whichever ran last, and `primal` — always a group's first case —
//! is measured under the same conditions as the gradients it is the denominator of.
//!
//! How many samples: at least [`Settings::repeat`], more until [`Settings::min_time`] of
//! sampling is reached, at most [`Settings::max_samples`], and never more than fits in 80% of
//! the case's remaining budget (but at least one). A case whose process does not answer within
//! its budget is killed (`timeout`); see [`crate::measure::isolate`] for the other statuses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use strategies::StrategyKind;
use workloads::Params;

use crate::measure::isolate::{CaseProcess, Failure};
use crate::measure::protocol::{CaseInfo, CaseSpec, Sample, Setup};
use crate::measure::stats::{self, Summary};
use crate::results::{CaseResult, Status};

/// How cases are measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The `dualbench` binary that runs `run-case`.
    pub exe: PathBuf,
    /// Wall-clock budget per case.
    pub budget: Duration,
    /// Minimum number of samples per case.
    pub repeat: u64,
    /// Minimum total sampled time per case.
    pub min_time: Duration,
    /// Most samples per case.
    pub max_samples: u64,
    /// Rounds the samples of a group are spread over.
    pub rounds: u64,
    /// Untimed warm-up per case.
    pub warmup: Duration,
    /// Target duration of one (batched) sample.
    pub target_sample: Duration,
    /// Stack of the evaluation thread, bytes.
    pub stack_bytes: usize,
    /// Cap on live heap bytes per case, 0 for none.
    pub memory_limit_bytes: usize,
}

/// One case of a group, as planned.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCase {
    /// The strategy.
    pub strategy: StrategyKind,
    /// The command that reproduces it (for its row).
    pub command: String,
}

/// The cases of one workload at one size.
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

/// Strategies that already failed on a smaller size of a workload, with the reason, keyed by
/// (workload, strategy): their larger sizes are recorded as `skipped`.
pub type Failures = BTreeMap<(String, StrategyKind), String>;

/// A case while its group runs.
enum State {
    Live(CaseProcess),
    Ended(Option<Failure>),
}

struct Progress {
    state: State,
    info: Option<CaseInfo>,
    setup: Option<Setup>,
    samples: Vec<Sample>,
    target: u64,
    busy: Duration,
    peak_rss: Option<u64>,
}

impl Progress {
    fn fail(&mut self, failure: Failure) {
        self.state = State::Ended(Some(failure));
    }
}

/// Measure `group`, skipping strategies listed in `failures` and adding those that fail.
/// `on_case` is called once per finished case (for progress).
pub fn run_group(
    group: &Group,
    settings: &Settings,
    failures: &mut Failures,
    mut on_case: impl FnMut(),
) -> Vec<CaseResult> {
    let mut progress: Vec<Option<Progress>> = group
        .cases
        .iter()
        .map(|case| {
            let key = (group.workload.clone(), case.strategy);
            if failures.contains_key(&key) {
                return None;
            }
            Some(start(group, case.strategy, settings))
        })
        .collect();

    for p in progress.iter_mut().flatten() {
        p.target = planned_samples(p, settings);
    }
    let n = progress.len();
    for round in 0..settings.rounds {
        for k in 0..n {
            let Some(p) = progress[(k + round as usize) % n].as_mut() else {
                continue;
            };
            let share =
                p.target * (round + 1) / settings.rounds - p.target * round / settings.rounds;
            if let (State::Live(process), true) = (&mut p.state, share > 0) {
                let t = Instant::now();
                let result = process.measure(share);
                p.busy += t.elapsed();
                match result {
                    Ok(samples) => p.samples.extend(samples),
                    Err(failure) => p.fail(failure),
                }
            }
        }
    }
    for p in progress.iter_mut().flatten() {
        if let State::Live(_) = p.state {
            let State::Live(process) = std::mem::replace(&mut p.state, State::Ended(None)) else {
                unreachable!("matched above")
            };
            let t = Instant::now();
            match process.finish() {
                Ok(rss) => p.peak_rss = rss,
                Err(failure) => p.fail(failure),
            }
            p.busy += t.elapsed();
        }
    }

    let primal_median = group
        .cases
        .iter()
        .zip(&progress)
        .find(|(c, _)| c.strategy == StrategyKind::Primal)
        .and_then(|(_, p)| p.as_ref())
        .filter(|p| matches!(p.state, State::Ended(None)))
        .and_then(|p| stats::median(&p.samples.iter().map(|s| s.ns).collect::<Vec<_>>()));

    let mut rows = Vec::with_capacity(n);
    for (case, p) in group.cases.iter().zip(progress) {
        let key = (group.workload.clone(), case.strategy);
        let row = match p {
            None => skipped_row(group, case, &failures[&key]),
            Some(p) => {
                let row = measured_row(group, case, p, primal_median);
                if row.status != Status::Ok {
                    let at = group
                        .size
                        .map_or(String::new(), |s| format!(" at size {s}"));
                    failures.insert(key, format!("{}{at}", row.status.name()));
                }
                row
            }
        };
        on_case();
        rows.push(row);
    }
    rows
}

/// Start the case's process and wait until it is set up.
fn start(group: &Group, strategy: StrategyKind, settings: &Settings) -> Progress {
    let spec = CaseSpec {
        workload: group.workload.clone(),
        strategy: strategy.name().to_string(),
        size: group.size,
        params: group.params.clone(),
        stack_bytes: settings.stack_bytes,
        memory_limit_bytes: settings.memory_limit_bytes,
        warmup_ns: settings.warmup.as_nanos() as u64,
        target_sample_ns: settings.target_sample.as_nanos() as u64,
    };
    let t = Instant::now();
    let mut info = None;
    let mut setup = None;
    let state = match CaseProcess::spawn(&settings.exe, &spec, settings.budget) {
        Err(failure) => State::Ended(Some(failure)),
        Ok(mut process) => match process.counted() {
            Err(failure) => State::Ended(Some(failure)),
            Ok(counted) => {
                info = Some(counted);
                match process.ready() {
                    Err(failure) => State::Ended(Some(failure)),
                    Ok(ready) => {
                        setup = Some(ready);
                        State::Live(process)
                    }
                }
            }
        },
    };
    let busy = t.elapsed();
    Progress {
        state,
        info,
        setup,
        samples: Vec::new(),
        target: 0,
        busy,
        peak_rss: None,
    }
}

/// How many samples a live case takes; see the module documentation.
fn planned_samples(p: &Progress, settings: &Settings) -> u64 {
    let (State::Live(process), Some(setup)) = (&p.state, &p.setup) else {
        return 0;
    };
    let sample_ns = (setup.estimate_ns * setup.batch as f64).max(1.0);
    let for_time = (settings.min_time.as_nanos() as f64 / sample_ns).ceil() as u64;
    let wanted = settings.repeat.max(for_time).min(settings.max_samples);
    let fits = (0.8 * process.remaining().as_nanos() as f64 / sample_ns).floor() as u64;
    wanted.min(fits).max(1)
}

fn base_row(group: &Group, case: &PlannedCase, status: Status, detail: String) -> CaseResult {
    CaseResult {
        workload: group.workload.clone(),
        size: group.size.map(|s| s as u64),
        params: group.resolved_params.clone(),
        strategy: case.strategy.name().to_string(),
        status,
        detail,
        inputs: None,
        outputs: None,
        ops: None,
        naive_calls: None,
        input_hash: None,
        batch: None,
        samples_ns: Vec::new(),
        median_ns: None,
        min_ns: None,
        max_ns: None,
        ci_low_ns: None,
        ci_high_ns: None,
        forward_median_ns: None,
        reverse_median_ns: None,
        primal_median_ns: None,
        overhead: None,
        peak_heap_bytes: None,
        allocated_bytes: None,
        peak_rss_bytes: None,
        counters: BTreeMap::new(),
        wall_s: 0.0,
        command: case.command.clone(),
    }
}

fn skipped_row(group: &Group, case: &PlannedCase, reason: &str) -> CaseResult {
    let detail = format!("after {reason}");
    base_row(group, case, Status::Skipped, detail)
}

fn measured_row(
    group: &Group,
    case: &PlannedCase,
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
    row.samples_ns = p.samples.iter().map(|s| s.ns).collect();
    if let Some(info) = p.info {
        row.inputs = Some(info.inputs);
        row.outputs = Some(info.outputs);
        row.ops = Some(info.ops);
        row.naive_calls = Some(info.naive_calls);
        row.input_hash = Some(info.input_hash);
    }
    if let Some(setup) = p.setup {
        row.batch = Some(setup.batch);
        row.counters = setup.counters.into_iter().collect();
        row.peak_heap_bytes = setup.heap.map(|h| h.peak_bytes);
        row.allocated_bytes = setup.heap.map(|h| h.allocated_bytes);
    }
    if status == Status::Ok {
        if let Some(s) = Summary::of(&row.samples_ns) {
            row.median_ns = Some(s.median);
            row.min_ns = Some(s.min);
            row.max_ns = Some(s.max);
            row.ci_low_ns = Some(s.ci_low);
            row.ci_high_ns = Some(s.ci_high);
            row.primal_median_ns = primal_median;
            row.overhead = primal_median
                .filter(|&p| p > 0.0)
                .map(|primal| s.median / primal);
        }
        let phase =
            |f: fn(&Sample) -> f64| stats::median(&p.samples.iter().map(f).collect::<Vec<_>>());
        row.forward_median_ns = phase(|s| s.forward_ns);
        row.reverse_median_ns = phase(|s| s.reverse_ns);
    }
    row
}
