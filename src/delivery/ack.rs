//! An acknowledgement (SPEC §9.3–9.4), from a bot's websocket (`custom_<id>_ack`) or
//! `POST /api/v1/ack`: `{"event_id", "answer"?}`.
//!
//! Only the bot an event was sent to may acknowledge it; a second acknowledgement is ignored.
//! While a click waits, the answer goes to it (on this node, or through the cluster to the node
//! where it waits) and becomes its response. After the window the acknowledgement applies the
//! answer itself: the post is updated through the plugin API and the clicker is sent the text.

use super::answer::{answer_post, can_post, check_answer, command_post, signed_command_answer};
use super::click::read_record;
use super::store::{event_key, queue_key, unavailable, Kept, KeptState, Place};
use super::WAIT_GRACE_MS;
use crate::effect::Effect;
use crate::event::{kept_event, COMMAND};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::{Id, UserId};
use crate::input::Context;
use crate::model::RETAINED_PROPS;
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

/// What acknowledging needs to know and do.
#[derive(Debug, Default, Deserialize)]
struct AckFacts<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    record: Option<Answer<Option<&'a RawValue>>>,
    #[serde(default, deserialize_with = "present")]
    claimed: Option<Answer<bool>>,
    #[serde(borrow, default, deserialize_with = "present")]
    record_again: Option<Answer<Option<&'a RawValue>>>,
    #[serde(default, deserialize_with = "present")]
    claimed_again: Option<Answer<bool>>,
    /// The clicked post, for a late update.
    #[serde(borrow, default, deserialize_with = "present")]
    post: Option<Answer<&'a RawValue>>,
    /// The late update was applied.
    #[serde(default, deserialize_with = "present")]
    updated: Option<Answer<bool>>,
    /// The event left the bot's queue.
    #[serde(default, deserialize_with = "present")]
    unqueued: Option<Answer<Value>>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

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
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let (event_id, given) = (acknowledgement.event_id, acknowledgement.answer);
    let key = event_key(event_id.as_str());
    let f: AckFacts<'_> = facts.read()?;
    let Some(record) = &f.record else {
        return Ok(Step::Ask(Ask::one("record", Fact::KvGet { key })));
    };
    let unknown = || Refusal::UnknownEvent {
        event_id: event_id.as_str().to_owned(),
    };
    let raw = found(record)?.ok_or_else(unknown)?;
    let kept = read_record(raw)?;
    if kept.bot != *sender {
        return Err(Refusal::NotYourEvent {
            event_id: event_id.as_str().to_owned(),
        });
    }
    let answer = match given {
        Some(answer) => check_answer(&kept.event, answer, &kept.bot)?,
        None => RawValue::from_string("{}".into()).expect("JSON"),
    };
    let done = |status, effects| {
        Ok(Step::Done {
            event_id,
            status,
            effects,
        })
    };

    // Claim the event: a compare-and-set of the record read. If another party changed it in
    // between, read it again and claim once more; a second change means it was answered.
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
    let waiting = match current.state {
        KeptState::Answered { .. } => return done(Status::Duplicate, Vec::new()),
        KeptState::Waiting { until } => ctx.now_ms <= until.saturating_add(WAIT_GRACE_MS),
        KeptState::Late => false,
    };
    match claimed {
        None => {
            let cas = claim(&key, raw, &current, &answer, ctx);
            return Ok(Step::Ask(Ask::one("claimed", cas)));
        }
        Some(false) => return done(Status::Duplicate, Vec::new()),
        Some(true) => {}
    }

    if waiting {
        // The click waits for it, on this node or another: wake it first, then take the event
        // out of the bot's queue (the click put it there before sending it).
        let Some(unqueued) = &f.unqueued else {
            let wake = json!({"wake": {"event_id": event_id.as_str(), "answer": &*answer}});
            let effects = vec![
                Effect::Wake {
                    event_id: event_id.as_str().to_owned(),
                    answer,
                },
                Effect::Cluster {
                    message: to_raw_value(&wake).expect("a wake message serializes"),
                },
            ];
            let keep_s = super::store::keep_seconds(&ctx.settings);
            let unqueue = unqueue(&current, event_id, keep_s);
            return Ok(Step::Ask(Ask::one("unqueued", unqueue).after(effects)));
        };
        return done(Status::Applied, unqueue_failed(unqueued));
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

/// The compare-and-set that marks `current` (read as `raw`) answered with `answer`. An answered
/// record is kept a few minutes, for a click whose window ended as the answer came.
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
    if kept.place.is_none() {
        // A dialog's: nobody can be shown a late answer. A submission was queued for replay,
        // a lookup or refresh never was.
        let mut effects = Vec::new();
        if kept_event(&kept.event).is_some() {
            let Some(unqueued) = &f.unqueued else {
                return Ok(Step::Ask(Ask::one(
                    "unqueued",
                    unqueue(kept, event_id, keep_s),
                )));
            };
            effects = unqueue_failed(unqueued);
        }
        return Ok(Step::Done {
            event_id,
            status: Status::TooLate,
            effects,
        });
    }
    if kept.event == COMMAND {
        return apply_late_command(kept, event_id, answer, &fields, f, keep_s, site_url);
    }
    let update = fields.get("update").filter(|u| u.is_object());
    let place = kept.place.as_ref();
    let mut ask = Ask::default();
    ask.unless(&f.unqueued, "unqueued", || unqueue(kept, event_id, keep_s));
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
        let mut effects = f.unqueued.as_ref().map(unqueue_failed).unwrap_or_default();
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
        let post = match post {
            Answer::Found(post) => post,
            Answer::Failed(e) => return Err(unavailable("clicked message", e)),
        };
        let Some(updated) = &f.updated else {
            let post = updated_post(post, update, place)?;
            return Ok(Step::Ask(Ask::one("updated", Fact::UpdatePost { post })));
        };
        if let Answer::Failed(e) = updated {
            return Err(Refusal::NotStored {
                what: "updated message",
                detail: e.to_string(),
            });
        }
    }
    let mut effects = f.unqueued.as_ref().map(unqueue_failed).unwrap_or_default();
    effects.extend(late_ephemeral_text(answer, place));
    Ok(Step::Done {
        event_id,
        status: Status::AppliedLate,
        effects,
    })
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
    keep_s: u64,
    site_url: &str,
) -> Result<Step, Refusal> {
    let Some(unqueued) = &f.unqueued else {
        return Ok(Step::Ask(Ask::one(
            "unqueued",
            unqueue(kept, event_id, keep_s),
        )));
    };
    let mut effects = unqueue_failed(unqueued);
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

/// Takes an acknowledged event out of its bot's queue.
fn unqueue(kept: &Kept, event_id: Id, keep_s: u64) -> Fact {
    Fact::ListRemove {
        key: queue_key(&kept.bot),
        field: "event_id",
        value: event_id.as_str().to_owned(),
        expire_in_seconds: keep_s,
    }
}

/// An event left in the queue after its acknowledgement is harmless (a replay skips answered
/// events, and its record expires), but worth a line in the log.
fn unqueue_failed(unqueued: &Answer<Value>) -> Vec<Effect> {
    match unqueued {
        Answer::Found(_) => Vec::new(),
        Answer::Failed(e) => {
            let mut fields = crate::effect::LogFields::new();
            fields.insert("error", e.to_string());
            vec![Effect::Log {
                level: crate::effect::LogLevel::Warn,
                message: "an acknowledged event could not be taken out of its bot's queue".into(),
                fields,
            }]
        }
    }
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
