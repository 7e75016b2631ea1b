//! Interactive dialog definitions and submissions: what Mattermost accepts, checked up front.
//!
//! The rules follow Mattermost's `Dialog.IsValid`, with one difference: where Mattermost only
//! logs a warning and opens the dialog anyway, the plugin refuses it, so the bot's developer
//! learns about the mistake at once instead of from a form that misbehaves.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// A dialog as a bot defines it (Mattermost's `model.Dialog`).
#[derive(Debug, Deserialize)]
pub(crate) struct Dialog {
    #[serde(default)]
    pub(crate) callback_id: String,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) icon_url: String,
    #[serde(default)]
    pub(crate) elements: Vec<Element>,
    #[serde(default)]
    pub(crate) notify_on_cancel: bool,
    #[serde(default)]
    pub(crate) state: String,
}

/// One field of a dialog (Mattermost's `model.DialogElement`).
#[derive(Debug, Deserialize)]
pub(crate) struct Element {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    subtype: String,
    #[serde(default)]
    default: String,
    #[serde(default)]
    placeholder: String,
    #[serde(default)]
    help_text: String,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    min_length: i64,
    #[serde(default)]
    max_length: i64,
    #[serde(default)]
    data_source: String,
    #[serde(default)]
    data_source_url: String,
    #[serde(default)]
    options: Option<Vec<DialogOption>>,
    #[serde(default)]
    multiselect: bool,
    #[serde(default)]
    min_date: String,
    #[serde(default)]
    max_date: String,
    #[serde(default)]
    time_interval: i64,
}

/// A choice of a select or radio element.
#[derive(Debug, Deserialize)]
struct DialogOption {
    #[serde(default)]
    text: String,
    #[serde(default)]
    value: String,
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
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
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
        if self.multiselect && self.kind != "select" {
            out.push(format!(
                "`multiselect` works only with select elements, not {:?}",
                self.kind
            ));
        }
        match self.kind.as_str() {
            "text" | "textarea" => {
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
            "select" => match self.data_source.as_str() {
                "" => {
                    let values = self.option_values();
                    if values.is_empty() {
                        out.push("a select needs `options` or a `data_source`".to_owned());
                    }
                    self.option_problems(&mut out);
                    let defaults: Vec<&str> = if self.multiselect {
                        self.default
                            .split(',')
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .collect()
                    } else {
                        Some(self.default.as_str())
                            .filter(|v| !v.is_empty())
                            .into_iter()
                            .collect()
                    };
                    for d in defaults.into_iter().filter(|d| !values.contains(d)) {
                        out.push(format!("`default` {d:?} is not one of the options"));
                    }
                }
                "users" | "channels" => {
                    if self.options.as_ref().is_some_and(|o| !o.is_empty()) {
                        out.push(format!("a {} select takes no `options`", self.data_source));
                    }
                }
                "dynamic" => {
                    if !is_lookup_url(&self.data_source_url) {
                        out.push("a dynamic select needs a `data_source_url` (a /plugins/ path or an http(s) URL)".to_owned());
                    }
                    if self.options.as_ref().is_some_and(|o| !o.is_empty()) {
                        out.push("a dynamic select takes no `options`".to_owned());
                    }
                }
                other => out.push(format!(
                    "`data_source` {other:?} is not one of users, channels, dynamic"
                )),
            },
            "radio" => {
                if self.option_values().is_empty() {
                    out.push("a radio element needs `options`".to_owned());
                }
                self.option_problems(&mut out);
                if !self.default.is_empty()
                    && !self.option_values().contains(&self.default.as_str())
                {
                    out.push(format!(
                        "`default` {:?} is not one of the options",
                        self.default
                    ));
                }
            }
            "bool" => {
                if !matches!(self.default.as_str(), "" | "true" | "false") {
                    out.push(format!(
                        "`default` of a bool must be \"true\" or \"false\" (got {:?})",
                        self.default
                    ));
                }
            }
            "date" => {
                for (field, value) in [
                    ("default", &self.default),
                    ("min_date", &self.min_date),
                    ("max_date", &self.max_date),
                ] {
                    if !value.is_empty() && !is_relative_date(value) && parse_date(value).is_none()
                    {
                        out.push(format!(
                            "`{field}` {value:?} is not a date (YYYY-MM-DD, today, +3d, …)"
                        ));
                    }
                }
            }
            "datetime" => {
                if !self.default.is_empty()
                    && !is_relative_date(&self.default)
                    && parse_datetime(&self.default).is_none()
                {
                    out.push(format!(
                        "`default` {:?} is not a date and time (YYYY-MM-DDTHH:MM:SSZ, …)",
                        self.default
                    ));
                }
                for (field, value) in [("min_date", &self.min_date), ("max_date", &self.max_date)] {
                    if !value.is_empty() && !is_relative_date(value) && parse_date(value).is_none()
                    {
                        out.push(format!(
                            "`{field}` {value:?} is not a date (YYYY-MM-DD, today, +3d, …)"
                        ));
                    }
                }
                if self.time_interval < 1
                    || self.time_interval > 1440
                    || 1440 % self.time_interval != 0
                {
                    out.push(format!(
                        "`time_interval` must divide a day into whole steps (1 to 1440 minutes, a divisor of 1440; got {})",
                        self.time_interval
                    ));
                }
            }
            other => out.push(format!(
                "`type` {other:?} is not one of text, textarea, select, radio, bool, date, datetime"
            )),
        }
        out
    }

