//! Expanded context (SPEC §13): the entities a subscribed bot would otherwise fetch after every
//! event (`GET /users/{id}`, `/channels/{id}`, `/teams/{id}`, `/posts/{id}`), gathered once by
//! the plugin and carried in the event as `proxy.expanded`.
//!
//! A subscription asks for them (`custom_<id>_subscribe` with `expand`); the request is kept
//! per bot ([`request_key`]), so every connection of the bot receives what its latest
//! subscription asked for, and an event kept while the bot was offline is expanded too.
//! Everything is shown as Mattermost's REST API would show it to the bot: its privacy settings
//! and the bot's own permissions applied ([`privacy`]). What the bot could not read itself is
//! left out and named in `expanded.errors`; no entity is ever more than `GET` gives the bot.
//!
//! The facts are asked in one round, concurrently, every one with the cache allowance of the
//! facts that rarely change (SPEC §7: a cache may delay a refusal by its lifetime, never widen
//! access beyond it). That covers the bot's own permissions too: a bot removed from a channel
//! may be shown it for at most that long. (A clicker's permission, which decides whether a click
//! is delivered at all, is never cached.)

mod privacy;

use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::UserId;
use crate::refusal::Refusal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How much of an entity an event carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Level {
    /// Nothing (the default).
    #[default]
    None,
    /// The fields most bots read (the schema names them).
    Summary,
    /// The entity as `GET` shows it to the bot.
    All,
}

impl Level {
    fn is_none(&self) -> bool {
        *self == Level::None
    }
}

/// What a subscription asks to be expanded: `{"acting_user": "summary", "post": "all", …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Request {
    /// The person who clicked, submitted, typed the command or the query.
    #[serde(default, skip_serializing_if = "Level::is_none")]
    pub(crate) acting_user: Level,
    /// The channel it happened in.
    #[serde(default, skip_serializing_if = "Level::is_none")]
    pub(crate) channel: Level,
    /// That channel's team (none for direct and group messages).
    #[serde(default, skip_serializing_if = "Level::is_none")]
    pub(crate) team: Level,
    /// The post clicked on (clicks only).
    #[serde(default, skip_serializing_if = "Level::is_none")]
    pub(crate) post: Level,
    /// The thread's first post, when it happened in a thread.
    #[serde(default, skip_serializing_if = "Level::is_none")]
    pub(crate) root_post: Level,
    /// The acting user's language: their own setting, or the server's default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) locale: bool,
}

impl Request {
    /// Reads a subscription's `expand`; the words say what is wrong.
    pub(crate) fn parse(value: &Value) -> Result<Request, String> {
        Request::deserialize(value).map_err(|e| {
            format!("{e}; the levels are none, summary and all, and locale is true or false")
                .replace('`', "")
        })
    }

    /// Whether nothing is asked.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Request::default()
    }
}

/// The KV key of a bot's expansions.
pub(crate) fn request_key(bot: &UserId) -> String {
    format!("expand_{bot}")
}

/// What an event is about: the ids its expansions are looked up by.
#[derive(Debug, Clone, Default)]
pub(crate) struct About {
    /// Who acted.
    pub(crate) acting_user: String,
    /// Where.
    pub(crate) channel_id: String,
    /// The channel's team; empty for direct and group messages.
    pub(crate) team_id: String,
    /// The post clicked on; empty for other events and ephemeral posts.
    pub(crate) post_id: String,
    /// The thread's first post; empty outside a thread.
    pub(crate) root_id: String,
}

/// The facts expansions need, each under its own name beside the event's other facts.
#[derive(Debug, Default, Deserialize)]
struct ExpandFacts {
    #[serde(default, deserialize_with = "present")]
    x_user: Option<Answer<Value>>,
    #[serde(default, deserialize_with = "present")]
    x_privacy: Option<Answer<privacy::Settings>>,
    /// The bot holds `manage_system`: Mattermost shows it everything (`IsSystemAdmin`).
    #[serde(default, deserialize_with = "present")]
    x_bot_admin: Option<Answer<bool>>,
    /// The bot holds `view_members`: it may see any user (`UserCanSeeOtherUser`).
    #[serde(default, deserialize_with = "present")]
    x_bot_view_members: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_channel: Option<Answer<Value>>,
    #[serde(default, deserialize_with = "present")]
    x_bot_read_channel: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_bot_read_public: Option<Answer<bool>>,
    /// The bot may read the channel's posts (`read_channel_content`, what `GET /posts/{id}` asks).
    #[serde(default, deserialize_with = "present")]
    x_bot_read_content: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_team: Option<Answer<Value>>,
    #[serde(default, deserialize_with = "present")]
    x_bot_view_team: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_bot_list_teams: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_bot_manage_team: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_bot_invite: Option<Answer<bool>>,
    #[serde(default, deserialize_with = "present")]
    x_post: Option<Answer<Value>>,
    #[serde(default, deserialize_with = "present")]
    x_root: Option<Answer<Value>>,
}

