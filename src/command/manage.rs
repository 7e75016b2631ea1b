//! `POST /api/v1/commands`, `GET /api/v1/commands` and `DELETE /api/v1/commands/<trigger>`: a
//! bot's own slash commands, with its token.

use super::slots::{self, bot_slot_key, free_bot_slots, free_slots, slot_key, Slots};
use super::{
    owner_key, parse_trigger, Change, Registered, COMMANDS_KEY, MAX_COMMANDS,
    MAX_DESCRIPTION_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_HINT_CHARS, MAX_PER_BOT,
};
use crate::body;
use crate::delivery::store::{document, List};
use crate::effect::Decision;
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::UserId;
use crate::input::{Context, Request};
use crate::model::User;
use crate::refusal::Refusal;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};

/// Where one call leaves a request.
pub(crate) enum Step {
    Ask(Ask),
    Done(Decision),
}

/// What managing commands needs to know and do.
#[derive(Debug, Default, Deserialize)]
struct ManageFacts<'a> {
    /// The caller's account: only bots own commands.
    #[serde(default, deserialize_with = "present")]
    caller: Option<Answer<User>>,
    /// Who owns the trigger (`null`: nobody).
    #[serde(borrow, default, deserialize_with = "present")]
    owner: Option<Answer<Option<&'a RawValue>>>,
    /// The commands Mattermost serves already.
    #[serde(default, deserialize_with = "present")]
    mattermost: Option<Answer<Served>>,
    /// Every registered command.
    #[serde(borrow, default, deserialize_with = "present")]
    commands: Option<Answer<Option<&'a RawValue>>>,
    /// The trigger was claimed (or its record rewritten, for the bot that owns it).
    #[serde(default, deserialize_with = "present")]
    claimed: Option<Answer<bool>>,
    /// The command joined (or left) the list.
    #[serde(default, deserialize_with = "present")]
    listed: Option<Answer<serde_json::Value>>,
    /// The bot's slot this command claimed (`null`: none was free).
    #[serde(default, deserialize_with = "present")]
    bot_slot: Option<Answer<Option<String>>>,
    /// The plugin's slot this command claimed (`null`: none was free).
    #[serde(default, deserialize_with = "present")]
    slot: Option<Answer<Option<String>>>,
}

/// What [`Fact::MattermostCommands`] answers.
#[derive(Debug, Default, Deserialize)]
struct Served {
    #[serde(default)]
    built_in: Vec<String>,
    #[serde(default)]
    plugins: Vec<String>,
    /// Every team's own slash commands (HTTP integrations).
    #[serde(default)]
    custom: Vec<String>,
}

