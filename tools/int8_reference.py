#!/usr/bin/env python3
"""References of bn-core's int8 quantization, in numpy and Python integers (independent of the
Rust code), read by `cargo test`. Two fixtures:

    python3 tools/int8_reference.py                 # regenerates both, deterministically
    python3 tools/int8_reference.py --only dense    # (or --only network) just one

Shared integer primitives
=========================

TFLite's int8 requantization (tensorflow/lite/kernels/internal/common.h, the double-rounding
`MultiplyByQuantizedMultiplier`, and gemmlowp's fixedpoint.h for the two primitives):

    MBQM(x, m, s) = RDBP(SRDHM(wrap_int32(x * 2^max(s, 0)), m), max(-s, 0))
    SRDHM(a, b)   = trunc((a*b + (2^30 if a*b >= 0 else 1 - 2^30)) / 2^31)
                    (C division; a = b = -2^31 saturates to 2^31 - 1)
    RDBP(x, e)    = (x >> e) + ((x & (2^e - 1)) > ((2^e - 1) >> 1) + (x < 0))
                    (arithmetic shift: rounds half away from zero)

round_half_away(v) = sign(v) * floor(|v| + 0.5), computed exactly (`|v| - floor|v| >= 0.5`),
never numpy's `np.round` (half to even). For a float32 quotient the value is exact in float64
first. Every quotient that this script rounds is reported with its distance to the nearest
tie, so that a reader can see the fixture does not hang on one ulp.

1. tests/fixtures/int8/dense_reference.safetensors (`dense()`)
==============================================================

One int8 FULLY_CONNECTED layer with per-channel weights (TFLite's reference kernel,
tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h):

    acc_o = b_o + sum_i w_oi * (x_i - z_x)                       exact
    y_o   = clamp(z_y + MBQM(acc_o, mantissa_o, shift_o), min, max)

The integer parameters are drawn at random (not chosen from a float layer), covering
positive and negative shifts, both zero points' signs, and a ReLU clamp. Tensors: `weight`
i8 [O, I], `bias` i32 [O], `mantissa` i32 [O], `shift` i32 [O], `zero_points` i32 [2]
(input, output), `x` i8 [N, I], `y` i8 [N, O] (clamp [-128, 127]) and `y_relu` i8 [N, O]
(clamp [z_y, 127]).

2. The fixture network (`network()`)
====================================

writes tests/fixtures/int8/qfixture_folded.safetensors (the float weights, F32, which the Rust
side loads into its folded model) and tests/fixtures/int8/network_reference.safetensors (the
whole int8 model of that network and its outputs).

The float network (folded; channel-major images C x H x W; one sample at a time):

    input 2x12x12 (288 values)
     1. conv "0": weight [4,2,3,3], bias [4], stride 1, zero padding 1 -> 4x12x12; ReLU (fused)
     2. average pool 2x2 stride 2 -> 4x6x6
     3. affine "3": y = a_c*x + b_c per channel, weight [4,1,1,1] (a_c), bias [4] (b_c)
     4. tanh
     5. conv "5": weight [6,4,3,3], bias [6], stride 1, padding 0 -> 6x4x4; ReLU (fused)
     6. max pool 2x2 stride 2 -> 6x2x2
     7. ReLU (standalone)
     8. global average pool -> 6
     9. dense "10": weight [5,6], bias [5]
    10. sigmoid
    11. affine "12" over 5 features: weight [5,5] (diagonal: a_c on it, zeros elsewhere),
        bias [5]; ReLU (fused)
    12. dense "14": weight [3,5], bias [3] -> the logits

The weights are float32 from numpy's default_rng(WEIGHT_SEED), built like a trained network
with folded batch norms: conv "0", conv "5", affine "12" and dense "14" have per-output-channel
gains spread log-uniformly over [0.1, 10]; the biases of the layers with a ReLU put each
channel's calibration mean near the ReLU's kink (the ReLU passes part of every channel);
affine "3" (two negative a_c) and dense "10" scale their channels so that the tanh and sigmoid
inputs have standard deviations between 0.8 and 2.5 (their a_c then differ by ~100x); affine
"12" has two negative a_c. Statistics come from the calibration inputs. `network()` asserts
that every fused ReLU passes some values and clamps some in every channel, that the tanh and
sigmoid inputs span several units, and that no linear layer's int8 outputs are all clamped.

Calibration
-----------
64 inputs uniform in [-1, 2] (float32, default_rng(CALIBRATION_SEED)); the float forward in
float64 (from the float32 weights); per calibrated tensor the min and max over all samples and
values, rounded to float32: `ranges` f32 [7, 2]. The seven tensors, in this order:

    "input", "conv2d0" (conv "0" after its ReLU), "batchnorm4" (affine "3"),
    "conv2d6" (conv "5" after its ReLU), "dense11" (dense "10"),
    "batchnorm13" (affine "12" after its ReLU), "dense16" (the logits)

Quantization (TFLite's converter, as bn-core implements it)
-----------------------------------------------------------
* Activation params from [min, max], in float32 (GetAsymmetricQuantizationParams, [-128, 127]):
  min = min(min, 0), max = max(max, 0); scale = (max - min) / 255; scale == 0 -> zero point
  -128; else from_min = -128 - min / scale, zero point = -128 if from_min < -128, 127 if
  from_min > 127, else round_half_away(from_min).
* Parameter flow (`current` starts as "input"): conv "0" in current, out "conv2d0" (ReLU);
  the pools, the standalone ReLU and the global average pool keep current; affine "3" out
  "batchnorm4"; tanh: a table, then current = (1/128, 0); conv "5" out "conv2d6" (ReLU);
  dense "10" out "dense11"; sigmoid: a table, then current = (1/256, -128); affine "12" out
  "batchnorm13" (ReLU); dense "14" out "dense16".
* A linear layer's output channel o (conv, dense, or affine: channel c is a one-input dense of
  weight a_c and bias b_c; for "12" a_c is read off the diagonal), with (s_x, z_x) its input's
  and (s_y, z_y) its output's params:
      max_abs = max |w| over the channel (f32);  s_w = max_abs / 127 (f32)
      q_w     = clamp(round_half_away(w / s_w (f32)), -127, 127), or 0 if s_w == 0
      acc_scale = f64(s_x) * f64(s_w)
      bias_q  = clamp_int32(round_half_away(f64(b) / acc_scale)), 0 if acc_scale == 0
      factor  = acc_scale / f64(s_y), 0 if s_y == 0
      (mantissa, shift) = QuantizeMultiplier(factor): 0 -> (0, 0); (q, shift) = frexp(factor);
          q_fixed = round_half_away(q * 2^31); q_fixed == 2^31 -> (2^30, shift + 1);
          shift < -31 -> (0, 0); else (q_fixed, shift)
* Tables (256 entries; entry i is the output for the input q = i - 128), (s_in, z_in) =
  current, (s_out, z_out) = (1/128, 0) for tanh, (1/256, -128) for sigmoid:
      y = f(f64(s_in) * (q - z_in)) in f64 (tanh; sigmoid = 1 / (1 + exp(-x)))
      entry = clamp(round_half_away(y / f64(s_out)) + z_out, -128, 127)
* Input: q = clamp(round_half_away(x / scale (f32)) + zero_point, -128, 127) (scale 0 -> z).

Integer inference (Python ints)
-------------------------------
* linear: acc_o = bias_q_o + sum w * (x - z_x) over the window (a conv's padding reads z_x,
  adding 0); out = clamp(z_y + MBQM(acc_o, mantissa_o, shift_o), lo, 127), lo = z_y with a
  fused ReLU, else -128. (Every accumulator is asserted to fit in int32.)
* average pool 2x2: s = sum of the 4 values; (s + 2) / 4 if s > 0 else (s - 2) / 4, C's
  truncating division; clamp to int8. Global average pool: the same over the 2x2 = 4 pixels.
* max pool: the window's max. Standalone ReLU: max(x, z), z the current zero point.
  Tables: out = table[x + 128].

torch.ao second oracle
----------------------
The same float32 weights in a torch float32 forward (F.conv2d, F.avg_pool2d, F.max_pool2d,
F.linear; affine "12" as F.linear with its diagonal matrix) over the same calibration inputs;
`MinMaxObserver(dtype=qint8, qscheme=per_tensor_affine, quant_min=-128, quant_max=127)` on each
calibrated tensor, and `PerChannelMinMaxObserver(ch_axis=0, dtype=qint8,
qscheme=per_channel_symmetric, quant_min=-127, quant_max=127)` on each linear layer's weight
([out, in*kh*kw]; the affines' a_c as [C, 1]). torch/ao/quantization/observer.py,
`_calculate_qparams`, does widen the range to contain 0 (min_val_neg = min(min, 0),
max_val_pos = max(max, 0)), as TFLite does. How its formulas differ from TFLite's:

* Zero point: torch computes quant_min - torch.round(min_neg / scale) (round half to EVEN of
  min/scale, in float32, then an integer subtraction); TFLite rounds -128 - min/scale (a
  float32 subtraction first) half AWAY from zero. They differ only when min/scale is within
  an ulp of a half-integer (e.g. min/scale = -1.5: torch -126, TFLite -127): +-1 at most.
* Scale: both (max_pos - min_neg) / 255 in float32, but torch clamps it to at least
  torch.finfo(float32).eps (~1.19e-7; an all-zero range gives scale eps, zero point -128,
  TFLite gives scale 0) and torch's min and max come from its own float32 forward, not a
  float64 forward rounded to float32: a few ulps apart (relative ~1e-7), which also moves
  min/scale by ~1e-5 and so, rarely, the zero point by 1 at a near-tie.
* Weights: max_abs / ((127 - (-127)) / 2) = max_abs / 127 in float32, clamped to eps; the same
  as TFLite's s_w for any non-zero channel. (With torch's default quant_min = -128 for qint8,
  the divisor would be 127.5: the -127..127 range is what matches TFLite.) Zero point 0.
So an honest Rust comparison against `torchao.*`: scales within a relative 1e-5, zero points
within +-1, weight scales equal to a relative 1e-6; the TFLite params (`params.*`, `*.weight`,
...) are bit-exact given `ranges`. (On this fixture: 3 of the 7 activation scales differ by
one float32 ulp, from the ranges of torch's float32 forward, up to 1.9e-6 apart; the zero
points and the weight scales are identical.) A Rust calibration in float32 is likewise a few
ulps off `ranges`: feed it `ranges` (or `params.*`) to compare the rest bit for bit.

network_reference.safetensors tensors
-------------------------------------
  calibration f32 [64, 288], ranges f32 [7, 2] (min, max)
  x f32 [16, 288] (test inputs, default_rng(TEST_SEED), uniform in [-1, 2]), xq i8 [16, 288],
  y i8 [16, 3] (the int8 logits)
  params.scale f32 [7], params.zero_point i32 [7] (in the order above)
  per linear layer L in conv2d0, batchnorm4, conv2d6, dense11, batchnorm13, dense16:
    L.weight i8 ([out, in*kh*kw] conv, flattened (c, u, v); [C] affine; [out, in] dense),
    L.bias i32 [out] (TFLite's bias_q, not folded with the zero point), L.mantissa i32 [out],
    L.shift i32 [out]
  tanh5.table i8 [256], sigmoid12.table i8 [256]
  torchao.scale f32 [7], torchao.zero_point i32 [7], torchao.L.weight_scale f32 [out]
  metadata: numpy and torch versions, the seeds (keys sorted, so that the file is byte-stable).

`network()` prints a summary: the ranges and both oracles' params, saturated logits, clamped
outputs per layer, the int8 logits against the float ones, the torch.ao differences, and the
smallest distance of any rounded quotient to a tie (x.5) per kind.
"""

