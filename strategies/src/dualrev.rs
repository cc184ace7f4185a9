//! `dualrev`: placeholder until the strategy lands.

use crate::program::{Program, Strategy, Vjp};

/// Placeholder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dualrev;

impl Strategy for Dualrev {
    const NAME: &'static str = "dualrev";
    const DESCRIPTION: &'static str = "placeholder";

    fn vjp<P: Program>(_program: &P, _x: &[f64], _cotangent: &[f64]) -> Vjp {
        unimplemented!("dualrev")
    }
}
