//! How cases are measured ([`Settings`]): budgets, sample counts, rounds, stacks and the
//! memory cap, built from a suite's defaults and the user's overrides and validated once.
//! `run` and `check` (for its timing claims) both obtain their settings here.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::measure::machine::Machine;
use crate::measure::stats::MIN_SAMPLES_FOR_LEVEL;
use crate::measure::thread::EVALUATION_STACK_BYTES;
use crate::results::RunOptions;
use crate::suite::Suite;

/// Rounds a group's samples are interleaved over.
pub const ROUNDS: u64 = 5;
/// Most samples kept per case.
pub const MAX_SAMPLES: u64 = 200;
/// Fast gradients are batched so that one sample takes at least this long.
pub const TARGET_SAMPLE: Duration = Duration::from_micros(500);

/// How cases are measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The `dualbench` binary that runs `run-case`.
    pub exe: PathBuf,
    /// Wall-clock budget per case.
    pub budget: Duration,
    /// Minimum number of samples per case.
    pub repeat: u64,
    /// Minimum total sampled time per case.
    pub min_time: Duration,
    /// Most samples per case.
    pub max_samples: u64,
    /// Rounds the samples of a group are spread over.
    pub rounds: u64,
    /// Untimed warm-up per case.
    pub warmup: Duration,
    /// Target duration of one (batched) sample.
    pub target_sample: Duration,
    /// Stack of the evaluation thread, bytes.
    pub stack_bytes: usize,
    /// Cap on live heap bytes per case, 0 for none.
    pub memory_limit_bytes: usize,
}

/// The user's overrides of a suite's timing defaults (`None`: the suite's).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--budget`, seconds.
    pub budget_s: Option<f64>,
    /// `--repeat`.
    pub repeat: Option<u64>,
    /// `--min-time`, seconds.
    pub min_time_s: Option<f64>,
    /// `--warmup`, seconds.
    pub warmup_s: Option<f64>,
    /// `--stack-mib`.
    pub stack_mib: Option<u64>,
    /// `--memory-limit-mib` (0: no cap).
    pub memory_limit_mib: Option<u64>,
}

/// The default memory cap: half of the memory available to the process. A machine whose
/// memory cannot be read gets no silent "no cap": the user must choose one.
pub fn default_memory_limit_mib(machine: &Machine) -> Result<u64> {
    if machine.memory_bytes == 0 {
        return Err(Error::usage(
            "cannot read this machine's memory, so there is no default memory cap; give one \
             with --memory-limit-mib MIB (0 for none)",
        ));
    }
    Ok((machine.memory_bytes / 2) >> 20)
}

/// The range of `--budget`, seconds: at least a millisecond (a shorter budget is no time at
/// all, and rounds to zero), at most a day per case.
pub const BUDGET_RANGE_S: (f64, f64) = (0.001, 86_400.0);
/// The range of `--repeat`: one sample at least, at most the samples a case keeps.
pub const REPEAT_RANGE: (u64, u64) = (1, MAX_SAMPLES);
/// The range of `--stack-mib`: the evaluation stack is address space, touched only as deep as
/// a strategy recurses; 64 GiB is 64 times what the deepest chain of the suites needs.
pub const STACK_RANGE_MIB: (u64, u64) = (1, 1 << 16);
/// The largest `--memory-limit-mib` (1 PiB; 0 is no cap).
pub const MAX_MEMORY_LIMIT_MIB: u64 = 1 << 30;

