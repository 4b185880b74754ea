#!/usr/bin/python3
"""PyTorch twins of qkv's LSTM and transformer, trained on qkv's TSV files.

The cross-check of issue 14: torch's own nn.Embedding + nn.LSTM + nn.Linear
(and nn.TransformerEncoder) trained on the same train/val/test files as
qkv-train -data, with qkv's recipe: batch 32, Adam (beta1 0.9, beta2 0.99,
eps 1e-8, no weight decay), linear warmup over 100 steps then cosine decay
to 1e-5, gradients clipped to global norm 1, one shuffled pass after
another over the training lines, validation every 250 steps and the test
set scored with the best checkpoint by validation (sequence accuracy, then
loss), as qkv-train does. Accuracy is over the scored targets (not "_").

    go run ./cmd/study -twin-data /tmp/twin     # the files (lag8, T=24, 8 symbols)
    /usr/bin/python3 scripts/lstm_twin.py -data /tmp/twin -seeds 1,2,3
    /usr/bin/python3 scripts/lstm_twin.py -study -o cmd/study/testdata/twin.json

Each option named below changes one thing from qkv's recipe, to find what
separates two trainers. -study runs what cmd/study's cross-check reads:
both models at the study's sizes, a learning-rate sweep picked by
validation, three seeds. Needs Debian's python3-torch (1.13); never run by
the tests.
"""
import argparse
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import torch
from torch import nn

# cmd/study's LSTM for this setting: one bidirectional layer whose hidden
# size matches the parameter count of its transformer (d_model 32, 4 heads,
# 2 layers, d_ff 64); the study refuses twin.json made for another.
STUDY_LSTM_HIDDEN = 32
FILLER = "_"  # a target that is not scored (cmd/study's twinFiller)
PAD = "<pad>"


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            a, b = line.split("\t")
            rows.append((a.split(), b.split()))
    return rows


class Data:
    """The three files as tensors: inputs [N, T] and targets [N, T] with -100
    where a target is not trained on."""

    def __init__(self, d, loss_on_filler):
        splits = {s: read_tsv(os.path.join(d, s + ".tsv")) for s in ("train", "val", "test")}
        ins = sorted({t for rows in splits.values() for a, _ in rows for t in a})
        outs = sorted({t for rows in splits.values() for _, b in rows for t in b})
        self.in_vocab = [PAD] + ins
        self.out_vocab = outs
        self.filler = outs.index(FILLER) if FILLER in outs else -1
        self.tensors = {}
        for s, rows in splits.items():
            x = torch.tensor([[self.in_vocab.index(t) for t in a] for a, _ in rows])
            y = torch.tensor([[outs.index(t) for t in b] for _, b in rows])
            scored = y != self.filler
            train_y = y.clone()
            if not loss_on_filler:
                train_y[~scored] = -100
            self.tensors[s] = (x, y, train_y, scored)


class LSTMTwin(nn.Module):
    def __init__(self, vin, vout, hidden, directions, emb_std):
        super().__init__()
        self.embed = nn.Embedding(vin, hidden)  # N(0, 1)
        if emb_std is not None:
            nn.init.normal_(self.embed.weight, std=emb_std)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=directions == 2)
        self.head = nn.Linear(hidden * directions, vout)

    def forward(self, x):
        y, _ = self.lstm(self.embed(x))  # [B, T, H·dirs]
        return self.head(y)


class TransformerTwin(nn.Module):
    """qkv's post-norm encoder: embedding drawn N(0, 1/d) and scaled by √d,
    sinusoidal positions, nn.TransformerEncoder, a linear head; the
    layers' own init is torch's."""

    def __init__(self, vin, vout, d, heads, layers, dff, max_len):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(vin, d)
        nn.init.normal_(self.embed.weight, std=1 / math.sqrt(d))
        pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
        div = torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float64) / d)
        pe = torch.zeros(max_len, d, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos / div), torch.cos(pos / div)
        self.register_buffer("pe", pe.float())
        layer = nn.TransformerEncoderLayer(d, heads, dff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, vout)

    def forward(self, x):
        h = self.embed(x) * math.sqrt(self.d) + self.pe[: x.shape[1]]
        return self.head(self.encoder(h))


def lr_at(step, peak, floor, warmup, total):
    """qkv's optim.WarmupCosine: step counts from 1."""
    step = max(step, 1)
    if step <= warmup:
        return peak * step / warmup
    if step >= total:
        return floor
    p = (step - warmup) / (total - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * p))


