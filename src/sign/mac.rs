//! HMAC-SHA-256 and SHA-256 for signing buttons, from RustCrypto's `hmac` and `sha2`.
//!
//! Verification goes through [`hmac::Mac::verify_slice`], which compares in constant time
//! (`subtle`), so a forger learns nothing from how long a refusal takes.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The HMAC-SHA-256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    keyed(key, parts).finalize().into_bytes().into()
}

/// Whether `claimed` is the HMAC-SHA-256 of `parts` under `key`, compared in constant time.
pub(crate) fn verify(key: &[u8], parts: &[&[u8]], claimed: &[u8]) -> bool {
    keyed(key, parts).verify_slice(claimed).is_ok()
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn keyed(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = KEYED.with(|cache| cache.borrow_mut().get(key));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// How many keys' states [`KeyedCache`] keeps: the signing key (a click's check and the
/// trigger it issues both use it) and the two constants ephemeral answers are keyed with.
const KEPT_KEYS: usize = 4;

thread_local! {
    // One per thread; a wasm instance has one, and it lives as long as the instance.
    static KEYED: std::cell::RefCell<KeyedCache> = const { std::cell::RefCell::new(KeyedCache::new()) };
}

/// The HMAC states of the last few keys, each before any message byte. Keying HMAC-SHA-256
/// hashes two blocks (the key padded two ways): half of a click's SHA-256 work, the same for
/// the same key on every call. A state is copied out, never shared, so a cached key gives the
/// very MAC a fresh one does (`a_kept_key_gives_the_same_mac`). Keys longer than a SHA-256
/// block are not kept (HMAC hashes them first; none of ours is that long). No heap: the cache
/// survives the server wasm's per-call arena (src/wire/arena.rs).
struct KeyedCache {
    kept: [Option<Kept>; KEPT_KEYS],
    next: usize,
}

/// One key (up to a block, zero-padded) and its HMAC state before any message byte.
struct Kept {
    key: [u8; 64],
    len: usize,
    state: HmacSha256,
}

impl KeyedCache {
    const fn new() -> Self {
        KeyedCache {
            kept: [const { None }; KEPT_KEYS],
            next: 0,
        }
    }

    fn get(&mut self, key: &[u8]) -> HmacSha256 {
        let fresh = || HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
        if key.len() > 64 {
            return fresh();
        }
        // The key is the keyring's, never the caller's: comparing it in variable time tells a
        // caller nothing.
        if let Some(kept) = self.kept.iter().flatten().find(|k| &k.key[..k.len] == key) {
            return kept.state.clone();
        }
        let state = fresh();
        let mut padded = [0; 64];
        padded[..key.len()].copy_from_slice(key);
        self.kept[self.next] = Some(Kept {
            key: padded,
            len: key.len(),
            state: state.clone(),
        });
        self.next = (self.next + 1) % KEPT_KEYS;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, test case 2: the crate is the reference, this pins how we call it.
    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", &[b"what do ya want for nothing?"], &mac));
        let mut wrong = mac;
        wrong[31] ^= 1;
        assert!(!verify(b"Jefe", &[b"what do ya want for nothing?"], &wrong));
        assert!(!verify(
            b"Jefe",
            &[b"what do ya want for nothing?"],
            &mac[..31]
        ));
    }

    #[test]
    fn a_kept_key_gives_the_same_mac() {
        let long = [7u8; 100];
        let keys: [&[u8]; 7] = [b"one", b"two", b"", &[0; 64], b"three", b"one", &long];
        for round in 0..3 {
            for key in keys {
                let fresh = HmacSha256::new_from_slice(key)
                    .unwrap()
                    .chain_update(b"message")
                    .finalize()
                    .into_bytes();
                assert_eq!(hmac(key, &[b"mess", b"age"]), fresh[..], "round {round}");
                assert!(verify(key, &[b"message"], &fresh));
                assert!(!verify(key, &[b"massage"], &fresh));
            }
        }
        // Two keys that share a prefix are two entries, not one.
        assert_ne!(hmac(b"key", &[b"m"]), hmac(b"keyk", &[b"m"]));
    }

    #[test]
    fn sha256_matches_fips_180() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
