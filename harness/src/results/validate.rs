//! What every reader of rows checks once they are parsed, whatever the file format: each case
//! appears once, a row's rounds account for its samples, and its numbers are finite and its
//! thread count positive. Before the checks, readers give each row every parameter its
//! workload has gained since the row was written, at its default ([`add_default_params`]).
//!
//! Rows that break one of these were not written by dualbench; read on, they would give an
//! answer from a guess (which of two rows of one case is the measurement?) or stop a reader
//! half-way (rounds that claim more samples than the row holds). So they are refused here, with
//! the place named, before any command uses them.

use std::collections::BTreeMap;

use crate::results::CaseResult;

/// A case as people read it: `workload [params] / size N / strategy@Tt` (a choice parameter by
/// name, `fork=balanced`; no size for a fixed-size workload, no `@Tt` on one thread).
pub fn case_label(row: &CaseResult) -> String {
    let mut label = row.workload.clone();
    if !row.params.is_empty() {
        let params = workloads::format_params(&row.workload, &row.params);
        label.push_str(&format!(" [{}]", params.join(", ")));
    }
    if let Some(size) = row.size {
        label.push_str(&format!(" / size {size}"));
    }
    format!("{label} / {}", row.strategy_label())
}

/// Give every row of a registered workload each parameter of the workload that it lacks, at its
/// default ([`workloads::add_default_params`]): a row written before `fparticles` had `fork`
/// is the case with the default fork (`chain`), which is what it measured, and has the same key
/// as a newer row of that case.
pub fn add_default_params(rows: &mut [CaseResult]) {
    for row in rows {
        workloads::add_default_params(&row.workload, &mut row.params);
    }
}

/// Check `rows`; `place(i)` names the row of index `i` in the file (`row 3`, `line 4`).
pub fn check_rows(rows: &[CaseResult], place: impl Fn(usize) -> String) -> Result<(), String> {
    let mut first_of_case = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        check_row(row).map_err(|e| format!("{} ({}): {e}", place(i), case_label(row)))?;
        if let Some(first) = first_of_case.insert(row.key(), i) {
            return Err(format!(
                "the case {} appears twice, in {} and {}: a results file holds each case once \
                 (a case is a workload, size, parameters, strategy and thread count); remove \
                 one of them, or regenerate the file",
                case_label(row),
                place(first),
                place(i)
            ));
        }
    }
    Ok(())
}

/// The checks of one row.
fn check_row(row: &CaseResult) -> Result<(), String> {
    if row.threads == 0 {
        return Err("field `threads` is 0; a case runs on at least 1 thread".into());
    }
    let rounds = row
        .round_samples
        .iter()
        .try_fold(0u64, |sum, &n| sum.checked_add(n));
    let samples = row.samples_ns.len() as u64;
    if !row.round_samples.is_empty() && rounds != Some(samples) {
        let rounds = rounds.map_or_else(|| "more than 2^64".to_string(), |r| r.to_string());
        return Err(format!(
            "field `round_samples` counts {rounds} samples in its rounds but `samples_ns` holds \
             {samples}; the rounds must account for every sample (or `round_samples` is [] when \
             they were not recorded)"
        ));
    }
    let numbers = [
        ("median_ns", row.median_ns),
        ("min_ns", row.min_ns),
        ("max_ns", row.max_ns),
        ("ci_low_ns", row.ci_low_ns),
        ("ci_high_ns", row.ci_high_ns),
        ("ci_level", row.ci_level),
        ("forward_median_ns", row.forward_median_ns),
        ("reverse_median_ns", row.reverse_median_ns),
        ("primal_median_ns", row.primal_median_ns),
        ("overhead", row.overhead),
        ("wall_s", Some(row.wall_s)),
    ];
    if let Some((field, x)) = numbers
        .iter()
        .find_map(|(f, x)| x.filter(|x| !x.is_finite()).map(|x| (f, x)))
    {
        return Err(format!(
            "field `{field}` is {x}; expected a finite number (only `naive_calls` may be \
             infinite)"
        ));
    }
    if let Some((i, x)) = row
        .samples_ns
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_finite())
    {
        return Err(format!(
            "field `samples_ns`: sample {} is {x}; expected finite numbers",
            i + 1
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::fmult_row;

    fn row_place(i: usize) -> String {
        format!("row {}", i + 1)
    }

    #[test]
    fn a_row_older_than_a_parameter_gets_its_default_and_labels_show_choices_by_name() {
        let mut old = fmult_row("tape");
        old.workload = "fparticles".into();
        old.params = BTreeMap::from([("particles".to_string(), 4.0)]);
        let mut unknown = fmult_row("tape");
        unknown.workload = "not-registered".into();
        unknown.params = BTreeMap::from([("x".to_string(), 1.0)]);
        let mut rows = [old, unknown];
        add_default_params(&mut rows);
        let chain = BTreeMap::from([("fork".to_string(), 0.0), ("particles".to_string(), 4.0)]);
        assert_eq!(rows[0].params, chain);
        assert_eq!(rows[1].params, BTreeMap::from([("x".to_string(), 1.0)]));
        assert_eq!(
            case_label(&rows[0]),
            "fparticles [fork=chain, particles=4] / tape"
        );
        // The old row and a new one of the same case are one case.
        let mut new = rows[0].clone();
        new.params = chain;
        assert!(check_rows(&[rows[0].clone(), new], row_place).is_err());
    }

    #[test]
    fn a_case_given_twice_is_refused_naming_both_rows() {
        let rows = [fmult_row("tape"), fmult_row("dualrev"), fmult_row("tape")];
        let e = check_rows(&rows, row_place).unwrap_err();
        assert!(
            e.starts_with("the case fmult / tape appears twice, in row 1 and row 3"),
            "{e}"
        );
        let mut other_threads = fmult_row("tape");
        other_threads.threads = 2;
        assert!(check_rows(&[fmult_row("tape"), other_threads], row_place).is_ok());
    }

    #[test]
    fn rounds_must_account_for_the_samples_without_overflow() {
        let mut row = fmult_row("tape");
        row.samples_ns = vec![1.0, 2.0, 3.0];
        row.round_samples = vec![2, 1];
        assert!(check_rows(std::slice::from_ref(&row), row_place).is_ok());
        row.round_samples = vec![u64::MAX, 4];
        let e = check_rows(&[row.clone()], row_place).unwrap_err();
        assert!(
            e.contains("row 1 (fmult / tape): field `round_samples`"),
            "{e}"
        );
        assert!(e.contains("more than 2^64"), "{e}");
        row.round_samples = Vec::new();
        assert!(check_rows(&[row], row_place).is_ok(), "rounds not recorded");
    }

    #[test]
    fn non_finite_times_and_zero_threads_are_refused() {
        let mut row = fmult_row("tape");
        row.median_ns = Some(f64::NAN);
        let e = check_rows(&[row], row_place).unwrap_err();
        assert!(e.contains("field `median_ns` is NaN"), "{e}");
        let mut row = fmult_row("tape");
        row.samples_ns = vec![1.0, f64::INFINITY];
        let e = check_rows(&[row], row_place).unwrap_err();
        assert!(e.contains("sample 2 is inf"), "{e}");
        let mut row = fmult_row("tape");
        row.threads = 0;
        let e = check_rows(&[row], row_place).unwrap_err();
        assert!(e.contains("`threads` is 0"), "{e}");
        let mut row = fmult_row("naive");
        row.naive_calls = Some(f64::INFINITY);
        assert!(check_rows(&[row], row_place).is_ok());
    }
}
