//! The instruction set the `f32` kernels run on: [`SimdLevel`], detected once per process and
//! cached, lowered on request, and the [`Supported`] token that proves a level to the SIMD
//! entry points.

/// The instruction set that the `f32` kernels run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Plain Rust loops (what `f64` and the `portable` feature always use).
    Portable,
    /// AVX2 and FMA: 8 lanes of `f32`.
    Avx2,
    /// AVX-512F and AVX-512VL: 16 lanes of `f32` (the dot products of the forward use 8 lanes
    /// and 32 registers).
    Avx512,
}

impl SimdLevel {
    /// `"portable"`, `"avx2"` or `"avx512"`.
    pub const fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The `f32` lanes of one vector (1 for the portable path).
    pub const fn lanes(self) -> usize {
        match self {
            SimdLevel::Portable => 1,
            SimdLevel::Avx2 => 8,
            SimdLevel::Avx512 => 16,
        }
    }
}

/// The environment variable that caps the detected level (with `std`): `avx512`, `avx2` or
/// `portable`.
#[cfg_attr(not(all(x86_simd, feature = "std")), allow(dead_code))]
pub(crate) const ENV: &str = "BN_SIMD";

/// The level a value of [`ENV`] names; `None` for any other value (which caps nothing).
#[cfg_attr(not(all(x86_simd, feature = "std")), allow(dead_code))]
pub(crate) fn ceiling(value: &str) -> Option<SimdLevel> {
    match value {
        "avx512" => Some(SimdLevel::Avx512),
        "avx2" => Some(SimdLevel::Avx2),
        "portable" => Some(SimdLevel::Portable),
        _ => None,
    }
}

#[cfg(x86_simd)]
mod cached {
    use super::SimdLevel;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0: not detected yet; otherwise `1 + level`.
    static CURRENT: AtomicU8 = AtomicU8::new(0);
    /// What the CPU supports (same encoding).
    static DETECTED: AtomicU8 = AtomicU8::new(0);

    fn encode(l: SimdLevel) -> u8 {
        1 + l as u8
    }

    fn decode(v: u8) -> SimdLevel {
        match v {
            3 => SimdLevel::Avx512,
            2 => SimdLevel::Avx2,
            _ => SimdLevel::Portable,
        }
    }

    #[cfg(feature = "std")]
    fn detect() -> SimdLevel {
        let cpu = if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") {
            SimdLevel::Avx512
        } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            SimdLevel::Avx2
        } else {
            SimdLevel::Portable
        };
        // `var_os` allocates only when the variable is set (a copy of its value).
        match std::env::var_os(super::ENV).as_deref().and_then(std::ffi::OsStr::to_str).and_then(super::ceiling) {
            Some(ceiling) => cpu.min(ceiling),
            None => cpu,
        }
    }

    #[cfg(not(feature = "std"))]
    fn detect() -> SimdLevel {
        if cfg!(all(target_feature = "avx512f", target_feature = "avx512vl")) {
            SimdLevel::Avx512
        } else if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
            SimdLevel::Avx2
        } else {
            SimdLevel::Portable
        }
    }

    pub fn detected() -> SimdLevel {
        match DETECTED.load(Ordering::Relaxed) {
            0 => {
                let l = detect();
                DETECTED.store(encode(l), Ordering::Relaxed);
                l
            }
            v => decode(v),
        }
    }

    #[inline(always)]
    pub fn current() -> SimdLevel {
        match CURRENT.load(Ordering::Relaxed) {
            0 => {
                let l = detected();
                // Keep a level set by `set` in the meantime.
                let _ = CURRENT.compare_exchange(0, encode(l), Ordering::Relaxed, Ordering::Relaxed);
                decode(CURRENT.load(Ordering::Relaxed))
            }
            v => decode(v),
        }
    }

    pub fn set(l: SimdLevel) -> SimdLevel {
        let l = l.min(detected());
        CURRENT.store(encode(l), Ordering::Relaxed);
        l
    }
}

/// Without SIMD code (the `portable` feature, or not `x86_64`) every level is portable, as a
/// constant, so the dispatch folds away.
#[cfg(not(x86_simd))]
mod cached {
    use super::SimdLevel;
    pub fn detected() -> SimdLevel {
        SimdLevel::Portable
    }
    #[inline(always)]
    pub fn current() -> SimdLevel {
        SimdLevel::Portable
    }
    pub fn set(_: SimdLevel) -> SimdLevel {
        SimdLevel::Portable
    }
}

/// The instruction set the `f32` kernels use: the best one the CPU has (detected once,
/// capped by `BN_SIMD`, see [`detected_simd_level`]), unless lowered by [`set_simd_level`]. Always [`SimdLevel::Portable`] with the crate
/// feature `portable` or off `x86_64`.
#[inline]
pub fn simd_level() -> SimdLevel {
    cached::current()
}

/// The best instruction set this CPU supports (ignoring [`set_simd_level`]), capped by the
/// environment variable `BN_SIMD` when it is set to `avx2` or `portable` (with `std`; read
/// once, at the first kernel call, which then allocates a copy of its value once): so
/// `BN_SIMD=avx2 cargo test` runs a whole test suite as on a CPU without AVX-512, and
/// `BN_SIMD=portable` without SIMD. Other values cap nothing.
pub fn detected_simd_level() -> SimdLevel {
    cached::detected()
}

/// Makes the `f32` kernels use `level`, or the best level the CPU has if that is lower;
/// returns the level now in use. For benchmarks and tests of the fallback paths: it is
/// process-wide, so call it before computing (results of different levels differ in the
/// last bits).
pub fn set_simd_level(level: SimdLevel) -> SimdLevel {
    cached::set(level)
}

/// A [`SimdLevel`] that this CPU supports. Made only by [`Supported::current`] (the level
/// in use, which never exceeds the detected one) and [`Supported::new`] (which checks), so
/// the SIMD entry points may rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Supported(SimdLevel);

impl Supported {
    /// The level in use ([`simd_level`]).
    #[inline(always)]
    pub(crate) fn current() -> Self {
        Supported(simd_level())
    }

    /// `level`, which must not exceed [`detected_simd_level`] (panics otherwise).
    #[allow(dead_code)]
    pub(crate) fn new(level: SimdLevel) -> Self {
        assert!(level <= detected_simd_level(), "{level:?} is not supported by this CPU");
        Supported(level)
    }

    /// The level.
    #[cfg_attr(not(x86_simd), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn get(self) -> SimdLevel {
        self.0
    }
}
