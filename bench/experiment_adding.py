"""The adding problem (``nndl.data.adding``): an LSTM against a plain RNN, each for a wall-time budget.

    python bench/experiment_adding.py --steps 100 --minutes 4

Trains ``lstm(H, sequences=false) dense(1)`` and ``rnn(H, sequences=false) dense(1)`` as regressors
(quadratic cost, Adam, gradients clipped to norm 1) on freshly generated training sequences, and
prints one JSON line per evaluation: the test mean squared error against 0.167 of predicting the
mean.  The issue's targets at T = 100: LSTM ≤ 0.01, a plain RNN staying ≥ 0.15.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.data.adding import MEAN_PREDICTOR_MSE, adding_problem  # noqa: E402
from nndl.models import Regressor  # noqa: E402
from nndl.network import Network  # noqa: E402
from nndl.optim import Adam  # noqa: E402
from nndl.spec import parse_spec  # noqa: E402


def run(cell: str, steps: int, units: int, seconds: float, batch: int, eta: float, seed: int) -> None:
    net = Network(parse_spec(f"{cell}({units}, sequences=false) dense(1)", (steps, 2)), (steps, 2), cost="quadratic",
                  seed=seed)
    model = Regressor(net, Adam(eta, clip_norm=1.0))
    x_test, y_test = adding_problem(2000, steps, seed=10_000 + seed)
    model.begin(batch)
    start, seen, chunk = time.perf_counter(), 0, 0
    while time.perf_counter() - start < seconds:
        x, y = adding_problem(batch * 50, steps, seed=seed * 1_000_000 + chunk)
        chunk += 1
        for i in range(0, len(x), batch):
            model.train_step(x[i:i + batch], y[i:i + batch])
        seen += len(x)
        mse = float(((net.predict_proba(x_test) - y_test) ** 2).mean())
        print(json.dumps({"task": "adding", "T": steps, "cell": cell, "units": units, "sequences_seen": seen,
                          "seconds": round(time.perf_counter() - start, 1), "test_mse": round(mse, 5),
                          "mean_predictor_mse": round(MEAN_PREDICTOR_MSE, 5)}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--minutes", type=float, default=4.0, help="wall-time budget per model")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--eta", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cells", nargs="+", default=["lstm", "rnn"])
    args = p.parse_args()
    for cell in args.cells:
        run(cell, args.steps, args.units, 60 * args.minutes, args.batch, args.eta, args.seed)


if __name__ == "__main__":
    main()
