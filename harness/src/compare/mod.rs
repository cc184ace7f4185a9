//! `dualbench compare`: two results files, case by case, with three tiers of evidence.
//!
//! Rows match by their key (workload, size, parameters, strategy, thread count): a case on two
//! threads is compared only with the same case on two threads. For every case present in both
//! files:
//!
//! - **Exact figures** — every counter, the allocation requests, the bytes allocated and the
//!   peak live heap of one gradient — are compared exactly; every change is reported, and an increase is a
//!   regression (more work is a regression even when the clock cannot see it). These form the
//!   `counters` tier. On more than one thread, the counters that depend on the schedule
//!   (`atomic_retries`) are not compared, and the allocation figures are reported but not gated:
//!   the parallel strategies' jobs take their blocks from per-thread caches, so how many blocks
//!   are newly allocated depends on which thread ran which job.
//! - **Instruction counts**, when both rows carry one: a change beyond
//!   `--instructions-threshold` (default 2%) is a regression of the `instructions` tier.
//! - **Time**: the change in median time with a bootstrap interval of the ratio of medians
//!   ([`interval`], resampling whole rounds). A time regression is flagged only when the whole
//!   interval lies above 1 + `--time-threshold`, an improvement only when it lies below
//!   1 - threshold: noise that the interval covers is never a verdict.
//!
//! A case `ok` in BASE that crashed, ran out of memory or is missing in NEW is a regression
//! whatever the tiers; cases present in one file only are listed. A case `ok` in BASE that
//! **timed out** in NEW (or was skipped there after a smaller size timed out) is a time
//! observation, and a machine or a budget can cause it as well as the code. So it is judged
//! against NEW's *pace* — the median, over the cases that finished in both files, of NEW's
//! median time over BASE's — and NEW's budget ([`TimeoutChange`]): when the case's time in
//! BASE, at NEW's pace, reaches half of NEW's budget or more, the timeout is *explained* (a
//! slower machine, a shorter `--budget`, or noise near the limit; a real slowdown is not ruled
//! out, and the report says how to tell) and gates like a time regression, with `--fail-on
//! time`; when it needed less than half, the case slowed down more than twice beyond the
//! machine's pace, and the timeout is a regression whatever the tiers. [`Comparison::outcome`]
//! turns the regressions of the tiers named by `--fail-on` into the exit code 3.

pub mod interval;
pub mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;
use strategies::dualrev_par::DualrevPar;

use serde::Serialize;

use crate::error::{Error, Outcome, Result};
use crate::results::{CaseKey, CaseResult, Metadata, ResultsFile, Status};

/// A tier of evidence that `--fail-on` can gate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Counters and allocation figures: exact.
    Counters,
    /// Instruction counts: deterministic, gated with a small threshold.
    Instructions,
    /// Median time, gated by its bootstrap interval.
    Time,
    /// Every tier.
    All,
}

/// What a regression is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The case finished in BASE and crashed, ran out of memory or is missing in NEW (or was
    /// skipped there after such a failure).
    Status,
    /// The case finished in BASE and timed out in NEW, and neither NEW's budget nor its pace
    /// explains it ([`TimeoutChange::explained`]): it slowed down more than twice.
    Timeout,
    /// The case finished in BASE and timed out in NEW, as its time in BASE at NEW's pace
    /// predicts: a slower machine or a shorter budget explains it (a real slowdown is not ruled
    /// out). Gated with the time tier.
    ExplainedTimeout,
    /// A counter rose.
    Counters,
    /// Allocation requests, allocated bytes or the peak heap rose.
    Allocations,
    /// The instruction count rose beyond its threshold.
    Instructions,
    /// The median time rose beyond its threshold, the whole interval included.
    Time,
}

impl Kind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Status => "status",
            Kind::Timeout => "timeout",
            Kind::ExplainedTimeout => "timeout (budget or pace)",
            Kind::Counters => "counters",
            Kind::Allocations => "allocations",
            Kind::Instructions => "instructions",
            Kind::Time => "time",
        }
    }

    /// Whether `--fail-on tiers` fails on this kind (a status regression and an unexplained
    /// timeout always fail).
    pub fn fails_under(self, tiers: &[Tier]) -> bool {
        let tier = match self {
            Kind::Status | Kind::Timeout => return true,
            Kind::Counters | Kind::Allocations => Tier::Counters,
            Kind::Instructions => Tier::Instructions,
            Kind::Time | Kind::ExplainedTimeout => Tier::Time,
        };
        tiers.iter().any(|t| *t == tier || *t == Tier::All)
    }
}

