//! The browser build's API (cargo feature `web`), for the webapp's playground: the payload lint
//! and the click preview of [`crate::check`], and the names a bot developer copies. `check`
//! takes the props as JSON text (numbers stay exact) or as a JavaScript object, and answers
//! plain JavaScript objects and arrays.

use crate::lint::{self, Finding, Preview};
use crate::manifest::PLUGIN_ID;
use crate::paths;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// The lint and the preview of `props` (a post, its `props`, or an `attachments` array) for a
/// post by `bot_user_id`: `{findings: [{path, severity, code, message, fix}], previews:
/// [{path, action_id, delivered, event}]}`.
#[wasm_bindgen]
pub fn check(props: JsValue, bot_user_id: &str) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Both {
        findings: Vec<Finding>,
        previews: Vec<Preview>,
    }
    let (findings, previews) =
        lint::check(&input(props)?, bot_user_id).map_err(|e| JsError::new(&e.to_string()))?;
    output(&Both { findings, previews })
}

/// The `integration.url` a button must have.
#[wasm_bindgen(js_name = handlerUrl)]
pub fn handler_url() -> String {
    paths::handler_url()
}

/// The full name of the websocket event a bot listens for.
#[wasm_bindgen(js_name = eventName)]
pub fn event_name() -> String {
    format!("custom_{PLUGIN_ID}_{}", crate::event::ACTION)
}

fn input(props: JsValue) -> Result<Value, JsError> {
    match props.as_string() {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| JsError::new(&format!("the props are not valid JSON: {e}"))),
        None => serde_wasm_bindgen::from_value(props)
            .map_err(|e| JsError::new(&format!("the props cannot be read: {e}"))),
    }
}

fn output<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // Through JSON text: plain objects and arrays, and integers beyond 2^53 become the nearest
    // double, as a JavaScript bot parsing the event would see them.
    let text = serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("the answer is not JSON"))
}
