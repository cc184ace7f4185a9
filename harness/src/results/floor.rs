//! The floor: `manual`, a workload's hand-written adjoint, measured beside the AD strategies.
//! A case's distance to it is its median over `manual`'s median on the same workload, size and
//! parameters in the same results, as `overhead` is its median over the primal's: how far an
//! AD strategy is from what a careful programmer reaches by hand.

use std::collections::BTreeMap;

use crate::results::{CaseResult, Status};

/// The strategy whose median is the floor.
pub const FLOOR_STRATEGY: &str = "manual";

/// (workload, size, parameters as JSON): a case without its strategy and thread count.
type Case = (String, Option<u64>, String);

/// The case of `row`, without its strategy and thread count.
fn case_of(row: &CaseResult) -> Case {
    let (workload, size, params, _, _) = row.key();
    (workload, size, params)
}

/// `manual`'s median of every case of a set of rows that has one (measured, on one thread).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Floors {
    medians: BTreeMap<Case, f64>,
}

impl Floors {
    /// The floors of `rows`: the median of each `ok` row of `manual` on one thread, when it is
    /// a finite time above 0.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a CaseResult>) -> Floors {
        let medians = rows
            .into_iter()
            .filter(|r| r.strategy == FLOOR_STRATEGY && r.threads == 1 && r.status == Status::Ok)
            .filter_map(|r| {
                let median = r.median_ns.filter(|m| m.is_finite() && *m > 0.0)?;
                Some((case_of(r), median))
            })
            .collect();
        Floors { medians }
    }

    /// `row`'s median over `manual`'s on its workload, size and parameters (1 for `manual`
    /// itself); `None` when either is missing.
    pub fn ratio(&self, row: &CaseResult) -> Option<f64> {
        let floor = self.medians.get(&case_of(row))?;
        Some(row.median_ns? / floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture::fmult_row;

    fn measured(workload: &str, size: u64, strategy: &str, median: f64) -> CaseResult {
        let mut row = fmult_row(strategy);
        row.workload = workload.into();
        row.size = Some(size);
        row.median_ns = Some(median);
        row
    }

    #[test]
    fn the_floor_is_manuals_median_on_the_same_case() {
        let rows = [
            measured("fdotprod", 100, "manual", 20.0),
            measured("fdotprod", 100, "tape", 250.0),
            measured("fdotprod", 1000, "tape", 2500.0),
            measured("lse", 100, "tape", 300.0),
        ];
        let floors = Floors::of(&rows);
        assert_eq!(floors.ratio(&rows[0]), Some(1.0));
        assert_eq!(floors.ratio(&rows[1]), Some(12.5));
        // Another size, another workload: no floor.
        assert_eq!(floors.ratio(&rows[2]), None);
        assert_eq!(floors.ratio(&rows[3]), None);
        // On several threads, against the same (sequential) floor.
        let mut par = measured("fdotprod", 100, "dualrev-par", 400.0);
        par.threads = 2;
        assert_eq!(floors.ratio(&par), Some(20.0));
        // Other parameters are another case.
        let mut other = measured("fdotprod", 100, "tape", 250.0);
        other.params.insert("steps".into(), 2.0);
        assert_eq!(floors.ratio(&other), None);
    }

    #[test]
    fn a_manual_case_that_did_not_finish_is_no_floor() {
        let mut manual = measured("fdotprod", 100, "manual", 20.0);
        manual.status = Status::Timeout;
        let tape = measured("fdotprod", 100, "tape", 250.0);
        assert_eq!(Floors::of([&manual, &tape]).ratio(&tape), None);
        let zero = measured("fdotprod", 100, "manual", 0.0);
        assert_eq!(Floors::of([&zero, &tape]).ratio(&tape), None);
        // Nor one on several threads (manual is sequential: such a row is not manual's floor).
        let mut par = measured("fdotprod", 100, "manual", 20.0);
        par.threads = 2;
        assert_eq!(Floors::of([&par, &tape]).ratio(&tape), None);
    }
}
