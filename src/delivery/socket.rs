//! What a connection sends the plugin (`custom_<id>_subscribe`, `_unsubscribe`, `_ack`), and
//! the end of a subscribed connection.
//!
//! Mattermost hands every `custom_`-prefixed websocket message to plugins with the connection's
//! id and its authenticated user, so a connection can only ever subscribe as the user it signed
//! in as; a message from a connection that has not authenticated (no user) is dropped.

use super::ack::{self, Status};
use super::events::{ACK_RESULT, ERROR, SUBSCRIBED, UNSUBSCRIBED};
use super::node::forget_everywhere;
use super::replay;
use super::store::{
    entry_key, keep_seconds, legacy_queue_key, queue_key, subscriptions_key, List, ListPushed,
    Pushed, Queued, Subscriber, Subscription, BOTS_KEY, MAX_CONNECTIONS,
};
use super::PROTOCOL;
use crate::effect::{Decision, Effect, LogLevel, Outcome};
use crate::facts::{present, Answer, Ask, Fact, Facts};
use crate::ids::UserId;
use crate::input::{Context, WebSocketMessage};
use crate::refusal::{presented, Refusal};
use serde::Deserialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Value};

/// What subscribing needs done and known.
#[derive(Debug, Default, Deserialize)]
struct SubscribeFacts<'a> {
    /// The connection was added to the bot's registry.
    #[serde(default, deserialize_with = "present")]
    added: Option<Answer<ListPushed>>,
    /// The bot is in the list of bots that subscribed.
    #[serde(default, deserialize_with = "present")]
    listed: Option<Answer<ListPushed>>,
    /// The subscription's expansions are the bot's.
    #[serde(default, deserialize_with = "present")]
    expand_saved: Option<Answer<bool>>,
    /// The bot's queue counter.
    #[serde(borrow, default, deserialize_with = "present")]
    queue: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's registry with this connection in it: a replayed event says why it comes
    /// again by whether the connection it went to is still there.
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's kept events as 1.0 kept them (one list), moved into the queue once.
    #[serde(borrow, default, deserialize_with = "present")]
    legacy: Option<Answer<Option<&'a RawValue>>>,
    /// The sequence numbers the 1.0 list's events were given.
    #[serde(default, deserialize_with = "present")]
    moved: Option<Answer<Pushed>>,
    /// Their entries are stored.
    #[serde(default, deserialize_with = "present")]
    entered: Option<Answer<bool>>,
    /// The queue counter, read again after the move.
    #[serde(borrow, default, deserialize_with = "present")]
    queue_now: Option<Answer<Option<&'a RawValue>>>,
}

/// What unsubscribing needs done.
#[derive(Debug, Default, Deserialize)]
struct UnsubscribeFacts {
    #[serde(default, deserialize_with = "present")]
    removed: Option<Answer<Value>>,
}

/// A websocket message for the plugin.
pub(crate) fn message(m: &WebSocketMessage<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    // Mattermost names the connection's user only once it authenticated.
    let Some(user) = UserId::parse(m.user_id) else {
        return Outcome::Decided(Decision::quiet(vec![Effect::Log {
            level: LogLevel::Debug,
            message: "a websocket message from a connection that is not signed in was dropped"
                .into(),
            fields: fields(m),
        }]));
    };
    let step = match m.action {
        "subscribe" => subscribe(m, &user, ctx, facts),
        "unsubscribe" => unsubscribe(m, &user, ctx, facts).map(|(ask, effects)| match ask {
            Some(ask) => Step::Ask(ask),
            None => {
                let mut effects = effects;
                effects.push(reply(
                    m,
                    &user,
                    UNSUBSCRIBED,
                    json!({"connection_id": m.connection_id}),
                ));
                Step::Done(effects)
            }
        }),
        "ack" => ack::read(m.data)
            .and_then(|a| Ok((ack::ack(&user, &a, ack::Origin::Bot, ctx, facts)?, a.result)))
            .map(|(step, result)| match step {
                ack::Step::Ask(ask) => Step::Ask(ask),
                ack::Step::NotHere => Step::Done(Vec::new()),
                ack::Step::Taken {
                    mut effects,
                    refusal,
                } => {
                    effects.extend(refused(m, &user, refusal));
                    Step::Done(effects)
                }
                ack::Step::Done {
                    event_id,
                    status,
                    mut effects,
                } => {
                    // Only when asked: Mattermost turns Nagle's algorithm on for websockets, and a
                    // small message after the ack holds the bot's next event back behind the bot's
                    // delayed TCP acknowledgement (about 40 ms; docs/BENCHMARKS.md). A refusal is
                    // always sent (`error`).
                    if result {
                        effects.push(reply(
                            m,
                            &user,
                            ACK_RESULT,
                            ack_result(event_id.as_str(), status),
                        ));
                    }
                    Step::Done(effects)
                }
            }),
        other => Err(Refusal::BadMessage {
            what: format!("the action {other:?} (subscribe, unsubscribe or ack)"),
        }),
    };
    match step {
        Ok(Step::Ask(ask)) => ask.into(),
        Ok(Step::Done(effects)) => Outcome::Decided(Decision::quiet(effects)),
        Err(refusal) => Outcome::Decided(Decision::quiet(refused(m, &user, refusal))),
    }
}