@torch.no_grad()
def evaluate(model, x, y, scored, loss_on_filler):
    model.eval()
    logits = torch.cat([model(x[i : i + 500]) for i in range(0, len(x), 500)])
    pred = logits.argmax(-1)
    right = (pred == y) & scored
    counted = scored.sum()
    tgt = y.clone()
    if not loss_on_filler:
        tgt[~scored] = -100
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100).item()
    seq = ((right | ~scored).all(1)).float().mean().item()
    model.train()
    return {"token_accuracy": (right.sum() / counted).item(), "sequence_accuracy": seq, "loss": loss}


def train_one(a, data, model_kind, seed, lr):
    torch.manual_seed(seed)
    vin, vout = len(data.in_vocab), len(data.out_vocab)
    x, _, ty, _ = data.tensors["train"]
    if model_kind == "lstm":
        model = LSTMTwin(vin, vout, a.hidden, a.directions, a.emb_std)
    else:
        model = TransformerTwin(vin, vout, a.t_d_model, a.t_heads, a.t_layers, a.t_d_ff, x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, a.beta2), eps=1e-8)
    gen = torch.Generator().manual_seed(seed)
    order, at = torch.randperm(len(x), generator=gen), 0
    vx, vy, _, vs = data.tensors["val"]
    best, best_state = None, None
    start = time.time()
    for step in range(1, a.steps + 1):
        if a.sampling == "replacement":
            idx = torch.randint(len(x), (a.batch,), generator=gen)
        else:
            if at + a.batch > len(order):
                order, at = torch.randperm(len(x), generator=gen), 0
            idx, at = order[at : at + a.batch], at + a.batch
        logits = model(x[idx])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vout), ty[idx].reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        if a.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, lr, a.min_lr, a.warmup, a.steps)
        opt.step()
        if step % a.eval_every == 0 or step == a.steps:
            m = evaluate(model, vx, vy, vs, a.loss_on_filler)
            if best is None or (m["sequence_accuracy"], -m["loss"]) > (best["sequence_accuracy"], -best["loss"]):
                best = dict(m, step=step)
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    tx, ty_, _, ts = data.tensors["test"]
    test = evaluate(model, tx, ty_, ts, a.loss_on_filler)
    n = sum(p.numel() for p in model.parameters())
    return {"model": model_kind, "seed": seed, "lr": lr, "params": n, "best_step": best["step"],
            "val": {k: best[k] for k in ("token_accuracy", "sequence_accuracy", "loss")},
            "test": test, "seconds": round(time.time() - start, 1)}


