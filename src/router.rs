//! The one entry point: every input goes to the module that owns it.

use crate::effect::{Decision, Effect, Outcome};
use crate::facts::{Fact, Facts};
use crate::input::{Context, Input, Request};
use crate::paths::{dialog_session, ACTION_PATH, DIALOG_OPEN_PATH, LINT_PATH};
use crate::refusal::{refuse, Refusal};
use crate::{action, dialog, lint};

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
    }
}

/// The endpoints the plugin serves; every one takes `POST`.
enum Endpoint<'a> {
    Action,
    DialogOpen,
    DialogSubmit(&'a str),
    Lint,
}

fn route(path: &str) -> Option<Endpoint<'_>> {
    match path {
        ACTION_PATH => Some(Endpoint::Action),
        DIALOG_OPEN_PATH => Some(Endpoint::DialogOpen),
        LINT_PATH => Some(Endpoint::Lint),
        _ => dialog_session(path).map(Endpoint::DialogSubmit),
    }
}

fn http(request: &Request<'_>, ctx: &Context, facts: Facts<'_>) -> Outcome {
    let Some(endpoint) = route(request.path) else {
        let refusal = Refusal::NoRoute {
            path: request.path.to_owned(),
        };
        return Outcome::Decided(refuse(refusal, request.log_fields()));
    };
    if request.method != "POST" {
        let refusal = Refusal::MethodNotAllowed {
            method: request.method.to_owned(),
            allowed: "POST",
        };
        return Outcome::Decided(refuse(refusal, request.log_fields()));
    }
    match endpoint {
        Endpoint::Action => action::handle(request, ctx, facts),
        Endpoint::DialogOpen => dialog::open(request, ctx, facts),
        Endpoint::DialogSubmit(session) => dialog::submit(request, session, ctx, facts),
        Endpoint::Lint => Outcome::Decided(lint::handle(request)),
    }
}
