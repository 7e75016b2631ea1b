//! Ephemeral posts whose buttons the plugin vouches for (SPEC §13). Mattermost never stores an
//! ephemeral post, and its own click route cannot apply an integration's `update` to one (it
//! updates the stored post, and there is none): the plugin sends the post, signed for its one
//! user, and applies an `update` answer itself with `UpdateEphemeralPost`.
//!
//! Nothing on Mattermost's side ends an ephemeral post's buttons: its action cookie carries the
//! signed context, and the person's client can send it again at any time. So the plugin keeps,
//! per ephemeral post it sent with buttons, the **version** its buttons are signed with
//! (`eph_<post id>`, for [`BUTTONS_LIVE_S`]). A click must carry that version. An `update`
//! answer moves it on (a compare-and-set from the version clicked) before the new post is
//! shown: the buttons it replaced, or removed, stop working at once, and of two answers to
//! clicks on the same post only the first changes it. An answer without `update` leaves the
//! buttons as they are.

use super::{sign_actions, strip_signatures, Keyring, Signer};
use crate::effect::Effect;
use crate::facts::Fact;
use serde::{Deserialize, Serialize};
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

/// How long an ephemeral post's buttons work after it was sent or last updated: a day. The
/// person sees the post until they reload, and may keep a window open that long; after that a
/// click is refused (`stale_button`), and the bot sends a new message if it is still needed.
pub(crate) const BUTTONS_LIVE_S: u64 = 24 * 3600;

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
    /// The server's `SiteURL`: an action is signed only if Mattermost sends its clicks to the
    /// plugin.
    pub(crate) site_url: &'a str,
    /// The version its buttons are (or are to be) signed with.
    pub(crate) version: &'a str,
}

/// What answering a click on an ephemeral post needs besides where it is: the key that signs
/// its new buttons, the server's address, and the click's event id (the new version is made
/// from it).
#[derive(Debug, Clone)]
pub(crate) struct Answering {
    pub(crate) key: Keyring,
    pub(crate) site_url: String,
    pub(crate) event_id: String,
}

/// What the plugin keeps of an ephemeral post with buttons: the version a click must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The version.
    pub(crate) v: String,
}

/// The KV key of an ephemeral post's [`Record`].
pub(crate) fn record_key(post_id: &str) -> String {
    format!("eph_{post_id}")
}

/// Stores `at`'s version: asked (and answered) before the post is sent, so that a click that
/// comes at once finds it.
pub(crate) fn store(at: &Ephemeral<'_>) -> Fact {
    Fact::KvSet {
        key: record_key(at.post_id),
        value: record(at.version),
        expire_in_seconds: BUTTONS_LIVE_S,
    }
}

fn record(version: &str) -> Box<RawValue> {
    to_raw_value(&Record {
        v: version.to_owned(),
    })
    .expect("a record serializes")
}

/// The version of a post made from `seed` (an event's id, or the sending call's entropy): the
/// same on every node and every round, and, like [`post_id`], a one-way digest of it.
pub(crate) fn version(seed: &str) -> String {
    let digest = super::mac::hmac(b"ephemeral version", &[seed.as_bytes()]);
    hex::encode(&digest[..8])
}

/// The post as `SendEphemeralPost` / `UpdateEphemeralPost` take it: the bot's, its actions
/// signed for its one user, this post and its version (signatures it brought are dropped
/// first).
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
    let signer = Signer {
        key,
        site_url: at.site_url,
    };
    sign_actions(
        &mut props,
        &signer,
        at.bot,
        at.channel_id,
        at.root_id,
        Some(at),
    );
    let mut post = Map::new();
    post.insert("id".into(), Value::from(at.post_id));
    post.insert("user_id".into(), Value::from(at.bot));
    post.insert("channel_id".into(), Value::from(at.channel_id));
    post.insert("root_id".into(), Value::from(at.root_id));
    post.insert("message".into(), message.clone());
    post.insert("props".into(), Value::Object(props));
    to_raw_value(&post).expect("a post serializes")
}

/// An `update` answer to a click on an ephemeral post, made ready: the version moved on, then
/// the post replaced.
pub(crate) struct Update {
    /// The compare-and-set from the version clicked to the new one, answered with whether it
    /// won: only then is the post replaced.
    pub(crate) moved: Fact,
    /// The post replaced for its user, its buttons signed with the new version.
    pub(crate) shown: Effect,
}

/// A click answer for an ephemeral post `at` (at the version clicked): the answer without
/// `update` (Mattermost would try to update a stored post and fail the click), and the `update`
/// as the post it becomes, signed with `new_version`. An update replaces the post whole: it is
/// not stored, so there are no props to keep.
pub(crate) fn split_answer(
    answer: &RawValue,
    at: &Ephemeral<'_>,
    new_version: &str,
    key: &Keyring,
) -> (Box<RawValue>, Option<Update>) {
    let Ok(mut fields) = serde_json::from_str::<Map<String, Value>>(answer.get()) else {
        return (answer.to_owned(), None);
    };
    let Some(Value::Object(update)) = fields.remove("update") else {
        return (answer.to_owned(), None);
    };
    let message = update.get("message").cloned().unwrap_or(Value::from(""));
    let props = update.get("props").and_then(Value::as_object);
    let next = Ephemeral {
        version: new_version,
        ..at.clone()
    };
    let update = Update {
        moved: Fact::KvCas {
            key: record_key(at.post_id),
            old: record(at.version).get().to_owned(),
            new: record(new_version),
            expire_in_seconds: BUTTONS_LIVE_S,
        },
        shown: Effect::UpdateEphemeral {
            user_id: at.to.to_owned(),
            post: post(&next, &message, props, key),
        },
    };
    (
        to_raw_value(&fields).expect("an answer serializes"),
        Some(update),
    )
}

/// What an update whose version did not move leads to: nothing shown, a line in the log (the
/// post was changed by another answer meanwhile, or its buttons expired).
pub(crate) fn not_moved(post_id: &str, error: Option<&crate::facts::FactError>) -> Effect {
    let mut fields = crate::effect::LogFields::new();
    fields.insert("post_id", post_id.to_owned());
    if let Some(e) = error {
        fields.insert("error", e.to_string());
    }
    Effect::Log {
        level: crate::effect::LogLevel::Info,
        message: "an update to an ephemeral post was not applied: the post changed meanwhile, or its buttons expired".into(),
        fields,
    }
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
