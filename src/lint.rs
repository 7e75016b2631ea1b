//! Payload lint: the mistakes in a post's buttons and menus that make a click fail, found before
//! the message is posted, and the event each click would deliver.
//!
//! The rules are Mattermost's own (the click route `/posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}`,
//! `Post.GetAction`, which finds the first action with an id, `PostAction.IsValid` and
//! `DoPostActionWithCookie`, which builds the request) and this plugin's ([`crate::provenance`]).
//! Paths are relative to the post's `props`: `attachments[0].actions[1].id`.

use crate::effect::{Decision, Response};
use crate::error::Refusal;
use crate::event::action_event;
use crate::http::{fields, Context, Request, ACTION_PATH, MAX_BODY_BYTES};
use crate::ids::is_mattermost_id;
use crate::manifest::PLUGIN_ID;
use crate::provenance::targets_action_handler;
use crate::response::refuse;
use crate::settings::Settings;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The path, below `/plugins/<id>`, of the lint endpoint.
pub const LINT_PATH: &str = "/api/v1/lint";

/// A context larger than this is worth a warning: it travels with every click and every read.
const LARGE_CONTEXT: usize = 64 << 10;
/// Mattermost refuses to save a post whose props are longer than this (`PostPropsMaxRunes`).
const MAX_PROPS_CHARS: usize = 800_000;
/// Integers beyond this lose precision in Go's `float64`.
const MAX_EXACT_INT: u64 = 1 << 53;

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
pub fn lint(props: &Value, bot_user_id: &str) -> Vec<Finding> {
    check(props, bot_user_id).0
}

/// For each action of `props`, the event a bot would receive for a click on it.
pub fn preview(props: &Value, bot_user_id: &str) -> Vec<Preview> {
    check(props, bot_user_id).1
}

/// Both [`lint`] and [`preview`], in one pass.
pub fn check(props: &Value, bot_user_id: &str) -> (Vec<Finding>, Vec<Preview>) {
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

    let mut actions = Vec::new();
    if let Some(list) = lint.typed(attachments, "attachments", Kind::Array) {
        for (i, attachment) in list.as_array().into_iter().flatten().enumerate() {
            let at = format!("attachments[{i}]");
            if let Some(a) = lint.typed(Some(attachment), &at, Kind::Object) {
                let at = format!("{at}.actions");
                if let Some(list) = lint.typed(a.get("actions"), &at, Kind::Array) {
                    for (j, action) in list.as_array().into_iter().flatten().enumerate() {
                        let at = format!("{at}[{j}]");
                        // `null` actions are skipped, as Mattermost does (`typed` says nothing).
                        if let Some(a) = lint.typed(Some(action), &at, Kind::Object) {
                            actions.push((at, a.as_object().expect("checked")));
                        }
                    }
                }
            }
        }
    }
    if actions.is_empty() {
        lint.warn("attachments", "no_actions",
            "There is no button or menu here (`attachments[].actions[]`), so there is nothing to click.".into(),
            "Add actions to an attachment, as in the README's example.");
    }

    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (at, action) in &actions {
        lint.action(at, action, bot, &mut seen);
    }

    // An error about the whole post (its size) stops every click; one about the bot id given to
    // the lint says nothing about the post.
    let post_error = lint
        .0
        .iter()
        .any(|f| f.severity == Severity::Error && f.path.is_empty());
    let previews = actions
        .iter()
        .map(|(at, action)| {
            let broken = lint.0.iter().any(|f| {
                f.severity == Severity::Error
                    && f.path.strip_prefix(at.as_str()).is_some_and(|rest| {
                        rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
                    })
            });
            Preview {
                path: at.clone(),
                action_id: str_of(action.get("id")).unwrap_or_default().to_owned(),
                delivered: !broken && !post_error,
                event: event_for(action),
            }
        })
        .collect();
    (lint.0, previews)
}

/// The JSON types the lint checks fields against.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Object,
    Array,
}

#[derive(Default)]
struct Lint(Vec<Finding>);

