//! The web build's API, on Node: `make test-web` runs this through `wasm-bindgen-test-runner`.
#![cfg(all(target_arch = "wasm32", feature = "web"))]

use serde_json::{json, Value};
use socket_mode_core::wire::web;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const BOT: &str = "bot1bot1bot1bot1bot1bot1b1";

fn props(id: &str) -> Value {
    json!({"attachments": [{"actions": [{
        "id": id, "name": "Approve", "type": "button",
        "integration": {"url": web::handler_url(), "context": {"user_id": BOT, "n": 9007199254740993u64}}
    }]}]})
}

fn back(value: JsValue) -> Value {
    serde_wasm_bindgen::from_value(value).unwrap()
}

#[wasm_bindgen_test]
fn lint_reads_json_text_and_keeps_numbers_exact() {
    let text = props("approve_1").to_string();
    let findings = back(web::check(JsValue::from_str(&text), BOT).unwrap())["findings"].clone();
    let codes: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    // The integer beyond 2^53 is seen only because the text was parsed in Rust, not by JavaScript.
    assert_eq!(codes, ["action_id_invalid", "context_number_inexact"]);
    assert_eq!(findings[0]["path"], "attachments[0].actions[0].id");
    assert_eq!(findings[0]["severity"], "error");
}

#[wasm_bindgen_test]
fn lint_reads_a_javascript_object() {
    let object = js_sys::JSON::parse(&props("approve").to_string()).unwrap();
    let findings = back(web::check(object, BOT).unwrap())["findings"].clone();
    assert_eq!(findings, json!([]));
}

#[wasm_bindgen_test]
fn preview_is_the_event_as_the_bot_receives_it() {
    let previews = back(web::check(JsValue::from_str(&props("approve").to_string()), BOT).unwrap())
        ["previews"]
        .clone();
    let event = &previews[0]["event"];
    assert_eq!(previews[0]["delivered"], true);
    assert_eq!(event["type"], "button");
    assert_eq!(event["context"]["user_id"], BOT);
    assert_eq!(event["proxy"]["verified"], true);
    assert_eq!(event["proxy"]["received_at"], 1700000000123u64);
}

#[wasm_bindgen_test]
fn check_answers_plain_objects_and_arrays() {
    let both = web::check(JsValue::from_str(&props("a-b").to_string()), "").unwrap();
    // Plain objects (not `Map`s), so the page uses the answer like parsed JSON.
    let findings = js_sys::Reflect::get(&both, &JsValue::from_str("findings")).unwrap();
    assert!(js_sys::Array::is_array(&findings));
    let first = js_sys::Reflect::get(&findings, &JsValue::from_f64(0.0)).unwrap();
    let code = js_sys::Reflect::get(&first, &JsValue::from_str("code")).unwrap();
    assert_eq!(code.as_string().unwrap(), "bot_user_id_missing");
    assert!(js_sys::Array::is_array(
        &js_sys::Reflect::get(&both, &JsValue::from_str("previews")).unwrap()
    ));
}

#[wasm_bindgen_test]
fn invalid_json_text_is_a_javascript_error() {
    assert!(web::check(JsValue::from_str("{\"attachments\": ["), BOT).is_err());
    assert!(web::check(JsValue::from_str("nope"), BOT).is_err());
}

#[wasm_bindgen_test]
fn names_match_the_plugin() {
    assert!(web::handler_url().ends_with("/api/v1/handler"));
    assert!(web::event_name().starts_with("custom_") && web::event_name().ends_with("_action"));
}
