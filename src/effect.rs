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
    /// Carry out `effects` in order, then gather the answers to `queries` (concurrently; each
    /// is named) and call again with every answer so far.
    NeedFacts {
        /// Carried out before the queries are asked.
        effects: Vec<Effect>,
        /// What the decision still needs to know.
        queries: Vec<Query>,
    },
    /// Nothing more is needed: carry this out.
    Decided(Decision),
}

impl From<Ask> for Outcome {
    fn from(ask: Ask) -> Self {
        let (effects, queries) = ask.into_parts();
        Outcome::NeedFacts { effects, queries }
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
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The HTTP response to an [`crate::Input::Http`] request.
    Http(Response),
    /// Nothing: the input was a hook that answers nobody (`{"none": {}}` on the wire).
    None {},
    /// The answer of `ExecuteCommand`: Mattermost's `CommandResponse`, or none: the command
    /// is handed back, and Mattermost runs what it would have run without this plugin (a
    /// team's own command, a built-in).
    Command {
        /// The response, as Mattermost's JSON; `None` hands the command back.
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<Box<RawValue>>,
    },
    /// The answer of `MessageWillBePosted` / `MessageWillBeUpdated`: the post to save instead
    /// (`None`: unchanged), or why it is refused.
    Post {
        /// The post to save, when the hook changed it.
        #[serde(skip_serializing_if = "Option::is_none")]
        post: Option<Box<RawValue>>,
        /// Why the post is refused (the poster's request fails with it).
        #[serde(skip_serializing_if = "Option::is_none")]
        rejection: Option<String>,
    },
}

impl PartialEq for Reply {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Reply::Http(a), Reply::Http(b)) => a == b,
            (Reply::None {}, Reply::None {}) => true,
            (Reply::Command { response: a }, Reply::Command { response: b }) => {
                a.as_ref().map(|r| r.get()) == b.as_ref().map(|r| r.get())
            }
            (
                Reply::Post { post, rejection },
                Reply::Post {
                    post: other_post,
                    rejection: other_rejection,
                },
            ) => {
                post.as_ref().map(|p| p.get()) == other_post.as_ref().map(|p| p.get())
                    && rejection == other_rejection
            }
            _ => false,
        }
    }
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
        /// The one connection of that user that receives it (`WebsocketBroadcast.ConnectionId`);
        /// every connection of the user when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        connection_id: Option<String>,
        /// The event's `data`: a JSON object.
        data: Box<RawValue>,
        /// Ask Mattermost to deliver it through every node of a cluster reliably
        /// (`WebsocketBroadcast.ReliableClusterSend`).
        reliable: bool,
    },
    /// Hand `answer` to the input waiting for `event_id` on this node, if one is (its
    /// [`crate::Fact::Await`] is answered with it): a relayed acknowledgement's result.
    Wake {
        /// The event answered.
        event_id: String,
        /// The bot's answer, checked.
        answer: Box<RawValue>,
    },
    /// Send `message` to the plugin on every other node (`PublishPluginClusterEvent`); each
    /// receives it as [`crate::Input::Cluster`].
    Cluster {
        /// A JSON document.
        message: Box<RawValue>,
    },
    /// Call back with [`crate::Input::Timer`] `name` at `at_ms`, replacing a timer of that name.
    WakeAt {
        /// The timer.
        name: String,
        /// Milliseconds since the epoch.
        at_ms: u64,
    },
    /// Report the disconnection of `connection_id` as [`crate::Input::Disconnected`] (only
    /// connections watched on this node are reported: most connections are people's).
    Watch {
        /// The connection.
        connection_id: String,
    },
    /// Stop reporting `connection_id`.
    Unwatch {
        /// The connection.
        connection_id: String,
    },
    /// `CreatePost(post)`: a post by the bot `post.user_id` names (an `in_channel` answer to a
    /// slash command). Failures are logged.
    CreatePost {
        /// The post as Mattermost's JSON.
        post: Box<RawValue>,
    },
    /// `RegisterCommand(command)` on this node, for every team: Mattermost calls
    /// `ExecuteCommand` when someone types it.
    RegisterCommand {
        /// The trigger, without the slash.
        trigger: String,
        /// The autocomplete's name for it.
        display_name: String,
        /// What it does, in the autocomplete.
        description: String,
        /// Its arguments, in the autocomplete (`[environment]`).
        hint: String,
        /// Whether the autocomplete offers it.
        autocomplete: bool,
    },
    /// `UnregisterCommand("", trigger)` on this node.
    UnregisterCommand {
        /// The trigger, without the slash.
        trigger: String,
    },
    /// `SendEphemeralPost(user_id, post)`: a message only `user_id` sees.
    SendEphemeral {
        /// Who sees it.
        user_id: String,
        /// The post as Mattermost's JSON (`channel_id`, `root_id`, `message`).
        post: Box<RawValue>,
    },
    /// `UpdateEphemeralPost(user_id, post)`: an ephemeral post, replaced for the one user who
    /// sees it.
    UpdateEphemeral {
        /// Who sees it.
        user_id: String,
        /// The post as Mattermost's JSON, its `id` set.
        post: Box<RawValue>,
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
    /// Add `by` to the count under `key` ([`crate::Fact::Count`], no ceiling), off the
    /// request's path; best effort (the count expires anyway).
    Count {
        /// The plugin's KV key.
        key: String,
        /// The change.
        by: i64,
        /// When Mattermost drops the count.
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
    /// Keep `found` as the answer to `fact`, as if Mattermost had just given it (a post the
    /// hooks saw saved): a later query that accepts a cached answer needs no round trip.
    Remember {
        /// The fact, as it would be asked.
        fact: Fact,
        /// Its answer's `found` value.
        found: Box<RawValue>,
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
    /// A JSON document (Mattermost turns anything else into a generic error), or nothing: an
    /// empty answer to a request Mattermost made itself inside the server, which it reads as
    /// `{}`, is not written at all.
    pub body: String,
    /// The answer to a request only Mattermost makes — a click, a dialog's submission or
    /// refresh, a lookup — which it reads as JSON whatever its headers say: the shim writes it
    /// without a `Content-Type`, because setting one costs a round trip to the server (a
    /// plugin's response headers live in the server process), on every click.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub to_mattermost: bool,
}

impl Decision {
    /// An HTTP response and the effects before it.
    pub(crate) fn http(effects: Vec<Effect>, status: u16, body: String) -> Self {
        Self {
            effects,
            reply: Reply::Http(Response {
                status,
                body,
                to_mattermost: false,
            }),
        }
    }

    /// This decision as the answer to a request Mattermost itself makes (`router::to_mattermost`:
    /// written for Mattermost alone; when Mattermost made it in its own memory, `internal`, an
    /// empty answer `{}` is written as nothing). Also what an acknowledgement decides for a
    /// click or a lookup that waits ([`crate::facts::Decides`]).
    pub(crate) fn for_mattermost(mut self, internal: bool) -> Self {
        if let Reply::Http(response) = &mut self.reply {
            response.to_mattermost = true;
            if internal && response.status == 200 && response.body == "{}" {
                response.body.clear();
            }
        }
        self
    }

    /// Effects alone, for an input that answers nobody.
    pub(crate) fn quiet(effects: Vec<Effect>) -> Self {
        Self {
            effects,
            reply: Reply::None {},
        }
    }

    /// The answer to a slash command: `response`, Mattermost's `CommandResponse`.
    pub(crate) fn command(effects: Vec<Effect>, response: Box<RawValue>) -> Self {
        Self {
            effects,
            reply: Reply::Command {
                response: Some(response),
            },
        }
    }

    /// A slash command handed back to Mattermost, which runs what it would have run without
    /// this plugin (`ExecuteCommand` answers no response and no error).
    pub(crate) fn command_handed_back(effects: Vec<Effect>) -> Self {
        Self {
            effects,
            reply: Reply::Command { response: None },
        }
    }

    /// The answer to a post hook.
    pub(crate) fn post(
        effects: Vec<Effect>,
        post: Option<Box<RawValue>>,
        rejection: Option<String>,
    ) -> Self {
        Self {
            effects,
            reply: Reply::Post { post, rejection },
        }
    }

    /// The HTTP response, for an HTTP input.
    ///
    /// # Panics
    /// When the decision is not for an HTTP request.
    pub fn response(&self) -> &Response {
        match &self.reply {
            Reply::Http(response) => response,
            Reply::None {} | Reply::Post { .. } | Reply::Command { .. } => {
                panic!("a decision for a hook has no HTTP response")
            }
        }
    }
}

impl Effect {
    /// Publish `data` as `event` to `user_id` alone, reliably across a cluster.
    pub(crate) fn publish(event: &'static str, user_id: UserId, data: Box<RawValue>) -> Self {
        Self::Publish {
            event,
            user_id,
            connection_id: None,
            data,
            reliable: true,
        }
    }

    /// Publish `data` as `event` to one connection of `user_id`.
    pub(crate) fn publish_to(
        event: &'static str,
        user_id: UserId,
        connection_id: &str,
        data: Box<RawValue>,
    ) -> Self {
        Self::Publish {
            event,
            user_id,
            connection_id: Some(connection_id.to_owned()),
            data,
            reliable: true,
        }
    }
}
