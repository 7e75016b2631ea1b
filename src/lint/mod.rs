//! Payload lint: the mistakes in a post's buttons and menus that make a click fail, found before
//! the message is posted, and the event each click would deliver.
//!
//! The rules are Mattermost's own (the click route `/posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}`,
//! `Post.GetAction`, which finds the first action with an id, `PostAction.IsValid` and
//! `DoPostActionWithCookie`, which builds the request) and this plugin's (the provenance checks
//! of [`crate::handle`]). Paths are relative to the post's `props`: `attachments[0].actions[1].id`.
//!
//! [`walk`] finds the actions and collects findings, [`rules`] holds what each action is checked
//! for, [`preview`] builds the event a click would deliver, and [`endpoint`] serves
//! `POST /api/v1/lint`.

mod endpoint;
mod preview;
mod rules;
mod walk;

pub(crate) use endpoint::handle;

use crate::ids::is_mattermost_id;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use walk::{str_of, Action, Lint};

/// Mattermost refuses to save a post whose props are longer than this (`PostPropsMaxRunes`).
const MAX_PROPS_CHARS: usize = 800_000;

/// The most actions a post may have for the lint (Mattermost sets no limit; no message needs
/// more buttons than this).
pub(crate) const MAX_ACTIONS: usize = 200;
/// The most options a menu may have for the lint.
pub(crate) const MAX_OPTIONS: usize = 500;
/// The most findings the lint lists; past it they are counted, and one finding says how many.
pub(crate) const MAX_FINDINGS: usize = 200;

/// A post past one of the lint's limits: the lint refuses it whole, since its work would grow
/// with what nobody posts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is over the lint's limit of {limit}")]
pub struct TooLarge {
    /// What is counted, as a phrase: "the number of actions".
    pub what: &'static str,
    /// The limit.
    pub limit: usize,
}

/// One problem found in a post's props.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Where, as a JSON path below the props: `attachments[0].actions[1].id`.
    pub path: String,
    /// Whether clicks fail ([`Severity::Error`]) or something is merely off.
    pub severity: Severity,
    /// A stable snake_case code, for tools.
    pub code: &'static str,
    /// What is wrong and what it leads to.
    pub message: String,
    /// What to change.
    pub fix: String,
}

/// How bad a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A click fails, is refused, or the post is refused.
    Error,
    /// Clicks work, but something is lost or will surprise the bot.
    Warning,
}

/// The event a click on one action would deliver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// The action, as a JSON path below the props.
    pub path: String,
    /// The action's `id` (empty when Mattermost would generate one).
    pub action_id: String,
    /// Whether the click would be delivered: no error was found for this action or the post.
    pub delivered: bool,
    /// The `data` of the websocket event, exactly as the bot would receive it, with placeholder
    /// ids for the click's user, channel, team and post.
    pub event: Value,
}

/// Every problem in `props` (a post, its `props`, or a bare `attachments` array) that would make
/// a click fail or be refused, by Mattermost or by this plugin, for a post by `bot_user_id`.
/// Builds no preview: a post about to be saved and a bot's answer are checked with it, and
/// neither shows one.
pub fn lint(props: &Value, bot_user_id: &str) -> Result<Vec<Finding>, TooLarge> {
    walk(props, bot_user_id).map(|(lint, _)| lint.findings)
}

/// For each action of `props`, the event a bot would receive for a click on it.
pub fn preview(props: &Value, bot_user_id: &str) -> Result<Vec<Preview>, TooLarge> {
    check(props, bot_user_id).map(|(_, previews)| previews)
}

/// Both [`lint`] and [`preview`], in one pass, linear in the size of `props`.
pub fn check(props: &Value, bot_user_id: &str) -> Result<(Vec<Finding>, Vec<Preview>), TooLarge> {
    let (lint, actions) = walk(props, bot_user_id)?;
    // An error about the whole post (its size) stops every click; one about the bot id given to
    // the lint says nothing about the post.
    let previews = actions
        .iter()
        .map(|(at, action)| Preview {
            path: at.clone(),
            action_id: str_of(action.get("id")).unwrap_or_default().to_owned(),
            delivered: !lint.post_error && !lint.broken.contains(at),
            event: preview::event_for(action),
        })
        .collect();
    Ok((lint.findings, previews))
}

