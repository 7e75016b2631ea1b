//! The JSON wire form of the core: what the shim sends across the wasm boundary and reads back.
//!
//! One call carries one [`Call`] document; beside it, the answers to the core's queries (see
//! [`attached`]) and, for HTTP requests, the raw body bytes (they may be anything, invalid UTF-8
//! included, so they never travel inside JSON). The answer is one reply document, tagged by
//! `kind`. The shared golden fixtures under `tests/fixtures/`
//! drive the core through this form, so `cargo test` and `go test` check the same bytes.

use crate::configure::{configure, ConfigEvent, Configured};
use crate::effect::{Decision, Effect, Outcome, Response};
use crate::facts::{Answers, Facts, Prefetched, Query, Raw};
use crate::input::{Body, Context, Input, Request, WebSocketMessage};
use crate::manifest::{PLUGIN_ID, PLUGIN_VERSION};
use crate::paths::{ADMIN_STATUS_PATH, DIALOG_OPEN_PATH, EPHEMERAL_PATH, LINT_PATH, STATUS_PATH};
use crate::refusal::fault_decision;
use crate::router::handle;
use crate::settings::Settings;
use crate::MAX_BODY_BYTES;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One call into the core.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call<'a> {
    /// Something happened: decide, or ask for facts first.
    Handle(#[serde(borrow)] HandleCall<'a>),
    /// Read the plugin's section of Mattermost's configuration.
    Configure {
        /// `PluginSettings.Plugins[<id>]`, as Mattermost stores it.
        config: Map<String, Value>,
        /// The settings in force until now, if any.
        #[serde(default)]
        previous: Option<Settings>,
        /// Which hook reads them.
        event: ConfigEvent,
        /// What the plugin runs with of the server's own configuration.
        #[serde(default)]
        server: crate::configure::Server,
    },
    /// Something failed outside the core while serving a request; answer the user properly.
    Fault {
        /// What failed, for the log.
        detail: String,
    },
    /// The constants the shim needs: id, version, body limit, the last-resort fault answer.
    Info,
}

/// An input with what the core needs besides it.
#[derive(Debug, Deserialize)]
pub struct HandleCall<'a> {
    #[serde(borrow)]
    input: InputDoc<'a>,
    now_ms: u64,
    /// 32 hex digits: 16 fresh random bytes.
    entropy: Cow<'a, str>,
    settings: Settings,
    /// This plugin process: the node of a cluster that handles the input.
    node: crate::ids::NodeId,
    /// The answers so far: each query's name and its answer's length in bytes. The answers
    /// themselves follow the document ([`attached`]), in this order; none on a first call.
    #[serde(default, borrow)]
    facts: Vec<(&'a str, usize)>,
    /// Answers the shim had at hand before it was asked ([`crate::facts::Prefetch`]): the
    /// lengths of each exact query text and of its answer, which follow the facts' answers.
    #[serde(default)]
    prefetched: Vec<(usize, usize)>,
}

/// The most prefetched answers a call looks at: more than any input's first round asks.
const MAX_PREFETCHED: usize = 32;

/// [`Input`] as the shim writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum InputDoc<'a> {
    Http(#[serde(borrow)] HttpDoc<'a>),
    UserDeactivated {
        #[serde(borrow)]
        user_id: Cow<'a, str>,
    },
    WebSocket {
        #[serde(borrow)]
        connection_id: Cow<'a, str>,
        #[serde(borrow, default)]
        user_id: Cow<'a, str>,
        #[serde(borrow)]
        action: Cow<'a, str>,
        #[serde(default)]
        seq: i64,
        #[serde(borrow)]
        data: &'a RawValue,
    },
    Disconnected {
        #[serde(borrow)]
        connection_id: Cow<'a, str>,
        #[serde(borrow, default)]
        user_id: Cow<'a, str>,
    },
    Timer {
        #[serde(borrow)]
        name: Cow<'a, str>,
    },
    Cluster {
        #[serde(borrow)]
        message: &'a RawValue,
    },
    Activated {},
    PostWillBeSaved {
        #[serde(borrow)]
        post: &'a RawValue,
        #[serde(default)]
        edited: bool,
    },
    PostSaved {
        #[serde(borrow)]
        post: &'a RawValue,
        #[serde(default)]
        edited: bool,
    },
    PostDeleted {
        #[serde(borrow)]
        post_id: Cow<'a, str>,
    },
    Command {
        #[serde(borrow)]
        args: &'a RawValue,
    },
}

