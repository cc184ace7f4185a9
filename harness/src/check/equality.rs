//! Deciding `same as` claims: the counters of the claim's strategies against another
//! strategy's, case by case, exactly.
//!
//! The claim's cases are grouped into series as for growth claims — one per (workload,
//! strategy, parameters, thread count), fixed-size workloads included — leaving out the other
//! strategy itself. Each case is paired with the other strategy's cases of the same workload,
//! size and parameters (at any thread count: the other strategy is usually sequential), and each
//! counter the metric names is compared on its own (a sum could hide two differences that
//! cancel).
//!
//! A series
//!
//! - **fails** when a paired case differs in a counter (the report names the first such case,
//!   both values and the difference), when the claim's strategy does not report a counter the
//!   other one does (it does not count the same work), or when a case of either strategy that
//!   the claim needs crashed, ran out of memory or panicked;
//! - is **inconclusive** when no case could be paired: the other strategy has no case at those
//!   sizes, or one of the two timed out, was skipped or was over the work cap;
//! - **holds** otherwise: every paired case agrees on every counter.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::check::claims::{Claim, Metric};
use crate::check::observation::Observation;
use crate::check::series::{groups, size_text};
use crate::check::verdict::{broken_reason, SeriesOutcome, Verdict};

/// One counter of one case in which the claim's strategy differs from the other strategy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The case's size (`None` for a fixed-size workload).
    pub size: Option<u64>,
    /// The counter.
    pub counter: String,
    /// The claim's strategy's value; `None` when it reports no such counter.
    pub value: Option<u64>,
    /// The other strategy's value.
    pub other_value: u64,
    /// The other strategy.
    pub other: String,
}

impl fmt::Display for Difference {
    /// `size 16: edges_applied 63, dualrev 64 (-1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = size_text(self.size);
        match self.value {
            Some(v) => write!(
                f,
                "{at}: {} {v}, {} {} ({:+})",
                self.counter,
                self.other,
                self.other_value,
                i128::from(v) - i128::from(self.other_value)
            ),
            None => write!(
                f,
                "{at}: no counter `{}` reported ({} reports {})",
                self.counter, self.other, self.other_value
            ),
        }
    }
}

/// The comparison of one series with the other strategy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Equality {
    /// The strategy compared with.
    pub other: String,
    /// The sizes of the cases paired and compared, ascending (`None`: a fixed size).
    pub sizes: Vec<Option<u64>>,
    /// Every counter that differs, by size.
    pub differences: Vec<Difference>,
}

/// Judge the `same as other` claim `claim` on `observations`: one outcome per series of the
/// claim's strategies (other than `other`).
pub fn judge_equality(
    claim: &Claim,
    other: &str,
    observations: &[Observation],
) -> Vec<SeriesOutcome> {
    let names: &[String] = match &claim.metric {
        Metric::Counters(names) => names,
        _ => &[],
    };
    // The other strategy's cases, by (workload, parameters, size).
    let mut reference: BTreeMap<(&str, String, Option<u64>), Vec<&Observation>> = BTreeMap::new();
    for o in observations.iter().filter(|o| {
        o.strategy == other
            && claim.workloads.matches(&o.workload)
            && claim.selects_params(&o.params)
    }) {
        reference
            .entry((o.workload.as_str(), o.params_key(), o.size))
            .or_default()
            .push(o);
    }
    groups(claim, observations, true, |o| o.strategy != other)
        .into_iter()
        .map(|(mut series, mut cases)| {
            cases.sort_by_key(|o| o.size);
            let mut equality = Equality {
                other: other.to_string(),
                sizes: Vec::new(),
                differences: Vec::new(),
            };
            for o in cases {
                let at = size_text(o.size);
                if series.unfinished(o, |f| format!("{at}: {f}")) {
                    continue;
                }
                let key = (o.workload.as_str(), o.params_key(), o.size);
                let Some(theirs) = reference.get(&key) else {
                    series.notes.push(format!("{at}: no case of `{other}`"));
                    continue;
                };
                let mut compared = false;
                for r in theirs {
                    if series.unfinished(r, |f| format!("{at}: {other}: {f}")) {
                        continue;
                    }
                    if let Some(name) = names.iter().find(|n| !r.counters.contains_key(*n)) {
                        series
                            .notes
                            .push(format!("{at}: {other}'s case reports no counter `{name}`"));
                        continue;
                    }
                    compared = true;
                    for name in names {
                        let other_value = r.counters[name];
                        let value = o.counters.get(name).copied();
                        if value != Some(other_value) {
                            equality.differences.push(Difference {
                                size: o.size,
                                counter: name.clone(),
                                value,
                                other_value,
                                other: other.to_string(),
                            });
                        }
                    }
                }
                if compared && equality.sizes.last() != Some(&o.size) {
                    equality.sizes.push(o.size);
                }
            }
            let (verdict, reason) = verdict_of(&equality, names, &series.notes);
            let (verdict, reason) = match broken_reason(&series) {
                Some(why) => (Verdict::Fails, why),
                None => (verdict, reason),
            };
            SeriesOutcome {
                equality: Some(equality),
                ..SeriesOutcome::new(series, verdict, reason, true)
            }
        })
        .collect()
}

