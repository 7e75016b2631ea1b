//! `ExecuteCommand`: someone typed a command a bot registered through the plugin. The command
//! goes to the bot as `command` through the delivery layer (SPEC §9, §12); the bot's answer,
//! within the answer window, is the command's response: shown to the person alone
//! (`ephemeral`) or posted by the plugin as the bot (`in_channel`). Offline and silent bots
//! are handled as for clicks: the person is told, and the command is kept for the bot.

use super::owner_key;
use crate::command::manage::owner_of;
use crate::delivery::answer::{
    can_post, check_command_answer, command_post, ephemeral_command, plain_command_answer,
    signed_command_answer,
};
use crate::delivery::{self, Place, Sender};
use crate::effect::{Decision, Effect, LogLevel, Outcome};
use crate::event::{event_with_trigger, COMMAND};
use crate::facts::{present, Answer, Ask, Decides, Fact, Facts, Likely, Prefetch};
use crate::ids::{is_mattermost_id, EventId, UserId};
use crate::input::Context;
use crate::model::User;
use crate::refusal::{presented, Notice, Refusal, Subject};
use crate::settings::Settings;
use crate::sign::ephemeral::Ephemeral;
use crate::sign::Keyring;
use crate::trigger::Trigger;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};

/// How long a trigger's owner may be served from the cache: every change is announced to
/// every node, which forgets its copy.
const OWNER_CACHE_MS: u32 = 60_000;

/// Mattermost's `CommandArgs`, the parts the plugin reads.
#[derive(Debug, Default, Deserialize)]
struct Args {
    #[serde(default)]
    command: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    root_id: String,
    #[serde(default)]
    trigger_id: String,
}

/// What a command needs to know.
#[derive(Debug, Default, Deserialize)]
struct CommandFacts<'a> {
    /// Who owns the trigger.
    #[serde(borrow, default, deserialize_with = "present")]
    owner: Option<Answer<Option<&'a RawValue>>>,
    /// The person who typed it.
    #[serde(default, deserialize_with = "present")]
    issuer: Option<Answer<User>>,
    /// The owner's subscriptions (read by the delivery layer).
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's expansion request, asked with the registry but answered on its own (a node may
    /// have one cached and not the other); read by the delivery layer.
    #[serde(default, deserialize_with = "present")]
    expand: Option<Answer<IgnoredAny>>,
    /// The owner's account: a deactivated bot serves no command.
    #[serde(default, deserialize_with = "present")]
    bot_account: Option<Answer<User>>,
    /// The key that signs the trigger token (and an ephemeral answer's buttons).
    #[serde(default, deserialize_with = "present")]
    keyring: Option<Answer<Option<Keyring>>>,
    /// The triggers of the team's own slash commands.
    #[serde(default, deserialize_with = "present")]
    team_commands: Option<Answer<Vec<String>>>,
}

/// What a `command` event tells the bot.
#[derive(Serialize)]
struct CommandEvent<'a> {
    /// The whole command as typed: `/deploy prod --now`.
    command: &'a str,
    /// Its trigger, lowercase, without the slash: `deploy`.
    trigger: &'a str,
    /// What follows the trigger, trimmed: `prod --now`.
    text: &'a str,
    user_id: &'a str,
    user_name: &'a str,
    channel_id: &'a str,
    team_id: &'a str,
    /// The thread it was typed in; empty outside a thread.
    root_id: &'a str,
    /// Opens one dialog (`POST /api/v1/dialogs/open`) within a few seconds.
    trigger_id: &'a str,
}

pub(crate) fn execute(args: &str, ctx: &Context, facts: Facts<'_>) -> Outcome {
    match decide(args, ctx, facts) {
        Ok(outcome) => outcome,
        Err(refusal) => {
            let p = presented(refusal);
            let mut fields = crate::effect::LogFields::new();
            fields.insert("code", p.code.to_owned());
            fields.insert("reason", p.reason);
            let log = Effect::Log {
                level: LogLevel::Info,
                message: "slash command refused".into(),
                fields,
            };
            Outcome::Decided(Decision::command(vec![log], ephemeral(&p.text)))
        }
    }
}

