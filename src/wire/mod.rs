//! The core's boundaries: the JSON documents the server shim exchanges with it
//! ([`envelope`]), the server wasm's exports (`ffi.rs`) and the browser build's API (`web.rs`).

pub mod envelope;

// The server wasm's per-call allocator; its bookkeeping is unit tested natively.
#[cfg(any(test, all(target_arch = "wasm32", not(feature = "web"))))]
mod arena;

#[cfg(all(target_arch = "wasm32", not(feature = "web")))]
#[allow(unreachable_pub)]
// `#[no_mangle]` exports are reached through the module, not through Rust paths.
mod ffi;

#[cfg(feature = "web")]
pub mod web;
