//! An acknowledgement (SPEC §9.3–9.4), from a bot's websocket (`custom_<id>_ack`) or
//! `POST /api/v1/ack`: `{"event_id", "answer"?}`.
//!
//! Only the bot an event was sent to may acknowledge it; a second acknowledgement is ignored.
//! Where the event is decides what an acknowledgement costs:
//! - **waited for on this node** (in memory, [`Fact::Held`]): the answer is handed to the
//!   waiting input ([`Fact::Claim`]) and becomes its response. No store, no cluster message.
//! - **kept** (`ev_<id>` in the store: nobody waits any more): the acknowledgement claims it
//!   with a compare-and-set, applies the answer itself (the post updated through the plugin
//!   API, the text sent to the clicker) and takes it out of the bot's queue.
//! - **waited for on another node** (neither here nor in the store, in a cluster): the
//!   acknowledgement is relayed to the other nodes in one cluster message; the node where the
//!   event waits claims it as above and sends back what became of it.

use super::answer::{answer_post, can_post, check_answer, command_post, signed_command_answer};
use super::click::read_record;
use super::keep::unqueue;
use super::store::{event_key, Kept, KeptState, Place};
use crate::effect::Effect;
use crate::event::{kept_event, COMMAND};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::{EventId, Id, UserId};
use crate::input::Context;
use crate::model::RETAINED_PROPS;
use crate::refusal::unavailable;
use crate::refusal::Refusal;
use crate::sign::ephemeral::Ephemeral;
use serde::{Deserialize, Serialize};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// What an acknowledgement says.
#[derive(Debug, Deserialize)]
struct AckBody<'a> {
    #[serde(borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    answer: Option<&'a RawValue>,
    /// The bot wants `ack_result` on its websocket (a REST ack always answers it).
    #[serde(default)]
    result: bool,
}

/// An acknowledgement, read.
pub(crate) struct Acknowledgement<'a> {
    pub(crate) event_id: Id,
    /// The bot's answer (`null` counts as none).
    pub(crate) answer: Option<&'a RawValue>,
    /// On a websocket: the bot asks for `ack_result` (`"result": true`).
    pub(crate) result: bool,
}

/// Where an acknowledgement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The bot, on this node: if the event is nowhere here, the other nodes are asked.
    Bot,
    /// Another node relayed it: only the node where the event waits answers.
    Relayed,
}

/// How long a node waits for the node where an event waits to say what became of a relayed
/// acknowledgement: a cluster message's round trip, with room to spare.
pub(crate) const RELAY_WAIT_MS: u64 = 1_500;

/// What this node knows of a wait, as [`Fact::Held`] answers it.
#[derive(Debug, Deserialize)]
struct HeldHere {
    state: WaitState,
    bot: UserId,
    event: String,
    /// How the answer decides the waiting input, if it alone does.
    #[serde(default)]
    decides: Option<crate::facts::Decides>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WaitState {
    Waiting,
    Answered,
    Ended,
}

/// What [`Fact::Claim`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Handed {
    Claimed,
    Answered,
    Ended,
    Absent,
}

/// What became of a relayed acknowledgement, as the node that took it sends it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Relayed {
    /// Taken.
    Status(Status),
    /// Refused there: the bot named an event that is another bot's.
    NotYourEvent,
    /// Refused there: the answer cannot be shown.
    BadAnswer(String),
    /// Refused there for another reason (a store that failed).
    Failed(String),
}

