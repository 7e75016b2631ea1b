//! The one entry point: every input goes to the module that owns it.

use crate::command::manage;
use crate::delivery::{self, ack, status};
use crate::effect::{Decision, Effect, Outcome};
use crate::facts::{Fact, Facts};
use crate::input::{Context, Input, Request};
use crate::paths::{
    command_trigger, dialog_session, SessionPath, ACK_PATH, ACTION_PATH, ADMIN_SIGNING_KEY_PATH,
    ADMIN_STATUS_PATH, COMMANDS_PATH, DIALOG_OPEN_PATH, EPHEMERAL_PATH, LINT_PATH, STATUS_PATH,
};
use crate::refusal::{refuse, Refusal};
use crate::{action, body, command, dialog, ephemeral, lint};

/// Handles one input. Call it first with [`Facts::none`]; while it answers
/// [`Outcome::NeedFacts`], gather the answers to the queries it lists and call again with
/// every answer so far.
pub fn handle(input: &Input<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    match input {
        Input::Http(request) => http(request, ctx, facts),
        // A deactivated account must not be served from the cache: its clicks are refused at
        // once, not after the cache expires.
        Input::UserDeactivated { user_id } => {
            Outcome::Decided(Decision::quiet(vec![Effect::Forget {
                fact: Fact::User {
                    user_id: (*user_id).to_owned(),
                },
            }]))
        }
        Input::WebSocket(message) => delivery::socket::message(message, ctx, facts),
        Input::Disconnected {
            connection_id,
            user_id,
        } => delivery::socket::disconnected(connection_id, user_id, ctx, facts),
        Input::Timer { name } => delivery::node::timer(name, ctx, facts),
        Input::Cluster { message } => cluster(message, ctx, facts),
        Input::Activated => activated(ctx, facts),
        Input::Command { args } => command::execute::execute(args, ctx, facts),
        Input::PostWillBeSaved { post, .. } => crate::sign::post_will_be_saved(post, ctx, facts),
        Input::PostSaved { post, edited } => crate::sign::post_saved(post, *edited, ctx),
        Input::PostDeleted { post_id } => crate::sign::post_deleted(post_id, ctx),
    }
}

/// The endpoints the plugin serves.
enum Endpoint<'a> {
    Action,
    DialogOpen,
    DialogSubmit(&'a str),
    DialogLookup(&'a str),
    Lint,
    Ack,
    Status,
    AdminStatus,
    RotateSigningKey,
    Commands,
    Command(&'a str),
    Ephemeral,
}

impl Endpoint<'_> {
    /// The methods the endpoint takes, as the refusal names them.
    fn methods(&self) -> &'static str {
        match self {
            Endpoint::Status | Endpoint::AdminStatus => "GET",
            Endpoint::Commands => "GET or POST",
            Endpoint::Command(_) => "DELETE",
            _ => "POST",
        }
    }
}

fn route(path: &str) -> Option<Endpoint<'_>> {
    match path {
        ACTION_PATH => Some(Endpoint::Action),
        DIALOG_OPEN_PATH => Some(Endpoint::DialogOpen),
        LINT_PATH => Some(Endpoint::Lint),
        ACK_PATH => Some(Endpoint::Ack),
        STATUS_PATH => Some(Endpoint::Status),
        ADMIN_STATUS_PATH => Some(Endpoint::AdminStatus),
        ADMIN_SIGNING_KEY_PATH => Some(Endpoint::RotateSigningKey),
        COMMANDS_PATH => Some(Endpoint::Commands),
        EPHEMERAL_PATH => Some(Endpoint::Ephemeral),
        _ if command_trigger(path).is_some() => command_trigger(path).map(Endpoint::Command),
        _ => dialog_session(path).map(|(session, asks)| match asks {
            SessionPath::Submit => Endpoint::DialogSubmit(session),
            SessionPath::Lookup => Endpoint::DialogLookup(session),
        }),
    }
}

