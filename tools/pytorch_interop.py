#!/usr/bin/env python3
"""PyTorch interop proof for bn-core's safetensors files (both directions).

The network is `Interop` of src/networks/interop.rs (tested in tests/pytorch_mlp.rs); its PyTorch
equivalent is `training_model()` below, and the folded (BN-free) equivalent `folded_model()`.

1. PyTorch -> bn-core (writes the checked-in fixtures, read by `cargo test --test pytorch_mlp`):

       python3 tools/pytorch_interop.py

   builds the model, trains it a few steps in train mode (so the running statistics, the
   batch counts, gamma and beta are not the defaults), and writes to tests/fixtures/pytorch/:
     model.safetensors         the state_dict (safetensors.torch.save_file)
     model_folded.safetensors  the state_dict of the folded model, folded here in float64
     inputs.bin                16 x 6 inputs          (raw little-endian float32, row-major)
     outputs.bin               16 x 3 eval outputs    (raw little-endian float32)
     folded_outputs.bin        16 x 3 outputs of the folded model (float32)

2. bn-core -> PyTorch (the Rust test writes the files into the cargo target's tmp directory):

       cargo test --test pytorch_mlp
       python3 tools/pytorch_interop.py --check-rust <target>/tmp/rust_model.safetensors

   loads rust_model.safetensors and rust_model_folded.safetensors with
   `load_state_dict(safetensors.torch.load_file(...), strict=True)` and compares PyTorch's
   outputs on inputs.bin with the outputs bn-core computed (rust_model_outputs.bin,
   rust_model_folded_outputs.bin). It exits with status 1 on any mismatch.

Versions used (Debian 12 has a CPU-only PyTorch; PyPI's Linux wheel needs the CUDA libraries):

    apt-get install --no-install-recommends python3-torch    # 1.13.1+dfsg-4: torch 1.13.0a0, numpy 1.24.2
    python3 -m venv --system-site-packages /tmp/io-venv
    /tmp/io-venv/bin/pip install safetensors                  # 0.8.0
    /tmp/io-venv/bin/python tools/pytorch_interop.py          # Python 3.11.2
"""

import argparse
import os
import pathlib
import sys
from collections import OrderedDict

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "pytorch"
N_IN, N_OUT, N_SAMPLES = 6, 3, 16
# The tolerance of the comparisons: relative, with this floor for outputs near zero.
REL, FLOOR = 1e-5, 1e-3
# The training steps of the Rust tests' `train_and_write_for_pytorch` (tests/common/pytorch.rs),
# which `replay_rust_steps` takes again in PyTorch: step s takes the samples (8 s + b) mod n
# for b < 8 of the fixture's n inputs with the labels (b + s) mod 3, softmax cross-entropy
# averaged over the batch, plain SGD.
RUST_STEPS, RUST_BATCH, RUST_LR = 3, 8, 0.05
# The tolerance of the replayed training (parameters and statistics after 3 steps, relative
# with the floor 1e-3): bn-core and PyTorch round their float32 sums in different orders, and
# a step moves a parameter by the learning rate times its gradient's rounding.
TRAIN_REL = 1e-4


def training_model():
    """The `state_dict`-equivalent of `Interop` (the module its `save_safetensors` docs print)."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Linear(6, 8, bias=False)),
                ("1", nn.BatchNorm1d(8)),
                ("2", nn.ReLU()),
                ("3", nn.Linear(8, 8)),
                ("4", nn.Tanh()),
                ("5", nn.BatchNorm1d(8, eps=1e-3)),
                ("head", nn.Linear(8, 4)),
                ("7", nn.Tanh()),
                ("8", nn.BatchNorm1d(4, momentum=None)),
                ("9", nn.Sigmoid()),
                ("10", nn.Linear(4, 3, bias=False)),
            ]
        )
    )


def folded_model():
    """The BN-free equivalent of `InteropFolded`: BN 1 folded into Linear 0, BN 5 into `head`
    (from before), BN 8 (between two activations, no dense neighbour) a diagonal Linear."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Linear(6, 8)),
                ("1", nn.ReLU()),
                ("2", nn.Linear(8, 8)),
                ("3", nn.Tanh()),
                ("head", nn.Linear(8, 4)),
                ("5", nn.Tanh()),
                ("6", nn.Linear(4, 4)),
                ("7", nn.Sigmoid()),
                ("8", nn.Linear(4, 3)),
            ]
        )
    )


