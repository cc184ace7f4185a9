//! Deciding speedup claims from a results file: how much faster a strategy runs a case on
//! several threads than on one.
//!
//! The speedup at t threads of a case (workload, size, parameters, strategy) is the median
//! gradient time of its 1-thread row over that of its t-thread row. For each (workload,
//! strategy, parameters) that the claim selects it is taken at the largest size with a finished
//! 1-thread row and a finished t-thread row, where t is the claim's thread count (`speedup:T`)
//! or, for `speedup`, the largest thread count measured at that size. Its interval is the
//! percentile bootstrap of the ratio of medians that `dualbench compare` uses
//! ([`crate::compare::interval`]): each row's rounds (or, with fewer than two rounds, samples)
//! resampled independently, the stream seeded from the case so that one file always gives one
//! interval.
//!
//! The claim's floor is a number (`at least B`) or a share of the bound of the case's job graph
//! (`at least F of bound`: F · min(t, W / S), W and S the work and span of the whole gradient
//! from the case's span counters, [`crate::parallel::span`]). A series holds when the interval
//! lies at or above the floor, fails when it lies below, and is inconclusive when it straddles
//! the floor, when either row has fewer than two samples, when the floor is a share of the
//! bound and the case reports no span counters, or when the results hold no row at the thread
//! count needed: the reason then says to run `dualbench run --threads 1,T`. A case of the
//! series that crashed, ran out of memory or panicked fails it, as in every claim.
//!
//! Whatever the floor, the reason reports beside the measured speedup what the case's counters
//! allow, when it reports them: the bound min(t, W / S), W / S of the gradient and of each pass,
//! and Brent's greedy estimate W / (W / t + S); and the speedup of each phase when both rows
//! timed the phases.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;

use serde::Serialize;

use crate::check::claims::{Claim, SpeedupFloor};
use crate::check::observation::Observation;
use crate::check::series::{groups, size_text};
use crate::check::verdict::{broken_reason, num, SeriesOutcome, Verdict};
use crate::compare::interval::{ratio_of_medians, units};
use crate::parallel::span::{Span, SpanError};

/// The speedup of one series, at the case that decides it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Speedup {
    /// The case's size (`None` for a fixed-size workload).
    pub size: Option<u64>,
    /// The thread count compared with one thread.
    pub threads: u64,
    /// The median gradient time on one thread.
    pub one_thread: f64,
    /// The median gradient time on `threads` threads.
    pub on_threads: f64,
    /// `one_thread / on_threads`.
    pub estimate: f64,
    /// Its confidence interval; `None` when a row has fewer than two samples.
    pub interval: Option<(f64, f64)>,
    /// The forward phase's speedup, when both rows timed the phases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<f64>,
    /// The reverse phase's speedup, when both rows timed the phases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse: Option<f64>,
    /// The work and span of the case's counters, when it reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// min(`threads`, W / S), when the case reports its span counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<f64>,
}

/// Judge the speedup claim `claim` on `observations`: at `threads` threads (the largest measured
/// when `None`), the speedup is at least `floor`, with `confidence`.
pub fn judge_speedup(
    claim: &Claim,
    threads: Option<u64>,
    floor: SpeedupFloor,
    confidence: f64,
    observations: &[Observation],
) -> Vec<SeriesOutcome> {
    groups(claim, observations, false, |_| true)
        .into_iter()
        .map(|(mut series, cases)| {
            // The finished rows with a time, by (size, thread count); the first of duplicates.
            let mut rows: BTreeMap<(Option<u64>, u64), &Observation> = BTreeMap::new();
            for o in cases {
                let at = format!("{} on {} threads", size_text(o.size), o.threads);
                if series.unfinished(o, |f| format!("{at}: {f}")) {
                    continue;
                }
                if o.time.is_none() {
                    series
                        .notes
                        .push(format!("{at}: no gradient time recorded"));
                    continue;
                }
                rows.entry((o.size, o.threads)).or_insert(o);
            }
            if let Some(reason) = broken_reason(&series) {
                return SeriesOutcome::new(series, Verdict::Fails, reason, false);
            }
            let Some((size, t)) = deciding_case(&rows, threads) else {
                let reason = missing_rows(&rows, threads);
                return SeriesOutcome::new(series, Verdict::Inconclusive, reason, false);
            };
            let (one, many) = (rows[&(size, 1)], rows[&(size, t)]);
            let (speedup, span) = estimate(&series.label(), one, many, confidence);
            let (verdict, reason) = verdict_of(&speedup, floor, span.err(), confidence);
            SeriesOutcome {
                speedup: Some(speedup),
                ..SeriesOutcome::new(series, verdict, reason, false)
            }
        })
        .collect()
}

