//! Typed value parsers shared by every command's flags (clap's `value_parser = ...`).
//!
//! Each turns one value into a checked value, or into a message that says what is wrong with
//! it and what would be valid. clap puts the flag and the value in front of the message:
//!
//! ```text
//! error: invalid value 'abc' for '--repeat <N>': not a number; give a whole number of at
//! least 1, such as 10
//! ```
//!
//! The flags that take one value also set `allow_hyphen_values`, so that `--size -1` and
//! `--budget -inf` reach the parser instead of being taken for unknown flags `-1` and `-i`
//! (`verify --sizes`, which takes several values, sets `allow_negative_numbers` only, so that
//! it does not swallow the next flag). Lists and selections that the
//! library parses again later ([`crate::select`]) are checked here with the same functions and
//! passed on as text, so a bad one is refused while the command line is read, before any work.

use std::path::PathBuf;

use crate::measure::settings;
use crate::select;

/// The longest duration `--budget`, `--min-time` and `--warmup` accept, in seconds: a day, the
/// longest budget a case may have ([`settings::BUDGET_RANGE_S`]); durations far beyond it
/// overflow the clock's arithmetic.
pub const MAX_SECONDS: f64 = settings::BUDGET_RANGE_S.1;

/// Why a text is not a whole number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NotWhole {
    Empty,
    Negative,
    Fraction,
    NotANumber,
    TooLarge,
}

impl NotWhole {
    fn describe(self, what: &str, max: u64) -> String {
        match self {
            NotWhole::Empty => format!("the value is empty; give {what}"),
            NotWhole::Negative => format!("negative; give {what}"),
            NotWhole::Fraction => format!("not a whole number; give {what}"),
            NotWhole::NotANumber => format!("not a number; give {what}"),
            NotWhole::TooLarge => format!("too large (at most {max}); give {what}"),
        }
    }
}

/// A whole number from 0 to `max`, in digits or in scientific notation that names a whole
/// number (`1e4`, `2.5e3`).
fn whole(text: &str, max: u64) -> Result<u64, NotWhole> {
    let text = text.trim();
    if text.is_empty() {
        return Err(NotWhole::Empty);
    }
    if let Ok(n) = text.parse::<u64>() {
        return if n <= max {
            Ok(n)
        } else {
            Err(NotWhole::TooLarge)
        };
    }
    let value: f64 = match text.parse() {
        Ok(v) => v,
        // `-x`, `-` or `-1,5` are negative by intent; anything else is not a number.
        Err(_) if text.starts_with('-') && text[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            return Err(NotWhole::Negative)
        }
        Err(_) => return Err(NotWhole::NotANumber),
    };
    if value.is_nan() {
        Err(NotWhole::NotANumber)
    } else if value < 0.0 {
        Err(NotWhole::Negative)
    } else if value.is_infinite() || value > max as f64 {
        Err(NotWhole::TooLarge)
    } else if value.fract() != 0.0 {
        Err(NotWhole::Fraction)
    } else {
        Ok(value as u64)
    }
}

/// A size (`grad --size`): a whole number such as 1000 or 1e4 ([`select::size`]).
pub fn size(text: &str) -> Result<usize, String> {
    select::size(text).map_err(|e| e.to_string())
}

