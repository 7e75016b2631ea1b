//! What a bot may answer about a dialog (SPEC §11): a submission (`errors`, `error`, a next
//! `form`, or nothing), a lookup (`items`) and a refresh (a `form`). Read once when the bot
//! acknowledges (so that the bot is told at once what is wrong), and again where the person
//! waits, to turn it into Mattermost's answer.

use super::check_definition;
use super::definition::{Dialog, MAX_OPTIONS};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The longest error text, for one field or for the form (Mattermost's longest message).
pub(crate) const MAX_ERROR_CHARS: usize = 16_383;
/// The longest text or value of a looked-up item.
pub(crate) const MAX_ITEM_CHARS: usize = 3_000;

/// A bot's answer to a submission, read.
#[derive(Debug)]
pub(crate) enum SubmissionAnswer {
    /// The dialog closes.
    Close,
    /// The dialog stays open and shows these (Mattermost ignores everything else then).
    Errors {
        /// Above the fields.
        error: Option<String>,
        /// Beside each named field.
        errors: BTreeMap<String, String>,
    },
    /// The dialog shows this form next (multi-step dialogs); checked as an opened dialog.
    Form {
        /// As the bot wrote it.
        raw: Value,
        /// As a session keeps it.
        dialog: Dialog,
    },
}

/// Reads a bot's answer to a submission: `{}`, `{"type": "ok"}`, `{"errors": {…}}`,
/// `{"error": "…"}`, or `{"type": "form", "form": {…}}`.
pub(crate) fn read_submission_answer(answer: &RawValue) -> Result<SubmissionAnswer, String> {
    let fields = object(answer)?;
    for key in fields.keys() {
        if !matches!(key.as_str(), "errors" | "error" | "type" | "form") {
            return Err(format!(
                "`{key}` is not part of a dialog answer (errors, error, type, form)"
            ));
        }
    }
    let error = match fields.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(bounded(s, "`error`")?.to_owned()),
        Some(_) => return Err("`error` must be text".into()),
    };
    let mut errors = BTreeMap::new();
    match fields.get("errors") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            if map.len() > super::definition::MAX_ELEMENTS {
                return Err(format!(
                    "`errors` names {} fields; a dialog has at most {}",
                    map.len(),
                    super::definition::MAX_ELEMENTS
                ));
            }
            for (field, message) in map {
                let Value::String(message) = message else {
                    return Err(format!("`errors.{field}` must be text"));
                };
                bounded(message, "an error")?;
                errors.insert(field.clone(), message.clone());
            }
        }
        Some(_) => return Err("`errors` must be an object of field names to texts".into()),
    }
    if error.is_some() || !errors.is_empty() {
        return Ok(SubmissionAnswer::Errors { error, errors });
    }
    let kind = match fields.get("type") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("`type` must be text".into()),
    };
    match (kind, fields.get("form")) {
        ("" | "ok", None | Some(Value::Null)) => Ok(SubmissionAnswer::Close),
        ("" | "ok", Some(_)) => Err("a `form` needs `\"type\": \"form\"`".into()),
        ("form", Some(form @ Value::Object(_))) => read_form(form),
        ("form", _) => Err("`\"type\": \"form\"` needs a `form` (a dialog definition)".into()),
        (other, _) => Err(format!(
            "`type` {other:?} is not one of \"ok\", \"form\" (\"navigate\" needs a URL the plugin does not have)"
        )),
    }
}

/// Reads a bot's answer to a refresh: `{"type": "form", "form": {…}}` (the form redrawn), or
/// `{}` (the form unchanged).
pub(crate) fn read_refresh_answer(answer: &RawValue) -> Result<Option<SubmissionAnswer>, String> {
    match read_submission_answer(answer)? {
        SubmissionAnswer::Close => Ok(None),
        form @ SubmissionAnswer::Form { .. } => Ok(Some(form)),
        SubmissionAnswer::Errors { .. } => {
            Err("a refresh is answered with a `form`, or `{}` to keep the form as it is".into())
        }
    }
}

fn read_form(form: &Value) -> Result<SubmissionAnswer, String> {
    let raw = to_raw_value(form).expect("a JSON value serializes");
    let dialog = check_definition(&raw).map_err(|e| format!("the next form: {e}"))?;
    Ok(SubmissionAnswer::Form {
        raw: form.clone(),
        dialog,
    })
}