/// What acknowledging needs to know and do.
#[derive(Debug, Default, Deserialize)]
struct AckFacts<'a> {
    /// What this node knows of a wait for the event.
    #[serde(default, deserialize_with = "present")]
    held: Option<Answer<Option<HeldHere>>>,
    /// The answer was handed to the waiting input.
    #[serde(default, deserialize_with = "present")]
    handed: Option<Answer<Handed>>,
    #[serde(borrow, default, deserialize_with = "present")]
    record: Option<Answer<Option<&'a RawValue>>>,
    #[serde(default, deserialize_with = "present")]
    claimed: Option<Answer<bool>>,
    #[serde(borrow, default, deserialize_with = "present")]
    record_again: Option<Answer<Option<&'a RawValue>>>,
    #[serde(default, deserialize_with = "present")]
    claimed_again: Option<Answer<bool>>,
    /// What the node where the event waits said of the relayed acknowledgement.
    #[serde(default, deserialize_with = "present")]
    relayed: Option<Answer<Option<Relayed>>>,
    /// The clicked post, for a late update.
    #[serde(borrow, default, deserialize_with = "present")]
    post: Option<Answer<&'a RawValue>>,
    /// The late update was applied.
    #[serde(default, deserialize_with = "present")]
    updated: Option<Answer<bool>>,
    /// The bot may post where a late `in_channel` answer to a command would go.
    #[serde(default, deserialize_with = "present")]
    bot_can_post: Option<Answer<bool>>,
    /// The key that signs a late update of an ephemeral post's buttons.
    #[serde(default, deserialize_with = "present")]
    keyring: Option<Answer<Option<crate::sign::Keyring>>>,
    /// A late update moved the ephemeral post's version on from the one clicked.
    #[serde(default, deserialize_with = "present")]
    ephemeral_updated: Option<Answer<bool>>,
    /// The version of a late ephemeral command answer's buttons was stored.
    #[serde(default, deserialize_with = "present")]
    ephemeral_stored: Option<Answer<bool>>,
}

/// What became of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// The answer went to the click waiting for it.
    Applied,
    /// No click waited any more: the plugin applied the answer itself.
    AppliedLate,
    /// The event was acknowledged before; this acknowledgement changes nothing.
    Duplicate,
    /// Taken, but too late to do anything: the dialog it answers has closed (a submission,
    /// a lookup or a refresh answered after its window).
    TooLate,
}

/// Where one call leaves an acknowledgement.
pub(crate) enum Step {
    /// Facts (and effects) still needed.
    Ask(Ask),
    /// Done: what happened, and the effects it leads to.
    Done {
        event_id: Id,
        status: Status,
        effects: Vec<Effect>,
    },
    /// A relayed acknowledgement for an event that does not wait here: another node answers.
    NotHere,
    /// Taken, and part of the answer could not be applied: Mattermost refused the post's
    /// update after the event was claimed (its channel archived meanwhile, the post deleted).
    /// The rest is still carried out (the event leaves the queue, the text is shown), and the
    /// bot is told why in an error: acknowledging again would only be told `duplicate`.
    Taken {
        effects: Vec<Effect>,
        refusal: Refusal,
    },
}

/// The question of what this node knows of a wait for `event_id`.
fn ask_held(event_id: &str) -> Ask {
    let event_id = event_id.to_owned();
    Ask::one("held", Fact::Held { event_id })
}

/// What the shim answers before an acknowledgement's first call, over REST and on a websocket:
/// what this node knows of a wait for the event it names (`body.event_id`; a websocket
/// message's data is its body), answered from the shim's memory without a round trip. Built
/// by the question the acknowledgement asks, so the filled query is byte for byte that one. An
/// acknowledgement whose wait is here is then decided in two calls, and hands its answer over
/// after the first; one naming an event that waits nowhere here costs nothing more.
pub(crate) fn prefetch() -> [crate::facts::Prefetch; 2] {
    const EVENT: &str = "prefetchmarkerevent0000001";
    let queries = ask_held(EVENT).into_queries();
    [crate::paths::ACK_PATH, crate::paths::SOCKET_ACK].map(|path| crate::facts::Prefetch {
        path,
        max_body_bytes: PREFETCH_BODY_BYTES,
        fill: [(EVENT, "body.event_id")].into(),
        queries: queries.clone(),
    })
}

/// The largest acknowledgement the shim reads for [`prefetch`]: most are a few hundred bytes; a
/// larger answer (a long post) is decided in the usual rounds rather than read twice.
const PREFETCH_BODY_BYTES: usize = 16 * 1024;

/// Reads an acknowledgement's body.
pub(crate) fn read(body: &str) -> Result<Acknowledgement<'_>, Refusal> {
    let bad = || Refusal::BadField {
        field: "event_id",
        expected: "the `proxy.event_id` of an event the bot received",
    };
    let parsed: AckBody<'_> = serde_json::from_str(body).map_err(|_| bad())?;
    let id = parsed
        .event_id
        .as_deref()
        .and_then(Id::parse)
        .ok_or_else(bad)?;
    Ok(Acknowledgement {
        event_id: id,
        answer: parsed.answer.filter(|a| a.get() != "null"),
        result: parsed.result,
    })
}

