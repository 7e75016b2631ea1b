//! The events bots receive, built here and nowhere else.

use crate::ids::EventId;
use crate::input::Context;
use crate::manifest::PLUGIN_VERSION;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The key under which the plugin adds its own fields, so none can collide with a field a
/// future Mattermost adds to the request (and none is `user`, which the Go websocket client
/// rewrites into a `*model.User`).
pub(crate) const PROXY_KEY: &str = "proxy";

/// The event a click is published as (`custom_<id>_action`).
pub(crate) const ACTION: &str = "action";

/// The event a dialog submission is published as (`custom_<id>_dialog_submission`).
pub(crate) const DIALOG_SUBMISSION: &str = "dialog_submission";

/// The `data` of an `action` event: every top-level key Mattermost sent, its value's text
/// unchanged, plus `proxy` (which replaces a `proxy` key in the body, should one ever come).
pub(crate) fn action_event(
    fields: &BTreeMap<String, &RawValue>,
    verified: bool,
    ctx: &Context,
) -> Box<RawValue> {
    let proxy = proxy_block(verified, ctx);
    let mut data: BTreeMap<&str, &RawValue> =
        fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    data.insert(PROXY_KEY, &proxy);
    to_raw_value(&data).expect("raw JSON values serialize")
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
    #[derive(Serialize)]
    struct Data<'a> {
        #[serde(flatten)]
        submission: &'a DialogSubmission<'a>,
        proxy: Box<RawValue>,
    }
    to_raw_value(&Data {
        submission: s,
        proxy: proxy_block(true, ctx),
    })
    .expect("an event serializes")
}

/// `proxy`: what the plugin adds to every event.
fn proxy_block(verified: bool, ctx: &Context) -> Box<RawValue> {
    let block = json!({
        "event_id": EventId::from_entropy(ctx.entropy).as_str(),
        "received_at": ctx.now_ms,
        "verified": verified,
        "version": PLUGIN_VERSION,
    });
    to_raw_value(&block).expect("a JSON value serializes")
}
