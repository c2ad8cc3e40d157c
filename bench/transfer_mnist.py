"""Transfer learning on MNIST: features learned on the digits 0–4 reused for the digits 5–9.

1. Writes two folders of IDX files (in a temporary folder, never in the checkout) from
   ``$NNDL_DATA/mnist``: **A**, the training and test images of the digits 0–4; **B**,
   the first 1,000 training images of the digits 5–9 (labels 5..9 written as 0..4) and
   every test image of 5–9 (4,861).  ``nndl train`` holds out the last sixth of B's
   1,000 as validation (166: early stopping and the kept weights) and trains on 834.
2. Runs, as a user would, ``nndl train --data A`` (the source net), then on B for each
   seed: the same net **from scratch**; **transfer**: ``--init-from A.npz --replace-head 5
   --freeze 2`` (only the new head trains) and ``--freeze 1`` (the first layer's 300
   features kept); **fine-tune**: ``--replace-head 5`` with no layer frozen.
3. Prints one JSON line per run — the test accuracy on the 4,861 test images of 5–9,
   the command, the wall time — and a last line with the mean of each over the seeds.

    python bench/transfer_mnist.py --seeds 0,1,2 --out docs/results/workflow/transfer_mnist.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from nndl_cli import REPO, nndl_json

DATA = Path(os.environ.get("NNDL_DATA") or REPO.parent / "shared" / "data")
NET = "dense(300) relu dense(100) relu dense(5) softmax"
COMMON = ["--cost", "log_likelihood", "--optimizer", "momentum", "--eta", "0.02", "--momentum", "0.9",
          "--threads", "1", "--json"]
SOURCE = ["--net", NET, "--epochs", "8", "--lmbda", "1"]
SMALL = ["--epochs", "60", "--lmbda", "0.1", "--early-stop", "15"]
RUNS = {"scratch": ["--net", NET],
        "transfer (head only, --freeze 2)": ["--init-from", "{A}", "--replace-head", "5", "--freeze", "2"],
        "transfer (first layer frozen, --freeze 1)": ["--init-from", "{A}", "--replace-head", "5", "--freeze", "1"],
        "fine-tune (--freeze 0)": ["--init-from", "{A}", "--replace-head", "5"]}


def write_folders(root: Path, labelled: int) -> tuple[Path, Path, dict]:
    sys.path.insert(0, str(REPO / "src"))
    import numpy as np

    from nndl.data import read_idx, write_idx

    mnist = DATA / "mnist"
    x_train, y_train = read_idx(mnist / "train-images-idx3-ubyte.gz"), read_idx(mnist / "train-labels-idx1-ubyte.gz")
    x_test, y_test = read_idx(mnist / "t10k-images-idx3-ubyte.gz"), read_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    low_train, low_test = y_train < 5, y_test < 5
    high_train = np.flatnonzero(y_train >= 5)[:labelled]
    high_test = y_test >= 5
    folders = {"A": (x_train[low_train], y_train[low_train], x_test[low_test], y_test[low_test]),
               "B": (x_train[high_train], y_train[high_train] - 5, x_test[high_test], y_test[high_test] - 5)}
    counts = {}
    for name, (xa, ya, xt, yt) in folders.items():
        folder = root / name
        folder.mkdir()
        write_idx(folder / "train-images-idx3-ubyte", np.ascontiguousarray(xa))
        write_idx(folder / "train-labels-idx1-ubyte", np.ascontiguousarray(ya).astype(np.uint8))
        write_idx(folder / "t10k-images-idx3-ubyte", np.ascontiguousarray(xt))
        write_idx(folder / "t10k-labels-idx1-ubyte", np.ascontiguousarray(yt).astype(np.uint8))
        counts[name] = {"train_images": int(len(ya)), "test_images": int(len(yt))}
    return root / "A", root / "B", counts


def train(data: Path, options: list, seed: int, out: Path) -> tuple[dict, float]:
    lines, seconds = nndl_json("train", "--data", data, *options, *COMMON, "--seed", seed, "--out", out)
    return lines[-1], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--labelled", type=int, default=1000, help="labelled images of 5–9 (default 1000)")
    parser.add_argument("--out", help="also append the JSON lines to this file")
    args = parser.parse_args()
    sink = open(args.out, "a") if args.out else None

    def emit(line):
        print(json.dumps(line), flush=True)
        if sink:
            print(json.dumps(line), file=sink, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        a, b, counts = write_folders(Path(tmp), args.labelled)
        source = Path(tmp) / "A.npz"
        final, seconds = train(a, SOURCE, 0, source)
        emit({"run": "source: digits 0-4", "data": counts["A"], "test_accuracy_0_4": round(final["test_accuracy"], 4),
              "command": f"nndl train --data A --net \"{NET}\" {' '.join(SOURCE[2:])} {' '.join(COMMON)} --seed 0",
              "wall_seconds": round(seconds, 1)})
        means: dict = {}
        for seed in (int(s) for s in args.seeds.split(",")):
            for name, options in RUNS.items():
                options = [o.replace("{A}", str(source)) for o in options]
                final, seconds = train(b, options + SMALL, seed, Path(tmp) / "B.npz")
                shown = " ".join(f'"{o}"' if " " in o else ("A.npz" if o == str(source) else o)
                                 for o in options + SMALL + COMMON)
                emit({"run": name, "seed": seed, "data": counts["B"],
                      "test_accuracy_5_9": round(final["test_accuracy"], 4), "best_epoch": final.get("best_epoch"),
                      "command": f"nndl train --data B {shown} --seed {seed}", "wall_seconds": round(seconds, 1)})
                means.setdefault(name, []).append(final["test_accuracy"])
        emit({"summary": True, "labelled_images_5_9": args.labelled, "seeds": args.seeds,
              "mean_test_accuracy_5_9": {k: round(sum(v) / len(v), 4) for k, v in means.items()}})


if __name__ == "__main__":
    main()
