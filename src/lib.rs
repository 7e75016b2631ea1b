//! The decision core of Socket Mode for Mattermost. It does no I/O of any kind.
//!
//! Every incoming thing is an [`Input`]. The Go shim that Mattermost loads hands the core an
//! input, the [`Context`] (the clock, fresh random bytes, the settings) and the [`Facts`] it
//! gathered so far; [`handle`] answers with plain values: facts it still needs
//! ([`Outcome::NeedFacts`]) or a [`Decision`] made of [`Effect`]s to carry out in order and the
//! [`Reply`] to give. The core never calls the network, the plugin API or a clock itself, so
//! every rule is tested natively with `cargo test`, and the same code runs inside the server's
//! WebAssembly pool and, through the `web` feature, in the browser.
//!
//! The map of the modules is `docs/ARCHITECTURE.md`; the wire form is [`wire::envelope`].
#![warn(missing_docs, unreachable_pub)]

mod action;
mod body;
mod command;
mod configure;
mod delivery;
mod dialog;
mod effect;
mod ephemeral;
mod event;
mod expand;
mod facts;
mod form;
mod ids;
mod input;
mod json;
mod lint;
mod manifest;
mod model;
mod paths;
mod refusal;
mod router;
mod settings;
mod sign;
mod trigger;
mod trip;
pub mod wire;

pub use body::MAX_BODY_BYTES;
pub use configure::{configure, ConfigEvent, Configured};
pub use effect::{Decision, Effect, LogLevel, Outcome, Reply, Response};
pub use facts::{Answer, Answers, Fact, FactError, Facts, Held, Query};
pub use ids::{EventId, Id, NodeId, UserId};
pub use input::{Body, Context, Input, Request, WebSocketMessage};
pub use lint::{check, lint, preview, Finding, Preview, Severity};
pub use manifest::{PLUGIN_ID, PLUGIN_VERSION};
pub use paths::{
    handler_url, ACK_PATH, ACTION_PATH, ADMIN_STATUS_PATH, COMMANDS_PATH, DIALOG_OPEN_PATH,
    EPHEMERAL_PATH, LINT_PATH, STATUS_PATH,
};
pub use refusal::Refusal;
pub use router::handle;
pub use settings::{Settings, SettingsError};
