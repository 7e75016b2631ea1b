//! The exports of the server wasm module: an allocator pair and one entry point.
//!
//! Memory ownership, in one place:
//! - The host asks [`alloc`] for a buffer, writes into it and passes it to [`handle`], which
//!   takes ownership and frees it. The host never frees an input buffer itself.
//! - [`handle`] returns a buffer the core allocated, packed as `(ptr << 32) | len`. The host
//!   copies it out and gives it back with [`dealloc`].
//! - On a panic the module traps; the message is left at [`panic_message`]'s address (a
//!   little-endian `u32` length, then UTF-8) for the host to log. A trapped instance must be
//!   closed, never called again: its stack pointer and heap are no longer trustworthy.
//!
//! The module imports nothing: no WASI, no host functions.

use crate::wire::envelope::handle_call;
use std::sync::Once;

/// Allocates `len` bytes for the host to fill; 0 when `len` is 0.
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> u32 {
    if len == 0 {
        return 0;
    }
    let mut buf = Vec::<u8>::with_capacity(len as usize);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr as u32
}

/// Frees a buffer of `len` bytes that [`alloc`] or [`handle`] gave out.
///
/// # Safety
/// `ptr` and `len` must be exactly what [`alloc`] or [`handle`] returned, and freed once.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: u32, len: u32) {
    if len != 0 {
        drop(Vec::from_raw_parts(ptr as *mut u8, 0, len as usize));
    }
}

/// Runs one call: `input` is a `Call` document, `body` the HTTP body (length 0 for none).
/// Takes ownership of both buffers; returns the reply as `(ptr << 32) | len`.
///
/// # Safety
/// Each buffer must come from [`alloc`] with exactly that length, and be filled by the host.
#[no_mangle]
pub unsafe extern "C" fn handle(
    input_ptr: u32,
    input_len: u32,
    body_ptr: u32,
    body_len: u32,
) -> u64 {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(record_panic)));

    let input = owned(input_ptr, input_len);
    let body = owned(body_ptr, body_len);
    let reply = handle_call(&input, &body).into_boxed_slice();
    let len = reply.len() as u64;
    let ptr = Box::into_raw(reply) as *mut u8 as u64;
    (ptr << 32) | len
}

unsafe fn owned(ptr: u32, len: u32) -> Vec<u8> {
    if len == 0 {
        Vec::new()
    } else {
        Vec::from_raw_parts(ptr as *mut u8, len as usize, len as usize)
    }
}

/// Where the last panic's message is kept: a `u32` length, then up to 1 KiB of UTF-8.
static mut PANIC_MESSAGE: [u8; 4 + 1024] = [0; 4 + 1024];

/// The address of the panic message buffer. Ask once, before any call can trap.
#[no_mangle]
pub extern "C" fn panic_message() -> u32 {
    std::ptr::addr_of!(PANIC_MESSAGE) as u32
}

fn record_panic(info: &std::panic::PanicHookInfo<'_>) {
    let text = info.to_string();
    let mut n = text.len().min(1024);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: a wasm instance runs one call at a time, and nothing else touches the buffer.
    unsafe {
        let buf = &mut *std::ptr::addr_of_mut!(PANIC_MESSAGE);
        buf[..4].copy_from_slice(&(n as u32).to_le_bytes());
        buf[4..4 + n].copy_from_slice(&text.as_bytes()[..n]);
    }
}
