#!/usr/bin/env python3
"""PyTorch interop proof for convolutional bn-core networks (both directions).

The network is `InteropCnn` of src/networks/interop.rs (tested in tests/pytorch_cnn.rs): every image layer kind and option of
`network!` (conv2d with and without bias, strided, with a (KH, KW) kernel, padded, named;
BatchNorm2d with default and other eps/momentum, cumulative; max pooling with overlapping
windows and plain; average pooling; flatten; relu, tanh and sigmoid on images) and a BN in
every place the fold plan distinguishes. Its PyTorch equivalent is `training_model()` below,
the folded (BN-free) equivalent `folded_model()`, and `fold()` computes the folded weights
in float64. The helpers and the tolerance are shared with tools/pytorch_interop.py (the
proof for dense networks).

1. PyTorch -> bn-core (writes the checked-in fixtures, read by `cargo test --test pytorch_cnn`):

       python3 tools/pytorch_interop_cnn.py

   builds the model, trains it 10 SGD steps in train mode (so the running statistics, the
   batch counts, gamma and beta are not the defaults), and writes to tests/fixtures/pytorch/:
     cnn_model.safetensors         the state_dict (safetensors.torch.save_file)
     cnn_model_folded.safetensors  the state_dict of the folded model, folded here in float64
     cnn_inputs.bin                16 x 2 x 17 x 14 inputs  (raw little-endian float32, N C H W)
     cnn_outputs.bin               16 x 3 eval outputs      (raw little-endian float32)
     cnn_folded_outputs.bin        16 x 3 outputs of the folded model (float32)

2. bn-core -> PyTorch (the Rust test writes the files into the cargo target's tmp directory):

       cargo test --test pytorch_cnn
       python3 tools/pytorch_interop_cnn.py --check-rust <target>/tmp/rust_cnn_model.safetensors

   loads rust_cnn_model.safetensors and rust_cnn_model_folded.safetensors with
   `load_state_dict(safetensors.torch.load_file(...), strict=True)` and compares PyTorch's
   outputs on cnn_inputs.bin with the outputs bn-core computed (rust_cnn_model_outputs.bin,
   rust_cnn_model_folded_outputs.bin). It also replays in PyTorch the 3 training steps that
   the Rust test took from cnn_model.safetensors (same batches, labels, loss and SGD) and
   compares the resulting state_dict with bn-core's, tensor by tensor. It exits with status 1
   on any mismatch.

Versions used (Debian 12 has a CPU-only PyTorch; PyPI's Linux wheel needs the CUDA libraries):

    apt-get install --no-install-recommends python3-torch    # 1.13.1+dfsg-4: torch 1.13.0a0, numpy 1.24.2
    /usr/bin/python3 -m venv --system-site-packages /tmp/cnn-venv   # Python 3.11.2
    /tmp/cnn-venv/bin/pip install safetensors                 # 0.8.0
    /tmp/cnn-venv/bin/python tools/pytorch_interop_cnn.py
"""

import argparse
import copy
import sys
from collections import OrderedDict

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

# The proof for dense networks, beside this file: its fixtures directory, its BN affine map,
# its raw float32 files, its comparisons (tolerance REL = 1e-5 relative, floor 1e-3) and the
# replay of the Rust test's training steps (tolerance TRAIN_REL = 1e-4).
sys.dont_write_bytecode = True  # no tools/__pycache__ from this import
from pytorch_interop import (
    FIXTURES,
    bn_affine,
    check_replay,
    check_rust_files,
    compare,
    read_f32,
    save_state,
    train_toward_targets,
    write_f32,
)

C, H, W = 2, 17, 14  # one input image
N_IN, N_OUT, N_SAMPLES = C * H * W, 3, 16
# The means of the training targets (plus standard normal noise), so that the outputs move
# away from 0 (on cnn_inputs.bin: means 0.25, -0.39, 0.12, standard deviations about 0.02,
# smallest magnitude 0.08). The comparisons are relative, and an output near 0 is a small
# difference of larger terms: its relative error is the terms' rounding (about 1e-7 of them)
# scaled up by the cancellation, whichever code computes it (the floor 1e-3 only caps that
# below 1e-3). With zero-mean targets the outputs spread around 0 (down to 4.5e-4), and
# bn-core's eval path and folded model differed from PyTorch's by 1.5e-5 and 3e-5 relative,
# PyTorch's own folded model from its eval path by 7.6e-6.
TARGET_MEAN = torch.tensor([0.3, -0.3, 0.2])


