//! `POST /api/v1/dialogs/open`, called by a bot with its own token: the session is stored
//! first, then the dialog is opened, so nothing the person submits can arrive for a session
//! that is not there.

use super::definition::Dialog;
use super::session::{session_key, Session};
use super::trigger::trigger_user;
use crate::body;
use crate::effect::{Decision, Effect, Outcome};
use crate::facts::{Answer, Ask, Fact, Facts};
use crate::ids::EventId;
use crate::input::{Context, Request};
use crate::paths::dialog_submit_url;
use crate::refusal::{refuse, Refusal};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};

/// Mattermost's error id for a trigger id past its lifetime.
const TRIGGER_EXPIRED: &str = "interactive_message.decode_trigger_id.expired";

/// What opening a dialog needs done, in this order.
#[derive(Debug, Default, Deserialize)]
struct OpenFacts {
    /// The session was stored.
    stored: Option<Answer<bool>>,
    /// Mattermost opened the dialog on the person's screen.
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
    let user_id = trigger_user(&trigger_id).ok_or_else(|| refused(Refusal::InvalidTrigger))?;
    let raw_dialog = fields.raw_value("dialog").ok_or_else(|| {
        refused(Refusal::InvalidDialog {
            problems: vec!["`dialog` is missing".into()],
        })
    })?;
    let problems = match serde_json::from_str::<Dialog>(raw_dialog.get()) {
        Ok(dialog) => dialog.problems(),
        Err(e) => vec![e.to_string()],
    };
    if !problems.is_empty() {
        return Err(refused(Refusal::InvalidDialog { problems }));
    }
    let facts: OpenFacts = facts.read().map_err(|e| refused(e.into()))?;

    let session_id = EventId::from_entropy(ctx.entropy);
    let key = session_key(session_id.as_str());
    let lifetime_s = u64::from(ctx.settings.dialog_session_minutes) * 60;
    let expires_at = ctx.now_ms + lifetime_s * 1000;
    let Some(stored) = facts.stored else {
        let session = Session {
            recipient: bot.to_string(),
            user_id,
            expires_at,
            dialog: raw_dialog,
        };
        return Ok(Step::Ask(Ask::one(
            "stored",
            Fact::KvSet {
                key,
                value: to_raw_value(&session).expect("a session serializes"),
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
        return Ok(Step::Ask(Ask::one(
            "opened",
            Fact::OpenDialog {
                request: RawValue::from_string(open_request).expect("built from JSON pieces"),
            },
        )));
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
            vec![Effect::Delete { key }],
        )),
    }
}
