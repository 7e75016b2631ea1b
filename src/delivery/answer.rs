//! A bot's answer to a click, checked before it reaches Mattermost (SPEC §9.3).
//!
//! The answer is what an HTTP integration would have answered the click with, Mattermost's
//! `PostActionIntegrationResponse`: `update` (the clicked post, changed: always the bot's own
//! post, since only the bot's own posts deliver clicks), `ephemeral_text` (shown to the clicker
//! alone) and `skip_slack_parsing`. An updated post's buttons must still work: they pass the
//! lint, or the answer is refused and the bot told why.

use crate::effect::Decision;
use crate::event::{ACTION, COMMAND, DIALOG_LOOKUP, DIALOG_REFRESH, DIALOG_SUBMISSION};
use crate::facts::Decides;
use crate::form::answer::{read_lookup_answer, read_refresh_answer, read_submission_answer};
use crate::ids::UserId;
use crate::lint::{lint, Severity};
use crate::refusal::Refusal;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The longest `ephemeral_text` (Mattermost's longest message, in characters).
const MAX_TEXT_CHARS: usize = 16_383;

/// Checks a bot's `answer` to one of its `event`s; `Ok` is the answer to keep. Each kind of
/// event has its own answer: what an HTTP integration would have answered Mattermost.
pub(crate) fn check_answer(
    event: &str,
    answer: &RawValue,
    bot: &UserId,
) -> Result<Box<RawValue>, Refusal> {
    let refused = |reason: String| Refusal::BadAnswer { reason };
    let checked = match event {
        ACTION => return check_click_answer(answer, bot),
        COMMAND => return check_command_answer(answer, bot),
        DIALOG_SUBMISSION => read_submission_answer(answer).map(drop),
        DIALOG_REFRESH => read_refresh_answer(answer).map(drop),
        DIALOG_LOOKUP => read_lookup_answer(answer).map(drop),
        _ => Ok(()),
    };
    checked.map(|()| answer.to_owned()).map_err(refused)
}

/// The decision `decides` makes with a checked `answer`, if the answer alone decides it: what
/// the waiting input's [`super::Sender::answered`] decides for the same answer (the builders
/// below, which the senders use too), made in the acknowledgement's call instead of the
/// waiting input's. `None`: the waiting input decides, with a call of its own.
pub(crate) fn decided_by(decides: Decides, answer: &RawValue) -> Option<Decision> {
    match decides {
        Decides::Click { internal } => Some(plain_click_answer(answer).for_mattermost(internal)),
        Decides::Lookup { internal } => lookup_decision(answer)
            .ok()
            .map(|d| d.for_mattermost(internal)),
        Decides::Command => serde_json::from_str(answer.get())
            .ok()
            .and_then(|fields| plain_command_answer(&fields)),
    }
}

/// A click on a stored post answered: the answer is the response, Mattermost applies it.
pub(crate) fn plain_click_answer(answer: &RawValue) -> Decision {
    Decision::http(Vec::new(), 200, answer.get().to_owned())
}

/// A lookup answered: its items are the response to Mattermost.
pub(crate) fn lookup_decision(answer: &RawValue) -> Result<Decision, String> {
    let items = read_lookup_answer(answer)?;
    let body = serde_json::json!({ "items": items }).to_string();
    Ok(Decision::http(Vec::new(), 200, body))
}

/// A slash command's answer, as Mattermost shows it to the person alone.
pub(crate) fn ephemeral_command(mut fields: Map<String, Value>) -> Decision {
    fields.insert("response_type".into(), Value::from("ephemeral"));
    Decision::command(
        Vec::new(),
        serde_json::value::to_raw_value(&fields).expect("an answer serializes"),
    )
}

/// A slash command's answer that is shown to the person alone and has no buttons: the answer
/// alone decides the command's response. `None` for one posted in the channel (only where the
/// bot may post) or with buttons (signed for the person first).
pub(crate) fn plain_command_answer(fields: &Map<String, Value>) -> Option<Decision> {
    let in_channel = fields.get("response_type").and_then(Value::as_str) == Some("in_channel");
    let buttons = fields
        .get("attachments")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    (!in_channel && !buttons).then(|| ephemeral_command(fields.clone()))
}

/// Checks `answer` to a click on a post of `bot`; `Ok` is the answer to give Mattermost.
pub(crate) fn check_click_answer(
    answer: &RawValue,
    bot: &UserId,
) -> Result<Box<RawValue>, Refusal> {
    let refused = |reason: String| Refusal::BadAnswer { reason };
    let fields = answer_fields(answer)?;
    for (key, value) in &fields {
        match (key.as_str(), value) {
            ("update", Value::Null | Value::Object(_)) => {}
            ("ephemeral_text", Value::String(text)) if text.chars().count() <= MAX_TEXT_CHARS => {}
            ("ephemeral_text", Value::String(_)) => {
                return Err(refused(format!(
                    "`ephemeral_text` must be at most {MAX_TEXT_CHARS} characters"
                )))
            }
            ("skip_slack_parsing", Value::Bool(_)) => {}
            ("update", _) => return Err(refused("`update` must be a post (an object)".into())),
            ("ephemeral_text", _) => return Err(refused("`ephemeral_text` must be text".into())),
            ("skip_slack_parsing", _) => {
                return Err(refused("`skip_slack_parsing` must be true or false".into()))
            }
            (other, _) => {
                return Err(refused(format!(
                "`{other}` is not part of an answer (update, ephemeral_text, skip_slack_parsing)"
            )))
            }
        }
    }
    if let Some(Value::Object(update)) = fields.get("update") {
        check_update(update, bot).map_err(refused)?;
    }
    Ok(answer.to_owned())
}

/// An updated post keeps its place and its author, and its buttons pass the lint.
fn check_update(update: &Map<String, Value>, bot: &UserId) -> Result<(), String> {
    for fixed in ["id", "user_id", "channel_id", "root_id", "create_at"] {
        if update.get(fixed).is_some_and(|v| !v.is_null() && v != "") {
            return Err(format!(
                "`update.{fixed}` cannot be changed: the update applies to the clicked post"
            ));
        }
    }
    // Checked here, before the event is claimed: a late answer's update is applied after, and
    // one Mattermost would refuse for its shape would leave the bot told `duplicate`.
    match update.get("message") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m.chars().count() <= MAX_TEXT_CHARS => {}
        Some(Value::String(_)) => {
            return Err(format!(
                "`update.message` must be at most {MAX_TEXT_CHARS} characters"
            ))
        }
        Some(_) => return Err("`update.message` must be text".into()),
    }
    let Some(props) = update.get("props").filter(|p| !p.is_null()) else {
        return Ok(());
    };
    if !props.is_object() {
        return Err("`update.props` must be an object".into());
    }
    lint_passes(props, bot, "the updated post's buttons")
}

