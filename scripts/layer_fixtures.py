#!/usr/bin/python3
"""Generate PyTorch reference numbers for the Go package layers.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 scripts/layer_fixtures.py

It writes layers/testdata/*.json, which layers/parity_test.go reads; the test
never runs Python. Everything is float64 and seeded, so a rerun with the same
PyTorch gives the same files.

Each fixture holds the inputs, every weight (under the Go parameter name),
the outputs, and the gradient of every weight and of the input x for a loss:

  attention, encoder_layer_*:  L = sum(r * y) with a fixed random r (stored)
  encoder:                     L = CrossEntropyLoss(ignore_index=-1, mean)
                               over the head's logits, padded targets -1

Modules run in train mode with dropout 0: in eval mode PyTorch 1.13 takes a
"fast path" through TransformerEncoderLayer and MultiheadAttention that
treats padded query positions differently. Every parameter, biases and layer
norm gains included, is re-drawn after construction so that a mistake in any
of them shows. Tensors are stored as {"shape": [...], "data": [...]} with the
data flattened row-major; Python writes floats with repr, which round-trips.

Padding: batch 0 has none, batch 1 has its last 2 of T=5 positions padded.
PyTorch's key_padding_mask is True for padding; the Go mask "keep" is 1 for
a real token and 0 for padding.

Name map (PyTorch → Go):
  self_attn.in_proj_weight rows [0:D], [D:2D], [2D:3D] → attn.q/k/v.weight
  self_attn.in_proj_bias   (likewise)                 → attn.q/k/v.bias
  self_attn.out_proj                                   → attn.out
  linear1, linear2                                     → ff.linear1, ff.linear2
  norm1, norm2 (weight γ, bias β)                      → norm1, norm2
"""

import json
import math
import os

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "layers", "testdata"))

B, T, D, H, F, V = 2, 5, 8, 2, 16, 11
PADDED = 2  # trailing padded positions of batch 1


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def tensor(t):
    return {"shape": list(t.shape), "data": flat(t)}


def padding_mask():
    """[B, T], True for padding, as PyTorch's key_padding_mask."""
    m = torch.zeros(B, T, dtype=torch.bool)
    m[1, T - PADDED:] = True
    return m


def rerandomise(module):
    """Draws every parameter afresh: γ of layer norms around 1, the rest N(0, 0.35²)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if isinstance(_owner(module, name), torch.nn.LayerNorm) and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.35 * torch.randn_like(p))


def _owner(module, name):
    for part in name.split(".")[:-1]:
        module = getattr(module, part)
    return module


def attention_params(mha, prefix):
    """Maps a MultiheadAttention's tensors (weights or their .grad) to Go names."""
    w, b = mha.in_proj_weight, mha.in_proj_bias
    return lambda get: {
        prefix + ".q.weight": get(w)[0:D], prefix + ".q.bias": get(b)[0:D],
        prefix + ".k.weight": get(w)[D:2 * D], prefix + ".k.bias": get(b)[D:2 * D],
        prefix + ".v.weight": get(w)[2 * D:3 * D], prefix + ".v.bias": get(b)[2 * D:3 * D],
        prefix + ".out.weight": get(mha.out_proj.weight), prefix + ".out.bias": get(mha.out_proj.bias),
    }


def layer_params(layer, prefix):
    attn = attention_params(layer.self_attn, prefix + ".attn")

    def named(get):
        out = attn(get)
        out.update({
            prefix + ".ff.linear1.weight": get(layer.linear1.weight),
            prefix + ".ff.linear1.bias": get(layer.linear1.bias),
            prefix + ".ff.linear2.weight": get(layer.linear2.weight),
            prefix + ".ff.linear2.bias": get(layer.linear2.bias),
            prefix + ".norm1.weight": get(layer.norm1.weight),
            prefix + ".norm1.bias": get(layer.norm1.bias),
            prefix + ".norm2.weight": get(layer.norm2.weight),
            prefix + ".norm2.bias": get(layer.norm2.bias),
        })
        return out
    return named


def value(p):
    return p.detach()


def grad(p):
    return p.grad


def stored(named):
    return {k: tensor(v) for k, v in named.items()}


def check_complete(module, named):
    n = sum(p.numel() for p in module.parameters())
    m = sum(v.numel() for v in named(value).values())
    assert n == m, f"name map covers {m} of {n} parameter elements"


def write(name, fixture):
    fixture = dict({"name": name, "torch_version": torch.__version__}, **fixture)
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes")


