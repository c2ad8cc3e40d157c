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
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nndl.data.toy_sequences import VOCABULARY  # noqa: E402
from nndl.experiments.notes_recurrent import accuracy_by_length, draw_attention, train_attention  # noqa: E402
from nndl.models import seq2seq  # noqa: E402
from nndl.models.seq2seq import EncoderDecoder, Seq2Seq  # noqa: E402
from nndl.optim import Adam  # noqa: E402


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
    p.add_argument("--cosine", action="store_true", help="decay η to 0 over the wall-time budget by a cosine")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init", type=Path, help="start from this saved model")
    p.add_argument("--save", type=Path, help="save the model here after every chunk")
    p.add_argument("--figure", type=Path, help="draw the attention weights of one test string here (.png)")
    args = p.parse_args()

    net = seq2seq.load(args.init) if args.init else EncoderDecoder(
        VOCABULARY, embedding=args.embedding, units=args.units, cell=args.cell, score=args.score,
        scaled=args.scaled, seed=args.seed)
    model = Seq2Seq(net, Adam(args.eta, clip_norm=1.0))
    settings = {"task": args.task, "lengths": [args.min_length, args.max_length], "eta": args.eta,
                "cosine": args.cosine, "minutes": args.minutes, **net.config()}
    print(json.dumps({"settings": settings, "init": str(args.init) if args.init else None}), flush=True)

    def report(record):
        print(json.dumps(record), flush=True)
        if args.save:
            seq2seq.save(net, args.save, metadata={"settings": settings, **record})

    last = train_attention(model, args.task, (args.min_length, args.max_length), 60 * args.minutes, args.batch,
                           args.chunk, args.test, args.target, args.seed, args.threads, on_chunk=report,
                           cosine=args.cosine)
    x_test, y_test = last.pop("x_test"), last.pop("y_test")
    print(json.dumps({"final": True, "strings_seen": last.get("strings_seen", 0), "seconds": last.get("seconds"),
                      "test_sequence_accuracy": last.get("test_sequence_accuracy"),
                      "sequence_accuracy_by_length": accuracy_by_length(model, x_test, y_test)}), flush=True)
    if args.figure:
        i = int(numpy.argmax((x_test >= 0).sum(axis=1) == (args.min_length + args.max_length) // 2))
        draw_attention(net, x_test[i], y_test[i], args.figure,
                       f"{args.task}, {args.score} attention,\nafter {last.get('strings_seen', 0):,} training strings")

if __name__ == "__main__":
    main()
