//! `cayley`: placeholder until the strategy lands.

use crate::program::{Program, Strategy, Vjp};

/// Placeholder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cayley;

impl Strategy for Cayley {
    const NAME: &'static str = "cayley";
    const DESCRIPTION: &'static str = "placeholder";

    fn vjp<P: Program>(_program: &P, _x: &[f64], _cotangent: &[f64]) -> Vjp {
        unimplemented!("cayley")
    }
}
