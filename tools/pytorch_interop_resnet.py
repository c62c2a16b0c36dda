#!/usr/bin/env python3
"""PyTorch interop proof for residual networks: identity and projection blocks, GroupNorm and
global average pooling (both directions, and one SGD step replayed).

The network is `InteropResNet` of tests/pytorch_resnet.rs; its PyTorch equivalent is
`training_model()` below, built from the modules that give `network!`'s tensor names:
`Residual` (a block at nn.Sequential index K holds `K.body.J.*` and, with a shortcut,
`K.shortcut.J.*`, J counted from 0 in each branch, every layer taking an index),
`GlobalAvgPool` (AdaptiveAvgPool2d(1) + Flatten in one index) and nn.GroupNorm. The folded
equivalent is `folded_model()`, and `fold()` computes its weights in float64: each branch is
folded on its own by the plan of tools/pytorch_interop_cnn.py (a BN after a conv into that
conv with PyTorch's fuse_conv_bn_eval; a BN with no linear neighbour in its branch a
per-channel affine layer, a depthwise 1x1 conv; the BN over features into the Linear after
it), the shortcut's BN into the shortcut's conv; the GroupNorms, the additions and the
pooling stay. The folded top level and each folded branch are renumbered from 0.

1. PyTorch -> bn-core (writes the checked-in fixtures, read by `cargo test --test pytorch_resnet`):

       python3 tools/pytorch_interop_resnet.py

   builds the model, trains it TRAIN_STEPS (20) SGD steps in train mode (so the running
   statistics, the batch counts and every gamma and beta move), and writes to
   tests/fixtures/pytorch/:
     resnet_model.safetensors         the state_dict (safetensors.torch.save_file)
     resnet_model_folded.safetensors  the state_dict of the folded model, folded here in float64
     resnet_inputs.bin                16 x 2 x 9 x 8 inputs (raw little-endian float32, N C H W)
     resnet_outputs.bin               16 x 3 eval outputs (float32)
     resnet_folded_outputs.bin        16 x 3 outputs of the folded model (float32)
     resnet_model_step.safetensors    the state_dict after one more SGD step (below)
     resnet_step.safetensors          that step: `labels` (int64 [8]; the batch is the first
                                      8 rows of resnet_inputs.bin), `lr` (float32 []), the
                                      train-mode `outputs` [8, 3] of its forward (batch
                                      statistics), its `loss` (softmax cross-entropy, the
                                      batch mean), and the `eval_outputs` [16, 3] of the
                                      stepped model on resnet_inputs.bin

   The same step taken in float64 (from the same float32 weights) measures how far float32
   rounding alone moves the stepped state (printed; the Rust test's tolerances rest on it).

2. bn-core -> PyTorch (the Rust test writes the files into the cargo target's tmp directory):

       cargo test --test pytorch_resnet
       python3 tools/pytorch_interop_resnet.py --check-rust <target>/tmp/rust_resnet_model.safetensors

   loads rust_resnet_model.safetensors and rust_resnet_model_folded.safetensors with
   `load_state_dict(safetensors.torch.load_file(...), strict=True)`, compares PyTorch's
   outputs on resnet_inputs.bin with bn-core's (rust_resnet_model_outputs.bin,
   rust_resnet_model_folded_outputs.bin), folds bn-core's trained weights here and compares
   the result with bn-core's folded file tensor by tensor, and replays in PyTorch the
   RUST_STEPS (3) training steps the Rust test took from resnet_model.safetensors (see
   `replay_rust_steps` in tools/pytorch_interop.py), comparing the state_dicts. It exits with
   status 1 on any mismatch.

Versions used: Python 3.11.7, torch 2.15.0+cu132 (PyPI's wheel; it pulls the CUDA libraries,
unused: the CPU runs it), safetensors 0.8.0, numpy 2.4.6, in a venv:

    python3 -m venv /work/venv
    /work/venv/bin/pip install torch safetensors numpy
    /work/venv/bin/python tools/pytorch_interop_resnet.py    # deterministic: same bytes on a rerun

Measured at generation (max relative difference, floor 1e-3):

    PyTorch folded vs PyTorch eval (16 samples)                          1.5e-7
    the fixture's step in float32 vs in float64, from the same weights:
      state after it 6.2e-6; each tensor's update, relative to its largest, 3.2e-5;
      train-mode outputs 3.3e-7; loss 1.4e-8; eval outputs after it 3.1e-7
"""

import argparse
import copy
import pathlib
import sys
from collections import OrderedDict

import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

