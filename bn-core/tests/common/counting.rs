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

/// Runs `workloads` on every instruction set this CPU has: the detected level, then AVX2 and
/// the portable loops where they are lower (`set_simd_level` is process-wide, so a binary that
/// uses this has a single `#[test]`), passing the level's name. Checks first that the counter
/// counts (so that a zero means zero). Nothing runs before the first round, so the one-time
/// detection of the level happens inside its counted calls; unless `BN_SIMD` is set:
/// detection then reads it, allocating a copy of its value once, so it detects first.
pub fn on_every_level(mut workloads: impl FnMut(&str)) {
    use bn_core::kernels::{detected_simd_level, set_simd_level, simd_level, SimdLevel};
    let ((), a, d) = count(|| drop(std::hint::black_box(Box::new(std::hint::black_box(7u64)))));
    assert!(a >= 1 && d >= 1, "the counter counts: {a} allocations, {d} deallocations");
    if std::env::var_os("BN_SIMD").is_some() {
        detected_simd_level();
    }
    workloads("detected level");
    for level in [SimdLevel::Avx2, SimdLevel::Portable] {
        if level < detected_simd_level() {
            assert_eq!(set_simd_level(level), level);
            assert_eq!(simd_level(), level);
            workloads(level.name());
        }
    }
}
