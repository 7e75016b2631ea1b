//! This node's part in the cluster: its heartbeat (its connections count as live while it is
//! fresh), the messages other nodes send it, and what it does when it starts.

use super::events::RESUBSCRIBE;
use super::store::{node_key, Heartbeat, List, Subscriber, BOTS_KEY};
use super::{replay, HEARTBEAT_S, HEARTBEAT_TIMER};

/// The timer that sends the resubscribe hint once the plugin is running.
pub(crate) const RESUBSCRIBE_TIMER: &str = "resubscribe";

/// How long after activation the hint goes out.
const RESUBSCRIBE_AFTER_MS: u64 = 1_000;
use super::ack;
use crate::effect::{Decision, Effect, LogLevel, Outcome};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::{Id, NodeId, UserId};
use crate::input::Context;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};

/// What the resubscribe hint needs to know.
#[derive(Debug, Default, Deserialize)]
struct HintFacts<'a> {
    /// Every bot that subscribed.
    #[serde(borrow, default, deserialize_with = "present")]
    bots: Option<Answer<Option<&'a RawValue>>>,
}

/// `OnActivate`: beat, and soon ask every bot that had subscribed to subscribe again, since its
/// connections were held by a plugin process that is gone. Soon, not now: Mattermost hands
/// websocket messages to a plugin only once its activation is over, and a bot answers the hint
/// at once.
pub(crate) fn activation(ctx: &Context) -> Vec<Effect> {
    let mut effects = beat(ctx);
    effects.push(Effect::WakeAt {
        name: RESUBSCRIBE_TIMER.into(),
        at_ms: ctx.now_ms + RESUBSCRIBE_AFTER_MS,
    });
    effects
}

/// A timer is due.
pub(crate) fn timer(name: &str, ctx: &Context, facts: Facts<'_>) -> Outcome {
    if let Some(rest) = name.strip_prefix(replay::TIMER_PREFIX) {
        return match replay::Cursor::parse(rest) {
            Some(cursor) => replay::timer(&cursor, ctx, facts),
            None => Outcome::Decided(Decision::quiet(vec![log_error(
                "an unreadable replay timer",
                rest,
            )])),
        };
    }
    let effects = match name {
        HEARTBEAT_TIMER => beat(ctx),
        RESUBSCRIBE_TIMER => return hint(facts),
        other => vec![log_error("an unknown timer", other)],
    };
    Outcome::Decided(Decision::quiet(effects))
}

/// The resubscribe hint, to every bot that subscribed.
fn hint(facts: Facts<'_>) -> Outcome {
    let f: HintFacts<'_> = match facts.read() {
        Ok(f) => f,
        Err(e) => {
            return Outcome::Decided(Decision::quiet(vec![log_error("reading the facts", &e.0)]))
        }
    };
    let Some(bots) = &f.bots else {
        let key = BOTS_KEY.into();
        return Ask::one("bots", Fact::KvGet { key }).into();
    };
    let effects = match bots {
        Answer::Found(Some(raw)) => {
            let list: List<Subscriber> =
                serde_json::from_str(raw.get()).unwrap_or(List { items: Vec::new() });
            let hint = to_raw_value(&json!({"reason": "the plugin started"})).expect("JSON");
            list.items
                .into_iter()
                .map(|s| Effect::publish(RESUBSCRIBE, s.user_id, hint.clone()))
                .collect()
        }
        Answer::Found(None) => Vec::new(),
        Answer::Failed(e) => vec![log_error("listing the bots that subscribed", &e.message)],
    };
    Outcome::Decided(Decision::quiet(effects))
}

/// Stores the heartbeat and sets the timer for the next one.
fn beat(ctx: &Context) -> Vec<Effect> {
    vec![
        Effect::Store {
            key: node_key(&ctx.node),
            value: to_raw_value(&Heartbeat { at: ctx.now_ms }).expect("a heartbeat serializes"),
            expire_in_seconds: HEARTBEAT_S,
        },
        Effect::WakeAt {
            name: HEARTBEAT_TIMER.into(),
            at_ms: ctx.now_ms.saturating_add(HEARTBEAT_S * 1000 / 3),
        },
    ]
}