/// Checks `answer` to a slash command of `bot`: what Mattermost reads from a command's URL,
/// `CommandResponse`, reduced to what a bot needs and the plugin can vouch for:
/// `response_type` (`ephemeral`, the default, or `in_channel`), `text`, `attachments` (their
/// buttons must pass the lint: the plugin posts an `in_channel` answer as the bot) and
/// `skip_slack_parsing`.
pub(crate) fn check_command_answer(
    answer: &RawValue,
    bot: &UserId,
) -> Result<Box<RawValue>, Refusal> {
    let refused = |reason: String| Refusal::BadAnswer { reason };
    let fields = answer_fields(answer)?;
    for (key, value) in &fields {
        match (key.as_str(), value) {
            ("response_type", Value::String(t)) if matches!(t.as_str(), "" | "ephemeral" | "in_channel") => {}
            ("response_type", _) => {
                return Err(refused("`response_type` must be \"ephemeral\" or \"in_channel\"".into()))
            }
            ("text", Value::String(text)) if text.chars().count() <= MAX_TEXT_CHARS => {}
            ("text", Value::String(_)) => {
                return Err(refused(format!("`text` must be at most {MAX_TEXT_CHARS} characters")))
            }
            ("text", _) => return Err(refused("`text` must be text".into())),
            ("attachments", Value::Null | Value::Array(_)) => {}
            ("attachments", _) => return Err(refused("`attachments` must be a list".into())),
            ("skip_slack_parsing", Value::Bool(_)) => {}
            ("skip_slack_parsing", _) => {
                return Err(refused("`skip_slack_parsing` must be true or false".into()))
            }
            (other, _) => {
                return Err(refused(format!(
                    "`{other}` is not part of a command answer (response_type, text, attachments, skip_slack_parsing)"
                )))
            }
        }
    }
    if let Some(attachments @ Value::Array(_)) = fields.get("attachments") {
        let props = serde_json::json!({ "attachments": attachments });
        lint_passes(&props, bot, "the answer's buttons").map_err(refused)?;
    }
    Ok(answer.to_owned())
}

/// What a checked command answer does: for `in_channel`, the post the plugin makes as the bot
/// (`None` otherwise: the answer is shown to the person who typed the command alone).
pub(crate) fn command_post(
    answer: &RawValue,
    bot: &UserId,
    channel_id: &str,
    root_id: &str,
) -> Option<Box<RawValue>> {
    let fields: Map<String, Value> = serde_json::from_str(answer.get()).ok()?;
    if fields.get("response_type").and_then(Value::as_str) != Some("in_channel") {
        return None;
    }
    Some(answer_post(&fields, bot.as_str(), channel_id, root_id))
}

/// The fact that says whether `bot` may post in `channel_id` (where an `in_channel` answer
/// would go).
pub(crate) fn can_post(bot: &UserId, channel_id: &str) -> crate::facts::Fact {
    crate::facts::Fact::ChannelPermission {
        user_id: bot.to_string(),
        channel_id: channel_id.to_owned(),
        permission: "create_post",
    }
}

