//! Shrinking a disagreement to the smallest program that still shows it.

use super::*;

/// The smallest program reachable from `program` by the steps of the module documentation
/// ("Shrinking") along which `still_fails` stays true: the first smaller candidate that still
/// fails replaces the program, until none does. `still_fails(program)` is assumed.
pub fn shrink(
    program: &RandomProgram,
    mut still_fails: impl FnMut(&RandomProgram) -> bool,
) -> RandomProgram {
    let mut current = program.clone();
    while let Some(smaller) = smaller_programs(&current)
        .into_iter()
        .find(|candidate| still_fails(candidate))
    {
        current = smaller;
    }
    current
}

/// Every program one shrinking step away, the largest reductions first.
pub(super) fn smaller_programs(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut candidates = without_each_output(p);
    candidates.extend(without_each_operation(p));
    candidates.extend(without_each_input(p));
    candidates.extend(without_each_term(p));
    candidates.extend(with_simpler_exponents(p));
    candidates.extend(with_simpler_constants(p));
    candidates
}

pub(super) fn without_each_output(p: &RandomProgram) -> Vec<RandomProgram> {
    if p.outputs.len() < 2 {
        return Vec::new();
    }
    (0..p.outputs.len())
        .map(|j| {
            let mut q = p.clone();
            q.outputs.remove(j);
            q
        })
        .collect()
}

/// `p` with every value index rewritten by `map`.
pub(super) fn remapped(p: &RandomProgram, map: impl Fn(usize) -> usize) -> RandomProgram {
    let mut q = p.clone();
    for operation in &mut q.operations {
        for operand in operation.operands_mut() {
            *operand = map(*operand);
        }
    }
    for output in &mut q.outputs {
        *output = map(*output);
    }
    q
}

pub(super) fn without_each_operation(p: &RandomProgram) -> Vec<RandomProgram> {
    let n = p.point.len();
    let mut candidates = Vec::new();
    for k in (0..p.operations.len()).rev() {
        let removed = n + k;
        let mut replacements = p.operations[k].operands();
        replacements.push(0);
        replacements.sort_unstable();
        replacements.dedup();
        for replacement in replacements {
            let mut q = remapped(p, |v| match v {
                v if v == removed => replacement,
                v if v > removed => v - 1,
                v => v,
            });
            q.operations.remove(k);
            candidates.push(q);
        }
    }
    candidates
}

pub(super) fn without_each_input(p: &RandomProgram) -> Vec<RandomProgram> {
    let n = p.point.len();
    if n < 2 {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let replacement = if i == 0 { 1 } else { 0 };
            let mut q = remapped(p, |v| {
                let v = if v == i { replacement } else { v };
                if v > i {
                    v - 1
                } else {
                    v
                }
            });
            q.point.remove(i);
            q
        })
        .collect()
}

pub(super) fn without_each_term(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut candidates = Vec::new();
    for (k, operation) in p.operations.iter().enumerate() {
        if let Operation::Sum(terms) | Operation::Product(terms) = operation {
            for t in 0..terms.len() {
                let mut q = p.clone();
                if let Operation::Sum(terms) | Operation::Product(terms) = &mut q.operations[k] {
                    terms.remove(t);
                }
                candidates.push(q);
            }
        }
    }
    candidates
}

/// How complex an exponent is: its magnitude, negative ones a little more.
pub(super) fn exponent_complexity(n: i32) -> u64 {
    2 * u64::from(n.unsigned_abs()) + u64::from(n < 0)
}

pub(super) fn with_simpler_exponents(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut candidates = Vec::new();
    for (k, operation) in p.operations.iter().enumerate() {
        if let Operation::Powi { exponent, .. } = *operation {
            for simpler in [0, 1, -1, 2, -2, exponent / 2] {
                if exponent_complexity(simpler) < exponent_complexity(exponent) {
                    let mut q = p.clone();
                    if let Operation::Powi { exponent, .. } = &mut q.operations[k] {
                        *exponent = simpler;
                    }
                    candidates.push(q);
                }
            }
        }
    }
    candidates
}

/// How complex a constant is: its position among [`SIMPLE_CONSTANTS`], else longer than all
/// of them by the length of its shortest decimal form.
pub(super) fn constant_complexity(c: f64) -> usize {
    SIMPLE_CONSTANTS
        .iter()
        .position(|&s| s == c)
        .unwrap_or_else(|| SIMPLE_CONSTANTS.len() + format!("{c:?}").len())
}

/// Simpler replacements for `c`: the simplest constants, its rounding to an integer and to one
/// significant digit, each only if simpler than `c`.
pub(super) fn simpler_constants(c: f64) -> Vec<f64> {
    let one_digit = format!("{c:.0e}").parse().unwrap_or(c);
    SIMPLE_CONSTANTS
        .into_iter()
        .chain([c.round(), one_digit])
        .filter(|&s| constant_complexity(s) < constant_complexity(c))
        .collect()
}

/// Every real constant of `p` (coordinates first), each with whether it must stay nonzero.
pub(super) fn constants_mut(p: &mut RandomProgram) -> Vec<(&mut f64, bool)> {
    let mut constants: Vec<(&mut f64, bool)> = p.point.iter_mut().map(|x| (x, false)).collect();
    for operation in &mut p.operations {
        constants.extend(operation.constants_mut());
    }
    constants
}

pub(super) fn with_simpler_constants(p: &RandomProgram) -> Vec<RandomProgram> {
    let mut probe = p.clone();
    let current: Vec<(f64, bool)> = constants_mut(&mut probe)
        .into_iter()
        .map(|(c, nonzero)| (*c, nonzero))
        .collect();
    let mut candidates = Vec::new();
    for (slot, &(c, nonzero)) in current.iter().enumerate() {
        for simpler in simpler_constants(c) {
            if nonzero && simpler == 0.0 {
                continue;
            }
            let mut q = p.clone();
            *constants_mut(&mut q)[slot].0 = simpler;
            candidates.push(q);
        }
    }
    candidates
}