impl Settings {
    /// The settings of `suite` with `overrides`, validated (each value against its range, and
    /// the warm-up and minimum sampling time against the budget); also returns the options as
    /// the results metadata records them (without a shard).
    pub fn new(suite: Suite, overrides: &Overrides) -> Result<(Settings, RunOptions)> {
        let timing = suite.timing();
        let budget_s = overrides.budget_s.unwrap_or(timing.budget_s);
        let (low, high) = BUDGET_RANGE_S;
        if !(low..=high).contains(&budget_s) {
            return Err(Error::usage(format!(
                "--budget {}: expected seconds per case from {low} to {high} (one day)",
                show(budget_s)
            )));
        }
        let min_time_s = overrides.min_time_s.unwrap_or(timing.min_time_s);
        let warmup_s = overrides.warmup_s.unwrap_or(timing.warmup_s);
        for (flag, value) in [("--min-time", min_time_s), ("--warmup", warmup_s)] {
            if !(value.is_finite() && value >= 0.0 && value < budget_s) {
                return Err(Error::usage(format!(
                    "{flag} {}: expected seconds from 0 to less than the budget of {} s per \
                     case (--budget)",
                    show(value),
                    show(budget_s)
                )));
            }
        }
        if warmup_s + min_time_s >= budget_s {
            return Err(Error::usage(format!(
                "--warmup {warmup_s} and --min-time {min_time_s} add up to {} s, which does \
                 not fit in the budget of {budget_s} s per case (--budget): no case could be \
                 sampled for --min-time; raise --budget or lower the others",
                warmup_s + min_time_s
            )));
        }
        let repeat = overrides.repeat.unwrap_or(timing.repeat);
        let (low, high) = REPEAT_RANGE;
        if !(low..=high).contains(&repeat) {
            return Err(Error::usage(format!(
                "--repeat {repeat}: expected a number of samples from {low} to {high} (at \
                 least {MIN_SAMPLES_FOR_LEVEL} for intervals at the stated level; a case keeps \
                 at most {MAX_SAMPLES})"
            )));
        }
        let stack_mib = overrides
            .stack_mib
            .unwrap_or((EVALUATION_STACK_BYTES >> 20) as u64);
        let (low, high) = STACK_RANGE_MIB;
        if !(low..=high).contains(&stack_mib) {
            return Err(Error::usage(format!(
                "--stack-mib {stack_mib}: expected MiB from {low} to {high} (default {})",
                EVALUATION_STACK_BYTES >> 20
            )));
        }
        let memory_limit_mib = match overrides.memory_limit_mib {
            Some(mib) if mib > MAX_MEMORY_LIMIT_MIB => {
                return Err(Error::usage(format!(
                    "--memory-limit-mib {mib}: expected 0 (no cap) or MiB up to \
                     {MAX_MEMORY_LIMIT_MIB} (1 PiB)"
                )))
            }
            Some(mib) => mib,
            None => default_memory_limit_mib(&Machine::current())?,
        };
        let exe = std::env::current_exe().map_err(|source| Error::Io {
            context: "finding the dualbench binary to run cases with".into(),
            source,
        })?;
        let settings = Settings {
            exe,
            budget: Duration::from_secs_f64(budget_s),
            repeat,
            min_time: Duration::from_secs_f64(min_time_s),
            max_samples: MAX_SAMPLES,
            rounds: ROUNDS,
            warmup: Duration::from_secs_f64(warmup_s),
            target_sample: TARGET_SAMPLE,
            stack_bytes: mib_to_bytes(stack_mib),
            memory_limit_bytes: mib_to_bytes(memory_limit_mib),
        };
        let options = RunOptions {
            suite: suite.name().to_string(),
            budget_s,
            repeat,
            min_time_s,
            warmup_s,
            target_sample_s: TARGET_SAMPLE.as_secs_f64(),
            rounds: ROUNDS,
            stack_mib,
            memory_limit_mib,
            shard: None,
        };
        Ok((settings, options))
    }
}