sys.dont_write_bytecode = True  # no tools/__pycache__ from this import
from pytorch_interop import (
    FIXTURES,
    FLOOR,
    REL,
    bn_affine,
    check_replay,
    check_rust_files,
    compare,
    compare_states,
    read_f32,
    save_state,
    train_toward_targets,
    write_f32,
)

C, H, W = 2, 9, 8  # one input image: not square, odd height (the stride-2 branches floor alike)
N_IN, N_OUT, N_SAMPLES = C * H * W, 3, 16
# The means of the training targets, so that the outputs move away from 0 (see
# pytorch_interop_cnn.py on why): with [1, -1, 0.5] and 10 steps at rate 0.1, an eval output
# of 1.1e-3 and a train-mode one of 9.3e-3 were differences of larger terms, and PyTorch's own
# folded model differed from its eval path by 1.4e-5 relative, its float32 step outputs from
# float64 ones by 1.7e-5; one GroupNorm weight had moved from 1 by 4.7e-6 only.
TARGET_MEAN = torch.tensor([1.5, -1.5, 1.0])
TRAIN_STEPS, TRAIN_LR = 20, 0.2
# The one SGD step of the fixture: the first STEP_BATCH inputs, these labels, this rate.
STEP_BATCH, STEP_LR = 8, 0.05


class Residual(nn.Module):
    """`residual { BODY }` (shortcut=None: the identity, no `shortcut` keys) or `residual {
    BODY } shortcut { SHORTCUT }`: y = BODY(x) + SHORTCUT(x)."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = nn.Sequential(*body)
        self.shortcut = nn.Sequential(*shortcut) if shortcut is not None else None

    def forward(self, x):
        return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)


class GlobalAvgPool(nn.Module):
    """`global_avgpool`: the mean of each channel over its pixels, [N, C, H, W] -> [N, C]
    (AdaptiveAvgPool2d(1) followed by Flatten, in one index)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def sequential(*layers):
    """An nn.Sequential whose keys are the layers' indices ("0", "1", ...)."""
    return nn.Sequential(OrderedDict((str(i), m) for i, m in enumerate(layers)))


def training_model():
    """The `state_dict`-equivalent of `InteropResNet`. Shapes: 2x9x8 -> stem 6x9x8 -> identity
    block 6x9x8 -> projection block (stride 2) 8x5x4 -> pre-activation block 8x5x4 ->
    global_avgpool 8 -> 8 -> 3. A conv followed by a BN has no bias (`network!`'s rule)."""
    return sequential(
        nn.Conv2d(2, 6, 3, padding=1, bias=False),  # 0
        nn.BatchNorm2d(6),  # 1
        nn.ReLU(),  # 2
        Residual(  # 3: identity
            [
                nn.Conv2d(6, 6, 3, padding=1, bias=False),
                nn.BatchNorm2d(6),
                nn.ReLU(),
                nn.Conv2d(6, 6, 3, padding=1, bias=False),
                nn.BatchNorm2d(6, eps=1e-3, momentum=0.2),
            ]
        ),
        nn.ReLU(),  # 4
        Residual(  # 5: projection, stride 2
            [
                nn.Conv2d(6, 8, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.Conv2d(8, 8, 3, padding=1, bias=False),
                nn.BatchNorm2d(8),
            ],
            shortcut=[nn.Conv2d(6, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8, momentum=None)],
        ),
        nn.ReLU(),  # 6
        Residual(  # 7: identity, pre-activation, a GroupNorm inside
            [
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.Conv2d(8, 8, 3, padding=1),
                nn.GroupNorm(4, 8, eps=1e-3),
            ]
        ),
        nn.GroupNorm(2, 8, eps=1e-4, affine=False),  # 8
        GlobalAvgPool(),  # 9
        nn.BatchNorm1d(8),  # 10
        nn.Linear(8, 8),  # 11
        nn.ReLU(),  # 12
        nn.Linear(8, 3),  # 13
    )


def folded_model():
    """The equivalent of `InteropResNetFolded`, each level renumbered from 0: BN 1 folded into
    conv 0; in block 3 (now 2) and block 5 (now 4) each BN into the conv before it, the
    shortcut's BN into the shortcut's conv; block 7 (now 6): its first BN (after the block
    input, before a ReLU) a depthwise 1x1 conv, the GroupNorm kept; GroupNorm 8 and the
    pooling kept; BN 10 folded into Linear 11 (after it)."""
    return sequential(
        nn.Conv2d(2, 6, 3, padding=1),  # 0
        nn.ReLU(),  # 1
        Residual([nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1)]),  # 2
        nn.ReLU(),  # 3
        Residual(  # 4
            [nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1)],
            shortcut=[nn.Conv2d(6, 8, 1, stride=2)],
        ),
        nn.ReLU(),  # 5
        Residual(  # 6
            [nn.Conv2d(8, 8, 1, groups=8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.GroupNorm(4, 8, eps=1e-3)]
        ),
        nn.GroupNorm(2, 8, eps=1e-4, affine=False),  # 7
        GlobalAvgPool(),  # 8
        nn.Linear(8, 8),  # 9
        nn.ReLU(),  # 10
        nn.Linear(8, 3),  # 11
    )


