//! `POST /api/v1/ephemeral` (SPEC §13): an ephemeral message from a bot, with buttons the plugin
//! vouches for. Mattermost never stores an ephemeral post, so a click on one cannot be checked
//! against a post: the plugin lints the message, signs its actions for the one user who sees it
//! and sends it with `SendEphemeralPost`. A click then carries its signature back (inside
//! Mattermost's encrypted action cookie, which no client can read) and is delivered verified;
//! an `update` answer replaces that person's post.

use crate::body;
use crate::effect::{Decision, Effect, Outcome};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::is_mattermost_id;
use crate::input::{Context, Request};
use crate::model::User;
use crate::refusal::{refuse, unavailable, Refusal};
use crate::sign::ephemeral::{post, Ephemeral};
use crate::sign::{keyring, SignFacts};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// The longest message (Mattermost's, in characters).
const MAX_MESSAGE_CHARS: usize = 16_383;

/// What the bot sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    /// Who sees it.
    user_id: String,
    /// Where.
    channel_id: String,
    /// The thread it is shown in.
    #[serde(default)]
    root_id: String,
    #[serde(default)]
    message: String,
    /// Attachments and their buttons, as in any post.
    #[serde(default)]
    props: Option<Map<String, Value>>,
}

/// What sending needs to know.
#[derive(Debug, Default, Deserialize)]
struct EphemeralFacts<'a> {
    /// The caller's account: only bots send through the plugin.
    #[serde(default, deserialize_with = "present")]
    caller: Option<Answer<User>>,
    /// The bot may post in the channel.
    #[serde(default, deserialize_with = "present")]
    bot_can_post: Option<Answer<bool>>,
    /// The person it is for may read the channel.
    #[serde(default, deserialize_with = "present")]
    user_can_read: Option<Answer<bool>>,
    /// The channel (an archived one takes no messages).
    #[serde(default, deserialize_with = "present")]
    channel: Option<Answer<crate::model::Channel>>,
    /// The thread's first post, when the message is for a thread.
    #[serde(default, deserialize_with = "present")]
    root: Option<Answer<crate::model::Post>>,
    /// The signing key (`null` before the first signed post, and then a new one stored), as
    /// the post hooks ask for it.
    #[serde(borrow, default, deserialize_with = "present")]
    keyring: Option<Answer<Option<&'a RawValue>>>,
    #[serde(default, deserialize_with = "present")]
    created: Option<Answer<bool>>,
    #[serde(borrow, default, deserialize_with = "present")]
    keyring_again: Option<Answer<Option<&'a RawValue>>>,
    /// The version of the post's buttons was stored (a message with buttons only).
    #[serde(default, deserialize_with = "present")]
    stored: Option<Answer<bool>>,
}

/// `POST /api/v1/ephemeral`, with the bot's token.
pub(crate) fn send(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    match decide(request, ctx, facts) {
        Ok(outcome) => outcome,
        Err(refusal) => Outcome::Decided(refuse(refusal, request.log_fields())),
    }
}

