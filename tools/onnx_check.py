#!/usr/bin/env python3
"""ONNX export fixtures: bn-core's exported files checked by the onnx package and run by
onnxruntime, read by `cargo test --test onnx_export`.

    python3 tools/onnx_check.py            # re-export the checked-in weights and check them
    python3 tools/onnx_check.py --weights  # first write new weights fixtures (random ones for
                                           # the coverage networks, the MNIST networks trained
                                           # on the embedded digits)

Needs `onnx`, `onnxruntime`, `numpy` and `safetensors` (pip). It runs
`cargo test --release --test onnx_export -- --ignored --exact write_onnx_models`, which exports
every case of tests/onnx_export.rs (each network as trained and folded, from the weights in
tests/fixtures/onnx/) into a temporary directory with its inputs; then, for every file:

  - `onnx.checker.check_model(model, full_check=True)` (the full check runs shape inference
    with strict mode: every node's types and shapes must be consistent);
  - onnxruntime (CPU, default session options) runs it on the case's inputs;
  - the outputs are recorded as `{case}.output`, and the file's FNV-1a hash as the metadata
    `{case}.fnv1a`, so that the Rust test knows the file it exports is the one checked here.

Writes tests/fixtures/onnx/onnxruntime.safetensors (metadata: the onnx, onnxruntime and
numpy versions, the opset).
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "onnx")


def fnv1a(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main() -> None:
    weights = "--weights" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, ONNX_OUT=out, ONNX_WEIGHTS="1" if weights else "0")
        subprocess.run(
            ["cargo", "test", "--release", "-q", "--test", "onnx_export", "--",
             "--ignored", "--exact", "write_onnx_models"],
            cwd=ROOT, env=env, check=True)
        tensors, meta = {}, {
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
        }
        with open(os.path.join(out, "cases.txt")) as f:
            cases = [line.split() for line in f if line.strip()]
        opsets = set()
        for name, dtype, dims in cases:
            path = os.path.join(out, f"{name}.onnx")
            data = open(path, "rb").read()
            model = onnx.load_from_string(data)
            onnx.checker.check_model(model, full_check=True)
            opsets.update(o.version for o in model.opset_import)
            np_dtype = np.float32 if dtype == "f32" else np.float64
            shape = [int(d) for d in dims.split(",")]
            x = np.fromfile(os.path.join(out, f"{name}.input"), dtype="<f4" if dtype == "f32" else "<f8")
            x = x.astype(np_dtype).reshape([-1] + shape)
            session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
            (y,) = session.run(["logits"], {"input": x})
            assert y.dtype == np_dtype and y.shape[0] == x.shape[0], (name, y.dtype, y.shape)
            tensors[f"{name}.output"] = np.ascontiguousarray(y)
            meta[f"{name}.fnv1a"] = fnv1a(data)
            print(f"{name}: checked, ran {x.shape[0]} samples, outputs {list(y.shape)}")
        meta["opset"] = ",".join(str(o) for o in sorted(opsets))
        save_file(tensors, os.path.join(FIXTURES, "onnxruntime.safetensors"), metadata=meta)
        print(f"wrote {len(cases)} cases to tests/fixtures/onnx/onnxruntime.safetensors "
              f"(onnx {onnx.__version__}, onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
