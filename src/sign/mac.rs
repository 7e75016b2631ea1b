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
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    mac
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
    fn sha256_matches_fips_180() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
