//! The decision core of Socket Mode for Mattermost. It does no I/O of any kind.
//!
//! The Go shim that Mattermost loads hands this crate the bytes of an HTTP request and the facts
//! it asked for (the stored post, the recipient, a permission check, the clock, fresh random
//! bytes, the settings); the crate answers with plain values: facts it still needs
//! ([`Outcome::NeedFacts`]) or a [`Decision`] made of [`Effect`]s to carry out in order and the
//! [`Response`] to write. It never calls the network, the plugin API or a clock itself, so every
//! rule is tested natively with `cargo test`, and the same code runs inside the server's
//! WebAssembly pool and, through the `web` feature, in the browser.
//!
//! The wire form used across the wasm boundary lives in [`envelope`]; the exports in `ffi.rs`.
#![warn(missing_docs, unreachable_pub)]

mod action;
mod dialog;
mod dialog_form;
mod effect;
pub mod envelope;
mod error;
mod event;
mod facts;
mod http;
mod ids;
mod json;
mod lint;
mod manifest;
mod provenance;
mod response;
mod settings;

#[cfg(feature = "web")]
pub mod web;

#[cfg(all(target_arch = "wasm32", not(feature = "web")))]
#[allow(unreachable_pub)]
// `#[no_mangle]` exports are reached through the module, not through Rust paths.
mod ffi;

pub use effect::{Decision, Effect, LogLevel, Outcome, Response};
pub use error::Refusal;
pub use facts::{FactAnswer, FactQuery};
pub use http::{handle, Body, Context, Request, ACTION_PATH, DIALOG_OPEN_PATH, MAX_BODY_BYTES};
pub use ids::{EventId, UserId};
pub use lint::{check, lint, preview, Finding, Preview, Severity, LINT_PATH};
pub use manifest::{PLUGIN_ID, PLUGIN_VERSION};
pub use response::fault_decision;
pub use settings::{Settings, SettingsError};
