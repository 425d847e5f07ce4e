#!/usr/bin/env python3
"""CI check of `cargo xtask export --format safetensors`, with numpy and safetensors only.

For every kind (rnn, irnn, gru, lstm, dnn, rnn-orth, irnn-le, indrnn, lru) it trains a tiny model with
`cargo xtask train ... --save`, exports it, and checks the safetensors file
against the model file's `params`:

- the tensor names are exactly PyTorch's for the kind (docs/SPEC.md §5.1),
  every tensor float64 ("F64") in PyTorch's shape;
- the values equal the model file's, exactly as f64: weights transposed
  (rnn.weight_ih_l0 = W_in.T, rnn.weight_hh_l0 = W.T or W_hh.T,
  head.weight = W_out.T; the dnn's hidden.weight = W1.T, head.weight = W2.T),
  biases as they are, and the Elman RNN's rnn.bias_hh_l0 all zeros;
- the __metadata__ names the kind, hidden size, length and schema, and
  carries the model file's training and metrics;
- `cargo xtask import` of the export writes the same model file, byte for byte.

    pip install numpy safetensors
    python3 tools/check_export.py [--kinds rnn,gru] [--xtask "cargo xtask"]

The expected layout below is written out here on purpose (not read from the
registry it checks). Exits non-zero on the first difference, naming it.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
from safetensors import safe_open

# PyTorch's name -> (our parameter, how): "T" transposed, "=" the same, "0" zeros.
ELMAN = [
    ("rnn.weight_ih_l0", "W_in", "T"),
    ("rnn.weight_hh_l0", "W", "T"),
    ("rnn.bias_ih_l0", "b", "="),
    ("rnn.bias_hh_l0", "b", "0"),
    ("head.weight", "W_out", "T"),
    ("head.bias", "b_out", "="),
]
GATED = [
    ("rnn.weight_ih_l0", "W_ih", "T"),
    ("rnn.weight_hh_l0", "W_hh", "T"),
    ("rnn.bias_ih_l0", "b_ih", "="),
    ("rnn.bias_hh_l0", "b_hh", "="),
    ("head.weight", "W_out", "T"),
    ("head.bias", "b_out", "="),
]
MLP = [
    ("hidden.weight", "W1", "T"),
    ("hidden.bias", "b1", "="),
    ("head.weight", "W2", "T"),
    ("head.bias", "b2", "="),
]
# The gate-less cells PyTorch has no module for: the modules of
# tools/gateless_torch.py, a tensor per parameter block under its own name.
INDRNN = [(f"indrnn.{p}", p, "=") for p in ["W_in", "u1", "b1", "W2", "u2", "b2"]] + [
    ("head.weight", "W_out", "T"),
    ("head.bias", "b_out", "="),
]
LRU = [(f"lru.{p}", p, "=") for p in ["nu_log", "theta_log", "gamma_log", "B_re", "B_im",
                                      "B0_re", "B0_im", "C_re", "C_im", "D", "b"]] + [
    ("head.weight", "W_out", "T"),
    ("head.bias", "b_out", "="),
]
LAYOUT = {"rnn": ELMAN, "irnn": ELMAN, "gru": GATED, "lstm": GATED, "dnn": MLP,
          "rnn-orth": ELMAN, "irnn-le": ELMAN, "indrnn": INDRNN, "lru": LRU}


def run(xtask, args):
    cmd = shlex.split(xtask) + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def check(xtask, kind, d, length, hidden):
    model_path = os.path.join(d, f"{kind}.json")
    st_path = os.path.join(d, f"{kind}.safetensors")
    back_path = os.path.join(d, f"{kind}_back.json")
    run(xtask, ["train", "--model", kind, "--length", str(length), "--hidden", str(hidden),
                "--iters", "200", "--eval-every", "100", "--heldout", "100", "--save", model_path])
    run(xtask, ["export", "--load", model_path, "--format", "safetensors", "--out", st_path])
    with open(model_path) as f:
        model = json.load(f)  # Python reads JSON numbers as the exact f64 written
    params = {k: np.array(v, dtype=np.float64) for k, v in model["params"].items()}
    problems = []
    with safe_open(st_path, framework="numpy") as f:
        names = set(f.keys())
        want = [t[0] for t in LAYOUT[kind]]
        if names != set(want):
            problems.append(f"tensors {sorted(names)}, expected {sorted(want)}")
        for name, ours, how in LAYOUT[kind]:
            if name not in names:
                continue
            t = f.get_tensor(name)
            p = params[ours]
            expected = {"T": p.T, "=": p, "0": np.zeros_like(p)}[how]
            if t.dtype != np.float64:
                problems.append(f"{name}: dtype {t.dtype}, expected float64")
            if t.shape != expected.shape:
                problems.append(f"{name}: shape {list(t.shape)}, expected {list(expected.shape)}")
            elif not np.array_equal(t.view(np.uint64), np.ascontiguousarray(expected).view(np.uint64)):
                diff = np.max(np.abs(t - expected))
                problems.append(f"{name}: values differ from {ours}{'.T' if how == 'T' else ''} "
                                f"(max |diff| {diff:.3e}), not bit for bit")
        meta = f.metadata() or {}
    for key, value in [("rnnstudy.kind", kind), ("rnnstudy.hidden", str(hidden)),
                       ("rnnstudy.length", str(length)), ("rnnstudy.schema", model["schema"])]:
        if meta.get(key) != value:
            problems.append(f"metadata {key} = {meta.get(key)!r}, expected {value!r}")
    for key, field in [("rnnstudy.training", "training"), ("rnnstudy.metrics", "metrics")]:
        if json.loads(meta.get(key, "null")) != model[field]:
            problems.append(f"metadata {key} is not the model file's {field}")
    run(xtask, ["import", "--from", st_path, "--save", back_path])
    # The same file but for the provenance of the process that wrote it
    # (its command line and start time).
    def without_provenance(path):
        with open(path) as f:
            v = json.load(f)
        v.pop("provenance", None)
        return v
    if without_provenance(model_path) != without_provenance(back_path):
        problems.append("import of the export is not the same model file")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", default=",".join(LAYOUT))
    ap.add_argument("--xtask", default="cargo xtask", help="the command that runs xtask")
    ap.add_argument("--length", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=7)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        for kind in args.kinds.split(","):
            if kind not in LAYOUT:
                sys.exit(f"no expected layout for kind {kind!r} in {__file__}: add its row to LAYOUT")
            problems = check(args.xtask, kind, d, args.length, args.hidden)
            n = len(LAYOUT[kind])
            if problems:
                failed += 1
                print(f"{kind}: FAILED")
                for p in problems:
                    print(f"  {p}")
            else:
                passed += 1
                print(f"{kind}: {n} tensors, names, shapes and float64 values as the model file's "
                      f"(bit for bit), metadata and import round trip ok")
    print(f"check_export: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
