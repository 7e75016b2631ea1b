//! The core's own cost per click, natively (the wasm path is measured by `go test -bench`).
//!
//! The click is the shared fixture `signing/click_signed_v2.json` (a button the plugin signed
//! when the bot posted it), so the benchmark follows the fixture when a click's facts change.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use socket_mode_core::wire::envelope::handle_call;

fn call(doc: &Value, body: &[u8]) -> Value {
    serde_json::from_slice(&handle_call(doc.to_string().as_bytes(), body)).unwrap()
}

fn bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signing/click_signed_v2.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let request = &fixture["request"];
    let body = serde_json::to_vec(&request["body"]).unwrap();
    // The settings a server like the shim's tests' gets (tests/golden.rs does the same).
    let settings = call(
        &json!({"configure": {"config": {}, "event": "activate", "server": {"site_url": "https://chat.example.com"}}}),
        b"",
    )["settings"]
        .clone();
    let handle = json!({
        "input": {"http": {"method": request["method"], "path": request["path"], "user_id": request["user_id"]}},
        "now_ms": fixture["now_ms"],
        "entropy": fixture["entropy"],
        "settings": settings,
        "node": "nodenodenodenodenodenode01",
    });
    let plan_input = json!({ "handle": handle }).to_string();
    let mut with_facts = handle.clone();
    with_facts["facts"] = fixture["facts"].clone();
    let decide_input = json!({ "handle": with_facts }).to_string();

    // Every fact at once decides the click: the benchmark measures a delivered click.
    let decided: Value =
        serde_json::from_slice(&handle_call(decide_input.as_bytes(), &body)).unwrap();
    assert_eq!(decided["kind"], "decision", "{decided}");
    assert_eq!(decided["reply"]["http"]["status"], 200, "{decided}");

    // The warm click as the shim makes it (issue 19.3): the key a standing fact, every other
    // answer prefetched with the exact query the plan asks; one call decides.
    let plan: serde_json::Value =
        serde_json::from_slice(&handle_call(plan_input.as_bytes(), &body)).unwrap();
    let plan_raw = handle_call(plan_input.as_bytes(), &body);
    #[derive(serde::Deserialize)]
    struct Asked<'a> {
        #[serde(borrow)]
        queries: Vec<&'a serde_json::value::RawValue>,
    }
    let asked: Asked<'_> = serde_json::from_slice(&plan_raw).unwrap();
    let prefetched: Vec<String> = asked
        .queries
        .iter()
        .zip(plan["queries"].as_array().unwrap())
        .map(|(raw, q)| {
            let answer = &fixture["facts"][q["name"].as_str().unwrap()];
            format!(r#"{{"query":{},"answer":{answer}}}"#, raw.get())
        })
        .collect();
    let text = json!({ "handle": handle }).to_string();
    let one_call = format!(
        r#"{},"prefetched":[{}]}}}}"#,
        &text[..text.len() - 2],
        prefetched.join(",")
    );
    let decided: Value = serde_json::from_slice(&handle_call(one_call.as_bytes(), &body)).unwrap();
    assert_eq!(decided["kind"], "decision", "{decided}");
    c.bench_function("signed click: one call, every answer prefetched", |b| {
        b.iter(|| handle_call(black_box(one_call.as_bytes()), &body))
    });
    c.bench_function("signed click: plan (the first call: what to ask)", |b| {
        b.iter(|| handle_call(black_box(plan_input.as_bytes()), &body))
    });
    c.bench_function("signed click: decide (the second call: every fact)", |b| {
        b.iter(|| handle_call(black_box(decide_input.as_bytes()), &body))
    });
    c.bench_function(
        "signed click: plan + decide (wire form, as the shim calls it)",
        |b| {
            b.iter(|| {
                let plan = handle_call(black_box(plan_input.as_bytes()), &body);
                let decision = handle_call(black_box(decide_input.as_bytes()), &body);
                (plan, decision)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
