#!/usr/bin/python3
"""Generate PyTorch reference trajectories for the Go package optim.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 scripts/optim_fixtures.py

It writes optim/testdata/*.json, which optim's parity tests read; the tests
never run Python. Each configuration is written twice, in float64 (NAME.json)
and in float32 (NAME_f32.json: model, data, gradients, clipping and Adam's
state all float32, as the default training run), seeded, so a rerun with the
same PyTorch gives the same files. Every number is written with repr, which
round-trips; float32 values are written widened to float64, exactly.

Each fixture trains a small two-layer MLP (y = W2 tanh(W1 x + b1) + b2, mean
squared error on fixed random data) for 50 steps and records, per step, the
raw gradients (before clipping), the gradients clip_grad_norm_ left (only
when the fixture clips), the learning rate the optimizer used, the total
gradient norm and the parameters after the step. The Go test feeds the
gradients through ClipGradNorm and Adam.Step, so it needs no MLP.

The schedules below implement the same formulas, in the same operation order,
as optim.WarmupCosine and optim.InverseSqrt; keep them in step with the Go.
"""

import json
import math
import os

import torch

STEPS = 50
OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "optim", "testdata"))


def warmup_cosine(step, peak, min_lr, warmup, total):
    """optim.WarmupCosine.LR: step is the 1-based optimizer step."""
    if step < 1:
        step = 1
    if step <= warmup:
        return peak * float(step) / float(warmup)
    if step >= total:
        return min_lr
    progress = float(step - warmup) / float(total - warmup)
    half = 0.5 * (1.0 + math.cos(math.pi * progress))
    return min_lr + (peak - min_lr) * half


def noam_scale(peak, d_model, warmup):
    """optim.NewSchedule("noam", ...): the scale that puts the peak at step warmup."""
    return peak * math.sqrt(float(d_model) * float(warmup))


def inverse_sqrt(step, scale, d_model, warmup):
    """optim.InverseSqrt.LR, Vaswani et al. (2017) eq. (3)."""
    if step < 1:
        step = 1
    s = float(step)
    w = float(warmup)
    return scale / math.sqrt(float(d_model)) * min(1.0 / math.sqrt(s), s / (w * math.sqrt(w)))


def model_and_data(dtype):
    torch.manual_seed(20240601)
    x = torch.randn(16, 3, dtype=torch.float64).to(dtype)
    y = torch.randn(16, 2, dtype=torch.float64).to(dtype)
    l1 = torch.nn.Linear(3, 4).double().to(dtype)
    l2 = torch.nn.Linear(4, 2).double().to(dtype)
    named = [("l1.weight", l1.weight), ("l1.bias", l1.bias),
             ("l2.weight", l2.weight), ("l2.bias", l2.bias)]

    def loss_fn():
        return torch.nn.functional.mse_loss(l2(torch.tanh(l1(x))), y)

    return named, loss_fn


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run(name, cfg, schedule, lr_of_step, max_norm, dtype):
    named, loss_fn = model_and_data(dtype)
    params = [p for _, p in named]
    init = [{"name": n, "shape": list(p.shape), "value": flat(p)} for n, p in named]
    betas = (cfg["beta1"], cfg["beta2"])
    if cfg["decoupled"]:
        opt = torch.optim.AdamW(params, lr=1.0, betas=betas, eps=cfg["eps"],
                                weight_decay=cfg["weight_decay"], foreach=False)
    else:
        opt = torch.optim.Adam(params, lr=1.0, betas=betas, eps=cfg["eps"],
                               weight_decay=cfg["weight_decay"], foreach=False)
    # base lr 1.0 and a lambda that returns the lr itself: LambdaLR multiplies
    # base*lambda, and 1.0*x == x exactly. LambdaLR counts from 0, the Go
    # schedules from 1.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: lr_of_step(epoch + 1))
    steps = []
    clipped = 0
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        raw = [flat(p.grad) for p in params]
        if max_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            if max_norm / (float(norm) + 1e-6) < 1:
                clipped += 1
        else:
            norm = torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in params]), 2.0)
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        record = {"step": step, "loss": float(loss), "lr": lr, "norm": float(norm),
                  "grads": raw, "params": [flat(p) for p in params]}
        if max_norm > 0:
            record["clipped"] = [flat(p.grad) for p in params]
        steps.append(record)
    if max_norm > 0:
        assert 0 < clipped < STEPS, f"{name}: clipped on {clipped} of {STEPS} steps; pick another max_norm"
    fixture = {"name": name, "torch_version": torch.__version__, "dtype": str(dtype).replace("torch.", ""), "config": cfg,
               "schedule": schedule, "max_norm": max_norm, "init": init, "steps": steps}
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes, clipped on {clipped} steps")


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    for dtype, suffix in ((torch.float64, ""), (torch.float32, "_f32")):
        fixtures(dtype, suffix)


def fixtures(dtype, suffix):
    """Writes every fixture in dtype, each name followed by suffix."""
    adam = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "decoupled": False}
    run("adam_constant" + suffix, adam, {"kind": "constant", "peak": 0.05},
        lambda s: 0.05, 0.0, dtype)

    adam_wd = dict(adam, weight_decay=0.1)
    run("adam_weight_decay" + suffix, adam_wd, {"kind": "constant", "peak": 0.05},
        lambda s: 0.05, 0.0, dtype)

    cos = {"kind": "cosine", "peak": 0.05, "min": 0.005, "warmup": 5, "total": 40}
    adamw = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05, "decoupled": True}
    run("adamw_cosine_clip" + suffix, adamw, cos,
        lambda s: warmup_cosine(s, cos["peak"], cos["min"], cos["warmup"], cos["total"]), 0.25, dtype)

    noam = {"kind": "noam", "peak": 0.05, "warmup": 10, "d_model": 16}
    scale = noam_scale(noam["peak"], noam["d_model"], noam["warmup"])
    adamw_noam = {"lr": 0.05, "beta1": 0.9, "beta2": 0.98, "eps": 1e-9, "weight_decay": 0.01, "decoupled": True}
    run("adamw_noam" + suffix, adamw_noam, noam,
        lambda s: inverse_sqrt(s, scale, noam["d_model"], noam["warmup"]), 0.0, dtype)


if __name__ == "__main__":
    main()
