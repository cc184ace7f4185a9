//! The command line: one clap subcommand per command, each with its arguments defined in its
//! own module under [`crate::commands`], the typed value parsers they share ([`args`]), and the
//! exit codes each command's `--help` lists ([`exit_codes`]).
//!
//! [`command`] is the one clap definition that the parser, `dualbench completions` and
//! `dualbench man` all use, so that completions and man pages never drift from the flags.

pub mod args;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands;
use crate::error::{Outcome, Result};

/// Measure, verify and check automatic-differentiation strategies.
#[derive(Debug, Parser)]
#[command(name = "dualbench", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List strategies and workloads with their descriptions and sizes.
    List(commands::list::ListArgs),
    /// Compute one gradient (or vector-Jacobian product) and print it as JSON.
    Grad(commands::grad::GradArgs),
    /// Compute one Hessian-vector product (second derivatives) and print it as JSON.
    Hvp(commands::hvp::HvpArgs),
    /// Check every strategy against every other and against finite differences.
    Verify(commands::verify::VerifyArgs),
    /// Measure a sweep of (workload, strategy, size) cases and write results files.
    Run(commands::run::RunArgs),
    /// Combine results files (e.g. shards of one sweep) into one.
    Merge(commands::merge::MergeArgs),
    /// Decide the complexity claims of a claims file against measurements.
    Check(commands::check::CheckArgs),
    /// Draw the figures, the paper table and index.html of results files.
    Plot(commands::plot::PlotArgs),
    /// Compare two results files: counters, allocations, instructions and time.
    Compare(commands::compare::CompareArgs),
    /// Be a GradBench tool: answer the protocol's messages on stdin and stdout.
    Gradbench(commands::gradbench::GradbenchArgs),
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(commands::completions::CompletionsArgs),
    /// Print dualbench's man page, or write one page per command into a directory.
    Man(commands::man::ManArgs),
    /// Measure one case in this process (used by `run`, which isolates each case in a child).
    #[command(hide = true)]
    RunCase(commands::run_case::RunCaseArgs),
    /// Compute one case's gradients inside callgrind's counted window (used by `run
    /// --instructions`).
    #[command(hide = true)]
    CountInstructions(commands::count_instructions::CountInstructionsArgs),
    /// Evaluate GradBench requests in this process (the worker of `gradbench`).
    #[command(hide = true)]
    GradbenchWorker(commands::gradbench_worker::GradbenchWorkerArgs),
}

/// The exit codes a command can end with, and what each means for that command: what its
/// `--help` lists under "Exit codes". The codes are those of [`Outcome::exit_code`] and
/// [`crate::Error::exit_code`]; `None` for the hidden commands, which users do not run.
pub fn exit_codes(command: &str) -> Option<&'static [(u8, &'static str)]> {
    const OK: (u8, &str) = (0, "success");
    const USAGE: (u8, &str) = (
        2,
        "usage or input error: a flag, a file or a value is invalid (the message names it)",
    );
    Some(match command {
        "dualbench" => &[
            OK,
            (1, "a verdict failed (verify, check)"),
            USAGE,
            (3, "a regression was found (compare)"),
        ],
        "verify" => &[
            OK,
            (
                1,
                "a strategy disagreed with another or with finite differences",
            ),
            USAGE,
        ],
        "check" => &[
            (0, "no claim failed"),
            (1, "a claim failed (with --strict: or was inconclusive)"),
            (
                2,
                "usage or input error, or a claim whose workloads and strategies match no case \
                 of the data",
            ),
        ],
        "compare" => &[
            (0, "no regression of a --fail-on tier"),
            USAGE,
            (
                3,
                "a regression of a --fail-on tier, or a case that stopped finishing",
            ),
        ],
        "list" | "grad" | "hvp" | "run" | "merge" | "plot" | "gradbench" | "completions"
        | "man" => &[OK, USAGE],
        _ => return None,
    })
}

/// The "Exit codes:" paragraph of a command's help.
fn exit_codes_help(codes: &[(u8, &str)]) -> String {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in codes {
        text.push_str(&format!("\n  {code}  {meaning}"));
    }
    text
}

/// Append `command`'s exit codes to its `after_help` (after anything already there).
fn with_exit_codes(command: clap::Command) -> clap::Command {
    let Some(codes) = exit_codes(command.get_name()) else {
        return command;
    };
    let codes = exit_codes_help(codes);
    let after = match command.get_after_help() {
        Some(existing) => format!("{existing}\n\n{codes}"),
        None => codes,
    };
    command.after_help(after)
}

/// The clap definition of `dualbench`: the derived commands and flags, each visible command's
/// help ending with its exit codes.
pub fn command() -> clap::Command {
    let mut cli = with_exit_codes(Cli::command());
    let names: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        cli = cli.mut_subcommand(name, with_exit_codes);
    }
    cli
}

