//! Delivery guarantees (SPEC §9): subscribe, acknowledge, answer, keep and replay.
//!
//! A bot opts in per connection by sending `custom_<id>_subscribe`. From then on an event for
//! it goes to exactly one of its live subscribed connections, is kept in the KV store until the
//! bot acknowledges it, and is replayed in order when a connection subscribes again. A click
//! waits up to the answer window for the bot's answer, which becomes the click's own response;
//! after the window the clicker is told the bot has not answered yet, and a late answer still
//! takes effect. Bots that never subscribe get today's delivery, unchanged.
//!
//! What lives where, all in the KV store so that every node of a cluster sees it:
//!
//! | key | what |
//! |---|---|
//! | `subs_<bot>` | the bot's subscribed connections (a list; its existence means "subscribed within the keep period") |
//! | `qc_<bot>` | the bot's queue counter: the sequence numbers its kept events hold |
//! | `qi_<bot>_<seq>` | one entry of the bot's queue: which event, since when, whose |
//! | `qu_<bot>_<user>` | how many of the bot's kept events one person's are |
//! | `ev_<event id>` | one kept event: its data, attempts, where it was sent, its answer |
//! | `node_<node id>` | a node's heartbeat: its connections count as live while it is fresh |
//! | `bots` | every bot that ever subscribed (for the status page and the resubscribe hint) |
//!
//! [`click`] delivers a click, [`socket`] handles what connections send and their end, [`ack`]
//! applies an acknowledgement (from a websocket or `POST /api/v1/ack`), [`answer`] checks a
//! bot's answer, [`node`] keeps this node alive in the registry, and [`status`] serves
//! `GET /api/v1/status` and the administrators' view.

pub(crate) mod ack;
pub(crate) mod answer;
pub(crate) mod click;
pub(crate) mod keep;
pub(crate) mod node;
pub(crate) mod replay;
pub(crate) mod socket;
pub(crate) mod status;
pub(crate) mod store;

pub(crate) use click::{ask_registry, deliver, ClickSender, Outgoing, Sender};
pub(crate) use node::{forget_everywhere, to_other_nodes};
pub(crate) use store::{Kept, KeptState, Place};

/// The events the delivery layer sends, besides the ones it delivers.
pub(crate) mod events {
    /// To the subscribing connection: `{connection_id, answer_window_ms, kept}`.
    pub(crate) const SUBSCRIBED: &str = "subscribed";
    /// To the connection that unsubscribed: `{connection_id}`.
    pub(crate) const UNSUBSCRIBED: &str = "unsubscribed";
    /// To the connection that acknowledged: `{event_id, status, error?}`.
    pub(crate) const ACK_RESULT: &str = "ack_result";
    /// To a connection whose message could not be taken: `{action, seq, error: {code, message}}`.
    pub(crate) const ERROR: &str = "error";
    /// To every bot that had subscribed, when the plugin starts: subscribe again.
    pub(crate) const RESUBSCRIBE: &str = "resubscribe";
}

/// The protocol version a subscription names.
pub(crate) const PROTOCOL: u64 = 1;

/// How long a node's heartbeat lasts; it is refreshed three times as often.
pub(crate) const HEARTBEAT_S: u64 = 60;

/// The timer that refreshes this node's heartbeat.
pub(crate) const HEARTBEAT_TIMER: &str = "heartbeat";

/// How long a person waits for an answer only the moment needs (a lookup, a refresh): the
/// answer window, or 2.5 s where the window is 0 (such an answer cannot come later).
pub(crate) fn transient_window_ms(ctx: &crate::input::Context) -> u32 {
    match ctx.settings.answer_window_ms {
        0 => 2_500,
        window => window,
    }
}

/// The log line of a lookup or refresh the bot did not answer: the person sees no error, so
/// the administrator and the bot's developer learn it here.
pub(crate) fn transient_log(
    notice: crate::refusal::Notice,
    what: &'static str,
    session_id: &str,
) -> crate::effect::Effect {
    let mut fields = crate::effect::LogFields::new();
    fields.insert("session_id", session_id.to_owned());
    fields.insert("what", what.to_owned());
    let message = match notice {
        crate::refusal::Notice::BotOffline => {
            "the bot is offline: a dialog's {what} was answered with nothing"
        }
        crate::refusal::Notice::NotAnsweredYet => {
            "the bot did not answer in time: a dialog's {what} was answered with nothing"
        }
    };
    crate::effect::Effect::Log {
        level: crate::effect::LogLevel::Info,
        message: message.replace("{what}", what),
        fields,
    }
}
