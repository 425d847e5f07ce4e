#!/usr/bin/env python3
"""Cross-check the gate-less cells' `cargo xtask grads` against PyTorch autograd.

For each kind (rnn-orth, irnn-le, indrnn, lru) draws random float64
parameters and one random sequence, computes the loss
E = sum_t 0.5 (y_t - label_t)^2, y_t = sigmoid(h_t . W_out[:, 0] + b_out[0]),
with PyTorch modules written from the equations below (not from our Rust
code), backpropagates, then runs

    cargo xtask grads --model K --params P.json --sample S.json

and prints the largest difference of the loss, the outputs y and every
parameter's gradient, as |ours - torch| / max(1, |torch|) (the largest
absolute difference beside it). Lengths 1, 2, 8 and 32 at H = 16, and L = 32
at H = 100. Exits non-zero if any difference is above --tol.

    rnn-orth  h_t = tanh(x_t W_in[0] + h_{t-1} W + b)        (as rnn)
    irnn-le   h_t = relu(x_t W_in[0] + h_{t-1} W + b)        (as irnn)
    indrnn    a_t = relu(x_t W_in[0] + u1 * a_{t-1} + b1)
              h_t = relu(a_t W2 + u2 * h_{t-1} + b2)
    lru       lam = exp(-exp(nu_log) + i exp(theta_log)), gam = exp(gamma_log)
              s_t = lam * s_{t-1} + gam * ((B_re[0] + i B_im[0]) x_t + (B0_re + i B0_im))
              h_t = relu(Re(s_t) C_re - Im(s_t) C_im + x_t D[0] + b)

(all states zero at t = -1). `IndRNN(H)` and `LRU(H)` are the modules that
`cargo xtask export` names (`indrnn.W_in`, ..., `lru.nu_log`, ...; the head
is `head = nn.Linear(H, 1)`, head.weight = W_out^T, head.bias = b_out).

    pip install torch numpy
    python3 tools/gateless_torch.py
    python3 tools/gateless_torch.py --kinds indrnn,lru --xtask target/debug/xtask

CI (.ci/run) runs it as `python3 tools/gateless_torch.py`: all four kinds, `cargo xtask`, 1e-9.
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn

torch.set_default_dtype(torch.float64)

KINDS = ["rnn-orth", "irnn-le", "indrnn", "lru"]
STD = 0.5  # every weight entry's standard deviation at H = 16


class Elman(nn.Module):
    """h_t = act(x_t W_in[0] + h_{t-1} W + b): rnn-orth (tanh), irnn-le (relu)."""

    def __init__(self, hidden, act):
        super().__init__()
        self.act = act
        self.W_in = nn.Parameter(torch.zeros(1, hidden))
        self.W = nn.Parameter(torch.zeros(hidden, hidden))
        self.b = nn.Parameter(torch.zeros(hidden))

    def forward(self, x):
        h = torch.zeros(self.b.shape[0])
        hs = []
        for t in range(x.shape[0]):
            h = self.act(x[t] * self.W_in[0] + h @ self.W + self.b)
            hs.append(h)
        return torch.stack(hs)


class IndRNN(nn.Module):
    """Two IndRNN layers of H ReLU units (Li et al. 2018):
    a_t = relu(x_t W_in[0] + u1 * a_{t-1} + b1), h_t = relu(a_t W2 + u2 * h_{t-1} + b2)."""

    def __init__(self, hidden):
        super().__init__()
        self.W_in = nn.Parameter(torch.zeros(1, hidden))
        self.u1 = nn.Parameter(torch.zeros(hidden))
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.W2 = nn.Parameter(torch.zeros(hidden, hidden))
        self.u2 = nn.Parameter(torch.zeros(hidden))
        self.b2 = nn.Parameter(torch.zeros(hidden))
        self.first = None  # the last forward's a_t, (L, H), for the ReLU check

    def forward(self, x):
        a = torch.zeros(self.b1.shape[0])
        h = torch.zeros(self.b2.shape[0])
        as_, hs = [], []
        for t in range(x.shape[0]):
            a = torch.relu(x[t] * self.W_in[0] + self.u1 * a + self.b1)
            h = torch.relu(a @ self.W2 + self.u2 * h + self.b2)
            as_.append(a)
            hs.append(h)
        self.first = torch.stack(as_).detach()
        return torch.stack(hs)


class LRU(nn.Module):
    """A Linear Recurrent Unit (Orvieto et al. 2023), N = H complex states, ReLU readout:
    s_t = lam * s_{t-1} + gam * (B x_t + B0), h_t = relu(Re(s_t C) + x_t D[0] + b)."""

    def __init__(self, hidden):
        super().__init__()
        n = hidden
        self.nu_log = nn.Parameter(torch.zeros(n))
        self.theta_log = nn.Parameter(torch.zeros(n))
        self.gamma_log = nn.Parameter(torch.zeros(n))
        self.B_re = nn.Parameter(torch.zeros(1, n))
        self.B_im = nn.Parameter(torch.zeros(1, n))
        self.B0_re = nn.Parameter(torch.zeros(n))
        self.B0_im = nn.Parameter(torch.zeros(n))
        self.C_re = nn.Parameter(torch.zeros(n, hidden))
        self.C_im = nn.Parameter(torch.zeros(n, hidden))
        self.D = nn.Parameter(torch.zeros(1, hidden))
        self.b = nn.Parameter(torch.zeros(hidden))

    def forward(self, x):
        lam = torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))
        gam = torch.exp(self.gamma_log)
        bx = gam * torch.complex(self.B_re[0], self.B_im[0])  # (N,) complex128
        b0 = gam * torch.complex(self.B0_re, self.B0_im)
        c = torch.complex(self.C_re, self.C_im)  # (N, H)
        s = torch.zeros(self.nu_log.shape[0], dtype=torch.complex128)
        hs = []
        for t in range(x.shape[0]):
            s = lam * s + (bx * x[t] + b0)
            h = torch.relu((s @ c).real + x[t] * self.D[0] + self.b)
            hs.append(h)
        return torch.stack(hs)


class Net(nn.Module):
    """A cell under the attribute `name` and head = nn.Linear(H, 1) with a sigmoid."""

    def __init__(self, name, cell, hidden):
        super().__init__()
        self.name = name
        setattr(self, name, cell)
        self.head = nn.Linear(hidden, 1)

    def cell(self):
        return getattr(self, self.name)

    def forward(self, x):
        return torch.sigmoid(self.head(self.cell()(x)))[:, 0]


def build(kind, hidden, gen):
    """The kind's network with random weights drawn from `gen`."""
    def normal(*shape, std=STD):
        return torch.randn(*shape, generator=gen) * std

    def uniform(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=gen)

    # Matrices summing over H inputs keep the spread they have at H = 16.
    wide = STD * math.sqrt(16 / hidden)
    if kind in ("rnn-orth", "irnn-le"):
        net = Net("rnn", Elman(hidden, torch.tanh if kind == "rnn-orth" else torch.relu), hidden)
        init = {"W_in": normal(1, hidden), "W": normal(hidden, hidden, std=wide),
                "b": normal(hidden)}
    elif kind == "indrnn":
        net = Net("indrnn", IndRNN(hidden), hidden)
        init = {"W_in": normal(1, hidden), "u1": uniform(-1.2, 1.2, hidden),
                "b1": normal(hidden), "W2": normal(hidden, hidden, std=wide),
                "u2": uniform(-1.2, 1.2, hidden), "b2": normal(hidden)}
    else:
        net = Net("lru", LRU(hidden), hidden)
        init = {"nu_log": uniform(math.log(0.001), math.log(0.1), hidden),  # |lam| in (0.90, 1)
                "theta_log": uniform(-2.0, 1.8, hidden),
                "gamma_log": normal(hidden), "B_re": normal(1, hidden),
                "B_im": normal(1, hidden), "B0_re": normal(hidden), "B0_im": normal(hidden),
                "C_re": normal(hidden, hidden, std=wide),
                "C_im": normal(hidden, hidden, std=wide), "D": normal(1, hidden),
                "b": normal(hidden)}
    init["head.weight"] = normal(1, hidden, std=wide)
    init["head.bias"] = normal(1)
    with torch.no_grad():
        cell = net.cell()
        for k, v in init.items():
            (net.head if k.startswith("head.") else cell).get_parameter(
                k.removeprefix("head.")).copy_(v)
    return net


