//! `dualbench run`: parse the sweep's flags and run it ([`crate::sweep`]); `--resume DIR`
//! continues an interrupted sweep from its journal, with the interrupted run's options and its
//! `--no-plot`, `--quiet`, `--format` and `--instructions` (each of which the resuming command
//! may add). A finished sweep is drawn ([`crate::plot`]: figures, table, `index.html` in the
//! output folder) unless `--no-plot`.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands;
use crate::error::{Error, Outcome, Result};
use crate::interrupt;
use crate::measure::instructions;
use crate::measure::settings::Overrides;
use crate::output::{self, progress_bar, ResultsFormat};
use crate::plot;
use crate::results::output::{is_default_run_dir, Overwrite, DEFAULT_RUN_DIR};
use crate::results::{summary, JSON_FILE};
use crate::resume::{self, Presentation, Resumed};
use crate::suite::Suite;
use crate::sweep::{self, shell_join, Plan, Request};

/// Arguments of `dualbench run`.
#[derive(Debug, clap::Args)]
#[command(after_help = summary::LEGEND)]
pub struct RunArgs {
    /// The suite: its workloads, sizes and timing defaults.
    #[arg(long, value_enum, default_value_t = Suite::Quick)]
    pub suite: Suite,
    /// Workloads to measure, comma separated or repeated (default: the suite's; `all`: every
    /// workload).
    #[arg(long, value_name = "NAMES", value_parser = crate::cli::args::workload_list)]
    pub workloads: Vec<String>,
    /// Strategies to measure besides `primal` (default: the suite's — every strategy of this
    /// build; for `perf`, tape, dualrev, forward-vec and the compiled-in peers).
    #[arg(long, value_name = "NAMES", value_parser = crate::cli::args::strategy_list)]
    pub strategies: Vec<String>,
    /// Sizes: `1000,2000` for every sized workload, `fdotprod=1000,2000` for one (repeatable;
    /// `1e4` accepted).
    #[arg(long, value_name = "SIZES", value_parser = crate::cli::args::sizes, allow_hyphen_values = true)]
    pub sizes: Vec<String>,
    /// A workload parameter `key=value`, applied to every selected workload (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = crate::cli::args::param)]
    pub params: Vec<String>,
    /// Thread counts, comma separated (`1,2,4`; 1 to 256, each once): on a fork-join workload
    /// every parallel strategy (primal, dualrev-par, tape-par) runs once per count, in a pool of that
    /// many threads; every other case runs on one thread (suite default: 1,2; perf 1).
    #[arg(long, value_name = "N,...", value_parser = crate::cli::args::thread_counts, allow_hyphen_values = true)]
    pub threads: Vec<String>,
    /// Wall-clock budget per case in seconds (suite default: quick 2, perf 8, paper 10, full 20).
    #[arg(long, value_name = "SECONDS", value_parser = crate::cli::args::positive_seconds, allow_hyphen_values = true)]
    pub budget: Option<f64>,
    /// Minimum number of timed samples per case (suite default: quick 6, else 10; fewer than
    /// 6 cannot give a 95% interval).
    #[arg(long, value_name = "N", value_parser = crate::cli::args::count, allow_hyphen_values = true)]
    pub repeat: Option<u64>,
    /// Minimum total sampled time per case in seconds (suite default).
    #[arg(long, value_name = "SECONDS", value_parser = crate::cli::args::seconds, allow_hyphen_values = true)]
    pub min_time: Option<f64>,
    /// Untimed warm-up per case in seconds (suite default).
    #[arg(long, value_name = "SECONDS", value_parser = crate::cli::args::seconds, allow_hyphen_values = true)]
    pub warmup: Option<f64>,
    /// Stack of each evaluation thread in MiB (every thread of a case's pool; closure-based
    /// strategies recurse deeply; 1 to 65536, default 1024).
    #[arg(long, value_name = "MIB", value_parser = crate::cli::args::positive_mib, allow_hyphen_values = true)]
    pub stack_mib: Option<u64>,
    /// Cap on each case's live heap in MiB, recorded as `oom` when exceeded (default: half
    /// the machine's memory; 0: no cap).
    #[arg(long, value_name = "MIB", value_parser = crate::cli::args::cap_mib, allow_hyphen_values = true)]
    pub memory_limit_mib: Option<u64>,
    /// Directory for results.csv and results.json (default: results/latest, whose results are
    /// overwritten; any other directory that holds results needs --force). A directory another
    /// run is writing into is refused.
    #[arg(long, value_name = "DIR", value_parser = crate::cli::args::path)]
    pub out: Option<PathBuf>,
    /// Replace the results (or the interrupted run's journal) already in --out.
    #[arg(long)]
    pub force: bool,
    /// Continue the interrupted run whose journal is in DIR, with its own options (and its
    /// --no-plot, --quiet, --format and --instructions); cases already measured are not
    /// measured again.
    #[arg(
        long,
        value_name = "DIR",
        value_parser = crate::cli::args::path,
        conflicts_with_all = [
            "suite", "workloads", "strategies", "sizes", "params", "threads", "budget",
            "repeat", "min_time", "warmup", "stack_mib", "memory_limit_mib", "out", "force",
            "shard",
        ]
    )]
    pub resume: Option<PathBuf>,
    /// How to print the results on stdout [default: table].
    #[arg(long, value_enum)]
    pub format: Option<ResultsFormat>,
    /// No progress bar and no messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run only the I-th of N shards (1-based), split by workload.
    #[arg(long, value_name = "I/N", allow_hyphen_values = true)]
    pub shard: Option<String>,
    /// Do not draw the figures, the table and index.html after measuring (`dualbench plot`
    /// draws them later from the results).
    #[arg(long)]
    pub no_plot: bool,
    /// After measuring, count each finished case's instructions per gradient under
    /// valgrind's callgrind (deterministic; cases slower than 20 ms per gradient, and cases on
    /// more than one thread, which callgrind would serialise, are not counted). Needs valgrind.
    #[arg(long)]
    pub instructions: bool,
}

