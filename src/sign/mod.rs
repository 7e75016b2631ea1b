//! Signed buttons (SPEC §10): provenance decided once, when the message is posted.
//!
//! In `MessageWillBePosted` / `MessageWillBeUpdated` the plugin signs every action of the post
//! that points at the handler and names the post's author in `context.user_id`: a MAC, under a
//! secret kept in the KV store, over the author, the channel, the thread, the action's type and
//! data source, its exact context (as the click will carry it back) and a static menu's option
//! values, stored in the context under [`CONTEXT_KEY`]. Mattermost strips integrations from every
//! post it shows a client, so nobody can read or copy a signature; a click that carries a valid
//! one came from Mattermost for such a post, after Mattermost checked the clicker can read it.
//! The key is removed before the bot sees the context. A click without a valid signature — a
//! post from before, a moved post, an ephemeral one, a signature under a retired key — gets the
//! full check against the stored post: a rotation makes old signatures fall back, never pass.

pub(crate) mod ephemeral;
mod hooks;
pub(crate) mod mac;

pub(crate) use hooks::{
    keyring, post_changed_elsewhere, post_deleted, post_saved, post_will_be_saved, rotate,
    sign_actions, strip_signatures, SignFacts,
};

use crate::trip::as_delivered;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The context key that holds an action's signature.
pub(crate) const CONTEXT_KEY: &str = "_socket_mode_signature";

/// The KV key of the signing keys.
pub(crate) const KEYRING_KEY: &str = "signing_key";

/// How long a node keeps the keys it read (a rotation tells every node to forget them).
pub(crate) const KEYRING_CACHE_MS: u32 = 60_000;

/// How old a post a signed click is checked against may be: the node that saved or edited it
/// remembers it as it was saved (and forgets it when it is deleted), so a click soon after
/// needs no round trip. Mattermost's click route reads the post afresh and only sends the
/// context of an action the post has, so an older copy can only matter to a request made up
/// by someone who knows a signature, which no client is shown.
pub(crate) const POST_CACHE_MS: u32 = 60_000;

/// The facts a node may hand the core with the first call of any input, unasked, when it has a
/// recent answer (Info's `standing`): the signing key, which every signed thing needs and which
/// changes only by a rotation every node hears of. A post hook that signs buttons is then
/// decided in one call instead of two, and every flow that asks the key in a round of its own
/// (a dialog opened with a trigger token, a late answer that updates a post) makes one call
/// fewer. Built by
/// [`ask_keyring`] itself, so the query is exactly the one asked (the shim finds the answer under
/// the same cache key).
pub(crate) fn standing_queries() -> Vec<crate::facts::Query> {
    let mut ask = crate::facts::Ask::default();
    ask_keyring(&mut ask, &None::<()>);
    ask.into_queries()
}

/// Asks for the signing key under `keyring` unless `answered` (a node keeps it a minute).
pub(crate) fn ask_keyring<T>(ask: &mut crate::facts::Ask, answered: &Option<T>) {
    ask.unless_cached_for(answered, "keyring", KEYRING_CACHE_MS, || {
        crate::facts::Fact::KvGet {
            key: KEYRING_KEY.into(),
        }
    });
}

/// The signing key in use. Only the current key verifies: a rotated-out key's signatures fall
/// back to the full check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "StoredKeyring")]
pub(crate) struct Keyring {
    /// Names the key in every signature it made.
    pub(crate) id: String,
    /// 16 random bytes, hex (as stored since 1.0).
    secret: String,
    /// The same bytes, the HMAC key of current signatures.
    #[serde(skip)]
    bytes: [u8; 16],
}

/// A keyring as the store holds it, before its secret is checked.
#[derive(Deserialize)]
struct StoredKeyring {
    id: String,
    secret: String,
}

impl TryFrom<StoredKeyring> for Keyring {
    type Error = String;

    /// A stored key whose secret is not 16 bytes of hex is no key: reading it fails like any
    /// unreadable fact, and nothing is signed or verified with it. Only the plugin writes it.
    fn try_from(stored: StoredKeyring) -> Result<Self, String> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(&stored.secret, &mut bytes)
            .map_err(|e| format!("the signing key's secret is not 16 bytes of hex: {e}"))?;
        Ok(Keyring {
            id: stored.id,
            secret: stored.secret,
            bytes,
        })
    }
}

