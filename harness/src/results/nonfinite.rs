//! Non-finite numbers in JSON. JSON has no infinity or NaN, so dualbench writes them as the
//! strings `"inf"`, `"-inf"` and `"NaN"` (`docs/results.md`) and reads them back. Use as
//! `#[serde(with = "nonfinite")]` on an `f64` field, or `nonfinite::option` on an
//! `Option<f64>` field. The naive strategy's predicted path count, for one, overflows `f64` on
//! `fanout` at large sizes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Write `x` as a JSON number, or as `"inf"`, `"-inf"`, `"NaN"` when it is not finite.
pub fn serialize<S: Serializer>(x: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let x = *x;
    if x.is_finite() {
        serializer.serialize_f64(x)
    } else if x.is_nan() {
        serializer.serialize_str("NaN")
    } else if x > 0.0 {
        serializer.serialize_str("inf")
    } else {
        serializer.serialize_str("-inf")
    }
}

/// A number as JSON carries it: a number, or one of the strings for non-finite values.
#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Number(f64),
    Text(String),
}

impl Repr {
    fn into_f64<E: serde::de::Error>(self) -> Result<f64, E> {
        match self {
            Repr::Number(x) => Ok(x),
            Repr::Text(text) => match text.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "NaN" => Ok(f64::NAN),
                other => Err(E::custom(format!(
                    "expected a number or one of \"inf\", \"-inf\", \"NaN\"; got \"{other}\""
                ))),
            },
        }
    }
}

/// Read a number written by [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Repr::deserialize(deserializer)?.into_f64()
}

/// The same for `Option<f64>` (`null` is `None`).
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Repr;

    /// Write `None` as `null`, a value as [`super::serialize`] does.
    pub fn serialize<S: Serializer>(x: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => super::serialize(x, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Read a value written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Option::<Repr>::deserialize(deserializer)?
            .map(Repr::into_f64)
            .transpose()
    }
}

/// An `f64` as JSON: a number when finite, else the string `"NaN"`, `"inf"` or `"-inf"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JsonNumber(pub f64);

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

/// Wrap a slice of `f64` for JSON output.
pub fn json_numbers(values: &[f64]) -> Vec<JsonNumber> {
    values.iter().copied().map(JsonNumber).collect()
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "super")]
        x: f64,
        #[serde(with = "super::option")]
        y: Option<f64>,
    }

    #[test]
    fn non_finite_values_round_trip_through_json_as_strings() {
        for (x, y, text) in [
            (f64::INFINITY, None, r#"{"x":"inf","y":null}"#),
            (1.5, Some(f64::NEG_INFINITY), r#"{"x":1.5,"y":"-inf"}"#),
        ] {
            let row = Row { x, y };
            let json = serde_json::to_string(&row).unwrap();
            assert_eq!(json, text);
            assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
        }
        let nan: Row = serde_json::from_str(r#"{"x":"NaN","y":2}"#).unwrap();
        assert!(nan.x.is_nan());
        assert_eq!(nan.y, Some(2.0));
        assert!(serde_json::from_str::<Row>(r#"{"x":"huge","y":null}"#).is_err());
    }
}
