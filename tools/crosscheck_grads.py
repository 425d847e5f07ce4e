#!/usr/bin/env python3
"""Cross-check `cargo xtask grads` against an independent float64 autograd.

Writes random parameters and one random sequence, runs
`cargo xtask grads --model M --params P.json --sample S.json`, recomputes the
loss and every gradient with the `autograd` package (reverse mode over numpy,
written from the SPEC's equations, not from our Rust code) and prints the
largest absolute difference per parameter. Exits non-zero above --tol.

    pip install numpy autograd
    python3 tools/crosscheck_grads.py --model rnn --length 32 --hidden 100
    python3 tools/crosscheck_grads.py --model dnn --length 32
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import autograd.numpy as anp
import numpy as np
from autograd import grad


def sigmoid(u):
    return 1.0 / (1.0 + anp.exp(-u))


def rnn_loss(p, x, labels):
    h = anp.zeros(p["W"].shape[0])
    loss = 0.0
    ys = []
    for t in range(len(x)):
        h = anp.tanh(x[t] * p["W_in"][0] + anp.dot(h, p["W"]) + p["b"])
        y = sigmoid(anp.dot(h, p["W_out"][:, 0]) + p["b_out"][0])
        ys.append(y)
        loss = loss + 0.5 * (y - labels[t]) ** 2
    return loss


def dnn_loss(p, x, labels):
    z = anp.maximum(anp.dot(x, p["W1"]) + p["b1"], 0.0)
    y = sigmoid(anp.dot(z, p["W2"]) + p["b2"])
    return anp.sum(0.5 * (y - labels) ** 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["rnn", "dnn"], required=True)
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-9)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    L, H = a.length, a.hidden
    if a.model == "rnn":
        p = {
            "W_in": rng.standard_normal((1, H)),
            "W": rng.standard_normal((H, H)) / np.sqrt(H) * 1.2,
            "b": rng.standard_normal(H) * 0.1,
            "W_out": rng.standard_normal((H, 1)) / np.sqrt(H),
            "b_out": rng.standard_normal(1) * 0.1,
        }
        f = rnn_loss
    else:
        p = {
            "W1": rng.standard_normal((L, H)) / np.sqrt(L),
            "b1": rng.standard_normal(H),
            "W2": rng.standard_normal((H, L)) / np.sqrt(H),
            "b2": rng.standard_normal(L),
        }
        f = dnn_loss
    x = rng.random(L)
    s = np.cumsum(np.where(np.arange(L) % 2 == 0, x, -x))
    labels = (s >= 0).astype(float)
    with tempfile.TemporaryDirectory() as d:
        pp, sp = os.path.join(d, "p.json"), os.path.join(d, "s.json")
        json.dump({k: v.tolist() for k, v in p.items()}, open(pp, "w"))
        json.dump({"x": x.tolist()}, open(sp, "w"))
        out = subprocess.run(
            ["cargo", "xtask", "grads", "--model", a.model, "--params", pp, "--sample", sp],
            check=True, capture_output=True, text=True,
        ).stdout
    ours = json.loads(out)
    assert np.array_equal(np.array(ours["labels"]), labels), "labels differ"
    ref_loss = f(p, x, labels)
    ref = grad(f)(p, x, labels)
    worst = abs(ours["loss"] - ref_loss)
    print(f"{a.model} L={L} H={H}: loss ours {ours['loss']:.17g} autograd {ref_loss:.17g}")
    for k in p:
        diff = np.max(np.abs(np.array(ours["grad"][k]) - ref[k]))
        scale = np.max(np.abs(ref[k]))
        print(f"  {k:>6}: max |diff| {diff:.3e}  (max |grad| {scale:.3e})")
        worst = max(worst, diff)
    print(f"worst absolute difference {worst:.3e} (tolerance {a.tol:g})")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