/// A command as typed, split into its trigger — the first word, its slashes left out, in ASCII
/// lowercase — and the text after it, trimmed. The shim reads the trigger the same way to
/// prefetch (`commandTrigger` in server/prefetch.go); tests/command_triggers.json
/// holds both to one table.
pub(crate) fn split_command(command: &str) -> (String, &str) {
    let typed = command.trim_start();
    let (head, rest) = typed.split_once(char::is_whitespace).unwrap_or((typed, ""));
    (
        head.trim_start_matches('/').to_ascii_lowercase(),
        rest.trim(),
    )
}

/// The first round of a command: who owns the trigger, who typed it and, where Mattermost
/// would run a team's own command (`team`: the team, custom slash commands on), whether the team
/// has one with this trigger.
fn first_round(f: &CommandFacts<'_>, trigger: &str, user_id: &str, team: Option<&str>) -> Ask {
    let mut ask = Ask::default();
    ask.unless_cached_for(&f.owner, "owner", OWNER_CACHE_MS, || Fact::KvGet {
        key: owner_key(trigger),
    })
    .unless_cached(&f.issuer, "issuer", || Fact::User {
        user_id: user_id.to_owned(),
    });
    if let Some(team_id) = team {
        // A team almost never has a command of its own with a trigger a bot registered:
        // the shim may ask this beside the core's next call.
        ask.unless_likely(&f.team_commands, "team_commands", Likely::Empty, || {
            Fact::TeamCommands {
                team_id: team_id.to_owned(),
                trigger: trigger.to_owned(),
            }
        });
    }
    ask
}

/// The first round of a warm command, with marker ids where the command's own values go:
/// what the shim may look up (the trigger's owner and the person, cached) and start asking
/// (the team's own commands, likely none) as the command arrives, before the core's first
/// call ([`Prefetch`]), so that the read of the team's commands — the longest step of a
/// command, which the event waits for — starts a core call earlier. Built by [`first_round`]
/// itself, so that a filled query is byte for byte the one the command asks; the team's
/// commands only under settings where a command asks them (custom slash commands on).
/// `command.trigger` is the command's trigger as [`split_command`] reads it; a shim that reads
/// another one fills a query the command does not ask, which is never used.
pub(crate) fn prefetch(settings: &Settings) -> Prefetch {
    const USER: &str = "prefetchmarkercommander001";
    const TEAM: &str = "prefetchmarkerteam00000001";
    const TRIGGER: &str = "prefetchmarkertrigger00001";
    let team = (!settings.custom_commands_off).then_some(TEAM);
    let queries = first_round(&CommandFacts::default(), TRIGGER, USER, team)
        .into_queries()
        .into_iter()
        .filter(|q| q.cache_ms.is_some() || q.likely.is_some())
        .collect();
    Prefetch {
        path: crate::paths::COMMAND_INPUT,
        max_body_bytes: 0,
        fill: [
            (USER, "user"),
            // Empty in a direct or group message: the command then asks no team.
            (TEAM, "command.team_id?"),
            (TRIGGER, "command.trigger"),
        ]
        .into(),
        queries,
    }
}

fn decide(typed_args: &str, ctx: &Context, facts: Facts<'_>) -> Result<Outcome, Refusal> {
    let args: Args = serde_json::from_str(typed_args).map_err(|e| Refusal::Internal {
        detail: format!("reading the command's arguments: {e}"),
    })?;
    if !is_mattermost_id(&args.user_id) || !is_mattermost_id(&args.channel_id) {
        return Err(Refusal::Internal {
            detail: "the command names no user or channel".into(),
        });
    }
    let (trigger, text) = split_command(&args.command);

    // Mattermost runs this plugin's command before a team's own and before its built-ins: where
    // either has the trigger, the command is theirs. It is handed back untouched, Mattermost
    // runs theirs, and the bot hears nothing. A built-in needs no fact (a command registered
    // before the plugin knew every built-in is still registered on a node that has not
    // restarted).
    if super::built_in::is_built_in(&trigger, &[]) {
        return Ok(handed_back(&trigger, &args.team_id, "a built-in command"));
    }
    decide_with(&args, &trigger, text, ctx, facts)
}

