#!/usr/bin/python3
"""Run a qkv checkpoint in PyTorch and print its logits as JSON.

Loads model.safetensors of a checkpoint directory (a step-* directory with
config.json, vocab.json and model.safetensors) into a PyTorch module of the
same architecture, built from config.json, and runs token sequences through
it. The logits equal those of qkv's train.Evaluator.Logits (what cmd/eval
computes) to within 1e-4: train/torch_test.go compares them on the committed
checkpoints under testdata/torch/, whose logits.json this script wrote.
Regenerate those (retrain, rewrite inputs.tsv, rerun this script) with

    go test ./train/ -run TestTorchParity -torch-update

Usage, from the repository root, with Debian's PyTorch 1.13 (python3-torch):

    /usr/bin/python3 scripts/torch_eval.py CKPT --input "a b c d"
    /usr/bin/python3 scripts/torch_eval.py CKPT --data held_out.tsv --out logits.json
    /usr/bin/python3 scripts/torch_eval.py CKPT --data held_out.tsv --dtype float32

CKPT is one checkpoint directory, e.g. checkpoints/reverse/step-00003000 (not
the run directory above it). --data reads the training format, one example a
line: input tokens, a TAB, target tokens (the target is ignored here and may
be left out, tab included); blank lines and lines starting with # are
skipped. Tokens the checkpoint's vocabulary lacks are read as <unk>, as Go
does, with a warning on stderr.

The output (stdout, or --out FILE) is one JSON object:

    {"checkpoint": ..., "step": ..., "kind": "tagging" | "classification",
     "dtype": "float64", "torch_version": ..., "out_vocab": [...],
     "examples": [{"input": [tokens], "logits": [[V floats], ...],
                   "predicted": [tokens]}, ...]}

with one row of logits per input position for tagging and a single row for
classification, the shapes of train.Evaluator.Logits.

Architecture (see layers/ and train/model.go):
  x = embed(ids) * sqrt(d_model) + PE      PE sinusoidal, learned (pos.weight) or none
  x = TransformerEncoder(x, src_key_padding_mask=padding)
      nn.TransformerEncoderLayer(d_model, nhead=heads, dim_feedforward=d_ff,
      dropout=0, activation, batch_first=True, norm_first=(norm == "pre")),
      plus a final LayerNorm encoder.norm for pre-norm models
  tagging:        logits = head(x) at every position
  classification: logits = head(mean of x over the unpadded positions)

Evaluation mode and padding: all inputs run as one padded batch (of up to
250, as Go batches them), with padding masked out of attention as keys and
the outputs at padded positions dropped. The encoder runs in train() mode
with every dropout set to 0, which is evaluation arithmetic: in eval() mode
PyTorch 1.13 may take a "fast path" through TransformerEncoderLayer and
MultiheadAttention (fused kernels; with nested tensors, padded positions
come out as zeros) whose use depends on version, device and dtype. train()
never takes it, so the numbers are the plain composition of the documented
modules, and a padded batch gives exactly what each sequence gives alone.

Computation is in float64 by default, whatever the checkpoint's dtype
(weights are widened exactly); --dtype float32 computes in float32.

Name map (our parameter → PyTorch, as scripts/layer_fixtures.py):
  embed.weight                               → embed.weight
  pos.weight (learned positions only)        → pos (a [max_len, d_model] tensor)
  encoder.layers.i.attn.q/k/v.weight, .bias  → encoder.layers.i.self_attn.in_proj_weight,
                                               in_proj_bias rows [0:D], [D:2D], [2D:3D]
  encoder.layers.i.attn.out                  → encoder.layers.i.self_attn.out_proj
  encoder.layers.i.ff.linear1, ff.linear2    → encoder.layers.i.linear1, linear2
  encoder.layers.i.norm1, norm2              → encoder.layers.i.norm1, norm2
  encoder.norm (pre-norm only)               → encoder.norm
  head                                       → head

The safetensors file is parsed here (8-byte little-endian header length,
JSON header of dtype/shape/data_offsets, raw little-endian data), so the
safetensors package is not needed.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

UNK = "<unk>"
PAD_ID, UNK_ID = 0, 1
SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path):
    """Returns ({name: float64 numpy array}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(blob)[8 + n:]
    tensors = {}
    for name, info in header.items():
        dt = SAFETENSORS_DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        lo, hi = info["data_offsets"]
        a = np.frombuffer(body[lo:hi], dtype=dt).reshape(info["shape"])
        tensors[name] = a.astype(np.float64)
    return tensors, meta


def sinusoidal(n, d):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...), as layers.SinusoidalTable."""
    pe = np.zeros((n, d))
    for pos in range(n):
        for i in range(0, d, 2):
            angle = pos / math.pow(10000, i / d)
            pe[pos, i] = math.sin(angle)
            if i + 1 < d:
                pe[pos, i + 1] = math.cos(angle)
    return pe


class Model(torch.nn.Module):
    """qkv's train.Model in PyTorch: embedding → positions → encoder → head."""

    def __init__(self, cfg, kind, in_vocab, out_vocab, max_len):
        super().__init__()
        d = cfg["d_model"]
        self.d_model, self.kind, self.positional = d, kind, cfg["pos"]
        self.embed = torch.nn.Embedding(in_vocab, d)
        self.pos = torch.nn.Parameter(torch.zeros(max_len, d)) if self.positional == "learned" else None
        layer = torch.nn.TransformerEncoderLayer(
            d, cfg["heads"], dim_feedforward=cfg["d_ff"], dropout=0.0, activation=cfg["activation"],
            batch_first=True, norm_first=cfg["norm"] == "pre")
        norm = torch.nn.LayerNorm(d) if cfg["norm"] == "pre" else None
        self.encoder = torch.nn.TransformerEncoder(layer, cfg["layers"], norm=norm, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d, out_vocab)

    def forward(self, ids, padding):
        """ids [B,T] int64; padding [B,T] bool, True at padding. Returns [B,T,V] or [B,V]."""
        t = ids.shape[1]
        x = self.embed(ids) * math.sqrt(self.d_model)
        if self.positional == "sinusoidal":
            x = x + torch.from_numpy(sinusoidal(t, self.d_model)).to(x.dtype)
        elif self.positional == "learned":
            if t > self.pos.shape[0]:
                raise ValueError(f"sequence length {t} exceeds the learned position table's {self.pos.shape[0]}")
            x = x + self.pos[:t]
        x = self.encoder(x, src_key_padding_mask=padding)
        if self.kind == "classification":
            keep = (~padding).to(x.dtype).unsqueeze(-1)  # [B,T,1]
            x = (x * keep).sum(1) / keep.sum(1)
        return self.head(x)


