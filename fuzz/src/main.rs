//! `make fuzz`: millions of hostile inputs through every endpoint of the core, natively.
//!
//! Stable Rust has no coverage-guided fuzzing engine without nightly, so this is a mutation
//! fuzzer seeded by the golden fixtures (`tests/fixtures/`): each input is a fixture whose
//! body, facts, settings, path and method are mutated — values swapped for hostile ones
//! (huge numbers, text that is not ASCII, deep nesting, wrong types), keys renamed the way Go
//! would still read them, parts of other fixtures spliced in, bytes damaged — then run through
//! the wire form exactly as the shim runs it, answering every round of facts the core asks for
//! (with the fixture's answers, mutated, or made-up ones). Any panic, any reply that is not a
//! well-formed document, any event with a top-level `user` key, any refusal without words for
//! the person, is a finding: the input is written to `fuzz/findings/` and the run fails.
//!
//! One input in [`METERED_EVERY`] also runs through the server wasm itself (`server/core.wasm`,
//! metered; [`meter`]): every call's fuel must stay within a bound linear in what it carries
//! and answers (a quadratic path is a finding), and the wasm's reply must be byte for byte the native one.
//!
//! `cargo run --release -- [--inputs N] [--seconds S] [--seed X] [--threads T] [--metered-every M]`

mod meter;

use serde_json::{json, Map, Value};
use socket_mode_core::wire::envelope::{handle_call, split_call};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One fixture, as the fuzzer starts from it.
#[derive(Clone)]
struct Seed {
    /// A non-HTTP input (a websocket message, a hook), as the shim writes it.
    input: Option<Value>,
    path: String,
    user_id: Value,
    settings: Value,
    body: Value,
    facts: Map<String, Value>,
}

/// One input: what the shim would send across the boundary for one request.
#[derive(Clone, Debug)]
struct Case {
    input: Option<Value>,
    method: String,
    path: String,
    user_id: Value,
    /// Made by Mattermost inside the server (no remote address), or sent over the network.
    internal: bool,
    settings: Value,
    body: Vec<u8>,
    facts: Map<String, Value>,
}

/// xorshift64*: fast, and a run replays exactly from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn load_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    // Every directory of tests/fixtures: a new one needs no list here.
    for dir in fixture_dirs() {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("the golden fixtures")
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let f: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let request = &f["request"];
            let body = request.get("body").cloned().unwrap_or_else(|| {
                request
                    .get("body_text")
                    .and_then(Value::as_str)
                    .map_or(json!({}), |t| json!(t))
            });
            seeds.push(Seed {
                input: f.get("input").cloned(),
                path: request["path"].as_str().unwrap_or_default().to_owned(),
                user_id: request["user_id"].clone(),
                settings: f.get("settings").cloned().unwrap_or_else(default_settings),
                body,
                facts: f
                    .get("facts")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            });
        }
    }
    assert!(seeds.len() >= 50, "the golden fixtures are missing");
    seeds
}

fn default_settings() -> Value {
    json!({"verify_provenance": true, "allow_unverified_ephemeral": false, "dialog_session_minutes": 30})
}

/// Values that have broken parsers before: wrong types, huge and odd numbers, text that is not
/// ASCII where ASCII is expected, ids of the right shape, deep and wide nesting.
fn hostile(rng: &mut Rng) -> Value {
    match rng.below(24) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1e308),
        3 => json!(""),
        4 => json!("é\u{0}\"\\"),
        5 => json!([]),
        6 => json!({}),
        7 => json!(u64::MAX),
        8 => json!(i64::MIN),
        9 => json!([[[[[[{"a": [null]}]]]]]]),
        10 => json!("2026-0é-01"),
        11 => json!("2026-01-01T1é:00:00Z"),
        12 => json!("+éd"),
        13 => json!("alicealicealicealicealice1"),
        14 => json!("bot1bot1bot1bot1bot1bot1b1"),
        15 => json!(["bot1bot1bot1bot1bot1bot1b1"]),
        16 => json!("x".repeat(rng.below(3000))),
        17 => json!("ü".repeat(rng.below(1000))),
        18 => json!(0.1),
        19 => json!(-0.0),
        20 => Value::Array(
            (0..rng.below(200))
                .map(|i| json!({"text": i, "value": format!("v{}", i % 7)}))
                .collect(),
        ),
        21 => json!({"user_id": "bot1bot1bot1bot1bot1bot1b1", "selected_option": [1]}),
        22 => json!("/plugins/mattermost-plugin-interactive-message-actions-to-websocket-proxy/api/v1/handler"),
        _ => json!("Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M6YWxpY2VhbGljZWFsaWNlYWxpY2VhbGljZTE6MTcwMDAwMDAwMDAwMDpjMmxu"),
    }
}

