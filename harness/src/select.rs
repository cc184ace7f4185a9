//! Turning command-line selections (workload and strategy names, sizes, parameters, thread
//! counts) into validated values, shared by every command. Each parser names what was wrong and
//! what is valid.

use std::collections::BTreeMap;

use strategies::StrategyKind;
use workloads::{ParamTexts, Params, Workload};

use crate::error::{Error, Result};
use crate::measure::thread::MAX_THREADS;

/// Split repeated and comma-separated list arguments (`--strategies a,b --strategies c`) into
/// trimmed, non-empty items.
fn items(args: &[String]) -> impl Iterator<Item = &str> {
    args.iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An option that was given but names nothing (`--workloads ''`, `--strategies ,`) is an
/// error, not "everything".
/// `what` is the singular and plural of the listed thing (`("strategy", "strategies")`).
fn nonempty<'a>(args: &'a [String], (one, many): (&str, &str)) -> Result<Vec<&'a str>> {
    let names: Vec<&str> = items(args).collect();
    if !args.is_empty() && names.is_empty() {
        return Err(Error::usage(format!(
            "the {one} list is empty: name {many} (see `dualbench list`), or `all`"
        )));
    }
    Ok(names)
}

/// Parse workload names; no option (or `all`) selects every workload.
pub fn workloads(args: &[String]) -> Result<Vec<&'static dyn Workload>> {
    let names = nonempty(args, ("workload", "workloads"))?;
    if names.is_empty() || names == ["all"] {
        return Ok(workloads::all().to_vec());
    }
    let mut selected: Vec<&'static dyn Workload> = Vec::new();
    for name in names {
        let w = workload(name)?;
        if !selected.iter().any(|s| s.name() == w.name()) {
            selected.push(w);
        }
    }
    Ok(selected)
}

/// `; did you mean `x`?` for the candidate closest to `given`, if one is close
/// ([`crate::suggest::closest`]).
fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::suggest::closest(given, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// The strategies that may run a fork-join workload's `join`s on several threads, comma
/// separated, for messages about `--threads`.
pub fn parallel_strategy_names() -> String {
    StrategyKind::ALL
        .iter()
        .filter(|s| s.is_parallel())
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Look up one workload by name; an unknown name gets the closest valid one and the list.
pub fn workload(name: &str) -> Result<&'static dyn Workload> {
    workloads::find(name).map_err(|e| match e {
        workloads::WorkloadError::Unknown { name, valid } => Error::usage(format!(
            "unknown workload `{name}`{}; valid workloads: {valid}",
            did_you_mean(&name, workloads::all().iter().map(|w| w.name()))
        )),
        other => other.into(),
    })
}

/// Look up one strategy by name.
pub fn strategy(name: &str) -> Result<StrategyKind> {
    StrategyKind::from_name(name).ok_or_else(|| match strategies::peers::find(name) {
        Some(peer) => Error::usage(format!(
            "strategy `{name}` ({}) is not compiled into this build; rebuild with \
             `cargo build --release --ignore-rust-version --features {}` (or `--features \
             peers` for every peer); strategies in this build: {}",
            peer.krate,
            peer.feature,
            StrategyKind::names()
        )),
        None => Error::usage(format!(
            "unknown strategy `{name}`{}; valid strategies: {}",
            did_you_mean(
                name,
                StrategyKind::ALL
                    .iter()
                    .map(|s| s.name())
                    .chain(strategies::peers::CATALOGUE.iter().map(|p| p.name))
            ),
            StrategyKind::names()
        )),
    })
}

/// Parse strategy names; no option (or `all`) selects every strategy.
pub fn strategies(args: &[String]) -> Result<Vec<StrategyKind>> {
    let names = nonempty(args, ("strategy", "strategies"))?;
    if names.is_empty() || names == ["all"] {
        return Ok(StrategyKind::ALL.to_vec());
    }
    let mut selected = Vec::new();
    for name in names {
        let s = strategy(name)?;
        if !selected.contains(&s) {
            selected.push(s);
        }
    }
    Ok(selected)
}

/// Parse a size: a non-negative integer, also written in scientific notation (`1e4`).
pub fn size(text: &str) -> Result<usize> {
    let text = text.trim();
    let bad = || {
        Error::usage(format!(
            "invalid size `{text}`: expected a non-negative integer such as 1000 or 1e4"
        ))
    };
    if let Ok(n) = text.parse::<usize>() {
        return Ok(n);
    }
    let v: f64 = text.parse().map_err(|_| bad())?;
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 1e15 {
        Ok(v as usize)
    } else {
        Err(bad())
    }
}

/// Parse a thread count: a whole number from 1 to [`MAX_THREADS`].
pub fn thread_count(text: &str) -> Result<usize> {
    let text = text.trim();
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "invalid thread count `{text}`: expected a whole number from 1 to {MAX_THREADS}"
        ))),
    }
}

