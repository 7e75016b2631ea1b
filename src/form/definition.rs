//! Dialog definitions: what Mattermost accepts, checked before the dialog is opened.
//!
//! The rules follow Mattermost's `Dialog.IsValid`, with one difference: where Mattermost only
//! logs a warning and opens the dialog anyway, the plugin refuses it, so the bot's developer
//! learns about the mistake at once instead of from a form that misbehaves.

use super::formats::{is_http_url, is_lookup_url, is_relative_date, parse_date, parse_datetime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The most elements a dialog may have (Mattermost sets no limit; a form with more is not one
/// a person fills in).
pub(crate) const MAX_ELEMENTS: usize = 100;
/// The most options a select or radio element may offer.
pub(crate) const MAX_OPTIONS: usize = 500;

/// A dialog as a bot defines it (Mattermost's `model.Dialog`).
///
/// Serialized, it is what a session keeps: only what checking a submission needs. Titles,
/// labels, help texts and option texts are for Mattermost to show, not for the plugin to keep.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Dialog {
    #[serde(default)]
    pub(crate) callback_id: String,
    #[serde(default, skip_serializing)]
    pub(crate) title: String,
    #[serde(default, skip_serializing)]
    pub(crate) icon_url: String,
    #[serde(default)]
    pub(crate) elements: Vec<Element>,
    #[serde(default)]
    pub(crate) notify_on_cancel: bool,
    #[serde(default)]
    pub(crate) state: String,
}

/// One field of a dialog (Mattermost's `model.DialogElement`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Element {
    #[serde(default, skip_serializing)]
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default, rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) subtype: String,
    #[serde(default, skip_serializing)]
    pub(crate) default: String,
    #[serde(default, skip_serializing)]
    pub(crate) placeholder: String,
    #[serde(default, skip_serializing)]
    pub(crate) help_text: String,
    #[serde(default)]
    pub(crate) optional: bool,
    #[serde(default)]
    pub(crate) min_length: i64,
    #[serde(default)]
    pub(crate) max_length: i64,
    #[serde(default)]
    pub(crate) data_source: String,
    #[serde(default, skip_serializing)]
    pub(crate) data_source_url: String,
    #[serde(default)]
    pub(crate) options: Option<Vec<DialogOption>>,
    #[serde(default)]
    pub(crate) multiselect: bool,
    #[serde(default)]
    pub(crate) min_date: String,
    #[serde(default)]
    pub(crate) max_date: String,
    #[serde(default, skip_serializing)]
    pub(crate) time_interval: i64,
}

/// A choice of a select or radio element.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct DialogOption {
    #[serde(default, skip_serializing)]
    pub(crate) text: String,
    #[serde(default)]
    pub(crate) value: String,
}

const TITLE_MAX: usize = 24;
const DISPLAY_NAME_MAX: usize = 24;
const NAME_MAX: usize = 300;
const HELP_TEXT_MAX: usize = 150;
const TEXT_MAX: usize = 150;
const TEXTAREA_MAX: usize = 3000;
const SELECT_MAX: usize = 3000;
const BOOL_MAX: usize = 150;

impl Dialog {
    /// Every problem with the definition, each naming the field; empty when valid.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.title.is_empty() || self.title.len() > TITLE_MAX {
            out.push(format!(
                "`title` must be 1 to {TITLE_MAX} bytes long (got {:?})",
                self.title
            ));
        }
        if !self.icon_url.is_empty() && !is_http_url(&self.icon_url) {
            out.push("`icon_url` must be an http(s) URL".to_owned());
        }
        if self.elements.len() > MAX_ELEMENTS {
            out.push(format!(
                "`elements` has {} elements; the plugin takes at most {MAX_ELEMENTS}",
                self.elements.len()
            ));
            return out;
        }
        let mut names = HashSet::new();
        for (i, e) in self.elements.iter().enumerate() {
            let at = format!("`elements[{i}]` ({:?})", e.name);
            if !names.insert(e.name.as_str()) {
                out.push(format!("{at}: the name is used by another element"));
            }
            for problem in e.problems() {
                out.push(format!("{at}: {problem}"));
            }
        }
        out
    }
}

