//! `POST /api/v1/handler`: a click on a button or a menu, forwarded to the bot it names.

use crate::effect::{Decision, Effect, Outcome, Response};
use crate::error::Refusal;
use crate::event::action_event;
use crate::facts::FactAnswer;
use crate::http::{fields, Context, Request};
use crate::ids::{is_mattermost_id, UserId};
use crate::provenance;
use crate::response::refuse;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A click request that passed every check that needs no fact.
///
/// The body is kept as raw JSON per top-level key: the event passes every key through
/// unchanged, so only the few fields the rules read are ever parsed.
#[derive(Debug)]
pub(crate) struct ActionRequest<'a> {
    /// Every top-level key of the body, with its value's exact text.
    pub(crate) fields: BTreeMap<String, &'a RawValue>,
    /// The authenticated user who clicked.
    pub(crate) caller: UserId,
    /// `context.user_id`: the bot that receives the event.
    pub(crate) recipient: UserId,
    /// Empty unless provenance is verified.
    pub(crate) post_id: String,
    /// Empty unless provenance is verified.
    pub(crate) channel_id: String,
}

/// What the first look at `context` needs: the recipient, nothing else.
#[derive(Deserialize)]
struct ContextHead {
    user_id: Option<Value>,
}

impl ActionRequest<'_> {
    /// The whole `context`, parsed (it is compared with the post's actions).
    pub(crate) fn context(&self) -> Map<String, Value> {
        self.fields
            .get("context")
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .expect("parse checked the context is an object no deeper than the limit")
    }

    /// `type`: `button`, `select`, or missing.
    pub(crate) fn kind(&self) -> Option<String> {
        self.string("type")
    }

    fn string(&self, key: &str) -> Option<String> {
        self.fields
            .get(key)
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}

pub(crate) fn handle(
    request: &Request<'_>,
    ctx: &Context,
    facts: Option<&[FactAnswer]>,
) -> Outcome {
    let req = match parse(request, ctx.settings.verify_provenance) {
        Ok(req) => req,
        Err(refusal) => return Outcome::Decided(refuse(refusal, fields(request))),
    };
    let queries = provenance::queries(&req, &ctx.settings);
    let Some(answers) = facts else {
        return Outcome::NeedFacts(queries);
    };
    let verdict = if answers.len() == queries.len() {
        provenance::decide(&req, &ctx.settings, answers)
    } else {
        let detail = format!(
            "{} facts were answered for {} questions",
            answers.len(),
            queries.len()
        );
        Err(Refusal::Internal { detail })
    };
    match verdict {
        Ok(verified) => Outcome::Decided(deliver(req, verified, ctx)),
        Err(refusal) => {
            // Log fields are built only for a refusal: the accepted path stays lean.
            let mut log = fields(request);
            log.insert("recipient_user_id", req.recipient.to_string());
            if !req.post_id.is_empty() {
                log.insert("post_id", req.post_id.clone());
                log.insert("channel_id", req.channel_id.clone());
            }
            Outcome::Decided(refuse(refusal, log))
        }
    }
}

/// The effects of an accepted click: publish to the recipient alone, answer `{}`.
fn deliver(req: ActionRequest<'_>, verified: bool, ctx: &Context) -> Decision {
    let data = action_event(&req.fields, verified, ctx);
    Decision {
        effects: vec![Effect::Publish {
            event: "action",
            user_id: req.recipient,
            data,
        }],
        response: Response {
            status: 200,
            body: "{}".to_owned(),
        },
    }
}

/// Checks everything that needs no fact from Mattermost. `need_post` asks for the post and
/// channel ids, which only provenance verification uses.
pub(crate) fn parse<'a>(
    request: &Request<'a>,
    need_post: bool,
) -> Result<ActionRequest<'a>, Refusal> {
    let caller = request.caller()?;
    let text = request.json_text()?;
    // From here the body is handled as raw text per top-level key.
    let fields: BTreeMap<String, &RawValue> =
        serde_json::from_str(text).map_err(|_| Refusal::BadField {
            field: "body",
            expected: "a JSON object",
        })?;
    let string = |key: &str| {
        fields
            .get(key)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
    };

    let claimed = string("user_id").ok_or(Refusal::BadField {
        field: "user_id",
        expected: "the clicking user's id",
    })?;
    if claimed != caller.as_str() {
        return Err(Refusal::UserMismatch {
            claimed,
            caller: caller.to_string(),
        });
    }

    let recipient = fields
        .get("context")
        .and_then(|raw| serde_json::from_str::<ContextHead>(raw.get()).ok())
        .and_then(|head| head.user_id)
        .and_then(|id| id.as_str().and_then(UserId::parse))
        .ok_or(Refusal::InvalidRecipient)?;

    let id_field = |field: &'static str| -> Result<String, Refusal> {
        string(field)
            .filter(|id| is_mattermost_id(id))
            .ok_or(Refusal::BadField {
                field,
                expected: "a Mattermost id",
            })
    };
    let (post_id, channel_id) = if need_post {
        (id_field("post_id")?, id_field("channel_id")?)
    } else {
        (String::new(), String::new())
    };

    Ok(ActionRequest {
        fields,
        caller,
        recipient,
        post_id,
        channel_id,
    })
}
