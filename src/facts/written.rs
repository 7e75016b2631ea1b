//! Whether a prefetched answer's query text is, byte for byte, a query the core asks, without
//! writing the query first.
//!
//! [`super::Facts::take_prefetched`] uses an answer only for the exact text of a query it asks.
//! Writing each asked query with serde_json to compare it was about a tenth of a warm click's
//! work in the wasm, every key and value through the escaping writer (docs/BENCHMARKS.md,
//! "Prefetched answers matched without writing the queries"). The queries a shim may prefetch
//! are few and flat (a fact's ids, a cache age, a list of fields, a likely answer), so they are
//! compared here piece by piece against the text as serde_json writes it: the keys as the
//! literal text they always are, each string quoted (and escaped by serde_json itself when it
//! has anything to escape). Every other fact is written by serde_json and compared whole.
//! `the_comparison_agrees_with_serde_json` holds the two to the same answer.

use super::{Fact, Likely, Query};

/// Whether `text` is exactly `query` as `serde_json::to_writer` writes it.
pub(super) fn is_written(query: &Query, text: &[u8]) -> bool {
    let mut rest = Expect(text);
    let Some(r) = rest
        .literal(b"{\"name\":")
        .and_then(|r| r.string(query.name))
    else {
        return false;
    };
    match fact(r, &query.fact) {
        Compared::Matched(r) => options(r, query).is_some_and(|r| r.0.is_empty()),
        Compared::Differs => false,
        // Not one of the flat facts: written whole, and compared.
        Compared::NotFlat => serde_json::to_vec(query).is_ok_and(|written| written == text),
    }
}

/// How a query's fact compares.
enum Compared<'r, 't> {
    /// A flat fact, as the text has it: the rest of the text follows.
    Matched(&'r mut Expect<'t>),
    /// A flat fact the text does not have.
    Differs,
    /// A fact a shim never prefetches: not compared piece by piece.
    NotFlat,
}

/// The fact's own keys, in the order serde writes a flattened, internally tagged enum: the tag,
/// then the variant's fields as declared. The facts compared so are those a shim may prefetch.
fn fact<'r, 't>(r: &'r mut Expect<'t>, fact: &Fact) -> Compared<'r, 't> {
    let matched = match fact {
        Fact::Post { post_id } => r
            .literal(b",\"fact\":\"post\",\"post_id\":")
            .and_then(|r| r.string(post_id)),
        Fact::User { user_id } => r
            .literal(b",\"fact\":\"user\",\"user_id\":")
            .and_then(|r| r.string(user_id)),
        Fact::Channel { channel_id } => r
            .literal(b",\"fact\":\"channel\",\"channel_id\":")
            .and_then(|r| r.string(channel_id)),
        Fact::Team { team_id } => r
            .literal(b",\"fact\":\"team\",\"team_id\":")
            .and_then(|r| r.string(team_id)),
        Fact::Held { event_id } => r
            .literal(b",\"fact\":\"held\",\"event_id\":")
            .and_then(|r| r.string(event_id)),
        Fact::KvGet { key } => r
            .literal(b",\"fact\":\"kv_get\",\"key\":")
            .and_then(|r| r.string(key)),
        Fact::ChannelPermission {
            user_id,
            channel_id,
            permission,
        } => r
            .literal(b",\"fact\":\"channel_permission\",\"user_id\":")
            .and_then(|r| r.string(user_id))
            .and_then(|r| r.literal(b",\"channel_id\":"))
            .and_then(|r| r.string(channel_id))
            .and_then(|r| r.literal(b",\"permission\":"))
            .and_then(|r| r.string(permission)),
        _ => return Compared::NotFlat,
    };
    matched.map_or(Compared::Differs, Compared::Matched)
}

