//! What the delivery layer keeps in the KV store, and the keys it keeps it under.

use crate::facts::Answer;
use crate::ids::{EventId, NodeId, UserId};
use crate::refusal::{unavailable, Refusal};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The key of a bot's subscribed connections.
pub(crate) fn subscriptions_key(bot: &UserId) -> String {
    format!("subs_{bot}")
}

/// The key of a bot's queue counter: the range of sequence numbers its kept events hold.
pub(crate) fn queue_key(bot: &UserId) -> String {
    format!("qc_{bot}")
}

/// The key of the entry at `seq` of a bot's queue: which event it is.
pub(crate) fn entry_key(bot: &UserId, seq: u64) -> String {
    format!("qi_{bot}_{seq}")
}

/// The key of how many of a bot's kept events one person's clicks made.
pub(crate) fn quota_key(bot: &UserId, user: &str) -> String {
    format!("qu_{bot}_{user}")
}

/// The key of a bot's kept events before 1.1: one list, rewritten by every click and ack. A
/// subscription moves what it still holds into the queue (`socket.rs`).
pub(crate) fn legacy_queue_key(bot: &UserId) -> String {
    format!("q_{bot}")
}

/// The key of one kept event.
pub(crate) fn event_key(event_id: &str) -> String {
    format!("ev_{event_id}")
}

/// The key of a node's heartbeat.
pub(crate) fn node_key(node: &NodeId) -> String {
    format!("node_{}", node.as_str())
}

/// The key of the list of every bot that subscribed.
pub(crate) const BOTS_KEY: &str = "bots";

/// The most connections one bot may hold subscribed at once.
pub(crate) const MAX_CONNECTIONS: u32 = 100;

/// A list as [`crate::Fact::ListPush`] keeps it.
#[derive(Debug, Deserialize)]
pub(crate) struct List<T> {
    #[serde(default = "Vec::new")]
    pub(crate) items: Vec<T>,
}

/// One subscribed connection of a bot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Subscription {
    /// Mattermost's id of the websocket connection.
    pub(crate) connection_id: String,
    /// The node holding it.
    pub(crate) node: NodeId,
    /// When it subscribed.
    pub(crate) since: u64,
}

/// One event in a bot's queue (before 1.1, an item of the `q_<bot>` list).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Queued {
    pub(crate) event_id: EventId,
    /// When it was queued.
    pub(crate) at: u64,
    /// Whose click, submission or command it is: their quota gives the place back when it
    /// leaves the queue. Absent in entries from before 1.1.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) user: String,
}

/// A bot's queue counter (`qc_<bot>`): its kept events hold the sequence numbers
/// `first..next`, oldest first, each an entry `qi_<bot>_<seq>`. Pushing is the only change
/// most kept events make to it: a small document, whatever the backlog.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct QueueRange {
    /// The oldest sequence number that may still be kept.
    pub(crate) first: u64,
    /// The next sequence number to be given.
    pub(crate) next: u64,
    /// How many entries fell off the front past the cap, ever.
    #[serde(default)]
    pub(crate) dropped: u64,
}

/// What [`crate::Fact::QueuePush`] answers: the sequence number given, and the range that fell
/// off the front past the cap (its entries are the pusher's to delete).
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct Pushed {
    pub(crate) seq: u64,
    /// `[from, to)`; empty when nothing fell off.
    #[serde(default)]
    pub(crate) dropped: (u64, u64),
}

/// What [`crate::Fact::Count`] answers: the count after the change, or that it is at its
/// ceiling (nothing changed).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Counted {
    Value(#[allow(dead_code)] u64),
    AtCeiling(u64),
}

/// What [`crate::Fact::ListPush`] answers (read only to know it worked).
#[derive(Debug, Deserialize)]
pub(crate) struct ListPushed {}

/// One bot in the list of bots that subscribed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Subscriber {
    pub(crate) user_id: UserId,
    /// When it last subscribed.
    pub(crate) at: u64,
}

/// A node's heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    pub(crate) at: u64,
}

