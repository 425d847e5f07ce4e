#!/usr/bin/env python3
"""Compare the runs of two study.json files, bit for bit.

usage: compare_studies.py A/study.json B/study.json

Runs are matched by (variant label, length, seed). For every run of A, B must
hold the same run with equal results: the whole curve (every field of every
evaluation point), the final metrics, iterations done, divergence, clipped
updates, the first iterations reaching 0.90 and 0.95, and the gradient flows.
Timing fields are never compared; fields one schema has and the other lacks
(e.g. `hidden`, added in rnnstudy.study/2) are ignored. Exit 0 when all match.
Reads study.json of schema rnnstudy.study/1, /2 and /3.
"""
import json
import math
import sys

COMPARED = ("curve", "final", "iters", "diverged", "diverged_at", "clipped_updates",
            "iters_to_90", "iters_to_95", "grad_flow", "grad_flow_last",
            "model", "optimizer", "lr_io", "lr_rec", "clip")


def same(a, b):
    """Equal to the last bit; NaN equals NaN; objects compared on the keys both have."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        keys = a.keys() & b.keys()
        return bool(keys) and all(same(a[k], b[k]) for k in keys)
    return a == b


def runs(path):
    study = json.load(open(path))
    return {(r["variant"], r["length"], r["seed"]): r for r in study["runs"]}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = runs(sys.argv[1]), runs(sys.argv[2])
    bad = []
    for key, ra in a.items():
        rb = b.get(key)
        if rb is None:
            bad.append(f"{key}: missing from {sys.argv[2]}")
            continue
        diff = [k for k in COMPARED if k in ra and k in rb and not same(ra[k], rb[k])]
        if diff:
            bad.append(f"{key}: differs in {', '.join(diff)}")
    extra = sorted(set(b) - set(a))
    if extra:
        bad.append(f"{len(extra)} runs only in {sys.argv[2]}, e.g. {extra[0]}")
    if bad:
        print("\n".join(bad[:10]))
        print(f"{len(bad)} of {len(a)} runs differ")
        sys.exit(1)
    print(f"all {len(a)} runs identical")


if __name__ == "__main__":
    main()
