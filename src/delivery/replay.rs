//! Replaying a bot's kept events to a connection that subscribed (SPEC §9.6), in batches.
//!
//! Mattermost gives each websocket connection a send queue of 256 messages and closes a
//! connection whose queue is full: a thousand kept events published at once would cut the bot
//! off in the middle of its replay. So a replay sends [`BATCH`] events, then sets a timer and
//! sends the next batch [`PAUSE_MS`] later, from where it stopped, for as long as the connection
//! is subscribed. The timer's name carries the cursor, so a batch needs nothing but the store.

use super::store::{event_key, queue_key, subscriptions_key, List, Queued, Subscription};
use super::{Kept, KeptState, WAIT_GRACE_MS};
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{with_delivery, Delivery};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::UserId;
use crate::input::Context;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The most events sent at once: well under Mattermost's queue of 256 per connection.
pub(crate) const BATCH: usize = 100;

/// The pause between batches.
pub(crate) const PAUSE_MS: u64 = 100;

/// The prefix of a replay timer's name: `replay <bot> <connection> <at> <event id>`.
pub(crate) const TIMER_PREFIX: &str = "replay ";

/// Where a replay stands: the last queue entry sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    pub(crate) bot: UserId,
    pub(crate) connection_id: String,
    /// When the last entry sent was queued, and its event id.
    pub(crate) at: u64,
    pub(crate) event_id: String,
}

impl Cursor {
    /// The timer that sends the batch after this cursor.
    fn timer(&self, ctx: &Context) -> Effect {
        Effect::WakeAt {
            name: format!(
                "{TIMER_PREFIX}{} {} {} {}",
                self.bot, self.connection_id, self.at, self.event_id
            ),
            at_ms: ctx.now_ms.saturating_add(PAUSE_MS),
        }
    }

    /// Reads a timer name (without the prefix).
    pub(crate) fn parse(rest: &str) -> Option<Cursor> {
        let mut parts = rest.split(' ');
        let bot = UserId::parse(parts.next()?)?;
        let connection_id = parts.next()?.to_owned();
        let at = parts.next()?.parse().ok()?;
        let event_id = parts.next()?.to_owned();
        parts.next().is_none().then_some(Cursor {
            bot,
            connection_id,
            at,
            event_id,
        })
    }
}

/// The queue entries to send next: after `cursor` (from the start without one), at most
/// [`BATCH`], and whether more follow. An entry acknowledged since it was the cursor is gone
/// from the queue: the batch then starts after the entries queued no later than it.
pub(crate) fn next<'q>(queue: &'q [Queued], cursor: Option<&Cursor>) -> (&'q [Queued], bool) {
    let start = match cursor {
        None => 0,
        Some(c) => match queue.iter().position(|q| q.event_id.as_str() == c.event_id) {
            Some(i) => i + 1,
            None => queue.iter().take_while(|q| q.at <= c.at).count(),
        },
    };
    let rest = &queue[start.min(queue.len())..];
    let end = rest.len().min(BATCH);
    (&rest[..end], rest.len() > end)
}

/// The store keys of `entries`' records.
pub(crate) fn keys(entries: &[Queued]) -> Vec<String> {
    entries
        .iter()
        .map(|q| event_key(q.event_id.as_str()))
        .collect()
}

/// The records of `entries` that are due, in order, with the attempt each is sent as. An event
/// acknowledged meanwhile (answered) or past its keep period is skipped, and so is one whose
/// click still waits for another connection's answer (that click offers it again if the answer
/// does not come). A wait long past means the node that waited is gone: the event is replayed.
pub(crate) fn due(
    entries: &[Queued],
    events: &BTreeMap<String, Option<&RawValue>>,
    bot: &UserId,
    ctx: &Context,
) -> Vec<(Kept, u32)> {
    let not_due = |state: &KeptState| match state {
        KeptState::Answered { .. } => true,
        KeptState::Waiting { until } => ctx.now_ms <= until.saturating_add(WAIT_GRACE_MS),
        KeptState::Late => false,
    };
    keys(entries)
        .iter()
        .filter_map(|k| events.get(k).copied().flatten())
        .filter_map(|raw| serde_json::from_str::<Kept>(raw.get()).ok())
        .filter(|k| k.bot == *bot && !not_due(&k.state))
        .map(|k| {
            let attempt = k.attempts.max(1).saturating_add(1);
            (k, attempt)
        })
        .collect()
}

/// Publishes `due` to the connection and, when `more` follow `entries`, sets the timer for the
/// next batch.
pub(crate) fn send(
    bot: &UserId,
    connection_id: &str,
    entries: &[Queued],
    due: &[(Kept, u32)],
    more: bool,
    ctx: &Context,
) -> Vec<Effect> {
    // A record whose data or name is not an event's (a damaged store) is not sent: nothing a
    // bot could read, and it expires with its keep period.
    let mut effects: Vec<Effect> = due
        .iter()
        .filter_map(|(kept, attempt)| {
            let delivery = Delivery {
                attempt: *attempt,
                ack: "required",
                answer_within_ms: 0,
                first_sent_at: kept.first_sent_at,
            };
            Some(Effect::publish_to(
                crate::event::kept_event(&kept.event)?,
                bot.clone(),
                connection_id,
                with_delivery(&kept.data, &delivery)?,
            ))
        })
        .collect();
    if let (true, Some(last)) = (more, entries.last()) {
        let cursor = Cursor {
            bot: bot.clone(),
            connection_id: connection_id.to_owned(),
            at: last.at,
            event_id: last.event_id.as_str().to_owned(),
        };
        effects.push(cursor.timer(ctx));
    }
    effects
}

