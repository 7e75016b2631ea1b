//! Submitted values, checked against the dialog's definition before the bot sees them, so the
//! person fixes a mistake in the open dialog without a round trip to the bot.

use super::definition::{Dialog, Element};
use super::formats::{is_email, is_http_url, is_phone, parse_date, parse_datetime};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What Mattermost's text field takes when the definition sets no `max_length`.
const TEXT_DEFAULT_MAX: i64 = 150;
/// What Mattermost's textarea takes when the definition sets no `max_length`.
const TEXTAREA_DEFAULT_MAX: i64 = 3000;

impl Element {
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
        // Without `max_length`, Mattermost's own fields stop at 150 characters (3,000 for a
        // textarea): a value past that did not come from its form.
        let max = match (self.max_length, self.kind.as_str()) {
            (n, _) if n > 0 => n,
            (_, "textarea") => TEXTAREA_DEFAULT_MAX,
            _ => TEXT_DEFAULT_MAX,
        };
        if chars > max {
            return Some(format!("Must be at most {max} characters."));
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

    /// The ids a users or channels select chose (`None` for any other element: a `data_source`
    /// on a text field or a radio means nothing, as in Mattermost). An empty choice chooses
    /// nothing: an optional select may be left empty.
    fn chosen_ids<'v>(&self, value: &'v Value) -> Option<Vec<&'v str>> {
        if self.kind != "select" || !matches!(self.data_source.as_str(), "users" | "channels") {
            return None;
        }
        let mut ids = self.chosen(value)?;
        ids.retain(|id| !id.is_empty());
        Some(ids)
    }

    /// The values a select's submitted `value` chooses (`None`: not a choice at all).
    fn chosen<'v>(&self, value: &'v Value) -> Option<Vec<&'v str>> {
        match value {
            Value::String(s) if self.multiselect => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .collect(),
            ),
            Value::String(s) => Some(vec![s.as_str()]),
            Value::Array(items) if self.multiselect => items.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }

    fn check_select(&self, value: &Value) -> Option<String> {
        let Some(chosen) = self.chosen(value) else {
            return Some("Choose from the list.".to_owned());
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
    // Each chosen user and channel is checked with Mattermost: a bounded number in all.
    let mut count = 0;
    for e in &dialog.elements {
        if let Some(n) = kept
            .get(&e.name)
            .and_then(|v| e.chosen_ids(v))
            .map(|c| c.len())
        {
            count += n;
            if count > MAX_CHOSEN && !errors.contains_key(&e.name) {
                errors.insert(
                    e.name.clone(),
                    format!("Choose fewer: a form takes at most {MAX_CHOSEN} users and channels in all."),
                );
            }
        }
    }
    (errors, kept)
}

/// The most users and channels one submission may choose in all: each is checked with
/// Mattermost before the bot receives it.
pub(crate) const MAX_CHOSEN: usize = 100;

/// A user or a channel a valid submission chose: what must be checked with Mattermost.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Chosen<'a> {
    /// The field that chose it.
    pub(crate) field: &'a str,
    /// A channel (`true`) or a user.
    pub(crate) channel: bool,
    /// Its id.
    pub(crate) id: &'a str,
}

/// Every user and channel `kept` (a submission [`check_submission`] found valid) chose.
pub(crate) fn chosen<'a>(dialog: &'a Dialog, kept: &'a Map<String, Value>) -> Vec<Chosen<'a>> {
    let mut out = Vec::new();
    for e in &dialog.elements {
        let Some(ids) = kept.get(&e.name).and_then(|v| e.chosen_ids(v)) else {
            continue;
        };
        let channel = e.data_source == "channels";
        out.extend(ids.into_iter().map(|id| Chosen {
            field: &e.name,
            channel,
            id,
        }));
    }
    out
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

    fn submit(element: Value, value: Value) -> Option<String> {
        let d = dialog(json!([element]));
        let mut sub = Map::new();
        if !value.is_null() {
            sub.insert("f".into(), value);
        }
        check_submission(&d, &sub).0.remove("f")
    }

    /// Every chosen user and channel is asked of Mattermost: a submission chooses at most
    /// [`MAX_CHOSEN`] in all, and [`chosen`] lists each with its field.
    #[test]
    fn chosen_users_and_channels_are_listed_and_bounded() {
        let id = |i: usize| format!("{i:0>26}");
        let users =
            json!({"display_name": "U", "name": "u", "type": "select", "data_source": "users"});
        let channels = json!({"display_name": "C", "name": "c", "type": "select", "data_source": "channels", "multiselect": true});
        let d = dialog(json!([users, channels]));
        let sub = |n: usize| {
            let mut sub = Map::new();
            sub.insert("u".into(), json!(id(0)));
            sub.insert("c".into(), json!((1..=n).map(id).collect::<Vec<_>>()));
            sub
        };
        let (errors, kept) = check_submission(&d, &sub(MAX_CHOSEN - 1));
        assert!(errors.is_empty(), "{errors:?}");
        let listed = chosen(&d, &kept);
        assert_eq!(listed.len(), MAX_CHOSEN);
        assert_eq!((listed[0].field, listed[0].channel), ("u", false));
        assert_eq!(
            (listed[1].field, listed[1].channel, listed[1].id),
            ("c", true, id(1).as_str())
        );
        let (errors, _) = check_submission(&d, &sub(MAX_CHOSEN));
        assert!(errors["c"].contains("at most 100"), "{errors:?}");
        // A data source on a text field or a radio means nothing, and an optional select left
        // empty chooses nothing: neither is asked of Mattermost.
        let text =
            json!({"display_name": "T", "name": "t", "type": "text", "data_source": "users"});
        let empty = json!({"display_name": "E", "name": "e", "type": "select", "data_source": "users", "optional": true});
        let d = dialog(json!([text, empty]));
        let mut sub = Map::new();
        sub.insert("t".into(), json!("hello world"));
        sub.insert("e".into(), json!(""));
        let (errors, kept) = check_submission(&d, &sub);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(chosen(&d, &kept).is_empty());
        // A static select's choice is checked against its options, and asks nothing.
        let stat = json!({"display_name": "S", "name": "s", "type": "select", "options": [{"text": "A", "value": "a"}]});
        let d = dialog(json!([stat]));
        let mut sub = Map::new();
        sub.insert("s".into(), json!("a"));
        assert!(chosen(&d, &check_submission(&d, &sub).1).is_empty());
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
    fn text_without_max_length_stops_where_mattermost_stops() {
        let text = json!({"display_name": "A", "name": "f", "type": "text"});
        assert_eq!(submit(text.clone(), json!("é".repeat(150))), None);
        assert_eq!(
            submit(text, json!("x".repeat(151))).as_deref(),
            Some("Must be at most 150 characters.")
        );
        let area = json!({"display_name": "A", "name": "f", "type": "textarea"});
        assert_eq!(submit(area.clone(), json!("x".repeat(3000))), None);
        assert!(submit(area, json!("x".repeat(3001))).is_some());
    }

    #[test]
    fn dates_with_text_that_is_not_ascii_are_refused_not_a_crash() {
        let d = json!({"display_name": "A", "name": "f", "type": "date"});
        assert!(submit(d, json!("2026-0é-1")).is_some());
        let dt = json!({"display_name": "A", "name": "f", "type": "datetime", "time_interval": 30});
        assert!(submit(dt, json!("2026-01-01T1é:0:00Z")).is_some());
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
