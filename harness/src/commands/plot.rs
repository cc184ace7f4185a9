//! `dualbench plot`: draw the figures, the table and `index.html` of results files
//! ([`crate::plot`]). Reads results only; never measures.

use std::path::PathBuf;

use crate::error::{Outcome, Result};
use crate::output;
use crate::plot::{self, ImageFormat, Request};
use crate::results;

/// Arguments of `dualbench plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// Results to draw: directories holding results.json, or results.json / results.csv
    /// files (several are combined; they must hold disjoint cases).
    #[arg(long, value_name = "DIR|FILE", num_args = 1.., required = true, value_parser = crate::cli::args::path)]
    pub results: Vec<PathBuf>,
    /// Output folder for index.html, table.md, table.tex and figures/ (default: the first
    /// results folder).
    #[arg(long, value_name = "DIR", value_parser = crate::cli::args::path)]
    pub out: Option<PathBuf>,
    /// Image formats, comma separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "svg,png")]
    pub images: Vec<ImageFormat>,
    /// The strategy the table's ratios are taken against (default: tape when plotted, else
    /// the first plotted strategy besides primal).
    #[arg(long, value_name = "STRATEGY", value_parser = crate::cli::args::name)]
    pub reference: Option<String>,
    /// A claims file: its verdicts on these results go into index.html (default: the
    /// claims.toml built into this dualbench).
    #[arg(long, value_name = "FILE", value_parser = crate::cli::args::path)]
    pub claims: Option<PathBuf>,
    /// Only these workloads, comma separated or repeated.
    #[arg(long, value_name = "NAMES", value_parser = crate::cli::args::name_list)]
    pub workloads: Vec<String>,
    /// Only these strategies, comma separated or repeated.
    #[arg(long, value_name = "NAMES", value_parser = crate::cli::args::name_list)]
    pub strategies: Vec<String>,
    /// Table sizes for a workload, `fdotprod=1000,10000` (repeatable; default: the size at
    /// which the most strategies finished).
    #[arg(long, value_name = "WORKLOAD=SIZES", value_parser = crate::cli::args::table_sizes, allow_hyphen_values = true)]
    pub table_sizes: Vec<String>,
    /// No messages on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `dualbench plot`.
pub fn execute(args: PlotArgs) -> Result<Outcome> {
    if !args.quiet {
        for path in args.results.iter().filter(|p| results::is_unchecked_csv(p)) {
            output::note(&format!("plot: {}", results::unchecked_csv_note(path)));
        }
    }
    let request = Request {
        results: args.results,
        out: args.out,
        images: args.images,
        reference: args.reference,
        claims: args.claims,
        workloads: args.workloads,
        strategies: args.strategies,
        table_sizes: args.table_sizes,
    };
    let outcome = plot::run(&request)?;
    if !args.quiet {
        report(&outcome);
    }
    Ok(Outcome::Success)
}

/// Print what a plot wrote on stderr: counts, figures not drawn, stale files removed, and the
/// report's path.
pub fn report(outcome: &plot::Outcome) {
    output::note(&format!(
        "plot: {} figures ({} image files), table.md, table.tex in {}",
        outcome.figures,
        outcome.images.len(),
        outcome.out.display()
    ));
    for m in &outcome.missing {
        output::note(&format!("plot: {m}"));
    }
    for r in &outcome.removed {
        output::note(&format!("plot: removed the stale figure {}", r.display()));
    }
    output::note(&format!("report: {}", outcome.index.display()));
}
