//! Interactive dialogs for websocket-only bots (SPEC §5).
//!
//! A bot opens a dialog through `POST /api/v1/dialogs/open` with the `trigger_id` of a click;
//! the plugin points the dialog at a one-time submission path of its own, keeps a session (who
//! receives the submission, who may submit, the definition, the expiry) in the KV store, and
//! when the person submits, checks the form itself, answering field errors at once, and
//! publishes a valid submission to the bot as `dialog_submission`.

use crate::dialog_form::{check_submission, Dialog};
use crate::effect::{Decision, Effect, Outcome, Response};
use crate::error::Refusal;
use crate::event::proxy_block;
use crate::facts::{FactAnswer, FactQuery};
use crate::http::{fields, Context, Request};
use crate::ids::{is_mattermost_id, EventId, UserId};
use crate::manifest::PLUGIN_ID;
use crate::response::{refuse, refuse_form};
use serde::{Deserialize, Serialize};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};

/// What the KV store keeps for one open dialog.
#[derive(Debug, Serialize, Deserialize)]
struct Session<'a> {
    /// The bot that opened the dialog and receives the submission.
    recipient: String,
    /// The person the trigger was issued for: the only one who may submit.
    user_id: String,
    /// Milliseconds since the epoch; the KV entry expires then too.
    expires_at: u64,
    /// The definition, as the bot sent it.
    #[serde(borrow)]
    dialog: &'a RawValue,
}

/// The KV key of a session.
fn session_key(session_id: &str) -> String {
    format!("dialog_{session_id}")
}

/// The submission path Mattermost calls for a session, below `/plugins/<id>`.
pub(crate) fn submit_path(session_id: &str) -> String {
    format!("/api/v1/dialogs/{session_id}/submit")
}

/// Reads a body as JSON of type `T`, with the same limits and errors as every endpoint.
fn read_body<'a, T: Deserialize<'a>>(request: &Request<'a>) -> Result<T, Refusal> {
    serde_json::from_str(request.json_text()?).map_err(|e| Refusal::InvalidJson {
        detail: e.to_string(),
    })
}

/// The body of `POST /api/v1/dialogs/open`: Mattermost's `OpenDialogRequest` without `url`.
#[derive(Deserialize)]
struct OpenBody<'a> {
    #[serde(default)]
    trigger_id: String,
    #[serde(borrow, default)]
    dialog: Option<&'a RawValue>,
}

/// `POST /api/v1/dialogs/open`, called by a bot with its own token.
pub(crate) fn open(request: &Request<'_>, ctx: &Context, facts: Option<&[FactAnswer]>) -> Outcome {
    let refused = |r: Refusal| Outcome::Decided(refuse(r, fields(request)));
    let bot = match request.caller() {
        Ok(bot) => bot,
        Err(r) => return refused(r),
    };
    let body: OpenBody<'_> = match read_body(request) {
        Ok(body) => body,
        Err(r) => return refused(r),
    };
    let Some(user_id) = trigger_user(&body.trigger_id) else {
        return refused(Refusal::InvalidTrigger);
    };
    let Some(raw_dialog) = body.dialog else {
        return refused(Refusal::InvalidDialog {
            problems: vec!["`dialog` is missing".into()],
        });
    };
    let problems = match serde_json::from_str::<Dialog>(raw_dialog.get()) {
        Ok(dialog) => dialog.problems(),
        Err(e) => vec![e.to_string()],
    };
    if !problems.is_empty() {
        return refused(Refusal::InvalidDialog { problems });
    }

    let session_id = EventId::from_entropy(ctx.entropy);
    let url = format!("/plugins/{PLUGIN_ID}{}", submit_path(session_id.as_str()));
    let open_request = format!(
        r#"{{"trigger_id":{},"url":{},"dialog":{}}}"#,
        json!(body.trigger_id),
        json!(url),
        raw_dialog.get()
    );
    let queries = vec![FactQuery::OpenDialog {
        request: RawValue::from_string(open_request).expect("built from JSON pieces"),
    }];
    let Some(answers) = facts else {
        return Outcome::NeedFacts(queries);
    };
    match answers {
        [FactAnswer::Found(_)] => {}
        [FactAnswer::Failed(detail)] if detail.contains("expired") => {
            return refused(Refusal::TriggerExpired)
        }
        [FactAnswer::Failed(detail)] => {
            return refused(Refusal::DialogRefused {
                detail: detail.clone(),
            })
        }
        _ => {
            return refused(Refusal::Internal {
                detail: "the dialog was neither opened nor refused".into(),
            })
        }
    }

    let lifetime_s = u64::from(ctx.settings.dialog_session_minutes) * 60;
    let expires_at = ctx.now_ms + lifetime_s * 1000;
    let session = Session {
        recipient: bot.to_string(),
        user_id,
        expires_at,
        dialog: raw_dialog,
    };
    Outcome::Decided(Decision {
        effects: vec![Effect::Store {
            key: session_key(session_id.as_str()),
            value: to_raw_value(&session).expect("a session serializes"),
            expire_in_seconds: lifetime_s,
        }],
        response: Response {
            status: 200,
            body: json!({"session_id": session_id.as_str(), "expires_at": expires_at}).to_string(),
        },
    })
}

