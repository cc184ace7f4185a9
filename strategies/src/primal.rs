//! `primal`: plain `f64`, no derivative — the baseline every overhead is measured against.
//!
//! The program runs once on `f64` inputs. `vjp` returns the value and no gradient; its only
//! counter is `forward_passes` (always 1). Its time is the denominator of
//! `overhead = gradient time / primal time`.

use std::time::Instant;

use crate::program::{check_lengths, Counters, Phases, Program, Strategy, Vjp};

/// The primal baseline: the program on `f64`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Primal;

impl Strategy for Primal {
    const NAME: &'static str = "primal";
    const DESCRIPTION: &'static str =
        "f64, value only: the baseline every overhead is measured against";

    fn vjp<P: Program>(program: &P, x: &[f64], cotangent: &[f64]) -> Vjp {
        check_lengths(program.input_len(), program.output_len(), x, cotangent);
        let start = Instant::now();
        let value = program.eval(x);
        let forward = start.elapsed();
        Vjp {
            value,
            gradient: None,
            counters: Counters::from_pairs(&[("forward_passes", 1)]),
            phases: Phases {
                forward,
                ..Phases::default()
            },
        }
    }
}
