#!/usr/bin/env python3
"""PyTorch's side of qkv's speed comparison (bench/compare.sh).

Runs one size and mode for a fixed time and prints tokens/s, as
bench/cmd/qkvbench does for qkv. The model is qkv's: embedding scaled by
sqrt(d_model), sinusoidal positions, post-norm nn.TransformerEncoderLayer
(ReLU, no dropout), a linear head, cross-entropy with ignore_index -1;
training uses AdamW with PyTorch's defaults (lr 1e-3, weight decay 0.01) and
gradient clipping at 1. Batches are reverse-task batches of fixed length:
B sequences of exactly T tokens from 10 symbols, vocabulary 12.

    OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE \\
        /usr/bin/python3 bench/torch_bench.py --size small --mode train --seconds 10

It refuses to run unless torch has loaded OpenBLAS.
"""
import argparse
import math
import sys
import time

import torch
from torch import nn

SIZES = {  # d_model, heads, layers, d_ff, length, batch; as bench.Sizes
    "default": (64, 4, 2, 128, 12, 32),
    "small": (64, 4, 2, 256, 32, 64),
    "large": (256, 8, 4, 1024, 64, 32),
}
VOCAB = 12  # 10 symbols and 2 specials, as qkv's reverse task


class Model(nn.Module):
    def __init__(self, d, heads, layers, d_ff, max_len):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(VOCAB, d)
        layer = nn.TransformerEncoderLayer(d, heads, d_ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, VOCAB)
        pe = torch.zeros(max_len, d)
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, ids, pad):
        x = self.embed(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]]
        return self.head(self.encoder(x, src_key_padding_mask=pad))


def blas_libraries():
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if "blas" in line.lower()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="default")
    ap.add_argument("--mode", choices=["train", "forward"], default="train")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    d, heads, layers, d_ff, length, batch = SIZES[args.size]
    model = Model(d, heads, layers, d_ff, length)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    pad = torch.zeros(batch, length, dtype=torch.bool)

    def batch_tensors():
        ids = torch.randint(2, VOCAB, (batch, length))
        return ids, ids.flip(1)

    def train_step():
        ids, targets = batch_tensors()
        opt.zero_grad()
        loss = loss_fn(model(ids, pad).reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return batch * length

    def forward_step():
        ids, targets = batch_tensors()
        with torch.no_grad():
            loss = loss_fn(model(ids, pad).reshape(-1, VOCAB), targets.reshape(-1))
            loss.item()
        return batch * length

    if args.mode == "train":
        model.train()
        step = train_step
    else:
        model.eval()
        step = forward_step
    for _ in range(args.warmup):
        step()
    libs = blas_libraries()
    if not any("openblas" in lib for lib in libs):
        sys.exit(f"torch_bench: torch did not load OpenBLAS (BLAS libraries mapped: {libs}); refusing to report")
    openblas = next(lib for lib in libs if "openblas" in lib)
    tokens, steps = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        tokens += step()
        steps += 1
    elapsed = time.perf_counter() - start
    print(f"torch {args.size} {args.mode} float32: {tokens / elapsed:.0f} tokens/s "
          f"({steps} steps in {elapsed:.1f}s, torch {torch.__version__}, {torch.get_num_threads()} threads, {openblas})")


if __name__ == "__main__":
    main()