/// One exact figure that differs: a counter, or an allocation figure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExactChange {
    /// Its name (`edges_applied`, `allocated_bytes`, ...).
    pub name: String,
    /// In BASE.
    pub base: Option<u64>,
    /// In NEW.
    pub new: Option<u64>,
}

impl ExactChange {
    /// Whether the figure rose (or appeared where BASE had none).
    pub fn rose(&self) -> bool {
        match (self.base, self.new) {
            (Some(b), Some(n)) => n > b,
            _ => false,
        }
    }
}

/// How the median time moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeVerdict {
    /// The whole interval lies above 1 + threshold.
    Slower,
    /// The whole interval lies below 1 - threshold.
    Faster,
    /// Neither: within noise or within the threshold.
    Unchanged,
}

/// The change in median time of a case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeChange {
    /// BASE's median, ns.
    pub base_ns: f64,
    /// NEW's median, ns.
    pub new_ns: f64,
    /// new / base.
    pub ratio: f64,
    /// The bootstrap interval of the ratio.
    pub interval: Option<(f64, f64)>,
    /// The verdict at the threshold.
    pub verdict: TimeVerdict,
}

/// The change in instruction count of a case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstructionChange {
    /// In BASE.
    pub base: u64,
    /// In NEW.
    pub new: u64,
    /// new / base - 1.
    pub relative: f64,
    /// Whether |relative| exceeds the threshold (a rise is then a regression). Smaller
    /// changes are callgrind's own noise of a few instructions and are not reported as
    /// changes.
    pub beyond_threshold: bool,
}

/// A timeout can be explained by NEW's budget or pace when the case, at NEW's pace, took at
/// least this share of NEW's budget in BASE. A case's time includes its process's start, its
/// warm-up and its sampling (which adapts to the budget), so a case near its budget can time
/// out from noise alone; one that needed less than half of it and timed out slowed down more
/// than twice, which no pace or noise explains.
pub const TIMEOUT_MARGIN: f64 = 0.5;

/// A case that finished in BASE and timed out in NEW (or was skipped there after a smaller size
/// timed out), with what explains it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeoutChange {
    /// The seconds the case kept its process busy in BASE.
    pub base_wall_s: f64,
    /// BASE's budget per case, seconds.
    pub base_budget_s: f64,
    /// NEW's budget per case, seconds.
    pub new_budget_s: f64,
    /// NEW's pace: the median, over the cases that finished with a median in both files, of
    /// NEW's median over BASE's (1.6: NEW ran them 1.6 times slower); `None` when there is no
    /// such case.
    pub pace: Option<f64>,
    /// `base_wall_s` at NEW's pace (times 1 without one): what the case needs in NEW if only
    /// the machine changed.
    pub expected_s: f64,
    /// Whether `expected_s` reaches [`TIMEOUT_MARGIN`] of NEW's budget: the budget, the pace
    /// or noise near the limit explains the timeout.
    pub explained: bool,
    /// For a case skipped in NEW: the smaller size whose timeout skipped it.
    pub skipped_after: Option<Option<u64>>,
}

/// One case of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseComparison {
    /// Workload.
    pub workload: String,
    /// Size.
    pub size: Option<u64>,
    /// Parameters as `k=v,...` (empty when none).
    pub params: String,
    /// Strategy.
    pub strategy: String,
    /// The thread count the case ran on.
    pub threads: u64,
    /// Status in BASE (`None`: not in BASE).
    pub base_status: Option<Status>,
    /// Status in NEW (`None`: not in NEW).
    pub new_status: Option<Status>,
    /// The time change, when both finished with samples.
    pub time: Option<TimeChange>,
    /// The instruction change, when both rows carry a count.
    pub instructions: Option<InstructionChange>,
    /// Counters that differ.
    pub counters: Vec<ExactChange>,
    /// Allocation figures that differ.
    pub allocations: Vec<ExactChange>,
    /// When the case finished in BASE and timed out in NEW: what explains it.
    pub timeout: Option<TimeoutChange>,
    /// What regressed.
    pub regressions: Vec<Kind>,
}