impl Lint {
    fn push(
        &mut self,
        path: &str,
        severity: Severity,
        code: &'static str,
        message: String,
        fix: &str,
    ) {
        self.0.push(Finding {
            path: path.to_owned(),
            severity,
            code,
            message,
            fix: fix.to_owned(),
        });
    }

    fn error(&mut self, path: &str, code: &'static str, message: String, fix: &str) {
        self.push(path, Severity::Error, code, message, fix);
    }

    fn warn(&mut self, path: &str, code: &'static str, message: String, fix: &str) {
        self.push(path, Severity::Warning, code, message, fix);
    }

    /// `value` when it has the type Mattermost reads it as; `None` when missing or `null` (Go
    /// leaves the field empty); a `wrong_type` error otherwise, since Mattermost then cannot read
    /// the attachment at all and drops it with all its buttons.
    fn typed<'a>(&mut self, value: Option<&'a Value>, path: &str, kind: Kind) -> Option<&'a Value> {
        let value = value.filter(|v| !v.is_null())?;
        let (ok, name) = match kind {
            Kind::String => (value.is_string(), "a string"),
            Kind::Object => (value.is_object(), "an object"),
            Kind::Array => (value.is_array(), "an array"),
        };
        if ok {
            return Some(value);
        }
        self.error(path, "wrong_type",
            format!("This must be {name}, not {}: Mattermost cannot read the attachment, so none of its buttons can be clicked.", crate::json::type_name(value)),
            &format!("Make it {name}."));
        None
    }

    fn string<'a>(&mut self, obj: &'a Map<String, Value>, at: &str, key: &str) -> &'a str {
        let path = format!("{at}.{key}");
        str_of(self.typed(obj.get(key), &path, Kind::String)).unwrap_or_default()
    }

    /// The rules for one action at path `at`; `seen` holds the ids met so far and their paths.
    fn action<'a>(
        &mut self,
        at: &'a str,
        action: &'a Map<String, Value>,
        bot: Option<&str>,
        seen: &mut Vec<(&'a str, &'a str)>,
    ) {
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
        } else if let Some((_, first)) = seen.iter().find(|(i, _)| *i == id) {
            self.error(&id_path, "action_id_duplicate",
                format!("{first} has the same id {id:?}; Mattermost finds the first action with an id, so a click here acts as a click there."),
                "Give every action of the post its own id.");
        } else {
            seen.push((id, at));
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
            return;
        };
        let url = self.string(integration, &integration_path, "url");
        if !targets_action_handler(url) {
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
        }
        self.context(&integration_path, integration.get("context"), bot);
    }

    /// A static menu's options: each needs a text and a value, and values should differ.
    fn options(&mut self, at: &str, options: &[Value]) {
        let empty = Map::new();
        let mut values: Vec<&str> = Vec::new();
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
            } else if values.contains(&value) {
                self.warn(
                    &format!("{path}.value"),
                    "option_value_duplicate",
                    format!(
                        "Another option has the value {value:?}: the bot cannot tell them apart."
                    ),
                    "Give every option its own value.",
                );
            } else {
                values.push(value);
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
        match value {
            Value::Array(a) if a.is_empty() => self.warn(path, "context_empty_array",
                "An empty array reaches the bot as null (Mattermost's plugin RPC cannot tell them apart).".into(),
                "Leave the key out, or have the bot treat null as empty."),
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    self.context_values(&format!("{path}[{i}]"), v);
                }
            }
            Value::Object(o) => {
                for (k, v) in o {
                    self.context_values(&key_path(path, k), v);
                }
            }
            Value::Number(n) if exactness(n).is_none() => self.warn(path, "context_number_inexact",
                format!("{n} is beyond 2^53: it passes through Go's float64 and reaches the bot as a different number."),
                "Send large integers as strings."),
            _ => {}
        }
    }
}

/// The handler URL buttons must point at.
fn handler_url() -> String {
    format!("/plugins/{PLUGIN_ID}{ACTION_PATH}")
}

fn str_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

