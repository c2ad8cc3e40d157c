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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.experiments.notes_recurrent import train_adding  # noqa: E402


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
        train_adding(cell, args.steps, args.units, 60 * args.minutes, args.batch, args.eta, args.seed,
                     on_evaluation=lambda record: print(json.dumps(record), flush=True))


if __name__ == "__main__":
    main()
