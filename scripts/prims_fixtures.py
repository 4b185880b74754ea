#!/usr/bin/python3
"""Generate PyTorch reference numbers for the layers written in primitives.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 scripts/prims_fixtures.py

It writes layers/testdata/{gru,attend_padding,attend_causal,attend_both,
rotary,attention_causal_rotary}.json, which layers/prims_parity_test.go
reads; the test never runs Python. Everything is float64 and seeded. The
format is layer_fixtures.py's: inputs, params (under Go names), outputs and
grads, for the loss L = sum(r * y) with a fixed random r (stored as input
"r").

gru: torch.nn.GRU(batch_first=True, num_layers=2) on a right-padded batch;
  its outputs are multiplied by keep, since qkv's GRU outputs zero at
  padding (at real positions a right-padded batch gives what packed
  sequences give). Weight names are PyTorch's, under the prefix "gru.".

attend_*: multi-head scaled dot-product attention from Tq = 3 queries to
  Tk = 5 keys, with a padding mask (batch 1 has 2 padded keys), a causal
  mask (query i sees keys j <= i, PyTorch's is_causal: tril of
  ones(Tq, Tk)), or both. PyTorch 1.13 has no
  torch.nn.functional.scaled_dot_product_attention (it came in 2.0), so
  the reference is written here in plain torch ops, as that function's
  documentation gives it: softmax(QK^T/sqrt(d_k) + M) V with M = -inf where
  a key is hidden. q, k, v are inputs with gradients.

rotary: rotary position embeddings (Su et al., 2021) in the half-split
  layout of GPT-NeoX and Hugging Face's LLaMA (rotate_half), base 10000,
  on x [B, T, D] holding H heads side by side.

attention_causal_rotary: the whole self-attention layer as qkv builds it
  with a causal mask and rotary positions: Q, K, V projections (attn.q,
  attn.k, attn.v), rotary on Q and K, attention with padding and causal
  masks, output projection attn.out.
"""

import json
import math
import os

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "layers", "testdata"))
BASE = 10000.0


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def tensor(t):
    return {"shape": list(t.shape), "data": flat(t)}


def write(name, kind, config, inputs, params, outputs, grads):
    doc = {"name": name, "torch_version": torch.__version__, "kind": kind, "config": config,
           "inputs": {k: tensor(v) for k, v in inputs.items()},
           "params": {k: tensor(v) for k, v in params.items()},
           "outputs": {k: tensor(v) for k, v in outputs.items()},
           "grads": {k: tensor(v) for k, v in grads.items()}}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def keep_of(lens, t):
    return torch.tensor([[1.0 if j < n else 0.0 for j in range(t)] for n in lens], dtype=torch.float64)


def gru():
    torch.manual_seed(11)
    b, t, i, h, layers = 3, 5, 4, 3, 2
    lens = [5, 3, 1]
    m = torch.nn.GRU(i, h, num_layers=layers, batch_first=True).double()
    x = torch.randn(b, t, i, dtype=torch.float64, requires_grad=True)
    keep = keep_of(lens, t)
    y = m(x)[0] * keep[:, :, None]
    r = torch.randn(b, t, h, dtype=torch.float64)
    loss = (r * y).sum()
    loss.backward()
    params = {"gru." + n: p.detach() for n, p in m.named_parameters()}
    grads = {"gru." + n: p.grad for n, p in m.named_parameters()}
    grads["x"] = x.grad
    write("gru", "gru", {"input": i, "hidden": h, "layers": layers},
          {"x": x.detach(), "keep": keep, "r": r}, params, {"y": y.detach(), "loss": loss.detach().reshape(1)}, grads)


def split(x, heads):
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)  # [B,H,T,dk]


def attend(q, k, v, heads, allowed):
    """softmax(QK^T/sqrt(dk) + M) V; allowed broadcasts to [B,H,Tq,Tk]."""
    qh, kh, vh = split(q, heads), split(k, heads), split(v, heads)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(qh.shape[-1])
    if allowed is not None:
        s = s.masked_fill(~allowed, float("-inf"))
    w = torch.softmax(s, dim=-1)
    out = (w @ vh).transpose(1, 2).reshape(q.shape[0], q.shape[1], q.shape[2])
    return out, w


def causal(tq, tk):
    return torch.ones(tq, tk, dtype=torch.bool).tril(diagonal=0)