/// The verdict of a series' comparison (before broken cases are considered) and its reason.
fn verdict_of(equality: &Equality, names: &[String], notes: &[String]) -> (Verdict, String) {
    let compared = equality.sizes.len();
    let sizes = match compared {
        1 => size_text(equality.sizes[0]),
        n => format!(
            "{n} sizes ({})",
            equality
                .sizes
                .iter()
                .map(|s| s.map_or_else(|| "fixed".to_string(), |s| s.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let Some(first) = equality.differences.first() {
        let more = match equality.differences.len() {
            1 => String::new(),
            n => format!(" (and {} more differences)", n - 1),
        };
        return (
            Verdict::Fails,
            format!("{first}{more}; compared at {sizes}"),
        );
    }
    if compared == 0 {
        let why = notes
            .first()
            .map_or_else(|| "no case".to_string(), |n| n.clone());
        return (
            Verdict::Inconclusive,
            format!("no case to compare with {}: {why}", equality.other),
        );
    }
    (
        Verdict::Holds,
        format!("{} equal {}'s at {sizes}", names.join(", "), equality.other),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::claims::ClaimsFile;
    use crate::check::observation::{CaseFailure, FailureKind};

    fn claim(strategies: &str) -> Claim {
        let text = format!(
            r#"[[claim]]
            id = "same-work"
            sentence = "s"
            strategies = [{strategies}]
            workloads = ["fdotprod", "fmult"]
            metric = "counter:ids_allocated+edges_applied"
            model = "same as dualrev""#
        );
        ClaimsFile::parse(&text, "t").unwrap().claims.remove(0)
    }

    fn obs(workload: &str, strategy: &str, size: Option<u64>, ids: u64, edges: u64) -> Observation {
        Observation {
            workload: workload.into(),
            strategy: strategy.into(),
            size,
            counters: [
                ("ids_allocated".to_string(), ids),
                ("edges_applied".to_string(), edges),
            ]
            .into(),
            ..Observation::default()
        }
    }

    #[test]
    fn equal_counters_at_every_case_hold_fixed_sizes_included() {
        let all = vec![
            obs("fdotprod", "dualrev", Some(10), 40, 39),
            obs("fdotprod", "sparse", Some(10), 40, 39),
            obs("fdotprod", "dualrev", Some(20), 80, 79),
            obs("fdotprod", "sparse", Some(20), 80, 79),
            obs("fmult", "sparse", None, 3, 2),
            obs("fmult", "dualrev", None, 3, 2),
        ];
        let o = judge_equality(&claim("\"sparse\""), "dualrev", &all);
        assert_eq!(o.len(), 2, "dualrev itself is not a series");
        assert_eq!(o[0].verdict, Verdict::Holds, "{}", o[0].reason);
        assert_eq!(
            o[0].reason,
            "ids_allocated, edges_applied equal dualrev's at 2 sizes (10, 20)"
        );
        assert_eq!(o[0].sizes_used(), [10, 20]);
        assert_eq!(o[1].verdict, Verdict::Holds, "{}", o[1].reason);
        assert!(
            o[1].reason.ends_with("at the fixed size"),
            "{}",
            o[1].reason
        );
    }

    #[test]
    fn a_differing_counter_fails_naming_the_case_and_the_difference() {
        let all = vec![
            obs("fdotprod", "dualrev", Some(10), 40, 39),
            obs("fdotprod", "naive", Some(10), 40, 39),
            obs("fdotprod", "dualrev", Some(20), 80, 79),
            obs("fdotprod", "naive", Some(20), 80, 81),
        ];
        let o = judge_equality(&claim("\"naive\""), "dualrev", &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert_eq!(
            o[0].reason,
            "size 20: edges_applied 81, dualrev 79 (+2); compared at 2 sizes (10, 20)"
        );
        let e = o[0].equality.as_ref().unwrap();
        assert_eq!(e.differences.len(), 1);
        assert_eq!(
            (e.differences[0].value, e.differences[0].other_value),
            (Some(81), 79)
        );
    }

    #[test]
    fn a_counter_the_strategy_does_not_report_fails_the_claim() {
        let mut lacking = obs("fdotprod", "tape", Some(10), 0, 39);
        lacking.counters.remove("ids_allocated");
        let all = vec![obs("fdotprod", "dualrev", Some(10), 40, 39), lacking];
        let o = judge_equality(&claim("\"tape\""), "dualrev", &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert!(
            o[0].reason
                .starts_with("size 10: no counter `ids_allocated` reported (dualrev reports 40)"),
            "{}",
            o[0].reason
        );
    }

    #[test]
    fn without_a_case_to_pair_the_series_is_inconclusive_and_a_crash_fails() {
        let mut timeout = obs("fdotprod", "dualrev", Some(20), 0, 0);
        timeout.failure = Some(CaseFailure::new(FailureKind::Timeout, "over budget"));
        let all = vec![
            obs("fdotprod", "sparse", Some(10), 40, 39),
            obs("fdotprod", "sparse", Some(20), 80, 79),
            timeout,
        ];
        let o = judge_equality(&claim("\"sparse\""), "dualrev", &all);
        assert_eq!(o[0].verdict, Verdict::Inconclusive, "{}", o[0].reason);
        assert_eq!(
            o[0].reason,
            "no case to compare with dualrev: size 10: no case of `dualrev`"
        );
        assert!(o[0].series.notes[1].contains("dualrev: timeout"));

        let mut crashed = obs("fdotprod", "sparse", Some(40), 0, 0);
        crashed.failure = Some(CaseFailure::new(FailureKind::Crashed, "stack overflow"));
        let all = vec![
            obs("fdotprod", "dualrev", Some(10), 40, 39),
            obs("fdotprod", "sparse", Some(10), 40, 39),
            crashed,
        ];
        let o = judge_equality(&claim("\"sparse\""), "dualrev", &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert!(o[0].reason.contains("stack overflow"), "{}", o[0].reason);
    }

    #[test]
    fn every_thread_count_of_the_strategy_is_its_own_series() {
        let mut two = obs("fdotprod", "tape", Some(10), 40, 40);
        two.threads = 2;
        let all = vec![
            obs("fdotprod", "dualrev", Some(10), 40, 39),
            obs("fdotprod", "tape", Some(10), 40, 39),
            two,
        ];
        let o = judge_equality(&claim("\"tape\""), "dualrev", &all);
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].verdict, Verdict::Holds, "{}", o[0].reason);
        assert_eq!(o[1].series.label(), "fdotprod/tape@2t");
        assert_eq!(o[1].verdict, Verdict::Fails, "{}", o[1].reason);
    }
}
