//! A verified click for a bot that subscribed (SPEC §9.2–9.5): kept, sent to one live
//! connection, and answered with the bot's answer if it comes within the answer window.
//!
//! The rounds, each one call of the core: the registry (asked with the click's other facts),
//! the heartbeats of other nodes holding connections (none on a single node), the kept record
//! and its place in the bot's queue (written before anything is sent, so that nothing is lost
//! if this process dies), then the publish and the wait for the answer. After the window: the
//! record is read again and marked late (a compare-and-set, so that an answer racing the window
//! is applied exactly once) and offered to another live connection.

use super::answer::check_click_answer;
use super::store::{
    document, event_key, heartbeat_keys, keep_seconds, live, queue_key, subscriptions_key,
    unavailable, Kept, KeptState, List, Place, Pushed, Queued, Subscription,
};
use crate::effect::{Decision, Effect, LogLevel, Outcome};
use crate::event::{with_delivery, with_expanded, Delivery};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::{EventId, UserId};
use crate::input::Context;
use crate::refusal::{Notice, Refusal, Subject};
use serde::Deserialize;
use serde_json::value::{to_raw_value, RawValue};
use std::collections::BTreeMap;

/// The name the registry is asked under, with a click's other facts.
pub(crate) const REGISTRY: &str = "registry";

/// What delivering to a subscribed bot needs to know.
#[derive(Debug, Default, Deserialize)]
struct DeliveryFacts<'a> {
    /// The bot's subscribed connections (`null`: it never subscribed, or not lately).
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The heartbeats of the other nodes holding its connections.
    #[serde(borrow, default, deserialize_with = "present")]
    heartbeats: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// The event was kept.
    #[serde(default, deserialize_with = "present")]
    kept: Option<Answer<bool>>,
    /// The event was queued for replay.
    #[serde(default, deserialize_with = "present")]
    queued: Option<Answer<Pushed>>,
    /// The bot's answer within the window, or `null`.
    #[serde(borrow, default, deserialize_with = "present")]
    answer: Option<Answer<Option<&'a RawValue>>>,
    /// The kept record, read once the window passed.
    #[serde(borrow, default, deserialize_with = "present")]
    record: Option<Answer<Option<&'a RawValue>>>,
    /// The record was marked late by this click.
    #[serde(default, deserialize_with = "present")]
    marked_late: Option<Answer<bool>>,
    /// The bot's subscriptions once the window passed.
    #[serde(borrow, default, deserialize_with = "present")]
    registry_now: Option<Answer<Option<&'a RawValue>>>,
    /// The heartbeats of nodes that joined the registry while the click waited.
    #[serde(borrow, default, deserialize_with = "present")]
    heartbeats_now: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
    /// The record, read again after an acknowledgement changed it first.
    #[serde(borrow, default, deserialize_with = "present")]
    record_again: Option<Answer<Option<&'a RawValue>>>,
    /// What the bot's latest subscription asked to be expanded (asked with the registry).
    #[serde(borrow, default, deserialize_with = "present")]
    expand: Option<Answer<Option<&'a RawValue>>>,
}

/// An event to deliver to a subscribed bot.
pub(crate) struct Outgoing<'a> {
    /// The bot that receives it.
    pub(crate) bot: &'a UserId,
    /// The event's name (`action`, `dialog_submission`, `command`, …).
    pub(crate) event: &'static str,
    /// The event's data, `proxy` included.
    pub(crate) data: Box<RawValue>,
    /// The event's id, as in `proxy.event_id`.
    pub(crate) event_id: EventId,
    /// Who is waiting on the other side, and how they hear of the bot.
    pub(crate) from: &'a dyn Sender,
    /// To carry out before the event is sent (the trigger's place).
    pub(crate) before: Vec<Effect>,
    /// Who acted where: what `proxy.expanded` is looked up by.
    pub(crate) about: crate::expand::About,
}

