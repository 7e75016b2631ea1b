//! What the trip from Mattermost to the bot does to JSON, in one place.
//!
//! Between the click and the bot, values cross Mattermost's plugin RPC (gob), which turns an
//! empty array into `null`, and Go's `encoding/json` with `float64` numbers, so integers beyond
//! 2^53 change. The same rules decide whether a click's context matches the stored post
//! ([`same_value`]), what the lint warns about ([`change`]) and what the preview shows
//! ([`as_delivered`]).

use serde_json::{Map, Number, Value};

/// Integers beyond this lose precision in Go's `float64`.
pub(crate) const MAX_EXACT_INT: u64 = 1 << 53;

/// What the trip does to one value (not counting its children).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// `[]` arrives as `null`.
    EmptyArrayBecomesNull,
    /// An integer beyond 2^53 arrives as the nearest `float64`.
    NumberRounded,
}

/// What the trip changes about `value` itself, if anything.
pub(crate) fn change(value: &Value) -> Option<Change> {
    match value {
        Value::Array(a) if a.is_empty() => Some(Change::EmptyArrayBecomesNull),
        Value::Number(n) if !is_exact(n) => Some(Change::NumberRounded),
        _ => None,
    }
}

/// Whether a `float64` holds `n` exactly.
fn is_exact(n: &Number) -> bool {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u <= MAX_EXACT_INT,
        (None, Some(i)) => i.unsigned_abs() <= MAX_EXACT_INT,
        _ => true,
    }
}

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
        (Value::Object(x), Value::Object(y)) => same_object_except(x, y, &[]),
        // A stored post read through the plugin API has null where Mattermost's own request
        // has []: the two must count as the same.
        (Value::Null, Value::Array(x)) | (Value::Array(x), Value::Null) => x.is_empty(),
        _ => a == b,
    }
}

/// Whether two objects are equal (see [`same_value`]) once the key `skip` is set aside in both.
pub(crate) fn same_object_except(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    skip: &[&str],
) -> bool {
    let counts =
        |m: &Map<String, Value>| m.len() - skip.iter().filter(|k| m.contains_key(**k)).count();
    counts(a) == counts(b)
        && a.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, v)| b.get(k).is_some_and(|w| same_value(v, w)))
}

/// `value` as the bot receives it: `[]` becomes `null`, numbers become `float64`, which Go
/// writes without a fraction when integral.
pub(crate) fn as_delivered(value: &mut Value) {
    match value {
        Value::Array(a) if a.is_empty() => *value = Value::Null,
        Value::Array(a) => a.iter_mut().for_each(as_delivered),
        Value::Object(o) => o.values_mut().for_each(as_delivered),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or_default();
            *value = if f.fract() == 0.0 && f.abs() < 9e18 {
                if f < 0.0 {
                    Value::from(f as i64)
                } else {
                    Value::from(f as u64)
                }
            } else {
                Value::from(f)
            };
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn objects_compare_deeply_and_can_skip_keys() {
        let a = json!({"x": {"y": [null, true, "é"]}, "selected_option": "a"});
        let b = json!({"x": {"y": [null, true, "é"]}});
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        assert!(!same_object_except(a, b, &[]));
        assert!(same_object_except(a, b, &["selected_option"]));
        assert!(same_object_except(b, a, &["selected_option"]));
        let c = json!({"x": {"y": [null, false, "é"]}});
        assert!(!same_object_except(
            a,
            c.as_object().unwrap(),
            &["selected_option"]
        ));
    }

    #[test]
    fn the_lint_and_the_preview_see_the_same_changes() {
        let big: Value = serde_json::from_str("9007199254740993").unwrap();
        assert_eq!(change(&big), Some(Change::NumberRounded));
        assert_eq!(change(&json!(9007199254740992u64)), None);
        assert_eq!(change(&json!(-9007199254740992i64)), None);
        assert_eq!(change(&json!([])), Some(Change::EmptyArrayBecomesNull));
        assert_eq!(change(&json!([1])), None);
        let mut v = json!({"a": [], "n": big, "f": 1.0, "x": [[]]});
        as_delivered(&mut v);
        assert_eq!(
            v,
            json!({"a": null, "n": 9007199254740992u64, "f": 1, "x": [null]})
        );
    }
}
