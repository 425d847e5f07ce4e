#!/usr/bin/env python3
"""Speed of one rnnstudy training iteration beside PyTorch and the article's numpy code.

    python3 tools/bench_torch.py --targets

(run from anywhere; the rnnstudy command runs in the repository root.)

What is measured: one training iteration of batch-size-1 SGD on one sequence
of length L of the alternating-sign task (docs/SPEC.md §1-2, H = 100): the
forward pass, the loss E = sum_t 0.5 (y_t - label_t)^2, the full backward pass
and the update with two rates (0.1 for the input weight, the head's weight
and bias; 0.001 for the recurrent weight and the hidden biases; the MLP 0.1
everywhere). Every side runs on one thread
(OMP/OPENBLAS/MKL_NUM_THREADS=1, torch.set_num_threads(1)).

- PyTorch: nn.RNN (tanh) / nn.GRU / nn.LSTM (one layer, input 1, hidden 100)
  + nn.Linear(100, 1) + sigmoid on the CPU, float32 unless --torch-dtype
  float64; autograd backward, then the update in place under no_grad.
  Sequences come from a pool drawn before the timing.
- numpy: the article's own code (its rnn.py and dnn.py, as printed in
  ../shared/seeds/000_4491438948081015.txt), its loops and matrix shapes,
  in float64 and in float32 (the same code with every array in float32).
  A sample is the article's whole training-loop body run N times: drawing a
  sequence with np.random.choice, forward, loss, backward, the 0/1
  conversion of the outputs, the update; only the accuracy print every 500
  iterations is left out. Elman RNN (rnn) and MLP (dnn) only.
- rnnstudy: the --cmd template, by default
  `cargo xtask speed --model {model} --length {length} --precision {precision} --iters {iters}`,
  whose last stdout line starting with `{` is JSON with "us_per_iter"
  (the command's own timing: cargo's start-up is not counted).

Protocol (the machine may be shared and noisy): for each (cell, L), every side
is first calibrated (which also warms it up), so that a sample lasts about
--seconds; then --pairs rounds each take one sample of every side in turn
(PyTorch, rnnstudy f32, rnnstudy f64, numpy f32, numpy f64). A sample is its
total time / N, in microseconds per iteration.

Reading the table: µs columns are the median sample of each side. A ratio
column "×PyTorch" (or "×numpy") is median(reference) / median(rnnstudy): how
many times faster rnnstudy is, >1 meaning faster; in brackets the median of
the per-round ratios (a sample and the reference sample of its own round),
which is less sensitive to the load changing between rounds. numpy ratios are
like for like (rnnstudy f32 against numpy f32, f64 against f64). With
--targets each ratio is followed by its target and PASS or MISS (judged on the
ratio of medians); targets against PyTorch apply to PyTorch float32 only.
--json OUT also writes every sample.
"""
import os

# Before numpy and torch are imported, so that their BLAS starts with one thread.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CMD = ("cargo xtask speed --model {model} --length {length} "
               "--precision {precision} --iters {iters}")
HIDDEN = 100
LR_IO, LR_REC = 0.1, 0.001
POOL = 256  # sequences drawn before the timing, used in turn (PyTorch) or at random (numpy)
TORCH_CELLS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}
NUMPY_CELLS = ("rnn", "dnn")
CELLS = ("rnn", "gru", "lstm", "dnn")
NP_DTYPES = {"f32": np.float32, "f64": np.float64}
TORCH_PRECISION = {"float32": "f32", "float64": "f64"}

# How many times faster rnnstudy must be: (reference, rnnstudy precision, cell, L) -> factor.
# "torch" is PyTorch float32; "numpy" is the article's code in rnnstudy's precision.
TARGETS = {
    ("torch", "f32", "rnn", 32): 20, ("torch", "f32", "rnn", 256): 20,
    ("torch", "f32", "gru", 32): 10, ("torch", "f32", "gru", 256): 10,
    ("torch", "f32", "lstm", 32): 10, ("torch", "f32", "lstm", 256): 3,
    ("torch", "f64", "rnn", 256): 2, ("torch", "f64", "gru", 256): 2,
    ("torch", "f64", "lstm", 256): 1.5,
    ("numpy", "f64", "rnn", 32): 5, ("numpy", "f32", "rnn", 32): 8,
    ("numpy", "f64", "dnn", 32): 15, ("numpy", "f32", "dnn", 32): 15,
}


