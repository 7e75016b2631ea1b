//! An event for a bot that subscribed (SPEC §9.2–9.6): sent to one live connection, answered
//! with the bot's answer if it comes within the answer window, kept when someone is told it is.
//!
//! While the person waits, the event lives in the memory of the node where they wait: the
//! publish and the wait are one round ([`Fact::Await`]), and an acknowledgement on this node
//! hands its answer over in memory ([`Fact::Claim`]), from another node through one cluster
//! message. Nothing touches the store until something is promised: the event is kept
//! (`keep.rs`) before the person is told the bot is offline, before they are told it has not
//! answered in time, and before an answer window of 0 lets them go. If this process dies while
//! the person waits, their request fails, as an HTTP integration's would, and the bot's late
//! acknowledgement is told the event is unknown (docs/DELIVERY.md).

use super::answer::check_click_answer;
use super::keep::{self, Keeping};
use super::store::{document, heartbeat_keys, live, List, Place, Subscription};
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{with_delivery, with_expanded, Delivery, Reason};
use crate::facts::{present, Answer, Ask, Decides, Fact, Facts, Held};
use crate::ids::{EventId, UserId};
use crate::input::Context;
use crate::refusal::unavailable;
use crate::refusal::{Notice, Refusal, Subject};
use serde::Deserialize;
use serde_json::value::RawValue;
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
    /// The bot's answer within the window, or `null`.
    #[serde(borrow, default, deserialize_with = "present")]
    answer: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's subscriptions once the event was kept.
    #[serde(borrow, default, deserialize_with = "present")]
    registry_now: Option<Answer<Option<&'a RawValue>>>,
    /// The heartbeats of nodes that joined the registry since it was first read.
    #[serde(borrow, default, deserialize_with = "present")]
    heartbeats_now: Option<Answer<BTreeMap<String, Option<&'a RawValue>>>>,
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
    /// How the bot's answer alone decides for them, when it does (the acknowledgement then
    /// decides it: [`super::answer::decided_by`]); `None` when [`Sender::answered`] has more to do.
    fn decides(&self) -> Option<Decides> {
        None
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
    /// Mattermost made the request itself.
    pub(crate) internal: bool,
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

    /// A click on a stored post: the answer, checked, is the response. One on an ephemeral
    /// post is the plugin's to replace (it asks and signs).
    fn decides(&self) -> Option<Decides> {
        self.ephemeral.is_none().then_some(Decides::Click {
            internal: self.internal,
        })
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
            return Ok(Outcome::Decided(super::answer::plain_click_answer(&answer)));
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

/// Asks for a bot's registry and its expansions, each unless answered, with a click's other
/// facts (rarely changing facts: every change is announced to every node, which forgets its
/// copy). Each goes by its own answer: a node may hold one cached and not the other, and a
/// question answered already must never be asked again.
pub(crate) fn ask_registry<R, E>(
    ask: &mut Ask,
    registry: &Option<R>,
    expand: &Option<E>,
    bot: &UserId,
) {
    ask.unless_cached(registry, REGISTRY, || Fact::KvGet {
        key: super::store::subscriptions_key(bot),
    })
    .unless_cached(expand, "expand", || Fact::KvGet {
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
    // The expansions are part of the event as it is sent and kept: gathered before either, in
    // the round that reads the heartbeats (a lookup for a bot that is offline needs none).
    // Once the event is out (the wait for its answer was asked), nothing sends `d.data` again:
    // an offer to another connection sends the same data, expansions included.
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
    let transient = !d.from.kept();
    if transient && (alive.is_empty() || window == 0) {
        let notice = match alive.is_empty() {
            true => Notice::BotOffline,
            false => Notice::NotAnsweredYet,
        };
        return Ok(decided(d.from.told(notice, d.before)));
    }
    let chosen = (!alive.is_empty()).then(|| alive[usize::from(ctx.entropy[0]) % alive.len()]);

    // Sent, and waited for in memory: nothing is stored unless the window passes.
    if let (Some(chosen), true) = (chosen, window > 0) {
        let Some(answer) = &f.answer else {
            let publish = send(&d, chosen, &delivery(1, window, ctx.now_ms, None));
            let mut effects = std::mem::take(&mut d.before);
            effects.push(publish);
            let wait = Fact::Await {
                event_id: d.event_id.as_str().to_owned(),
                until_ms: ctx.now_ms.saturating_add(u64::from(window)),
                held: Some(Held {
                    bot: d.bot.clone(),
                    event: d.event.to_owned(),
                    decides: d.from.decides(),
                }),
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
        // The window passed: kept before the person is told, then offered once to another
        // live connection (read afresh: a replica or a reconnected bot may have come).
        let kept = match keep::keep(&keeping(&d, ctx, 1, Some(chosen)), ctx, facts)? {
            Ok(kept) => kept,
            Err(ask) => return Ok(Some(ask.into())),
        };
        let now = match live_now(&f, d.bot, ctx, heartbeats.clone()) {
            Ok(now) => now,
            Err(ask) => return Ok(Some(ask.into())),
        };
        let mut effects = Vec::new();
        if let Some(other) = now.iter().find(|s| s.connection_id != chosen.connection_id) {
            let again = delivery(2, 0, ctx.now_ms, Some(Reason::NotAnswered));
            effects.push(kept.offered(other));
            effects.push(send(&d, other, &again));
        }
        effects.splice(0..0, kept.effects);
        return Ok(decided(d.from.told(Notice::NotAnsweredYet, effects)));
    }

    // Kept before anything is said: the bot is offline, or nobody waits (a window of 0: the
    // answer applies late).
    let attempts = u32::from(chosen.is_some());
    let kept = match keep::keep(&keeping(&d, ctx, attempts, chosen), ctx, facts)? {
        Ok(kept) => kept,
        Err(ask) => return Ok(Some(ask.into())),
    };
    let mut effects = std::mem::take(&mut d.before);
    effects.extend(kept.effects);
    if let Some(chosen) = chosen {
        effects.push(send(&d, chosen, &delivery(1, 0, ctx.now_ms, None)));
        return Ok(decided(d.from.accepted(effects)));
    }
    // A connection may have subscribed since the registry was read, its replay reading the
    // queue before this event was in it: with the event kept, read the registry again.
    // (Subscribing adds to the registry before it reads the queue, so one of the two sees the
    // other; both may, and the bot then drops the copy by its event id.)
    let now = match live_now(&f, d.bot, ctx, heartbeats) {
        Ok(now) => now,
        Err(ask) => return Ok(Some(ask.into())),
    };
    let Some(back) = now.get(usize::from(ctx.entropy[0]) % now.len().max(1)) else {
        return Ok(decided(d.from.told(Notice::BotOffline, effects)));
    };
    // Nobody waits for its answer: it applies late, as with a window of 0.
    effects.push(send(
        &d,
        back,
        &delivery(1, 0, ctx.now_ms, Some(Reason::Offline)),
    ));
    Ok(decided(d.from.accepted(effects)))
}

/// What keeping `d` stores: sent `attempts` times so far, last to `sent_to`.
fn keeping<'d>(
    d: &'d Outgoing<'_>,
    ctx: &Context,
    attempts: u32,
    sent_to: Option<&Subscription>,
) -> Keeping<'d> {
    Keeping {
        bot: d.bot,
        event: d.event,
        event_id: d.event_id,
        data: &d.data,
        user: &d.about.acting_user,
        place: d.from.place(),
        attempts,
        sent_to: sent_to.cloned(),
        first_sent_at: ctx.now_ms,
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

fn delivery(attempt: u32, window: u32, first_sent_at: u64, reason: Option<Reason>) -> Delivery {
    Delivery {
        attempt,
        ack: "required",
        answer_within_ms: window,
        first_sent_at,
        reason,
    }
}

fn send(d: &Outgoing<'_>, to: &Subscription, delivery: &Delivery) -> Effect {
    Effect::publish_to(
        d.event,
        d.bot.clone(),
        &to.connection_id,
        with_delivery(&d.data, delivery).expect("the core built the event's data"),
    )
}

fn decided(decision: Decision) -> Option<Outcome> {
    Some(Outcome::Decided(decision))
}

pub(crate) fn read_record(raw: &RawValue) -> Result<super::Kept, Refusal> {
    serde_json::from_str(raw.get()).map_err(|e| Refusal::Internal {
        detail: format!("reading a kept event: {e}"),
    })
}
