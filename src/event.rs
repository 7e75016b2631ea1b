//! The events bots receive, built here and nowhere else.

use crate::ids::EventId;
use crate::input::Context;
use crate::manifest::PLUGIN_VERSION;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The key under which the plugin adds its own fields, so none can collide with a field a
/// future Mattermost adds to the request (and none is `user`, which the Go websocket client
/// rewrites into a `*model.User`).
pub(crate) const PROXY_KEY: &str = "proxy";

/// The key of a click's context in its body and its event.
const CONTEXT_KEY: &str = "context";

/// The event a click is published as (`custom_<id>_action`).
pub(crate) const ACTION: &str = "action";

/// The event a dialog submission is published as (`custom_<id>_dialog_submission`).
pub(crate) const DIALOG_SUBMISSION: &str = "dialog_submission";

/// The event a dialog's refresh is published as (`custom_<id>_dialog_refresh`): the values so
/// far, as in a submission.
pub(crate) const DIALOG_REFRESH: &str = "dialog_refresh";

/// The event a dynamic select's lookup is published as (`custom_<id>_dialog_lookup`).
pub(crate) const DIALOG_LOOKUP: &str = "dialog_lookup";

/// The event a slash command is published as (`custom_<id>_command`).
pub(crate) const COMMAND: &str = "command";

/// The events a subscribed bot's record may keep for a replay, by the name a record stores
/// (lookups and refreshes are never kept: they are of use only while the person waits).
pub(crate) fn kept_event(name: &str) -> Option<&'static str> {
    [ACTION, DIALOG_SUBMISSION, COMMAND]
        .into_iter()
        .find(|event| *event == name)
}

/// The `data` of an `action` event: every top-level key Mattermost sent, its value's text
/// unchanged (but `context`, when the plugin gives the bot another: `Some(context)`), plus
/// `proxy` (which replaces a `proxy` key in the body, should one ever come).
pub(crate) fn action_event(
    fields: &BTreeMap<String, &RawValue>,
    context: Option<&RawValue>,
    verified: bool,
    issued: Option<&crate::trigger::Issued>,
    ctx: &Context,
) -> Box<RawValue> {
    let proxy = proxy_block(verified, issued, ctx);
    to_raw_value(&WithProxy {
        fields,
        context,
        proxy: &proxy,
    })
    .expect("raw JSON values serialize")
}

/// The body's fields with `proxy` in its sorted place, written as they are walked: a click's
/// event is written straight out, with no second map built only to hold it.
struct WithProxy<'a> {
    fields: &'a BTreeMap<String, &'a RawValue>,
    /// In place of the body's `context`.
    context: Option<&'a RawValue>,
    proxy: &'a RawValue,
}

impl<'a> Serialize for WithProxy<'a> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        use std::ops::Bound::{Excluded, Unbounded};
        let before = self
            .fields
            .range::<str, _>((Unbounded, Excluded(PROXY_KEY)));
        let after = self
            .fields
            .range::<str, _>((Excluded(PROXY_KEY), Unbounded));
        let value = |k: &str, v: &'a RawValue| match self.context {
            Some(context) if k == CONTEXT_KEY => context,
            _ => v,
        };
        let mut map = s.serialize_map(None)?;
        for (k, v) in before {
            map.serialize_entry(k, value(k, v))?;
        }
        map.serialize_entry(PROXY_KEY, self.proxy)?;
        for (k, v) in after {
            map.serialize_entry(k, value(k, v))?;
        }
        map.end()
    }
}

/// What a `dialog_submission` event tells the bot.
#[derive(Serialize)]
pub(crate) struct DialogSubmission<'a> {
    /// The dialog's `callback_id`, as the bot defined it.
    pub(crate) callback_id: &'a str,
    /// The dialog's `state`, as the bot defined it.
    pub(crate) state: &'a str,
    /// The values of the dialog's own fields (empty when cancelled).
    pub(crate) submission: &'a Map<String, Value>,
    /// The person who submitted.
    pub(crate) user_id: &'a str,
    /// Their username.
    pub(crate) user_name: &'a str,
    /// Where the dialog was shown.
    pub(crate) channel_id: &'a str,
    /// The channel's team.
    pub(crate) team_id: &'a str,
    /// Whether the person cancelled instead of submitting.
    pub(crate) cancelled: bool,
}

