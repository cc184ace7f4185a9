//! The command line: one clap subcommand per command, each with its arguments defined in its
//! own module under [`crate::commands`].

use clap::{Parser, Subcommand};

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

/// Run the parsed command.
pub fn execute(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::List(args) => commands::list::execute(args),
        Command::Grad(args) => commands::grad::execute(args),
        Command::Verify(args) => commands::verify::execute(args),
        Command::Run(args) => commands::run::execute(args),
        Command::Merge(args) => commands::merge::execute(args),
        Command::Check(args) => commands::check::execute(args),
        Command::Plot(args) => commands::plot::execute(args),
        Command::Compare(args) => commands::compare::execute(args),
        Command::Gradbench(args) => commands::gradbench::execute(args),
        Command::RunCase(args) => commands::run_case::execute(args),
        Command::CountInstructions(args) => commands::count_instructions::execute(args),
        Command::GradbenchWorker(args) => commands::gradbench_worker::execute(args),
    }
}
