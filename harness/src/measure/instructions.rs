//! Deterministic instruction counts per gradient, under valgrind's callgrind.
//!
//! Wall time on a shared machine moves by tens of percent; the number of instructions a
//! gradient executes does not, for the same binary and input. `run --instructions` counts it
//! for every finished case: the parent starts
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect=*instruction_window* \
//!     dualbench count-instructions --workload W --size N --strategy S --gradients K ...
//! ```
//!
//! and the child ([`serve`]) builds the case, computes one gradient outside the window (the
//! first gradient of a process allocates its pools and tapes), then calls
//! [`instruction_window`], which computes K gradients through the same timed loop `run` uses.
//! Callgrind collects events only inside that function, so the count excludes start-up,
//! instantiation and the warm gradient; the parent reads the total from callgrind's output
//! file and divides by K. K is chosen from the case's measured median so that the window runs
//! about [`WINDOW_NS`] natively; a case slower than [`MAX_GRADIENT_NS`] per gradient is not
//! counted (its `instructions` stays null), since under callgrind it would take minutes.
//!
//! Nor is a case on more than one thread (`run --threads`): callgrind runs the threads of a
//! process one at a time, so the parallel case would not run in parallel, and its count would
//! add the idle workers' spinning, which depends on the schedule — neither the parallel cost
//! nor a repeatable number. Its `instructions` stays null; the same strategy's case on one
//! thread is counted.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use strategies::{DynProgram, StrategyKind};

use crate::error::{Error, Result};
use crate::measure::thread::with_stack;
use crate::results::{CaseResult, ResultsFile, Status};
use crate::select;

/// The native duration the counted window aims at (2 ms).
pub const WINDOW_NS: f64 = 2e6;
/// The most gradients in a window.
pub const MAX_GRADIENTS: u64 = 1000;
/// Cases slower than this per gradient (20 ms) are not counted.
pub const MAX_GRADIENT_NS: f64 = 2e7;

/// What the child counts: one case and how many gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct CountSpec {
    /// Workload name.
    pub workload: String,
    /// Its size (the workload's default when `None`).
    pub size: Option<u64>,
    /// Its parameters.
    pub params: std::collections::BTreeMap<String, f64>,
    /// Strategy name.
    pub strategy: String,
    /// Gradients inside the window.
    pub gradients: u64,
    /// Stack of the evaluation thread, bytes.
    pub stack_bytes: usize,
}

/// The counted region: `gradients` gradients of `program` under `strategy`, in one timed
/// batch. Never inlined, so that callgrind can find it by name.
#[inline(never)]
pub fn instruction_window(
    program: &dyn DynProgram,
    strategy: StrategyKind,
    input: &[f64],
    gradients: u64,
) {
    std::hint::black_box(program.time_gradients(strategy, input, 1, gradients));
}

/// The child's side: build the case, one warm gradient, then the window.
pub fn serve(spec: &CountSpec) -> Result<()> {
    let workload = workloads::find(&spec.workload)?;
    let strategy = select::strategy(&spec.strategy)?;
    let size = spec.size.map(|s| s as usize);
    let params = spec.params.clone();
    with_stack(spec.stack_bytes, move || {
        let instance = workloads::instantiate(workload, size, &params)?;
        let program = instance.program.as_ref();
        std::hint::black_box(program.time_gradients(strategy, &instance.input, 1, 1));
        instruction_window(program, strategy, &instance.input, spec.gradients);
        Ok(())
    })
}

/// Whether valgrind can be run.
pub fn valgrind_available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The gradients a window of `row`'s case holds, or `None` when the case is not counted (not
/// finished, no median, slower than [`MAX_GRADIENT_NS`], or on more than one thread).
pub fn gradients_for(row: &CaseResult) -> Option<u64> {
    let median = row.median_ns.filter(|m| m.is_finite() && *m > 0.0)?;
    if row.status != Status::Ok || median > MAX_GRADIENT_NS || row.threads != 1 {
        return None;
    }
    Some(((WINDOW_NS / median).ceil() as u64).clamp(1, MAX_GRADIENTS))
}

