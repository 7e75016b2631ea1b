//! Keeping an event (SPEC §9.6): what makes it durable, before anyone is told it is kept.
//!
//! An event is kept in four writes, three rounds: the person's quota ([`Fact::Count`]), its
//! place in the bot's queue (a sequence number from the bot's small queue counter,
//! [`Fact::QueuePush`]), then the record (`ev_<id>`) beside its queue entry (`qi_<bot>_<seq>`).
//! No document grows with the backlog: a burst of kept events for one bot costs each the same,
//! and the shim serializes one node's pushes to the counter, so they do not collide.
//!
//! Two bounds, so that no one person can fill the store or push others' events out:
//! - a bot keeps at most `KeptPerBot` events: past it, the oldest falls off the front of its
//!   queue, and its entry and record are deleted (an acknowledgement of it is then told the
//!   event is unknown);
//! - one person's clicks, submissions and commands may be at most [`person_quota`] of a bot's
//!   kept events: past it, their new one is refused (they are told the bot has too many of
//!   theirs waiting), and nobody else's is dropped for it.

use super::store::{
    entry_key, event_key, keep_seconds, queue_key, quota_key, Counted, Kept, KeptState, Place,
    Pushed, Queued, Subscription,
};
use crate::effect::{Effect, LogLevel};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::{EventId, UserId};
use crate::input::Context;
use crate::refusal::Refusal;
use serde::Deserialize;
use serde_json::value::{to_raw_value, RawValue};
use std::collections::BTreeMap;

/// The most entries of a dropped range that one push cleans up (normally one falls off per
/// push; a lowered `KeptPerBot` may drop many at once, and the rest expire with their keep
/// period, skipped by every replay since they are before the queue's front).
const CLEANUP_AT_ONCE: u64 = 100;

/// How many of a bot's kept events one person may have: a tenth of what the bot keeps, at
/// least 10.
pub(crate) fn person_quota(settings: &crate::settings::Settings) -> u64 {
    u64::from(settings.kept_per_bot / 10).max(10)
}

/// What to keep.
pub(crate) struct Keeping<'a> {
    pub(crate) bot: &'a UserId,
    pub(crate) event: &'static str,
    pub(crate) event_id: EventId,
    pub(crate) data: &'a RawValue,
    /// Whose click, submission or command it is.
    pub(crate) user: &'a str,
    pub(crate) place: Option<Place>,
    /// How many times it was sent so far.
    pub(crate) attempts: u32,
    /// The connection it was last sent to.
    pub(crate) sent_to: Option<Subscription>,
    pub(crate) first_sent_at: u64,
}

/// An event kept, and what keeping it leads to.
pub(crate) struct Stored {
    /// Cleaning up what fell off the queue, and a log line saying so.
    pub(crate) effects: Vec<Effect>,
    record: Kept,
    event_id: EventId,
    keep_s: u64,
}

impl Stored {
    /// The record's update when the event is offered to `other` right after it was kept: sent
    /// once more, there. Off the request's path: an acknowledgement's compare-and-set reads
    /// whatever is stored when it comes, so a lost update only miscounts a later replay.
    pub(crate) fn offered(&self, other: &Subscription) -> Effect {
        let record = Kept {
            attempts: self.record.attempts.saturating_add(1),
            sent_to: Some(other.clone()),
            bot: self.record.bot.clone(),
            event: self.record.event.clone(),
            data: self.record.data.clone(),
            first_sent_at: self.record.first_sent_at,
            state: self.record.state.clone(),
            place: self.record.place.clone(),
            seq: self.record.seq,
            user: self.record.user.clone(),
        };
        Effect::Store {
            key: event_key(self.event_id.as_str()),
            value: to_raw_value(&record).expect("a kept event serializes"),
            expire_in_seconds: self.keep_s,
        }
    }
}

/// What keeping needs done and known.
#[derive(Debug, Default, Deserialize)]
struct KeepFacts<'a> {
    /// The event's place in its bot's queue.
    #[serde(default, deserialize_with = "present")]
    pushed: Option<Answer<Pushed>>,
    /// The person's count of the bot's kept events, with this one.
    #[serde(default, deserialize_with = "present")]
    quota: Option<Answer<Counted>>,
    /// The record is stored.
    #[serde(default, deserialize_with = "present")]
    kept: Option<Answer<bool>>,
    /// Its queue entry is stored.
    #[serde(default, deserialize_with = "present")]
    entered: Option<Answer<bool>>,
    /// The entries that fell off the front, to clean up.
    #[serde(borrow, default, deserialize_with = "present")]
    dropped: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
}

