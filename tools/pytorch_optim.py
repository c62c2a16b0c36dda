#!/usr/bin/env python3
"""PyTorch parity fixtures for bn-core's optimizers (Adam, AdamW, SGD with parameter groups),
gradient clipping (clip_grad_norm_) and learning-rate schedules in training
(torch.optim.lr_scheduler), read by `cargo test --test pytorch_optim`.

The network is `OptimNet` of tests/pytorch_optim.rs (`input: 4, dense(5), batchnorm, relu,
dense(4), tanh, dense(3)`: a weight without bias before the BN, as bn-core declares it,
since a bias there has a zero gradient in exact arithmetic and Adam would turn its rounding
noise into full-size steps; biases after; γ and β); its PyTorch equivalent is
`training_model()` below. Every run starts from the same float32 weights and takes STEPS
steps: batch s is `inputs[s]` (8 samples) with the labels `(b + s) % 3`, softmax
cross-entropy (the batch mean), train mode, then, for the clipped runs,
`clip_grad_norm_(model.parameters(), MAX_NORM)`, then `opt.step()`, then, for the runs of
SCHEDULED_RUNS, `scheduler.step()` (so step s runs with the learning rate, and the momentum or
beta1 OneCycleLR cycles, after s scheduler steps: bn-core's `schedule.apply(&mut opt,
base_lr, s)` before its step s).

    python3 tools/pytorch_optim.py

writes to tests/fixtures/pytorch/:
  optim_init.safetensors     the initial state_dict (float32), γ and β away from 1 and 0
  optim_init64.safetensors   the same values in float64
  optim_runs.safetensors     `inputs` [STEPS, 8, 4] (float32); for every run R of RUNS and
                             SCHEDULED_RUNS:
                               `R.grads` [STEPS, P]: the float32 run's gradients of every
                                   step before clipping, the parameters concatenated in
                                   `model.parameters()` order (P = 69)
                               `R.<name>`: the float32 run's final parameters
                               `R.losses` [STEPS]; `R.norms` [STEPS] (clipped runs: the
                                   total norms clip_grad_norm_ returned)
                               `R.f64.<name>`, `R.f64.losses`, `R.f64.norms`: the same run in
                                   float64 from the same weights

The optimizers run with `foreach=False` (PyTorch's default on the CPU: the single-tensor
implementation, `_single_tensor_adam`). The parameter-group runs put every weight in a group
with the weight decay and the biases, γ and β in a group with weight_decay=0 (what bn-core's
`excluding_norm_and_bias_from_decay()` does). MAX_NORM clips some steps and not others
(checked here).

Versions used: Python 3.11.7, torch 2.15.0+cu132 (PyPI's wheel, run on the CPU),
safetensors 0.8.0, numpy 2.4.6, in the venv of tools/pytorch_interop_resnet.py. Deterministic:
the same bytes on a rerun.
"""

import sys
from collections import OrderedDict

import torch
from torch import nn

from pytorch_interop import FIXTURES, save_state

STEPS, BATCH, N_IN, N_OUT = 20, 8, 4, 3
MAX_NORM = 0.5
LR = 0.01


def training_model():
    """The `state_dict`-equivalent of `OptimNet`."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Linear(N_IN, 5, bias=False)),
                ("1", nn.BatchNorm1d(5)),
                ("2", nn.ReLU()),
                ("3", nn.Linear(5, 4)),
                ("4", nn.Tanh()),
                ("5", nn.Linear(4, N_OUT)),
            ]
        )
    )


def groups(model, weight_decay):
    """PyTorch's parameter groups for decay on weights only."""
    weights = [p for n, p in model.named_parameters() if n.endswith("weight") and not n.startswith("1.")]
    others = [p for n, p in model.named_parameters() if not (n.endswith("weight") and not n.startswith("1."))]
    assert len(weights) == 3 and len(others) == 4
    return [{"params": weights, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]


# Every run: its name, the optimizer, whether it clips. Keep in step with `RUNS` of
# tests/pytorch_optim.rs.
RUNS = [
    ("adam", lambda m: torch.optim.Adam(m.parameters(), lr=LR, foreach=False), False),
    ("adam_l2", lambda m: torch.optim.Adam(m.parameters(), lr=LR, weight_decay=0.1, foreach=False), False),
    ("adamw", lambda m: torch.optim.AdamW(m.parameters(), lr=LR, weight_decay=0.1, foreach=False), False),
    (
        "adamw_amsgrad",
        # β₂ = 0.9: v forgets fast, so the running maximum matters.
        lambda m: torch.optim.AdamW(
            m.parameters(), lr=LR, weight_decay=0.1, amsgrad=True, betas=(0.9, 0.9), foreach=False
        ),
        False,
    ),
    ("adamw_groups", lambda m: torch.optim.AdamW(groups(m, 0.1), lr=LR, foreach=False), False),
    (
        "adam_l2_groups_amsgrad",
        lambda m: torch.optim.Adam(groups(m, 0.1), lr=LR, amsgrad=True, betas=(0.8, 0.99), eps=1e-6, foreach=False),
        False,
    ),
    ("adamw_clipped", lambda m: torch.optim.AdamW(m.parameters(), lr=LR, weight_decay=0.1, foreach=False), True),
    (
        "sgd_groups_clipped",
        lambda m: torch.optim.SGD(groups(m, 0.01), lr=0.05, momentum=0.9, foreach=False),
        True,
    ),
]


# The scheduled runs: name, the optimizer, the torch.optim.lr_scheduler, stepped after every
# `opt.step()` (so step s runs with the values after s scheduler steps). Keep in step with
# `table` of tests/pytorch_optim.rs.
L = torch.optim.lr_scheduler
SCHEDULED_RUNS = [
    (
        "sgd_step",
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, foreach=False),
        lambda o: L.StepLR(o, step_size=5, gamma=0.5),
    ),
    (
        "sgd_multistep",
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, foreach=False),
        lambda o: L.MultiStepLR(o, milestones=[4, 9, 15], gamma=0.3),
    ),
    (
        "adamw_warmup_cosine",
        lambda m: torch.optim.AdamW(m.parameters(), lr=LR, weight_decay=0.1, foreach=False),
        lambda o: L.SequentialLR(
            o,
            [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)],
            milestones=[5],
        ),
    ),
    (
        "adam_linear",
        lambda m: torch.optim.Adam(m.parameters(), lr=LR, foreach=False),
        lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=10),
    ),
    (
        # Cycles SGD's momentum.
        "sgd_onecycle",
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, foreach=False),
        lambda o: L.OneCycleLR(o, max_lr=0.2, total_steps=STEPS),
    ),
    (
        # Cycles AdamW's beta1.
        "adamw_onecycle",
        lambda m: torch.optim.AdamW(m.parameters(), lr=LR, foreach=False),
        lambda o: L.OneCycleLR(o, max_lr=0.02, total_steps=STEPS, three_phase=True),
    ),
]