/// `path.key`, or `path["key"]` for a key that is not a plain name.
fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}

/// The number as a `float64` holds it, when that is exact; `None` for integers beyond 2^53.
fn exactness(n: &serde_json::Number) -> Option<f64> {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) if u > MAX_EXACT_INT => None,
        (None, Some(i)) if i.unsigned_abs() > MAX_EXACT_INT => None,
        _ => n.as_f64(),
    }
}

/// The placeholders for what Mattermost fills in at click time.
const SAMPLE_CLICK: [(&str, &str); 8] = [
    ("user_id", "youyouyouyouyouyouyouyou01"),
    ("user_name", "you"),
    ("channel_id", "chanchanchanchanchanchan01"),
    ("channel_name", "town-square"),
    ("team_id", "teamteamteamteamteamteam01"),
    ("team_domain", "your-team"),
    ("post_id", "postpostpostpostpostpost01"),
    ("trigger_id", "(issued by Mattermost on click)"),
];

/// The event `data` for a click on `action`: the request `DoPostActionWithCookie` would make,
/// through the same event builder as a real click, then what the trip to the bot does to it.
fn event_for(action: &Map<String, Value>) -> Value {
    let kind = str_of(action.get("type")).unwrap_or_default();
    let source = str_of(action.get("data_source")).unwrap_or_default();
    let mut context = action
        .get("integration")
        .and_then(|i| i.get("context"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Maps are filled by `insert`, not `collect`, which would add a sort to the server wasm.
    let mut data_source = "";
    if kind == "select" {
        let selected = match source {
            "users" => Some(Value::from("(the chosen user's id)")),
            "channels" => Some(Value::from("(the chosen channel's id)")),
            _ => action
                .get("options")
                .and_then(|o| o.get(0))
                .and_then(|o| o.get("value"))
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                .cloned(),
        };
        // Mattermost adds the choice, and the menu's source, only when something was chosen.
        if let Some(selected) = selected {
            context.insert("selected_option".into(), selected);
            data_source = source;
        }
    }
    let mut body: Vec<(&str, Value)> = SAMPLE_CLICK
        .iter()
        .map(|(k, v)| (*k, Value::from(*v)))
        .collect();
    body.push(("type", kind.into()));
    body.push(("data_source", data_source.into()));
    // `context` is `omitempty` in Mattermost's request.
    if !context.is_empty() {
        body.push(("context", Value::Object(context)));
    }

    let raw: Vec<(&str, Box<RawValue>)> = body
        .iter()
        .map(|(k, v)| {
            (
                *k,
                serde_json::value::to_raw_value(v).expect("a JSON value serializes"),
            )
        })
        .collect();
    let mut fields = BTreeMap::new();
    for (k, v) in &raw {
        fields.insert((*k).to_owned(), v.as_ref());
    }
    let ctx = Context {
        now_ms: 1_700_000_000_123,
        entropy: *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
        settings: Settings::default(),
    };
    let mut data: Value = serde_json::from_str(action_event(&fields, true, &ctx).get())
        .expect("the event builder writes JSON");
    as_delivered(&mut data);
    data
}

/// What Mattermost does to event data on the way to the bot: `[]` becomes `null` (gob), numbers
/// become `float64`.
fn as_delivered(value: &mut Value) {
    match value {
        Value::Array(a) if a.is_empty() => *value = Value::Null,
        Value::Array(a) => a.iter_mut().for_each(as_delivered),
        Value::Object(o) => o.values_mut().for_each(as_delivered),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or_default();
            // Go writes integral doubles without a fraction.
            *value = if f.fract() == 0.0 && f.abs() < 9e18 {
                if f < 0.0 {
                    Value::from(f as i64)
                } else {
                    Value::from(f as u64)
                }
            } else {
                Value::from(f)
            };
        }
        _ => {}
    }
}

/// `POST /api/v1/lint`: `{"props": …, "bot_user_id": …}` or `{"post": …}` (the bot defaults to the
/// post's `user_id`), answered with `{"findings": […], "previews": […]}`.
pub(crate) fn handle(request: &Request<'_>) -> Decision {
    match answer(request) {
        Ok(body) => Decision {
            effects: Vec::new(),
            response: Response { status: 200, body },
        },
        Err(refusal) => refuse(refusal, fields(request)),
    }
}

fn answer(request: &Request<'_>) -> Result<String, Refusal> {
    request.caller()?;
    let text = request.json_text()?;
    let body: Value = serde_json::from_str(text).map_err(|e| Refusal::InvalidJson {
        detail: e.to_string(),
    })?;
    let (props, bot) = match (body.get("props"), body.get("post")) {
        (Some(props), _) => (props, body.get("bot_user_id")),
        (None, Some(post)) if post.is_object() => {
            (post, body.get("bot_user_id").or(post.get("user_id")))
        }
        _ => {
            return Err(Refusal::BadField {
                field: "props",
                expected: "present (or `post`)",
            })
        }
    };
    let bot = match bot {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Refusal::BadField {
                field: "bot_user_id",
                expected: "a string",
            })
        }
    };
    let (findings, previews) = check(props, bot);
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
    use super::*;
    use crate::http::Body;
    use serde_json::json;

    const BOT: &str = "bot1bot1bot1bot1bot1bot1b1";

    fn button(id: &str) -> Value {
        json!({
            "id": id, "name": "Approve", "type": "button", "style": "primary",
            "integration": {"url": handler_url(), "context": {"user_id": BOT, "action": "approve"}}
        })
    }

    fn post(actions: Value) -> Value {
        json!({"attachments": [{"text": "Deploy?", "actions": actions}]})
    }

    /// The codes found, with their paths.
    fn codes(props: &Value) -> Vec<(String, &'static str)> {
        lint(props, BOT)
            .into_iter()
            .map(|f| (f.path, f.code))
            .collect()
    }

    fn has(props: &Value, path: &str, code: &str) -> bool {
        let found = codes(props);
        found.iter().any(|(p, c)| p == path && *c == code)
            || panic!("{code} at {path} not in {found:?}")
    }

    /// `action` with the key at `pointer` set (or added) to `value`.
    fn with(mut action: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = action.pointer_mut(parent).unwrap();
        if !parent.is_object() {
            *parent = json!({});
        }
        parent.as_object_mut().unwrap().insert(key.into(), value);
        action
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
        assert!(preview(&props, BOT).iter().all(|p| p.delivered));
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
    fn action_id_invalid() {
        let props = post(json!([button("approve"), button("approve_1")]));
        assert!(has(
            &props,
            "attachments[0].actions[1].id",
            "action_id_invalid"
        ));
        let f = &lint(&props, BOT)[0];
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
        assert_eq!(lint(&props, BOT)[0].severity, Severity::Warning);
        assert!(preview(&props, BOT)[0].delivered);
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
        let previews = preview(&props, BOT);
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
            vec![]
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
        assert!(!preview(&props, BOT)[0].delivered);
        // Without the bot's id the comparison is skipped, and that is said.
        let found: Vec<_> = lint(&props, "").into_iter().map(|f| f.code).collect();
        assert_eq!(found, vec!["bot_user_id_missing"]);
        assert_eq!(lint(&props, "helper-bot")[0].code, "bot_user_id_invalid");
        // A bad bot id given to the lint says nothing about whether the post's clicks work.
        let fine = post(json!([button("a")]));
        assert!(preview(&fine, "helper-bot")[0].delivered);
        assert!(!preview(&big_props(), BOT)[0].delivered);
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
        assert_eq!(lint(&missing, BOT)[0].severity, Severity::Warning);
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
            preview(&props, BOT)[0].event["context"]["tags"],
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
            preview(&props, BOT)[0].event["context"]["n"].to_string(),
            "9007199254740992"
        );
        let fine = post(json!([with(
            button("a"),
            "/integration/context/n",
            json!([1.5, -3, 9007199254740992u64])
        )]));
        assert_eq!(codes(&fine), vec![]);
    }

    #[test]
    fn preview_of_a_button_is_the_request_mattermost_makes_plus_proxy() {
        let props = post(json!([button("approve")]));
        let p = &preview(&props, BOT)[0];
        assert_eq!(
            (p.path.as_str(), p.action_id.as_str()),
            ("attachments[0].actions[0]", "approve")
        );
        assert_eq!(
            p.event,
            json!({
                "user_id": "youyouyouyouyouyouyouyou01", "user_name": "you",
                "channel_id": "chanchanchanchanchanchan01", "channel_name": "town-square",
                "team_id": "teamteamteamteamteamteam01", "team_domain": "your-team",
                "post_id": "postpostpostpostpostpost01", "trigger_id": "(issued by Mattermost on click)",
                "type": "button", "data_source": "",
                "context": {"user_id": BOT, "action": "approve"},
                "proxy": {"event_id": "yye1rc4rkiu8xnr3ik7h3zxq9h", "received_at": 1700000000123u64,
                          "verified": true, "version": crate::PLUGIN_VERSION}
            })
        );
    }

    #[test]
    fn preview_of_a_menu_carries_the_first_option_or_a_placeholder() {
        let at = |source: &str, options: Value| {
            let menu = json!({"id": "m", "name": "Menu", "type": "select", "data_source": source, "options": options,
                "integration": {"url": handler_url(), "context": {"user_id": BOT}}});
            preview(&post(json!([menu])), BOT).remove(0).event
        };
        let e = at(
            "",
            json!([{"text": "Small", "value": "s"}, {"text": "Large", "value": "l"}]),
        );
        assert_eq!(
            (
                &e["type"],
                &e["data_source"],
                &e["context"]["selected_option"]
            ),
            (&json!("select"), &json!(""), &json!("s"))
        );
        let e = at("users", Value::Null);
        assert_eq!(e["data_source"], "users");
        assert_eq!(e["context"]["selected_option"], "(the chosen user's id)");
        // Nothing to choose: no selected_option, no data_source.
        let e = at("", json!([]));
        assert_eq!(e["context"], json!({"user_id": BOT}));
    }

    #[test]
    fn preview_omits_an_empty_context_as_mattermost_does() {
        let props = post(json!([with(
            button("a"),
            "/integration/context",
            json!({})
        )]));
        assert!(preview(&props, BOT)[0].event.get("context").is_none());
    }

    #[test]
    fn every_code_is_stable_snake_case_and_every_finding_says_how_to_fix_it() {
        let props = json!({"attachments": [{"actions": [
            {"id": "a-1", "type": "x", "style": "y", "options": [{}], "data_source": "z", "integration": {"context": {"user_id": "u", "e": []}}},
            {"id": "a-1", "type": "select"}, {}
        ]}]});
        for f in lint(&props, "nope") {
            assert!(
                f.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                f.code
            );
            assert!(f.message.ends_with('.') && f.fix.ends_with('.'), "{f:?}");
        }
    }

    fn request(method: &'static str, user: Option<&'static str>, body: &'static str) -> Decision {
        handle(&Request {
            method,
            path: LINT_PATH,
            user_id: user,
            body: Body::Complete(body.as_bytes()),
        })
    }

    fn reply(d: &Decision) -> Value {
        serde_json::from_str(&d.response.body).unwrap()
    }

    #[test]
    fn endpoint_answers_findings_and_previews() {
        let d = request(
            "POST",
            Some(BOT),
            r#"{"props": {"attachments": [{"actions": [{"id": "a_b", "name": "A"}]}]}, "bot_user_id": "bot1bot1bot1bot1bot1bot1b1"}"#,
        );
        assert_eq!(d.response.status, 200);
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
            assert_eq!(d.response.status, status);
            assert_eq!(reply(&d)["error"]["code"], code);
        }
        let d = handle(&Request {
            method: "POST",
            path: LINT_PATH,
            user_id: Some(BOT),
            body: Body::TooLarge,
        });
        assert_eq!(reply(&d)["error"]["code"], "body_too_large");
    }
}