impl Keyring {
    /// A new key from 16 random bytes.
    pub(crate) fn new(entropy: [u8; 16]) -> Keyring {
        Keyring {
            // The id names the key, not its bits: a hash of it, short.
            id: hex::encode(mac::sha256(&entropy))[..8].to_owned(),
            secret: hex::encode(entropy),
            bytes: entropy,
        }
    }

    /// The HMAC key of trigger tokens (`trigger.rs`, a MAC domain of their own).
    pub(crate) fn token_key(&self) -> &[u8] {
        &self.bytes
    }

    /// The HMAC key a signature of `version` was made with. Version 2 keys the MAC with the
    /// 16 random bytes; version 1 (signatures made before 1.1) keyed it with the bytes of their
    /// hex text, and posts signed then keep verifying.
    fn bytes(&self, version: Version) -> &[u8] {
        match version {
            Version::TextKey => self.secret.as_bytes(),
            Version::RandomBytes => &self.bytes,
        }
    }
}

/// How a signature was made: the `v` it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// `v: 1`: the HMAC key was the key's hex text (before 1.1); verified, never made.
    TextKey = 1,
    /// `v: 2`: the HMAC key is the key's random bytes.
    RandomBytes = 2,
}

impl Version {
    /// What every new signature is.
    const CURRENT: Version = Version::RandomBytes;

    fn parse(v: u64) -> Option<Version> {
        match v {
            1 => Some(Version::TextKey),
            2 => Some(Version::RandomBytes),
            _ => None,
        }
    }
}

/// The key that signs, and the server's `SiteURL`: only an action whose clicks Mattermost sends
/// to this plugin is signed (a relative path, or an absolute URL on the site), never one that
/// Mattermost posts to another host.
pub(crate) struct Signer<'a> {
    pub(crate) key: &'a Keyring,
    pub(crate) site_url: &'a str,
}

/// What a signature covers, besides the context.
pub(crate) struct Scope<'a> {
    pub(crate) author: &'a str,
    pub(crate) channel_id: &'a str,
    pub(crate) root_id: &'a str,
    /// `button` or `select`.
    pub(crate) kind: &'a str,
    pub(crate) data_source: &'a str,
    /// The one user an ephemeral post was sent to (SPEC §13); empty for a stored post. An
    /// ephemeral post is never stored, so its signature alone vouches for it: it names whose
    /// clicks it carries, and the post and version it was made for.
    pub(crate) to: &'a str,
    /// An ephemeral post's id (empty for a stored post, whose id is not known when it is
    /// signed).
    pub(crate) post_id: &'a str,
    /// An ephemeral post's version: a click must carry the one the plugin keeps for the post,
    /// which an `update` answer moves on, so that the buttons it replaced stop working
    /// ([`ephemeral`]).
    pub(crate) version: &'a str,
}

/// The signature of an action with `context` (without [`CONTEXT_KEY`]) and, for a static menu,
/// its option values.
pub(crate) fn sign(
    key: &Keyring,
    scope: &Scope<'_>,
    context: &Map<String, Value>,
    options: Option<Vec<Value>>,
) -> Value {
    let mut options = options.map(Value::Array);
    if let Some(o) = options.as_mut() {
        as_delivered(o);
    }
    let version = Version::CURRENT;
    let text = signed_text(scope, context.into(), options.as_ref());
    let mac = mac::hmac(key.bytes(version), &[&text]);
    let mut sig = Map::new();
    sig.insert("v".into(), Value::from(version as u64));
    sig.insert("k".into(), Value::from(key.id.clone()));
    sig.insert("r".into(), Value::from(scope.root_id));
    if !scope.to.is_empty() {
        sig.insert("e".into(), Value::from(scope.to));
        sig.insert("p".into(), Value::from(scope.post_id));
        sig.insert("n".into(), Value::from(scope.version));
    }
    if let Some(o) = options {
        sig.insert("o".into(), o);
    }
    sig.insert("m".into(), Value::from(hex::encode(mac)));
    Value::Object(sig)
}

/// What a valid signature vouches for.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Signed {
    /// The thread of the post.
    pub(crate) root_id: String,
    /// A static menu's option values.
    pub(crate) options: Option<Vec<Value>>,
    /// For an ephemeral post, the one user it was sent to; empty for a stored post.
    pub(crate) to: String,
    /// For an ephemeral post, its id and the version its buttons were signed with.
    pub(crate) post_id: String,
    pub(crate) version: String,
}

/// A context as a signature covers it: the object, less the keys a click adds to it
/// ([`CONTEXT_KEY`], a menu's `selected_option`), which are passed over as it is written rather
/// than removed from a copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Covered<'a> {
    pub(crate) context: &'a Map<String, Value>,
    pub(crate) without: &'a [&'a str],
}

