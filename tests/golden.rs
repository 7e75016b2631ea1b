//! Runs the shared golden fixtures (`tests/fixtures/{actions,delivery,dialogs,lint,signing}/*.json`) through the
//! wire form.
//!
//! A fixture reads in the order things happen: the `request`, the `facts` Mattermost answers
//! (keyed by the name the core asks them under), and what is `expect`ed: the queries the core
//! asks, the effects it orders and the response. `go test` in `server/` runs the same files
//! through the real wasm and the shim, so the two sides cannot drift. After a deliberate
//! change, `BLESS=1 cargo test --test golden` rewrites every `expect` block; review the diff
//! before committing it.

mod common;
use common::fixture_dirs;
use serde_json::{json, Map, Value};
use socket_mode_core::wire::envelope::{handle_call, split_call};
use std::path::PathBuf;

/// The node every fixture runs on, unless it names another.
const NODE: &str = "nodenodenodenodenodenode01";

fn fixtures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    // Every directory of tests/fixtures: a new one needs no list here.
    for dir in fixture_dirs() {
        files.extend(
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json")),
        );
    }
    files.sort();
    assert!(files.len() >= 50, "the fixtures are missing");
    files
}

/// The request body a fixture describes: `body` (JSON), `body_text` or `body_base64`.
fn body_bytes(request: &Value) -> Vec<u8> {
    if request.is_null() {
        return Vec::new();
    }
    if let Some(body) = request.get("body") {
        serde_json::to_vec(body).unwrap()
    } else if let Some(text) = request.get("body_text") {
        text.as_str().unwrap().as_bytes().to_vec()
    } else if let Some(b64) = request.get("body_base64") {
        base64_decode(b64.as_str().unwrap())
    } else {
        Vec::new()
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn call(doc: &Value, body: &[u8]) -> Value {
    let (doc, attached) = split_call(doc);
    serde_json::from_slice(&handle_call(&doc, &attached, body)).unwrap()
}

/// Runs one fixture and returns what actually happened, in the fixture's `expect` form.
fn run(fixture: &Value) -> Value {
    run_with(fixture, true)
}

/// [`run`]; `every_fact_asked` also requires that the core asked for every fact the fixture
/// answers (a variant run with more facts at hand may need fewer).
fn run_with(fixture: &Value, every_fact_asked: bool) -> Value {
    run_to_the_end(fixture, every_fact_asked).0
}

/// [`run_with`], and the decision the flow ends in, as the core wrote it.
fn run_to_the_end(fixture: &Value, every_fact_asked: bool) -> (Value, Value) {
    let request = &fixture["request"];
    let settings = fixture.get("settings").cloned().unwrap_or_else(|| {
        call(
            // The server the shim's tests run on (server/plugin_test.go, testServerConfig).
            &json!({"configure": {"config": {}, "event": "activate", "server": {"site_url": "https://chat.example.com"}}}),
            b"",
        )["settings"]
            .clone()
    });
    // An HTTP request, or any other input as the shim writes it (a websocket message, a hook).
    let input = fixture.get("input").cloned().unwrap_or_else(|| {
        json!({"http": {
            "method": request["method"],
            "path": request["path"],
            "user_id": request["user_id"],
            "body_too_large": request.get("body_too_large").cloned().unwrap_or(json!(false)),
            "internal": request.get("internal").cloned().unwrap_or(json!(false)),
        }})
    });
    let mut handle = json!({
        "input": input,
        "now_ms": fixture["now_ms"],
        "entropy": fixture["entropy"],
        "settings": settings,
        "node": fixture.get("node").cloned().unwrap_or(json!(NODE)),
    });
    let body = body_bytes(request);
    let facts = fixture
        .get("facts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Facts the shim had cached and attached to the first call, unasked (Info's `standing`).
    let standing = fixture
        .get("standing")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let declared = call(&json!("info"), b"")["standing"].clone();
    let declared = declared.as_array().unwrap();
    for name in standing.keys() {
        assert!(
            declared.iter().any(|q| q["name"] == name.as_str()),
            "{}: {name} is not a standing query of the core",
            fixture["description"]
        );
    }
    let mut answered = standing.clone();
    if !answered.is_empty() {
        handle["facts"] = Value::Object(answered.clone());
    }
    // Facts the shim had at hand before the first call (Info's `prefetch`): filled from the
    // request as the shim fills them, and attached with the exact query text.
    if let Some(at_hand) = fixture.get("prefetched").and_then(Value::as_object) {
        let filled = prefetch_queries(fixture);
        let mut prefetched = Vec::new();
        for (name, answer) in at_hand {
            let (_, query) = filled
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{}: no prefetch query {name}", fixture["description"]));
            prefetched.push(json!({"query": Value::String(query.clone()), "answer": answer}));
        }
        handle["prefetched"] = Value::Array(prefetched);
    }
    let mut asked = Vec::new();
    let mut effects = Vec::new();
    let mut reply = call(&json!({ "handle": handle }), &body);
    let mut rounds = 1;
    // The core may ask several rounds; each lists only what it still needs, and what to do
    // before the shim asks (carried out in that order, so listed with the effects).
    while reply["kind"] == "need_facts" {
        effects.extend(reply["effects"].as_array().cloned().unwrap_or_default());
        for query in reply["queries"].as_array().unwrap() {
            let name = query["name"].as_str().unwrap();
            // A standing query is asked exactly as declared, or the shim's cached answer to the
            // one would never be found for the other (and a read meant to be fresh, such as
            // activation's, goes under a name of its own).
            if let Some(declared) = declared.iter().find(|q| q["name"] == name) {
                assert_eq!(
                    query, declared,
                    "{}: {name} asked otherwise than its standing query",
                    fixture["description"]
                );
            }
            let answer = facts.get(name).unwrap_or_else(|| {
                panic!(
                    "{}: the fixture does not answer {query}",
                    fixture["description"]
                )
            });
            assert!(
                answered.insert(name.to_owned(), answer.clone()).is_none(),
                "the core asked for {name} twice"
            );
            asked.push(query.clone());
        }
        handle["facts"] = Value::Object(answered.clone());
        reply = call(&json!({ "handle": handle }), &body);
        rounds += 1;
    }
    if every_fact_asked {
        assert_eq!(
            answered.len() - standing.len(),
            facts.len(),
            "{}: the fixture answers questions the core never asked",
            fixture["description"]
        );
    }
    assert_eq!(reply["kind"], "decision", "{reply}");
    let mut actual = Map::new();
    if !asked.is_empty() {
        actual.insert("queries".into(), Value::Array(asked.clone()));
    }
    effects.extend(reply["effects"].as_array().cloned().unwrap_or_default());
    // What the flow costs: a change that adds a core call or a KV write fails the fixture,
    // on purpose (BLESS=1 to accept it, and say why in the commit).
    actual.insert(
        "cost".into(),
        json!({"rounds": rounds, "kv_writes": kv_writes(&asked, &effects)}),
    );
    actual.insert("effects".into(), Value::Array(effects));
    if reply["reply"].get("http").is_none() && reply["reply"].get("command").is_none() {
        assert!(
            fixture.get("request").is_none(),
            "an HTTP request gets an HTTP response"
        );
    }
    actual.extend(recorded_reply(&reply["reply"]));
    (Value::Object(actual), reply)
}

/// A decision's reply in the fixture's `expect` form.
fn recorded_reply(reply: &Value) -> Map<String, Value> {
    let mut actual = Map::new();
    // A post hook answers with the post to save instead (or nothing: unchanged) or a rejection.
    if let Some(answer) = reply.get("post") {
        if let Some(post) = answer.get("post") {
            actual.insert("post".into(), post.clone());
        }
        if let Some(rejection) = answer.get("rejection") {
            actual.insert("rejection".into(), rejection.clone());
        }
        return actual;
    }
    // A slash command answers with Mattermost's CommandResponse.
    if let Some(answer) = reply.get("command") {
        actual.insert("command".into(), answer["response"].clone());
        return actual;
    }
    let Some(response) = reply.get("http") else {
        return actual;
    };
    // A body is JSON; no body at all (an empty answer to Mattermost) is recorded as no `body`.
    let mut recorded = json!({"status": response["status"]});
    let body = response["body"].as_str().unwrap();
    if !body.is_empty() {
        recorded["body"] = serde_json::from_str(body).expect("every response body is JSON");
    }
    // Written without headers (Mattermost's own request): recorded only when so.
    if response["to_mattermost"] == true {
        recorded["to_mattermost"] = Value::Bool(true);
    }
    actual.insert("response".into(), recorded);
    actual
}

/// Issue 20: an acknowledgement decides a waiting input as the input would itself. For every
/// fixture whose input waits for a bot's answer that the answer alone decides (its `await`'s
/// `held.decides`) and gets one, the bot's acknowledgement of that answer, the wait at hand,
/// hands over the very decision — effects and reply — the input reaches with the answer in its
/// own last call.
#[test]
fn an_acknowledgement_decides_as_the_waiting_input_would() {
    let mut decided = std::collections::BTreeSet::new();
    for path in fixtures() {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let answer = &fixture["facts"]["answer"]["found"];
        if answer.is_null() {
            continue;
        }
        let (before, own) = run_to_the_end(&fixture, true);
        let queries = before["queries"].as_array().cloned().unwrap_or_default();
        let Some(wait) = queries.iter().find(|q| q["fact"] == "await") else {
            continue;
        };
        let held = &wait["held"];
        if held.get("decides").is_none() {
            continue;
        }
        let mut at_hand = held.clone();
        at_hand["state"] = json!("waiting");
        let ack = json!({
            "description": format!("the acknowledgement of {}", path.display()),
            "now_ms": fixture["now_ms"],
            "entropy": fixture["entropy"],
            "input": {"web_socket": {
                "action": "ack", "connection_id": "conn1", "seq": 1, "user_id": held["bot"],
                "data": {"event_id": wait["event_id"], "answer": answer},
            }},
            "prefetched": {"held": {"found": at_hand}},
            "facts": {"handed": {"found": "claimed"}},
        });
        let acked = run_with(&ack, false);
        let claim = acked["queries"]
            .as_array()
            .and_then(|q| q.iter().find(|q| q["fact"] == "claim"))
            .unwrap_or_else(|| panic!("{}: the acknowledgement claims nothing", path.display()));
        let Some(decision) = claim.get("decision") else {
            // The answer alone does not decide it (a command answer posted in the channel).
            continue;
        };
        let mut own = own.as_object().unwrap().clone();
        own.remove("kind");
        assert_eq!(
            decision,
            &Value::Object(own),
            "{}: the acknowledgement decided otherwise",
            path.display()
        );
        decided.insert(held["decides"].as_object().map_or_else(
            || held["decides"].as_str().unwrap_or_default().to_owned(),
            |o| o.keys().next().cloned().unwrap_or_default(),
        ));
    }
    assert_eq!(
        decided.into_iter().collect::<Vec<_>>(),
        ["click", "command", "lookup"],
        "every kind the answer decides is checked"
    );
}

/// The core's prefetch queries for a fixture's input, filled as the shim fills them
/// (server/prefetch.go): a request's by its path, a websocket message's by its action
/// (`websocket:<action>`, its data read as the body); each marker replaced with the value its
/// `fill` names, which must be a Mattermost id; a query with a marker left unfilled is left
/// out. Name and exact text.
fn prefetch_queries(fixture: &Value) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Info<'a> {
        #[serde(borrow)]
        prefetch: Vec<Prefetch<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Prefetch<'a> {
        path: String,
        max_body_bytes: usize,
        fill: std::collections::BTreeMap<String, String>,
        #[serde(borrow)]
        queries: Vec<&'a serde_json::value::RawValue>,
    }
    // The lists come with the settings in force: configured as the fixture's server is.
    let commands_off = fixture["settings"]["custom_commands_off"] == true;
    let configure = json!({"configure": {"config": {}, "event": "activate",
        "server": {"site_url": "https://chat.example.com", "custom_commands_off": commands_off}}});
    let info = handle_call(configure.to_string().as_bytes(), b"", b"");
    let info: Info<'_> = serde_json::from_slice(&info).unwrap();
    let args = &fixture["input"]["command"]["args"];
    let (path, user, body) = match &fixture["input"]["web_socket"] {
        Value::Null if !args.is_null() => (json!("command"), &args["user_id"], Vec::new()),
        Value::Null => {
            let request = &fixture["request"];
            (
                request["path"].clone(),
                &request["user_id"],
                body_bytes(request),
            )
        }
        message => (
            json!(format!("websocket:{}", message["action"].as_str().unwrap())),
            &message["user_id"],
            serde_json::to_vec(&message["data"]).unwrap(),
        ),
    };
    let size = body.len();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for p in info.prefetch {
        if p.path != path || size > p.max_body_bytes {
            continue;
        }
        let value = |source: &str| -> Option<String> {
            let v = match source.strip_prefix("body.") {
                Some(path) => path.split('.').try_fold(&body, |v, k| v.get(k))?,
                None if source == "user" => user,
                None if source == "command.team_id" => &args["team_id"],
                None if source == "command.trigger" => {
                    // As the shim reads it (server/prefetch.go, commandTrigger).
                    let typed = args["command"].as_str()?.trim_start();
                    let head = typed.split(char::is_whitespace).next()?;
                    let trigger = head.trim_start_matches('/').to_ascii_lowercase();
                    let registrable = (1..=64).contains(&trigger.len())
                        && trigger.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                        });
                    return registrable.then_some(trigger);
                }
                None => panic!("unknown fill source {source}"),
            };
            v.as_str()
                .filter(|s| {
                    s.len() == 26
                        && s.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
                .map(str::to_owned)
        };
        // A marker's value that is missing or is itself a marker: nothing, if the marker is
        // required; its queries left out, if optional.
        let mut values = std::collections::BTreeMap::new();
        for (marker, source) in &p.fill {
            let (source, optional) = match source.strip_suffix('?') {
                Some(source) => (source, true),
                None => (source.as_str(), false),
            };
            match value(source).filter(|v| !p.fill.contains_key(v)) {
                Some(v) => {
                    values.insert(marker.clone(), v);
                }
                None if optional => {}
                None => return Vec::new(),
            }
        }
        for query in p.queries {
            let mut text = query.get().to_owned();
            let mut complete = true;
            for marker in p.fill.keys() {
                if text.contains(marker.as_str()) {
                    match values.get(marker) {
                        Some(v) => text = text.replace(marker.as_str(), v),
                        None => complete = false,
                    }
                }
            }
            if complete {
                let name: Value = serde_json::from_str(&text).unwrap();
                out.push((name["name"].as_str().unwrap().to_owned(), text));
            }
        }
    }
    out
}

/// How many KV store writes a flow asks for: the writes asked as facts (their outcome decides
/// what comes next) and those ordered as effects; a `kv_set_many` counts each of its keys.
fn kv_writes(asked: &[Value], effects: &[Value]) -> usize {
    let facts = asked
        .iter()
        .map(|q| match q["fact"].as_str().unwrap_or("") {
            "kv_set" | "kv_consume" | "kv_create" | "kv_create_any" | "kv_cas" | "list_push"
            | "list_remove" | "queue_push" | "count" => 1,
            "kv_set_many" => q["entries"].as_object().map_or(0, |e| e.len()),
            _ => 0,
        });
    let ordered = effects
        .iter()
        .filter(|e| matches!(e["type"].as_str(), Some("store" | "count" | "delete")));
    facts.sum::<usize>() + ordered.count()
}

/// A fixture as text, its top-level keys in the order things happen.
fn write(fixture: &Value) -> String {
    const ORDER: [&str; 11] = [
        "description",
        "now_ms",
        "entropy",
        "node",
        "settings",
        "input",
        "request",
        "standing",
        "prefetched",
        "facts",
        "expect",
    ];
    let parts: Vec<String> = ORDER
        .iter()
        .filter_map(|k| fixture.get(*k).map(|v| (k, v)))
        .map(|(k, v)| {
            let value = serde_json::to_string_pretty(v)
                .unwrap()
                .replace('\n', "\n  ");
            format!("  {}: {value}", json!(k))
        })
        .collect();
    format!("{{\n{}\n}}\n", parts.join(",\n"))
}

#[test]
fn golden_fixtures_match_the_core() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut fixture: Value = serde_json::from_str(&text).unwrap();
        // A fixture the core cannot even run through (a question it does not answer) is
        // reported with the others, not alone.
        let actual = match std::panic::catch_unwind(|| run(&fixture)) {
            Ok(actual) => actual,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!(
                    "{}:
  {why}",
                    path.display()
                ));
                continue;
            }
        };
        if bless {
            fixture["expect"] = actual;
            std::fs::write(&path, write(&fixture)).unwrap();
        } else {
            if fixture["expect"] != actual {
                failures.push(format!(
                    "{}:\n  expected {}\n  actual   {}",
                    path.display(),
                    fixture["expect"],
                    actual
                ));
            }
            assert_eq!(
                write(&fixture),
                text,
                "{} is not in fixture order",
                path.display()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixtures differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_delivered_event_keeps_the_body_and_adds_only_proxy() {
    for path in fixtures() {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(body) = fixture["request"].get("body") else {
            continue;
        };
        // The one thing taken away: a button's signature, which is the plugin's (SPEC §10).
        let mut body = body.clone();
        if let Some(context) = body.get_mut("context").and_then(Value::as_object_mut) {
            context.remove("_socket_mode_signature");
        }
        let body = &body;
        for effect in run(&fixture)["effects"].as_array().unwrap() {
            if effect["type"] != "publish" || effect["event"] != "action" {
                continue;
            }
            let mut data = effect["data"].as_object().unwrap().clone();
            let proxy = data.remove("proxy").expect("every event has a proxy block");
            assert_eq!(&Value::Object(data), body, "{}", path.display());
            assert_eq!(proxy["event_id"].as_str().unwrap().len(), 26);
            assert_eq!(
                effect["user_id"], body["context"]["user_id"],
                "only the named bot receives it"
            );
            assert_eq!(
                effect["reliable"], true,
                "every node of a cluster delivers it"
            );
        }
    }
}

#[test]
fn every_refusal_tells_the_user_and_publishes_nothing() {
    for path in fixtures() {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let actual = run(&fixture);
        if actual.get("response").is_none() || actual["response"]["status"] == 200 {
            continue;
        }
        // An event sent and waited for went out before the refusal (its answer window passed,
        // and then it could not be kept): the bot has it; nothing else may be published.
        let waited = actual["queries"]
            .as_array()
            .is_some_and(|q| q.iter().any(|q| q["fact"] == "await"));
        let effects = actual["effects"].as_array().unwrap();
        assert!(
            waited || effects.iter().all(|e| e["type"] != "publish"),
            "{}",
            path.display()
        );
        let body = &actual["response"]["body"];
        // A click's refusal is shown as an ephemeral post; a dialog's inside the open dialog.
        let (text, code) = match body["error"].as_str() {
            Some(text) => (Some(text), body["error_code"].as_str()),
            None => (
                body["ephemeral_text"].as_str(),
                body["error"]["code"].as_str(),
            ),
        };
        assert!(text.is_some_and(|t| !t.is_empty()), "{}", path.display());
        assert!(code.is_some(), "{}", path.display());
    }
}

/// The signing key attached to a first call unasked (a standing fact: the shim had it cached)
/// changes what a flow asks, never what it decides: every fixture is run again with the key at
/// hand — its own answer moved there, or, for a fixture that never reads the key, a key and the
/// `null` of a server that has none yet — and must end in the same effects and answer.
#[test]
fn standing_facts_change_no_outcome() {
    let key = json!({"found": {"id": "8f3a1c2e", "secret": "000102030405060708090a0b0c0d0e0f"}});
    let mut fewer = Vec::new();
    for path in fixtures() {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if fixture.get("standing").is_some() {
            continue;
        }
        let before = run(&fixture);
        let mut variants = Vec::new();
        match fixture["facts"].get("keyring") {
            Some(answer) => {
                let mut moved = fixture.clone();
                moved["facts"].as_object_mut().unwrap().remove("keyring");
                moved["standing"] = json!({ "keyring": answer });
                variants.push(moved);
            }
            None => {
                for answer in [key.clone(), json!({"found": null})] {
                    let mut added = fixture.clone();
                    added["standing"] = json!({ "keyring": answer });
                    variants.push(added);
                }
            }
        }
        for variant in variants {
            let after = run_with(&variant, false);
            assert_eq!(
                decided(&after),
                decided(&before),
                "{}: decided otherwise with the key at hand ({})",
                path.display(),
                variant["standing"]
            );
            let (was, is) = (&before["cost"]["rounds"], &after["cost"]["rounds"]);
            if was != is {
                fewer.push(format!("{} {was} -> {is}", path.display()));
            }
        }
    }
    // The flows that ask for the key in a round of its own make one call fewer.
    eprintln!("rounds with the key at hand:\n{}", fewer.join("\n"));
}

/// What is decided, without how many rounds it took or what was asked on the way.
fn decided(actual: &Value) -> Value {
    let mut out = actual.clone();
    let out = out.as_object_mut().unwrap();
    out.remove("queries");
    out.remove("cost");
    Value::Object(out.clone())
}

/// Answers at hand before the first call (the core's prefetch queries, filled from the
/// request) change how many calls a flow takes, never what it decides: every fixture of a
/// prefetching path is run again with each filled query the fixture answers attached — with
/// the fixture's answer if the flow asks exactly that query, and with an error otherwise, which
/// would show if the core took it for another question — and with the key, which such a node
/// has cached too; it must end in the same effects and answer, in no more rounds.
#[test]
fn prefetched_facts_change_no_outcome() {
    let mut fewer = Vec::new();
    let mut tried = 0;
    for path in fixtures() {
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if fixture.get("prefetched").is_some() {
            continue;
        }
        let facts = fixture["facts"].as_object().cloned().unwrap_or_default();
        let before = run(&fixture);
        let asked = before["queries"].as_array().cloned().unwrap_or_default();
        // A filled query the flow asks, exactly, gets the fixture's answer; any other gets an
        // answer that would change the outcome if the core took it for another question.
        let poisoned = json!({"failed": {"status": 500, "id": "poisoned", "message": "an answer to another question"}});
        let at_hand: Map<String, Value> = prefetch_queries(&fixture)
            .into_iter()
            .filter(|(name, _)| facts.contains_key(name))
            .map(|(name, text)| {
                let query: Value = serde_json::from_str(&text).unwrap();
                let answer = match asked.contains(&query) {
                    true => facts[&name].clone(),
                    false => poisoned.clone(),
                };
                (name, answer)
            })
            .collect();
        if at_hand.is_empty() {
            continue;
        }
        tried += 1;
        let mut variant = fixture.clone();
        variant["prefetched"] = Value::Object(at_hand);
        // A node with answers cached has the key cached too (a standing fact): without it, a
        // click whose signature then fails asks again for what the prefetched answers did not
        // answer exactly (its post, uncached), one round more.
        if let Some(key) = variant["facts"].as_object_mut().unwrap().remove("keyring") {
            variant["standing"] = json!({ "keyring": key });
        }
        let after = run_with(&variant, false);
        assert_eq!(
            decided(&after),
            decided(&before),
            "{}: decided otherwise with answers prefetched",
            path.display()
        );
        let (was, is) = (&before["cost"]["rounds"], &after["cost"]["rounds"]);
        assert!(
            is.as_u64() <= was.as_u64(),
            "{}: more rounds",
            path.display()
        );
        if was != is {
            fewer.push(format!("{} {was} -> {is}", path.display()));
        }
    }
    assert!(tried >= 10, "only {tried} fixtures prefetch anything");
    assert!(
        !fewer.is_empty(),
        "no flow got shorter with its answers at hand"
    );
    eprintln!("rounds with answers prefetched:\n{}", fewer.join("\n"));
}

/// The fixture of a warm signed click: every fact it needs is at hand, so it is decided in one
/// round.
fn warm_click() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signing/click_signed_with_every_fact_at_hand.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A prefetched answer is the answer to one exact question: one filled for another post is
/// never used for the post clicked (the core asks for it), the post cached for signed clicks
/// is not the stored post a click whose signature fails needs, and one for the exact question
/// is used as the real answer would be (a permission refused refuses the click).
#[test]
fn a_prefetched_answer_serves_only_its_exact_query() {
    let warm = warm_click();
    assert_eq!(run(&warm)["cost"]["rounds"], 1);

    // The post at hand is another post's: the click asks for its own, and only for it.
    let request = &warm["request"];
    let body = body_bytes(request);
    let settings = call(
        &json!({"configure": {"config": {}, "event": "activate", "server": {"site_url": "https://chat.example.com"}}}),
        b"",
    )["settings"]
        .clone();
    let post_id = request["body"]["post_id"].as_str().unwrap();
    let other = "otherpostotherpostotherp01";
    let prefetched: Vec<Value> = prefetch_queries(&warm)
        .into_iter()
        .map(|(name, query)| {
            let query = match name.as_str() {
                "post" => query.replace(post_id, other),
                _ => query,
            };
            json!({"query": query, "answer": warm["prefetched"][&name]})
        })
        .collect();
    let handle = json!({
        "input": {"http": {"method": request["method"], "path": request["path"], "user_id": request["user_id"]}},
        "now_ms": warm["now_ms"],
        "entropy": warm["entropy"],
        "settings": settings,
        "node": NODE,
        "facts": warm["standing"],
        "prefetched": prefetched,
    });
    let reply = call(&json!({ "handle": handle }), &body);
    assert_eq!(reply["kind"], "need_facts", "{reply}");
    let asked: Vec<&str> = reply["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["post_id"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(asked, [post_id], "{reply}");

    // A signature that does not hold (its MAC altered): the post cached for signed clicks is
    // at hand, but the click now needs the post as stored, read afresh, and asks for it.
    let mut forged = warm.clone();
    let context = &mut forged["request"]["body"]["context"]["_socket_mode_signature"];
    let mac = context["m"].as_str().unwrap().to_owned();
    context["m"] = json!(format!(
        "{}{}",
        if mac.starts_with('0') { "1" } else { "0" },
        &mac[1..]
    ));
    forged["facts"] = json!({"post": warm["prefetched"]["post"]});
    let actual = run_with(&forged, false);
    let asked = actual["queries"].as_array().unwrap();
    assert_eq!(asked.len(), 1, "{actual}");
    assert_eq!(asked[0]["fact"], "post");
    assert!(asked[0].get("cache_ms").is_none(), "{actual}");
    assert_eq!(actual["cost"]["rounds"], 2);

    // The permission at hand for the exact question says no: the click is refused, and
    // nothing is published.
    let mut refused = warm.clone();
    refused["prefetched"]["can_read"] = json!({"found": false});
    let actual = run_with(&refused, false);
    assert_eq!(actual["cost"]["rounds"], 1);
    assert_eq!(actual["response"]["status"], 403, "{actual}");
    assert!(actual["effects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["type"] != "publish"));
}

/// The registry and the expansion request are asked together but answered each on its own: a
/// node may have one cached and not the other. With the registry at hand and the expansion
/// request answered in an earlier round, the click is decided; the expansion request is never
/// asked again (the shim refuses a question asked twice, and the click would fail).
#[test]
fn an_answered_expansion_request_is_not_asked_again() {
    let warm = warm_click();
    let request = &warm["request"];
    let body = body_bytes(request);
    let settings = call(
        &json!({"configure": {"config": {}, "event": "activate", "server": {"site_url": "https://chat.example.com"}}}),
        b"",
    )["settings"]
        .clone();
    let prefetched: Vec<Value> = prefetch_queries(&warm)
        .into_iter()
        .filter(|(name, _)| name != "expand")
        .map(|(name, query)| json!({"query": query, "answer": warm["prefetched"][&name]}))
        .collect();
    let mut facts = warm["standing"].clone();
    facts["expand"] = warm["prefetched"]["expand"].clone();
    let handle = json!({
        "input": {"http": {"method": request["method"], "path": request["path"], "user_id": request["user_id"], "internal": true}},
        "now_ms": warm["now_ms"],
        "entropy": warm["entropy"],
        "settings": settings,
        "node": NODE,
        "facts": facts,
        "prefetched": prefetched,
    });
    let reply = call(&json!({ "handle": handle }), &body);
    assert_eq!(reply["kind"], "decision", "{reply}");
}

/// A command's first round is prefetched as the command arrives — the trigger's owner and the
/// person from the cache, the team's own commands asked beside the first call — and the team's
/// commands only where the command asks them: with custom slash commands off on the server
/// Mattermost runs none, and reading them would be a call for nothing.
#[test]
fn a_command_prefetches_the_team_commands_only_while_mattermost_runs_them() {
    let fixture = |name: &str| -> Value {
        let path = format!(
            "{}/tests/fixtures/commands/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let names =
        |f: &Value| -> Vec<String> { prefetch_queries(f).into_iter().map(|(n, _)| n).collect() };
    let on = fixture("execute_answered_ephemeral");
    assert_eq!(names(&on), ["owner", "issuer", "team_commands"]);
    let filled: Vec<Value> = prefetch_queries(&on)
        .iter()
        .map(|(_, q)| serde_json::from_str(q).unwrap())
        .collect();
    let asked = run(&on)["queries"].as_array().cloned().unwrap();
    for q in &filled {
        assert!(asked.contains(q), "{q} is not a query the command asks");
    }
    assert_eq!(
        names(&fixture(
            "execute_with_custom_commands_off_asks_no_team_commands"
        )),
        ["owner", "issuer"]
    );
}

/// A prefetched answer to the team's own commands is the answer for one team and one trigger:
/// filled for another trigger or another team it is never taken for the command's — the core
/// asks its own question — while the exact one is (the command goes on to its next round).
/// What keeps a team's own command from being taken over rests on this.
#[test]
fn a_prefetched_team_commands_answer_serves_only_its_team_and_trigger() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/commands/execute_answered_ephemeral.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let settings = call(
        &json!({"configure": {"config": {}, "event": "activate", "server": {"site_url": "https://chat.example.com"}}}),
        b"",
    )["settings"]
        .clone();
    let filled = prefetch_queries(&fixture);
    let asked_with = |from: &str, to: &str| -> Vec<String> {
        let prefetched: Vec<Value> = filled
            .iter()
            .map(|(name, query)| {
                let query = match name.as_str() {
                    "team_commands" => query.replace(from, to),
                    _ => query.clone(),
                };
                json!({"query": query, "answer": fixture["facts"][name]})
            })
            .collect();
        let handle = json!({
            "input": fixture["input"],
            "now_ms": fixture["now_ms"],
            "entropy": fixture["entropy"],
            "settings": settings,
            "node": NODE,
            "prefetched": prefetched,
        });
        let reply = call(&json!({ "handle": handle }), b"");
        assert_eq!(reply["kind"], "need_facts", "{reply}");
        reply["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let exact = asked_with("", "");
    assert!(
        !exact.is_empty() && !exact.contains(&"team_commands".to_owned()),
        "{exact:?}"
    );
    for (from, to) in [
        (r#""trigger":"deploy""#, r#""trigger":"deploy2""#),
        ("teamteamteamteamteamteam01", "otherteamotherteamotherte1"),
    ] {
        assert_eq!(asked_with(from, to), ["team_commands"], "{to}");
    }
}
