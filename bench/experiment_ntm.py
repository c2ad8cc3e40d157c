"""The Neural Turing Machine on the copy task (``nndl.data.copy_task``): the learning curve, the test at
lengths never trained on, an LSTM baseline, and the figures.

    OMP_NUM_THREADS=1 python bench/experiment_ntm.py --sequences 40000 --keep-at 30000 \\
        --save docs/results/recurrent/ntm_copy.npz > docs/results/recurrent/ntm_copy.jsonl
    OMP_NUM_THREADS=1 python bench/experiment_ntm.py --model lstm --batch 16 --adam --eta 1e-3 \\
        --sequences 40000 --every 2000 > docs/results/recurrent/ntm_copy_lstm.jsonl
    python bench/experiment_ntm.py --init docs/results/recurrent/ntm_copy_30k.npz --sequences 0 \\
        --final-test 100 --test-lengths 20 40 60 80 100 120
    python bench/experiment_ntm.py --plot-curve docs/results/recurrent/ntm_copy_curve.png \\
        --logs docs/results/recurrent/ntm_copy.jsonl docs/results/recurrent/ntm_copy_lstm.jsonl
    python bench/experiment_ntm.py --plot-heads docs/results/recurrent/ntm_heads.png \\
        --init docs/results/recurrent/ntm_copy.npz --length 20

Training draws, for every batch, one length L uniformly from [min-length, max-length] (or, with
``--curriculum``, from [1, a maximum that grows by one whenever the running bits wrong per sequence fall
below 0.5 at the current maximum]) and B fresh sequences of L random 8-bit vectors.  The defaults are the
settings of the PyTorch NTM of loudinthecloud: an LSTM controller of 100 units, N = 128 locations of
M = 20, one read and one write head, RMSprop (η = 1e-4, ρ = 0.95, momentum 0.9), every gradient entry
clipped to [−10, 10], one sequence per batch.

Every ``--every`` sequences one JSON line: sequences seen, wall seconds, the training cost (nats per
output bit) and bits wrong per sequence over the sequences since the last line, and on a fixed test set
(``--test`` sequences at each length 1..20) the bits wrong per sequence.  The last line adds the test
bits wrong per sequence at each length in ``--test-lengths`` (40, never trained on, among them).
``--model lstm`` trains nndl's LSTM layer (``--units``, default 256 there) with a per-step sigmoid output
on the same stream of sequences, as the baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.data.copy_task import bits_wrong, copy_sequences  # noqa: E402
from nndl.layers import LSTM, Dense  # noqa: E402
from nndl.models import ntm  # noqa: E402
from nndl.models.ntm import NTM, TuringMachine  # noqa: E402
from nndl.models.ntm.model import masked_bce, masked_bce_delta  # noqa: E402
from nndl.optim import RMSprop  # noqa: E402

WIDTH = 8


class LSTMBaseline:
    """nndl's LSTM layer and a per-step dense sigmoid output, trained on the same copy sequences."""

    def __init__(self, units: int, optimizer, seed: int = 0):
        rng = numpy.random.default_rng(seed)
        self.lstm, self.out = LSTM(units), Dense(WIDTH, activation="sigmoid", init="glorot_uniform")
        self.lstm.build((1, WIDTH + 1), rng, numpy.float32)
        self.out.build((units,), rng, numpy.float32)
        self.lstm.needs_input_grad = False
        self.params = self.lstm.params + self.out.params
        self.optimizer = optimizer

    def forward(self, x, training=False):
        hs = self.lstm.forward(x.astype(numpy.float32), training)
        n, t, h = hs.shape
        return self.out.forward(hs.reshape(n * t, h), training).reshape(n, t, WIDTH)

    def train_step(self, x, target):
        y, mask = target
        for p in self.params:
            p.zero_grad()
        out = self.forward(x, training=True)
        n, t, _ = out.shape
        delta = masked_bce_delta(out, y, mask).astype(numpy.float32)
        self.lstm.backward(self.out.backward_delta(delta.reshape(n * t, WIDTH)).reshape(n, t, -1))
        self.optimizer.step(self.params)
        return {"cost": masked_bce(out, y, mask), "bits_wrong": bits_wrong(out, y, mask)}


