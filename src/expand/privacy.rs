//! What Mattermost's REST API leaves out when it shows an entity to the bot, rule for rule
//! (`User.SanitizeProfile`, `App.SanitizeTeam`, `Post.StripActionIntegrations`), and the
//! fields each summary keeps.
//!
//! The plugin API returns entities unsanitized (a user's password hash, MFA secret, email);
//! every rule here runs before anything reaches the bot.

use crate::ids::UserId;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The server's privacy settings (`PrivacySettings`) and default language.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Settings {
    pub(crate) show_email_address: bool,
    pub(crate) show_full_name: bool,
    #[serde(default)]
    pub(crate) default_client_locale: String,
    /// `ComplianceSettings.Enable`: then a public channel's posts need `read_channel_content`.
    #[serde(default)]
    pub(crate) compliance_enabled: bool,
}

/// A user as `GET /api/v4/users/{id}` shows it to `bot`: `Sanitize({})` for the bot itself,
/// otherwise `SanitizeProfile(options, admin)` with the privacy settings' options.
pub(crate) fn user(mut user: Value, bot: &UserId, settings: &Settings, admin: bool) -> Value {
    let Some(u) = user.as_object_mut() else {
        return user;
    };
    // Sanitize: always.
    for key in [
        "password",
        "mfa_secret",
        "mfa_used_timestamps",
        "last_login",
    ] {
        u.remove(key);
    }
    if u.get("id").and_then(Value::as_str) == Some(bot.as_str()) {
        return user;
    }
    // ClearNonProfileFields.
    for key in ["email_verified", "allow_marketing", "last_password_update"] {
        u.remove(key);
    }
    if !admin {
        u.insert("auth_data".into(), Value::from(""));
        u.remove("notify_props");
        u.remove("failed_attempts");
    }
    // Sanitize(options): an administrator sees everything.
    if !(settings.show_email_address || admin) {
        u.insert("email".into(), Value::from(""));
        if let Some(Value::Object(props)) = u.get_mut("props") {
            props.remove("remote_email");
        }
    }
    if !(settings.show_full_name || admin) {
        u.insert("first_name".into(), Value::from(""));
        u.insert("last_name".into(), Value::from(""));
    }
    if !admin {
        u.insert("auth_service".into(), Value::from(""));
        u.insert("auth_data".into(), Value::from(""));
    }
    user
}

/// A team as `GET /api/v4/teams/{id}` shows it: its email only to who may manage it, its
/// invite id only to who may invite.
pub(crate) fn team(mut team: Value, manage: bool, invite: bool) -> Value {
    if let Some(t) = team.as_object_mut() {
        if !manage {
            t.insert("email".into(), Value::from(""));
        }
        if !invite {
            t.insert("invite_id".into(), Value::from(""));
        }
    }
    team
}

/// A post without what no client is shown: the integrations of its actions (their URLs and
/// contexts, the plugin's signatures among them). `metadata` is left out too: the REST API
/// prepares it for each reader, the plugin API does not.
pub(crate) fn post(mut post: Value) -> Value {
    let Some(p) = post.as_object_mut() else {
        return post;
    };
    p.remove("metadata");
    let attachments = p
        .get_mut("props")
        .and_then(|props| props.get_mut("attachments"))
        .and_then(Value::as_array_mut);
    for attachment in attachments.into_iter().flatten() {
        let actions = attachment.get_mut("actions").and_then(Value::as_array_mut);
        for action in actions.into_iter().flatten() {
            if let Some(action) = action.as_object_mut() {
                action.remove("integration");
            }
        }
    }
    post
}

/// The fields a summary keeps, by entity.
fn summary_fields(name: &str) -> &'static [&'static str] {
    match name {
        "acting_user" => &[
            "id",
            "username",
            "nickname",
            "first_name",
            "last_name",
            "email",
            "position",
            "locale",
            "timezone",
            "roles",
            "is_bot",
            "bot_description",
            "delete_at",
        ],
        "channel" => &[
            "id",
            "team_id",
            "type",
            "name",
            "display_name",
            "header",
            "purpose",
            "delete_at",
        ],
        "team" => &[
            "id",
            "name",
            "display_name",
            "type",
            "description",
            "delete_at",
        ],
        _ => &[
            "id",
            "user_id",
            "channel_id",
            "root_id",
            "type",
            "message",
            "create_at",
            "update_at",
            "edit_at",
            "delete_at",
        ],
    }
}

/// `value` (already shown as to the bot) at `level`.
pub(crate) fn at_level(name: &str, value: Value, level: super::Level) -> Value {
    match (level, value) {
        (super::Level::Summary, Value::Object(all)) => {
            let keep = summary_fields(name);
            let picked: Map<String, Value> = all
                .into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect();
            Value::Object(picked)
        }
        (_, value) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BOT: &str = "bot1bot1bot1bot1bot1bot1b1";

    fn alice() -> Value {
        json!({"id": "alicealicealicealicealice1", "username": "alice", "email": "a@x.io",
               "first_name": "Alice", "last_name": "Liddell", "password": "$2a$hash",
               "mfa_secret": "s", "auth_data": "ad", "auth_service": "gitlab",
               "notify_props": {"email": "true"}, "props": {"remote_email": "r@x.io", "k": "v"},
               "email_verified": true, "last_password_update": 5, "failed_attempts": 1,
               "locale": "de", "roles": "system_user"})
    }

    fn settings(email: bool, names: bool) -> Settings {
        Settings {
            show_email_address: email,
            show_full_name: names,
            default_client_locale: "en".into(),
            compliance_enabled: false,
        }
    }

    #[test]
    fn a_user_shows_no_secret_and_only_what_the_privacy_settings_allow() {
        let bot = UserId::parse(BOT).unwrap();
        let hidden = user(alice(), &bot, &settings(false, false), false);
        assert_eq!(
            hidden,
            json!({"id": "alicealicealicealicealice1", "username": "alice", "email": "",
                   "first_name": "", "last_name": "", "auth_data": "", "auth_service": "",
                   "props": {"k": "v"}, "locale": "de", "roles": "system_user"})
        );
        let shown = user(alice(), &bot, &settings(true, true), false);
        assert_eq!(shown["email"], "a@x.io");
        assert_eq!(shown["first_name"], "Alice");
        assert_eq!(shown["props"]["remote_email"], "r@x.io");
        assert!(shown.get("password").is_none() && shown.get("notify_props").is_none());
        let admin = user(alice(), &bot, &settings(false, false), true);
        assert_eq!(admin["email"], "a@x.io");
        assert_eq!(admin["auth_service"], "gitlab");
        assert!(admin.get("password").is_none() && admin.get("mfa_secret").is_none());
    }

    #[test]
    fn a_post_loses_its_integrations_and_a_summary_keeps_its_fields() {
        let p = post(
            json!({"id": "p", "message": "hi", "metadata": {"embeds": []},
            "props": {"attachments": [{"actions": [{"id": "a", "name": "Go",
            "integration": {"url": "u", "context": {"_socket_mode_signature": {}}}}]}]}}),
        );
        assert_eq!(
            p,
            json!({"id": "p", "message": "hi",
                   "props": {"attachments": [{"actions": [{"id": "a", "name": "Go"}]}]}})
        );
        assert_eq!(
            at_level("post", p, super::super::Level::Summary),
            json!({"id": "p", "message": "hi"})
        );
        let t = team(
            json!({"id": "t", "email": "t@x.io", "invite_id": "i"}),
            false,
            true,
        );
        assert_eq!(t, json!({"id": "t", "email": "", "invite_id": "i"}));
    }
}