/// `POST /api/v1/commands`: `{trigger, description?, hint?, display_name?, autocomplete?}`.
pub(crate) fn register(
    request: &Request<'_>,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let caller = request.caller()?;
    let fields = body::fields(request)?;
    let trigger: String = fields.get("trigger", "a trigger")?.unwrap_or_default();
    let trigger = parse_trigger(trigger.trim_start_matches('/')).ok_or(Refusal::BadField {
        field: "trigger",
        expected: "1 to 64 letters, digits, `-`, `_` or `.` (the command without its slash)",
    })?;
    let text =
        |name: &'static str, max: usize, expected: &'static str| -> Result<String, Refusal> {
            let value: String = fields.get(name, expected)?.unwrap_or_default();
            match value.chars().count() <= max {
                true => Ok(value),
                false => Err(Refusal::BadField {
                    field: name,
                    expected,
                }),
            }
        };
    let command = Registered {
        trigger: trigger.clone(),
        bot: caller.clone(),
        description: text(
            "description",
            MAX_DESCRIPTION_CHARS,
            "text of at most 128 characters",
        )?,
        hint: text("hint", MAX_HINT_CHARS, "text of at most 128 characters")?,
        display_name: text(
            "display_name",
            MAX_DISPLAY_NAME_CHARS,
            "text of at most 64 characters",
        )?,
        autocomplete: fields.get("autocomplete", "true or false")?.unwrap_or(true),
        registered_at: ctx.now_ms,
        slots: None,
    };

    let f: ManageFacts<'_> = facts.read()?;
    let key = owner_key(&trigger);
    let (Some(account), Some(owner), Some(served), Some(commands)) =
        (&f.caller, &f.owner, &f.mattermost, &f.commands)
    else {
        let mut ask = Ask::default();
        ask.unless(&f.caller, "caller", || Fact::User {
            user_id: caller.to_string(),
        })
        .unless(&f.owner, "owner", || Fact::KvGet { key: key.clone() })
        .unless(&f.mattermost, "mattermost", || Fact::MattermostCommands)
        .unless(&f.commands, "commands", || Fact::KvGet {
            key: COMMANDS_KEY.into(),
        });
        return Ok(Step::Ask(ask));
    };
    require_bot(account)?;
    let owner: Option<Registered> = document(owner, "command's owner")?;
    let all = listed(commands)?;
    let held = match &owner {
        Some(o) if o.bot != caller => {
            return Err(Refusal::CommandTaken {
                trigger,
                owner: "another bot",
            })
        }
        // The owner registering again: an update, in the slots it holds.
        Some(o) => Some(o.slots),
        None => {
            let served = match served {
                Answer::Found(s) => s,
                Answer::Failed(e) => {
                    return Err(Refusal::Unavailable {
                        what: "commands Mattermost serves",
                        detail: e.to_string(),
                    })
                }
            };
            if super::built_in::is_built_in(&trigger, &served.built_in) {
                return Err(Refusal::CommandTaken {
                    trigger,
                    owner: "Mattermost itself (a built-in command)",
                });
            }
            // Every plugin's commands include this plugin's: those of the list are ours.
            let ours = all.iter().any(|c| c.trigger == trigger);
            // Mattermost runs a plugin's command before a team's own: it would take it over.
            if served.custom.contains(&trigger) {
                return Err(Refusal::CommandTaken {
                    trigger,
                    owner: "a team's own slash command",
                });
            }
            if served.plugins.contains(&trigger) && !ours {
                return Err(Refusal::CommandTaken {
                    trigger,
                    owner: "another plugin",
                });
            }
            None
        }
    };

    // A new command claims a slot of its bot's and one of the plugin's: the claims hold the
    // limits, whatever else runs at once.
    let refused = |refusal: Refusal, effects: Vec<crate::effect::Effect>| {
        let mut decision = crate::refusal::refuse(refusal, request.log_fields());
        decision.effects.splice(0..0, effects);
        Ok(Step::Done(decision))
    };
    let slots = match held {
        Some(slots) => slots,
        None => match claim_slots(&caller, &trigger, &all, ctx, &f)? {
            Claimed::Ask(ask) => return Ok(Step::Ask(ask)),
            Claimed::Slots(slots) => Some(slots),
            Claimed::Refused(refusal, won) => return refused(refusal, deletes(won)),
        },
    };
    let command = Registered { slots, ..command };
    // Given up if anything after fails, so that the limits count only what is served.
    let release = |with_trigger: bool| {
        let mut keys: Vec<String> = match (held, slots) {
            (None, Some(s)) => vec![bot_slot_key(&caller, s.bot), slot_key(s.all)],
            _ => Vec::new(),
        };
        if with_trigger {
            keys.insert(0, owner_key(&trigger));
        }
        deletes(keys)
    };

    let record = to_raw_value(&command).expect("a command serializes");
    // A new trigger goes to whichever bot creates its record first; the owner rewrites its own.
    let Some(claimed) = &f.claimed else {
        let fact = match owner {
            None => Fact::KvCreate {
                key,
                value: record,
                expire_in_seconds: 0,
            },
            Some(_) => Fact::KvSet {
                key,
                value: record,
                expire_in_seconds: 0,
            },
        };
        return Ok(Step::Ask(Ask::one("claimed", fact)));
    };
    match claimed {
        Answer::Found(true) => {}
        Answer::Found(false) => {
            let taken = Refusal::CommandTaken {
                trigger: trigger.clone(),
                owner: "another bot",
            };
            return refused(taken, release(false));
        }
        Answer::Failed(e) => return refused(not_stored(e), release(false)),
    }
    let Some(listed) = &f.listed else {
        let push = Fact::ListPush {
            key: COMMANDS_KEY.into(),
            item: record,
            unique: Some("trigger"),
            // The slots hold the limits; past them the list drops nothing anybody owns.
            cap: u32::MAX,
            expire_in_seconds: 0,
        };
        return Ok(Step::Ask(Ask::one("listed", push)));
    };
    if let Answer::Failed(e) = listed {
        // Claimed but not listed: give the trigger up again (it would never be restored).
        return refused(not_stored(e), release(owner.is_none()));
    }
    let change = Change::Added(command.clone());
    let mut effects = vec![change.announce()];
    effects.extend(change.effects());
    let body = json!({ "command": shown(&command) }).to_string();
    Ok(Step::Done(Decision::http(effects, 200, body)))
}

/// Where claiming a new command's slots leaves it.
enum Claimed {
    Ask(Ask),
    Slots(Slots),
    /// No slot was free (or the claim failed): why, and the keys of the slots won, to give
    /// back.
    Refused(Refusal, Vec<String>),
}