def ours_layout(net, tensors):
    """Our JSON blocks from the network's named tensors (values or gradients)."""
    out = {}
    prefix = net.name + "."
    for k, v in tensors.items():
        if k == "head.weight":
            out["W_out"] = v.T  # [H, 1]
        elif k == "head.bias":
            out["b_out"] = v  # [1]
        else:
            out[k.removeprefix(prefix)] = v
    return out


def relu_check(kind, net, x):
    """Fails unless every ReLU layer has some unit on at every step, and some off."""
    if kind == "rnn-orth":
        return ""
    with torch.no_grad():
        layers = {"h": net.cell()(x)}
        if kind == "indrnn":
            layers = {"a": net.cell().first, "h": layers["h"]}
    notes = []
    for name, z in layers.items():
        on = z > 0
        if not bool(on.any(dim=1).all()):
            sys.exit(f"{kind}: at some step every unit of {name} is off: try another --seed")
        if bool(on.all()):
            sys.exit(f"{kind}: no unit of {name} is ever off, so ReLU's kink goes untested")
        notes.append(f"{name} {on.double().mean().item():.0%} on")
    return ", ".join(notes)


def run_ours(xtask, kind, params, x, labels):
    with tempfile.TemporaryDirectory() as d:
        pp, sp = os.path.join(d, "p.json"), os.path.join(d, "s.json")
        with open(pp, "w") as f:
            json.dump({k: v.tolist() for k, v in params.items()}, f)
        with open(sp, "w") as f:
            json.dump({"x": x.tolist(), "labels": labels.tolist()}, f)
        argv = shlex.split(xtask) + ["grads", "--model", kind, "--params", pp, "--sample", sp]
        run = subprocess.run(argv, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {run.returncode}):\n{run.stderr}")
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        sys.exit(f"no JSON line in the output of {' '.join(argv)}:\n{run.stdout}")
    return json.loads(lines[-1])