/// Count the instructions per gradient of `spec`'s case by running `exe count-instructions`
/// under callgrind.
pub fn count(exe: &Path, spec: &CountSpec) -> Result<u64> {
    let dir = tempfile::tempdir().map_err(|source| Error::Io {
        context: "creating a directory for callgrind's output".into(),
        source,
    })?;
    let out_file = dir.path().join("callgrind.out");
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg("--toggle-collect=*instruction_window*")
        .arg("--quiet")
        .arg(exe)
        .arg("count-instructions")
        .args(["--workload", &spec.workload, "--strategy", &spec.strategy])
        .args(["--gradients", &spec.gradients.to_string()])
        .args(["--stack-bytes", &spec.stack_bytes.to_string()]);
    if let Some(size) = spec.size {
        command.args(["--size", &size.to_string()]);
    }
    for param in workloads::format_params(&spec.workload, &spec.params) {
        command.args(["--param", &param]);
    }
    let output = command.output().map_err(|source| Error::Io {
        context: "running valgrind (Debian: apt-get install valgrind)".into(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::usage(format!(
            "counting instructions of {} / {}: valgrind failed: {}",
            spec.workload,
            spec.strategy,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = std::fs::read_to_string(&out_file).map_err(|source| Error::Io {
        context: format!("reading {}", out_file.display()),
        source,
    })?;
    let total = parse_total(&text).ok_or_else(|| {
        Error::usage(format!(
            "callgrind's output for {} / {} has no `totals:` line",
            spec.workload, spec.strategy
        ))
    })?;
    Ok(total / spec.gradients.max(1))
}

/// The `Ir` total of a callgrind output file (`totals:` or, in older versions, `summary:`).
pub fn parse_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Count the instructions of every countable row of `file` in place (`run --instructions`),
/// with a progress bar unless `quiet`; rows on more than one thread are not counted, and unless
/// `quiet` a note says so.
pub fn count_file(file: &mut ResultsFile, quiet: bool) -> Result<()> {
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        context: "finding this dualbench binary for callgrind".into(),
        source,
    })?;
    let countable = file
        .rows
        .iter()
        .filter(|r| gradients_for(r).is_some())
        .count();
    let parallel = file.rows.iter().filter(|r| r.threads > 1).count();
    if parallel > 0 && !quiet {
        crate::output::note(&format!(
            "instructions: {parallel} case{} on more than one thread not counted (callgrind \
             runs one thread at a time); their one-thread cases are",
            if parallel == 1 { "" } else { "s" }
        ));
    }
    let bar = crate::output::progress_bar(countable, "instruction counts", quiet);
    let stack = (file.metadata.options.stack_mib as usize) << 20;
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    count_rows(&exe, &mut file.rows, stack, jobs, |row| {
        bar.set_message(format!("{} / {}", row.workload, row.strategy));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// Count every countable row of `rows` in place, `jobs` callgrind processes at a time (the
/// counts do not depend on what else runs: callgrind counts instructions, not time);
/// `on_case` is called as each count starts. The first error ends the counting.
pub fn count_rows(
    exe: &Path,
    rows: &mut [CaseResult],
    stack_bytes: usize,
    jobs: usize,
    on_case: impl Fn(&CaseResult) + Sync,
) -> Result<()> {
    let specs: Vec<(usize, CountSpec)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let gradients = gradients_for(row)?;
            let spec = CountSpec {
                workload: row.workload.clone(),
                size: row.size,
                params: row.params.clone(),
                strategy: row.strategy.clone(),
                gradients,
                stack_bytes,
            };
            Some((i, spec))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let counts = Mutex::new(Vec::with_capacity(specs.len()));
    let view: &[CaseResult] = rows;
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, specs.len().max(1)) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let Some((i, spec)) = specs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    on_case(&view[*i]);
                    let counted = count(exe, spec);
                    failed.fetch_or(counted.is_err(), Ordering::Relaxed);
                    counts.lock().expect("counts").push((*i, counted));
                }
            });
        }
    });
    let mut counts = counts.into_inner().expect("counts");
    counts.sort_by_key(|(i, _)| *i);
    for (i, counted) in counts {
        rows[i].instructions = Some(counted?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_either_line() {
        assert_eq!(
            parse_total("events: Ir\nfn=x\n0 5\ntotals: 12345\n"),
            Some(12345)
        );
        assert_eq!(parse_total("summary: 77\n"), Some(77));
        assert_eq!(parse_total("events: Ir\n"), None);
    }

    #[test]
    fn windows_last_about_two_milliseconds_and_slow_or_parallel_cases_are_not_counted() {
        let mut row = crate::results::fixture::fmult_row("tape");
        row.median_ns = Some(1000.0);
        assert_eq!(gradients_for(&row), Some(1000));
        row.median_ns = Some(1e6);
        assert_eq!(gradients_for(&row), Some(2));
        row.median_ns = Some(3e7);
        assert_eq!(gradients_for(&row), None);
        row.median_ns = Some(1000.0);
        row.threads = 2;
        assert_eq!(gradients_for(&row), None, "callgrind serialises threads");
        row.threads = 1;
        row.status = Status::Timeout;
        assert_eq!(gradients_for(&row), None);
    }
}
