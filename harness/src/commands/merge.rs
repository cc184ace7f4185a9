//! `dualbench merge A B ... --out DIR`: combine results files into one, e.g. the shards of a
//! sweep run as separate CI jobs or cluster array jobs (`dualbench run --shard I/N`).
//!
//! Inputs are `results.json` files or directories holding one. Rows are kept in input order.
//! Files measured on different machines (their fingerprints differ) are refused unless
//! `--force`, since their times are not comparable; two inputs holding the same case
//! (workload, size, params, strategy) are always refused. The merged metadata is the first
//! input's, with this command, the current date and no shard.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::commands::run::{command_line, prepare_output_dir, Format};
use crate::error::{Error, Outcome, Result};
use crate::results::{ResultsFile, JSON_FILE};

/// Arguments of `dualbench merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Results files (`results.json`) or directories holding one.
    #[arg(required = true, value_name = "RESULTS")]
    pub inputs: Vec<PathBuf>,
    /// Directory for the merged results.csv and results.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Merge even if the files were measured on different machines.
    #[arg(long)]
    pub force: bool,
    /// How to print the merged results on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Combine `files` (named by `names`, for messages) into one; see the module documentation.
pub fn merge(files: Vec<ResultsFile>, names: &[String], force: bool) -> Result<ResultsFile> {
    let mut files = files.into_iter().zip(names);
    let (mut merged, first_name) = files
        .next()
        .ok_or_else(|| Error::usage("merge needs at least one results file"))?;
    let mut seen: HashSet<_> = merged.rows.iter().map(|r| r.key()).collect();
    for (file, name) in files {
        if file.metadata.machine != merged.metadata.machine && !force {
            return Err(Error::usage(format!(
                "{name} was measured on another machine than {first_name}:\n  {}\n  {}\n\
                 times from different machines are not comparable; use --force to merge anyway",
                file.metadata.machine.describe(),
                merged.metadata.machine.describe()
            )));
        }
        for row in file.rows {
            if !seen.insert(row.key()) {
                return Err(Error::usage(format!(
                    "{name} repeats the case {} {} size {} of an earlier input; \
                     merge files of disjoint cases (e.g. the shards of one sweep)",
                    row.workload,
                    row.strategy,
                    row.size.map_or("-".into(), |s| s.to_string())
                )));
            }
            merged.rows.push(row);
        }
    }
    merged.metadata.options.shard = None;
    Ok(merged)
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
    merged.metadata.date =
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    prepare_output_dir(&args.out)?;
    merged.write_dir(&args.out)?;
    args.format.print(&merged)?;
    if !args.quiet {
        eprintln!(
            "merged {} files, {} rows, into {}",
            names.len(),
            merged.rows.len(),
            args.out.join(JSON_FILE).display()
        );
    }
    Ok(Outcome::Success)
}
