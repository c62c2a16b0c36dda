#!/usr/bin/env python3
"""PyTorch interop proof for the normalization family: LayerNorm, BN without affine
parameters, and Batch Renormalization (which PyTorch lacks: written here from the paper).

The networks are those of tests/pytorch_norm.rs: `NormCnn` (LayerNorm over an image and over
features, LayerNorm without affine parameters, BatchNorm2d and BatchNorm1d with
affine=False), `Renorm` (dense, Batch Renormalization, relu, dense) and `RenormCnn` (the same
over the channels of images). Their PyTorch equivalents are `norm_model()` and
`renorm_model()` below; the BN shared helpers and tolerance come from
tools/pytorch_interop.py.

1. Fixtures (checked in, read by `cargo test --test pytorch_norm`):

       python3 tools/pytorch_interop_norm.py

   NormCnn: builds the model, trains it TRAIN_STEPS (30) SGD steps in train mode, and writes
     norm_model.safetensors     its state_dict (safetensors.torch.save_file)
     norm_model_folded.safetensors  the state_dict of the folded model (`norm_folded_model()`,
                                folded here in float64)
     norm_state_dict.txt        name, dtype and shape of every tensor of that state_dict
     norm_inputs.bin            16 x 2 x 8 x 8 inputs (raw little-endian float32, N C H W)
     norm_outputs.bin           16 x 3 eval outputs (float32)
     norm_folded_outputs.bin    16 x 3 outputs of the folded model (float32)
     norm_train_outputs.bin     16 x 3 outputs of one train-mode forward of norm_inputs.bin
                                as one batch (batch statistics), then the running_mean and
                                running_var of BN 5 (6 + 6) and BN 12 (8 + 8) after it

   Renorm and RenormCnn: Algorithm 1 of Ioffe 2017 (arXiv 1702.03275) written with
   autograd, r and d detached (`BatchRenorm` below), in float64 from float32 initial weights;
   STEPS steps of plain SGD with softmax cross-entropy, some batches wide enough that r or d
   clip, others not. It writes, for each network (prefix `renorm_` and `renorm_cnn_`):
     *_init.safetensors         the initial state_dict, under the names of the module that
                                bn-core saves (the renorm BN as nn.BatchNorm1d/2d, moving
                                sigma as running_var = sigma^2 - eps)
     *_reference.safetensors    the run: `inputs` [STEPS, B, ...], `labels` (int64),
                                per-step `outputs`, `losses`, `r`, `d` (each step's factors),
                                the gradients of step 0 (`grad.<state_dict name>`), the final
                                moving `mu` and `sigma`, and `eval_outputs` of the trained
                                network on the inputs of the last step (eval: (x - mu)/sigma)
   and checks that the final state, saved with running_var = sigma^2 - eps, loads into the
   PyTorch Sequential with nn.BatchNorm1d/2d (strict=True) and that PyTorch's eval
   (sqrt(running_var + eps)) reproduces the reference's eval outputs.

2. bn-core -> PyTorch: `cargo test --test pytorch_norm` writes rust_norm_model.safetensors,
   rust_renorm_model.safetensors and rust_renorm_cnn_model.safetensors, each with its eval
   outputs (`*_outputs.bin`), into the cargo target's tmp directory; then

       python3 tools/pytorch_interop_norm.py --check-rust target/tmp

   loads each with `load_state_dict(..., strict=True)` into the PyTorch module and compares
   PyTorch's eval outputs with bn-core's. It exits with status 1 on any mismatch.

Versions used (Debian 12's CPU-only PyTorch; PyPI's Linux wheel needs the CUDA libraries;
Debian 12 has no python3-safetensors):

    apt-get install --no-install-recommends python3-torch python3-numpy python3-venv
                                                       # torch 1.13.0a0 (1.13.1+dfsg-4), numpy 1.24.2
    /usr/bin/python3 -m venv --system-site-packages /tmp/pt-venv   # Python 3.11.2
    /tmp/pt-venv/bin/pip install safetensors           # 0.8.0
    /tmp/pt-venv/bin/python tools/pytorch_interop_norm.py
"""

import argparse
import math
import pathlib
import sys
from collections import OrderedDict

import torch
from safetensors.torch import load_file
from torch import nn