fn decide(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Result<Outcome, Refusal> {
    let bot = request.caller()?;
    let m = read(body::text(request)?)?;
    if let Some(props) = &m.props {
        let props = Value::Object(props.clone());
        crate::delivery::answer::lint_passes(&props, &bot, "the message's buttons")
            .map_err(|reason| Refusal::BadEphemeral { reason })?;
    }
    let f: EphemeralFacts<'_> = facts.read()?;
    let mut ask = Ask::default();
    ask.unless_cached(&f.caller, "caller", || Fact::User {
        user_id: bot.to_string(),
    })
    .unless(&f.bot_can_post, "bot_can_post", || {
        Fact::ChannelPermission {
            user_id: bot.to_string(),
            channel_id: m.channel_id.clone(),
            permission: "create_post",
        }
    })
    .unless(&f.user_can_read, "user_can_read", || {
        Fact::ChannelPermission {
            user_id: m.user_id.clone(),
            channel_id: m.channel_id.clone(),
            permission: "read_channel",
        }
    });
    ask.unless_cached(&f.channel, "channel", || Fact::Channel {
        channel_id: m.channel_id.clone(),
    });
    if !m.root_id.is_empty() {
        ask.unless_cached(&f.root, "root", || Fact::Post {
            post_id: m.root_id.clone(),
        });
    }
    crate::sign::ask_keyring(&mut ask, &f.keyring);
    if !ask.is_empty() {
        return Ok(ask.into());
    }
    match f.caller.as_ref().expect("asked") {
        Answer::Found(user) if user.is_bot => {}
        Answer::Found(_) => {
            return Err(Refusal::NotABot {
                what: "send ephemeral messages through the plugin",
            })
        }
        Answer::Failed(e) => return Err(unavailable("your account", e)),
    }
    let can = |answer: &Option<Answer<bool>>, what| match answer.as_ref().expect("asked") {
        Answer::Found(b) => Ok(*b),
        Answer::Failed(e) => Err(unavailable(what, e)),
    };
    if !can(&f.bot_can_post, "bot's permissions")? {
        return Err(Refusal::EphemeralNotAllowed {
            reason: format!("the bot may not post in channel {}", m.channel_id),
        });
    }
    if !can(&f.user_can_read, "user's permissions")? {
        return Err(Refusal::EphemeralNotAllowed {
            reason: format!(
                "user {} cannot read channel {} (or does not exist)",
                m.user_id, m.channel_id
            ),
        });
    }
    match f.channel.as_ref().expect("asked") {
        Answer::Found(channel) if channel.delete_at == 0 => {}
        Answer::Found(_) => {
            return Err(Refusal::EphemeralNotAllowed {
                reason: format!("channel {} is archived", m.channel_id),
            })
        }
        Answer::Failed(e) => return Err(unavailable("channel", e)),
    }
    match &f.root {
        None => {}
        // A thread's first post: Mattermost threads under no reply.
        Some(Answer::Found(root)) if root.channel_id == m.channel_id && root.root_id.is_empty() => {
        }
        Some(Answer::Found(_)) => return Err(not_a_thread(&m)),
        Some(Answer::Failed(e)) if e.is_not_found() => return Err(not_a_thread(&m)),
        Some(Answer::Failed(e)) => return Err(unavailable("thread", e)),
    }
    let sign = SignFacts {
        keyring: f.keyring.clone(),
        created: f.created.clone(),
        keyring_again: f.keyring_again.clone(),
    };
    let (key, mut effects) = match keyring(&sign, ctx) {
        Ok(made) => made,
        Err(Some(ask)) => return Ok(ask.into()),
        Err(None) => {
            return Err(Refusal::Unavailable {
                what: "signing key",
                detail: "the key that signs buttons could not be read or stored".into(),
            })
        }
    };
    // Mattermost keeps an id it is given: the bot learns it, and a click names it. A one-way
    // digest of this call's entropy, which may have just made the signing key.
    let seed = hex::encode(ctx.entropy);
    let post_id = crate::sign::ephemeral::post_id(&seed);
    let version = crate::sign::ephemeral::version(&seed);
    let at = Ephemeral {
        post_id: &post_id,
        channel_id: &m.channel_id,
        root_id: &m.root_id,
        bot: bot.as_str(),
        to: &m.user_id,
        site_url: &ctx.settings.site_url,
        version: &version,
    };
    // The buttons' version is kept before the person can click them (SPEC §13; issue 18).
    if m.props.as_ref().is_some_and(has_actions) {
        match &f.stored {
            None => {
                let stored = crate::sign::ephemeral::store(&at);
                return Ok(Ask::one("stored", stored).into());
            }
            Some(Answer::Found(_)) => {}
            Some(Answer::Failed(e)) => {
                return Err(Refusal::NotStored {
                    what: "ephemeral message",
                    detail: e.to_string(),
                })
            }
        }
    }
    effects.push(Effect::SendEphemeral {
        user_id: m.user_id.clone(),
        post: post(
            &at,
            &Value::from(m.message.as_str()),
            m.props.as_ref(),
            &key,
        ),
    });
    let body = json!({"post_id": post_id}).to_string();
    Ok(Outcome::Decided(Decision::http(effects, 200, body)))
}

/// Whether any attachment of `props` has an action: only then are there buttons to keep a
/// version of.
fn has_actions(props: &Map<String, Value>) -> bool {
    props
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("actions").and_then(Value::as_array))
        .any(|actions| !actions.is_empty())
}

/// The message, every field checked.
fn read(text: &str) -> Result<Message, Refusal> {
    let bad = |reason: String| Refusal::BadEphemeral { reason };
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| Refusal::InvalidJson {
        detail: e.to_string(),
    })?;
    // What is wrong, not where: the bot's JSON is laid out as it likes.
    let m: Message = serde_json::from_str(raw.get()).map_err(|e| {
        let text = e.to_string();
        let what = text.split(" at line ").next().unwrap_or(&text);
        bad(what.replace('`', ""))
    })?;
    for (field, id, empty_ok) in [
        ("user_id", &m.user_id, false),
        ("channel_id", &m.channel_id, false),
        ("root_id", &m.root_id, true),
    ] {
        if !(is_mattermost_id(id) || (empty_ok && id.is_empty())) {
            return Err(Refusal::BadField {
                field,
                expected: "a Mattermost id",
            });
        }
    }
    if m.message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(bad(format!(
            "`message` must be at most {MAX_MESSAGE_CHARS} characters"
        )));
    }
    if let Some(reserved) = crate::sign::ephemeral::RESERVED_PROPS
        .iter()
        .find(|k| m.props.as_ref().is_some_and(|p| p.contains_key(**k)))
    {
        return Err(bad(format!(
            "`props.{reserved}` is reserved by Mattermost; a bot's message shows as the bot's"
        )));
    }
    if m.message.is_empty() && m.props.as_ref().is_none_or(Map::is_empty) {
        return Err(bad("it is empty (give it a message or attachments)".into()));
    }
    Ok(m)
}

fn not_a_thread(m: &Message) -> Refusal {
    Refusal::BadEphemeral {
        reason: format!(
            "root_id {} is not the first post of a thread in channel {}",
            m.root_id, m.channel_id
        ),
    }
}