/// The `data` of a `dialog_submission` event: the submission plus `proxy`.
pub(crate) fn dialog_submission_event(s: &DialogSubmission<'_>, ctx: &Context) -> Box<RawValue> {
    event_with_proxy(s, ctx)
}

/// What a `dialog_lookup` event tells the bot: whose dialog, which field, what was typed.
#[derive(Serialize)]
pub(crate) struct DialogLookup<'a> {
    pub(crate) callback_id: &'a str,
    pub(crate) state: &'a str,
    /// The dynamic select being filled.
    pub(crate) selected_field: &'a str,
    /// What the person typed so far (may be empty).
    pub(crate) query: &'a str,
    /// The values of the dialog's other fields so far.
    pub(crate) submission: &'a Map<String, Value>,
    pub(crate) user_id: &'a str,
    pub(crate) channel_id: &'a str,
    pub(crate) team_id: &'a str,
}

/// The `data` of any event built from a typed body: the body plus `proxy`.
pub(crate) fn event_with_proxy<T: Serialize>(body: &T, ctx: &Context) -> Box<RawValue> {
    event_with_trigger(body, None, ctx)
}

/// [`event_with_proxy`] for an event that carries a trigger (a slash command): `proxy` says
/// what its trigger opens.
pub(crate) fn event_with_trigger<T: Serialize>(
    body: &T,
    issued: Option<&crate::trigger::Issued>,
    ctx: &Context,
) -> Box<RawValue> {
    #[derive(Serialize)]
    struct Data<'a, T> {
        #[serde(flatten)]
        body: &'a T,
        proxy: Box<RawValue>,
    }
    to_raw_value(&Data {
        body,
        proxy: proxy_block(true, issued, ctx),
    })
    .expect("an event serializes")
}

/// `proxy`: what the plugin adds to every event; for one with a trigger id, the trigger's
/// token (what a bot hands back to open a dialog with it) and until when it opens one.
fn proxy_block(
    verified: bool,
    issued: Option<&crate::trigger::Issued>,
    ctx: &Context,
) -> Box<RawValue> {
    // The keys in sorted order, as the map this block once was wrote them: events keep their
    // text byte for byte.
    #[derive(Serialize)]
    struct Proxy<'a> {
        event_id: &'a str,
        received_at: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        trigger_expires_at: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        trigger_token: Option<&'a str>,
        verified: bool,
        version: &'a str,
    }
    let event_id = EventId::from_entropy(ctx.entropy);
    to_raw_value(&Proxy {
        event_id: event_id.as_str(),
        received_at: ctx.now_ms,
        trigger_expires_at: issued.map(|i| i.trigger_expires_at),
        trigger_token: issued.map(|i| i.trigger_token.as_str()),
        verified,
        version: PLUGIN_VERSION,
    })
    .expect("a proxy block serializes")
}

/// `proxy.delivery`: how an event for a subscribed bot is being delivered (SPEC §9.2).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Delivery {
    /// 1 for the first sending, more for every sending again (the event id stays the same).
    pub(crate) attempt: u32,
    /// Always `"required"`: the bot acknowledges every event it receives.
    pub(crate) ack: &'static str,
    /// How long the click waits for the answer, from when it was first sent; 0 for none.
    pub(crate) answer_within_ms: u32,
    /// When it was first sent, milliseconds since the epoch.
    pub(crate) first_sent_at: u64,
    /// Why it comes again (or comes late); absent on a first sending to a bot that was there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<Reason>,
}

/// Why an event is sent again, or late (`proxy.delivery.reason`), so a bot knows what still
/// works: a replayed click's trigger may have expired (`proxy.trigger_expires_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reason {
    /// The bot had no live connection when it happened: kept until it came back.
    Offline,
    /// It was sent, and no acknowledgement came in time.
    NotAnswered,
    /// It was sent to a connection that went away before acknowledging it (a replica that
    /// stopped, a connection that dropped).
    ConnectionLost,
    /// It was sent to a connection held by a plugin process that is gone (the plugin or the
    /// server restarted, or a node of the cluster died).
    Restarted,
}

