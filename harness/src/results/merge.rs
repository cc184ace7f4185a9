//! Merging results files, e.g. the shards of one sweep run as separate CI jobs
//! (`dualbench run --shard I/N`), into one.
//!
//! Rows are kept in input order, and two inputs holding the same case (workload, size, params,
//! strategy, thread count) are always refused; rows that differ only in their thread count are
//! different cases, and both are kept. The inputs must come from one measurement: the same build
//! (version, commit, dirty flag, compiler, profile), the same machine and the same options
//! (suite, budgets, samples, stack, memory cap; the shard may differ). Otherwise their numbers
//! are not comparable, and the merge is refused naming what differs — unless `force`, in
//! which case the merged file keeps every input's metadata in `merged_from` (it always does),
//! so a reader can tell which rows came from where.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::results::{Metadata, ResultsFile};

/// What differs between the provenance of two inputs, as `field: a vs b` lines.
pub fn provenance_differences(a: &Metadata, b: &Metadata) -> Vec<String> {
    let mut differences = Vec::new();
    let mut differ = |field: &str, x: String, y: String| {
        if x != y {
            differences.push(format!("{field}: {x} vs {y}"));
        }
    };
    let (ba, bb) = (&a.build, &b.build);
    differ(
        "build.dualbench_version",
        ba.dualbench_version.clone(),
        bb.dualbench_version.clone(),
    );
    differ(
        "build.git_commit",
        format!("{:?}", ba.git_commit),
        format!("{:?}", bb.git_commit),
    );
    differ(
        "build.git_dirty",
        format!("{:?}", ba.git_dirty),
        format!("{:?}", bb.git_dirty),
    );
    differ(
        "build.rustc_version",
        ba.rustc_version.clone(),
        bb.rustc_version.clone(),
    );
    differ("build.profile", ba.profile.clone(), bb.profile.clone());
    if a.machine != b.machine {
        differ("machine", a.machine.describe(), b.machine.describe());
    }
    let (oa, ob) = (&a.options, &b.options);
    differ("options.suite", oa.suite.clone(), ob.suite.clone());
    let mut unsharded = (oa.clone(), ob.clone());
    unsharded.0.shard = None;
    unsharded.1.shard = None;
    if unsharded.0 != unsharded.1 {
        differ(
            "options",
            serde_json::to_string(&unsharded.0).expect("options serialise"),
            serde_json::to_string(&unsharded.1).expect("options serialise"),
        );
    }
    differ("ci_level", a.ci_level.to_string(), b.ci_level.to_string());
    differences
}

/// Combine `files` (named by `names`, for messages) into one; see the module documentation.
/// The merged metadata is the first input's, without a shard, with every input's metadata in
/// `merged_from`; the caller sets the command and the date.
pub fn merge(files: Vec<ResultsFile>, names: &[String], force: bool) -> Result<ResultsFile> {
    let mut inputs = files.into_iter().zip(names);
    let (mut merged, first_name) = inputs
        .next()
        .ok_or_else(|| Error::usage("merge needs at least one results file"))?;
    let mut provenance = vec![merged.metadata.clone()];
    let mut seen: HashMap<_, &String> = merged.rows.iter().map(|r| (r.key(), first_name)).collect();
    for (file, name) in inputs {
        let differences = provenance_differences(&merged.metadata, &file.metadata);
        if !differences.is_empty() && !force {
            return Err(Error::usage(format!(
                "{name} does not come from the same measurement as {first_name}:\n  {}\n\
                 their numbers are not comparable; use --force to merge anyway (the merged \
                 file then keeps each input's metadata in `merged_from`)",
                differences.join("\n  ")
            )));
        }
        provenance.push(file.metadata.clone());
        for (i, row) in file.rows.into_iter().enumerate() {
            if let Some(earlier) = seen.insert(row.key(), name) {
                return Err(Error::usage(format!(
                    "{name} repeats the case {} {} size {} of {earlier} (its row {}); merge \
                     files of disjoint cases (e.g. the shards of one sweep)",
                    row.workload,
                    row.strategy_label(),
                    row.size.map_or("-".into(), |s| s.to_string()),
                    i + 1
                )));
            }
            merged.rows.push(row);
        }
    }
    merged.metadata.options.shard = None;
    merged.metadata.merged_from = provenance;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::{fmult_row, metadata};
    use crate::results::SCHEMA_VERSION;

    #[test]
    fn rows_that_differ_only_in_their_thread_count_are_different_cases() {
        let file = |threads| {
            let mut row = fmult_row("dualrev-par");
            row.threads = threads;
            ResultsFile {
                schema_version: SCHEMA_VERSION,
                metadata: metadata(),
                rows: vec![row],
            }
        };
        let names = ["one".to_string(), "two".to_string()];
        let merged = merge(vec![file(1), file(2)], &names, false).unwrap();
        let threads: Vec<u64> = merged.rows.iter().map(|r| r.threads).collect();
        assert_eq!(threads, [1, 2]);
        let e = merge(vec![file(2), file(2)], &names, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("two repeats the case fmult dualrev-par@2t size - of one (its row 1)"),
            "{e}"
        );
    }

    #[test]
    fn provenance_is_exact_inputs_of_other_builds_options_or_suites_differ() {
        let a = metadata();
        let mut shard = a.clone();
        shard.options.shard = Some("2/2".into());
        shard.date = "2026-01-02T00:00:00Z".into();
        assert!(
            provenance_differences(&a, &shard).is_empty(),
            "shards of one sweep"
        );
        let mut dirty = a.clone();
        dirty.build.git_dirty = Some(!a.build.git_dirty.unwrap_or(false));
        let mut suite = a.clone();
        suite.options.suite = "quick".into();
        let mut budget = a.clone();
        budget.options.budget_s = 2.0;
        for (other, field) in [
            (dirty, "build.git_dirty"),
            (suite, "options.suite"),
            (budget, "options"),
        ] {
            let differences = provenance_differences(&a, &other);
            assert!(
                differences.iter().any(|d| d.starts_with(field)),
                "{field}: {differences:?}"
            );
        }
    }
}
