"""Benchmark: one epoch of the book's chapter 6 conv net, nndl against PyTorch (CPU).

The network (network3.py's order: activation after pooling):

    conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu softmax(10)

log-likelihood cost, plain SGD η = 0.03, float32, 2 threads, on the first N MNIST
training images.  nndl trains with ``nndl.trainer.Trainer`` exactly as the command line
does (shuffle, gather, backprop, cost, gradient-norm sampling, SGD step; by default each
mini-batch cut into one part per thread, see ``nndl.parallel``); PyTorch with a
plain loop over slices of a pre-shuffled tensor.  Each framework runs in its own
subprocess (its own thread pool and peak memory), and the two alternate, so a busy
machine slows both alike.

    python bench/bench_conv.py                       # 50,000 images, batch 10 and 64
    python bench/bench_conv.py --images 5000 --repeat 3
    python bench/bench_conv.py --profile              # plus per-layer milliseconds
    python bench/bench_conv.py --torch-control        # plus PyTorch on one thread

Prints one JSON line per case and the machine's float32 matmul peak.  Fields:
``nndl_workers`` the parts each mini-batch was cut into, ``nndl_epoch_s``/``torch_epoch_s``
seconds for one epoch of ``images`` images (plus ``*_epoch_s_50k``, linearly scaled,
when images ≠ 50,000), ``ratio`` = nndl/torch (the best of ``--repeat`` runs each),
``nndl_gflops`` achieved (3 × the layers' forward FLOPs per image), ``peak_rss_mb`` of
the nndl process, the CPU seconds of each (all threads; about threads × wall-clock when the machine is otherwise idle, much more
when BLAS/OpenMP threads spin while another process holds a core) and the load average
— on a shared machine compare runs only at a low load.
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
ETA = 0.03


def load_mnist(n: int):
    root = Path(os.environ.get("NNDL_DATA") or REPO.parent / "shared" / "data") / "mnist"
    with gzip.open(root / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(root / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (≈ threads × wall when they spin on a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- workers
def run_nndl(images: int, batch_size: int, threads: int, epochs: int, workers="auto") -> dict:
    sys.path.insert(0, str(REPO / "src"))
    from nndl.callbacks import GradientNorms
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.optim import SGD
    from nndl.spec import parse_spec
    from nndl.trainer import Trainer

    x, y = load_mnist(images)
    net = Network(parse_spec(SPEC, (1, 28, 28)), (1, 28, 28), cost="log_likelihood", seed=0)
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


def profile_nndl(images: int, batch_size: int, threads: int, steps: int = 200) -> dict:
    """Milliseconds per mini-batch in each layer's forward and backward (where the time goes)."""
    sys.path.insert(0, str(REPO / "src"))
    from nndl.backend import blas_threads
    from nndl.network import Network
    from nndl.spec import parse_spec

    x, y = load_mnist(images)
    net = Network(parse_spec(SPEC, (1, 28, 28)), (1, 28, 28), cost="log_likelihood", seed=0)
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


def _worker(kind, images, batch_size, threads, epochs, workers="auto") -> dict:
    """Run one framework in a fresh process; its result dict."""
    cmd = [sys.executable, __file__, "--worker", kind, "--images", str(images), "--batch-sizes", str(batch_size),
           "--threads", str(threads), "--epochs", str(epochs), "--workers", str(workers)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=50000, help="training images per epoch (default 50000)")
    parser.add_argument("--batch-sizes", default="10,64", help="comma-separated mini-batch sizes (default 10,64)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating nndl/torch runs per case; best is kept")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (the fastest is kept)")
    parser.add_argument("--workers", default="auto",
                        help="nndl: parts each mini-batch is cut into, trained at once on threads "
                             "(auto, the default, as `nndl train`; 1: one piece)")
    parser.add_argument("--no-torch", action="store_true", help="time nndl only")
    parser.add_argument("--torch-control", action="store_true",
                        help="also time PyTorch on one thread (torch1_epoch_s, ratio_torch1): nndl chooses "
                             "its own BLAS threads, so compare it with PyTorch both ways")
    parser.add_argument("--profile", action="store_true",
                        help="also print milliseconds per mini-batch in each nndl layer (forward, backward)")
    parser.add_argument("--worker", choices=["nndl", "torch", "profile"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.worker:
        if args.worker == "profile":
            print(json.dumps(profile_nndl(args.images, batch_sizes[0], args.threads)))
            return 0
        if args.worker == "nndl":
            workers = args.workers if args.workers == "auto" else int(args.workers)
            result = run_nndl(args.images, batch_sizes[0], args.threads, args.epochs, workers)
        else:
            result = run_torch(args.images, batch_sizes[0], args.threads, args.epochs)
        print(json.dumps(result))
        return 0

    print(json.dumps({"case": "matmul_peak", "threads": args.threads, "shape": "2048x2048 @ 2048x2048 float32",
                      "gflops": round(matmul_peak(args.threads), 1), "loadavg": os.getloadavg()[0]}), flush=True)
    scale = 50000 / args.images
    for batch_size in batch_sizes:
        nndl_runs, torch_runs, torch1_runs = [], [], []
        for _ in range(args.repeat):
            nndl_runs.append(_worker("nndl", args.images, batch_size, args.threads, args.epochs, args.workers))
            if not args.no_torch:
                torch_runs.append(_worker("torch", args.images, batch_size, args.threads, args.epochs))
            if args.torch_control:
                torch1_runs.append(_worker("torch", args.images, batch_size, 1, args.epochs))
        best = min(nndl_runs, key=lambda r: r["seconds"])
        row = {"case": "ch6-conv2-relu", "batch_size": batch_size, "images": args.images,
               "nndl_workers": best["workers"], "nndl_epoch_s": round(best["seconds"], 2)}
        if torch_runs:
            best_torch = min(torch_runs, key=lambda r: r["seconds"])
            t = best_torch["seconds"]
            row.update(torch_epoch_s=round(t, 2), ratio=round(best["seconds"] / t, 3))
        if torch1_runs:
            t1 = min(r["seconds"] for r in torch1_runs)
            row.update(torch1_epoch_s=round(t1, 2), ratio_torch1=round(best["seconds"] / t1, 3))
        if args.images != 50000:
            row["nndl_epoch_s_50k"] = round(best["seconds"] * scale, 1)
            if torch_runs:
                row["torch_epoch_s_50k"] = round(row["torch_epoch_s"] * scale, 1)
        row.update(nndl_gflops=round(best["flops"] / best["seconds"] / 1e9, 1),
                   peak_rss_mb=round(best["peak_rss_mb"], 1),
                   torch_peak_rss_mb=round(max(r["peak_rss_mb"] for r in torch_runs), 1) if torch_runs else None,
                   nndl_cpu_s=round(best["cpu_seconds"], 2),
                   torch_cpu_s=round(best_torch["cpu_seconds"], 2) if torch_runs else None,
                   repeat=args.repeat, threads=args.threads, loadavg=round(os.getloadavg()[0], 2))
        print(json.dumps(row), flush=True)
        if args.profile:
            layers = _worker("profile", min(args.images, 10000), batch_size, args.threads, 1)
            total = sum(f + b for f, b in layers.values())
            print(json.dumps({"case": "profile", "batch_size": batch_size, "threads": args.threads,
                              "ms_per_batch": round(total, 3), "layers_fwd_bwd_ms": layers}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
