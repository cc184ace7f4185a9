//! Second derivatives of one workload under one strategy: the JSON object `dualbench hvp`
//! prints, and the Hessian that `dualbench grad --hessian` adds.
//!
//! A Hessian-vector product H_w v (H_w = sum_j w_j H_j, the Hessian of w^T f) is the gradient
//! of the directional derivative x -> w^T J(x) v ([`strategies::hvp`]): the program is run on
//! dual numbers over the strategy's own scalar, and the strategy differentiates that. Under a
//! reverse strategy this is reverse over forward (`--mode rev-fwd`, the only mode so far);
//! under `forward` it is forward over forward.
//!
//! The `hvp` object has these keys, in this order (documented in `docs/results.md`, "`hvp`
//! JSON"):
//!
//! | key | value |
//! |---|---|
//! | `schema_version` | [`HVP_SCHEMA_VERSION`] |
//! | `workload`, `strategy`, `mode` | the CLI names (`mode`: `rev-fwd`) |
//! | `size`, `params`, `inputs` | as in `grad` |
//! | `cotangent` | only with `--cotangent`: the output weights w |
//! | `vector` | the direction v |
//! | `value` | the output: a number, or an array for several outputs |
//! | `gradient` | w^T J, from the strategy's own gradient (a separate call) |
//! | `directional` | w^T J v, the value of the differentiated program (checks `gradient . v`) |
//! | `hvp` | H_w v; `null` for `primal` |
//! | `counters` | the strategy's counters of the Hessian-vector product |
//! | `ops` | T, the primal operation count of the program |
//! | `hvp_ops` | T of the differentiated program: the program's operations on dual numbers, partials included |
//!
//! `--vector random` (the default) draws v uniformly from [-1, 1]^n with `--seed` (default 1),
//! so that the same command prints the same object; `--vector FILE` reads it as `--input`
//! does (`-` reads stdin).

use std::path::PathBuf;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use strategies::{DynProgram, StrategyKind};

use crate::error::{Error, Result};
use crate::gradient::{
    evaluation_error, hessian_weights, prepare, read_vector, refuse_beyond_cap, CounterMap,
    InputBlock, OutputValue,
};
use crate::measure::thread::GuardedPool;
use crate::results::nonfinite::{json_numbers, JsonNumber};

/// The version of the `hvp` JSON object; bumped when a key changes meaning or disappears.
pub const HVP_SCHEMA_VERSION: u32 = 1;

/// The most inputs `grad --hessian` takes: the Hessian is n Hessian-vector products and n^2
/// numbers, which is what "small n" means here; beyond it, `hvp` computes products one at a
/// time.
pub const MAX_HESSIAN_INPUTS: usize = 1000;

/// How the two derivatives are nested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Reverse over forward: the strategy differentiates the program run on dual numbers over
    /// its own scalar (forward over forward under `forward`).
    #[value(name = "rev-fwd")]
    RevFwd,
}

impl Mode {
    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::RevFwd => "rev-fwd",
        }
    }
}

/// Where the direction v comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Direction {
    /// A JSON array of numbers in a file (`-`: stdin).
    File(PathBuf),
    /// Uniform on [-1, 1]^n from the seed.
    Random {
        /// The seed of the generator.
        seed: u64,
    },
}

/// What `dualbench hvp` was asked to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct HvpRequest {
    /// The workload's name.
    pub workload: String,
    /// The strategy's name.
    pub strategy: String,
    /// How the derivatives are nested.
    pub mode: Mode,
    /// The primary size (`None`: the default).
    pub size: Option<usize>,
    /// `key=value` parameters.
    pub params: Vec<String>,
    /// A file (`-`: stdin) holding the input vector.
    pub input: Option<PathBuf>,
    /// A file (`-`: stdin) holding the output weights w.
    pub cotangent: Option<PathBuf>,
    /// The direction v.
    pub vector: Direction,
    /// Run even if the predicted work is beyond `verify`'s cap.
    pub force: bool,
    /// The threads of the pool the evaluation runs in.
    pub threads: usize,
}

/// The JSON object `dualbench hvp` prints; see the module documentation for its keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HvpReport {
    /// [`HVP_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The workload's CLI name.
    pub workload: &'static str,
    /// The strategy's CLI name.
    pub strategy: &'static str,
    /// The mode's CLI name.
    pub mode: &'static str,
    /// The primary size; `None` for fixed-size workloads.
    pub size: Option<usize>,
    /// Every parameter, defaults filled in.
    pub params: std::collections::BTreeMap<String, JsonNumber>,
    /// The input layout, in order.
    pub inputs: Vec<InputBlock>,
    /// The output weights, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cotangent: Option<Vec<JsonNumber>>,
    /// The direction v.
    pub vector: Vec<JsonNumber>,
    /// The program's output.
    pub value: OutputValue,
    /// w^T J; `None` for `primal`.
    pub gradient: Option<Vec<JsonNumber>>,
    /// w^T J v.
    pub directional: JsonNumber,
    /// H_w v; `None` for `primal`.
    pub hvp: Option<Vec<JsonNumber>>,
    /// The strategy's counters of the Hessian-vector product.
    pub counters: CounterMap,
    /// T of the program.
    pub ops: u64,
    /// T of the differentiated program.
    pub hvp_ops: u64,
}

