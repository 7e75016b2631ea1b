//! What the KV store keeps for one open dialog, and under which key.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One open dialog.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Session<'a> {
    /// The bot that opened the dialog and receives the submission.
    pub(super) recipient: String,
    /// The person the trigger was issued for: the only one who may submit.
    pub(super) user_id: String,
    /// Milliseconds since the epoch; the KV entry expires then too.
    pub(super) expires_at: u64,
    /// The definition, as the bot sent it.
    #[serde(borrow)]
    pub(super) dialog: &'a RawValue,
}

/// The KV key of a session.
pub(super) fn session_key(session_id: &str) -> String {
    format!("dialog_{session_id}")
}