/// Reads a bot's answer to a lookup: `{"items": [{"text", "value"}, …]}`; the items to show.
pub(crate) fn read_lookup_answer(answer: &RawValue) -> Result<Vec<Value>, String> {
    let fields = object(answer)?;
    if let Some(key) = fields.keys().find(|k| k.as_str() != "items") {
        return Err(format!("`{key}` is not part of a lookup answer (items)"));
    }
    let items = match fields.get("items") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("`items` must be a list of {text, value}".into()),
    };
    if items.len() > MAX_OPTIONS {
        return Err(format!(
            "`items` has {} entries; a menu shows at most {MAX_OPTIONS}",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = |key: &str| match item.get(key) {
                Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_ITEM_CHARS => {
                    Ok(s.clone())
                }
                _ => Err(format!(
                    "`items[{i}].{key}` must be text of 1 to {MAX_ITEM_CHARS} characters"
                )),
            };
            let value = text("value")?;
            let text = match item.get("text") {
                None | Some(Value::Null) => value.clone(),
                Some(_) => text("text")?,
            };
            Ok(serde_json::json!({"text": text, "value": value}))
        })
        .collect()
}

fn object(answer: &RawValue) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(answer.get()) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err("the answer must be a JSON object".into()),
    }
}

fn bounded<'a>(text: &'a str, what: &str) -> Result<&'a str, String> {
    match text.chars().count() <= MAX_ERROR_CHARS {
        true => Ok(text),
        false => Err(format!(
            "{what} must be at most {MAX_ERROR_CHARS} characters"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<SubmissionAnswer, String> {
        read_submission_answer(&to_raw_value(&v).unwrap())
    }

    #[test]
    fn a_submission_answer_closes_shows_errors_or_leads_on() {
        assert!(matches!(read(json!({})), Ok(SubmissionAnswer::Close)));
        assert!(matches!(
            read(json!({"type": "ok"})),
            Ok(SubmissionAnswer::Close)
        ));
        let Ok(SubmissionAnswer::Errors { error, errors }) =
            read(json!({"errors": {"reason": "Too short"}, "type": "form"}))
        else {
            panic!("errors win over everything else, as in Mattermost")
        };
        assert_eq!(error, None);
        assert_eq!(errors["reason"], "Too short");
        let form = json!({"type": "form", "form": {"callback_id": "step2", "title": "Step 2",
            "elements": [{"display_name": "Why", "name": "why", "type": "text"}]}});
        assert!(matches!(read(form), Ok(SubmissionAnswer::Form { .. })));
    }

    #[test]
    fn a_bad_submission_answer_says_what_is_wrong() {
        for (bad, says) in [
            (json!([]), "JSON object"),
            (json!({"goto": "x"}), "`goto`"),
            (json!({"errors": ["x"]}), "`errors`"),
            (json!({"errors": {"a": 1}}), "`errors.a`"),
            (json!({"error": 5}), "`error`"),
            (json!({"type": "navigate"}), "navigate"),
            (json!({"type": "form"}), "needs a `form`"),
            (json!({"form": {}}), "needs `\"type\": \"form\"`"),
            (
                json!({"type": "form", "form": {"title": "", "elements": []}}),
                "the next form",
            ),
            (json!({"error": "x".repeat(MAX_ERROR_CHARS + 1)}), "at most"),
        ] {
            let e = read(bad.clone()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn lookup_items_are_checked_and_bounded() {
        let read = |v: Value| read_lookup_answer(&to_raw_value(&v).unwrap());
        assert_eq!(
            read(json!({"items": [{"text": "Berlin", "value": "ber"}, {"value": "par"}]})).unwrap(),
            vec![
                json!({"text": "Berlin", "value": "ber"}),
                json!({"text": "par", "value": "par"})
            ]
        );
        assert!(read(json!({})).unwrap().is_empty());
        let many: Vec<Value> = (0..=MAX_OPTIONS)
            .map(|i| json!({"value": i.to_string()}))
            .collect();
        assert!(read(json!({ "items": many }))
            .unwrap_err()
            .contains("at most"));
        assert!(read(json!({"items": [{"text": "x"}]}))
            .unwrap_err()
            .contains("items[0].value"));
        assert!(read(json!({"items": [{"value": 3}]})).is_err());
        assert!(read(json!({"options": []})).is_err());
    }
}
