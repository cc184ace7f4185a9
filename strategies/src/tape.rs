//! `tape`: placeholder until the strategy lands.

use crate::program::{Program, Strategy, Vjp};

/// Placeholder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tape;

impl Strategy for Tape {
    const NAME: &'static str = "tape";
    const DESCRIPTION: &'static str = "placeholder";

    fn vjp<P: Program>(_program: &P, _x: &[f64], _cotangent: &[f64]) -> Vjp {
        unimplemented!("tape")
    }
}
