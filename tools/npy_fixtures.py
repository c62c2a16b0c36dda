"""Writes the .npy fixtures of bn-train's tests (bn-train/tests/fixtures/), with numpy itself,
so that the loader is tested on files numpy wrote, not only on bytes built in Rust.

    /work/venv/bin/python tools/npy_fixtures.py

Samples: sample i, feature j holds 10 * i + j (4 samples of shape 2 x 3: 6 features).
"""
from pathlib import Path

import numpy as np

out = Path(__file__).resolve().parent.parent / "bn-train" / "tests" / "fixtures"
out.mkdir(parents=True, exist_ok=True)
x = (10 * np.arange(4)[:, None] + np.arange(6)[None, :]).reshape(4, 2, 3)
np.save(out / "x_f32.npy", x.astype(np.float32))
np.save(out / "x_f64_be.npy", x.astype(">f8"))
np.save(out / "x_u8.npy", x.astype(np.uint8))
np.save(out / "y_i64.npy", np.array([3, 1, 4, 1], dtype=np.int64))
np.save(out / "y_u8_column.npy", np.array([[3], [1], [4], [1]], dtype=np.uint8))
np.save(out / "x_fortran.npy", np.asfortranarray(x.reshape(4, 6).astype(np.float32)))
np.save(out / "x_f16.npy", x.astype(np.float16))
np.save(out / "y_f32.npy", np.array([3, 1, 4, 1], dtype=np.float32))
for p in sorted(out.glob("*.npy")):
    print(p.name, p.stat().st_size)
