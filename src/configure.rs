//! The settings hooks: what the plugin runs with when the saved settings are read, and what it
//! says when they are wrong.

use crate::effect::{Effect, LogFields, LogLevel};
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// When the settings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigEvent {
    /// `OnActivate`: the plugin starts with the saved settings.
    Activate,
    /// `OnConfigurationChange`: an administrator saved new settings.
    Change,
    /// `ConfigurationWillBeSaved`: settings are about to be saved; wrong ones are refused.
    Save,
}

/// The settings to run with, and what to tell Mattermost.
#[must_use = "the settings in force must be kept, and the error returned from the hook"]
#[derive(Debug, Clone, Serialize)]
pub struct Configured {
    /// The settings in force from now on (for [`ConfigEvent::Save`], those being saved).
    pub settings: Settings,
    /// The error the hook returns, naming the setting; `None` when the hook succeeds.
    pub error: Option<String>,
    /// Carried out in order.
    pub effects: Vec<Effect>,
}

/// What the plugin runs with of the server's own configuration, read with its settings (the
/// shim reads it on every configuration change, never per request).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Server {
    /// `ServiceSettings.SiteURL` (empty when it has none).
    #[serde(default)]
    pub site_url: String,
    /// `ClusterSettings.Enable`.
    #[serde(default)]
    pub clustered: bool,
    /// `ServiceSettings.OutgoingIntegrationRequestsTimeout`, seconds (0: Mattermost's default).
    #[serde(default)]
    pub integration_timeout_s: u32,
    /// `ServiceSettings.EnableCommands` is off: Mattermost runs no team's own slash command.
    /// Said as "off" so that a shim that does not say means "on", the side that asks.
    #[serde(default)]
    pub custom_commands_off: bool,
}

/// Reads the plugin's section of Mattermost's configuration for `event`, with the server's
/// (whatever the plugin's settings say). Wrong settings never stop the plugin: at activation it
/// runs with the defaults until they are fixed, on a change it keeps the settings it had.
pub fn configure(
    config: &Map<String, Value>,
    previous: Option<Settings>,
    event: ConfigEvent,
    server: &Server,
) -> Configured {
    let mut configured = read(config, previous, event);
    configured.settings.site_url = server.site_url.clone();
    configured.settings.clustered = server.clustered;
    configured.settings.custom_commands_off = server.custom_commands_off;
    if server.integration_timeout_s > 0 {
        configured.settings.trigger_seconds = server.integration_timeout_s;
    }
    configured
}

fn read(config: &Map<String, Value>, previous: Option<Settings>, event: ConfigEvent) -> Configured {
    let problem = match Settings::from_plugin_config(config) {
        Ok(settings) => {
            return Configured {
                settings,
                error: None,
                effects: Vec::new(),
            }
        }
        Err(problem) => problem,
    };
    let log = |message: &str| {
        let mut fields = LogFields::new();
        fields.insert("error", problem.message.clone());
        vec![Effect::Log {
            level: LogLevel::Error,
            message: message.to_owned(),
            fields,
        }]
    };
    let (settings, error, effects) = match event {
        ConfigEvent::Activate => (
            Settings::default(),
            None,
            log("the saved settings are invalid; using the defaults until they are fixed"),
        ),
        ConfigEvent::Change => (
            previous.unwrap_or_default(),
            Some(problem.message.clone()),
            log("the new settings are invalid; keeping the previous ones"),
        ),
        ConfigEvent::Save => (
            previous.unwrap_or_default(),
            Some(problem.message.clone()),
            Vec::new(),
        ),
    };
    Configured {
        settings,
        error,
        effects,
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
    fn valid_settings_are_taken_whatever_the_event() {
        for event in [
            ConfigEvent::Activate,
            ConfigEvent::Change,
            ConfigEvent::Save,
        ] {
            let c = configure(
                &config(json!({"verifyprovenance": false})),
                None,
                event,
                &Server::default(),
            );
            assert!(!c.settings.verify_provenance);
            assert!(c.error.is_none() && c.effects.is_empty());
        }
    }

    #[test]
    fn wrong_settings_at_activation_run_the_defaults_and_say_so_in_the_log() {
        let c = configure(
            &config(json!({"verifyprovenance": "maybe"})),
            None,
            ConfigEvent::Activate,
            &Server::default(),
        );
        assert_eq!(c.settings, Settings::default());
        assert!(c.error.is_none(), "the plugin still starts");
        assert!(
            matches!(&c.effects[..], [Effect::Log { level: LogLevel::Error, fields, .. }]
            if fields["error"].contains("VerifyProvenance"))
        );
    }

    #[test]
    fn wrong_settings_on_a_change_keep_the_previous_ones_and_fail_the_hook() {
        let previous = Settings {
            verify_provenance: false,
            ..Settings::default()
        };
        let c = configure(
            &config(json!({"dialogsessionminutes": 0})),
            Some(previous.clone()),
            ConfigEvent::Change,
            &Server::default(),
        );
        assert_eq!(c.settings, previous);
        assert!(c.error.unwrap().contains("DialogSessionMinutes"));
        assert_eq!(c.effects.len(), 1);
    }

    #[test]
    fn the_site_url_is_the_servers_whatever_the_settings() {
        for (config, event) in [
            (json!({}), ConfigEvent::Activate),
            (json!({"dialogsessionminutes": 0}), ConfigEvent::Change),
        ] {
            let c = configure(
                &super::tests::config(config),
                None,
                event,
                &Server {
                    site_url: "https://chat.example.com".into(),
                    clustered: true,
                    integration_timeout_s: 12,
                    custom_commands_off: true,
                },
            );
            assert_eq!(c.settings.site_url, "https://chat.example.com");
            assert!(c.settings.clustered);
            assert!(c.settings.custom_commands_off);
            assert_eq!(c.settings.trigger_seconds, 12);
        }
    }

    #[test]
    fn wrong_settings_are_refused_before_they_are_saved() {
        let c = configure(
            &config(json!({"dialogsessionminutes": 0})),
            None,
            ConfigEvent::Save,
            &Server::default(),
        );
        assert!(c.error.unwrap().contains("Dialog session lifetime"));
        assert!(
            c.effects.is_empty(),
            "System Console shows the error itself"
        );
    }
}
