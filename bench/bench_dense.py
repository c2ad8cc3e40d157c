"""Benchmark: one epoch of the book's dense networks, nndl against PyTorch on the same CPU.

Cases (50,000 MNIST training images, float32, up to 2 threads each):

  a  [784,30,10]  sigmoid, quadratic cost,           eta 3.0,            batch 10
  b  [784,100,10] sigmoid, cross-entropy, L2 λ = 5.0, eta 0.5,            batch 10
  c  as b,                                                                batch 64

Each (framework, case) runs in a fresh subprocess, so its peak memory is its own.
Prints one JSON line per case: case, batch_size, nndl_epoch_s, torch_epoch_s, ratio
(nndl / PyTorch on 2 threads), torch1_epoch_s and ratio_torch1 (PyTorch on one thread:
nndl picks one BLAS thread for these small products, so this is the like-for-like
control), nndl_peak_mb, torch_peak_mb.  ``--busy`` keeps the other core busy
with a spinning process while measuring (the BLAS-threading trap).

    python bench/bench_dense.py              # all cases
    python bench/bench_dense.py --busy       # with the other core loaded
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

CASES = {
    "a": dict(sizes=[784, 30, 10], cost="quadratic", eta=3.0, lmbda=0.0, batch=10),
    "b": dict(sizes=[784, 100, 10], cost="cross_entropy", eta=0.5, lmbda=5.0, batch=10),
    "c": dict(sizes=[784, 100, 10], cost="cross_entropy", eta=0.5, lmbda=5.0, batch=64),
}
REPO = Path(__file__).resolve().parents[1]


def load_training_images(n):
    sys.path.insert(0, str(REPO / "src"))
    os.environ.setdefault("NNDL_DATA", str(REPO.parent / "shared" / "data"))
    from nndl.data import load_mnist

    train = load_mnist(split="book").train
    return train.x[:n], train.y[:n]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_nndl(case, x, y, epochs, threads="auto"):
    from nndl.callbacks import GradientNorms
    from nndl.models import Classifier
    from nndl.network import Network
    from nndl.optim import L2, SGD
    from nndl.trainer import Trainer

    net = Network.from_sizes(case["sizes"], activation="sigmoid", cost=case["cost"], seed=0)
    regs = [L2(case["lmbda"])] if case["lmbda"] else []
    model = Classifier(net, SGD(case["eta"]), regs)
    trainer = Trainer(case["batch"], [GradientNorms()], threads=threads, verbose=False)   # as `nndl train` runs it
    times = []
    for e in range(epochs):
        start = time.perf_counter()
        trainer.fit(model, (x, y), e + 1)
        times.append(time.perf_counter() - start)
    return min(times), net.accuracy(x[-5000:], y[-5000:])


def run_torch(case, x, y, epochs, threads=2):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sizes = case["sizes"]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    n = len(x)
    opt = torch.optim.SGD([{"params": weights, "weight_decay": case["lmbda"] / n},
                           {"params": biases, "weight_decay": 0.0}], lr=case["eta"])
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    eye = torch.eye(sizes[-1])
    m = case["batch"]
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        for k in range(0, n, m):
            idx = order[k:k + m]
            xb, yb = X[idx], eye[Y[idx]]
            a = model(xb)
            if case["cost"] == "quadratic":      # the book's ½‖a − y‖², mean over the batch
                loss = 0.5 * ((a - yb) ** 2).sum(dim=1).mean()
            else:                                 # the book's cross-entropy, summed over outputs
                loss = torch.nn.functional.binary_cross_entropy(a, yb, reduction="sum") / len(xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        acc = float((model(X[-5000:]).argmax(1) == Y[-5000:]).float().mean())
    return min(times), acc


def worker(args) -> None:
    case = CASES[args.case]
    x, y = load_training_images(args.images)
    if args.worker == "nndl":
        seconds, acc = run_nndl(case, x, y, args.epochs, args.nndl_threads if args.nndl_threads == "auto"
                                else int(args.nndl_threads))
    else:
        seconds, acc = run_torch(case, x, y, args.epochs, args.torch_threads)
    print(json.dumps({"seconds": seconds, "accuracy": acc, "peak_mb": peak_mb()}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="a,b,c")
    p.add_argument("--images", type=int, default=50000)
    p.add_argument("--epochs", type=int, default=2, help="epochs per measurement; the fastest counts")
    p.add_argument("--busy", action="store_true", help="keep the other core busy while measuring")
    p.add_argument("--worker", choices=["nndl", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--torch-threads", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--nndl-threads", default="auto",
                   help="nndl's BLAS threads: auto (default, as nndl train) or a number")
    args = p.parse_args()
    if args.worker:
        return worker(args)
    spinner = None
    if args.busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for name in args.cases.split(","):
            result = {}
            for key, fw, threads in (("nndl", "nndl", 2), ("torch", "torch", 2), ("torch1", "torch", 1)):
                out = subprocess.run([sys.executable, __file__, "--worker", fw, "--case", name, "--images",
                                      str(args.images), "--epochs", str(args.epochs), "--torch-threads",
                                      str(threads), "--nndl-threads", args.nndl_threads],
                                     check=True, capture_output=True, text=True).stdout
                result[key] = json.loads(out.strip().splitlines()[-1])
            case = CASES[name]
            print(json.dumps({
                "case": name, "layers": case["sizes"], "cost": case["cost"], "batch_size": case["batch"],
                "images": args.images, "busy_other_core": args.busy, "nndl_threads": args.nndl_threads,
                "nndl_epoch_s": round(result["nndl"]["seconds"], 3),
                "torch_epoch_s": round(result["torch"]["seconds"], 3),
                "ratio": round(result["nndl"]["seconds"] / result["torch"]["seconds"], 3),
                "torch1_epoch_s": round(result["torch1"]["seconds"], 3),
                "ratio_torch1": round(result["nndl"]["seconds"] / result["torch1"]["seconds"], 3),
                "nndl_peak_mb": round(result["nndl"]["peak_mb"], 1),
                "torch_peak_mb": round(result["torch"]["peak_mb"], 1),
                "nndl_accuracy_last5k": round(result["nndl"]["accuracy"], 4),
                "torch_accuracy_last5k": round(result["torch"]["accuracy"], 4),
            }), flush=True)
    finally:
        if spinner is not None:
            spinner.kill()


if __name__ == "__main__":
    main()
