//! `GET /api/v1/status` (a bot's own subscriptions and kept events) and
//! `GET /api/v1/admin/status` (every bot's, for system administrators: the System Console page).

use super::store::{
    entry_key, heartbeat_keys, live, node_key, queue_key, subscriptions_key, List, QueueRange,
    Queued, Subscriber, Subscription, BOTS_KEY,
};
use crate::effect::Decision;
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::UserId;
use crate::input::{Context, Request};
use crate::model::User;
use crate::refusal::{unavailable, Refusal};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
struct StatusFacts<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    queue: Option<Answer<Option<&'a RawValue>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    heartbeats: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// The caller's account (the administrators' view only).
    #[serde(default, deserialize_with = "present")]
    caller: Option<Answer<User>>,
    #[serde(borrow, default, deserialize_with = "present")]
    bots: Option<Answer<Option<&'a RawValue>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    registries: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    queues: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// The caller's queue entries.
    #[serde(borrow, default, deserialize_with = "present")]
    entries: Option<Answer<KeptEntries<'a>>>,
}

/// A bot's queue entries as `kv_get_many` answers them (`{"qi_<bot>_<seq>": entry or null}`),
/// read in one pass and not kept: how many are there, and the oldest (the lowest sequence
/// number). A full queue is `KeptPerBot` entries, up to 10,000: a map of them, its keys
/// formatted again to look each one up, cost the core more than the bulk lane's budget.
#[derive(Debug, Default)]
struct KeptEntries<'a> {
    present: u64,
    oldest: Option<(u64, &'a RawValue)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for KeptEntries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = KeptEntries<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the queue entries by key")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = KeptEntries::default();
                while let Some((key, entry)) =
                    map.next_entry::<&'de str, Option<&'de RawValue>>()?
                {
                    let Some(entry) = entry else { continue };
                    out.present += 1;
                    let seq = key.rsplit('_').next().and_then(|s| s.parse::<u64>().ok());
                    if let Some(seq) = seq {
                        if out.oldest.is_none_or(|(oldest, _)| seq < oldest) {
                            out.oldest = Some((seq, entry));
                        }
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// What a status shows of a bot's kept events.
#[derive(Debug, Default)]
struct KeptCount {
    /// How many.
    kept: u64,
    /// When the oldest was kept, if known.
    oldest_at: Option<u64>,
    /// How many fell off the front, ever.
    dropped: u64,
}

impl KeptCount {
    /// Exact: counted from the queue's entries (a bot's own status), which are the range's;
    /// only the oldest is read.
    fn counted(range: &QueueRange, entries: &KeptEntries<'_>) -> Self {
        KeptCount {
            kept: entries.present,
            oldest_at: entries
                .oldest
                .and_then(|(_, raw)| serde_json::from_str::<Queued>(raw.get()).ok())
                .map(|q| q.at),
            dropped: range.dropped,
        }
    }

    /// From the counter alone (every bot's, for administrators): the span of the queue, which
    /// counts events answered since the bot's last replay until that replay skips them.
    fn spanned(range: &QueueRange) -> Self {
        KeptCount {
            kept: range.next.saturating_sub(range.first),
            oldest_at: None,
            dropped: range.dropped,
        }
    }
}

/// Where one call leaves a status request.
pub(crate) enum Step {
    Ask(Ask),
    Done(Decision),
}

/// `GET /api/v1/status`: the caller's own delivery state.
pub(crate) fn own(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Result<Step, Refusal> {
    let user = request.caller()?;
    let f: StatusFacts<'_> = facts.read()?;
    let (Some(registry), Some(queue)) = (&f.registry, &f.queue) else {
        let mut ask = Ask::default();
        ask.unless(&f.registry, "registry", || Fact::KvGet {
            key: subscriptions_key(&user),
        })
        .unless(&f.queue, "queue", || Fact::KvGet {
            key: queue_key(&user),
        });
        return Ok(Step::Ask(ask));
    };
    let subscriptions = list::<Subscription>(registry, "subscriptions")?;
    let keys = subscriptions
        .as_ref()
        .map(|l| heartbeat_keys(&l.items, &ctx.node))
        .unwrap_or_default();
    let heartbeats = match (&f.heartbeats, keys.is_empty()) {
        (_, true) => BTreeMap::new(),
        (None, false) => return Ok(Step::Ask(Ask::one("heartbeats", Fact::KvGetMany { keys }))),
        (Some(Answer::Found(h)), false) => h.clone(),
        (Some(Answer::Failed(e)), false) => return Err(unavailable("node heartbeats", e)),
    };
    let mut range = super::replay::read_range(queue)?;
    // A queue never spans more than the bot may keep (a damaged counter is read that far).
    range.next = range.next.min(
        range
            .first
            .saturating_add(u64::from(ctx.settings.kept_per_bot)),
    );
    let none = KeptEntries::default();
    let entries = match &f.entries {
        _ if range.first >= range.next => &none,
        None => {
            let keys = (range.first..range.next)
                .map(|seq| entry_key(&user, seq))
                .collect();
            return Ok(Step::Ask(Ask::one("entries", Fact::KvGetMany { keys })));
        }
        Some(Answer::Found(entries)) => entries,
        Some(Answer::Failed(e)) => return Err(unavailable("kept events", e)),
    };
    let body = bot_status(
        &user,
        subscriptions.as_ref(),
        &KeptCount::counted(&range, entries),
        ctx,
        &heartbeats,
    );
    Ok(Step::Done(Decision::http(
        Vec::new(),
        200,
        body.to_string(),
    )))
}

/// `GET /api/v1/admin/status`: every bot that subscribed, for system administrators.
pub(crate) fn admin(
    request: &Request<'_>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let caller = request.caller()?;
    let f: StatusFacts<'_> = facts.read()?;
    let (Some(account), Some(bots)) = (&f.caller, &f.bots) else {
        let mut ask = Ask::default();
        ask.unless(&f.caller, "caller", || Fact::User {
            user_id: caller.to_string(),
        })
        .unless(&f.bots, "bots", || Fact::KvGet {
            key: BOTS_KEY.into(),
        });
        return Ok(Step::Ask(ask));
    };
    crate::model::require_admin(account, "see every bot's delivery status")?;
    let bots: Vec<UserId> = list::<Subscriber>(bots, "list of bots")?
        .map(|l| l.items.into_iter().map(|s| s.user_id).collect())
        .unwrap_or_default();
    let registry_keys: Vec<String> = bots.iter().map(subscriptions_key).collect();
    let queue_keys: Vec<String> = bots.iter().map(queue_key).collect();
    let (Some(registries), Some(queues)) = (&f.registries, &f.queues) else {
        let mut ask = Ask::default();
        ask.unless(&f.registries, "registries", || Fact::KvGetMany {
            keys: registry_keys.clone(),
        })
        .unless(&f.queues, "queues", || Fact::KvGetMany {
            keys: queue_keys.clone(),
        });
        return Ok(Step::Ask(ask));
    };
    let (registries, queues) = match (registries, queues) {
        (Answer::Found(r), Answer::Found(q)) => (r, q),
        (Answer::Failed(e), _) | (_, Answer::Failed(e)) => {
            return Err(unavailable("bots' subscriptions", e))
        }
    };
    let read = |map: &BTreeMap<String, Option<&RawValue>>, key: &str| -> Option<Value> {
        map.get(key)
            .copied()
            .flatten()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    };
    let subscriptions: Vec<Option<List<Subscription>>> = registry_keys
        .iter()
        .map(|k| read(registries, k).and_then(|v| serde_json::from_value(v).ok()))
        .collect();
    let mut nodes: Vec<String> = subscriptions
        .iter()
        .flatten()
        .flat_map(|l| heartbeat_keys(&l.items, &ctx.node))
        .collect();
    nodes.sort();
    nodes.dedup();
    let heartbeats = match (&f.heartbeats, nodes.is_empty()) {
        (_, true) => BTreeMap::new(),
        (None, false) => {
            return Ok(Step::Ask(Ask::one(
                "heartbeats",
                Fact::KvGetMany { keys: nodes },
            )))
        }
        (Some(Answer::Found(h)), false) => h.clone(),
        (Some(Answer::Failed(e)), false) => return Err(unavailable("node heartbeats", e)),
    };
    let rows: Vec<Value> = bots
        .iter()
        .zip(&subscriptions)
        .zip(&queue_keys)
        .map(|((bot, subs), qk)| {
            let range: QueueRange = read(queues, qk)
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            bot_status(
                bot,
                subs.as_ref(),
                &KeptCount::spanned(&range),
                ctx,
                &heartbeats,
            )
        })
        .collect();
    let body = json!({"node": ctx.node.as_str(), "bots": rows, "this_node_heartbeat_key": node_key(&ctx.node)});
    Ok(Step::Done(Decision::http(
        Vec::new(),
        200,
        body.to_string(),
    )))
}

fn list<T: for<'de> Deserialize<'de>>(
    answer: &Answer<Option<&RawValue>>,
    what: &'static str,
) -> Result<Option<List<T>>, Refusal> {
    super::store::document(answer, what)
}

fn bot_status(
    bot: &UserId,
    subscriptions: Option<&List<Subscription>>,
    kept: &KeptCount,
    ctx: &Context,
    heartbeats: &BTreeMap<String, Option<&RawValue>>,
) -> Value {
    let items = subscriptions
        .map(|l| l.items.as_slice())
        .unwrap_or_default();
    let alive = live(items, &ctx.node, heartbeats);
    let connections: Vec<Value> = items
        .iter()
        .map(|s| {
            json!({
                "connection_id": s.connection_id,
                "node": s.node.as_str(),
                "since": s.since,
                "live": alive.iter().any(|a| a.connection_id == s.connection_id),
            })
        })
        .collect();
    json!({
        "user_id": bot.as_str(),
        "subscribed": subscriptions.is_some(),
        "connections": connections,
        "kept": kept.kept,
        "oldest_kept_at": kept.oldest_at,
        "dropped": kept.dropped,
        "answer_window_ms": ctx.settings.answer_window_ms,
        "keep_hours": ctx.settings.keep_hours,
    })
}
