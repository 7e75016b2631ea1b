//! `POST /api/v1/dialogs/<session>/lookup`, called by Mattermost when the person types in a
//! dynamic select the plugin bound to the session (SPEC §11). The query goes to the bot as
//! `dialog_lookup`; the `items` it acknowledges with are the options shown. A bot that is
//! offline, silent or not subscribed yields an empty list and a log line: a menu with nothing
//! in it, never an error in the middle of a form.

use super::session::{caller_and_fields, open_for, stored_session, SESSION_CACHE_MS};
use crate::delivery::answer::lookup_decision;
use crate::delivery::{self, Sender};
use crate::effect::{Decision, Effect, LogFields, LogLevel, Outcome};
use crate::event::{event_with_proxy, DialogLookup, DIALOG_LOOKUP};
use crate::facts::{present, Answer, Ask, Decides, Facts};
use crate::ids::{EventId, UserId};
use crate::input::{Context, Request};
use crate::refusal::{refuse, Notice, Refusal};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What a lookup needs to know.
#[derive(Debug, Default, Deserialize)]
struct LookupFacts<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    session: Option<Answer<Option<&'a RawValue>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    registry: Option<Answer<Option<&'a RawValue>>>,
    /// The bot's expansion request, asked with the registry but answered on its own (a node may
    /// have one cached and not the other); read by the delivery layer.
    #[serde(default, deserialize_with = "present")]
    expand: Option<Answer<IgnoredAny>>,
}

pub(crate) fn lookup(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Outcome {
    match decide(request, session_id, ctx, facts) {
        Ok(outcome) => outcome,
        Err(refusal) => Outcome::Decided(refuse(refusal, request.log_fields())),
    }
}

fn decide(
    request: &Request<'_>,
    session_id: &str,
    ctx: &Context,
    facts: Facts<'_>,
) -> Result<Outcome, Refusal> {
    let (caller, fields) = caller_and_fields(request, session_id)?;
    let mut values: Map<String, Value> = fields.get("submission", "an object")?.unwrap_or_default();
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let query = text(values.remove("query"));
    let selected_field = text(values.remove("selected_field"));

    let raw_facts = facts;
    let f: LookupFacts<'_> = facts.read()?;
    let Some(session) = &f.session else {
        let mut ask = Ask::default();
        ask.unless_cached_for(&f.session, "session", SESSION_CACHE_MS, || {
            stored_session(session_id)
        });
        return Ok(ask.into());
    };
    let (session, _) = open_for(session, &caller, ctx.now_ms)?;
    if !session.lookups.contains(&selected_field) {
        return Err(Refusal::BadField {
            field: "selected_field",
            expected: "a dynamic select of this dialog whose options the bot gives",
        });
    }
    let recipient = UserId::parse(&session.recipient).ok_or_else(|| Refusal::Internal {
        detail: "the session names no valid recipient".into(),
    })?;
    if f.registry.is_none() {
        let mut ask = Ask::default();
        delivery::ask_registry(&mut ask, &f.registry, &f.expand, &recipient);
        return Ok(ask.into());
    }
    // The other values go along as the bot defined the fields: nothing the dialog lacks.
    values.retain(|name, _| session.dialog.elements.iter().any(|e| e.name == *name));
    let data = event_with_proxy(
        &DialogLookup {
            callback_id: &session.dialog.callback_id,
            state: &session.dialog.state,
            selected_field: &selected_field,
            query: &query,
            submission: &values,
            user_id: caller.as_str(),
            channel_id: &session.channel_id,
            team_id: &session.team_id,
        },
        ctx,
    );
    let sender = LookupSender {
        session_id,
        internal: request.internal,
    };
    let outgoing = delivery::Outgoing {
        bot: &recipient,
        event: DIALOG_LOOKUP,
        data,
        event_id: EventId::from_entropy(ctx.entropy),
        from: &sender,
        before: Vec::new(),
        about: crate::expand::About {
            acting_user: caller.to_string(),
            channel_id: session.channel_id.clone(),
            team_id: session.team_id.clone(),
            ..Default::default()
        },
    };
    match delivery::deliver(outgoing, ctx, raw_facts)? {
        Some(outcome) => Ok(outcome),
        None => {
            let mut fields = LogFields::new();
            fields.insert("session_id", session_id.to_owned());
            fields.insert("bot_user_id", recipient.to_string());
            let log = Effect::Log {
                level: LogLevel::Warn,
                message: "a dynamic select asks a bot that never subscribed: its options stay empty (the bot must send custom_<id>_subscribe)".into(),
                fields,
            };
            Ok(Outcome::Decided(empty(vec![log])))
        }
    }
}

/// The person waits, typing, for the options.
struct LookupSender<'a> {
    session_id: &'a str,
    /// Mattermost made the request itself.
    internal: bool,
}

impl Sender for LookupSender<'_> {
    fn window_ms(&self, ctx: &Context) -> u32 {
        delivery::transient_window_ms(ctx)
    }

    fn kept(&self) -> bool {
        false
    }

    fn told(&self, notice: Notice, mut effects: Vec<Effect>) -> Decision {
        effects.push(delivery::transient_log(notice, "lookup", self.session_id));
        empty(effects)
    }

    fn decides(&self) -> Option<Decides> {
        Some(Decides::Lookup {
            internal: self.internal,
        })
    }

    fn answered(&self, answer: &RawValue, _: Facts<'_>) -> Result<Outcome, Refusal> {
        let decision = lookup_decision(answer).map_err(|reason| Refusal::Internal {
            detail: format!("the answer handed to the lookup is not one: {reason}"),
        })?;
        Ok(Outcome::Decided(decision))
    }
}

fn empty(effects: Vec<Effect>) -> Decision {
    Decision::http(effects, 200, r#"{"items":[]}"#.into())
}
