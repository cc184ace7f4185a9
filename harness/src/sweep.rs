//! The measurement sweep behind `dualbench run`: a validated [`Plan`] of (workload, size)
//! groups, executed group by group ([`crate::measure::schedule`]), journaled as it goes
//! ([`crate::results::journal`]) and written as results files at the end.
//!
//! Layered as everywhere in the harness: a [`Request`] (what the user asked for, already
//! parsed) is validated into a [`Plan`] — every group with its strategies, instantiated once
//! to check sizes and parameters, the measurement settings, and an output directory proven
//! writable and free to write — before any case runs; [`execute`] then measures the plan.
//! Bad input is an error with nothing written; cases that crash or time out are results.
//!
//! Selection: the suite gives the workloads, their sizes and the timing defaults
//! ([`crate::suite`]). `workloads` replaces the suite's workloads (a workload the suite does
//! not list gets its default sweep; one it lists more than once, with other parameters, keeps
//! every listing), `strategies` replaces "every strategy", `sizes` overrides sizes (globally or
//! per workload), `params` (read for each workload, a choice by name) overrides the suite's
//! parameters, and the timing overrides replace the suite's. `primal` is always measured, first
//! in each group, as the denominator of `overhead`.
//!
//! Threads: `threads` (`--threads 1,2`, else the suite's list) are the pool sizes that the
//! parallel strategies ([`StrategyKind::is_parallel`]) run at on a fork-join workload
//! ([`strategies::DynProgram::fork_join`]): one case per thread count. Every other strategy,
//! and every strategy on a workload without `join`s, runs on one thread only, whatever the
//! list, and the primal always runs on one thread too (besides the list's counts), so that
//! every row has its denominator.
//!
//! Skipping: sizes of a workload run in increasing order; once a strategy times out, runs out
//! of memory or crashes at one size on a thread count, its larger sizes of that workload with
//! the same parameters on that thread count are recorded as `skipped` instead of being
//! attempted. A strategy that
//! cannot run a workload at all (`manual` where the workload has no hand-written adjoint) is
//! recorded as `skipped` with that reason at every size.
//!
//! Sharding: `shard = (I, N)` keeps the workloads at positions I, I+N, I+2N, ... (1-based) of
//! the selection, so each workload's sizes, strategies and primal stay in one shard; the
//! shards' directories are combined with `dualbench merge`.
//!
//! Nothing given is silently ignored: sizes named for a workload that is not selected, and a
//! `--threads` count that no selected case runs at, are errors. The output directory is locked
//! for the whole sweep ([`OutputDir`]), and a journal to resume is checked line by line against
//! the plan ([`Resumed::check`]).
//!
//! Interrupts: the sweep runs under [`interrupt::graceful`]; a Ctrl-C stops it between cases
//! without journaling the group it interrupted, and the error says how to continue.

use std::collections::BTreeMap;
use std::path::PathBuf;

use strategies::StrategyKind;
use workloads::Params;

use crate::error::{Error, Result};
use crate::interrupt;
use crate::measure::machine::{binary_hash, Build, Machine};
use crate::measure::schedule::{self, Case, CaseGroup, Failures};
use crate::measure::settings::Overrides;
use crate::measure::settings::Settings;
use crate::measure::stats::CI_LEVEL;
use crate::measure::thread;
use crate::results::journal::{GroupRecord, Journal, JournalHeader, JOURNAL_VERSION};
use crate::results::output::{OutputDir, Overwrite};
use crate::results::{CaseResult, Metadata, ResultsFile, RunOptions, Status, SCHEMA_VERSION};
use crate::resume::Resumed;
use crate::select::{self, SizeSelection};
use crate::suite::{Sizes, Suite, SuiteEntry};