/// A command answer as a post of `user_id`: its text, attachments and parsing choice.
pub(crate) fn answer_post(
    fields: &Map<String, Value>,
    user_id: &str,
    channel_id: &str,
    root_id: &str,
) -> Box<RawValue> {
    let mut post = serde_json::json!({
        "user_id": user_id,
        "channel_id": channel_id,
        "root_id": root_id,
        "message": fields.get("text").cloned().unwrap_or(Value::from("")),
    });
    let mut props = Map::new();
    if let Some(a @ Value::Array(_)) = fields.get("attachments") {
        props.insert("attachments".into(), a.clone());
    }
    if fields.get("skip_slack_parsing") == Some(&Value::Bool(true)) {
        props.insert("skip_slack_parsing".into(), Value::Bool(true));
    }
    if !props.is_empty() {
        post["props"] = Value::Object(props);
    }
    serde_json::value::to_raw_value(&post).expect("a post serializes")
}

/// An ephemeral command answer with attachments as the plugin sends it (SPEC §13): as the bot,
/// to the person who typed the command, its buttons signed for them so that their clicks are
/// verified. `None` without attachments: Mattermost's own ephemeral answer shows the text.
pub(crate) fn signed_command_answer(
    fields: &Map<String, Value>,
    bot: &UserId,
    at: &crate::sign::ephemeral::Ephemeral<'_>,
    key: &crate::sign::Keyring,
) -> Option<crate::effect::Effect> {
    fields
        .get("attachments")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())?;
    let post: Map<String, Value> =
        serde_json::from_str(answer_post(fields, bot.as_str(), at.channel_id, at.root_id).get())
            .expect("a post is an object");
    let message = post.get("message").cloned().unwrap_or(Value::from(""));
    let props = post.get("props").and_then(Value::as_object);
    Some(crate::effect::Effect::SendEphemeral {
        user_id: at.to.to_owned(),
        post: crate::sign::ephemeral::post(at, &message, props, key),
    })
}

/// An answer's fields: every answer is a JSON object.
fn answer_fields(answer: &RawValue) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_str::<Value>(answer.get()) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(Refusal::BadAnswer {
            reason: "the answer must be a JSON object".into(),
        }),
    }
}

/// Whether the buttons in `props` would work on a post of `bot`; the first error otherwise.
pub(crate) fn lint_passes(props: &Value, bot: &UserId, what: &str) -> Result<(), String> {
    let findings = lint(props, bot.as_str()).map_err(|e| e.to_string())?;
    match findings.iter().find(|f| f.severity == Severity::Error) {
        Some(f) => Err(format!(
            "{what} would not work: {} ({}: {})",
            f.message.trim_end_matches('.'),
            f.path,
            f.code
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::handler_url;
    use serde_json::json;

    const BOT: &str = "bot1bot1bot1bot1bot1bot1b1";

    fn check(answer: Value) -> Result<Box<RawValue>, String> {
        let raw = RawValue::from_string(answer.to_string()).unwrap();
        check_click_answer(&raw, &UserId::parse(BOT).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn an_answer_is_what_an_http_integration_answers() {
        assert!(check(json!({})).is_ok());
        assert!(check(json!({"ephemeral_text": "Deployed.", "skip_slack_parsing": true})).is_ok());
        assert!(check(json!({"update": {"message": "Deployed by @alice", "props": {}}})).is_ok());
        assert!(check(json!({"update": null})).is_ok());
        assert!(check(json!({"update": {"message": "x".repeat(MAX_TEXT_CHARS)}})).is_ok());
        assert!(check(json!({"update": {"message": null, "props": null}})).is_ok());
        for bad in [
            json!([]),
            json!("ok"),
            json!({"goto_location": "https://evil.example"}),
            json!({"ephemeral_text": 5}),
            json!({"ephemeral_text": "x".repeat(MAX_TEXT_CHARS + 1)}),
            json!({"update": "x"}),
            json!({"skip_slack_parsing": "yes"}),
            // What Mattermost would refuse to apply to the post: refused before it is claimed.
            json!({"update": {"message": 5}}),
            json!({"update": {"message": "x".repeat(MAX_TEXT_CHARS + 1)}}),
            json!({"update": {"props": "x"}}),
            json!({"update": {"props": []}}),
        ] {
            assert!(check(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_update_changes_the_clicked_post_only() {
        for key in ["id", "user_id", "channel_id", "root_id"] {
            let e = check(json!({"update": {key: "otherotherotherotherother1"}})).unwrap_err();
            assert!(e.contains(&format!("`update.{key}`")), "{e}");
        }
    }

    #[test]
    fn an_updated_post_must_keep_working_buttons() {
        let good = json!({"update": {"props": {"attachments": [{"actions": [{"id": "again", "name": "Again", "type": "button",
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}}]}]}}});
        assert!(check(good).is_ok());
        let broken = json!({"update": {"props": {"attachments": [{"actions": [{"id": "a_b", "name": "Again", "type": "button",
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}}]}]}}});
        let e = check(broken).unwrap_err();
        assert!(e.contains("action_id_invalid"), "{e}");
        let other_bot = json!({"update": {"props": {"attachments": [{"actions": [{"id": "a", "name": "A", "type": "button",
            "integration": {"url": handler_url(), "context": {"user_id": "otherotherotherotherother1"}}}]}]}}});
        assert!(check(other_bot)
            .unwrap_err()
            .contains("context_user_id_not_bot"));
    }
}