impl Element {
    /// Every problem with this element's definition.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let options = self.options.as_ref().map_or(0, Vec::len);
        if options > MAX_OPTIONS {
            out.push(format!(
                "`options` has {options} options; the plugin takes at most {MAX_OPTIONS}"
            ));
            return out;
        }
        self.length_problems(&mut out);
        if self.multiselect && self.kind != "select" {
            out.push(format!(
                "`multiselect` works only with select elements, not {:?}",
                self.kind
            ));
        }
        match self.kind.as_str() {
            "text" | "textarea" => self.text_problems(&mut out),
            "select" => self.select_problems(&mut out),
            "radio" => self.radio_problems(&mut out),
            "bool" => {
                if !matches!(self.default.as_str(), "" | "true" | "false") {
                    out.push(format!(
                        "`default` of a bool must be \"true\" or \"false\" (got {:?})",
                        self.default
                    ));
                }
            }
            "date" => self.date_problems(&mut out),
            "datetime" => self.datetime_problems(&mut out),
            other => out.push(format!(
                "`type` {other:?} is not one of text, textarea, select, radio, bool, date, datetime"
            )),
        }
        out
    }

    /// The lengths Mattermost limits, and `min_length`/`max_length` themselves.
    fn length_problems(&self, out: &mut Vec<String>) {
        let mut length = |field: &str, value: &str, max: usize, required: bool| {
            if required && value.is_empty() {
                out.push(format!("`{field}` is required"));
            } else if value.len() > max {
                out.push(format!(
                    "`{field}` must be at most {max} bytes (got {})",
                    value.len()
                ));
            }
        };
        length("display_name", &self.display_name, DISPLAY_NAME_MAX, true);
        length("name", &self.name, NAME_MAX, true);
        length("help_text", &self.help_text, HELP_TEXT_MAX, false);
        let text_limit = match self.kind.as_str() {
            "textarea" => TEXTAREA_MAX,
            "select" => SELECT_MAX,
            "bool" => BOOL_MAX,
            _ => TEXT_MAX,
        };
        if self.kind != "radio" {
            if self.kind != "bool" {
                length("default", &self.default, text_limit, false);
            }
            length("placeholder", &self.placeholder, text_limit, false);
        }
        if self.min_length < 0 {
            out.push(format!(
                "`min_length` cannot be negative (got {})",
                self.min_length
            ));
        }
        if self.min_length > self.max_length {
            out.push(format!(
                "`min_length` ({}) is more than `max_length` ({}); set `max_length` too",
                self.min_length, self.max_length
            ));
        }
    }

    fn text_problems(&self, out: &mut Vec<String>) {
        if !matches!(
            self.subtype.as_str(),
            "" | "text" | "email" | "number" | "tel" | "url" | "password"
        ) {
            out.push(format!(
                "`subtype` {:?} is not one of text, email, number, tel, url, password",
                self.subtype
            ));
        }
    }

    fn select_problems(&self, out: &mut Vec<String>) {
        match self.data_source.as_str() {
            "" => {
                let values = self.option_values();
                if values.is_empty() {
                    out.push("a select needs `options` or a `data_source`".to_owned());
                }
                self.option_problems(out);
                for d in self.defaults().filter(|d| !values.contains(d)) {
                    out.push(format!("`default` {d:?} is not one of the options"));
                }
            }
            "users" | "channels" => {
                if self.options.as_ref().is_some_and(|o| !o.is_empty()) {
                    out.push(format!("a {} select takes no `options`", self.data_source));
                }
            }
            "dynamic" => {
                // Without a URL, the plugin points it at the session and asks the bot.
                if !self.data_source_url.is_empty() && !is_lookup_url(&self.data_source_url) {
                    out.push("a dynamic select's `data_source_url` must be a /plugins/ path or an http(s) URL (or none: the plugin asks the bot)".to_owned());
                }
                if self.options.as_ref().is_some_and(|o| !o.is_empty()) {
                    out.push("a dynamic select takes no `options`".to_owned());
                }
            }
            other => out.push(format!(
                "`data_source` {other:?} is not one of users, channels, dynamic"
            )),
        }
    }

    /// The default choices of a select: a comma-separated list for a multiselect.
    fn defaults(&self) -> impl Iterator<Item = &str> {
        let list = if self.multiselect {
            self.default.split(',').collect()
        } else {
            vec![self.default.as_str()]
        };
        list.into_iter().map(str::trim).filter(|v| !v.is_empty())
    }

    fn radio_problems(&self, out: &mut Vec<String>) {
        let values = self.option_values();
        if values.is_empty() {
            out.push("a radio element needs `options`".to_owned());
        }
        self.option_problems(out);
        if !self.default.is_empty() && !values.contains(self.default.as_str()) {
            out.push(format!(
                "`default` {:?} is not one of the options",
                self.default
            ));
        }
    }

    fn date_problems(&self, out: &mut Vec<String>) {
        for (field, value) in [
            ("default", &self.default),
            ("min_date", &self.min_date),
            ("max_date", &self.max_date),
        ] {
            date_problem(out, field, value);
        }
    }

    fn datetime_problems(&self, out: &mut Vec<String>) {
        if !self.default.is_empty()
            && !is_relative_date(&self.default)
            && parse_datetime(&self.default).is_none()
        {
            out.push(format!(
                "`default` {:?} is not a date and time (YYYY-MM-DDTHH:MM:SSZ, …)",
                self.default
            ));
        }
        date_problem(out, "min_date", &self.min_date);
        date_problem(out, "max_date", &self.max_date);
        if self.time_interval < 1 || self.time_interval > 1440 || 1440 % self.time_interval != 0 {
            out.push(format!(
                "`time_interval` must divide a day into whole steps (1 to 1440 minutes, a divisor of 1440; got {})",
                self.time_interval
            ));
        }
    }

    /// The values of the element's options, for membership tests in constant time.
    pub(crate) fn option_values(&self) -> HashSet<&str> {
        self.options
            .iter()
            .flatten()
            .map(|o| o.value.as_str())
            .collect()
    }

    fn option_problems(&self, out: &mut Vec<String>) {
        let mut seen = HashSet::new();
        for (j, o) in self.options.iter().flatten().enumerate() {
            if o.text.is_empty() || o.value.is_empty() {
                out.push(format!("`options[{j}]` needs both `text` and `value`"));
            }
            if !seen.insert(o.value.as_str()) {
                out.push(format!(
                    "`options[{j}]`: the value {:?} is used twice",
                    o.value
                ));
            }
        }
    }
}

