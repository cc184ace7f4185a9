//! `dualbench merge A B ... --out DIR`: combine results files into one
//! ([`crate::results::merge`]), e.g. the shards of a sweep.

use std::path::PathBuf;

use crate::error::{Outcome, Result};
use crate::output::{self, ResultsFormat};
use crate::results::merge::merge;
use crate::results::output::{OutputDir, Overwrite};
use crate::results::{ResultsFile, JSON_FILE};
use crate::sweep::{command_line, now};

/// Arguments of `dualbench merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Results files (`results.json`) or directories holding one.
    #[arg(required = true, value_name = "RESULTS", value_parser = crate::cli::args::path)]
    pub inputs: Vec<PathBuf>,
    /// Directory for the merged results.csv and results.json.
    #[arg(long, value_name = "DIR", value_parser = crate::cli::args::path)]
    pub out: PathBuf,
    /// Merge even if the inputs come from different builds, machines or options (each
    /// input's metadata is kept in `merged_from`), and replace results already in --out.
    #[arg(long)]
    pub force: bool,
    /// How to print the merged results on stdout.
    #[arg(long, value_enum, default_value_t = ResultsFormat::Table)]
    pub format: ResultsFormat,
    /// No messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `dualbench merge`.
pub fn execute(args: MergeArgs) -> Result<Outcome> {
    let files = args
        .inputs
        .iter()
        .map(|p| ResultsFile::read(p))
        .collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut merged = merge(files, &names, args.force)?;
    merged.metadata.command = command_line();
    merged.metadata.date = now();
    let overwrite = if args.force {
        Overwrite::Allow
    } else {
        Overwrite::Refuse
    };
    let out = OutputDir::prepare(&args.out, overwrite, "merge")?;
    merged.write_dir(&out.path)?;
    if !args.quiet {
        output::note(&format!(
            "merged {} files, {} rows, into {}",
            names.len(),
            merged.rows.len(),
            out.path.join(JSON_FILE).display()
        ));
    }
    output::print(&args.format.render(&merged))?;
    Ok(Outcome::Success)
}
