//! The System Console settings, checked once when they are saved and passed in with every call.

use crate::json::type_name;
use crate::manifest::SETTINGS;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The plugin's settings, in the normalized form the shim passes back in with every request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Deliver a click only when the post, channel, button and recipient all check out.
    pub verify_provenance: bool,
    /// Deliver clicks on posts that are not stored (ephemeral posts), marked unverified.
    pub allow_unverified_ephemeral: bool,
    /// How long a dialog opened through the plugin accepts its submission, in minutes.
    #[serde(default = "default_dialog_minutes")]
    pub dialog_session_minutes: u32,
    /// How long a click waits for a subscribed bot's answer, in milliseconds; 0 never waits.
    #[serde(default = "default_answer_window")]
    pub answer_window_ms: u32,
    /// How long an unacknowledged event is kept for a subscribed bot, in hours.
    #[serde(default = "default_keep_hours")]
    pub keep_hours: u32,
    /// The most unacknowledged events kept for one bot.
    #[serde(default = "default_kept_per_bot")]
    pub kept_per_bot: u32,
    /// Refuse a post whose buttons aimed at the plugin can never work (lint errors).
    #[serde(default)]
    pub refuse_dead_buttons: bool,
    /// The server's `ServiceSettings.SiteURL` (not a setting of the plugin's: the server's
    /// address, which the shim reads with the settings). Mattermost calls the plugin for a
    /// button whose absolute `integration.url` is on it, and for no other host; empty when the
    /// server has none.
    #[serde(default)]
    pub site_url: String,
    /// Whether the server runs in a cluster (`ClusterSettings.Enable`, the server's, read with
    /// the settings): an acknowledgement of an event this node does not know is then asked of
    /// the other nodes.
    #[serde(default)]
    pub clustered: bool,
    /// How long a trigger id opens a dialog, in seconds: the server's
    /// `ServiceSettings.OutgoingIntegrationRequestsTimeout` (Mattermost's
    /// `OpenInteractiveDialog` refuses a trigger older than that), 30 by default.
    #[serde(default = "default_trigger_seconds")]
    pub trigger_seconds: u32,
    /// The server runs no team's own slash commands (`ServiceSettings.EnableCommands` off, the
    /// server's, read with the settings): a slash command then need not ask whether the team
    /// has one of its trigger.
    #[serde(default)]
    pub custom_commands_off: bool,
}

fn default_trigger_seconds() -> u32 {
    30
}

fn default_dialog_minutes() -> u32 {
    Settings::default().dialog_session_minutes
}

fn default_answer_window() -> u32 {
    Settings::default().answer_window_ms
}

fn default_keep_hours() -> u32 {
    Settings::default().keep_hours
}

fn default_kept_per_bot() -> u32 {
    Settings::default().kept_per_bot
}

/// A setting that cannot be saved, named the way System Console shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SettingsError {
    /// The setting's key in `plugin.json`.
    pub setting: String,
    /// What is wrong, in words for an administrator; it names the setting.
    pub message: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_plugin_config(&Map::new()).expect("the defaults in plugin.json are valid")
    }
}

impl Settings {
    /// Reads the plugin's section of Mattermost's configuration (keys in any case, as
    /// Mattermost lowercases them), filling in `plugin.json`'s defaults for missing keys.
    pub fn from_plugin_config(config: &Map<String, Value>) -> Result<Self, SettingsError> {
        Ok(Self {
            verify_provenance: boolean(config, "VerifyProvenance")?,
            allow_unverified_ephemeral: boolean(config, "AllowUnverifiedEphemeral")?,
            dialog_session_minutes: whole_number(config, "DialogSessionMinutes", 1..=1440)?,
            answer_window_ms: whole_number(config, "AnswerWindowMs", 0..=10_000)?,
            keep_hours: whole_number(config, "KeepHours", 1..=168)?,
            kept_per_bot: whole_number(config, "KeptPerBot", 1..=10_000)?,
            refuse_dead_buttons: boolean(config, "RefuseDeadButtons")?,
            site_url: String::new(),
            clustered: false,
            trigger_seconds: default_trigger_seconds(),
            custom_commands_off: false,
        })
    }
}

