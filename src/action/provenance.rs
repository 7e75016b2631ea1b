//! Whether a click really came from a button the receiving bot posted (SPEC §4.3–4.4).
//!
//! Without these checks anyone could post a made-up body to the handler, or post their own
//! message whose button names a bot, and make that bot receive events they never offered.

use super::{Claim, Click};
use crate::facts::Answer;
use crate::model::{Post, PostAction, User};
use crate::paths::reaches_action_handler;
use crate::refusal::Refusal;
use crate::settings::Settings;
use crate::sign::Signed;
use crate::trip::{same_object_except, same_value};

/// The post rules; `Ok(false)` for an unstored post the settings let through. A post in
/// another channel than the click names is answered as a post that does not exist, so that a
/// made-up click learns nothing about posts it cannot see.
pub(super) fn verify(
    click: &Click<'_>,
    claim: &Claim,
    settings: &Settings,
    post: &Answer<Post>,
) -> Result<bool, Refusal> {
    let post = match post {
        Answer::Failed(e) if e.is_not_found() && settings.allow_unverified_ephemeral => {
            return Ok(false)
        }
        post => bots_post(click, claim, post)?,
    };
    check_action(click, claim, post, &settings.site_url)?;
    Ok(true)
}

/// The stored post the click names: in the channel the click names (a post elsewhere is
/// answered as one that does not exist) and posted by the bot that receives the click.
fn bots_post<'p>(
    click: &Click<'_>,
    claim: &Claim,
    post: &'p Answer<Post>,
) -> Result<&'p Post, Refusal> {
    let unverifiable = || Refusal::UnverifiablePost {
        post_id: claim.post_id.clone(),
    };
    let post = match post {
        Answer::Found(post) if post.channel_id == claim.channel_id => post,
        Answer::Found(_) => return Err(unverifiable()),
        Answer::Failed(e) if e.is_not_found() => return Err(unverifiable()),
        Answer::Failed(e) => {
            return Err(Refusal::Unavailable {
                what: "message",
                detail: e.to_string(),
            })
        }
    };
    if post.user_id != click.recipient.as_str() {
        return Err(Refusal::RecipientNotAuthor {
            recipient: click.recipient.to_string(),
            post_id: claim.post_id.clone(),
        });
    }
    Ok(post)
}

/// Some action on the post must be one whose clicks Mattermost sends to this handler (a path, or
/// a URL on the server's `site_url`), with exactly this context, type and data source (a menu's
/// choice aside), and a static menu must offer the choice. A click naming an action that points
/// at another host was made up: Mattermost would have sent it there.
fn check_action(
    click: &Click<'_>,
    claim: &Claim,
    post: &Post,
    site_url: &str,
) -> Result<(), Refusal> {
    // A button's context must match exactly; Mattermost adds `selected_option` (and the menu's
    // data source) to a menu's only when something was chosen.
    // The signature is compared by its own check: without it, the full check is what it was
    // before signing (a post's stored context carries one, a direct request may not).
    let (skip, data_source): (&[&str], &str) = match claim.kind.as_str() {
        "select" => (
            &["selected_option", crate::sign::CONTEXT_KEY],
            claim.data_source.as_str(),
        ),
        _ => (&[crate::sign::CONTEXT_KEY], ""),
    };
    let matching: Vec<&PostAction> = post
        .actions()
        .filter(|a| {
            a.kind
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or("button")
                == claim.kind
        })
        .filter(|a| {
            a.integration.as_ref().is_some_and(|i| {
                i.url
                    .as_deref()
                    .is_some_and(|url| reaches_action_handler(url, site_url))
                    && i.context
                        .as_ref()
                        .and_then(|c| c.object())
                        .is_some_and(|c| same_object_except(&c, &click.context, skip))
            })
        })
        .collect();
    if matching.is_empty() {
        return Err(Refusal::ActionNotFound {
            post_id: claim.post_id.clone(),
        });
    }
    let Some(selected) = claim.selected.as_ref().filter(|_| claim.kind == "select") else {
        return Ok(());
    };
    let source = |a: &PostAction| a.data_source.clone().unwrap_or_default();
    let offered = |a: &&PostAction| {
        source(a) == data_source
            && (!data_source.is_empty()
                || a.options
                    .iter()
                    .flatten()
                    .flatten()
                    .any(|o| o.value.as_ref().is_some_and(|v| same_value(v, selected))))
    };
    if matching.iter().any(offered) {
        return Ok(());
    }
    if !matching.iter().any(|a| source(a) == data_source) {
        return Err(Refusal::FieldMismatch {
            field: "data_source",
        });
    }
    let option = selected
        .as_str()
        .map_or_else(|| selected.to_string(), str::to_owned);
    Err(Refusal::OptionNotOffered { option })
}

/// A click with a valid signature: the post (as this node saw it saved, or read it in the last
/// minute) must be the bot's, in the channel the signature names, and carry this very
/// signature on an action of this kind. A signature names its button; copied into a request
/// about another post it is refused.
pub(super) fn verify_signed(
    click: &Click<'_>,
    claim: &Claim,
    post: &Answer<Post>,
    sig: &serde_json::Value,
) -> Result<(), Refusal> {
    let post = bots_post(click, claim, post)?;
    let carries = post.actions().any(|a| {
        a.kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("button")
            == claim.kind
            && a.integration
                .as_ref()
                .and_then(|i| i.context.as_ref())
                .and_then(|c| c.get(crate::sign::CONTEXT_KEY))
                .is_some_and(|s| same_value(&s, sig))
    });
    if carries {
        Ok(())
    } else {
        Err(Refusal::ActionNotFound {
            post_id: claim.post_id.clone(),
        })
    }
}

/// A signed static menu's choice must be one of the options the signature names (users and
/// channels menus are checked like any other, by [`super::fields`]).
pub(super) fn check_signed_choice(claim: &Claim, signed: &Signed) -> Result<(), Refusal> {
    let (Some(selected), Some(options)) = (&claim.selected, &signed.options) else {
        return Ok(());
    };
    if claim.kind != "select" || options.iter().any(|o| same_value(o, selected)) {
        return Ok(());
    }
    let option = selected
        .as_str()
        .map_or_else(|| selected.to_string(), str::to_owned);
    Err(Refusal::OptionNotOffered { option })
}

/// A click on an ephemeral post the plugin sent must carry the version the plugin keeps for the
/// post: an `update` answer moved it on (its buttons were replaced or removed), or the buttons
/// expired, and the cookie the person's client kept is sent again.
pub(super) fn check_ephemeral_version(
    claim: &Claim,
    signed: &Signed,
    record: Option<&Answer<Option<crate::sign::ephemeral::Record>>>,
) -> Result<(), Refusal> {
    match record.expect("asked") {
        Answer::Found(Some(record)) if record.v == signed.version => Ok(()),
        Answer::Found(_) => Err(Refusal::StaleButton {
            post_id: claim.post_id.clone(),
        }),
        Answer::Failed(e) => Err(Refusal::Unavailable {
            what: "message",
            detail: e.to_string(),
        }),
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
