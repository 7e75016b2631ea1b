//! Whether a click really came from a button the receiving bot posted (SPEC §4.3–4.4).
//!
//! Without these checks anyone could post a made-up body to the handler, or post their own
//! message whose button names a bot, and make that bot receive events they never offered.

use super::{Click, Place};
use crate::facts::Answer;
use crate::model::{Post, PostAction, User};
use crate::paths::targets_action_handler;
use crate::refusal::Refusal;
use crate::settings::Settings;
use crate::trip::{same_object_except, same_value};

/// The provenance rules; `Ok(false)` for an unstored post the settings let through.
pub(super) fn verify(
    click: &Click<'_>,
    place: &Place,
    settings: &Settings,
    post: &Answer<Post>,
    can_read: &Answer<bool>,
) -> Result<bool, Refusal> {
    let post = match post {
        Answer::Found(post) => post,
        Answer::Failed(e) if e.is_not_found() && settings.allow_unverified_ephemeral => {
            return Ok(false)
        }
        Answer::Failed(e) if e.is_not_found() => {
            return Err(Refusal::UnverifiablePost {
                post_id: place.post_id.clone(),
            })
        }
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "message",
                detail: e.to_string(),
            })
        }
    };
    if post.channel_id != place.channel_id {
        return Err(Refusal::ChannelMismatch {
            post_id: place.post_id.clone(),
            channel_id: place.channel_id.clone(),
        });
    }
    match can_read {
        Answer::Found(true) => {}
        Answer::Found(false) => {
            return Err(Refusal::ChannelNotReadable {
                channel_id: place.channel_id.clone(),
            })
        }
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "channel permissions",
                detail: e.to_string(),
            })
        }
    }
    if post.user_id != click.recipient.as_str() {
        return Err(Refusal::RecipientNotAuthor {
            recipient: click.recipient.to_string(),
            post_id: place.post_id.clone(),
        });
    }
    check_action(click, place, post)?;
    Ok(true)
}

/// Some action on the post must point at this handler with exactly this context and type, and
/// a static menu must offer the selected option.
fn check_action(click: &Click<'_>, place: &Place, post: &Post) -> Result<(), Refusal> {
    // Mattermost sends the action's `type` as posted: `""` for an action posted without one,
    // which it shows as a button.
    let kind = click
        .kind()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "button".to_owned());
    let context = click.context();
    let matching: Vec<&PostAction> = post
        .actions()
        .filter(|a| {
            a.kind
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or("button")
                == kind.as_str()
        })
        .filter(|a| {
            a.integration.as_ref().is_some_and(|i| {
                i.url.as_deref().is_some_and(targets_action_handler)
                    && i.context
                        .as_ref()
                        .is_some_and(|c| same_object_except(c, &context, Some("selected_option")))
            })
        })
        .collect();
    if matching.is_empty() {
        return Err(Refusal::ActionNotFound {
            post_id: place.post_id.clone(),
        });
    }
    let Some(selected) = context.get("selected_option").filter(|_| kind == "select") else {
        return Ok(());
    };
    let offered = |a: &&PostAction| {
        // Users and channels menus list whatever the server offers; only static menus are checked.
        a.data_source.as_deref().is_some_and(|s| !s.is_empty())
            || a.options
                .iter()
                .flatten()
                .flatten()
                .any(|o| o.value.as_ref().is_some_and(|v| same_value(v, selected)))
    };
    if matching.iter().any(offered) {
        Ok(())
    } else {
        let option = selected
            .as_str()
            .map_or_else(|| selected.to_string(), str::to_owned);
        Err(Refusal::OptionNotOffered { option })
    }
}

/// The recipient must be an existing, active user.
pub(super) fn check_recipient(click: &Click<'_>, answer: &Answer<User>) -> Result<(), Refusal> {
    let recipient = click.recipient.to_string();
    match answer {
        Answer::Found(user) if user.delete_at == 0 => Ok(()),
        Answer::Found(_) => Err(Refusal::RecipientDeactivated { recipient }),
        Answer::Failed(e) if e.is_not_found() => Err(Refusal::RecipientNotFound { recipient }),
        Answer::Failed(e) => Err(Refusal::Unavailable {
            what: "bot's account",
            detail: e.to_string(),
        }),
    }
}
