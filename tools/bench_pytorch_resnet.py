"""PyTorch's side of the W5 bench (`cargo bench --bench resnet`): the same network as
`bn_paper::networks::ResNetBn`, the same three timings, on this machine.

- train: one training step at batch 60 (train mode: batch statistics; forward, softmax
  cross-entropy, backward, SGD step with lr 0.01, as `benches/common/workload.rs`);
- folded_one: the folded model (each BN fused into its convolution with
  `torch.ao.quantization.fuse_modules`-equivalent `fuse_conv_bn_eval`, eval mode,
  `torch.inference_mode`) on one sample;
- folded_batch60: the folded model on a batch of 60, per sample.

Each timing is the median of `--repeats` runs of a loop lasting about `--seconds`, after a
warm-up; `torch.set_num_threads(--threads)`. Prints one line of JSON:
`{"threads": 1, "train": s, "folded_one": s, "folded_batch60": s, "torch": "2.15.0"}`
(seconds, per step or per sample), which the Rust bench reads when `BN_BENCH_PYTHON` names a
Python with torch:

    BN_BENCH_PYTHON=/work/venv/bin/python cargo bench --bench resnet

Versions used: Python 3.11.7, torch 2.15.0 (PyPI's wheel, CPU), in a venv (safetensors and
numpy for the modules it imports from pytorch_interop_resnet.py):
    python3 -m venv /work/venv && /work/venv/bin/pip install torch safetensors numpy
"""

import argparse
import copy
import json
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

sys.dont_write_bytecode = True  # no tools/__pycache__ from this import
# The modules that give `network!`'s residual blocks and global_avgpool.
from pytorch_interop_resnet import GlobalAvgPool, Residual

BATCH = 60


def conv(cin, cout, k=3, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


def block(cin, cout, stride):
    body = [conv(cin, cout, stride=stride), nn.BatchNorm2d(cout), nn.ReLU(), conv(cout, cout), nn.BatchNorm2d(cout)]
    shortcut = None if cin == cout and stride == 1 else [conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)]
    return Residual(body, shortcut)


def resnet_bn():
    """`ResNetBn` of src/networks/mod.rs."""
    return nn.Sequential(
        conv(1, 16),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        block(16, 16, 1),
        nn.ReLU(),
        block(16, 32, 2),
        nn.ReLU(),
        block(32, 64, 2),
        nn.ReLU(),
        GlobalAvgPool(),
        nn.Linear(64, 10),
    )


def fuse(m):
    """Each (Conv2d, BatchNorm2d) pair of every Sequential fused into one Conv2d, in eval mode."""
    if isinstance(m, nn.Sequential):
        layers, i = [], 0
        while i < len(m):
            if isinstance(m[i], nn.Conv2d) and i + 1 < len(m) and isinstance(m[i + 1], nn.BatchNorm2d):
                layers.append(fuse_conv_bn_eval(m[i], m[i + 1]))
                i += 2
            else:
                layers.append(fuse(m[i]))
                i += 1
        return nn.Sequential(*layers)
    if isinstance(m, Residual):
        r = Residual([], None)
        r.body = fuse(m.body)
        r.shortcut = fuse(m.shortcut) if m.shortcut is not None else None
        return r
    return m


def timed(f, seconds, repeats):
    """Median seconds per call over `repeats` loops of about `seconds` each."""
    for _ in range(3):
        f()
    t = time.perf_counter()
    f()
    once = max(time.perf_counter() - t, 1e-7)
    n = max(1, int(seconds / once))
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            f()
        runs.append((time.perf_counter() - t) / n)
    return statistics.median(runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    net = resnet_bn()
    x = torch.rand(BATCH, 1, 28, 28)
    labels = torch.randint(0, 10, (BATCH,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    net.train()

    def train():
        opt.zero_grad(set_to_none=False)
        loss_fn(net(x), labels).backward()
        opt.step()

    for _ in range(5):
        train()
    t_train = timed(train, args.seconds, args.repeats)

    folded = fuse(copy.deepcopy(net).eval()).eval()
    with torch.inference_mode():
        one = x[7:8].clone()
        t_one = timed(lambda: folded(one), args.seconds, args.repeats)
        t_batch = timed(lambda: folded(x), args.seconds, args.repeats) / BATCH
        # The fused model is the eval model.
        err = (folded(x) - net.eval()(x)).abs().max().item()
        assert err < 1e-4, err
    print(
        json.dumps(
            {
                "threads": args.threads,
                "train": t_train,
                "folded_one": t_one,
                "folded_batch60": t_batch,
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
