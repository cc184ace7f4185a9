//! JSON read strictly, for the files and messages people write by hand: a key that appears
//! twice in one object is an error naming the key and where it is — serde_json's own `Value`
//! keeps the last silently, so `{"x": [1], "x": [2]}` would pass as `[2]`, and which of two
//! values was meant would be a guess. Shared by the results reader (`results.json`) and the
//! GradBench protocol (one message per line).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Where a value sits in the document, for error messages: built only when one is needed.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// The document itself, called by this name ("the message", "the file").
    Root(&'a str),
    /// The value of `key` in the object at the parent place.
    Key(&'a Place<'a>, &'a str),
    /// Entry `index` of the array at the parent place.
    Index(&'a Place<'a>, usize),
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Root(name) => write!(f, "{name}"),
            Place::Key(..) | Place::Index(..) => {
                write!(f, "`")?;
                self.path(f)?;
                write!(f, "`")
            }
        }
    }
}

impl Place<'_> {
    /// `input.x[3]`.
    fn path(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Root(_) => Ok(()),
            Place::Key(Place::Root(_), key) => write!(f, "{key}"),
            Place::Key(parent, key) => {
                parent.path(f)?;
                write!(f, ".{key}")
            }
            Place::Index(parent, index) => {
                parent.path(f)?;
                write!(f, "[{index}]")
            }
        }
    }
}

/// Builds a [`Value`] as serde_json does, but refuses a key that appears twice in an object.
#[derive(Clone, Copy)]
struct Strict<'a> {
    place: Place<'a>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{} is {v}, not a finite number", self.place)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let place = Place::Index(&self.place, items.len());
            match seq.next_element_seed(Strict { place })? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key `{key}` appears twice in {}; each key may appear once",
                    self.place
                )));
            }
            let value = map.next_value_seed(Strict {
                place: Place::Key(&self.place, &key),
            })?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

/// `text` as a JSON value, every object's keys distinct; the error names the place (the key
/// path from `root`, the document's name in messages, and serde_json's line and column).
pub fn parse(text: &str, root: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Strict {
        place: Place::Root(root),
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// What kind of JSON value `value` is, for messages: "object", "array", "string", "number",
/// "boolean" or "null".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// [`kind`] with its article ("an object", "a number"; "null" alone).
pub fn kind_with_article(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
