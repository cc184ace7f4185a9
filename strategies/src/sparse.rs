//! `sparse`: placeholder until the strategy lands.

use crate::program::{Program, Strategy, Vjp};

/// Placeholder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sparse;

impl Strategy for Sparse {
    const NAME: &'static str = "sparse";
    const DESCRIPTION: &'static str = "placeholder";

    fn vjp<P: Program>(_program: &P, _x: &[f64], _cotangent: &[f64]) -> Vjp {
        unimplemented!("sparse")
    }
}
