//! `dualbench list [SECTION]`: every strategy, peer crate and workload ([`crate::listing`]), or
//! only one of the three.

use crate::error::{Error, Outcome, Result};
use crate::listing::Listing;
use crate::output::{self, Format};

/// What `list` lists: one section, or all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// The strategies of this build, with their cost classes.
    Strategies,
    /// The peer AD crates, compiled in or not.
    Peers,
    /// The workloads, with their sizes and parameters.
    Workloads,
}

/// Arguments of `dualbench list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this section (default: all three).
    #[arg(value_enum, value_name = "SECTION")]
    pub section: Option<Section>,
    /// Output format (`table` fits the terminal's width; `json` and `markdown` are never
    /// wrapped).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Run `dualbench list`.
pub fn execute(args: ListArgs) -> Result<Outcome> {
    let listing = Listing::registered();
    let shown = |section| args.section.is_none_or(|s| s == section);
    let text = match args.format.table_style() {
        None => {
            let mut object = serde_json::Map::new();
            let mut add = |section, key: &str, value: serde_json::Result<serde_json::Value>| {
                if shown(section) {
                    let value = value.map_err(|e| {
                        Error::usage(format!("cannot encode the listing as JSON: {e}"))
                    })?;
                    object.insert(key.to_string(), value);
                }
                Ok::<(), Error>(())
            };
            add(
                Section::Strategies,
                "strategies",
                serde_json::to_value(&listing.strategies),
            )?;
            add(
                Section::Peers,
                "peers",
                serde_json::to_value(&listing.peers),
            )?;
            add(
                Section::Workloads,
                "workloads",
                serde_json::to_value(&listing.workloads),
            )?;
            serde_json::to_string_pretty(&object)
                .map_err(|e| Error::usage(format!("cannot encode the listing as JSON: {e}")))?
                + "\n"
        }
        Some(style) => {
            let (strategies, peers, workloads) = listing.tables();
            [
                (Section::Strategies, strategies),
                (Section::Peers, peers),
                (Section::Workloads, workloads),
            ]
            .into_iter()
            .filter(|(section, _)| shown(*section))
            .map(|(_, table)| table.render(style))
            .collect::<Vec<_>>()
            .join("\n")
        }
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}
