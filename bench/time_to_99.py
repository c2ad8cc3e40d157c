"""Time to 99%: ``nndl train --preset fast`` from a fresh process, several times; the median wall time.

Each run is a new Python process (imports, reading MNIST, training, the validation and test passes,
saving the model): the time a reader waits.  One JSON line per run, then a summary line;
``peak_rss_mb`` is the largest run's peak so far (the operating system keeps one maximum for all children).

    python bench/time_to_99.py                  # 3 runs
    python bench/time_to_99.py --runs 5 --preset fast
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(preset: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "nndl", "train", "--preset", preset, "--json",
               "--out", str(Path(tmp) / "model.npz"), *extra]
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss     # the largest child so far
    final = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "test_accuracy": final["test_accuracy"],
            "training_s": round(final["seconds_total"], 2),
            "peak_rss_mb": round(peak / 1024, 1), "loadavg": round(os.getloadavg()[0], 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("extra", nargs="*", help="more `nndl train` options, after --")
    args = parser.parse_args(argv)
    runs = []
    for k in range(args.runs):
        runs.append(run_once(args.preset, args.extra))
        print(json.dumps({"case": "time_to_99", "preset": args.preset, "run": k + 1, **runs[-1]}), flush=True)
    print(json.dumps({"case": "time_to_99_summary", "preset": args.preset, "runs": args.runs,
                      "median_wall_s": statistics.median(r["wall_s"] for r in runs),
                      "median_test_accuracy": statistics.median(r["test_accuracy"] for r in runs),
                      "min_test_accuracy": min(r["test_accuracy"] for r in runs),
                      "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