def attention():
    torch.manual_seed(1001)
    mha = torch.nn.MultiheadAttention(D, H, dropout=0.0, batch_first=True)
    rerandomise(mha)
    mha.train()
    named = attention_params(mha, "attn")
    check_complete(mha, named)
    x = torch.randn(B, T, D).requires_grad_(True)
    r = torch.randn(B, T, D)
    pad = padding_mask()
    y, w = mha(x, x, x, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
    loss = (r * y).sum()
    loss.backward()
    assert torch.all(w[1, :, :, T - PADDED:] == 0)
    write("attention", {
        "kind": "attention",
        "config": {"d_model": D, "heads": H},
        "inputs": {"x": tensor(x), "keep": tensor((~pad).double()), "r": tensor(r)},
        "params": stored(named(value)),
        "outputs": {"y": tensor(y), "weights": tensor(w), "loss": tensor(loss.reshape(1))},
        "grads": dict(stored(named(grad)), x=tensor(x.grad)),
    })


def encoder_layer(name, activation, norm_first, seed):
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(D, H, dim_feedforward=F, dropout=0.0, activation=activation,
                                             batch_first=True, norm_first=norm_first)
    rerandomise(layer)
    layer.train()
    named = layer_params(layer, "layer")
    check_complete(layer, named)
    x = torch.randn(B, T, D).requires_grad_(True)
    r = torch.randn(B, T, D)
    pad = padding_mask()
    y = layer(x, src_key_padding_mask=pad)
    loss = (r * y).sum()
    loss.backward()
    with torch.no_grad():  # the layer asks for no weights; recompute them
        a = layer.norm1(x) if norm_first else x
        _, w = layer.self_attn(a, a, a, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
    write(name, {
        "kind": "encoder_layer",
        "config": {"d_model": D, "heads": H, "d_ff": F, "activation": activation,
                   "norm_first": norm_first, "eps": layer.norm1.eps},
        "inputs": {"x": tensor(x), "keep": tensor((~pad).double()), "r": tensor(r)},
        "params": stored(named(value)),
        "outputs": {"y": tensor(y), "weights": tensor(w), "loss": tensor(loss.reshape(1))},
        "grads": dict(stored(named(grad)), x=tensor(x.grad)),
    })


def sinusoidal(n, d):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)."""
    pe = torch.zeros(n, d)
    for pos in range(n):
        for i in range(0, d, 2):
            angle = pos / math.pow(10000, i / d)
            pe[pos, i] = math.sin(angle)
            pe[pos, i + 1] = math.cos(angle)
    return pe


def encoder():
    layers = 2
    torch.manual_seed(3001)
    embed = torch.nn.Embedding(V, D)
    proto = torch.nn.TransformerEncoderLayer(D, H, dim_feedforward=F, dropout=0.0, activation="relu",
                                             batch_first=True, norm_first=False)
    enc = torch.nn.TransformerEncoder(proto, layers, enable_nested_tensor=False)
    head = torch.nn.Linear(D, V)
    model = torch.nn.ModuleDict({"embed": embed, "encoder": enc, "head": head})
    rerandomise(model)  # after the deep copy, so the layers differ
    model.train()

    per_layer = [layer_params(l, f"encoder.layers.{i}") for i, l in enumerate(enc.layers)]

    def named(get):
        out = {"embed.weight": get(embed.weight)}
        for f in per_layer:
            out.update(f(get))
        out.update({"head.weight": get(head.weight), "head.bias": get(head.bias)})
        return out
    check_complete(model, named)

    pad = padding_mask()
    ids = torch.randint(1, V, (B, T))
    ids[pad] = 0
    targets = torch.randint(0, V, (B, T))
    targets[pad] = -1
    ce = torch.nn.CrossEntropyLoss(ignore_index=-1, reduction="mean")

    x = embed(ids) * math.sqrt(D) + sinusoidal(T, D)
    h = enc(x, src_key_padding_mask=pad)
    logits = head(h)
    loss = ce(logits.reshape(B * T, V), targets.reshape(B * T))
    loss.backward()

    outputs = {"hidden": tensor(h), "logits": tensor(logits), "loss": tensor(loss.reshape(1))}
    with torch.no_grad():  # each layer's attention weights, recomputed
        a = x
        for i, l in enumerate(enc.layers):
            _, w = l.self_attn(a, a, a, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
            outputs[f"weights.{i}"] = tensor(w)
            a = l(a, src_key_padding_mask=pad)
        assert torch.equal(a, h)
    write("encoder", {
        "kind": "encoder",
        "config": {"d_model": D, "heads": H, "d_ff": F, "activation": "relu", "norm_first": False,
                   "eps": proto.norm1.eps, "layers": layers, "vocab": V},
        "inputs": {"ids": tensor(ids.double()), "keep": tensor((~pad).double()),
                   "targets": tensor(targets.double().reshape(B * T))},
        "params": stored(named(value)),
        "outputs": outputs,
        "grads": stored(named(grad)),
    })


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    attention()
    encoder_layer("encoder_layer_post_relu", "relu", False, 2001)
    encoder_layer("encoder_layer_post_gelu", "gelu", False, 2002)
    encoder_layer("encoder_layer_pre_relu", "relu", True, 2003)
    encoder_layer("encoder_layer_pre_gelu", "gelu", True, 2004)
    encoder()


if __name__ == "__main__":
    main()