/// What another node sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Message<'a> {
    /// A bot's registry changed: forget the cached copy.
    Forget { key: String },
    /// A bot's acknowledgement of an event that may wait here (`ack.rs`: relayed).
    RelayAck {
        event_id: String,
        sender: String,
        #[serde(borrow, default)]
        answer: Option<&'a RawValue>,
        /// The node that relayed it, and the id it awaits the result under.
        from: NodeId,
        reply: String,
    },
    /// What became of an acknowledgement this node relayed.
    RelayResult {
        to: NodeId,
        reply: String,
        #[serde(borrow)]
        result: &'a RawValue,
    },
}

/// Every node forgets its copy of the document under `key`: this one at once, the others by a
/// [`Message::Forget`].
pub(crate) fn forget_everywhere(key: String, ctx: &Context) -> Vec<Effect> {
    let message = to_other_nodes(&json!({"forget": {"key": key}}), ctx);
    let mut effects = vec![Effect::Forget {
        fact: Fact::KvGet { key },
    }];
    effects.extend(message);
    effects
}

/// `message` for the other nodes of a cluster; none on a single server, where it would reach
/// no one and still cost a round trip to Mattermost.
pub(crate) fn to_other_nodes(message: &impl serde::Serialize, ctx: &Context) -> Option<Effect> {
    ctx.settings.clustered.then(|| Effect::Cluster {
        message: to_raw_value(message).expect("a message serializes"),
    })
}

/// A message from another node.
pub(crate) fn cluster(message: &str, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let quiet = |effects| Outcome::Decided(Decision::quiet(effects));
    let effects = match serde_json::from_str::<Message<'_>>(message) {
        Ok(Message::Forget { key }) => vec![Effect::Forget {
            fact: Fact::KvGet { key },
        }],
        Ok(Message::RelayAck {
            event_id,
            sender,
            answer,
            from,
            reply,
        }) => return relayed_ack(&event_id, &sender, answer, from, &reply, ctx, facts),
        // Every node hears it; the one that relayed takes it.
        Ok(Message::RelayResult { to, reply, result }) if to == ctx.node => {
            vec![Effect::Wake {
                event_id: reply,
                answer: result.to_owned(),
            }]
        }
        Ok(Message::RelayResult { .. }) => Vec::new(),
        Err(e) => vec![log_error(
            "reading a message from another node",
            &e.to_string(),
        )],
    };
    quiet(effects)
}

/// An acknowledgement another node relayed: taken here if the event waits here, and its
/// result sent back; nothing at all otherwise (the node where it waits answers).
fn relayed_ack(
    event_id: &str,
    sender: &str,
    answer: Option<&RawValue>,
    from: NodeId,
    reply: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Outcome {
    let (Some(sender), Some(event_id)) = (UserId::parse(sender), Id::parse(event_id)) else {
        return Outcome::Decided(Decision::quiet(vec![log_error(
            "reading a relayed acknowledgement",
            "not ids",
        )]));
    };
    let acknowledgement = ack::Acknowledgement {
        event_id,
        answer: answer.filter(|a| a.get() != "null"),
        result: false,
    };
    let step = ack::ack(&sender, &acknowledgement, ack::Origin::Relayed, ctx, facts);
    let result = ack::relayed(&step);
    let mut effects = match step {
        Ok(ack::Step::Ask(ask)) => return ask.into(),
        Ok(ack::Step::Done { effects, .. } | ack::Step::Taken { effects, .. }) => effects,
        Ok(ack::Step::NotHere) | Err(_) => Vec::new(),
    };
    if let Some(result) = result {
        let message = json!({"relay_result": {"to": from, "reply": reply, "result": result}});
        effects.push(Effect::Cluster {
            message: to_raw_value(&message).expect("a relay result serializes"),
        });
    }
    Outcome::Decided(Decision::quiet(effects))
}

fn log_error(what: &str, detail: &str) -> Effect {
    let mut fields = crate::effect::LogFields::new();
    fields.insert("what", what.to_owned());
    fields.insert("error", detail.to_owned());
    Effect::Log {
        level: LogLevel::Error,
        message: "the delivery layer could not do its part".into(),
        fields,
    }
}
