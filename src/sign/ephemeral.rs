//! Ephemeral posts whose buttons the plugin vouches for (SPEC §13). Mattermost never stores an
//! ephemeral post, and its own click route cannot apply an integration's `update` to one (it
//! updates the stored post, and there is none): the plugin sends the post, signed for its one
//! user, and applies an `update` answer itself with `UpdateEphemeralPost`.

use super::{sign_actions, strip_signatures, Keyring};
use crate::effect::Effect;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{Map, Value};

/// The props Mattermost keeps for integrations (a webhook's name and icon) and for its own use
/// (adding members, forcing a notification): a bot's ephemeral message may not pose as another
/// sender, nor do what its own `POST /api/v4/posts` could not.
pub(crate) const RESERVED_PROPS: [&str; 7] = [
    "from_webhook",
    "override_username",
    "webhook_display_name",
    "override_icon_url",
    "override_icon_emoji",
    "add_channel_member",
    "force_notification",
];

/// Where an ephemeral post is, and whose it is.
#[derive(Debug, Clone)]
pub(crate) struct Ephemeral<'a> {
    /// The post's id (Mattermost's, or the one the plugin gave it).
    pub(crate) post_id: &'a str,
    pub(crate) channel_id: &'a str,
    /// The thread it is shown in; empty outside one.
    pub(crate) root_id: &'a str,
    /// The bot that sent it.
    pub(crate) bot: &'a str,
    /// The one user who sees it.
    pub(crate) to: &'a str,
}

/// The post as `SendEphemeralPost` / `UpdateEphemeralPost` take it: the bot's, its actions
/// signed for its one user (signatures it brought are dropped first).
pub(crate) fn post(
    at: &Ephemeral<'_>,
    message: &Value,
    props: Option<&Map<String, Value>>,
    key: &Keyring,
) -> Box<RawValue> {
    let mut props = props.cloned().unwrap_or_default();
    // The endpoint refuses them; a click's `update` and a command's answer lose them here.
    for reserved in RESERVED_PROPS {
        props.remove(reserved);
    }
    strip_signatures(&mut props);
    sign_actions(&mut props, key, at.bot, at.channel_id, at.root_id, at.to);
    let mut post = Map::new();
    post.insert("id".into(), Value::from(at.post_id));
    post.insert("user_id".into(), Value::from(at.bot));
    post.insert("channel_id".into(), Value::from(at.channel_id));
    post.insert("root_id".into(), Value::from(at.root_id));
    post.insert("message".into(), message.clone());
    post.insert("props".into(), Value::Object(props));
    to_raw_value(&post).expect("a post serializes")
}

/// A click answer for an ephemeral post: the answer without `update` (Mattermost would try to
/// update a stored post and fail the click), and the `update` as the ephemeral post it
/// becomes for its user. An update replaces the post whole: it is not stored, so there are no
/// props to keep.
pub(crate) fn split_answer(
    answer: &RawValue,
    at: &Ephemeral<'_>,
    key: &Keyring,
) -> (Box<RawValue>, Option<Effect>) {
    let Ok(mut fields) = serde_json::from_str::<Map<String, Value>>(answer.get()) else {
        return (answer.to_owned(), None);
    };
    let Some(Value::Object(update)) = fields.remove("update") else {
        return (answer.to_owned(), None);
    };
    let message = update.get("message").cloned().unwrap_or(Value::from(""));
    let props = update.get("props").and_then(Value::as_object);
    let effect = Effect::UpdateEphemeral {
        user_id: at.to.to_owned(),
        post: post(at, &message, props, key),
    };
    (
        to_raw_value(&fields).expect("an answer serializes"),
        Some(effect),
    )
}

/// The id of an ephemeral post the plugin sends, from `seed` (an event's id, or the sending
/// call's entropy): the same on every node and every round, and a one-way digest, so that it
/// shows nothing of the seed.
pub(crate) fn post_id(seed: &str) -> String {
    let digest = super::mac::hmac(b"ephemeral answer", &[seed.as_bytes()]);
    let mut entropy = [0u8; 16];
    entropy.copy_from_slice(&digest[..16]);
    crate::ids::EventId::from_entropy(entropy)
        .as_str()
        .to_owned()
}
