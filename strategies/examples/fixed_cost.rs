use strategies::program::{Derivatives, Program, Silent, Strategy};
use strategies::{outputs, Outputs, Real};
struct Mult;
impl Program for Mult {
    fn input_len(&self) -> usize {
        2
    }
    fn output_len(&self) -> usize {
        1
    }
    fn eval<R: Real>(&self, x: &[R]) -> Outputs<R> {
        outputs![x[0].clone() * x[1].clone()]
    }
}
fn main() {
    let which = std::env::args().nth(1).unwrap();
    let mut out = Derivatives::default();
    let x = [1.5, 2.5];
    for _ in 0..100_000 {
        match which.as_str() {
            "tape" => strategies::tape::Tape::vjp_into(&Mult, &x, &[1.0], &mut out, &mut Silent),
            _ => strategies::dualrev::Dualrev::vjp_into(&Mult, &x, &[1.0], &mut out, &mut Silent),
        }
        std::hint::black_box(&out);
    }
}
