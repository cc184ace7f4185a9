//! `forward-vec`: placeholder until the strategy lands.

use crate::program::{Program, Strategy, Vjp};

/// Placeholder.
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardVec;

impl Strategy for ForwardVec {
    const NAME: &'static str = "forward-vec";
    const DESCRIPTION: &'static str = "placeholder";

    fn vjp<P: Program>(_program: &P, _x: &[f64], _cotangent: &[f64]) -> Vjp {
        unimplemented!("forward-vec")
    }
}