    fn option_values(&self) -> Vec<&str> {
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

    /// The error for one submitted value, in words for the person filling the form.
    fn check(&self, value: Option<&Value>) -> Option<String> {
        let empty = match value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if empty {
            return (!self.optional && self.kind != "bool")
                .then(|| "This field is required.".to_owned());
        }
        let value = value.expect("not empty");
        match self.kind.as_str() {
            "text" | "textarea" => self.check_text(value),
            "select" => self.check_select(value),
            "radio" => match value.as_str() {
                Some(v) if self.option_values().contains(&v) => None,
                _ => Some("Choose one of the options.".to_owned()),
            },
            "bool" => match value {
                Value::Bool(_) => None,
                Value::String(s) if s == "true" || s == "false" => None,
                _ => Some("Must be true or false.".to_owned()),
            },
            "date" => match value.as_str().and_then(parse_date) {
                None => Some("Enter a date as YYYY-MM-DD.".to_owned()),
                Some(date) => self.check_date_range(date),
            },
            "datetime" => match value.as_str().and_then(parse_datetime) {
                None => Some("Enter a date and time.".to_owned()),
                Some(date) => self.check_date_range(date),
            },
            _ => None,
        }
    }

    fn check_text(&self, value: &Value) -> Option<String> {
        let text = match value {
            Value::String(s) => s.clone(),
            // The webapp sends a number field's value as a number.
            Value::Number(n) if self.subtype == "number" => n.to_string(),
            _ => return Some("Enter text.".to_owned()),
        };
        let chars = text.chars().count() as i64;
        if self.min_length > 0 && chars < self.min_length {
            return Some(format!("Must be at least {} characters.", self.min_length));
        }
        if self.max_length > 0 && chars > self.max_length {
            return Some(format!("Must be at most {} characters.", self.max_length));
        }
        match self.subtype.as_str() {
            "email" if !is_email(&text) => {
                Some("Enter an email address, like name@example.com.".to_owned())
            }
            "number" if text.trim().parse::<f64>().map_or(true, |n| !n.is_finite()) => {
                Some("Enter a number.".to_owned())
            }
            "url" if !is_http_url(&text) => {
                Some("Enter a URL starting with http:// or https://.".to_owned())
            }
            "tel" if !is_phone(&text) => Some("Enter a phone number.".to_owned()),
            _ => None,
        }
    }

    fn check_select(&self, value: &Value) -> Option<String> {
        let chosen: Vec<&str> = match value {
            Value::String(s) if self.multiselect => s
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect(),
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) if self.multiselect => {
                match items.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
                    Some(v) => v,
                    None => return Some("Choose from the list.".to_owned()),
                }
            }
            _ => return Some("Choose from the list.".to_owned()),
        };
        let ok = match self.data_source.as_str() {
            "" => {
                let values = self.option_values();
                chosen.iter().all(|c| values.contains(c))
            }
            "users" | "channels" => chosen.iter().all(|c| crate::ids::is_mattermost_id(c)),
            _ => true,
        };
        (!ok).then(|| "Choose from the list.".to_owned())
    }

    fn check_date_range(&self, date: (i32, u32, u32)) -> Option<String> {
        if let Some(min) = parse_date(&self.min_date) {
            if date < min {
                return Some(format!("Must be on or after {}.", self.min_date));
            }
        }
        if let Some(max) = parse_date(&self.max_date) {
            if date > max {
                return Some(format!("Must be on or before {}.", self.max_date));
            }
        }
        None
    }
}

