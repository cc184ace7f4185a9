//! `dualbench compare BASE NEW`: compare two results files case by case
//! ([`crate::compare`]) and exit 3 when a regression of a gated tier is found.

use std::path::PathBuf;

use crate::compare::{self, Request, Tier};
use crate::error::{Error, Outcome, Result};
use crate::output::{self, Format};

/// Arguments of `dualbench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline: a results folder (holding results.json) or a results.json file.
    #[arg(value_name = "BASE", value_parser = crate::cli::args::path)]
    pub base: PathBuf,
    /// The results to judge against it.
    #[arg(value_name = "NEW", value_parser = crate::cli::args::path)]
    pub new: PathBuf,
    /// A time change is flagged only when its whole interval lies beyond this fraction.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.10, value_parser = crate::cli::args::non_negative, allow_hyphen_values = true)]
    pub time_threshold: f64,
    /// An instruction-count change beyond this fraction is a regression.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.02, value_parser = crate::cli::args::non_negative, allow_hyphen_values = true)]
    pub instructions_threshold: f64,
    /// The tiers whose regressions make the exit code 3 (comma separated); a case that
    /// stopped finishing always does.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "counters")]
    pub fail_on: Vec<Tier>,
    /// Output format (markdown: a pull-request comment).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No verdict line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `dualbench compare`.
pub fn execute(args: CompareArgs) -> Result<Outcome> {
    let comparison = compare::run(&Request {
        base: args.base,
        new: args.new,
        time_threshold: args.time_threshold,
        instructions_threshold: args.instructions_threshold,
        fail_on: args.fail_on,
    })?;
    let text = match args.format.table_style() {
        Some(style) => comparison.render(style),
        None => {
            serde_json::to_string_pretty(&comparison)
                .map_err(|e| Error::usage(format!("cannot encode the comparison: {e}")))?
                + "\n"
        }
    };
    output::print(&text)?;
    if !args.quiet {
        output::note(&format!("compare: {}", comparison.verdict_line()));
    }
    Ok(comparison.outcome())
}
