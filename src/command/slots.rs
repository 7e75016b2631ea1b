//! The command limits (25 per bot, 2,000 in all), enforced by the claim itself: each command
//! holds one numbered slot of its bot's and one of the plugin's, each a KV key claimed with
//! "create if absent". However many registrations run at once, each slot goes to one of them,
//! so a bot never owns more commands than it has slots (reading a count first and claiming
//! after would let concurrent registrations all read the same count).
//!
//! | key | what |
//! |---|---|
//! | `cmdslot_<bot>_<n>` | one of the bot's slots, `n` < [`MAX_PER_BOT`]: the trigger that holds it |
//! | `cmdslot_<n>` | one of the plugin's slots, `n` < [`MAX_COMMANDS`]: the trigger that holds it |
//!
//! Which slots are free is read from the registered commands (each records its slots), and
//! the claim tries them in an order the request's entropy rotates, so that concurrent
//! registrations do not all race for the same one; the claim is what decides.

use super::{Registered, MAX_COMMANDS, MAX_PER_BOT};
use crate::ids::UserId;
use serde::{Deserialize, Serialize};

/// The slots a command holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Slots {
    /// Its bot's slot, below [`MAX_PER_BOT`].
    pub(crate) bot: u32,
    /// The plugin's slot, below [`MAX_COMMANDS`].
    pub(crate) all: u32,
}

/// How many of the plugin's free slots one registration tries at most: near the limit every
/// free one, otherwise a window (enough for any number of registrations at once to find one).
const MAX_TRIED: usize = 16;

/// The key of one of `bot`'s slots.
pub(crate) fn bot_slot_key(bot: &UserId, n: u32) -> String {
    format!("cmdslot_{bot}_{n}")
}

/// The key of one of the plugin's slots.
pub(crate) fn slot_key(n: u32) -> String {
    format!("cmdslot_{n}")
}

/// The keys of `bot`'s slots that no registered command holds, in the order to try them. A
/// command registered before slots existed holds none but counts all the same: the bot has
/// that many slots fewer.
pub(crate) fn free_bot_slots(bot: &UserId, all: &[Registered], entropy: [u8; 16]) -> Vec<String> {
    let mine: Vec<&Registered> = all.iter().filter(|c| c.bot == *bot).collect();
    let unslotted = mine.iter().filter(|c| c.slots.is_none()).count();
    let usable = (MAX_PER_BOT as u32).saturating_sub(unslotted as u32);
    let taken: Vec<u32> = mine.iter().filter_map(|c| c.slots.map(|s| s.bot)).collect();
    let free: Vec<u32> = (0..usable).filter(|n| !taken.contains(n)).collect();
    rotated(free, usize::from(entropy[1]))
        .into_iter()
        .map(|n| bot_slot_key(bot, n))
        .collect()
}

/// The keys of the plugin's slots that no registered command holds, at most [`MAX_TRIED`], in
/// the order to try them.
pub(crate) fn free_slots(all: &[Registered], entropy: [u8; 16]) -> Vec<String> {
    let unslotted = all.iter().filter(|c| c.slots.is_none()).count();
    let usable = MAX_COMMANDS.saturating_sub(unslotted as u32);
    let mut taken = vec![false; usable as usize];
    for n in all.iter().filter_map(|c| c.slots.map(|s| s.all)) {
        if let Some(t) = taken.get_mut(n as usize) {
            *t = true;
        }
    }
    let free: Vec<u32> = (0..usable).filter(|&n| !taken[n as usize]).collect();
    let start = usize::from(u16::from_le_bytes([entropy[2], entropy[3]]));
    let mut tried = rotated(free, start);
    tried.truncate(MAX_TRIED);
    tried.into_iter().map(slot_key).collect()
}

/// The slot number a claimed key names.
pub(crate) fn number(key: &str) -> Option<u32> {
    key.rsplit('_').next()?.parse().ok()
}

/// `items` rotated to start at `start` (modulo their number).
fn rotated<T>(mut items: Vec<T>, start: usize) -> Vec<T> {
    if !items.is_empty() {
        let at = start % items.len();
        items.rotate_left(at);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(bot: &UserId, trigger: &str, slots: Option<Slots>) -> Registered {
        Registered {
            trigger: trigger.into(),
            bot: bot.clone(),
            display_name: String::new(),
            description: String::new(),
            hint: String::new(),
            autocomplete: true,
            registered_at: 0,
            slots,
        }
    }

    #[test]
    fn a_bot_tries_only_the_slots_no_command_of_its_holds() {
        let bot = UserId::parse("bot1bot1bot1bot1bot1bot1b1").unwrap();
        let other = UserId::parse("otherotherotherotherother1").unwrap();
        let all = vec![
            command(&bot, "a", Some(Slots { bot: 0, all: 7 })),
            command(&bot, "b", Some(Slots { bot: 3, all: 8 })),
            command(&other, "c", Some(Slots { bot: 1, all: 9 })),
        ];
        let keys = free_bot_slots(&bot, &all, [0; 16]);
        assert_eq!(keys.len(), MAX_PER_BOT - 2);
        assert_eq!(keys[0], "cmdslot_bot1bot1bot1bot1bot1bot1b1_1");
        assert!(!keys.iter().any(|k| k.ends_with("_0") || k.ends_with("_3")));
        let mut rotated = [0; 16];
        rotated[1] = 2;
        assert_eq!(
            free_bot_slots(&bot, &all, rotated)[0],
            "cmdslot_bot1bot1bot1bot1bot1bot1b1_4"
        );
        let free = free_slots(&all, [0; 16]);
        assert_eq!(free.len(), MAX_TRIED);
        assert_eq!(&free[..2], ["cmdslot_0", "cmdslot_1"]);
        assert!(!free.contains(&"cmdslot_7".to_owned()));
        assert_eq!(number("cmdslot_bot1bot1bot1bot1bot1bot1b1_24"), Some(24));
        assert_eq!(number("cmdslot_1999"), Some(1999));
    }

    #[test]
    fn commands_registered_before_slots_count_all_the_same() {
        let bot = UserId::parse("bot1bot1bot1bot1bot1bot1b1").unwrap();
        let old: Vec<Registered> = (0..MAX_PER_BOT)
            .map(|i| command(&bot, &format!("c{i}"), None))
            .collect();
        assert!(free_bot_slots(&bot, &old, [0; 16]).is_empty());
        assert!(free_bot_slots(&bot, &old[..20], [0; 16]).len() == 5);
    }
}