def named_slices(model, cfg):
    """Maps each of our parameter names to (PyTorch parameter, rows): the rows
    of the parameter that hold it, or None for the whole parameter."""
    d = cfg["d_model"]
    m = {"embed.weight": (model.embed.weight, None),
         "head.weight": (model.head.weight, None), "head.bias": (model.head.bias, None)}
    if model.pos is not None:
        m["pos.weight"] = (model.pos, None)
    for i, layer in enumerate(model.encoder.layers):
        p = f"encoder.layers.{i}."
        attn = layer.self_attn
        for j, name in enumerate("qkv"):
            rows = slice(j * d, (j + 1) * d)
            m[p + f"attn.{name}.weight"] = (attn.in_proj_weight, rows)
            m[p + f"attn.{name}.bias"] = (attn.in_proj_bias, rows)
        m[p + "attn.out.weight"] = (attn.out_proj.weight, None)
        m[p + "attn.out.bias"] = (attn.out_proj.bias, None)
        for ours, mod in (("ff.linear1", layer.linear1), ("ff.linear2", layer.linear2),
                          ("norm1", layer.norm1), ("norm2", layer.norm2)):
            m[p + ours + ".weight"] = (mod.weight, None)
            m[p + ours + ".bias"] = (mod.bias, None)
    if model.encoder.norm is not None:
        m["encoder.norm.weight"] = (model.encoder.norm.weight, None)
        m["encoder.norm.bias"] = (model.encoder.norm.bias, None)
    return m


def weight_map(model, cfg):
    """Maps each of our parameter names to a function copying a tensor into the model."""

    def into(param, rows):
        def copy(value):
            dst = param if rows is None else param[rows]
            if tuple(dst.shape) != tuple(value.shape):
                raise ValueError(f"shape {tuple(value.shape)}, want {tuple(dst.shape)}")
            dst.copy_(value)
        return copy

    return {name: into(param, rows) for name, (param, rows) in named_slices(model, cfg).items()}


