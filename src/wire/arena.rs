//! The server wasm's allocator: a call's memory comes from an arena emptied when the next call
//! starts, and from the module's general allocator (dlmalloc) only past the arena's end.
//!
//! Why: a warm click makes about 280 allocations and frees nearly all of them before it
//! returns (about 32 KiB in all, 11 KiB live at most). Through dlmalloc they were a sixth of the
//! instructions the click runs in wasm; from the arena an allocation is an add and a compare,
//! and a free nothing at all, since the whole arena is taken back at once (docs/BENCHMARKS.md,
//! "Where a warm click's core work goes"). The core keeps nothing from one call to the next
//! but the inbox, the panic hook, the reply and the HMAC key states (`sign/mac.rs`, no heap),
//! and what is on the heap is made where the arena cannot hand it out:
//! - the inbox and the panic hook are made outside `Arena::open` … `Arena::close`, so they
//!   come from dlmalloc and live as long as the instance;
//! - the reply is made inside and lives in the arena until the next call, which drops it
//!   before `Arena::open` takes the arena back.
//!
//! Memory stays bounded: the arena is a fixed 64 KiB of the module's static memory,
//! and what does not fit (a large body's values, a growing vector that has left the arena's
//! end) goes to dlmalloc, which frees it as before.
//!
//! The bookkeeping is [`Bump`], plain arithmetic over addresses, so its rules are unit tested
//! natively; the global allocator wrapping it exists only in the server wasm.

/// A bump allocator's state over the addresses `start..end`: `next` is where the next block
/// goes, `last` where the latest block begins (it alone can grow or be given back in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bump {
    start: usize,
    end: usize,
    next: usize,
    last: usize,
    open: bool,
}

impl Bump {
    /// An arena over `start..end`, closed: it hands out nothing until [`Bump::open`].
    pub(crate) const fn new(start: usize, end: usize) -> Self {
        Bump {
            start,
            end,
            next: start,
            last: usize::MAX,
            open: false,
        }
    }

    /// Takes back everything handed out and starts handing out again from the start.
    pub(crate) fn open(&mut self) {
        self.next = self.start;
        self.last = usize::MAX;
        self.open = true;
    }

    /// Stops handing out; what was handed out stays valid until the next [`Bump::open`].
    pub(crate) fn close(&mut self) {
        self.open = false;
    }

    /// Whether `addr` is a block this arena handed out (freeing one is the arena's business).
    pub(crate) fn owns(&self, addr: usize) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// A block of `size` bytes aligned to `align` (a power of two), or `None` when the arena is
    /// closed or the block does not fit (the caller asks dlmalloc).
    pub(crate) fn alloc(&mut self, size: usize, align: usize) -> Option<usize> {
        if !self.open {
            return None;
        }
        let at = self.next.checked_add(align - 1)? & !(align - 1);
        let end = at.checked_add(size)?;
        if end > self.end {
            return None;
        }
        self.next = end;
        self.last = at;
        Some(at)
    }

    /// Gives a block back: the latest block's bytes are handed out again, any other's when the
    /// arena next opens.
    pub(crate) fn free(&mut self, addr: usize) {
        if addr == self.last {
            self.next = addr;
            self.last = usize::MAX;
        }
    }

    /// Resizes the latest block in place when it still fits; `false` for any other block (the
    /// caller moves it).
    pub(crate) fn resize_in_place(&mut self, addr: usize, new_size: usize) -> bool {
        match addr.checked_add(new_size) {
            Some(end) if self.open && addr == self.last && end <= self.end => {
                self.next = end;
                true
            }
            _ => false,
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "web")))]
pub(crate) use global::Arena;

#[cfg(all(target_arch = "wasm32", not(feature = "web")))]
mod global {
    use super::Bump;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;

    /// The arena's size. A warm click needs about 32 KiB; a dialog open or a lint of a large
    /// post outgrows any size and spills to dlmalloc past it. Kept small because every pooled
    /// instance carries it (an instance stays pooled below 2 MiB of memory).
    const ARENA_BYTES: usize = 64 * 1024;

    #[repr(C, align(16))]
    struct Space([u8; ARENA_BYTES]);

    /// The arena's bytes: static memory, zero in the module and never given to dlmalloc.
    static mut SPACE: Space = Space([0; ARENA_BYTES]);

    /// The module's allocator: [`Bump`] over `SPACE` while a call runs, dlmalloc otherwise
    /// and for whatever does not fit.
    pub(crate) struct Arena(UnsafeCell<Option<Bump>>);

    // SAFETY: a wasm instance runs one call at a time on one thread (no threads in the build).
    unsafe impl Sync for Arena {}

    #[global_allocator]
    static ARENA: Arena = Arena(UnsafeCell::new(None));

