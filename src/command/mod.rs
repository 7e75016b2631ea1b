//! Slash commands for websocket-only bots (SPEC §12).
//!
//! A bot registers a command with `POST /api/v1/commands` and its token ([`manage`]); the
//! plugin claims the trigger in the KV store (one writer wins it), registers it with Mattermost
//! on every node and again on every activation. When someone types it, Mattermost calls
//! `ExecuteCommand` ([`execute`]): the command goes to the bot as `command` through the
//! delivery layer, and the bot's answer is the command's response.
//!
//! | key | what |
//! |---|---|
//! | `cmd_<trigger>` | who owns the trigger: a [`Registered`], claimed with a create-if-absent |
//! | `commands` | every registered command (a list, unique by trigger): activation and `GET` read it |
//! | `cmdslot_…` | the numbered slots that hold the limits ([`slots`]) |

pub(crate) mod built_in;
pub(crate) mod execute;
pub(crate) mod manage;
pub(crate) mod slots;

use crate::effect::Effect;
use crate::ids::UserId;
use serde::{Deserialize, Serialize};

/// The key of the list of every registered command.
pub(crate) const COMMANDS_KEY: &str = "commands";

/// The most commands one bot may own (its slots: [`slots`]).
pub(crate) const MAX_PER_BOT: usize = 25;

/// The most commands the plugin serves in all.
pub(crate) const MAX_COMMANDS: u32 = 2_000;

/// The longest trigger (Mattermost allows 128; a trigger is typed).
pub(crate) const MAX_TRIGGER_CHARS: usize = 64;

/// The longest description, hint and display name (Mattermost's limits for custom commands).
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 128;
pub(crate) const MAX_HINT_CHARS: usize = 128;
pub(crate) const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// The key of a trigger's owner.
pub(crate) fn owner_key(trigger: &str) -> String {
    format!("cmd_{trigger}")
}

/// One command a bot registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Registered {
    /// Lowercase, without the slash.
    pub(crate) trigger: String,
    /// The bot that serves it.
    pub(crate) bot: UserId,
    #[serde(default)]
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) hint: String,
    #[serde(default)]
    pub(crate) autocomplete: bool,
    /// When it was registered, milliseconds since the epoch.
    #[serde(default)]
    pub(crate) registered_at: u64,
    /// The slots it holds (none for a command registered before slots existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) slots: Option<slots::Slots>,
}

impl Registered {
    /// Registers it with Mattermost on this node.
    pub(crate) fn register(&self) -> Effect {
        Effect::RegisterCommand {
            trigger: self.trigger.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            hint: self.hint.clone(),
            autocomplete: self.autocomplete,
        }
    }
}

/// Reads a trigger as Mattermost matches it (lowercase); `None` when it is not one a person can
/// type: 1 to [`MAX_TRIGGER_CHARS`] letters, digits, `-`, `_` or `.`.
pub(crate) fn parse_trigger(text: &str) -> Option<String> {
    let trigger = text.to_ascii_lowercase();
    let ok = !trigger.is_empty()
        && trigger.len() <= MAX_TRIGGER_CHARS
        && trigger
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(trigger)
}

/// What one node tells the others when a command is added or removed: each reads the
/// trigger's owner again and registers or unregisters it with its own Mattermost process (so
/// that two messages about one trigger, arriving in either order, leave the state the store
/// holds).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    Added(Registered),
    Removed { trigger: String },
}

impl Change {
    /// The trigger it is about.
    fn trigger(&self) -> &str {
        match self {
            Change::Added(command) => &command.trigger,
            Change::Removed { trigger } => trigger,
        }
    }

    /// The effects on this node once the owner is read again (`owner`, asked uncached).
    pub(crate) fn apply(&self, facts: crate::facts::Facts<'_>) -> crate::effect::Outcome {
        use crate::effect::{Decision, Outcome};
        use crate::facts::{present, Answer, Ask, Fact};
        #[derive(Debug, Default, Deserialize)]
        struct OwnerFacts<'a> {
            #[serde(borrow, default, deserialize_with = "present")]
            owner: Option<Answer<Option<&'a serde_json::value::RawValue>>>,
        }
        let trigger = self.trigger();
        let forget = Effect::Forget {
            fact: Fact::KvGet {
                key: owner_key(trigger),
            },
        };
        let Ok(f) = facts.read::<OwnerFacts<'_>>() else {
            return Outcome::Decided(Decision::quiet(self.effects()));
        };
        let Some(owner) = &f.owner else {
            let ask = Ask::one(
                "owner",
                Fact::KvGet {
                    key: owner_key(trigger),
                },
            );
            return ask.after(vec![forget]).into();
        };
        let effects = match owner {
            Answer::Found(Some(raw)) => match serde_json::from_str::<Registered>(raw.get()) {
                Ok(command) => vec![command.register()],
                Err(_) => vec![Effect::UnregisterCommand {
                    trigger: trigger.to_owned(),
                }],
            },
            Answer::Found(None) => vec![Effect::UnregisterCommand {
                trigger: trigger.to_owned(),
            }],
            // The store could not say: what the message said, the best this node knows.
            Answer::Failed(_) => self.effects(),
        };
        Outcome::Decided(Decision::quiet(effects))
    }

    /// The effects on the node where the change was made.
    pub(crate) fn effects(&self) -> Vec<Effect> {
        let forget = Effect::Forget {
            fact: crate::facts::Fact::KvGet {
                key: owner_key(self.trigger()),
            },
        };
        match self {
            Change::Added(command) => vec![command.register(), forget],
            Change::Removed { trigger } => vec![
                Effect::UnregisterCommand {
                    trigger: trigger.clone(),
                },
                forget,
            ],
        }
    }

    /// The message that tells the other nodes.
    pub(crate) fn announce(&self) -> Effect {
        let message = serde_json::json!({ "command": self });
        Effect::Cluster {
            message: serde_json::value::to_raw_value(&message).expect("a change serializes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_is_what_a_person_can_type() {
        assert_eq!(parse_trigger("Deploy").as_deref(), Some("deploy"));
        assert_eq!(
            parse_trigger("on-call_v2.1").as_deref(),
            Some("on-call_v2.1")
        );
        for bad in [
            "",
            "/deploy",
            "de ploy",
            "dé",
            &"x".repeat(MAX_TRIGGER_CHARS + 1),
        ] {
            assert_eq!(parse_trigger(bad), None, "{bad:?}");
        }
    }
}