/// What the user asked `run` to measure, as parsed from the command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// The suite.
    pub suite: Suite,
    /// `--workloads` (empty: the suite's).
    pub workloads: Vec<String>,
    /// `--strategies` (empty: all).
    pub strategies: Vec<String>,
    /// `--sizes`.
    pub sizes: Vec<String>,
    /// `--param`.
    pub params: Vec<String>,
    /// `--threads` (empty: the suite's thread counts).
    pub threads: Vec<String>,
    /// The timing overrides.
    pub overrides: Overrides,
    /// `--shard I/N`.
    pub shard: Option<String>,
    /// The output directory.
    pub out: PathBuf,
    /// Whether results (or a journal) already in `out` may be replaced.
    pub overwrite: Overwrite,
}

/// A validated sweep: what to run, how, and where to write.
#[derive(Debug)]
pub struct Plan {
    /// The groups in the order they run.
    pub groups: Vec<CaseGroup>,
    /// How cases are measured.
    pub settings: Settings,
    /// The options, as recorded in the metadata.
    pub options: RunOptions,
    /// The output directory (exists, is writable, and may be written).
    pub out: OutputDir,
}

impl Plan {
    /// Validate `request` into a plan; creates the output directory if needed and locks it
    /// (and nothing else), after every other check has passed.
    pub fn new(request: &Request) -> Result<Plan> {
        let (groups, settings, options) = Plan::validate(request)?;
        let out = OutputDir::prepare(&request.out, request.overwrite, "run")?;
        Ok(Plan {
            groups,
            settings,
            options,
            out,
        })
    }

    /// Validate `request` into a plan that writes into `out`, a directory already prepared
    /// (and locked) by the caller: a resumed sweep locks its directory before it reads the
    /// journal there.
    pub fn into_dir(request: &Request, out: OutputDir) -> Result<Plan> {
        let (groups, settings, options) = Plan::validate(request)?;
        Ok(Plan {
            groups,
            settings,
            options,
            out,
        })
    }

    /// Every check of [`Plan::new`] but the output directory's.
    fn validate(request: &Request) -> Result<(Vec<CaseGroup>, Settings, RunOptions)> {
        let (settings, mut options) = Settings::new(request.suite, &request.overrides)?;
        let shard = request.shard.as_deref().map(parse_shard).transpose()?;
        options.shard = shard.map(|(i, n)| format!("{i}/{n}"));

        let strategies = if request.strategies.is_empty() {
            with_primal_first(&request.suite.strategies())
        } else {
            with_primal_first(&select::strategies(&request.strategies)?)
        };
        let given = select::params(&request.params)?;
        let threads = if request.threads.is_empty() {
            request.suite.threads().to_vec()
        } else {
            select::thread_counts(&request.threads)?
        };
        let sizes = SizeSelection::parse(&request.sizes)?;
        let named = !request.workloads.is_empty();
        let entries = if named {
            let suite = request.suite.entries();
            select::workloads(&request.workloads)?
                .into_iter()
                .flat_map(|w| {
                    let listed: Vec<SuiteEntry> = suite
                        .iter()
                        .copied()
                        .filter(|e| e.workload == w.name())
                        .collect();
                    if listed.is_empty() {
                        vec![SuiteEntry {
                            workload: w.name(),
                            sizes: Sizes::Sweep,
                            params: &[],
                        }]
                    } else {
                        listed
                    }
                })
                .collect()
        } else {
            request.suite.entries()
        };
        sizes.check_selected(&entries.iter().map(|e| e.workload).collect::<Vec<_>>())?;
        let entries: Vec<_> = match shard {
            None => entries,
            Some((i, n)) => {
                let total = entries.len();
                let kept: Vec<_> = entries.into_iter().skip(i - 1).step_by(n).collect();
                if kept.is_empty() {
                    return Err(Error::usage(format!(
                        "shard {i}/{n} selects no workload: the selection has {total}"
                    )));
                }
                kept
            }
        };

        let mut groups = Vec::new();
        for entry in entries {
            let workload = workloads::find(entry.workload)?;
            let mut list = sizes.sizes_for(workload, named, |_| entry.sizes.resolve(workload))?;
            list.sort();
            list.dedup();
            let mut params = select::resolve_params(workload, &given)?;
            for &(key, value) in entry.params {
                params.entry(key.to_string()).or_insert(value);
            }
            for size in list {
                let instance = workloads::instantiate(workload, size, &params)?;
                let fork_join = instance.program.fork_join();
                let cases = strategies
                    .iter()
                    .flat_map(|&s| {
                        thread_counts(s, fork_join, &threads)
                            .into_iter()
                            .map(move |t| (s, t))
                    })
                    .map(|(s, t)| Case {
                        strategy: s,
                        threads: t,
                        command: reproduce(workload.name(), size, &instance.params, s, t, &options),
                        unavailable: instance.program.why_unavailable(s),
                    })
                    .collect();
                groups.push(CaseGroup {
                    workload: workload.name().to_string(),
                    size,
                    params: params.clone(),
                    resolved_params: instance.params,
                    cases,
                });
            }
        }
        if groups.is_empty() {
            return Err(Error::usage(
                "the selection is empty: no workload to measure",
            ));
        }
        if !request.threads.is_empty() {
            check_threads_used(&groups, &threads)?;
        }
        let most_threads = groups
            .iter()
            .flat_map(|g| g.cases.iter().map(|c| c.threads))
            .max()
            .unwrap_or(1);
        thread::check_stack(most_threads, settings.stack_bytes)?;
        Ok((groups, settings, options))
    }

