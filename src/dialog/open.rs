//! `POST /api/v1/dialogs/open`, called by a bot with its own token.
//!
//! In order: the trigger must be one the plugin delivered (its place comes back signed in the
//! event's `trigger_token`, or, for a bot that sends only the trigger id, from the memory of
//! the node that delivered it), it is used up so that it opens one dialog only (the one write
//! a trigger costs, paid here rather than on every click), the session is stored, and only
//! then is the dialog opened, so that nothing the person submits can arrive for a session that
//! is not there.

use super::session::{remember, session_key, stored_session, Session};
use crate::body;
use crate::effect::{Decision, Effect, Outcome};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::form::{bind_lookups, check_definition};
use crate::ids::EventId;
use crate::input::{Context, Request};
use crate::paths::{dialog_lookup_url, dialog_submit_url};
use crate::refusal::{refuse, Refusal};
use crate::trigger::{Place, Trigger, TRIGGER_MEMORY_MS};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};

/// Mattermost's error id for a trigger id past its lifetime.
const TRIGGER_EXPIRED: &str = "interactive_message.decode_trigger_id.expired";

/// What opening a dialog needs done, in this order.
#[derive(Debug, Default, Deserialize)]
struct OpenFacts<'a> {
    /// The key that signed the trigger token.
    #[serde(default, deserialize_with = "present")]
    keyring: Option<Answer<Option<crate::sign::Keyring>>>,
    /// Where the trigger was issued, as this node remembers it (`null`: it did not deliver
    /// it lately), when no token came.
    #[serde(borrow, default, deserialize_with = "present")]
    place: Option<Answer<Option<&'a RawValue>>>,
    /// The trigger was used up by this request.
    #[serde(default, deserialize_with = "present")]
    claimed: Option<Answer<bool>>,
    /// The session was stored.
    #[serde(default, deserialize_with = "present")]
    stored: Option<Answer<bool>>,
    /// Mattermost opened the dialog on the person's screen.
    #[serde(default, deserialize_with = "present")]
    opened: Option<Answer<bool>>,
}

pub(crate) fn open(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    Outcome::Decided(match decide(request, ctx, facts) {
        Ok(Step::Ask(ask)) => return ask.into(),
        Ok(Step::Done(decision)) => decision,
        Err((refusal, effects)) => {
            let mut decision = refuse(refusal, request.log_fields());
            decision.effects.splice(0..0, effects);
            decision
        }
    })
}

/// Where one call leaves the opening.
enum Step {
    Ask(Ask),
    Done(Decision),
}

