#!/usr/bin/env python3
"""Redraw a study's main figures from its tidy tables, with matplotlib.

usage: plot_study.py REPORT_FOLDER [--out DIR] [--format png|pdf|svg]

For users who restyle: the figures of SUMMARY.md, from curves.csv,
final.csv, per_position.csv and grad_flow.csv only (no study.json), as a
starting point to edit:

- curves_L<L>: held-out accuracy during training, from iteration 0: every
  seed as a thin line, the mean over seeds as a thick one;
- accuracy_vs_length: the final accuracy's mean over seeds that did not
  diverge, with its 95% Student-t interval, against length (log axis);
- per_position_L<L>: final accuracy at each position (mean and every seed)
  against the majority baseline of that position;
- grad_flow_L<L>: ||dE(L-1)/dh_t|| at the end of training, geometric mean
  over seeds, log scale.

    pip install pandas matplotlib scipy
    python3 tools/plot_study.py reports/study --out /tmp/figs
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def t975(df):
    try:
        from scipy.stats import t
        return t.ppf(0.975, df)
    except ImportError:  # the normal quantile: too narrow for few seeds
        return 1.96


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--out", default=None, help="output folder [default: FOLDER/figures]")
    ap.add_argument("--format", default="png", choices=["png", "pdf", "svg"])
    a = ap.parse_args()
    out = a.out or os.path.join(a.folder, "figures")
    os.makedirs(out, exist_ok=True)
    read = lambda n: pd.read_csv(os.path.join(a.folder, n + ".csv"))  # noqa: E731
    curves, final, pos, flow = read("curves"), read("final"), read("per_position"), read("grad_flow")
    written = []

    def save(fig, name):
        path = os.path.join(out, f"{name}.{a.format}")
        fig.savefig(path, bbox_inches="tight", dpi=120)
        plt.close(fig)
        written.append(path)

    for length, c in curves.groupby("length"):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, (variant, v) in enumerate(c.groupby("variant", sort=False)):
            color = f"C{i}"
            for _, s in v.groupby("seed"):
                ax.plot(s["iter"], s["heldout_acc"], color=color, lw=0.6, alpha=0.35)
            m = v.groupby("iter")["heldout_acc"].mean()
            ax.plot(m.index, m.values, color=color, lw=2.2, label=variant)
        ax.set(xlabel="training iteration", ylabel="held-out accuracy",
               title=f"Held-out accuracy during training, L = {length} (thin: each seed)")
        ax.legend()
        save(fig, f"curves_L{length}")

    ok = final[~final["diverged"]]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (variant, v) in enumerate(ok.groupby("variant", sort=False)):
        g = v.groupby("length")["heldout_acc"]
        mean, std, n = g.mean(), g.std(), g.count()
        half = np.array([t975(k - 1) if k > 1 else np.nan for k in n]) * std / np.sqrt(n)
        ax.errorbar(mean.index, mean.values, yerr=half.values, marker="o", capsize=3,
                    color=f"C{i}", label=variant)
    ax.axhline(0.9, color="gray", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="sequence length L", ylabel="final held-out accuracy",
           title="Final accuracy against length (mean, 95% t-interval over seeds)")
    ax.legend()
    save(fig, "accuracy_vs_length")

    for length, p in pos.groupby("length"):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, (variant, v) in enumerate(p.groupby("variant", sort=False)):
            for _, s in v.groupby("seed"):
                ax.plot(s["position"], s["heldout_acc"], color=f"C{i}", lw=0.6, alpha=0.35)
            m = v.groupby("position")["heldout_acc"].mean()
            ax.plot(m.index, m.values, color=f"C{i}", lw=2, marker="o", ms=3, label=variant)
        maj = p.groupby("position")["majority"].first()
        ax.plot(maj.index, maj.values, color="black", ls="--", lw=1.2,
                label="majority label of each position")
        ax.set(xlabel="position t", ylabel="held-out accuracy at t",
               title=f"Accuracy at each position at the end of training, L = {length}")
        ax.legend()
        save(fig, f"per_position_L{length}")

    last = flow[flow["loss"] == "last"]
    for length, f in last.groupby("length"):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, (variant, v) in enumerate(f.groupby("variant", sort=False)):
            end = v[v["iter"] == v.groupby("seed")["iter"].transform("max")]
            g = end[end["norm"] > 0].groupby("t")["norm"].apply(lambda x: np.exp(np.log(x).mean()))
            ax.plot(g.index, g.values, color=f"C{i}", lw=2, label=variant)
        ax.set_yscale("log")
        ax.set(xlabel="time step t", ylabel=r"$\|\partial E_{L-1} / \partial h_t\|$",
               title=f"Gradient flow at the end of training, L = {length} (geometric mean over seeds)")
        ax.legend()
        save(fig, f"grad_flow_L{length}")

    print("\n".join(written))


if __name__ == "__main__":
    main()
