//! Deciding a claim: each series is judged — a growth claim's fitted against the model's band
//! here, a `same as` claim's compared case by case ([`crate::check::equality`]), a speedup
//! claim's by its interval ([`crate::check::speedup`]) — and the claim's verdict combines its
//! series' verdicts.
//!
//! The band of a growth claim is `target ± tolerance` for an equality model and `(-inf, target + tolerance]` for an
//! `at most` model, in the units of the fitted quantity (an exponent, or a base).
//!
//! - **Exact series** (counters, T): deterministic, so no interval is needed. The claim holds
//!   for the series when both the fitted value and the local slope between the two largest
//!   sizes lie in the band; it fails when both lie outside; when they disagree the series is
//!   curved over the fitted sizes and the verdict is inconclusive. The interval shown is the
//!   range of the local slopes.
//! - **Measured series** (times, overhead, peak heap): the claim holds when the confidence
//!   interval of the fitted value lies inside the band, fails when it lies entirely outside,
//!   and is inconclusive when it straddles an edge of the band.
//! - A series with fewer than [`MIN_POINTS`](crate::check::fit::MIN_POINTS) usable sizes is
//!   inconclusive.
//!
//! - A series in which a case the claim needs crashed, ran out of memory or panicked fails,
//!   whatever the other sizes say.
//!
//! A claim of any form fails when one of its series fails, is inconclusive when none fails but
//! one is inconclusive, and holds otherwise. A claim without any series — its workloads and
//! strategies match no case of the data — is an *error*: the data cannot speak to it, which
//! must not pass for a verdict. A claim that was deliberately not evaluated (a timing claim
//! under `--counters-only`) is *skipped*. A failing series also reports the fit of the other
//! family (exponential for a power model and vice versa) when that fits the data better, so
//! "naive is linear on square-chain" fails with the fitted base.

use serde::Serialize;

use crate::check::claims::{Claim, Expectation, FitKind, GrowthClaim, SpeedupFloor};
use crate::check::equality::Equality;
use crate::check::fit::{fit_growth, GrowthFit};
use crate::check::series::Series;
use crate::check::speedup::Speedup;

/// The outcome of a claim or a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The measurements agree with the model.
    Holds,
    /// Not evaluated, by request (`--counters-only`).
    Skipped,
    /// The measurements cannot decide.
    Inconclusive,
    /// The measurements contradict the model.
    Fails,
    /// The data hold no case the claim is about.
    Error,
}

impl Verdict {
    /// The word printed in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Skipped => "skipped",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Fails => "fails",
            Verdict::Error => "error",
        }
    }
}

/// The judgement of one series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesOutcome {
    /// The data.
    pub series: Series,
    /// The verdict for this series.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    /// Whether it was decided as an exact (deterministic) series.
    pub exact: bool,
    /// The claim's fit, when there were enough points.
    pub fit: Option<GrowthFit>,
    /// The other family's fit, reported when it fits a failing series better.
    pub alternative: Option<GrowthFit>,
    /// A `same as` claim's comparison with the other strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equality: Option<Equality>,
    /// A speedup claim's estimate, when the data hold the rows it needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup: Option<Speedup>,
}

impl SeriesOutcome {
    /// An outcome of `series` with `verdict` and `reason` and nothing fitted or compared.
    pub fn new(series: Series, verdict: Verdict, reason: String, exact: bool) -> Self {
        Self {
            series,
            verdict,
            reason,
            exact,
            fit: None,
            alternative: None,
            equality: None,
            speedup: None,
        }
    }

    /// The sizes that decided it: those the fit used, those compared with the other strategy,
    /// or the one the speedup was taken at (a fixed-size workload's case has none).
    pub fn sizes_used(&self) -> Vec<u64> {
        if let Some(fit) = &self.fit {
            fit.used
                .iter()
                .map(|&i| self.series.points[i].size)
                .collect()
        } else if let Some(e) = &self.equality {
            e.sizes.iter().flatten().copied().collect()
        } else {
            self.speedup.iter().filter_map(|s| s.size).collect()
        }
    }
}

