//! The top-level fields a bot trusts, checked against Mattermost's state (SPEC §7): the
//! clicker's name, the channel's name, team and state, the team's name, the trigger id and a
//! menu's choice. A genuine click carries what Mattermost itself filled in; anything else was
//! made up by whoever called the handler.

use super::{Claim, Click, ClickFacts};
use crate::facts::{Answer, FactError};
use crate::ids::is_mattermost_id;
use crate::refusal::Refusal;
use crate::trigger::Trigger;

/// The id chosen in a users or channels menu, when it has the shape of one.
pub(super) fn chosen_id(claim: &Claim) -> Option<String> {
    claim
        .selected
        .as_ref()
        .and_then(|v| v.as_str())
        .filter(|id| is_mattermost_id(id))
        .map(str::to_owned)
}

/// Checks every field, the channel's readability first.
pub(super) fn check(click: &Click<'_>, claim: &Claim, f: &ClickFacts) -> Result<(), Refusal> {
    let unavailable = |what, e: &FactError| Refusal::Unavailable {
        what,
        detail: e.to_string(),
    };
    let not_readable = || Refusal::ChannelNotReadable {
        channel_id: claim.channel_id.clone(),
    };
    match f.can_read.as_ref().expect("asked") {
        Answer::Found(true) => {}
        Answer::Found(false) => return Err(not_readable()),
        Answer::Failed(e) => return Err(unavailable("channel permissions", e)),
    }
    let channel = match f.channel.as_ref().expect("asked") {
        Answer::Found(channel) => channel,
        Answer::Failed(e) if e.is_not_found() => return Err(not_readable()),
        Answer::Failed(e) => return Err(unavailable("channel", e)),
    };
    if channel.delete_at != 0 {
        return Err(Refusal::ChannelArchived {
            channel_id: claim.channel_id.clone(),
        });
    }

    let text = |field| -> String {
        click
            .fields
            .get::<String>(field, "a string")
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    let mismatch = |field| Err(Refusal::FieldMismatch { field });
    if text("channel_name") != channel.name {
        return mismatch("channel_name");
    }
    if claim.team_id != channel.team_id {
        return mismatch("team_id");
    }
    let team_name = match (claim.team_id.is_empty(), &f.team) {
        // Direct and group messages have no team, and Mattermost sends no team name.
        (true, _) => String::new(),
        (false, Some(Answer::Found(team))) => team.name.clone(),
        (false, Some(Answer::Failed(e))) if e.is_not_found() => return mismatch("team_id"),
        (false, Some(Answer::Failed(e))) => return Err(unavailable("team", e)),
        (false, None) => unreachable!("the team is asked whenever the click names one"),
    };
    if text("team_domain") != team_name {
        return mismatch("team_domain");
    }
    match f.clicker.as_ref().expect("asked") {
        Answer::Found(user) if user.username == text("user_name") => {}
        Answer::Found(_) => return mismatch("user_name"),
        Answer::Failed(e) => return Err(unavailable("your account", e)),
    }
    // Mattermost issues every click a trigger for its clicker: one issued to someone else would
    // open the bot's dialog on their screen.
    match Trigger::parse(&text("trigger_id")) {
        Some(trigger) if trigger.user_id == click.caller.as_str() => {}
        _ => return mismatch("trigger_id"),
    }
    check_choice(claim, f)
}

/// A button carries no choice; a users menu's choice is an active user, a channels menu's a
/// channel the clicker can read. Static menus are checked against the post's options.
fn check_choice(claim: &Claim, f: &ClickFacts) -> Result<(), Refusal> {
    if claim.kind != "select" {
        if claim.selected.is_some() {
            return Err(Refusal::FieldMismatch {
                field: "context.selected_option",
            });
        }
        if !claim.data_source.is_empty() {
            return Err(Refusal::FieldMismatch {
                field: "data_source",
            });
        }
        return Ok(());
    }
    let invalid = |what| {
        let choice = claim
            .selected
            .as_ref()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default();
        Err(Refusal::InvalidChoice { what, choice })
    };
    match claim.data_source.as_str() {
        "users" => match &f.chosen_user {
            Some(Answer::Found(user)) if user.delete_at == 0 => Ok(()),
            Some(Answer::Failed(e)) if !e.is_not_found() => Err(Refusal::Unavailable {
                what: "chosen user",
                detail: e.to_string(),
            }),
            _ => invalid("user"),
        },
        "channels" => match &f.chosen_channel {
            Some(Answer::Found(true)) => Ok(()),
            Some(Answer::Failed(e)) => Err(Refusal::Unavailable {
                what: "channel permissions",
                detail: e.to_string(),
            }),
            _ => invalid("channel"),
        },
        _ => Ok(()),
    }
}
