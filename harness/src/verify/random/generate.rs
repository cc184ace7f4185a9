//! The seeded generator of random programs.

use super::*;
use strategies::real::Unary as Elementary;

/// A testable program drawn from a seed, and how many untestable ones were drawn before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The program.
    pub program: RandomProgram,
    /// Programs drawn from the same stream before it and discarded as untestable.
    pub discarded: usize,
}

/// The program of `seed`: drawn with ChaCha8 seeded by `seed`, again from the same stream
/// until it is testable (see the module documentation).
pub fn generate(seed: u64) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut discarded = 0;
    loop {
        let program = Generator::draw(&mut rng);
        if program.is_testable() {
            return Generated { program, discarded };
        }
        discarded += 1;
    }
}

/// Which side of a domain edge [`Generator::near`] puts a value on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// Above the edge (`ln` near 0, `acosh` near 1).
    Above,
    /// Below the edge (`asin` near 1).
    Below,
    /// Either side, drawn (`recip` near 0).
    Either,
}

/// Draws one program, keeping the primal value of everything drawn so far (so that it can
/// place values next to domain edges).
pub(super) struct Generator<'a> {
    pub(super) rng: &'a mut ChaCha8Rng,
    pub(super) values: Vec<f64>,
    pub(super) operations: Vec<Operation>,
}

impl<'a> Generator<'a> {
    pub(super) fn draw(rng: &'a mut ChaCha8Rng) -> RandomProgram {
        let inputs = rng.random_range(1..=MAX_INPUTS);
        let mut generator = Generator {
            rng,
            values: Vec::new(),
            operations: Vec::new(),
        };
        for _ in 0..inputs {
            let x = generator.coordinate();
            generator.values.push(x);
        }
        let point = generator.values.clone();
        for _ in 0..generator.rng.random_range(OPERATIONS) {
            let operation = generator.operation();
            generator.push(operation);
        }
        let last = generator.values.len() - 1;
        let mut outputs = vec![last];
        for _ in 0..generator.rng.random_range(EXTRA_OUTPUTS) {
            outputs.push(generator.rng.random_range(0..=last));
        }
        RandomProgram {
            point,
            operations: generator.operations,
            outputs,
        }
    }

