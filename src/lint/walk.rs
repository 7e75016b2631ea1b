//! The walk through a post's props: where its actions are, and the findings collected on the way.

use super::{Finding, Severity, TooLarge, MAX_ACTIONS, MAX_FINDINGS};
use crate::json::type_name;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// An action of the post, with its path below the props.
pub(super) type Action<'a> = (String, &'a Map<String, Value>);

/// The JSON types the lint checks fields against.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    String,
    Object,
    Array,
}

/// The findings so far, at most [`MAX_FINDINGS`] of them, and what the errors break: the actions
/// with an error (kept whole, past the limit too) and whether one is about the whole post.
#[derive(Default)]
pub(super) struct Lint {
    pub(super) findings: Vec<Finding>,
    /// Findings past the limit, counted but not listed.
    pub(super) dropped: usize,
    /// The path of every action with an error.
    pub(super) broken: HashSet<String>,
    /// An error about the whole post (its size) stops every click.
    pub(super) post_error: bool,
}

impl Lint {
    fn push(
        &mut self,
        path: &str,
        severity: Severity,
        code: &'static str,
        message: String,
        fix: &str,
    ) {
        if severity == Severity::Error {
            if path.is_empty() {
                self.post_error = true;
            } else if let Some(action) = action_of(path) {
                self.broken.insert(action.to_owned());
            }
        }
        if self.findings.len() == MAX_FINDINGS {
            self.dropped += 1;
            return;
        }
        self.findings.push(Finding {
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
    /// Mattermost does. More than [`MAX_ACTIONS`] is too large to lint.
    pub(super) fn actions<'a>(
        &mut self,
        attachments: Option<&'a Value>,
    ) -> Result<Vec<Action<'a>>, TooLarge> {
        let mut actions = Vec::new();
        let Some(list) = self.typed(attachments, "attachments", Kind::Array) else {
            return Ok(actions);
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
                    if actions.len() == MAX_ACTIONS {
                        return Err(TooLarge {
                            what: "the number of actions",
                            limit: MAX_ACTIONS,
                        });
                    }
                    actions.push((at, a));
                }
            }
        }
        Ok(actions)
    }
}

/// The action a finding's path is about: `attachments[0].actions[1]` for
/// `attachments[0].actions[1].integration.url`.
fn action_of(path: &str) -> Option<&str> {
    let start = path.find("].actions[")? + "].actions[".len();
    let end = start + path[start..].find(']')? + 1;
    Some(&path[..end])
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