def train_job(a, data, kind, seed, lr):
    torch.set_num_threads(a.threads)
    return train_one(a, data, kind, seed, lr)


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-data", help="directory with train.tsv, val.tsv, test.tsv (default: written by go run ./cmd/study -twin-data)")
    p.add_argument("-model", default="lstm", choices=["lstm", "transformer"])
    p.add_argument("-seeds", default="1")
    p.add_argument("-lr", default="1e-3", help="comma-separated; more than one: pick by validation at the first seed")
    p.add_argument("-steps", type=int, default=1500)
    p.add_argument("-batch", type=int, default=32)
    p.add_argument("-warmup", type=int, default=100)
    p.add_argument("-min-lr", dest="min_lr", type=float, default=1e-5)
    p.add_argument("-beta2", type=float, default=0.99, help="qkv's default 0.99; torch's 0.999")
    p.add_argument("-clip", type=float, default=1.0)
    p.add_argument("-eval-every", dest="eval_every", type=int, default=250)
    p.add_argument("-sampling", default="epochs", choices=["epochs", "replacement"])
    p.add_argument("-loss-on-filler", dest="loss_on_filler", type=int, default=1,
                   help="1 (as qkv-train on a file): the loss counts the unscored '_' targets too; 0: only scored targets")
    p.add_argument("-hidden", type=int, default=96)
    p.add_argument("-directions", type=int, default=1)
    p.add_argument("-emb-std", dest="emb_std", type=float, default=None, help="default: torch's N(0, 1)")
    p.add_argument("-t-d-model", dest="t_d_model", type=int, default=32)
    p.add_argument("-t-heads", dest="t_heads", type=int, default=4)
    p.add_argument("-t-layers", dest="t_layers", type=int, default=2)
    p.add_argument("-t-d-ff", dest="t_d_ff", type=int, default=64)
    p.add_argument("-study", action="store_true", help="cmd/study's cross-check: both models, its sizes, lr 1e-4,1e-3,1e-2, seeds 1,2,3")
    p.add_argument("-threads", type=int, default=1, help="torch threads (1: OpenMP spinning on a loaded machine costs more than it gains)")
    p.add_argument("-combine", nargs="+", metavar="LOG",
                   help="with -study: train nothing; take the runs from these logs of earlier invocations (their JSON lines), "
                        "as -study would have run them, split across processes")
    p.add_argument("-jobs", type=int, default=1, help="train this many runs at once, in separate processes")
    p.add_argument("-o", help="write the results as JSON here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    tmp = None
    if a.data is None:
        tmp = tempfile.TemporaryDirectory()
        a.data = os.path.join(tmp.name, "twin")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run(["go", "run", "./cmd/study", "-twin-data", a.data], cwd=root, check=True)
    data = Data(a.data, bool(a.loss_on_filler))

    runs = []
    if a.study:
        # The study's models (cmd/study: tDModel etc.; the LSTM matched to
        # the transformer's parameter count, one bidirectional layer).
        a.hidden, a.directions = STUDY_LSTM_HIDDEN, 2
        plan = [("transformer", None), ("lstm", None)]
        lrs, seeds = [1e-4, 1e-3, 1e-2], [1, 2, 3]
    else:
        plan = [(a.model, None)]
        lrs, seeds = [float(v) for v in a.lr.split(",")], [int(v) for v in a.seeds.split(",")]
    summary = []
    pool = multiprocessing.Pool(a.jobs) if a.jobs > 1 and not a.combine else None
    logged = []
    for path in a.combine or []:
        with open(path) as f:
            logged += [json.loads(line) for line in f if line.startswith('{"model"')]

    def run(jobs):
        if a.combine:
            out = []
            for kind, seed, lr in jobs:
                r = next((r for r in logged if (r["model"], r["seed"], r["lr"]) == (kind, seed, lr)), None)
                if r is None:
                    sys.exit(f"-combine: no run of {kind}, seed {seed}, lr {lr} in {a.combine}")
                out.append(r)
            return out
        if pool:
            return pool.starmap(train_job, [(a, data) + j for j in jobs])
        return [train_job(a, data, *j) for j in jobs]
    # The sweeps of every model at the first seed, side by side; then the
    # remaining seeds at each model's chosen rate.
    sweeps = {kind: [] for kind, _ in plan}
    if len(lrs) > 1:
        for r in run([(kind, seeds[0], lr) for kind, _ in plan for lr in lrs]):
            sweeps[r["model"]].append(r)
            print(json.dumps(r), flush=True)
    chosen = {kind: max(sweeps[kind], key=lambda r: (r["val"]["token_accuracy"], -r["val"]["loss"]))["lr"] if sweeps[kind] else lrs[0]
              for kind, _ in plan}
    todo = [(kind, s, chosen[kind]) for kind, _ in plan for s in seeds
            if not any(r["seed"] == s and r["lr"] == chosen[kind] for r in sweeps[kind])]
    finals = {kind: [r for r in sweeps[kind] if r["lr"] == chosen[kind]] for kind, _ in plan}
    for r in run(todo):
        finals[r["model"]].append(r)
        print(json.dumps(r), flush=True)
    for kind, _ in plan:
        fs = sorted(finals[kind], key=lambda r: r["seed"])
        accs = [r["test"]["token_accuracy"] for r in fs]
        summary.append({"model": kind, "lr": chosen[kind], "params": fs[0]["params"],
                        "lr_sweep": [{"lr": r["lr"], "val_token_accuracy": r["val"]["token_accuracy"],
                                      "val_sequence_accuracy": r["val"]["sequence_accuracy"], "val_loss": r["val"]["loss"]} for r in sweeps[kind]],
                        "seeds": [r["seed"] for r in fs], "test_token_accuracy": accs,
                        "median": median(accs), "min": min(accs), "max": max(accs)})
        print(f"{kind}: lr {chosen[kind]}, test token accuracy (scored targets) median {100 * median(accs):.1f}% "
              f"range {100 * min(accs):.1f}–{100 * max(accs):.1f}% over seeds {[r['seed'] for r in fs]}", flush=True)
    if a.o:
        setting = {"task": "lag8", "len": 24, "symbols": 8, "train": len(data.tensors["train"][0]),
                   "val": len(data.tensors["val"][0]), "test": len(data.tensors["test"][0]),
                   "steps": a.steps, "batch": a.batch, "warmup": a.warmup, "min_lr": a.min_lr,
                   "beta2": a.beta2, "clip": a.clip, "loss_on_filler": bool(a.loss_on_filler),
                   "lstm_hidden": a.hidden, "lstm_directions": a.directions,
                   "transformer": {"d_model": a.t_d_model, "heads": a.t_heads, "layers": a.t_layers, "d_ff": a.t_d_ff}}
        out = {"made_by": "scripts/lstm_twin.py " + " ".join(sys.argv[1:]), "torch": torch.__version__,
               "setting": setting, "results": summary}
        with open(a.o, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
