//! `POST /api/v1/handler`: a click on a button or a menu, forwarded to the bot it names.

mod provenance;

use crate::body::{self, Fields};
use crate::effect::{Decision, Effect, Outcome};
use crate::event::{action_event, ACTION};
use crate::facts::{Answer, Ask, Fact, Facts};
use crate::ids::{is_mattermost_id, UserId};
use crate::input::{Context, Request};
use crate::model::{Post, User};
use crate::refusal::{refuse, Refusal};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A click request that passed every check that needs no fact.
#[derive(Debug)]
pub(crate) struct Click<'a> {
    /// The body, passed through to the bot key by key.
    pub(crate) fields: Fields<'a>,
    /// The authenticated user who clicked.
    pub(crate) caller: UserId,
    /// `context.user_id`: the bot that receives the event.
    pub(crate) recipient: UserId,
    /// The post and channel the click names; read only when provenance is verified.
    pub(crate) place: Option<Place>,
}

/// The post a click names and the channel it says the post is in.
#[derive(Debug)]
pub(crate) struct Place {
    pub(crate) post_id: String,
    pub(crate) channel_id: String,
}

/// What a click needs to know from Mattermost.
#[derive(Debug, Default, Deserialize)]
struct ClickFacts {
    /// The post clicked on (provenance only).
    post: Option<Answer<Post>>,
    /// Whether the clicker may read the channel the click names (provenance only).
    can_read: Option<Answer<bool>>,
    /// The bot that receives the event.
    recipient: Option<Answer<User>>,
}

impl Click<'_> {
    /// The whole `context`, parsed (it is compared with the post's actions).
    pub(crate) fn context(&self) -> Map<String, Value> {
        self.fields
            .value("context")
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .expect("parse checked the context is an object")
    }

    /// `type`: `button`, `select`, or missing.
    pub(crate) fn kind(&self) -> Option<String> {
        self.fields.get("type", "a string").ok().flatten()
    }
}

pub(crate) fn handle(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let click = match parse(request, ctx.settings.verify_provenance) {
        Ok(click) => click,
        Err(refusal) => return Outcome::Decided(refuse(refusal, request.log_fields())),
    };
    let facts: ClickFacts = match facts.read() {
        Ok(facts) => facts,
        Err(unreadable) => {
            return Outcome::Decided(refuse(unreadable.into(), request.log_fields()))
        }
    };
    let verdict = match (&click.place, facts) {
        (
            Some(place),
            ClickFacts {
                post: Some(post),
                can_read: Some(can_read),
                recipient: Some(recipient),
            },
        ) => provenance::verify(&click, place, &ctx.settings, &post, &can_read).and_then(
            |verified| provenance::check_recipient(&click, &recipient).map(|()| verified),
        ),
        (
            None,
            ClickFacts {
                recipient: Some(recipient),
                ..
            },
        ) => provenance::check_recipient(&click, &recipient).map(|()| false),
        (place, facts) => {
            let mut ask = Ask::default();
            if let Some(place) = place {
                ask.unless(&facts.post, "post", || Fact::Post {
                    post_id: place.post_id.clone(),
                })
                .unless(&facts.can_read, "can_read", || Fact::ChannelPermission {
                    user_id: click.caller.to_string(),
                    channel_id: place.channel_id.clone(),
                    permission: "read_channel",
                });
            }
            ask.unless(&facts.recipient, "recipient", || Fact::User {
                user_id: click.recipient.to_string(),
            });
            return ask.into();
        }
    };
    Outcome::Decided(match verdict {
        Ok(verified) => deliver(click, verified, ctx),
        Err(refusal) => {
            // Log fields are built only for a refusal: the accepted path stays lean.
            let mut log = request.log_fields();
            log.insert("recipient_user_id", click.recipient.to_string());
            if let Some(place) = &click.place {
                log.insert("post_id", place.post_id.clone());
                log.insert("channel_id", place.channel_id.clone());
            }
            refuse(refusal, log)
        }
    })
}

/// The effects of an accepted click: publish to the recipient alone, answer `{}`.
fn deliver(click: Click<'_>, verified: bool, ctx: &Context) -> Decision {
    let data = action_event(click.fields.raw(), verified, ctx);
    Decision::http(
        vec![Effect::publish(ACTION, click.recipient, data)],
        200,
        "{}".to_owned(),
    )
}

/// What the first look at `context` needs: the recipient, nothing else.
#[derive(Deserialize)]
struct ContextHead {
    user_id: Option<Value>,
}

/// Checks everything that needs no fact from Mattermost. `need_place` asks for the post and
/// channel ids, which only provenance verification uses.
fn parse<'a>(request: &Request<'a>, need_place: bool) -> Result<Click<'a>, Refusal> {
    let caller = request.caller()?;
    let fields = body::fields(request)?;

    let claimed: String = fields.require("user_id", "the clicking user's id")?;
    if claimed != caller.as_str() {
        return Err(Refusal::UserMismatch {
            claimed,
            caller: caller.to_string(),
        });
    }

    let recipient = fields
        .raw_value("context")
        .and_then(|raw| serde_json::from_str::<ContextHead>(raw.get()).ok())
        .and_then(|head| head.user_id)
        .and_then(|id| id.as_str().and_then(UserId::parse))
        .ok_or(Refusal::InvalidRecipient)?;

    let id_field = |field: &'static str| -> Result<String, Refusal> {
        let expected = "a Mattermost id";
        Some(fields.require::<String>(field, expected)?)
            .filter(|id| is_mattermost_id(id))
            .ok_or(Refusal::BadField { field, expected })
    };
    let place = if need_place {
        Some(Place {
            post_id: id_field("post_id")?,
            channel_id: id_field("channel_id")?,
        })
    } else {
        None
    };

    Ok(Click {
        fields,
        caller,
        recipient,
        place,
    })
}
