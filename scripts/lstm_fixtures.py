#!/usr/bin/python3
"""Generate PyTorch reference numbers for layers.LSTM.

Run from the repository root with Debian's PyTorch 1.13:

    /usr/bin/python3 scripts/lstm_fixtures.py

It writes layers/testdata/lstm.json, which layers/lstm_parity_test.go reads;
the test never runs Python. Everything is float64 and seeded, so a rerun with
the same PyTorch gives the same file.

The model is torch.nn.LSTM(I, H, num_layers=2, bidirectional=True,
batch_first=True) over a right-padded batch of different lengths, unsorted,
run as packed sequences (pack_padded_sequence with enforce_sorted=False,
pad_packed_sequence back to T positions, zeros at padding). The fixture holds
the inputs, every weight under the Go parameter name ("lstm." + PyTorch's
state-dict key, same layout), the output y, and the gradient of every weight
and of the input x for the loss L = sum(r * y) with a fixed random r.

Inputs, weights and r are rounded to 6 significant digits before use, so
they are stored short and exactly; outputs and gradients are stored with 15
significant digits, a relative rounding of 1e-15. Tensors are {"shape": [...], "data": [...]} with the
data flattened row-major. The Go mask "keep" is 1 for a real token and 0 for
padding.
"""

import json
import os

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "layers", "testdata"))

B, T, I, H, LAYERS = 3, 4, 3, 3, 2
LENGTHS = [2, 4, 1]  # unsorted, so the packing has to sort and unsort


def flat(t, digits=17):
    return [float(f"{v:.{digits}g}") for v in t.detach().reshape(-1).tolist()]


def tensor(t):
    """t for the file: 15 significant digits, far below the tests' tolerance."""
    return {"shape": list(t.shape), "data": flat(t, 15)}


def short(t):
    """t rounded to 6 significant digits: the nearest doubles to short decimals."""
    return torch.tensor(flat(t, 6)).reshape(t.shape)


def main():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(4001)
    lstm = torch.nn.LSTM(I, H, num_layers=LAYERS, bidirectional=True, batch_first=True)
    with torch.no_grad():  # wider than PyTorch's U(-1/sqrt(H), 1/sqrt(H)), so gates saturate a little
        for p in lstm.parameters():
            p.copy_(short(0.6 * torch.randn_like(p)))
    lstm.train()

    x = short(torch.randn(B, T, I))
    keep = torch.zeros(B, T)
    for b, n in enumerate(LENGTHS):
        keep[b, :n] = 1
    x.requires_grad_(True)  # padded steps hold values too, which both sides must ignore
    r = short(torch.randn(B, T, 2 * H))

    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    y, lengths = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    assert lengths.tolist() == LENGTHS
    assert torch.all(y[keep == 0] == 0)
    loss = (r * y).sum()
    loss.backward()

    named = dict(lstm.named_parameters())
    assert sum(p.numel() for p in named.values()) == sum(p.numel() for p in lstm.parameters())
    fixture = {
        "name": "lstm",
        "torch_version": torch.__version__,
        "config": {"input": I, "hidden": H, "layers": LAYERS, "bidirectional": True},
        "inputs": {"x": tensor(x), "keep": tensor(keep), "r": tensor(r)},
        "params": {"lstm." + k: tensor(p) for k, p in named.items()},
        "outputs": {"y": tensor(y), "loss": tensor(loss.reshape(1))},
        "grads": dict({"lstm." + k: tensor(p.grad) for k, p in named.items()}, x=tensor(x.grad)),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "lstm.json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
