//! Trigger ids: Mattermost issues one with every click and command, for opening one dialog.
//!
//! A trigger id is `base64("<client trigger id>:<user id>:<millis>:<base64 signature>")`
//! (`model.GenerateTriggerId`). Mattermost checks the signature when a dialog is opened, and
//! refuses a trigger older than its `OutgoingIntegrationRequestsTimeout` (30 s by default).
//!
//! The dialog a trigger opens is bound to where the click or command that issued it was made,
//! so that its submission names that channel. The place travels with the event, not through
//! the store: the event carries `proxy.trigger_token`, the place signed with the plugin's key,
//! which the bot hands back when it opens the dialog, on whichever node. A click costs no
//! write for it; the dialog's opening pays for the one write that makes a trigger open one
//! dialog only. For bots that send the trigger id alone, the node that delivered the event
//! also remembers the place in memory for a minute.

use crate::ids::is_mattermost_id;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// What a trigger id says, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trigger {
    /// Mattermost's id for this one trigger: unique, so it names the trigger in the KV store.
    pub(crate) client_id: String,
    /// The person it was issued for.
    pub(crate) user_id: String,
    /// When Mattermost issued it, milliseconds since the epoch.
    pub(crate) issued_at: u64,
}

/// How long a node remembers where a trigger it delivered was issued (for a bot that opens
/// the dialog without `trigger_token`): Mattermost's default trigger lifetime, twice.
pub(crate) const TRIGGER_MEMORY_MS: u32 = 60_000;

/// The domain of a trigger token's MAC: no signature of a button can pass for one.
const TOKEN_DOMAIN: &[u8] = b"socket-mode trigger v1\n";

/// Where a trigger was issued: what the plugin remembers for [`TRIGGER_MEMORY_MS`].
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
        let issued_at = timestamp.parse::<u64>().ok()?;
        (is_mattermost_id(client) && is_mattermost_id(user) && !signature.is_empty()).then(|| {
            Trigger {
                client_id: client.to_owned(),
                user_id: user.to_owned(),
                issued_at,
            }
        })
    }

    /// The fact under which a node remembers the place of this trigger (in memory only).
    pub(crate) fn remembered(&self) -> crate::facts::Fact {
        crate::facts::Fact::KvGet {
            key: format!("trigger_{}", self.client_id),
        }
    }

    /// The KV key that marks this trigger used: written when it opens a dialog.
    pub(crate) fn used_key(&self) -> String {
        format!("trigger_used_{}", self.client_id)
    }

    /// Until when Mattermost lets this trigger open a dialog (`proxy.trigger_expires_at`).
    pub(crate) fn expires_at(&self, settings: &crate::settings::Settings) -> u64 {
        self.issued_at
            .saturating_add(u64::from(settings.trigger_seconds) * 1000)
    }
}

/// What an event carries of its trigger: the signed place, and until when it opens a dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Issued {
    pub(crate) trigger_token: String,
    pub(crate) trigger_expires_at: u64,
}

/// The place of a trigger, signed for `bot` with `key` (`proxy.trigger_token`):
/// `<base64url channel and team>.<base64url MAC>`. The MAC also covers what the token's
/// redeemer knows without it (the trigger, the person, the bot), so what a bot gets it can only
/// hand back: it cannot change the place without the key, nor use the token with another
/// trigger or as another bot.
pub(crate) fn issue(
    trigger: &Trigger,
    place: &Place,
    bot: &str,
    key: &crate::sign::Keyring,
    settings: &crate::settings::Settings,
) -> Issued {
    let payload = Token {
        c: place.channel_id.clone(),
        m: place.team_id.clone(),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("a token serializes"));
    let mac = crate::sign::mac::hmac(key.token_key(), &signed_parts(trigger, bot, &payload));
    Issued {
        trigger_token: format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac)),
        trigger_expires_at: trigger.expires_at(settings),
    }
}

/// The place `token` vouches for, when it was issued for `trigger` and `bot` under `key`.
pub(crate) fn redeem(
    token: &str,
    trigger: &Trigger,
    bot: &str,
    key: &crate::sign::Keyring,
) -> Option<Place> {
    let (payload, mac) = token.split_once('.')?;
    let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
    if !crate::sign::mac::verify(key.token_key(), &signed_parts(trigger, bot, payload), &mac) {
        return None;
    }
    let t: Token = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    Some(Place {
        user_id: trigger.user_id.clone(),
        channel_id: t.c,
        team_id: t.m,
    })
}

/// What a trigger token's MAC covers: its domain, the trigger, the person, the bot, the place.
fn signed_parts<'a>(trigger: &'a Trigger, bot: &'a str, payload: &'a str) -> [&'a [u8]; 8] {
    [
        TOKEN_DOMAIN,
        trigger.client_id.as_bytes(),
        b"\n",
        trigger.user_id.as_bytes(),
        b"\n",
        bot.as_bytes(),
        b"\n",
        payload.as_bytes(),
    ]
}

/// A trigger token's payload: what the redeemer cannot know otherwise, in short keys.
#[derive(Serialize, Deserialize)]
struct Token {
    /// The channel.
    c: String,
    /// The team (empty for direct and group messages).
    m: String,
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
        assert_eq!(t.issued_at, 1_700_000_000_000);
        assert_eq!(t.used_key(), format!("trigger_used_{client}"));
        let settings = crate::settings::Settings::default();
        assert_eq!(
            t.expires_at(&settings),
            1_700_000_030_000,
            "30 s, Mattermost's default"
        );
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

    #[test]
    fn a_token_gives_back_its_place_for_its_trigger_and_bot_alone() {
        let user = "abcdefghijklmnopqrstuvwxyz";
        let trigger = |client: &str| {
            let text = format!("{client}:{user}:1700000000000:c2lnbmF0dXJl");
            Trigger::parse(&base64_encode(text.as_bytes())).unwrap()
        };
        let (mine, other) = (
            trigger("cccccccccccccccccccccccccc"),
            trigger("dddddddddddddddddddddddddd"),
        );
        let place = Place {
            user_id: user.into(),
            channel_id: "chanchanchanchanchanchan01".into(),
            team_id: "teamteamteamteamteamteam01".into(),
        };
        let key = crate::sign::Keyring::new([5; 16]);
        let bot = "bot1bot1bot1bot1bot1bot1b1";
        let settings = crate::settings::Settings::default();
        let issued = issue(&mine, &place, bot, &key, &settings);
        assert_eq!(
            redeem(&issued.trigger_token, &mine, bot, &key),
            Some(place.clone())
        );
        assert_eq!(
            redeem(&issued.trigger_token, &other, bot, &key),
            None,
            "another trigger"
        );
        assert_eq!(
            redeem(
                &issued.trigger_token,
                &mine,
                "otherbototherbototherbot01",
                &key
            ),
            None,
            "another bot"
        );
        assert_eq!(
            redeem(
                &issued.trigger_token,
                &mine,
                bot,
                &crate::sign::Keyring::new([6; 16])
            ),
            None,
            "another key"
        );
        // A payload changed (another channel) does not match its MAC.
        let (payload, mac) = issued.trigger_token.split_once('.').unwrap();
        let mut forged: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        forged["c"] = "elsewhereelsewhereelsewhe1".into();
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(forged.to_string()));
        assert_eq!(redeem(&forged, &mine, bot, &key), None, "a place changed");
        for junk in ["", ".", "x.y", "no dot"] {
            assert_eq!(redeem(junk, &mine, bot, &key), None);
        }
    }

    fn base64_encode(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }
}