/// A random node of `v`, by a random walk from the root.
fn pick<'a>(v: &'a mut Value, rng: &mut Rng) -> &'a mut Value {
    let mut node = v;
    loop {
        let children = match node {
            Value::Object(m) if !m.is_empty() => m.len(),
            Value::Array(a) if !a.is_empty() => a.len(),
            _ => 0,
        };
        if children == 0 || rng.chance(3) {
            return node;
        }
        let i = rng.below(children);
        node = match node {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
    }
}

/// Characters Go's case-insensitive key matching folds onto ASCII ones.
const FOLDS: [(char, char); 3] = [('s', 'ſ'), ('k', 'K'), ('e', 'E')];

fn mutate_value(v: &mut Value, rng: &mut Rng, donors: &[Seed]) {
    let node = pick(v, rng);
    match rng.below(8) {
        0..=2 => *node = hostile(rng),
        // Growing is the costly mutation: one time in two it becomes a replacement.
        5 if rng.chance(2) => *node = hostile(rng),
        // Splice a piece of another fixture in.
        3 => {
            let mut donor = donors[rng.below(donors.len())].body.clone();
            *node = pick(&mut donor, rng).clone();
        }
        // Rename, fold or duplicate a key.
        4 => {
            if let Value::Object(m) = node {
                if let Some(key) = m.keys().nth(rng.below(m.len())).cloned() {
                    let value = m.remove(&key).unwrap();
                    let renamed = match rng.below(3) {
                        0 => key.to_uppercase(),
                        1 => {
                            let (from, to) = FOLDS[rng.below(FOLDS.len())];
                            key.replacen(from, &to.to_string(), 1)
                        }
                        _ => format!("{key}_"),
                    };
                    m.insert(renamed, value.clone());
                    if rng.chance(2) {
                        m.insert(key, value);
                    }
                }
            }
        }
        // Grow an array by repeating it: quadratic rules show up here.
        5 => {
            if let Value::Array(a) = node {
                if !a.is_empty() {
                    let n = rng.below(400);
                    let copy = a.clone();
                    for i in 0..n {
                        a.push(copy[i % copy.len()].clone());
                    }
                }
            }
        }
        // Damage a string: cut it, or put a character that is not ASCII inside.
        6 => {
            if let Value::String(s) = node {
                let mut chars: Vec<char> = s.chars().collect();
                let at = rng.below(chars.len() + 1);
                if rng.chance(2) {
                    chars.truncate(at);
                } else {
                    chars.insert(at, ['é', 'ж', '\u{1f600}', 'ſ', '\u{0}'][rng.below(5)]);
                }
                *s = chars.into_iter().collect();
            }
        }
        _ => {
            if let Value::Object(m) = node {
                if !m.is_empty() {
                    let key = m.keys().nth(rng.below(m.len())).cloned().unwrap();
                    m.remove(&key);
                }
            }
        }
    }
}

/// A made-up answer to a query the fixture does not answer.
fn made_up_answer(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!({"found": true}),
        1 => json!({"found": false}),
        2 => json!({"found": null}),
        3 => {
            json!({"found": {"id": "bot1bot1bot1bot1bot1bot1b1", "username": "bot", "delete_at": 0,
            "user_id": "bot1bot1bot1bot1bot1bot1b1", "channel_id": "chanchanchanchanchanchan01",
            "team_id": "teamteamteamteamteamteam01", "name": "town-square"}})
        }
        4 => json!({"failed": {"status": 404, "id": "app.not_found", "message": "not found"}}),
        5 => json!({"failed": {"status": 500, "id": "", "message": "store: connection refused"}}),
        6 => {
            json!({"failed": {"status": 400, "id": "interactive_message.decode_trigger_id.expired", "message": "expired"}})
        }
        _ => hostile(rng),
    }
}