impl CaseComparison {
    /// `workload size / strategy` (with parameters, and `@Nt` for a case on N > 1 threads).
    pub fn label(&self) -> String {
        let mut label = self.workload.clone();
        if !self.params.is_empty() {
            label.push_str(&format!("[{}]", self.params));
        }
        if let Some(s) = self.size {
            label.push_str(&format!(" {s}"));
        }
        let threads = if self.threads == 1 {
            String::new()
        } else {
            format!("@{}t", self.threads)
        };
        format!("{label} / {}{threads}", self.strategy)
    }

    /// Whether anything about the case changed: the status, an exact figure, the instruction
    /// count beyond its threshold, or the time beyond its threshold.
    pub fn changed(&self) -> bool {
        self.base_status != self.new_status
            || !self.counters.is_empty()
            || !self.allocations.is_empty()
            || self
                .instructions
                .as_ref()
                .is_some_and(|i| i.beyond_threshold)
            || self
                .time
                .as_ref()
                .is_some_and(|t| t.verdict != TimeVerdict::Unchanged)
    }
}

/// What `compare` was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The baseline: a results file or a folder holding `results.json`.
    pub base: PathBuf,
    /// The new results.
    pub new: PathBuf,
    /// Relative time change tolerated (0.10: 10%).
    pub time_threshold: f64,
    /// Relative instruction-count change tolerated (0.02: 2%).
    pub instructions_threshold: f64,
    /// The tiers whose regressions fail the comparison.
    pub fail_on: Vec<Tier>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// BASE as given.
    pub base: String,
    /// NEW as given.
    pub new: String,
    /// BASE's budget per case, seconds.
    pub base_budget_s: f64,
    /// NEW's budget per case, seconds.
    pub new_budget_s: f64,
    /// NEW's pace ([`TimeoutChange::pace`]).
    pub pace: Option<f64>,
    /// What differs between how BASE and NEW were made that moves their figures: the build
    /// profile, the machine (sentences for the report).
    pub provenance: Vec<String>,
    /// The time threshold.
    pub time_threshold: f64,
    /// The instruction threshold.
    pub instructions_threshold: f64,
    /// The confidence level of the time intervals.
    pub confidence: f64,
    /// The tiers that fail the comparison.
    pub fail_on: Vec<Tier>,
    /// Every case of either file, in BASE's order then NEW's extra cases.
    pub cases: Vec<CaseComparison>,
}

/// The row's parameters as people write them (`fork=balanced,particles=16`).
fn params_text(row: &CaseResult) -> String {
    workloads::format_params(&row.workload, &row.params).join(",")
}

/// A stable seed for the bootstrap of one case: FNV-1a of its key.
fn seed_of(key: &CaseKey) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(format!("{key:?}").as_bytes());
    hasher.finish()
}

/// Whether counter `name` of a case on `threads` threads is compared: every counter but those
/// that depend on how the threads were scheduled (`dualrev-par`'s `atomic_retries`) on more
/// than one thread, where two runs of one build differ (on one thread they are exact, 0).
fn is_compared(name: &str, threads: u64) -> bool {
    threads == 1 || !DualrevPar::SCHEDULE_DEPENDENT_COUNTERS.contains(&name)
}

fn exact_changes(
    pairs: impl Iterator<Item = (String, Option<u64>, Option<u64>)>,
) -> Vec<ExactChange> {
    pairs
        .filter(|(_, b, n)| b != n)
        .map(|(name, base, new)| ExactChange { name, base, new })
        .collect()
}