def initial_state():
    torch.manual_seed(0)
    model = training_model()
    with torch.no_grad():
        model[1].weight.copy_(1.0 + 0.2 * torch.randn(5))
        model[1].bias.copy_(0.2 * torch.randn(5))
    inputs = torch.randn(STEPS, BATCH, N_IN) * 1.5 + 0.3
    return model.state_dict(), inputs


def run(state, inputs, make_opt, clip, dtype, make_sched=None):
    """One run from `state` in `dtype`: the gradients of every step (flat, before clipping),
    the losses, the norms (clipped runs) and the final state_dict. With `make_sched`, its
    scheduler steps after every `opt.step()`; the learning rates and momenta of the steps are
    kept in `schedule` (lists of (lr, momentum or beta1))."""
    model = training_model().to(dtype)
    model.load_state_dict(state, strict=True)
    model.train()
    opt = make_opt(model)
    sched = make_sched(opt) if make_sched else None
    grads, losses, norms, schedule = [], [], [], []
    for s in range(STEPS):
        labels = torch.tensor([(b + s) % N_OUT for b in range(BATCH)])
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs[s].to(dtype)), labels)
        loss.backward()
        grads.append(torch.cat([p.grad.detach().flatten() for p in model.parameters()]))
        losses.append(loss.detach())
        if clip:
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM).detach())
        group = opt.param_groups[0]
        schedule.append((group["lr"], group["betas"][0] if "betas" in group else group["momentum"]))
        opt.step()
        if sched:
            sched.step()
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    return torch.stack(grads), torch.stack(losses), (torch.stack(norms) if clip else None), params, schedule


def main():
    state, inputs = initial_state()
    save_state(state, "optim_init.safetensors")
    save_state(
        {k: (v.double() if v.is_floating_point() else v) for k, v in state.items()}, "optim_init64.safetensors"
    )
    out = {"inputs": inputs.contiguous()}
    runs = [(name, make_opt, clip, None) for name, make_opt, clip in RUNS]
    runs += [(name, make_opt, False, make_sched) for name, make_opt, make_sched in SCHEDULED_RUNS]
    for name, make_opt, clip, make_sched in runs:
        grads, losses, norms, params, schedule = run(state, inputs, make_opt, clip, torch.float32, make_sched)
        out[f"{name}.grads"] = grads.contiguous()
        out[f"{name}.losses"] = losses.contiguous()
        for k, v in params.items():
            out[f"{name}.{k}"] = v.contiguous()
        _, losses64, norms64, params64, schedule64 = run(state, inputs, make_opt, clip, torch.float64, make_sched)
        assert schedule64 == schedule
        out[f"{name}.f64.losses"] = losses64.contiguous()
        for k, v in params64.items():
            out[f"{name}.f64.{k}"] = v.contiguous()
        moved = min((params[k].double() - state[k].double()).abs().min().item() for k in params)
        line = f"{name}: loss {losses[0].item():.4f} -> {losses[-1].item():.4f}"
        if clip:
            out[f"{name}.norms"] = norms.contiguous()
            out[f"{name}.f64.norms"] = norms64.contiguous()
            clipped = int((norms > MAX_NORM).sum())
            line += f", {clipped} of {STEPS} steps clipped (norms {norms.min().item():.3f} to {norms.max().item():.3f})"
            if not 0 < clipped < STEPS:
                print(line, "MAX_NORM must clip some steps and not others")
                return 1
        if make_sched:
            lrs, moms = sorted({lr for lr, _ in schedule}), sorted({m for _, m in schedule})
            line += f", {len(lrs)} learning rates ({lrs[0]:.2e} to {lrs[-1]:.2e})"
            if len(moms) > 1:
                line += f", {len(moms)} momenta ({moms[0]:.3f} to {moms[-1]:.3f})"
        f32_vs_f64 = max(
            ((params[k].double() - params64[k]).abs() / params64[k].abs().clamp(min=1e-3)).max().item() for k in params
        )
        print(line + f"; float32 vs float64 run: {f32_vs_f64:.1e}; every parameter moved by at least {moved:.1e}")
    save_state(out, "optim_runs.safetensors")
    print(f"torch {torch.__version__}; wrote optim_init.safetensors, optim_init64.safetensors, optim_runs.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
