//! The entry point: one HTTP request in, an [`Outcome`] out.

use crate::effect::Outcome;
use crate::error::Refusal;
use crate::facts::FactAnswer;
use crate::ids::UserId;
use crate::json::Checked;
use crate::response::refuse;
use crate::settings::Settings;
use std::collections::BTreeMap;

/// The path, below `/plugins/<id>`, that a button's `integration.url` points at.
pub const ACTION_PATH: &str = "/api/v1/handler";

/// The largest request body the plugin reads; the shim stops reading one byte past it.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// An HTTP request as Mattermost handed it to the plugin.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path below `/plugins/<id>`, without the query.
    pub path: &'a str,
    /// The `Mattermost-User-Id` header: set by Mattermost for an authenticated session only.
    pub user_id: Option<&'a str>,
    /// The body, or the fact that it was over [`MAX_BODY_BYTES`].
    pub body: Body<'a>,
}

impl<'a> Request<'a> {
    /// The signed-in user Mattermost names in `Mattermost-User-Id`.
    pub(crate) fn caller(&self) -> Result<UserId, Refusal> {
        self.user_id
            .and_then(UserId::parse)
            .ok_or(Refusal::NotAuthenticated)
    }

    /// The body as JSON text: within the size limit, UTF-8, and every value checked once (see
    /// [`Checked`]), so that what is only passed through is still known to be sound.
    pub(crate) fn json_text(&self) -> Result<&'a str, Refusal> {
        let bytes = match self.body {
            Body::Complete(bytes) if bytes.len() <= MAX_BODY_BYTES => bytes,
            _ => {
                return Err(Refusal::BodyTooLarge {
                    limit: MAX_BODY_BYTES,
                })
            }
        };
        let text = std::str::from_utf8(bytes).map_err(|e| Refusal::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        match serde_json::from_str::<Checked>(text) {
            Ok(Checked) => Ok(text),
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
                Err(Refusal::TooDeep)
            }
            Err(e) => Err(Refusal::InvalidJson {
                detail: e.to_string(),
            }),
        }
    }
}

/// A request body as the shim read it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// The whole body.
    Complete(&'a [u8]),
    /// The body went past [`MAX_BODY_BYTES`]; the shim stopped reading.
    TooLarge,
}

/// What the caller knows that the core does not: the time, fresh randomness and the settings.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// 16 random bytes, fresh for every request (the event id is minted from them).
    pub entropy: [u8; 16],
    /// The settings in force.
    pub settings: Settings,
}

/// Where a bot opens a dialog through the plugin, below `/plugins/<id>`.
pub const DIALOG_OPEN_PATH: &str = "/api/v1/dialogs/open";

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
        crate::lint::LINT_PATH => Some(Endpoint::Lint),
        _ => path
            .strip_prefix("/api/v1/dialogs/")
            .and_then(|rest| rest.strip_suffix("/submit"))
            .map(Endpoint::DialogSubmit),
    }
}

/// Handles one request. Call it first with `facts: None`; while it answers
/// [`Outcome::NeedFacts`], gather the questions not answered yet and call again with every
/// answer so far, in the order asked.
pub fn handle(request: &Request<'_>, ctx: &Context, facts: Option<&[FactAnswer]>) -> Outcome {
    let Some(endpoint) = route(request.path) else {
        let refusal = Refusal::NoRoute {
            path: request.path.to_owned(),
        };
        return Outcome::Decided(refuse(refusal, fields(request)));
    };
    if request.method != "POST" {
        let refusal = Refusal::MethodNotAllowed {
            method: request.method.to_owned(),
            allowed: "POST",
        };
        return Outcome::Decided(refuse(refusal, fields(request)));
    }
    match endpoint {
        Endpoint::Action => crate::action::handle(request, ctx, facts),
        Endpoint::DialogOpen => crate::dialog::open(request, ctx, facts),
        Endpoint::DialogSubmit(session) => crate::dialog::submit(request, session, ctx, facts),
        Endpoint::Lint => Outcome::Decided(crate::lint::handle(request)),
    }
}

/// The log fields every refusal of `request` carries.
pub(crate) fn fields(request: &Request<'_>) -> BTreeMap<&'static str, String> {
    let mut f = BTreeMap::new();
    f.insert("method", request.method.to_owned());
    f.insert("path", request.path.to_owned());
    if let Some(user) = request.user_id {
        f.insert("caller_user_id", user.to_owned());
    }
    f
}