/// Acknowledges for `sender` (`{"event_id", "answer"?}`, read).
pub(crate) fn ack(
    sender: &UserId,
    acknowledgement: &Acknowledgement<'_>,
    origin: Origin,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let (event_id, given) = (acknowledgement.event_id, acknowledgement.answer);
    let f: AckFacts<'_> = facts.read()?;
    let done = |status, effects| {
        Ok(Step::Done {
            event_id,
            status,
            effects,
        })
    };
    let checked = |event: &str, bot: &UserId| match given {
        Some(answer) => check_answer(event, answer, bot),
        None => Ok(RawValue::from_string("{}".into()).expect("JSON")),
    };
    let not_yours = || Refusal::NotYourEvent {
        event_id: event_id.as_str().to_owned(),
    };

    // In memory first: an event waited for on this node is answered without the store. The
    // shim reads what it knows of the wait before the first call ([`prefetch`]): the
    // acknowledgement then goes on in the same call, and a waiting click has its answer one
    // call sooner.
    let Some(held) = &f.held else {
        return match facts.take_prefetched(ask_held(event_id.as_str())) {
            Ok(answers) => ack(
                sender,
                acknowledgement,
                origin,
                ctx,
                Facts::answers(&answers),
            ),
            Err(ask) => Ok(Step::Ask(ask)),
        };
    };
    match held {
        Answer::Found(Some(h)) => {
            if h.bot != *sender {
                return Err(not_yours());
            }
            match h.state {
                WaitState::Answered => return done(Status::Duplicate, Vec::new()),
                WaitState::Waiting => {
                    let answer = checked(&h.event, &h.bot)?;
                    let Some(handed) = &f.handed else {
                        // The waiting click's decision, made here: it needs no call of its own.
                        let decision = h
                            .decides
                            .and_then(|d| super::answer::decided_by(d, &answer));
                        let claim = Fact::Claim {
                            event_id: event_id.as_str().to_owned(),
                            answer,
                            decision,
                        };
                        return Ok(Step::Ask(Ask::one("handed", claim)));
                    };
                    match handed {
                        Answer::Found(Handed::Claimed) => return done(Status::Applied, Vec::new()),
                        Answer::Found(Handed::Answered) => {
                            return done(Status::Duplicate, Vec::new())
                        }
                        // The wait ended as the answer came: the event is kept now, if it is
                        // kept at all.
                        Answer::Found(Handed::Ended | Handed::Absent) => {}
                        Answer::Failed(e) => return Err(unavailable("waiting event", e)),
                    }
                }
                WaitState::Ended => {}
            }
            if kept_event(&h.event).is_none() {
                // A lookup's or a refresh's: of use only while the person waited.
                checked(&h.event, &h.bot)?;
                return done(Status::TooLate, Vec::new());
            }
        }
        Answer::Found(None) if origin == Origin::Relayed => return Ok(Step::NotHere),
        Answer::Found(None) => {}
        Answer::Failed(e) => return Err(unavailable("waiting event", e)),
    }

    // In the store: a kept event.
    let key = event_key(event_id.as_str());
    let Some(record) = &f.record else {
        return Ok(Step::Ask(Ask::one("record", Fact::KvGet { key })));
    };
    let Some(raw) = found(record)? else {
        return relay(acknowledgement, sender, origin, ctx, &f, event_id);
    };
    let unknown = || Refusal::UnknownEvent {
        event_id: event_id.as_str().to_owned(),
    };
    let kept = read_record(raw)?;
    if kept.bot != *sender {
        return Err(not_yours());
    }
    let answer = checked(&kept.event, &kept.bot)?;
    // An answer that cannot be applied is refused before the event is claimed: the bot may
    // acknowledge again with one that can.
    if let Some(ask) = late_update_allowed(&kept, &answer, &f, &ctx.settings.site_url)? {
        return Ok(Step::Ask(ask));
    }

    // Claim the event: a compare-and-set of the record read. If another party changed it in
    // between (the record updated when it was offered again), read it again and claim once
    // more; a second change means it was answered.
    let (current, claimed) = match (&f.claimed, &f.record_again, &f.claimed_again) {
        (None, _, _) => (kept, None),
        (Some(Answer::Found(true)), _, _) => (kept, Some(true)),
        (Some(Answer::Failed(e)), _, _) | (_, _, Some(Answer::Failed(e))) => {
            return Err(unavailable("kept event", e))
        }
        (Some(Answer::Found(false)), None, _) => {
            return Ok(Step::Ask(Ask::one("record_again", Fact::KvGet { key })));
        }
        (Some(Answer::Found(false)), Some(again), claimed_again) => {
            let raw = found(again)?.ok_or_else(unknown)?;
            let again = read_record(raw)?;
            if claimed_again.is_none() && !matches!(again.state, KeptState::Answered { .. }) {
                let cas = claim(&key, raw, &again, &answer, ctx);
                return Ok(Step::Ask(Ask::one("claimed_again", cas)));
            }
            let won = matches!(claimed_again, Some(Answer::Found(true)));
            (again, Some(won))
        }
    };
    if let KeptState::Answered { .. } = current.state {
        return done(Status::Duplicate, Vec::new());
    }
    match claimed {
        None => {
            let cas = claim(&key, raw, &current, &answer, ctx);
            return Ok(Step::Ask(Ask::one("claimed", cas)));
        }
        Some(false) => return done(Status::Duplicate, Vec::new()),
        Some(true) => {}
    }
    apply_late(
        &current,
        event_id,
        &answer,
        &f,
        super::store::keep_seconds(&ctx.settings),
        &ctx.settings.site_url,
    )
}

