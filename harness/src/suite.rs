//! What `dualbench run --suite quick|paper|full` measures: the workloads, their sizes, the
//! thread counts of the parallel strategies, and the timing defaults. Every suite but `perf`
//! runs every strategy (the primal, the overhead's denominator, always runs); `--workloads`,
//! `--strategies`, `--sizes`, `--threads` and the timing flags narrow or override a suite.
//!
//! - `quick` is the README's main command: it must finish in about two minutes on a 2-core
//!   machine and still tell the story — naive's exponential blow-up on sharing workloads
//!   (`square-chain`, `fib-chain`), every reverse strategy on `fdotprod` and `fneural`,
//!   forward mode's n-fold cost and the dense rungs' O(n T) on `fdotprod` and `lse`, the stack
//!   depth test `deep-chain`, and the fork-join `fparticles` at one small size on one and two
//!   threads. Sizes are chosen here so that a strategy that blows up does so at the largest
//!   size, within the short budget.
//! - `paper` reproduces the paper's table and the complexity figures: the paper's benchmark
//!   programs and the sharing programs over their default sweeps (`SizeSpec::sweep`), the
//!   fork-join programs on one and two threads, and GradBench's problems `lse`, `llsq`, `det`,
//!   `ode` and `gmm` (d = 10, n = 1000, k up to 50) at sizes where the efficient strategies
//!   show their growth, within an hour. The fork-join programs: `fparticles` as in the paper
//!   (4 particles forked as a chain, 100 to 1000 steps, 1000 the paper's and the largest, where
//!   the speedup claims decide), `fparticles` with
//!   16 particles forked as a balanced tree at 20 000 to 80 000 steps, where each particle's
//!   task is at least [`MIN_TASK_OPS`] operations (over 1 ms under `dualrev-par` on one
//!   thread), and `par-tree` with leaves of 1024 elements (as many operations, 2 ms or more)
//!   at 4 to 64 leaves.
//! - `full` is every workload over its sweep, the fork-join ones on one and two threads.
//! - `perf` compares dualbench's fast strategies with the peer crates (README, Benchmarks):
//!   one representative size per kernel, `tape`, `dualrev`, `forward-vec`, every compiled-in
//!   peer and `manual`, the hand-written floor that every kernel defines (the only suite that
//!   does not run every strategy).
//!
//! `manual` runs in every suite where a workload has a hand-written adjoint; elsewhere its
//! cases are recorded as skipped ("no hand-written adjoint"), at no cost.

use strategies::StrategyKind;
use workloads::Workload;

/// A named selection of cases with its timing defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// A few minutes: the story of the paper at small sizes.
    #[default]
    Quick,
    /// The paper's table and complexity figures (under an hour).
    Paper,
    /// Every workload over its default sweep.
    Full,
    /// The performance comparison: `primal`, `tape`, `dualrev`, `forward-vec`, `manual` and
    /// every compiled-in peer on nine kernels at one size each.
    Perf,
}

/// Which sizes of a workload a suite measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sizes {
    /// The workload's default sweep, [`workloads::SizeSpec::sweep`].
    Sweep,
    /// These sizes.
    List(&'static [usize]),
}

/// One workload of a suite. Fixed-size workloads ignore [`SuiteEntry::sizes`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SuiteEntry {
    /// The workload's name.
    pub workload: &'static str,
    /// Its sizes.
    pub sizes: Sizes,
    /// Parameters the suite sets (a `--param` on the command line overrides them).
    pub params: &'static [(&'static str, f64)],
}

/// Timing defaults of a suite (each overridable on the command line).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Wall-clock budget per case, seconds.
    pub budget_s: f64,
    /// Minimum number of timed samples per case.
    pub repeat: u64,
    /// Minimum total sampled time per case, seconds.
    pub min_time_s: f64,
    /// Untimed warm-up per case, seconds.
    pub warmup_s: f64,
}

/// The fewest primitive operations of a parallel task (one particle's simulation, one leaf
/// range of `par-tree`) in the paper suite's fork-join series beyond the paper's own: about
/// 1 ms under `dualrev-par` on one thread (measured on a 2-core machine: one particle of 10 000
/// steps, 140 001 operations, took 0.69 ms; a `par-tree` leaf of 1024 elements at work 64,
/// 199 680 operations, 1.9 ms under `tape`), so that scheduling a task costs little beside it.
pub const MIN_TASK_OPS: usize = 190_000;