/// The findings for `props`, and its actions with their paths for the previews.
fn walk<'a>(props: &'a Value, bot_user_id: &str) -> Result<(Lint, Vec<Action<'a>>), TooLarge> {
    let mut lint = Lint::default();
    let bot = if bot_user_id.is_empty() {
        lint.warn("bot_user_id", "bot_user_id_missing",
            "Without the bot's user id, the lint cannot check that `context.user_id` names the bot that posts the message.".into(),
            "Give the bot's user id (26 characters, from `GET /api/v4/users/me` with the bot's token).");
        None
    } else if !is_mattermost_id(bot_user_id) {
        lint.error(
            "bot_user_id",
            "bot_user_id_invalid",
            format!(
                "{bot_user_id:?} is not a Mattermost user id (26 lowercase letters and digits)."
            ),
            "Give the bot's user id from `GET /api/v4/users/me`, not its username.",
        );
        None
    } else {
        Some(bot_user_id)
    };

    let obj = props.as_object();
    let props = obj.and_then(|o| o.get("props")).unwrap_or(props);
    let size = props.to_string().chars().count();
    if size > MAX_PROPS_CHARS {
        lint.error("", "props_too_large",
            format!("The props are {size} characters long; Mattermost refuses to save a post with more than {MAX_PROPS_CHARS}."),
            "Make the attachments and the contexts smaller.");
    }
    let attachments = match props {
        Value::Array(_) => Some(props),
        _ => props.get("attachments"),
    };

    let actions = lint.actions(attachments)?;
    if actions.is_empty() {
        lint.warn("attachments", "no_actions",
            "There is no button or menu here (`attachments[].actions[]`), so there is nothing to click.".into(),
            "Add actions to an attachment, as in the README's example.");
    }

    let mut seen = HashMap::new();
    for (at, action) in &actions {
        lint.action(at, action, bot, &mut seen)?;
    }
    if lint.dropped > 0 {
        let shown = lint.findings.len();
        let more = lint.dropped;
        lint.findings.push(Finding {
            path: String::new(),
            severity: Severity::Warning,
            code: "too_many_findings",
            message: format!("Only the first {shown} findings are listed; {more} more were found."),
            fix: "Fix these and lint again.".to_owned(),
        });
    }

    Ok((lint, actions))
}

#[cfg(test)]
pub(crate) mod testing {
    //! What the lint's tests share: a bot, a button, a post and ways to look at findings.
    use super::*;
    use crate::paths::handler_url;
    use serde_json::json;

    pub(crate) const BOT: &str = "bot1bot1bot1bot1bot1bot1b1";

    /// The findings for a post within the limits.
    pub(crate) fn lints(props: &Value, bot: &str) -> Vec<Finding> {
        lint(props, bot).expect("within the limits")
    }

    /// The previews for a post within the limits.
    pub(crate) fn previews(props: &Value, bot: &str) -> Vec<Preview> {
        preview(props, bot).expect("within the limits")
    }

    pub(crate) fn button(id: &str) -> Value {
        json!({
            "id": id, "name": "Approve", "type": "button", "style": "primary",
            "integration": {"url": handler_url(), "context": {"user_id": BOT, "action": "approve"}}
        })
    }

    pub(crate) fn post(actions: Value) -> Value {
        json!({"attachments": [{"text": "Deploy?", "actions": actions}]})
    }

    /// The codes found, with their paths.
    pub(crate) fn codes(props: &Value) -> Vec<(String, &'static str)> {
        lints(props, BOT)
            .into_iter()
            .map(|f| (f.path, f.code))
            .collect()
    }

    pub(crate) fn has(props: &Value, path: &str, code: &str) -> bool {
        let found = codes(props);
        found.iter().any(|(p, c)| p == path && *c == code)
            || panic!("{code} at {path} not in {found:?}")
    }