/// An event neither waiting on this node nor kept: in a cluster, it may wait on another node,
/// which is asked in one message and answers with what became of it; otherwise it is unknown.
fn relay(
    acknowledgement: &Acknowledgement<'_>,
    sender: &UserId,
    origin: Origin,
    ctx: &Context,
    f: &AckFacts<'_>,
    event_id: Id,
) -> Result<Step, Refusal> {
    let unknown = || Refusal::UnknownEvent {
        event_id: event_id.as_str().to_owned(),
    };
    if origin == Origin::Relayed || !ctx.settings.clustered {
        return Err(unknown());
    }
    // The reply is awaited under an id of this acknowledgement's own (never an event's).
    let reply = EventId::from_entropy(ctx.entropy);
    let Some(relayed) = &f.relayed else {
        let message = json!({"relay_ack": {
            "event_id": event_id.as_str(),
            "sender": sender,
            "answer": acknowledgement.answer,
            "from": ctx.node,
            "reply": reply.as_str(),
        }});
        let wait = Fact::Await {
            event_id: reply.as_str().to_owned(),
            until_ms: ctx.now_ms.saturating_add(RELAY_WAIT_MS),
            held: None,
        };
        let send = Effect::Cluster {
            message: to_raw_value(&message).expect("a relay serializes"),
        };
        return Ok(Step::Ask(Ask::one("relayed", wait).after(vec![send])));
    };
    match relayed {
        Answer::Found(Some(Relayed::Status(status))) => Ok(Step::Done {
            event_id,
            status: *status,
            effects: Vec::new(),
        }),
        Answer::Found(Some(Relayed::NotYourEvent)) => Err(Refusal::NotYourEvent {
            event_id: event_id.as_str().to_owned(),
        }),
        Answer::Found(Some(Relayed::BadAnswer(reason))) => Err(Refusal::BadAnswer {
            reason: reason.clone(),
        }),
        Answer::Found(Some(Relayed::Failed(detail))) => Err(Refusal::Unavailable {
            what: "acknowledgement on another node",
            detail: detail.clone(),
        }),
        // Nobody answered: no node waits for it.
        Answer::Found(None) => Err(unknown()),
        Answer::Failed(e) => Err(unavailable("acknowledgement on another node", e)),
    }
}

