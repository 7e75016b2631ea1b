//! Facts the core asks the shim to gather from Mattermost, and the shapes it reads them in.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One question for Mattermost, answered by the shim through the plugin API.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum FactQuery {
    /// `GetPost(post_id)`, answered with the post as Mattermost's JSON.
    Post {
        /// The post to load.
        post_id: String,
    },
    /// `HasPermissionToChannel(user_id, channel_id, permission)`, answered with a boolean.
    ChannelPermission {
        /// Whose permission.
        user_id: String,
        /// Which channel.
        channel_id: String,
        /// Mattermost's permission id.
        permission: &'static str,
    },
    /// `GetUser(user_id)`, answered with the user as Mattermost's JSON.
    User {
        /// The user to load.
        user_id: String,
    },
    /// `KVGet(key)`, answered with the stored JSON, or not found.
    KvGet {
        /// The plugin's KV key.
        key: String,
    },
    /// `KVCompareAndDelete(key, expected)`, answered with whether this call deleted it.
    KvConsume {
        /// The plugin's KV key.
        key: String,
        /// The exact stored text the key must still hold.
        expected: String,
    },
    /// `OpenInteractiveDialog(request)`, answered with `true` or Mattermost's refusal. It is the
    /// one question that is also an act: only trying tells whether the trigger is still valid.
    OpenDialog {
        /// Mattermost's `OpenDialogRequest`.
        request: Box<RawValue>,
    },
}

/// The shim's answer to one [`FactQuery`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactAnswer {
    /// The answer, as JSON.
    Found(Box<RawValue>),
    /// Mattermost answered that it does not exist.
    NotFound,
    /// Mattermost could not answer; the text is its error.
    Failed(String),
}

/// The parts of a Mattermost post the rules read.
#[derive(Debug, Deserialize)]
pub(crate) struct Post {
    pub(crate) user_id: String,
    pub(crate) channel_id: String,
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
    pub(crate) context: Option<Map<String, Value>>,
}

/// The parts of a Mattermost user the rules read.
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    #[serde(default)]
    pub(crate) delete_at: i64,
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