/// The judgement of one claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimOutcome {
    /// The claim's id.
    pub id: String,
    /// The sentence it tests.
    pub sentence: String,
    /// The metric, as written in the claims file.
    pub metric: String,
    /// The x-axis of a growth claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The model, as written in the claims file.
    pub model: String,
    /// The tolerance of a growth claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one sentence (naming the deciding series).
    pub reason: String,
    /// The series that decided the verdict (index into `series`): the first failing one, else
    /// the first inconclusive one, else the one farthest from the model's target (for a
    /// speedup, the smallest; for a share of the bound, the smallest share).
    pub deciding: Option<usize>,
    /// Every series of the claim.
    pub series: Vec<SeriesOutcome>,
}

/// The band a fitted value must lie in.
#[derive(Clone, Copy, Debug)]
struct Band {
    lo: f64,
    hi: f64,
}

impl Band {
    fn of(claim: &GrowthClaim) -> Self {
        let target = claim.model.growth.target();
        let lo = if claim.model.at_most {
            f64::NEG_INFINITY
        } else {
            target - claim.tolerance
        };
        Band {
            lo,
            hi: target + claim.tolerance,
        }
    }
    fn contains(self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }
    fn describe(self, claim: &GrowthClaim) -> String {
        let target = claim.model.growth.target();
        if claim.model.at_most {
            format!("(-inf, {}]", num(self.hi))
        } else {
            format!("{} ± {}", num(target), num(claim.tolerance))
        }
    }
}

/// A number for a table: 3 significant decimals, without trailing noise.
pub fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    } else {
        format!("{v:.3e}")
    }
}

/// Why `series` fails whatever its other cases say, if it does: a case the claim needs
/// crashed, ran out of memory or panicked.
pub fn broken_reason(series: &Series) -> Option<String> {
    let first = series.broken.first()?;
    let more = match series.broken.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!("a case the claim needs did not run: {first}{more}"))
}

/// Judge one series of the growth claim `claim`, whose law is `growth`.
pub fn judge_series(
    claim: &Claim,
    growth: &GrowthClaim,
    confidence: f64,
    series: Series,
) -> SeriesOutcome {
    let exact = claim.metric.is_exact();
    let kind = growth.model.growth.fit_kind();
    if let Some(reason) = broken_reason(&series) {
        return SeriesOutcome::new(series, Verdict::Fails, reason, exact);
    }
    let xy: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.y)).collect();
    let fit = match fit_growth(kind, &xy, exact, confidence) {
        Ok(fit) => fit,
        Err(why) => {
            let mut reason = why;
            if let Some(note) = series.notes.first() {
                reason = format!("{reason}; {note}");
            }
            return SeriesOutcome::new(series, Verdict::Inconclusive, reason, exact);
        }
    };
    let band = Band::of(growth);
    let what = kind.quantity();
    let (verdict, mut reason) = if exact {
        let last = *fit
            .local
            .last()
            .expect("a fit has at least two local slopes");
        match (band.contains(fit.estimate), band.contains(last)) {
            (true, true) => (
                Verdict::Holds,
                format!(
                    "{what} {} within {}",
                    num(fit.estimate),
                    band.describe(growth)
                ),
            ),
            (false, false) => (
                Verdict::Fails,
                format!(
                    "{what} {} (largest sizes: {}) outside {}",
                    num(fit.estimate),
                    num(last),
                    band.describe(growth)
                ),
            ),
            _ => (
                Verdict::Inconclusive,
                format!(
                    "curved: fitted {what} {} but {} between the largest sizes, against {}",
                    num(fit.estimate),
                    num(last),
                    band.describe(growth)
                ),
            ),
        }
    } else {
        let (lo, hi) = fit
            .interval
            .expect("a fit of three or more points has an interval");
        let ci = format!(
            "{what} {} with {}% interval [{}, {}]",
            num(fit.estimate),
            num(confidence * 100.0),
            num(lo),
            num(hi)
        );
        if band.lo <= lo && hi <= band.hi {
            (
                Verdict::Holds,
                format!("{ci} within {}", band.describe(growth)),
            )
        } else if hi < band.lo || lo > band.hi {
            (
                Verdict::Fails,
                format!("{ci} outside {}", band.describe(growth)),
            )
        } else {
            (
                Verdict::Inconclusive,
                format!("{ci} straddles {}", band.describe(growth)),
            )
        }
    };
    let alternative = (verdict == Verdict::Fails)
        .then(|| {
            let other = match kind {
                FitKind::Exponential => FitKind::Power,
                _ => FitKind::Exponential,
            };
            fit_growth(other, &xy, exact, confidence).ok()
        })
        .flatten()
        .filter(|alt| alt.r_squared > fit.r_squared);
    if let Some(alt) = &alternative {
        reason.push_str(&format!(
            "; the data fit {} better: {} {}",
            match alt.kind {
                FitKind::Exponential => "an exponential",
                _ => "a power law",
            },
            alt.kind.quantity(),
            num(alt.estimate)
        ));
    }
    SeriesOutcome {
        fit: Some(fit),
        alternative,
        ..SeriesOutcome::new(series, verdict, reason, exact)
    }
}

