//! `dualbench run`: the measurement sweep.
//!
//! Layered as everywhere in the harness: the parsed flags ([`RunArgs`]) are validated into a
//! [`RunPlan`] — every (workload, size) group with its strategies, instantiated once to check
//! sizes and parameters, the timing settings, and an output directory proven writable —
//! before any case runs; the plan is then executed group by group
//! ([`crate::measure::schedule`]), each case in its own child process, and the rows are
//! written to `DIR/results.csv` and `DIR/results.json` (each atomically) and summarised on
//! stdout. Bad input exits 2 with nothing written; cases that crash or time out are results,
//! and the run still exits 0.
//!
//! Selection: the suite gives the workloads, their sizes and the timing defaults
//! ([`crate::suite`]). `--workloads` replaces the suite's workloads (a workload the suite does
//! not list gets its default sweep), `--strategies` replaces "every strategy", `--sizes`
//! overrides sizes (globally or per workload), and the timing flags override the suite's.
//! `primal` is always measured, first in each group, as the denominator of `overhead`.
//!
//! Skipping: sizes of a workload run in increasing order; once a strategy times out, runs out
//! of memory or crashes at one size, its larger sizes of that workload are recorded as
//! `skipped` instead of being attempted.
//!
//! Sharding: `--shard I/N` keeps the workloads at positions I, I+N, I+2N, ... (1-based) of the
//! selection, so each workload's sizes, strategies and primal stay in one shard; combine the
//! shards' directories with `dualbench merge`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use strategies::StrategyKind;
use workloads::Params;

use crate::error::{Error, Outcome, Result};
use crate::measure::machine::{Build, Machine};
use crate::measure::schedule::{self, Failures, Group, PlannedCase, Settings};
use crate::measure::stats::CI_LEVEL;
use crate::results::{summary, Metadata, ResultsFile, RunOptions, SCHEMA_VERSION};
use crate::select::{self, SizeSelection, EVALUATION_STACK_BYTES};
use crate::suite::{Sizes, Suite};
use crate::table::TableStyle;

/// Rounds a group's samples are interleaved over.
const ROUNDS: u64 = 5;
/// Most samples kept per case.
const MAX_SAMPLES: u64 = 200;
/// Fast gradients are batched so that one sample takes at least this long.
const TARGET_SAMPLE: Duration = Duration::from_micros(500);

/// How results are printed on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The summary as an aligned plain-text table.
    #[default]
    Table,
    /// The whole results file as JSON (as `results.json`).
    Json,
    /// The rows as CSV (as `results.csv`).
    Csv,
    /// The summary as a Markdown table.
    Markdown,
}

impl Format {
    /// Print `file` on stdout in this format.
    pub fn print(self, file: &ResultsFile) -> Result<()> {
        let text = match self {
            Format::Table => summary::render(&file.rows, TableStyle::Plain),
            Format::Markdown => summary::render(&file.rows, TableStyle::Markdown),
            Format::Json => serde_json::to_string_pretty(file).expect("results serialise") + "\n",
            Format::Csv => {
                let mut bytes = Vec::new();
                crate::results::csv::write(&file.rows, &mut bytes).expect("writing to memory");
                String::from_utf8(bytes).expect("CSV of UTF-8 fields")
            }
        };
        print!("{text}");
        Ok(())
    }
}