/// `--sizes`: `100,200` for every workload, or `fdotprod=100,200` for one; checked with
/// [`select::SizeSelection::parse`] and passed on as written.
pub fn sizes(text: &str) -> Result<String, String> {
    select::SizeSelection::parse(&[text.to_string()])
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// `plot --table-sizes`: `WORKLOAD=SIZE[,SIZE...]`, passed on as written.
pub fn table_sizes(text: &str) -> Result<String, String> {
    crate::plot::table::parse_sizes(&[text.to_string()])
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// A thread count: a whole number from 1 to
/// [`MAX_THREADS`](crate::measure::thread::MAX_THREADS) ([`select::thread_count`]).
pub fn thread_count(text: &str) -> Result<usize, String> {
    select::thread_count(text).map_err(|e| e.to_string())
}

/// `run --threads`: thread counts, comma separated, each once; passed on as written.
pub fn thread_counts(text: &str) -> Result<String, String> {
    select::thread_counts(&[text.to_string()])
        .map(|_| text.to_string())
        .map_err(|e| e.to_string().trim_start_matches("--threads: ").to_string())
}

/// One workload's name (`grad --workload`).
pub fn workload(text: &str) -> Result<String, String> {
    select::workload(text.trim())
        .map(|w| w.name().to_string())
        .map_err(|e| e.to_string())
}

/// One strategy's name (`grad --strategy`, `gradbench --strategy`).
pub fn strategy(text: &str) -> Result<String, String> {
    select::strategy(text.trim())
        .map(|s| s.name().to_string())
        .map_err(|e| e.to_string())
}

/// Workload names, comma separated, or `all` (`--workloads` of `run` and `verify`); passed on
/// as written.
pub fn workload_list(text: &str) -> Result<String, String> {
    select::workloads(&[text.to_string()])
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Strategy names, comma separated, or `all` (`--strategies` of `run` and `verify`); passed
/// on as written.
pub fn strategy_list(text: &str) -> Result<String, String> {
    select::strategies(&[text.to_string()])
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Names, comma separated, that are matched against data rather than this build (`plot
/// --workloads`, `check --claim`): at least one non-empty name.
pub fn name_list(text: &str) -> Result<String, String> {
    if text.split(',').all(|name| name.trim().is_empty()) {
        Err("the list names nothing; give one or more names, comma separated".into())
    } else {
        Ok(text.to_string())
    }
}

/// One name (`plot --reference`): not empty.
pub fn name(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("the value is empty; give a strategy name (see `dualbench list`)".into())
    } else {
        Ok(text.trim().to_string())
    }
}

/// `--param key=value`: a name and a number; passed on as written.
pub fn param(text: &str) -> Result<String, String> {
    select::params(&[text.to_string()])
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// A number of seconds from 0 to [`MAX_SECONDS`]; `positive` excludes 0.
fn seconds_in_range(text: &str, positive: bool) -> Result<f64, String> {
    let valid = if positive {
        format!("a number of seconds above 0 and at most {MAX_SECONDS} (one day), such as 2 or 0.5")
    } else {
        format!("a number of seconds from 0 to {MAX_SECONDS} (one day), such as 0.05")
    };
    let value: f64 = match text.trim().parse() {
        Ok(v) => v,
        Err(_) if text.trim().is_empty() => {
            return Err(format!("the value is empty; give {valid}"))
        }
        Err(_) => return Err(format!("not a number; give {valid}")),
    };
    if value.is_nan() {
        Err(format!("not a number; give {valid}"))
    } else if value < 0.0 || (positive && value == 0.0) {
        Err(format!("out of range; give {valid}"))
    } else if value > MAX_SECONDS {
        Err(format!("too long; give {valid}"))
    } else {
        Ok(value)
    }
}

/// A positive duration in seconds (`run --budget`).
pub fn positive_seconds(text: &str) -> Result<f64, String> {
    seconds_in_range(text, true)
}

/// A duration in seconds, 0 allowed (`run --min-time`, `--warmup`).
pub fn seconds(text: &str) -> Result<f64, String> {
    seconds_in_range(text, false)
}

/// A count of at least 1 (`run --repeat`, `verify --random`).
pub fn count(text: &str) -> Result<u64, String> {
    let valid = "a whole number of at least 1, such as 10";
    match whole(text, u64::MAX) {
        Ok(0) => Err(format!("0 is too few; give {valid}")),
        Ok(n) => Ok(n),
        Err(e) => Err(e.describe(valid, u64::MAX)),
    }
}

/// A count of at least 1, as a `usize` (`verify --random`).
pub fn count_usize(text: &str) -> Result<usize, String> {
    let n = count(text)?;
    usize::try_from(n).map_err(|_| format!("{n} is too large for this machine"))
}

/// A seed (`verify --seed`): a whole number from 0 to 2^64 - 1.
pub fn seed(text: &str) -> Result<u64, String> {
    whole(text, u64::MAX).map_err(|e| {
        e.describe(
            "a seed: a whole number from 0 to 18446744073709551615",
            u64::MAX,
        )
    })
}

/// A stack size in MiB within [`settings::STACK_RANGE_MIB`] (`run --stack-mib`).
pub fn positive_mib(text: &str) -> Result<u64, String> {
    let (min, max) = settings::STACK_RANGE_MIB;
    let valid = format!("a whole number of MiB from {min} to {max}, such as 1024");
    match whole(text, max) {
        Ok(n) if n < min => Err(format!("{n} MiB is too small; give {valid}")),
        Ok(n) => Ok(n),
        Err(e) => Err(e.describe(&valid, max)),
    }
}

/// A cap in MiB from 0 (no cap) to [`settings::MAX_MEMORY_LIMIT_MIB`] (`--memory-limit-mib`).
pub fn cap_mib(text: &str) -> Result<u64, String> {
    let max = settings::MAX_MEMORY_LIMIT_MIB;
    whole(text, max).map_err(|e| {
        e.describe(
            &format!("a whole number of MiB from 0 (no cap) to {max}, such as 4096"),
            max,
        )
    })
}

/// A finite, non-negative number (`compare`'s thresholds, `gradbench --work-cap`).
pub fn non_negative(text: &str) -> Result<f64, String> {
    let valid = "a non-negative number such as 0.1 or 1e9";
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) if v.is_finite() => Err(format!("negative; give {valid}")),
        Ok(_) => Err(format!("not a finite number; give {valid}")),
        Err(_) if text.trim().is_empty() => Err(format!("the value is empty; give {valid}")),
        Err(_) => Err(format!("not a number; give {valid}")),
    }
}

/// A path: not empty (an empty `--out ''` would mean the current directory by accident).
pub fn path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        Err("the path is empty; give a file or directory name".into())
    } else {
        Ok(PathBuf::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_say_why_not() {
        assert_eq!(whole("1e4", u64::MAX), Ok(10_000));
        assert_eq!(whole(" 250 ", u64::MAX), Ok(250));
        assert_eq!(whole("2.5e3", u64::MAX), Ok(2500));
        assert_eq!(whole("", u64::MAX), Err(NotWhole::Empty));
        assert_eq!(whole("-1", u64::MAX), Err(NotWhole::Negative));
        assert_eq!(whole("-1,5", u64::MAX), Err(NotWhole::Negative));
        assert_eq!(whole("1.5", u64::MAX), Err(NotWhole::Fraction));
        assert_eq!(whole("1O00", u64::MAX), Err(NotWhole::NotANumber));
        assert_eq!(whole("NaN", u64::MAX), Err(NotWhole::NotANumber));
        assert_eq!(whole("inf", u64::MAX), Err(NotWhole::TooLarge));
        assert_eq!(whole("1e300", u64::MAX), Err(NotWhole::TooLarge));
        assert_eq!(whole("257", 256), Err(NotWhole::TooLarge));
    }

    #[test]
    fn messages_say_what_is_valid() {
        let e = size("-1").unwrap_err();
        assert!(e.contains("`-1`") && e.contains("1e4"), "{e}");
        let e = thread_count("0").unwrap_err();
        assert!(e.contains("`0`") && e.contains("from 1 to 256"), "{e}");
        let e = count("abc").unwrap_err();
        assert!(
            e.contains("not a number") && e.contains("at least 1"),
            "{e}"
        );
        let e = positive_seconds("1e20").unwrap_err();
        assert!(
            e.contains("too long") && e.contains("86400 (one day)"),
            "{e}"
        );
        assert!(positive_seconds("0").is_err());
        assert_eq!(seconds("0"), Ok(0.0));
        assert!(non_negative("-0.1").unwrap_err().contains("negative"));
        assert!(non_negative("NaN").unwrap_err().contains("finite"));
        assert!(positive_mib("0").is_err() && cap_mib("0") == Ok(0));
        assert!(path("").is_err());
        assert!(name_list(" , ").is_err());
    }

    #[test]
    fn names_are_checked_with_a_suggestion() {
        assert_eq!(strategy(" tape ").unwrap(), "tape");
        let e = strategy("tapes").unwrap_err();
        assert!(
            e.contains("did you mean `tape`") && e.contains("dualrev"),
            "{e}"
        );
        let e = workload("fdotprd").unwrap_err();
        assert!(e.contains("did you mean `fdotprod`"), "{e}");
        assert!(workload_list("all").is_ok() && strategy_list("tape,dualrev").is_ok());
        assert!(strategy_list("tape,strategys").is_err());
    }
}