def test_bits(forward, lengths, per_length: int, seed: int) -> dict:
    """Bits wrong per sequence at each length, on ``per_length`` fixed sequences each (one batch per length)."""
    out = {}
    for length in lengths:
        x, y, mask = copy_sequences(per_length, length, WIDTH, numpy.random.default_rng(seed + 1000 + length))
        out[int(length)] = bits_wrong(forward(x), y, mask)
    return out


def train(args) -> None:
    optimizer = RMSprop(args.eta, rho=0.95, mu=args.momentum, clip_value=args.clip)
    if args.model == "ntm":
        net = ntm.load(args.init) if args.init else TuringMachine(
            WIDTH + 1, WIDTH, args.locations, args.memory_width, args.units or 100, controller=args.controller,
            initial_weighting=args.initial_weighting, seed=args.seed)
        model = NTM(net, optimizer)

        def forward(x):
            return net.forward(x.astype(numpy.float32))
    else:
        if args.adam:
            from nndl.optim import Adam

            optimizer = Adam(args.eta, clip_value=args.clip)
        model = LSTMBaseline(args.units or 256, optimizer, args.seed)
        forward = model.forward
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    print(json.dumps({"settings": settings, "load_average": os.getloadavg()[0]}), flush=True)
    rng = numpy.random.default_rng(args.seed)
    seen, start, window = 0, time.perf_counter(), []
    longest = 1 if args.curriculum else args.max_length
    best = None
    next_line = args.every
    while seen < args.sequences:
        low = 1 if args.curriculum else args.min_length
        length = int(rng.integers(low, longest + 1))
        x, y, mask = copy_sequences(args.batch, length, WIDTH, rng)
        result = model.train_step(x, (y, mask))
        if not numpy.isfinite(result["cost"]):
            print(json.dumps({"diverged": True, "sequences_seen": seen}), flush=True)
            return
        seen += args.batch
        window.append((result["cost"], result["bits_wrong"], length))
        if args.curriculum and longest < args.max_length:
            recent = [b for _, b, n in window[-50:] if n == longest]
            if len(recent) >= 5 and numpy.mean(recent) < 0.5:
                longest += 1
        if seen >= next_line or seen >= args.sequences:
            next_line += args.every
            test = test_bits(forward, range(1, args.max_length + 1), args.test, args.seed)
            mean_test = float(numpy.mean(list(test.values())))
            line = {"sequences_seen": seen, "seconds": round(time.perf_counter() - start, 1),
                    "train_cost": round(float(numpy.mean([c for c, _, _ in window])), 5),
                    "train_bits_wrong": round(float(numpy.mean([b for _, b, _ in window])), 3),
                    "test_bits_wrong": round(mean_test, 3), "load_average": round(os.getloadavg()[0], 2)}
            if args.curriculum:
                line["max_length"] = longest
            print(json.dumps(line), flush=True)
            window = []
            if args.save and args.model == "ntm" and (best is None or mean_test <= best):
                best = mean_test
                ntm.save(net, args.save, metadata={"sequences_seen": seen, "test_bits_wrong": mean_test})
            if args.save and args.model == "ntm" and seen in args.keep_at:      # the model as it is at that count
                count = f"{seen // 1000}k" if seen % 1000 == 0 else str(seen)
                kept = args.save.with_name(f"{args.save.stem}_{count}{args.save.suffix}")
                ntm.save(net, kept, metadata={"sequences_seen": seen, "test_bits_wrong": mean_test})
    final = test_bits(forward, args.test_lengths, args.final_test, args.seed + 1)
    print(json.dumps({"final": True, "sequences_seen": seen, "seconds": round(time.perf_counter() - start, 1),
                      "test_bits_wrong_by_length": final,
                      "test_bits_wrong_1_20": round(float(numpy.mean(list(test_bits(
                          forward, range(1, 21), args.final_test, args.seed + 1).values()))), 4)}), flush=True)