/// Arguments of `dualbench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The suite: its workloads, sizes and timing defaults.
    #[arg(long, value_enum, default_value_t = Suite::Quick)]
    pub suite: Suite,
    /// Workloads to measure, comma separated or repeated (default: the suite's; `all`: every
    /// workload).
    #[arg(long, value_name = "NAMES")]
    pub workloads: Vec<String>,
    /// Strategies to measure besides `primal` (default: all).
    #[arg(long, value_name = "NAMES")]
    pub strategies: Vec<String>,
    /// Sizes: `1000,2000` for every workload, `fdotprod=1000,2000` for one (repeatable;
    /// `1e4` accepted).
    #[arg(long, value_name = "SIZES")]
    pub sizes: Vec<String>,
    /// A workload parameter `key=value`, applied to every selected workload (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Wall-clock budget per case in seconds (suite default: quick 2, paper 10, full 20).
    #[arg(long, value_name = "SECONDS")]
    pub budget: Option<f64>,
    /// Minimum number of timed samples per case (suite default: quick 5, else 10).
    #[arg(long, value_name = "N")]
    pub repeat: Option<u64>,
    /// Minimum total sampled time per case in seconds (suite default).
    #[arg(long, value_name = "SECONDS")]
    pub min_time: Option<f64>,
    /// Untimed warm-up per case in seconds (suite default).
    #[arg(long, value_name = "SECONDS")]
    pub warmup: Option<f64>,
    /// Stack of the evaluation thread in MiB (closure-based strategies recurse deeply).
    #[arg(long, value_name = "MIB", default_value_t = (EVALUATION_STACK_BYTES >> 20) as u64)]
    pub stack_mib: u64,
    /// Cap on each case's live heap in MiB, recorded as `oom` when exceeded (default: half
    /// the machine's memory; 0: no cap).
    #[arg(long, value_name = "MIB")]
    pub memory_limit_mib: Option<u64>,
    /// Directory for results.csv and results.json.
    #[arg(long, value_name = "DIR", default_value = "results/latest")]
    pub out: PathBuf,
    /// How to print the results on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress bar and no messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run only the I-th of N shards (1-based), split by workload.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// A validated sweep: what to run, how, and where to write.
#[derive(Debug)]
pub struct RunPlan {
    /// The groups in the order they run.
    pub groups: Vec<Group>,
    /// How cases are measured.
    pub settings: Settings,
    /// The options, as recorded in the metadata.
    pub options: RunOptions,
    /// The output directory (exists and is writable).
    pub out: PathBuf,
}