/// One kept event (`ev_<event id>`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Kept {
    /// The bot it is for: the only user who may acknowledge it.
    pub(crate) bot: UserId,
    /// The event's name without Mattermost's prefix (`action`).
    pub(crate) event: String,
    /// The event's data, `proxy` included, `proxy.delivery` not.
    pub(crate) data: Box<RawValue>,
    /// When it was first sent.
    pub(crate) first_sent_at: u64,
    /// How many times it was sent so far.
    pub(crate) attempts: u32,
    /// Whether it was answered.
    pub(crate) state: KeptState,
    /// Where the click was made: where a late answer goes.
    #[serde(default)]
    pub(crate) place: Option<Place>,
    /// Its place in the bot's queue (absent in records from before 1.1, queued in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seq: Option<u64>,
    /// Whose it is, for their quota (empty before 1.1).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) user: String,
    /// The connection it was last sent to, if it was sent: a replay says why it comes again
    /// by what became of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sent_to: Option<Subscription>,
}

/// The state of a kept event's answer. An event is kept (written to the store) only once
/// nobody waits for its answer, so the only change is the acknowledgement's compare-and-set
/// (late → answered), which exactly one acknowledgement wins.
///
/// Externally tagged (`"late"`, `{"answered": {"answer": …}}`), so that the answer is read as
/// the exact text the bot sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeptState {
    /// A record from before 1.1, written while a click waited (`{"waiting": {"until": …}}`):
    /// whatever waited for it is gone with the process that wrote it, so it counts as late.
    Waiting {
        #[allow(dead_code)]
        until: u64,
    },
    /// Nobody waits: the acknowledgement applies the answer itself.
    Late,
    /// Acknowledged; the answer as the bot gave it, checked.
    Answered { answer: Box<RawValue> },
}

/// Where a click was made, for a late answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Place {
    /// The post clicked on; a late `update` changes it.
    pub(crate) post_id: String,
    /// Its channel; a late `ephemeral_text` is shown there.
    pub(crate) channel_id: String,
    /// The thread a late `ephemeral_text` is shown in.
    pub(crate) root_id: String,
    /// Who clicked: the only one who sees a late `ephemeral_text`.
    pub(crate) user_id: String,
    /// For a click on an ephemeral post the plugin sent (SPEC §13), that post's thread (empty
    /// outside one): a late `update` replaces the post for the clicker alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ephemeral_root: Option<String>,
    /// The version of that ephemeral post the click was made on: a late `update` applies only
    /// if the post is still at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ephemeral_version: Option<String>,
}

impl Place {
    /// The ephemeral post clicked on, if it was one; sent by `bot`, on the server at `site_url`.
    pub(crate) fn ephemeral<'a>(
        &'a self,
        bot: &'a str,
        site_url: &'a str,
    ) -> Option<crate::sign::ephemeral::Ephemeral<'a>> {
        let root_id = self.ephemeral_root.as_deref()?;
        Some(crate::sign::ephemeral::Ephemeral {
            post_id: &self.post_id,
            channel_id: &self.channel_id,
            root_id,
            bot,
            to: &self.user_id,
            site_url,
            version: self.ephemeral_version.as_deref().unwrap_or_default(),
        })
    }
}

/// Reads a KV fact answered with a document (or `null`) as `T`.
pub(crate) fn document<T: for<'de> Deserialize<'de>>(
    answer: &Answer<Option<&RawValue>>,
    what: &'static str,
) -> Result<Option<T>, Refusal> {
    match answer {
        Answer::Found(None) => Ok(None),
        Answer::Found(Some(raw)) => {
            serde_json::from_str(raw.get())
                .map(Some)
                .map_err(|e| Refusal::Internal {
                    detail: format!("reading the {what}: {e}"),
                })
        }
        Answer::Failed(e) => Err(unavailable(what, e)),
    }
}

/// The live ones of `subscriptions`: those this node holds, and those of nodes whose heartbeat
/// is fresh in `heartbeats` (keyed by KV key).
pub(crate) fn live<'a>(
    subscriptions: &'a [Subscription],
    this_node: &NodeId,
    heartbeats: &BTreeMap<String, Option<&RawValue>>,
) -> Vec<&'a Subscription> {
    subscriptions
        .iter()
        .filter(|s| {
            s.node == *this_node
                || heartbeats
                    .get(&node_key(&s.node))
                    .is_some_and(|h| h.is_some())
        })
        .collect()
}

/// The KV keys of the heartbeats `subscriptions` depend on (none for this node's own).
pub(crate) fn heartbeat_keys(subscriptions: &[Subscription], this_node: &NodeId) -> Vec<String> {
    let mut keys: Vec<String> = subscriptions
        .iter()
        .filter(|s| s.node != *this_node)
        .map(|s| node_key(&s.node))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The expiry of what a bot's kept events depend on.
pub(crate) fn keep_seconds(settings: &crate::settings::Settings) -> u64 {
    u64::from(settings.keep_hours) * 3600
}