/// `proxy.expanded` for `about`, or what is still to be asked (everything in one round).
pub(crate) fn expand(
    request: &Request,
    about: &About,
    bot: &UserId,
    facts: Facts<'_>,
) -> Result<Result<Value, Ask>, Refusal> {
    let f: ExpandFacts = facts.read()?;
    let ask = missing(request, about, bot, &f);
    if !ask.is_empty() {
        return Ok(Err(ask));
    }
    Ok(Ok(build(request, about, bot, &f)))
}

fn wants_user(r: &Request) -> bool {
    !r.acting_user.is_none() || r.locale
}

fn wants_channel(r: &Request, about: &About) -> bool {
    !about.channel_id.is_empty()
        && (!r.channel.is_none() || !r.post.is_none() || !r.root_post.is_none())
}

fn wants_posts(r: &Request, about: &About) -> bool {
    (!r.post.is_none() && !about.post_id.is_empty())
        || (!r.root_post.is_none() && !about.root_id.is_empty())
}

fn wants_team(r: &Request, about: &About) -> bool {
    !about.team_id.is_empty() && !r.team.is_none()
}

fn missing(r: &Request, about: &About, bot: &UserId, f: &ExpandFacts) -> Ask {
    let mut ask = Ask::default();
    let bot_id = || bot.to_string();
    let system = |permission| {
        move || Fact::SystemPermission {
            user_id: bot.to_string(),
            permission,
        }
    };
    let on_team = |permission| {
        move || Fact::TeamPermission {
            user_id: bot.to_string(),
            team_id: about.team_id.clone(),
            permission,
        }
    };
    if wants_user(r) && !about.acting_user.is_empty() {
        ask.unless_cached(&f.x_user, "x_user", || Fact::User {
            user_id: about.acting_user.clone(),
        });
        // Whether the bot may see the user at all decides its language too. Itself it may.
        if about.acting_user != bot.as_str() {
            ask.unless_cached(&f.x_bot_admin, "x_bot_admin", system("manage_system"))
                .unless_cached(
                    &f.x_bot_view_members,
                    "x_bot_view_members",
                    system("view_members"),
                );
        }
    }
    if wants_channel(r, about) {
        ask.unless_cached(&f.x_channel, "x_channel", || Fact::Channel {
            channel_id: about.channel_id.clone(),
        })
        .unless_cached(&f.x_bot_read_channel, "x_bot_read_channel", || {
            Fact::ChannelPermission {
                user_id: bot_id(),
                channel_id: about.channel_id.clone(),
                permission: "read_channel",
            }
        });
        if !about.team_id.is_empty() {
            ask.unless_cached(
                &f.x_bot_read_public,
                "x_bot_read_public",
                on_team("read_public_channel"),
            );
        }
        if wants_posts(r, about) {
            ask.unless_cached(&f.x_bot_read_content, "x_bot_read_content", || {
                Fact::ChannelPermission {
                    user_id: bot_id(),
                    channel_id: about.channel_id.clone(),
                    permission: "read_channel_content",
                }
            });
        }
    }
    // The privacy settings say what a user shows, and whether compliance restricts posts.
    if (wants_user(r) && !about.acting_user.is_empty()) || wants_posts(r, about) {
        ask.unless_cached(&f.x_privacy, "x_privacy", || Fact::PrivacySettings);
    }
    if wants_team(r, about) {
        ask.unless_cached(&f.x_team, "x_team", || Fact::Team {
            team_id: about.team_id.clone(),
        })
        .unless_cached(&f.x_bot_view_team, "x_bot_view_team", on_team("view_team"))
        .unless_cached(
            &f.x_bot_list_teams,
            "x_bot_list_teams",
            system("list_public_teams"),
        );
        // Only the whole team shows its email and invite id (a summary has neither).
        if r.team == Level::All {
            ask.unless_cached(
                &f.x_bot_manage_team,
                "x_bot_manage_team",
                on_team("manage_team"),
            )
            .unless_cached(&f.x_bot_invite, "x_bot_invite", on_team("invite_user"));
        }
    }
    if !r.post.is_none() && !about.post_id.is_empty() {
        ask.unless_cached(&f.x_post, "x_post", || Fact::Post {
            post_id: about.post_id.clone(),
        });
    }
    if !r.root_post.is_none() && !about.root_id.is_empty() {
        ask.unless_cached(&f.x_root, "x_root", || Fact::Post {
            post_id: about.root_id.clone(),
        });
    }
    ask
}