sys.dont_write_bytecode = True  # no tools/__pycache__ from this import
from pytorch_interop import FIXTURES, compare, read_f32, save_state, train_toward_targets, write_f32

C, H, W = 2, 8, 8
N_IN, N_OUT, N_SAMPLES = C * H * W, 3, 16
# The means of the training targets, so that the outputs move away from 0 (see
# pytorch_interop_cnn.py on why): with [0.3, -0.3, 0.2] and 10 steps an output of 7.7e-3 was
# a difference of terms near 1, and bn-core's folded model differed from PyTorch's eval by
# 1.35e-5 relative (1e-7 absolute, the terms' rounding). Now the smallest is 0.064.
TARGET_MEAN = torch.tensor([1.0, -1.0, 0.5])

# Batch Renormalization: the declared limits, BN's defaults for eps and momentum.
RMAX, DMAX, EPS, MOMENTUM = 2.0, 1.0, 1e-5, 0.1
STEPS, LR = 6, 0.1
TRAIN_STEPS = 30  # NormCnn's SGD steps in PyTorch
# Per step, the scale and shift of the inputs: wide or shifted batches make r or d clip,
# standard ones do not (the moving statistics start at mu = 0, sigma = sqrt(1 + eps)).
BATCHES = [(3.0, 1.0), (1.0, 0.0), (0.2, 0.0), (1.0, 0.0), (4.0, -3.0), (0.7, 0.2)]


def norm_model():
    """The `state_dict`-equivalent of `NormCnn`. Shapes: 2x8x8 -> conv 4x8x8 -> maxpool 4x4x4
    -> conv 6x4x4 -> flatten 96 -> 16 -> 8 -> 3."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Conv2d(2, 4, 3, padding=1)),
                ("1", nn.LayerNorm([4, 8, 8])),
                ("2", nn.ReLU()),
                ("3", nn.MaxPool2d(2)),
                ("4", nn.Conv2d(4, 6, 3, padding=1, bias=False)),
                ("5", nn.BatchNorm2d(6, affine=False)),
                ("6", nn.ReLU()),
                ("7", nn.Flatten()),
                ("8", nn.Linear(96, 16)),
                ("9", nn.LayerNorm(16, eps=1e-3)),
                ("10", nn.ReLU()),
                ("11", nn.Linear(16, 8, bias=False)),
                ("12", nn.BatchNorm1d(8, affine=False)),
                ("13", nn.Tanh()),
                ("14", nn.LayerNorm(8, elementwise_affine=False)),
                ("head", nn.Linear(8, 3)),
            ]
        )
    )


def norm_folded_model():
    """The equivalent of `NormCnnFolded`: BN 5 folded into conv 4 (which gains a bias), BN 12
    into Linear 11; the LayerNorms stay (they do not fold). Renumbered from 0."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Conv2d(2, 4, 3, padding=1)),
                ("1", nn.LayerNorm([4, 8, 8])),
                ("2", nn.ReLU()),
                ("3", nn.MaxPool2d(2)),
                ("4", nn.Conv2d(4, 6, 3, padding=1)),
                ("5", nn.ReLU()),
                ("6", nn.Flatten()),
                ("7", nn.Linear(96, 16)),
                ("8", nn.LayerNorm(16, eps=1e-3)),
                ("9", nn.ReLU()),
                ("10", nn.Linear(16, 8)),
                ("11", nn.Tanh()),
                ("12", nn.LayerNorm(8, elementwise_affine=False)),
                ("head", nn.Linear(8, 3)),
            ]
        )
    )


def norm_fold(m):
    """The folded model's state_dict, computed in float64 and rounded to float32. A BN
    without affine parameters is y = a x + c with a = 1/sqrt(running_var + eps), c = -a
    running_mean; after a layer without bias: W' = diag(a) W, b' = c."""
    sd = {}

    def after(key, layer, bn):
        a = 1.0 / torch.sqrt(bn.running_var.double() + bn.eps)
        w = layer.weight.detach().double()
        sd[f"{key}.weight"] = a.view(-1, *[1] * (w.dim() - 1)) * w
        sd[f"{key}.bias"] = -a * bn.running_mean.double()

    for new, old in [("0", "0"), ("1", "1"), ("7", "8"), ("8", "9"), ("head", "head")]:
        for t in ["weight", "bias"]:
            sd[f"{new}.{t}"] = getattr(m.get_submodule(old), t).detach().double()
    after("4", m[4], m[5])
    after("10", m[11], m[12])
    return {k: v.float().contiguous() for k, v in sd.items()}


