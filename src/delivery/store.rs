//! What the delivery layer keeps in the KV store, and the keys it keeps it under.

use crate::facts::{Answer, FactError};
use crate::ids::{EventId, NodeId, UserId};
use crate::refusal::Refusal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The key of a bot's subscribed connections.
pub(crate) fn subscriptions_key(bot: &UserId) -> String {
    format!("subs_{bot}")
}

/// The key of a bot's kept events, oldest first.
pub(crate) fn queue_key(bot: &UserId) -> String {
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
    /// How many items fell off the front past the cap, ever.
    #[serde(default)]
    pub(crate) dropped: u64,
}

/// What [`crate::Fact::ListPush`] answers.
#[derive(Debug, Deserialize)]
pub(crate) struct Pushed {
    /// The items that fell off the front.
    #[serde(default)]
    pub(crate) dropped: Vec<Box<RawValue>>,
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

/// One event in a bot's queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Queued {
    pub(crate) event_id: EventId,
    /// When it was queued.
    pub(crate) at: u64,
}

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
    /// Whether a click is waiting for the answer, whether it was answered.
    pub(crate) state: KeptState,
    /// Where the click was made: where a late answer goes.
    #[serde(default)]
    pub(crate) place: Option<Place>,
}

/// The state of a kept event's answer. Only two parties change it, each with a
/// compare-and-set: the click waiting for the answer (waiting → late) and the acknowledgement
/// (waiting or late → answered), so exactly one of them applies the answer.
///
/// Externally tagged (`{"waiting": {"until": …}}`, `"late"`, `{"answered": {"answer": …}}`), so
/// that the answer is read as the exact text the bot sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeptState {
    /// A click waits for the answer until `until` (milliseconds since the epoch).
    Waiting { until: u64 },
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

/// The refusal for a store that could not answer.
pub(crate) fn unavailable(what: &'static str, e: &FactError) -> Refusal {
    Refusal::Unavailable {
        what,
        detail: e.to_string(),
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
