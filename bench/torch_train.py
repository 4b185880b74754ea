#!/usr/bin/env python3
"""PyTorch twin of a qkv-train run, for bench/compare.sh's command-line mode.

Does what

    qkv-train -task copy -len T -min-len T -d-model D -heads H -layers L \\
        -d-ff F -batch B -steps S -log-every N -eval-every S -save-every S -out DIR

does, in PyTorch 1.13 on OpenBLAS: the model of bench/torch_bench.py
(post-norm nn.TransformerEncoder, ReLU, no dropout, sinusoidal positions, a
linear head); fixed-length copy batches drawn fresh each step; AdamW with
qkv's defaults (betas 0.9 and 0.99, eps 1e-8, no weight decay) under qkv's
cosine schedule (linear warmup over min(100, S/10) steps, decay to 1e-5),
gradient clipping at 1; a line of metrics.jsonl every N steps with the
window's tokens/s, computed as qkv computes it; at the end the validation
set (500 examples), a checkpoint of the weights and optimizer state, and
the test set (1000 examples), evaluated in batches of --eval-batch
(compare.sh gives qkv-train's own, from qkvbench -eval-batch).

    OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \\
        /usr/bin/python3 bench/torch_train.py --size small --steps 600 --out /tmp/run

It refuses to run unless torch has loaded OpenBLAS.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
from torch import nn

from torch_bench import SIZES, VOCAB, Model, blas_libraries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="default")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--log-every", type=int, default=0, help="default: steps/10")
    ap.add_argument("--val-examples", type=int, default=500)
    ap.add_argument("--test-examples", type=int, default=1000)
    ap.add_argument("--eval-batch", type=int, default=250)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    d, heads, layers, d_ff, length, batch = SIZES[args.size]
    steps = args.steps
    log_every = args.log_every or max(1, steps // 10)
    os.makedirs(args.out, exist_ok=True)

    model = Model(d, heads, layers, d_ff, length)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0)
    warmup, lr, min_lr = min(100, steps // 10), 1e-3, 1e-5

    def schedule(step):  # qkv's cosine: the factor of lr at step (0-based)
        s = step + 1
        if s <= warmup:
            return s / warmup
        p = (s - warmup) / max(1, steps - warmup)
        return (min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * p))) / lr

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    pad = torch.zeros(batch, length, dtype=torch.bool)
    val = torch.randint(2, VOCAB, (args.val_examples, length))
    test = torch.randint(2, VOCAB, (args.test_examples, length))

    def evaluate(ids_all):
        model.eval()
        loss_sum, right, count, seq_right = 0.0, 0, 0, 0
        with torch.no_grad():
            for lo in range(0, len(ids_all), args.eval_batch):
                ids = ids_all[lo:lo + args.eval_batch]
                logits = model(ids, torch.zeros(ids.shape, dtype=torch.bool))
                loss_sum += loss_fn(logits.reshape(-1, VOCAB), ids.reshape(-1)).item() * ids.numel()
                ok = logits.argmax(-1) == ids
                right += int(ok.sum())
                seq_right += int(ok.all(1).sum())
                count += ids.numel()
        model.train()
        return {"loss": loss_sum / count, "token_accuracy": right / count, "sequence_accuracy": seq_right / len(ids_all)}

    metrics = open(os.path.join(args.out, "metrics.jsonl"), "w")

    def log(v):
        metrics.write(json.dumps(v) + "\n")
        metrics.flush()

    model.train()
    run_start = time.perf_counter()
    window_start, w_loss, w_steps, w_tokens = run_start, 0.0, 0, 0
    checked = False
    for step in range(1, steps + 1):
        ids = torch.randint(2, VOCAB, (batch, length))
        opt.zero_grad()
        loss = loss_fn(model(ids, pad).reshape(-1, VOCAB), ids.reshape(-1))
        loss.backward()
        norm = float(nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        loss_v = loss.item()
        if not (math.isfinite(loss_v) and math.isfinite(norm)):
            sys.exit(f"torch_train: step {step}: loss {loss_v}, gradient norm {norm}")
        cur_lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        if not checked:
            libs = blas_libraries()
            if not any("openblas" in lib for lib in libs):
                sys.exit(f"torch_train: torch did not load OpenBLAS (BLAS libraries mapped: {libs}); refusing to report")
            checked = True
        w_loss, w_steps, w_tokens = w_loss + loss_v, w_steps + 1, w_tokens + batch * length
        now = time.perf_counter()
        if step % log_every == 0:
            log({"step": step, "loss": w_loss / w_steps, "lr": cur_lr, "grad_norm": norm,
                 "tokens_per_sec": round(w_tokens / (now - window_start), 1), "elapsed_sec": round(now - run_start, 1)})
            window_start, w_loss, w_steps, w_tokens = time.perf_counter(), 0.0, 0, 0
    m = evaluate(val)
    log({"step": steps, "eval_loss": m["loss"], "eval_token_accuracy": m["token_accuracy"], "eval_sequence_accuracy": m["sequence_accuracy"]})
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": steps}, os.path.join(args.out, "checkpoint.pt"))
    m = evaluate(test)
    log({"step": steps, "best_step": steps, "test_loss": m["loss"], "test_token_accuracy": m["token_accuracy"], "test_sequence_accuracy": m["sequence_accuracy"]})
    print(f"torch {args.size} cli: {steps} steps, test token accuracy {100 * m['token_accuracy']:.2f}% "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
