//! Reading one protocol line as JSON, strictly: a key that appears twice in one object is an
//! error naming the key and where it is (serde_json's own `Value` keeps the last silently, so
//! `{"x": [1], "x": [2]}` would pass as `[2]`), and the message's `id` can be read even from a
//! line whose other parts are not acceptable (a number beyond `f64`, a duplicated key, bytes
//! that are not UTF-8), so that such a line is answered with an error instead of skipped.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::gradbench::protocol::{json_kind, Id};

/// Where a value sits in the message, for error messages: built only when one is needed.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// The message itself.
    Message,
    /// The value of `key` in the object at the parent place.
    Key(&'a Place<'a>, &'a str),
    /// Entry `index` of the array at the parent place.
    Index(&'a Place<'a>, usize),
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Message => write!(f, "the message"),
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
            Place::Message => Ok(()),
            Place::Key(Place::Message, key) => write!(f, "{key}"),
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
/// path, and serde_json's line and column).
pub fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Strict {
        place: Place::Message,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Reads the top-level `id` of a message object and skips every other value unparsed (so a
/// number beyond `f64` elsewhere does not hide the `id`).
struct IdReader;

/// What [`IdReader`] found.
enum IdFound {
    /// The line is a JSON object; its `id` field, if any.
    Object(Option<Value>),
    /// The line is JSON of another kind ("an array", ...).
    NotAnObject(&'static str),
    /// The line is a JSON object with more than one `id`.
    SeveralIds,
}

impl<'de> Visitor<'de> for IdReader {
    type Value = IdFound;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdFound, A::Error> {
        let (mut id, mut several) = (None, false);
        while let Some(key) = map.next_key::<String>()? {
            if key == "id" && id.is_none() {
                id = Some(map.next_value::<Value>()?);
            } else {
                several |= key == "id";
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(if several {
            IdFound::SeveralIds
        } else {
            IdFound::Object(id)
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IdFound, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IdFound::NotAnObject("an array"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<IdFound, E> {
        Ok(IdFound::NotAnObject("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<IdFound, E> {
        Ok(IdFound::NotAnObject("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<IdFound, E> {
        Ok(IdFound::NotAnObject("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<IdFound, E> {
        Ok(IdFound::NotAnObject("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<IdFound, E> {
        Ok(IdFound::NotAnObject("a string"))
    }

    fn visit_unit<E>(self) -> Result<IdFound, E> {
        Ok(IdFound::NotAnObject("null"))
    }
}

/// The integer `id` of the message on the line `text`, or why the line has none that can be
/// read (then it cannot be answered).
pub fn message_id(text: &str) -> Result<Id, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let found = deserializer
        .deserialize_any(IdReader)
        .and_then(|found| deserializer.end().map(|()| found))
        .map_err(|e| format!("the line is not JSON ({e})"))?;
    match found {
        IdFound::SeveralIds => Err("the message has more than one `id`".into()),
        IdFound::NotAnObject(kind) => Err(format!("the line is JSON {kind}, not a message object")),
        IdFound::Object(None) => Err("the message has no `id`".into()),
        IdFound::Object(Some(Value::Number(n))) if n.is_i64() => {
            Ok(n.as_i64().expect("checked to be an i64"))
        }
        IdFound::Object(Some(Value::Number(n))) => Err(format!(
            "the message's `id` is {n}, not an integer of 64 bits"
        )),
        IdFound::Object(Some(other)) => Err(format!(
            "the message's `id` is {}, not an integer",
            json_kind(&other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_parsing_keeps_the_data_and_refuses_duplicated_keys_by_their_place() {
        let text = r#"{"id":1,"input":{"x":[1,2.5,{"a":null}]},"ok":true,"s":"é"}"#;
        assert_eq!(
            parse_strict(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        let e = parse_strict(r#"{"id":1,"id":2}"#).unwrap_err().to_string();
        assert!(e.contains("`id` appears twice in the message"), "{e}");
        let e = parse_strict(r#"{"id":1,"input":{"x":[1],"x":[2]}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`x` appears twice in `input`"), "{e}");
        let e = parse_strict(r#"{"input":{"points":[[0],{"a":1,"a":1}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`a` appears twice in `input.points[1]`"), "{e}");
        assert!(e.contains("column"), "{e}");
        let e = parse_strict("[1e400]").unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        assert!(parse_strict("{} x").is_err());
    }

    #[test]
    fn the_id_is_read_past_what_strict_parsing_refuses() {
        assert_eq!(message_id(r#"{"id":3,"input":{"x":[1e400]}}"#), Ok(3));
        assert_eq!(message_id(r#"{"input":{"x":[1],"x":[2]},"id":-4}"#), Ok(-4));
        assert_eq!(
            message_id(&json!({"id": i64::MAX}).to_string()),
            Ok(i64::MAX)
        );
        let why = |text: &str| message_id(text).unwrap_err();
        assert!(why(r#"{"id":1,"id":1}"#).contains("more than one `id`"));
        assert!(why(r#"{"kind":"start"}"#).contains("no `id`"));
        assert!(why(r#"{"id":"7"}"#).contains("a string, not an integer"));
        assert!(why(r#"{"id":1.5}"#).contains("1.5, not an integer"));
        assert!(why(r#"{"id":18446744073709551615}"#).contains("not an integer of 64 bits"));
        assert!(why("[1]").contains("JSON an array, not a message object"));
        assert!(why("not json").contains("not JSON"));
        assert!(why(r#"{"id":1"#).contains("not JSON"));
        assert!(why(r#"{"id":1} {"id":2}"#).contains("not JSON"));
    }
}
