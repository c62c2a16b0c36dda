#!/usr/bin/env python3
"""A reference of bn-core's integer arithmetic for int8 layers, in numpy and Python
integers (independent of the Rust code), read by `cargo test --test int8_reference`.

TFLite's int8 FULLY_CONNECTED with per-channel weights (its reference kernel,
tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h, and gemmlowp's
fixedpoint.h for the rounding):

    acc_o = b_o + sum_i w_oi * (x_i - z_x)                       exact
    y_o   = clamp(z_y + MultiplyByQuantizedMultiplier(acc_o, mantissa_o, shift_o), min, max)

    MultiplyByQuantizedMultiplier(x, m, s) =
        RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(s, 0), m), max(-s, 0))
    SaturatingRoundingDoublingHighMul(a, b) = trunc((a*b + (2^30 if a*b >= 0 else 1 - 2^30)) / 2^31)
    RoundingDivideByPOT(x, e) = (x >> e) + ((x & (2^e - 1)) > ((2^e - 1) >> 1) + (x < 0))

The integer parameters are drawn at random (not chosen from a float layer), covering
positive and negative shifts, both zero points' signs, and a ReLU clamp.

    python3 tools/int8_reference.py

writes tests/fixtures/int8/dense_reference.safetensors: `weight` i8 [O, I], `bias` i32 [O],
`mantissa` i32 [O], `shift` i32 [O], `zero_points` i32 [2] (input, output), `x` i8 [N, I],
`y` i8 [N, O] (clamp [-128, 127]) and `y_relu` i8 [N, O] (clamp [z_y, 127]).
"""

import os

import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
I, O, N = 37, 11, 24


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
    return rdbp(srdhm(acc * 2 ** max(s, 0), m), max(-s, 0))


def main() -> None:
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
    out = os.path.join(ROOT, "tests", "fixtures", "int8")
    os.makedirs(out, exist_ok=True)
    save_file({
        "weight": weight, "bias": bias, "mantissa": mantissa, "shift": shift,
        "zero_points": np.array([zx, zy], dtype=np.int32), "x": x, "y": y, "y_relu": y_relu,
    }, os.path.join(out, "dense_reference.safetensors"), metadata={"numpy": np.__version__})
    saturated = int((y == 127).sum() + (y == -128).sum())
    print(f"wrote {N} samples of a {I} -> {O} layer (z_x {zx}, z_y {zy}; {saturated} of {N * O} outputs saturated)")


if __name__ == "__main__":
    main()
