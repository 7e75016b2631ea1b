//! The one reader of request bodies: every endpoint takes its body through here, so the same
//! mistake gets the same refusal everywhere.

use crate::input::{Body, Request};
use crate::json::Checked;
use crate::refusal::Refusal;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

/// The largest request body the plugin reads; the shim stops reading one byte past it.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A JSON object body, kept as the exact text of each top-level value: what is only passed
/// through is never re-encoded, and only the fields a rule reads are parsed.
#[derive(Debug, Default)]
pub(crate) struct Fields<'a>(BTreeMap<String, &'a RawValue>);

/// Reads `request`'s body: within [`MAX_BODY_BYTES`], UTF-8, JSON whose every value passed
/// [`Checked`], and an object.
pub(crate) fn fields<'a>(request: &Request<'a>) -> Result<Fields<'a>, Refusal> {
    let text = text(request)?;
    serde_json::from_str(text)
        .map(Fields)
        .map_err(|_| Refusal::BadField {
            field: "body",
            expected: "a JSON object",
        })
}

/// `request`'s body as checked JSON text: within [`MAX_BODY_BYTES`], UTF-8, every value passed
/// [`Checked`].
pub(crate) fn text<'a>(request: &Request<'a>) -> Result<&'a str, Refusal> {
    let bytes = match request.body {
        Body::Complete(bytes) if bytes.len() <= MAX_BODY_BYTES => bytes,
        _ => {
            return Err(Refusal::BodyTooLarge {
                limit: MAX_BODY_BYTES,
            })
        }
    };
    let text = std::str::from_utf8(bytes).map_err(|e| Refusal::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    match serde_json::from_str::<Checked>(text) {
        Ok(Checked) => {}
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
            return Err(Refusal::TooDeep)
        }
        Err(e) => {
            return Err(Refusal::InvalidJson {
                detail: e.to_string(),
            })
        }
    }
    Ok(text)
}

impl<'a> Fields<'a> {
    /// Every top-level key with its value's exact text.
    pub(crate) fn raw(&self) -> &BTreeMap<String, &'a RawValue> {
        &self.0
    }

    /// The value of `field` read as `T`; `None` when the key is missing or `null`, a
    /// [`Refusal::BadField`] saying `expected` when it has another type.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>, Refusal> {
        match self.0.get(field) {
            None => Ok(None),
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => serde_json::from_str(raw.get())
                .map(Some)
                .map_err(|_| Refusal::BadField { field, expected }),
        }
    }

    /// [`Fields::get`] for a field that must be present.
    pub(crate) fn require<T: DeserializeOwned>(
        &self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<T, Refusal> {
        self.get(field, expected)?
            .ok_or(Refusal::BadField { field, expected })
    }

    /// The exact text of `field`, when present and not `null`.
    pub(crate) fn raw_value(&self, field: &str) -> Option<&'a RawValue> {
        self.0.get(field).copied().filter(|raw| raw.get() != "null")
    }

    /// The value of `field` parsed as any JSON (`null` included), for rules that walk it.
    pub(crate) fn value(&self, field: &str) -> Option<Value> {
        self.0
            .get(field)
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}
