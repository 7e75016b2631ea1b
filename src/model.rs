//! The parts of Mattermost's objects the rules read, as the plugin API returns them. Unknown
//! fields are ignored; what is missing takes Go's zero value, as Mattermost's own decoder would.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The parts of a Mattermost post the rules read.
#[derive(Debug, Deserialize)]
pub(crate) struct Post {
    pub(crate) user_id: String,
    pub(crate) channel_id: String,
    /// The thread the post is in; empty for a post that starts one.
    #[serde(default)]
    pub(crate) root_id: String,
    #[serde(default)]
    pub(crate) props: Option<PostProps>,
}

/// The parts of a post's props the rules read.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PostProps {
    #[serde(default)]
    pub(crate) attachments: Option<Vec<Option<Attachment>>>,
}

/// A message attachment.
#[derive(Debug, Deserialize)]
pub(crate) struct Attachment {
    #[serde(default)]
    pub(crate) actions: Option<Vec<Option<PostAction>>>,
}

/// An interactive action (button or menu), as stored with the post.
#[derive(Debug, Deserialize)]
pub(crate) struct PostAction {
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) data_source: Option<String>,
    #[serde(default)]
    pub(crate) options: Option<Vec<Option<ActionOption>>>,
    #[serde(default)]
    pub(crate) integration: Option<Integration>,
}

/// One option of a static menu.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionOption {
    #[serde(default)]
    pub(crate) value: Option<Value>,
}

/// Where a click goes and what it carries.
#[derive(Debug, Deserialize)]
pub(crate) struct Integration {
    #[serde(default)]
    pub(crate) url: Option<String>,
    #[serde(default)]
    pub(crate) context: Option<StoredContext>,
}

/// An action's context as stored, kept as its text: a click on a signed post compares only the
/// signature in it, so the rest of every action's context is never built into a tree. The
/// full check, for a click without a signature, reads the whole object when it needs it.
#[derive(Debug)]
pub(crate) struct StoredContext(Box<RawValue>);

impl<'de> Deserialize<'de> for StoredContext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(Self)
    }
}

impl StoredContext {
    /// The context as an object; `None` if it is not one (Mattermost stores only objects).
    pub(crate) fn object(&self) -> Option<Map<String, Value>> {
        serde_json::from_str(self.0.get()).ok()
    }

    /// The value under `key`, when the context is an object that has it; every other value
    /// is skipped, not built.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        struct Find<'k>(&'k str);
        impl<'de> serde::de::Visitor<'de> for Find<'_> {
            type Value = Option<Value>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut found = None;
                // Every key is read, as a Map would: the last of duplicates wins.
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if k == self.0 {
                        found = Some(map.next_value::<Value>()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
        }
        let mut de = serde_json::Deserializer::from_str(self.0.get());
        de.deserialize_map(Find(key)).ok().flatten()
    }
}

/// The parts of a Mattermost user the rules read.
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    #[serde(default)]
    pub(crate) username: String,
    /// Space-separated role names (`system_user system_admin`).
    #[serde(default)]
    pub(crate) roles: String,
    #[serde(default)]
    pub(crate) delete_at: i64,
    /// A bot account.
    #[serde(default)]
    pub(crate) is_bot: bool,
}

impl User {
    /// What the rules read of a user: a query for one asks these alone.
    pub(crate) const FIELDS: &'static [&'static str] =
        &["id", "username", "roles", "delete_at", "is_bot"];
}

/// The caller's account must be a system administrator's, to `what`.
pub(crate) fn require_admin(
    account: &crate::facts::Answer<User>,
    what: &'static str,
) -> Result<(), crate::refusal::Refusal> {
    use crate::facts::Answer;
    use crate::refusal::Refusal;
    match account {
        Answer::Found(user) if user.roles.split_whitespace().any(|r| r == "system_admin") => Ok(()),
        Answer::Found(_) => Err(Refusal::NotAdmin { what }),
        Answer::Failed(e) => Err(Refusal::Unavailable {
            what: "your account",
            detail: e.to_string(),
        }),
    }
}

/// The parts of a Mattermost channel the rules read.
#[derive(Debug, Deserialize)]
pub(crate) struct Channel {
    /// The channel's team; empty for direct and group messages.
    #[serde(default)]
    pub(crate) team_id: String,
    /// The channel's handle, as a click's `channel_name` carries it.
    #[serde(default)]
    pub(crate) name: String,
    /// When the channel was archived; 0 while it is not.
    #[serde(default)]
    pub(crate) delete_at: i64,
}

impl Channel {
    /// What the rules read of a channel (and `id` and `type`, for the log and the lint).
    pub(crate) const FIELDS: &'static [&'static str] =
        &["id", "team_id", "name", "delete_at", "type"];
}

/// The parts of a Mattermost team the rules read.
#[derive(Debug, Deserialize)]
pub(crate) struct Team {
    /// The team's handle, as a click's `team_domain` carries it.
    #[serde(default)]
    pub(crate) name: String,
}

impl Team {
    /// What the rules read of a team.
    pub(crate) const FIELDS: &'static [&'static str] = &["id", "name"];
}

impl Post {
    /// Every action of every attachment, skipping `null`s.
    pub(crate) fn actions(&self) -> impl Iterator<Item = &PostAction> {
        self.props
            .iter()
            .flat_map(|p| p.attachments.iter().flatten().flatten())
            .flat_map(|a| a.actions.iter().flatten().flatten())
    }
}

/// The props Mattermost keeps when an integration's answer updates a post
/// (`model.PostActionRetainPropKeys`).
pub(crate) const RETAINED_PROPS: [&str; 3] =
    ["from_webhook", "override_username", "override_icon_url"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(text: &str) -> StoredContext {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_stored_context_reads_as_the_object_it_was() {
        let text =
            r#"{"user_id":"bot","_socket_mode_signature":{"v":2,"m":"ab"},"n":[1,{"x":null}]}"#;
        let c = stored(text);
        assert_eq!(
            Value::Object(c.object().unwrap()),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(
            c.get("_socket_mode_signature"),
            Some(json!({"v": 2, "m": "ab"}))
        );
        assert_eq!(c.get("n"), Some(json!([1, {"x": null}])));
        assert_eq!(c.get("missing"), None);
        // A key found inside a nested object is not the context's own.
        assert_eq!(c.get("x"), None);
        // Of a key written twice, the last counts, as it does for the whole object.
        let twice = stored(r#"{"k":1,"k":2}"#);
        assert_eq!(twice.get("k"), Some(json!(2)));
        assert_eq!(twice.object().unwrap()["k"], json!(2));
        // An escaped key is the key it spells.
        assert_eq!(stored(r#"{"\u006b":3}"#).get("k"), Some(json!(3)));
    }

    #[test]
    fn a_stored_context_that_is_not_an_object_has_nothing_in_it() {
        for text in ["[1,2]", "\"text\"", "null", "7"] {
            let c = stored(text);
            assert!(c.object().is_none(), "{text}");
            assert_eq!(c.get("user_id"), None, "{text}");
        }
        // The post around it still reads: only that action matches no click.
        let post: Post = serde_json::from_value(json!({
            "user_id": "bot", "channel_id": "chan",
            "props": {"attachments": [{"actions": [{"integration": {"context": [1]}}]}]}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(post.actions().next().is_some());
    }
}
