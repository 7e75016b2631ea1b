//! Every reason a request is refused.

/// Why a request is refused. [`crate::response`] maps each to its status, stable code and the
/// words the clicking user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The path is not one the plugin serves.
    #[error("no endpoint at {path}")]
    NoRoute {
        /// The path asked for, below the plugin's prefix.
        path: String,
    },
    /// The path exists but not for this method.
    #[error("{method} is not allowed here; use {allowed}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The method the endpoint takes.
        allowed: &'static str,
    },
    /// Mattermost did not name an authenticated user (no `Mattermost-User-Id`).
    #[error("the request has no authenticated Mattermost user")]
    NotAuthenticated,
    /// The body is over the limit.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not UTF-8.
    #[error("the request body is not valid UTF-8 (at byte {offset})")]
    InvalidUtf8 {
        /// Where the first bad byte is.
        offset: usize,
    },
    /// The body is nested deeper than the parser follows.
    #[error("the request body is nested too deeply")]
    TooDeep,
    /// The body is not JSON.
    #[error("the request body is not valid JSON: {detail}")]
    InvalidJson {
        /// The parser's message.
        detail: String,
    },
    /// A field has the wrong type or is missing.
    #[error("`{field}` must be {expected}")]
    BadField {
        /// The field, as a JSON path.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The body's `user_id` is not the authenticated user: a hand-made request.
    #[error("the body names user {claimed} but the request comes from {caller}")]
    UserMismatch {
        /// The body's `user_id`.
        claimed: String,
        /// The authenticated user.
        caller: String,
    },
    /// `context.user_id` is missing or not a Mattermost id: the bot's message is built wrong.
    #[error("`context.user_id` must be the receiving bot's user id")]
    InvalidRecipient,
    /// The post is not stored (an ephemeral post, or deleted) and unverified clicks are off.
    #[error("post {post_id} is not stored, so the click cannot be verified")]
    UnverifiablePost {
        /// The post named in the request.
        post_id: String,
    },
    /// The post is in another channel than the request says.
    #[error("post {post_id} is not in channel {channel_id}")]
    ChannelMismatch {
        /// The post.
        post_id: String,
        /// The channel the request named.
        channel_id: String,
    },
    /// The clicking user cannot read the post's channel.
    #[error("the user cannot read channel {channel_id}")]
    ChannelNotReadable {
        /// The channel.
        channel_id: String,
    },
    /// The recipient did not write the post.
    #[error("the recipient {recipient} did not post {post_id}")]
    RecipientNotAuthor {
        /// `context.user_id`.
        recipient: String,
        /// The post.
        post_id: String,
    },
    /// No action on the post points at this plugin with this exact context.
    #[error("no action on post {post_id} targets this plugin with this context")]
    ActionNotFound {
        /// The post.
        post_id: String,
    },
    /// The selected option is not one the menu offers.
    #[error("option {option:?} is not offered by the menu")]
    OptionNotOffered {
        /// The option received.
        option: String,
    },
    /// The recipient does not exist.
    #[error("user {recipient} does not exist")]
    RecipientNotFound {
        /// `context.user_id`.
        recipient: String,
    },
    /// The recipient is deactivated.
    #[error("user {recipient} is deactivated")]
    RecipientDeactivated {
        /// `context.user_id`.
        recipient: String,
    },
    /// A dialog definition Mattermost would refuse or only warn about.
    #[error("the dialog is not valid: {}", problems.join("; "))]
    InvalidDialog {
        /// Every problem found, each naming its field.
        problems: Vec<String>,
    },
    /// The trigger id is not one Mattermost issued.
    #[error("`trigger_id` is not a trigger id issued by Mattermost")]
    InvalidTrigger,
    /// Mattermost says the trigger id has expired.
    #[error("the trigger id has expired")]
    TriggerExpired,
    /// Mattermost refused to open the dialog.
    #[error("mattermost refused to open the dialog: {detail}")]
    DialogRefused {
        /// Mattermost's error.
        detail: String,
    },
    /// The dialog session does not exist (expired, or already used and gone).
    #[error("the dialog session does not exist or has expired")]
    DialogNotFound,
    /// Someone other than the person the dialog was opened for submitted it.
    #[error("the dialog was opened for another user")]
    WrongSubmitter,
    /// The session was used by another submission a moment ago.
    #[error("the dialog was already submitted")]
    DialogUsed,
    /// Mattermost could not answer a question the decision needs.
    #[error("mattermost could not provide the {what}: {detail}")]
    Unavailable {
        /// What was asked for.
        what: &'static str,
        /// Mattermost's error.
        detail: String,
    },
    /// The plugin failed inside: a trapped instance, a shim bug.
    #[error("internal error: {detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
}