/// The differences between how BASE (`base`) and NEW (`new`) were made that move their
/// figures, as sentences: another build profile changes allocations (the optimiser removes
/// some) and every time; another machine every time.
fn provenance(base: &Metadata, new: &Metadata) -> Vec<String> {
    let mut differences = Vec::new();
    if base.build.profile != new.build.profile {
        differences.push(format!(
            "BASE is a {} build and NEW a {} build: the optimiser removes some allocations and \
             changes every time, so allocation figures and times are compared between builds of \
             one profile (cargo run --release)",
            base.build.profile, new.build.profile
        ));
    }
    let (base_machine, new_machine) = (base.machine.describe(), new.machine.describe());
    if base_machine != new_machine {
        differences.push(format!(
            "BASE ran on {base_machine} and NEW on {new_machine}"
        ));
    }
    differences
}

/// What every case's comparison needs besides its two rows.
struct Context<'a> {
    request: &'a Request,
    confidence: f64,
    base: &'a ResultsFile,
    new: &'a ResultsFile,
    /// NEW's pace ([`TimeoutChange::pace`]).
    pace: Option<f64>,
}

/// NEW's pace over the cases of `base` found in `new` ([`TimeoutChange::pace`]).
fn pace(base: &[CaseResult], new: &BTreeMap<CaseKey, &CaseResult>) -> Option<f64> {
    let ratios: Vec<f64> = base
        .iter()
        .filter_map(|b| {
            let n = new.get(&b.key())?;
            let both = b.status == Status::Ok && n.status == Status::Ok;
            match (b.median_ns, n.median_ns) {
                (Some(x), Some(y)) if both && x > 0.0 && y > 0.0 => Some(y / x),
                _ => None,
            }
        })
        .collect();
    crate::measure::stats::median(&ratios)
}

/// The timeout in NEW of `base`'s case, whose row in NEW is `new` (a time-out, or a skip after
/// one at a smaller size); `None` for any other way of not finishing.
fn timeout_change(base: &CaseResult, new: &CaseResult, context: &Context) -> Option<TimeoutChange> {
    let skipped_after = match new.status {
        Status::Timeout => None,
        Status::Skipped => Some(smaller_timeout(new, &context.new.rows)?),
        _ => return None,
    };
    let new_budget_s = context.new.metadata.options.budget_s;
    let expected_s = base.wall_s * context.pace.unwrap_or(1.0);
    Some(TimeoutChange {
        base_wall_s: base.wall_s,
        base_budget_s: context.base.metadata.options.budget_s,
        new_budget_s,
        pace: context.pace,
        expected_s,
        explained: expected_s >= TIMEOUT_MARGIN * new_budget_s,
        skipped_after,
    })
}

/// The largest size below `skipped`'s at which its series (workload, parameters, strategy,
/// threads) timed out in `rows`: the cause of the skip, when it was a time-out.
fn smaller_timeout(skipped: &CaseResult, rows: &[CaseResult]) -> Option<Option<u64>> {
    fn series(r: &CaseResult) -> (&str, &BTreeMap<String, f64>, &str, u64) {
        (&r.workload, &r.params, &r.strategy, r.threads)
    }
    let failed = rows
        .iter()
        .filter(|r| series(r) == series(skipped) && r.size < skipped.size)
        .filter(|r| !matches!(r.status, Status::Ok | Status::Skipped))
        .max_by_key(|r| r.size)?;
    (failed.status == Status::Timeout).then_some(failed.size)
}