    impl Arena {
        /// The arena's state, made on first use (the static's address is known only then).
        #[allow(clippy::mut_from_ref)]
        fn bump(&self) -> &mut Bump {
            // SAFETY: one thread, and no caller keeps the reference across another call.
            let state = unsafe { &mut *self.0.get() };
            state.get_or_insert_with(|| {
                let start = std::ptr::addr_of!(SPACE) as usize;
                Bump::new(start, start + ARENA_BYTES)
            })
        }

        /// Starts a call: every block of the previous call is taken back. The previous reply
        /// must have been dropped already.
        pub(crate) fn open() {
            ARENA.bump().open();
        }

        /// Ends a call: the reply stays in the arena; nothing more is handed out from it.
        pub(crate) fn close() {
            ARENA.bump().close();
        }
    }

    // Never inlined: inlined, the allocator grew the module's code by a sixth (every allocation
    // site carried it), and a cold call pays for code in cache misses.
    unsafe impl GlobalAlloc for Arena {
        #[inline(never)]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match self.bump().alloc(layout.size(), layout.align()) {
                Some(at) => at as *mut u8,
                None => System.alloc(layout),
            }
        }

        #[inline(never)]
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            match self.bump().alloc(layout.size(), layout.align()) {
                Some(at) => {
                    // The arena's bytes are reused from call to call: zero them.
                    std::ptr::write_bytes(at as *mut u8, 0, layout.size());
                    at as *mut u8
                }
                None => System.alloc_zeroed(layout),
            }
        }

        #[inline(never)]
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let bump = self.bump();
            if bump.owns(ptr as usize) {
                bump.free(ptr as usize);
            } else {
                System.dealloc(ptr, layout);
            }
        }

        #[inline(never)]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let bump = self.bump();
            if !bump.owns(ptr as usize) {
                return System.realloc(ptr, layout, new_size);
            }
            if bump.resize_in_place(ptr as usize, new_size) {
                return ptr;
            }
            // Moved: to a new arena block if one fits, else to dlmalloc. The old block is the
            // arena's until it next opens.
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
            }
            moved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bump;

    fn open(start: usize, end: usize) -> Bump {
        let mut bump = Bump::new(start, end);
        bump.open();
        bump
    }

    #[test]
    fn a_closed_arena_hands_out_nothing() {
        let mut bump = Bump::new(1024, 2048);
        assert_eq!(bump.alloc(8, 8), None);
        bump.open();
        assert_eq!(bump.alloc(8, 8), Some(1024));
        bump.close();
        assert_eq!(bump.alloc(8, 8), None);
        assert!(!bump.resize_in_place(1024, 16), "closed: nothing grows");
    }

    #[test]
    fn blocks_are_aligned_and_do_not_overlap() {
        let mut bump = open(1000, 2000);
        let a = bump.alloc(3, 1).unwrap();
        let b = bump.alloc(8, 8).unwrap();
        let c = bump.alloc(1, 16).unwrap();
        assert_eq!((a, b, c), (1000, 1008, 1024));
    }

    #[test]
    fn what_does_not_fit_is_refused_and_the_arena_goes_on() {
        let mut bump = open(0, 64);
        assert_eq!(bump.alloc(65, 1), None);
        assert_eq!(bump.alloc(usize::MAX, 1), None, "no overflow");
        assert_eq!(bump.alloc(64, 1), Some(0), "a refusal takes nothing");
        assert_eq!(bump.alloc(1, 1), None);
    }

    #[test]
    fn only_the_latest_block_grows_in_place_or_is_given_back() {
        let mut bump = open(0, 100);
        let a = bump.alloc(10, 1).unwrap();
        let b = bump.alloc(10, 1).unwrap();
        assert!(
            !bump.resize_in_place(a, 20),
            "a block with another after it moves"
        );
        assert!(bump.resize_in_place(b, 30));
        assert_eq!(
            bump.alloc(1, 1),
            Some(40),
            "the grown block's bytes are kept"
        );
        assert!(!bump.resize_in_place(b, 31), "no longer the latest");
        let c = bump.alloc(5, 1).unwrap();
        bump.free(c);
        assert_eq!(
            bump.alloc(5, 1),
            Some(c),
            "the latest block given back is reused"
        );
        bump.free(a);
        assert_eq!(
            bump.alloc(1, 1),
            Some(46),
            "another block waits for the next call"
        );
        assert!(!bump.resize_in_place(46, 60), "past the end: moved");
    }

    #[test]
    fn opening_takes_everything_back() {
        let mut bump = open(0, 100);
        bump.alloc(90, 1).unwrap();
        assert_eq!(bump.alloc(20, 1), None);
        bump.open();
        assert_eq!(bump.alloc(20, 1), Some(0));
        assert!(bump.owns(0) && bump.owns(99) && !bump.owns(100));
    }
}
