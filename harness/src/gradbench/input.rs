//! Reading an `evaluate` message's `input`: its fields checked against the module's input type,
//! every error naming the field and what it should be, and its `Runs` (`min_runs`,
//! `min_seconds`) bounded.

use serde_json::{Map, Value};

use crate::strict_json::kind_with_article as json_kind;

/// The most runs one evaluation makes: each run is one timing in the response (this many
/// make a response of about 4 MB), so a larger `min_runs` is refused, and a `min_seconds` of
/// a fast function stops here (with a note on stderr) instead of filling the memory with
/// timings.
pub const MAX_RUNS: u64 = 100_000;

/// The largest `min_seconds` accepted: ten minutes. GradBench's evals ask for a second or so;
/// a larger value is a mistake that would hold the session for hours.
pub const MAX_MIN_SECONDS: f64 = 600.0;

/// How often to run a function: GradBench's `Runs` fields of the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Runs {
    /// At least this many runs (1 ..= [`MAX_RUNS`]).
    pub min_runs: u64,
    /// And until the runs together took this long (0 ..= [`MAX_MIN_SECONDS`]), or
    /// [`MAX_RUNS`] runs were made.
    pub min_seconds: f64,
}

impl Runs {
    /// The `min_runs` and `min_seconds` of an input object (1 run and 0 s when absent or when
    /// the input is not an object).
    pub fn of(input: &Value) -> Result<Runs, String> {
        let Value::Object(fields) = input else {
            return Ok(Runs {
                min_runs: 1,
                min_seconds: 0.0,
            });
        };
        let min_runs = match fields.get("min_runs") {
            None => 1,
            Some(v) => match v.as_u64() {
                Some(runs) if runs <= MAX_RUNS => runs.max(1),
                Some(runs) => {
                    return Err(format!(
                        "input field `min_runs` is {runs}, beyond the {MAX_RUNS} runs one \
                         evaluation makes (each run is one timing of the response)"
                    ))
                }
                None => {
                    return Err(format!(
                        "input field `min_runs` must be an integer from 0 to {MAX_RUNS}, not {v} \
                         ({})",
                        json_kind(v)
                    ))
                }
            },
        };
        let min_seconds = match fields.get("min_seconds") {
            None => 0.0,
            Some(v) => match v.as_f64() {
                Some(s) if (0.0..=MAX_MIN_SECONDS).contains(&s) => s,
                _ => {
                    return Err(format!(
                        "input field `min_seconds` must be a number of seconds from 0 to \
                         {MAX_MIN_SECONDS}, not {v}"
                    ))
                }
            },
        };
        Ok(Runs {
            min_runs,
            min_seconds,
        })
    }
}

/// The input object's fields, or an error naming the module's input type.
pub fn fields<'a>(module: &str, input: &'a Value) -> Result<&'a Map<String, Value>, String> {
    input.as_object().ok_or_else(|| {
        format!(
            "the `{module}` input must be an object, not {}",
            json_kind(input)
        )
    })
}

/// The field `name`, present.
pub fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    fields
        .get(name)
        .ok_or_else(|| format!("the input has no field `{name}`"))
}

/// The field `name` as an integer of at least `min`.
pub fn integer(fields: &Map<String, Value>, name: &str, min: u64) -> Result<usize, String> {
    let value = field(fields, name)?;
    match value.as_u64() {
        Some(n) if n >= min => usize::try_from(n)
            .map_err(|_| format!("input field `{name}` is {n}, beyond this machine's sizes")),
        _ => Err(format!(
            "input field `{name}` must be an integer of at least {min}, not {value}"
        )),
    }
}

/// The field `name` as an array of numbers, of `len` entries when given.
pub fn numbers(
    fields: &Map<String, Value>,
    name: &str,
    len: Option<usize>,
) -> Result<Vec<f64>, String> {
    number_array(field(fields, name)?, name, len)
}

/// The field `name` as a non-empty array of numbers.
pub fn nonempty_numbers(fields: &Map<String, Value>, name: &str) -> Result<Vec<f64>, String> {
    let x = numbers(fields, name, None)?;
    if x.is_empty() {
        return Err(format!("`{name}` must have at least one number"));
    }
    Ok(x)
}