/// Compare one case present in both files.
fn compare_case(base: &CaseResult, new: &CaseResult, context: &Context) -> CaseComparison {
    let (request, confidence) = (context.request, context.confidence);
    let mut regressions = Vec::new();
    let timeout = if base.status == Status::Ok && new.status != Status::Ok {
        let timeout = timeout_change(base, new, context);
        regressions.push(match &timeout {
            Some(t) if t.explained => Kind::ExplainedTimeout,
            Some(_) => Kind::Timeout,
            None => Kind::Status,
        });
        timeout
    } else {
        None
    };
    // The figures of a case that did not finish in both are missing on one side: its status
    // says what changed, and listing every figure as gone would bury that.
    let both_ok = base.status == Status::Ok && new.status == Status::Ok;
    let (counters, allocations) = if both_ok {
        let names: std::collections::BTreeSet<&String> = base
            .counters
            .keys()
            .chain(new.counters.keys())
            .filter(|name| is_compared(name, new.threads))
            .collect();
        let counters = exact_changes(names.into_iter().map(|k| {
            (
                k.clone(),
                base.counters.get(k).copied(),
                new.counters.get(k).copied(),
            )
        }));
        let allocations = exact_changes(
            [
                ("allocations", base.allocations, new.allocations),
                ("allocated_bytes", base.allocated_bytes, new.allocated_bytes),
                ("peak_heap_bytes", base.peak_heap_bytes, new.peak_heap_bytes),
            ]
            .into_iter()
            .map(|(n, b, v)| (n.to_string(), b, v)),
        );
        (counters, allocations)
    } else {
        (Vec::new(), Vec::new())
    };
    if both_ok && counters.iter().any(ExactChange::rose) {
        regressions.push(Kind::Counters);
    }
    // On more than one thread the allocation figures depend on the schedule: the parallel
    // strategies' jobs take their blocks from the cache of the thread that runs them, so which
    // thread had a block to spare varies between runs of one build. They are reported, and
    // gated on one thread only.
    if both_ok && new.threads == 1 && allocations.iter().any(ExactChange::rose) {
        regressions.push(Kind::Allocations);
    }
    let time = match (both_ok, base.median_ns, new.median_ns) {
        (true, Some(b), Some(n)) if b > 0.0 => {
            let interval = interval::ratio_of_medians(
                &interval::units(&base.samples_ns, &base.round_samples),
                &interval::units(&new.samples_ns, &new.round_samples),
                confidence,
                seed_of(&base.key()),
            );
            let verdict = match interval {
                Some((lo, _)) if lo > 1.0 + request.time_threshold => TimeVerdict::Slower,
                Some((_, hi)) if hi < 1.0 - request.time_threshold => TimeVerdict::Faster,
                _ => TimeVerdict::Unchanged,
            };
            if verdict == TimeVerdict::Slower {
                regressions.push(Kind::Time);
            }
            Some(TimeChange {
                base_ns: b,
                new_ns: n,
                ratio: n / b,
                interval,
                verdict,
            })
        }
        _ => None,
    };
    let instructions = match (base.instructions, new.instructions) {
        (Some(b), Some(n)) if both_ok && b > 0 => {
            let relative = n as f64 / b as f64 - 1.0;
            if relative > request.instructions_threshold {
                regressions.push(Kind::Instructions);
            }
            Some(InstructionChange {
                base: b,
                new: n,
                relative,
                beyond_threshold: relative.abs() > request.instructions_threshold,
            })
        }
        _ => None,
    };
    CaseComparison {
        workload: base.workload.clone(),
        size: base.size,
        params: params_text(base),
        strategy: base.strategy.clone(),
        threads: base.threads,
        base_status: Some(base.status),
        new_status: Some(new.status),
        time,
        instructions,
        counters,
        allocations,
        timeout,
        regressions,
    }
}

fn one_sided(row: &CaseResult, in_base: bool) -> CaseComparison {
    let status = Some(row.status);
    CaseComparison {
        workload: row.workload.clone(),
        size: row.size,
        params: params_text(row),
        strategy: row.strategy.clone(),
        threads: row.threads,
        base_status: if in_base { status } else { None },
        new_status: if in_base { None } else { status },
        time: None,
        instructions: None,
        counters: Vec::new(),
        allocations: Vec::new(),
        timeout: None,
        regressions: if in_base && row.status == Status::Ok {
            vec![Kind::Status]
        } else {
            Vec::new()
        },
    }
}

