"""Benchmark: training steps of a character LSTM and of a row-by-row MNIST LSTM, nndl against PyTorch
(CPU, float32).

The model of the issue's reference: embedding(32) lstm(256) dense(65) softmax on tiny
Shakespeare, mini-batches of 32 sequences of 64 characters, Adam η = 2·10⁻³, gradients
clipped to norm 5, the cross-entropy per character.  nndl trains with the same
:class:`~nndl.models.SequenceClassifier` step the command line uses (forward, BPTT,
clipping, Adam); PyTorch with nn.Embedding + nn.LSTM + nn.Linear and
``F.cross_entropy``.  Each framework runs in its own subprocess with the given number of
BLAS/OpenMP threads, and the two alternate ``--repeat`` times, so a busy machine slows
both alike; the best run of each counts.

    python bench/bench_recurrent.py                      # 1 thread, 60 steps per run
    python bench/bench_recurrent.py --threads 1 2 --steps 100 --repeat 3
    python bench/bench_recurrent.py --task row-mnist     # lstm(128) over 28 rows of 28 pixels, batch 64

``--floor`` adds the **GEMM floor** of the same step, in the same run: the step's
matrix products alone, each timed in a tight loop with NumPy (nndl's BLAS) and with PyTorch at
the same thread count — per time step h_{t−1} W_h (B, H)·(H, 4H) forward and δ_t W_hᵀ (B, 4H)·(4H, H)
backward, T of each, and over the whole sequence x W_x, Σ x_tᵀ δ_t, Σ h_{t−1}ᵀ δ_t, the output
layer's three and, for the character model, δ W_xᵀ (:func:`lstm_gemms`).  ``numpy_floor_over_torch``
above 1 means NumPy's products alone take longer than PyTorch's whole step: no nndl code around
them can reach a ratio of 1 with that BLAS.  ``numpy_bound_over_torch`` adds the cell's pointwise work
in the fewest NumPy passes, on contiguous arrays allocated once (:func:`pointwise_bound`): above 1, no
NumPy implementation of the step can match PyTorch's.

``--task row-mnist`` is the ``row-lstm`` preset's model (``lstm(128, sequences=false) dense(10)
softmax``, Adam 10⁻³, batch 64; PyTorch: nn.LSTM + nn.Linear + cross-entropy), timed on random
28×28 images (the time does not depend on the pixels), and reports seconds per epoch of 50,000
images (782 steps) as well.

One JSON line per thread count: ``nndl_s_per_1000`` and ``torch_s_per_1000`` (wall seconds
per 1,000 steps), ``ratio`` = nndl/torch, the same in CPU seconds of the process
(``*_cpu_s_per_1000``, ``cpu_ratio``: less at the mercy of the scheduler on a shared
machine, but it counts spinning threads), each process's peak RSS, and the load average
(on a shared machine, quote ratios from one run).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
V, E, H, T, B = 65, 32, 256, 64, 32
#: row-by-row MNIST: 28 steps of 28 pixels, LSTM(128), batch 64, the book's 50,000 training images.
ROWS, ROW_H, ROW_B, ROW_EPOCH = 28, 128, 64, 50_000


def batches(steps: int, seed: int = 0):
    root = Path(os.environ.get("NNDL_DATA") or REPO.parent / "shared" / "data")
    text = (root / "tinyshakespeare" / "input.txt").read_text()
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text[:200_000]], dtype=np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        starts = rng.integers(0, len(ids) - T - 1, B)
        x = np.stack([ids[s:s + T] for s in starts])
        y = np.stack([ids[s + 1:s + T + 1] for s in starts])
        yield x, y


def row_batches(steps: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield rng.random((ROW_B, ROWS, ROWS), dtype=np.float32), rng.integers(0, 10, ROW_B)


def run_nndl(steps: int, task: str) -> float:
    sys.path.insert(0, str(REPO / "src"))
    from nndl.models import Classifier, SequenceClassifier
    from nndl.network import Network
    from nndl.optim import Adam
    from nndl.spec import parse_spec

    if task == "char":
        net = Network(parse_spec(f"embedding({E}, vocabulary={V}) lstm({H}) dense({V}) softmax", (T,)), (T,),
                      cost="log_likelihood", seed=0)
        model, data = SequenceClassifier(net, Adam(2e-3, clip_norm=5.0)), list(batches(steps + 5))
    else:
        shape = (ROWS, ROWS)
        net = Network(parse_spec(f"lstm({ROW_H}, sequences=false) dense(10) softmax", shape), shape,
                      cost="log_likelihood", seed=0)
        model, data = Classifier(net, Adam(1e-3)), list(row_batches(steps + 5))
    model.begin(B if task == "char" else ROW_B)
    for x, y in data[:5]:                                      # warm up
        model.train_step(x, y)
    start, cpu = time.perf_counter(), time.process_time()
    for x, y in data[5:]:
        model.train_step(x, y)
    return time.perf_counter() - start, time.process_time() - cpu


def run_torch(steps: int, threads: int, task: str) -> float:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if task == "row-mnist":
        return run_torch_rows(steps, torch)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(V, E)
            self.lstm = torch.nn.LSTM(E, H, batch_first=True)
            self.out = torch.nn.Linear(H, V)

        def forward(self, x):
            return self.out(self.lstm(self.emb(x))[0])

    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches(steps + 5)]

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    for x, y in data[:5]:
        step(x, y)
    start, cpu = time.perf_counter(), time.process_time()
    for x, y in data[5:]:
        step(x, y)
    return time.perf_counter() - start, time.process_time() - cpu


def run_torch_rows(steps: int, torch) -> float:
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(ROWS, ROW_H, batch_first=True)
            self.out = torch.nn.Linear(ROW_H, 10)

        def forward(self, x):
            return self.out(self.lstm(x)[0][:, -1])

    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in row_batches(steps + 5)]

    def step(x, y):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for x, y in data[:5]:
        step(x, y)
    start, cpu = time.perf_counter(), time.process_time()
    for x, y in data[5:]:
        step(x, y)
    return time.perf_counter() - start, time.process_time() - cpu


def lstm_gemms(task: str) -> list[tuple[int, int, int, int]]:
    """The LSTM step's matrix products as (count, m, k, n): (m, k) @ (k, n), ``count`` times a step.

    Forward: x W_x over all T·B rows, h_{t−1} W_h at each step, the output layer h W_outᵀ (every
    step's h for the character model, the last one for row-MNIST); backward: the output layer's
    δ W_out and its weight gradient, δ_t W_hᵀ at each step, the weight gradients Σ x_tᵀ δ_t and
    Σ h_{t−1}ᵀ δ_t over the sequence, and for the character model δ W_xᵀ (the embedding's gradient).
    """
    if task == "char":
        b, steps, d, h, out_rows, classes = B, T, E, H, T * B, V
    else:
        b, steps, d, h, out_rows, classes = ROW_B, ROWS, ROWS, ROW_H, ROW_B, 10
    rows = steps * b
    products = [(1, rows, d, 4 * h), (steps, b, h, 4 * h), (1, out_rows, h, classes),          # forward
                (1, out_rows, classes, h), (1, classes, out_rows, h),                         # output layer
                (steps, b, 4 * h, h), (1, d, rows, 4 * h), (1, h, rows, 4 * h)]
    return products + ([(1, rows, 4 * h, d)] if task == "char" else [])


def pointwise_bound(task: str) -> float:
    """Seconds per training step of the LSTM cell's pointwise work written in the fewest NumPy passes
    we found, on contiguous arrays allocated once: forward a = z + h W_h, σ of the three gates (4 passes),
    tanh g, c = f c + i g, h = o tanh c (11 passes); backward the equations of
    :mod:`nndl.layers.recurrent.lstm` (22 passes) — T steps of each.

    nndl's own cell makes the same passes on slices of the step's arrays, plus a few allocations; a
    cell that NumPy runs one operation at a time cannot make many fewer.
    """
    b, h, steps = (B, H, T) if task == "char" else (ROW_B, ROW_H, ROWS)
    rng = np.random.default_rng(0)
    z, rec = (rng.standard_normal((b, 4 * h), dtype=np.float32) for _ in range(2))
    a = np.empty_like(z)
    sig, g = np.empty((b, 3 * h), np.float32), np.empty((b, h), np.float32)
    c_prev, dh, dc = (rng.standard_normal((b, h), dtype=np.float32) for _ in range(3))
    c, tc, out, tmp = (np.empty((b, h), np.float32) for _ in range(4))
    d = np.empty((b, 4 * h), np.float32)
    i, f, o = sig[:, :h], sig[:, h:2 * h], sig[:, 2 * h:]
    d_i, d_f, d_o, d_g = d[:, :h], d[:, h:2 * h], d[:, 2 * h:3 * h], d[:, 3 * h:]
    mul, sub = np.multiply, np.subtract

    def step():
        np.add(z, rec, out=a)                                   # x W_x + b + h W_h
        mul(a[:, :3 * h], 0.5, out=sig)
        np.tanh(sig, out=sig)
        np.add(sig, 1.0, out=sig)
        mul(sig, 0.5, out=sig)                                  # σ(a) = ½(1 + tanh(a/2))
        np.tanh(a[:, 3 * h:], out=g)
        mul(f, c_prev, out=c)
        mul(i, g, out=tmp)
        np.add(c, tmp, out=c)
        np.tanh(c, out=tc)
        mul(o, tc, out=out)                                     # h_t
        mul(dh, tc, out=d_o)
        sub(1.0, o, out=tmp)
        mul(tmp, o, out=tmp)
        mul(d_o, tmp, out=d_o)                                  # δo
        mul(tc, tc, out=tmp)
        sub(1.0, tmp, out=tmp)
        mul(tmp, o, out=tmp)
        mul(tmp, dh, out=tmp)
        np.add(dc, tmp, out=dc)                                 # ∂C/∂c
        for gate, delta, other in ((i, d_i, g), (f, d_f, c_prev)):
            mul(dc, other, out=delta)
            sub(1.0, gate, out=tmp)
            mul(tmp, gate, out=tmp)
            mul(delta, tmp, out=delta)                          # δi, δf
        mul(dc, i, out=d_g)
        mul(g, g, out=tmp)
        sub(1.0, tmp, out=tmp)
        mul(d_g, tmp, out=d_g)                                  # δg
        mul(dc, f, out=dc)                                      # ∂C/∂c_{t−1}

    for _ in range(50):
        step()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(1000):
            step()
        best = min(best, (time.perf_counter() - start) / 1000)
    return best * steps


def gemm_floor(threads: int, who: str, task: str) -> dict:
    """Milliseconds per step that the step's products alone take with NumPy or PyTorch, and the
    best large (2048²) product's GFLOP/s with the same library and threads."""
    from threadpoolctl import threadpool_limits

    from bench_conv import time_gemm, time_product

    if who == "numpy":
        with threadpool_limits(threads, user_api="blas"):
            parts = [count * time_gemm(m, k, n) for count, m, k, n in lstm_gemms(task)]
            big = time_gemm(2048, 2048, 2048, reps=10)
    else:
        import torch

        torch.set_num_threads(threads)

        def time_torch(m, k, n, reps=200):
            return time_product(torch.matmul, torch.randn(m, k), torch.randn(k, n), torch.empty(m, n), reps)

        parts = [count * time_torch(m, k, n) for count, m, k, n in lstm_gemms(task)]
        big = time_torch(2048, 2048, 2048, reps=10)
    flops = sum(2 * count * m * k * n for count, m, k, n in lstm_gemms(task))
    per_time_step = [seconds for seconds, (count, *_) in zip(parts, lstm_gemms(task)) if count > 1]
    result = {"ms_per_step": 1e3 * sum(parts), "sequential_ms": 1e3 * sum(per_time_step),
              "gflop_per_step": flops / 1e9, "gemm_2048_gflops": 2 * 2048 ** 3 / big / 1e9}
    if who == "numpy":
        result["pointwise_ms"] = 1e3 * pointwise_bound(task)
    return result


def child(args) -> None:
    if args.child.endswith("floor"):
        print(json.dumps(gemm_floor(args.threads[0], args.child.split("-")[0], args.task)))
        return
    seconds, cpu = run_nndl(args.steps, args.task) if args.child == "nndl" else \
        run_torch(args.steps, args.threads[0], args.task)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--task", choices=["char", "row-mnist"], default="char")
    p.add_argument("--floor", action="store_true", help="also time the step's matrix products alone "
                                                          "(NumPy and PyTorch)")
    p.add_argument("--child", choices=["nndl", "torch", "numpy-floor", "torch-floor"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    for threads in args.threads:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        best: dict = {}
        for _ in range(args.repeat):
            for who in ("nndl", "torch"):
                out = subprocess.run([sys.executable, __file__, "--child", who, "--steps", str(args.steps),
                                      "--threads", str(threads), "--task", args.task], env=env, capture_output=True, text=True, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                if who not in best or result["seconds"] < best[who]["seconds"]:
                    best[who] = result
        floors = {}
        if args.floor:
            for who in ("numpy", "torch"):
                out = subprocess.run([sys.executable, __file__, "--child", f"{who}-floor", "--threads", str(threads),
                                      "--task", args.task],
                                     env=env, capture_output=True, text=True, check=True)
                floors[who] = json.loads(out.stdout.strip().splitlines()[-1])
        per = {who: 1000 * r["seconds"] / args.steps for who, r in best.items()}
        cpu = {who: 1000 * r["cpu_seconds"] / args.steps for who, r in best.items()}
        shape = {"V": V, "E": E, "H": H, "T": T, "batch": B} if args.task == "char" else \
            {"H": ROW_H, "T": ROWS, "D": ROWS, "batch": ROW_B,
             "nndl_s_per_epoch": round(per["nndl"] / 1000 * ROW_EPOCH / ROW_B, 1),
             "torch_s_per_epoch": round(per["torch"] / 1000 * ROW_EPOCH / ROW_B, 1)}
        print(json.dumps({"bench": "char_lstm" if args.task == "char" else "row_mnist_lstm", **shape, "threads": threads,
                          "steps": args.steps, "repeat": args.repeat, "nndl_s_per_1000": round(per["nndl"], 2),
                          "torch_s_per_1000": round(per["torch"], 2), "ratio": round(per["nndl"] / per["torch"], 3),
                          "nndl_cpu_s_per_1000": round(cpu["nndl"], 2), "torch_cpu_s_per_1000": round(cpu["torch"], 2),
                          "cpu_ratio": round(cpu["nndl"] / cpu["torch"], 3),
                          "nndl_peak_rss_mb": round(best["nndl"]["peak_rss_mb"], 1),
                          "torch_peak_rss_mb": round(best["torch"]["peak_rss_mb"], 1),
                          **floor_fields(floors, per),
                          "load_average": os.getloadavg()[0]}), flush=True)


def floor_fields(floors: dict, per: dict) -> dict:
    """The floor's JSON fields (none without ``--floor``): per framework the products' seconds per
    1,000 steps and the 2048² product's GFLOP/s, and NumPy's floor against PyTorch's whole step."""
    if not floors:
        return {}
    fields = {"gflop_per_step": round(floors["numpy"]["gflop_per_step"], 3)}
    for who, f in floors.items():
        fields[f"{who}_floor_s_per_1000"] = round(f["ms_per_step"], 2)
        fields[f"{who}_sequential_floor_s_per_1000"] = round(f["sequential_ms"], 2)
        fields[f"{who}_gemm_2048_gflops"] = round(f["gemm_2048_gflops"], 1)
    fields["numpy_floor_over_torch"] = round(floors["numpy"]["ms_per_step"] / per["torch"], 3)
    bound = floors["numpy"]["ms_per_step"] + floors["numpy"]["pointwise_ms"]
    fields["numpy_pointwise_bound_s_per_1000"] = round(floors["numpy"]["pointwise_ms"], 2)
    fields["numpy_bound_over_torch"] = round(bound / per["torch"], 3)
    fields["nndl_over_numpy_floor"] = round(per["nndl"] / floors["numpy"]["ms_per_step"], 3)
    return fields


if __name__ == "__main__":
    main()
