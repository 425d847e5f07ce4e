#!/usr/bin/env python3
"""Check a report folder's tidy tables against its study.json, with pandas.

usage: check_tables.py REPORT_FOLDER

pandas reads curves.csv, final.csv, per_position.csv, grad_flow.csv and
summary.csv with its defaults (`pd.read_csv(path)`), and every number is
compared with study.json's, exactly: the final accuracies (from final.csv and
from the last point of each run's curve in curves.csv), every curve point,
every per-position accuracy, every gradient-flow norm and the summary means.
Exit 0 when all agree.

    pip install pandas
    python3 tools/check_tables.py reports/study
"""
import json
import math
import os
import sys

import pandas as pd


def same(a, b):
    """Equal as f64, NaN and missing (None) alike."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return float(a) == float(b)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    study = json.load(open(os.path.join(d, "study.json")))
    runs = {(r["variant"], r["length"], r["seed"]): r for r in study["runs"]}
    bad = []
    t = {n: pd.read_csv(os.path.join(d, n + ".csv"))
         for n in ["curves", "final", "per_position", "grad_flow", "summary"]}

    # final.csv and the last curve point: the study's final accuracies.
    final = t["final"]
    if len(final) != len(runs):
        bad.append(f"final.csv has {len(final)} rows for {len(runs)} runs")
    for row in final.itertuples():
        r = runs[(row.variant, row.length, row.seed)]
        if not same(r["final"]["heldout_acc"], row.heldout_acc):
            bad.append(f"final.csv {row.variant} L={row.length} seed={row.seed}: "
                       f"{row.heldout_acc!r} != {r['final']['heldout_acc']!r}")
    curves = t["curves"]
    last = curves.loc[curves.groupby(["variant", "length", "seed"])["iter"].idxmax()]
    for row in last.itertuples():
        r = runs[(row.variant, row.length, row.seed)]
        if r["iters"] == row.iter and not same(r["final"]["heldout_acc"], row.heldout_acc):
            bad.append(f"curves.csv last point of {row.variant} L={row.length} "
                       f"seed={row.seed}: {row.heldout_acc!r} != {r['final']['heldout_acc']!r}")
    n_points = sum(len(r["curve"]) for r in runs.values())
    if len(curves) != n_points:
        bad.append(f"curves.csv has {len(curves)} rows for {n_points} curve points")
    for row in curves.itertuples():
        r = runs[(row.variant, row.length, row.seed)]
        p = next(p for p in r["curve"] if p["iter"] == row.iter)
        for col, key in [("heldout_acc", "heldout_acc"), ("heldout_loss", "loss"),
                         ("train_seq_loss", "train_loss"),
                         ("train_step_grad_norm", "grad_norm")]:
            if not same(p[key], getattr(row, col)):
                bad.append(f"curves.csv {col} at iter {row.iter} of {row.variant} "
                           f"L={row.length} seed={row.seed}")
    for row in t["per_position"].itertuples():
        r = runs[(row.variant, row.length, row.seed)]
        if not same(r["final"]["per_position_acc"][row.position], row.heldout_acc):
            bad.append(f"per_position.csv {row.variant} L={row.length} seed={row.seed} "
                       f"position {row.position}")
    for row in t["grad_flow"].itertuples():
        r = runs[(row.variant, row.length, row.seed)]
        flows = r["grad_flow" if row.loss == "whole" else "grad_flow_last"]
        f = next(f for f in flows if f["iter"] == row.iter)
        if not same(f["norms"][row.t], row.norm):
            bad.append(f"grad_flow.csv {row.variant} L={row.length} seed={row.seed} "
                       f"iter {row.iter} t {row.t}")
    # Every row names its run's precision (absent from an f64 run's settings).
    for name, table in t.items():
        for row in table.itertuples():
            want = next((r.get("precision", "f64") for r in study["runs"]
                         if r["variant"] == row.variant), None)
            if row.precision != want:
                bad.append(f"{name}.csv {row.variant}: precision {row.precision!r} != {want!r}")
                break
    rows = {(s["variant"], s["length"]): s for s in study["summary"]}
    for row in t["summary"].itertuples():
        s = rows[(row.variant, row.length)]
        if not same(s["heldout_acc_mean"], row.heldout_acc_mean):
            bad.append(f"summary.csv {row.variant} L={row.length}")
    if bad:
        print("\n".join(bad[:20]))
        print(f"{len(bad)} disagreements")
        sys.exit(1)
    print(f"pandas reads every table of {d}: {len(final)} runs, {len(curves)} curve points, "
          f"{len(t['per_position'])} per-position and {len(t['grad_flow'])} gradient-flow rows, "
          f"{len(t['summary'])} summary rows, all equal to study.json")


if __name__ == "__main__":
    main()