/// The expansions, from every answer.
fn build(r: &Request, about: &About, bot: &UserId, f: &ExpandFacts) -> Value {
    let mut out = Map::new();
    let mut errors = Map::new();
    let mut put = |name: &str, level: Level, got: Result<Value, String>| match got {
        Ok(value) => {
            out.insert(name.into(), privacy::at_level(name, value, level));
        }
        Err(why) => {
            errors.insert(name.into(), Value::from(why));
        }
    };

    let user = (wants_user(r) && !about.acting_user.is_empty())
        .then(|| found(&f.x_user, "user"))
        .transpose();
    let settings = found_typed(&f.x_privacy, "privacy settings");
    // What the bot may see of the user: `None` when it may not see them at all (`GET` refuses).
    let admin = || granted(&f.x_bot_admin);
    let visible = |user: &Value| -> Result<(), String> {
        if user.get("id").and_then(Value::as_str) == Some(bot.as_str())
            || admin()?
            || granted(&f.x_bot_view_members)?
        {
            Ok(())
        } else {
            Err("the bot may not see other users (view_members)".into())
        }
    };
    if !r.acting_user.is_none() {
        if let Ok(Some(user)) = &user {
            let shown = settings.clone().and_then(|settings| {
                visible(user)?;
                let admin =
                    user.get("id").and_then(Value::as_str) != Some(bot.as_str()) && admin()?;
                Ok(privacy::user(user.clone(), bot, &settings, admin))
            });
            put("acting_user", r.acting_user, shown);
        } else if let Err(why) = &user {
            put("acting_user", r.acting_user, Err(why.clone()));
        }
    }
    let locale = match (&user, &settings) {
        _ if !r.locale => None,
        (Ok(Some(user)), Ok(settings)) => Some(visible(user).map(|()| {
            let own = user.get("locale").and_then(Value::as_str).unwrap_or("");
            match own {
                "" => settings.default_client_locale.clone(),
                own => own.to_owned(),
            }
        })),
        (Err(why), _) | (_, Err(why)) => Some(Err(why.clone())),
        (Ok(None), _) => None,
    };

    let channel = wants_channel(r, about).then(|| readable_channel(about, f));
    if let Some(channel) = &channel {
        if !r.channel.is_none() {
            put("channel", r.channel, channel.clone());
        }
    }
    if wants_team(r, about) {
        put("team", r.team, readable_team(f));
    }
    for (name, level, id, answer) in [
        ("post", r.post, &about.post_id, &f.x_post),
        ("root_post", r.root_post, &about.root_id, &f.x_root),
    ] {
        if level.is_none() || id.is_empty() {
            continue;
        }
        let shown = match &channel {
            Some(Ok(channel)) => readable_posts(channel, about, f)
                .and_then(|()| found(answer, "post"))
                .and_then(|post| {
                    let same = post.get("channel_id").and_then(Value::as_str)
                        == Some(about.channel_id.as_str());
                    match same {
                        true => Ok(privacy::post(post)),
                        false => Err("the post is in another channel".into()),
                    }
                }),
            Some(Err(why)) => Err(why.clone()),
            None => Err("the event names no channel".into()),
        };
        put(name, level, shown);
    }
    match locale {
        Some(Ok(locale)) => {
            out.insert("locale".into(), Value::from(locale));
        }
        Some(Err(why)) => {
            errors.insert("locale".into(), Value::from(why));
        }
        None => {}
    }
    if !errors.is_empty() {
        out.insert("errors".into(), Value::Object(errors));
    }
    Value::Object(out)
}

