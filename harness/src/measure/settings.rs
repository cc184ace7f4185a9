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

impl Settings {
    /// The settings of `suite` with `overrides`, validated; also returns the options as the
    /// results metadata records them (without a shard).
    pub fn new(suite: Suite, overrides: &Overrides) -> Result<(Settings, RunOptions)> {
        let timing = suite.timing();
        let budget_s = positive("--budget", overrides.budget_s.unwrap_or(timing.budget_s))?;
        let min_time_s = non_negative(
            "--min-time",
            overrides.min_time_s.unwrap_or(timing.min_time_s),
        )?;
        let warmup_s = non_negative("--warmup", overrides.warmup_s.unwrap_or(timing.warmup_s))?;
        let repeat = overrides.repeat.unwrap_or(timing.repeat);
        if repeat == 0 {
            return Err(Error::usage(format!(
                "--repeat must be at least 1 (at least {MIN_SAMPLES_FOR_LEVEL} for intervals \
                 at the stated level)"
            )));
        }
        let stack_mib = overrides
            .stack_mib
            .unwrap_or((EVALUATION_STACK_BYTES >> 20) as u64);
        if stack_mib == 0 {
            return Err(Error::usage("--stack-mib must be at least 1"));
        }
        let memory_limit_mib = match overrides.memory_limit_mib {
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
            stack_bytes: stack_mib
                .checked_mul(1 << 20)
                .and_then(|b| usize::try_from(b).ok())
                .ok_or_else(|| Error::usage("--stack-mib is too large"))?,
            memory_limit_bytes: memory_limit_mib
                .checked_mul(1 << 20)
                .and_then(|b| usize::try_from(b).ok())
                .ok_or_else(|| Error::usage("--memory-limit-mib is too large"))?,
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

fn positive(flag: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::usage(format!(
            "{flag} must be a positive number of seconds; got {value}"
        )))
    }
}

fn non_negative(flag: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::usage(format!(
            "{flag} must be a non-negative number of seconds; got {value}"
        )))
    }
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
        for bad in [
            Overrides {
                budget_s: Some(0.0),
                ..Overrides::default()
            },
            Overrides {
                repeat: Some(0),
                ..Overrides::default()
            },
            Overrides {
                warmup_s: Some(f64::NAN),
                ..Overrides::default()
            },
        ] {
            assert!(Settings::new(Suite::Quick, &bad).is_err(), "{bad:?}");
        }
    }
}