/// What a relayed acknowledgement's result is, for the node that relayed it.
pub(crate) fn relayed(result: &Result<Step, Refusal>) -> Option<Relayed> {
    match result {
        Ok(Step::Done { status, .. }) => Some(Relayed::Status(*status)),
        Ok(Step::Ask(_) | Step::NotHere) => None,
        Ok(Step::Taken { refusal, .. }) => Some(Relayed::Failed(refusal.to_string())),
        Err(Refusal::NotYourEvent { .. }) => Some(Relayed::NotYourEvent),
        Err(Refusal::BadAnswer { reason }) => Some(Relayed::BadAnswer(reason.clone())),
        Err(other) => Some(Relayed::Failed(other.to_string())),
    }
}

/// The compare-and-set that marks `current` (read as `raw`) answered with `answer`. An answered
/// record is kept a few minutes, so that a second acknowledgement is told `duplicate`.
fn claim(key: &str, raw: &RawValue, current: &Kept, answer: &RawValue, ctx: &Context) -> Fact {
    let answered = Kept {
        bot: current.bot.clone(),
        event: current.event.clone(),
        data: current.data.clone(),
        first_sent_at: current.first_sent_at,
        attempts: current.attempts,
        state: KeptState::Answered {
            answer: answer.to_owned(),
        },
        place: current.place.clone(),
        seq: current.seq,
        user: current.user.clone(),
        sent_to: current.sent_to.clone(),
    };
    Fact::KvCas {
        key: key.to_owned(),
        old: raw.get().to_owned(),
        new: to_raw_value(&answered).expect("a kept event serializes"),
        expire_in_seconds: 600.min(super::store::keep_seconds(&ctx.settings)),
    }
}

/// Applies a late answer to a click: out of the queue, the post updated, the text sent.
/// `site_url` is the server's: an ephemeral post's new buttons are signed only if they reach it.
fn apply_late(
    kept: &Kept,
    event_id: Id,
    answer: &RawValue,
    f: &AckFacts<'_>,
    keep_s: u64,
    site_url: &str,
) -> Result<Step, Refusal> {
    let fields: Map<String, Value> = serde_json::from_str(answer.get()).unwrap_or_default();
    // Whatever comes next, the event leaves the bot's queue (its entry, the person's place).
    let mut effects = unqueue(kept, keep_s);
    if kept.place.is_none() {
        // A dialog's: nobody can be shown a late answer.
        return Ok(Step::Done {
            event_id,
            status: Status::TooLate,
            effects,
        });
    }
    if kept.event == COMMAND {
        return apply_late_command(kept, event_id, answer, &fields, f, effects, site_url);
    }
    let update = fields.get("update").filter(|u| u.is_object());
    let place = kept.place.as_ref();
    let mut ask = Ask::default();
    let ephemeral = place.and_then(|p| p.ephemeral(kept.bot.as_str(), site_url));
    if let (Some(_), Some(at)) = (update, &ephemeral) {
        // Not stored: the post is replaced for its one user, its buttons signed again.
        crate::sign::ask_keyring(&mut ask, &f.keyring);
        if !ask.is_empty() {
            return Ok(Step::Ask(ask));
        }
        let Some(Answer::Found(Some(key))) = &f.keyring else {
            return Err(Refusal::Unavailable {
                what: "signing key",
                detail: "the key that signs buttons could not be read".into(),
            });
        };
        // Applied only if the post is still at the version clicked (its buttons replaced then,
        // as in time: `ClickSender::answered`).
        let new_version = crate::sign::ephemeral::version(event_id.as_str());
        let (rest, update) = crate::sign::ephemeral::split_answer(answer, at, &new_version, key);
        if let Some(update) = update {
            match &f.ephemeral_updated {
                None => return Ok(Step::Ask(Ask::one("ephemeral_updated", update.moved))),
                Some(Answer::Found(true)) => effects.push(update.shown),
                Some(Answer::Found(false)) => {
                    effects.push(crate::sign::ephemeral::not_moved(at.post_id, None))
                }
                Some(Answer::Failed(e)) => {
                    effects.push(crate::sign::ephemeral::not_moved(at.post_id, Some(e)))
                }
            }
        }
        effects.extend(late_ephemeral_text(&rest, place));
        return Ok(Step::Done {
            event_id,
            status: Status::AppliedLate,
            effects,
        });
    }
    if let (Some(_), Some(place)) = (update, place) {
        ask.unless(&f.post, "post", || Fact::Post {
            post_id: place.post_id.clone(),
        });
    }
    if !ask.is_empty() {
        return Ok(Step::Ask(ask));
    }
    if let (Some(update), Some(place), Some(post)) = (update, place, &f.post) {
        // Read, and found the bot's own, before the event was claimed.
        let Answer::Found(post) = post else {
            return Err(Refusal::Internal {
                detail: "the clicked post was claimed unread".into(),
            });
        };
        let Some(updated) = &f.updated else {
            let post = updated_post(post, update, place)?;
            return Ok(Step::Ask(Ask::one("updated", Fact::UpdatePost { post })));
        };
        if let Answer::Failed(e) = updated {
            effects.extend(late_ephemeral_text(answer, Some(place)));
            let refusal = Refusal::UpdateRefused {
                detail: e.to_string().trim_end_matches('.').to_owned(),
            };
            return Ok(Step::Taken { effects, refusal });
        }
    }
    effects.extend(late_ephemeral_text(answer, place));
    Ok(Step::Done {
        event_id,
        status: Status::AppliedLate,
        effects,
    })
}