/// `value` as an array of numbers, of `len` entries when given; `what` names it in errors.
fn number_array(value: &Value, what: &str, len: Option<usize>) -> Result<Vec<f64>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "`{what}` must be an array of numbers, not {}",
            json_kind(value)
        ));
    };
    if let Some(len) = len {
        if items.len() != len {
            return Err(format!(
                "`{what}` must have {len} numbers, not {}",
                items.len()
            ));
        }
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_f64()
                .ok_or_else(|| format!("`{what}[{i}]` must be a number, not {}", json_kind(item)))
        })
        .collect()
}

/// The field `name` as `rows` arrays of `columns` numbers each, flattened row by row; `rows`
/// and `columns` free when `None` (then every row has the first row's length). Returns the
/// rows found and the numbers.
pub fn matrix(
    fields: &Map<String, Value>,
    name: &str,
    rows: Option<usize>,
    columns: Option<usize>,
) -> Result<(usize, Vec<f64>), String> {
    let value = field(fields, name)?;
    let Value::Array(items) = value else {
        return Err(format!(
            "`{name}` must be an array of arrays of numbers, not {}",
            json_kind(value)
        ));
    };
    if let Some(rows) = rows {
        if items.len() != rows {
            return Err(format!(
                "`{name}` must have {rows} rows, not {}",
                items.len()
            ));
        }
    }
    let mut width = columns;
    let mut flat = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let row = number_array(item, &format!("{name}[{i}]"), width)?;
        width = Some(row.len());
        flat.extend(row);
    }
    Ok((items.len(), flat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_are_bounded_and_every_refusal_names_the_field_and_the_bound() {
        let runs = |input: Value| Runs::of(&input);
        assert_eq!(
            runs(json!({"min_runs": 0, "min_seconds": 0.5})),
            Ok(Runs {
                min_runs: 1,
                min_seconds: 0.5
            })
        );
        assert_eq!(
            runs(json!(3.0)),
            Ok(Runs {
                min_runs: 1,
                min_seconds: 0.0
            })
        );
        assert_eq!(
            runs(json!({"min_runs": MAX_RUNS})).unwrap().min_runs,
            MAX_RUNS
        );
        let e = runs(json!({"min_runs": 1_000_000_000_000u64})).unwrap_err();
        assert!(
            e.contains("`min_runs` is 1000000000000, beyond the 100000 runs"),
            "{e}"
        );
        let e = runs(json!({"min_runs": 1e12})).unwrap_err();
        assert!(
            e.contains("`min_runs` must be an integer from 0 to 100000"),
            "{e}"
        );
        let e = runs(json!({"min_runs": -1})).unwrap_err();
        assert!(e.contains("not -1"), "{e}");
        let e = runs(json!({"min_seconds": 1e12})).unwrap_err();
        assert!(
            e.contains("`min_seconds` must be a number of seconds from 0 to 600"),
            "{e}"
        );
        assert!(runs(json!({"min_seconds": -0.5})).is_err());
        assert!(runs(json!({"min_seconds": "1"})).is_err());
    }

    #[test]
    fn fields_are_checked_against_their_type_by_name() {
        let input = json!({"x": [1, 2.5], "n": 3, "m": [[1, 2], [3]], "s": "no"});
        let f = fields("lse", &input).unwrap();
        assert_eq!(numbers(f, "x", None), Ok(vec![1.0, 2.5]));
        assert!(numbers(f, "x", Some(3))
            .unwrap_err()
            .contains("must have 3 numbers, not 2"));
        assert!(numbers(f, "s", None).unwrap_err().contains("not a string"));
        assert!(field(f, "y").unwrap_err().contains("no field `y`"));
        assert_eq!(integer(f, "n", 1), Ok(3));
        assert!(integer(f, "n", 4)
            .unwrap_err()
            .contains("at least 4, not 3"));
        let e = matrix(f, "m", None, None).unwrap_err();
        assert!(e.contains("`m[1]` must have 2 numbers, not 1"), "{e}");
        assert!(fields("lse", &json!([1]))
            .unwrap_err()
            .contains("not an array"));
        let empty = json!({"x": []});
        let e = nonempty_numbers(fields("lse", &empty).unwrap(), "x").unwrap_err();
        assert!(e.contains("at least one number"), "{e}");
    }
}
