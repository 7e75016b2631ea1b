//! Replaying a bot's kept events to a connection that subscribed (SPEC §9.6), in batches.
//!
//! The bot's queue is a counter (`qc_<bot>`: the sequence numbers `first..next`) and one entry
//! per kept event (`qi_<bot>_<seq>`); an acknowledged event's entry is deleted, leaving a gap
//! every replay skips. Mattermost gives each websocket connection a send queue of 256 messages
//! and closes a connection whose queue is full, so a replay sends at most [`BATCH`] sequence
//! numbers' worth, then sets a timer and goes on [`PAUSE_MS`] later from where it stopped, for
//! as long as the connection is subscribed. The timer's name carries the cursor, so a batch
//! needs nothing but the store. The first batch moves the counter's `first` past the gaps at
//! its front, so answered events are not read again and again.
//!
//! Each replayed event says why it comes again (`proxy.delivery.reason`), from what became of
//! the connection it was last sent to.

use super::store::{
    entry_key, event_key, heartbeat_keys, node_key, queue_key, subscriptions_key, List, QueueRange,
    Queued, Subscription,
};
use super::{Kept, KeptState};
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{with_delivery, Delivery, Reason};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::UserId;
use crate::input::Context;
use serde::Deserialize;
use serde_json::value::{to_raw_value, RawValue};
use std::collections::BTreeMap;

/// The most sequence numbers one batch reads: well under Mattermost's queue of 256.
pub(crate) const BATCH: u64 = 100;

/// The pause between batches.
pub(crate) const PAUSE_MS: u64 = 100;

/// The prefix of a replay timer's name: `replay <bot> <connection> <next seq>`.
pub(crate) const TIMER_PREFIX: &str = "replay ";

/// Where a replay stands: the next sequence number to read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    pub(crate) bot: UserId,
    pub(crate) connection_id: String,
    pub(crate) next: u64,
}

impl Cursor {
    /// The timer that sends the batch from this cursor.
    fn timer(&self, ctx: &Context) -> Effect {
        Effect::WakeAt {
            name: format!(
                "{TIMER_PREFIX}{} {} {}",
                self.bot, self.connection_id, self.next
            ),
            at_ms: ctx.now_ms.saturating_add(PAUSE_MS),
        }
    }

    /// Reads a timer name (without the prefix).
    pub(crate) fn parse(rest: &str) -> Option<Cursor> {
        let mut parts = rest.split(' ');
        let bot = UserId::parse(parts.next()?)?;
        let connection_id = parts.next()?.to_owned();
        let next = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Cursor {
            bot,
            connection_id,
            next,
        })
    }
}

/// The sequence numbers the batch from `from` reads, within `range`, and whether more follow.
pub(crate) fn span(range: &QueueRange, from: u64) -> (std::ops::Range<u64>, bool) {
    let start = from.max(range.first).min(range.next);
    let end = start.saturating_add(BATCH).min(range.next);
    (start..end, end < range.next)
}

/// What one batch needs to know, besides the bot's registry and queue range.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BatchFacts<'a> {
    /// The batch's queue entries.
    #[serde(borrow, default, deserialize_with = "present")]
    entries: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// Their records.
    #[serde(borrow, default, deserialize_with = "present")]
    events: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// The heartbeats of the nodes the records were last sent from.
    #[serde(borrow, default, deserialize_with = "present")]
    senders: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// The counter's front moved past the gaps at its front (best effort).
    #[serde(default, deserialize_with = "present")]
    compacted: Option<Answer<bool>>,
}

/// A batch read and ready to send.
pub(crate) struct Batch {
    /// The publishes (and the timer for the next batch).
    pub(crate) effects: Vec<Effect>,
    /// How many events it sends.
    pub(crate) sent: usize,
}

/// A replay's batch to read: `bot`'s queue from `from`, for `connection_id`.
pub(crate) struct Replay<'a> {
    pub(crate) bot: &'a UserId,
    pub(crate) connection_id: &'a str,
    pub(crate) from: u64,
    pub(crate) range: &'a QueueRange,
    /// The counter as read (its text), when the batch may move its front past its gaps.
    pub(crate) raw_range: Option<&'a RawValue>,
    /// The bot's subscriptions.
    pub(crate) registry: &'a [Subscription],
}