def bn_affine(bn):
    """Eval-mode BN as y = a * x + c, in float64."""
    a = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return a, bn.bias.double() - a * bn.running_mean.double()


def fold(m):
    """The folded model's state_dict, computed in float64 and rounded to float32."""
    sd = {}
    w0 = m[0].weight.double()
    a, c = bn_affine(m[1])  # after Linear 0 (no bias): W' = diag(a) W, b' = c
    sd["0.weight"], sd["0.bias"] = a[:, None] * w0, c
    sd["2.weight"], sd["2.bias"] = m[3].weight.double(), m[3].bias.double()
    a, c = bn_affine(m[5])  # before `head`: W' = W diag(a), b' = W c + b
    wh = m.head.weight.double()
    sd["head.weight"], sd["head.bias"] = wh * a[None, :], wh @ c + m.head.bias.double()
    a, c = bn_affine(m[8])  # between two activations: a diagonal Linear
    sd["6.weight"], sd["6.bias"] = torch.diag(a), c
    sd["8.weight"], sd["8.bias"] = m[10].weight.double(), torch.zeros(3, dtype=torch.float64)
    return {k: v.float().contiguous() for k, v in sd.items()}


def read_f32(path, cols):
    return torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(-1, cols))


def write_f32(path, t):
    t.detach().numpy().astype("<f4").tofile(path)


def save_state(state, name):
    """Writes a state_dict (or any dict of tensors) to FIXTURES / name."""
    save_file(state, str(FIXTURES / name))
    os.chmod(FIXTURES / name, 0o644)  # save_file writes through a 0600 temporary file


def replay_rust_steps(model, inputs, n_out):
    """The state_dict of `model` after the Rust test's RUST_STEPS training steps on `inputs`
    (train mode), taken here in PyTorch."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=RUST_LR)
    for step in range(RUST_STEPS):
        rows = [(step * RUST_BATCH + b) % len(inputs) for b in range(RUST_BATCH)]
        labels = torch.tensor([(b + step) % n_out for b in range(RUST_BATCH)])
        opt.zero_grad()
        nn.functional.cross_entropy(model(inputs[rows]), labels).backward()
        opt.step()
    return model.state_dict()


def compare_states(got, want):
    """The largest relative difference (floor FLOOR) between two state_dicts with the same
    keys, and its tensor; the batch counts must be equal (else the difference is infinite)."""
    assert sorted(got) == sorted(want), (sorted(got), sorted(want))
    worst, worst_key = 0.0, ""
    for k, v in want.items():
        if k.endswith("num_batches_tracked"):
            if not torch.equal(got[k], v):
                print(f"  {k}: {got[k].item()}, expected {v.item()} (MISMATCH)")
                worst, worst_key = float("inf"), k
            continue
        err = ((got[k].double() - v.double()).abs() / v.double().abs().clamp(min=FLOOR)).max().item()
        worst, worst_key = max((worst, worst_key), (err, k))
    return worst, worst_key


def compare(what, got, want):
    """Prints the largest relative difference; returns whether it is within the tolerance."""
    err = ((got - want).abs() / want.abs().clamp(min=FLOOR)).max().item()
    ok = err <= REL
    print(f"  {what}: max relative difference {err:.2e} ({'ok' if ok else 'MISMATCH'})")
    return ok


def check_replay(state, training_model, fixture, inputs, n_out):
    """bn-core's RUST_STEPS training steps (`state`, its file after them), replayed here from
    the PyTorch fixture `fixture` they started from; prints and returns whether they agree."""
    replayed = training_model()
    replayed.load_state_dict(load_file(str(FIXTURES / fixture)), strict=True)
    worst, worst_key = compare_states(state, replay_rust_steps(replayed, inputs, n_out))
    good = worst <= TRAIN_REL
    print(
        f"  bn-core's {RUST_STEPS} training steps replayed in PyTorch: max relative difference "
        f"{worst:.2e} in {worst_key} ({'ok' if good else 'MISMATCH'})"
    )
    return good


def check_rust_files(path, inputs, training_model, folded_model, n_out, on_training=None, on_folded=None):
    """The `--check-rust` mode of every interop script: bn-core's weights file `path` and its
    folded model's (`{stem}_folded.safetensors`) load into `training_model()` and
    `folded_model()` with strict=True, each gives bn-core's outputs on `inputs`
    (`{stem}_outputs.bin`), and the folded model gives the training model's eval outputs.
    A script's own checks: `on_training(model, state)` and `on_folded(state)`, each returning
    whether it passed. Returns the exit status."""
    path = pathlib.Path(path)
    folded_path = path.with_name(path.stem + "_folded.safetensors")
    ok = True
    for what, p, build in [("training", path, training_model), ("folded", folded_path, folded_model)]:
        state = load_file(str(p))
        model = build()
        model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key or shape
        model.eval()
        rust_outputs = read_f32(p.with_name(p.stem + "_outputs.bin"), n_out)
        with torch.no_grad():
            outputs = model(inputs)
        print(f"{what}: {p.name} loaded with strict=True ({len(state)} tensors)")
        if what == "training":
            print("  num_batches_tracked:", {k: v.item() for k, v in state.items() if k.endswith("num_batches_tracked")})
            training_outputs = outputs
            if on_training is not None:
                ok &= on_training(model, state)
        else:
            if on_folded is not None:
                ok &= on_folded(state)
            ok &= compare("PyTorch folded vs PyTorch eval of the training file", outputs, training_outputs)
        ok &= compare(f"PyTorch vs bn-core outputs ({rust_outputs.shape[0]} samples)", outputs, rust_outputs)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


def train_toward_targets(model, steps, lr, input_shape, n_out, target_mean=None):
    """The training of every fixture: `steps` SGD steps at rate `lr` in train mode, each on 16
    inputs `randn(16, *input_shape) * 2 + 0.5` against targets `randn(16, n_out)` (plus
    `target_mean`, to move the outputs away from 0), by mean squared error; then eval mode.
    Draws from torch's generator in that order, so a seed gives the same fixtures. Returns
    the last step's loss."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        x = torch.randn(16, *input_shape) * 2.0 + 0.5
        target = torch.randn(16, n_out)
        if target_mean is not None:
            target = target + target_mean
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), target)
        loss.backward()
        opt.step()
    model.eval()
    return loss