/// Checks a submission against the definition: the errors to show by field name (empty when
/// valid), and the submission restricted to the dialog's own fields.
pub(crate) fn check_submission(
    dialog: &Dialog,
    submission: &Map<String, Value>,
) -> (BTreeMap<String, String>, Map<String, Value>) {
    let mut errors = BTreeMap::new();
    let mut kept = Map::new();
    for e in &dialog.elements {
        let value = submission.get(&e.name);
        if let Some(problem) = e.check(value) {
            errors.insert(e.name.clone(), problem);
        }
        if let Some(v) = value {
            kept.insert(e.name.clone(), v.clone());
        }
    }
    (errors, kept)
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        r.split('/')
            .next()
            .is_some_and(|host| !host.is_empty() && !host.contains(' '))
    })
}

fn is_lookup_url(s: &str) -> bool {
    (s.starts_with("/plugins/") && !s.contains("..") && !s.contains("//")) || is_http_url(s)
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn is_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 3
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

/// `today`, `tomorrow`, `yesterday`, or `+3d`/`-2w`/`+1m`/`+4h`, as Mattermost accepts.
fn is_relative_date(s: &str) -> bool {
    if matches!(s, "today" | "tomorrow" | "yesterday") {
        return true;
    }
    let b = s.as_bytes();
    (3..=5).contains(&b.len())
        && (b[0] == b'+' || b[0] == b'-')
        && b"dwmhDWMH".contains(&b[b.len() - 1])
        && s[1..s.len() - 1].parse::<i32>().is_ok()
}

/// `YYYY-MM-DD` as (year, month, day), checking the day exists.
fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = s[0..4].parse().ok()?;
    let month: u32 = s[5..7].parse().ok()?;
    let day: u32 = s[8..10].parse().ok()?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    ((1..=12).contains(&month) && day >= 1 && day <= days[month as usize - 1])
        .then_some((year, month, day))
}

