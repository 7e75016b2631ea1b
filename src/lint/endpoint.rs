//! `POST /api/v1/lint`, for bot developers checking a message before they post it.

use super::{check, Finding, Preview};
use crate::body;
use crate::effect::Decision;
use crate::input::Request;
use crate::refusal::{refuse, Refusal};
use serde::Serialize;
use serde_json::Value;

/// `POST /api/v1/lint`: `{"props": …, "bot_user_id": …}` or `{"post": …}` (the bot defaults to the
/// post's `user_id`), answered with `{"findings": […], "previews": […]}`.
pub(crate) fn handle(request: &Request<'_>) -> Decision {
    match answer(request) {
        Ok(body) => Decision::http(Vec::new(), 200, body),
        Err(refusal) => refuse(refusal, request.log_fields()),
    }
}

fn answer(request: &Request<'_>) -> Result<String, Refusal> {
    request.caller()?;
    let fields = body::fields(request)?;
    let post = fields.value("post").filter(Value::is_object);
    let (props, bot) = match (fields.value("props"), post) {
        (Some(props), _) => (props, fields.value("bot_user_id")),
        (None, Some(post)) => {
            let bot = fields
                .value("bot_user_id")
                .or_else(|| post.get("user_id").cloned());
            (post, bot)
        }
        _ => {
            return Err(Refusal::BadField {
                field: "props",
                expected: "present (or `post`)",
            })
        }
    };
    let bot = match &bot {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Refusal::BadField {
                field: "bot_user_id",
                expected: "a string",
            })
        }
    };
    let (findings, previews) = check(&props, bot).map_err(|e| Refusal::OverLimit {
        what: e.what,
        limit: e.limit,
    })?;
    /// The answer, written straight to text (no intermediate `Value`, a smaller server wasm).
    #[derive(Serialize)]
    struct Answer {
        findings: Vec<Finding>,
        previews: Vec<Preview>,
    }
    Ok(serde_json::to_string(&Answer { findings, previews }).expect("the answer serializes"))
}

#[cfg(test)]
mod tests {
    use super::super::testing::BOT;
    use super::*;
    use crate::input::Body;
    use crate::paths::LINT_PATH;

    fn request(method: &'static str, user: Option<&'static str>, body: &'static str) -> Decision {
        handle(&Request {
            method,
            path: LINT_PATH,
            user_id: user,
            body: Body::Complete(body.as_bytes()),
            internal: false,
        })
    }

    fn reply(d: &Decision) -> Value {
        serde_json::from_str(&d.response().body).unwrap()
    }

    #[test]
    fn endpoint_answers_findings_and_previews() {
        let d = request(
            "POST",
            Some(BOT),
            r#"{"props": {"attachments": [{"actions": [{"id": "a_b", "name": "A"}]}]}, "bot_user_id": "bot1bot1bot1bot1bot1bot1b1"}"#,
        );
        assert_eq!(d.response().status, 200);
        assert!(d.effects.is_empty());
        let r = reply(&d);
        assert_eq!(r["findings"][0]["code"], "action_id_invalid");
        assert_eq!(r["findings"][0]["severity"], "error");
        assert_eq!(r["previews"][0]["path"], "attachments[0].actions[0]");
        assert_eq!(r["previews"][0]["delivered"], false);
    }

    #[test]
    fn endpoint_takes_a_whole_post_and_its_author_as_the_bot() {
        let d = request(
            "POST",
            Some(BOT),
            r#"{"post": {"user_id": "otherbototherbototherbot01", "props": {"attachments": [{"actions": [{"id": "a", "name": "A", "type": "button", "integration": {"url": "/plugins/mattermost-plugin-interactive-message-actions-to-websocket-proxy/api/v1/handler", "context": {"user_id": "bot1bot1bot1bot1bot1bot1b1"}}}]}]}}}"#,
        );
        assert_eq!(reply(&d)["findings"][0]["code"], "context_user_id_not_bot");
    }

    #[test]
    fn endpoint_refuses_like_every_other_endpoint() {
        let cases = [
            (request("POST", None, "{}"), 401, "not_authenticated"),
            (request("POST", Some(BOT), "{"), 400, "invalid_json"),
            (request("POST", Some(BOT), "{}"), 400, "bad_field"),
            (
                request("POST", Some(BOT), r#"{"props": {}, "bot_user_id": 5}"#),
                400,
                "bad_field",
            ),
        ];
        for (d, status, code) in cases {
            assert_eq!(d.response().status, status);
            assert_eq!(reply(&d)["error"]["code"], code);
        }
        let d = handle(&Request {
            method: "POST",
            path: LINT_PATH,
            user_id: Some(BOT),
            body: Body::TooLarge,
            internal: false,
        });
        assert_eq!(reply(&d)["error"]["code"], "body_too_large");
    }
}
