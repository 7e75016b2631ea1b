//! Every reason a request is refused, and the one table that says how each is answered: the
//! HTTP status, the stable error code, the log level and the words the person reads.

use crate::effect::{Decision, Effect, LogFields, LogLevel};
use crate::facts::UnreadableFacts;
use crate::paths::handler_url;
use serde_json::json;

/// Why a request is refused. [`present`] maps each to its status, stable code and the
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
    /// A button of an ephemeral post the plugin sent, since replaced or removed by an `update`
    /// answer, or older than its buttons live: the person's client sent an old cookie.
    #[error("post {post_id} has changed since this button was shown, or its buttons expired")]
    StaleButton {
        /// The ephemeral post named in the request.
        post_id: String,
    },
    /// A top-level field of the request is not what Mattermost knows: the body was made up.
    #[error("`{field}` does not match what Mattermost knows")]
    FieldMismatch {
        /// The field, as it is named in the body.
        field: &'static str,
    },
    /// The body carries a field Mattermost never sends and a bot client would misread.
    #[error("the request carries `{field}`, which Mattermost never sends")]
    ReservedField {
        /// The field.
        field: &'static str,
    },
    /// The channel is archived: nothing in it can be clicked any more.
    #[error("channel {channel_id} is archived")]
    ChannelArchived {
        /// The channel.
        channel_id: String,
    },
    /// A users or channels menu's choice is no user, or a channel the clicker cannot read.
    #[error("the chosen {what} {choice:?} cannot be chosen")]
    InvalidChoice {
        /// `user` or `channel`.
        what: &'static str,
        /// What was chosen.
        choice: String,
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
    /// The request is over one of the plugin's documented limits.
    #[error("{what} is over the limit of {limit}")]
    OverLimit {
        /// What is counted, as a phrase: "the number of actions".
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The trigger id was not delivered by the plugin (its token does not vouch for it, or
    /// without one this node did not deliver it lately), or it opened a dialog already.
    #[error("the trigger id was not delivered by this plugin (or its trigger_token does not match it), or it was used already")]
    UnknownTrigger,
    /// An acknowledgement names an event the plugin does not keep (acknowledged already, past
    /// its keep period, or never sent).
    #[error("no kept event {event_id}")]
    UnknownEvent {
        /// The event named.
        event_id: String,
    },
    /// An acknowledgement for an event another bot received.
    #[error("event {event_id} was not sent to this bot")]
    NotYourEvent {
        /// The event named.
        event_id: String,
    },
    /// A bot's answer that cannot be shown as it is.
    #[error("the answer was refused: {reason}")]
    BadAnswer {
        /// What is wrong with it.
        reason: String,
    },
    /// Something for system administrators (`what` they may do), asked by someone else.
    #[error("only system administrators may {what}")]
    NotAdmin {
        /// What they may do.
        what: &'static str,
    },
    /// Something only bots may do (own a slash command), asked by a person's account.
    #[error("only bot accounts may {what}")]
    NotABot {
        /// What they may do.
        what: &'static str,
    },
    /// A slash command trigger someone else serves already.
    #[error("/{trigger} is already served by {owner}")]
    CommandTaken {
        /// The trigger.
        trigger: String,
        /// Who serves it, in words (`another bot`, `Mattermost itself`, `another plugin`).
        owner: &'static str,
    },
    /// A slash command this bot does not own.
    #[error("this bot has no command /{trigger}")]
    NotYourCommand {
        /// The trigger named.
        trigger: String,
    },
    /// An ephemeral message a bot asked the plugin to send is not one it can send.
    #[error("{reason}")]
    BadEphemeral {
        /// What is wrong with it.
        reason: String,
    },
    /// An ephemeral message may not go where the bot asked.
    #[error("{reason}")]
    EphemeralNotAllowed {
        /// Who may not do what.
        reason: String,
    },
    /// A websocket message the plugin does not take.
    #[error("the plugin does not take {what}")]
    BadMessage {
        /// What was sent.
        what: String,
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
    /// The bot keeps as many of this person's events as one person may have kept (it is
    /// offline, or does not answer): the new one is refused rather than pushing out anyone's.
    #[error("the bot already keeps {kept} events of this person")]
    TooManyKept {
        /// How many it keeps.
        kept: u64,
    },
    /// A store the decision depends on failed, so nothing was done.
    #[error("the plugin could not store the {what}: {detail}")]
    NotStored {
        /// What was being stored.
        what: &'static str,
        /// Mattermost's error.
        detail: String,
    },
    /// Mattermost could not answer a question the decision needs.
    #[error("mattermost could not provide the {what}: {detail}")]
    Unavailable {
        /// What was asked for.
        what: &'static str,
        /// Mattermost's error.
        detail: String,
    },
    /// A late answer was taken (its event claimed), and Mattermost then refused to update the
    /// post: the rest of the answer was carried out, and the event is done.
    #[error("the answer was taken and its other parts applied, but Mattermost refused to update the message: {detail}; the event is done (acknowledging it again changes nothing)")]
    UpdateRefused {
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

/// The refusal for a question Mattermost (or its store) could not answer.
pub(crate) fn unavailable(what: &'static str, e: &crate::facts::FactError) -> Refusal {
    Refusal::Unavailable {
        what,
        detail: e.to_string(),
    }
}

/// The most characters of one echoed value (an id, an option, a path) a refusal writes into a
/// log line or a message (SPEC §7): ids are 26, and a hostile request's 900 KB `user_id` must
/// not become a 900 KB log line.
pub(crate) const MAX_ECHO_CHARS: usize = 200;

/// The most characters of one reason a refusal carries (a sentence the plugin wrote, or
/// Mattermost's, with values in it): long enough for every reason the plugin writes whole.
pub(crate) const MAX_REASON_CHARS: usize = 1_000;

/// `text` as a log field or a message may echo it: cut to [`MAX_ECHO_CHARS`] characters.
pub(crate) fn echo(text: &str) -> String {
    let mut text = text.to_owned();
    cut_to(&mut text, MAX_ECHO_CHARS);
    text
}

/// `text` cut to `max` characters, with `…` where it was cut.
fn cut_to(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push('…');
    }
}

impl Refusal {
    /// The refusal with every string it carries cut: a value to [`MAX_ECHO_CHARS`], a reason
    /// to [`MAX_REASON_CHARS`]; most come from the request, or have its values in them. Every
    /// way a refusal is written (its log line, its response, a bot's error) goes through
    /// here; the match names every variant, so a new one cannot be forgotten.
    pub(crate) fn cut(mut self) -> Self {
        use Refusal::*;
        let value = |s: &mut String| cut_to(s, MAX_ECHO_CHARS);
        let reason = |s: &mut String| cut_to(s, MAX_REASON_CHARS);
        match &mut self {
            NoRoute { path: s }
            | MethodNotAllowed { method: s, .. }
            | UnverifiablePost { post_id: s }
            | StaleButton { post_id: s }
            | ChannelArchived { channel_id: s }
            | InvalidChoice { choice: s, .. }
            | ChannelNotReadable { channel_id: s }
            | ActionNotFound { post_id: s }
            | OptionNotOffered { option: s }
            | RecipientNotFound { recipient: s }
            | RecipientDeactivated { recipient: s }
            | UnknownEvent { event_id: s }
            | NotYourEvent { event_id: s }
            | CommandTaken { trigger: s, .. }
            | NotYourCommand { trigger: s }
            | BadMessage { what: s } => value(s),
            UserMismatch { claimed, caller } => {
                value(claimed);
                value(caller);
            }
            RecipientNotAuthor { recipient, post_id } => {
                value(recipient);
                value(post_id);
            }
            InvalidJson { detail: s }
            | BadAnswer { reason: s }
            | BadEphemeral { reason: s }
            | EphemeralNotAllowed { reason: s }
            | DialogRefused { detail: s }
            | NotStored { detail: s, .. }
            | Unavailable { detail: s, .. }
            | UpdateRefused { detail: s }
            | Internal { detail: s } => reason(s),
            InvalidDialog { problems } => problems.iter_mut().for_each(reason),
            BodyTooLarge { .. }
            | NotAuthenticated
            | InvalidUtf8 { .. }
            | TooDeep
            | BadField { .. }
            | InvalidRecipient
            | FieldMismatch { .. }
            | ReservedField { .. }
            | OverLimit { .. }
            | UnknownTrigger
            | NotAdmin { .. }
            | NotABot { .. }
            | InvalidTrigger
            | TriggerExpired
            | DialogNotFound
            | WrongSubmitter
            | DialogUsed
            | TooManyKept { .. } => {}
        }
        self
    }
}

impl From<UnreadableFacts> for Refusal {
    fn from(UnreadableFacts(detail): UnreadableFacts) -> Self {
        Refusal::Internal {
            detail: format!("reading the facts: {detail}"),
        }
    }
}

/// What the person did that the bot is to answer: the notices name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    Click,
    Submission,
    Command,
}

impl Subject {
    fn noun(self) -> &'static str {
        match self {
            Subject::Click => "click",
            Subject::Submission => "submission",
            Subject::Command => "command",
        }
    }
}

/// What the person is told when the bot cannot answer at once (SPEC §9.4–9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The bot subscribed but no connection of it is live.
    BotOffline,
    /// The bot did not answer within the answer window.
    NotAnsweredYet,
}

impl Notice {
    /// The words the person reads about their `subject`.
    pub(crate) fn text(self, subject: Subject) -> String {
        let noun = subject.noun();
        match self {
            Notice::BotOffline => format!("The bot is offline right now. Your {noun} is kept and will reach it as soon as it is back."),
            Notice::NotAnsweredYet => format!("The bot has not answered yet. It has your {noun} and will answer when it can."),
        }
    }

    /// The decision for a click answered with this notice, after `effects`.
    pub(crate) fn decision(self, subject: Subject, effects: Vec<Effect>) -> Decision {
        Decision::http(
            effects,
            200,
            json!({ "ephemeral_text": self.text(subject) }).to_string(),
        )
    }
}

/// How one refusal is presented.
struct Presentation {
    status: u16,
    code: &'static str,
    level: LogLevel,
    /// Shown to the clicking user by Mattermost as an ephemeral post.
    ephemeral_text: String,
}

/// The one place that maps a refusal to its status, stable error code, log level and words.
fn present(refusal: &Refusal) -> Presentation {
    use LogLevel::{Error, Info, Warn};
    let fix_context = "The bot's developer must set `integration.context.user_id` to the user id of the bot that posts the message.";
    let p = |status, code, level, text: String| Presentation {
        status,
        code,
        level,
        ephemeral_text: text,
    };
    match refusal {
        Refusal::NoRoute { path } => p(404, "no_route", Info, format!(
            "This button points at a plugin address that does not exist (`{path}`). The bot's developer must set the button's integration URL to `{}`.", handler_url())),
        Refusal::MethodNotAllowed { method, allowed } => p(405, "method_not_allowed", Info, format!(
            "This plugin address takes {allowed} requests, not {method}.")),
        Refusal::NotAuthenticated => p(401, "not_authenticated", Info,
            "Your click was not delivered because Mattermost did not say who you are. Sign in again and retry.".into()),
        Refusal::BodyTooLarge { limit } => p(413, "body_too_large", Info, format!(
            "Your click was not delivered: the button carries more data than the plugin accepts ({} KiB). The bot's developer must make the button's context smaller.", limit / 1024)),
        Refusal::InvalidUtf8 { .. } | Refusal::InvalidJson { .. } | Refusal::TooDeep | Refusal::BadField { .. } => {
            let code = match refusal {
                Refusal::InvalidUtf8 { .. } => "invalid_utf8",
                Refusal::InvalidJson { .. } => "invalid_json",
                Refusal::TooDeep => "too_deep",
                _ => "bad_field",
            };
            p(400, code, Info, format!("This request was refused because it was malformed: {}", sentence(refusal)))
        }
        Refusal::UserMismatch { .. } => p(403, "user_mismatch", Warn,
            "This request was refused: it claims to come from a different user than the one signed in.".into()),
        Refusal::InvalidRecipient => p(400, "invalid_recipient", Warn, format!(
            "Nobody received your click: this button does not say which bot should receive it. {fix_context}")),
        Refusal::UnverifiablePost { .. } => p(403, "unverifiable_post", Info,
            "Your click was not delivered: this message is not stored (it is an ephemeral message), so the plugin cannot verify where the button came from. The bot's developer can send it through the plugin (POST /api/v1/ephemeral) or post a regular message instead, or an administrator can allow clicks on ephemeral messages in the plugin's settings.".into()),
        Refusal::StaleButton { .. } => p(403, "stale_button", Info,
            "This button no longer works: the message it was on has changed since it was shown, or it is more than a day old. Use the buttons the message shows now.".into()),
        Refusal::FieldMismatch { field } => p(403, "field_mismatch", Warn, format!(
            "This click was refused: its `{field}` is not what Mattermost knows, so it was not made by Mattermost. If you just renamed something, wait a few seconds and try again.")),
        Refusal::ReservedField { field } => p(400, "reserved_field", Warn, format!(
            "This request was refused: it carries a `{field}` field, which Mattermost never sends.")),
        Refusal::ChannelArchived { .. } => p(403, "channel_archived", Info,
            "Your click was not delivered: this channel is archived, so its buttons no longer work.".into()),
        Refusal::InvalidChoice { what, .. } => p(403, "invalid_choice", Warn, format!(
            "This choice was refused: it is not a {what} you can choose from this menu.")),
        Refusal::ChannelNotReadable { .. } => p(403, "channel_not_readable", Warn,
            "This click was refused: you cannot read the channel this message is in.".into()),
        Refusal::RecipientNotAuthor { .. } => p(403, "recipient_not_author", Warn, format!(
            "This click was refused: the button sends to a bot that did not post this message, and only the bot that posted a message receives its clicks. {fix_context}")),
        Refusal::ActionNotFound { .. } => p(403, "action_not_found", Warn,
            "This click was refused: it does not match any button on the message that points at this plugin. If the message was just changed, reload it and try again.".into()),
        Refusal::OptionNotOffered { option } => p(403, "option_not_offered", Warn, format!(
            "This choice was refused: \"{option}\" is not one of the menu's options.")),
        Refusal::RecipientNotFound { .. } => p(404, "recipient_not_found", Warn, format!(
            "Nobody received your click: the bot this button sends to does not exist. {fix_context}")),
        Refusal::RecipientDeactivated { .. } => p(410, "recipient_deactivated", Info,
            "Nobody received your click: the bot this button sends to has been deactivated. Ask an administrator to reactivate it.".into()),
        Refusal::InvalidDialog { .. } => p(400, "invalid_dialog", Warn, format!("The dialog was not opened: {}", sentence(refusal))),
        Refusal::OverLimit { what, limit } => p(413, "over_limit", Info, format!(
            "This was refused: {what} is over the plugin's limit of {limit}. Make it smaller.")),
        Refusal::UnknownTrigger => p(400, "unknown_trigger", Warn,
            "The dialog was not opened: `trigger_id` must come from a click or command this plugin delivered, sent with that event's `proxy.trigger_token` (without it, only the server that delivered the event knows the trigger, for a minute), and opens one dialog only.".into()),
        Refusal::UnknownEvent { .. } => p(404, "unknown_event", Info,
            "The acknowledgement was not taken: the plugin keeps no such event (acknowledged already, past its keep period, or never sent).".into()),
        Refusal::NotYourEvent { .. } => p(403, "not_your_event", Warn,
            "The acknowledgement was refused: the event was sent to another bot.".into()),
        Refusal::BadAnswer { .. } => p(400, "bad_answer", Warn, format!("The answer was not applied: {}", sentence(refusal))),
        Refusal::NotAdmin { what } => p(403, "not_admin", Info, format!(
            "Only system administrators may {what}.")),
        Refusal::NotABot { what } => p(403, "not_a_bot", Info, format!(
            "Only bot accounts may {what}.")),
        Refusal::CommandTaken { .. } => p(409, "command_taken", Info, format!(
            "The command was not registered: {}. Choose another trigger.", sentence(refusal).trim_end_matches('.'))),
        Refusal::NotYourCommand { .. } => p(404, "not_your_command", Info, format!(
            "Nothing was changed: {}.", sentence(refusal).trim_end_matches('.'))),
        Refusal::BadEphemeral { .. } => p(400, "bad_ephemeral", Info, format!("The ephemeral message was not sent: {}", sentence(refusal))),
        Refusal::EphemeralNotAllowed { .. } => p(403, "ephemeral_not_allowed", Info, format!("The ephemeral message was not sent: {}", sentence(refusal))),
        Refusal::BadMessage { .. } => p(400, "bad_message", Info, format!("The message was not taken: {}", sentence(refusal))),
        Refusal::InvalidTrigger => p(400, "invalid_trigger", Warn,
            "The dialog was not opened: `trigger_id` must be the trigger id of a click or slash command, as Mattermost sent it.".into()),
        Refusal::TriggerExpired => p(410, "trigger_expired", Info,
            "The dialog was not opened: its trigger id has expired. Open the dialog within a few seconds of the click that issued it.".into()),
        Refusal::DialogRefused { .. } => p(502, "dialog_refused", Warn, format!("The dialog was not opened: {}", sentence(refusal))),
        Refusal::DialogNotFound => p(410, "dialog_expired", Info,
            "This form has expired or was already submitted. Close it and start again.".into()),
        Refusal::WrongSubmitter => p(403, "wrong_submitter", Warn,
            "This form was opened for someone else, so you cannot submit it.".into()),
        Refusal::DialogUsed => p(409, "dialog_used", Info,
            "This form was already submitted.".into()),
        Refusal::TooManyKept { kept } => p(429, "too_many_kept", Info, format!(
            "Not sent: the bot is not answering, and it already holds {kept} of your requests, which it will receive when it is back. Wait for it to answer those before trying again.")),
        Refusal::NotStored { what, .. } => p(503, "store_failed", Error, format!(
            "Nothing was done: the plugin could not save the {what} just now. Please try again.")),
        Refusal::UpdateRefused { .. } => p(422, "update_refused", Warn,
            "The bot's answer was taken, but Mattermost refused to update the message.".into()),
        Refusal::Unavailable { what, .. } => p(503, "mattermost_unavailable", Error, format!(
            "Your click was not delivered because Mattermost could not look up the {what} just now. Please try again.")),
        Refusal::Internal { .. } => p(500, "internal_error", Error,
            "Your click was not delivered because the plugin ran into an internal error. Please try again; if it keeps happening, tell your administrator.".into()),
    }
}

/// `text` as the end of a sentence: one full stop, whether or not a quoted message had its own.
fn sentence(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    format!("{}.", text.trim_end_matches('.'))
}

/// A refusal as it is written anywhere (a log line, a response, a bot's error, a command's
/// answer), its strings cut first ([`Refusal::cut`]): the one way out of a refusal, so none
/// is written uncut and none is cut twice.
pub(crate) struct Presented {
    /// The stable error code.
    pub(crate) code: &'static str,
    /// The words the person (or the bot) reads.
    pub(crate) text: String,
    /// Why, for the log and for a bot's error.
    pub(crate) reason: String,
    status: u16,
    level: LogLevel,
    /// An internal failure: its reason is for the log, not for whoever made the request.
    internal: bool,
}

/// `refusal`, cut, as it is written.
pub(crate) fn presented(refusal: Refusal) -> Presented {
    let refusal = refusal.cut();
    let p = present(&refusal);
    Presented {
        code: p.code,
        text: p.ephemeral_text,
        reason: refusal.to_string(),
        status: p.status,
        level: p.level,
        internal: matches!(refusal, Refusal::Internal { .. }),
    }
}

/// The decision for a refused request: a log line with `fields`, then the JSON error body.
pub(crate) fn refuse(refusal: Refusal, fields: LogFields) -> Decision {
    refuse_presented(presented(refusal), fields)
}

fn refuse_presented(p: Presented, mut fields: LogFields) -> Decision {
    let message = if p.internal {
        "internal error".to_owned()
    } else {
        p.reason.clone()
    };
    fields.insert("error_code", p.code.to_owned());
    fields.insert("reason", p.reason);
    let body = json!({
        "ephemeral_text": p.text,
        "error": { "code": p.code, "message": message },
    });
    let log = Effect::Log {
        level: p.level,
        message: "request refused".into(),
        fields,
    };
    Decision::http(vec![log], p.status, body.to_string())
}

/// The decision for a refused dialog submission. Mattermost reads a submission's answer as
/// `SubmitDialogResponse`, whose `error` is a string it shows in the open dialog, so this body
/// carries the words there and the code beside them.
pub(crate) fn refuse_form(refusal: Refusal, fields: LogFields) -> Decision {
    let p = presented(refusal);
    let (status, body) = (
        p.status,
        json!({ "error": p.text, "error_code": p.code }).to_string(),
    );
    let Decision { effects, .. } = refuse_presented(p, fields);
    Decision::http(effects, status, body)
}

/// The decision for a failure outside the core (a trapped instance, a panic in the shim), so
/// the user still gets a proper answer. `detail` goes to the log, not to the user.
pub(crate) fn fault_decision(detail: &str) -> Decision {
    refuse(
        Refusal::Internal {
            detail: detail.to_owned(),
        },
        LogFields::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::PLUGIN_ID;
    use serde_json::Value;

    fn body(d: &Decision) -> Value {
        serde_json::from_str(&d.response().body).unwrap()
    }

    fn all_refusals() -> Vec<Refusal> {
        refusals_echoing("x")
    }

    /// One of every refusal, each string it carries `echo`.
    fn refusals_echoing(echo: &str) -> Vec<Refusal> {
        let s = || echo.to_owned();
        vec![
            Refusal::NoRoute { path: s() },
            Refusal::MethodNotAllowed {
                method: s(),
                allowed: "POST",
            },
            Refusal::NotAuthenticated,
            Refusal::BodyTooLarge { limit: 1 << 20 },
            Refusal::InvalidUtf8 { offset: 1 },
            Refusal::TooDeep,
            Refusal::InvalidJson { detail: s() },
            Refusal::BadField {
                field: "post_id",
                expected: "a string",
            },
            Refusal::UserMismatch {
                claimed: s(),
                caller: s(),
            },
            Refusal::InvalidRecipient,
            Refusal::UnverifiablePost { post_id: s() },
            Refusal::StaleButton { post_id: s() },
            Refusal::FieldMismatch { field: "user_name" },
            Refusal::ReservedField { field: "user" },
            Refusal::ChannelArchived { channel_id: s() },
            Refusal::InvalidChoice {
                what: "user",
                choice: s(),
            },
            Refusal::OverLimit {
                what: "the number of actions",
                limit: 1,
            },
            Refusal::UnknownTrigger,
            Refusal::UnknownEvent { event_id: s() },
            Refusal::TooManyKept { kept: 100 },
            Refusal::NotYourEvent { event_id: s() },
            Refusal::BadAnswer { reason: s() },
            Refusal::BadMessage { what: s() },
            Refusal::BadEphemeral { reason: s() },
            Refusal::EphemeralNotAllowed { reason: s() },
            Refusal::NotAdmin { what: "do this" },
            Refusal::NotABot { what: "do this" },
            Refusal::CommandTaken {
                trigger: s(),
                owner: "another bot",
            },
            Refusal::NotYourCommand { trigger: s() },
            Refusal::ChannelNotReadable { channel_id: s() },
            Refusal::RecipientNotAuthor {
                recipient: s(),
                post_id: s(),
            },
            Refusal::ActionNotFound { post_id: s() },
            Refusal::OptionNotOffered { option: s() },
            Refusal::RecipientNotFound { recipient: s() },
            Refusal::RecipientDeactivated { recipient: s() },
            Refusal::Unavailable {
                what: "post",
                detail: s(),
            },
            Refusal::Internal { detail: s() },
            Refusal::UpdateRefused { detail: s() },
            Refusal::NotStored {
                what: "dialog session",
                detail: s(),
            },
            Refusal::InvalidDialog {
                problems: vec![s()],
            },
            Refusal::InvalidTrigger,
            Refusal::TriggerExpired,
            Refusal::DialogRefused { detail: s() },
            Refusal::DialogNotFound,
            Refusal::WrongSubmitter,
            Refusal::DialogUsed,
        ]
    }

    #[test]
    fn every_refusal_answers_an_error_status_with_ephemeral_text_and_a_unique_code() {
        let mut codes = std::collections::HashSet::new();
        for r in all_refusals() {
            let d = refuse(r.clone(), LogFields::new());
            assert!(d.response().status >= 400, "{r:?}");
            let body = body(&d);
            let text = body["ephemeral_text"].as_str().unwrap();
            assert!(text.len() > 20 && text.ends_with('.'), "{r:?}: {text}");
            let code = present(&r).code;
            assert_eq!(body["error"]["code"], code);
            assert!(code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            codes.insert(code);
        }
        assert_eq!(
            codes.len(),
            all_refusals().len(),
            "every refusal has its own code"
        );
    }

    /// SPEC §7: a hostile request's strings reach no log line or message whole.
    #[test]
    fn every_echoed_string_is_cut() {
        let huge = "é".repeat(900_000);
        for r in refusals_echoing(&huge) {
            let d = refuse(r.clone(), LogFields::new());
            let written: usize = d.response().body.len()
                + d.effects
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap().len())
                    .sum::<usize>();
            assert!(
                written < 16_000,
                "{:?}: {written} bytes written",
                present(&r).code
            );
            let p = presented(r.clone());
            assert!(
                p.text.len() < 4_000 && p.reason.len() < 4_000,
                "{}: {} bytes of text, {} of reason",
                p.code,
                p.text.len(),
                p.reason.len()
            );
        }
        let id = "a".repeat(MAX_ECHO_CHARS);
        assert_eq!(echo(&id), id, "a value at the limit is kept whole");
        let long = "é".repeat(MAX_ECHO_CHARS + 1);
        assert_eq!(
            echo(&long),
            format!("{}…", "é".repeat(MAX_ECHO_CHARS)),
            "cut on a character"
        );
    }

    #[test]
    fn configuration_errors_tell_the_developer_what_to_fix() {
        for r in [
            Refusal::InvalidRecipient,
            Refusal::RecipientNotAuthor {
                recipient: "a".into(),
                post_id: "b".into(),
            },
        ] {
            let body = body(&refuse(r, LogFields::new()));
            assert!(body["ephemeral_text"]
                .as_str()
                .unwrap()
                .contains("integration.context.user_id"));
        }
        let body = body(&refuse(
            Refusal::NoRoute {
                path: "/api/v1/x".into(),
            },
            LogFields::new(),
        ));
        assert!(body["ephemeral_text"]
            .as_str()
            .unwrap()
            .contains(&format!("/plugins/{PLUGIN_ID}/api/v1/handler")));
    }

    #[test]
    fn a_quoted_message_ending_in_a_full_stop_gets_no_second_one() {
        let body = body(&refuse(
            Refusal::DialogRefused {
                detail: "Unable to open dialog.".into(),
            },
            LogFields::new(),
        ));
        assert!(
            body["ephemeral_text"]
                .as_str()
                .unwrap()
                .ends_with("dialog: Unable to open dialog."),
            "{body}"
        );
    }

    #[test]
    fn a_fault_is_a_500_that_does_not_leak_its_detail_to_the_user() {
        let d = fault_decision("wasm trap: unreachable");
        assert_eq!(d.response().status, 500);
        let body = body(&d);
        assert!(!body["ephemeral_text"]
            .as_str()
            .unwrap()
            .contains("unreachable"));
        assert!(
            matches!(&d.effects[0], Effect::Log { level: LogLevel::Error, fields, .. } if fields["reason"].contains("unreachable"))
        );
    }
}
