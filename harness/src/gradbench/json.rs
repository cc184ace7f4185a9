//! Reading one protocol line as JSON, strictly: a key that appears twice in one object is an
//! error naming the key and where it is (serde_json's own `Value` keeps the last silently, so
//! `{"x": [1], "x": [2]}` would pass as `[2]`), and the message's `id` can be read even from a
//! line whose other parts are not acceptable (a number beyond `f64`, a duplicated key, bytes
//! that are not UTF-8), so that such a line is answered with an error instead of skipped.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::gradbench::protocol::Id;
use crate::strict_json;
use crate::strict_json::kind_with_article as json_kind;

/// `text` as a JSON message, every object's keys distinct ([`strict_json::parse`]).
pub fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    strict_json::parse(text, "the message")
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