/// Whoever waits on the other side of an event (the person clicking, submitting, typing a
/// command or a query): how long they wait, what they are told, and what the bot's answer
/// becomes for them. The endpoint that received the event implements it; the delivery layer
/// decides when each applies.
pub(crate) trait Sender {
    /// How long they wait for the bot's answer (0: answered at once, the answer applies late).
    fn window_ms(&self, ctx: &Context) -> u32;
    /// Where a late answer goes, if it goes anywhere.
    fn place(&self) -> Option<Place> {
        None
    }
    /// Whether the event is kept and replayed until acknowledged. A lookup is not: it is of
    /// use only while the person waits for it.
    fn kept(&self) -> bool {
        true
    }
    /// The decision when nobody waits for the answer (the event was sent, or kept for a
    /// connection that is not there yet), after `effects`.
    fn accepted(&self, effects: Vec<Effect>) -> Decision {
        Decision::http(effects, 200, "{}".into())
    }
    /// The decision that tells them `notice`, after `effects`.
    fn told(&self, notice: Notice, effects: Vec<Effect>) -> Decision;
    /// What gives them the bot's answer (checked when it was acknowledged, perhaps on another
    /// node; checked again for what only this side knows). It may ask facts of its own first
    /// (a session stored again, a permission): `facts` holds every answer so far.
    fn answered(&self, answer: &RawValue, facts: Facts<'_>) -> Result<Outcome, Refusal>;
}

/// A click, made at this place: it waits up to the answer window, and the notices and the
/// bot's answer are its response.
pub(crate) struct ClickSender {
    /// Where the click was made.
    pub(crate) place: Place,
    /// The bot whose post it was.
    pub(crate) bot: UserId,
    /// For a click on an ephemeral post the plugin sent (its place names the thread and the
    /// version clicked): what an `update` answer needs to replace it.
    pub(crate) ephemeral: Option<crate::sign::ephemeral::Answering>,
}

impl Sender for ClickSender {
    fn window_ms(&self, ctx: &Context) -> u32 {
        ctx.settings.answer_window_ms
    }

    fn place(&self) -> Option<Place> {
        Some(self.place.clone())
    }

    fn told(&self, notice: Notice, effects: Vec<Effect>) -> Decision {
        notice.decision(Subject::Click, effects)
    }