def load(ckpt, dtype):
    """Builds the model of a checkpoint directory and loads its weights."""
    with open(os.path.join(ckpt, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(ckpt, "vocab.json")) as f:
        vocab = json.load(f)
    weights, meta = read_safetensors(os.path.join(ckpt, "model.safetensors"))
    for key, want in (("activation", ("relu", "gelu")), ("norm", ("post", "pre")),
                      ("pos", ("sinusoidal", "learned", "none"))):
        if cfg.get(key) not in want:
            raise ValueError(f"{ckpt}/config.json: {key} {cfg.get(key)!r}, want one of {want}")
    if vocab["kind"] not in ("tagging", "classification"):
        raise ValueError(f"{ckpt}/vocab.json: unknown kind {vocab['kind']!r}")
    max_len = weights["pos.weight"].shape[0] if "pos.weight" in weights else 0
    model = Model(cfg, vocab["kind"], len(vocab["in"]), len(vocab["out"]), max_len).to(dtype)
    targets = weight_map(model, cfg)
    missing = sorted(set(targets) - set(weights))
    extra = sorted(set(weights) - set(targets))
    if missing or extra:
        raise ValueError(f"{ckpt}/model.safetensors does not match config.json: missing {missing}, unexpected {extra}")
    filled = 0
    with torch.no_grad():
        for name, copy in targets.items():
            value = torch.from_numpy(weights[name]).to(dtype)
            try:
                copy(value)
            except ValueError as e:
                raise ValueError(f"{ckpt}/model.safetensors: {name}: {e}") from None
            filled += value.numel()
    total = sum(p.numel() for p in model.parameters())
    assert filled == total, f"loaded {filled} of {total} parameter elements"
    # train() mode with dropout 0: evaluation arithmetic without the fast path.
    model.train()
    return model, cfg, vocab, meta


def read_inputs(path):
    """Input token lists of a data file in the training format."""
    out = []
    with open(path, encoding="utf-8") as f:
        for num, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            toks = line.split("\t", 1)[0].split()
            if not toks:
                raise ValueError(f"{path}:{num}: empty input")
            out.append(toks)
    if not out:
        raise ValueError(f"{path}: no examples")
    return out


def logits(model, vocab, inputs, batch=250):
    """Runs token lists through model; returns a list of [rows][V] float lists."""
    index = {tok: i for i, tok in enumerate(vocab["in"])}
    unknown = set()
    dtype = next(model.parameters()).dtype
    out = []
    for lo in range(0, len(inputs), batch):
        chunk = inputs[lo:lo + batch]
        t = max(len(toks) for toks in chunk)
        ids = torch.full((len(chunk), t), PAD_ID, dtype=torch.long)
        padding = torch.ones(len(chunk), t, dtype=torch.bool)
        for i, toks in enumerate(chunk):
            for j, tok in enumerate(toks):
                if tok not in index:
                    unknown.add(tok)
                ids[i, j] = index.get(tok, UNK_ID)
                padding[i, j] = False
        with torch.no_grad():
            y = model(ids, padding).to(dtype)
        for i, toks in enumerate(chunk):
            rows = y[i:i + 1] if model.kind == "classification" else y[i, :len(toks)]
            out.append([[float(v) for v in row] for row in rows.tolist()])
    if unknown:
        print(f"torch_eval: unknown token(s) read as {UNK}: {' '.join(sorted(unknown))}", file=sys.stderr)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt", help="checkpoint directory (step-*) holding config.json, vocab.json, model.safetensors")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="TSV file in the training format (targets ignored)")
    src.add_argument("--input", help='one sequence of space-separated tokens, e.g. "3 1 4"')
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                    help="precision of the computation (default float64)")
    args = ap.parse_args(argv)

    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model, cfg, vocab, meta = load(args.ckpt, dtype)
    if args.input is not None:
        inputs = [args.input.split()]
        if not inputs[0]:
            ap.error("--input has no tokens")
    else:
        inputs = read_inputs(args.data)
    rows = logits(model, vocab, inputs)
    examples = []
    for toks, ls in zip(inputs, rows):
        pred = [vocab["out"][max(range(len(r)), key=r.__getitem__)] for r in ls]
        examples.append({"input": toks, "logits": ls, "predicted": pred})
    result = {
        "checkpoint": args.ckpt.replace(os.sep, "/"),
        "step": int(meta["step"]) if "step" in meta else None,
        "kind": vocab["kind"],
        "dtype": args.dtype,
        "torch_version": torch.__version__,
        "out_vocab": vocab["out"],
        "examples": examples,
    }
    text = json.dumps(result, separators=(",", ":")) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