def training_model():
    """The `state_dict`-equivalent of `InteropCnn` (the module its `save_safetensors` docs
    print). Shapes: 2x17x14 -> conv 4x17x14 -> maxpool 4x8x6 -> conv 6x4x5 -> c2 8x4x4
    -> avgpool 8x3x3 -> conv 6x4x4 -> maxpool 6x2x2 -> flatten 24 -> 12 -> 3."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Conv2d(2, 4, 3, padding=1, bias=False)),
                ("1", nn.BatchNorm2d(4)),
                ("2", nn.MaxPool2d(3, stride=2)),
                ("3", nn.ReLU()),
                ("4", nn.BatchNorm2d(4, eps=1e-3, momentum=0.3)),
                ("5", nn.Conv2d(4, 6, 2, stride=(2, 1))),
                ("6", nn.Tanh()),
                ("7", nn.BatchNorm2d(6, momentum=None)),
                ("c2", nn.Conv2d(6, 8, (3, 2), padding=(1, 0))),
                ("9", nn.BatchNorm2d(8, eps=1e-4, momentum=0.05)),
                ("10", nn.Sigmoid()),
                ("11", nn.BatchNorm2d(8)),
                ("12", nn.AvgPool2d(2, stride=1)),
                ("13", nn.Conv2d(8, 6, 2, padding=1, bias=False)),
                ("14", nn.ReLU()),
                ("15", nn.MaxPool2d(2)),
                ("16", nn.BatchNorm2d(6, eps=1e-2, momentum=None)),
                ("17", nn.Flatten()),
                ("18", nn.Linear(24, 12)),
                ("19", nn.Tanh()),
                ("20", nn.BatchNorm1d(12, eps=1e-2)),
                ("21", nn.Sigmoid()),
                ("head", nn.Linear(12, 3)),
            ]
        )
    )


def folded_model():
    """The BN-free equivalent of `InteropCnnFolded`, renumbered from 0: BN 1 folded into conv 0
    (after it), BN 4 into conv 5 (before it: no padding), BN 7 (before the padded `c2`) a
    depthwise 1x1 conv, BN 9 into `c2` (after it), BN 11 (between sigmoid and avgpool) a
    depthwise 1x1 conv, BN 16 into Linear 18 across the flatten, BN 20 (between tanh and
    sigmoid) a diagonal Linear."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Conv2d(2, 4, 3, padding=1)),
                ("1", nn.MaxPool2d(3, stride=2)),
                ("2", nn.ReLU()),
                ("3", nn.Conv2d(4, 6, 2, stride=(2, 1))),
                ("4", nn.Tanh()),
                ("5", nn.Conv2d(6, 6, 1, groups=6)),
                ("c2", nn.Conv2d(6, 8, (3, 2), padding=(1, 0))),
                ("7", nn.Sigmoid()),
                ("8", nn.Conv2d(8, 8, 1, groups=8)),
                ("9", nn.AvgPool2d(2, stride=1)),
                ("10", nn.Conv2d(8, 6, 2, padding=1)),
                ("11", nn.ReLU()),
                ("12", nn.MaxPool2d(2)),
                ("13", nn.Flatten()),
                ("14", nn.Linear(24, 12)),
                ("15", nn.Tanh()),
                ("16", nn.Linear(12, 12)),
                ("17", nn.Sigmoid()),
                ("head", nn.Linear(12, 3)),
            ]
        )
    )