/// An HTTP request without its body.
#[derive(Debug, Deserialize)]
struct HttpDoc<'a> {
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
    /// The request has no remote address: Mattermost made it inside the server.
    #[serde(default)]
    internal: bool,
}

/// The core's answer.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Reply {
    NeedFacts {
        effects: Vec<Effect>,
        queries: Vec<Query>,
    },
    Decision(Decision),
    Configured {
        #[serde(flatten)]
        configured: Configured,
        /// What the shim may answer before an input's first call, by path, under the settings
        /// in force (a command asks a team's own commands only while Mattermost runs them).
        prefetch: Vec<crate::facts::Prefetch>,
    },
    Info {
        plugin_id: &'static str,
        version: &'static str,
        max_body_bytes: usize,
        /// What to answer when even the core cannot be called.
        fault_response: Response,
        /// Which pool of instances serves which input, and each call's deadline.
        lanes: Lanes,
        /// Queries whose recent answers the shim attaches to the first call of every input,
        /// unasked, when it has them cached (their `cache_ms` says how recent): the core asks
        /// only for what is still missing, so an input that needs nothing else is decided in one
        /// call. An input that does not read them pays for a few hundred bytes it skips.
        standing: Vec<crate::facts::Query>,
    },
    /// The call document itself was unreadable: a bug in the shim, never in a request.
    Error {
        message: String,
    },
}

/// Handles one call: `call` is a [`Call`] document, `attached` the answers its `facts` and
/// `prefetched` measure, `body` the HTTP body (empty otherwise).
pub fn handle_call(call: &[u8], attached: &[u8], body: &[u8]) -> Vec<u8> {
    let parsed = std::str::from_utf8(call)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Call<'_>>(text).map_err(|e| e.to_string()));
    let reply = match parsed {
        Ok(call) => answer(call, attached, body),
        Err(e) => Reply::Error {
            message: format!("unreadable call: {e}"),
        },
    };
    serde_json::to_vec(&reply).expect("replies always serialize")
}