def scaled_diff(mine, ref):
    """(max |mine - ref| / max(1, |ref|), max |mine - ref|) elementwise over the block."""
    d = np.abs(mine - ref)
    return float(np.max(d / np.maximum(1.0, np.abs(ref)))), float(np.max(d))


def check(kind, length, hidden, seed, xtask):
    """Compares one kind at one length and width; returns the worst scaled difference."""
    gen = torch.Generator().manual_seed(
        seed * 1_000_003 + KINDS.index(kind) * 10_007 + length * 101 + hidden)
    net = build(kind, hidden, gen)
    x = torch.rand(length, generator=gen)
    signs = torch.where(torch.arange(length) % 2 == 0, 1.0, -1.0)
    labels = (torch.cumsum(signs * x, 0) >= 0).double()  # the task's alternating-sign rule
    relus = relu_check(kind, net, x)

    y = net(x)
    loss = (0.5 * (y - labels) ** 2).sum()
    loss.backward()
    named = dict(net.named_parameters())
    params = ours_layout(net, {k: p.detach().numpy() for k, p in named.items()})
    grads = ours_layout(net, {k: p.grad.numpy() for k, p in named.items()})

    ours = run_ours(xtask, kind, params, x.numpy(), labels.numpy())
    if "labels" in ours and not np.array_equal(np.array(ours["labels"]), labels.numpy()):
        sys.exit(f"{kind}: the labels we passed came back changed")
    print(f"{kind} L={length} H={hidden}: loss ours {ours['loss']:.17g} torch {loss.item():.17g}"
          + (f"  ({relus})" if relus else ""))
    rows = [("loss", *scaled_diff(np.array(ours["loss"]), loss.detach().numpy()), abs(loss.item())),
            ("y", *scaled_diff(np.array(ours["y"]), y.detach().numpy()), None)]
    if set(ours["grad"]) != set(grads):
        sys.exit(f"{kind}: gradient keys {sorted(ours['grad'])}, expected {sorted(grads)}")
    for k, g in grads.items():
        mine = np.array(ours["grad"][k], dtype=float)
        if mine.shape != g.shape:
            sys.exit(f"{kind}: gradient {k} has shape {mine.shape}, expected {g.shape}")
        rows.append((k, *scaled_diff(mine, g), float(np.max(np.abs(g)))))
    worst = 0.0
    for name, rel, absd, scale in rows:
        extra = f"  (max |grad| {scale:.3e})" if scale is not None and name != "loss" else ""
        print(f"  {name:>9}: {rel:.3e}  abs {absd:.3e}{extra}")
        worst = max(worst, rel)
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help=f"comma-separated kinds (default {','.join(KINDS)})")
    ap.add_argument("--xtask", default="cargo xtask",
                    help='the command that runs xtask (default "cargo xtask")')
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-9,
                    help="on |ours - torch| / max(1, |torch|) (default 1e-9)")
    a = ap.parse_args()
    kinds = [k.strip() for k in a.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        ap.error(f"--kinds: unknown {', '.join(bad) or '(none given)'}; "
                 f"choose from {', '.join(KINDS)}")

    summary = []
    for kind in kinds:
        for length, hidden in [(1, 16), (2, 16), (8, 16), (32, 16), (32, 100)]:
            summary.append((kind, length, hidden, check(kind, length, hidden, a.seed, a.xtask)))
    print("\nworst scaled difference (tolerance %g):" % a.tol)
    failed = 0
    for kind, length, hidden, worst in summary:
        ok = worst <= a.tol
        failed += not ok
        print(f"  {kind:>8} L={length:<2} H={hidden:<3} {worst:.3e}  {'ok' if ok else 'FAIL'}")
    print(f"{len(summary) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
