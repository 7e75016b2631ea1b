//! Trigger ids: who a trigger was issued for.

use crate::ids::is_mattermost_id;

/// The person a trigger id was issued for. Mattermost signs trigger ids and checks them when the
/// dialog is opened; the plugin only reads the user from it, to know who may submit.
pub(super) fn trigger_user(trigger_id: &str) -> Option<String> {
    let decoded = String::from_utf8(base64_decode(trigger_id)?).ok()?;
    let mut parts = decoded.splitn(4, ':');
    let (_client, user, timestamp, signature) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (is_mattermost_id(user) && timestamp.parse::<u64>().is_ok() && !signature.is_empty())
        .then(|| user.to_owned())
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_ids_name_the_user_they_were_issued_for() {
        // base64("client:<user>:<millis>:<signature>"), as model.GenerateTriggerId builds it.
        let user = "abcdefghijklmnopqrstuvwxyz";
        let text = format!("c1:{user}:1700000000000:c2lnbmF0dXJl");
        let encoded = base64_encode(text.as_bytes());
        assert_eq!(trigger_user(&encoded).as_deref(), Some(user));
        assert_eq!(trigger_user("not base64!"), None);
        assert_eq!(trigger_user(&base64_encode(b"c1:short:1:x")), None);
        assert_eq!(
            trigger_user(&base64_encode(format!("c1:{user}:soon:x").as_bytes())),
            None
        );
        assert_eq!(trigger_user(""), None);
    }

    fn base64_encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        while out.len() % 4 != 0 {
            out.push('=');
        }
        out
    }
}
