//! What the workload definitions share: the seeded generator behind every random input, and
//! the helpers that turn validated parameters and generated vectors into an [`Instance`].

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use strategies::DynProgram;

use crate::{Block, Instance, Params};

/// The generator behind every random input: ChaCha8, whose stream for a given seed is fixed
/// across platforms, so an input vector is the same on every machine.
pub(crate) fn seeded(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `len` numbers drawn uniformly from `[low, high)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, len: usize, low: f64, high: f64) -> Vec<f64> {
    (0..len).map(|_| rng.random_range(low..high)).collect()
}

/// `len` numbers drawn from the standard normal distribution N(0, 1) by the Box-Muller
/// transform: each pair of uniforms u, v (u in (0, 1], v in [0, 1)) gives the two normals
/// r cos(2 pi v) and r sin(2 pi v) with r = sqrt(-2 ln u), in that order; for an odd `len` the
/// last pair's sine is dropped.
pub(crate) fn normal(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    let mut values = Vec::with_capacity(len);
    while values.len() < len {
        let u = 1.0 - rng.random_range(0.0..1.0);
        let angle = std::f64::consts::TAU * rng.random_range(0.0..1.0);
        let radius = (-2.0 * f64::ln(u)).sqrt();
        values.push(radius * angle.cos());
        if values.len() < len {
            values.push(radius * angle.sin());
        }
    }
    values
}

/// An integer parameter that [`crate::instantiate`] has already validated and filled in.
pub(crate) fn integer_param(params: &Params, name: &str) -> usize {
    let value = real_param(params, name);
    assert!(
        value >= 0.0 && value.fract() == 0.0,
        "parameter `{name}` must be a non-negative integer, got {value}"
    );
    value as usize
}

/// A parameter that [`crate::instantiate`] has already validated and filled in.
pub(crate) fn real_param(params: &Params, name: &str) -> f64 {
    *params
        .get(name)
        .unwrap_or_else(|| panic!("parameter `{name}` missing: build through `instantiate`"))
}

/// Assemble an instance from its layout (`(name, len)` in input order), its input vector and
/// its program.
pub(crate) fn instance(
    size: Option<usize>,
    params: &Params,
    layout: &[(&'static str, usize)],
    input: Vec<f64>,
    program: impl DynProgram + 'static,
) -> Instance {
    Instance {
        size,
        params: params.clone(),
        layout: layout
            .iter()
            .map(|&(name, len)| Block { name, len })
            .collect(),
        input,
        program: Box::new(program),
    }
}
