//! Continuing an interrupted sweep (`dualbench run --resume DIR`): its directory locked before
//! anything in it is read (a live run's journal is never touched), its journal read strictly
//! ([`crate::results::journal`]), every journaled group checked against the plan made again
//! from the recorded arguments ([`Resumed::check`]), and the run reported as it began
//! ([`Presentation`]).

use std::path::Path;

use workloads::Params;

use crate::error::{Error, Result};
use crate::measure::machine::{binary_hash, Build, Machine};
use crate::output::ResultsFormat;
use crate::results::journal::{GroupRecord, Journal, JournalHeader, JournaledGroup};
use crate::results::output::{OutputDir, Overwrite};
use crate::sweep::{group_key, Plan};

/// How a run reports: the flags that do not change what is measured. They are recorded with
/// the run's arguments in its journal; a resumed run takes the interrupted run's, and the
/// resuming command may add its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Presentation {
    /// `--format` (`None`: not given, a table).
    pub format: Option<ResultsFormat>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--no-plot`.
    pub no_plot: bool,
    /// `--instructions`.
    pub instructions: bool,
}

impl Presentation {
    /// The interrupted run's presentation (`self`) with what the resuming command (`given`)
    /// adds: its `--format` if it gives one, and any flag it sets.
    pub fn resumed_with(self, given: Presentation) -> Presentation {
        Presentation {
            format: given.format.or(self.format),
            quiet: given.quiet || self.quiet,
            no_plot: given.no_plot || self.no_plot,
            instructions: given.instructions || self.instructions,
        }
    }

    /// The format to print the results in.
    pub fn format(self) -> ResultsFormat {
        self.format.unwrap_or_default()
    }
}

/// Lock `dir` and read the journal of the interrupted run there. A directory another process
/// holds is refused before its journal is opened.
pub fn open(dir: &Path) -> Result<(OutputDir, Journal, JournalHeader, Vec<JournaledGroup>)> {
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "--resume {}: not a directory; give the --out directory of the interrupted run",
            dir.display()
        )));
    }
    let out = OutputDir::prepare(dir, Overwrite::Allow, "run")?;
    let (journal, header, groups) = Journal::resume(dir)?;
    Ok((out, journal, header, groups))
}

/// A journal to continue: opened by [`open`].
#[derive(Debug)]
pub struct Resumed {
    /// The journal, positioned at its end.
    pub journal: Journal,
    /// Its header.
    pub header: JournalHeader,
    /// The groups it holds, with their lines.
    pub groups: Vec<JournaledGroup>,
}

impl Resumed {
    /// Check that `plan`, re-planned from the journal's arguments, is the journaled sweep, and
    /// that this is the build and machine that began it.
    pub fn check(&self, plan: &Plan) -> Result<()> {
        let header = &self.header;
        let dir = plan.out.path.display();
        let hash = binary_hash().map_err(|source| Error::Io {
            context: "reading this binary to identify its build".into(),
            source,
        })?;
        if hash != header.binary_hash {
            return Err(Error::usage(format!(
                "--resume {dir}: the run was begun by another build (commit {}, {}, binary \
                 {}); this binary is {hash} (commit {}). Resume it with the binary that began \
                 it, or start over with --force",
                header.build.git_commit.as_deref().unwrap_or("unknown"),
                match header.build.git_dirty {
                    Some(true) => "dirty tree",
                    Some(false) => "clean tree",
                    None => "tree state unknown",
                },
                header.binary_hash,
                Build::current().git_commit.as_deref().unwrap_or("unknown"),
            )));
        }
        if header.machine != Machine::current() {
            return Err(Error::usage(format!(
                "--resume {dir}: the run was begun on another machine ({}); this is {}",
                header.machine.describe(),
                Machine::current().describe()
            )));
        }
        if header.options != plan.options || header.groups != plan.groups.len() {
            return Err(Error::usage(format!(
                "--resume {dir}: re-planning the journaled arguments gives other options \
                 ({}) than the run began with ({})",
                serde_json::to_string(&plan.options).expect("options serialise"),
                serde_json::to_string(&header.options).expect("options serialise"),
            )));
        }
        for journaled in &self.groups {
            check_record(plan, &journaled.record).map_err(|why| {
                Error::usage(format!(
                    "--resume {dir}: {}:{}: {why}. The journal does not belong to this sweep; \
                     start over with --force",
                    self.journal.path().display(),
                    journaled.line
                ))
            })?;
        }
        Ok(())
    }
}

/// Whether a journaled group is the plan's group at its index, row for row: the same key, and
/// each row the planned case (workload, size, parameters, strategy, thread count) in plan order.
fn check_record(plan: &Plan, record: &GroupRecord) -> std::result::Result<(), String> {
    let Some(group) = plan.groups.get(record.group) else {
        return Err(format!(
            "group {} is not in the plan, which has {} groups",
            record.group,
            plan.groups.len()
        ));
    };
    let key = group_key(group);
    if record.key != key {
        return Err(format!(
            "group {} is `{}`, but the plan's is `{key}`",
            record.group, record.key
        ));
    }
    if record.rows.len() != group.cases.len() {
        return Err(format!(
            "group {} (`{key}`) has {} rows, but the plan has {} cases in it",
            record.group,
            record.rows.len(),
            group.cases.len()
        ));
    }
    for (i, (row, case)) in record.rows.iter().zip(&group.cases).enumerate() {
        let planned = (
            group.workload.as_str(),
            group.size.map(|s| s as u64),
            &group.resolved_params,
            case.strategy.name(),
            case.threads as u64,
        );
        let journaled = (
            row.workload.as_str(),
            row.size,
            &row.params,
            row.strategy.as_str(),
            row.threads,
        );
        if planned != journaled {
            return Err(format!(
                "row {} of group {} is {}, but the plan's case there is {}",
                i + 1,
                record.group,
                describe_case(journaled),
                describe_case(planned)
            ));
        }
    }
    Ok(())
}

/// A case's identity for a message: `tape on 1 thread of fparticles at size 10 with parameters
/// fork=chain, particles=4`.
fn describe_case(
    (workload, size, params, strategy, threads): (&str, Option<u64>, &Params, &str, u64),
) -> String {
    let size = size.map_or(String::new(), |s| format!(" at size {s}"));
    let params = if params.is_empty() {
        "none".to_string()
    } else {
        workloads::format_params(workload, params).join(", ")
    };
    format!("`{strategy}` on {threads} thread(s) of `{workload}`{size} with parameters {params}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_run_reports_as_the_interrupted_one_did_unless_told_more() {
        let original = Presentation {
            format: Some(ResultsFormat::Csv),
            quiet: true,
            no_plot: true,
            instructions: true,
        };
        assert_eq!(original.resumed_with(Presentation::default()), original);
        // A journal of a run with the defaults (an old one too) resumes with the defaults.
        let defaults = Presentation::default();
        assert_eq!(defaults.resumed_with(Presentation::default()), defaults);
        assert_eq!(defaults.format(), ResultsFormat::Table);
        // The resuming command's own flags count.
        let told = Presentation {
            format: Some(ResultsFormat::Json),
            ..Presentation::default()
        };
        let both = original.resumed_with(told);
        assert_eq!((both.format(), both.quiet), (ResultsFormat::Json, true));
    }
}