    /// The click's response: the bot's answer, which must be one Mattermost can read. The
    /// answered record stays until it expires (minutes), so that a second acknowledgement is
    /// told `duplicate` rather than "unknown event".
    fn answered(&self, answer: &RawValue, facts: Facts<'_>) -> Result<Outcome, Refusal> {
        let answer = check_click_answer(answer, &self.bot).map_err(|e| Refusal::Internal {
            detail: format!("the answer handed to the click is not one: {e}"),
        })?;
        let Some((a, at)) = self.ephemeral.as_ref().and_then(|a| {
            let at = self.place.ephemeral(self.bot.as_str(), &a.site_url)?;
            Some((a, at))
        }) else {
            return Ok(Outcome::Decided(Decision::http(
                Vec::new(),
                200,
                answer.get().to_owned(),
            )));
        };
        // An ephemeral post: the plugin replaces it, once its version moved on from the one
        // clicked (so that the buttons it replaces stop working).
        let new_version = crate::sign::ephemeral::version(&a.event_id);
        let (answer, update) =
            crate::sign::ephemeral::split_answer(&answer, &at, &new_version, &a.key);
        let effects = match update {
            None => Vec::new(),
            Some(update) => {
                #[derive(Default, Deserialize)]
                struct Moved {
                    #[serde(default, deserialize_with = "present")]
                    ephemeral_updated: Option<Answer<bool>>,
                }
                let f: Moved = facts.read()?;
                match f.ephemeral_updated {
                    None => return Ok(Ask::one("ephemeral_updated", update.moved).into()),
                    Some(Answer::Found(true)) => vec![update.shown],
                    Some(Answer::Found(false)) => {
                        vec![crate::sign::ephemeral::not_moved(at.post_id, None)]
                    }
                    Some(Answer::Failed(e)) => {
                        vec![crate::sign::ephemeral::not_moved(at.post_id, Some(&e))]
                    }
                }
            }
        };
        Ok(Outcome::Decided(Decision::http(
            effects,
            200,
            answer.get().to_owned(),
        )))
    }
}

/// Asks for a bot's registry and its expansions unless `answered`, with a click's other facts
/// (rarely changing facts: every change is announced to every node, which forgets its copy).
pub(crate) fn ask_registry<T>(ask: &mut Ask, answered: &Option<T>, bot: &UserId) {
    ask.unless_cached(answered, REGISTRY, || Fact::KvGet {
        key: super::store::subscriptions_key(bot),
    })
    .unless_cached(answered, "expand", || Fact::KvGet {
        key: crate::expand::request_key(bot),
    });
}

/// Delivers `d` if its bot subscribed; `Ok(None)` when it never did (the caller delivers as
/// before subscriptions existed).
pub(crate) fn deliver(
    mut d: Outgoing<'_>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Option<Outcome>, Refusal> {
    let f: DeliveryFacts<'_> = facts.read()?;
    let registry = f.registry.as_ref().expect("asked with the click");
    let Some(list) = document::<List<Subscription>>(registry, "bot's subscriptions")? else {
        return Ok(None);
    };
    let keys = heartbeat_keys(&list.items, &ctx.node);
    let mut ask = Ask::default();
    let heartbeats = match (&f.heartbeats, keys.is_empty()) {
        (_, true) => BTreeMap::new(),
        (None, false) => {
            ask.unless_cached(&f.heartbeats, "heartbeats", || Fact::KvGetMany { keys });
            BTreeMap::new()
        }
        (Some(Answer::Found(h)), false) => h.clone(),
        (Some(Answer::Failed(e)), false) => return Err(unavailable("bot's connections", e)),
    };
    // The expansions are part of the event as it is kept: gathered before it is stored, in the
    // round that reads the heartbeats (a lookup for a bot that is offline needs none).
    // Once the event is out (the wait for its answer was asked), nothing sends `d.data` again:
    // an offer to another connection sends the kept record's, expansions included.
    let request = expansions(f.expand.as_ref());
    let sent = f.answer.is_some();
    if !sent && !request.is_empty() && (d.from.kept() || !list.items.is_empty()) {
        match crate::expand::expand(&request, &d.about, d.bot, facts)? {
            Ok(expanded) => d.data = with_expanded(&d.data, &expanded),
            Err(more) => ask.extend(more),
        }
    }
    if !ask.is_empty() {
        return Ok(Some(ask.into()));
    }
    let alive = live(&list.items, &ctx.node, &heartbeats);
    let window = d.from.window_ms(ctx);
    let keep_s = keep_seconds(&ctx.settings);
    let key = event_key(d.event_id.as_str());

    // An event that is not kept is of no use to anybody later.
    let transient = !d.from.kept();
    if transient && (alive.is_empty() || window == 0) {
        let notice = match alive.is_empty() {
            true => Notice::BotOffline,
            false => Notice::NotAnsweredYet,
        };
        return Ok(decided(d.from.told(notice, d.before)));
    }

    // Offline: keep it, queue it, tell the clicker at once.
    if alive.is_empty() {
        let (Some(kept), Some(queued)) = (&f.kept, &f.queued) else {
            let record = record(&d, ctx, 0, KeptState::Late);
            let mut ask = Ask::default();
            ask.unless(&f.kept, "kept", || store(key.clone(), &record, keep_s))
                .unless(&f.queued, "queued", || push(&d, ctx));
            return Ok(Some(ask.into()));
        };
        let mut effects = stored(kept, Some(queued))?;
        // A connection may have subscribed since the registry was read, its replay reading the
        // queue before this event was in it: with the event queued, read the registry again.
        // (Subscribing adds to the registry before it reads the queue, so one of the two sees
        // the other; both may, and the bot then drops the copy by its event id.)
        let now = match live_now(&f, d.bot, ctx, heartbeats.clone()) {
            Ok(now) => now,
            Err(ask) => return Ok(Some(ask.into())),
        };
        let Some(back) = now.get(usize::from(ctx.entropy[0]) % now.len().max(1)) else {
            effects.splice(0..0, d.before);
            return Ok(Some(Outcome::Decided(
                d.from.told(Notice::BotOffline, effects),
            )));
        };
        // Nobody waits for its answer: it applies late, as with a window of 0.
        effects.push(send(&d, back, &delivery(1, 0, ctx.now_ms)));
        effects.splice(0..0, d.before);
        return Ok(decided(d.from.accepted(effects)));
    }

    let chosen = alive[usize::from(ctx.entropy[0]) % alive.len()];
    let first = delivery(1, window, ctx.now_ms);
    if window == 0 {
        // Answered at once; the answer, when it comes, applies late.
        let (Some(kept), Some(queued)) = (&f.kept, &f.queued) else {
            let record = record(&d, ctx, 1, KeptState::Late);
            let mut ask = Ask::default();
            ask.unless(&f.kept, "kept", || store(key.clone(), &record, keep_s))
                .unless(&f.queued, "queued", || push(&d, ctx));
            return Ok(Some(ask.into()));
        };
        let mut effects = stored(kept, Some(queued))?;
        effects.push(send(&d, chosen, &first));
        effects.splice(0..0, d.before);
        return Ok(decided(d.from.accepted(effects)));
    }

    // Kept and queued before it is sent: if this process dies while the click waits, the
    // event is still replayed. The acknowledgement takes it out of the queue.
    // An event that is not kept has a record only for its acknowledgement, while it is awaited.
    let until = ctx.now_ms.saturating_add(u64::from(window));
    let (Some(kept), true) = (&f.kept, transient || f.queued.is_some()) else {
        let record = record(&d, ctx, 1, KeptState::Waiting { until });
        let record_s = match transient {
            true => u64::from(window) / 1000 + 60,
            false => keep_s,
        };
        let mut ask = Ask::default();
        ask.unless(&f.kept, "kept", || store(key.clone(), &record, record_s));
        if !transient {
            ask.unless(&f.queued, "queued", || push(&d, ctx));
        }
        return Ok(Some(ask.into()));
    };
    let Some(answer) = &f.answer else {
        let publish = send(&d, chosen, &first);
        let mut effects = stored(kept, f.queued.as_ref())?;
        effects.splice(0..0, d.before);
        effects.push(publish);
        let wait = Fact::Await {
            event_id: d.event_id.as_str().to_owned(),
            until_ms: until,
        };
        return Ok(Some(Ask::one("answer", wait).after(effects).into()));
    };
    match answer {
        Answer::Found(Some(answer)) => return d.from.answered(answer, facts).map(Some),
        Answer::Found(None) => {}
        Answer::Failed(e) => return Err(unavailable("bot's answer", e)),
    }
    if transient {
        return Ok(decided(d.from.told(Notice::NotAnsweredYet, Vec::new())));
    }

    // The window passed without an answer the click saw. Read the record, and the registry as
    // it is now: a connection that subscribed while the click waited (a replica, the bot back
    // after a restart) left this event to it.
    let (Some(record_answer), Some(_)) = (&f.record, &f.registry_now) else {
        let mut ask = Ask::default();
        ask.unless(&f.record, "record", || Fact::KvGet { key: key.clone() })
            .unless(&f.registry_now, "registry_now", || Fact::KvGet {
                key: subscriptions_key(d.bot),
            });
        return Ok(Some(ask.into()));
    };
    let Some(raw) = kv_text(record_answer)? else {
        return Err(Refusal::Internal {
            detail: "the kept event vanished while its click waited".into(),
        });
    };
    let current: Kept = read_record(raw)?;
    match current.state {
        KeptState::Answered { answer } => return d.from.answered(&answer, facts).map(Some),
        KeptState::Late => return Ok(decided(d.from.told(Notice::NotAnsweredYet, vec![]))),
        KeptState::Waiting { .. } => {}
    }
    let now = match live_now(&f, d.bot, ctx, heartbeats.clone()) {
        Ok(now) => now,
        Err(ask) => return Ok(Some(ask.into())),
    };
    let other = now.iter().find(|s| s.connection_id != chosen.connection_id);
    let Some(marked) = &f.marked_late else {
        let attempts = current.attempts.saturating_add(u32::from(other.is_some()));
        let late = Kept {
            state: KeptState::Late,
            attempts,
            ..current
        };
        let cas = Fact::KvCas {
            key: key.clone(),
            old: raw.get().to_owned(),
            new: to_raw_value(&late).expect("a kept event serializes"),
            expire_in_seconds: keep_s,
        };
        return Ok(Some(Ask::one("marked_late", cas).into()));
    };
    match marked {
        Answer::Found(true) => {
            // Offered once to another live connection: another replica may be answering. Nobody
            // waits for that answer: it applies late.
            let effects = other
                .and_then(|other| {
                    let again = delivery(2, 0, current.first_sent_at);
                    send_data(&d, &current.data, other, &again)
                })
                .into_iter()
                .collect();
            Ok(decided(d.from.told(Notice::NotAnsweredYet, effects)))
        }
        Answer::Found(false) => {
            // An acknowledgement got in first: the answer is in the record now.
            let Some(again) = &f.record_again else {
                return Ok(Some(Ask::one("record_again", Fact::KvGet { key }).into()));
            };
            match kv_text(again)?.map(read_record).transpose()? {
                Some(Kept {
                    state: KeptState::Answered { answer },
                    ..
                }) => d.from.answered(&answer, facts).map(Some),
                _ => Ok(decided(d.from.told(Notice::NotAnsweredYet, vec![]))),
            }
        }
        Answer::Failed(e) => Err(unavailable("kept event", e)),
    }
}

/// What the bot asked to be expanded; nothing when it asked nothing, or the request cannot be
/// read (an event is never held back by its expansions).
fn expansions(answer: Option<&Answer<Option<&RawValue>>>) -> crate::expand::Request {
    match answer {
        Some(Answer::Found(Some(raw))) => serde_json::from_str(raw.get()).unwrap_or_default(),
        _ => crate::expand::Request::default(),
    }
}

/// The bot's live connections as the registry is now, or the facts still needed to know them.
/// A registry that cannot be read now counts as empty: the event stays queued for a replay.
fn live_now<'f>(
    f: &DeliveryFacts<'f>,
    bot: &UserId,
    ctx: &Context,
    mut heartbeats: BTreeMap<String, Option<&'f RawValue>>,
) -> Result<Vec<Subscription>, Ask> {
    let Some(registry_now) = &f.registry_now else {
        let key = super::store::subscriptions_key(bot);
        return Err(Ask::one("registry_now", Fact::KvGet { key }));
    };
    let now: Vec<Subscription> =
        document::<List<Subscription>>(registry_now, "bot's subscriptions")
            .ok()
            .flatten()
            .map(|l| l.items)
            .unwrap_or_default();
    let unknown: Vec<String> = heartbeat_keys(&now, &ctx.node)
        .into_iter()
        .filter(|k| !heartbeats.contains_key(k))
        .collect();
    if !unknown.is_empty() {
        match &f.heartbeats_now {
            None => {
                return Err(Ask::one(
                    "heartbeats_now",
                    Fact::KvGetMany { keys: unknown },
                ))
            }
            Some(Answer::Found(h)) => heartbeats.extend(h.iter().map(|(k, v)| (k.clone(), *v))),
            Some(Answer::Failed(_)) => {}
        }
    }
    let alive: Vec<String> = live(&now, &ctx.node, &heartbeats)
        .iter()
        .map(|s| s.connection_id.clone())
        .collect();
    Ok(now
        .into_iter()
        .filter(|s| alive.contains(&s.connection_id))
        .collect())
}

