#!/usr/bin/env python3
"""Check `cargo xtask export --format safetensors` against PyTorch's own modules.

For each kind it trains a tiny model (`cargo xtask train ... --save`), exports
it, loads the export with `safetensors.torch.load_file` into PyTorch modules
in float64 with `load_state_dict(strict=True)`:

    rnn   nn.RNN(1, H, nonlinearity="tanh") + nn.Linear(H, 1) + sigmoid
    irnn  nn.RNN(1, H, nonlinearity="relu") + nn.Linear(H, 1) + sigmoid
    gru   nn.GRU(1, H)                      + nn.Linear(H, 1) + sigmoid
    lstm  nn.LSTM(1, H)                     + nn.Linear(H, 1) + sigmoid
    dnn   nn.Linear(L, H), relu, nn.Linear(H, L), sigmoid

(modules named `rnn` and `head`, or `hidden` and `head`, so that the
state_dict's names are the file's), and checks that PyTorch's output
probabilities for random sequences agree with
`cargo xtask predict --load m.json --x - --json` to --tol (default 1e-12).
Recurrent models are also run at lengths other than the training length.

Then the other way: PyTorch modules of each kind with random weights (every
bias nonzero, the Elman RNN's bias_hh too) saved by
`safetensors.torch.save_file(model.state_dict())` (no rnnstudy metadata),
read by `cargo xtask import --kind K --length L`, and the same comparison.

    pip install torch numpy safetensors
    python3 tools/check_torch_weights.py [--kinds rnn,gru,lstm,dnn] [--tol 1e-12]

A model file can be given instead of training one: --load m.json (its kind
from the file). Exits non-zero if any kind disagrees.
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
from safetensors import safe_open
from safetensors.torch import load_file, save_file

KINDS = ["rnn", "irnn", "gru", "lstm", "dnn"]


class Recurrent(torch.nn.Module):
    def __init__(self, kind, hidden):
        super().__init__()
        if kind in ("rnn", "irnn"):
            nl = "tanh" if kind == "rnn" else "relu"
            self.rnn = torch.nn.RNN(1, hidden, nonlinearity=nl)
        elif kind == "gru":
            self.rnn = torch.nn.GRU(1, hidden)
        elif kind == "lstm":
            self.rnn = torch.nn.LSTM(1, hidden)
        else:
            raise ValueError(kind)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x):  # x: (L,) -> p: (L,)
        out, _ = self.rnn(x.view(-1, 1, 1))  # (L, batch 1, H), h_{-1} = c_{-1} = 0
        return torch.sigmoid(self.head(out[:, 0, :]))[:, 0]


class Mlp(torch.nn.Module):
    def __init__(self, length, hidden):
        super().__init__()
        self.hidden = torch.nn.Linear(length, hidden)
        self.head = torch.nn.Linear(hidden, length)

    def forward(self, x):  # x: (L,) -> p: (L,)
        return torch.sigmoid(self.head(torch.relu(self.hidden(x))))


def run(xtask, args, stdin=None):
    cmd = shlex.split(xtask) + args
    r = subprocess.run(cmd, capture_output=True, text=True, input=stdin)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def torch_model(st_path):
    with safe_open(st_path, framework="pt") as f:
        meta = f.metadata()
    kind, hidden, length = meta["rnnstudy.kind"], int(meta["rnnstudy.hidden"]), int(meta["rnnstudy.length"])
    m = Mlp(length, hidden) if kind == "dnn" else Recurrent(kind, hidden)
    m = m.double()
    m.load_state_dict(load_file(st_path), strict=True)  # every name and shape, nothing else
    m.eval()
    return kind, length, m


def check(xtask, model_path, st_path, seqs_per_length, seed):
    run(xtask, ["export", "--load", model_path, "--format", "safetensors", "--out", st_path])
    kind, length, m = torch_model(st_path)
    rng = np.random.default_rng(seed)
    lengths = [length] if kind == "dnn" else [length, 1, 3, 2 * length + 1]
    seqs = [rng.random(l) for l in lengths for _ in range(seqs_per_length)]
    stdin = "".join(",".join(repr(float(v)) for v in s) + "\n" for s in seqs)
    ours = json.loads(run(xtask, ["predict", "--load", model_path, "--x", "-", "--json"], stdin))
    worst = 0.0
    with torch.no_grad():
        for s, pred in zip(seqs, ours["predictions"]):
            assert pred["x"] == list(map(float, s)), "predict read other numbers than were sent"
            p_torch = m(torch.tensor(s, dtype=torch.float64)).numpy()
            worst = max(worst, float(np.max(np.abs(p_torch - np.array(pred["p"])))))
    return kind, lengths, len(seqs), worst


def check_import(xtask, kind, d, length, hidden, seqs_per_length, seed):
    """A PyTorch model saved by PyTorch, imported, predicting as PyTorch does."""
    torch.manual_seed(seed)
    m = (Mlp(length, hidden) if kind == "dnn" else Recurrent(kind, hidden)).double()
    with torch.no_grad():
        for p in m.parameters():  # PyTorch's init, and biases away from zero
            p.add_(0.1 * torch.rand_like(p))
    st = os.path.join(d, f"torch_{kind}.safetensors")
    save_file(m.state_dict(), st)
    path = os.path.join(d, f"torch_{kind}.json")
    run(xtask, ["import", "--from", st, "--kind", kind, "--length", str(length), "--save", path])
    rng = np.random.default_rng(seed)
    lengths = [length] if kind == "dnn" else [length, 1, 2 * length + 1]
    seqs = [rng.random(l) for l in lengths for _ in range(seqs_per_length)]
    stdin = "".join(",".join(repr(float(v)) for v in s) + "\n" for s in seqs)
    ours = json.loads(run(xtask, ["predict", "--load", path, "--x", "-", "--json"], stdin))
    worst = 0.0
    with torch.no_grad():
        for s, pred in zip(seqs, ours["predictions"]):
            p_torch = m(torch.tensor(s, dtype=torch.float64)).numpy()
            worst = max(worst, float(np.max(np.abs(p_torch - np.array(pred["p"])))))
    return lengths, len(seqs), worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--load", action="append", default=[], help="a model file to check (repeatable)")
    ap.add_argument("--xtask", default="cargo xtask", help="the command that runs xtask")
    ap.add_argument("--length", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--seqs", type=int, default=8, help="random sequences per length")
    ap.add_argument("--tol", type=float, default=1e-12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, tolerance {args.tol:g} on the output probabilities")
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        models = list(args.load)
        if not models:
            for kind in args.kinds.split(","):
                path = os.path.join(d, f"{kind}.json")
                run(args.xtask, ["train", "--model", kind, "--length", str(args.length),
                                 "--hidden", str(args.hidden), "--iters", str(args.iters),
                                 "--heldout", "200", "--save", path])
                models.append(path)
        for i, path in enumerate(models):
            st = os.path.join(d, f"export{i}.safetensors")
            kind, lengths, n, worst = check(args.xtask, path, st, args.seqs, args.seed + i)
            ok = worst <= args.tol
            passed += ok
            failed += not ok
            print(f"export {kind:5} {n} sequences of lengths {lengths}: max |p_torch - p_ours| = "
                  f"{worst:.3e} {'<=' if ok else '>'} {args.tol:g}: {'ok' if ok else 'FAILED'}")
        if not args.load:
            for i, kind in enumerate(args.kinds.split(",")):
                lengths, n, worst = check_import(args.xtask, kind, d, args.length, args.hidden,
                                                 args.seqs, args.seed + 100 + i)
                ok = worst <= args.tol
                passed += ok
                failed += not ok
                print(f"import {kind:5} {n} sequences of lengths {lengths}: max |p_torch - p_ours| = "
                      f"{worst:.3e} {'<=' if ok else '>'} {args.tol:g}: {'ok' if ok else 'FAILED'}")
    print(f"check_torch_weights: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
