//! Turning command-line selections (workload and strategy names, sizes, parameters) into
//! validated values, shared by every command. Each parser names what was wrong and what is valid.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

use strategies::StrategyKind;
use workloads::{Params, Workload};

use crate::error::{Error, Result};

/// Split repeated and comma-separated list arguments (`--strategies a,b --strategies c`) into
/// trimmed, non-empty items.
fn items(args: &[String]) -> impl Iterator<Item = &str> {
    args.iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parse workload names; no names (or `all`) selects every workload.
pub fn workloads(args: &[String]) -> Result<Vec<&'static dyn Workload>> {
    let names: Vec<&str> = items(args).collect();
    if names.is_empty() || names == ["all"] {
        return Ok(workloads::all().to_vec());
    }
    let mut selected: Vec<&'static dyn Workload> = Vec::new();
    for name in names {
        let w = workloads::find(name)?;
        if !selected.iter().any(|s| s.name() == w.name()) {
            selected.push(w);
        }
    }
    Ok(selected)
}

/// Look up one strategy by name.
pub fn strategy(name: &str) -> Result<StrategyKind> {
    StrategyKind::from_name(name).ok_or_else(|| {
        Error::usage(format!(
            "unknown strategy `{name}`; valid strategies: {}",
            StrategyKind::names()
        ))
    })
}

/// Parse strategy names; no names (or `all`) selects every strategy.
pub fn strategies(args: &[String]) -> Result<Vec<StrategyKind>> {
    let names: Vec<&str> = items(args).collect();
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

/// Parse `--param key=value` arguments into [`Params`].
pub fn params(args: &[String]) -> Result<Params> {
    let mut params = Params::new();
    for arg in args {
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("invalid --param `{arg}`: expected key=value")))?;
        let key = key.trim();
        let parsed: f64 = value.trim().parse().map_err(|_| {
            Error::usage(format!(
                "invalid --param `{arg}`: the value `{}` is not a number",
                value.trim()
            ))
        })?;
        if key.is_empty() {
            return Err(Error::usage(format!(
                "invalid --param `{arg}`: empty parameter name"
            )));
        }
        params.insert(key.to_string(), parsed);
    }
    Ok(params)
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
    /// Parse the `--sizes` arguments. Workload names are checked against the registry.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut selection = SizeSelection::default();
        for arg in args {
            match arg.split_once('=') {
                Some((name, list)) => {
                    let w = workloads::find(name.trim())?;
                    let sizes = size_list(list)?;
                    selection
                        .per_workload
                        .entry(w.name().to_string())
                        .or_default()
                        .extend(sizes);
                }
                None => selection
                    .global
                    .get_or_insert_with(Vec::new)
                    .extend(size_list(arg)?),
            }
        }
        Ok(selection)
    }

    /// Whether no sizes were given at all.
    pub fn is_empty(&self) -> bool {
        self.global.is_none() && self.per_workload.is_empty()
    }

    /// The sizes to use for `workload`: its own list, else the global list, else `default`.
    /// Fixed-size workloads always get `[None]` (one case, no size); given sizes are ignored
    /// for them only when they came from the global list.
    pub fn sizes_for(
        &self,
        workload: &dyn Workload,
        default: impl FnOnce(&workloads::SizeSpec) -> Vec<usize>,
    ) -> Result<Vec<Option<usize>>> {
        let Some(spec) = workload.size() else {
            if self.per_workload.contains_key(workload.name()) {
                return Err(Error::usage(format!(
                    "workload `{}` has a fixed size; remove it from --sizes",
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
    let sizes: Vec<usize> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(size)
        .collect::<Result<_>>()?;
    if sizes.is_empty() {
        return Err(Error::usage(format!(
            "empty size list `{list}`: expected sizes such as 1000,2000"
        )));
    }
    Ok(sizes)
}

/// Run `f` on a new thread with a stack of `stack_bytes` and return its result. Closure-based
/// strategies (naive) recurse through their graph when calling and dropping it, so the harness
/// runs every evaluation on a thread with a large stack; a panic inside is resumed here.
pub fn with_stack<T: Send>(stack_bytes: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("evaluation".into())
            .stack_size(stack_bytes)
            .spawn_scoped(scope, f)
            .expect("spawning the evaluation thread");
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The stack given to evaluation threads: 1 GiB of address space (only touched pages are
/// backed), deep enough for closure chains of ~10^6 nodes.
pub const EVALUATION_STACK_BYTES: usize = 1 << 30;

thread_local! {
    /// Set while a [`guarded`] evaluation runs on this thread: its panics are reported as
    /// errors, so the panic hook stays quiet for them.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Run `evaluation` on a thread with [`EVALUATION_STACK_BYTES`] of stack and return its
/// result, or the panic message if it panicked (an unimplemented strategy, a failed assertion,
/// a program's domain error). The panic is not printed: a process-wide hook, installed once,
/// defers to the previous hook except on threads inside `guarded`.
pub fn guarded<T: Send>(evaluation: impl FnOnce() -> T + Send) -> std::result::Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
    with_stack(EVALUATION_STACK_BYTES, || {
        QUIET_PANICS.with(|q| q.set(true));
        let result = std::panic::catch_unwind(AssertUnwindSafe(evaluation));
        QUIET_PANICS.with(|q| q.set(false));
        result.map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panicked with a non-text payload".to_string())
        })
    })
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
    fn params_need_key_equals_number() {
        let p = params(&["steps=10".into(), "x0=0.5".into()]).unwrap();
        assert_eq!(p["steps"], 10.0);
        assert_eq!(p["x0"], 0.5);
        assert!(params(&["steps".into()]).is_err());
        assert!(params(&["steps=many".into()]).is_err());
        assert!(params(&["=3".into()]).is_err());
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

    #[test]
    fn guarded_turns_a_panic_into_its_message() {
        let r: std::result::Result<(), String> = guarded(|| panic!("domain error: ln of {}", -1));
        assert_eq!(r.unwrap_err(), "domain error: ln of -1");
        assert_eq!(guarded(|| 41 + 1), Ok(42));
    }
}
