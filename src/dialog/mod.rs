//! Interactive dialogs for websocket-only bots (SPEC §5).
//!
//! A bot opens a dialog through `POST /api/v1/dialogs/open` with the `trigger_id` of a click
//! ([`open`]); the plugin stores a session (who receives the submission, who may submit, the
//! definition, the expiry) in the KV store, points the dialog at the session's submission path
//! and opens it. When the person submits ([`submit`]), the plugin checks the form itself,
//! answering field errors at once, and publishes a valid submission to the bot as
//! `dialog_submission`.

mod lookup;
mod open;
mod session;
mod submit;

pub(crate) use lookup::lookup;
pub(crate) use open::open;
pub(crate) use submit::submit;
