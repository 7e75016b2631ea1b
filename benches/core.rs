//! The core's own cost per click, natively (the wasm path is measured by `go test -bench`).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use socket_mode_core::wire::envelope::handle_call;
use socket_mode_core::{handle, Body, Context, Facts, Input, Outcome, Request, Settings};

const BOT: &str = "botbotbotbotbotbotbotbot01";
const USER: &str = "useruseruseruseruseruser01";
const POST: &str = "postpostpostpostpostpost01";
const CHANNEL: &str = "chanchanchanchanchanchan01";
/// A trigger id of Mattermost's shape (about 200 characters), issued to USER.
const TRIGGER: &str = "dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0MDE6dXNlcnVzZXJ1c2VydXNlcnVzZXJ1c2VyMDE6MTcwMDAwMDAwMDAwMDplSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhnPQ==";

/// A realistic click of about 1 KiB and the facts that verify it.
fn click() -> (String, String) {
    let context = format!(
        r#"{{"user_id":"{BOT}","action":"approve","ticket":{{"id":12345,"title":"Rotate the signing keys — quarterly","tags":["security","ops","ünïcödé"],"due":null,"urgent":true,"score":0.75}},"requested_by":"alice","notes":"{}"}}"#,
        "x".repeat(420)
    );
    let body = format!(
        r#"{{"user_id":"{USER}","user_name":"alice","channel_id":"{CHANNEL}","channel_name":"town-square","team_id":"teamteamteamteamteamteam01","team_domain":"acme","post_id":"{POST}","trigger_id":"{TRIGGER}","type":"button","data_source":"","context":{context}}}"#,
    );
    let post = format!(
        r#"{{"id":"{POST}","user_id":"{BOT}","channel_id":"{CHANNEL}","message":"","props":{{"attachments":[{{"text":"Approve?","actions":[{{"id":"approve","name":"Approve","type":"button","integration":{{"url":"/plugins/{}/api/v1/handler","context":{context}}}}},{{"id":"reject","name":"Reject","type":"button","integration":{{"url":"/plugins/{}/api/v1/handler","context":{{"user_id":"{BOT}","action":"reject"}}}}}}]}}]}}}}"#,
        socket_mode_core::PLUGIN_ID,
        socket_mode_core::PLUGIN_ID
    );
    let facts = format!(
        r#"{{"post":{{"found":{post}}},"can_read":{{"found":true}},"channel":{{"found":{{"id":"{CHANNEL}","team_id":"teamteamteamteamteamteam01","name":"town-square","delete_at":0}}}},"team":{{"found":{{"id":"teamteamteamteamteamteam01","name":"acme"}}}},"clicker":{{"found":{{"id":"{USER}","username":"alice","delete_at":0}}}},"recipient":{{"found":{{"id":"{BOT}","username":"bot","delete_at":0,"is_bot":true}}}},"registry":{{"found":null}}}}"#
    );
    (body, facts)
}

fn bench(c: &mut Criterion) {
    let (body, facts) = click();
    let ctx = Context {
        now_ms: 1_700_000_000_000,
        entropy: [7; 16],
        settings: Settings::default(),
        node: socket_mode_core::Id::from_entropy([9; 16]),
    };
    let input = Input::Http(Request {
        method: "POST",
        path: "/api/v1/handler",
        user_id: Some(USER),
        body: Body::Complete(body.as_bytes()),
    });
    let answers = Facts::json(&facts);
    assert!(
        matches!(handle(&input, &ctx, answers), Outcome::Decided(d) if d.response().status == 200)
    );

    c.bench_function("click: plan + decide (typed)", |b| {
        b.iter(|| {
            let plan = handle(black_box(&input), &ctx, Facts::none());
            let decision = handle(black_box(&input), &ctx, answers);
            (plan, decision)
        })
    });

    let settings = r#"{"verify_provenance":true,"allow_unverified_ephemeral":false}"#;
    let head = format!(
        r#"{{"handle":{{"input":{{"http":{{"method":"POST","path":"/api/v1/handler","user_id":"{USER}"}}}},"now_ms":1700000000000,"entropy":"000102030405060708090a0b0c0d0e0f","node":"nodenodenodenodenodenode01","settings":{settings}"#
    );
    let plan_input = format!("{head}}}}}");
    let decide_input = format!(r#"{head},"facts":{facts}}}}}"#);
    c.bench_function(
        "click: plan + decide (wire form, as the shim calls it)",
        |b| {
            b.iter(|| {
                let plan = handle_call(black_box(plan_input.as_bytes()), body.as_bytes());
                let decision = handle_call(black_box(decide_input.as_bytes()), body.as_bytes());
                (plan, decision)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