/// The fields of a dialog, an element and an option, as Mattermost spells them.
const DIALOG_KEYS: &[&str] = &[
    "callback_id",
    "title",
    "introduction_text",
    "icon_url",
    "elements",
    "submit_label",
    "notify_on_cancel",
    "state",
    "source_url",
];
const ELEMENT_KEYS: &[&str] = &[
    "display_name",
    "name",
    "type",
    "subtype",
    "default",
    "placeholder",
    "help_text",
    "optional",
    "min_length",
    "max_length",
    "data_source",
    "data_source_url",
    "options",
    "multiselect",
    "refresh",
    "min_date",
    "max_date",
    "time_interval",
];
const OPTION_KEYS: &[&str] = &["text", "value"];

/// Keys Go would read as a field but Rust would not: Go's `encoding/json` matches a key to a
/// field ignoring case (with Unicode folding: `ſtate` is `state` to it), so `"Title"` would be
/// the title Mattermost shows while the plugin checked none. Each such key is a problem.
pub(crate) fn spelling_problems(dialog: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(d) = dialog.as_object() else {
        return out;
    };
    misspelled(d, DIALOG_KEYS, String::new, &mut out);
    let elements = d.get("elements").and_then(Value::as_array);
    for (i, e) in elements.into_iter().flatten().enumerate() {
        let Some(e) = e.as_object() else { continue };
        misspelled(e, ELEMENT_KEYS, || format!("`elements[{i}]`: "), &mut out);
        let options = e.get("options").and_then(Value::as_array);
        for (j, o) in options.into_iter().flatten().enumerate() {
            if let Some(o) = o.as_object() {
                let at = || format!("`elements[{i}]`: `options[{j}]`: ");
                misspelled(o, OPTION_KEYS, at, &mut out);
            }
        }
    }
    out
}

