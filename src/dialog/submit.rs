//! `POST /api/v1/dialogs/<session>/submit`, called by Mattermost for the person submitting.

use super::session::{session_key, Session};
use super::submission::check_submission;
use crate::body;
use crate::delivery;
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{dialog_submission_event, DialogSubmission, DIALOG_SUBMISSION};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::{is_mattermost_id, EventId, UserId};
use crate::input::{Context, Request};
use crate::refusal::{refuse_form, Refusal};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// What a submission needs to know from Mattermost.
#[derive(Debug, Default, Deserialize)]
struct SubmitFacts<'a> {
    /// The stored session (`null` when there is none).
    #[serde(borrow, default, deserialize_with = "present")]
    session: Option<Answer<Option<&'a RawValue>>>,
    /// The person submitting.
    #[serde(default, deserialize_with = "present")]
    submitter: Option<Answer<Submitter>>,
    /// Whether this submission consumed the session (asked once the form is valid).
    #[serde(default, deserialize_with = "present")]
    consumed: Option<Answer<bool>>,
    /// The recipient's subscriptions (read by the delivery layer; asked with `consumed`).
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
}

/// The parts of a user the submission event needs.
#[derive(Debug, Deserialize)]
struct Submitter {
    #[serde(default)]
    username: String,
}

pub(crate) fn submit(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Outcome {
    match decide(request, session_id, ctx, facts) {
        Ok(Step::Ask(ask)) => ask.into(),
        Ok(Step::Done(decision)) => Outcome::Decided(decision),
        Ok(Step::Delivered(outcome)) => outcome,
        Err(refusal) => Outcome::Decided(refuse_form(refusal, request.log_fields())),
    }
}

/// Where one call leaves the submission.
enum Step {
    Ask(Ask),
    Done(Decision),
    /// In the hands of the delivery layer (the bot subscribed).
    Delivered(Outcome),
}

fn decide(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let caller = request.caller()?;
    // Mattermost reads any answer here as a dialog response: even a made-up session path gets
    // the form's own refusal, never the generic error body it cannot read.
    if !is_mattermost_id(session_id) {
        return Err(Refusal::DialogNotFound);
    }
    let fields = body::fields(request)?;
    let claimed: String = fields.get("user_id", "a string")?.unwrap_or_default();
    if claimed != caller.as_str() {
        return Err(Refusal::UserMismatch {
            claimed,
            caller: caller.to_string(),
        });
    }
    let submitted: Map<String, Value> = fields.get("submission", "an object")?.unwrap_or_default();
    let cancelled: bool = fields
        .get("cancelled", "true or false")?
        .unwrap_or_default();

    let raw_facts = facts;
    let facts: SubmitFacts<'_> = facts.read()?;
    let key = session_key(session_id);
    let (Some(session), Some(submitter)) = (&facts.session, &facts.submitter) else {
        let mut ask = Ask::default();
        ask.unless(&facts.session, "session", || Fact::KvGet {
            key: key.clone(),
        })
        .unless(&facts.submitter, "submitter", || Fact::User {
            user_id: caller.to_string(),
        });
        return Ok(Step::Ask(ask));
    };
    let raw_session = match session {
        Answer::Found(Some(raw)) => *raw,
        Answer::Found(None) => return Err(Refusal::DialogNotFound),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "form",
                detail: e.to_string(),
            })
        }
    };
    let session: Session =
        serde_json::from_str(raw_session.get()).map_err(|e| Refusal::Internal {
            detail: format!("reading the session: {e}"),
        })?;
    let dialog = &session.dialog;
    if session.expires_at < ctx.now_ms {
        return Err(Refusal::DialogNotFound);
    }
    if session.user_id != caller.as_str() {
        return Err(Refusal::WrongSubmitter);
    }
    let user_name = match submitter {
        Answer::Found(user) => user.username.as_str(),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "your account",
                detail: if e.is_not_found() {
                    "not found".to_owned()
                } else {
                    e.to_string()
                },
            })
        }
    };

    let submission = if cancelled {
        Map::new()
    } else {
        let (errors, kept) = check_submission(dialog, &submitted);
        if !errors.is_empty() {
            // 200 with `errors` keeps the dialog open with each message under its field.
            let body = json!({ "errors": errors }).to_string();
            return Ok(Step::Done(Decision::http(Vec::new(), 200, body)));
        }
        kept
    };

    let recipient = UserId::parse(&session.recipient).ok_or_else(|| Refusal::Internal {
        detail: "the session names no valid recipient".into(),
    })?;
    // A session is used once: consuming it is a compare-and-delete, so two submissions racing
    // each other cannot both get through.
    let Some(consumed) = &facts.consumed else {
        let mut ask = Ask::one(
            "consumed",
            Fact::KvConsume {
                key,
                expected: raw_session.get().to_owned(),
            },
        );
        delivery::ask_registry(&mut ask, &facts.registry, &recipient);
        return Ok(Step::Ask(ask));
    };
    match consumed {
        Answer::Found(true) => {}
        Answer::Found(false) => return Err(Refusal::DialogUsed),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "form",
                detail: e.to_string(),
            })
        }
    }

    let ok = |effects| Ok(Step::Done(Decision::http(effects, 200, "{}".to_owned())));
    if cancelled && !dialog.notify_on_cancel {
        return ok(Vec::new());
    }
    let data = dialog_submission_event(
        &DialogSubmission {
            callback_id: &dialog.callback_id,
            state: &dialog.state,
            submission: &submission,
            user_id: caller.as_str(),
            user_name,
            // Where the dialog was opened, whatever the request says.
            channel_id: &session.channel_id,
            team_id: &session.team_id,
            cancelled,
        },
        ctx,
    );
    let outgoing = delivery::Outgoing {
        bot: &recipient,
        event: DIALOG_SUBMISSION,
        data: data.clone(),
        event_id: EventId::from_entropy(ctx.entropy),
        from: delivery::Sender::Dialog {
            user_id: caller.to_string(),
            channel_id: session.channel_id.clone(),
        },
        before: Vec::new(),
    };
    if let Some(outcome) = delivery::deliver(outgoing, ctx, raw_facts)? {
        return Ok(Step::Delivered(outcome));
    }
    ok(vec![Effect::publish(DIALOG_SUBMISSION, recipient, data)])
}