/// Compare the files `request` names.
pub fn run(request: &Request) -> Result<Comparison> {
    for (flag, t) in [
        ("--time-threshold", request.time_threshold),
        ("--instructions-threshold", request.instructions_threshold),
    ] {
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::usage(format!(
                "{flag} {t}: expected a non-negative fraction such as 0.10"
            )));
        }
    }
    let base = ResultsFile::read(&request.base)?;
    let new = ResultsFile::read(&request.new)?;
    let confidence = base.metadata.ci_level;
    let new_rows: BTreeMap<_, &CaseResult> = new.rows.iter().map(|r| (r.key(), r)).collect();
    let context = Context {
        request,
        confidence,
        base: &base,
        new: &new,
        pace: pace(&base.rows, &new_rows),
    };
    let base_keys: std::collections::BTreeSet<_> = base.rows.iter().map(CaseResult::key).collect();
    let mut cases = Vec::new();
    let mut common = 0;
    for row in &base.rows {
        match new_rows.get(&row.key()) {
            Some(other) => {
                common += 1;
                cases.push(compare_case(row, other, &context));
            }
            None => cases.push(one_sided(row, true)),
        }
    }
    if common == 0 {
        return Err(Error::usage(format!(
            "{} and {} have no case in common (a case is a workload, size, parameters, \
             strategy and thread count): nothing to compare",
            request.base.display(),
            request.new.display()
        )));
    }
    cases.extend(
        new.rows
            .iter()
            .filter(|r| !base_keys.contains(&r.key()))
            .map(|r| one_sided(r, false)),
    );
    let mut fail_on = request.fail_on.clone();
    fail_on.sort();
    fail_on.dedup();
    Ok(Comparison {
        base: request.base.display().to_string(),
        new: request.new.display().to_string(),
        base_budget_s: base.metadata.options.budget_s,
        new_budget_s: new.metadata.options.budget_s,
        pace: context.pace,
        provenance: provenance(&base.metadata, &new.metadata),
        time_threshold: request.time_threshold,
        instructions_threshold: request.instructions_threshold,
        confidence,
        fail_on,
        cases,
    })
}

impl Comparison {
    /// The cases with a regression that `--fail-on` gates on.
    pub fn failing(&self) -> impl Iterator<Item = &CaseComparison> {
        self.cases
            .iter()
            .filter(|c| c.regressions.iter().any(|k| k.fails_under(&self.fail_on)))
    }

    /// Exit 3 when a gated regression was found, else 0.
    pub fn outcome(&self) -> Outcome {
        if self.failing().next().is_some() {
            Outcome::Regression
        } else {
            Outcome::Success
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::metadata;

    #[test]
    fn more_allocations_are_a_regression_on_one_thread_only() {
        let request = Request {
            base: PathBuf::new(),
            new: PathBuf::new(),
            time_threshold: 0.1,
            instructions_threshold: 0.02,
            fail_on: Vec::new(),
        };
        let file = ResultsFile {
            schema_version: crate::results::SCHEMA_VERSION,
            metadata: metadata(),
            rows: Vec::new(),
        };
        let context = Context {
            request: &request,
            confidence: 0.95,
            base: &file,
            new: &file,
            pace: None,
        };
        for (threads, gated) in [(1, true), (2, false)] {
            let mut base = crate::results::fixture::fmult_row("dualrev-par");
            base.threads = threads;
            base.allocations = Some(67);
            let mut new = base.clone();
            new.allocations = Some(68);
            let c = compare_case(&base, &new, &context);
            assert_eq!(c.allocations.len(), 1, "reported on {threads} threads");
            assert_eq!(
                c.regressions.contains(&Kind::Allocations),
                gated,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn schedule_dependent_counters_are_compared_on_one_thread_only() {
        assert!(is_compared("atomic_retries", 1));
        assert!(!is_compared("atomic_retries", 2));
        assert!(is_compared("atomic_adds", 2));
        assert!(is_compared("edges_applied", 4));
    }

    #[test]
    fn another_profile_or_machine_is_named_and_a_memory_cap_alone_is_not() {
        let base = metadata();
        let mut new = base.clone();
        new.date = "2027-01-01T00:00:00Z".into();
        new.options.budget_s = 2.0;
        assert!(provenance(&base, &new).is_empty());
        new.machine.memory_bytes += 4096;
        assert!(
            provenance(&base, &new).is_empty(),
            "the same machine, described"
        );
        new.build.profile = if base.build.profile == "release" {
            "debug".into()
        } else {
            "release".into()
        };
        new.machine.cores += 2;
        let differences = provenance(&base, &new);
        assert_eq!(differences.len(), 2, "{differences:?}");
        assert!(
            differences[0].contains("removes some allocations"),
            "{differences:?}"
        );
        assert!(differences[1].starts_with("BASE ran on"), "{differences:?}");
    }
}