/// The channel, if the bot may read it as `GET /channels/{id}` decides: a public channel by
/// `read_public_channel` on its team or `read_channel`, any other by `read_channel`.
fn readable_channel(about: &About, f: &ExpandFacts) -> Result<Value, String> {
    let channel = found(&f.x_channel, "channel")?;
    let public = channel.get("type").and_then(Value::as_str) == Some("O")
        && channel.get("team_id").and_then(Value::as_str) == Some(about.team_id.as_str())
        && granted(&f.x_bot_read_public).unwrap_or(false);
    if public || granted(&f.x_bot_read_channel)? {
        Ok(channel)
    } else {
        Err("the bot may not read this channel (read_channel)".into())
    }
}

/// Whether the bot may read the channel's posts, as `GET /posts/{id}` decides
/// (`HasPermissionToReadChannel`): `read_channel_content`, or for a public channel with
/// compliance off, `read_public_channel` on its team.
fn readable_posts(channel: &Value, about: &About, f: &ExpandFacts) -> Result<(), String> {
    let compliance = found_typed(&f.x_privacy, "privacy settings")?.compliance_enabled;
    let public = !compliance
        && channel.get("type").and_then(Value::as_str) == Some("O")
        && channel.get("team_id").and_then(Value::as_str) == Some(about.team_id.as_str())
        && granted(&f.x_bot_read_public).unwrap_or(false);
    if public || granted(&f.x_bot_read_content)? {
        Ok(())
    } else {
        Err("the bot may not read this channel's posts (read_channel_content)".into())
    }
}

/// The team, if the bot may view it as `GET /teams/{id}` decides, sanitized as it would be.
fn readable_team(f: &ExpandFacts) -> Result<Value, String> {
    let team = found(&f.x_team, "team")?;
    let open = team.get("allow_open_invite").and_then(Value::as_bool) == Some(true)
        && team.get("type").and_then(Value::as_str) == Some("O");
    let view = granted(&f.x_bot_view_team)?;
    if !(view || open && granted(&f.x_bot_list_teams)?) {
        return Err("the bot may not view this team (view_team)".into());
    }
    // A summary keeps neither the email nor the invite id: their permissions were not asked.
    let may = |answer| granted(answer).unwrap_or(false);
    Ok(privacy::team(
        team,
        may(&f.x_bot_manage_team),
        may(&f.x_bot_invite),
    ))
}

fn found(answer: &Option<Answer<Value>>, what: &str) -> Result<Value, String> {
    match answer {
        Some(Answer::Found(v)) if v.is_object() => Ok(v.clone()),
        Some(Answer::Found(_)) => Err(format!("Mattermost returned no {what}")),
        Some(Answer::Failed(e)) if e.is_not_found() => Err(format!("no such {what}")),
        Some(Answer::Failed(e)) => Err(format!("Mattermost could not read the {what}: {e}")),
        None => Err(format!("the {what} was not asked")),
    }
}

fn found_typed<T: Clone>(answer: &Option<Answer<T>>, what: &str) -> Result<T, String> {
    match answer {
        Some(Answer::Found(v)) => Ok(v.clone()),
        Some(Answer::Failed(e)) => Err(format!("Mattermost could not read the {what}: {e}")),
        None => Err(format!("the {what} were not asked")),
    }
}

fn granted(answer: &Option<Answer<bool>>) -> Result<bool, String> {
    found_typed(answer, "bot's permissions")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_is_read_strictly_and_says_what_is_wrong() {
        let r = Request::parse(&json!({"acting_user": "summary", "post": "all", "locale": true}))
            .unwrap();
        assert_eq!(r.acting_user, Level::Summary);
        assert_eq!(r.post, Level::All);
        assert!(r.locale && !r.is_empty());
        assert!(Request::parse(&json!({})).unwrap().is_empty());
        let e = Request::parse(&json!({"acting_user": "everything"})).unwrap_err();
        assert!(e.contains("unknown variant everything"), "{e}");
        let e = Request::parse(&json!({"clicker": "all"})).unwrap_err();
        assert!(e.contains("unknown field clicker"), "{e}");
        assert!(Request::parse(&json!(["post"])).is_err());
    }
}
