//! The element-wise kernels: sigmoid, Batch Normalization, and whole functions compiled for an instruction set.

use core::array::from_fn;

use generic_array::ArrayLength;

use super::avx2::Avx2;
use super::avx512::{sigmoid8, Avx512};
use super::vector::Simd;

/// The `f32` lanes of an AVX-512 vector.
const AVX512_LANES: usize = 16;
/// The `f32` lanes of an AVX2 vector (and of AVX-512VL's 256-bit one).
const AVX2_LANES: usize = 8;

/// Vectors of features in flight in the BN kernels (independent per-feature sums hide the
/// add latency): forward AVX-512, forward AVX2, backward AVX-512, backward AVX2.
const BN_FWD_GROUP_AVX512: usize = 4;
/// See [`BN_FWD_GROUP_AVX512`].
const BN_FWD_GROUP_AVX2: usize = 2;
/// See [`BN_FWD_GROUP_AVX512`].
const BN_BWD_GROUP_AVX512: usize = 2;
/// See [`BN_FWD_GROUP_AVX512`].
const BN_BWD_GROUP_AVX2: usize = 1;

// ---- sigmoid ----

/// `y[i] = f(x[i])` for `i < n`, `L` lanes of `S` at a time; `x` and `y` may be the same
/// pointer (each element is read before it is written, and no other).
///
/// # Safety
/// The CPU supports `S`'s instruction set (the callers are compiled for it); `x` valid for
/// `n` reads and `y` for `n` writes, equal or not overlapping; `f` is safe to call on any
/// vector.
#[inline(always)]
unsafe fn map<S: Simd, const L: usize>(x: *const f32, y: *mut f32, n: usize, f: impl Fn(S::V) -> S::V) {
    let mut i = 0;
    while i + L <= n {
        S::store(y.add(i), f(S::load(x.add(i))));
        i += L;
    }
    if i < n {
        S::store_n(y.add(i), f(S::load_n(x.add(i), n - i)), n - i);
    }
}

/// # Safety
/// AVX-512F and AVX-512VL; `x` and `y` valid for `n` elements, equal or not overlapping.
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn sigmoid_avx512(x: *const f32, y: *mut f32, n: usize) {
    if n >= SIGMOID_WIDE_FROM {
        return map::<Avx512, AVX512_LANES>(x, y, n, |v| Avx512::sigmoid(v));
    }
    // A short row (one sample's layer): latency-bound, so 8 lanes at a time (see `sigmoid8`;
    // the same values).
    map::<Avx2, AVX2_LANES>(x, y, n, |v| sigmoid8(v))
}

/// From this many elements on, the AVX-512 sigmoid uses 16-lane vectors (fewer instructions
/// for the same work); below, 8-lane ones.
pub const SIGMOID_WIDE_FROM: usize = 128;

/// # Safety
/// AVX2 and FMA; pointers as for [`sigmoid_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sigmoid_avx2(x: *const f32, y: *mut f32, n: usize) {
    map::<Avx2, AVX2_LANES>(x, y, n, |v| Avx2::sigmoid(v))
}

// ---- Batch Normalization: `BatchNorm`'s scalar formulas, 16 (8) features at a time ----

/// The operands of a BN training forward over `rows × n` row-major inputs: `x`, `y`
/// (`rows·n` elements), `gamma`, `beta` and the five cache vectors (`n` each).
#[derive(Clone, Copy)]
pub struct BnFwd {
    pub rows: usize,
    pub n: usize,
    pub eps: f32,
    pub x: *const f32,
    pub gamma: *const f32,
    pub beta: *const f32,
    pub y: *mut f32,
    pub mean: *mut f32,
    pub var: *mut f32,
    pub inv_std: *mut f32,
    pub shift: *mut f32,
    pub delta: *mut f32,
}

/// The operands of a BN backward: `x`, `dy`, `dx` (`rows·n`), `gamma` and the cache
/// vectors `inv_std`, `shift`, `delta`, the outputs `dgamma`, `dbeta` (`n` each).
#[derive(Clone, Copy)]
pub struct BnBwd {
    pub rows: usize,
    pub n: usize,
    pub x: *const f32,
    pub dy: *const f32,
    pub gamma: *const f32,
    pub inv_std: *const f32,
    pub shift: *const f32,
    pub delta: *const f32,
    pub dx: *mut f32,
    pub dgamma: *mut f32,
    pub dbeta: *mut f32,
}

/// Loads `w ≤ L` lanes.
///
/// # Safety
/// The CPU supports `S`'s instruction set; `w ≤ L`; `p` valid for `w` reads.
#[inline(always)]
unsafe fn ld<S: Simd, const L: usize>(p: *const f32, w: usize) -> S::V {
    if w == L {
        S::load(p)
    } else {
        S::load_n(p, w)
    }
}