def task_pool(length, dtype, seed=0):
    """POOL sequences x ~ U[0, 1) and their labels: 1 where x0 - x1 + x2 - ... >= 0 (SPEC §1)."""
    x = np.random.default_rng(seed).random((POOL, length))
    signs = np.where(np.arange(length) % 2 == 0, 1.0, -1.0)
    labels = (np.cumsum(signs * x, axis=1) >= 0).astype(dtype)
    return x.astype(dtype), labels


# ---------------------------------------------------------------- PyTorch

def torch_trainer(cell, length, dtype):
    """A function running n PyTorch training iterations; returns µs per iteration."""
    torch.manual_seed(0)
    rnn = getattr(torch.nn, TORCH_CELLS[cell])(input_size=1, hidden_size=HIDDEN).to(dtype)
    head = torch.nn.Linear(HIDDEN, 1).to(dtype)
    with torch.no_grad():  # SPEC §2/§4's init, so that training behaves as rnnstudy's
        torch.nn.init.normal_(rnn.weight_ih_l0)
        torch.nn.init.normal_(rnn.weight_hh_l0, std=HIDDEN ** -0.5)
        torch.nn.init.normal_(head.weight, std=HIDDEN ** -0.5)
        for b in (rnn.bias_ih_l0, rnn.bias_hh_l0, head.bias):
            b.zero_()
        if cell == "lstm":
            rnn.bias_ih_l0[HIDDEN:2 * HIDDEN] = 1.0  # the forget gate
    rates = ([(p, LR_IO) for p in (rnn.weight_ih_l0, head.weight, head.bias)]
             + [(p, LR_REC) for p in (rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)])
    x, labels = task_pool(length, np.float64)
    xs = torch.tensor(x, dtype=dtype).view(POOL, length, 1, 1)  # (L, batch 1, input 1) each
    ys = torch.tensor(labels, dtype=dtype)

    def run(n):
        start = time.perf_counter()
        for i in range(n):
            out, _ = rnn(xs[i % POOL])
            y = torch.sigmoid(head(out)).view(-1)
            loss = 0.5 * ((y - ys[i % POOL]) ** 2).sum()
            loss.backward()
            # In place under no_grad rather than torch.optim.SGD with two parameter
            # groups: measured no slower (equal within noise), and it does less per
            # step (no optimizer hooks or group loop). Dropping the gradients (None,
            # as zero_grad does by default) lets backward write fresh ones.
            with torch.no_grad():
                for p, lr in rates:
                    p.add_(p.grad, alpha=-lr)
                    p.grad = None
        return (time.perf_counter() - start) / n * 1e6

    return run


# ---------------------------------------------------------------- numpy, the article's code
#
# functions.py (sigmoid, d_tanh, least_square, relu, d_relu) is imported by the
# article's rnn.py and dnn.py but not printed in it; these are the article
# repository's definitions, written to keep the dtype of their argument.

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def d_tanh(x):
    return 1 - np.tanh(x) ** 2


def least_square(y, t):
    return 0.5 * np.sum((y - t) ** 2) / y.shape[0]


def d_least_square(y, t):
    return (y - t) / t.shape[0]


def relu(x):
    return np.maximum(0, x)


def d_relu(x):
    return (x > 0).astype(x.dtype)