/// Reads and sends a batch: `Err(ask)` while facts are needed.
pub(crate) fn batch(r: &Replay<'_>, ctx: &Context, facts: Facts<'_>) -> Result<Batch, Ask> {
    let Replay {
        bot,
        connection_id,
        from,
        range,
        raw_range,
        registry,
    } = *r;
    let (seqs, more) = span(range, from);
    // Unreadable answers (a shim bug) stop the replay here, as an unreadable store does: the
    // bot's next subscription starts it again.
    let Ok(f) = facts.read::<BatchFacts<'_>>() else {
        return Ok(Batch {
            effects: Vec::new(),
            sent: 0,
        });
    };
    if seqs.is_empty() {
        return Ok(Batch {
            effects: Vec::new(),
            sent: 0,
        });
    }
    let entry_keys: Vec<String> = seqs.clone().map(|seq| entry_key(bot, seq)).collect();
    let Some(entries) = &f.entries else {
        return Err(Ask::one(
            "entries",
            Fact::KvGetMany {
                keys: entry_keys.clone(),
            },
        ));
    };
    let entries = match entries {
        Answer::Found(entries) => entries,
        // Unreadable: the replay stops here; the bot's next subscription starts it again.
        Answer::Failed(_) => {
            return Ok(Batch {
                effects: Vec::new(),
                sent: 0,
            })
        }
    };
    let queued: Vec<(u64, Queued)> = seqs
        .clone()
        .zip(&entry_keys)
        .filter_map(|(seq, key)| {
            let raw = entries.get(key).copied().flatten()?;
            Some((seq, serde_json::from_str::<Queued>(raw.get()).ok()?))
        })
        .collect();
    let event_keys: Vec<String> = queued
        .iter()
        .map(|(_, q)| event_key(q.event_id.as_str()))
        .collect();
    let mut ask = Ask::default();
    let events = match &f.events {
        _ if event_keys.is_empty() => BTreeMap::new(),
        None => {
            ask.unless(&f.events, "events", || Fact::KvGetMany {
                keys: event_keys.clone(),
            });
            BTreeMap::new()
        }
        Some(Answer::Found(events)) => events.clone(),
        Some(Answer::Failed(_)) => BTreeMap::new(),
    };
    // The front of the queue moves past its gaps (events answered since they were kept).
    let front = queued.first().map_or(seqs.end, |(seq, _)| *seq);
    if let (Some(raw), true) = (raw_range, from <= range.first && front > range.first) {
        let moved = QueueRange {
            first: front,
            ..*range
        };
        ask.unless(&f.compacted, "compacted", || Fact::KvCas {
            key: queue_key(bot),
            old: raw.get().to_owned(),
            new: to_raw_value(&moved).expect("a queue range serializes"),
            expire_in_seconds: super::store::keep_seconds(&ctx.settings),
        });
    }
    if !ask.is_empty() {
        return Err(ask);
    }
    let due = due(&event_keys, &events, bot);
    // Why each comes again depends on what became of the node it was last sent from.
    let others: Vec<Subscription> = due.iter().filter_map(|k| k.sent_to.clone()).collect();
    let nodes = heartbeat_keys(&others, &ctx.node);
    let senders = match &f.senders {
        _ if nodes.is_empty() => BTreeMap::new(),
        None => return Err(Ask::one("senders", Fact::KvGetMany { keys: nodes })),
        Some(Answer::Found(h)) => h.clone(),
        Some(Answer::Failed(_)) => BTreeMap::new(),
    };
    let mut effects: Vec<Effect> = due
        .iter()
        .filter_map(|kept| {
            let delivery = Delivery {
                attempt: kept.attempts.max(1).saturating_add(1),
                ack: "required",
                answer_within_ms: 0,
                first_sent_at: kept.first_sent_at,
                reason: Some(reason(kept, registry, ctx, &senders)),
            };
            Some(Effect::publish_to(
                crate::event::kept_event(&kept.event)?,
                bot.clone(),
                connection_id,
                with_delivery(&kept.data, &delivery)?,
            ))
        })
        .collect();
    let sent = effects.len();
    if more {
        let cursor = Cursor {
            bot: bot.clone(),
            connection_id: connection_id.to_owned(),
            next: seqs.end,
        };
        effects.push(cursor.timer(ctx));
    }
    Ok(Batch { effects, sent })
}

/// The records of `keys` that are due, in order: an event answered meanwhile, past its keep
/// period, or not the bot's (a damaged store) is skipped.
fn due(keys: &[String], events: &BTreeMap<String, Option<&RawValue>>, bot: &UserId) -> Vec<Kept> {
    keys.iter()
        .filter_map(|k| events.get(k).copied().flatten())
        .filter_map(|raw| serde_json::from_str::<Kept>(raw.get()).ok())
        .filter(|k| k.bot == *bot && !matches!(k.state, KeptState::Answered { .. }))
        .collect()
}