fn make_case(rng: &mut Rng, seeds: &[Seed]) -> Case {
    let seed = &seeds[rng.below(seeds.len())];
    let mut body = seed.body.clone();
    let mut input = seed.input.clone();
    let mut facts = Value::Object(seed.facts.clone());
    let mut settings = seed.settings.clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(10) {
            0..=5 if input.is_some() => mutate_value(input.as_mut().unwrap(), rng, seeds),
            0..=5 => mutate_value(&mut body, rng, seeds),
            6..=8 => mutate_value(&mut facts, rng, seeds),
            _ => {
                settings = json!({
                    "verify_provenance": rng.chance(2),
                    "allow_unverified_ephemeral": rng.chance(2),
                    "dialog_session_minutes": 1 + rng.below(1440),
                })
            }
        }
    }
    let mut bytes = match &body {
        Value::String(text) if rng.chance(2) => text.clone().into_bytes(),
        _ => serde_json::to_vec(&body).unwrap(),
    };
    if rng.chance(12) && !bytes.is_empty() {
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => bytes.truncate(at),
            1 => bytes[at] = 0xff,
            _ => bytes.insert(at, b'{'),
        }
    }
    let path = match rng.below(20) {
        0 => "/api/v1/dialogs/yye1rc4rkiu8xnr3ik7h3zxq9h/submit".to_owned(),
        1 => format!("/api/v1/dialogs/{}/submit", "é".repeat(rng.below(30))),
        2 => seeds[rng.below(seeds.len())].path.clone(),
        _ => seed.path.clone(),
    };
    Case {
        input,
        method: if rng.chance(40) || seed.path.ends_with("status") {
            "GET"
        } else {
            "POST"
        }
        .to_owned(),
        path,
        user_id: if rng.chance(30) {
            hostile(rng)
        } else {
            seed.user_id.clone()
        },
        internal: rng.chance(2),
        settings,
        body: bytes,
        facts: match facts {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

/// How often an input also runs through the metered wasm, by default.
const METERED_EVERY: u64 = 16;

/// The costliest metered call seen: its fuel per byte carried, in thousandths.
static COSTLIEST_MILLI_FUEL_PER_BYTE: AtomicI64 = AtomicI64::new(0);
/// How many calls ran through the metered wasm.
static METERED_CALLS: AtomicU64 = AtomicU64::new(0);

/// Runs one case through every round the core asks for, natively and, with `meter`, through
/// the metered wasm too; `Err` names a broken promise.
fn run(case: &Case, rng: &mut Rng, mut meter: Option<&mut meter::Meter>) -> Result<u32, String> {
    let user_id = match &case.user_id {
        Value::String(_) | Value::Null => case.user_id.clone(),
        other => json!(other.to_string()),
    };
    let input = case.input.clone().unwrap_or_else(
        || json!({"http": {"method": case.method, "path": case.path, "user_id": user_id, "internal": case.internal}}),
    );
    let mut handle = json!({
        "input": input,
        "now_ms": 1_700_000_000_123u64,
        "entropy": "00112233445566778899aabbccddeeff",
        "node": "nodenodenodenodenodenode01",
        "settings": case.settings,
    });
    let mut answered = Map::new();
    for round in 1..=8u32 {
        let (call, attached) = split_call(&json!({ "handle": handle }));
        let reply = handle_call(&call, &attached, &case.body);
        if let Some(meter) = meter.as_deref_mut() {
            let (wasm_reply, fuel) = meter.call(&call, &attached, &case.body)?;
            if wasm_reply != reply {
                return Err(format!(
                    "the wasm build answered otherwise than the native one: {} against {}",
                    String::from_utf8_lossy(&wasm_reply),
                    String::from_utf8_lossy(&reply)
                ));
            }
            // What the call carries — its document, the answers beside it (a bot's answer of
            // hundreds of buttons is signed button by button) and the body — and what it
            // answers: a lint's findings and previews are larger than the message they
            // describe, and building them is work too.
            let carried = call.len() + attached.len() + case.body.len() + reply.len();
            if fuel > meter::fuel_limit(carried) {
                return Err(format!(
                    "a call spent {fuel} fuel for {carried} bytes, over the linear bound of {} \
                     ({} + {} a byte): work that grows faster than its input",
                    meter::fuel_limit(carried),
                    meter::FUEL_BASE,
                    meter::FUEL_PER_BYTE
                ));
            }
            METERED_CALLS.fetch_add(1, Ordering::Relaxed);
            let milli = (fuel - meter::FUEL_BASE).max(0) * 1000 / carried.max(1) as i64;
            COSTLIEST_MILLI_FUEL_PER_BYTE.fetch_max(milli, Ordering::Relaxed);
        }
        let reply: Value =
            serde_json::from_slice(&reply).map_err(|e| format!("the reply is not JSON: {e}"))?;
        match reply["kind"].as_str() {
            Some("need_facts") => {
                let queries = reply["queries"]
                    .as_array()
                    .ok_or("need_facts without queries")?;
                if queries.is_empty() {
                    return Err("need_facts asks nothing".into());
                }
                for q in queries {
                    let name = q["name"].as_str().ok_or("a query without a name")?;
                    if answered.contains_key(name) {
                        return Err(format!("the core asked for {name} again"));
                    }
                    let answer = match case.facts.get(name) {
                        Some(a) if !rng.chance(8) => a.clone(),
                        _ => made_up_answer(rng),
                    };
                    answered.insert(name.to_owned(), answer);
                }
                handle["facts"] = Value::Object(answered.clone());
            }
            Some("decision") => return check_decision(&reply, case).map(|()| round),
            // A settings or input document the fuzzer made unreadable: the shim never sends
            // one (it builds them from typed structs).
            Some("error") if !case.settings.is_object() || case.input.is_some() => {
                return Ok(round)
            }
            other => return Err(format!("unexpected reply kind {other:?}: {reply}")),
        }
    }
    Err("the core still asked for facts after 8 rounds".into())
}

fn check_decision(reply: &Value, case: &Case) -> Result<(), String> {
    if reply["reply"].get("none").is_some() || reply["reply"].get("post").is_some() {
        return check_effects(reply);
    }
    if let Some(command) = reply["reply"].get("command") {
        // Mattermost's CommandResponse: an object the shim can decode, or none (the command
        // handed back to Mattermost).
        if !command["response"].is_object() && !command["response"].is_null() {
            return Err(format!("a command answered with {command}"));
        }
        return check_effects(reply);
    }
    let response = &reply["reply"]["http"];
    let status = response["status"]
        .as_u64()
        .ok_or("a decision without a status")?;
    if !(200..600).contains(&status) {
        return Err(format!("status {status}"));
    }
    let text = response["body"].as_str().ok_or("no body")?;
    // No body at all is an empty answer, and only to Mattermost's own request (an HTTP input
    // marked internal), which reads it as `{}`.
    let internal = case.input.is_none() && case.internal;
    if text.is_empty() && status == 200 && response["to_mattermost"] == true && internal {
        return check_effects(reply);
    }
    let body: Value =
        serde_json::from_str(text).map_err(|e| format!("the body is not JSON: {e}"))?;
    if !body.is_object() {
        return Err("the body is not a JSON object".into());
    }
    if status >= 400 {
        let words = body["ephemeral_text"]
            .as_str()
            .or_else(|| body["error"].as_str());
        if words.is_none_or(str::is_empty) {
            return Err(format!("a refusal without words for the person: {body}"));
        }
    }
    check_effects(reply)
}

fn check_effects(reply: &Value) -> Result<(), String> {
    for effect in reply["effects"].as_array().ok_or("no effects")? {
        if effect["type"] == "publish" {
            let data = effect["data"]
                .as_object()
                .ok_or("event data is not an object")?;
            if data.contains_key("user") {
                return Err("an event with a top-level `user` key".into());
            }
            let delivered =
                ["action", "dialog_submission"].contains(&effect["event"].as_str().unwrap_or(""));
            if delivered && !data.contains_key("proxy") {
                return Err("an event without `proxy`".into());
            }
        }
    }
    Ok(())
}

struct Options {
    inputs: u64,
    seconds: u64,
    seed: u64,
    threads: usize,
    /// One input in this many also runs through the metered wasm (0: never).
    metered_every: u64,
}

fn options() -> Options {
    let mut o = Options {
        inputs: 10_000_000,
        seconds: 900,
        seed: 0x5eed_f022,
        threads: std::thread::available_parallelism().map_or(2, usize::from),
        metered_every: METERED_EVERY,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--inputs" => o.inputs = value.parse().expect("--inputs N"),
            "--seconds" => o.seconds = value.parse().expect("--seconds S"),
            "--seed" => o.seed = value.parse().expect("--seed X"),
            "--threads" => o.threads = value.parse().expect("--threads T"),
            "--metered-every" => o.metered_every = value.parse().expect("--metered-every M"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn write_finding(case: &Case, what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("findings");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("finding-{}.json", std::process::id()));
    let doc = json!({
        "what": what,
        "input": case.input,
        "method": case.method,
        "path": case.path,
        "user_id": case.user_id,
        "settings": case.settings,
        "facts": case.facts,
        "body_text": String::from_utf8_lossy(&case.body),
    });
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    file
}

fn main() {
    let o = options();
    let seeds = Arc::new(load_seeds());
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/core.wasm");
    let metered = match o.metered_every {
        0 => None,
        _ => Some(Arc::new(meter::load(&wasm).unwrap_or_else(|e| {
            eprintln!("{e} (make wasm builds it; --metered-every 0 fuzzes natively only)");
            std::process::exit(2)
        }))),
    };
    let executed = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    // The core's panics are reported here, once, with their input.
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    println!(
        "fuzzing the core: {} seeds, {} threads, up to {} inputs or {} s, seed {:#x}",
        seeds.len(),
        o.threads,
        o.inputs,
        o.seconds,
        o.seed
    );
    let workers: Vec<_> = (0..o.threads)
        .map(|t| {
            let (seeds, executed, calls, failed) = (
                seeds.clone(),
                executed.clone(),
                calls.clone(),
                failed.clone(),
            );
            let (target, seed, every) = (o.inputs, o.seed, o.metered_every);
            let metered = metered.clone();
            std::thread::spawn(move || {
                let mut meter = metered
                    .as_ref()
                    .map(|m| meter::Meter::new(&m.0, &m.1).unwrap_or_else(|e| panic!("{e}")));
                let mut rng = Rng(seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(t as u64 + 1)) | 1);
                while !failed.load(Ordering::Relaxed) {
                    if executed.fetch_add(1, Ordering::Relaxed) >= target
                        || (executed.load(Ordering::Relaxed).is_multiple_of(4096)
                            && Instant::now() > deadline)
                    {
                        break;
                    }
                    let case = make_case(&mut rng, &seeds);
                    let mut answers = Rng(rng.next() | 1);
                    let n = executed.load(Ordering::Relaxed);
                    let through_wasm = every != 0 && n.is_multiple_of(every);
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run(&case, &mut answers, meter.as_mut().filter(|_| through_wasm))
                    }));
                    let what = match outcome {
                        Ok(Ok(rounds)) => {
                            calls.fetch_add(u64::from(rounds), Ordering::Relaxed);
                            continue;
                        }
                        Ok(Err(broken)) => broken,
                        Err(panic) => format!(
                            "panic: {}",
                            panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                                .unwrap_or_default()
                        ),
                    };
                    if !failed.swap(true, Ordering::Relaxed) {
                        let file = write_finding(&case, &what);
                        eprintln!("FINDING: {what}\n  input written to {}", file.display());
                    }
                }
            })
        })
        .collect();
    let reporter_done = Arc::new(AtomicBool::new(false));
    let reporter = {
        let (executed, done) = (executed.clone(), reporter_done.clone());
        std::thread::spawn(move || {
            let mut next = Duration::from_secs(30);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if start.elapsed() >= next {
                    next += Duration::from_secs(30);
                    println!(
                        "  {:>11} inputs after {:>4} s",
                        executed.load(Ordering::Relaxed),
                        start.elapsed().as_secs()
                    );
                }
            }
        })
    };
    for w in workers {
        w.join().expect("a fuzzing thread");
    }
    reporter_done.store(true, Ordering::Relaxed);
    reporter.join().unwrap();
    let n = executed.load(Ordering::Relaxed).min(o.inputs);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} inputs ({} core calls, {} of them also through the metered wasm: at most {:.1} fuel \
         a byte carried, against a bound of {} a byte) in {secs:.1} s: {:.0} inputs/s; {}",
        calls.load(Ordering::Relaxed),
        METERED_CALLS.load(Ordering::Relaxed),
        COSTLIEST_MILLI_FUEL_PER_BYTE.load(Ordering::Relaxed) as f64 / 1000.0,
        meter::FUEL_PER_BYTE,
        n as f64 / secs,
        if failed.load(Ordering::Relaxed) {
            "a finding (above)"
        } else {
            "no panic, no broken reply"
        }
    );
    if failed.load(Ordering::Relaxed) {
        std::process::exit(1);
    }
}

/// The directories of tests/fixtures, sorted.
fn fixture_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("the golden fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}