/// Gives `keys` up (best effort: a slot whose delete fails stays taken, and the log of the
/// store says so).
fn deletes(keys: Vec<String>) -> Vec<crate::effect::Effect> {
    keys.into_iter()
        .map(|key| crate::effect::Effect::Delete { key })
        .collect()
}

/// Claims one of `bot`'s slots and one of the plugin's, concurrently, among those the list says
/// are free.
fn claim_slots(
    bot: &UserId,
    trigger: &str,
    all: &[Registered],
    ctx: &Context,
    f: &ManageFacts<'_>,
) -> Result<Claimed, Refusal> {
    let per_bot = Refusal::OverLimit {
        what: "the number of commands a bot may own",
        limit: MAX_PER_BOT,
    };
    let in_all = Refusal::OverLimit {
        what: "the number of commands the plugin serves",
        limit: MAX_COMMANDS as usize,
    };
    let (Some(bot_slot), Some(slot)) = (&f.bot_slot, &f.slot) else {
        let (mine, any) = (
            free_bot_slots(bot, all, ctx.entropy),
            free_slots(all, ctx.entropy),
        );
        // Full by the list already: nothing to try.
        if mine.is_empty() {
            return Err(per_bot);
        }
        if any.is_empty() {
            return Err(in_all);
        }
        let value = to_raw_value(trigger).expect("a trigger serializes");
        let mut ask = Ask::default();
        ask.unless(&f.bot_slot, "bot_slot", || Fact::KvCreateAny {
            keys: mine,
            value: value.clone(),
            expire_in_seconds: 0,
        })
        .unless(&f.slot, "slot", || Fact::KvCreateAny {
            keys: any,
            value,
            expire_in_seconds: 0,
        });
        return Ok(Claimed::Ask(ask));
    };
    let won = |answer: &Answer<Option<String>>| match answer {
        Answer::Found(Some(key)) => slots::number(key).map(|n| (key.clone(), n)),
        _ => None,
    };
    let (mine, any) = (won(bot_slot), won(slot));
    if let (Some((_, bot_n)), Some((_, all_n))) = (&mine, &any) {
        return Ok(Claimed::Slots(Slots {
            bot: *bot_n,
            all: *all_n,
        }));
    }
    let refusal = match (bot_slot, slot) {
        (Answer::Failed(e), _) | (_, Answer::Failed(e)) => not_stored(e),
        (Answer::Found(None), _) => per_bot,
        _ => in_all,
    };
    let won = [mine, any].into_iter().flatten().map(|(k, _)| k).collect();
    Ok(Claimed::Refused(refusal, won))
}

/// `GET /api/v1/commands`: the caller's own commands.
pub(crate) fn list(request: &Request<'_>, facts: Facts<'_>) -> Result<Step, Refusal> {
    let caller = request.caller()?;
    let f: ManageFacts<'_> = facts.read()?;
    let Some(commands) = &f.commands else {
        return Ok(Step::Ask(Ask::one(
            "commands",
            Fact::KvGet {
                key: COMMANDS_KEY.into(),
            },
        )));
    };
    let mine: Vec<_> = listed(commands)?
        .iter()
        .filter(|c| c.bot == caller)
        .map(shown)
        .collect();
    let body = json!({ "commands": mine }).to_string();
    Ok(Step::Done(Decision::http(Vec::new(), 200, body)))
}