def article_rnn(length, dtype):
    """The seed file's rnn.py: "モデル設定" (model settings) to "勾配の設定" (the
    gradients), the buffers ※1/※2, and the body of "トレーニング" (training) up to
    the update ※7 and the zeroing of the gradients; the accuracy print ※8 is left out.
    Labels are stored in `dtype` (the article: integers) so that float32 stays float32."""
    x_train, y_train = task_pool(length, dtype)
    sequence_length = length
    input_layer_size, hidden_layer_size, output_layer_size = 1, HIDDEN, 1
    learning_rate = LR_IO

    params = {}
    params['W_in'] = (np.random.randn(input_layer_size, hidden_layer_size)
                      / (np.sqrt(input_layer_size))).astype(dtype)
    params['W_out'] = (np.random.randn(hidden_layer_size, output_layer_size)
                       / (np.sqrt(hidden_layer_size))).astype(dtype)
    params['W'] = (np.random.randn(hidden_layer_size, hidden_layer_size)
                   / (np.sqrt(hidden_layer_size))).astype(dtype)
    params['b'] = np.zeros(hidden_layer_size, dtype)
    params['b_out'] = np.zeros(output_layer_size, dtype)

    W_in_grad = np.zeros_like(params['W_in'])
    W_out_grad = np.zeros_like(params['W_out'])
    W_grad = np.zeros_like(params['W'])
    W_b_grad = np.zeros_like(params['b'])
    W_b_out_grad = np.zeros_like(params['b_out'])

    u = np.zeros((hidden_layer_size, sequence_length), dtype)
    z = np.zeros((hidden_layer_size, sequence_length + 1), dtype)
    y_ = np.zeros((output_layer_size, sequence_length), dtype)
    y = np.zeros((output_layer_size, sequence_length), dtype)

    delta_out = np.zeros((output_layer_size, sequence_length), dtype)
    delta_out_2 = np.zeros((hidden_layer_size, sequence_length + 1), dtype)
    delta_ = np.zeros((hidden_layer_size, sequence_length), dtype)
    delta = np.zeros((hidden_layer_size, sequence_length + 1), dtype)

    def run(iters_num):
        nonlocal W_in_grad, W_out_grad, W_grad, W_b_grad, W_b_out_grad  # the article's globals
        start = time.perf_counter()
        for i in range(iters_num):
            # The article's pool has 50,000 sequences; the cost of the draw does not depend on it.
            choice = np.random.choice(len(x_train), 1)
            x_sample = x_train[int(choice[0])]  # the article: int(choice), deprecated in numpy 2
            y_sample = y_train[int(choice[0])]

            for t in range(sequence_length):
                u[:, t] = (np.dot(x_sample[t].reshape(1, -1), params['W_in'])
                           + np.dot(z[:, t].reshape(1, -1), params['W']) + params['b'])
                z[:, t + 1] = np.tanh(u[:, t])
                y_[:, t] = np.dot(z[:, t + 1].reshape(1, -1), params['W_out']) + params['b_out']
                y[:, t] = sigmoid(y_[:, t])
                # Computed and unused, as in the article.
                loss = least_square(y[:, t], y_sample[t])  # noqa: F841

            for t in range(sequence_length)[::-1]:
                delta_out[:, t] = (y[:, t] - y_sample[t]) * (1 - y[:, t]) * y[:, t]
                delta_out_2[:, t + 1] = np.dot(delta_out[:, t].reshape(1, -1), params['W_out'].T)
                delta_[:, t] = (delta_out_2[:, t + 1] + delta[:, t + 1]) * d_tanh(u[:, t])
                delta[:, t] = np.dot(delta_[:, t], params['W'].T)

                W_out_grad += np.dot(z[:, t + 1].reshape(-1, 1), delta_out[:, t].reshape(1, -1))
                W_b_out_grad += np.sum(delta_out[:, t].reshape(1, -1), axis=0)
                W_grad += np.dot(z[:, t].reshape(-1, 1), delta_[:, t].reshape(1, -1))
                W_in_grad += np.dot(x_sample[t].reshape(-1, 1), delta_[:, t].reshape(1, -1))
                W_b_grad += np.sum(delta_[:, t].reshape(1, -1), axis=0)

            for j in range(len(y[0])):
                if y[:, j] >= 0.5:
                    y[:, j] = 1
                else:
                    y[:, j] = 0

            params['W_in'] -= learning_rate * W_in_grad
            params['W_out'] -= learning_rate * W_out_grad
            params['W'] -= LR_REC * W_grad
            params['b_out'] -= learning_rate * W_b_out_grad
            params['b'] -= LR_REC * W_b_grad

            W_in_grad *= 0
            W_out_grad *= 0
            W_grad *= 0
            W_b_out_grad *= 0
            W_b_grad *= 0
        return (time.perf_counter() - start) / iters_num * 1e6

    return run


