"""An attention encoder–decoder on digit strings (``nndl.data.toy_sequences``), for a wall-time budget.

    python bench/experiment_attention.py --task reverse --min-length 10 --max-length 20 --minutes 8 \\
        --save docs/results/recurrent/attention_reverse.npz --figure docs/results/recurrent/attention_reverse.png

Trains :class:`nndl.models.seq2seq.Seq2Seq` (an LSTM encoder, an LSTM decoder with attention, teacher
forcing, Adam with gradients clipped to norm 1) through the ordinary ``Trainer``, one epoch per chunk of
freshly generated strings, and after each chunk prints one JSON line: strings seen, wall time, the
training cost, and on 1,000 held-out strings the token accuracy under teacher forcing and the
whole-sequence accuracy of greedy decoding (the issue's figure: ≥ 99% on lengths 10–20).  The last line
adds the sequence accuracy per source length.  ``--save`` keeps the model after every chunk and
``--init`` starts from a saved one (the optimizer's moments start again); ``--figure`` draws the
attention weights of greedy decoding on one held-out string.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.data.toy_sequences import VOCABULARY, digit_strings  # noqa: E402
from nndl.models import seq2seq  # noqa: E402
from nndl.models.seq2seq import EncoderDecoder, Seq2Seq, sequence_accuracy  # noqa: E402
from nndl.optim import Adam  # noqa: E402
from nndl.trainer import Trainer  # noqa: E402


def draw_attention(net, x, y, path: Path, title: str) -> None:
    """A heat map of α (decoder steps × source positions) for one source string x (S,) and its target y."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tokens, weights = net.greedy(x[None, :])
    length = int((x >= 0).sum())
    out = [int(t) for t in tokens[0] if t >= 0]
    alpha = numpy.asarray(weights[0, :len(out), :length])
    fig, ax = plt.subplots(figsize=(0.32 * length + 1.6, 0.32 * len(out) + 1.2))
    ax.imshow(alpha, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(length), [str(int(d)) for d in x[:length]])
    ax.set_yticks(range(len(out)), [str(t) if t < 10 else "EOS" for t in out])
    ax.set_xlabel("source digit")
    ax.set_ylabel("decoded token (greedy)")
    right = "right" if sequence_accuracy(tokens, y[None, :]) == 1.0 else "wrong"
    ax.set_title(f"{title}\ngreedy decoding: {right}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def per_length(model, x, y) -> dict:
    lengths = (x >= 0).sum(axis=1)
    predicted = model.predict(x)
    return {int(n): round(sequence_accuracy(predicted[lengths == n], y[lengths == n]), 4)
            for n in numpy.unique(lengths)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=("reverse", "sort"), default="reverse")
    p.add_argument("--min-length", type=int, default=10)
    p.add_argument("--max-length", type=int, default=20)
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    p.add_argument("--score", choices=("dot", "additive"), default="dot")
    p.add_argument("--scaled", action="store_true")
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--embedding", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--eta", type=float, default=3e-3)
    p.add_argument("--chunk", type=int, default=6400, help="fresh training strings per epoch")
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--minutes", type=float, default=8.0, help="wall-time budget for training")
    p.add_argument("--target", type=float, default=0.999, help="stop once the test sequence accuracy reaches it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init", type=Path, help="start from this saved model")
    p.add_argument("--save", type=Path, help="save the model here after every chunk")
    p.add_argument("--figure", type=Path, help="draw the attention weights of one test string here (.png)")
    args = p.parse_args()

    net = seq2seq.load(args.init) if args.init else EncoderDecoder(
        VOCABULARY, embedding=args.embedding, units=args.units, cell=args.cell, score=args.score,
        scaled=args.scaled, seed=args.seed)
    model = Seq2Seq(net, Adam(args.eta, clip_norm=1.0))
    x_test, y_test = digit_strings(args.test, args.min_length, args.max_length, args.task, seed=1_000_000 + args.seed)
    trainer = Trainer(batch_size=args.batch, seed=args.seed, threads=args.threads, verbose=False)
    start, seen, chunk, logs = time.perf_counter(), 0, 0, {}
    settings = {"task": args.task, "lengths": [args.min_length, args.max_length], **net.config()}
    print(json.dumps({"settings": settings, "init": str(args.init) if args.init else None}), flush=True)
    while time.perf_counter() - start < 60 * args.minutes:
        x, y = digit_strings(args.chunk, args.min_length, args.max_length, args.task, seed=args.seed * 100_000 + chunk)
        chunk += 1
        history = trainer.fit(model, (x, y), epochs=chunk)
        seen += len(x)
        logs = model.evaluate(x_test, y_test)
        print(json.dumps({"chunk": chunk, "strings_seen": seen, "seconds": round(time.perf_counter() - start, 1),
                          "training_cost": round(history.records[-1]["training_cost"], 5),
                          "test_cost": round(logs["cost"], 5), "test_token_accuracy": round(logs["accuracy"], 5),
                          "test_sequence_accuracy": round(logs["sequence_accuracy"], 5)}), flush=True)
        if args.save:
            seq2seq.save(net, args.save, metadata={"settings": settings, "strings_seen": seen, **logs})
        if logs["sequence_accuracy"] >= args.target:
            break
    print(json.dumps({"final": True, "strings_seen": seen, "seconds": round(time.perf_counter() - start, 1),
                      "test_sequence_accuracy": logs.get("sequence_accuracy"),
                      "sequence_accuracy_by_length": per_length(model, x_test, y_test)}), flush=True)
    if args.figure:
        i = int(numpy.argmax((x_test >= 0).sum(axis=1) == (args.min_length + args.max_length) // 2))
        draw_attention(net, x_test[i], y_test[i], args.figure,
                       f"{args.task}, {args.score} attention,\nafter {seen:,} training strings")


if __name__ == "__main__":
    main()