/// [`decide`] for a command read: its arguments, trigger and text.
fn decide_with(
    args: &Args,
    trigger: &str,
    text: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Outcome, Refusal> {
    let raw_facts = facts;
    let f: CommandFacts<'_> = facts.read()?;
    // The team's own commands are read on every command, never cached: one a team made after
    // the bot registered must never see what people type go to the bot. (In a direct or group
    // message Mattermost names no team, or the person's current one.)
    // With custom slash commands off on the server, Mattermost runs none (its
    // tryExecuteCustomCommand answers 501 first): nothing to ask.
    let team = !args.team_id.is_empty() && !ctx.settings.custom_commands_off;
    let (Some(owner), Some(issuer), true) =
        (&f.owner, &f.issuer, !team || f.team_commands.is_some())
    else {
        let ask = first_round(&f, trigger, &args.user_id, team.then_some(&*args.team_id));
        // Answered before it was asked (a warm command: [`prefetch`]): on in the same call.
        // Taken only when every question of the round is answered, so the call after it has
        // them all and goes past this round: one call more at most.
        return match raw_facts.take_prefetched(ask) {
            Ok(answers) => {
                let more = Facts::answers(&answers).with_prefetched(raw_facts.prefetched());
                decide_with(args, trigger, text, ctx, more)
            }
            Err(ask) => Ok(ask.into()),
        };
    };
    if team_has(trigger, f.team_commands.as_ref())? {
        return Ok(handed_back(
            trigger,
            &args.team_id,
            "the team's own slash command",
        ));
    }
    let bot = match owner {
        Answer::Found(Some(raw)) => owner_of(raw),
        Answer::Found(None) => None,
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "command",
                detail: e.to_string(),
            })
        }
    };
    let Some(bot) = bot else {
        // Registered here but owned by nobody (deleted on another node, the store cleared):
        // Mattermost stops offering it.
        let effects = vec![Effect::UnregisterCommand {
            trigger: trigger.to_owned(),
        }];
        let text = format!("/{trigger} is no longer served by any bot.");
        return Ok(Outcome::Decided(Decision::command(
            effects,
            ephemeral(&text),
        )));
    };
    let user_name = match issuer {
        Answer::Found(user) => user.username.as_str(),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "your account",
                detail: e.to_string(),
            })
        }
    };
    let Some(account) = &f.bot_account else {
        let mut ask = Ask::default();
        delivery::ask_registry(&mut ask, &f.registry, &f.expand, &bot);
        ask.unless_cached(&f.bot_account, "bot_account", || Fact::User {
            user_id: bot.to_string(),
        });
        crate::sign::ask_keyring(&mut ask, &f.keyring);
        return Ok(ask.into());
    };
    match account {
        Answer::Found(user) if user.delete_at == 0 => {}
        _ => {
            let text = format!("/{trigger} belongs to a bot that has been deactivated. Ask an administrator to reactivate it.");
            return Ok(Outcome::Decided(Decision::command(
                Vec::new(),
                ephemeral(&text),
            )));
        }
    }

    // The command's trigger opens a dialog bound to this channel, as a click's does.
    let mut before = Vec::new();
    let mut issued = None;
    if let Some(t) = Trigger::parse(&args.trigger_id).filter(|t| t.user_id == args.user_id) {
        let place = crate::trigger::Place {
            user_id: args.user_id.clone(),
            channel_id: args.channel_id.clone(),
            team_id: args.team_id.clone(),
        };
        if let Some(Answer::Found(Some(key))) = &f.keyring {
            issued = Some(crate::trigger::issue(
                &t,
                &place,
                bot.as_str(),
                key,
                &ctx.settings,
            ));
        }
        before.push(Effect::Remember {
            fact: t.remembered(),
            found: to_raw_value(&place).expect("a place serializes"),
        });
    }
    let data = event_with_trigger(
        &CommandEvent {
            command: args.command.trim_start(),
            trigger,
            text,
            user_id: &args.user_id,
            user_name,
            channel_id: &args.channel_id,
            team_id: &args.team_id,
            root_id: &args.root_id,
            trigger_id: &args.trigger_id,
        },
        issued.as_ref(),
        ctx,
    );
    let sender = CommandSender {
        site_url: ctx.settings.site_url.clone(),
        place: Place {
            post_id: String::new(),
            channel_id: args.channel_id.clone(),
            root_id: args.root_id.clone(),
            user_id: args.user_id.clone(),
            ephemeral_root: None,
            ephemeral_version: None,
        },
        bot: bot.clone(),
        event_id: EventId::from_entropy(ctx.entropy),
    };
    let outgoing = delivery::Outgoing {
        bot: &bot,
        event: COMMAND,
        data: data.clone(),
        event_id: EventId::from_entropy(ctx.entropy),
        from: &sender,
        before: before.clone(),
        about: crate::expand::About {
            acting_user: args.user_id.clone(),
            channel_id: args.channel_id.clone(),
            team_id: args.team_id.clone(),
            post_id: String::new(),
            root_id: args.root_id.clone(),
        },
    };
    if let Some(outcome) = delivery::deliver(outgoing, ctx, raw_facts)? {
        return Ok(outcome);
    }
    // A bot that never subscribed gets the event as clicks are delivered to it, and answers
    // (if it does) with its own REST calls: the person sees nothing from the plugin.
    before.push(Effect::publish(COMMAND, bot, data));
    Ok(Outcome::Decided(Decision::command(before, empty())))
}

