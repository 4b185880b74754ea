#!/usr/bin/env python3
"""Time one training step of qkv's default model in PyTorch, for comparison
with `go test ./bench -bench TrainStep`.

Same architecture and sizes as `go run ./cmd/train`: vocabulary 12, d_model
64, 4 heads, 2 post-norm layers, d_ff 128, ReLU, batch 32, length 12,
sinusoidal positions, AdamW, gradient clipping at 1. Run with Debian's
PyTorch, on the same machine, nothing else running:

    /usr/bin/python3 bench/torch_train_step.py [--threads 2] [--steps 300]
"""
import argparse
import math
import time

import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, vocab=12, d=64, heads=4, layers=2, d_ff=128, dropout=0.1):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, heads, d_ff, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        pe = torch.zeros(64, d)
        pos = torch.arange(64).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, ids, pad):
        x = self.embed(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]]
        return self.head(self.encoder(x, src_key_padding_mask=pad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = Model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)
    batch, length = 32, 12

    def step():
        lengths = torch.randint(2, length + 1, (batch,))
        pad = torch.arange(length)[None, :] >= lengths[:, None]
        ids = torch.randint(2, 12, (batch, length)).masked_fill(pad, 0)
        targets = ids.flip(1).masked_fill(pad, -1)
        opt.zero_grad()
        loss = loss_fn(model(ids, pad).reshape(-1, 12), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return int((~pad).sum())

    for _ in range(20):
        step()
    tokens = 0
    start = time.perf_counter()
    for _ in range(args.steps):
        tokens += step()
    elapsed = time.perf_counter() - start
    print(f"torch {torch.__version__}, {args.threads} threads: {1e3 * elapsed / args.steps:.2f} ms/step, {tokens / elapsed:.0f} tokens/s")


if __name__ == "__main__":
    main()