import argparse
import json
import math
import os

import numpy as np
from safetensors.numpy import save, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "int8")
I, O, N = 37, 11, 24


# ---------------------------------------------------------------------------------------------
# Integer primitives (shared)

def wrap_int32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def srdhm(a: int, b: int) -> int:
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = 2**30 if ab >= 0 else 1 - 2**30
    q = abs(ab + nudge) // 2**31  # C's division truncates toward zero
    return q if ab + nudge >= 0 else -q


def rdbp(x: int, e: int) -> int:
    mask = (1 << e) - 1
    return (x >> e) + int((x & mask) > (mask >> 1) + int(x < 0))


def requantize(acc: int, m: int, s: int) -> int:
    """MultiplyByQuantizedMultiplier."""
    return rdbp(srdhm(wrap_int32(acc * 2 ** max(s, 0)), m), max(-s, 0))


def c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero), b > 0."""
    q = abs(a) // b
    return q if a >= 0 else -q


def clamp(v: int, lo: int, hi: int) -> int:
    return min(max(v, lo), hi)


# ---------------------------------------------------------------------------------------------
# 1. One dense layer with random integer parameters

def dense() -> None:
    rng = np.random.default_rng(22)
    weight = rng.integers(-127, 128, size=(O, I), dtype=np.int8)
    bias = rng.integers(-60_000, 60_000, size=O, dtype=np.int32)
    mantissa = rng.integers(2**30, 2**31, size=O, dtype=np.int64).astype(np.int32)
    # Outputs that mostly stay in range: accumulators of about 1e5 need a factor near 1e-3
    # (shifts -14 to -10); two outputs with tiny weights and biases take shifts 1 and 0 (a
    # left shift, and none).
    shift = rng.integers(-14, -9, size=O, dtype=np.int32)
    weight[:2] = rng.integers(-2, 3, size=(2, I), dtype=np.int8)
    bias[:2] = rng.integers(-20, 20, size=2, dtype=np.int32)
    shift[:2] = [1, 0]
    zx, zy = int(rng.integers(-128, 128)), int(rng.integers(-60, 60))
    x = rng.integers(-128, 128, size=(N, I), dtype=np.int8)
    y = np.zeros((N, O), dtype=np.int8)
    y_relu = np.zeros((N, O), dtype=np.int8)
    for n in range(N):
        for o in range(O):
            acc = int(bias[o]) + sum(int(weight[o, i]) * (int(x[n, i]) - zx) for i in range(I))
            r = zy + requantize(acc, int(mantissa[o]), int(shift[o]))
            y[n, o] = min(max(r, -128), 127)
            y_relu[n, o] = min(max(r, zy), 127)
    os.makedirs(FIXTURES, exist_ok=True)
    save_file({
        "weight": weight, "bias": bias, "mantissa": mantissa, "shift": shift,
        "zero_points": np.array([zx, zy], dtype=np.int32), "x": x, "y": y, "y_relu": y_relu,
    }, os.path.join(FIXTURES, "dense_reference.safetensors"), metadata={"numpy": np.__version__})
    saturated = int((y == 127).sum() + (y == -128).sum())
    print(f"wrote {N} samples of a {I} -> {O} layer (z_x {zx}, z_y {zy}; {saturated} of {N * O} outputs saturated)")


# ---------------------------------------------------------------------------------------------
# 2. The fixture network

def save_stable(tensors: dict, path: str, metadata: dict) -> None:
    """`save_file`, byte-stable: safetensors writes the metadata from a hash map, in an order
    that changes from run to run; here its keys are sorted (the header keeps its length: the
    same compact JSON, padded with spaces to a multiple of 8 bytes)."""
    data = save(tensors, metadata=metadata)
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    assert len(text) == n
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + data[8 + n:])


WEIGHT_SEED, CALIBRATION_SEED, TEST_SEED = 2718, 31, 32
N_CALIBRATION, N_TEST = 64, 16
TENSORS = ("input", "conv2d0", "batchnorm4", "conv2d6", "dense11", "batchnorm13", "dense16")
# Each linear layer: its output tensor's name, its key in the float state dict, its kind.
LINEAR = (("conv2d0", "0", "conv"), ("batchnorm4", "3", "affine"), ("conv2d6", "5", "conv"),
          ("dense11", "10", "dense"), ("batchnorm13", "12", "affine"), ("dense16", "14", "dense"))
TANH_OUTPUT = (np.float32(1 / 128), 0)
SIGMOID_OUTPUT = (np.float32(1 / 256), -128)

# The smallest distance of any rounded quotient to a rounding tie (x.5), per kind.
tie_margin: dict = {}


def round_half_away(v, kind: str = "") -> int:
    """sign(v) * floor(|v| + 0.5), exactly (v a float64, or a float32 made exact in float64)."""
    v = float(v)
    a = abs(v)
    fl = math.floor(a)
    frac = a - fl  # exact
    if kind:
        tie_margin[kind] = min(tie_margin.get(kind, 1.0), abs(frac - 0.5))
    r = fl + 1 if frac >= 0.5 else fl
    return r if v >= 0 else -r


# --- float forward, float64 ------------------------------------------------------------------

def conv2d(x, w, b, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.broadcast_to(b[None, :, None, None], (n, o, oh, ow)).copy()
    for u in range(kh):
        for v in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, u:u + oh, v:v + ow], w[:, :, u, v])
    return y


def pool2(x, reduce):
    n, c, h, w = x.shape
    return reduce(x.reshape(n, c, h // 2, 2, w // 2, 2), axis=(3, 5))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def float_forward(x, weights):
    """The float network in float64 from the float32 weights: every calibrated tensor, and the
    inputs of the ReLUs and of tanh/sigmoid."""
    f = {k: v.astype(np.float64) for k, v in weights.items()}
    t = {"input": x.astype(np.float64)}
    h = conv2d(t["input"].reshape(-1, 2, 12, 12), f["0.weight"], f["0.bias"], 1)
    t["relu0.in"] = h
    t["conv2d0"] = h = np.maximum(h, 0)
    h = pool2(h, np.mean)
    t["batchnorm4"] = h = h * f["3.weight"].reshape(1, 4, 1, 1) + f["3.bias"].reshape(1, 4, 1, 1)
    h = conv2d(np.tanh(h), f["5.weight"], f["5.bias"], 0)
    t["relu5.in"] = h
    t["conv2d6"] = h = np.maximum(h, 0)
    h = np.maximum(pool2(h, np.max), 0).mean(axis=(2, 3))
    t["dense11"] = h = h @ f["10.weight"].T + f["10.bias"]
    h = sigmoid(h) @ f["12.weight"].T + f["12.bias"]
    t["relu12.in"] = h
    t["batchnorm13"] = h = np.maximum(h, 0)
    t["dense16"] = h @ f["14.weight"].T + f["14.bias"]
    return t


def make_weights(rng, calibration):
    """Float32 weights as a trained network's folded ones: per-channel gains spread over
    [0.1, 10], biases (a BN's -mean*gain + beta) that put the ReLUs' kinks inside each
    channel's distribution, tanh/sigmoid inputs of a few units."""
    def f32(a):
        return np.ascontiguousarray(a, dtype=np.float32)

    def f64(a):
        return a.astype(np.float64)

    def spread(n):
        return np.exp(rng.uniform(math.log(0.1), math.log(10.0), n))

    def stats(h, axes):
        return h.mean(axis=axes), h.std(axis=axes)

    w = {}
    x = f64(calibration).reshape(-1, 2, 12, 12)
    # conv "0" (a conv and its BN): gains over [0.1, 10]; the ReLU's kink near each channel's mean.
    w["0.weight"] = f32(rng.normal(size=(4, 2, 3, 3)) / math.sqrt(18) * spread(4)[:, None, None, None])
    mu, sd = stats(conv2d(x, f64(w["0.weight"]), np.zeros(4), 1), (0, 2, 3))
    w["0.bias"] = f32(-mu + sd * rng.uniform(-0.5, 0.5, 4))
    h = pool2(np.maximum(conv2d(x, f64(w["0.weight"]), f64(w["0.bias"]), 1), 0), np.mean)
    # affine "3" (a BN that folds into nothing): tanh inputs of std 0.8..2, two negative a_c.
    mu, sd = stats(h, (0, 2, 3))
    a = rng.permutation([1.0, -1.0, 1.0, -1.0]) * rng.uniform(0.8, 2.0, 4) / sd
    w["3.weight"] = f32(a.reshape(4, 1, 1, 1))
    w["3.bias"] = f32(-a * mu + rng.uniform(-0.5, 0.5, 4))
    h = np.tanh(h * f64(w["3.weight"]).reshape(1, 4, 1, 1) + f64(w["3.bias"]).reshape(1, 4, 1, 1))
    # conv "5": gains over [0.1, 10]; the ReLU's kink inside each channel.
    w["5.weight"] = f32(rng.normal(size=(6, 4, 3, 3)) / 6 * spread(6)[:, None, None, None])
    mu, sd = stats(conv2d(h, f64(w["5.weight"]), np.zeros(6), 0), (0, 2, 3))
    w["5.bias"] = f32(-mu + sd * rng.uniform(-0.3, 0.8, 6))
    h = conv2d(h, f64(w["5.weight"]), f64(w["5.bias"]), 0)
    h = np.maximum(pool2(np.maximum(h, 0), np.max), 0).mean(axis=(2, 3))
    # dense "10": sigmoid inputs of std 1..2.5, means off 0.
    raw = rng.normal(size=(5, 6))
    mu, sd = stats(h @ raw.T, 0)
    gain = rng.uniform(1.0, 2.5, 5) / sd
    w["10.weight"] = f32(raw * gain[:, None])
    w["10.bias"] = f32(-mu * gain + rng.uniform(-1.5, 1.5, 5))
    s = sigmoid(h @ f64(w["10.weight"]).T + f64(w["10.bias"]))
    # affine "12" (a BN over features, then a ReLU): gains over [0.1, 10], two negative; the
    # kink near each feature's median.
    a = rng.permutation([1.0, -1.0, 1.0, -1.0, 1.0]) * spread(5)
    w["12.weight"] = f32(np.diag(a))
    w["12.bias"] = f32(-a * np.median(s, axis=0) + np.abs(a) * rng.uniform(-0.05, 0.1, 5))
    # dense "14": the logits.
    w["14.weight"] = f32(rng.normal(size=(3, 5)) / math.sqrt(5) * spread(3)[:, None])
    w["14.bias"] = f32(rng.uniform(-1.0, 1.0, 3))
    return w


# --- quantization ----------------------------------------------------------------------------

def activation_params(lo, hi):
    """TFLite's GetAsymmetricQuantizationParams for [-128, 127], in float32."""
    lo, hi = min(np.float32(lo), np.float32(0)), max(np.float32(hi), np.float32(0))
    scale = np.float32(hi - lo) / np.float32(255)
    if scale == 0:
        return np.float32(0), -128
    from_min = np.float32(-128) - np.float32(lo / scale)
    if from_min < -128:
        return scale, -128
    if from_min > 127:
        return scale, 127
    return scale, round_half_away(from_min, "zero point")


def quantize_multiplier(factor: float):
    """TFLite's QuantizeMultiplier."""
    assert 0 <= factor < 2**30, factor
    if factor == 0:
        return 0, 0
    q, shift = math.frexp(factor)
    q_fixed = round_half_away(q * 2.0**31, "multiplier")
    if q_fixed == 2**31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


class QLinear:
    """An int8 linear layer: per output channel the int8 weights, TFLite's bias_q, the
    multiplier; the input and output params; the ReLU clamp."""

    def __init__(self, rows, bias, inp, out, relu):
        (s_x, zx), (s_y, zy) = inp, out
        self.zx, self.zy = int(zx), int(zy)  # Python ints: no numpy integer may leak in
        self.relu = relu
        self.weight, self.bias, self.mantissa, self.shift = [], [], [], []
        self.weight_scale = []
        for row, b in zip(rows, bias):
            s_w = np.float32(np.abs(row).max()) / np.float32(127)
            if s_w == 0:
                q = [0] * len(row)
            else:
                q = [clamp(round_half_away(np.float32(v) / s_w, "weight"), -127, 127) for v in row]
            acc_scale = float(s_x) * float(s_w)
            bq = 0 if acc_scale == 0 else clamp(round_half_away(float(b) / acc_scale, "bias"), -2**31, 2**31 - 1)
            factor = 0.0 if s_y == 0 else acc_scale / float(s_y)
            m, s = quantize_multiplier(factor)
            self.weight.append(q)
            self.bias.append(bq)
            self.mantissa.append(m)
            self.shift.append(s)
            self.weight_scale.append(s_w)
        self.lo = self.zy if relu else -128
        # Over all forwards, per output channel: how many outputs, how many clamped below
        # (by the ReLU, or at -128), how many saturated at 127.
        n = len(self.weight)
        self.count, self.clamped_low, self.clamped_high = [0] * n, [0] * n, [0] * n

    def output(self, o: int, acc: int) -> int:
        assert -2**31 <= acc < 2**31, acc
        r = self.zy + requantize(acc, self.mantissa[o], self.shift[o])
        self.count[o] += 1
        self.clamped_low[o] += r < self.lo
        self.clamped_high[o] += r > 127
        return clamp(r, self.lo, 127)


def make_table(inp, out, f, kind):
    (s_in, z_in), (s_out, z_out) = inp, out
    z_in, z_out = int(z_in), int(z_out)
    table = []
    for i in range(256):
        y = f(float(s_in) * (i - 128 - z_in))
        table.append(clamp(round_half_away(y / float(s_out), kind) + z_out, -128, 127))
    return table


def quantize_network(weights, ranges):
    params = [activation_params(lo, hi) for lo, hi in ranges]
    p = dict(zip(TENSORS, params))
    q = {}
    cur = p["input"]
    for name, key, kind in LINEAR:
        w, b = weights[key + ".weight"], weights[key + ".bias"]
        if kind == "affine":
            rows = (np.diag(w) if w.ndim == 2 else w.reshape(-1))[:, None]
        else:
            rows = w.reshape(w.shape[0], -1)
        relu = name in ("conv2d0", "conv2d6", "batchnorm13")
        q[name] = QLinear(rows, b, cur, p[name], relu)
        cur = p[name]
        if name == "batchnorm4":
            q["tanh5"] = make_table(cur, TANH_OUTPUT, math.tanh, "tanh table")
            cur = TANH_OUTPUT
        elif name == "dense11":
            q["sigmoid12"] = make_table(cur, SIGMOID_OUTPUT, lambda v: 1 / (1 + math.exp(-v)), "sigmoid table")
            cur = SIGMOID_OUTPUT
    return params, q


def quantize_input(x, params):
    scale, zp = np.float32(params[0]), int(params[1])
    if scale == 0:
        return [zp] * len(x)
    return [clamp(round_half_away(np.float32(v) / scale, "input") + zp, -128, 127) for v in x]


# --- integer inference -----------------------------------------------------------------------

def conv_q(x, c, h, w, lin: QLinear, k, pad):
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    y = []
    for o, wo in enumerate(lin.weight):
        for i in range(oh):
            for j in range(ow):
                acc = lin.bias[o]
                for ci in range(c):
                    for u in range(k):
                        r = i + u - pad
                        for v in range(k):
                            s = j + v - pad
                            if 0 <= r < h and 0 <= s < w:  # padding reads z_x: adds 0
                                acc += wo[(ci * k + u) * k + v] * (x[(ci * h + r) * w + s] - lin.zx)
                y.append(lin.output(o, acc))
    return y


def dense_q(x, lin: QLinear):
    return [lin.output(o, lin.bias[o] + sum(wi * (xi - lin.zx) for wi, xi in zip(wo, x)))
            for o, wo in enumerate(lin.weight)]


def affine_q(x, lin: QLinear):
    per = len(x) // len(lin.weight)
    return [lin.output(c, lin.bias[c] + lin.weight[c][0] * (x[c * per + p] - lin.zx))
            for c in range(len(lin.weight)) for p in range(per)]


def rounded_mean(total: int, count: int) -> int:
    if total > 0:
        return clamp(c_div(total + count // 2, count), -128, 127)
    return clamp(c_div(total - count // 2, count), -128, 127)


def pool_q(x, c, h, w, reduce):
    return [reduce([x[(ci * h + 2 * i + u) * w + 2 * j + v] for u in range(2) for v in range(2)])
            for ci in range(c) for i in range(h // 2) for j in range(w // 2)]


def int_forward(xq, params, q, counts):
    p = dict(zip(TENSORS, params))
    h = conv_q(xq, 2, 12, 12, q["conv2d0"], 3, 1)
    h = pool_q(h, 4, 12, 12, lambda vs: rounded_mean(sum(vs), 4))
    h = affine_q(h, q["batchnorm4"])
    h = [q["tanh5"][v + 128] for v in h]
    h = conv_q(h, 4, 6, 6, q["conv2d6"], 3, 0)
    h = pool_q(h, 6, 4, 4, max)
    z = int(p["conv2d6"][1])
    counts["relu9"][0] += sum(v < z for v in h)
    counts["relu9"][1] += len(h)
    h = [max(v, z) for v in h]
    h = [rounded_mean(sum(h[c * 4:(c + 1) * 4]), 4) for c in range(6)]
    h = dense_q(h, q["dense11"])
    h = [q["sigmoid12"][v + 128] for v in h]
    h = affine_q(h, q["batchnorm13"])
    return dense_q(h, q["dense16"])


# --- torch.ao --------------------------------------------------------------------------------

def torch_oracle(calibration, weights):
    import torch  # only the network fixture needs torch
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver
    F = torch.nn.functional

    torch.set_num_threads(1)
    t = {k: torch.from_numpy(v.copy()) for k, v in weights.items()}
    with torch.no_grad():
        x = torch.from_numpy(calibration.copy())
        out = {"input": x}
        h = F.conv2d(x.reshape(-1, 2, 12, 12), t["0.weight"], t["0.bias"], padding=1).relu()
        out["conv2d0"] = h
        h = F.avg_pool2d(h, 2) * t["3.weight"].reshape(1, 4, 1, 1) + t["3.bias"].reshape(1, 4, 1, 1)
        out["batchnorm4"] = h
        h = F.conv2d(torch.tanh(h), t["5.weight"], t["5.bias"]).relu()
        out["conv2d6"] = h
        h = F.max_pool2d(h, 2).relu().mean(dim=(2, 3))
        h = F.linear(h, t["10.weight"], t["10.bias"])
        out["dense11"] = h
        h = F.linear(torch.sigmoid(h), t["12.weight"], t["12.bias"]).relu()
        out["batchnorm13"] = h
        out["dense16"] = F.linear(h, t["14.weight"], t["14.bias"])
    scales, zero_points, ranges = [], [], []
    for name in TENSORS:
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine, quant_min=-128, quant_max=127)
        obs(out[name])
        s, z = obs.calculate_qparams()
        scales.append(float(s[0]))
        zero_points.append(int(z[0]))
        ranges.append((float(obs.min_val), float(obs.max_val)))
    weight_scales = {}
    for name, key, kind in LINEAR:
        w = t[key + ".weight"]
        rows = (torch.diagonal(w) if w.ndim == 2 else w.reshape(-1)).reshape(-1, 1) if kind == "affine" else w.reshape(w.shape[0], -1)
        obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                       quant_min=-127, quant_max=127)
        obs(rows)
        s, z = obs.calculate_qparams()
        assert int(z.abs().max()) == 0
        weight_scales[name] = s.numpy().astype(np.float32)
    return (np.array(scales, dtype=np.float32), np.array(zero_points, dtype=np.int32),
            np.array(ranges, dtype=np.float32), weight_scales, torch.__version__)


# --- the fixture -----------------------------------------------------------------------------

def network() -> None:
    calibration = np.random.default_rng(CALIBRATION_SEED).uniform(-1, 2, (N_CALIBRATION, 288)).astype(np.float32)
    x_test = np.random.default_rng(TEST_SEED).uniform(-1, 2, (N_TEST, 288)).astype(np.float32)
    weights = make_weights(np.random.default_rng(WEIGHT_SEED), calibration)

    # Float activations: non-trivial.
    t = float_forward(calibration, weights)
    for relu in ("relu0.in", "relu5.in", "relu12.in"):
        h = t[relu]
        axes = tuple(i for i in range(h.ndim) if i != 1)
        active = (h > 0).mean(axis=axes)
        assert ((active > 0.05) & (active < 0.95)).all(), (relu, active)
    for name in ("batchnorm4", "dense11"):
        h = t[name]
        axes = tuple(i for i in range(h.ndim) if i != 1)
        span = h.max(axis=axes) - h.min(axis=axes)
        assert span.min() > 1.5 and span.max() > 4, (name, span)
    ranges = np.array([[t[n].min(), t[n].max()] for n in TENSORS]).astype(np.float32)

    params, q = quantize_network(weights, ranges)
    counts = {"relu9": [0, 0]}
    xq = [quantize_input(row, params[0]) for row in x_test]
    y = [int_forward(row, params, q, counts) for row in xq]
    for row in calibration:  # more samples for the checks on clamping
        int_forward(quantize_input(row, params[0]), params, q, counts)
    for name, _, _ in LINEAR:  # no channel all clamped; every fused ReLU clamps something
        lin = q[name]
        for o in range(len(lin.count)):
            assert lin.clamped_low[o] + lin.clamped_high[o] < 0.9 * lin.count[o], (name, o, lin.clamped_low, lin.count)
        if lin.relu:
            assert sum(lin.clamped_low) > 0, name

    torch_scale, torch_zp, torch_ranges, torch_wscale, torch_version = torch_oracle(calibration, weights)

    os.makedirs(FIXTURES, exist_ok=True)
    save_stable(weights, os.path.join(FIXTURES, "qfixture_folded.safetensors"),
              metadata={"numpy": np.__version__, "weight_seed": str(WEIGHT_SEED),
                        "calibration_seed": str(CALIBRATION_SEED)})
    out = {
        "calibration": calibration, "ranges": ranges, "x": x_test,
        "xq": np.array(xq, dtype=np.int8), "y": np.array(y, dtype=np.int8),
        "params.scale": np.array([s for s, _ in params], dtype=np.float32),
        "params.zero_point": np.array([z for _, z in params], dtype=np.int32),
        "tanh5.table": np.array(q["tanh5"], dtype=np.int8),
        "sigmoid12.table": np.array(q["sigmoid12"], dtype=np.int8),
        "torchao.scale": torch_scale, "torchao.zero_point": torch_zp,
    }
    for name, _, kind in LINEAR:
        lin = q[name]
        wq = np.array(lin.weight, dtype=np.int8)
        out[name + ".weight"] = wq.reshape(-1) if kind == "affine" else wq
        out[name + ".bias"] = np.array(lin.bias, dtype=np.int32)
        out[name + ".mantissa"] = np.array(lin.mantissa, dtype=np.int32)
        out[name + ".shift"] = np.array(lin.shift, dtype=np.int32)
        out["torchao." + name + ".weight_scale"] = torch_wscale[name]
    save_stable(out, os.path.join(FIXTURES, "network_reference.safetensors"),
              metadata={"numpy": np.__version__, "torch": torch_version, "weight_seed": str(WEIGHT_SEED),
                        "calibration_seed": str(CALIBRATION_SEED), "test_seed": str(TEST_SEED)})

    # Summary.
    print(f"wrote qfixture_folded.safetensors and network_reference.safetensors "
          f"({N_CALIBRATION} calibration, {N_TEST} test inputs)")
    print(f"  {'tensor':<12} {'min':>10} {'max':>10} {'scale':>12} {'zp':>5}   torch.ao scale, zp")
    for i, name in enumerate(TENSORS):
        (lo, hi), (s, z) = ranges[i], params[i]
        print(f"  {name:<12} {lo:>10.5f} {hi:>10.5f} {s:>12.6g} {z:>5}   {torch_scale[i]:.6g}, {torch_zp[i]}")
    ya = np.array(y)
    print(f"  logits: {int(((ya == 127) | (ya == -128)).sum())} of {ya.size} saturated")
    for name, _, _ in LINEAR:
        lin = q[name]
        what = "clamped by the ReLU" if lin.relu else "clamped at -128"
        print(f"  {name:<12} outputs (test + calibration): {sum(lin.clamped_low)} of {sum(lin.count)} {what}, "
              f"{sum(lin.clamped_high)} saturated at 127; shifts {min(lin.shift)}..{max(lin.shift)}")
    print(f"  relu9 (standalone): {counts['relu9'][0]} of {counts['relu9'][1]} clamped "
          "(after conv2d6's fused ReLU and the max pool, nothing is below the zero point)")
    float_logits = float_forward(x_test, weights)["dense16"]
    s16, z16 = params[-1]
    deq = float(s16) * (ya.astype(np.float64) - z16)
    agree = int((deq.argmax(axis=1) == float_logits.argmax(axis=1)).sum())
    print(f"  int8 vs float logits: max |diff| {np.abs(deq - float_logits).max():.4f} "
          f"(scale {s16:.4g}), argmax agrees on {agree} of {N_TEST}")
    ds = np.abs(torch_scale.astype(np.float64) - np.array([s for s, _ in params], dtype=np.float64))
    rel = ds / np.array([s for s, _ in params], dtype=np.float64)
    dz = np.abs(torch_zp - np.array([z for _, z in params]))
    dr = np.abs(torch_ranges.astype(np.float64) - ranges.astype(np.float64))
    print(f"  torch.ao vs TFLite activations: max |scale diff| {ds.max():.3g} (relative {rel.max():.3g}), "
          f"max |zero point diff| {dz.max()}, scales bit-equal {int((ds == 0).sum())}/7; "
          f"max |range diff| {dr.max():.3g} (torch's float32 forward)")
    dw = max(float(np.abs(torch_wscale[n].astype(np.float64) - np.array(q[n].weight_scale, dtype=np.float64)).max())
             for n, _, _ in LINEAR)
    print(f"  torch.ao vs TFLite weight scales: max |diff| {dw:.3g}")
    print("  nearest rounding ties (|frac - 0.5|): "
          + ", ".join(f"{k} {v:.2g}" for k, v in sorted(tie_margin.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("dense", "network"), help="write just one fixture")
    args = parser.parse_args()
    if args.only in (None, "dense"):
        dense()
    if args.only in (None, "network"):
        network()


if __name__ == "__main__":
    main()