/// Validate the request, evaluate, and build the report (everything but printing it).
pub fn compute_hvp(args: &HvpRequest) -> Result<HvpReport> {
    if matches!(&args.vector, Direction::File(path) if path.as_os_str() == "-") {
        let stdin = Some(std::path::Path::new("-"));
        for (flag, file) in [("--input", &args.input), ("--cotangent", &args.cotangent)] {
            if file.as_deref() == stdin {
                return Err(Error::usage(format!(
                    "{flag} and --vector cannot both read stdin (`-`); put one of them in a file"
                )));
            }
        }
    }
    let prepared = prepare(
        &args.workload,
        &args.strategy,
        args.size,
        &args.params,
        args.input.as_deref(),
        args.cotangent.as_deref(),
    )?;
    let (workload, strategy) = (prepared.workload, prepared.strategy);
    let program = prepared.instance.program.as_ref();
    let x = prepared.instance.input.as_slice();
    let n = program.input_len();
    let w = hessian_weights(
        workload,
        program.output_len(),
        prepared.cotangent.as_deref(),
    )?;
    let v = match &args.vector {
        Direction::File(path) => {
            let v = read_vector(path, "--vector")?;
            if v.len() != n {
                return Err(Error::usage(format!(
                    "--vector `{}` has {} numbers but workload `{workload}` takes {n} inputs",
                    path.display(),
                    v.len()
                )));
            }
            v
        }
        Direction::Random { seed } => random_direction(n, *seed),
    };
    let directional = program.directional(&v);
    if let Some(reason) = directional.why_unavailable(strategy) {
        return Err(no_second_derivatives(workload, strategy, reason));
    }
    let pool = GuardedPool::new(args.threads)?;
    if !args.force {
        refuse_beyond_cap(&pool, workload, strategy, directional.as_ref(), x, 2)?;
    }
    let (gradient, product, ops, hvp_ops) = pool
        .run(|| {
            (
                program.vjp(strategy, x, &w),
                directional.vjp(strategy, x, &w),
                program.op_count(x).ops,
                directional.op_count(x).ops,
            )
        })
        .map_err(|message| evaluation_error(workload, strategy, &message))?;
    let directional_value: f64 = product.value.iter().zip(&w).map(|(y, w)| y * w).sum();
    Ok(HvpReport {
        schema_version: HVP_SCHEMA_VERSION,
        workload,
        strategy: strategy.name(),
        mode: args.mode.name(),
        size: prepared.instance.size,
        params: prepared.params(),
        inputs: prepared.inputs(),
        cotangent: prepared.cotangent.as_deref().map(json_numbers),
        vector: json_numbers(&v),
        value: OutputValue::of(&gradient.value),
        gradient: gradient.gradient.as_deref().map(json_numbers),
        directional: JsonNumber(directional_value),
        hvp: product.gradient.as_deref().map(json_numbers),
        counters: CounterMap(product.counters),
        ops,
        hvp_ops,
    })
}

/// n numbers drawn uniformly from [-1, 1] by a generator seeded with `seed`.
pub fn random_direction(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..=1.0)).collect()
}

/// An error unless a Hessian of `n` inputs is small enough for `grad --hessian`.
pub fn check_hessian_size(workload: &str, n: usize) -> Result<()> {
    if n <= MAX_HESSIAN_INPUTS {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--hessian computes n = {n} Hessian-vector products for workload `{workload}`, more \
         than the {MAX_HESSIAN_INPUTS} it takes; choose a smaller --size, or use `dualbench hvp` \
         for products along chosen directions"
    )))
}

/// The Hessian of w^T f at `x` under `strategy`, row by row: column i is the Hessian-vector
/// product along the unit vector e_i. `None` for a strategy that computes no derivative
/// (`primal`); an error for one that cannot nest (`manual`).
pub fn hessian_rows(
    program: &dyn DynProgram,
    strategy: StrategyKind,
    x: &[f64],
    w: &[f64],
) -> Result<Option<Vec<Vec<f64>>>> {
    let n = program.input_len();
    let mut unit = vec![0.0; n];
    let mut columns = Vec::with_capacity(n);
    for i in 0..n {
        unit[i] = 1.0;
        let column = {
            let directional = program.directional(&unit);
            if let Some(reason) = directional.why_unavailable(strategy) {
                return Err(no_second_derivatives("this workload", strategy, reason));
            }
            directional.vjp(strategy, x, w).gradient
        };
        let Some(column) = column else {
            return Ok(None);
        };
        columns.push(column);
        unit[i] = 0.0;
    }
    Ok(Some(
        (0..n)
            .map(|row| columns.iter().map(|column| column[row]).collect())
            .collect(),
    ))
}