    /// `action` with the key at `pointer` set (or added) to `value`.
    pub(crate) fn with(mut action: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = action.pointer_mut(parent).unwrap();
        if !parent.is_object() {
            *parent = json!({});
        }
        parent.as_object_mut().unwrap().insert(key.into(), value);
        action
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::paths::handler_url;
    use serde_json::json;

    #[test]
    fn a_post_with_more_actions_or_options_than_the_limits_is_refused_whole() {
        let many: Vec<Value> = (0..=MAX_ACTIONS)
            .map(|i| button(&format!("a{i}")))
            .collect();
        assert_eq!(
            check(&post(Value::Array(many)), BOT).unwrap_err(),
            TooLarge {
                what: "the number of actions",
                limit: MAX_ACTIONS
            }
        );
        let options: Vec<Value> = (0..=MAX_OPTIONS)
            .map(|i| json!({"text": "x", "value": i.to_string()}))
            .collect();
        let menu = json!({"id": "m", "name": "M", "type": "select", "options": options,
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}});
        assert_eq!(
            check(&post(json!([menu])), BOT).unwrap_err().limit,
            MAX_OPTIONS
        );
    }

    #[test]
    fn findings_stop_at_the_limit_and_the_last_says_how_many_more() {
        // Every action with four errors (id, name, type, url): 800 findings, 200 listed.
        let broken: Vec<Value> = (0..MAX_ACTIONS)
            .map(|i| json!({"id": format!("a_{i}"), "type": "x", "integration": {"url": "https://x.example/y", "context": {"user_id": BOT}}}))
            .collect();
        let (findings, previews) = check(&post(Value::Array(broken)), BOT).unwrap();
        assert_eq!(findings.len(), MAX_FINDINGS + 1);
        let last = findings.last().unwrap();
        assert_eq!(last.code, "too_many_findings");
        assert!(last.message.contains("600 more"), "{}", last.message);
        assert!(
            previews.iter().all(|p| !p.delivered),
            "errors past the limit still stop the clicks of their actions"
        );
    }

    #[test]
    fn a_correct_post_has_no_findings_and_delivers_every_click() {
        let select = json!({
            "id": "region", "name": "Region", "type": "select",
            "options": [{"text": "Europe", "value": "eu"}, {"text": "Americas", "value": "us"}],
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}
        });
        let props = post(json!([button("approve"), button("reject"), select]));
        assert_eq!(codes(&props), vec![]);
        assert!(previews(&props, BOT).iter().all(|p| p.delivered));
    }

    #[test]
    fn accepts_a_post_its_props_or_a_bare_attachments_array() {
        let props = post(json!([button("a_1")]));
        let path = "attachments[0].actions[0].id";
        assert!(has(&props, path, "action_id_invalid"));
        assert!(has(
            &json!({"props": props, "user_id": BOT}),
            path,
            "action_id_invalid"
        ));
        assert!(has(&props["attachments"], path, "action_id_invalid"));
    }

    #[test]
    fn wrong_type() {
        let props = post(json!([with(button("a"), "/id", json!(7))]));
        assert!(has(&props, "attachments[0].actions[0].id", "wrong_type"));
        assert!(has(
            &json!({"attachments": {"x": 1}}),
            "attachments",
            "wrong_type"
        ));
        assert!(has(
            &post(json!("nope")),
            "attachments[0].actions",
            "wrong_type"
        ));
    }

    #[test]
    fn no_actions() {
        assert!(has(
            &json!({"attachments": [{"text": "hi"}]}),
            "attachments",
            "no_actions"
        ));
        assert!(has(&json!({}), "attachments", "no_actions"));
        // `null` actions are skipped, as Mattermost does.
        assert!(has(&post(json!([null])), "attachments", "no_actions"));
    }

    #[test]
    fn every_code_is_stable_snake_case_and_every_finding_says_how_to_fix_it() {
        let props = json!({"attachments": [{"actions": [
            {"id": "a-1", "type": "x", "style": "y", "options": [{}], "data_source": "z", "integration": {"context": {"user_id": "u", "e": []}}},
            {"id": "a-1", "type": "select"}, {}
        ]}]});
        for f in lints(&props, "nope") {
            assert!(
                f.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                f.code
            );
            assert!(f.message.ends_with('.') && f.fix.ends_with('.'), "{f:?}");
        }
    }
}
