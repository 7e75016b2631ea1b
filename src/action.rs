//! `POST /api/v1/handler`: a click on a button or a menu, forwarded to the bot it names.

use crate::effect::{Decision, Effect, Outcome, Response};
use crate::error::Refusal;
use crate::event::action_event;
use crate::facts::FactAnswer;
use crate::http::{fields, Body, Context, Request, MAX_BODY_BYTES};
use crate::ids::{is_mattermost_id, UserId};
use crate::provenance;
use crate::response::refuse;
use serde_json::{Map, Value};

/// A click request that passed every check that needs no fact.
#[derive(Debug)]
pub(crate) struct ActionRequest {
    /// The body exactly as Mattermost sent it; it becomes the event's `data`.
    pub(crate) body: Map<String, Value>,
    /// The authenticated user who clicked.
    pub(crate) caller: UserId,
    /// `context.user_id`: the bot that receives the event.
    pub(crate) recipient: UserId,
    /// Present whenever provenance is verified.
    pub(crate) post_id: String,
    /// Present whenever provenance is verified.
    pub(crate) channel_id: String,
}

impl ActionRequest {
    /// The request's `context`, which [`parse`] checked is an object.
    pub(crate) fn context(&self) -> &Map<String, Value> {
        self.body["context"].as_object().expect("parse checked the context")
    }

    /// `type`: `button`, `select`, or missing.
    pub(crate) fn kind(&self) -> Option<&str> {
        self.body.get("type").and_then(Value::as_str)
    }

    /// The menu option chosen, which Mattermost adds to the context.
    pub(crate) fn selected_option(&self) -> Option<&Value> {
        self.context().get("selected_option")
    }
}

pub(crate) fn handle(request: &Request<'_>, ctx: &Context, facts: Option<&[FactAnswer]>) -> Outcome {
    let mut log = fields(request);
    let req = match parse(request, ctx.settings.verify_provenance) {
        Ok(req) => req,
        Err(refusal) => return Outcome::Decided(refuse(refusal, log)),
    };
    log.insert("recipient_user_id", req.recipient.to_string());
    if !req.post_id.is_empty() {
        log.insert("post_id", req.post_id.clone());
        log.insert("channel_id", req.channel_id.clone());
    }

    let queries = provenance::queries(&req, &ctx.settings);
    let Some(answers) = facts else {
        return Outcome::NeedFacts(queries);
    };
    if answers.len() != queries.len() {
        let detail = format!("{} facts were answered for {} questions", answers.len(), queries.len());
        return Outcome::Decided(refuse(Refusal::Internal { detail }, log));
    }
    match provenance::decide(&req, &ctx.settings, answers) {
        Ok(verified) => Outcome::Decided(deliver(req, verified, ctx)),
        Err(refusal) => Outcome::Decided(refuse(refusal, log)),
    }
}

/// The effects of an accepted click: publish to the recipient alone, answer `{}`.
fn deliver(req: ActionRequest, verified: bool, ctx: &Context) -> Decision {
    let data = action_event(req.body, verified, ctx);
    Decision {
        effects: vec![Effect::Publish { event: "action", user_id: req.recipient, data }],
        response: Response { status: 200, body: "{}".to_owned() },
    }
}

/// Checks everything that needs no fact from Mattermost. `need_post` asks for the post and
/// channel ids, which only provenance verification uses.
pub(crate) fn parse(request: &Request<'_>, need_post: bool) -> Result<ActionRequest, Refusal> {
    let caller = request.user_id.and_then(UserId::parse).ok_or(Refusal::NotAuthenticated)?;
    let bytes = match request.body {
        Body::Complete(bytes) if bytes.len() <= MAX_BODY_BYTES => bytes,
        _ => return Err(Refusal::BodyTooLarge { limit: MAX_BODY_BYTES }),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| Refusal::InvalidUtf8 { offset: e.valid_up_to() })?;
    let body = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(Refusal::BadField { field: "body", expected: "a JSON object" }),
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => return Err(Refusal::TooDeep),
        Err(e) => return Err(Refusal::InvalidJson { detail: e.to_string() }),
    };

    let claimed = body
        .get("user_id")
        .and_then(Value::as_str)
        .ok_or(Refusal::BadField { field: "user_id", expected: "the clicking user's id" })?;
    if claimed != caller.as_str() {
        return Err(Refusal::UserMismatch { claimed: claimed.to_owned(), caller: caller.to_string() });
    }

    let recipient = body
        .get("context")
        .and_then(Value::as_object)
        .and_then(|c| c.get("user_id"))
        .and_then(Value::as_str)
        .and_then(UserId::parse)
        .ok_or(Refusal::InvalidRecipient)?;

    let id_field = |field: &'static str| -> Result<String, Refusal> {
        match body.get(field).and_then(Value::as_str) {
            Some(id) if is_mattermost_id(id) => Ok(id.to_owned()),
            _ => Err(Refusal::BadField { field, expected: "a Mattermost id" }),
        }
    };
    let (post_id, channel_id) =
        if need_post { (id_field("post_id")?, id_field("channel_id")?) } else { (String::new(), String::new()) };

    Ok(ActionRequest { body, caller, recipient, post_id, channel_id })
}