class BatchRenorm(nn.Module):
    """Algorithm 1 of Ioffe 2017, over features ([B, N]) or channels ([B, C, H, W]):
    sigma_B = sqrt(var_B + eps) (biased variance), r = clip(sigma_B / sigma, 1/rmax, rmax) and
    d = clip((mu_B - mu) / sigma, -dmax, dmax), both detached; y = gamma (xhat r + d) + beta;
    then mu += alpha (mu_B - mu), sigma += alpha (sigma_B - sigma). Eval: gamma (x - mu) / sigma
    + beta."""

    def __init__(self, n, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n, dtype=dtype))
        self.register_buffer("mu", torch.zeros(n, dtype=dtype))
        self.register_buffer("sigma", torch.full((n,), math.sqrt(1.0 + EPS), dtype=dtype))
        self.r = self.d = None

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)  # a per-channel vector against x
        dims = [0] + list(range(2, x.dim()))
        if not self.training:
            return self.weight.view(shape) * (x - self.mu.view(shape)) / self.sigma.view(shape) + self.bias.view(shape)
        mu_b = x.mean(dim=dims)
        sigma_b = torch.sqrt(x.var(dim=dims, unbiased=False) + EPS)
        self.margins = ((sigma_b / self.sigma).detach(), ((mu_b - self.mu) / self.sigma).detach())  # before clipping
        r = torch.clamp(sigma_b / self.sigma, 1.0 / RMAX, RMAX).detach()
        d = torch.clamp((mu_b - self.mu) / self.sigma, -DMAX, DMAX).detach()
        xhat = (x - mu_b.view(shape)) / sigma_b.view(shape)
        y = self.weight.view(shape) * (xhat * r.view(shape) + d.view(shape)) + self.bias.view(shape)
        with torch.no_grad():
            self.mu += MOMENTUM * (mu_b - self.mu)
            self.sigma += MOMENTUM * (sigma_b - self.sigma)
        self.r, self.d = r, d
        return y


def renorm_model(image, bn=None, dtype=torch.float32):
    """`Renorm` (5 -> dense 6 -> BN -> relu -> dense 3) or `RenormCnn` (2x5x5 -> conv 3x5x5 ->
    BN -> relu -> flatten 75 -> dense 3). With `bn=None` the BN is PyTorch's (what bn-core's
    file loads into), else the given module."""
    if image:
        layers = [nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3) if bn is None else bn, nn.ReLU(), nn.Flatten(), nn.Linear(75, 3)]
    else:
        layers = [nn.Linear(5, 6, bias=False), nn.BatchNorm1d(6) if bn is None else bn, nn.ReLU(), nn.Linear(6, 3)]
    return nn.Sequential(OrderedDict((str(i), m) for i, m in enumerate(layers))).to(dtype)


def renorm_state_dict(m):
    """The state_dict of `m` (with a BatchRenorm at index 1) as bn-core saves it: the moving
    sigma as running_var = sigma^2 - eps, float32, num_batches_tracked the number of steps."""
    sd = OrderedDict()
    for k, v in m.state_dict().items():
        if k == "1.mu":
            sd["1.running_mean"] = v
        elif k == "1.sigma":
            sd["1.running_var"] = v * v - EPS
        else:
            sd[k] = v
    sd = OrderedDict((k, v.float().contiguous()) for k, v in sd.items())
    sd["1.num_batches_tracked"] = torch.tensor(m.steps, dtype=torch.int64)
    order = list(renorm_model(image=m.image).state_dict())
    assert sorted(order) == sorted(sd), (order, list(sd))
    return OrderedDict((k, sd[k]) for k in order)


