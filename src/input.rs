//! What happened, as the core is told it: every incoming thing is an [`Input`], handled with the
//! [`Context`] the caller passes in. The router and every endpoint import this module.

use crate::effect::LogFields;
use crate::ids::{NodeId, UserId};
use crate::refusal::Refusal;
use crate::settings::Settings;

/// Something that happened and that the core must decide about.
///
/// Today the plugin receives HTTP requests only; hooks, websocket messages, timers and cluster
/// messages become variants here, each routed by [`crate::handle`] to the module that owns it.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// An HTTP request to `/plugins/<id>/…`, as Mattermost hands it to `ServeHTTP`.
    Http(Request<'a>),
    /// `UserHasBeenDeactivated`: what was known of the account no longer holds.
    UserDeactivated {
        /// The deactivated user.
        user_id: &'a str,
    },
    /// `WebSocketMessageHasBeenPosted` for an action addressed to this plugin
    /// (`custom_<id>_<action>`), from an authenticated connection.
    WebSocket(WebSocketMessage<'a>),
    /// `OnWebSocketDisconnect` of a connection the core asked to watch.
    Disconnected {
        /// The connection that closed.
        connection_id: &'a str,
        /// Its user.
        user_id: &'a str,
    },
    /// A timer the core set with [`crate::Effect::WakeAt`] is due.
    Timer {
        /// The timer's name.
        name: &'a str,
    },
    /// A message another node sent with [`crate::Effect::Cluster`] (`OnPluginClusterEvent`).
    Cluster {
        /// The message, as JSON.
        message: &'a str,
    },
    /// `OnActivate`: this node starts.
    Activated,
    /// `MessageWillBePosted` (`edited: false`) or `MessageWillBeUpdated` (`true`) for a post
    /// with attachments: the post about to be saved, as JSON.
    PostWillBeSaved {
        /// The post.
        post: &'a str,
        /// Whether it is an edit.
        edited: bool,
    },
    /// `MessageHasBeenPosted` (`edited: false`) for a post with attachments, or
    /// `MessageHasBeenUpdated` (`true`) for a post that has or had attachments: the post as
    /// saved, as JSON.
    PostSaved {
        /// The post.
        post: &'a str,
        /// Whether it is an edit (a node may hold a copy of the post as it was).
        edited: bool,
    },
    /// `MessageHasBeenDeleted` for a post with attachments.
    PostDeleted {
        /// Its id.
        post_id: &'a str,
    },
    /// `ExecuteCommand`: someone typed a slash command this plugin registered. Its reply is a
    /// [`crate::Reply::Command`].
    Command {
        /// Mattermost's `CommandArgs`, as JSON.
        args: &'a str,
    },
}

/// A websocket message a connection sent to the plugin.
#[derive(Debug, Clone, Copy)]
pub struct WebSocketMessage<'a> {
    /// Mattermost's id of the connection.
    pub connection_id: &'a str,
    /// The authenticated user of the connection (empty when not authenticated).
    pub user_id: &'a str,
    /// The action without its `custom_<plugin id>_` prefix: `subscribe`, `ack`, …
    pub action: &'a str,
    /// The message's `seq`, which a reply names.
    pub seq: i64,
    /// The message's `data`, as JSON.
    pub data: &'a str,
}

/// An HTTP request as Mattermost handed it to the plugin.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path below `/plugins/<id>`, without the query.
    pub path: &'a str,
    /// The `Mattermost-User-Id` header: set by Mattermost for an authenticated session only.
    pub user_id: Option<&'a str>,
    /// The body, or the fact that it was over [`crate::MAX_BODY_BYTES`].
    pub body: Body<'a>,
    /// Mattermost made the request itself, inside the server (a click, a dialog's submission or
    /// a lookup it forwards to the plugin's URL): such a request has no remote address. Anyone
    /// else's comes over the network.
    pub internal: bool,
}

/// A request body as the shim read it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// The whole body.
    Complete(&'a [u8]),
    /// The body went past [`crate::MAX_BODY_BYTES`]; the shim stopped reading.
    TooLarge,
}

/// What the caller knows that the core does not: the time, fresh randomness, the settings, and
/// which node of the cluster is asking.
#[derive(Debug, Clone)]
pub struct Context {
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// 16 random bytes, fresh for every input and the same in each of its rounds (event and
    /// session ids are minted from them).
    pub entropy: [u8; 16],
    /// The settings in force.
    pub settings: Settings,
    /// This plugin process, one node of a cluster.
    pub node: NodeId,
}

#[cfg(test)]
impl Context {
    /// A context for tests: default settings, node zero.
    pub(crate) fn for_test(now_ms: u64, entropy: [u8; 16]) -> Self {
        Context {
            now_ms,
            entropy,
            settings: Settings::default(),
            node: crate::ids::Id::from_entropy([0; 16]),
        }
    }
}

impl Request<'_> {
    /// The signed-in user Mattermost names in `Mattermost-User-Id`.
    pub(crate) fn caller(&self) -> Result<UserId, Refusal> {
        self.user_id
            .and_then(UserId::parse)
            .ok_or(Refusal::NotAuthenticated)
    }

    /// The log fields every refusal of this request carries.
    pub(crate) fn log_fields(&self) -> LogFields {
        let mut f = LogFields::new();
        f.insert("method", self.method.to_owned());
        f.insert("path", crate::refusal::echo(self.path));
        if let Some(user) = self.user_id {
            f.insert("caller_user_id", user.to_owned());
        }
        f
    }
}