def fold(m):
    """The folded model's state_dict, computed in float64 and rounded to float32."""
    sd = {}

    def conv_then_bn(key, conv, bn):  # PyTorch's own fusion, per output channel, in float64
        fused = fuse_conv_bn_eval(copy.deepcopy(conv).double(), copy.deepcopy(bn).double())
        sd[f"{key}.weight"], sd[f"{key}.bias"] = fused.weight.detach(), fused.bias.detach()

    def channel_affine(key, bn):  # a depthwise nn.Conv2d(C, C, 1, groups=C): y = a x + c per channel
        a, c = bn_affine(bn)
        sd[f"{key}.weight"], sd[f"{key}.bias"] = a.reshape(-1, 1, 1, 1), c

    conv_then_bn("0", m[0], m[1])
    # BN 4 before conv 5 (no padding: every tap sees a normalized value): W' = W diag(a) over
    # the input channels, b' = b + sum over (in, kh, kw) of W c.
    a, c = bn_affine(m[4])
    w5 = m[5].weight.detach().double()
    sd["3.weight"] = w5 * a[None, :, None, None]
    sd["3.bias"] = m[5].bias.detach().double() + (w5 * c[None, :, None, None]).sum(dim=(1, 2, 3))
    channel_affine("5", m[7])  # before a padded conv: the border would see 0, not the BN's shift
    conv_then_bn("c2", m.c2, m[9])
    channel_affine("8", m[11])  # no linear neighbour (sigmoid before, avgpool after)
    sd["10.weight"], sd["10.bias"] = m[13].weight.detach().double(), torch.zeros(6, dtype=torch.float64)
    # BN 16 over 6x2x2 images, flatten (C, H, W order), Linear 18: feature f has channel
    # f // 4, so a and c repeat per channel: W' = W diag(a), b' = W c + b.
    a, c = bn_affine(m[16])
    per = m[18].in_features // a.numel()
    a, c = a.repeat_interleave(per), c.repeat_interleave(per)
    w18 = m[18].weight.detach().double()
    sd["14.weight"], sd["14.bias"] = w18 * a[None, :], w18 @ c + m[18].bias.detach().double()
    a, c = bn_affine(m[20])  # between two activations: a diagonal Linear
    sd["16.weight"], sd["16.bias"] = torch.diag(a), c
    sd["head.weight"], sd["head.bias"] = m.head.weight.detach().double(), m.head.bias.detach().double()
    return {k: v.float().contiguous() for k, v in sd.items()}


def read_images(path):
    return read_f32(path, N_IN).reshape(-1, C, H, W)


def write_fixtures():
    torch.manual_seed(0)
    model = training_model()
    loss = train_toward_targets(model, 10, 0.1, (C, H, W), N_OUT, TARGET_MEAN)
    inputs = torch.randn(N_SAMPLES, C, H, W) * 1.5
    with torch.no_grad():
        outputs = model(inputs)
        folded = folded_model()
        folded.load_state_dict(fold(model), strict=True)
        folded.eval()
        folded_outputs = folded(inputs)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    files = {"cnn_model.safetensors": model, "cnn_model_folded.safetensors": folded}
    for name, m in files.items():
        save_state(m.state_dict(), name)
    write_f32(FIXTURES / "cnn_inputs.bin", inputs)
    write_f32(FIXTURES / "cnn_outputs.bin", outputs)
    write_f32(FIXTURES / "cnn_folded_outputs.bin", folded_outputs)
    print(f"torch {torch.__version__}, last training loss {loss.item():.4f}")
    written = [*files, "cnn_inputs.bin", "cnn_outputs.bin", "cnn_folded_outputs.bin"]
    for name in written:
        print(f"  {FIXTURES / name}: {(FIXTURES / name).stat().st_size} bytes")
    print("BN 1 running_mean", model[1].running_mean.tolist(), "num_batches_tracked", model[1].num_batches_tracked.item())
    print("outputs[0]", outputs[0].tolist())
    ok = compare("folded vs eval outputs (PyTorch)", folded_outputs, outputs)
    return 0 if ok else 1


def check_rust(path):
    inputs = read_images(FIXTURES / "cnn_inputs.bin")
    print(f"torch {torch.__version__}; inputs {tuple(inputs.shape)} from {FIXTURES / 'cnn_inputs.bin'}")

    def replay(_model, state):
        return check_replay(state, training_model, "cnn_model.safetensors", inputs, N_OUT)

    def affine_layers(state):
        w = state["16.weight"]
        diagonal = bool(torch.equal(w, torch.diag(torch.diagonal(w))))
        print("  16.weight (the affine layer over features) is diagonal:", diagonal)
        for k in ["5.weight", "8.weight"]:
            print(f"  {k} (a per-channel affine layer, depthwise 1x1 conv): {list(state[k].shape)}")
        return diagonal

    return check_rust_files(path, inputs, training_model, folded_model, N_OUT, replay, affine_layers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check-rust", metavar="FILE", help="a file written by bn-core's save_safetensors")
    args = parser.parse_args()
    sys.exit(check_rust(args.check_rust) if args.check_rust else write_fixtures())