/// For a late answer that updates the clicked post: the post, and that it is the bot's own
/// (SPEC §9.3: whatever the settings; with provenance checks off, the clicker named the post).
/// `Ok(Some(ask))` while the post is to be read.
fn late_update_allowed(
    kept: &Kept,
    answer: &RawValue,
    f: &AckFacts<'_>,
    site_url: &str,
) -> Result<Option<Ask>, Refusal> {
    let Some(place) = kept
        .place
        .as_ref()
        .filter(|_| kept.event == crate::event::ACTION)
    else {
        return Ok(None);
    };
    let updates = serde_json::from_str::<Map<String, Value>>(answer.get())
        .is_ok_and(|a| a.get("update").is_some_and(Value::is_object));
    // An ephemeral post's update replaces it for its one user: its signature vouched for it.
    if !updates || place.ephemeral(kept.bot.as_str(), site_url).is_some() {
        return Ok(None);
    }
    let Some(post) = &f.post else {
        let post_id = place.post_id.clone();
        return Ok(Some(Ask::one("post", Fact::Post { post_id })));
    };
    match post {
        Answer::Found(post) if owned_by(post, &kept.bot, &place.channel_id) => Ok(None),
        Answer::Found(_) => Err(Refusal::BadAnswer {
            reason: "an `update` may change only the bot's own post, and the clicked post is not the bot's".into(),
        }),
        Answer::Failed(e) => Err(unavailable("clicked message", e)),
    }
}

/// Whether `post` is `bot`'s, in `channel_id`.
fn owned_by(post: &RawValue, bot: &UserId, channel_id: &str) -> bool {
    #[derive(Deserialize)]
    struct Owner<'a> {
        #[serde(borrow, default)]
        user_id: Cow<'a, str>,
        #[serde(borrow, default)]
        channel_id: Cow<'a, str>,
    }
    serde_json::from_str::<Owner<'_>>(post.get())
        .is_ok_and(|o| o.user_id == bot.as_str() && o.channel_id == channel_id)
}

/// A late answer's `ephemeral_text`, shown to the clicker where they clicked.
fn late_ephemeral_text(answer: &RawValue, place: Option<&Place>) -> Option<Effect> {
    let fields: Map<String, Value> = serde_json::from_str(answer.get()).unwrap_or_default();
    let (Some(Value::String(text)), Some(place)) = (fields.get("ephemeral_text"), place) else {
        return None;
    };
    if text.is_empty() {
        return None;
    }
    let post = json!({"user_id": place.user_id, "channel_id": place.channel_id, "root_id": place.root_id, "message": text});
    Some(Effect::SendEphemeral {
        user_id: place.user_id.clone(),
        post: to_raw_value(&post).expect("a post serializes"),
    })
}

