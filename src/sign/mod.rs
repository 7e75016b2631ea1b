//! Signed buttons (SPEC §10).
pub(crate) mod sha256;