def fold(m):
    """The folded model's state_dict, computed in float64 and rounded to float32 (`m` in eval
    mode)."""
    sd = {}

    def conv_then_bn(key, conv, bn):  # PyTorch's own fusion, per output channel, in float64
        fused = fuse_conv_bn_eval(copy.deepcopy(conv).double(), copy.deepcopy(bn).double())
        sd[f"{key}.weight"], sd[f"{key}.bias"] = fused.weight.detach(), fused.bias.detach()

    def keep(key, layer):  # a layer that stays as it is (a conv with its bias, a GroupNorm)
        sd[f"{key}.weight"], sd[f"{key}.bias"] = layer.weight.detach().double(), layer.bias.detach().double()

    conv_then_bn("0", m[0], m[1])
    identity, projection, pre = m[3], m[5], m[7]
    conv_then_bn("2.body.0", identity.body[0], identity.body[1])
    conv_then_bn("2.body.2", identity.body[3], identity.body[4])
    conv_then_bn("4.body.0", projection.body[0], projection.body[1])
    conv_then_bn("4.body.2", projection.body[3], projection.body[4])
    conv_then_bn("4.shortcut.0", projection.shortcut[0], projection.shortcut[1])
    # The first BN of block 7: its branch has no layer before it, a ReLU after it, so a
    # depthwise nn.Conv2d(C, C, 1, groups=C): y = a x + c per channel.
    a, c = bn_affine(pre.body[0])
    sd["6.body.0.weight"], sd["6.body.0.bias"] = a.reshape(-1, 1, 1, 1), c
    keep("6.body.2", pre.body[2])
    keep("6.body.3", pre.body[3])  # GroupNorm(4, 8): weight and bias per channel
    # GroupNorm 8 (affine=False) has no tensors. BN 10 before Linear 11: W' = W diag(a),
    # b' = W c + b.
    a, c = bn_affine(m[10])
    w = m[11].weight.detach().double()
    sd["9.weight"], sd["9.bias"] = w * a[None, :], w @ c + m[11].bias.detach().double()
    keep("11", m[13])
    return {k: v.float().contiguous() for k, v in sd.items()}


def read_images(path):
    return read_f32(path, N_IN).reshape(-1, C, H, W)


def step_labels():
    return torch.tensor([(3 * b + 1) % N_OUT for b in range(STEP_BATCH)])


def one_step(model, inputs, dtype):
    """The fixture's SGD step in train mode, in `dtype`, on a copy of `model`: returns the
    stepped copy, the train-mode outputs and the loss."""
    stepped = copy.deepcopy(model).to(dtype)
    stepped.train()
    opt = torch.optim.SGD(stepped.parameters(), lr=STEP_LR)
    outputs = stepped(inputs[:STEP_BATCH].to(dtype))
    loss = nn.functional.cross_entropy(outputs, step_labels())
    opt.zero_grad()
    loss.backward()
    opt.step()
    stepped.eval()
    return stepped, outputs.detach(), loss.detach()


def rel(got, want):
    return ((got.double() - want.double()).abs() / want.double().abs().clamp(min=FLOOR)).max().item()


def update_error(before, got, want):
    """The largest difference between two steps' updates (after - before), per tensor relative
    to the largest update of the tensor in `want`: lr times the gradient's relative error."""
    worst, worst_key = 0.0, ""
    for k, v in before.items():
        if k.endswith("num_batches_tracked"):
            continue
        d_got, d_want = got[k].double() - v.double(), want[k].double() - v.double()
        err = ((d_got - d_want).abs().max() / d_want.abs().max()).item()
        worst, worst_key = max((worst, worst_key), (err, k))
    return worst, worst_key