/// Written as the object it stands for: what a bot gets of a signed click's context.
impl serde::Serialize for Covered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kept = self.context.iter();
        s.collect_map(kept.filter(|(k, _)| !self.without.contains(&k.as_str())))
    }
}

impl<'a> From<&'a Map<String, Value>> for Covered<'a> {
    fn from(context: &'a Map<String, Value>) -> Self {
        Covered {
            context,
            without: &[],
        }
    }
}

/// Checks a click's signature over `context` (the click's, its added keys passed over: see
/// [`Covered`]); `scope.root_id`, `scope.to`, `scope.post_id` and `scope.version` are ignored
/// (the signature says them, and the MAC covers them).
pub(crate) fn verify<'a>(
    key: &Keyring,
    scope: &Scope<'_>,
    context: impl Into<Covered<'a>>,
    sig: &Value,
) -> Option<Signed> {
    let sig = sig.as_object()?;
    let version = Version::parse(sig.get("v")?.as_u64()?)?;
    if sig.get("k")?.as_str()? != key.id {
        return None;
    }
    let root_id = sig.get("r")?.as_str()?.to_owned();
    let text = |k: &str| {
        sig.get(k)?
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    // An ephemeral post's signature names its user, the post and its version; a stored post's
    // none of them.
    let (to, post_id, post_version) = match sig.get("e") {
        None => (String::new(), String::new(), String::new()),
        Some(_) => (text("e")?, text("p")?, text("n")?),
    };
    let options = sig.get("o").cloned();
    let claimed = hex::decode(sig.get("m")?.as_str()?).ok()?;
    let scope = Scope {
        root_id: &root_id,
        to: &to,
        post_id: &post_id,
        version: &post_version,
        ..*scope
    };
    let text = signed_text(&scope, context.into(), options.as_ref());
    if !mac::verify(key.bytes(version), &[&text], &claimed) {
        return None;
    }
    let options = match options {
        None => None,
        Some(Value::Array(o)) => Some(o),
        Some(_) => return None,
    };
    Some(Signed {
        root_id,
        options,
        to,
        post_id,
        version: post_version,
    })
}

/// The text a signature's MAC covers.
fn signed_text(scope: &Scope<'_>, context: Covered<'_>, options: Option<&Value>) -> Vec<u8> {
    let mut text = Vec::new();
    // A stored post's signature covers what it always did; an ephemeral one says so first, and
    // names its user, its post and its version, so that neither can pass for the other and an
    // ephemeral one holds for the post as it is now.
    if !scope.to.is_empty() {
        let parts = [
            "socket-mode ephemeral button v2",
            scope.to,
            scope.post_id,
            scope.version,
        ];
        for part in parts {
            string(part, &mut text);
            text.push(b'\n');
        }
    }
    for part in [
        "socket-mode button v1",
        scope.author,
        scope.channel_id,
        scope.root_id,
        scope.kind,
        scope.data_source,
    ] {
        string(part, &mut text);
        text.push(b'\n');
    }
    // The context as the bot posted it and as a click carries it back read the same here:
    // numbers are written from their float64 (`-0` as `0`), and `[]` as `null` ([`as_delivered`]'s
    // rules), so the context is written as it is, not copied and rewritten first
    // (`the_signed_text_is_the_text_signatures_were_made_over`).
    object(context.context, context.without, &mut text);
    text.push(b'\n');
    canonical(options.unwrap_or(&Value::Null), &mut text);
    text
}

/// One text for equal values, whatever their order of keys or their numbers' spelling:
/// object keys sorted, numbers as the `float64` Mattermost carries them, `[]` as `null` (what
/// the trip to the bot makes of it).
fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            use std::io::Write as _;
            // `-0` is written `0`: signatures made before this writer rewrote the context's
            // whole numbers to integers first (`as_delivered`), which took `-0` to `0`. A menu's
            // options are rewritten so before they are signed, so no signature covers a `-0`.
            let f = n.as_f64().unwrap_or_default();
            let f = if f == 0.0 { 0.0 } else { f };
            write!(out, "{f}").expect("a Vec takes every write");
        }
        Value::String(s) => string(s, out),
        Value::Array(a) if a.is_empty() => out.extend_from_slice(b"null"),
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        Value::Object(o) => object(o, &[], out),
    }
}