def write_norm_fixtures():
    torch.manual_seed(0)
    model = norm_model()
    loss = train_toward_targets(model, TRAIN_STEPS, 0.1, (C, H, W), N_OUT, TARGET_MEAN)
    inputs = torch.randn(N_SAMPLES, C, H, W) * 1.5
    with torch.no_grad():
        outputs = model(inputs)
        # One train-mode forward of the inputs as one batch (batch statistics), on a copy.
        trained = norm_model()
        trained.load_state_dict(model.state_dict())
        trained.train()
        train_outputs = trained(inputs)
        stats = [trained[5].running_mean, trained[5].running_var, trained[12].running_mean, trained[12].running_var]
        folded = norm_folded_model()
        folded.load_state_dict(norm_fold(model), strict=True)
        folded.eval()
        folded_outputs = folded(inputs)
    save_state(model.state_dict(), "norm_model.safetensors")
    save_state(folded.state_dict(), "norm_model_folded.safetensors")
    write_f32(FIXTURES / "norm_folded_outputs.bin", folded_outputs)
    with open(FIXTURES / "norm_state_dict.txt", "w") as f:
        f.write("# name dtype shape: the state_dict of tools/pytorch_interop_norm.py's norm_model()\n")
        for k, v in model.state_dict().items():
            dtype = {torch.float32: "F32", torch.int64: "I64"}[v.dtype]
            f.write(f"{k} {dtype} [{','.join(str(s) for s in v.shape)}]\n")
    write_f32(FIXTURES / "norm_inputs.bin", inputs)
    write_f32(FIXTURES / "norm_outputs.bin", outputs)
    write_f32(FIXTURES / "norm_train_outputs.bin", torch.cat([train_outputs.flatten(), *stats]))
    print(f"NormCnn: torch {torch.__version__}, last training loss {loss.item():.4f}")
    print("  outputs: smallest magnitude", outputs.abs().min().item(), "train-mode", train_outputs.abs().min().item())
    print("  LayerNorm 1 weight moved by", (model[1].weight - 1).abs().max().item(), "BN 5 num_batches_tracked", model[5].num_batches_tracked.item())
    ok = compare("PyTorch folded vs PyTorch eval", folded_outputs, outputs)
    files = ["norm_model.safetensors", "norm_model_folded.safetensors", "norm_state_dict.txt", "norm_inputs.bin"]
    return files + ["norm_outputs.bin", "norm_folded_outputs.bin", "norm_train_outputs.bin"], ok