impl RunArgs {
    /// The sweep these flags ask for.
    fn request(&self) -> Request {
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_DIR));
        let overwrite = if self.force {
            Overwrite::Allow
        } else if is_default_run_dir(&out) {
            Overwrite::Scratch
        } else {
            Overwrite::Refuse
        };
        Request {
            suite: self.suite,
            workloads: self.workloads.clone(),
            strategies: self.strategies.clone(),
            sizes: self.sizes.clone(),
            params: self.params.clone(),
            threads: self.threads.clone(),
            overrides: Overrides {
                budget_s: self.budget,
                repeat: self.repeat,
                min_time_s: self.min_time,
                warmup_s: self.warmup,
                stack_mib: self.stack_mib,
                memory_limit_mib: self.memory_limit_mib,
            },
            shard: self.shard.clone(),
            out,
            overwrite,
        }
    }

    /// How these flags ask the run to report.
    fn presentation(&self) -> Presentation {
        Presentation {
            format: self.format,
            quiet: self.quiet,
            no_plot: self.no_plot,
            instructions: self.instructions,
        }
    }
}

/// A sweep ready to run: its plan, the journal it continues, and how it reports.
struct Prepared {
    plan: Plan,
    resumed: Option<Resumed>,
    recorded: Vec<String>,
    command: String,
    shown: Presentation,
}

/// A new sweep, from this command's flags.
fn prepare_new(args: &RunArgs) -> Result<Prepared> {
    Ok(Prepared {
        plan: Plan::new(&args.request())?,
        resumed: None,
        recorded: sweep::run_args(),
        command: sweep::command_line(),
        shown: args.presentation(),
    })
}

/// The interrupted sweep in `dir` ([`resume::open`]), its recorded arguments planned again.
fn prepare_resumed(dir: &Path, args: &RunArgs) -> Result<Prepared> {
    let (out, journal, header, groups) = resume::open(dir)?;
    let words = ["dualbench", "run"]
        .into_iter()
        .map(String::from)
        .chain(header.args.iter().cloned());
    let original = match Cli::try_parse_from(words) {
        Ok(Cli {
            command: Command::Run(original),
        }) if original.resume.is_none() => original,
        _ => {
            return Err(Error::usage(format!(
                "--resume {}: the journal's arguments `{}` ({}:1) are not a `run` command \
                 this dualbench accepts; start over with --force",
                dir.display(),
                header.args.join(" "),
                journal.path().display()
            )))
        }
    };
    let mut request = original.request();
    request.out = dir.to_path_buf();
    request.overwrite = Overwrite::Allow;
    let plan = Plan::into_dir(&request, out)?;
    let command = shell_join(
        ["dualbench", "run"]
            .into_iter()
            .chain(header.args.iter().map(String::as_str)),
    );
    let shown = original.presentation().resumed_with(args.presentation());
    if !shown.quiet {
        output::note(&format!(
            "resuming {}: {} of {} groups already measured",
            dir.display(),
            groups.len(),
            plan.groups.len()
        ));
    }
    let resumed = Resumed {
        journal,
        header,
        groups,
    };
    Ok(Prepared {
        plan,
        resumed: Some(resumed),
        recorded: Vec::new(),
        command,
        shown,
    })
}

/// Run `dualbench run`. A run in which no case ended `ok` writes its rows but exits 1.
pub fn execute(args: RunArgs) -> Result<Outcome> {
    interrupt::watch();
    let Prepared {
        plan,
        resumed,
        recorded,
        command,
        shown,
    } = match &args.resume {
        None => prepare_new(&args)?,
        Some(dir) => prepare_resumed(dir, &args)?,
    };
    if shown.instructions && !instructions::valgrind_available() {
        return Err(Error::usage(
            "--instructions needs valgrind on PATH (Debian: apt-get install valgrind)",
        ));
    }
    let bar = progress_bar(plan.case_count(), "cases", shown.quiet);
    let file = sweep::execute(
        &plan,
        resumed,
        recorded,
        command,
        |group| bar.set_message(group.to_string()),
        || bar.inc(1),
    );
    bar.finish_and_clear();
    let mut file = file?;
    let written = plan.out.path.join(JSON_FILE);
    if shown.instructions {
        instructions::count_file(&mut file, shown.quiet)?;
        file.write_dir(&plan.out.path)?;
    }
    if !shown.quiet {
        output::note(&format!(
            "{}; wrote {}",
            sweep::status_counts(&file.rows),
            written.display()
        ));
    }
    output::print(&shown.format().render(&file))?;
    if !shown.no_plot {
        let request = plot::Request::new(vec![plan.out.path.clone()]);
        let outcome = plot::run(&request).map_err(|e| {
            Error::usage(format!(
                "the results are written, but plotting them failed: {e}; draw them again \
                 with `dualbench plot --results {}`",
                plan.out.path.display()
            ))
        })?;
        if !shown.quiet {
            commands::plot::report(&outcome);
        }
    }
    match sweep::nothing_measured(&file.rows) {
        None => Ok(Outcome::Success),
        Some(what) => {
            output::note(&format!(
                "error: {what}; the rows, which say why, are written to {}",
                written.display()
            ));
            Ok(Outcome::VerdictFailed)
        }
    }
}