fn http(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let Some(endpoint) = route(request.path) else {
        let refusal = Refusal::NoRoute {
            path: request.path.to_owned(),
        };
        return Outcome::Decided(refuse(refusal, request.log_fields()));
    };
    if !endpoint
        .methods()
        .split(" or ")
        .any(|m| m == request.method)
    {
        let refusal = Refusal::MethodNotAllowed {
            method: request.method.to_owned(),
            allowed: endpoint.methods(),
        };
        return Outcome::Decided(refuse(refusal, request.log_fields()));
    }
    let answered = |step: Result<status::Step, Refusal>| match step {
        Ok(status::Step::Ask(ask)) => ask.into(),
        Ok(status::Step::Done(decision)) => Outcome::Decided(decision),
        Err(refusal) => Outcome::Decided(refuse(refusal, request.log_fields())),
    };
    match endpoint {
        Endpoint::Action => to_mattermost(request, action::handle(request, ctx, facts)),
        Endpoint::DialogOpen => dialog::open(request, ctx, facts),
        Endpoint::DialogSubmit(session) => {
            to_mattermost(request, dialog::submit(request, session, ctx, facts))
        }
        Endpoint::DialogLookup(session) => {
            to_mattermost(request, dialog::lookup(request, session, ctx, facts))
        }
        Endpoint::Lint => Outcome::Decided(lint::handle(request)),
        Endpoint::Ephemeral => ephemeral::send(request, ctx, facts),
        Endpoint::Ack => ack_over_rest(request, ctx, facts),
        Endpoint::Status => answered(status::own(request, ctx, facts)),
        Endpoint::AdminStatus => answered(status::admin(request, ctx, facts)),
        Endpoint::RotateSigningKey => crate::sign::rotate(request, ctx, facts)
            .unwrap_or_else(|refusal| Outcome::Decided(refuse(refusal, request.log_fields()))),
        Endpoint::Commands | Endpoint::Command(_) => {
            let step = match (endpoint, request.method) {
                (Endpoint::Command(trigger), _) => manage::delete(request, trigger, facts),
                (_, "GET") => manage::list(request, facts),
                _ => manage::register(request, ctx, facts),
            };
            match step {
                Ok(manage::Step::Ask(ask)) => ask.into(),
                Ok(manage::Step::Done(decision)) => Outcome::Decided(decision),
                Err(refusal) => Outcome::Decided(refuse(refusal, request.log_fields())),
            }
        }
    }
}

/// Marks the response to a request that Mattermost itself makes (the URLs of the plugin's buttons,
/// dialogs and dynamic selects): Mattermost reads its body whatever its headers.
///
/// When Mattermost itself made the request (`internal`), an answer with nothing in it (`{}`: a
/// click delivered, a submission taken) is written as no body at all. Mattermost reads no body
/// as `{}` (`DoPostActionWithCookie` decodes a body only when there is one;
/// `SubmitInteractiveDialog` takes an empty one), and each `Write` of a plugin's response is a
/// round trip to the server, on every click. Anyone posting to the URL directly gets the `{}`
/// of SPEC §4.6.
fn to_mattermost(request: &Request<'_>, outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Decided(decision) => Outcome::Decided(decision.for_mattermost(request.internal)),
        asking => asking,
    }
}

/// Activation's read of the signing key, as stored now.
#[derive(Debug, Default, serde::Deserialize)]
struct StoredKey<'a> {
    #[serde(borrow, default, deserialize_with = "crate::facts::present")]
    stored_key: Option<crate::facts::Answer<Option<&'a serde_json::value::RawValue>>>,
}

/// `OnActivate`: this node's part in delivery, and every registered command registered again
/// with this Mattermost process (which forgot them when the plugin stopped).
///
/// The signing key is made here if there is none yet, so that it exists before the first signed
/// message of any kind (a slash command's ephemeral answer cannot make it: that call's entropy
/// is its event's id), and nothing made from this call's entropy is shown to anyone.
fn activated(ctx: &Context, facts: Facts<'_>) -> Outcome {
    let mut ask = crate::facts::Ask::default();
    // Read afresh, not kept: a node keeps only a key it made (or the hooks read). So it is read
    // under a name of its own, never `keyring`, which a node attaches from its cache unasked (a
    // standing fact). Answers that cannot be read (never from the shim) leave the key alone:
    // asking again would ask twice.
    let key = match (
        facts.read::<StoredKey<'_>>(),
        facts.read::<crate::sign::SignFacts<'_>>(),
    ) {
        (Ok(stored), _) if stored.stored_key.is_none() => Err(Some(crate::facts::Ask::one(
            "stored_key",
            Fact::KvGet {
                key: crate::sign::KEYRING_KEY.into(),
            },
        ))),
        (Ok(stored), Ok(sign)) => crate::sign::keyring(
            &crate::sign::SignFacts {
                keyring: stored.stored_key,
                ..sign
            },
            ctx,
        ),
        _ => Err(None),
    };
    let key = match key {
        Err(Some(more)) => {
            ask.extend(more);
            None
        }
        key => Some(key),
    };
    let restored = command::manage::restore(facts);
    let commands = match restored {
        Ok(commands) => commands,
        Err(more) => {
            ask.extend(more);
            Vec::new()
        }
    };
    if !ask.is_empty() {
        return ask.into();
    }
    let mut effects = delivery::node::activation(ctx);
    effects.extend(commands);
    match key.expect("no key is still asked for") {
        Ok((_, made)) => effects.extend(made),
        // Posts are then signed once a key can be stored; until then their clicks get the full
        // check, and ephemeral buttons are refused.
        Err(_) => effects.push(Effect::Log {
            level: crate::effect::LogLevel::Warn,
            message: "the signing key could not be read or stored: buttons are not signed yet"
                .into(),
            fields: crate::effect::LogFields::new(),
        }),
    }
    Outcome::Decided(Decision::quiet(effects))
}

