//! Mattermost identifiers: the user ids the core checks and the event ids it mints.

use serde::{Serialize, Serializer};
use std::fmt;

/// A Mattermost id: exactly 26 characters, each a lowercase ASCII letter or a digit.
///
/// Holding one means the string was checked; ids from requests and facts are parsed, never trusted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Parses `value`, returning `None` unless it has the shape of a Mattermost id.
    pub fn parse(value: &str) -> Option<Self> {
        is_mattermost_id(value).then(|| Self(value.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `value` has the shape of a Mattermost id (26 characters of `[a-z0-9]`).
pub(crate) fn is_mattermost_id(value: &str) -> bool {
    value.len() == 26
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Id::parse(&text).ok_or_else(|| serde::de::Error::custom("not a Mattermost id"))
    }
}

impl<'de> serde::Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        UserId::parse(&text).ok_or_else(|| serde::de::Error::custom("not a Mattermost id"))
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An id minted by the plugin from 16 random bytes the caller passes in: an event's, a dialog
/// session's, a node's. Held by value, so it is `Copy`.
///
/// It is written in Mattermost's own id alphabet, so it looks and sorts like every other id a
/// bot sees, and carries 128 bits of randomness.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Id([u8; 26]);

/// The id of one event a bot receives (`proxy.event_id`), the same across delivery attempts.
pub type EventId = Id;

/// The id of one plugin process (a node of a cluster), minted when it is activated.
pub type NodeId = Id;

/// The base32 alphabet of Mattermost's `model.NewId`.
const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

impl Id {
    /// Reads an id of Mattermost's shape.
    pub fn parse(value: &str) -> Option<Self> {
        let bytes: [u8; 26] = value.as_bytes().try_into().ok()?;
        is_mattermost_id(value).then_some(Self(bytes))
    }

    /// Encodes `entropy` as a 26-character id.
    pub fn from_entropy(entropy: [u8; 16]) -> Self {
        let mut out = [0u8; 26];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut n = 0;
        for byte in entropy {
            acc = (acc << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out[n] = ALPHABET[((acc >> bits) & 31) as usize];
                n += 1;
            }
        }
        // 128 bits leave 3 over: pad them on the right, as base32 does.
        out[n] = ALPHABET[((acc << (5 - bits)) & 31) as usize];
        Self(out)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("the alphabet is ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_must_be_26_lowercase_letters_or_digits() {
        assert!(UserId::parse("abcdefghijklmnopqrstuvwxyz").is_some());
        assert!(UserId::parse("0123456789abcdefghijklmnop").is_some());
        assert!(UserId::parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ").is_none());
        assert!(UserId::parse("abcdefghijklmnopqrstuvwxy").is_none());
        assert!(UserId::parse("abcdefghijklmnopqrstuvwxyz0").is_none());
        assert!(UserId::parse("abcdefghijklmnopqrstuvwxy_").is_none());
        assert!(UserId::parse("abcdefghijklmnopqrstuvwxyé").is_none());
        assert!(UserId::parse("").is_none());
    }

    #[test]
    fn event_id_is_a_mattermost_shaped_id_that_depends_on_every_byte() {
        let a = EventId::from_entropy([0; 16]);
        assert_eq!(a.as_str(), "yyyyyyyyyyyyyyyyyyyyyyyyyy");
        assert!(is_mattermost_id(a.as_str()));
        for i in 0..16 {
            let mut bytes = [0u8; 16];
            bytes[i] = 0x80;
            let b = EventId::from_entropy(bytes);
            assert_ne!(a, b, "byte {i} must change the id");
            assert!(is_mattermost_id(b.as_str()));
        }
        let mut last = [0u8; 16];
        last[15] = 1;
        assert_ne!(EventId::from_entropy(last), a, "the lowest bit counts too");
    }
}
