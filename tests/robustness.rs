//! SPEC §7: no input may crash the core. Thousands of mutated requests and fact answers, built
//! from the golden fixtures by a seeded generator, must each get an answer (never a panic) that
//! is a well-formed reply; every refusal must be a JSON body.

mod common;
use common::fixture_dirs;
use serde_json::{json, Value};
use socket_mode_core::wire::envelope::{handle_call, split_call};

/// A small deterministic generator (xorshift64*), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn fixtures() -> Vec<Value> {
    let mut out = Vec::new();
    // Every directory of tests/fixtures: a new one needs no list here.
    for dir in fixture_dirs() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            out.push(serde_json::from_str(&text).unwrap());
        }
    }
    out
}

/// Replaces a random node of `v` with a random value of another kind.
fn mutate(v: &mut Value, rng: &mut Rng) {
    let replacement = match rng.below(9) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1e308),
        3 => json!(""),
        4 => json!("é\u{0}\"\\"),
        5 => json!([]),
        6 => json!({}),
        7 => json!(u64::MAX),
        _ => json!([[[[[[{"a": [null]}]]]]]]),
    };
    let mut node = v;
    loop {
        let children = match node {
            Value::Object(m) if !m.is_empty() => m.len(),
            Value::Array(a) if !a.is_empty() => a.len(),
            _ => 0,
        };
        if children == 0 || rng.below(3) == 0 {
            *node = replacement;
            return;
        }
        let i = rng.below(children);
        node = match node {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
    }
}

fn check_reply(reply: &[u8], context: &str) {
    let reply: Value = serde_json::from_slice(reply)
        .unwrap_or_else(|e| panic!("{context}: reply is not JSON: {e}"));
    match reply["kind"].as_str() {
        Some("need_facts") => assert!(reply["queries"].is_array(), "{context}"),
        Some("decision") if reply["reply"].get("none").is_some() => {
            assert!(reply["effects"].is_array(), "{context}")
        }
        Some("decision") if reply["reply"].get("post").is_some() => {}
        Some("decision") if reply["reply"].get("command").is_some() => {
            // Mattermost's CommandResponse: an object, or none when the command is handed back
            // to Mattermost (a team's own or a built-in has its trigger).
            let response = &reply["reply"]["command"]["response"];
            assert!(response.is_object() || response.is_null(), "{context}")
        }
        Some("decision") => {
            let body = reply["reply"]["http"]["body"].as_str().unwrap();
            let status = reply["reply"]["http"]["status"].as_u64().unwrap();
            assert!((200..600).contains(&status), "{context}");
            // No body is an empty answer, and only to Mattermost, which reads it as `{}`.
            let to_mattermost = reply["reply"]["http"]["to_mattermost"] == true;
            if !(body.is_empty() && status == 200 && to_mattermost) {
                serde_json::from_str::<Value>(body)
                    .unwrap_or_else(|e| panic!("{context}: body is not JSON: {e}"));
            }
        }
        Some("error") => {} // the input document itself was malformed: a shim bug, answered
        other => panic!("{context}: unexpected reply kind {other:?}"),
    }
}

#[test]
fn mutated_requests_and_facts_never_crash_the_core() {
    let fixtures = fixtures();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..4000 {
        let f = &fixtures[rng.below(fixtures.len())];
        let mut body = f["request"].get("body").cloned().unwrap_or(json!({}));
        let mut facts = f.get("facts").cloned().unwrap_or(json!({}));
        match rng.below(3) {
            0 => mutate(&mut body, &mut rng),
            1 => mutate(&mut facts, &mut rng),
            _ => {
                mutate(&mut body, &mut rng);
                mutate(&mut facts, &mut rng);
            }
        }
        let facts = facts.as_object().cloned().unwrap_or_default();
        let mut bytes = serde_json::to_vec(&body).unwrap();
        if rng.below(10) == 0 && !bytes.is_empty() {
            // Raw damage too: a cut, or a byte that is not UTF-8.
            let at = rng.below(bytes.len());
            if rng.below(2) == 0 {
                bytes.truncate(at)
            } else {
                bytes[at] = 0xff
            }
        }
        let mut input = f.get("input").cloned().unwrap_or_else(|| {
            json!({"http": {
                "method": "POST",
                "path": f["request"]["path"],
                "user_id": f["request"]["user_id"],
                "internal": f["request"]["internal"] == true,
            }})
        });
        if f.get("input").is_some() && rng.below(2) == 0 {
            mutate(&mut input, &mut rng);
        }
        let mut handle = json!({
            "input": input,
            "now_ms": 1_700_000_000_123u64,
            "entropy": "00112233445566778899aabbccddeeff",
            "node": "nodenodenodenodenodenode01",
            "settings": {"verify_provenance": rng.below(2) == 0, "allow_unverified_ephemeral": rng.below(2) == 0, "dialog_session_minutes": 30},
        });
        // Answer however many questions the core asks, from the (mutated) facts; a question
        // they do not answer gets Mattermost's 404.
        let mut answered = serde_json::Map::new();
        for step in 0..6 {
            let (doc, attached) = split_call(&json!({ "handle": handle }));
            let reply = handle_call(&doc, &attached, &bytes);
            let context = format!("round {round}, step {step}, fixture {}", f["description"]);
            check_reply(&reply, &context);
            let reply: Value = serde_json::from_slice(&reply).unwrap();
            if reply["kind"] != "need_facts" {
                break;
            }
            for query in reply["queries"].as_array().unwrap() {
                let name = query["name"].as_str().unwrap();
                let answer = facts.get(name).cloned().unwrap_or(
                    json!({"failed": {"status": 404, "id": "not_found", "message": "not found"}}),
                );
                answered.insert(name.to_owned(), answer);
            }
            handle["facts"] = Value::Object(answered.clone());
        }
    }
}

#[test]
fn random_bytes_never_crash_the_core() {
    let mut rng = Rng(0xfeed_beef_0000_0002);
    for _ in 0..3000 {
        let len = rng.below(300);
        let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let input: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        check_reply(&handle_call(&input, b"", &body), "random call document");
        let call = json!({"handle": {"input": {"http": {"method": "POST", "path": "/api/v1/handler", "user_id": "alicealicealicealicealice1"}},
            "now_ms": 1, "entropy": "00112233445566778899aabbccddeeff", "node": "nodenodenodenodenodenode01",
            "settings": {"verify_provenance": true, "allow_unverified_ephemeral": false}}});
        check_reply(
            &handle_call(call.to_string().as_bytes(), b"", &body),
            "random body",
        );
        // Random answers beside the call, under lengths that may or may not add up to them: an
        // error reply or an unreadable answer, never a crash.
        let mut call = call;
        let (a, b) = (rng.below(40), rng.below(40));
        call["handle"]["facts"] = json!([["keyring", a], ["post", b]]);
        call["handle"]["prefetched"] = json!([[rng.below(20), rng.below(20)]]);
        let attached: Vec<u8> = (0..rng.below(100)).map(|_| rng.next() as u8).collect();
        check_reply(
            &handle_call(call.to_string().as_bytes(), &attached, b""),
            "random answers",
        );
    }
}
