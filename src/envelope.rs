//! The JSON wire form of the core: what the shim sends across the wasm boundary and reads back.
//!
//! One call carries one [`Input`] document plus, for HTTP requests, the raw body bytes beside it
//! (they may be anything, invalid UTF-8 included, so they never travel inside JSON). The answer
//! is one `Reply` document. The shared golden fixtures under `tests/fixtures/` are written in
//! this form, so `cargo test` and `go test` check the same bytes.

use crate::effect::{Decision, Outcome};
use crate::facts::{FactAnswer, FactQuery};
use crate::http::{handle, Body, Context, Request, MAX_BODY_BYTES};
use crate::manifest::{PLUGIN_ID, PLUGIN_VERSION};
use crate::response::fault_decision;
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One call into the core.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input<'a> {
    /// An HTTP request to the plugin (the body travels beside the document).
    Http(#[serde(borrow)] HttpInput<'a>),
    /// Check the plugin's section of Mattermost's configuration and return it normalized.
    Configure {
        /// `PluginSettings.Plugins[<id>]`, as Mattermost stores it.
        config: Map<String, Value>,
    },
    /// Something failed outside the core while serving a request; answer the user properly.
    Fault {
        /// What failed, for the log.
        detail: String,
    },
    /// The constants the shim needs: id, version, body limit.
    Info,
}

/// An HTTP request with everything the core needs besides its body.
#[derive(Debug, Deserialize)]
pub struct HttpInput<'a> {
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    path: Cow<'a, str>,
    /// The `Mattermost-User-Id` header; empty or missing when Mattermost set none.
    #[serde(default, borrow)]
    user_id: Option<Cow<'a, str>>,
    /// The shim stopped reading the body past [`MAX_BODY_BYTES`].
    #[serde(default)]
    body_too_large: bool,
    now_ms: u64,
    /// 32 hex digits: 16 fresh random bytes.
    entropy: Cow<'a, str>,
    settings: Settings,
    /// Absent on the first call; the answers to the queries on the second.
    #[serde(default)]
    facts: Option<Vec<FactAnswer>>,
}

/// The core's answer.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Reply {
    NeedFacts {
        queries: Vec<FactQuery>,
    },
    Decision(Decision),
    Settings {
        settings: Settings,
    },
    InvalidSettings {
        setting: String,
        message: String,
    },
    Info {
        plugin_id: &'static str,
        version: &'static str,
        max_body_bytes: usize,
    },
    /// The input document itself was unreadable: a bug in the shim, never in a request.
    Error {
        message: String,
    },
}

/// Handles one call: `input` is an [`Input`] document, `body` the HTTP body (empty otherwise).
pub fn handle_envelope(input: &[u8], body: &[u8]) -> Vec<u8> {
    // One reader type (`from_str`) for every document keeps the module small.
    let parsed = std::str::from_utf8(input)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Input<'_>>(text).map_err(|e| e.to_string()));
    let reply = match parsed {
        Ok(input) => answer(input, body),
        Err(e) => Reply::Error {
            message: format!("unreadable input: {e}"),
        },
    };
    serde_json::to_vec(&reply).expect("replies always serialize")
}

fn answer(input: Input<'_>, body: &[u8]) -> Reply {
    match input {
        Input::Http(http) => {
            let Some(entropy) = parse_entropy(&http.entropy) else {
                return Reply::Error {
                    message: "entropy must be 32 hex digits".into(),
                };
            };
            let ctx = Context {
                now_ms: http.now_ms,
                entropy,
                settings: http.settings,
            };
            let request = Request {
                method: &http.method,
                path: &http.path,
                user_id: http.user_id.as_deref().filter(|u| !u.is_empty()),
                body: if http.body_too_large {
                    Body::TooLarge
                } else {
                    Body::Complete(body)
                },
            };
            match handle(&request, &ctx, http.facts.as_deref()) {
                Outcome::NeedFacts(queries) => Reply::NeedFacts { queries },
                Outcome::Decided(decision) => Reply::Decision(decision),
            }
        }
        Input::Configure { config } => match Settings::from_plugin_config(&config) {
            Ok(settings) => Reply::Settings { settings },
            Err(e) => Reply::InvalidSettings {
                setting: e.setting,
                message: e.message,
            },
        },
        Input::Fault { detail } => Reply::Decision(fault_decision(&detail)),
        Input::Info => Reply::Info {
            plugin_id: PLUGIN_ID,
            version: PLUGIN_VERSION,
            max_body_bytes: MAX_BODY_BYTES,
        },
    }
}

fn parse_entropy(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(input: &str) -> Value {
        serde_json::from_slice(&handle_envelope(input.as_bytes(), b"")).unwrap()
    }

    #[test]
    fn info_reports_the_manifest_constants() {
        let r = reply(r#""info""#);
        assert_eq!(r["plugin_id"], PLUGIN_ID);
        assert_eq!(r["version"], PLUGIN_VERSION);
        assert_eq!(r["max_body_bytes"], MAX_BODY_BYTES);
    }

    #[test]
    fn configure_normalizes_or_names_the_bad_setting() {
        let r = reply(r#"{"configure":{"config":{"verifyprovenance":false}}}"#);
        assert_eq!(r["settings"]["verify_provenance"], false);
        let r = reply(r#"{"configure":{"config":{"allowunverifiedephemeral":7}}}"#);
        assert_eq!(r["kind"], "invalid_settings");
        assert_eq!(r["setting"], "AllowUnverifiedEphemeral");
    }

    #[test]
    fn an_unreadable_input_is_an_error_reply_not_a_panic() {
        for bad in ["", "{", "[]", r#"{"http":{}}"#, r#"{"nope":1}"#] {
            assert_eq!(reply(bad)["kind"], "error", "{bad}");
        }
    }

    #[test]
    fn entropy_must_be_32_hex_digits() {
        assert_eq!(
            parse_entropy("000102030405060708090a0b0c0d0e0f").unwrap()[15],
            15
        );
        assert!(parse_entropy("00").is_none());
        assert!(parse_entropy("zz0102030405060708090a0b0c0d0e0f").is_none());
        assert!(parse_entropy("é00102030405060708090a0b0c0d0e0").is_none());
    }
}