/// The person a trigger id was issued for. Mattermost signs trigger ids and checks them when the
/// dialog is opened; the plugin only reads the user from it, to know who may submit.
fn trigger_user(trigger_id: &str) -> Option<String> {
    let decoded = String::from_utf8(base64_decode(trigger_id)?).ok()?;
    let mut parts = decoded.splitn(4, ':');
    let (_client, user, timestamp, signature) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (is_mattermost_id(user) && timestamp.parse::<u64>().is_ok() && !signature.is_empty())
        .then(|| user.to_owned())
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The body Mattermost sends on submission (`SubmitDialogRequest`).
#[derive(Deserialize)]
struct SubmitBody {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    submission: Option<Map<String, Value>>,
    #[serde(default)]
    cancelled: bool,
}

/// The parts of a user the submission event needs.
#[derive(Deserialize)]
struct Submitter {
    #[serde(default)]
    username: String,
}

/// `POST /api/v1/dialogs/<session>/submit`, called by Mattermost for the person submitting.
pub(crate) fn submit(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Option<&[FactAnswer]>,
) -> Outcome {
    let refused = |r: Refusal| Outcome::Decided(refuse_form(r, fields(request)));
    let caller = match request.caller() {
        Ok(caller) => caller,
        Err(r) => return refused(r),
    };
    // Mattermost reads any answer here as a dialog response: even a made-up session path gets
    // the form's own refusal, never the generic error body it cannot read.
    if !is_mattermost_id(session_id) {
        return refused(Refusal::DialogNotFound);
    }
    let body: SubmitBody = match read_body(request) {
        Ok(body) => body,
        Err(r) => return refused(r),
    };
    if body.user_id != caller.as_str() {
        return refused(Refusal::UserMismatch {
            claimed: body.user_id,
            caller: caller.to_string(),
        });
    }
    let key = session_key(session_id);
    let mut queries = vec![
        FactQuery::KvGet { key: key.clone() },
        FactQuery::User {
            user_id: caller.to_string(),
        },
    ];
    let Some(answers) = facts else {
        return Outcome::NeedFacts(queries);
    };
    let raw_session = match answers.first() {
        Some(FactAnswer::Found(raw)) => raw,
        Some(FactAnswer::NotFound) => return refused(Refusal::DialogNotFound),
        Some(FactAnswer::Failed(detail)) => {
            return refused(Refusal::Unavailable {
                what: "form",
                detail: detail.clone(),
            })
        }
        None => {
            return refused(Refusal::Internal {
                detail: "no answer about the session".into(),
            })
        }
    };
    let (session, dialog) = match serde_json::from_str::<Session<'_>>(raw_session.get())
        .and_then(|s| serde_json::from_str::<Dialog>(s.dialog.get()).map(|d| (s, d)))
    {
        Ok(pair) => pair,
        Err(e) => {
            return refused(Refusal::Internal {
                detail: format!("reading the session: {e}"),
            })
        }
    };
    if session.expires_at < ctx.now_ms {
        return refused(Refusal::DialogNotFound);
    }
    if session.user_id != caller.as_str() {
        return refused(Refusal::WrongSubmitter);
    }
    let user_name = match answers.get(1) {
        Some(FactAnswer::Found(raw)) => serde_json::from_str::<Submitter>(raw.get())
            .map(|u| u.username)
            .unwrap_or_default(),
        Some(FactAnswer::Failed(detail)) => {
            return refused(Refusal::Unavailable {
                what: "your account",
                detail: detail.clone(),
            })
        }
        _ => {
            return refused(Refusal::Unavailable {
                what: "your account",
                detail: "not found".into(),
            })
        }
    };

    let submission = if body.cancelled {
        Map::new()
    } else {
        let (errors, kept) =
            check_submission(&dialog, body.submission.as_ref().unwrap_or(&Map::new()));
        if !errors.is_empty() {
            // 200 with `errors` keeps the dialog open with each message under its field.
            let body = json!({ "errors": errors }).to_string();
            return Outcome::Decided(Decision {
                effects: vec![],
                response: Response { status: 200, body },
            });
        }
        kept
    };

    // A session is used once: consuming it is a compare-and-delete, so two submissions racing
    // each other cannot both get through.
    queries.push(FactQuery::KvConsume {
        key,
        expected: raw_session.get().to_owned(),
    });
    if answers.len() < queries.len() {
        return Outcome::NeedFacts(queries);
    }
    match answers.get(2) {
        Some(FactAnswer::Found(raw)) if raw.get() == "true" => {}
        Some(FactAnswer::Failed(detail)) => {
            return refused(Refusal::Unavailable {
                what: "form",
                detail: detail.clone(),
            })
        }
        _ => return refused(Refusal::DialogUsed),
    }

    let ok = Response {
        status: 200,
        body: "{}".to_owned(),
    };
    if body.cancelled && !dialog.notify_on_cancel {
        return Outcome::Decided(Decision {
            effects: vec![],
            response: ok,
        });
    }
    let data = json!({
        "callback_id": dialog.callback_id,
        "state": dialog.state,
        "submission": submission,
        "user_id": caller.as_str(),
        "user_name": user_name,
        "channel_id": body.channel_id,
        "team_id": body.team_id,
        "cancelled": body.cancelled,
        "proxy": proxy_block(true, ctx),
    });
    let recipient = UserId::parse(&session.recipient).expect("sessions store checked ids");
    Outcome::Decided(Decision {
        effects: vec![Effect::Publish {
            event: "dialog_submission",
            user_id: recipient,
            data: to_raw_value(&data).expect("a JSON value serializes"),
        }],
        response: ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_ids_name_the_user_they_were_issued_for() {
        // base64("client:<user>:<millis>:<signature>"), as model.GenerateTriggerId builds it.
        let user = "abcdefghijklmnopqrstuvwxyz";
        let text = format!("c1:{user}:1700000000000:c2lnbmF0dXJl");
        let encoded = base64_encode(text.as_bytes());
        assert_eq!(trigger_user(&encoded).as_deref(), Some(user));
        assert_eq!(trigger_user("not base64!"), None);
        assert_eq!(trigger_user(&base64_encode(b"c1:short:1:x")), None);
        assert_eq!(
            trigger_user(&base64_encode(format!("c1:{user}:soon:x").as_bytes())),
            None
        );
        assert_eq!(trigger_user(""), None);
    }

    fn base64_encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        while out.len() % 4 != 0 {
            out.push('=');
        }
        out
    }
}
