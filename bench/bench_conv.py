"""Benchmark: one epoch of the book's chapter 6 conv net, nndl against PyTorch (CPU).

The network (network3.py's order: activation after pooling):

    conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu softmax(10)

log-likelihood cost, plain SGD η = 0.03, float32, on the first N MNIST training images.  nndl trains with ``nndl.trainer.Trainer`` exactly as the command line
does (shuffle, gather, backprop, cost, gradient-norm sampling, SGD step; by default each
mini-batch cut into one part per thread, see ``nndl.parallel``); PyTorch with a
plain loop over slices of a pre-shuffled tensor.  Each framework runs in its own
subprocess (its own thread pool and peak memory), and the two alternate, so a busy
machine slows both alike.

    python bench/bench_conv.py                       # 50,000 images, batch 10 and 64
    python bench/bench_conv.py --images 5000 --repeat 3
    python bench/bench_conv.py --profile              # plus per-layer milliseconds against the floor
    python bench/bench_conv.py --repeat 2 --fused --bound   # the issue 19 run: convpool, and NumPy's bound

Fair controls: nndl runs at its own choice of threads (``auto``, as ``nndl train``) and at one
thread, PyTorch at one and at two threads, all in the same run; ``ratio`` is nndl's own choice
against PyTorch's faster setting.  The GEMM floor is the time the step's im2col matrix products
alone take (:func:`gemm_shapes`), timed in a tight loop at one and at two BLAS threads; the
``floor_ratio`` is nndl's epoch against the lower of the two.  ``--fused`` also times nndl on the same
net written with ``convpool`` (:class:`nndl.layers.ConvPool2D`, the book's ConvPoolLayer: conv, max-pool
and ReLU as one layer, the rows of its product ordered by pooling window); ``--bound`` times
:mod:`conv_lean_step`, the step in the fewest NumPy calls we found — what a NumPy program of this
structure can reach at best.

Prints one JSON line per case and the machine's float32 matmul peak.  Fields:
``nndl_{auto,1}_workers`` the parts each mini-batch was cut into, ``nndl_{auto,1}_epoch_s`` and
``torch_{1,2}_epoch_s`` seconds for one epoch of ``images`` images (plus ``nndl_epoch_s_50k``,
linearly scaled, when images ≠ 50,000; the best of ``--repeat`` runs each), ``ratio``,
``floor_{1,2}_s``, ``floor_ratio``, ``nndl_gflops`` achieved (3 × the layers' forward FLOPs per
image), ``peak_rss_mb`` of the nndl process, the CPU seconds of each (all threads; about threads × wall-clock when the machine is otherwise idle, much more
when BLAS/OpenMP threads spin while another process holds a core) and the load average
— on a shared machine compare runs only at a low load.  With ``--fused``: ``nndl_fused_epoch_s``,
``ratio_fused``, ``floor_ratio_fused``; with ``--bound``: ``bound_{1,2}_s`` (the lean step at one and two
BLAS threads), ``bound_split_s`` (its two halves on two threads at once), ``bound_ratio`` (the best of
them against PyTorch), ``bound_floor_ratio``, ``nndl_over_bound`` and ``fused_over_bound``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SPEC = "conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu softmax(10)"
#: The same network with the book's ConvPoolLayer (``nndl.layers.ConvPool2D``): conv, pool and ReLU as one layer.
FUSED_SPEC = "convpool(20,5) relu convpool(40,5) relu dense(100) relu softmax(10)"
ETA = 0.03


def load_mnist(n: int):
    root = Path(os.environ.get("NNDL_DATA") or REPO.parent / "shared" / "data") / "mnist"
    with gzip.open(root / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(root / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def chapter6_net(spec: str = SPEC):
    """The benchmark's network, built from ``spec`` for MNIST images (seed 0, float32)."""
    sys.path.insert(0, str(REPO / "src"))
    from nndl.network import Network
    from nndl.spec import parse_spec

    return Network(parse_spec(spec, (1, 28, 28)), (1, 28, 28), cost="log_likelihood", seed=0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (≈ threads × wall when they spin on a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- workers
def run_nndl(images: int, batch_size: int, threads: int, epochs: int, workers="auto", spec: str = SPEC) -> dict:
    sys.path.insert(0, str(REPO / "src"))
    from nndl.callbacks import GradientNorms
    from nndl.models import Classifier
    from nndl.optim import SGD
    from nndl.trainer import Trainer

    x, y = load_mnist(images)
    net = chapter6_net(spec)
    model = Classifier(net, SGD(ETA))
    trainer = Trainer(batch_size, [GradientNorms()], threads=threads, workers=workers, verbose=False)
    seconds, cpu = [], []
    for _ in range(epochs):
        start = cpu_seconds()
        trainer.fit(model, (x, y), epochs=trainer.epoch + 1)
        cpu.append(cpu_seconds() - start)
        seconds.append(trainer.history.records[-1]["seconds"])     # the epoch's training loop only
    flops = 3.0 * sum(layer.forward_flops(1) for layer in net.layers) * images
    best = min(range(epochs), key=seconds.__getitem__)
    return {"seconds": seconds[best], "cpu_seconds": cpu[best], "flops": flops, "peak_rss_mb": peak_rss_mb(),
            "training_cost": trainer.history.records[-1]["training_cost"], "workers": trainer.batch_parts(threads)}


def profile_nndl(images: int, batch_size: int, threads: int, steps: int = 200, spec: str = SPEC) -> dict:
    """Milliseconds per mini-batch in each layer's forward and backward (where the time goes)."""
    sys.path.insert(0, str(REPO / "src"))
    from nndl.backend import auto_threads, blas_threads

    x, y = load_mnist(images)
    net = chapter6_net(spec)
    if threads == "auto":                          # the trainer's choice of BLAS threads (in one piece)
        threads = auto_threads(net.forward_flops(batch_size))
    for i, layer in enumerate(net.layers):        # as Network._backward: no ∂C/∂x out of the first layer
        layer.needs_input_grad = i > 0
    order = np.random.default_rng(0).permutation(images)
    forward, backward = np.zeros(len(net.layers)), np.zeros(len(net.layers))
    with blas_threads(threads):
        for k in range(steps + 10):
            idx = order[(k * batch_size) % (images - batch_size):][:batch_size]
            a, labels = x[idx], y[idx]
            times = []
            for layer in net.layers:
                start = time.perf_counter()
                a = layer.forward(a, training=True)
                times.append(time.perf_counter() - start)
            grad = (a - net.one_hot(labels)) / batch_size
            back = []
            start = time.perf_counter()
            grad = net.layers[-1].backward_delta(grad)
            back.append(time.perf_counter() - start)
            for layer in reversed(net.layers[:-1]):
                start = time.perf_counter()
                grad = layer.backward(grad)
                back.append(time.perf_counter() - start)
            if k >= 10:                                          # after warming up
                forward += times
                backward += back[::-1]
    names = [f"{i + 1}:{layer.type}" for i, layer in enumerate(net.layers)]
    return {name: [round(1e3 * f / steps, 3), round(1e3 * b / steps, 3)]
            for name, f, b in zip(names, forward, backward)}


def run_bound(images: int, batch_size: int, threads: int, epochs: int, split: bool) -> dict:
    """An epoch of :mod:`conv_lean_step`'s step (the fewest NumPy calls we found), shuffled and gathered
    as the trainer does: at ``threads`` BLAS threads, or (``split``) two halves on two threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(REPO / "src"))
    from conv_lean_step import LeanConvStep, SplitLeanStep

    x, y = load_mnist(images)
    net = chapter6_net()
    steps, rng, seconds = images // batch_size, np.random.default_rng(0), []
    with ThreadPoolExecutor(1) as pool, threadpool_limits(1 if split else threads, user_api="blas"):
        step = SplitLeanStep(net, batch_size, ETA, pool) if split else LeanConvStep.from_network(net, batch_size, ETA)
        for _ in range(epochs):
            order = rng.permutation(images)
            start = time.perf_counter()
            for k in range(steps):
                idx = order[k * batch_size:(k + 1) * batch_size]
                step.step(x[idx], y[idx])
            seconds.append((time.perf_counter() - start) * images / (steps * batch_size))
    return {"seconds": min(seconds)}


def run_torch(images: int, batch_size: int, threads: int, epochs: int) -> dict:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = load_mnist(images)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
        torch.nn.Conv2d(20, 40, 5), torch.nn.MaxPool2d(2), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(640, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=ETA)
    seconds, cpu = [], []
    for _ in range(epochs):
        perm = torch.randperm(images)
        xs, ys = x[perm], y[perm]
        cpu_start = cpu_seconds()
        start = time.perf_counter()
        for k in range(0, images, batch_size):
            xb, yb = xs[k:k + batch_size], ys[k:k + batch_size]
            opt.zero_grad()
            loss = F.nll_loss(F.log_softmax(model(xb), dim=1), yb)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
        cpu.append(cpu_seconds() - cpu_start)
    best = min(range(epochs), key=seconds.__getitem__)
    return {"seconds": seconds[best], "cpu_seconds": cpu[best], "peak_rss_mb": peak_rss_mb()}


def matmul_peak(threads: int) -> float:
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    with threadpool_limits(threads, user_api="blas"):
        a @ a
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - start)
    return 2 * 2048 ** 3 / best / 1e9


def gemm_shapes(net, batch_size: int) -> dict:
    """The im2col GEMMs of one training step, per layer and pass: {"3:conv": {"forward": [(m, k, n)], ...}}.

    The canonical floor, independent of how nndl computes them: a conv layer with K = C·kh·kw and
    R = N·Ho·Wo rows does Z = cols Wmᵀ (R, K)·(K, F), ∂C/∂Wm = Δᵀ cols (F, R)·(R, K) and, unless it is
    the first layer, ∂C/∂cols = Δ Wm (R, F)·(F, K); a dense layer x Wᵀ, δᵀ x and δ W.  Layers without
    products (pooling, activations) have none.
    """
    shapes = {}
    for i, layer in enumerate(net.layers):
        if layer.type == "conv":
            f, ho, wo = layer.output_shape
            r, k = batch_size * ho * wo, layer.fan_in
        elif layer.type == "dense":
            f, r, k = layer.units, batch_size, int(np.prod(layer.input_shape))
        else:
            continue
        backward = [(f, r, k)] + ([(r, f, k)] if i > 0 else [])
        shapes[f"{i + 1}:{layer.type}"] = {"forward": [(r, k, f)], "backward": backward}
    return shapes


def time_product(matmul, a, b, out, reps: int = 200) -> float:
    """Seconds for one ``matmul(a, b, out=out)``: the median of ``reps`` after warming up (any library's matmul)."""
    for _ in range(10):
        matmul(a, b, out=out)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        matmul(a, b, out=out)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_gemm(m: int, k: int, n: int, reps: int = 200) -> float:
    """Seconds for one float32 (m, k) @ (k, n) with NumPy into a preallocated output (:func:`time_product`)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    return time_product(np.matmul, a, b, np.empty((m, n), dtype=np.float32), reps)


def gemm_floor(images: int, batch_size: int, threads: int) -> dict:
    """Seconds per epoch of ``images`` images that the step's GEMMs alone take at ``threads`` BLAS threads,
    in total and per layer and pass (milliseconds per mini-batch)."""
    sys.path.insert(0, str(REPO / "src"))
    from threadpoolctl import threadpool_limits


    net = chapter6_net()
    steps = images / batch_size
    layers, total = {}, 0.0
    with threadpool_limits(threads, user_api="blas"):
        for name, passes in gemm_shapes(net, batch_size).items():
            ms = {}
            for which, products in passes.items():
                seconds = sum(time_gemm(*shape) for shape in products)
                ms[which] = round(1e3 * seconds, 3)
                total += seconds * steps
            layers[name] = [ms["forward"], ms["backward"]]
    return {"seconds": total, "layers_fwd_bwd_ms": layers}


def _worker(kind, images, batch_size, threads, epochs, workers="auto", fused=False) -> dict:
    """Run one framework (or the floor, the bound, the profile) in a fresh process; its result dict."""
    cmd = [sys.executable, __file__, "--worker", kind, "--images", str(images), "--batch-sizes", str(batch_size),
           "--threads", str(threads), "--epochs", str(epochs), "--workers", str(workers)] + (["--fused"] if fused else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _thread_setting(text: str):
    return text if text == "auto" else int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=50000, help="training images per epoch (default 50000)")
    parser.add_argument("--batch-sizes", default="10,64", help="comma-separated mini-batch sizes (default 10,64)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating nndl/torch runs per case; best is kept")
    parser.add_argument("--nndl-threads", default="auto,1",
                        help="nndl's thread settings, each timed (default auto,1: its own choice, and one thread)")
    parser.add_argument("--torch-threads", default="1,2",
                        help="PyTorch's thread counts, each timed (default 1,2); ratios are against the fastest")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (the fastest is kept)")
    parser.add_argument("--workers", default="auto",
                        help="nndl: parts each mini-batch is cut into, trained at once on threads "
                             "(auto, the default, as `nndl train`; 1: one piece)")
    parser.add_argument("--no-torch", action="store_true", help="time nndl only")
    parser.add_argument("--no-floor", action="store_true", help="skip the GEMM floor")
    parser.add_argument("--fused", action="store_true",
                        help="also time nndl (its own threads) on the same net written with convpool, the book's "
                             "ConvPoolLayer (conv, pool and ReLU as one layer)")
    parser.add_argument("--bound", action="store_true",
                        help="also time bench/conv_lean_step.py, the step in the fewest NumPy calls we found "
                             "(at 1 and 2 BLAS threads, and cut in two halves on two threads)")
    parser.add_argument("--profile", action="store_true",
                        help="also print milliseconds per mini-batch in each nndl layer (forward, backward) "
                             "beside that layer's GEMM floor")
    parser.add_argument("--threads", default="2", help=argparse.SUPPRESS)      # a worker's own setting
    parser.add_argument("--worker", choices=["nndl", "torch", "profile", "floor", "bound"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.worker:
        threads = _thread_setting(args.threads)
        if args.worker == "profile":
            spec = FUSED_SPEC if args.fused else SPEC
            print(json.dumps(profile_nndl(args.images, batch_sizes[0], threads, spec=spec)))
        elif args.worker == "floor":
            print(json.dumps(gemm_floor(args.images, batch_sizes[0], threads)))
        elif args.worker == "bound":
            split = args.workers == "2"
            print(json.dumps(run_bound(args.images, batch_sizes[0], threads, args.epochs, split)))
        elif args.worker == "nndl":
            workers = args.workers if args.workers == "auto" else int(args.workers)
            spec = FUSED_SPEC if args.fused else SPEC
            print(json.dumps(run_nndl(args.images, batch_sizes[0], threads, args.epochs, workers, spec)))
        else:
            print(json.dumps(run_torch(args.images, batch_sizes[0], threads, args.epochs)))
        return 0

    nndl_settings = args.nndl_threads.split(",")
    torch_settings = [] if args.no_torch else [int(t) for t in args.torch_threads.split(",")]
    print(json.dumps({"case": "matmul_peak", "shape": "2048x2048 @ 2048x2048 float32",
                      "gflops_1_thread": round(matmul_peak(1), 1), "gflops_2_threads": round(matmul_peak(2), 1),
                      "loadavg": os.getloadavg()[0]}), flush=True)
    scale = 50000 / args.images
    for batch_size in batch_sizes:
        nndl_runs = {t: [] for t in nndl_settings}
        torch_runs = {t: [] for t in torch_settings}
        fused_runs = []
        for _ in range(args.repeat):                 # alternate, so a change in load hits all alike
            for t in nndl_settings:
                nndl_runs[t].append(_worker("nndl", args.images, batch_size, t, args.epochs, args.workers))
            if args.fused:
                fused_runs.append(_worker("nndl", args.images, batch_size, nndl_settings[0], args.epochs,
                                          args.workers, fused=True))
            for t in torch_settings:
                torch_runs[t].append(_worker("torch", args.images, batch_size, t, args.epochs))
        row = {"case": "ch6-conv2-relu", "batch_size": batch_size, "images": args.images}
        best = {t: min(runs, key=lambda r: r["seconds"]) for t, runs in nndl_runs.items()}
        for t, r in best.items():
            row[f"nndl_{t}_epoch_s"] = round(r["seconds"], 2)
            row[f"nndl_{t}_workers"] = r["workers"]
        headline = best[nndl_settings[0]]
        fused = min(fused_runs, key=lambda r: r["seconds"]) if fused_runs else None
        if fused:
            row["nndl_fused_epoch_s"] = round(fused["seconds"], 2)
        if torch_settings:
            torch_best = {t: min(r["seconds"] for r in runs) for t, runs in torch_runs.items()}
            for t, seconds in torch_best.items():
                row[f"torch_{t}_epoch_s"] = round(seconds, 2)
            fastest = min(torch_best, key=torch_best.get)
            row.update(torch_best_threads=fastest, ratio=round(headline["seconds"] / torch_best[fastest], 3))
            for t in nndl_settings[1:]:
                row[f"ratio_nndl_{t}"] = round(best[t]["seconds"] / torch_best[fastest], 3)
            if fused:
                row["ratio_fused"] = round(fused["seconds"] / torch_best[fastest], 3)
        if not args.no_floor:
            floors = {t: _worker("floor", args.images, batch_size, t, 1)["seconds"] for t in (1, 2)}
            floor = min(floors.values())
            row.update(floor_1_s=round(floors[1], 2), floor_2_s=round(floors[2], 2),
                       floor_ratio=round(headline["seconds"] / floor, 2))
            if fused:
                row["floor_ratio_fused"] = round(fused["seconds"] / floor, 2)
        if args.bound:
            bounds = {f"bound_{t}_s": _worker("bound", args.images, batch_size, t, max(2, args.epochs), 1)["seconds"]
                      for t in (1, 2)}
            bounds["bound_split_s"] = _worker("bound", args.images, batch_size, 1, max(2, args.epochs), 2)["seconds"]
            bound = min(bounds.values())
            row.update({k: round(v, 2) for k, v in bounds.items()}, nndl_over_bound=round(headline["seconds"] / bound, 2))
            if fused:
                row["fused_over_bound"] = round(fused["seconds"] / bound, 2)
            if torch_settings:
                row["bound_ratio"] = round(bound / torch_best[fastest], 3)
            if not args.no_floor:
                row["bound_floor_ratio"] = round(bound / floor, 2)
        if args.images != 50000:
            row["nndl_epoch_s_50k"] = round(headline["seconds"] * scale, 1)
        row.update(nndl_gflops=round(headline["flops"] / headline["seconds"] / 1e9, 1),
                   peak_rss_mb=round(headline["peak_rss_mb"], 1),
                   torch_peak_rss_mb=round(max(r["peak_rss_mb"] for runs in torch_runs.values() for r in runs), 1)
                   if torch_settings else None,
                   nndl_cpu_s=round(headline["cpu_seconds"], 2), repeat=args.repeat,
                   loadavg=round(os.getloadavg()[0], 2))
        print(json.dumps(row), flush=True)
        if args.profile:
            images = min(args.images, 10000)
            threads = nndl_settings[0]
            floor = _worker("floor", images, batch_size, 1, 1)["layers_fwd_bwd_ms"]
            for fused in [False, True][:1 + args.fused]:
                layers = _worker("profile", images, batch_size, threads, 1, fused=fused)
                total = sum(f + b for f, b in layers.values())
                print(json.dumps({"case": "profile", "net": "convpool" if fused else "conv pool relu",
                                  "batch_size": batch_size, "threads": threads,
                                  "ms_per_batch": round(total, 3), "layers_fwd_bwd_ms": layers,
                                  "floor_1_thread_fwd_bwd_ms": floor}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