def write_fixtures():
    torch.manual_seed(0)
    model = training_model()
    loss = train_toward_targets(model, 10, 0.1, (N_IN,), N_OUT)
    inputs = torch.randn(N_SAMPLES, N_IN) * 1.5
    with torch.no_grad():
        outputs = model(inputs)
        folded = folded_model()
        folded.load_state_dict(fold(model), strict=True)
        folded_outputs = folded(inputs)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, m in [("model.safetensors", model), ("model_folded.safetensors", folded)]:
        save_file(m.state_dict(), str(FIXTURES / name))
        os.chmod(FIXTURES / name, 0o644)  # save_file writes through a 0600 temporary file
    write_f32(FIXTURES / "inputs.bin", inputs)
    write_f32(FIXTURES / "outputs.bin", outputs)
    write_f32(FIXTURES / "folded_outputs.bin", folded_outputs)
    print(f"torch {torch.__version__}, last training loss {loss.item():.4f}")
    written = ["model.safetensors", "model_folded.safetensors", "inputs.bin", "outputs.bin", "folded_outputs.bin"]
    print(f"wrote {', '.join(written)} to {FIXTURES}")
    print("BN 1 running_mean[:3]", model[1].running_mean[:3].tolist(), "num_batches_tracked", model[1].num_batches_tracked.item())
    ok = compare("folded vs eval outputs (PyTorch)", folded_outputs, outputs)
    return 0 if ok else 1


def check_rust(path):
    inputs = read_f32(FIXTURES / "inputs.bin", N_IN)
    print(f"torch {torch.__version__}; inputs {tuple(inputs.shape)} from {FIXTURES / 'inputs.bin'}")

    def diagonal_affine(state):
        w = state["6.weight"]
        diagonal = bool(torch.equal(w, torch.diag(torch.diagonal(w))))
        print("  6.weight (the affine layer) is diagonal:", diagonal)
        return diagonal

    return check_rust_files(path, inputs, training_model, folded_model, N_OUT, on_folded=diagonal_affine)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check-rust", metavar="FILE", help="a file written by bn-core's save_safetensors")
    args = parser.parse_args()
    sys.exit(check_rust(args.check_rust) if args.check_rust else write_fixtures())
