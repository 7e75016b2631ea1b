//! What the core answers: facts it still needs, or a decision made of effects and a reply.

use crate::facts::{Ask, Fact, Query};
use crate::ids::UserId;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Key-value pairs for one log line; never a token.
pub(crate) type LogFields = BTreeMap<&'static str, String>;

/// The answer to one call of [`crate::handle`].
#[must_use = "an outcome is either facts to gather or a decision to carry out"]
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Gather the answers to these queries (concurrently; each is named) and call again with
    /// every answer so far.
    NeedFacts(Vec<Query>),
    /// Nothing more is needed: carry this out.
    Decided(Decision),
}

impl From<Ask> for Outcome {
    fn from(ask: Ask) -> Self {
        Outcome::NeedFacts(ask.into_queries())
    }
}

/// Everything an input leads to: effects to carry out in order, then the reply.
#[must_use = "a decision does nothing until its effects are carried out and its reply given"]
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Carried out in order, before the reply.
    pub effects: Vec<Effect>,
    /// What the caller of the plugin gets back.
    pub reply: Reply,
}

/// What the plugin answers whoever gave it the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The HTTP response to an [`crate::Input::Http`] request.
    Http(Response),
    /// Nothing: the input was a hook that answers nobody (`{"none": {}}` on the wire).
    None {},
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
        /// Ask Mattermost to deliver it through every node of a cluster reliably
        /// (`WebsocketBroadcast.ReliableClusterSend`).
        reliable: bool,
    },
    /// Keep `value` under `key` for `expire_in_seconds`, off the request's path: the shim does
    /// not wait for it, and a `kv_get` of the same key on the same node waits until it is
    /// stored. For what helps later requests and may be lost (a trigger's place).
    Store {
        /// The plugin's KV key.
        key: String,
        /// A JSON document.
        value: Box<RawValue>,
        /// When Mattermost drops the entry.
        expire_in_seconds: u64,
    },
    /// Remove `key` from the plugin's KV store; best effort (the entry expires anyway).
    Delete {
        /// The plugin's KV key.
        key: String,
    },
    /// Drop any cached answer to `fact`: it no longer holds.
    Forget {
        /// The fact, as it was asked.
        fact: Fact,
    },
    /// Write one line to the server log.
    Log {
        /// How loud.
        level: LogLevel,
        /// A short lowercase sentence.
        message: String,
        /// Key-value pairs; never a token.
        fields: LogFields,
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

impl Decision {
    /// An HTTP response and the effects before it.
    pub(crate) fn http(effects: Vec<Effect>, status: u16, body: String) -> Self {
        Self {
            effects,
            reply: Reply::Http(Response { status, body }),
        }
    }

    /// Effects alone, for an input that answers nobody.
    pub(crate) fn quiet(effects: Vec<Effect>) -> Self {
        Self {
            effects,
            reply: Reply::None {},
        }
    }

    /// The HTTP response, for an HTTP input.
    ///
    /// # Panics
    /// When the decision is not for an HTTP request.
    pub fn response(&self) -> &Response {
        match &self.reply {
            Reply::Http(response) => response,
            Reply::None {} => panic!("a decision for a hook has no HTTP response"),
        }
    }
}

impl Effect {
    /// Publish `data` as `event` to `user_id` alone, reliably across a cluster.
    pub(crate) fn publish(event: &'static str, user_id: UserId, data: Box<RawValue>) -> Self {
        Self::Publish {
            event,
            user_id,
            data,
            reliable: true,
        }
    }
}