    /// Appends `operation` and returns the index of its value.
    pub(super) fn push(&mut self, operation: Operation) -> usize {
        let value = operation.apply(&self.values);
        self.values.push(value);
        self.operations.push(operation);
        self.values.len() - 1
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    pub(super) fn index(&mut self, range: Range<usize>) -> usize {
        self.rng.random_range(range)
    }

    /// An earlier value: one of the last three half of the time, any otherwise.
    pub(super) fn operand(&mut self) -> usize {
        let available = self.values.len();
        if self.chance(0.5) {
            available - 1 - self.index(0..available.min(3))
        } else {
            self.index(0..available)
        }
    }

    /// `a` itself a quarter of the time (an exact tie in a comparison), else any operand.
    pub(super) fn tie_or_operand(&mut self, a: usize) -> usize {
        if self.chance(0.25) {
            a
        } else {
            self.operand()
        }
    }

    /// A number in [-2, 2] with three decimals.
    pub(super) fn ordinary(&mut self) -> f64 {
        f64::from(self.rng.random_range(-2000..=2000_i32)) / 1000.0
    }

    /// A positive number in 1e-12 ..= 9e-3, written with one digit (`7e-5`).
    pub(super) fn tiny(&mut self) -> f64 {
        let digit: u32 = self.rng.random_range(1..=9);
        let exponent = self.rng.random_range(TINY_EXPONENTS);
        format!("{digit}e-{exponent}")
            .parse()
            .expect("a valid number")
    }

    pub(super) fn signed(&mut self, x: f64) -> f64 {
        if self.chance(0.5) {
            -x
        } else {
            x
        }
    }

    /// A coordinate: ordinary, integral, tiny, or equal to an earlier one.
    pub(super) fn coordinate(&mut self) -> f64 {
        match self.rng.random_range(0..20) {
            0..=11 => self.ordinary(),
            12..=14 => f64::from(self.rng.random_range(-2..=2_i32)),
            15..=16 => {
                let tiny = self.tiny();
                self.signed(tiny)
            }
            _ if !self.values.is_empty() => {
                let i = self.index(0..self.values.len());
                self.values[i]
            }
            _ => self.ordinary(),
        }
    }

    /// A constant: ordinary, integral, tiny, or one of the simplest.
    pub(super) fn constant(&mut self) -> f64 {
        match self.rng.random_range(0..20) {
            0..=9 => self.ordinary(),
            10..=13 => f64::from(self.rng.random_range(-3..=3_i32)),
            14..=16 => {
                let tiny = self.tiny();
                self.signed(tiny)
            }
            _ => self.pick(&SIMPLE_CONSTANTS),
        }
    }

    pub(super) fn nonzero_constant(&mut self) -> f64 {
        loop {
            let c = self.constant();
            if c != 0.0 {
                return c;
            }
        }
    }

    /// A `powi` exponent: small, up to 16 in magnitude, or large.
    pub(super) fn exponent(&mut self) -> i32 {
        match self.rng.random_range(0..10) {
            0..=5 => self.rng.random_range(-4..=5),
            6..=8 => {
                let n = self.rng.random_range(6..=16);
                if self.chance(0.5) {
                    -n
                } else {
                    n
                }
            }
            _ => self.pick(&[25, -25, 31, -31, 64, -64]),
        }
    }

    /// With probability `p`, a new value `a - c` at 1e-12 .. 1e-3 in magnitude (positive, or
    /// of either sign), else `a`.
    pub(super) fn near_edge(&mut self, a: usize, p: f64, positive: bool) -> usize {
        let side = if positive { Side::Above } else { Side::Either };
        self.near(a, p, 0.0, side)
    }

    /// With probability `p`, a new value `a - c` at 1e-12 .. 1e-3 from `edge` (on `side` of
    /// it), else `a`.
    pub(super) fn near(&mut self, a: usize, p: f64, edge: f64, side: Side) -> usize {
        if !self.chance(p) {
            return a;
        }
        let tiny = self.tiny();
        let offset = match side {
            Side::Above => tiny,
            Side::Below => -tiny,
            Side::Either => self.signed(tiny),
        };
        let c = self.values[a] - (edge + offset);
        self.push(Operation::Arith {
            op: Arith::Sub,
            assign: false,
            lhs: a,
            rhs: Rhs::Constant(c),
        })
    }

    pub(super) fn operation(&mut self) -> Operation {
        match self.rng.random_range(0..20) {
            0..=5 => self.arith(),
            6 => {
                let op = self.pick(&Binary::ALL);
                let a = self.operand();
                let b = self.operand();
                Operation::Binary { op, a, b }
            }
            7..=11 => self.unary(),
            12 => {
                let base = self.operand();
                let exponent = self.exponent();
                Operation::Powi { base, exponent }
            }
            13 => self.powf(),
            14 => {
                let a = self.operand();
                Operation::Max(a, self.tie_or_operand(a))
            }
            15 => {
                let a = self.operand();
                Operation::Min(a, self.tie_or_operand(a))
            }
            16 => Operation::Sum(self.operands()),
            17 => Operation::Product(self.operands()),
            18 => {
                let left = self.operand();
                Operation::Select {
                    left,
                    right: self.tie_or_operand(left),
                    then: self.operand(),
                    otherwise: self.operand(),
                }
            }
            _ => Operation::Constant(self.constant()),
        }
    }

    pub(super) fn operands(&mut self) -> Vec<usize> {
        let count = self.rng.random_range(2..=4);
        (0..count).map(|_| self.operand()).collect()
    }

    pub(super) fn arith(&mut self) -> Operation {
        let op = self.pick(&Arith::ALL);
        let assign = self.chance(0.3);
        let lhs = self.operand();
        let divides = op == Arith::Div;
        let constant = |g: &mut Self| {
            if divides {
                g.nonzero_constant()
            } else {
                g.constant()
            }
        };
        let rhs = match self.rng.random_range(0..10) {
            0..=4 => {
                let b = self.operand();
                Rhs::Value(if divides {
                    self.near_edge(b, 1.0 / 3.0, false)
                } else {
                    b
                })
            }
            5..=7 => Rhs::Constant(constant(self)),
            _ => Rhs::Lifted(constant(self)),
        };
        Operation::Arith {
            op,
            assign,
            lhs,
            rhs,
        }
    }

    pub(super) fn unary(&mut self) -> Operation {
        let op = self.pick(&Unary::ALL);
        let arg = self.operand();
        let arg = match op {
            Unary::Function(
                Elementary::Ln | Elementary::Sqrt | Elementary::Log2 | Elementary::Log10,
            ) => self.near_edge(arg, 0.25, true),
            Unary::Function(Elementary::Cbrt | Elementary::Recip) => {
                self.near_edge(arg, 0.25, false)
            }
            Unary::Function(Elementary::Asin | Elementary::Acos | Elementary::Atanh) => {
                if self.chance(0.5) {
                    self.near(arg, 0.25, 1.0, Side::Below)
                } else {
                    self.near(arg, 0.25, -1.0, Side::Above)
                }
            }
            Unary::Function(Elementary::Acosh) => self.near(arg, 0.25, 1.0, Side::Above),
            Unary::Function(Elementary::Ln1p) => self.near(arg, 0.25, -1.0, Side::Above),
            _ => arg,
        };
        Operation::Unary { op, arg }
    }

    pub(super) fn powf(&mut self) -> Operation {
        let base = self.operand();
        let base = self.near_edge(base, 0.25, true);
        let exponent = if self.chance(0.5) {
            Exponent::Value(self.operand())
        } else if self.chance(0.5) {
            Exponent::Constant(f64::from(self.rng.random_range(-4..=4_i32)))
        } else {
            Exponent::Constant(self.ordinary())
        };
        Operation::Powf { base, exponent }
    }
}