/// The kept record of `d`.
fn record(d: &Outgoing<'_>, ctx: &Context, attempts: u32, state: KeptState) -> Kept {
    Kept {
        bot: d.bot.clone(),
        event: d.event.to_owned(),
        data: d.data.clone(),
        first_sent_at: ctx.now_ms,
        attempts,
        state,
        place: d.from.place(),
    }
}

fn store(key: String, record: &Kept, expire_in_seconds: u64) -> Fact {
    Fact::KvSet {
        key,
        value: to_raw_value(record).expect("a kept event serializes"),
        expire_in_seconds,
    }
}

/// Queues `d` for replay.
fn push(d: &Outgoing<'_>, ctx: &Context) -> Fact {
    let item = Queued {
        event_id: d.event_id,
        at: ctx.now_ms,
    };
    Fact::ListPush {
        key: queue_key(d.bot),
        item: to_raw_value(&item).expect("a queued event serializes"),
        unique: Some("event_id"),
        cap: ctx.settings.kept_per_bot,
        expire_in_seconds: keep_seconds(&ctx.settings),
    }
}

/// Whether keeping and queueing worked; the effects they lead to (a log of what was dropped).
fn stored(kept: &Answer<bool>, queued: Option<&Answer<Pushed>>) -> Result<Vec<Effect>, Refusal> {
    if let Answer::Failed(e) = kept {
        return Err(not_stored(e));
    }
    match queued {
        None => Ok(Vec::new()),
        Some(Answer::Failed(e)) => Err(not_stored(e)),
        Some(Answer::Found(pushed)) if pushed.dropped.is_empty() => Ok(Vec::new()),
        Some(Answer::Found(pushed)) => {
            let mut fields = crate::effect::LogFields::new();
            fields.insert("dropped", pushed.dropped.len().to_string());
            Ok(vec![Effect::Log {
                level: LogLevel::Warn,
                message: "a bot's oldest kept events were dropped: it keeps more than the limit"
                    .into(),
                fields,
            }])
        }
    }
}

