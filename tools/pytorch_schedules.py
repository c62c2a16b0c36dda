#!/usr/bin/env python3
"""PyTorch parity of bn-core's learning-rate schedules (bn-core/src/train/schedule.rs).

Runs each torch.optim.lr_scheduler schedule below on a one-parameter optimizer and writes the
learning rate (and the momentum or Adam's beta1, which OneCycleLR cycles) that the optimizer
holds before each of STEPS steps, as `scheduler.step()` is called after each
`optimizer.step()`:

    python3 tools/pytorch_schedules.py      # writes tests/fixtures/pytorch/schedules.txt

One line per case and step: `case t lr momentum` (`-` when the case has no momentum), floats
in Python's shortest round-trip form. `cargo test --test pytorch_schedules` rebuilds each case
with bn-core's schedules and compares (1e-12 relative). The cases' names are the test's.

Versions: torch 2.15 (PyPI CPU wheel), Python 3.11.
"""
import os
import warnings

import torch
from torch.optim import SGD, Adam
from torch.optim import lr_scheduler as L

STEPS = 80
BASE_LR = 0.1
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pytorch", "schedules.txt")


def cases():
    """(name, optimizer class, scheduler factory); the names match tests/pytorch_schedules.rs."""
    return [
        ("step", SGD, lambda o: L.StepLR(o, step_size=7, gamma=0.5)),
        ("multistep", SGD, lambda o: L.MultiStepLR(o, milestones=[25, 10, 25], gamma=0.3)),
        ("cosine", SGD, lambda o: L.CosineAnnealingLR(o, T_max=30, eta_min=1e-3)),
        ("linear", SGD, lambda o: L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=8)),
        ("linear_default", SGD, lambda o: L.LinearLR(o)),
        ("onecycle_sgd", SGD, lambda o: L.OneCycleLR(o, max_lr=0.4, total_steps=STEPS)),
        (
            "onecycle_adam_three_phase_linear",
            Adam,
            lambda o: L.OneCycleLR(
                o, max_lr=0.01, total_steps=STEPS, pct_start=0.25, anneal_strategy="linear",
                three_phase=True, base_momentum=0.8, max_momentum=0.9, div_factor=10.0,
                final_div_factor=100.0,
            ),
        ),
        ("onecycle_no_momentum", SGD, lambda o: L.OneCycleLR(o, max_lr=0.4, total_steps=STEPS, cycle_momentum=False)),
        (
            "warmup_cosine",
            SGD,
            lambda o: L.SequentialLR(
                o, [L.LinearLR(o, start_factor=0.01, total_iters=5), L.CosineAnnealingLR(o, T_max=STEPS - 5)],
                milestones=[5],
            ),
        ),
        (
            "three_sequential",
            SGD,
            lambda o: L.SequentialLR(
                o,
                [
                    L.LinearLR(o, start_factor=0.5, total_iters=4),
                    L.StepLR(o, step_size=5, gamma=0.5),
                    L.CosineAnnealingLR(o, T_max=40, eta_min=1e-4),
                ],
                milestones=[6, 20],
            ),
        ),
    ]


def momentum_of(opt):
    group = opt.param_groups[0]
    return group["betas"][0] if "betas" in group else group["momentum"]


def main():
    warnings.simplefilter("ignore")  # "optimizer.step() before lr_scheduler.step()" and alike
    lines = []
    for name, cls, make in cases():
        p = torch.nn.Parameter(torch.zeros(1))
        opt = cls([p], lr=BASE_LR, momentum=0.9) if cls is SGD else cls([p], lr=BASE_LR)
        before = momentum_of(opt)
        sched = make(opt)
        cycles = momentum_of(opt) != before or name.startswith("onecycle") and "no_momentum" not in name
        for t in range(STEPS):
            lr = opt.param_groups[0]["lr"]
            mom = repr(float(momentum_of(opt))) if cycles else "-"
            lines.append(f"{name} {t} {float(lr)!r} {mom}")
            p.grad = torch.zeros(1)
            opt.step()
            sched.step()
    with open(OUT, "w") as f:
        f.write(f"# tools/pytorch_schedules.py, torch {torch.__version__}, base lr {BASE_LR!r}\n")
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