/// The value of setting `key` from `config`, or its default.
fn lookup(config: &Map<String, Value>, key: &str) -> (Value, &'static str) {
    let (_, name, default) = SETTINGS
        .iter()
        .find(|(k, _, _)| *k == key)
        .unwrap_or_else(|| panic!("setting {key} is missing from plugin.json"));
    let given = config
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.clone());
    let value = given
        .filter(|v| !v.is_null())
        .unwrap_or_else(|| serde_json::from_str(default).expect("build.rs wrote valid JSON"));
    (value, name)
}

fn boolean(config: &Map<String, Value>, key: &str) -> Result<bool, SettingsError> {
    let (value, name) = lookup(config, key);
    match value {
        Value::Bool(b) => Ok(b),
        // config.json edited by hand, or an environment variable, gives text.
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(SettingsError {
            setting: key.to_owned(),
            message: format!(
                "\"{name}\" ({key}) must be true or false, not {} {other}",
                type_name(&other)
            ),
        }),
    }
}

fn whole_number(
    config: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, SettingsError> {
    let (value, name) = lookup(config, key);
    let number = match &value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if n.fract() == 0.0 && range.contains(&(n as u32)) && n >= 0.0 => Ok(n as u32),
        _ => Err(SettingsError {
            setting: key.to_owned(),
            message: format!(
                "\"{name}\" ({key}) must be a whole number from {} to {}, not {value}",
                range.start(),
                range.end()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_come_from_plugin_json_verification_on_ephemeral_off() {
        assert_eq!(
            Settings::default(),
            Settings {
                verify_provenance: true,
                allow_unverified_ephemeral: false,
                dialog_session_minutes: 30,
                answer_window_ms: 2500,
                keep_hours: 24,
                kept_per_bot: 1000,
                refuse_dead_buttons: false,
                site_url: String::new(),
                clustered: false,
                trigger_seconds: 30,
                custom_commands_off: false,
            }
        );
    }

    #[test]
    fn keys_are_read_in_any_case_as_mattermost_lowercases_them() {
        let s = Settings::from_plugin_config(&config(
            json!({"verifyprovenance": false, "ALLOWUNVERIFIEDEPHEMERAL": "true"}),
        ))
        .unwrap();
        assert_eq!(
            s,
            Settings {
                verify_provenance: false,
                allow_unverified_ephemeral: true,
                ..Settings::default()
            }
        );
    }

    #[test]
    fn a_setting_of_the_wrong_type_is_refused_with_its_name() {
        let err =
            Settings::from_plugin_config(&config(json!({"verifyprovenance": "yes"}))).unwrap_err();
        assert_eq!(err.setting, "VerifyProvenance");
        assert!(
            err.message
                .contains("Verify that clicks come from the bot's own messages"),
            "{}",
            err.message
        );
        assert!(err.message.contains("true or false"), "{}", err.message);
    }

    #[test]
    fn dialog_lifetime_is_a_whole_number_of_minutes_up_to_a_day() {
        for (given, want) in [
            (json!(5), Some(5)),
            (json!("90"), Some(90)),
            (json!(1440), Some(1440)),
            (json!(0), None),
            (json!(1441), None),
            (json!(2.5), None),
            (json!(-3), None),
            (json!(true), None),
        ] {
            let got = Settings::from_plugin_config(&config(
                json!({"dialogsessionminutes": given.clone()}),
            ));
            match want {
                Some(n) => assert_eq!(got.unwrap().dialog_session_minutes, n, "{given}"),
                None => {
                    let err = got.unwrap_err();
                    assert_eq!(err.setting, "DialogSessionMinutes");
                    assert!(
                        err.message.contains("Dialog session lifetime (minutes)"),
                        "{}",
                        err.message
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_keys_and_nulls_are_ignored() {
        let s = Settings::from_plugin_config(&config(
            json!({"oldsetting": 3, "verifyprovenance": null}),
        ))
        .unwrap();
        assert_eq!(s, Settings::default());
    }
}
