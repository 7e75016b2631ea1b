//! The walk through a post's props: where its actions are, and the findings collected on the way.

use super::{Finding, Severity};
use crate::json::type_name;
use serde_json::{Map, Value};

/// The JSON types the lint checks fields against.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    String,
    Object,
    Array,
}

/// The findings so far.
#[derive(Default)]
pub(super) struct Lint(pub(super) Vec<Finding>);

impl Lint {
    fn push(
        &mut self,
        path: &str,
        severity: Severity,
        code: &'static str,
        message: String,
        fix: &str,
    ) {
        self.0.push(Finding {
            path: path.to_owned(),
            severity,
            code,
            message,
            fix: fix.to_owned(),
        });
    }

    pub(super) fn error(&mut self, path: &str, code: &'static str, message: String, fix: &str) {
        self.push(path, Severity::Error, code, message, fix);
    }

    pub(super) fn warn(&mut self, path: &str, code: &'static str, message: String, fix: &str) {
        self.push(path, Severity::Warning, code, message, fix);
    }

    /// `value` when it has the type Mattermost reads it as; `None` when missing or `null` (Go
    /// leaves the field empty); a `wrong_type` error otherwise, since Mattermost then cannot read
    /// the attachment at all and drops it with all its buttons.
    pub(super) fn typed<'a>(
        &mut self,
        value: Option<&'a Value>,
        path: &str,
        kind: Kind,
    ) -> Option<&'a Value> {
        let value = value.filter(|v| !v.is_null())?;
        let (ok, name) = match kind {
            Kind::String => (value.is_string(), "a string"),
            Kind::Object => (value.is_object(), "an object"),
            Kind::Array => (value.is_array(), "an array"),
        };
        if ok {
            return Some(value);
        }
        self.error(path, "wrong_type",
            format!("This must be {name}, not {}: Mattermost cannot read the attachment, so none of its buttons can be clicked.", type_name(value)),
            &format!("Make it {name}."));
        None
    }

    pub(super) fn string<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        at: &str,
        key: &str,
    ) -> &'a str {
        let path = format!("{at}.{key}");
        str_of(self.typed(obj.get(key), &path, Kind::String)).unwrap_or_default()
    }

    /// Every action of every attachment, with its path; `null` actions are skipped, as
    /// Mattermost does.
    pub(super) fn actions<'a>(
        &mut self,
        attachments: Option<&'a Value>,
    ) -> Vec<(String, &'a Map<String, Value>)> {
        let mut actions = Vec::new();
        let Some(list) = self.typed(attachments, "attachments", Kind::Array) else {
            return actions;
        };
        for (i, attachment) in list.as_array().into_iter().flatten().enumerate() {
            let at = format!("attachments[{i}]");
            let Some(a) = self.typed(Some(attachment), &at, Kind::Object) else {
                continue;
            };
            let at = format!("{at}.actions");
            let Some(list) = self.typed(a.get("actions"), &at, Kind::Array) else {
                continue;
            };
            for (j, action) in list.as_array().into_iter().flatten().enumerate() {
                let at = format!("{at}[{j}]");
                if let Some(Value::Object(a)) = self.typed(Some(action), &at, Kind::Object) {
                    actions.push((at, a));
                }
            }
        }
        actions
    }
}

pub(super) fn str_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

/// `path.key`, or `path["key"]` for a key that is not a plain name.
pub(super) fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}