/// [`command`] without its hidden commands (the children `run` and `gradbench` start), for
/// the completion scripts, which would otherwise offer them.
pub fn visible_command() -> clap::Command {
    let full = command();
    let mut visible = clap::Command::new("dualbench")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true);
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    visible.subcommands(full.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
}

/// Parse `args` (the program name first) with [`command`], its help wrapped to `width`
/// columns. A misspelt command that names what `list` lists (`dualbench strategys`) gets a
/// tip pointing to `dualbench list`.
pub fn parse<I, T>(args: I, width: usize) -> std::result::Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cli = fitted(command(), width);
    let parsed = cli
        .try_get_matches_from_mut(args)
        .and_then(|mut matches| Cli::from_arg_matches_mut(&mut matches));
    parsed.map_err(|e| with_list_tip(e).format(&mut cli))
}

/// `command` and its subcommands with their help wrapped to `width` columns: clap wraps the
/// flags' descriptions, and the texts after them (the exit codes, `run`'s legend) are
/// reflowed here first, as clap would wrap their lines without regard to their layout.
fn fitted(command: clap::Command, width: usize) -> clap::Command {
    let mut command = command.term_width(width);
    if let Some(after) = command.get_after_help() {
        let after = crate::output::reflow(&after.to_string(), width);
        command = command.after_help(after);
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| fitted(sub, width));
    }
    command
}

/// The sections of `dualbench list`, which a user may type as a command.
const LISTED: [&str; 3] = ["strategies", "workloads", "peers"];

/// An unknown command (`dualbench strategys`), or an unknown flag that clap has no suggestion
/// for (`dualbench list --strategys`), close to `strategies`, `workloads` or `peers` gets the
/// tip to run `dualbench list` with that section.
fn with_list_tip(mut error: clap::Error) -> clap::Error {
    let given = match (error.kind(), error.get(ContextKind::InvalidSubcommand)) {
        (ErrorKind::InvalidSubcommand, Some(ContextValue::String(given))) => given.clone(),
        (ErrorKind::UnknownArgument, _) if error.get(ContextKind::SuggestedArg).is_none() => {
            match error.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(flag)) => flag.trim_start_matches('-').to_string(),
                _ => return error,
            }
        }
        _ => return error,
    };
    let given = given.to_lowercase();
    let Some(section) = LISTED
        .iter()
        .copied()
        .find(|s| given == *s || given == s[..s.len() - 1])
        .or_else(|| crate::suggest::closest(&given, LISTED.iter().copied()))
    else {
        return error;
    };
    error.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![format!(
            "to list the {section}, run `dualbench list {section}`"
        )
        .into()]),
    );
    error
}

/// Run the parsed command.
pub fn execute(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::List(args) => commands::list::execute(args),
        Command::Grad(args) => commands::grad::execute(args),
        Command::Hvp(args) => commands::hvp::execute(args),
        Command::Verify(args) => commands::verify::execute(args),
        Command::Run(args) => commands::run::execute(args),
        Command::Merge(args) => commands::merge::execute(args),
        Command::Check(args) => commands::check::execute(args),
        Command::Plot(args) => commands::plot::execute(args),
        Command::Compare(args) => commands::compare::execute(args),
        Command::Gradbench(args) => commands::gradbench::execute(args),
        Command::Completions(args) => commands::completions::execute(args),
        Command::Man(args) => commands::man::execute(args),
        Command::RunCase(args) => commands::run_case::execute(args),
        Command::CountInstructions(args) => commands::count_instructions::execute(args),
        Command::GradbenchWorker(args) => commands::gradbench_worker::execute(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_visible_command_lists_its_exit_codes_and_no_more() {
        let cli = command();
        for sub in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
            let codes = exit_codes(sub.get_name())
                .unwrap_or_else(|| panic!("`{}` has no exit codes", sub.get_name()));
            let after = sub.get_after_help().expect("exit codes").to_string();
            assert!(after.contains("Exit codes:"), "{after}");
            for (code, _) in codes {
                assert!(after.contains(&format!("\n  {code}  ")), "{after}");
            }
        }
        for hidden in cli.get_subcommands().filter(|c| c.is_hide_set()) {
            assert!(exit_codes(hidden.get_name()).is_none());
        }
    }

    #[test]
    fn a_command_close_to_a_list_section_points_to_list() {
        for typed in ["strategys", "strategies", "workload", "peer"] {
            let e = parse(["dualbench", typed], 100).unwrap_err().to_string();
            assert!(e.contains("dualbench list "), "{typed}: {e}");
        }
        let e = parse(["dualbench", "list", "--strategys"], 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("run `dualbench list strategies`"), "{e}");
        // A flag clap can suggest keeps clap's suggestion only.
        let e = parse(["dualbench", "run", "--strategys", "tape"], 100)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'--strategies'") && !e.contains("dualbench list"),
            "{e}"
        );
        let e = parse(["dualbench", "frobnicate"], 100)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("dualbench list "), "{e}");
    }
}
