//! `dualbench list`: every strategy, peer crate and workload ([`crate::listing`]).

use crate::error::{Error, Outcome, Result};
use crate::listing::Listing;
use crate::output::{self, Format};

/// Arguments of `dualbench list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Run `dualbench list`.
pub fn execute(args: ListArgs) -> Result<Outcome> {
    let listing = Listing::registered();
    let text = match args.format.table_style() {
        None => {
            serde_json::to_string_pretty(&listing)
                .map_err(|e| Error::usage(format!("cannot encode the listing as JSON: {e}")))?
                + "\n"
        }
        Some(style) => {
            let (strategies, peers, workloads) = listing.tables();
            format!(
                "{}\n{}\n{}",
                strategies.render(style),
                peers.render(style),
                workloads.render(style)
            )
        }
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}