/// The answers beside a call, cut by the lengths its document gives: the facts' answers by
/// name, then each prefetched query and its answer. The answers travel outside the document
/// because a document must be read whole: inside it, every answer (a post's 1 KiB among them)
/// was walked once by the document's parse only to find where it ends, and again by the
/// struct that reads it. Here nothing is read until it is asked for, and a query is compared
/// byte for byte without being parsed at all. `None` when the lengths do not add up to
/// `attached` exactly (a shim bug).
#[allow(clippy::type_complexity)]
fn attached<'a>(
    facts: &[(&'a str, usize)],
    prefetched: &[(usize, usize)],
    mut attached: &'a [u8],
) -> Option<(Answers<'a>, Vec<Prefetched<'a>>)> {
    let mut cut = |len: usize| {
        let (head, rest) = attached.split_at_checked(len)?;
        attached = rest;
        Some(head)
    };
    let mut answers = Answers::new();
    for &(name, len) in facts {
        answers.insert(name, Raw(cut(len)?));
    }
    let mut at_hand = Vec::with_capacity(prefetched.len().min(MAX_PREFETCHED));
    for &(query, answer) in prefetched {
        let (query, answer) = (cut(query)?, Raw(cut(answer)?));
        if at_hand.len() < MAX_PREFETCHED {
            at_hand.push(Prefetched { query, answer });
        }
    }
    attached.is_empty().then_some((answers, at_hand))
}

/// A call held as one JSON value with its answers inside it, the form of the fixtures, the
/// fuzzer and the benchmarks: `handle.facts` an object of answers by query name, and
/// `handle.prefetched` a list of `{"query": <the query's exact text, as a string>, "answer":
/// <its answer>}`. Answers the call document and the answers beside it, as the shim writes
/// them (server/wire.go), for [`handle_call`].
pub fn split_call(call: &Value) -> (Vec<u8>, Vec<u8>) {
    let mut call = call.clone();
    let mut attached = Vec::new();
    if let Some(handle) = call.get_mut("handle").and_then(Value::as_object_mut) {
        if let Some(Value::Object(facts)) = handle.get("facts") {
            let mut lengths = Vec::new();
            for (name, answer) in facts {
                let text = answer.to_string();
                attached.extend_from_slice(text.as_bytes());
                lengths.push(serde_json::json!([name, text.len()]));
            }
            handle.insert("facts".into(), Value::Array(lengths));
        }
        if let Some(Value::Array(prefetched)) = handle.get("prefetched") {
            let mut lengths = Vec::new();
            for entry in prefetched {
                let query = entry["query"].as_str().unwrap_or_default();
                let answer = entry["answer"].to_string();
                attached.extend_from_slice(query.as_bytes());
                attached.extend_from_slice(answer.as_bytes());
                lengths.push(serde_json::json!([query.len(), answer.len()]));
            }
            handle.insert("prefetched".into(), Value::Array(lengths));
        }
    }
    (
        serde_json::to_vec(&call).expect("a value serializes"),
        attached,
    )
}

fn answer(call: Call<'_>, attached_bytes: &[u8], body: &[u8]) -> Reply {
    match call {
        Call::Handle(h) => {
            let Some((answers, prefetched)) = attached(&h.facts, &h.prefetched, attached_bytes)
            else {
                return Reply::Error {
                    message: format!(
                        "the answers' lengths do not add up to the {} bytes beside the call",
                        attached_bytes.len()
                    ),
                };
            };
            let Some(entropy) = parse_entropy(&h.entropy) else {
                return Reply::Error {
                    message: "entropy must be 32 hex digits".into(),
                };
            };
            let ctx = Context {
                now_ms: h.now_ms,
                entropy,
                settings: h.settings,
                node: h.node,
            };
            let input = match &h.input {
                InputDoc::Http(http) => Input::Http(Request {
                    method: &http.method,
                    path: &http.path,
                    user_id: http.user_id.as_deref().filter(|u| !u.is_empty()),
                    body: if http.body_too_large {
                        Body::TooLarge
                    } else {
                        Body::Complete(body)
                    },
                    internal: http.internal,
                }),
                InputDoc::UserDeactivated { user_id } => Input::UserDeactivated { user_id },
                InputDoc::WebSocket {
                    connection_id,
                    user_id,
                    action,
                    seq,
                    data,
                } => Input::WebSocket(WebSocketMessage {
                    connection_id,
                    user_id,
                    action,
                    seq: *seq,
                    data: data.get(),
                }),
                InputDoc::Disconnected {
                    connection_id,
                    user_id,
                } => Input::Disconnected {
                    connection_id,
                    user_id,
                },
                InputDoc::Timer { name } => Input::Timer { name },
                InputDoc::Cluster { message } => Input::Cluster {
                    message: message.get(),
                },
                InputDoc::Activated {} => Input::Activated,
                InputDoc::PostWillBeSaved { post, edited } => Input::PostWillBeSaved {
                    post: post.get(),
                    edited: *edited,
                },
                InputDoc::PostSaved { post, edited } => Input::PostSaved {
                    post: post.get(),
                    edited: *edited,
                },
                InputDoc::PostDeleted { post_id } => Input::PostDeleted { post_id },
                InputDoc::Command { args } => Input::Command { args: args.get() },
            };
            let facts = if answers.is_empty() {
                Facts::none()
            } else {
                Facts::answers(&answers)
            };
            match handle(&input, &ctx, facts.with_prefetched(&prefetched)) {
                Outcome::NeedFacts { effects, queries } => Reply::NeedFacts { effects, queries },
                Outcome::Decided(decision) => Reply::Decision(decision),
            }
        }
        Call::Configure {
            config,
            previous,
            event,
            server,
        } => {
            let configured = configure(&config, previous, event, &server);
            let prefetch = [
                crate::action::prefetch(),
                crate::command::execute::prefetch(&configured.settings),
            ]
            .into_iter()
            .chain(crate::delivery::ack::prefetch())
            .collect();
            Reply::Configured {
                configured,
                prefetch,
            }
        }
        Call::Fault { detail } => Reply::Decision(fault_decision(&detail)),
        Call::Info => Reply::Info {
            plugin_id: PLUGIN_ID,
            version: PLUGIN_VERSION,
            max_body_bytes: MAX_BODY_BYTES,
            fault_response: fault_decision("").response().clone(),
            lanes: Lanes::default(),
            standing: crate::sign::standing_queries(),
        },
    }
}

/// The lanes: the inputs a person waits on never queue behind heavy work. The bulk lane serves
/// the endpoints whose work is a large document (`paths`) and any input whose payload is
/// larger than `heavy_bytes` (a request body, a post a hook saves); everything else is
/// interactive. The shim decides by these numbers before it calls the core, so a heavy input
/// never enters an interactive instance at all, not even to be sent elsewhere.
#[derive(Debug, Serialize)]
struct Lanes {
    interactive: Lane,
    bulk: Lane,
}

/// One lane: the fuel every call on it may spend, the paths it serves, and (the bulk lane) the
/// size from which any input is its.
#[derive(Debug, Serialize)]
struct Lane {
    /// The module's loops are metered at build time (`tools/fuel`): one unit of fuel is about
    /// one wasm instruction run inside a loop. A call that spends its budget traps, and its
    /// instance is replaced.
    fuel: u64,
    paths: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    heavy_bytes: Option<usize>,
}

/// The payload size from which an input is heavy, whatever it is: a click, an ack over REST
/// (whose answer's `update.props` or attachments are linted), a post the hooks sign. Checking
/// a document costs about 30 µs per KiB; past 32 KiB a call would hold an interactive instance
/// for a millisecond or more, some fifty clicks' worth. Clicks, acks and posts people make are
/// a few KiB (and Mattermost caps a websocket message, so a websocket ack, at 8 KiB).
const HEAVY_BYTES: usize = 32 * 1024;

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            interactive: Lane {
                fuel: INTERACTIVE_FUEL,
                paths: &[],
                heavy_bytes: None,
            },
            // Lint, dialog definitions and ephemeral messages (linted, then signed) up to the
            // body limit; statuses, which read every kept event's queue entry of a bot (up to
            // `KeptPerBot`, 10,000) or every bot's counters.
            bulk: Lane {
                fuel: BULK_FUEL,
                paths: &[
                    LINT_PATH,
                    DIALOG_OPEN_PATH,
                    EPHEMERAL_PATH,
                    STATUS_PATH,
                    ADMIN_STATUS_PATH,
                ],
                heavy_bytes: Some(HEAVY_BYTES),
            },
        }
    }
}