/// Stores `w ≤ L` lanes.
///
/// # Safety
/// The CPU supports `S`'s instruction set; `w ≤ L`; `p` valid for `w` writes.
#[inline(always)]
unsafe fn st<S: Simd, const L: usize>(p: *mut f32, v: S::V, w: usize) {
    if w == L {
        S::store(p, v)
    } else {
        S::store_n(p, v, w)
    }
}

/// Features `k0 .. k0 + (G−1)·L + last`: shifted two-pass statistics, then normalize.
///
/// # Safety
/// The CPU supports `S`'s instruction set; `1 ≤ last ≤ L`, `k0 + (G−1)·L + last ≤ a.n`;
/// every pointer of `a` valid for its extent (see [`BnFwd`]), the outputs exclusive.
#[inline(always)]
unsafe fn bn_fwd_group<S: Simd, const L: usize, const G: usize>(a: BnFwd, k0: usize, last: usize) {
    let w = |g: usize| if g + 1 == G { last } else { L };
    let m = S::splat(a.rows as f32);
    let shift: [S::V; G] = from_fn(|g| ld::<S, L>(a.x.add(k0 + g * L), w(g)));
    let mut delta = [S::zero(); G];
    for r in 0..a.rows {
        let xr = a.x.add(r * a.n + k0);
        for g in 0..G {
            delta[g] = S::add(delta[g], S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]));
        }
    }
    for d in delta.iter_mut() {
        *d = S::div(*d, m);
    }
    let (mut q, mut sum) = ([S::zero(); G], [S::zero(); G]);
    for r in 0..a.rows {
        let xr = a.x.add(r * a.n + k0);
        for g in 0..G {
            let d = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
            q[g] = S::add(q[g], S::mul(d, d));
            sum[g] = S::add(sum[g], d);
        }
    }
    let (eps, one) = (S::splat(a.eps), S::splat(1.0));
    let mut inv = [S::zero(); G];
    for g in 0..G {
        let v = S::pos(S::div(S::sub(q[g], S::div(S::mul(sum[g], sum[g]), m)), m));
        inv[g] = S::div(one, S::sqrt(S::add(v, eps)));
        let o = k0 + g * L;
        st::<S, L>(a.mean.add(o), S::add(shift[g], delta[g]), w(g));
        st::<S, L>(a.var.add(o), v, w(g));
        st::<S, L>(a.inv_std.add(o), inv[g], w(g));
        st::<S, L>(a.shift.add(o), shift[g], w(g));
        st::<S, L>(a.delta.add(o), delta[g], w(g));
    }
    // y = (x − shift)·scale + offset, scale = γ·inv, offset = β − scale·delta.
    let scale: [S::V; G] = from_fn(|g| S::mul(ld::<S, L>(a.gamma.add(k0 + g * L), w(g)), inv[g]));
    let offset: [S::V; G] = from_fn(|g| S::sub(ld::<S, L>(a.beta.add(k0 + g * L), w(g)), S::mul(scale[g], delta[g])));
    for r in 0..a.rows {
        let (xr, yr) = (a.x.add(r * a.n + k0), a.y.add(r * a.n + k0));
        for g in 0..G {
            let xs = S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]);
            st::<S, L>(yr.add(g * L), S::add(S::mul(xs, scale[g]), offset[g]), w(g));
        }
    }
}

/// Features `k0 .. k0 + (G−1)·L + last` of the backward.
///
/// # Safety
/// The CPU supports `S`'s instruction set; `1 ≤ last ≤ L`, `k0 + (G−1)·L + last ≤ a.n`;
/// every pointer of `a` valid for its extent (see [`BnBwd`]), the outputs exclusive.
#[inline(always)]
unsafe fn bn_bwd_group<S: Simd, const L: usize, const G: usize>(a: BnBwd, k0: usize, last: usize) {
    let w = |g: usize| if g + 1 == G { last } else { L };
    let m = S::splat(a.rows as f32);
    let vec = |p: *const f32| -> [S::V; G] { from_fn(|g| ld::<S, L>(p.add(k0 + g * L), w(g))) };
    let (shift, delta, inv, gamma) = (vec(a.shift), vec(a.delta), vec(a.inv_std), vec(a.gamma));
    // Σ dy·(x−μ), Σ dy, Σ (x−μ): γ and 1/σ factor out of the paper's sums.
    let (mut s_dy_xc, mut s_dy, mut s_xc) = ([S::zero(); G], [S::zero(); G], [S::zero(); G]);
    for r in 0..a.rows {
        let (xr, dyr) = (a.x.add(r * a.n + k0), a.dy.add(r * a.n + k0));
        for g in 0..G {
            let xc = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
            let dy = ld::<S, L>(dyr.add(g * L), w(g));
            s_dy_xc[g] = S::add(s_dy_xc[g], S::mul(dy, xc));
            s_dy[g] = S::add(s_dy[g], dy);
            s_xc[g] = S::add(s_xc[g], xc);
        }
    }
    let (two, mhalf, mtwo) = (S::splat(2.0), S::splat(-0.5), S::splat(-2.0));
    let (mut dvar2_m, mut dmu_m, mut gamma_inv) = ([S::zero(); G], [S::zero(); G], [S::zero(); G]);
    for g in 0..G {
        let o = k0 + g * L;
        let is = inv[g];
        st::<S, L>(a.dgamma.add(o), S::mul(s_dy_xc[g], is), w(g));
        st::<S, L>(a.dbeta.add(o), s_dy[g], w(g));
        let (s_dxhat_xc, s_dxhat) = (S::mul(gamma[g], s_dy_xc[g]), S::mul(gamma[g], s_dy[g]));
        let dvar = S::mul(S::mul(S::mul(S::mul(s_dxhat_xc, mhalf), is), is), is);
        let dmu = S::add(S::mul(S::neg(s_dxhat), is), S::div(S::mul(S::mul(dvar, mtwo), s_xc[g]), m));
        dvar2_m[g] = S::div(S::mul(dvar, two), m);
        dmu_m[g] = S::div(dmu, m);
        gamma_inv[g] = S::mul(gamma[g], is);
    }
    for r in 0..a.rows {
        let (xr, dyr, dxr) = (a.x.add(r * a.n + k0), a.dy.add(r * a.n + k0), a.dx.add(r * a.n + k0));
        for g in 0..G {
            let xc = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
            let dy = ld::<S, L>(dyr.add(g * L), w(g));
            let dx = S::add(S::add(S::mul(dy, gamma_inv[g]), S::mul(dvar2_m[g], xc)), dmu_m[g]);
            st::<S, L>(dxr.add(g * L), dx, w(g));
        }
    }
}

