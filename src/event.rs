//! The events bots receive.

use crate::http::Context;
use crate::ids::EventId;
use crate::manifest::PLUGIN_VERSION;
use serde_json::json;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The key under which the plugin adds its own fields, so none can collide with a field a
/// future Mattermost adds to the request (and none is `user`, which the Go websocket client
/// rewrites into a `*model.User`).
pub(crate) const PROXY_KEY: &str = "proxy";

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
    serde_json::value::to_raw_value(&data).expect("raw JSON values serialize")
}

/// `proxy`: what the plugin adds to every event.
pub(crate) fn proxy_block(verified: bool, ctx: &Context) -> Box<RawValue> {
    let block = json!({
        "event_id": EventId::from_entropy(ctx.entropy).as_str(),
        "received_at": ctx.now_ms,
        "verified": verified,
        "version": PLUGIN_VERSION,
    });
    serde_json::value::to_raw_value(&block).expect("a JSON value serializes")
}