fn not_stored(e: &crate::facts::FactError) -> Refusal {
    Refusal::NotStored {
        what: "click for the bot",
        detail: e.to_string(),
    }
}

fn delivery(attempt: u32, window: u32, first_sent_at: u64) -> Delivery {
    Delivery {
        attempt,
        ack: "required",
        answer_within_ms: window,
        first_sent_at,
    }
}

fn send(d: &Outgoing<'_>, to: &Subscription, delivery: &Delivery) -> Effect {
    send_data(d, &d.data, to, delivery).expect("the core built the event's data")
}

/// `data` sent to `to`; `None` when it is not an event's data (a kept record read back from
/// the store, which someone else may have written).
fn send_data(
    d: &Outgoing<'_>,
    data: &RawValue,
    to: &Subscription,
    delivery: &Delivery,
) -> Option<Effect> {
    Some(Effect::publish_to(
        d.event,
        d.bot.clone(),
        &to.connection_id,
        with_delivery(data, delivery)?,
    ))
}

fn decided(decision: Decision) -> Option<Outcome> {
    Some(Outcome::Decided(decision))
}

fn kv_text<'a>(answer: &Answer<Option<&'a RawValue>>) -> Result<Option<&'a RawValue>, Refusal> {
    match answer {
        Answer::Found(raw) => Ok(*raw),
        Answer::Failed(e) => Err(unavailable("kept event", e)),
    }
}

pub(crate) fn read_record(raw: &RawValue) -> Result<Kept, Refusal> {
    serde_json::from_str(raw.get()).map_err(|e| Refusal::Internal {
        detail: format!("reading a kept event: {e}"),
    })
}
