//! Counting the heap allocations of a closure, for the zero-allocation tests of bn-core and of
//! the workspace (`tests/zero_alloc_workloads.rs` includes this file too): a thin layer over
//! the `allocation-counter` crate. Its global allocator forwards to the system allocator and
//! counts, per thread, every `alloc`, `alloc_zeroed` and `realloc` (the last two through the
//! provided methods of `GlobalAlloc`, which call its `alloc`) and every `dealloc`.
//!
//! Linking the crate installs that allocator, so only the zero-allocation test binaries
//! declare this module, each with `#[path]` (it is not part of `mod common`). Only the calling
//! thread's allocations count: the test harness and other tests never add to a count.
#![allow(dead_code)] // each binary uses what it needs

/// Runs `f` and returns its result with the allocations and deallocations it made on this
/// thread.
pub fn count<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let mut out = None;
    let info = allocation_counter::measure(|| out = Some(f()));
    // `count_current` is the allocations minus the deallocations.
    let allocations = usize::try_from(info.count_total).expect("a count");
    let deallocations = usize::try_from(i64::try_from(info.count_total).expect("a count") - info.count_current)
        .expect("no more deallocations than allocations plus live blocks");
    (out.expect("`measure` runs the closure"), allocations, deallocations)
}

/// Runs `f`; asserts that it neither allocated nor freed.
#[track_caller]
pub fn assert_no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let (r, a, d) = count(f);
    assert_eq!((a, d), (0, 0), "{what}: {a} allocations, {d} deallocations");
    r
}
