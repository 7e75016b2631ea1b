//! The core's own cost per click, natively (the wasm path is measured by `go test -bench`).
//!
//! The click is the shared fixture `signing/click_signed_v2.json` (a button the plugin signed
//! when the bot posted it), so the benchmark follows the fixture when a click's facts change.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use socket_mode_core::wire::envelope::{handle_call, split_call};

fn call(doc: &Value, body: &[u8]) -> Value {
    let (doc, attached) = split_call(doc);
    serde_json::from_slice(&handle_call(&doc, &attached, body)).unwrap()
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
        "input": {"http": {"method": request["method"], "path": request["path"], "user_id": request["user_id"], "internal": request["internal"]}},
        "now_ms": fixture["now_ms"],
        "entropy": fixture["entropy"],
        "settings": settings,
        "node": "nodenodenodenodenodenode01",
    });
    let plan_input = split_call(&json!({ "handle": handle }));
    let mut with_facts = handle.clone();
    with_facts["facts"] = fixture["facts"].clone();
    let decide_input = split_call(&json!({ "handle": with_facts }));
    let run = |(doc, attached): &(Vec<u8>, Vec<u8>)| handle_call(black_box(doc), attached, &body);

    // Every fact at once decides the click: the benchmark measures a delivered click.
    let decided: Value = serde_json::from_slice(&run(&decide_input)).unwrap();
    assert_eq!(decided["kind"], "decision", "{decided}");
    assert_eq!(decided["reply"]["http"]["status"], 200, "{decided}");

    // The warm click as the shim makes it (issue 19.3): the key a standing fact, every other
    // answer prefetched with the exact query the plan asks; one call decides.
    let plan_raw = run(&plan_input);
    let plan: Value = serde_json::from_slice(&plan_raw).unwrap();
    #[derive(serde::Deserialize)]
    struct Queries<'a> {
        #[serde(borrow)]
        queries: Vec<&'a serde_json::value::RawValue>,
    }
    let asked: Queries<'_> = serde_json::from_slice(&plan_raw).unwrap();
    let prefetched: Vec<Value> = asked
        .queries
        .iter()
        .zip(plan["queries"].as_array().unwrap())
        .map(|(raw, q)| json!({"query": raw.get(), "answer": fixture["facts"][q["name"].as_str().unwrap()]}))
        .collect();
    let mut at_hand = handle.clone();
    at_hand["prefetched"] = Value::Array(prefetched);
    let one_call = split_call(&json!({ "handle": at_hand }));
    let decided: Value = serde_json::from_slice(&run(&one_call)).unwrap();
    assert_eq!(decided["kind"], "decision", "{decided}");
    c.bench_function("signed click: one call, every answer prefetched", |b| {
        b.iter(|| run(&one_call))
    });
    c.bench_function("signed click: plan (the first call: what to ask)", |b| {
        b.iter(|| run(&plan_input))
    });
    c.bench_function("signed click: decide (the second call: every fact)", |b| {
        b.iter(|| run(&decide_input))
    });
    c.bench_function(
        "signed click: plan + decide (wire form, as the shim calls it)",
        |b| b.iter(|| (run(&plan_input), run(&decide_input))),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