/// A message from another node: a command added or removed there, a post changed there, or the
/// delivery layer's.
fn cluster(message: &str, ctx: &Context, facts: Facts<'_>) -> Outcome {
    #[derive(serde::Deserialize)]
    struct CommandMessage {
        command: command::Change,
    }
    if let Ok(m) = serde_json::from_str::<CommandMessage>(message) {
        return m.command.apply(facts);
    }
    if let Some(outcome) = crate::sign::post_changed_elsewhere(message) {
        return outcome;
    }
    delivery::node::cluster(message, ctx, facts)
}

/// `POST /api/v1/ack`: an acknowledgement with the bot's token, answered with what became of it.
fn ack_over_rest(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let step = request
        .caller()
        .and_then(|caller| Ok((caller, body::text(request)?)))
        .and_then(|(caller, text)| {
            ack::ack(&caller, &ack::read(text)?, ack::Origin::Bot, ctx, facts)
        });
    match step {
        Ok(ack::Step::Ask(ask)) => ask.into(),
        Ok(ack::Step::NotHere) => Outcome::Decided(refuse(
            Refusal::Internal {
                detail: "a bot's own acknowledgement was taken for a relayed one".into(),
            },
            request.log_fields(),
        )),
        Ok(ack::Step::Done {
            event_id,
            status,
            effects,
        }) => {
            let body = delivery::socket::ack_result(event_id.as_str(), status).to_string();
            Outcome::Decided(Decision::http(effects, 200, body))
        }
        Ok(ack::Step::Taken { effects, refusal }) => {
            let mut decision = refuse(refusal, request.log_fields());
            decision.effects.splice(0..0, effects);
            Outcome::Decided(decision)
        }
        Err(refusal) => Outcome::Decided(refuse(refusal, request.log_fields())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Body;

    fn answered(internal: bool, status: u16, body: &str) -> crate::effect::Response {
        let request = Request {
            method: "POST",
            path: ACTION_PATH,
            user_id: Some("alicealicealicealicealice1"),
            body: Body::Complete(b"{}"),
            internal,
        };
        let decided = Outcome::Decided(Decision::http(Vec::new(), status, body.to_owned()));
        match to_mattermost(&request, decided) {
            Outcome::Decided(decision) => decision.response().clone(),
            _ => unreachable!("a decision stays one"),
        }
    }

    // Mattermost reads no body as `{}`, and a Write is a round trip: its own requests get
    // nothing written for an empty answer; everyone else gets SPEC §4.6's `{}`; any answer
    // with something in it, or a refusal, is written as it is.
    #[test]
    fn only_mattermost_gets_an_empty_answer_as_no_body() {
        assert_eq!(answered(true, 200, "{}").body, "");
        assert!(answered(true, 200, "{}").to_mattermost);
        assert_eq!(answered(false, 200, "{}").body, "{}");
        assert_eq!(
            answered(true, 200, r#"{"ephemeral_text":"Done."}"#).body,
            r#"{"ephemeral_text":"Done."}"#
        );
        assert_eq!(
            answered(true, 200, r#"{"items":[]}"#).body,
            r#"{"items":[]}"#
        );
        assert_eq!(answered(true, 403, "{}").body, "{}");
    }
}