/// Parse `--threads` arguments (`1,2,4`, comma separated or repeated): thread counts, each
/// given once, in increasing order.
pub fn thread_counts(args: &[String]) -> Result<Vec<usize>> {
    let given: Vec<&str> = args.iter().flat_map(|a| a.split(',')).collect();
    let mut counts = Vec::with_capacity(given.len());
    for text in given {
        let n = thread_count(text).map_err(|e| Error::usage(format!("--threads: {e}")))?;
        if counts.contains(&n) {
            return Err(Error::usage(format!(
                "--threads: the thread count {n} is given twice; name each once (e.g. 1,2,4)"
            )));
        }
        counts.push(n);
    }
    counts.sort_unstable();
    Ok(counts)
}

/// Parse `--param key=value` arguments into [`ParamTexts`], each value as written, to be read
/// for each selected workload by [`resolve_params`]. A value must be a number, or one of the
/// choices of a registered workload's parameter called `key` (`fork=balanced`): anything else
/// is refused here, before any workload is known. A key given twice is an error (which value
/// was meant cannot be guessed), even with the same value.
pub fn params(args: &[String]) -> Result<ParamTexts> {
    let mut params = ParamTexts::new();
    for arg in args {
        let (key, value) = arg.split_once('=').ok_or_else(|| {
            Error::usage(format!(
                "invalid --param `{arg}`: expected key=value, e.g. --param steps=10"
            ))
        })?;
        let (key, value) = (key.trim(), value.trim());
        check_param_value(key, value)
            .map_err(|reason| Error::usage(format!("invalid --param `{arg}`: {reason}")))?;
        if key.is_empty() {
            return Err(Error::usage(format!(
                "invalid --param `{arg}`: empty parameter name; expected key=value, e.g. \
                 --param steps=10"
            )));
        }
        if let Some(first) = params.insert(key.to_string(), value.to_string()) {
            return Err(Error::usage(format!(
                "--param `{key}` is given twice ({key}={first} and {key}={value}): give each \
                 parameter once"
            )));
        }
    }
    Ok(params)
}

/// Whether `value` can be a value of a parameter called `key` of some registered workload: one
/// of the choices of such a choice parameter, or else a number. The error says which.
fn check_param_value(key: &str, value: &str) -> std::result::Result<(), String> {
    match workloads::choice_value(key, value) {
        None => match value.parse::<f64>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!(
                "the value `{value}` is not a number (e.g. 10 or 0.5)"
            )),
        },
        Some(Ok(_)) => Ok(()),
        Some(Err(valid)) => Err(format!(
            "`{value}` is not a choice of `{key}`; valid choices: {}",
            valid.join(", ")
        )),
    }
}

/// The values that `texts` (from [`params`]) give `workload`'s parameters
/// ([`workloads::parse_params`]): a choice by its index, a number as it is.
pub fn resolve_params(workload: &dyn Workload, texts: &ParamTexts) -> Result<Params> {
    Ok(workloads::parse_params(workload, texts)?)
}

/// Sizes selected with `--sizes`: `1000,2000` applies to every workload, `fdotprod=1000,2000`
/// to one (and overrides the global list for it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SizeSelection {
    /// Sizes for every workload, if given.
    pub global: Option<Vec<usize>>,
    /// Sizes for named workloads.
    pub per_workload: BTreeMap<String, Vec<usize>>,
}