/// The budget of a call on the interactive lane: more than four times what the costliest input
/// that lane takes spends (a click whose context is an object of small keys, as large as the
/// lane takes, 32 KiB: about 13 million; `server/fuel_test.go` measures every hostile shape on
/// every endpoint), so no valid input comes near it, and a call that loops is stopped within a
/// few tens of milliseconds.
pub const INTERACTIVE_FUEL: u64 = 100_000_000;

/// The budget of a call on the bulk lane: anything up to the body limit (a 1 MiB click context
/// of small keys, about 500 million, is the costliest), with a margin of eight.
pub const BULK_FUEL: u64 = 4_000_000_000;

fn parse_entropy(text: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(call: &str) -> Value {
        serde_json::from_slice(&handle_call(call.as_bytes(), b"", b"")).unwrap()
    }

    #[test]
    fn info_reports_the_manifest_constants_and_the_last_resort_answer() {
        let r = reply(r#""info""#);
        assert_eq!(r["plugin_id"], PLUGIN_ID);
        assert_eq!(r["version"], PLUGIN_VERSION);
        assert_eq!(r["max_body_bytes"], MAX_BODY_BYTES);
        assert_eq!(r["fault_response"]["status"], 500);
        let body: Value =
            serde_json::from_str(r["fault_response"]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
    }

    #[test]
    fn heavy_work_has_its_own_lane() {
        let lanes = &reply(r#""info""#)["lanes"];
        let bulk = lanes["bulk"]["paths"].as_array().unwrap();
        for path in [LINT_PATH, DIALOG_OPEN_PATH, EPHEMERAL_PATH] {
            assert!(bulk.contains(&Value::from(path)), "{path}");
        }
        assert_eq!(lanes["bulk"]["heavy_bytes"], HEAVY_BYTES);
        assert!(lanes["interactive"].get("heavy_bytes").is_none());
        assert!(lanes["interactive"]["fuel"].as_u64() < lanes["bulk"]["fuel"].as_u64());
    }

    #[test]
    fn configure_normalizes_or_names_the_bad_setting() {
        let r = reply(r#"{"configure":{"config":{"verifyprovenance":false},"event":"save"}}"#);
        assert_eq!(r["kind"], "configured");
        assert_eq!(r["settings"]["verify_provenance"], false);
        assert!(r["error"].is_null());
        let r = reply(r#"{"configure":{"config":{"allowunverifiedephemeral":7},"event":"save"}}"#);
        assert!(r["error"]
            .as_str()
            .unwrap()
            .contains("AllowUnverifiedEphemeral"));
    }

    #[test]
    fn an_unreadable_call_is_an_error_reply_not_a_panic() {
        for bad in ["", "{", "[]", r#"{"handle":{}}"#, r#"{"nope":1}"#] {
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
