//! JSON helpers the rules share.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Whether two JSON values are equal, comparing numbers by value.
///
/// Mattermost re-encodes a context through Go's `float64`, so `1`, `1.0` and `1e0` must count as
/// the same number; serde_json alone would tell an integer from a float.
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => same_object_except(x, y, None),
        // The plugin RPC (gob) turns an empty array into null on its way to the plugin, so a
        // stored post read through the plugin API has null where Mattermost's own request
        // has []: the two must count as the same.
        (Value::Null, Value::Array(x)) | (Value::Array(x), Value::Null) => x.is_empty(),
        _ => a == b,
    }
}

/// Whether two objects are equal (see [`same_value`]) once the key `skip` is set aside in both.
pub(crate) fn same_object_except(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    skip: Option<&str>,
) -> bool {
    let counts =
        |m: &Map<String, Value>| m.len() - usize::from(skip.is_some_and(|k| m.contains_key(k)));
    counts(a) == counts(b)
        && a.iter()
            .filter(|(k, _)| Some(k.as_str()) != skip)
            .all(|(k, v)| b.get(k).is_some_and(|w| same_value(v, w)))
}

/// Any JSON value, checked but not kept: every number must fit a double (Go and the server
/// decode numbers into one; `1e400` would reach the bot as an error), strings must be valid,
/// nesting must stay within serde_json's limit. Nothing is allocated but escaped strings.
pub(crate) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// A short description of a JSON value's type, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checked_accepts_any_json_and_refuses_what_a_double_cannot_hold() {
        for ok in [
            "1",
            "null",
            r#"{"a":[1,{"b":[]},"é\u00e9",-2.5e10,true]}"#,
            "18446744073709551615",
        ] {
            assert!(serde_json::from_str::<Checked>(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1e400",
            "[1,",
            r#""\ud800""#,
            &("[".repeat(200) + &"]".repeat(200)),
        ] {
            assert!(serde_json::from_str::<Checked>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same_value(&json!(1), &json!(1.0)));
        assert!(same_value(
            &json!({"a": [1, 2.5]}),
            &json!({"a": [1.0, 2.5]})
        ));
        assert!(!same_value(&json!(1), &json!(2)));
        assert!(!same_value(&json!(u64::MAX), &json!(-1)));
    }

    #[test]
    fn an_empty_array_equals_the_null_gob_makes_of_it() {
        assert!(same_value(
            &json!({"v": [], "w": [1, []]}),
            &json!({"v": null, "w": [1, null]})
        ));
        assert!(!same_value(&json!([1]), &json!(null)));
        assert!(!same_value(&json!({}), &json!(null)));
    }

    #[test]
    fn objects_compare_deeply_and_can_skip_one_key() {
        let a = json!({"x": {"y": [null, true, "é"]}, "selected_option": "a"});
        let b = json!({"x": {"y": [null, true, "é"]}});
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        assert!(!same_object_except(a, b, None));
        assert!(same_object_except(a, b, Some("selected_option")));
        assert!(same_object_except(b, a, Some("selected_option")));
        let c = json!({"x": {"y": [null, false, "é"]}});
        assert!(!same_object_except(
            a,
            c.as_object().unwrap(),
            Some("selected_option")
        ));
    }
}