impl SizeSelection {
    /// Parse the `--sizes` arguments. Workload names are checked against the registry; an
    /// error names the argument.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut selection = SizeSelection::default();
        for arg in args {
            let in_arg = |e: Error| Error::usage(format!("--sizes `{arg}`: {e}"));
            match arg.split_once('=') {
                Some((name, list)) => {
                    let w = workload(name.trim()).map_err(in_arg)?;
                    let sizes = size_list(list).map_err(in_arg)?;
                    selection
                        .per_workload
                        .entry(w.name().to_string())
                        .or_default()
                        .extend(sizes);
                }
                None => selection
                    .global
                    .get_or_insert_with(Vec::new)
                    .extend(size_list(arg).map_err(in_arg)?),
            }
        }
        Ok(selection)
    }

    /// Refuse sizes given by name for a workload that is not `selected`: they would be
    /// ignored.
    pub fn check_selected(&self, selected: &[&str]) -> Result<()> {
        match self
            .per_workload
            .keys()
            .find(|n| !selected.contains(&n.as_str()))
        {
            Some(name) => Err(Error::usage(format!(
                "--sizes names workload `{name}`, which is not selected, so its sizes would be \
                 ignored; selected: {} (select it with --workloads, or drop its sizes)",
                selected.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// Whether no sizes were given at all.
    pub fn is_empty(&self) -> bool {
        self.global.is_none() && self.per_workload.is_empty()
    }

    /// The sizes to use for `workload`: its own list, else the global list, else `default`.
    /// Fixed-size workloads get `[None]` (one case, no size). Sizes given for a fixed-size
    /// workload are refused, as `grad --size` is: by name (`fmult=3`) always, and a global list
    /// when the workload was `named` on the command line (a global list only passes over the
    /// fixed-size workloads that a suite brought in).
    pub fn sizes_for(
        &self,
        workload: &dyn Workload,
        named: bool,
        default: impl FnOnce(&workloads::SizeSpec) -> Vec<usize>,
    ) -> Result<Vec<Option<usize>>> {
        let Some(spec) = workload.size() else {
            if self.per_workload.contains_key(workload.name()) || (named && self.global.is_some()) {
                return Err(Error::usage(format!(
                    "workload `{}` has a fixed size and takes no --sizes; give sizes for the \
                     other workloads by name (e.g. --sizes fdotprod=100,1000)",
                    workload.name()
                )));
            }
            return Ok(vec![None]);
        };
        let sizes = match (self.per_workload.get(workload.name()), &self.global) {
            (Some(own), _) => own.clone(),
            (None, Some(global)) => global.clone(),
            (None, None) => default(&spec),
        };
        Ok(sizes.into_iter().map(Some).collect())
    }
}

fn size_list(list: &str) -> Result<Vec<usize>> {
    let items: Vec<&str> = list.split(',').map(str::trim).collect();
    if items.iter().all(|s| s.is_empty()) {
        return Err(Error::usage(format!(
            "empty size list `{list}`: expected sizes such as 1000,2000"
        )));
    }
    if items.iter().any(|s| s.is_empty()) {
        return Err(Error::usage(format!(
            "size list `{list}` has an empty item: expected sizes separated by single commas, \
             such as 1000,2000"
        )));
    }
    items.into_iter().map(size).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_scientific_notation_and_reject_garbage() {
        assert_eq!(size("1e4").unwrap(), 10_000);
        assert_eq!(size("250").unwrap(), 250);
        assert!(size("1.5").is_err());
        assert!(size("-3").is_err());
        assert!(size("ten").is_err());
    }

    #[test]
    fn thread_counts_are_positive_bounded_and_given_once() {
        let list = |a: &[&str]| thread_counts(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&["4,1", "2"]).unwrap(), [1, 2, 4]);
        assert_eq!(list(&["256"]).unwrap(), [256]);
        for (bad, needle) in [
            (&["0"][..], "`0`"),
            (&["x"], "`x`"),
            (&["1,1"], "1 is given twice"),
            (&["1", "1"], "1 is given twice"),
            (&["257"], "`257`"),
            (&["1,"], "``"),
            (&["-2"], "`-2`"),
            (&["1.5"], "`1.5`"),
        ] {
            let e = list(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("--threads: ") && e.contains(needle),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn params_need_key_equals_number_or_choice() {
        let p = params(&["steps=10".into(), "x0=0.5".into(), "fork= balanced".into()]).unwrap();
        assert_eq!(p["steps"], "10");
        assert_eq!(p["x0"], "0.5");
        assert_eq!(p["fork"], "balanced");
        assert!(params(&["steps".into()]).is_err());
        assert!(params(&["steps=many".into()]).is_err());
        assert!(params(&["=3".into()]).is_err());
        let e = params(&["fork=tree".into()]).unwrap_err().to_string();
        assert!(
            e.contains("`tree` is not a choice of `fork`") && e.ends_with("chain, balanced"),
            "{e}"
        );
        assert!(params(&["fork=1".into()]).is_err());
    }

    #[test]
    fn params_are_read_for_each_workload() {
        let texts = params(&["fork=balanced".into(), "particles=16".into()]).unwrap();
        let fparticles = workloads::find("fparticles").unwrap();
        let resolved = resolve_params(fparticles, &texts).unwrap();
        assert_eq!(resolved["fork"], 1.0);
        assert_eq!(resolved["particles"], 16.0);
        let e = resolve_params(workloads::find("fdotprod").unwrap(), &texts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no parameter `fork`"), "{e}");
        let texts = params(&["particles=1.5".into()]).unwrap();
        let e = resolve_params(fparticles, &texts).unwrap_err().to_string();
        assert!(e.contains("an integer in 1..=64"), "{e}");
    }

    #[test]
    fn a_param_given_twice_is_refused_with_both_values() {
        for (first, second) in [("x0=1", "x0=2"), ("x0=1", " x0 = 1 ")] {
            let e = params(&[first.into(), second.into()])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("`x0` is given twice") && e.contains("x0=1 and x0="),
                "{e}"
            );
        }
    }

    #[test]
    fn size_errors_name_the_flag_and_the_argument() {
        let parse = |a: &str| {
            SizeSelection::parse(&[a.to_string()])
                .unwrap_err()
                .to_string()
        };
        let e = parse("lse=x");
        assert!(e.starts_with("--sizes `lse=x`: invalid size `x`"), "{e}");
        let e = parse("nope=10");
        assert!(
            e.starts_with("--sizes `nope=10`:") && e.contains("nope"),
            "{e}"
        );
        let e = parse("10,,20");
        assert!(
            e.starts_with("--sizes `10,,20`:") && e.contains("empty item"),
            "{e}"
        );
        let e = parse("fdotprod=");
        assert!(e.contains("empty size list"), "{e}");
        let sizes = SizeSelection::parse(&["lse=10".into()]).unwrap();
        let e = sizes.check_selected(&["fdotprod"]).unwrap_err().to_string();
        assert!(
            e.contains("`lse`, which is not selected") && e.contains("fdotprod"),
            "{e}"
        );
        sizes.check_selected(&["fdotprod", "lse"]).unwrap();
    }

    #[test]
    fn an_empty_workload_or_strategy_list_is_an_error_not_all() {
        let e = workloads(&[String::new()]).err().unwrap().to_string();
        assert!(e.contains("workload list is empty"), "{e}");
        let e = strategies(&[",".into()]).err().unwrap().to_string();
        assert!(e.contains("name strategies"), "{e}");
        assert_eq!(workloads(&[]).unwrap().len(), workloads::all().len());
        assert_eq!(
            workloads(&["all".into()]).unwrap().len(),
            workloads::all().len()
        );
    }

    #[test]
    fn unknown_strategy_lists_valid_names() {
        let e = strategies(&["dualrev,nope".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nope") && e.contains("dualrev") && e.contains("primal"),
            "{e}"
        );
    }
}