def article_dnn(length, dtype):
    """The seed file's dnn.py: "モデル設定" (model settings), forward ("順伝播"),
    backward ("逆伝播", with y_sample passed in instead of read as a global) and the
    body of "トレーニング" (training) up to the update; the accuracy print is left out."""
    x_train, y_train = task_pool(length, dtype)
    input_layer_size = length
    hidden_layer_size = HIDDEN
    output_layer_size = input_layer_size
    learning_rate = LR_IO

    params = {}
    params["W1"] = (np.random.randn(input_layer_size, hidden_layer_size)
                    / np.sqrt(input_layer_size)).astype(dtype)
    params["b1"] = np.random.randn(hidden_layer_size).astype(dtype)
    params["W2"] = (np.random.randn(hidden_layer_size, output_layer_size)
                    / np.sqrt(hidden_layer_size)).astype(dtype)
    params["b2"] = np.random.randn(output_layer_size).astype(dtype)

    def forward(params, x):
        W1, W2 = params["W1"], params["W2"]
        b1, b2 = params["b1"], params["b2"]
        f1 = np.dot(x, W1) + b1
        z1 = relu(f1)
        f2 = np.dot(z1, W2) + b2
        y = sigmoid(f2)
        return z1, y

    def backward(params, x, z1, y, y_sample):
        grad = {}
        W1, W2 = params["W1"], params["W2"]
        b1, b2 = params["b1"], params["b2"]  # noqa: F841 (as in the article)
        delta2 = d_least_square(y, y_sample) * (1 - y) * y
        grad["b2"] = np.sum(delta2, axis=0)
        grad["W2"] = np.dot(z1.reshape(-1, 1), delta2)
        delta1 = np.dot(delta2, W2.T)
        delta1_r = delta1 * d_relu(z1)
        grad["b1"] = np.sum(delta1_r, axis=0)
        grad["W1"] = np.dot(x.reshape(-1, 1), delta1_r)
        return grad

    def run(iteration):
        start = time.perf_counter()
        for i in range(iteration):
            choice = np.random.choice(len(x_train), 1)
            x_sample = x_train[int(choice[0])]  # the article: int(choice), deprecated in numpy 2
            y_sample = y_train[int(choice[0])]

            z1, y = forward(params, x_sample)
            y_sample = y_sample.reshape(1, -1)
            loss = least_square(y_sample, y)  # noqa: F841 (unused, as in the article)
            grad = backward(params, x_sample, z1, y, y_sample)

            for j in range(len(y)):
                if y[j] >= 0.5:
                    y[j] = 1
                else:
                    y[j] = 0

            for key in ("W1", "W2", "b1", "b2"):
                params[key] -= learning_rate * grad[key]
        return (time.perf_counter() - start) / iteration * 1e6

    return run


# ---------------------------------------------------------------- rnnstudy

def rnnstudy_runner(template, cell, length, precision):
    """A function running the rnnstudy command for n iterations; returns its µs per iteration."""
    def run(n):
        argv = [a.format(model=cell, length=length, precision=precision, iters=n)
                for a in shlex.split(template)]
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{shlex.join(argv)} failed (exit {proc.returncode}):\n{proc.stderr}")
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            sys.exit(f"no JSON line in the output of {shlex.join(argv)}:\n{proc.stdout}")
        try:
            answer = json.loads(lines[-1])
        except json.JSONDecodeError as e:
            sys.exit(f"{shlex.join(argv)}: its last line is not JSON ({e}):\n{lines[-1]}")
        asked = {"model": cell, "length": length, "precision": precision, "iters": n,
                 "hidden": HIDDEN}
        wrong = {k: answer.get(k) for k, v in asked.items() if k in answer and answer[k] != v}
        if wrong or "us_per_iter" not in answer:
            sys.exit(f"{shlex.join(argv)} answered {lines[-1]}, not {asked} with us_per_iter")
        return float(answer["us_per_iter"])

    return run


# ---------------------------------------------------------------- protocol