/// Applies a late answer to a slash command: an `in_channel` answer posted as the bot, an
/// ephemeral one sent to the person who typed the command.
fn apply_late_command(
    kept: &Kept,
    event_id: Id,
    answer: &RawValue,
    fields: &Map<String, Value>,
    f: &AckFacts<'_>,
    mut effects: Vec<Effect>,
    site_url: &str,
) -> Result<Step, Refusal> {
    if let Some(place) = &kept.place {
        let (channel, root) = (&place.channel_id, &place.root_id);
        let post = command_post(answer, &kept.bot, channel, root);
        if post.is_some() && f.bot_can_post.is_none() {
            let ask = Ask::one("bot_can_post", can_post(&kept.bot, channel));
            return Ok(Step::Ask(ask));
        }
        match (post, &f.bot_can_post) {
            (Some(post), Some(Answer::Found(true))) => effects.push(Effect::CreatePost { post }),
            // Shown to the person alone: an ephemeral answer, or one the bot may not post there.
            _ => {
                // With buttons: signed for the person, as the bot (SPEC §13).
                let buttons = fields
                    .get("attachments")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                if buttons && f.keyring.is_none() {
                    let mut ask = Ask::default();
                    crate::sign::ask_keyring(&mut ask, &f.keyring);
                    return Ok(Step::Ask(ask));
                }
                let post_id = crate::sign::ephemeral::post_id(event_id.as_str());
                let version = crate::sign::ephemeral::version(event_id.as_str());
                let at = Ephemeral {
                    post_id: &post_id,
                    channel_id: channel,
                    root_id: root,
                    bot: kept.bot.as_str(),
                    to: &place.user_id,
                    site_url,
                    version: &version,
                };
                // Its buttons' version is kept before they are shown; should that fail, the
                // answer goes out unsigned.
                let signed = match (&f.keyring, &f.ephemeral_stored) {
                    (Some(Answer::Found(Some(_))), None) if buttons => {
                        let stored = crate::sign::ephemeral::store(&at);
                        return Ok(Step::Ask(Ask::one("ephemeral_stored", stored)));
                    }
                    (Some(Answer::Found(Some(key))), Some(Answer::Found(_))) => {
                        signed_command_answer(fields, &kept.bot, &at, key)
                    }
                    _ => None,
                };
                let shows = |k: &str| fields.get(k).is_some_and(|v| v != "" && !v.is_null());
                match signed {
                    Some(sent) => effects.push(sent),
                    None if shows("text") || shows("attachments") => {
                        effects.push(Effect::SendEphemeral {
                            user_id: place.user_id.clone(),
                            post: answer_post(fields, &place.user_id, channel, root),
                        });
                    }
                    None => {}
                }
            }
        }
    }
    Ok(Step::Done {
        event_id,
        status: Status::AppliedLate,
        effects,
    })
}

/// The clicked post with the answer's `update` applied as Mattermost applies an integration's:
/// the message replaced, the props replaced unless the update has none, the props Mattermost
/// keeps (`from_webhook`, `override_username`, `override_icon_url`) kept as they were.
fn updated_post(post: &RawValue, update: &Value, place: &Place) -> Result<Box<RawValue>, Refusal> {
    let mut post: Map<String, Value> =
        serde_json::from_str(post.get()).map_err(|e| Refusal::Internal {
            detail: format!("reading the clicked message: {e}"),
        })?;
    let message = update.get("message").cloned().unwrap_or(Value::from(""));
    post.insert("message".into(), message);
    if let Some(Value::Object(new_props)) = update.get("props") {
        let old = post
            .get("props")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut props = new_props.clone();
        for key in RETAINED_PROPS {
            match old.get(key) {
                Some(v) => {
                    props.insert(key.into(), v.clone());
                }
                None => {
                    props.remove(key);
                }
            }
        }
        post.insert("props".into(), Value::Object(props));
    }
    post.insert("id".into(), Value::from(place.post_id.clone()));
    Ok(to_raw_value(&post).expect("a post serializes"))
}

fn found<'a>(answer: &Answer<Option<&'a RawValue>>) -> Result<Option<&'a RawValue>, Refusal> {
    match answer {
        Answer::Found(raw) => Ok(*raw),
        Answer::Failed(e) => Err(unavailable("kept event", e)),
    }
}