/// An object's canonical text, the keys `without` passed over. serde_json's `Map` is a
/// `BTreeMap` in this crate (no `preserve_order`), so its keys come sorted; the signature tests
/// give keys in other orders.
fn object(o: &Map<String, Value>, without: &[&str], out: &mut Vec<u8>) {
    out.push(b'{');
    let kept = o.iter().filter(|(k, _)| !without.contains(&k.as_str()));
    for (i, (k, v)) in kept.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(k, out);
        out.push(b':');
        canonical(v, out);
    }
    out.push(b'}');
}

/// A string as JSON writes it, quoted and escaped.
fn string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("a Vec takes every write");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BOT: &str = "bot1bot1bot1bot1bot1bot1b1";

    fn scope<'a>(channel: &'a str, kind: &'a str) -> Scope<'a> {
        Scope {
            author: BOT,
            channel_id: channel,
            root_id: "",
            kind,
            data_source: "",
            to: "",
            post_id: "",
            version: "",
        }
    }

    fn ctx(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_signature_verifies_for_the_same_button_and_nothing_else() {
        let key = Keyring::new([7; 16]);
        let c = ctx(json!({"user_id": BOT, "action": "approve", "n": 1.50, "tags": []}));
        let sig = sign(&key, &scope("chan1", "button"), &c, None);
        // As the click carries the context back: numbers through float64, [] as null, keys in
        // another order.
        let back = ctx(json!({"tags": null, "n": 1.5, "action": "approve", "user_id": BOT}));
        let ok = verify(&key, &scope("chan1", "button"), &back, &sig).unwrap();
        assert_eq!(ok.root_id, "");
        for (what, s, c) in [
            ("another channel", scope("chan2", "button"), back.clone()),
            ("a menu", scope("chan1", "select"), back.clone()),
            (
                "another context",
                scope("chan1", "button"),
                ctx(json!({"user_id": BOT, "action": "reject", "n": 1.5, "tags": null})),
            ),
        ] {
            assert!(verify(&key, &s, &c, &sig).is_none(), "{what}");
        }
        let other = Scope {
            author: "otherotherotherotherother1",
            ..scope("chan1", "button")
        };
        assert!(
            verify(&key, &other, &back, &sig).is_none(),
            "another author"
        );
    }

    /// The text a signature covers is the one the code before it wrote: that code rewrote the
    /// context with [`as_delivered`] first, and stored posts carry signatures made by it.
    #[test]
    fn the_signed_text_is_the_text_signatures_were_made_over() {
        // As a click's context is read (`-0` is a float's negative zero here), keys out of
        // order; the expected text is what the writer before this one gave for it.
        let context: Value = serde_json::from_str(
            r#"{"z": -0, "n": [1.50, 1e21, 9007199254740993, []], "a": "\u0001é\"", "K": {}}"#,
        )
        .unwrap();
        let mut text = Vec::new();
        object(context.as_object().unwrap(), &[], &mut text);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            r#"{"K":{},"a":"\u0001é\"","n":[1.5,1000000000000000000000,9007199254740992,null],"z":0}"#
        );

        // And it is the text of the rewritten context, whatever else the context holds.
        let context: Value = serde_json::from_str(
            r#"{"z": -0, "y": -0.0, "n": [1.50, 2e30, -7, [[]]], "e": [], "o": {"b": [], "a": "\u00e9\"\n"}}"#,
        )
        .unwrap();
        let mut rewritten = context.clone();
        as_delivered(&mut rewritten);
        let (mut before, mut now) = (Vec::new(), Vec::new());
        canonical(&rewritten, &mut before);
        object(context.as_object().unwrap(), &[], &mut now);
        assert_eq!(
            String::from_utf8(now).unwrap(),
            String::from_utf8(before).unwrap()
        );
    }

    #[test]
    fn a_rotated_key_or_a_tampered_signature_does_not_verify() {
        let key = Keyring::new([7; 16]);
        let c = ctx(json!({"user_id": BOT}));
        let sig = sign(&key, &scope("chan1", "button"), &c, None);
        assert!(verify(&Keyring::new([8; 16]), &scope("chan1", "button"), &c, &sig).is_none());
        let mut tampered = sig.clone();
        tampered["r"] = json!("otherroot");
        assert!(verify(&key, &scope("chan1", "button"), &c, &tampered).is_none());
        let mut options = sign(&key, &scope("chan1", "select"), &c, Some(vec![json!("eu")]));
        options["o"] = json!(["eu", "us"]);
        assert!(verify(&key, &scope("chan1", "select"), &c, &options).is_none());
        for junk in [
            json!(null),
            json!("v1"),
            json!({"v": 2}),
            json!({"v": 1, "k": key.id}),
        ] {
            assert!(verify(&key, &scope("chan1", "button"), &c, &junk).is_none());
        }
    }

    #[test]
    fn an_ephemeral_signature_names_its_user_and_cannot_pass_for_a_stored_one() {
        let key = Keyring::new([3; 16]);
        let c = ctx(json!({"user_id": BOT, "action": "confirm"}));
        let to = Scope {
            to: "alicealicealicealicealice1",
            post_id: "ephemeralpostephemeralpo1",
            version: "v1",
            ..scope("chan1", "button")
        };
        let sig = sign(&key, &to, &c, None);
        let ok = verify(&key, &scope("chan1", "button"), &c, &sig).unwrap();
        assert_eq!(ok.to, "alicealicealicealicealice1");
        assert_eq!(
            (ok.post_id.as_str(), ok.version.as_str()),
            ("ephemeralpostephemeralpo1", "v1")
        );
        for (what, field, forged) in [
            ("another user", "e", json!("bobbobbobbobbobbobbobbob01")),
            ("no user", "e", json!("")),
            ("not text", "e", json!(1)),
            ("another post", "p", json!("otherpostotherpostotherp01")),
            ("another version", "n", json!("v2")),
            ("no version", "n", json!("")),
        ] {
            let mut s = sig.clone();
            s[field] = forged;
            assert!(
                verify(&key, &scope("chan1", "button"), &c, &s).is_none(),
                "{what}"
            );
        }
        let mut stored = sig.clone();
        stored.as_object_mut().unwrap().remove("e");
        assert!(
            verify(&key, &scope("chan1", "button"), &c, &stored).is_none(),
            "passed off as a stored post's"
        );
    }

    #[test]
    fn signatures_made_before_1_1_with_the_keys_text_keep_verifying() {
        let key = Keyring::new([9; 16]);
        let c = ctx(json!({"user_id": BOT, "action": "approve"}));
        let new = sign(&key, &scope("chan1", "button"), &c, None);
        assert_eq!(
            new["v"],
            json!(2),
            "every new signature keys the MAC with the random bytes"
        );
        // A v 1 signature: the same text, the HMAC keyed by the key's hex text.
        let text = signed_text(&scope("chan1", "button"), (&c).into(), None);
        let old_mac = mac::hmac(key.secret.as_bytes(), &[&text]);
        let mut old = new.clone();
        old["v"] = json!(1);
        old["m"] = json!(hex::encode(old_mac));
        assert!(verify(&key, &scope("chan1", "button"), &c, &old).is_some());
        // Neither version's MAC passes for the other's.
        let mut swapped = new.clone();
        swapped["m"] = old["m"].clone();
        assert!(verify(&key, &scope("chan1", "button"), &c, &swapped).is_none());
        old["m"] = new["m"].clone();
        assert!(verify(&key, &scope("chan1", "button"), &c, &old).is_none());
        for v in [json!(0), json!(3), json!("2")] {
            let mut s = new.clone();
            s["v"] = v;
            assert!(verify(&key, &scope("chan1", "button"), &c, &s).is_none());
        }
    }

    #[test]
    fn a_stored_key_must_be_sixteen_bytes_of_hex() {
        let ok: Keyring = serde_json::from_value(
            json!({"id": "k1", "secret": "00112233445566778899aabbccddeeff"}),
        )
        .unwrap();
        assert_eq!(ok.bytes(Version::RandomBytes)[15], 0xff);
        for secret in ["", "0011", "zz112233445566778899aabbccddeeff"] {
            assert!(
                serde_json::from_value::<Keyring>(json!({"id": "k1", "secret": secret})).is_err()
            );
        }
        let back: Keyring = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
        assert_eq!(
            back.secret, ok.secret,
            "stored as before: id and hex secret"
        );
    }

    #[test]
    fn a_menu_signature_carries_its_options() {
        let key = Keyring::new([1; 16]);
        let c = ctx(json!({"user_id": BOT}));
        let sig = sign(
            &key,
            &scope("chan1", "select"),
            &c,
            Some(vec![json!("eu"), json!(2)]),
        );
        let ok = verify(&key, &scope("chan1", "select"), &c, &sig).unwrap();
        assert_eq!(ok.options, Some(vec![json!("eu"), json!(2)]));
    }
}