impl RunPlan {
    /// Validate `args` into a plan; creates the output directory if needed (and nothing
    /// else), after every other check has passed.
    pub fn new(args: &RunArgs) -> Result<RunPlan> {
        let timing = args.suite.timing();
        let budget_s = positive("--budget", args.budget.unwrap_or(timing.budget_s))?;
        let min_time_s = non_negative("--min-time", args.min_time.unwrap_or(timing.min_time_s))?;
        let warmup_s = non_negative("--warmup", args.warmup.unwrap_or(timing.warmup_s))?;
        let repeat = args.repeat.unwrap_or(timing.repeat);
        if repeat == 0 {
            return Err(Error::usage("--repeat must be at least 1"));
        }
        if args.stack_mib == 0 {
            return Err(Error::usage("--stack-mib must be at least 1"));
        }
        let memory_limit_mib = args
            .memory_limit_mib
            .unwrap_or((Machine::current().memory_bytes / 2) >> 20);
        let shard = args.shard.as_deref().map(parse_shard).transpose()?;

        let strategies = with_primal_first(&select::strategies(&args.strategies)?);
        let params = select::params(&args.params)?;
        let sizes = SizeSelection::parse(&args.sizes)?;
        let entries = if args.workloads.is_empty() {
            args.suite.entries()
        } else {
            let suite = args.suite.entries();
            select::workloads(&args.workloads)?
                .into_iter()
                .map(|w| {
                    suite
                        .iter()
                        .copied()
                        .find(|e| e.workload == w.name())
                        .unwrap_or(crate::suite::SuiteEntry {
                            workload: w.name(),
                            sizes: Sizes::Sweep,
                        })
                })
                .collect()
        };
        if let Some(name) = sizes
            .per_workload
            .keys()
            .find(|n| !entries.iter().any(|e| e.workload == n.as_str()))
        {
            return Err(Error::usage(format!(
                "--sizes names workload `{name}`, which is not selected; selected: {}",
                entries
                    .iter()
                    .map(|e| e.workload)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
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

        let options = RunOptions {
            suite: args.suite.name().to_string(),
            budget_s,
            repeat,
            min_time_s,
            warmup_s,
            target_sample_s: TARGET_SAMPLE.as_secs_f64(),
            rounds: ROUNDS,
            stack_mib: args.stack_mib,
            memory_limit_mib,
            shard: shard.map(|(i, n)| format!("{i}/{n}")),
        };
        let mut groups = Vec::new();
        for entry in entries {
            let workload = workloads::find(entry.workload)?;
            let mut list = sizes.sizes_for(workload, |_| entry.sizes.resolve(workload))?;
            list.sort();
            list.dedup();
            for size in list {
                let instance = workloads::instantiate(workload, size, &params)?;
                let cases = strategies
                    .iter()
                    .map(|&s| PlannedCase {
                        strategy: s,
                        command: reproduce(workload.name(), size, &instance.params, s, &options),
                    })
                    .collect();
                groups.push(Group {
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

        let exe = std::env::current_exe().map_err(|source| Error::Io {
            context: "finding the dualbench binary to run cases with".into(),
            source,
        })?;
        let settings = Settings {
            exe,
            budget: Duration::from_secs_f64(budget_s),
            repeat,
            min_time: Duration::from_secs_f64(min_time_s),
            max_samples: MAX_SAMPLES,
            rounds: ROUNDS,
            warmup: Duration::from_secs_f64(warmup_s),
            target_sample: TARGET_SAMPLE,
            stack_bytes: usize::try_from(args.stack_mib << 20)
                .map_err(|_| Error::usage("--stack-mib is too large"))?,
            memory_limit_bytes: usize::try_from(memory_limit_mib << 20)
                .map_err(|_| Error::usage("--memory-limit-mib is too large"))?,
        };
        prepare_output_dir(&args.out)?;
        Ok(RunPlan {
            groups,
            settings,
            options,
            out: args.out.clone(),
        })
    }

    /// Number of cases.
    pub fn case_count(&self) -> usize {
        self.groups.iter().map(|g| g.cases.len()).sum()
    }
}

fn positive(flag: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::usage(format!(
            "{flag} must be a positive number of seconds; got {value}"
        )))
    }
}

fn non_negative(flag: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::usage(format!(
            "{flag} must be a non-negative number of seconds; got {value}"
        )))
    }
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
    for (key, value) in params {
        words.extend(["--param".into(), format!("{key}={value}")]);
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

/// This process's command line, as `dualbench ARGS`.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    shell_join(std::iter::once("dualbench").chain(args.iter().map(String::as_str)))
}

/// Create `dir` if needed and prove that a file can be written in it.
pub fn prepare_output_dir(dir: &Path) -> Result<()> {
    let unwritable = |source| Error::Io {
        context: format!("--out {} is not a writable directory", dir.display()),
        source,
    };
    std::fs::create_dir_all(dir).map_err(unwritable)?;
    tempfile::NamedTempFile::new_in(dir).map_err(unwritable)?;
    Ok(())
}

/// The metadata of a results file written now.
pub fn metadata(command: String, options: RunOptions) -> Metadata {
    Metadata {
        build: Build::current(),
        machine: Machine::current(),
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        command,
        options,
        ci_level: CI_LEVEL,
    }
}

/// A progress bar on stderr with an ETA, hidden when stderr is not a terminal or `quiet`.
fn progress_bar(cases: usize, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(cases as u64),
        if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} cases, ETA {eta} {wide_msg}",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar
}

/// Run `dualbench run`.
pub fn execute(args: RunArgs) -> Result<Outcome> {
    let plan = RunPlan::new(&args)?;
    let bar = progress_bar(plan.case_count(), args.quiet);
    let mut failures = Failures::new();
    let mut rows = Vec::with_capacity(plan.case_count());
    for group in &plan.groups {
        let size = group.size.map_or(String::new(), |s| format!(" {s}"));
        bar.set_message(format!("{}{size}", group.workload));
        rows.extend(schedule::run_group(
            group,
            &plan.settings,
            &mut failures,
            || bar.inc(1),
        ));
    }
    bar.finish_and_clear();
    let file = ResultsFile {
        schema_version: SCHEMA_VERSION,
        metadata: metadata(command_line(), plan.options),
        rows,
    };
    file.write_dir(&plan.out)?;
    args.format.print(&file)?;
    if !args.quiet {
        eprintln!(
            "wrote {} rows to {}",
            file.rows.len(),
            plan.out.join(crate::results::JSON_FILE).display()
        );
    }
    Ok(Outcome::Success)
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
    fn shell_join_quotes_only_what_needs_it() {
        assert_eq!(shell_join(["dualbench", "run"]), "dualbench run");
        assert_eq!(shell_join(["--out", "my dir"]), "--out 'my dir'");
        assert_eq!(shell_join(["primal,naive", "a=1"]), "primal,naive a=1");
        assert_eq!(shell_join(["it's"]), r"'it'\''s'");
    }
}
