//! Every strategy and every workload, with descriptions and sizes, and the peer crates this
//! build has or lacks: what `dualbench list` prints, as tables or as one JSON object
//! `{"strategies": [...], "peers": [...], "workloads": [...]}` with the full size and parameter
//! specifications. The workloads' column `manual` (`hand_adjoint` in JSON) says which of them
//! define a hand-written adjoint, the only ones the `manual` strategy runs.

use serde::Serialize;
use strategies::{CostClass, StrategyKind};
use workloads::{ParamSpec, SizeSpec, Workload};

use crate::table::Table;

/// The short name of a cost class, as printed by `list` and `verify`.
pub fn cost_class_name(class: CostClass) -> &'static str {
    match class {
        CostClass::Primal => "primal",
        CostClass::Linear => "linear",
        CostClass::LogLinear => "log-linear",
        CostClass::Dense => "dense",
        CostClass::Paths => "paths",
    }
}

/// One strategy, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StrategyEntry {
    /// The CLI name.
    pub name: &'static str,
    /// How its cost grows ([`cost_class_name`]).
    pub cost_class: &'static str,
    /// One line: representation and cost.
    pub description: &'static str,
}

/// One peer crate, compiled in or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerEntry {
    /// The strategy's CLI name.
    pub name: &'static str,
    /// The crate and version.
    pub krate: &'static str,
    /// The crate's licence.
    pub licence: &'static str,
    /// Whether this build has it (else: the cargo feature that adds it).
    pub compiled_in: bool,
    /// The cargo feature.
    pub feature: &'static str,
}

/// A workload's primary size, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeEntry {
    /// What the size is.
    pub meaning: &'static str,
    /// The size used when none is given.
    pub default: usize,
    /// Smallest accepted size.
    pub min: usize,
    /// Largest accepted size.
    pub max: usize,
    /// Sizes `verify` checks by default.
    pub verify: &'static [usize],
    /// The default measurement sweep.
    pub sweep: &'static [usize],
}

impl From<SizeSpec> for SizeEntry {
    fn from(spec: SizeSpec) -> Self {
        Self {
            meaning: spec.meaning,
            default: spec.default,
            min: spec.min,
            max: spec.max,
            verify: spec.verify,
            sweep: spec.sweep,
        }
    }
}

/// A workload parameter, as listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamEntry {
    /// The name used in `--param name=value`.
    pub name: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// Its default value.
    pub default: f64,
    /// Whether only integers are accepted.
    pub integer: bool,
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
    /// The names of its choices, in index order (its values are their indices); empty for a
    /// numeric parameter.
    pub choices: &'static [&'static str],
    /// Its default as written in `--param name=value` (a choice by name).
    pub default_text: String,
}

impl From<&ParamSpec> for ParamEntry {
    fn from(spec: &ParamSpec) -> Self {
        Self {
            name: spec.name,
            meaning: spec.meaning,
            default: spec.default,
            integer: spec.integer,
            min: spec.min,
            max: spec.max,
            choices: spec.choices,
            default_text: spec.format_value(spec.default),
        }
    }
}

/// One workload, as listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkloadEntry {
    /// The CLI name.
    pub name: &'static str,
    /// Its family (see `docs/workloads.md`).
    pub family: String,
    /// One line: what it computes.
    pub description: &'static str,
    /// The primary size; `None` (`null`) for fixed-size workloads.
    pub size: Option<SizeEntry>,
    /// The further parameters.
    pub params: Vec<ParamEntry>,
    /// Whether it defines a hand-written adjoint, so that the `manual` strategy runs it.
    pub hand_adjoint: bool,
}

impl WorkloadEntry {
    fn of(workload: &dyn Workload) -> Self {
        Self {
            name: workload.name(),
            family: workload.family().to_string(),
            description: workload.description(),
            size: workload.size().map(SizeEntry::from),
            params: workload.params().iter().map(ParamEntry::from).collect(),
            hand_adjoint: workloads::has_hand_adjoint(workload),
        }
    }
}

/// Everything `list` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Listing {
    /// Every strategy of this build, in registry order.
    pub strategies: Vec<StrategyEntry>,
    /// Every peer crate dualbench can be built with.
    pub peers: Vec<PeerEntry>,
    /// Every workload, in registry order.
    pub workloads: Vec<WorkloadEntry>,
}

