#!/usr/bin/env python3
"""Cross-check the gated cells' `cargo xtask grads` against PyTorch.

Builds `nn.GRU` or `nn.LSTM` (one layer, input 1, hidden H, float64) with
`nn.Linear(H, 1)` and a sigmoid on top, draws random weights, computes the
loss `E = sum_t 0.5 (y_t - label_t)^2` on one random sequence (labels by the
alternating-sign rule: running sum x0 - x1 + x2 - ... >= 0 -> 1) and
backpropagates. Then writes the weights in our JSON layout (W_ih =
weight_ih_l0.T as [1, G*H], W_hh = weight_hh_l0.T [H, G*H], b_ih, b_hh,
W_out = linear.weight.T [H, 1], b_out [1]; gate blocks in PyTorch's order,
GRU r, z, n and LSTM i, f, g, o) and the sample {"x": [...]}, runs

    cargo xtask grads --model M --params P.json --sample S.json

and prints the largest absolute difference of the loss, the outputs and each
parameter's gradient. Exits non-zero above --tol.

    pip install torch numpy
    python3 tools/crosscheck_torch.py --model gru --length 32 --hidden 100
    python3 tools/crosscheck_torch.py --model lstm --length 64 --hidden 20 --scale 3

--cmd replaces the command (a template with {model}, {params} and {sample});
the last line of its standard output that starts with `{` is read as the
JSON answer {"loss": f, "y": [...], "grad": {...}}.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
import torch

DEFAULT_CMD = "cargo xtask grads --model {model} --params {params} --sample {sample}"


def reference(model, length, hidden, scale, seed):
    """PyTorch's loss, outputs and gradients, and the inputs in our layout."""
    torch.manual_seed(seed)
    cell = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[model]
    rnn = cell(input_size=1, hidden_size=hidden, num_layers=1).double()
    head = torch.nn.Linear(hidden, 1).double()
    with torch.no_grad():
        # PyTorch's init is U(-1/sqrt(H), 1/sqrt(H)) for every entry;
        # scale it so the gates leave their linear range.
        for p in list(rnn.parameters()) + list(head.parameters()):
            p.mul_(scale)
    x = torch.rand(length, dtype=torch.float64)
    signs = torch.where(torch.arange(length) % 2 == 0, 1.0, -1.0).double()
    labels = (torch.cumsum(signs * x, 0) >= 0).double()

    out, _ = rnn(x.view(length, 1, 1))  # (L, batch 1, H), h_{-1} = c_{-1} = 0
    y = torch.sigmoid(head(out[:, 0, :]))[:, 0]
    loss = (0.5 * (y - labels) ** 2).sum()
    loss.backward()

    def ours(w_ih, w_hh, b_ih, b_hh, w_out, b_out):
        return {
            "W_ih": w_ih.T,  # [1, G*H]
            "W_hh": w_hh.T,  # [H, G*H]
            "b_ih": b_ih,
            "b_hh": b_hh,
            "W_out": w_out.T,  # [H, 1]
            "b_out": b_out,
        }

    tensors = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0,
               head.weight, head.bias]
    params = ours(*[t.detach().numpy() for t in tensors])
    grads = ours(*[t.grad.numpy() for t in tensors])
    return params, x.numpy(), labels.numpy(), loss.item(), y.detach().numpy(), grads


def run_ours(cmd, model, params, x):
    with tempfile.TemporaryDirectory() as d:
        pp, sp = os.path.join(d, "p.json"), os.path.join(d, "s.json")
        with open(pp, "w") as f:
            json.dump({k: v.tolist() for k, v in params.items()}, f)
        with open(sp, "w") as f:
            json.dump({"x": x.tolist()}, f)
        argv = [a.format(model=model, params=pp, sample=sp) for a in shlex.split(cmd)]
        run = subprocess.run(argv, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {run.returncode}):\n{run.stderr}")
    out = run.stdout
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        sys.exit(f"no JSON line in the output of {' '.join(argv)}:\n{out}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["gru", "lstm"], required=True)
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--scale", type=float, default=2.0,
                    help="multiplies PyTorch's initial weights (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--cmd", default=DEFAULT_CMD,
                    help="command template with {model}, {params}, {sample}")
    a = ap.parse_args()

    params, x, labels, ref_loss, ref_y, ref_grad = reference(
        a.model, a.length, a.hidden, a.scale, a.seed)
    ours = run_ours(a.cmd, a.model, params, x)
    if "labels" in ours and not np.array_equal(np.array(ours["labels"]), labels):
        sys.exit("labels differ: the alternating-sign rule disagrees")

    loss_diff = abs(ours["loss"] - ref_loss)
    y_diff = np.max(np.abs(np.array(ours["y"]) - ref_y))
    print(f"{a.model} L={a.length} H={a.hidden} scale={a.scale} seed={a.seed}: "
          f"loss ours {ours['loss']:.17g} torch {ref_loss:.17g}")
    print(f"  {'loss':>6}: |diff| {loss_diff:.3e}")
    print(f"  {'y':>6}: max |diff| {y_diff:.3e}")
    worst = max(loss_diff, y_diff)
    for k, g in ref_grad.items():
        mine = np.array(ours["grad"][k], dtype=float)
        if mine.shape != g.shape:
            sys.exit(f"gradient {k}: shape {mine.shape}, PyTorch's {g.shape}")
        diff = np.max(np.abs(mine - g))
        print(f"  {k:>6}: max |diff| {diff:.3e}  (max |grad| {np.max(np.abs(g)):.3e})")
        worst = max(worst, diff)
    print(f"worst absolute difference {worst:.3e} (tolerance {a.tol:g})")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
