//! The rows that `plot` draws: one or more results files read and combined, with the queries
//! the figures share.
//!
//! A case is one (workload, parameters, size, strategy, thread count). Two files that hold the
//! same case are refused: which measurement to draw would be a guess, and `dualbench merge` is
//! the command that combines files. A workload's **group** is its name and parameters; a figure
//! draws one panel per group. A row's thread count (`CaseResult::threads`, `run --threads`) is
//! not part of a group: rows with a thread count above 1 feed only the speedup figure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plot::style::sort_strategies;
use crate::results::validate::case_label;
use crate::results::{CaseKey, CaseResult, Metadata, ResultsFile, Status};

/// One input file.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The path as given (a directory or a file).
    pub path: PathBuf,
    /// Its metadata (a CSV file carries none).
    pub metadata: Option<Metadata>,
    /// How many rows it holds.
    pub rows: usize,
}

/// The combined rows of the input files.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Every row, in file order.
    pub rows: Vec<CaseResult>,
    /// The files, in the order given.
    pub sources: Vec<Source>,
}

/// A workload and its parameters: what one panel shows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group {
    /// The workload.
    pub workload: String,
    /// Its parameters as `key=value` pairs, each value written exactly (the shortest decimal
    /// that reads back as the same `f64`; a choice parameter's value by the choice's name), so
    /// distinct values are distinct groups.
    pub params: Vec<(String, String)>,
}

impl Group {
    /// The group of `row`.
    pub fn of(row: &CaseResult) -> Group {
        Group {
            workload: row.workload.clone(),
            params: row
                .params
                .iter()
                .map(|(k, &v)| (k.clone(), workloads::format_param(&row.workload, k, v)))
                .collect(),
        }
    }

    /// `workload`, or `workload [k=v, ...]` when `with_params`.
    pub fn title(&self, with_params: bool) -> String {
        if with_params && !self.params.is_empty() {
            let params: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{} [{}]", self.workload, params.join(", "))
        } else {
            self.workload.clone()
        }
    }

    /// A file-name-safe form: `workload` or `workload-k-v-...`.
    pub fn stem(&self, with_params: bool) -> String {
        let mut stem = self.workload.clone();
        if with_params {
            for (k, v) in &self.params {
                stem.push_str(&format!("-{k}-{v}"));
            }
        }
        stem.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl Dataset {
    /// Read every file of `paths` (a directory holding `results.json`, a `results.json`, or a
    /// `results.csv`) and combine their rows.
    pub fn load(paths: &[PathBuf]) -> Result<Dataset> {
        if paths.is_empty() {
            return Err(Error::usage(
                "--results: give at least one results directory or file",
            ));
        }
        let mut given = BTreeSet::new();
        for path in paths {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !given.insert(canonical) {
                return Err(Error::usage(format!(
                    "--results names {} twice; give each results file once",
                    path.display()
                )));
            }
        }
        let mut rows: Vec<CaseResult> = Vec::new();
        let mut sources = Vec::new();
        let mut seen: BTreeMap<CaseKey, PathBuf> = BTreeMap::new();
        for path in paths {
            // A file holding a case twice is refused by its reader; across files, here.
            let (file_rows, metadata) = read(path)?;
            for row in &file_rows {
                if let Some(first) = seen.insert(row.key(), path.clone()) {
                    return Err(Error::usage(format!(
                        "the case {} is in both {} and {}; plot files of disjoint cases \
                         (shards, or suites of different workloads), or plot them apart",
                        case_label(row),
                        first.display(),
                        path.display()
                    )));
                }
            }
            sources.push(Source {
                path: path.clone(),
                metadata,
                rows: file_rows.len(),
            });
            rows.extend(file_rows);
        }
        Ok(Dataset { rows, sources })
    }

    /// Keep only the rows whose workload and strategy are selected (`None`: all).
    pub fn retain(
        &mut self,
        workloads: Option<&BTreeSet<String>>,
        strategies: Option<&BTreeSet<String>>,
    ) {
        self.rows.retain(|r| {
            workloads.is_none_or(|w| w.contains(&r.workload))
                && strategies.is_none_or(|s| s.contains(&r.strategy))
        });
    }

    /// The groups, in first-seen order.
    pub fn groups(&self) -> Vec<Group> {
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        for row in &self.rows {
            let g = Group::of(row);
            if seen.insert(g.clone()) {
                order.push(g);
            }
        }
        order
    }

    /// Whether a workload appears with more than one parameter set (then titles show them).
    pub fn params_vary(&self, workload: &str) -> bool {
        self.groups()
            .iter()
            .filter(|g| g.workload == workload)
            .count()
            > 1
    }

    /// The sequential rows (on one thread) of `group`.
    pub fn rows_of<'a>(&'a self, group: &Group) -> impl Iterator<Item = &'a CaseResult> + 'a {
        let group = group.clone();
        self.rows
            .iter()
            .filter(move |r| r.threads == 1 && Group::of(r) == group)
    }

    /// The strategies of `rows`, in figure order.
    pub fn strategies_in<'a>(rows: impl Iterator<Item = &'a CaseResult>) -> Vec<String> {
        let set: BTreeSet<String> = rows.map(|r| r.strategy.clone()).collect();
        let mut names: Vec<String> = set.into_iter().collect();
        sort_strategies(&mut names);
        names
    }
}