/// Why `kept` comes again: it was never sent (the bot was offline), the process that sent it
/// is gone (a restart), the connection it went to left, or it was there and did not answer.
fn reason(
    kept: &Kept,
    registry: &[Subscription],
    ctx: &Context,
    senders: &BTreeMap<String, Option<&RawValue>>,
) -> Reason {
    let Some(sent_to) = &kept.sent_to else {
        return Reason::Offline;
    };
    let node_alive = sent_to.node == ctx.node
        || senders
            .get(&node_key(&sent_to.node))
            .is_some_and(Option::is_some);
    if !node_alive {
        return Reason::Restarted;
    }
    match registry
        .iter()
        .any(|s| s.connection_id == sent_to.connection_id)
    {
        true => Reason::NotAnswered,
        false => Reason::ConnectionLost,
    }
}

/// What a replay timer's batch needs to know first.
#[derive(Debug, Default, Deserialize)]
struct TimerFacts<'a> {
    /// The bot's subscriptions: the replay goes on while the connection is one of them.
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's queue counter.
    #[serde(borrow, default, deserialize_with = "present")]
    queue: Option<Answer<Option<&'a RawValue>>>,
}

/// A replay timer is due: the next batch, if the connection is still subscribed.
pub(crate) fn timer(cursor: &Cursor, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let quiet = |effects| Outcome::Decided(Decision::quiet(effects));
    let Ok(f) = facts.read::<TimerFacts<'_>>() else {
        return quiet(Vec::new());
    };
    let (Some(registry), Some(queue)) = (&f.registry, &f.queue) else {
        let mut ask = Ask::default();
        ask.unless(&f.registry, "registry", || Fact::KvGet {
            key: subscriptions_key(&cursor.bot),
        })
        .unless(&f.queue, "queue", || Fact::KvGet {
            key: queue_key(&cursor.bot),
        });
        return ask.into();
    };
    // Unreadable: the replay stops here; the bot's next subscription starts it again.
    let registry: Vec<Subscription> = match registry {
        Answer::Found(Some(raw)) => serde_json::from_str::<List<Subscription>>(raw.get())
            .map(|l| l.items)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let Ok(range) = read_range(queue) else {
        return quiet(Vec::new());
    };
    if !registry
        .iter()
        .any(|s| s.connection_id == cursor.connection_id)
    {
        return quiet(Vec::new());
    }
    let replay = Replay {
        bot: &cursor.bot,
        connection_id: &cursor.connection_id,
        from: cursor.next,
        range: &range,
        raw_range: None,
        registry: &registry,
    };
    match batch(&replay, ctx, facts) {
        Ok(batch) => quiet(batch.effects),
        Err(ask) => ask.into(),
    }
}

/// A queue counter as read (an empty queue when there is none).
pub(crate) fn read_range(
    answer: &Answer<Option<&RawValue>>,
) -> Result<QueueRange, crate::refusal::Refusal> {
    super::store::document(answer, "bot's queue").map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::for_test(1_700_000_000_000, [0; 16])
    }

    #[test]
    fn a_replay_goes_through_the_queue_in_batches_from_where_it_stopped() {
        let range = QueueRange {
            first: 10,
            next: 260,
            dropped: 0,
        };
        let (first, more) = span(&range, 0);
        assert_eq!((first.clone(), more), (10..110, true), "from the front");
        let (second, more) = span(&range, first.end);
        assert_eq!((second.clone(), more), (110..210, true));
        let (third, more) = span(&range, second.end);
        assert_eq!((third, more), (210..260, false));
        assert!(span(&range, 400).0.is_empty(), "past the end: nothing");
        let moved = QueueRange {
            first: 150,
            ..range
        };
        assert_eq!(
            span(&moved, 110).0,
            150..250,
            "a cursor behind a moved front"
        );
    }

    #[test]
    fn the_cursor_survives_its_timer_name() {
        let cursor = Cursor {
            bot: UserId::parse("bot1bot1bot1bot1bot1bot1b1").unwrap(),
            connection_id: "conn1".into(),
            next: 1234,
        };
        let Effect::WakeAt { name, at_ms } = cursor.timer(&ctx()) else {
            panic!("a timer")
        };
        assert_eq!(at_ms, ctx().now_ms + PAUSE_MS);
        let rest = name.strip_prefix(TIMER_PREFIX).unwrap();
        assert_eq!(Cursor::parse(rest), Some(cursor));
        assert_eq!(Cursor::parse("bot1bot1bot1bot1bot1bot1b1 conn1"), None);
        assert_eq!(Cursor::parse("x conn1 12"), None);
        assert_eq!(
            Cursor::parse("bot1bot1bot1bot1bot1bot1b1 conn1 12 extra"),
            None
        );
    }
}