/// `DELETE /api/v1/commands/<trigger>`: one of the caller's commands, gone from every node.
pub(crate) fn delete(
    request: &Request<'_>,
    trigger: &str,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let caller = request.caller()?;
    let not_yours = || Refusal::NotYourCommand {
        trigger: trigger
            .chars()
            .take(crate::command::MAX_TRIGGER_CHARS)
            .collect(),
    };
    let trigger = parse_trigger(trigger).ok_or_else(not_yours)?;
    let key = owner_key(&trigger);
    let f: ManageFacts<'_> = facts.read()?;
    let Some(owner) = &f.owner else {
        return Ok(Step::Ask(Ask::one("owner", Fact::KvGet { key })));
    };
    let raw = match owner {
        Answer::Found(Some(raw)) => *raw,
        Answer::Found(None) => return Err(not_yours()),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "command's owner",
                detail: e.to_string(),
            })
        }
    };
    let record: Registered = serde_json::from_str(raw.get()).map_err(|e| Refusal::Internal {
        detail: format!("reading a command's owner: {e}"),
    })?;
    if record.bot != caller {
        return Err(not_yours());
    }
    let Some(claimed) = &f.claimed else {
        let consume = Fact::KvConsume {
            key,
            expected: raw.get().to_owned(),
        };
        return Ok(Step::Ask(Ask::one("claimed", consume)));
    };
    match claimed {
        Answer::Found(true) => {}
        // Deleted (or rewritten) by another request of the same bot in between.
        Answer::Found(false) => return Err(not_yours()),
        Answer::Failed(e) => return Err(not_stored(e)),
    }
    let Some(listed) = &f.listed else {
        let remove = Fact::ListRemove {
            key: COMMANDS_KEY.into(),
            field: "trigger",
            value: trigger.clone(),
            expire_in_seconds: 0,
        };
        return Ok(Step::Ask(Ask::one("listed", remove)));
    };
    if let Answer::Failed(e) = listed {
        return Err(not_stored(e));
    }
    let change = Change::Removed {
        trigger: trigger.clone(),
    };
    let mut effects = vec![change.announce()];
    effects.extend(change.effects());
    // Its slots are free again once it is gone.
    if let Some(s) = record.slots {
        effects.extend(deletes(vec![
            bot_slot_key(&record.bot, s.bot),
            slot_key(s.all),
        ]));
    }
    let body = json!({ "deleted": trigger }).to_string();
    Ok(Step::Done(Decision::http(effects, 200, body)))
}

/// The commands in the list.
pub(crate) fn listed(commands: &Answer<Option<&RawValue>>) -> Result<Vec<Registered>, Refusal> {
    Ok(
        document::<List<Registered>>(commands, "registered commands")?
            .map(|l| l.items)
            .unwrap_or_default(),
    )
}

/// A command as its bot reads it.
fn shown(c: &Registered) -> serde_json::Value {
    json!({
        "trigger": c.trigger,
        "display_name": c.display_name,
        "description": c.description,
        "hint": c.hint,
        "autocomplete": c.autocomplete,
        "registered_at": c.registered_at,
    })
}

fn require_bot(account: &Answer<User>) -> Result<(), Refusal> {
    match account {
        Answer::Found(user) if user.is_bot => Ok(()),
        Answer::Found(_) => Err(Refusal::NotABot {
            what: "register slash commands",
        }),
        Answer::Failed(e) => Err(Refusal::Unavailable {
            what: "your account",
            detail: e.to_string(),
        }),
    }
}

fn not_stored(e: &crate::facts::FactError) -> Refusal {
    Refusal::NotStored {
        what: "command",
        detail: e.to_string(),
    }
}

/// The bot a trigger belongs to, read from its owner record.
pub(crate) fn owner_of(raw: &RawValue) -> Option<UserId> {
    serde_json::from_str::<Registered>(raw.get())
        .ok()
        .map(|r| r.bot)
}

/// Every registered command, registered again on this node (at activation); the facts still
/// needed otherwise. A list that cannot be read is logged: the commands come back with the
/// next activation, and nothing else waits on them.
pub(crate) fn restore(facts: Facts<'_>) -> Result<Vec<crate::effect::Effect>, Ask> {
    let f: ManageFacts<'_> = match facts.read() {
        Ok(f) => f,
        Err(e) => return Ok(vec![restore_failed(&e.0)]),
    };
    let Some(commands) = &f.commands else {
        return Err(Ask::one(
            "commands",
            Fact::KvGet {
                key: COMMANDS_KEY.into(),
            },
        ));
    };
    Ok(match listed(commands) {
        Ok(all) => all
            .iter()
            .map(|c| match super::built_in::is_built_in(&c.trigger, &[]) {
                false => c.register(),
                // Registered before the plugin knew every built-in: Mattermost's own stays.
                true => built_in_not_restored(c),
            })
            .collect(),
        Err(e) => vec![restore_failed(&e.to_string())],
    })
}

fn built_in_not_restored(command: &Registered) -> crate::effect::Effect {
    let mut fields = crate::effect::LogFields::new();
    fields.insert("trigger", command.trigger.clone());
    fields.insert("bot_user_id", command.bot.to_string());
    crate::effect::Effect::Log {
        level: crate::effect::LogLevel::Warn,
        message: "a bot's slash command is not served: its trigger is one of Mattermost's built-in commands".into(),
        fields,
    }
}

fn restore_failed(error: &str) -> crate::effect::Effect {
    let mut fields = crate::effect::LogFields::new();
    fields.insert("error", error.to_owned());
    crate::effect::Effect::Log {
        level: crate::effect::LogLevel::Error,
        message: "the registered slash commands could not be read: they are not served until the plugin restarts".into(),
        fields,
    }
}
