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
/// Not a path: what the core's prefetch lists (`facts::Prefetch`) name a websocket
/// acknowledgement (`custom_<id>_ack`) by, its data read as a request's body.
pub(crate) const SOCKET_ACK: &str = "websocket:ack";

/// A slash command a bot registered (the `ExecuteCommand` hook), where a prefetch list names
/// the input it serves ([`crate::facts::Prefetch`]).
pub(crate) const COMMAND_INPUT: &str = "command";

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

/// Whether Mattermost sends a click on an action with this `integration.url` to this plugin's
/// action handler: a path (`/plugins/<id>/api/v1/handler`, or `plugins/<id>/…`, after cleaning
/// it as Mattermost does), which Mattermost calls in-process, or an absolute URL on the
/// server's own `site_url` (`ServiceSettings.SiteURL`: the same scheme, host and port, below
/// its subpath), which it calls over HTTP with the clicker's session. Any other host is a
/// server of someone else's that Mattermost calls itself: its clicks never reach the plugin,
/// and the plugin vouches for none of them (SPEC §10).
pub(crate) fn reaches_action_handler(url: &str, site_url: &str) -> bool {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match (absolute(url), absolute(site_url)) {
        (None, _) => names_action_handler(url),
        (Some(_), None) => false,
        (Some((origin, path)), Some((site, site_path))) => {
            origin == site
                && clean_path(path) == clean_path(&format!("{site_path}{}", handler_url()))
        }
    }
}

/// Whether `url` names this plugin's action handler by its path, whatever its host: all the
/// lint can tell without knowing the server's address (and, in the browser, it does not).
pub(crate) fn names_action_handler(url: &str) -> bool {
    let handler = handler_url();
    let url = url.split(['?', '#']).next().unwrap_or_default();
    if let Some((_, path)) = absolute(url) {
        return clean_path(path).ends_with(&handler);
    }
    let path = clean_path(url);
    (url.starts_with('/') || url.starts_with("plugins/")) && path == handler
}

/// An absolute `http`/`https` URL as its origin (scheme, host and port, lowercase, the default
/// port named) and its path; `None` for anything else.
fn absolute(url: &str) -> Option<(String, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    // A user name in the address (`user@host`) is no address Mattermost calls as its own.
    if authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // `[::1]:8065`: the port follows the bracket; `host:8065` the last colon.
    let split = match authority.rfind(']') {
        Some(end) => (authority[end + 1..].starts_with(':')).then_some(end + 1),
        None => authority.rfind(':'),
    };
    let (host, port) = match split {
        Some(at) => (&authority[..at], &authority[at + 1..]),
        None => (authority.as_str(), default_port),
    };
    if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = port.trim_start_matches('0');
    Some((format!("{scheme}://{host}:{port}"), path))
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

    const SITE: &str = "https://chat.example.com";

    #[test]
    fn a_path_reaches_the_handler_on_any_server() {
        let h = handler_url();
        for url in [
            h.clone(),
            h[1..].to_owned(),
            format!("{h}?x=1"),
            format!("/plugins/{PLUGIN_ID}/api/v1/./handler"),
        ] {
            assert!(reaches_action_handler(&url, SITE), "{url}");
            assert!(reaches_action_handler(&url, ""), "{url} without a site URL");
            assert!(names_action_handler(&url), "{url}");
        }
    }

    #[test]
    fn an_absolute_url_reaches_the_handler_only_on_the_site_url() {
        let h = handler_url();
        for (url, site) in [
            (format!("https://chat.example.com{h}"), SITE),
            (format!("HTTPS://Chat.Example.COM:443{h}"), SITE),
            (
                format!("https://chat.example.com{h}"),
                "https://chat.example.com/",
            ),
            (
                format!("http://chat.example.com:8065/mm{h}"),
                "http://chat.example.com:8065/mm",
            ),
            (
                format!("http://chat.example.com:8065/mm{h}"),
                "http://chat.example.com:8065/mm/",
            ),
            (format!("http://[::1]:8065{h}"), "http://[::1]:8065"),
            (format!("http://127.0.0.1{h}"), "http://127.0.0.1:80"),
        ] {
            assert!(reaches_action_handler(&url, site), "{url} on {site}");
        }
        for (url, site) in [
            (format!("https://evil.example.com{h}"), SITE),
            (format!("https://chat.example.com.evil.example{h}"), SITE),
            (format!("http://chat.example.com{h}"), SITE),
            (format!("https://chat.example.com:8443{h}"), SITE),
            (format!("https://me@chat.example.com{h}"), SITE),
            (format!("https://chat.example.com/other{h}"), SITE),
            (
                format!("http://chat.example.com:8065{h}"),
                "http://chat.example.com:8065/mm",
            ),
            (format!("https://chat.example.com{h}"), ""),
            (
                format!("ftp://chat.example.com{h}"),
                "ftp://chat.example.com",
            ),
        ] {
            assert!(!reaches_action_handler(&url, site), "{url} on {site:?}");
        }
    }

    #[test]
    fn handler_url_must_name_this_plugin_and_this_endpoint() {
        for url in [
            "/plugins/other/api/v1/handler".to_owned(),
            format!("/plugins/{PLUGIN_ID}/api/v1/handlers"),
            format!("/plugins/{PLUGIN_ID}/api/v1/handler/../lint"),
            format!("x/plugins/{PLUGIN_ID}/api/v1/handler"),
            format!("https://chat.example.com/plugins/{PLUGIN_ID}/api/v1/handler/x"),
            String::new(),
        ] {
            assert!(!reaches_action_handler(&url, SITE), "{url}");
            assert!(!names_action_handler(&url), "{url}");
        }
    }
}
