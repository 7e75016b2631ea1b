//! The slash commands Mattermost serves itself. A plugin's command runs before them
//! (`App.ExecuteCommand`: plugin commands, then a team's own, then the built-ins), so a bot's
//! command with one of these triggers would take it over.
//!
//! `ListBuiltInCommands` is not enough to know them: it lists only the built-ins whose
//! autocomplete is on at that moment (`/invite_people` is off while email invitations are,
//! `/test` always is, `/marketplace` with the marketplace), and the others run all the same.
//! So the core keeps Mattermost's own list, and the live answer is checked too (a newer
//! Mattermost may add one before this list does).

/// Every trigger Mattermost 11.4 registers as a built-in command: each
/// `app.RegisterCommandProvider` in `server/channels/app/slashcommands` (server v8 module
/// `v8.0.0-20260130160320-3321db82c3e7`, the commit tagged `server/public/v0.1.22`), sorted.
pub(crate) const BUILT_IN_TRIGGERS: [&str; 34] = [
    "away",
    "code",
    "collapse",
    "dnd",
    "echo",
    "expand",
    "exportlink",
    "groupmsg",
    "header",
    "help",
    "invite",
    "invite_people",
    "join",
    "kick",
    "leave",
    "logout",
    "marketplace",
    "me",
    "msg",
    "mute",
    "offline",
    "online",
    "open",
    "purpose",
    "remove",
    "rename",
    "search",
    "secure-connection",
    "settings",
    "share-channel",
    "shortcuts",
    "shrug",
    "status",
    "test",
];

/// Whether Mattermost serves `trigger` itself (lowercase, without the slash), by its own list
/// or by what the server said (`listed`, from `ListBuiltInCommands`).
pub(crate) fn is_built_in(trigger: &str, listed: &[String]) -> bool {
    BUILT_IN_TRIGGERS.binary_search(&trigger).is_ok() || listed.iter().any(|t| t == trigger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_for_the_search_and_every_trigger_is_one_a_bot_could_ask_for() {
        assert!(BUILT_IN_TRIGGERS.windows(2).all(|w| w[0] < w[1]));
        for t in BUILT_IN_TRIGGERS {
            assert_eq!(crate::command::parse_trigger(t).as_deref(), Some(t));
        }
    }

    #[test]
    fn built_ins_whatever_the_server_lists() {
        assert!(is_built_in("invite_people", &[]));
        assert!(is_built_in("test", &[]));
        assert!(is_built_in("newer", &["newer".to_owned()]));
        assert!(!is_built_in("deploy", &["echo".to_owned()]));
    }
}
