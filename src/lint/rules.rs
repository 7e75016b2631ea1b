//! What each action is checked for: its id, name, type, style, options, integration and
//! context, each rule with its code, its words and its fix.

use super::walk::{key_path, Kind, Lint};
use super::{TooLarge, MAX_OPTIONS};
use crate::body::MAX_BODY_BYTES;
use crate::ids::is_mattermost_id;
use crate::paths::{handler_url, names_action_handler};
use crate::trip::{change, Change};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// A context larger than this is worth a warning: it travels with every click and every read.
const LARGE_CONTEXT: usize = 64 << 10;

impl Lint {
    /// The rules for one action at path `at`; `seen` holds the ids met so far and their paths.
    /// A menu with more than [`MAX_OPTIONS`] options is too large to lint.
    pub(super) fn action<'a>(
        &mut self,
        at: &'a str,
        action: &'a Map<String, Value>,
        bot: Option<&str>,
        seen: &mut HashMap<&'a str, &'a str>,
    ) -> Result<(), TooLarge> {
        let id = self.string(action, at, "id");
        let id_path = format!("{at}.id");
        if id.is_empty() {
            self.warn(&id_path, "action_id_missing",
                "Mattermost generates an id when the post is saved, so clicks work, but the id changes with every post.".into(),
                "Set `id` to letters and digits, e.g. \"approve\".");
        } else if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            self.error(&id_path, "action_id_invalid",
                format!("Mattermost's click route accepts only letters and digits in an action id, so a click on {id:?} gets a 404 and never reaches the plugin."),
                &format!("Use only letters and digits, e.g. {:?}.", id.replace(|c: char| !c.is_ascii_alphanumeric(), "")));
        } else if let Some(first) = seen.get(id) {
            self.error(&id_path, "action_id_duplicate",
                format!("{first} has the same id {id:?}; Mattermost finds the first action with an id, so a click here acts as a click there."),
                "Give every action of the post its own id.");
        } else {
            seen.insert(id, at);
        }

        if self.string(action, at, "name").is_empty() {
            self.error(&format!("{at}.name"), "action_name_missing",
                "The action has no `name`: Mattermost requires one (it is the button's label or the menu's placeholder).".into(),
                "Set `name`, e.g. \"Approve\".");
        }

        let kind = self.string(action, at, "type");
        let type_path = format!("{at}.type");
        match kind {
            "button" | "select" => {}
            "" => self.warn(
                &type_path,
                "action_type_missing",
                "Without `type`, Mattermost shows a button (and logs the post's props as invalid)."
                    .into(),
                "Set `type` to \"button\" or \"select\".",
            ),
            other => self.error(
                &type_path,
                "action_type_unknown",
                format!("Mattermost knows the types \"button\" and \"select\", not {other:?}."),
                "Set `type` to \"button\" or \"select\".",
            ),
        }

        let style = self.string(action, at, "style");
        let hex = style.len() == 7
            && style.starts_with('#')
            && style[1..].bytes().all(|b| b.is_ascii_hexdigit());
        let named = ["default", "primary", "success", "good", "warning", "danger"];
        if !style.is_empty() && !hex && !named.contains(&style) {
            self.warn(&format!("{at}.style"), "style_unknown",
                format!("Mattermost does not know the style {style:?}; the button is drawn plain, and the post's props are logged as invalid."),
                "Use default, primary, success, good, warning, danger, or a color like \"#1e88e5\".");
        }

        let source = self.string(action, at, "data_source");
        let options_path = format!("{at}.options");
        let options = self
            .typed(action.get("options"), &options_path, Kind::Array)
            .and_then(Value::as_array)
            .filter(|o| !o.is_empty());
        if options.is_some_and(|o| o.len() > MAX_OPTIONS) {
            return Err(TooLarge {
                what: "the number of a menu's options",
                limit: MAX_OPTIONS,
            });
        }
        if kind == "select" {
            if !matches!(source, "" | "users" | "channels") {
                self.error(&format!("{at}.data_source"), "data_source_unknown",
                    format!("A menu's `data_source` is \"users\", \"channels\" or empty (static options), not {source:?}."),
                    "Set `data_source` to \"users\" or \"channels\", or remove it and list `options`.");
            } else if !source.is_empty() && options.is_some() {
                self.warn(&options_path, "select_options_ignored",
                    format!("A menu with `data_source` {source:?} lists {source}; its `options` are ignored."),
                    "Remove `options`, or remove `data_source` for a static menu.");
            } else if source.is_empty() && options.is_none() {
                self.error(&options_path, "select_without_options",
                    "This menu has neither `options` nor `data_source`, so there is nothing to choose.".into(),
                    "List `options` ({\"text\": …, \"value\": …}), or set `data_source` to \"users\" or \"channels\".");
            }
            if source.is_empty() {
                self.options(
                    &options_path,
                    options.map(Vec::as_slice).unwrap_or_default(),
                );
            }
        } else {
            if options.is_some() {
                self.warn(
                    &options_path,
                    "button_with_options",
                    "A button has no options; Mattermost ignores them.".into(),
                    "Remove `options`, or set `type` to \"select\".",
                );
            }
            if !source.is_empty() {
                self.warn(
                    &format!("{at}.data_source"),
                    "button_with_data_source",
                    "A button has no data source; Mattermost ignores it.".into(),
                    "Remove `data_source`, or set `type` to \"select\".",
                );
            }
        }

        let integration_path = format!("{at}.integration");
        let Some(integration) = self
            .typed(action.get("integration"), &integration_path, Kind::Object)
            .and_then(Value::as_object)
        else {
            self.error(&integration_path, "integration_missing",
                "Without `integration`, Mattermost answers a click with a 404 and calls no one.".into(),
                &format!("Add \"integration\": {{\"url\": \"{}\", \"context\": {{\"user_id\": \"<the bot's user id>\"}}}}.", handler_url()));
            return Ok(());
        };
        let url = self.string(integration, &integration_path, "url");
        if !names_action_handler(url) {
            let what = if url.is_empty() {
                "missing".to_owned()
            } else {
                format!("{url:?}")
            };
            self.error(
                &format!("{integration_path}.url"),
                "integration_url_wrong",
                format!(
                    "The integration URL is {what}, so clicks do not reach this plugin's handler."
                ),
                &format!("Set `integration.url` to \"{}\".", handler_url()),
            );
        } else if url.starts_with("http://") || url.starts_with("https://") {
            // Mattermost sends such a click to the plugin only on its own Site URL, and the
            // plugin signs (and accepts) only those; the lint, which also runs in the browser,
            // does not know that address.
            self.warn(
                &format!("{integration_path}.url"),
                "integration_url_absolute",
                format!("The integration URL is absolute ({url:?}): clicks reach this plugin only if it is exactly this server's Site URL (scheme, host and port) followed by the handler's path; on any other host Mattermost sends them there."),
                &format!("Set `integration.url` to the path \"{}\", which works on any server.", handler_url()),
            );
        }
        self.context(&integration_path, integration.get("context"), bot);
        Ok(())
    }

    /// A static menu's options: each needs a text and a value, and values should differ.
    fn options(&mut self, at: &str, options: &[Value]) {
        let empty = Map::new();
        let mut values = HashSet::new();
        for (k, option) in options.iter().enumerate() {
            let path = format!("{at}[{k}]");
            let option = self
                .typed(Some(option), &path, Kind::Object)
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            if self.string(option, &path, "text").is_empty() {
                self.warn(
                    &format!("{path}.text"),
                    "option_text_missing",
                    "This option has no `text`, so it shows as an empty line.".into(),
                    "Set `text` to what the person reads.",
                );
            }
            let value = self.string(option, &path, "value");
            if value.is_empty() {
                self.error(&format!("{path}.value"), "option_value_missing",
                    "This option has no `value`: choosing it sends no `selected_option`, so the bot cannot tell what was chosen.".into(),
                    "Set `value` to what the bot should receive.");
            } else if !values.insert(value) {
                self.warn(
                    &format!("{path}.value"),
                    "option_value_duplicate",
                    format!(
                        "Another option has the value {value:?}: the bot cannot tell them apart."
                    ),
                    "Give every option its own value.",
                );
            }
        }
    }

    /// `integration.context`: it must name the posting bot, and survive the trip to the bot.
    fn context(&mut self, at: &str, context: Option<&Value>, bot: Option<&str>) {
        let path = format!("{at}.context");
        let user_path = format!("{path}.user_id");
        let fix_user =
            "Set `integration.context.user_id` to the user id of the bot that posts the message.";
        let Some(context) = self.typed(context, &path, Kind::Object) else {
            self.error(&user_path, "context_user_id_missing",
                "Without `context.user_id` the plugin does not know which bot receives the click, and refuses it.".into(),
                fix_user);
            return;
        };
        match context.get("user_id") {
            None | Some(Value::Null) => self.error(&user_path, "context_user_id_missing",
                "Without `context.user_id` the plugin does not know which bot receives the click, and refuses it.".into(),
                fix_user),
            Some(id) if !id.as_str().is_some_and(is_mattermost_id) => self.error(&user_path, "context_user_id_invalid",
                format!("{id} is not a user id (26 lowercase letters and digits), so the plugin refuses the click."),
                "Use the bot's user id from `GET /api/v4/users/me`, not its username."),
            Some(id) => {
                if let Some(bot) = bot.filter(|b| id != b) {
                    self.error(&user_path, "context_user_id_not_bot",
                        format!("The context names {id}, but the message is posted by {bot}; only the bot that posted a message receives its clicks, so the plugin refuses them."),
                        fix_user);
                }
            }
        }

        let size = context.to_string().len();
        // Room for the rest of the request: ids, names, the trigger id.
        if size > MAX_BODY_BYTES - (16 << 10) {
            self.error(&path, "context_too_large",
                format!("The context is {size} bytes; with the rest of the click it passes the plugin's limit of {} KiB, and the click is refused.", MAX_BODY_BYTES >> 10),
                "Keep large data on the bot's side and put a key to it in the context.");
        } else if size > LARGE_CONTEXT {
            self.warn(&path, "context_large",
                format!("The context is {size} bytes; it is stored with the post and sent with every click."),
                "Keep large data on the bot's side and put a key to it in the context.");
        }
        self.context_values(&path, context);
    }

    /// What Mattermost changes on the way: `[]` becomes `null`, numbers pass through `float64`.
    fn context_values(&mut self, path: &str, value: &Value) {
        match (change(value), value) {
            (Some(Change::EmptyArrayBecomesNull), _) => self.warn(path, "context_empty_array",
                "An empty array reaches the bot as null (Mattermost's plugin RPC cannot tell them apart).".into(),
                "Leave the key out, or have the bot treat null as empty."),
            (Some(Change::NumberRounded), n) => self.warn(path, "context_number_inexact",
                format!("{n} is beyond 2^53: it passes through Go's float64 and reaches the bot as a different number."),
                "Send large integers as strings."),
            (None, Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    self.context_values(&format!("{path}[{i}]"), v);
                }
            }
            (None, Value::Object(o)) => {
                for (k, v) in o {
                    self.context_values(&key_path(path, k), v);
                }
            }
            (None, _) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Severity, MAX_PROPS_CHARS};
    use crate::paths::handler_url;
    use serde_json::{json, Value};

    #[test]
    fn action_id_invalid() {
        let props = post(json!([button("approve"), button("approve_1")]));
        assert!(has(
            &props,
            "attachments[0].actions[1].id",
            "action_id_invalid"
        ));
        let f = &lints(&props, BOT)[0];
        assert_eq!(f.severity, Severity::Error);
        assert!(f.fix.contains("\"approve1\""), "{}", f.fix);
        assert!(has(
            &post(json!([button("é")])),
            "attachments[0].actions[0].id",
            "action_id_invalid"
        ));
    }

    #[test]
    fn action_id_missing() {
        let props = post(json!([with(button("x"), "/id", Value::Null)]));
        assert!(has(
            &props,
            "attachments[0].actions[0].id",
            "action_id_missing"
        ));
        assert_eq!(lints(&props, BOT)[0].severity, Severity::Warning);
        assert!(previews(&props, BOT)[0].delivered);
    }

    #[test]
    fn action_id_duplicate() {
        let props = json!({"attachments": [
            {"actions": [button("go")]},
            {"actions": [button("go")]}
        ]});
        assert!(has(
            &props,
            "attachments[1].actions[0].id",
            "action_id_duplicate"
        ));
        assert_eq!(codes(&props).len(), 1);
        let previews = previews(&props, BOT);
        assert!(previews[0].delivered && !previews[1].delivered);
    }

    #[test]
    fn action_name_missing() {
        let props = post(json!([with(button("a"), "/name", json!(""))]));
        assert!(has(
            &props,
            "attachments[0].actions[0].name",
            "action_name_missing"
        ));
    }

    #[test]
    fn integration_missing() {
        let mut action = button("a");
        action.as_object_mut().unwrap().remove("integration");
        assert!(has(
            &post(json!([action])),
            "attachments[0].actions[0].integration",
            "integration_missing"
        ));
    }

    #[test]
    fn integration_url_wrong() {
        for url in [
            json!("https://bot.example.com/hook"),
            json!(""),
            Value::Null,
            json!("/plugins/other/api/v1/handler"),
        ] {
            let props = post(json!([with(button("a"), "/integration/url", url)]));
            assert!(has(
                &props,
                "attachments[0].actions[0].integration.url",
                "integration_url_wrong"
            ));
        }
        let absolute = format!("https://chat.example.com{}", handler_url());
        assert_eq!(
            codes(&post(json!([with(
                button("a"),
                "/integration/url",
                absolute.into()
            )]))),
            vec![(
                "attachments[0].actions[0].integration.url".to_owned(),
                "integration_url_absolute"
            )]
        );
    }

    #[test]
    fn context_user_id_missing() {
        let path = "attachments[0].actions[0].integration.context.user_id";
        assert!(has(
            &post(json!([with(
                button("a"),
                "/integration/context",
                json!({})
            )])),
            path,
            "context_user_id_missing"
        ));
        assert!(has(
            &post(json!([with(
                button("a"),
                "/integration/context",
                Value::Null
            )])),
            path,
            "context_user_id_missing"
        ));
    }

    #[test]
    fn context_user_id_invalid() {
        let path = "attachments[0].actions[0].integration.context.user_id";
        for id in [
            json!("helper-bot"),
            json!(42),
            json!("BOT1BOT1BOT1BOT1BOT1BOT1B1"),
        ] {
            assert!(has(
                &post(json!([with(
                    button("a"),
                    "/integration/context/user_id",
                    id
                )])),
                path,
                "context_user_id_invalid"
            ));
        }
    }

    #[test]
    fn context_user_id_not_bot() {
        let other = "otherbototherbototherbot01";
        let props = post(json!([with(
            button("a"),
            "/integration/context/user_id",
            other.into()
        )]));
        assert!(has(
            &props,
            "attachments[0].actions[0].integration.context.user_id",
            "context_user_id_not_bot"
        ));
        assert!(!previews(&props, BOT)[0].delivered);
        // Without the bot's id the comparison is skipped, and that is said.
        let found: Vec<_> = lints(&props, "").into_iter().map(|f| f.code).collect();
        assert_eq!(found, vec!["bot_user_id_missing"]);
        assert_eq!(lints(&props, "helper-bot")[0].code, "bot_user_id_invalid");
        // A bad bot id given to the lint says nothing about whether the post's clicks work.
        let fine = post(json!([button("a")]));
        assert!(previews(&fine, "helper-bot")[0].delivered);
        assert!(!previews(&big_props(), BOT)[0].delivered);
    }

    #[test]
    fn select_without_options() {
        let select = json!({"id": "m", "name": "Menu", "type": "select", "options": [],
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}});
        assert!(has(
            &post(json!([select.clone()])),
            "attachments[0].actions[0].options",
            "select_without_options"
        ));
        let users = with(select, "/data_source", json!("users"));
        assert_eq!(codes(&post(json!([users.clone()]))), vec![]);
        let both = with(users, "/options", json!([{"text": "A", "value": "a"}]));
        assert!(has(
            &post(json!([both])),
            "attachments[0].actions[0].options",
            "select_options_ignored"
        ));
    }

    #[test]
    fn option_text_and_value_missing_and_duplicate() {
        let select = json!({"id": "m", "name": "Menu", "type": "select",
            "options": [{"text": "", "value": "a"}, {"text": "B", "value": ""}, {"text": "C", "value": "a"}, null],
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}});
        let props = post(json!([select]));
        let at = "attachments[0].actions[0].options";
        assert!(has(&props, &format!("{at}[0].text"), "option_text_missing"));
        assert!(has(
            &props,
            &format!("{at}[1].value"),
            "option_value_missing"
        ));
        assert!(has(
            &props,
            &format!("{at}[2].value"),
            "option_value_duplicate"
        ));
        assert!(has(
            &props,
            &format!("{at}[3].value"),
            "option_value_missing"
        ));
    }

    #[test]
    fn data_source_unknown() {
        let select = json!({"id": "m", "name": "Menu", "type": "select", "data_source": "teams",
            "integration": {"url": handler_url(), "context": {"user_id": BOT}}});
        assert!(has(
            &post(json!([select])),
            "attachments[0].actions[0].data_source",
            "data_source_unknown"
        ));
    }

    #[test]
    fn button_with_options_or_data_source() {
        let b = with(
            with(button("a"), "/style", json!("good")),
            "/type",
            json!("button"),
        );
        let mut b = b.as_object().unwrap().clone();
        b.insert("options".into(), json!([{"text": "A", "value": "a"}]));
        b.insert("data_source".into(), json!("users"));
        let props = post(json!([b]));
        assert!(has(
            &props,
            "attachments[0].actions[0].options",
            "button_with_options"
        ));
        assert!(has(
            &props,
            "attachments[0].actions[0].data_source",
            "button_with_data_source"
        ));
    }

    #[test]
    fn action_type_unknown_or_missing() {
        assert!(has(
            &post(json!([with(button("a"), "/type", json!("link"))])),
            "attachments[0].actions[0].type",
            "action_type_unknown"
        ));
        let missing = post(json!([with(button("a"), "/type", json!(""))]));
        assert!(has(
            &missing,
            "attachments[0].actions[0].type",
            "action_type_missing"
        ));
        assert_eq!(lints(&missing, BOT)[0].severity, Severity::Warning);
    }

    #[test]
    fn style_unknown() {
        for bad in ["blue", "#abc", "#12345g", "Primary"] {
            assert!(has(
                &post(json!([with(button("a"), "/style", bad.into())])),
                "attachments[0].actions[0].style",
                "style_unknown"
            ));
        }
        for good in ["default", "danger", "#1E88e5", ""] {
            assert_eq!(
                codes(&post(json!([with(button("a"), "/style", good.into())]))),
                vec![]
            );
        }
    }

    /// A post whose props are over Mattermost's limit.
    fn big_props() -> Value {
        let blob = "x".repeat(MAX_PROPS_CHARS);
        post(json!([with(
            button("a"),
            "/integration/context/blob",
            blob.into()
        )]))
    }

    #[test]
    fn context_too_large_and_large() {
        let path = "attachments[0].actions[0].integration.context";
        let big = |n: usize| {
            post(json!([with(
                button("a"),
                "/integration/context/blob",
                "x".repeat(n).into()
            )]))
        };
        assert!(has(&big(70 << 10), path, "context_large"));
        assert!(has(&big(1 << 20), path, "context_too_large"));
        assert!(has(&big(1 << 20), "", "props_too_large"));
    }

    #[test]
    fn context_empty_array() {
        let props = post(json!([with(
            button("a"),
            "/integration/context/tags",
            json!({"a b": [], "c": [[]]})
        )]));
        let at = "attachments[0].actions[0].integration.context.tags";
        assert!(has(
            &props,
            &format!("{at}[\"a b\"]"),
            "context_empty_array"
        ));
        assert!(has(&props, &format!("{at}.c[0]"), "context_empty_array"));
        assert_eq!(
            previews(&props, BOT)[0].event["context"]["tags"],
            json!({"a b": null, "c": [null]})
        );
    }

    #[test]
    fn context_number_inexact() {
        let n: Value = serde_json::from_str("9007199254740993").unwrap();
        let props = post(json!([with(button("a"), "/integration/context/n", n)]));
        assert!(has(
            &props,
            "attachments[0].actions[0].integration.context.n",
            "context_number_inexact"
        ));
        assert_eq!(
            previews(&props, BOT)[0].event["context"]["n"].to_string(),
            "9007199254740992"
        );
        let fine = post(json!([with(
            button("a"),
            "/integration/context/n",
            json!([1.5, -3, 9007199254740992u64])
        )]));
        assert_eq!(codes(&fine), vec![]);
    }
}
