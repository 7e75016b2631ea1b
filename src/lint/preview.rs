//! The event a click on an action would deliver: the request Mattermost builds, through the
//! same event builder as a real click, then what the trip to the bot does to it.

use super::walk::str_of;
use crate::event::action_event;
use crate::input::Context;
use crate::settings::Settings;
use crate::trip::as_delivered;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The placeholders for what Mattermost fills in at click time.
const SAMPLE_CLICK: [(&str, &str); 8] = [
    ("user_id", "youyouyouyouyouyouyouyou01"),
    ("user_name", "you"),
    ("channel_id", "chanchanchanchanchanchan01"),
    ("channel_name", "town-square"),
    ("team_id", "teamteamteamteamteamteam01"),
    ("team_domain", "your-team"),
    ("post_id", "postpostpostpostpostpost01"),
    ("trigger_id", "(issued by Mattermost on click)"),
];

/// The event `data` for a click on `action`: the request `DoPostActionWithCookie` would make,
/// through the same event builder as a real click, then what the trip to the bot does to it.
pub(super) fn event_for(action: &Map<String, Value>) -> Value {
    let kind = str_of(action.get("type")).unwrap_or_default();
    let source = str_of(action.get("data_source")).unwrap_or_default();
    let mut context = action
        .get("integration")
        .and_then(|i| i.get("context"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Maps are filled by `insert`, not `collect`, which would add a sort to the server wasm.
    let mut data_source = "";
    if kind == "select" {
        let selected = match source {
            "users" => Some(Value::from("(the chosen user's id)")),
            "channels" => Some(Value::from("(the chosen channel's id)")),
            _ => action
                .get("options")
                .and_then(|o| o.get(0))
                .and_then(|o| o.get("value"))
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                .cloned(),
        };
        // Mattermost adds the choice, and the menu's source, only when something was chosen.
        if let Some(selected) = selected {
            context.insert("selected_option".into(), selected);
            data_source = source;
        }
    }
    let mut body: Vec<(&str, Value)> = SAMPLE_CLICK
        .iter()
        .map(|(k, v)| (*k, Value::from(*v)))
        .collect();
    body.push(("type", kind.into()));
    body.push(("data_source", data_source.into()));
    // `context` is `omitempty` in Mattermost's request.
    if !context.is_empty() {
        body.push(("context", Value::Object(context)));
    }

    let raw: Vec<(&str, Box<RawValue>)> = body
        .iter()
        .map(|(k, v)| {
            (
                *k,
                serde_json::value::to_raw_value(v).expect("a JSON value serializes"),
            )
        })
        .collect();
    let mut fields = BTreeMap::new();
    for (k, v) in &raw {
        fields.insert((*k).to_owned(), v.as_ref());
    }
    let ctx = Context {
        now_ms: 1_700_000_000_123,
        entropy: *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
        settings: Settings::default(),
        node: crate::ids::Id::from_entropy([0; 16]),
    };
    let mut data: Value = serde_json::from_str(action_event(&fields, None, true, None, &ctx).get())
        .expect("the event builder writes JSON");
    as_delivered(&mut data);
    data
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::paths::handler_url;
    use serde_json::{json, Value};

    #[test]
    fn preview_of_a_button_is_the_request_mattermost_makes_plus_proxy() {
        let props = post(json!([button("approve")]));
        let p = &previews(&props, BOT)[0];
        assert_eq!(
            (p.path.as_str(), p.action_id.as_str()),
            ("attachments[0].actions[0]", "approve")
        );
        assert_eq!(
            p.event,
            json!({
                "user_id": "youyouyouyouyouyouyouyou01", "user_name": "you",
                "channel_id": "chanchanchanchanchanchan01", "channel_name": "town-square",
                "team_id": "teamteamteamteamteamteam01", "team_domain": "your-team",
                "post_id": "postpostpostpostpostpost01", "trigger_id": "(issued by Mattermost on click)",
                "type": "button", "data_source": "",
                "context": {"user_id": BOT, "action": "approve"},
                "proxy": {"event_id": "yye1rc4rkiu8xnr3ik7h3zxq9h", "received_at": 1700000000123u64,
                          "verified": true, "version": crate::PLUGIN_VERSION}
            })
        );
    }

    #[test]
    fn preview_of_a_menu_carries_the_first_option_or_a_placeholder() {
        let at = |source: &str, options: Value| {
            let menu = json!({"id": "m", "name": "Menu", "type": "select", "data_source": source, "options": options,
                "integration": {"url": handler_url(), "context": {"user_id": BOT}}});
            previews(&post(json!([menu])), BOT).remove(0).event
        };
        let e = at(
            "",
            json!([{"text": "Small", "value": "s"}, {"text": "Large", "value": "l"}]),
        );
        assert_eq!(
            (
                &e["type"],
                &e["data_source"],
                &e["context"]["selected_option"]
            ),
            (&json!("select"), &json!(""), &json!("s"))
        );
        let e = at("users", Value::Null);
        assert_eq!(e["data_source"], "users");
        assert_eq!(e["context"]["selected_option"], "(the chosen user's id)");
        // Nothing to choose: no selected_option, no data_source.
        let e = at("", json!([]));
        assert_eq!(e["context"], json!({"user_id": BOT}));
    }

    #[test]
    fn preview_omits_an_empty_context_as_mattermost_does() {
        let props = post(json!([with(
            button("a"),
            "/integration/context",
            json!({})
        )]));
        assert!(previews(&props, BOT)[0].event.get("context").is_none());
    }
}