def iterations_for(run, length, seconds):
    """Calibrate (and warm up) a side: the iterations that make a sample last `seconds`."""
    n = max(1, 2048 // length)
    us = run(n)
    if us * n < 0.05e6:  # too short to trust: once more, for about 0.1 s
        n = max(n + 1, math.ceil(0.1e6 / us))
        us = run(n)
    return max(1, round(seconds * 1e6 / us))


def sides_for(cell, length, args):
    """The (name, reference kind, precision, runner) of every side measured at (cell, L)."""
    sides = []
    if cell in TORCH_CELLS:
        sides.append(("PyTorch", "torch", TORCH_PRECISION[args.torch_dtype],
                      torch_trainer(cell, length, getattr(torch, args.torch_dtype))))
    for p in args.precisions:
        sides.append((f"rnnstudy {p}", "rnnstudy", p, rnnstudy_runner(args.cmd, cell, length, p)))
    if cell in NUMPY_CELLS:
        make = article_rnn if cell == "rnn" else article_dnn
        for p in args.precisions:
            sides.append((f"numpy {p}", "numpy", p, make(length, NP_DTYPES[p])))
    return sides


def measure(cell, length, args, log):
    """Every sample of every side at (cell, L): {side name: [µs per round]}, and iterations."""
    sides = sides_for(cell, length, args)
    iters = {}
    for name, _, _, run in sides:
        iters[name] = iterations_for(run, length, args.seconds)
    samples = {name: [] for name, _, _, _ in sides}
    for r in range(args.pairs):
        for name, _, _, run in sides:
            samples[name].append(run(iters[name]))
        log(f"{cell} L={length} round {r + 1}/{args.pairs}: "
            + ", ".join(f"{k} {v[-1]:.1f}" for k, v in samples.items()) + " µs")
    return sides, samples, iters


def ratio(ref, ours):
    """median(ref) / median(ours), and the median of the per-round ratios."""
    return (statistics.median(ref) / statistics.median(ours),
            statistics.median(a / b for a, b in zip(ref, ours)))


def header(args):
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return {
        "date": now, "cpu": cpu, "logical_cpus": os.cpu_count(), "load_avg_1min": float(load),
        "torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
        "torch_threads": torch.get_num_threads(), "blas_threads": 1,
        "torch_dtype": args.torch_dtype, "cmd": args.cmd, "pairs": args.pairs,
        "seconds_per_sample": args.seconds,
    }


def times(x):
    return f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def cell_text(r, target):
    text = f"{times(r[0])} [{times(r[1])}]"
    if target is not None:
        text += f" ≥{target:g}× " + ("PASS" if r[0] >= target else "MISS")
    return text


def table(results, args):
    """The Markdown table: one row per (cell, L)."""
    cols = ["cell", "L", f"PyTorch {TORCH_PRECISION[args.torch_dtype]} µs"]
    for p in args.precisions:
        cols += [f"rnnstudy {p} µs", "×PyTorch"]
    for p in args.precisions:
        cols += [f"numpy {p} µs", f"×numpy {p}"]
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for (cell, length), samples in results.items():
        def med(name):
            return f"{statistics.median(samples[name]):.1f}" if name in samples else "—"

        def vs(ref, p):
            if ref not in samples:
                return "—"
            kind = "torch" if ref == "PyTorch" else "numpy"
            target = None
            if args.targets and (kind == "numpy" or args.torch_dtype == "float32"):
                target = TARGETS.get((kind, p, cell, length))
            return cell_text(ratio(samples[ref], samples[f"rnnstudy {p}"]), target)

        row = [cell, str(length), med("PyTorch")]
        for p in args.precisions:
            row += [med(f"rnnstudy {p}"), vs("PyTorch", p)]
        for p in args.precisions:
            row += [med(f"numpy {p}"), vs(f"numpy {p}", p)]
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS),
                    help="cells to measure (default: all; dnn, the MLP, against numpy only)")
    ap.add_argument("--lengths", nargs="+", type=int, default=[32, 256],
                    help="sequence lengths (default 32 256)")
    ap.add_argument("--precisions", nargs="+", choices=["f32", "f64"], default=["f32", "f64"],
                    help="rnnstudy's (and the numpy code's) precisions")
    ap.add_argument("--torch-dtype", choices=["float32", "float64"], default="float32",
                    help="PyTorch's dtype (default float32)")
    ap.add_argument("--pairs", type=int, default=5,
                    help="rounds, each one sample of every side (default 5)")
    ap.add_argument("--seconds", type=float, default=0.5,
                    help="the length of a sample, in seconds (default 0.5)")
    ap.add_argument("--cmd", default=DEFAULT_CMD,
                    help="rnnstudy's command, a template with {model} {length} {precision} "
                         "{iters}, run in the repository root")
    ap.add_argument("--targets", action="store_true",
                    help="print each ratio's target and PASS/MISS")
    ap.add_argument("--json", metavar="OUT", help="also write every sample to OUT")
    args = ap.parse_args()
    if args.pairs < 1 or args.seconds <= 0 or min(args.lengths) < 1:
        ap.error("--pairs and --lengths must be at least 1, --seconds positive")
    torch.set_num_threads(1)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    meta = header(args)
    results, records = {}, []
    for cell in args.cells:
        for length in args.lengths:
            sides, samples, iters = measure(cell, length, args, log)
            results[(cell, length)] = samples
            for name, kind, precision, _ in sides:
                records.append({"cell": cell, "length": length, "side": kind,
                                "precision": precision, "iters": iters[name],
                                "us_per_iter": samples[name]})

    print(f"{meta['date']} · {meta['cpu']} ({meta['logical_cpus']} logical CPUs, "
          f"load {meta['load_avg_1min']:.2f} at start) · torch {meta['torch']} "
          f"(threads {meta['torch_threads']}, {args.torch_dtype}) · numpy {meta['numpy']} "
          f"(BLAS threads 1) · H = {HIDDEN}, batch 1 · rounds: {args.pairs}, "
          f"about {args.seconds:g} s a sample")
    print()
    print(table(results, args))
    print()
    print("µs per training iteration; ×X = median(X) / median(rnnstudy), >1: rnnstudy faster; "
          "[median of per-round ratios]; numpy ratios like for like.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "samples": records}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