/// A number as a message shows it: `1e20` rather than its 21 digits.
fn show(value: f64) -> String {
    if value.is_finite() && value != 0.0 && !(1e-4..1e9).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Bytes of a number of MiB within the ranges above (at most 2^50 bytes, which fits a 64-bit
/// `usize`; saturating elsewhere).
fn mib_to_bytes(mib: u64) -> usize {
    usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_memory_size_never_silently_turns_the_cap_off() {
        let mut machine = Machine::current();
        assert!(default_memory_limit_mib(&machine).unwrap() > 0);
        machine.memory_bytes = 0;
        let e = default_memory_limit_mib(&machine).unwrap_err().to_string();
        assert!(e.contains("--memory-limit-mib"), "{e}");
    }

    #[test]
    fn overrides_are_validated_and_recorded() {
        let (settings, options) = Settings::new(
            Suite::Quick,
            &Overrides {
                budget_s: Some(3.0),
                memory_limit_mib: Some(0),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(settings.budget, Duration::from_secs(3));
        assert_eq!(options.budget_s, 3.0);
        assert_eq!(settings.memory_limit_bytes, 0);
        // Each setting out of its range (NaN, infinite, negative, zero where it is invalid,
        // too large) is an error naming the flag, the value and the valid range; none panics.
        let bad = [
            (
                Overrides {
                    budget_s: Some(0.0),
                    ..Default::default()
                },
                "--budget 0:",
            ),
            (
                Overrides {
                    budget_s: Some(1e20),
                    ..Default::default()
                },
                "--budget 1e20:",
            ),
            (
                Overrides {
                    budget_s: Some(f64::NAN),
                    ..Default::default()
                },
                "--budget NaN:",
            ),
            (
                Overrides {
                    budget_s: Some(f64::INFINITY),
                    ..Default::default()
                },
                "--budget inf:",
            ),
            (
                Overrides {
                    budget_s: Some(-1.0),
                    ..Default::default()
                },
                "--budget -1:",
            ),
            (
                Overrides {
                    min_time_s: Some(1e20),
                    ..Default::default()
                },
                "--min-time 1e20:",
            ),
            (
                Overrides {
                    warmup_s: Some(1e20),
                    ..Default::default()
                },
                "--warmup 1e20:",
            ),
            (
                Overrides {
                    warmup_s: Some(f64::NAN),
                    ..Default::default()
                },
                "--warmup NaN:",
            ),
            (
                Overrides {
                    min_time_s: Some(-0.5),
                    ..Default::default()
                },
                "--min-time -0.5:",
            ),
            (
                Overrides {
                    repeat: Some(0),
                    ..Default::default()
                },
                "--repeat 0:",
            ),
            (
                Overrides {
                    repeat: Some(1000),
                    ..Default::default()
                },
                "--repeat 1000:",
            ),
            (
                Overrides {
                    stack_mib: Some(0),
                    ..Default::default()
                },
                "--stack-mib 0:",
            ),
            (
                Overrides {
                    stack_mib: Some(100_000_000),
                    ..Default::default()
                },
                "--stack-mib 100000000:",
            ),
            (
                Overrides {
                    memory_limit_mib: Some(u64::MAX),
                    ..Default::default()
                },
                "--memory-limit-mib 18446744073709551615:",
            ),
        ];
        for (overrides, needle) in bad {
            let overrides = Overrides {
                memory_limit_mib: overrides.memory_limit_mib.or(Some(0)),
                ..overrides
            };
            let e = Settings::new(Suite::Quick, &overrides)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(needle) && e.contains("expected"),
                "{overrides:?}: {e}"
            );
        }
        let e = Settings::new(
            Suite::Quick,
            &Overrides {
                warmup_s: Some(1.5),
                min_time_s: Some(1.0),
                memory_limit_mib: Some(0),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("add up to 2.5 s") && e.contains("--budget"),
            "{e}"
        );
        for suite in [Suite::Quick, Suite::Paper, Suite::Full, Suite::Perf] {
            let overrides = Overrides {
                memory_limit_mib: Some(0),
                ..Overrides::default()
            };
            Settings::new(suite, &overrides).expect("every suite's defaults are valid");
        }
    }
}