/// The outcome of `claim`, deliberately not evaluated for the reason `why` (e.g. a timing claim
/// under `--counters-only`).
pub fn skipped_claim(claim: &Claim, why: &str) -> ClaimOutcome {
    outcome_of(claim, Verdict::Skipped, why.to_string(), None, Vec::new())
}

/// Judge `claim` on the outcomes of its series.
pub fn judge_claim(claim: &Claim, outcomes: Vec<SeriesOutcome>) -> ClaimOutcome {
    // How far a holding series is from failing: the larger, the more it says.
    let distance = |o: &SeriesOutcome| match &claim.expect {
        Expectation::Growth(g) => o.fit.as_ref().map_or(f64::NEG_INFINITY, |f| {
            if g.model.at_most {
                f.estimate
            } else {
                (f.estimate - g.model.growth.target()).abs()
            }
        }),
        Expectation::SameAs(_) => 0.0,
        // The smallest speedup, or for a share of the bound the smallest share reached.
        Expectation::AtLeast(floor) => {
            o.speedup
                .as_ref()
                .map_or(f64::NEG_INFINITY, |s| match (floor, s.bound) {
                    (SpeedupFloor::OfBound(_), Some(bound)) => -s.estimate / bound,
                    _ => -s.estimate,
                })
        }
    };
    let deciding = [Verdict::Fails, Verdict::Inconclusive]
        .into_iter()
        .find_map(|v| outcomes.iter().position(|o| o.verdict == v))
        .or_else(|| {
            (0..outcomes.len())
                .max_by(|&a, &b| distance(&outcomes[a]).total_cmp(&distance(&outcomes[b])))
        });
    let (verdict, reason) = match deciding {
        Some(i) => {
            let o = &outcomes[i];
            let of = if outcomes.len() > 1 {
                format!(" (series {} of {})", i + 1, outcomes.len())
            } else {
                String::new()
            };
            (o.verdict, format!("{}{of}: {}", o.series.label(), o.reason))
        }
        None => (
            Verdict::Error,
            format!(
                "the data hold no case of the selected workloads{} and strategies{}: nothing to \
                 judge the claim on",
                if claim.params.is_empty() {
                    ""
                } else {
                    " (with the claim's params)"
                },
                match claim.expect {
                    Expectation::Growth(_) => " with a size",
                    _ => "",
                }
            ),
        ),
    };
    outcome_of(claim, verdict, reason, deciding, outcomes)
}

