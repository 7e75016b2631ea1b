//! Trigger ids: Mattermost issues one with every click and command, for opening one dialog.
//!
//! A trigger id is `base64("<client trigger id>:<user id>:<millis>:<base64 signature>")`
//! (`model.GenerateTriggerId`). Mattermost checks the signature when a dialog is opened; the
//! plugin reads who it was issued for, and remembers, for a minute, where the click that
//! issued it was made, so that the dialog it opens is bound to that channel.

use crate::ids::is_mattermost_id;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// What a trigger id says, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trigger {
    /// Mattermost's id for this one trigger: unique, so it names the trigger in the KV store.
    pub(crate) client_id: String,
    /// The person it was issued for.
    pub(crate) user_id: String,
}

/// How long the plugin remembers where a trigger was issued. Mattermost refuses a trigger
/// older than a few seconds, so a minute is ample.
pub(crate) const TRIGGER_MEMORY_S: u64 = 60;

/// Where a trigger was issued: what the plugin remembers for [`TRIGGER_MEMORY_S`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Place {
    /// The person the trigger was issued for.
    pub(crate) user_id: String,
    /// The channel of the click.
    pub(crate) channel_id: String,
    /// That channel's team; empty for direct and group messages.
    pub(crate) team_id: String,
}

impl Trigger {
    /// Reads a trigger id; `None` when it is not one Mattermost issued.
    pub(crate) fn parse(trigger_id: &str) -> Option<Self> {
        let decoded = String::from_utf8(STANDARD.decode(trigger_id).ok()?).ok()?;
        let mut parts = decoded.splitn(4, ':');
        let (client, user, timestamp, signature) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (is_mattermost_id(client)
            && is_mattermost_id(user)
            && timestamp.parse::<u64>().is_ok()
            && !signature.is_empty())
        .then(|| Trigger {
            client_id: client.to_owned(),
            user_id: user.to_owned(),
        })
    }

    /// The KV key under which the place of this trigger is remembered.
    pub(crate) fn key(&self) -> String {
        format!("trigger_{}", self.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_ids_name_the_user_they_were_issued_for() {
        // base64("client:<user>:<millis>:<signature>"), as model.GenerateTriggerId builds it.
        let user = "abcdefghijklmnopqrstuvwxyz";
        let client = "cccccccccccccccccccccccccc";
        let text = format!("{client}:{user}:1700000000000:c2lnbmF0dXJl");
        let t = Trigger::parse(&base64_encode(text.as_bytes())).unwrap();
        assert_eq!((t.client_id.as_str(), t.user_id.as_str()), (client, user));
        assert_eq!(t.key(), format!("trigger_{client}"));
        assert_eq!(Trigger::parse("not base64!"), None);
        assert_eq!(Trigger::parse(&base64_encode(b"c1:short:1:x")), None);
        assert_eq!(
            Trigger::parse(&base64_encode(format!("c1:{user}:1:x").as_bytes())),
            None,
            "the client trigger id is a Mattermost id too"
        );
        assert_eq!(
            Trigger::parse(&base64_encode(format!("{client}:{user}:soon:x").as_bytes())),
            None
        );
        assert_eq!(Trigger::parse(""), None);
    }

    fn base64_encode(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }
}