/// `data` with `proxy.expanded` set (SPEC §13), every other value's text unchanged.
pub(crate) fn with_expanded(data: &RawValue, expanded: &Value) -> Box<RawValue> {
    let expanded = to_raw_value(expanded).expect("a JSON value serializes");
    with_proxy_key(data, "expanded", &expanded).expect("the core built the event's data")
}

/// `data` with `proxy.delivery` set, every other value's text unchanged; `None` when `data`
/// (a kept event read back from the store) is not an event's data.
pub(crate) fn with_delivery(data: &RawValue, delivery: &Delivery) -> Option<Box<RawValue>> {
    let delivery = to_raw_value(delivery).expect("a delivery block serializes");
    with_proxy_key(data, "delivery", &delivery)
}

/// `data` with `proxy.<key>` set; `None` when `data` is not an event's data.
fn with_proxy_key(data: &RawValue, key: &str, value: &RawValue) -> Option<Box<RawValue>> {
    let mut top: BTreeMap<String, &RawValue> = serde_json::from_str(data.get()).ok()?;
    let proxy = top.get(PROXY_KEY).map(|raw| raw.get()).unwrap_or("{}");
    let mut block: BTreeMap<String, &RawValue> = serde_json::from_str(proxy).ok()?;
    block.insert(key.into(), value);
    let block = to_raw_value(&block).expect("raw JSON values serialize");
    top.insert(PROXY_KEY.into(), &block);
    Some(to_raw_value(&top).expect("raw JSON values serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::Issued;

    fn ctx() -> Context {
        Context::for_test(1_700_000_000_123, [7; 16])
    }

    /// A bot reads the event's text: every value the body had keeps its spelling, the keys come
    /// sorted with `proxy` in its place, and a `proxy` the body carried is replaced.
    #[test]
    fn an_action_event_keeps_the_bodys_text_and_puts_proxy_in_its_place() {
        let body =
            r#"{"zeta":1.50,"alpha":"a\u00e9","proxy":{"forged":true},"context":{"b":1,"a":[]}}"#;
        let fields: BTreeMap<String, &RawValue> = serde_json::from_str(body).unwrap();
        let issued = Issued {
            trigger_token: "tok".into(),
            trigger_expires_at: 1_700_000_030_000,
        };
        let event_id = EventId::from_entropy([7; 16]);
        let expected = format!(
            concat!(
                r#"{{"alpha":"a\u00e9","context":{{"b":1,"a":[]}},"#,
                r#""proxy":{{"event_id":"{}","received_at":1700000000123,"#,
                r#""trigger_expires_at":1700000030000,"trigger_token":"tok","#,
                r#""verified":false,"version":"{}"}},"zeta":1.50}}"#
            ),
            event_id.as_str(),
            PLUGIN_VERSION
        );
        let event = action_event(&fields, None, false, Some(&issued), &ctx());
        assert_eq!(event.get(), expected);

        // A context the plugin gives in place of the body's (a signed click's, unsigned).
        let context = RawValue::from_string(r#"{"b":2}"#.into()).unwrap();
        let event = action_event(&fields, Some(&context), false, Some(&issued), &ctx());
        assert_eq!(
            event.get(),
            expected.replace(r#""context":{"b":1,"a":[]}"#, r#""context":{"b":2}"#)
        );

        // Without a trigger, no trigger keys; a body whose keys all sort after `proxy`.
        let fields: BTreeMap<String, &RawValue> =
            serde_json::from_str(r#"{"type":"button"}"#).unwrap();
        let event = action_event(&fields, None, true, None, &ctx());
        assert_eq!(
            event.get(),
            format!(
                r#"{{"proxy":{{"event_id":"{}","received_at":1700000000123,"verified":true,"version":"{}"}},"type":"button"}}"#,
                event_id.as_str(),
                PLUGIN_VERSION
            )
        );
    }
}