/// The error of a strategy that cannot compute second derivatives of a workload.
fn no_second_derivatives(workload: &str, strategy: StrategyKind, reason: &str) -> Error {
    Error::usage(format!(
        "strategy `{}` cannot compute second derivatives of `{workload}`: {reason}",
        strategy.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(workload: &str, strategy: &str) -> HvpRequest {
        HvpRequest {
            workload: workload.into(),
            strategy: strategy.into(),
            mode: Mode::RevFwd,
            size: None,
            params: Vec::new(),
            input: None,
            cotangent: None,
            vector: Direction::Random { seed: 1 },
            force: false,
            threads: 1,
        }
    }

    /// `directional` is w^T J v, so it equals the gradient dotted with v; and the tape's H v
    /// agrees with forward over forward.
    #[test]
    fn the_report_is_consistent_and_agrees_across_strategies() {
        let small = |strategy| HvpRequest {
            size: Some(3),
            ..request("fneural", strategy)
        };
        let tape = compute_hvp(&small("tape")).unwrap();
        let forward = compute_hvp(&small("forward")).unwrap();
        let g: Vec<f64> = tape.gradient.unwrap().iter().map(|g| g.0).collect();
        let v: Vec<f64> = tape.vector.iter().map(|v| v.0).collect();
        let dot: f64 = g.iter().zip(&v).map(|(g, v)| g * v).sum();
        assert!((dot - tape.directional.0).abs() <= 1e-10 * (1.0 + dot.abs()));
        let (a, b) = (tape.hvp.unwrap(), forward.hvp.unwrap());
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert!(
                (a.0 - b.0).abs() <= 1e-9 * (1.0 + b.0.abs()),
                "{a:?} vs {b:?}"
            );
        }
        assert!(tape.hvp_ops > tape.ops);
    }

    /// Naive's backpropagator calls, gradient against HVP, on the two sharing workloads of
    /// docs/second-derivatives.md: nesting keeps the exponential base. On `square-chain` the
    /// HVP makes (k + 1)(2^(k+1) - 1) + k calls, k + 1 times the gradient's 2^(k+1) - 1; on
    /// `fib-chain`, 4 times the gradient's, less 5.
    #[test]
    fn naive_nested_keeps_its_exponential_base() {
        let calls = |workload: &str, k: usize| {
            let gradient = crate::gradient::compute(&crate::gradient::Request {
                workload: workload.into(),
                strategy: "naive".into(),
                size: Some(k),
                params: Vec::new(),
                input: None,
                cotangent: None,
                force: false,
                threads: 1,
                hessian: false,
            })
            .unwrap();
            let hvp = compute_hvp(&HvpRequest {
                size: Some(k),
                ..request(workload, "naive")
            })
            .unwrap();
            let backprop_calls = |counters: &CounterMap| counters.0.get("backprop_calls").unwrap();
            (
                backprop_calls(&gradient.counters),
                backprop_calls(&hvp.counters),
            )
        };
        for k in [4_u32, 8, 12] {
            let (gradient, hvp) = calls("square-chain", k as usize);
            assert_eq!(gradient, 2_u64.pow(k + 1) - 1, "square-chain {k}");
            assert_eq!(
                hvp,
                u64::from(k + 1) * gradient + u64::from(k),
                "square-chain {k}"
            );
            let (gradient, hvp) = calls("fib-chain", k as usize);
            assert_eq!(hvp, 4 * gradient - 5, "fib-chain {k}");
        }
    }

    #[test]
    fn two_vectors_cannot_both_come_from_stdin() {
        for flag in ["--input", "--cotangent"] {
            let mut both = request("fdotprod", "tape");
            both.vector = Direction::File("-".into());
            if flag == "--input" {
                both.input = Some("-".into());
            } else {
                both.cotangent = Some("-".into());
            }
            let e = compute_hvp(&both).unwrap_err().to_string();
            assert!(
                e.contains(&format!("{flag} and --vector cannot both read stdin")),
                "{e}"
            );
        }
    }

    #[test]
    fn manual_cannot_compute_second_derivatives() {
        let e = compute_hvp(&request("fdotprod", "manual")).unwrap_err();
        assert!(
            e.to_string().contains("cannot compute second derivatives"),
            "{e}"
        );
    }

    #[test]
    fn the_random_direction_is_reproducible_and_in_range() {
        let (a, b) = (random_direction(50, 7), random_direction(50, 7));
        assert_eq!(a, b);
        assert_ne!(a, random_direction(50, 8));
        assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn too_large_a_hessian_is_refused_with_the_alternative() {
        let e = check_hessian_size("fdotprod", MAX_HESSIAN_INPUTS + 1).unwrap_err();
        assert!(e.to_string().contains("dualbench hvp"), "{e}");
        assert!(check_hessian_size("fdotprod", MAX_HESSIAN_INPUTS).is_ok());
    }
}