/// Every feature, `G ≤ 4` vectors at a time, the rest (with the partial vector) as one
/// smaller group: the per-feature sums are sequential over the batch (as in the scalar
/// code), so independent vectors in flight are what hides the add latency.
macro_rules! by_groups {
    ($group:ident, $s:ty, $l:ident, $g:ident, $a:expr, $n:expr) => {{
        let (full, rem) = ($n / $l, $n % $l);
        let mut v = 0;
        while full - v >= $g {
            $group::<$s, $l, $g>($a, v * $l, $l);
            v += $g;
        }
        let rest = full - v + usize::from(rem > 0);
        let last = if rem > 0 { rem } else { $l };
        match rest {
            0 => {}
            1 => $group::<$s, $l, 1>($a, v * $l, last),
            2 => $group::<$s, $l, 2>($a, v * $l, last),
            3 => $group::<$s, $l, 3>($a, v * $l, last),
            _ => $group::<$s, $l, 4>($a, v * $l, last),
        }
    }};
}

/// # Safety
/// AVX-512F and AVX-512VL; every pointer of `a` valid for its extent (see [`BnFwd`]), outputs exclusive.
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn bn_fwd_avx512<B: ArrayLength, N: ArrayLength>(mut a: BnFwd) {
    // The shape as compile-time constants, so every loop and tail is specialized.
    (a.rows, a.n) = (B::USIZE, N::USIZE);
    by_groups!(bn_fwd_group, Avx512, AVX512_LANES, BN_FWD_GROUP_AVX512, a, N::USIZE)
}

/// # Safety
/// AVX2 and FMA; pointers as for [`bn_fwd_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn bn_fwd_avx2<B: ArrayLength, N: ArrayLength>(mut a: BnFwd) {
    // The shape as compile-time constants, so every loop and tail is specialized.
    (a.rows, a.n) = (B::USIZE, N::USIZE);
    by_groups!(bn_fwd_group, Avx2, AVX2_LANES, BN_FWD_GROUP_AVX2, a, N::USIZE)
}

/// # Safety
/// AVX-512F and AVX-512VL; every pointer of `a` valid for its extent (see [`BnBwd`]), outputs exclusive.
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn bn_bwd_avx512<B: ArrayLength, N: ArrayLength>(mut a: BnBwd) {
    // The shape as compile-time constants, so every loop and tail is specialized.
    (a.rows, a.n) = (B::USIZE, N::USIZE);
    by_groups!(bn_bwd_group, Avx512, AVX512_LANES, BN_BWD_GROUP_AVX512, a, N::USIZE)
}

/// # Safety
/// AVX2 and FMA; pointers as for [`bn_bwd_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn bn_bwd_avx2<B: ArrayLength, N: ArrayLength>(mut a: BnBwd) {
    // The shape as compile-time constants, so every loop and tail is specialized.
    (a.rows, a.n) = (B::USIZE, N::USIZE);
    by_groups!(bn_bwd_group, Avx2, AVX2_LANES, BN_BWD_GROUP_AVX2, a, N::USIZE)
}

// ---- whole functions compiled for an instruction set ----

/// Runs `f` in a function compiled for AVX-512, so that what inlines into it uses the
/// instruction set.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512VL.
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn run_avx512<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}

/// Runs `f` in a function compiled for AVX2 and FMA (see [`run_avx512`]).
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn run_avx2<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}
