//! What the KV store keeps for one open dialog, and under which key.

use crate::form::definition::Dialog;
use serde::{Deserialize, Serialize};

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
