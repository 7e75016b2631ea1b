//! Dialog forms: what a definition may say (Mattermost's rules, stricter where Mattermost only
//! warns) and what a submission may carry. Rules only: the dialog endpoints and the delivery
//! layer (which checks a bot's next form) both use them.

pub(crate) mod answer;
pub(crate) mod definition;
mod formats;
pub(crate) mod submission;

use crate::refusal::Refusal;
use definition::{spelling_problems, Dialog};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The most a session may take in the KV store; a definition whose session would be larger is
/// refused when the dialog is opened.
pub(crate) const MAX_SESSION_BYTES: usize = 256 << 10;

/// The definition, checked as Mattermost reads it, and small enough to keep.
pub(crate) fn check_definition(raw: &RawValue) -> Result<Dialog, Refusal> {
    let value: Value = serde_json::from_str(raw.get()).map_err(|e| Refusal::InvalidDialog {
        problems: vec![e.to_string()],
    })?;
    let mut problems = spelling_problems(&value);
    let dialog = match Dialog::deserialize(&value) {
        Ok(dialog) => {
            problems.extend(dialog.problems());
            Some(dialog)
        }
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    match dialog {
        Some(dialog) if problems.is_empty() => {
            let size = serde_json::to_vec(&dialog).map_or(usize::MAX, |v| v.len());
            if size > MAX_SESSION_BYTES {
                return Err(Refusal::InvalidDialog {
                    problems: vec![format!(
                        "the dialog's names, values and options take {size} bytes; the plugin keeps at most {MAX_SESSION_BYTES}"
                    )],
                });
            }
            Ok(dialog)
        }
        _ => Err(Refusal::InvalidDialog { problems }),
    }
}

/// Points each dynamic select of `dialog` that names no `data_source_url` at `lookup_url`
/// (the session's lookup path: the bot gives the options); the names of those selects.
pub(crate) fn bind_lookups(dialog: &mut Value, lookup_url: &str) -> Vec<String> {
    let Some(Value::Array(elements)) = dialog.get_mut("elements") else {
        return Vec::new();
    };
    let mut bound = Vec::new();
    for element in elements.iter_mut().filter_map(Value::as_object_mut) {
        let dynamic = element.get("data_source").and_then(Value::as_str) == Some("dynamic");
        let unset = element
            .get("data_source_url")
            .is_none_or(|u| u.is_null() || u == "");
        if dynamic && unset {
            element.insert("data_source_url".into(), Value::from(lookup_url));
            if let Some(Value::String(name)) = element.get("name") {
                bound.push(name.clone());
            }
        }
    }
    bound
}