fn decide(
    request: &Request<'_>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, (Refusal, Vec<Effect>)> {
    let refused = |r: Refusal| (r, Vec::new());
    let bot = request.caller().map_err(refused)?;
    let fields = body::fields(request).map_err(refused)?;
    let trigger_id: String = fields
        .get("trigger_id", "a trigger id")
        .map_err(refused)?
        .unwrap_or_default();
    let trigger = Trigger::parse(&trigger_id).ok_or_else(|| refused(Refusal::InvalidTrigger))?;
    let raw_dialog = fields.raw_value("dialog").ok_or_else(|| {
        refused(Refusal::InvalidDialog {
            problems: vec!["`dialog` is missing".into()],
        })
    })?;
    let facts: OpenFacts<'_> = facts.read().map_err(|e| refused(e.into()))?;
    let session_id = EventId::from_entropy(ctx.entropy);
    // Dynamic selects without a URL of their own ask the bot, through the session.
    let (raw_dialog, lookups) = bind(raw_dialog, session_id.as_str()).map_err(refused)?;
    let dialog = check_definition(&raw_dialog).map_err(refused)?;

    let token: Option<String> = fields
        .get("trigger_token", "the event's `proxy.trigger_token`")
        .map_err(refused)?;
    let unavailable = |e: &crate::facts::FactError| {
        refused(Refusal::Unavailable {
            what: "trigger",
            detail: e.to_string(),
        })
    };
    let place = match &token {
        Some(token) => {
            let Some(keyring) = &facts.keyring else {
                let mut ask = Ask::default();
                crate::sign::ask_keyring(&mut ask, &facts.keyring);
                return Ok(Step::Ask(ask));
            };
            let key = match keyring {
                Answer::Found(Some(key)) => key,
                Answer::Found(None) => return Err(refused(Refusal::UnknownTrigger)),
                Answer::Failed(e) => return Err(unavailable(e)),
            };
            crate::trigger::redeem(token, &trigger, bot.as_str(), key)
                .ok_or_else(|| refused(Refusal::UnknownTrigger))?
        }
        None => {
            let Some(place) = facts.place else {
                let remembered = trigger.remembered();
                let mut ask = Ask::default();
                ask.unless_cached_for(&facts.place, "place", TRIGGER_MEMORY_MS, || remembered);
                return Ok(Step::Ask(ask));
            };
            let raw_place = match place {
                Answer::Found(Some(raw)) => raw,
                Answer::Found(None) => return Err(refused(Refusal::UnknownTrigger)),
                Answer::Failed(e) => return Err(unavailable(&e)),
            };
            let place: Place = serde_json::from_str(raw_place.get()).map_err(|e| {
                refused(Refusal::Internal {
                    detail: format!("reading the trigger's place: {e}"),
                })
            })?;
            if place.user_id != trigger.user_id {
                return Err(refused(Refusal::UnknownTrigger));
            }
            place
        }
    };
    // Used up before anything is stored: two requests with one trigger cannot both open. The
    // mark outlives the trigger itself (Mattermost refuses it past its lifetime anyway).
    let Some(claimed) = facts.claimed else {
        let used_s = u64::from(ctx.settings.trigger_seconds).saturating_add(60);
        return Ok(Step::Ask(Ask::one(
            "claimed",
            Fact::KvCreate {
                key: trigger.used_key(),
                value: to_raw_value(&bot).expect("an id serializes"),
                expire_in_seconds: used_s,
            },
        )));
    };
    match claimed {
        Answer::Found(true) => {}
        Answer::Found(false) => return Err(refused(Refusal::UnknownTrigger)),
        Answer::Failed(e) => return Err(unavailable(&e)),
    }

    let key = session_key(session_id.as_str());
    let lifetime_s = u64::from(ctx.settings.dialog_session_minutes) * 60;
    let expires_at = ctx.now_ms + lifetime_s * 1000;
    let binds_lookups = !lookups.is_empty();
    let session = Session {
        recipient: bot.to_string(),
        user_id: place.user_id,
        channel_id: place.channel_id,
        team_id: place.team_id,
        expires_at,
        dialog,
        lookups,
    };
    // Written only in the rounds that store it or remember it, not in every round after.
    let stored_text = || to_raw_value(&session).expect("a session serializes");
    let Some(stored) = facts.stored else {
        return Ok(Step::Ask(Ask::one(
            "stored",
            Fact::KvSet {
                key,
                value: stored_text(),
                expire_in_seconds: lifetime_s,
            },
        )));
    };
    if let Answer::Failed(e) = stored {
        return Err(refused(Refusal::NotStored {
            what: "dialog session",
            detail: e.to_string(),
        }));
    }
    let Some(opened) = facts.opened else {
        let open_request = format!(
            r#"{{"trigger_id":{},"url":{},"dialog":{}}}"#,
            json!(trigger_id),
            json!(dialog_submit_url(session_id.as_str())),
            raw_dialog.get()
        );
        // The lookups of its dynamic selects read this node's copy, from before the person
        // can type.
        let remembered = match binds_lookups {
            true => vec![remember(session_id.as_str(), &stored_text())],
            false => Vec::new(),
        };
        return Ok(Step::Ask(
            Ask::one(
                "opened",
                Fact::OpenDialog {
                    request: RawValue::from_string(open_request).expect("built from JSON pieces"),
                },
            )
            .after(remembered),
        ));
    };
    match opened {
        Answer::Found(_) => {
            let body = json!({"session_id": session_id.as_str(), "expires_at": expires_at});
            Ok(Step::Done(Decision::http(
                Vec::new(),
                200,
                body.to_string(),
            )))
        }
        // The dialog never reached the person: its session is of no use to anyone.
        Answer::Failed(e) => Err((
            if e.id == TRIGGER_EXPIRED {
                Refusal::TriggerExpired
            } else {
                Refusal::DialogRefused {
                    detail: format!("{}: {}", e.id, e.message),
                }
            },
            [Effect::Delete { key }]
                .into_iter()
                .chain(binds_lookups.then(|| Effect::Forget {
                    fact: stored_session(session_id.as_str()),
                }))
                .collect(),
        )),
    }
}

/// The definition with its dynamic selects bound to the session (the text as the bot sent it
/// when there are none), and the names of those selects.
fn bind(raw: &RawValue, session_id: &str) -> Result<(Box<RawValue>, Vec<String>), Refusal> {
    let mut value: serde_json::Value =
        serde_json::from_str(raw.get()).map_err(|e| Refusal::InvalidDialog {
            problems: vec![e.to_string()],
        })?;
    let lookups = bind_lookups(&mut value, &dialog_lookup_url(session_id));
    let raw = match lookups.is_empty() {
        true => raw.to_owned(),
        false => to_raw_value(&value).expect("a JSON value serializes"),
    };
    Ok((raw, lookups))
}