/// Whether the team the command was typed in has its own slash command with `trigger`. A
/// server with custom slash commands off runs none (Mattermost refuses the list with 501);
/// a list that cannot be read delivers nothing (the person is told to try again).
fn team_has(trigger: &str, team_commands: Option<&Answer<Vec<String>>>) -> Result<bool, Refusal> {
    match team_commands {
        None => Ok(false),
        Some(Answer::Found(triggers)) => {
            Ok(triggers.iter().any(|t| t.eq_ignore_ascii_case(trigger)))
        }
        Some(Answer::Failed(e)) if e.status == 501 => Ok(false),
        Some(Answer::Failed(e)) => Err(Refusal::Unavailable {
            what: "team's slash commands",
            detail: e.to_string(),
        }),
    }
}

/// The command handed back to Mattermost, which runs the `whose` command of that trigger; the
/// log says so, for the administrator who wonders why a bot's command does nothing there.
fn handed_back(trigger: &str, team_id: &str, whose: &str) -> Outcome {
    let mut fields = crate::effect::LogFields::new();
    fields.insert("trigger", trigger.to_owned());
    fields.insert("team_id", team_id.to_owned());
    fields.insert("served_by", whose.to_owned());
    let log = Effect::Log {
        level: LogLevel::Info,
        message: "a bot's slash command was handed back to Mattermost: its trigger is also Mattermost's or the team's"
            .into(),
        fields,
    };
    Outcome::Decided(Decision::command_handed_back(vec![log]))
}

/// The person who typed the command waits for the bot's answer.
struct CommandSender {
    place: Place,
    /// The server's `SiteURL`: an ephemeral answer's buttons are signed only if they reach it.
    site_url: String,
    bot: UserId,
    /// The event's id: an ephemeral answer with buttons becomes a post of its own id.
    event_id: EventId,
}

impl Sender for CommandSender {
    fn window_ms(&self, ctx: &Context) -> u32 {
        ctx.settings.answer_window_ms
    }

    fn place(&self) -> Option<Place> {
        Some(self.place.clone())
    }

    fn accepted(&self, effects: Vec<Effect>) -> Decision {
        Decision::command(effects, empty())
    }

    fn told(&self, notice: Notice, effects: Vec<Effect>) -> Decision {
        Decision::command(effects, ephemeral(&notice.text(Subject::Command)))
    }

    fn decides(&self) -> Option<Decides> {
        Some(Decides::Command)
    }