/// Each key of `object` that is not one of `known` but folds to one. The known keys are
/// lowercase ASCII, their own folding (a test holds them to it), so only the unknown key is
/// folded, once: the work per key is its length, not its length times the known keys'
/// (a dialog of 100 elements with unknown keys cost 220,000 fuel an element before).
fn misspelled(
    object: &Map<String, Value>,
    known: &[&str],
    at: impl Fn() -> String,
    out: &mut Vec<String>,
) {
    for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
        let folded = fold(key);
        if let Some(field) = known.iter().find(|k| **k == folded) {
            out.push(format!(
                "{}the key {key:?} must be spelled {field:?} (Mattermost would read it as {field:?}, the plugin would not)",
                at()
            ));
        }
    }
}

/// `s` with every character folded as Go's `strings.EqualFold` folds it, near enough: through
/// upper case to lower case, so that `K` (the Kelvin sign), `K` and `k` meet, as do `ſ` and `s`.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// A date field must be empty, relative (`today`, `+3d`) or `YYYY-MM-DD`.
fn date_problem(out: &mut Vec<String>, field: &str, value: &str) {
    if !value.is_empty() && !is_relative_date(value) && parse_date(value).is_none() {
        out.push(format!(
            "`{field}` {value:?} is not a date (YYYY-MM-DD, today, +3d, …)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn dialog(elements: Value) -> Dialog {
        serde_json::from_value(
            json!({"title": "Deploy", "callback_id": "cb", "elements": elements}),
        )
        .unwrap()
    }

    fn problems(element: Value) -> Vec<String> {
        dialog(json!([element])).problems()
    }

    #[test]
    fn the_known_keys_are_their_own_folding() {
        for key in DIALOG_KEYS.iter().chain(ELEMENT_KEYS).chain(OPTION_KEYS) {
            assert_eq!(fold(key), *key);
        }
    }

    #[test]
    fn keys_go_would_read_as_fields_must_be_spelled_as_mattermost_spells_them() {
        let d = json!({"Title": "x", "title": "Deploy", "\u{17f}tate": "s", "elements": [
            {"NAME": "a", "options": [{"Value": "v"}]}, {"name": "b", "extra": 1}
        ]});
        let p = spelling_problems(&d).join("\n");
        assert!(p.contains("\"Title\" must be spelled \"title\""), "{p}");
        assert!(
            p.contains("\"\u{17f}tate\" must be spelled \"state\""),
            "{p}"
        );
        assert!(p.contains("`elements[0]`: the key \"NAME\""), "{p}");
        assert!(p.contains("`options[0]`: the key \"Value\""), "{p}");
        assert!(
            !p.contains("extra"),
            "unknown keys Go ignores too are fine: {p}"
        );
        assert!(spelling_problems(&json!({"title": "t", "elements": [{"name": "a"}]})).is_empty());
    }

    #[test]
    fn elements_and_options_have_limits() {
        let many: Vec<Value> = (0..=MAX_ELEMENTS)
            .map(|i| json!({"display_name": "A", "name": format!("f{i}"), "type": "text"}))
            .collect();
        assert!(dialog(Value::Array(many)).problems()[0].contains("at most 100"));
        let options: Vec<Value> = (0..=MAX_OPTIONS)
            .map(|i| json!({"text": "x", "value": format!("v{i}")}))
            .collect();
        let p = problems(
            json!({"display_name": "A", "name": "f", "type": "select", "options": options}),
        );
        assert!(p[0].contains("at most 500"), "{p:?}");
    }

    #[test]
    fn a_session_keeps_only_what_checking_a_submission_needs() {
        let d = dialog(
            json!([{"display_name": "Region", "name": "r", "type": "select",
            "help_text": "where", "placeholder": "pick", "default": "eu",
            "options": [{"text": "Europe", "value": "eu"}]}]),
        );
        let kept = serde_json::to_value(&d).unwrap();
        assert_eq!(
            kept,
            json!({"callback_id": "cb", "state": "", "notify_on_cancel": false,
            "elements": [{"name": "r", "type": "select", "subtype": "", "optional": false,
                "min_length": 0, "max_length": 0, "data_source": "", "multiselect": false,
                "min_date": "", "max_date": "", "options": [{"value": "eu"}]}]})
        );
        let back: Dialog = serde_json::from_value(kept).unwrap();
        assert_eq!(back.elements[0].option_values().len(), 1);
    }

    #[test]
    fn title_is_required_and_at_most_24_bytes() {
        let d: Dialog = serde_json::from_value(json!({"title": ""})).unwrap();
        assert_eq!(d.problems().len(), 1);
        let d: Dialog = serde_json::from_value(json!({"title": "x".repeat(25)})).unwrap();
        assert!(d.problems()[0].contains("1 to 24"));
        assert!(dialog(json!([])).problems().is_empty());
    }

    #[test]
    fn element_names_are_required_unique_and_display_names_short() {
        let d = dialog(json!([
            {"display_name": "A", "name": "a", "type": "text"},
            {"display_name": "B", "name": "a", "type": "text"},
            {"display_name": "", "name": "", "type": "text"},
            {"display_name": "x".repeat(25), "name": "c", "type": "text"}
        ]));
        let p = d.problems().join("\n");
        assert!(p.contains("used by another element"), "{p}");
        assert!(
            p.contains("`display_name` is required") && p.contains("`name` is required"),
            "{p}"
        );
        assert!(p.contains("`display_name` must be at most 24 bytes"), "{p}");
    }

    #[test]
    fn unknown_types_and_subtypes_are_refused() {
        assert!(
            problems(json!({"display_name": "A", "name": "f", "type": "slider"}))[0]
                .contains("`type`")
        );
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "text", "subtype": "color"})
        )[0]
        .contains("`subtype`"));
        for sub in ["", "text", "email", "number", "tel", "url", "password"] {
            assert!(
                problems(json!({"display_name": "A", "name": "f", "type": "text", "subtype": sub}))
                    .is_empty(),
                "{sub}"
            );
        }
    }

    #[test]
    fn min_length_above_max_length_is_refused_though_mattermost_only_warns() {
        let p =
            problems(json!({"display_name": "A", "name": "f", "type": "text", "min_length": 3}));
        assert!(p[0].contains("set `max_length` too"), "{p:?}");
        assert!(problems(json!({"display_name": "A", "name": "f", "type": "text", "min_length": -1, "max_length": 5}))[0].contains("negative"));
    }

    #[test]
    fn selects_need_options_or_a_source_and_defaults_among_them() {
        assert!(
            problems(json!({"display_name": "A", "name": "f", "type": "select"}))[0]
                .contains("needs `options`")
        );
        let p = problems(
            json!({"display_name": "A", "name": "f", "type": "select", "default": "z",
            "options": [{"text": "X", "value": "x"}, {"text": "X2", "value": "x"}]}),
        );
        assert!(
            p.iter().any(|m| m.contains("used twice"))
                && p.iter()
                    .any(|m| m.contains("\"z\" is not one of the options")),
            "{p:?}"
        );
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "select", "data_source": "teams"})
        )[0]
        .contains("data_source"));
        // Without a URL the plugin binds it to the session (the bot answers the lookups).
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "select", "data_source": "dynamic"})
        )
        .is_empty());
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "select", "data_source": "dynamic", "data_source_url": "ftp://x"})
        )[0]
        .contains("data_source_url"));
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "select", "data_source": "users"})
        )
        .is_empty());
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "text", "multiselect": true})
        )[0]
        .contains("multiselect"));
    }

    #[test]
    fn bool_radio_date_and_datetime_definitions_are_checked() {
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "bool", "default": "yes"})
        )[0]
        .contains("bool"));
        assert!(
            problems(json!({"display_name": "A", "name": "f", "type": "radio"}))[0]
                .contains("radio")
        );
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "date", "min_date": "2026-02-30"})
        )[0]
        .contains("min_date"));
        assert!(problems(json!({"display_name": "A", "name": "f", "type": "date", "min_date": "today", "max_date": "+2w"})).is_empty());
        assert!(
            problems(json!({"display_name": "A", "name": "f", "type": "datetime"}))[0]
                .contains("time_interval")
        );
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "datetime", "time_interval": 7})
        )[0]
        .contains("divisor"));
        assert!(problems(json!({"display_name": "A", "name": "f", "type": "datetime", "time_interval": 30, "default": "2026-01-02T10:00:00Z"})).is_empty());
    }
}
