//! Whether a click really came from a button the receiving bot posted (SPEC §4.3–4.4).
//!
//! Without these checks anyone could post a made-up body to the handler, or post their own
//! message whose button names a bot, and make that bot receive events it never offered.

use crate::action::ActionRequest;
use crate::error::Refusal;
use crate::facts::{FactAnswer, FactQuery, Post, PostAction, User};
use crate::http::ACTION_PATH;
use crate::json::{same_object_except, same_value};
use crate::manifest::PLUGIN_ID;
use crate::settings::Settings;
use serde::de::DeserializeOwned;

/// The facts a click needs, in the order [`decide`] reads their answers.
pub(crate) fn queries(req: &ActionRequest<'_>, settings: &Settings) -> Vec<FactQuery> {
    let recipient = FactQuery::User {
        user_id: req.recipient.to_string(),
    };
    if !settings.verify_provenance {
        return vec![recipient];
    }
    vec![
        FactQuery::Post {
            post_id: req.post_id.clone(),
        },
        FactQuery::ChannelPermission {
            user_id: req.caller.to_string(),
            channel_id: req.channel_id.clone(),
            permission: "read_channel",
        },
        recipient,
    ]
}

/// Decides from the answers to [`queries`]; `Ok(verified)` means deliver, with
/// `proxy.verified = verified`.
pub(crate) fn decide(
    req: &ActionRequest<'_>,
    settings: &Settings,
    answers: &[FactAnswer],
) -> Result<bool, Refusal> {
    let verified = if settings.verify_provenance {
        let [post, permission, _] = answers else {
            return Err(Refusal::Internal {
                detail: "wrong number of facts".into(),
            });
        };
        verify(req, settings, post, permission)?
    } else {
        false
    };
    check_recipient(
        req,
        answers
            .last()
            .expect("every query list ends with the recipient"),
    )?;
    Ok(verified)
}

/// The provenance rules; `Ok(false)` for an unstored post the settings let through.
fn verify(
    req: &ActionRequest<'_>,
    settings: &Settings,
    post: &FactAnswer,
    permission: &FactAnswer,
) -> Result<bool, Refusal> {
    let post: Post = match post {
        FactAnswer::Found(raw) => read(raw, "post")?,
        FactAnswer::NotFound if settings.allow_unverified_ephemeral => return Ok(false),
        FactAnswer::NotFound => {
            return Err(Refusal::UnverifiablePost {
                post_id: req.post_id.clone(),
            })
        }
        FactAnswer::Failed(detail) => {
            return Err(Refusal::Unavailable {
                what: "message",
                detail: detail.clone(),
            })
        }
    };
    if post.channel_id != req.channel_id {
        return Err(Refusal::ChannelMismatch {
            post_id: req.post_id.clone(),
            channel_id: req.channel_id.clone(),
        });
    }
    match permission {
        FactAnswer::Found(raw) if read::<bool>(raw, "permission")? => {}
        FactAnswer::Found(_) | FactAnswer::NotFound => {
            return Err(Refusal::ChannelNotReadable {
                channel_id: req.channel_id.clone(),
            })
        }
        FactAnswer::Failed(detail) => {
            return Err(Refusal::Unavailable {
                what: "channel permissions",
                detail: detail.clone(),
            })
        }
    }
    if post.user_id != req.recipient.as_str() {
        return Err(Refusal::RecipientNotAuthor {
            recipient: req.recipient.to_string(),
            post_id: req.post_id.clone(),
        });
    }
    check_action(req, &post)?;
    Ok(true)
}

/// Some action on the post must point at this handler with exactly this context and type, and
/// a static menu must offer the selected option.
fn check_action(req: &ActionRequest<'_>, post: &Post) -> Result<(), Refusal> {
    // Mattermost sends the action's `type` as posted: `""` for an action posted without one,
    // which it shows as a button.
    let kind = req
        .kind()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "button".to_owned());
    let context = req.context();
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
            post_id: req.post_id.clone(),
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
fn check_recipient(req: &ActionRequest<'_>, answer: &FactAnswer) -> Result<(), Refusal> {
    let recipient = req.recipient.to_string();
    match answer {
        FactAnswer::Found(raw) if read::<User>(raw, "user")?.delete_at == 0 => Ok(()),
        FactAnswer::Found(_) => Err(Refusal::RecipientDeactivated { recipient }),
        FactAnswer::NotFound => Err(Refusal::RecipientNotFound { recipient }),
        FactAnswer::Failed(detail) => Err(Refusal::Unavailable {
            what: "bot's account",
            detail: detail.clone(),
        }),
    }
}

fn read<T: DeserializeOwned>(raw: &serde_json::value::RawValue, what: &str) -> Result<T, Refusal> {
    serde_json::from_str(raw.get()).map_err(|e| Refusal::Internal {
        detail: format!("reading the {what} fact: {e}"),
    })
}

/// Whether an `integration.url` makes Mattermost call this plugin's action handler.
///
/// Mattermost calls a plugin in-process for a URL that starts with `/plugins/` or `plugins/`
/// (after cleaning the path), and over HTTP with the clicker's session for an absolute URL to
/// its own site, which may sit below a subpath.
pub(crate) fn targets_action_handler(url: &str) -> bool {
    let handler = format!("/plugins/{PLUGIN_ID}{ACTION_PATH}");
    let url = url.split(['?', '#']).next().unwrap_or_default();
    if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        return clean_path(path).ends_with(&handler);
    }
    let path = clean_path(url);
    (url.starts_with('/') || url.starts_with("plugins/")) && path == handler
}

/// Resolves `.`, `..` and repeated slashes, as Go's `path.Clean` does, always rooted.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_url_may_be_relative_absolute_or_below_a_subpath() {
        let h = format!("/plugins/{PLUGIN_ID}/api/v1/handler");
        assert!(targets_action_handler(&h));
        assert!(targets_action_handler(&h[1..]));
        assert!(targets_action_handler(&format!("{h}?x=1")));
        assert!(targets_action_handler(&format!(
            "/plugins/{PLUGIN_ID}/api/v1/./handler"
        )));
        assert!(targets_action_handler(&format!(
            "https://chat.example.com{h}"
        )));
        assert!(targets_action_handler(&format!(
            "http://chat.example.com:8065/mm{h}"
        )));
    }

    #[test]
    fn handler_url_must_name_this_plugin_and_this_endpoint() {
        assert!(!targets_action_handler("/plugins/other/api/v1/handler"));
        assert!(!targets_action_handler(&format!(
            "/plugins/{PLUGIN_ID}/api/v1/handlers"
        )));
        assert!(!targets_action_handler(&format!(
            "/plugins/{PLUGIN_ID}/api/v1/handler/../lint"
        )));
        assert!(!targets_action_handler(&format!(
            "x/plugins/{PLUGIN_ID}/api/v1/handler"
        )));
        assert!(!targets_action_handler(&format!(
            "https://example.com/plugins/{PLUGIN_ID}/api/v1/handler/x"
        )));
        assert!(!targets_action_handler(""));
    }
}
