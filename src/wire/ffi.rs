//! The exports of the server wasm module: one entry point, the buffer it reads from, and the
//! panic message.
//!
//! One call into the core is one exported call: the host writes the call document, the
//! answers beside it and the body, one after the other, into the instance's *inbox* and calls
//! [`handle`] with their lengths. Memory ownership, in one place:
//! - The inbox belongs to the core and lives as long as the instance. [`inbox`] makes it hold
//!   at least `len` bytes and says where it is; the host asks once when the instance starts,
//!   and again only for a call larger than it (then two exported calls, not one). The host
//!   writes into it and never frees it.
//! - [`handle`] returns the reply as `(ptr << 32) | len`: a buffer the core keeps until the
//!   next call, when it frees it. The host copies it out before calling again.
//! - On a panic the module traps; the message is left at [`panic_message`]'s address (a
//!   little-endian `u32` length, then UTF-8) for the host to log. A trapped instance must be
//!   closed, never called again: its stack pointer and heap are no longer trustworthy.
//!
//! The build meters the module's loops (`tools/fuel`): the host sets the exported `fuel`
//! global before a call, and a call that spends it traps.
//!
//! A call's allocations come from an arena taken back when the next call starts (`arena.rs`).
//!
//! The module imports nothing: no WASI, no host functions.

use crate::wire::arena::Arena;
use crate::wire::envelope::handle_call;
use std::sync::Once;

/// The buffer the host writes each call into, and the last reply, kept until the next call.
/// A wasm instance runs one call at a time on one thread: nothing else touches them.
static mut INBOX: Vec<u8> = Vec::new();
static mut REPLY: Vec<u8> = Vec::new();

/// Makes the inbox hold at least `len` bytes; returns its address (0 when it cannot grow).
#[no_mangle]
pub extern "C" fn inbox(len: u32) -> u32 {
    // SAFETY: one call at a time (see INBOX); no reference to the inbox outlives this call.
    let inbox = unsafe { &mut *std::ptr::addr_of_mut!(INBOX) };
    let len = len as usize;
    if inbox.len() < len {
        // Grown to what was asked, never in advance: an instance that grew past its memory
        // budget serving one large call is replaced by the host.
        if inbox.try_reserve_exact(len - inbox.len()).is_err() {
            return 0;
        }
        inbox.resize(len, 0);
    }
    inbox.as_mut_ptr() as u32
}

/// Runs one call: the inbox holds a `Call` document of `doc_len` bytes, then the answers beside
/// it, `attached_len` bytes (0 for none), then the HTTP body, `body_len` bytes (0 for none).
/// Returns the reply as `(ptr << 32) | len`, valid until the next call; `0` when the lengths do
/// not fit the inbox (a host bug).
#[no_mangle]
pub extern "C" fn handle(doc_len: u32, attached_len: u32, body_len: u32) -> u64 {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(record_panic)));

    // SAFETY: one call at a time (see INBOX); the references end before this call returns.
    let (inbox, reply) = unsafe {
        (
            &*std::ptr::addr_of!(INBOX),
            &mut *std::ptr::addr_of_mut!(REPLY),
        )
    };
    let [doc_len, attached_len, body_len] = [doc_len, attached_len, body_len].map(|n| n as usize);
    let Some(end) = doc_len
        .checked_add(attached_len)
        .and_then(|n| n.checked_add(body_len))
        .filter(|&n| n <= inbox.len())
    else {
        return 0;
    };
    let (doc, rest) = inbox[..end].split_at(doc_len);
    let (attached, body) = rest.split_at(attached_len);
    // The previous reply is dropped before the arena it lives in is taken back; the call's
    // memory, its reply included, comes from the arena (`arena.rs`).
    drop(std::mem::take(reply));
    Arena::open();
    *reply = handle_call(doc, attached, body);
    Arena::close();
    let (ptr, len) = (reply.as_ptr() as u64, reply.len() as u64);
    (ptr << 32) | len
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