fn outcome_of(
    claim: &Claim,
    verdict: Verdict,
    reason: String,
    deciding: Option<usize>,
    series: Vec<SeriesOutcome>,
) -> ClaimOutcome {
    let growth = match &claim.expect {
        Expectation::Growth(g) => Some(g),
        _ => None,
    };
    ClaimOutcome {
        id: claim.id.clone(),
        sentence: claim.sentence.clone(),
        metric: claim.metric.to_string(),
        x: growth.map(|g| g.x.to_string()),
        model: claim.expect.to_string(),
        tolerance: growth.map(|g| g.tolerance),
        verdict,
        reason,
        deciding,
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::claims::ClaimsFile;
    use crate::check::series::Point;

    fn judge(claim: &Claim, series: Series) -> SeriesOutcome {
        let Expectation::Growth(g) = &claim.expect else {
            panic!("a growth claim")
        };
        judge_series(claim, g, 0.95, series)
    }

    fn claim(metric: &str, model: &str, tolerance: f64) -> Claim {
        let text = format!(
            r#"[[claim]]
            id = "c"
            sentence = "s"
            strategies = ["*"]
            workloads = ["*"]
            metric = "{metric}"
            x = "size"
            model = "{model}"
            tolerance = {tolerance}"#
        );
        ClaimsFile::parse(&text, "t").unwrap().claims.remove(0)
    }

    fn series(sizes: &[u64], f: impl Fn(f64) -> f64) -> Series {
        Series {
            workload: "w".into(),
            strategy: "s".into(),
            params: String::new(),
            threads: Some(1),
            points: sizes
                .iter()
                .map(|&n| Point {
                    size: n,
                    x: n as f64,
                    y: f(n as f64),
                })
                .collect(),
            notes: Vec::new(),
            broken: Vec::new(),
        }
    }

    /// Multiplicative noise of up to 5%, deterministic.
    const NOISE: [f64; 8] = [1.04, 0.96, 1.03, 0.97, 1.05, 0.95, 1.02, 0.98];
    const DOUBLING: [u64; 8] = [100, 200, 400, 800, 1600, 3200, 6400, 12800];

    fn noisy_linear() -> Series {
        let mut s = series(&DOUBLING, |n| 7.0 * n);
        for (p, f) in s.points.iter_mut().zip(NOISE) {
            p.y *= f;
        }
        s
    }

    #[test]
    fn clean_quadratic_timing_holds_as_power_two() {
        let o = judge(&claim("time", "power 2", 0.1), series(&DOUBLING, |n| n * n));
        assert_eq!(o.verdict, Verdict::Holds, "{}", o.reason);
        assert!((o.fit.unwrap().estimate - 2.0).abs() < 1e-9);
    }

    #[test]
    fn clean_doubling_timing_holds_as_exponential_base_two() {
        let o = judge(
            &claim("time", "exponential 2", 0.1),
            series(&[10, 12, 14, 16, 18, 20], |k| 2f64.powf(k)),
        );
        assert_eq!(o.verdict, Verdict::Holds, "{}", o.reason);
        assert!(o.reason.contains("base 2"), "{}", o.reason);
    }

    #[test]
    fn noisy_linear_timing_holds_fails_or_is_inconclusive_by_its_interval() {
        let holds = judge(&claim("time", "linear", 0.1), noisy_linear());
        assert_eq!(holds.verdict, Verdict::Holds, "{}", holds.reason);
        let (lo, hi) = holds.fit.unwrap().interval.unwrap();
        assert!(lo < 1.0 && 1.0 < hi && hi - lo > 0.01, "[{lo}, {hi}]");
        let fails = judge(&claim("time", "power 2", 0.1), noisy_linear());
        assert_eq!(fails.verdict, Verdict::Fails, "{}", fails.reason);
        let tight = judge(&claim("time", "linear", 0.005), noisy_linear());
        assert_eq!(tight.verdict, Verdict::Inconclusive, "{}", tight.reason);
        assert!(tight.reason.contains("straddles"), "{}", tight.reason);
    }

    #[test]
    fn a_series_of_two_sizes_is_inconclusive() {
        let o = judge(&claim("time", "linear", 0.1), series(&[10, 20], |n| n));
        assert_eq!(o.verdict, Verdict::Inconclusive);
        assert!(o.reason.contains("need at least 3"), "{}", o.reason);
    }

    #[test]
    fn a_false_linear_claim_on_exact_doubling_fails_with_the_fitted_base() {
        let calls = |k: f64| 2f64.powf(k + 1.0) - 1.0;
        let o = judge(
            &claim("counter:backprop_calls", "linear", 0.1),
            series(&[4, 6, 8, 10, 12], calls),
        );
        assert_eq!(o.verdict, Verdict::Fails, "{}", o.reason);
        assert!(o.exact);
        let alt = o.alternative.expect("the exponential fits better");
        assert!((alt.estimate - 2.0).abs() < 1e-3, "{}", alt.estimate);
        assert!(o.reason.contains("base 2"), "{}", o.reason);
    }

    #[test]
    fn exact_series_whose_fit_and_last_slope_disagree_are_inconclusive() {
        // Local exponents 1.5 then 1.0: curved over the fitted sizes.
        let pts = [
            (10, 100.0),
            (20, 100.0 * 2f64.powf(1.5)),
            (40, 200.0 * 2f64.powf(1.5)),
        ];
        let s = series(&[10, 20, 40], |n| {
            pts.iter().find(|p| p.0 as f64 == n).unwrap().1
        });
        let o = judge(&claim("counter:c", "linear", 0.2), s);
        assert_eq!(o.verdict, Verdict::Inconclusive, "{}", o.reason);
        assert!(o.reason.contains("curved"), "{}", o.reason);
    }

    #[test]
    fn upper_bounds_hold_below_and_fail_above() {
        let under = judge(&claim("time", "at most power 1.2", 0.0), noisy_linear());
        assert_eq!(under.verdict, Verdict::Holds, "{}", under.reason);
        let over = judge(
            &claim("time", "at most power 1.2", 0.0),
            series(&DOUBLING, |n| n * n),
        );
        assert_eq!(over.verdict, Verdict::Fails, "{}", over.reason);
    }

    #[test]
    fn one_failing_series_fails_the_claim_and_no_series_is_an_error() {
        let c = claim("time", "linear", 0.1);
        let good = series(&DOUBLING, |n| n);
        let mut bad = series(&DOUBLING, |n| n * n);
        bad.workload = "quadratic".into();
        let outcome = judge_claim(&c, vec![judge(&c, good.clone()), judge(&c, bad)]);
        assert_eq!(outcome.verdict, Verdict::Fails);
        assert_eq!(outcome.deciding, Some(1));
        assert!(
            outcome.reason.starts_with("quadratic/s (series 2 of 2)"),
            "{}",
            outcome.reason
        );
        assert_eq!(
            judge_claim(&c, vec![judge(&c, good)]).verdict,
            Verdict::Holds
        );
        let skipped = skipped_claim(&c, "not measured");
        assert_eq!(
            (skipped.verdict, skipped.reason.as_str()),
            (Verdict::Skipped, "not measured")
        );
        let none = judge_claim(&c, Vec::new());
        assert_eq!(none.verdict, Verdict::Error, "{}", none.reason);
    }

    #[test]
    fn a_crashed_case_fails_the_claim_whatever_the_other_sizes_say() {
        let c = claim("time", "linear", 0.1);
        let mut s = series(&DOUBLING, |n| n);
        s.broken.push("size 25600: crashed: stack overflow".into());
        let o = judge(&c, s);
        assert_eq!(o.verdict, Verdict::Fails);
        assert!(o.reason.contains("stack overflow"), "{}", o.reason);
    }

    #[test]
    fn numbers_print_with_three_decimals_at_most() {
        assert_eq!(num(2.0), "2");
        assert_eq!(num(1.61803), "1.618");
        assert_eq!(num(-0.0001), "-1.000e-4");
        assert_eq!(num(0.0), "0");
    }
}