    fn answered(&self, answer: &RawValue, facts: Facts<'_>) -> Result<Outcome, Refusal> {
        let answer = check_command_answer(answer, &self.bot).map_err(|e| Refusal::Internal {
            detail: format!("the answer handed to the command is not one: {e}"),
        })?;
        let (channel, root) = (&self.place.channel_id, &self.place.root_id);
        let fields: Map<String, Value> = serde_json::from_str(answer.get()).unwrap_or_default();
        if let Some(plain) = plain_command_answer(&fields) {
            return Ok(Outcome::Decided(plain));
        }
        if let Some(post) = command_post(&answer, &self.bot, channel, root) {
            // Posted as the bot only where the bot may post (Mattermost posts a native
            // command's answer as the person who typed it; the plugin API checks nothing).
            let f: PostRight = facts.read()?;
            match f.bot_can_post {
                None => return Ok(Ask::one("bot_can_post", can_post(&self.bot, channel)).into()),
                Some(Answer::Found(true)) => {
                    let effects = vec![Effect::CreatePost { post }];
                    return Ok(Outcome::Decided(Decision::command(effects, empty())));
                }
                Some(_) => {}
            }
        }
        // Shown to the person alone (also an `in_channel` answer where the bot may not post):
        // with buttons, sent by the plugin and signed for them, so that their clicks are
        // verified (SPEC §13); otherwise Mattermost's own ephemeral answer.
        if fields
            .get("attachments")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            // The key is not made here: this call's entropy is the event's id, which the bot
            // reads (a key made from it would be the bot's to know).
            #[derive(Default, Deserialize)]
            struct KeyFacts {
                #[serde(default, deserialize_with = "present")]
                keyring: Option<Answer<Option<Keyring>>>,
                /// The version of the answer's buttons was stored.
                #[serde(default, deserialize_with = "present")]
                ephemeral_stored: Option<Answer<bool>>,
            }
            let f: KeyFacts = facts.read()?;
            let mut ask = Ask::default();
            crate::sign::ask_keyring(&mut ask, &f.keyring);
            if !ask.is_empty() {
                return Ok(ask.into());
            }
            // No key yet (no signed post was ever made) or none to be had: Mattermost's own
            // ephemeral answer, its buttons unsigned.
            if let Some(Answer::Found(Some(key))) = &f.keyring {
                let post_id = crate::sign::ephemeral::post_id(self.event_id.as_str());
                let version = crate::sign::ephemeral::version(self.event_id.as_str());
                let at = Ephemeral {
                    post_id: &post_id,
                    channel_id: channel,
                    root_id: root,
                    bot: self.bot.as_str(),
                    to: &self.place.user_id,
                    site_url: &self.site_url,
                    version: &version,
                };
                // Its buttons' version is kept before they are shown; should that fail, the
                // answer is Mattermost's own ephemeral one, its buttons unsigned.
                match &f.ephemeral_stored {
                    None => {
                        let stored = crate::sign::ephemeral::store(&at);
                        return Ok(Ask::one("ephemeral_stored", stored).into());
                    }
                    Some(Answer::Found(_)) => {
                        let effects = signed_command_answer(&fields, &self.bot, &at, key);
                        let effects = effects.into_iter().collect();
                        return Ok(Outcome::Decided(Decision::command(effects, empty())));
                    }
                    Some(Answer::Failed(_)) => {}
                }
            }
        }
        Ok(Outcome::Decided(ephemeral_command(fields)))
    }
}

/// Whether the bot may post where its answer would go.
#[derive(Debug, Default, Deserialize)]
struct PostRight {
    #[serde(default, deserialize_with = "present")]
    bot_can_post: Option<Answer<bool>>,
}

/// A response that shows nothing.
fn empty() -> Box<RawValue> {
    RawValue::from_string("{}".into()).expect("JSON")
}

/// A response only the person who typed the command sees.
fn ephemeral(text: &str) -> Box<RawValue> {
    to_raw_value(&json!({"response_type": "ephemeral", "text": text})).expect("JSON")
}

#[cfg(test)]
mod tests {
    use super::split_command;
    use crate::command::parse_trigger;

    /// The table the shim's reading of a trigger is tested against too (server/prefetch_test.go):
    /// what the core reads, and whether a bot could have registered it.
    #[test]
    fn a_commands_trigger_is_its_first_word_as_the_shim_reads_it() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/command_triggers.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let command = case["command"].as_str().unwrap();
            let trigger = case["trigger"].as_str().unwrap();
            assert_eq!(split_command(command).0, trigger, "{command:?}");
            assert_eq!(
                parse_trigger(trigger).is_some(),
                case["registrable"] == true,
                "{trigger:?}"
            );
        }
        assert_eq!(split_command("/Deploy   prod --now ").1, "prod --now");
    }
}