/// The rows and metadata of one input (a CSV carries no metadata; a `results.csv` is checked
/// against the `results.json` beside it by [`ResultsFile::read_rows`]).
fn read(path: &Path) -> Result<(Vec<CaseResult>, Option<Metadata>)> {
    if path.extension().is_some_and(|e| e == "csv") {
        Ok((ResultsFile::read_rows(path)?, None))
    } else {
        let file = ResultsFile::read(path)?;
        Ok((file.rows, Some(file.metadata)))
    }
}

/// The largest size at which every one of `strategies` has an `ok` row of `rows` (rows of
/// one group); `None` when there is none. A group without sizes (a fixed-size workload)
/// reports `Some(None)` when every strategy finished its one case.
pub fn largest_common_size(rows: &[&CaseResult], strategies: &[String]) -> Option<Option<u64>> {
    let mut sizes: BTreeSet<Option<u64>> = rows.iter().map(|r| r.size).collect();
    while let Some(size) = sizes.pop_last() {
        let all = strategies.iter().all(|s| {
            rows.iter()
                .any(|r| r.size == size && &r.strategy == s && r.status == Status::Ok)
        });
        if all {
            return Some(size);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(size: Option<u64>, strategy: &str, status: Status) -> CaseResult {
        CaseResult::unmeasured(
            "w",
            size,
            BTreeMap::new(),
            strategy,
            status,
            String::new(),
            String::new(),
        )
    }

    #[test]
    fn the_common_size_is_the_largest_every_strategy_finished() {
        let rows = [
            row(Some(10), "tape", Status::Ok),
            row(Some(10), "naive", Status::Ok),
            row(Some(20), "tape", Status::Ok),
            row(Some(20), "naive", Status::Timeout),
            row(Some(30), "tape", Status::Ok),
        ];
        let refs: Vec<&CaseResult> = rows.iter().collect();
        let both = ["tape".to_string(), "naive".to_string()];
        assert_eq!(largest_common_size(&refs, &both), Some(Some(10)));
        assert_eq!(largest_common_size(&refs, &both[..1]), Some(Some(30)));
        let fixed = [row(None, "tape", Status::Ok)];
        let refs: Vec<&CaseResult> = fixed.iter().collect();
        assert_eq!(largest_common_size(&refs, &both[..1]), Some(None));
        assert_eq!(largest_common_size(&refs, &both), None);
    }

    #[test]
    fn a_thread_count_is_not_part_of_a_group() {
        let mut a = row(Some(10), "dualrev-par", Status::Ok);
        a.params.insert("particles".into(), 4.0);
        let mut b = a.clone();
        b.threads = 2;
        assert_eq!(Group::of(&a), Group::of(&b));
        assert_ne!(a.key(), b.key(), "but it is part of the case");
        assert_eq!(Group::of(&a).title(true), "w [particles=4]");
        assert_eq!(Group::of(&a).stem(true), "w-particles-4");
        let data = Dataset {
            rows: vec![a.clone(), b],
            sources: Vec::new(),
        };
        let sequential: Vec<&CaseResult> = data.rows_of(&Group::of(&a)).collect();
        assert_eq!(sequential, [&a]);
    }
}