def attend_fixtures():
    b, tq, tk, d, heads = 2, 3, 5, 8, 2
    keep = keep_of([5, 3], tk)
    for name, pad, cau in [("attend_padding", True, False), ("attend_causal", False, True), ("attend_both", True, True)]:
        torch.manual_seed({"attend_padding": 21, "attend_causal": 22, "attend_both": 23}[name])
        q = torch.randn(b, tq, d, dtype=torch.float64, requires_grad=True)
        k = torch.randn(b, tk, d, dtype=torch.float64, requires_grad=True)
        v = torch.randn(b, tk, d, dtype=torch.float64, requires_grad=True)
        allowed = torch.ones(b, 1, tq, tk, dtype=torch.bool)
        if pad:
            allowed = allowed & keep.bool()[:, None, None, :]
        if cau:
            allowed = allowed & causal(tq, tk)
        out, w = attend(q, k, v, heads, allowed)
        r = torch.randn(b, tq, d, dtype=torch.float64)
        loss = (r * out).sum()
        loss.backward()
        write(name, "attend", {"d_model": d, "heads": heads, "padding": pad, "causal": cau},
              {"q": q.detach(), "k": k.detach(), "v": v.detach(), "keep": keep, "r": r}, {},
              {"out": out.detach(), "weights": w.detach(), "loss": loss.detach().reshape(1)}, {"q": q.grad, "k": k.grad, "v": v.grad})


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def rotary(x, heads):
    """x [B,T,D] with heads side by side → the same, each head rotated."""
    b, t, d = x.shape
    dk = d // heads
    theta = BASE ** (-torch.arange(0, dk, 2, dtype=torch.float64) / dk)  # [dk/2]
    ang = torch.arange(t, dtype=torch.float64)[:, None] * theta[None, :]  # [T,dk/2]
    ang = torch.cat([ang, ang], dim=-1)  # [T,dk]
    xh = x.view(b, t, heads, dk)
    y = xh * ang.cos()[None, :, None, :] + rotate_half(xh) * ang.sin()[None, :, None, :]
    return y.reshape(b, t, d)


def rotary_fixture():
    torch.manual_seed(31)
    b, t, d, heads = 2, 6, 8, 2
    x = torch.randn(b, t, d, dtype=torch.float64, requires_grad=True)
    y = rotary(x, heads)
    r = torch.randn(b, t, d, dtype=torch.float64)
    loss = (r * y).sum()
    loss.backward()
    write("rotary", "rotary", {"d_model": d, "heads": heads, "rotary_base": BASE},
          {"x": x.detach(), "r": r}, {}, {"y": y.detach(), "loss": loss.detach().reshape(1)}, {"x": x.grad})


def attention_layer_fixture():
    torch.manual_seed(41)
    b, t, d, heads = 2, 5, 8, 2
    keep = keep_of([5, 3], t)
    lin = {n: torch.nn.Linear(d, d).double() for n in ["q", "k", "v", "out"]}
    with torch.no_grad():
        for m in lin.values():
            m.weight.copy_(0.35 * torch.randn_like(m.weight))
            m.bias.copy_(0.35 * torch.randn_like(m.bias))
    x = torch.randn(b, t, d, dtype=torch.float64, requires_grad=True)
    q, k, v = lin["q"](x), lin["k"](x), lin["v"](x)
    q, k = rotary(q, heads), rotary(k, heads)
    allowed = keep.bool()[:, None, None, :] & causal(t, t)
    ctx, w = attend(q, k, v, heads, allowed)
    y = lin["out"](ctx)
    r = torch.randn(b, t, d, dtype=torch.float64)
    loss = (r * y).sum()
    loss.backward()
    params, grads = {}, {"x": x.grad}
    for n, m in lin.items():
        for pn in ["weight", "bias"]:
            p = getattr(m, pn)
            params["attn.%s.%s" % (n, pn)] = p.detach()
            grads["attn.%s.%s" % (n, pn)] = p.grad
    write("attention_causal_rotary", "attention", {"d_model": d, "heads": heads, "causal": True, "rotary_base": BASE},
          {"x": x.detach(), "keep": keep, "r": r}, params, {"y": y.detach(), "weights": w.detach(), "loss": loss.detach().reshape(1)}, grads)


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    print("scaled_dot_product_attention in this torch:", hasattr(torch.nn.functional, "scaled_dot_product_attention"))
    gru()
    attend_fixtures()
    rotary_fixture()
    attention_layer_fixture()