/// What the next batch needs to know.
#[derive(Debug, Default, Deserialize)]
struct BatchFacts<'a> {
    /// The bot's subscriptions: the replay goes on while the connection is one of them.
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's queue.
    #[serde(borrow, default, deserialize_with = "present")]
    queue: Option<Answer<Option<&'a RawValue>>>,
    /// The batch's records.
    #[serde(borrow, default, deserialize_with = "present")]
    events: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
}

/// A replay timer is due: the next batch, if the connection is still subscribed.
pub(crate) fn batch(cursor: &Cursor, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let quiet = |effects| Outcome::Decided(Decision::quiet(effects));
    let Ok(f) = facts.read::<BatchFacts<'_>>() else {
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
    fn read<'a>(answer: &Answer<Option<&'a RawValue>>) -> Option<&'a str> {
        match answer {
            Answer::Found(Some(raw)) => Some(raw.get()),
            _ => None,
        }
    }
    let subscribed = read(registry)
        .and_then(|raw| serde_json::from_str::<List<Subscription>>(raw).ok())
        .is_some_and(|l| {
            l.items
                .iter()
                .any(|s| s.connection_id == cursor.connection_id)
        });
    let Some(list) = read(queue).and_then(|raw| serde_json::from_str::<List<Queued>>(raw).ok())
    else {
        return quiet(Vec::new());
    };
    if !subscribed {
        return quiet(Vec::new());
    }
    let (entries, more) = next(&list.items, Some(cursor));
    let events = match &f.events {
        _ if entries.is_empty() => BTreeMap::new(),
        None => {
            return Ask::one(
                "events",
                Fact::KvGetMany {
                    keys: keys(entries),
                },
            )
            .into()
        }
        Some(Answer::Found(events)) => events.clone(),
        Some(Answer::Failed(_)) => return quiet(Vec::new()),
    };
    let due = due(entries, &events, &cursor.bot, ctx);
    quiet(send(
        &cursor.bot,
        &cursor.connection_id,
        entries,
        &due,
        more,
        ctx,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;

    fn queue(n: usize) -> Vec<Queued> {
        (0..n)
            .map(|i| {
                let mut entropy = [0u8; 16];
                entropy[15] = i as u8;
                entropy[14] = (i >> 8) as u8;
                Queued {
                    event_id: EventId::from_entropy(entropy),
                    at: 1_000 + i as u64,
                }
            })
            .collect()
    }

    fn cursor_at(q: &Queued) -> Cursor {
        Cursor {
            bot: UserId::parse("bot1bot1bot1bot1bot1bot1b1").unwrap(),
            connection_id: "conn1".into(),
            at: q.at,
            event_id: q.event_id.as_str().to_owned(),
        }
    }

    #[test]
    fn a_replay_goes_through_the_queue_in_batches_from_where_it_stopped() {
        let q = queue(250);
        let (first, more) = next(&q, None);
        assert_eq!((first.len(), more), (BATCH, true));
        let (second, more) = next(&q, Some(&cursor_at(&first[BATCH - 1])));
        assert_eq!(second[0].at, q[BATCH].at);
        assert_eq!((second.len(), more), (BATCH, true));
        let (third, more) = next(&q, Some(&cursor_at(&second[BATCH - 1])));
        assert_eq!((third.len(), more), (50, false));
        assert_eq!(third.last().unwrap().at, q[249].at);
    }

    #[test]
    fn an_entry_acknowledged_since_it_was_the_cursor_does_not_restart_the_replay() {
        let q = queue(150);
        let cursor = cursor_at(&q[99]);
        let without: Vec<Queued> = q
            .iter()
            .filter(|e| e.event_id != q[99].event_id)
            .cloned()
            .collect();
        let (batch, more) = next(&without, Some(&cursor));
        assert_eq!((batch.len(), more), (50, false));
        assert_eq!(batch[0].at, q[100].at);
    }

    #[test]
    fn the_cursor_survives_its_timer_name() {
        let q = queue(1);
        let cursor = cursor_at(&q[0]);
        let ctx = Context {
            now_ms: 1_700_000_000_000,
            entropy: [0; 16],
            settings: crate::settings::Settings::default(),
            node: crate::ids::Id::from_entropy([0; 16]),
        };
        let Effect::WakeAt { name, at_ms } = cursor.timer(&ctx) else {
            panic!("a timer")
        };
        assert_eq!(at_ms, ctx.now_ms + PAUSE_MS);
        let rest = name.strip_prefix(TIMER_PREFIX).unwrap();
        assert_eq!(Cursor::parse(rest), Some(cursor));
        assert_eq!(Cursor::parse("bot1bot1bot1bot1bot1bot1b1 conn1 12"), None);
        assert_eq!(Cursor::parse("x conn1 12 e"), None);
    }
}
