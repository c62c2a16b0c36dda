//! A counting global allocator shared by the zero-allocation tests. Each test binary
//! installs it with `#[global_allocator] static GLOBAL: CountingAllocator = CountingAllocator;`
//! and measures with [`count`]. Only allocations made on the calling thread while it is
//! *armed* count (the flag is thread-local).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Forwards to `System`, counting while armed.
pub struct CountingAllocator;

/// Allocations (`alloc`, `alloc_zeroed`, `realloc`) made while armed.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Deallocations made while armed.
static DEALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const`-initialized, no destructor: reading it never allocates, so the allocator
    // can use it.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn armed() -> bool {
    ARMED.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counters have no effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if armed() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's guarantees (non-zero size).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if armed() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if armed() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if armed() {
            DEALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` armed and returns its result with the allocations and deallocations it made.
pub fn count<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let (a0, d0) = (ALLOCATIONS.load(Ordering::SeqCst), DEALLOCATIONS.load(Ordering::SeqCst));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (r, ALLOCATIONS.load(Ordering::SeqCst) - a0, DEALLOCATIONS.load(Ordering::SeqCst) - d0)
}
