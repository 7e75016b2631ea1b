//! The plugin's addresses: every path it serves, and the URLs that point at them, built here
//! and nowhere else.

use crate::manifest::PLUGIN_ID;

/// The path, below `/plugins/<id>`, that a button's `integration.url` points at.
pub const ACTION_PATH: &str = "/api/v1/handler";

/// Where a bot opens a dialog through the plugin, below `/plugins/<id>`.
pub const DIALOG_OPEN_PATH: &str = "/api/v1/dialogs/open";

/// The path, below `/plugins/<id>`, of the lint endpoint.
pub const LINT_PATH: &str = "/api/v1/lint";

/// Where a bot acknowledges an event over REST (SPEC §9.3).
pub const ACK_PATH: &str = "/api/v1/ack";

/// Where a bot reads its own delivery status (SPEC §9.7).
pub const STATUS_PATH: &str = "/api/v1/status";

/// A bot's own slash commands: `GET` lists, `POST` registers (SPEC §12).
pub const COMMANDS_PATH: &str = "/api/v1/commands";

/// `POST`: an ephemeral message from a bot, its buttons signed for the one user who sees it.
pub const EPHEMERAL_PATH: &str = "/api/v1/ephemeral";

/// `DELETE /api/v1/commands/<trigger>`: the trigger a path names.
pub(crate) fn command_trigger(path: &str) -> Option<&str> {
    path.strip_prefix(COMMANDS_PATH)?.strip_prefix('/')
}

/// Where system administrators read every bot's delivery status.
pub const ADMIN_STATUS_PATH: &str = "/api/v1/admin/status";
/// `POST`: a new signing key for buttons, for system administrators.
pub(crate) const ADMIN_SIGNING_KEY_PATH: &str = "/api/v1/admin/signing-key";

/// The prefix and suffix around a dialog session's id in its submission path.
const DIALOG_PREFIX: &str = "/api/v1/dialogs/";
const SUBMIT_SUFFIX: &str = "/submit";
const LOOKUP_SUFFIX: &str = "/lookup";

/// The `integration.url` a button must have: `/plugins/<id>/api/v1/handler`.
pub fn handler_url() -> String {
    format!("/plugins/{PLUGIN_ID}{ACTION_PATH}")
}

/// The URL Mattermost calls when the dialog of session `session_id` is submitted.
pub(crate) fn dialog_submit_url(session_id: &str) -> String {
    format!("/plugins/{PLUGIN_ID}{DIALOG_PREFIX}{session_id}{SUBMIT_SUFFIX}")
}

/// The URL Mattermost calls for the options of a dynamic select in session `session_id`.
pub(crate) fn dialog_lookup_url(session_id: &str) -> String {
    format!("/plugins/{PLUGIN_ID}{DIALOG_PREFIX}{session_id}{LOOKUP_SUFFIX}")
}

/// What a session's path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionPath {
    /// `/api/v1/dialogs/<session>/submit`: a submission, a cancellation or a refresh.
    Submit,
    /// `/api/v1/dialogs/<session>/lookup`: the options of a dynamic select.
    Lookup,
}

/// The session id in a dialog session's path, and what the path asks for.
pub(crate) fn dialog_session(path: &str) -> Option<(&str, SessionPath)> {
    let rest = path.strip_prefix(DIALOG_PREFIX)?;
    if let Some(id) = rest.strip_suffix(SUBMIT_SUFFIX) {
        return Some((id, SessionPath::Submit));
    }
    rest.strip_suffix(LOOKUP_SUFFIX)
        .map(|id| (id, SessionPath::Lookup))
}

/// Whether an `integration.url` makes Mattermost call this plugin's action handler.
///
/// Mattermost calls a plugin in-process for a URL that starts with `/plugins/` or `plugins/`
/// (after cleaning the path), and over HTTP with the clicker's session for an absolute URL to
/// its own site, which may sit below a subpath.
pub(crate) fn targets_action_handler(url: &str) -> bool {
    let handler = handler_url();
    let url = url.split(['?', '#']).next().unwrap_or_default();
    if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        return clean_path(path).ends_with(&handler);
    }
    let path = clean_path(url);
    (url.starts_with('/') || url.starts_with("plugins/")) && path == handler
}

/// Resolves `.`, `..` and repeated slashes, as Go's `path.Clean` does, always rooted.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_url_may_be_relative_absolute_or_below_a_subpath() {
        let h = handler_url();
        assert!(targets_action_handler(&h));
        assert!(targets_action_handler(&h[1..]));
        assert!(targets_action_handler(&format!("{h}?x=1")));
        assert!(targets_action_handler(&format!(
            "/plugins/{PLUGIN_ID}/api/v1/./handler"
        )));
        assert!(targets_action_handler(&format!(
            "https://chat.example.com{h}"
        )));
        assert!(targets_action_handler(&format!(
            "http://chat.example.com:8065/mm{h}"
        )));
    }

    #[test]
    fn handler_url_must_name_this_plugin_and_this_endpoint() {
        assert!(!targets_action_handler("/plugins/other/api/v1/handler"));
        assert!(!targets_action_handler(&format!(
            "/plugins/{PLUGIN_ID}/api/v1/handlers"
        )));
        assert!(!targets_action_handler(&format!(
            "/plugins/{PLUGIN_ID}/api/v1/handler/../lint"
        )));
        assert!(!targets_action_handler(&format!(
            "x/plugins/{PLUGIN_ID}/api/v1/handler"
        )));
        assert!(!targets_action_handler(&format!(
            "https://example.com/plugins/{PLUGIN_ID}/api/v1/handler/x"
        )));
        assert!(!targets_action_handler(""));
    }
}