/// The ISO date-times Mattermost accepts: `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]`; the date part.
fn parse_datetime(s: &str) -> Option<(i32, u32, u32)> {
    let (date, time) = s.split_once('T')?;
    let time = time.strip_suffix('Z').unwrap_or(time);
    let time = match time.len() {
        5 | 8 => time,
        14 => &time[..8],
        _ => return None,
    };
    let mut parts = time.split(':');
    let hour: u32 = parts.next()?.parse().ok()?;
    let minute: u32 = parts.next()?.parse().ok()?;
    let second: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    (hour < 24 && minute < 60 && second < 60).then_some(())?;
    parse_date(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dialog(elements: Value) -> Dialog {
        serde_json::from_value(
            json!({"title": "Deploy", "callback_id": "cb", "elements": elements}),
        )
        .unwrap()
    }

    fn problems(element: Value) -> Vec<String> {
        dialog(json!([element])).problems()
    }

    fn submit(element: Value, value: Value) -> Option<String> {
        let d = dialog(json!([element]));
        let mut sub = Map::new();
        if !value.is_null() {
            sub.insert("f".into(), value);
        }
        check_submission(&d, &sub).0.remove("f")
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
        assert!(problems(
            json!({"display_name": "A", "name": "f", "type": "select", "data_source": "dynamic"})
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

    #[test]
    fn required_fields_must_be_filled_optional_ones_may_be_empty() {
        let text = json!({"display_name": "A", "name": "f", "type": "text"});
        assert_eq!(
            submit(text.clone(), Value::Null).as_deref(),
            Some("This field is required.")
        );
        assert_eq!(
            submit(text, json!("")).as_deref(),
            Some("This field is required.")
        );
        assert_eq!(
            submit(
                json!({"display_name": "A", "name": "f", "type": "text", "optional": true}),
                Value::Null
            ),
            None
        );
    }

    #[test]
    fn text_length_counts_characters() {
        let e = json!({"display_name": "A", "name": "f", "type": "text", "min_length": 2, "max_length": 4});
        assert_eq!(
            submit(e.clone(), json!("a")).as_deref(),
            Some("Must be at least 2 characters.")
        );
        assert_eq!(submit(e.clone(), json!("ééé")), None);
        assert_eq!(
            submit(e, json!("abcde")).as_deref(),
            Some("Must be at most 4 characters.")
        );
    }

    #[test]
    fn text_subtypes_check_email_number_url_and_tel() {
        let with = |sub: &str, v: Value| {
            submit(
                json!({"display_name": "A", "name": "f", "type": "text", "subtype": sub}),
                v,
            )
        };
        assert_eq!(with("email", json!("ann@example.com")), None);
        assert!(with("email", json!("ann@example")).is_some());
        assert!(with("email", json!("ann example.com")).is_some());
        assert_eq!(with("number", json!("-2.5")), None);
        assert_eq!(with("number", json!(42)), None);
        assert!(with("number", json!("forty")).is_some());
        assert_eq!(with("url", json!("https://example.com/x")), None);
        assert!(with("url", json!("example.com")).is_some());
        assert_eq!(with("tel", json!("+1 (555) 010-0199")), None);
        assert!(with("tel", json!("call me")).is_some());
    }

    #[test]
    fn static_options_multiselect_and_radio_values_must_be_offered() {
        let opts = json!([{"text": "Small", "value": "s"}, {"text": "Large", "value": "l"}]);
        let select = json!({"display_name": "A", "name": "f", "type": "select", "options": opts});
        assert_eq!(submit(select.clone(), json!("l")), None);
        assert!(submit(select, json!("xl")).is_some());
        let multi = json!({"display_name": "A", "name": "f", "type": "select", "multiselect": true, "options": opts});
        assert_eq!(submit(multi.clone(), json!("s,l")), None);
        assert_eq!(submit(multi.clone(), json!(["s", "l"])), None);
        assert!(submit(multi, json!(["s", "xl"])).is_some());
        let radio = json!({"display_name": "A", "name": "f", "type": "radio", "options": opts});
        assert_eq!(submit(radio.clone(), json!("s")), None);
        assert!(submit(radio, json!("m")).is_some());
        let users =
            json!({"display_name": "A", "name": "f", "type": "select", "data_source": "users"});
        assert_eq!(
            submit(users.clone(), json!("abcdefghijklmnopqrstuvwxyz")),
            None
        );
        assert!(submit(users, json!("not an id")).is_some());
    }

    #[test]
    fn bools_take_true_or_false_and_are_never_required() {
        let b = json!({"display_name": "A", "name": "f", "type": "bool"});
        assert_eq!(submit(b.clone(), json!(true)), None);
        assert_eq!(submit(b.clone(), json!("false")), None);
        assert_eq!(submit(b.clone(), Value::Null), None);
        assert!(submit(b, json!("maybe")).is_some());
    }

    #[test]
    fn dates_must_exist_and_stay_within_min_and_max() {
        let d = json!({"display_name": "A", "name": "f", "type": "date", "min_date": "2026-01-01", "max_date": "2026-12-31"});
        assert_eq!(submit(d.clone(), json!("2026-02-28")), None);
        assert!(
            submit(d.clone(), json!("2026-02-29")).is_some(),
            "not a leap year"
        );
        assert_eq!(
            submit(d.clone(), json!("2025-12-31")).as_deref(),
            Some("Must be on or after 2026-01-01.")
        );
        assert!(submit(d, json!("2027-01-01")).is_some());
        let dt = json!({"display_name": "A", "name": "f", "type": "datetime", "time_interval": 30});
        assert_eq!(submit(dt.clone(), json!("2026-03-01T09:30:00Z")), None);
        assert_eq!(submit(dt.clone(), json!("2026-03-01T09:30:00+02:00")), None);
        assert!(submit(dt, json!("2026-03-01 09:30")).is_some());
    }

    #[test]
    fn submitted_keys_outside_the_dialog_are_dropped() {
        let d = dialog(json!([{"display_name": "A", "name": "f", "type": "text"}]));
        let sub = json!({"f": "x", "injected": "y"})
            .as_object()
            .unwrap()
            .clone();
        let (errors, kept) = check_submission(&d, &sub);
        assert!(errors.is_empty());
        assert_eq!(Value::Object(kept), json!({"f": "x"}));
    }
}