/// The query's options after its fact, as serde writes them (each only when set), and the
/// closing brace.
fn options<'r, 't>(mut r: &'r mut Expect<'t>, query: &Query) -> Option<&'r mut Expect<'t>> {
    if let Some(ms) = query.cache_ms {
        r = r.literal(b",\"cache_ms\":")?.number(ms)?;
    }
    if let Some(fields) = query.fields {
        r = r.literal(b",\"fields\":[")?;
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                r = r.literal(b",")?;
            }
            r = r.string(field)?;
        }
        r = r.literal(b"]")?;
    }
    if let Some(likely) = query.likely {
        r = r.literal(match likely {
            Likely::Granted => b",\"likely\":{\"found\":true}",
            Likely::Empty => b",\"likely\":{\"found\":[]}",
        })?;
    }
    r.literal(b"}")
}

/// The text still to match.
struct Expect<'t>(&'t [u8]);

impl Expect<'_> {
    /// Matches `piece` exactly.
    fn literal(&mut self, piece: &[u8]) -> Option<&mut Self> {
        self.0 = strip_prefix(self.0, piece)?;
        Some(self)
    }

    /// Matches `s` as a JSON string: quoted as it is when nothing in it needs escaping (ids
    /// and names), else as serde_json escapes it.
    fn string(&mut self, s: &str) -> Option<&mut Self> {
        let quoted = self
            .0
            .strip_prefix(b"\"")
            .and_then(|t| strip_prefix(t, s.as_bytes()))
            .and_then(|t| t.strip_prefix(b"\""));
        // The text as it stands is `s` written only if serde_json writes `s` as it stands.
        match (quoted, is_plain(s.as_bytes())) {
            (Some(rest), true) => self.0 = rest,
            (_, true) => return None,
            (_, false) => {
                let written = serde_json::to_vec(s).ok()?;
                self.0 = strip_prefix(self.0, &written)?;
            }
        }
        Some(self)
    }

    /// Matches `n` as JSON writes an unsigned integer.
    fn number(&mut self, n: u32) -> Option<&mut Self> {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.literal(&digits[at..])
    }
}

/// `text` after `piece`, if it starts with it. Compared eight bytes at a time: a wasm build
/// compares slices a byte at a time otherwise (`memcmp`), and a query is mostly ids.
fn strip_prefix<'t>(text: &'t [u8], piece: &[u8]) -> Option<&'t [u8]> {
    if text.len() < piece.len() {
        return None;
    }
    let (head, rest) = text.split_at(piece.len());
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().expect("eight bytes"));
    let (mut a, mut b) = (head.chunks_exact(8), piece.chunks_exact(8));
    let same = a.by_ref().zip(b.by_ref()).all(|(x, y)| word(x) == word(y))
        && a.remainder().iter().zip(b.remainder()).all(|(x, y)| x == y);
    same.then_some(rest)
}