/// `fparticles`' `fork` = `chain` (the index of the choice; [`workloads::ParticleFork`]).
const FORK_CHAIN: f64 = 0.0;
/// `fparticles`' `fork` = `balanced`.
const FORK_BALANCED: f64 = 1.0;

const QUICK: &[SuiteEntry] = &[
    SuiteEntry {
        workload: "fmult",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "frotvecquat",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fdotprod",
        sizes: Sizes::List(&[100, 1000, 10_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "fneural",
        sizes: Sizes::List(&[10, 50]),
        params: &[],
    },
    SuiteEntry {
        workload: "fsummatvec",
        sizes: Sizes::List(&[10, 100]),
        params: &[],
    },
    SuiteEntry {
        workload: "square-chain",
        sizes: Sizes::List(&[5, 10, 15, 20, 25, 30]),
        params: &[],
    },
    SuiteEntry {
        workload: "fib-chain",
        sizes: Sizes::List(&[10, 20, 30]),
        params: &[],
    },
    SuiteEntry {
        workload: "deep-chain",
        sizes: Sizes::List(&[1000, 100_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "lse",
        sizes: Sizes::List(&[100, 10_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "fparticles",
        sizes: Sizes::List(&[100]),
        params: &[("particles", 4.0)],
    },
];

const PAPER: &[SuiteEntry] = &[
    SuiteEntry {
        workload: "fmult",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fdotprod",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fsummatvec",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "frotvecquat",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fneural",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "square-chain",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fib-chain",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fanout",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "deep-chain",
        sizes: Sizes::Sweep,
        params: &[],
    },
    SuiteEntry {
        workload: "fparticles",
        sizes: Sizes::List(&[100, 300, 1000]),
        params: &[("particles", 4.0), ("fork", FORK_CHAIN)],
    },
    SuiteEntry {
        workload: "fparticles",
        sizes: Sizes::List(&[20_000, 40_000, 80_000]),
        params: &[("particles", 16.0), ("fork", FORK_BALANCED)],
    },
    SuiteEntry {
        workload: "par-tree",
        sizes: Sizes::List(&[4096, 16_384, 65_536]),
        params: &[("work", 64.0), ("grain", 1024.0)],
    },
    SuiteEntry {
        workload: "lse",
        sizes: Sizes::List(&[100, 1000, 10_000, 100_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "llsq",
        sizes: Sizes::List(&[64, 256, 1024, 4096]),
        params: &[],
    },
    SuiteEntry {
        workload: "det",
        sizes: Sizes::List(&[5, 6, 7, 8, 9]),
        params: &[],
    },
    SuiteEntry {
        workload: "ode",
        sizes: Sizes::List(&[100, 1000, 10_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "gmm",
        sizes: Sizes::List(&[5, 10, 25, 50]),
        params: &[("d", 10.0), ("n", 1000.0)],
    },
];

const PERF: &[SuiteEntry] = &[
    SuiteEntry {
        workload: "fdotprod",
        sizes: Sizes::List(&[100_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "fsummatvec",
        sizes: Sizes::List(&[316]),
        params: &[],
    },
    SuiteEntry {
        workload: "fneural",
        sizes: Sizes::List(&[50]),
        params: &[],
    },
    SuiteEntry {
        workload: "mlp",
        sizes: Sizes::List(&[50]),
        params: &[],
    },
    SuiteEntry {
        workload: "lse",
        sizes: Sizes::List(&[100_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "sin-product-sum",
        sizes: Sizes::List(&[100_000]),
        params: &[],
    },
    SuiteEntry {
        workload: "llsq",
        sizes: Sizes::List(&[4096]),
        params: &[],
    },
    SuiteEntry {
        workload: "ode",
        sizes: Sizes::List(&[1000]),
        params: &[("steps", 10.0)],
    },
    SuiteEntry {
        workload: "deep-chain",
        sizes: Sizes::List(&[100_000]),
        params: &[],
    },
];

impl Suite {
    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Quick => "quick",
            Suite::Paper => "paper",
            Suite::Full => "full",
            Suite::Perf => "perf",
        }
    }

    /// The suite's workloads, in the order they run.
    pub fn entries(self) -> Vec<SuiteEntry> {
        match self {
            Suite::Quick => QUICK.to_vec(),
            Suite::Paper => PAPER.to_vec(),
            Suite::Perf => PERF.to_vec(),
            Suite::Full => workloads::all()
                .iter()
                .map(|w| SuiteEntry {
                    workload: w.name(),
                    sizes: Sizes::Sweep,
                    params: &[],
                })
                .collect(),
        }
    }

    /// The thread counts the suite runs the parallel strategies at on fork-join workloads when
    /// `--threads` is not given (every other case runs on one thread): one and two threads,
    /// but for `perf`, whose kernels have no `join`.
    pub fn threads(self) -> &'static [usize] {
        match self {
            Suite::Quick | Suite::Paper | Suite::Full => &[1, 2],
            Suite::Perf => &[1],
        }
    }

    /// The strategies the suite runs when `--strategies` is not given: every strategy, but
    /// for `perf`, which runs the fast ones, the floor (`manual`) and the peers.
    pub fn strategies(self) -> Vec<StrategyKind> {
        match self {
            Suite::Perf => StrategyKind::ALL
                .iter()
                .copied()
                .filter(|&s| {
                    s.is_peer()
                        || matches!(
                            s,
                            StrategyKind::Primal
                                | StrategyKind::Tape
                                | StrategyKind::Dualrev
                                | StrategyKind::ForwardVec
                                | StrategyKind::Manual
                        )
                })
                .collect(),
            Suite::Quick | Suite::Paper | Suite::Full => StrategyKind::ALL.to_vec(),
        }
    }

    /// The suite's timing defaults.
    pub fn timing(self) -> Timing {
        match self {
            Suite::Quick => Timing {
                budget_s: 2.0,
                repeat: 6,
                min_time_s: 0.05,
                warmup_s: 0.02,
            },
            Suite::Paper => Timing {
                budget_s: 10.0,
                repeat: 10,
                min_time_s: 0.3,
                warmup_s: 0.1,
            },
            Suite::Perf => Timing {
                budget_s: 8.0,
                repeat: 10,
                min_time_s: 0.5,
                warmup_s: 0.1,
            },
            Suite::Full => Timing {
                budget_s: 20.0,
                repeat: 10,
                min_time_s: 0.5,
                warmup_s: 0.1,
            },
        }
    }
}

impl Sizes {
    /// The sizes for `workload` (empty for a fixed-size workload).
    pub fn resolve(self, workload: &dyn Workload) -> Vec<usize> {
        match (workload.size(), self) {
            (None, _) => Vec::new(),
            (Some(spec), Sizes::Sweep) => spec.sweep.to_vec(),
            (Some(_), Sizes::List(sizes)) => sizes.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_names_registered_workloads_at_accepted_sizes() {
        for suite in [Suite::Quick, Suite::Paper, Suite::Full, Suite::Perf] {
            for entry in suite.entries() {
                let w = workloads::find(entry.workload)
                    .unwrap_or_else(|e| panic!("suite {}: {e}", suite.name()));
                let params = entry
                    .params
                    .iter()
                    .map(|&(k, v)| (k.to_string(), v))
                    .collect();
                workloads::instantiate(w, entry.sizes.resolve(w).first().copied(), &params)
                    .unwrap_or_else(|e| panic!("suite {}: {e}", suite.name()));
                if let Some(spec) = w.size() {
                    for size in entry.sizes.resolve(w) {
                        assert!(
                            (spec.min..=spec.max).contains(&size),
                            "suite {}: {} size {size}",
                            suite.name(),
                            entry.workload
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn perf_runs_the_fast_strategies_and_every_peer_and_nothing_slow() {
        let strategies = Suite::Perf.strategies();
        assert!(strategies.contains(&StrategyKind::Primal));
        assert!(strategies.contains(&StrategyKind::Tape));
        assert!(strategies.contains(&StrategyKind::Manual));
        assert!(!strategies.contains(&StrategyKind::Naive));
        let peers = StrategyKind::ALL.iter().filter(|s| s.is_peer()).count();
        assert_eq!(strategies.len(), 5 + peers);
        assert_eq!(Suite::Quick.strategies(), StrategyKind::ALL);
    }

    #[test]
    fn the_suites_measure_the_fork_join_programs_on_two_threads() {
        for suite in [Suite::Quick, Suite::Paper, Suite::Full] {
            assert!(suite.threads().contains(&2), "{}", suite.name());
            let names: Vec<&str> = suite.entries().iter().map(|e| e.workload).collect();
            assert!(names.contains(&"fparticles"), "{}: {names:?}", suite.name());
            for entry in suite.entries() {
                let w = workloads::find(entry.workload).unwrap();
                let params = entry
                    .params
                    .iter()
                    .map(|&(k, v)| (k.to_string(), v))
                    .collect();
                let size = entry.sizes.resolve(w).first().copied();
                let instance = workloads::instantiate(w, size, &params).unwrap();
                if instance.program.fork_join() {
                    assert_eq!(
                        w.family(),
                        workloads::Family::Parallel,
                        "{}",
                        entry.workload
                    );
                }
            }
        }
        for suite in [Suite::Paper, Suite::Full] {
            let names: Vec<&str> = suite.entries().iter().map(|e| e.workload).collect();
            assert!(names.contains(&"par-tree"), "{}: {names:?}", suite.name());
        }
        assert_eq!(Suite::Perf.threads(), [1]);
    }

    /// The paper suite's entries of `workload` whose parameters include `params`.
    fn paper_entries(workload: &str, params: &[(&str, f64)]) -> Vec<SuiteEntry> {
        Suite::Paper
            .entries()
            .into_iter()
            .filter(|e| e.workload == workload && params.iter().all(|p| e.params.contains(p)))
            .collect()
    }

    #[test]
    fn paper_measures_the_papers_particles_a_balanced_fork_and_par_tree_at_three_sizes_each() {
        assert_eq!(
            workloads::format_param("fparticles", "fork", FORK_CHAIN),
            "chain"
        );
        assert_eq!(
            workloads::format_param("fparticles", "fork", FORK_BALANCED),
            "balanced"
        );
        let fparticles = workloads::find("fparticles").unwrap();
        let chain = paper_entries("fparticles", &[("particles", 4.0), ("fork", FORK_CHAIN)]);
        assert_eq!(chain.len(), 1, "{chain:?}");
        let steps = chain[0].sizes.resolve(fparticles);
        assert!(steps.len() >= 3 && steps.contains(&1000), "{steps:?}");

        let balanced = [("particles", 16.0), ("fork", FORK_BALANCED)];
        let balanced = paper_entries("fparticles", &balanced);
        assert_eq!(balanced.len(), 1, "{balanced:?}");
        let steps = balanced[0].sizes.resolve(fparticles);
        assert!(steps.len() >= 3, "{steps:?}");
        for steps in steps {
            // One particle: 7 operations per coordinate and step, and its product.
            let task = 14 * steps + 1;
            assert!(
                task >= MIN_TASK_OPS,
                "fparticles {steps} steps: {task} per task"
            );
        }

        let tree = paper_entries("par-tree", &[]);
        assert_eq!(tree.len(), 1, "{tree:?}");
        let param = |name| {
            tree[0]
                .params
                .iter()
                .find(|p| p.0 == name)
                .map(|p| p.1 as usize)
        };
        let (work, grain) = (param("work").unwrap(), param("grain").unwrap());
        let sizes = tree[0].sizes.resolve(workloads::find("par-tree").unwrap());
        assert!(sizes.len() >= 3, "{sizes:?}");
        for n in sizes {
            // Halving down to at most `grain` elements: the smallest leaf.
            let mut leaf = n;
            while leaf > grain {
                leaf /= 2;
            }
            let task = leaf * (3 * work + 3);
            assert!(
                leaf < n && task >= MIN_TASK_OPS,
                "par-tree {n}: {task} per leaf"
            );
        }
    }

    #[test]
    fn quick_has_a_sharing_workload_and_the_papers_reverse_benchmarks() {
        let names: Vec<&str> = Suite::Quick.entries().iter().map(|e| e.workload).collect();
        for required in ["square-chain", "fdotprod", "fneural"] {
            assert!(names.contains(&required), "{names:?}");
        }
    }

    #[test]
    fn paper_measures_gradbenchs_problems_with_every_efficient_strategy() {
        let names: Vec<&str> = Suite::Paper.entries().iter().map(|e| e.workload).collect();
        for required in ["gmm", "det", "lse", "llsq", "ode"] {
            assert!(names.contains(&required), "{names:?}");
        }
        let strategies = Suite::Paper.strategies();
        for &s in StrategyKind::ALL {
            if matches!(
                s.cost_class(),
                strategies::CostClass::Linear | strategies::CostClass::LogLinear
            ) {
                assert!(strategies.contains(&s), "{}", s.name());
            }
        }
    }
}
