//! The events bots receive.

use crate::http::Context;
use crate::ids::EventId;
use crate::manifest::PLUGIN_VERSION;
use serde_json::{json, Map, Value};

/// The key under which the plugin adds its own fields, so none can collide with a field a
/// future Mattermost adds to the request (and none is `user`, which the Go websocket client
/// rewrites into a `*model.User`).
pub(crate) const PROXY_KEY: &str = "proxy";

/// The `data` of an `action` event: every top-level key Mattermost sent, unchanged, plus `proxy`.
pub(crate) fn action_event(mut body: Map<String, Value>, verified: bool, ctx: &Context) -> Map<String, Value> {
    body.insert(PROXY_KEY.to_owned(), proxy_block(verified, ctx));
    body
}

/// `proxy`: what the plugin adds to every event.
pub(crate) fn proxy_block(verified: bool, ctx: &Context) -> Value {
    json!({
        "event_id": EventId::from_entropy(ctx.entropy).as_str(),
        "received_at": ctx.now_ms,
        "verified": verified,
        "version": PLUGIN_VERSION,
    })
}
