#!/usr/bin/python3
"""Generate the whole-model PyTorch gradient fixture for the Go package train.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 scripts/model_grad_fixture.py

It writes train/testdata/torch_grad_pre_gelu_learned_classify.json, which
train/torch_grad_test.go reads; the test never runs Python. Everything is
float64 and seeded, so a rerun with the same PyTorch gives the same inputs
and weights (the gradients may differ in their last bits with the CPU).

The model is train.Model as scripts/torch_eval.py builds it in PyTorch (the
same class and the same name map, so that the two cross-checks cannot
disagree on what the architecture is), with every option that
layers/testdata/encoder.json (post-norm, ReLU, sinusoidal, tagging) does
not take:

  x = embed(ids) * sqrt(d_model) + pos.weight[:T]     learned positions
  x = TransformerEncoder(x), norm_first=True, GELU, then the final encoder.norm
  logits = head(masked mean of x over the unpadded positions)   classification
  L = CrossEntropyLoss(mean over the batch)

The learned position table has more rows than the batch has positions, so
the rows past T must get a zero gradient. Every parameter, layer-norm gains
and biases included, is re-drawn after construction so that a mistake in any
of them shows. The batch mixes lengths: padding is masked out of attention
(as keys) and out of the mean.

The fixture holds the inputs, every weight and every weight's gradient under
the Go parameter name, the logits and the loss. Tensors are stored as
{"shape": [...], "data": [...]} flattened row-major, floats with repr.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_eval  # noqa: E402  (the PyTorch train.Model and its name map)

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train", "testdata",
                                    "torch_grad_pre_gelu_learned_classify.json"))

CFG = {"d_model": 8, "heads": 2, "layers": 2, "d_ff": 16, "activation": "gelu", "norm": "pre", "pos": "learned"}
IN_VOCAB, OUT_VOCAB = 9, 3  # ids 0 (padding) and 1 (unknown) are the specials
MAX_LEN = 7                 # rows of the learned position table
LENGTHS = [5, 3, 2]         # one sequence per batch row; T = max = 5


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def main():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(4001)
    model = torch_eval.Model(CFG, "classification", IN_VOCAB, OUT_VOCAB, MAX_LEN).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            else:
                p.copy_(0.4 * torch.randn_like(p))
    model.train()  # dropout is 0; train() avoids PyTorch's eval fast path

    b, t = len(LENGTHS), max(LENGTHS)
    ids = torch.zeros(b, t, dtype=torch.long)
    padding = torch.ones(b, t, dtype=torch.bool)
    for i, n in enumerate(LENGTHS):
        ids[i, :n] = torch.randint(2, IN_VOCAB, (n,))
        padding[i, :n] = False
    targets = torch.randint(0, OUT_VOCAB, (b,))

    logits = model(ids, padding)  # [B, V]
    loss = torch.nn.functional.cross_entropy(logits, targets)
    loss.backward()

    slices = torch_eval.named_slices(model, CFG)
    covered = sum(p.numel() if rows is None else p[rows].numel() for p, rows in slices.values())
    total = sum(p.numel() for p in model.parameters())
    assert covered == total, f"the name map covers {covered} of {total} parameter elements"
    params, grads = {}, {}
    for name, (p, rows) in slices.items():
        params[name] = tensor(p if rows is None else p[rows])
        grads[name] = tensor(p.grad if rows is None else p.grad[rows])
    assert max(abs(v) for v in grads["pos.weight"]["data"][t * CFG["d_model"]:]) == 0

    fixture = {
        "name": "torch_grad_pre_gelu_learned_classify",
        "torch_version": torch.__version__,
        "config": dict(CFG, kind="classification", in_vocab=IN_VOCAB, out_vocab=OUT_VOCAB, max_len=MAX_LEN),
        "inputs": {"ids": tensor(ids.double()), "keep": tensor((~padding).double()),
                   "targets": tensor(targets.double())},
        "params": params,
        "outputs": {"logits": tensor(logits), "loss": tensor(loss.reshape(1))},
        "grads": grads,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, {len(params)} parameters, loss {float(loss):.6f}")


if __name__ == "__main__":
    main()