def run_renorm(image, prefix, seed):
    """The reference run of Batch Renormalization (float64 from float32 initial values)."""
    torch.manual_seed(seed)
    init = renorm_model(image)  # float32, PyTorch's default init
    with torch.no_grad():
        # gamma and beta away from 1 and 0, so that their roles cannot be swapped unseen.
        init[1].weight.copy_(1.0 + 0.2 * torch.randn(init[1].weight.shape))
        init[1].bias.copy_(0.1 * torch.randn(init[1].bias.shape))
    state = init.state_dict()
    save_state(state, f"{prefix}_init.safetensors")

    bn = BatchRenorm(init[1].num_features, torch.float64)
    model = renorm_model(image, bn=bn, dtype=torch.float64)
    model.image, model.steps = image, 0
    own = {k: v for k, v in state.items() if not k.startswith("1.running") and k != "1.num_batches_tracked"}
    missing, unexpected = model.load_state_dict(own, strict=False)
    assert sorted(missing) == ["1.mu", "1.sigma"] and not unexpected, (missing, unexpected)
    model.train()
    shape = (4, 2, 5, 5) if image else (8, 5)  # a batch: 4 images or 8 samples of features
    ref = OrderedDict()
    inputs, labels, outputs, losses, rs, ds = [], [], [], [], [], []
    for step, (scale, shift) in enumerate(BATCHES[:STEPS]):
        x = (torch.randn(shape) * scale + shift).float()  # float32, as the Rust test reads it
        y = torch.tensor([(b + step) % N_OUT for b in range(shape[0])])
        model.zero_grad()
        out = model(x.double())
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
        if step == 0:
            for k, p in model.named_parameters():
                ref[f"grad.{k}"] = p.grad.float().clone()
        with torch.no_grad():
            for p in model.parameters():
                p -= LR * p.grad
        model.steps += 1
        inputs.append(x)
        labels.append(y)
        outputs.append(out.detach().float())
        losses.append(loss.item())
        rs.append(bn.r.float())
        ds.append(bn.d.float())
        r_in, d_in = bn.margins
        r_free = (r_in >= 1 / RMAX) & (r_in <= RMAX)
        d_free = d_in.abs() <= DMAX
        # How close an unclipped ratio comes to its limit (float32 rounding must not flip a clip).
        margin = torch.cat([torch.minimum(r_in - 1 / RMAX, RMAX - r_in)[r_free], (DMAX - d_in.abs())[d_free]])
        print(
            f"  step {step}: loss {loss.item():.4f}, r clipped {int((~r_free).sum())}/{len(r_in)}, "
            f"d clipped {int((~d_free).sum())}/{len(d_in)}, closest unclipped factor to its limit "
            f"{margin.min().item() if len(margin) else float('nan'):.3f}"
        )
    ref["inputs"] = torch.stack(inputs)
    ref["labels"] = torch.stack(labels)
    ref["outputs"] = torch.stack(outputs)
    ref["losses"] = torch.tensor(losses, dtype=torch.float32)
    ref["r"], ref["d"] = torch.stack(rs), torch.stack(ds)
    ref["mu"], ref["sigma"] = bn.mu.float(), bn.sigma.float()
    model.eval()
    with torch.no_grad():
        eval_outputs = model(inputs[-1].double())
    ref["eval_outputs"] = eval_outputs.float()
    save_state(OrderedDict((k, v.contiguous()) for k, v in ref.items()), f"{prefix}_reference.safetensors")

    # The final state as bn-core saves it loads into PyTorch's BatchNorm, whose eval
    # (sqrt(running_var + eps)) gives the reference's eval.
    saved = renorm_state_dict(model)
    torch_model = renorm_model(image)
    torch_model.load_state_dict(saved, strict=True)
    torch_model.eval()
    with torch.no_grad():
        torch_eval = torch_model(inputs[-1])
    sigma_back = torch.sqrt(saved["1.running_var"].double() + EPS)
    err_sigma = ((sigma_back - bn.sigma) / bn.sigma).abs().max().item()
    print(f"  final state with running_var = sigma^2 - eps loads into nn.BatchNorm{2 if image else 1}d with strict=True; "
          f"sqrt(running_var + eps) vs sigma: max relative difference {err_sigma:.2e}")
    ok = compare("PyTorch eval of that state vs the reference's eval (x - mu)/sigma", torch_eval, ref["eval_outputs"])
    return [f"{prefix}_init.safetensors", f"{prefix}_reference.safetensors"], ok


def write_fixtures():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    written, ok = write_norm_fixtures()
    for image, prefix, seed in [(False, "renorm", 1), (True, "renorm_cnn", 2)]:
        print(f"{prefix}: Batch Renormalization (rmax {RMAX}, dmax {DMAX}), {STEPS} steps")
        files, good = run_renorm(image, prefix, seed)
        written += files
        ok &= good
    for name in written:
        print(f"  {FIXTURES / name}: {(FIXTURES / name).stat().st_size} bytes")
    return 0 if ok else 1


def check_rust(directory):
    directory = pathlib.Path(directory)
    print(f"torch {torch.__version__}; files from {directory}")
    ok = True
    norm_inputs = read_f32(FIXTURES / "norm_inputs.bin", N_IN).reshape(-1, C, H, W)
    cases = [("rust_norm_model", norm_model(), norm_inputs)]
    for image, prefix in [(False, "renorm"), (True, "renorm_cnn")]:
        ref = load_file(str(FIXTURES / f"{prefix}_reference.safetensors"))
        cases.append((f"rust_{prefix}_model", renorm_model(image), ref["inputs"][-1]))
    for name, model, inputs in cases:
        state = load_file(str(directory / f"{name}.safetensors"))
        model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key or shape
        model.eval()
        with torch.no_grad():
            outputs = model(inputs)
        rust_outputs = read_f32(directory / f"{name}_outputs.bin", N_OUT)
        print(f"{name}.safetensors loaded with strict=True ({len(state)} tensors)")
        ok &= compare(f"PyTorch eval vs bn-core eval ({rust_outputs.shape[0]} samples)", outputs, rust_outputs)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check-rust", metavar="DIR", help="the directory of the files written by the Rust test")
    args = parser.parse_args()
    sys.exit(check_rust(args.check_rust) if args.check_rust else write_fixtures())