/// The (size, thread count) the speedup is taken at: the largest size with a 1-thread row and a
/// row at `threads` threads (or, when `None`, at more than one: the largest such count).
fn deciding_case(
    rows: &BTreeMap<(Option<u64>, u64), &Observation>,
    threads: Option<u64>,
) -> Option<(Option<u64>, u64)> {
    let sizes: BTreeSet<Option<u64>> = rows.keys().map(|k| k.0).collect();
    sizes.into_iter().rev().find_map(|size| {
        if !rows.contains_key(&(size, 1)) {
            return None;
        }
        let t = match threads {
            Some(t) => rows.contains_key(&(size, t)).then_some(t),
            None => rows
                .keys()
                .filter(|k| k.0 == size && k.1 > 1)
                .map(|k| k.1)
                .max(),
        }?;
        Some((size, t))
    })
}

/// Why no case can decide the speedup, with what to run.
fn missing_rows(rows: &BTreeMap<(Option<u64>, u64), &Observation>, threads: Option<u64>) -> String {
    let counts: BTreeSet<u64> = rows.keys().map(|k| k.1).collect();
    let counts_text = if counts.is_empty() {
        "none".to_string()
    } else {
        counts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (wanted, has_wanted) = match threads {
        Some(t) => (format!("{t} threads"), counts.contains(&t)),
        None => (
            "more than one thread".to_string(),
            counts.iter().any(|&c| c > 1),
        ),
    };
    let run = format!(
        "run `dualbench run --threads 1,{}` to measure it",
        threads.unwrap_or(2)
    );
    if has_wanted {
        format!(
            "no size has both a finished 1-thread row and one on {wanted} (thread counts \
             measured: {counts_text}); {run}"
        )
    } else {
        format!(
            "the results hold no finished row on {wanted} (thread counts measured: \
             {counts_text}); {run}"
        )
    }
}

/// The speedup of `one` (1 thread) over `many`, with its bootstrap interval, and the work and
/// span of their counters (those of `many`, else those of `one`), or why there are none.
fn estimate(
    label: &str,
    one: &Observation,
    many: &Observation,
    confidence: f64,
) -> (Speedup, Result<Span, SpanError>) {
    let one_thread = one.time.unwrap_or(f64::NAN);
    let on_threads = many.time.unwrap_or(f64::NAN);
    let (one_units, many_units) = (
        units(&one.samples, &one.round_samples),
        units(&many.samples, &many.round_samples),
    );
    let interval = (one_units.len() >= 2 && many_units.len() >= 2)
        .then(|| {
            let mut hasher = fnv::FnvHasher::default();
            hasher.write(format!("{label}|{:?}|{}", one.size, many.threads).as_bytes());
            // median(one) / median(many): `many` is the base of the ratio.
            ratio_of_medians(&many_units, &one_units, confidence, hasher.finish())
        })
        .flatten();
    let phase = |of: fn(&Observation) -> Option<f64>| {
        let (a, b) = (of(one)?, of(many)?);
        (a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0).then(|| a / b)
    };
    let span = Span::of(&many.counters).or_else(|e| Span::of(&one.counters).map_err(|_| e));
    let speedup = Speedup {
        size: one.size,
        threads: many.threads,
        one_thread,
        on_threads,
        estimate: one_thread / on_threads,
        interval,
        forward: phase(|o| o.forward_time),
        reverse: phase(|o| o.reverse_time),
        span: span.as_ref().ok().copied(),
        bound: span.as_ref().ok().map(|s| s.bound(many.threads)),
    };
    (speedup, span)
}

/// What the case allows beside what was measured: `; bound min(2, W/S) = 2 with W/S = 3.33
/// (forward 3, reverse 4), greedy W/(W/t+S) = 1.25; phase speedups forward 1.8, reverse 1.9`
/// (each part when known).
fn context(speedup: &Speedup) -> String {
    let mut out = String::new();
    if let Some(span) = &speedup.span {
        let t = speedup.threads;
        let phase = |p: Option<f64>| p.map_or_else(|| "-".to_string(), num);
        out.push_str(&format!(
            "; bound min({t}, W/S) = {} with W/S = {} (forward {}, reverse {}), greedy \
             W/(W/t+S) = {}",
            num(span.bound(t)),
            num(span.parallelism()),
            phase(span.forward_parallelism()),
            phase(span.reverse_parallelism()),
            num(span.greedy(t))
        ));
    }
    if let (Some(f), Some(r)) = (speedup.forward, speedup.reverse) {
        out.push_str(&format!(
            "; phase speedups forward {}, reverse {}",
            num(f),
            num(r)
        ));
    }
    out
}

/// The verdict of `speedup` against `floor`, and its reason; `no_span` is why the case has no
/// work and span, when it has none.
fn verdict_of(
    speedup: &Speedup,
    floor: SpeedupFloor,
    no_span: Option<SpanError>,
    confidence: f64,
) -> (Verdict, String) {
    let what = format!(
        "speedup {} on {} threads at {}",
        num(speedup.estimate),
        speedup.threads,
        size_text(speedup.size)
    );
    let context = context(speedup);
    let (floor_value, floor_text) = match (floor, speedup.bound) {
        (SpeedupFloor::Fixed(b), _) => (b, num(b)),
        (SpeedupFloor::OfBound(share), Some(bound)) => (
            share * bound,
            format!(
                "{} ({} of the bound {})",
                num(share * bound),
                num(share),
                num(bound)
            ),
        ),
        (SpeedupFloor::OfBound(share), None) => {
            let why = no_span.map_or_else(
                || "the case reports no work and span".to_string(),
                |e| e.to_string(),
            );
            return (
                Verdict::Inconclusive,
                format!(
                    "{what}, but no bound min({}, W/S) to take {} of: {why}{context}",
                    speedup.threads,
                    num(share)
                ),
            );
        }
    };
    let Some((lo, hi)) = speedup.interval else {
        return (
            Verdict::Inconclusive,
            format!("{what}, but no interval: a row has fewer than 2 samples{context}"),
        );
    };
    let ci = format!(
        "{what}, {}% interval [{}, {}]",
        num(confidence * 100.0),
        num(lo),
        num(hi)
    );
    if lo >= floor_value {
        (
            Verdict::Holds,
            format!("{ci}, at least {floor_text}{context}"),
        )
    } else if hi < floor_value {
        (Verdict::Fails, format!("{ci}, below {floor_text}{context}"))
    } else {
        (
            Verdict::Inconclusive,
            format!("{ci} straddles {floor_text}{context}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::claims::ClaimsFile;
    use crate::check::observation::{CaseFailure, FailureKind};
    use crate::parallel::span::COUNTERS;
    use SpeedupFloor::{Fixed, OfBound};

    fn claim(metric: &str, bound: impl std::fmt::Display) -> Claim {
        let text = format!(
            r#"[[claim]]
            id = "speedup"
            sentence = "s"
            strategies = ["dualrev-par"]
            workloads = ["fparticles"]
            params = {{ particles = 4 }}
            metric = "{metric}"
            model = "at least {bound}""#
        );
        ClaimsFile::parse(&text, "t").unwrap().claims.remove(0)
    }

    /// A row of `fparticles` with 4 particles: 10 rounds of 3 samples around `median`, spread
    /// by +-`spread` (relative).
    fn row(size: u64, threads: u64, median: f64, spread: f64) -> Observation {
        let samples: Vec<f64> = (0..30)
            .map(|i| median * (1.0 + spread * ((i % 5) as f64 - 2.0) / 2.0))
            .collect();
        Observation {
            workload: "fparticles".into(),
            strategy: "dualrev-par".into(),
            params: [("particles".to_string(), 4.0)].into(),
            size: Some(size),
            threads,
            time: Some(median),
            samples,
            round_samples: vec![3; 10],
            ..Observation::default()
        }
    }

    #[test]
    fn a_clear_speedup_at_the_largest_size_holds() {
        let all = vec![
            row(10, 1, 100.0, 0.02),
            row(10, 2, 90.0, 0.02),
            row(100, 1, 1000.0, 0.02),
            row(100, 2, 550.0, 0.02),
        ];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].verdict, Verdict::Holds, "{}", o[0].reason);
        let s = o[0].speedup.as_ref().unwrap();
        assert_eq!((s.size, s.threads), (Some(100), 2));
        assert!((s.estimate - 1000.0 / 550.0).abs() < 1e-12);
        let (lo, hi) = s.interval.unwrap();
        assert!(
            lo >= 1.5 && lo <= s.estimate && s.estimate <= hi,
            "[{lo}, {hi}]"
        );
        assert!(o[0]
            .reason
            .starts_with("speedup 1.818 on 2 threads at size 100, 95% interval"));
        assert_eq!(o[0].sizes_used(), [100]);
    }

    #[test]
    fn a_small_speedup_fails_and_a_noisy_one_is_inconclusive() {
        let all = vec![row(100, 1, 1000.0, 0.02), row(100, 2, 900.0, 0.02)];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert!(o[0].reason.ends_with("below 1.5"), "{}", o[0].reason);

        let all = vec![row(100, 1, 1000.0, 0.6), row(100, 2, 660.0, 0.6)];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Inconclusive, "{}", o[0].reason);
        assert!(o[0].reason.ends_with("straddles 1.5"), "{}", o[0].reason);
    }

    #[test]
    fn without_a_multi_thread_row_it_is_inconclusive_and_says_what_to_run() {
        let all = vec![row(10, 1, 100.0, 0.02), row(100, 1, 1000.0, 0.02)];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Inconclusive, "{}", o[0].reason);
        assert_eq!(
            o[0].reason,
            "the results hold no finished row on 2 threads (thread counts measured: 1); run \
             `dualbench run --threads 1,2` to measure it"
        );
        let o = judge_speedup(&claim("speedup", 1.5), None, Fixed(1.5), 0.95, &all);
        assert!(
            o[0].reason.contains("on more than one thread"),
            "{}",
            o[0].reason
        );
    }

    #[test]
    fn bare_speedup_takes_the_largest_thread_count_and_other_params_are_left_out() {
        let mut eight = row(100, 2, 100.0, 0.02);
        eight.params.insert("particles".into(), 8.0);
        let all = vec![
            row(100, 1, 1000.0, 0.02),
            row(100, 2, 600.0, 0.02),
            row(100, 4, 400.0, 0.02),
            row(200, 4, 800.0, 0.02),
            eight,
        ];
        let o = judge_speedup(&claim("speedup", 2.0), None, Fixed(2.0), 0.95, &all);
        assert_eq!(o.len(), 1, "particles = 8 is not selected");
        let s = o[0].speedup.as_ref().unwrap();
        assert_eq!(
            (s.size, s.threads),
            (Some(100), 4),
            "size 200 has no 1-thread row"
        );
        assert_eq!(o[0].verdict, Verdict::Holds, "{}", o[0].reason);
    }

    #[test]
    fn too_few_samples_are_inconclusive_and_a_crash_fails() {
        let mut one = row(100, 1, 1000.0, 0.02);
        one.samples.truncate(1);
        one.round_samples = vec![1];
        let all = vec![one, row(100, 2, 500.0, 0.02)];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Inconclusive, "{}", o[0].reason);
        assert!(o[0].reason.contains("no interval"), "{}", o[0].reason);

        let mut crashed = row(200, 2, 0.0, 0.0);
        crashed.failure = Some(CaseFailure::new(FailureKind::Crashed, "signal 11"));
        let all = vec![row(100, 1, 1000.0, 0.02), row(100, 2, 500.0, 0.02), crashed];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert!(o[0].reason.contains("signal 11"), "{}", o[0].reason);
    }

    /// `row` with the span counters of a job graph of work 2000 and span 600 (W/S = 3.33):
    /// forward 1200 over 400, reverse 800 over 200; its phases take 60% and 40% of its time.
    fn with_span(mut o: Observation) -> Observation {
        o.forward_time = o.time.map(|t| 0.6 * t);
        o.reverse_time = o.time.map(|t| 0.4 * t);
        o.counters = COUNTERS
            .into_iter()
            .map(String::from)
            .zip([1200, 400, 800, 200])
            .collect();
        o
    }

    #[test]
    fn a_share_of_the_bound_is_taken_of_min_t_and_w_over_s() {
        // Bound min(2, 3.33) = 2: 0.9 of it is 1.8.
        let all = vec![
            with_span(row(100, 1, 1000.0, 0.02)),
            with_span(row(100, 2, 520.0, 0.02)),
        ];
        let c = claim("speedup:2", "0.9 of bound");
        let o = judge_speedup(&c, Some(2), OfBound(0.9), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Holds, "{}", o[0].reason);
        let s = o[0].speedup.as_ref().unwrap();
        assert_eq!(s.bound, Some(2.0));
        assert_eq!(s.span.unwrap().parallelism(), 2000.0 / 600.0);
        assert!(
            o[0].reason.contains(
                ", at least 1.8 (0.9 of the bound 2); bound min(2, W/S) = 2 with W/S = 3.333 \
                 (forward 3, reverse 4), greedy W/(W/t+S) = 1.25; phase speedups"
            ),
            "{}",
            o[0].reason
        );

        // On 4 threads the bound is W/S: 0.9 of 3.33 is 3, which 2.5 does not reach.
        let all = vec![
            with_span(row(100, 1, 1000.0, 0.02)),
            with_span(row(100, 4, 400.0, 0.02)),
        ];
        let c = claim("speedup:4", "0.9 of bound");
        let o = judge_speedup(&c, Some(4), OfBound(0.9), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert_eq!(o[0].speedup.as_ref().unwrap().bound, Some(2000.0 / 600.0));
        assert!(
            o[0].reason.contains("below 3 (0.9 of the bound 3.333)"),
            "{}",
            o[0].reason
        );
    }

    #[test]
    fn a_share_of_the_bound_without_counters_or_rows_is_inconclusive() {
        let all = vec![row(100, 1, 1000.0, 0.02), row(100, 2, 520.0, 0.02)];
        let c = claim("speedup:2", "0.9 of bound");
        let o = judge_speedup(&c, Some(2), OfBound(0.9), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Inconclusive, "{}", o[0].reason);
        assert!(
            o[0].reason.starts_with(
                "speedup 1.923 on 2 threads at size 100, but no bound min(2, W/S) to take 0.9 \
                 of: no span counters (work_forward, span_forward, work_reverse, span_reverse)"
            ),
            "{}",
            o[0].reason
        );
        assert_eq!(o[0].speedup.as_ref().unwrap().bound, None);

        // The counters on the 1-thread row are enough; without a 2-thread row, nothing to judge.
        let all = vec![
            with_span(row(100, 1, 1000.0, 0.02)),
            row(100, 2, 520.0, 0.02),
        ];
        let o = judge_speedup(&c, Some(2), OfBound(0.9), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Holds, "{}", o[0].reason);
        let all = vec![with_span(row(100, 1, 1000.0, 0.02))];
        let o = judge_speedup(&c, Some(2), OfBound(0.9), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Inconclusive, "{}", o[0].reason);
        assert!(
            o[0].reason
                .contains("the results hold no finished row on 2 threads"),
            "{}",
            o[0].reason
        );
    }

    #[test]
    fn a_fixed_floor_reports_the_bound_beside_the_speedup_when_counted() {
        let all = vec![
            with_span(row(100, 1, 1000.0, 0.02)),
            with_span(row(100, 2, 900.0, 0.02)),
        ];
        let o = judge_speedup(&claim("speedup:2", 1.5), Some(2), Fixed(1.5), 0.95, &all);
        assert_eq!(o[0].verdict, Verdict::Fails, "{}", o[0].reason);
        assert!(
            o[0].reason.contains("below 1.5; bound min(2, W/S) = 2"),
            "{}",
            o[0].reason
        );
    }
}