    /// Number of cases.
    pub fn case_count(&self) -> usize {
        self.groups.iter().map(|g| g.cases.len()).sum()
    }
}

/// Refuse `--threads` counts that no case of `groups` runs at: they would be ignored.
fn check_threads_used(groups: &[CaseGroup], threads: &[usize]) -> Result<()> {
    let unused: Vec<String> = threads
        .iter()
        .filter(|&&t| {
            !groups
                .iter()
                .any(|g| g.cases.iter().any(|c| c.threads == t))
        })
        .map(usize::to_string)
        .collect();
    if unused.is_empty() {
        return Ok(());
    }
    let mut workloads: Vec<&str> = groups.iter().map(|g| g.workload.as_str()).collect();
    workloads.dedup();
    Err(Error::usage(format!(
        "--threads {}: no selected case runs on {} thread{}, so the count{} would be ignored. \
         Only the parallel strategies ({}) run on more than one thread, and only on a fork-join \
         workload (family `parallel` in `dualbench list`); the selected workloads are {}",
        threads
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
        unused.join(" or "),
        if unused == ["1"] { "" } else { "s" },
        if unused.len() == 1 { "" } else { "s" },
        select::parallel_strategy_names(),
        workloads.join(", ")
    )))
}

/// The thread counts `strategy` runs at: every count of `threads` for a parallel strategy on a
/// fork-join program (and one thread as well for the primal, the denominator of the sequential
/// rows), one thread otherwise; in increasing order.
fn thread_counts(strategy: StrategyKind, fork_join: bool, threads: &[usize]) -> Vec<usize> {
    if !(fork_join && strategy.is_parallel()) {
        return vec![1];
    }
    let mut counts = threads.to_vec();
    if strategy == StrategyKind::Primal {
        counts.push(1);
    }
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// The name of a group in the journal and on the progress line: `workload size`, or the
/// workload alone, then the parameters the suite or the command line set, if any
/// (`fparticles 20000 [fork=balanced, particles=16]`).
pub fn group_key(group: &CaseGroup) -> String {
    let mut key = match group.size {
        Some(size) => format!("{} {size}", group.workload),
        None => group.workload.clone(),
    };
    if !group.params.is_empty() {
        let params = workloads::format_params(&group.workload, &group.params);
        key.push_str(&format!(" [{}]", params.join(", ")));
    }
    key
}

/// Parse `I/N` with 1 <= I <= N.
fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::usage(format!(
            "invalid --shard `{text}`: expected I/N with 1 <= I <= N"
        ))
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// `primal` first (the overhead's denominator, and the first of each round), then the others
/// in their selected order.
fn with_primal_first(selected: &[StrategyKind]) -> Vec<StrategyKind> {
    std::iter::once(StrategyKind::Primal)
        .chain(
            selected
                .iter()
                .copied()
                .filter(|&s| s != StrategyKind::Primal),
        )
        .collect()
}

/// A `dualbench run` command measuring one case (with its primal) as this sweep did.
fn reproduce(
    workload: &str,
    size: Option<usize>,
    params: &Params,
    strategy: StrategyKind,
    threads: usize,
    options: &RunOptions,
) -> String {
    let strategies = if strategy == StrategyKind::Primal {
        "primal".to_string()
    } else {
        format!("primal,{}", strategy.name())
    };
    let mut words = vec![
        "dualbench".to_string(),
        "run".into(),
        "--workloads".into(),
        workload.into(),
        "--strategies".into(),
        strategies,
    ];
    if let Some(size) = size {
        words.extend(["--sizes".into(), format!("{workload}={size}")]);
    }
    for param in workloads::format_params(workload, params) {
        words.extend(["--param".into(), param]);
    }
    if threads != 1 {
        words.extend(["--threads".into(), threads.to_string()]);
    }
    words.extend([
        "--budget".into(),
        options.budget_s.to_string(),
        "--repeat".into(),
        options.repeat.to_string(),
        "--min-time".into(),
        options.min_time_s.to_string(),
        "--warmup".into(),
        options.warmup_s.to_string(),
        "--stack-mib".into(),
        options.stack_mib.to_string(),
        "--memory-limit-mib".into(),
        options.memory_limit_mib.to_string(),
    ]);
    shell_join(words.iter().map(String::as_str))
}

/// Join words into one POSIX shell command line, single-quoting a word only when it holds a
/// character outside the set that needs no quoting (so `primal,naive` and `fdotprod=100` stay
/// as they are).
pub fn shell_join<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.,=/:+@%".contains(c);
    words
        .into_iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(plain) {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments after `run` on this process's command line: what a new journal records.
pub fn run_args() -> Vec<String> {
    std::env::args()
        .skip_while(|a| a != "run")
        .skip(1)
        .collect()
}

/// This process's command line, as `dualbench ARGS`.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    shell_join(std::iter::once("dualbench").chain(args.iter().map(String::as_str)))
}

/// The current time, RFC 3339 UTC.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The metadata of a results file written now.
pub fn metadata(command: String, options: RunOptions) -> Metadata {
    Metadata {
        build: Build::current(),
        machine: Machine::current(),
        date: now(),
        command,
        options,
        ci_level: CI_LEVEL,
        merged_from: Vec::new(),
    }
}

/// `error`, which stopped the sweep before group `index`, with what is kept and how to
/// continue.
fn stopped(error: Error, plan: &Plan, index: usize) -> Error {
    let dir = plan.out.path.display();
    let kept = format!(
        "{index} of {} groups are in the journal {}",
        plan.groups.len(),
        plan.out
            .path
            .join(crate::results::journal::JOURNAL_FILE)
            .display()
    );
    match error {
        Error::Interrupted { message } => Error::Interrupted {
            message: format!(
                "{message}; {kept}: `dualbench run --resume {dir}` continues the sweep"
            ),
        },
        Error::Usage(message) => Error::Usage(format!(
            "{message}; {kept}: once the cause is removed, `dualbench run --resume {dir}` \
             continues the sweep"
        )),
        other => other,
    }
}

/// When no row ended `ok` (not even a primal's), the run measured nothing: what to say about
/// it (the status counts and the first failure's reason); `None` when something was measured.
pub fn nothing_measured(rows: &[CaseResult]) -> Option<String> {
    if rows.iter().any(|r| r.status == Status::Ok) {
        return None;
    }
    let first = rows
        .iter()
        .find(|r| r.status != Status::Skipped)
        .or(rows.first());
    Some(format!(
        "no case was measured ({}){}",
        status_counts(rows),
        first.map_or(String::new(), |r| format!(
            "; the first, {}{} on {}, ended `{}`: {}",
            r.workload,
            r.size.map_or(String::new(), |s| format!(" at size {s}")),
            r.strategy_label(),
            r.status.name(),
            r.detail
        ))
    ))
}

/// How many rows ended with each status, as `198 cases: 195 ok, 3 timeout`.
pub fn status_counts(rows: &[CaseResult]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.status.name()).or_default() += 1;
    }
    let order = [
        Status::Ok,
        Status::Timeout,
        Status::Oom,
        Status::Crashed,
        Status::Skipped,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|s| counts.get(s.name()).map(|c| format!("{c} {}", s.name())))
        .collect();
    format!(
        "{} case{}: {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Measure `plan` (continuing `resumed`, if given), journaling each finished group, and write
/// the results files. `args` are the `run` arguments recorded in a new journal; `command` the
/// command recorded in the metadata. `on_group(name)` is called as each group starts and
/// `on_case()` as each case ends (for progress).
pub fn execute(
    plan: &Plan,
    resumed: Option<Resumed>,
    args: Vec<String>,
    command: String,
    mut on_group: impl FnMut(&str),
    mut on_case: impl FnMut(),
) -> Result<ResultsFile> {
    let _graceful = interrupt::graceful();
    let (mut journal, done) = match resumed {
        Some(r) => {
            r.check(plan)?;
            let done: BTreeMap<usize, GroupRecord> = r
                .groups
                .into_iter()
                .map(|g| (g.record.group, g.record))
                .collect();
            (r.journal, done)
        }
        None => {
            let header = JournalHeader {
                journal_version: JOURNAL_VERSION,
                schema_version: SCHEMA_VERSION,
                args,
                build: Build::current(),
                binary_hash: binary_hash().map_err(|source| Error::Io {
                    context: "reading this binary to identify its build".into(),
                    source,
                })?,
                machine: Machine::current(),
                options: plan.options.clone(),
                started: now(),
                groups: plan.groups.len(),
            };
            (Journal::create(&plan.out.path, &header)?, BTreeMap::new())
        }
    };
    let mut failures = Failures::new();
    let mut rows = Vec::with_capacity(plan.case_count());
    for (index, group) in plan.groups.iter().enumerate() {
        let key = group_key(group);
        on_group(&key);
        let group_rows = match done.get(&index) {
            Some(record) => {
                schedule::record_failures(&record.rows, &mut failures);
                for _ in &record.rows {
                    on_case();
                }
                record.rows.clone()
            }
            None => {
                let group_rows =
                    schedule::run_cases(group, &plan.settings, &mut failures, &mut on_case)
                        .map_err(|e| stopped(e, plan, index))?;
                journal.append(&GroupRecord {
                    group: index,
                    key,
                    rows: group_rows.clone(),
                })?;
                group_rows
            }
        };
        rows.extend(group_rows);
    }
    let file = ResultsFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata(command, plan.options.clone()),
        rows,
    };
    file.write_dir(&plan.out.path)?;
    journal.remove()?;
    // An interrupt after the last group: the results are complete, but nothing more is done.
    if let Some(signal) = interrupt::requested() {
        return Err(Error::Interrupted {
            message: format!(
                "interrupted by {} as the sweep finished; its results are written to {}",
                interrupt::signal_name(signal),
                plan.out.path.join(crate::results::JSON_FILE).display()
            ),
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_one_based_and_bounded() {
        assert_eq!(parse_shard("1/3").unwrap(), (1, 3));
        assert_eq!(parse_shard("3/3").unwrap(), (3, 3));
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn primal_runs_first_and_once() {
        let s = with_primal_first(&[StrategyKind::Naive, StrategyKind::Primal]);
        assert_eq!(s, [StrategyKind::Primal, StrategyKind::Naive]);
    }

    #[test]
    fn only_parallel_strategies_on_fork_join_programs_run_on_several_threads() {
        let (par, primal, seq) = (
            StrategyKind::DualrevPar,
            StrategyKind::Primal,
            StrategyKind::Dualrev,
        );
        assert!(par.is_parallel() && primal.is_parallel() && !seq.is_parallel());
        assert_eq!(thread_counts(par, true, &[1, 2]), [1, 2]);
        assert_eq!(thread_counts(par, true, &[2, 4]), [2, 4]);
        assert_eq!(
            thread_counts(primal, true, &[2, 4]),
            [1, 2, 4],
            "the denominator"
        );
        assert_eq!(thread_counts(seq, true, &[2, 4]), [1]);
        assert_eq!(thread_counts(par, false, &[2, 4]), [1]);
    }

    #[test]
    fn a_reproducer_names_its_thread_count_unless_it_is_one() {
        let (_, options) = Settings::new(
            Suite::Quick,
            &Overrides {
                memory_limit_mib: Some(0),
                ..Overrides::default()
            },
        )
        .unwrap();
        let params = Params::new();
        let command = |t| {
            reproduce(
                "w",
                Some(10),
                &params,
                StrategyKind::DualrevPar,
                t,
                &options,
            )
        };
        assert!(command(2).contains("--strategies primal,dualrev-par --sizes w=10 --threads 2"));
        assert!(!command(1).contains("--threads"), "{}", command(1));
    }

    #[test]
    fn a_workload_listed_twice_plans_both_series_and_a_fork_is_given_by_name() {
        let request = Request {
            suite: Suite::Paper,
            workloads: vec!["fparticles".into()],
            strategies: vec!["tape".into()],
            overrides: Overrides {
                memory_limit_mib: Some(0),
                ..Overrides::default()
            },
            ..Request::default()
        };
        let (groups, _, _) = Plan::validate(&request).unwrap();
        let fork_of = |g: &CaseGroup| g.resolved_params["fork"];
        assert_eq!(groups.iter().filter(|g| fork_of(g) == 0.0).count(), 3);
        assert_eq!(groups.iter().filter(|g| fork_of(g) == 1.0).count(), 3);
        let balanced = groups.iter().find(|g| fork_of(g) == 1.0).unwrap();
        assert_eq!(
            group_key(balanced),
            "fparticles 20000 [fork=balanced, particles=16]"
        );
        let command = &balanced.cases[1].command;
        assert!(
            command.contains("--param fork=balanced --param particles=16"),
            "{command}"
        );

        let given = Request {
            params: vec!["fork=balanced".into()],
            ..request.clone()
        };
        let (groups, _, _) = Plan::validate(&given).unwrap();
        assert!(groups.iter().all(|g| fork_of(g) == 1.0));
        let bad = Request {
            params: vec!["fork=tree".into()],
            ..request
        };
        let e = Plan::validate(&bad).unwrap_err().to_string();
        assert!(e.contains("valid choices: chain, balanced"), "{e}");
    }

    #[test]
    fn shell_join_quotes_only_what_needs_it() {
        assert_eq!(shell_join(["dualbench", "run"]), "dualbench run");
        assert_eq!(shell_join(["--out", "my dir"]), "--out 'my dir'");
        assert_eq!(shell_join(["primal,naive", "a=1"]), "primal,naive a=1");
        assert_eq!(shell_join(["it's"]), r"'it'\''s'");
    }

    #[test]
    fn run_ends_with_a_count_per_status() {
        let row = |status| {
            CaseResult::unmeasured(
                "w",
                None,
                BTreeMap::new(),
                "s",
                status,
                String::new(),
                String::new(),
            )
        };
        let rows = [row(Status::Ok), row(Status::Timeout), row(Status::Ok)];
        assert_eq!(status_counts(&rows), "3 cases: 2 ok, 1 timeout");
    }
}