/// Whether serde_json writes `bytes` as they are: no control character, quote or backslash.
/// Eight bytes at a time (a string's ids are 26 bytes): each of the three tests leaves a high
/// bit set in its result exactly when some byte of the word meets it (a borrow may also mark a
/// byte above one that meets it, never a word in which none does).
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH != 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        // Below 0x20, for a byte without its high bit set (bytes of 0x80 and above are never
        // escaped, so they are masked out of the test).
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
        if control
            || has_zero(w ^ (ONES * u64::from(b'"')))
            || has_zero(w ^ (ONES * u64::from(b'\\')))
        {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings with nothing to escape, and with everything serde_json escapes.
    const STRINGS: [&str; 7] = [
        "postpostpostpostpostpost01",
        "",
        "subs_bot1bot1bot1bot1bot1bot1b1",
        "quote\"and\\backslash",
        "tab\tnewline\ncontrol\u{1}",
        "é ünïcode ✓",
        "\u{7f}del",
    ];

    fn facts(s: &str) -> Vec<Fact> {
        vec![
            Fact::Post { post_id: s.into() },
            Fact::User { user_id: s.into() },
            Fact::Channel {
                channel_id: s.into(),
            },
            Fact::Team { team_id: s.into() },
            Fact::KvGet { key: s.into() },
            Fact::Held { event_id: s.into() },
            Fact::ChannelPermission {
                user_id: s.into(),
                channel_id: "chan".into(),
                permission: "read_channel",
            },
            Fact::ChannelPermission {
                user_id: "user".into(),
                channel_id: s.into(),
                permission: "read_channel",
            },
            // Not flat: compared as serde_json writes it.
            Fact::KvGetMany {
                keys: vec![s.into(), "b".into()],
            },
            Fact::PrivacySettings,
        ]
    }

    fn queries() -> Vec<Query> {
        let mut all = Vec::new();
        for s in STRINGS {
            for fact in facts(s) {
                for cache_ms in [None, Some(0), Some(5_000), Some(u32::MAX)] {
                    for fields in [None, Some(&[][..]), Some(&["id", "name"][..])] {
                        for likely in [None, Some(Likely::Granted), Some(Likely::Empty)] {
                            all.push(Query {
                                name: "some_name",
                                fact: fact.clone(),
                                cache_ms,
                                fields,
                                likely,
                            });
                        }
                    }
                }
            }
        }
        all
    }

    #[test]
    fn the_comparison_agrees_with_serde_json() {
        let all = queries();
        let texts: Vec<Vec<u8>> = all.iter().map(|q| serde_json::to_vec(q).unwrap()).collect();
        for (q, text) in all.iter().zip(&texts) {
            assert!(is_written(q, text), "{}", String::from_utf8_lossy(text));
            // A text one byte short or one byte longer is another query's.
            assert!(!is_written(q, &text[..text.len() - 1]));
            let mut longer = text.clone();
            longer.push(b' ');
            assert!(!is_written(q, &longer));
        }
        // Every other query's text is refused, exactly when serde_json's texts differ.
        for (i, q) in all.iter().enumerate().step_by(7) {
            for text in &texts {
                assert_eq!(is_written(q, text), *text == texts[i]);
            }
        }
    }

    #[test]
    fn a_plain_string_is_one_serde_json_writes_as_it_is() {
        // Every byte value at every place of a word, and in the remainder.
        for len in [1, 7, 8, 9, 16, 26] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let Ok(s) = std::str::from_utf8(&bytes) else {
                        // A lone byte of 0x80 and above is not text; the test is on bytes.
                        let expected = b >= 0x20 && b != b'"' && b != b'\\';
                        assert_eq!(is_plain(&bytes), expected, "{b:#x} at {at} of {len}");
                        continue;
                    };
                    let written = serde_json::to_string(s).unwrap();
                    assert_eq!(
                        is_plain(&bytes),
                        written[1..written.len() - 1] == *s,
                        "{b:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_filled_marker_must_be_the_whole_value() {
        let q = Query {
            name: "post",
            fact: Fact::Post {
                post_id: "postpostpostpostpostpost01".into(),
            },
            cache_ms: Some(60_000),
            fields: None,
            likely: None,
        };
        let good = br#"{"name":"post","fact":"post","post_id":"postpostpostpostpostpost01","cache_ms":60000}"#;
        assert!(is_written(&q, good));
        for bad in [
            &br#"{"name":"post","fact":"post","post_id":"postpostpostpostpostpost0","cache_ms":60000}"#[..],
            br#"{"name":"post","fact":"post","post_id":"postpostpostpostpostpost01x","cache_ms":60000}"#,
            br#"{"name":"post","fact":"post","post_id":"postpostpostpostpostpost01","cache_ms":6000}"#,
            br#"{"name":"post","fact":"post","post_id":"postpostpostpostpostpost01"}"#,
            br#"{"name":"post","fact":"user","post_id":"postpostpostpostpostpost01","cache_ms":60000}"#,
            br#"{"fact":"post","name":"post","post_id":"postpostpostpostpostpost01","cache_ms":60000}"#,
            br#"{"name": "post","fact":"post","post_id":"postpostpostpostpostpost01","cache_ms":60000}"#,
        ] {
            assert!(!is_written(&q, bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