impl Listing {
    /// The registered strategies and workloads.
    pub fn registered() -> Self {
        Self {
            strategies: StrategyKind::ALL
                .iter()
                .map(|&s| StrategyEntry {
                    name: s.name(),
                    cost_class: cost_class_name(s.cost_class()),
                    description: s.description(),
                })
                .collect(),
            peers: strategies::peers::CATALOGUE
                .iter()
                .map(|p| PeerEntry {
                    name: p.name,
                    krate: p.krate,
                    licence: p.licence,
                    compiled_in: p.compiled_in,
                    feature: p.feature,
                })
                .collect(),
            workloads: workloads::all()
                .iter()
                .map(|&w| WorkloadEntry::of(w))
                .collect(),
        }
    }

    /// The three tables: strategies, peer crates, workloads (whose size meanings and
    /// descriptions are [`Table::detail`] columns).
    pub fn tables(&self) -> (Table, Table, Table) {
        let mut strategies = Table::new(["strategy", "cost", "description"]);
        for s in &self.strategies {
            strategies.push_row([s.name, s.cost_class, s.description]);
        }
        let mut peers = Table::new(["peer", "crate", "licence", "in this build"]);
        for p in &self.peers {
            let built = if p.compiled_in {
                "yes".to_string()
            } else {
                format!("no: build with --features {} (or peers)", p.feature)
            };
            peers.push_row([
                p.name.to_string(),
                p.krate.to_string(),
                p.licence.to_string(),
                built,
            ]);
        }
        let mut workloads = Table::new([
            "workload",
            "family",
            "size",
            "default",
            "verify sizes",
            "params",
            "manual",
            "description",
        ])
        // Too long for a grid in a terminal: printed under each workload's row there.
        .detail(2)
        .detail(7);
        for w in &self.workloads {
            let (meaning, default, verify) = match &w.size {
                Some(s) => (s.meaning.to_string(), s.default.to_string(), join(s.verify)),
                None => ("fixed".to_string(), "-".to_string(), "-".to_string()),
            };
            let params = w
                .params
                .iter()
                .map(|p| format!("{}={}", p.name, p.default_text))
                .collect::<Vec<_>>()
                .join(" ");
            workloads.push_row([
                w.name.to_string(),
                w.family.clone(),
                meaning,
                default,
                verify,
                if params.is_empty() {
                    "-".into()
                } else {
                    params
                },
                if w.hand_adjoint { "yes" } else { "-" }.to_string(),
                w.description.to_string(),
            ]);
        }
        (strategies, peers, workloads)
    }
}

fn join(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_has_one_row_per_registered_strategy_and_workload() {
        let listing = Listing::registered();
        let (strategies, peers, workloads) = listing.tables();
        assert_eq!(strategies.rows().len(), StrategyKind::ALL.len());
        assert_eq!(peers.rows().len(), strategies::peers::CATALOGUE.len());
        for (row, peer) in peers.rows().iter().zip(strategies::peers::CATALOGUE) {
            assert_eq!(
                row[3] == "yes",
                StrategyKind::from_name(peer.name).is_some()
            );
        }
        assert_eq!(workloads.rows().len(), workloads::all().len());
        assert_eq!(strategies.rows()[0][0], StrategyKind::ALL[0].name());
        let position = |name| listing.workloads.iter().position(|w| w.name == name);
        let fparticles = position("fparticles").expect("fparticles is registered");
        assert_eq!(workloads.rows()[fparticles][5], "particles=4 fork=chain");
        let fork = &listing.workloads[fparticles].params[1];
        assert_eq!(
            (fork.choices, fork.default),
            (&["chain", "balanced"][..], 0.0)
        );
    }

    #[test]
    fn every_cost_class_has_a_distinct_name() {
        let names: std::collections::BTreeSet<_> = [
            CostClass::Primal,
            CostClass::Linear,
            CostClass::LogLinear,
            CostClass::Dense,
            CostClass::Paths,
        ]
        .map(cost_class_name)
        .into_iter()
        .collect();
        assert_eq!(names.len(), 5);
    }
}