def write_fixtures():
    torch.manual_seed(0)
    model = training_model()
    loss = train_toward_targets(model, TRAIN_STEPS, TRAIN_LR, (C, H, W), N_OUT, TARGET_MEAN)
    inputs = torch.randn(N_SAMPLES, C, H, W) * 1.5
    with torch.no_grad():
        outputs = model(inputs)
        folded = folded_model()
        folded.load_state_dict(fold(model), strict=True)
        folded.eval()
        folded_outputs = folded(inputs)

    stepped, step_outputs, step_loss = one_step(model, inputs, torch.float32)
    stepped64, step_outputs64, step_loss64 = one_step(model, inputs, torch.float64)
    with torch.no_grad():
        step_eval = stepped(inputs)
        step_eval64 = stepped64(inputs.double())
    step = OrderedDict(
        labels=step_labels(),
        lr=torch.tensor(STEP_LR, dtype=torch.float32),
        outputs=step_outputs,
        loss=step_loss,
        eval_outputs=step_eval,
    )

    FIXTURES.mkdir(parents=True, exist_ok=True)
    save_state(model.state_dict(), "resnet_model.safetensors")
    save_state(folded.state_dict(), "resnet_model_folded.safetensors")
    save_state(stepped.state_dict(), "resnet_model_step.safetensors")
    save_state(OrderedDict((k, v.contiguous()) for k, v in step.items()), "resnet_step.safetensors")
    write_f32(FIXTURES / "resnet_inputs.bin", inputs)
    write_f32(FIXTURES / "resnet_outputs.bin", outputs)
    write_f32(FIXTURES / "resnet_folded_outputs.bin", folded_outputs)

    print(f"InteropResNet: torch {torch.__version__}, last training loss {loss.item():.4f}")
    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm)) and m.affine]
    moved = min(min((m.weight - 1).abs().min().item(), m.bias.abs().min().item()) for m in norms)
    print(f"  outputs: smallest magnitude {outputs.abs().min().item():.3f}, train-mode {step_outputs.abs().min().item():.3f}; "
          f"every gamma and beta (BN, GroupNorm) moved from 1 and 0 by at least {moved:.1e}")
    print("  BN 3.body.4: eps", model[3].body[4].eps, "num_batches_tracked", model[3].body[4].num_batches_tracked.item())
    ok = compare("PyTorch folded vs PyTorch eval", folded_outputs, outputs)
    worst, key = compare_states(stepped.state_dict(), stepped64.state_dict())
    update, update_key = update_error(model.state_dict(), stepped.state_dict(), stepped64.state_dict())
    print(
        f"  one step ({STEP_BATCH} samples, lr {STEP_LR}, loss {step_loss.item():.4f}), float32 vs float64 from the same "
        f"weights: stepped state {worst:.2e} (in {key}), updates {update:.2e} of the tensor's largest (in {update_key}), "
        f"train outputs {rel(step_outputs, step_outputs64):.2e}, loss {rel(step_loss, step_loss64):.2e}, eval after it "
        f"{rel(step_eval, step_eval64):.2e}"
    )
    names = [
        "resnet_model.safetensors",
        "resnet_model_folded.safetensors",
        "resnet_model_step.safetensors",
        "resnet_step.safetensors",
        "resnet_inputs.bin",
        "resnet_outputs.bin",
        "resnet_folded_outputs.bin",
    ]
    total = 0
    for name in names:
        size = (FIXTURES / name).stat().st_size
        total += size
        print(f"  {FIXTURES / name}: {size} bytes")
    print(f"  {total} bytes in all")
    return 0 if ok else 1


def check_rust(path):
    inputs = read_images(FIXTURES / "resnet_inputs.bin")
    print(f"torch {torch.__version__}; inputs {tuple(inputs.shape)} from {FIXTURES / 'resnet_inputs.bin'}")

    def fold_and_replay(model, state):
        # PyTorch's fold of bn-core's trained weights vs bn-core's own fold.
        theirs = fold(model)
        ours = load_file(str(path.with_name(path.stem + "_folded.safetensors")))
        assert sorted(theirs) == sorted(ours), (sorted(theirs), sorted(ours))
        worst = max(((ours[k] - v).abs() / v.abs().clamp(min=1.0)).max().item() for k, v in theirs.items())
        good = worst <= REL
        print(f"  PyTorch's fold of these weights vs bn-core's folded file: max difference {worst:.2e} "
              f"(relative above 1; {'ok' if good else 'MISMATCH'})")
        return check_replay(state, training_model, "resnet_model.safetensors", inputs, N_OUT) and good

    def depthwise(state):
        print("  6.body.0.weight (a per-channel affine layer, depthwise 1x1 conv):", list(state["6.body.0.weight"].shape))
        return True

    path = pathlib.Path(path)
    return check_rust_files(path, inputs, training_model, folded_model, N_OUT, fold_and_replay, depthwise)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check-rust", metavar="FILE", help="a file written by bn-core's save_safetensors")
    args = parser.parse_args()
    sys.exit(check_rust(args.check_rust) if args.check_rust else write_fixtures())
