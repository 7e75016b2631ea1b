//! What the KV store keeps for one open dialog, and under which key.

use super::definition::Dialog;
use serde::{Deserialize, Serialize};

/// The most a session may take in the KV store; a definition whose session would be larger is
/// refused when the dialog is opened.
pub(super) const MAX_SESSION_BYTES: usize = 256 << 10;

/// One open dialog.
#[derive(Debug, Serialize, Deserialize)]
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
}

/// The KV key of a session.
pub(super) fn session_key(session_id: &str) -> String {
    format!("dialog_{session_id}")
}
