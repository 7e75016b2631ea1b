//! What the core asks its caller to do: the values that cross back over the boundary.

use crate::facts::FactQuery;
use crate::ids::UserId;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The answer to one call of [`crate::handle`].
#[must_use = "an outcome is either facts to gather or a decision to carry out"]
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Gather these facts, in this order, and call again with the answers in the same order.
    NeedFacts(Vec<FactQuery>),
    /// Nothing more is needed: carry this out.
    Decided(Decision),
}

/// Everything a request leads to: effects to carry out in order, then exactly one response.
#[must_use = "a decision does nothing until its effects are carried out and its response written"]
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Carried out in order, before the response is written.
    pub effects: Vec<Effect>,
    /// Written last, in one `Write`.
    pub response: Response,
}

/// One thing for the shim to do.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    /// Publish websocket event `event` to `user_id` alone; Mattermost names it
    /// `custom_<plugin id>_<event>`.
    Publish {
        /// The event name without Mattermost's prefix.
        event: &'static str,
        /// The only user who receives it.
        user_id: UserId,
        /// The event's `data`: a JSON object.
        data: Box<RawValue>,
    },
    /// Keep `value` in the plugin's KV store under `key` for `expire_in_seconds`.
    Store {
        /// The plugin's KV key.
        key: String,
        /// A JSON document.
        value: Box<RawValue>,
        /// When Mattermost drops the entry.
        expire_in_seconds: u64,
    },
    /// Write one line to the server log.
    Log {
        /// How loud.
        level: LogLevel,
        /// A short lowercase sentence.
        message: String,
        /// Key-value pairs; never a token.
        fields: BTreeMap<&'static str, String>,
    },
}

/// Log levels, as Mattermost's `LogDebug`/`LogInfo`/`LogWarn`/`LogError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Routine detail.
    Debug,
    /// Something a user did that was refused as it should be.
    Info,
    /// Something a bot developer or administrator should fix, or a forgery.
    Warn,
    /// Something broke.
    Error,
}

/// The HTTP response to write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// A JSON document, always (Mattermost turns anything else into a generic error).
    pub body: String,
}