/// The end of a connection the core watched: it is no longer subscribed.
pub(crate) fn disconnected(
    connection_id: &str,
    user_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Outcome {
    let Some(user) = UserId::parse(user_id) else {
        return Outcome::Decided(Decision::quiet(Vec::new()));
    };
    let m = WebSocketMessage {
        connection_id,
        user_id,
        action: "disconnect",
        seq: 0,
        data: "{}",
    };
    match unsubscribe(&m, &user, ctx, facts) {
        Ok((Some(ask), _)) => ask.into(),
        Ok((None, effects)) => Outcome::Decided(Decision::quiet(effects)),
        Err(refusal) => Outcome::Decided(Decision::quiet(vec![log_refusal(
            &m,
            presented(refusal).reason,
        )])),
    }
}

/// Where one call leaves a message.
enum Step {
    Ask(Ask),
    Done(Vec<Effect>),
}

#[derive(Deserialize)]
struct SubscribeBody {
    #[serde(default)]
    protocol: Option<Value>,
    /// What every event should carry expanded (SPEC §13); nothing when absent.
    #[serde(default)]
    expand: Option<Value>,
}

/// `subscribe`: the connection joins the bot's registry, is told so, and receives every kept
/// event in order.
fn subscribe(
    m: &WebSocketMessage<'_>,
    user: &UserId,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Step, Refusal> {
    let body: SubscribeBody = serde_json::from_str(m.data).map_err(|_| Refusal::BadMessage {
        what: "a subscription whose data is not an object".into(),
    })?;
    if body.protocol.as_ref().and_then(Value::as_u64) != Some(PROTOCOL) {
        return Err(Refusal::BadMessage {
            what: format!(
                "protocol {} (this plugin speaks protocol {PROTOCOL})",
                body.protocol.unwrap_or(Value::Null)
            ),
        });
    }
    let expand = match &body.expand {
        None | Some(Value::Null) => crate::expand::Request::default(),
        Some(value) => crate::expand::Request::parse(value).map_err(|e| Refusal::BadMessage {
            what: format!("this expand request ({e})"),
        })?,
    };
    let f: SubscribeFacts<'_> = facts.read()?;
    let keep_s = keep_seconds(&ctx.settings);
    // Into the registry first, then the queue is read: a click that found no connection and
    // queued its event meanwhile reads the registry again after queueing, so that one of the
    // two sees the other (SPEC §9.6: nothing kept is left behind by a subscription).
    let (Some(added), Some(listed), Some(expand_saved)) = (&f.added, &f.listed, &f.expand_saved)
    else {
        let subscription = Subscription {
            connection_id: m.connection_id.to_owned(),
            node: ctx.node,
            since: ctx.now_ms,
        };
        let subscriber = Subscriber {
            user_id: user.clone(),
            at: ctx.now_ms,
        };
        let mut ask = Ask::default();
        ask.unless(&f.added, "added", || Fact::ListPush {
            key: subscriptions_key(user),
            item: to_raw_value(&subscription).expect("a subscription serializes"),
            unique: Some("connection_id"),
            cap: MAX_CONNECTIONS,
            expire_in_seconds: keep_s,
        })
        .unless(&f.listed, "listed", || Fact::ListPush {
            key: BOTS_KEY.to_owned(),
            item: to_raw_value(&subscriber).expect("a subscriber serializes"),
            unique: Some("user_id"),
            cap: 100_000,
            expire_in_seconds: keep_s,
        })
        // The latest subscription's request is the bot's: every connection, and the events
        // kept while none is there, are expanded alike.
        .unless(&f.expand_saved, "expand_saved", || Fact::KvSet {
            key: crate::expand::request_key(user),
            value: to_raw_value(&expand).expect("a request serializes"),
            expire_in_seconds: keep_s,
        });
        return Ok(Step::Ask(ask));
    };
    let failed = [added, listed].into_iter().find_map(|a| match a {
        Answer::Failed(e) => Some(e),
        Answer::Found(_) => None,
    });
    let failed = failed.or(match expand_saved {
        Answer::Failed(e) => Some(e),
        Answer::Found(_) => None,
    });
    if let Some(e) = failed {
        return Err(Refusal::NotStored {
            what: "subscription",
            detail: e.to_string(),
        });
    }
    let (Some(queue), Some(legacy), Some(registry)) = (&f.queue, &f.legacy, &f.registry) else {
        let mut ask = Ask::default();
        ask.unless(&f.queue, "queue", || Fact::KvGet {
            key: queue_key(user),
        })
        .unless(&f.registry, "registry", || Fact::KvGet {
            key: subscriptions_key(user),
        })
        .unless(&f.legacy, "legacy", || Fact::KvGet {
            key: legacy_queue_key(user),
        });
        return Ok(Step::Ask(ask));
    };
    let mut effects = Vec::new();
    let (queue, legacy_moved) = match moved_legacy(user, legacy, ctx, &f)? {
        Moving::Ask(ask) => return Ok(Step::Ask(ask)),
        Moving::Nothing => (queue, false),
        Moving::Done(more) => {
            effects.extend(more);
            let Some(now) = &f.queue_now else {
                let key = queue_key(user);
                return Ok(Step::Ask(Ask::one("queue_now", Fact::KvGet { key })));
            };
            (now, true)
        }
    };
    let range = replay::read_range(queue)?;
    let raw_range = match queue {
        Answer::Found(raw) => *raw,
        Answer::Failed(_) => None,
    };
    // The registry as it is now (this connection was just added).
    let registry: Vec<Subscription> = match registry {
        Answer::Found(Some(raw)) => serde_json::from_str::<List<Subscription>>(raw.get())
            .map(|l| l.items)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let replay = replay::Replay {
        bot: user,
        connection_id: m.connection_id,
        from: range.first,
        range: &range,
        raw_range: raw_range.filter(|_| !legacy_moved),
        registry: &registry,
    };
    let batch = match replay::batch(&replay, ctx, facts) {
        Ok(batch) => batch,
        Err(ask) => return Ok(Step::Ask(ask)),
    };

    effects.push(Effect::Watch {
        connection_id: m.connection_id.to_owned(),
    });
    effects.extend(registry_changed(user, ctx));
    effects.extend(forget_everywhere(crate::expand::request_key(user), ctx));
    // Beyond the first batch the queue's span is the count: some of those may turn out to be
    // answered meanwhile, and are skipped.
    let (first_span, _) = replay::span(&range, range.first);
    let kept = batch.sent as u64 + range.next.saturating_sub(first_span.end);
    effects.push(reply(
        m,
        user,
        SUBSCRIBED,
        json!({
            "connection_id": m.connection_id,
            "answer_window_ms": ctx.settings.answer_window_ms,
            "kept": kept,
            "expand": expand,
        }),
    ));
    effects.extend(batch.effects);
    Ok(Step::Done(effects))
}

/// Where moving a bot's 1.0 list of kept events into its queue stands.
enum Moving {
    /// Facts still needed.
    Ask(Ask),
    /// There was nothing to move.
    Nothing,
    /// Moved: the list is deleted (the effects), and the queue is to be read again.
    Done(Vec<Effect>),
}

/// Moves what a bot's 1.0 list (`q_<bot>`) still holds into its queue, once, oldest first:
/// their sequence numbers in one push, their entries, then the list deleted. Their records
/// are as they were (an acknowledgement of one leaves its entry to expire; replays skip it).
fn moved_legacy(
    bot: &UserId,
    legacy: &Answer<Option<&RawValue>>,
    ctx: &Context,
    f: &SubscribeFacts<'_>,
) -> Result<Moving, Refusal> {
    let items: Vec<Queued> = match legacy {
        Answer::Found(Some(raw)) => serde_json::from_str::<List<Queued>>(raw.get())
            .map(|l| l.items)
            .unwrap_or_default(),
        Answer::Found(None) => return Ok(Moving::Nothing),
        Answer::Failed(e) => return Err(crate::refusal::unavailable("bot's kept events", e)),
    };
    let keep_s = keep_seconds(&ctx.settings);
    let delete = vec![Effect::Delete {
        key: legacy_queue_key(bot),
    }];
    if items.is_empty() {
        return Ok(Moving::Done(delete));
    }
    let Some(moved) = &f.moved else {
        let push = Fact::QueuePush {
            key: queue_key(bot),
            cap: ctx.settings.kept_per_bot,
            count: u32::try_from(items.len()).unwrap_or(u32::MAX),
            expire_in_seconds: keep_s,
        };
        return Ok(Moving::Ask(Ask::one("moved", push)));
    };
    let moved = match moved {
        Answer::Found(p) => *p,
        Answer::Failed(e) => return Err(crate::refusal::unavailable("bot's kept events", e)),
    };
    let Some(entered) = &f.entered else {
        let entries = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                // A counter never nears u64::MAX; a corrupt answer must not panic the core.
                let key = entry_key(bot, moved.seq.wrapping_add(i as u64));
                (key, to_raw_value(item).expect("a queue entry serializes"))
            })
            .collect();
        let set = Fact::KvSetMany {
            entries,
            expire_in_seconds: keep_s,
        };
        return Ok(Moving::Ask(Ask::one("entered", set)));
    };
    if let Answer::Failed(e) = entered {
        return Err(Refusal::NotStored {
            what: "bot's kept events",
            detail: e.to_string(),
        });
    }
    Ok(Moving::Done(delete))
}

/// `unsubscribe` and the end of a connection: out of the registry.
fn unsubscribe(
    m: &WebSocketMessage<'_>,
    user: &UserId,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<(Option<Ask>, Vec<Effect>), Refusal> {
    let f: UnsubscribeFacts = facts.read()?;
    let Some(removed) = &f.removed else {
        let ask = Ask::one(
            "removed",
            Fact::ListRemove {
                key: subscriptions_key(user),
                field: "connection_id",
                value: m.connection_id.to_owned(),
                expire_in_seconds: keep_seconds(&ctx.settings),
            },
        );
        return Ok((Some(ask), Vec::new()));
    };
    if let Answer::Failed(e) = removed {
        return Err(crate::refusal::unavailable("bot's subscriptions", e));
    }
    let mut effects = vec![Effect::Unwatch {
        connection_id: m.connection_id.to_owned(),
    }];
    effects.extend(registry_changed(user, ctx));
    Ok((None, effects))
}

/// A bot's registry changed: every node forgets its copy.
fn registry_changed(user: &UserId, ctx: &Context) -> Vec<Effect> {
    forget_everywhere(subscriptions_key(user), ctx)
}

/// What the plugin answers an acknowledgement with, on the websocket and over REST.
pub(crate) fn ack_result(event_id: &str, status: Status) -> Value {
    json!({"event_id": event_id, "status": status})
}

fn reply(m: &WebSocketMessage<'_>, user: &UserId, event: &'static str, data: Value) -> Effect {
    Effect::publish_to(
        event,
        user.clone(),
        m.connection_id,
        to_raw_value(&data).expect("a reply serializes"),
    )
}

/// A refused message: the connection is told why (`custom_<id>_error`), the log says so.
fn refused(m: &WebSocketMessage<'_>, user: &UserId, refusal: Refusal) -> Vec<Effect> {
    let p = presented(refusal);
    let mut data = json!({"action": crate::refusal::echo(m.action), "seq": m.seq, "error": {"code": p.code, "message": p.reason}});
    if m.action == "ack" {
        if let Ok(a) = ack::read(m.data) {
            data["event_id"] = Value::from(a.event_id.as_str());
        }
    }
    vec![log_refusal(m, p.reason), reply(m, user, ERROR, data)]
}

fn log_refusal(m: &WebSocketMessage<'_>, reason: String) -> Effect {
    let mut fields = fields(m);
    fields.insert("reason", reason);
    Effect::Log {
        level: LogLevel::Info,
        message: "websocket message refused".into(),
        fields,
    }
}

fn fields(m: &WebSocketMessage<'_>) -> crate::effect::LogFields {
    let mut f = crate::effect::LogFields::new();
    f.insert("connection_id", m.connection_id.to_owned());
    f.insert("user_id", m.user_id.to_owned());
    f.insert("action", crate::refusal::echo(m.action));
    f
}