/// Keeps `k`: `Ok(Err(ask))` while facts are needed; `Err` when it cannot be kept (the person
/// is told, nothing is promised).
pub(crate) fn keep(
    k: &Keeping<'_>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Result<Stored, Ask>, Refusal> {
    let f: KeepFacts<'_> = facts.read()?;
    let keep_s = keep_seconds(&ctx.settings);
    let quota = quota_key(k.bot, k.user);
    // The person's place first: a click refused for their quota takes no place in the queue
    // (a gap there would count as a kept event until a replay skipped it).
    let Some(counted) = &f.quota else {
        return Ok(Err(Ask::one(
            "quota",
            Fact::Count {
                key: quota.clone(),
                by: 1,
                ceiling: Some(person_quota(&ctx.settings)),
                expire_in_seconds: keep_s,
            },
        )));
    };
    match counted {
        Answer::Found(Counted::Value(_)) => {}
        Answer::Found(Counted::AtCeiling(n)) => return Err(Refusal::TooManyKept { kept: *n }),
        Answer::Failed(e) => return Err(not_stored(e)),
    }
    let Some(pushed) = &f.pushed else {
        return Ok(Err(Ask::one(
            "pushed",
            Fact::QueuePush {
                key: queue_key(k.bot),
                cap: ctx.settings.kept_per_bot,
                count: 1,
                expire_in_seconds: keep_s,
            },
        )));
    };
    let pushed = match pushed {
        Answer::Found(p) => *p,
        Answer::Failed(e) => return Err(not_stored(e)),
    };
    let record = Kept {
        bot: k.bot.clone(),
        event: k.event.to_owned(),
        data: k.data.to_owned(),
        first_sent_at: k.first_sent_at,
        attempts: k.attempts,
        state: KeptState::Late,
        place: k.place.clone(),
        seq: Some(pushed.seq),
        user: k.user.to_owned(),
        sent_to: k.sent_to.clone(),
    };
    let (from, to) = pushed.dropped;
    let dropped: Vec<String> = (from..to.min(from.saturating_add(CLEANUP_AT_ONCE)))
        .map(|seq| entry_key(k.bot, seq))
        .collect();
    let (Some(kept), Some(entered), true) = (
        &f.kept,
        &f.entered,
        dropped.is_empty() || f.dropped.is_some(),
    ) else {
        let entry = Queued {
            event_id: k.event_id,
            at: ctx.now_ms,
            user: k.user.to_owned(),
        };
        let mut ask = Ask::default();
        ask.unless(&f.kept, "kept", || Fact::KvSet {
            key: event_key(k.event_id.as_str()),
            value: to_raw_value(&record).expect("a kept event serializes"),
            expire_in_seconds: keep_s,
        })
        .unless(&f.entered, "entered", || Fact::KvSet {
            key: entry_key(k.bot, pushed.seq),
            value: to_raw_value(&entry).expect("a queue entry serializes"),
            expire_in_seconds: keep_s,
        });
        if !dropped.is_empty() {
            ask.unless(&f.dropped, "dropped", || Fact::KvGetMany {
                keys: dropped.clone(),
            });
        }
        return Ok(Err(ask));
    };
    for stored in [kept, entered] {
        if let Answer::Failed(e) = stored {
            // Nothing was promised. The person's count keeps this one until it expires with the
            // keep period: the store just failed, and a give-back would likely fail too.
            return Err(not_stored(e));
        }
    }
    let mut effects = Vec::new();
    if let Some(Answer::Found(entries)) = &f.dropped {
        effects = drop_entries(k.bot, entries, keep_s);
    }
    Ok(Ok(Stored {
        effects,
        record,
        event_id: k.event_id,
        keep_s,
    }))
}

/// Deletes the entries that fell off a bot's queue, their records, and gives their people's
/// places back; logs how many.
fn drop_entries(
    bot: &UserId,
    entries: &BTreeMap<String, Option<&RawValue>>,
    keep_s: u64,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    let mut n = 0;
    for (key, entry) in entries {
        let Some(entry) = entry.and_then(|raw| serde_json::from_str::<Queued>(raw.get()).ok())
        else {
            continue; // answered meanwhile: its entry is gone already
        };
        n += 1;
        effects.push(Effect::Delete { key: key.clone() });
        effects.push(Effect::Delete {
            key: event_key(entry.event_id.as_str()),
        });
        if !entry.user.is_empty() {
            effects.push(Effect::Count {
                key: quota_key(bot, &entry.user),
                by: -1,
                expire_in_seconds: keep_s,
            });
        }
    }
    if n > 0 {
        let mut fields = crate::effect::LogFields::new();
        fields.insert("bot_id", bot.to_string());
        fields.insert("dropped", n.to_string());
        effects.push(Effect::Log {
            level: LogLevel::Warn,
            message: "a bot's oldest kept events were dropped: it keeps more than the limit".into(),
            fields,
        });
    }
    effects
}

/// What leaves the queue when a kept event is answered: its entry, and the person's place.
pub(crate) fn unqueue(kept: &Kept, keep_s: u64) -> Vec<Effect> {
    let mut effects = Vec::new();
    if let Some(seq) = kept.seq {
        effects.push(Effect::Delete {
            key: entry_key(&kept.bot, seq),
        });
    }
    if !kept.user.is_empty() {
        effects.push(Effect::Count {
            key: quota_key(&kept.bot, &kept.user),
            by: -1,
            expire_in_seconds: keep_s,
        });
    }
    effects
}

fn not_stored(e: &crate::facts::FactError) -> Refusal {
    Refusal::NotStored {
        what: "event for the bot",
        detail: e.to_string(),
    }
}