def plot_curve(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for log in args.logs:
        lines = [json.loads(s) for s in Path(log).read_text().splitlines() if s.strip()]
        settings = lines[0].get("settings", {})
        rows = [r for r in lines if "test_bits_wrong" in r]
        if settings.get("model", "ntm") == "ntm":
            label = (f"NTM, w₀ {settings.get('initial_weighting', 'zero')} (batch {settings.get('batch')}, "
                     f"η {settings.get('eta')})")
        else:
            label = f"LSTM({settings.get('units') or 256}) (batch {settings.get('batch')}, η {settings.get('eta')})"
        ax.plot([r["sequences_seen"] for r in rows], [r["test_bits_wrong"] for r in rows], label=label, marker=".",
                ms=3)
    ax.set_yscale("symlog", linthresh=0.1)                     # 0 is drawn; linear below 0.1, logarithmic above
    ax.set_ylim(bottom=0.0)
    ax.axhline(0.1, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("training sequences seen")
    ax.set_ylabel("bits wrong per sequence\n(100 test sequences, lengths 1–20)")
    ax.set_title("Copy task: NTM vs LSTM", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.plot_curve, dpi=110)
    plt.close(fig)


def plot_heads(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net = ntm.load(args.init)
    x, y, mask = copy_sequences(1, args.length, WIDTH, numpy.random.default_rng(args.seed + 7))
    out = net.forward(x.astype(numpy.float32))
    wrong = bits_wrong(out, y, mask)
    write, read = net.write_weights[0, :, 0], net.read_weights[0, :, 0]            # (T, N)
    used = numpy.flatnonzero((write.max(axis=0) > 0.05) | (read.max(axis=0) > 0.05))
    lo, hi = (max(int(used.min()) - 3, 0), min(int(used.max()) + 4, write.shape[1])) if used.size else (0, 40)
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 6.0), gridspec_kw={"height_ratios": [1, 2.2]})
    panels = [(axes[0, 0], x[0].T, "input (time × channel)"), (axes[0, 1], out[0].T, f"output ({wrong:g} bits wrong)"),
              (axes[1, 0], write[:, lo:hi].T, "write weighting"), (axes[1, 1], read[:, lo:hi].T, "read weighting")]
    for ax, image, title in panels:
        ax.imshow(image, cmap="gray_r" if "put" in title else "viridis", aspect="auto", vmin=0.0, vmax=1.0,
                  interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("time step")
    axes[1, 0].set_ylabel(f"memory location ({lo}–{hi - 1})")
    for ax in axes[1]:
        ax.set_yticks(range(0, hi - lo, 5), [str(lo + i) for i in range(0, hi - lo, 5)])
    fig.suptitle(f"NTM on a copy sequence of length {args.length}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.plot_heads, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("ntm", "lstm"), default="ntm")
    p.add_argument("--controller", choices=("lstm", "feedforward"), default="lstm")
    p.add_argument("--initial-weighting", choices=("zero", "learned"), default="learned")
    p.add_argument("--units", type=int, help="controller units (NTM, default 100) or LSTM units (default 256)")
    p.add_argument("--locations", type=int, default=128)
    p.add_argument("--memory-width", type=int, default=20)
    p.add_argument("--sequences", type=int, default=30000)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--eta", type=float, default=1e-4)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--clip", type=float, default=10.0)
    p.add_argument("--adam", action="store_true", help="LSTM baseline: Adam instead of RMSprop")
    p.add_argument("--min-length", type=int, default=1)
    p.add_argument("--max-length", type=int, default=20)
    p.add_argument("--curriculum", action="store_true")
    p.add_argument("--every", type=int, default=1000)
    p.add_argument("--test", type=int, default=5, help="test sequences per length 1..max-length per line")
    p.add_argument("--final-test", type=int, default=50)
    p.add_argument("--test-lengths", type=int, nargs="+", default=[10, 20, 30, 40, 50])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", type=Path)
    p.add_argument("--save", type=Path, help="keep the NTM with the best test figure so far here")
    p.add_argument("--keep-at", type=int, nargs="*", default=[],
                   help="also save the NTM as it is after these many sequences (SAVE_30k.npz for 30000)")
    p.add_argument("--plot-curve", type=Path)
    p.add_argument("--logs", type=Path, nargs="*", default=[])
    p.add_argument("--plot-heads", type=Path)
    p.add_argument("--length", type=int, default=20)
    args = p.parse_args()
    if args.plot_curve:
        plot_curve(args)
    elif args.plot_heads:
        plot_heads(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
