//! What the KV store keeps for one open dialog, and under which key.

use crate::body::{self, Fields};
use crate::effect::Effect;
use crate::facts::{Answer, Fact};
use crate::form::definition::Dialog;
use crate::ids::{is_mattermost_id, UserId};
use crate::input::{Context, Request};
use crate::refusal::Refusal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One open dialog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Session {
    /// The bot that opened the dialog and receives the submission.
    pub(super) recipient: String,
    /// The person the trigger was issued for: the only one who may submit.
    pub(super) user_id: String,
    /// The channel of the click that issued the trigger: the submission names it.
    pub(super) channel_id: String,
    /// That channel's team (empty for direct and group messages).
    pub(super) team_id: String,
    /// Milliseconds since the epoch; the KV entry expires then too.
    pub(super) expires_at: u64,
    /// The definition, reduced to what checking a submission needs.
    pub(super) dialog: Dialog,
    /// The dynamic selects whose options the bot gives (SPEC §11): the plugin pointed their
    /// `data_source_url` at this session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) lookups: Vec<String>,
}

impl Session {
    /// Seconds until the session expires (at least one: a store with 0 would keep it forever).
    pub(super) fn remaining_s(&self, now_ms: u64) -> u64 {
        (self.expires_at.saturating_sub(now_ms) / 1000).max(1)
    }
}

/// The KV key of a session.
pub(super) fn session_key(session_id: &str) -> String {
    format!("dialog_{session_id}")
}

/// How old a copy of a session a lookup may read (SPEC §11, issue 20: a lookup touches no
/// store). A person typing in a dynamic select sends a lookup per keystroke; the node that
/// opened the dialog remembers the session it stored, and every change lookups depend on (a
/// refresh, a bot's next form) makes every node forget its copy, so the age only bounds a copy
/// a change raced with. A submission consumes the session without forgetting it: a copy can
/// then serve only the same person's lookups on a closed dialog, for at most this long.
/// Submissions and refreshes always read the store: they change it.
pub(super) const SESSION_CACHE_MS: u32 = 30_000;

/// The session as stored (a lookup accepts a copy [`SESSION_CACHE_MS`] old).
pub(super) fn stored_session(session_id: &str) -> Fact {
    Fact::KvGet {
        key: session_key(session_id),
    }
}

/// A session just stored: this node keeps it for the lookups that follow.
pub(super) fn remember(session_id: &str, stored: &RawValue) -> Effect {
    Effect::Remember {
        fact: stored_session(session_id),
        found: stored.to_owned(),
    }
}

/// A session changed or went: every node forgets its copy (the other nodes by a message, when
/// there are others).
pub(super) fn forget(session_id: &str, ctx: &Context) -> Vec<Effect> {
    crate::delivery::forget_everywhere(session_key(session_id), ctx)
}

/// What every request about a session checks first: a signed-in caller, a session id of
/// Mattermost's shape (a made-up path gets the form's own refusal, never an error body the
/// dialog cannot show), and a body naming the caller as `user_id`.
pub(super) fn caller_and_fields<'a>(
    request: &Request<'a>,
    session_id: &str,
) -> Result<(UserId, Fields<'a>), Refusal> {
    let caller = request.caller()?;
    if !is_mattermost_id(session_id) {
        return Err(Refusal::DialogNotFound);
    }
    let fields = body::fields(request)?;
    let claimed: String = fields.get("user_id", "a string")?.unwrap_or_default();
    if claimed != caller.as_str() {
        return Err(Refusal::UserMismatch {
            claimed,
            caller: caller.to_string(),
        });
    }
    Ok((caller, fields))
}

/// The stored session `answer` holds (and its text as stored), if it is still open and was
/// opened for `caller`.
pub(super) fn open_for<'a>(
    answer: &Answer<Option<&'a RawValue>>,
    caller: &UserId,
    now_ms: u64,
) -> Result<(Session, &'a RawValue), Refusal> {
    let raw = match answer {
        Answer::Found(Some(raw)) => *raw,
        Answer::Found(None) => return Err(Refusal::DialogNotFound),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "form",
                detail: e.to_string(),
            })
        }
    };
    let session: Session = serde_json::from_str(raw.get()).map_err(|e| Refusal::Internal {
        detail: format!("reading the session: {e}"),
    })?;
    if session.expires_at < now_ms {
        return Err(Refusal::DialogNotFound);
    }
    if session.user_id != caller.as_str() {
        return Err(Refusal::WrongSubmitter);
    }
    Ok((session, raw))
}
