"""``nndl train --data FILE.txt``: a character model of a text file.

    nndl train --data input.txt --net "embedding(32) lstm(256) dense(65) softmax" --epochs 3

The file's characters are its vocabulary (saved with the model, so ``nndl sample``
can turn ids back into text); the first 90% train and the last 10% validate.  Each
example is T = ``--seq-length`` characters (default 64) and its targets the next T;
the cost is the cross-entropy per character in nats.  Defaults follow the usual small
char-LSTM: the network above (``embedding(32) lstm(256) dense(V) softmax``), Adam with
η = 2·10⁻³, mini-batches of 32, gradients clipped to norm 5.  The validation text is read
as 32 parallel streams, each piece starting from the state the piece before it ended with
(as char-rnn measures it), so every character is predicted from all the text before it.  With a ``stateful=true``
recurrent layer the batches go in stream order and each carries its state into the
next (truncated BPTT); otherwise they are shuffled.  ``--time-limit S`` stops before
an epoch would end past S seconds of training; the weights of the best validation
epoch are kept.  ``--schedule`` drives η as for any net, ``plateau(N)`` by the validation
cost (halve η after N epochs without a lower one).
"""
from __future__ import annotations

import time

from nndl import io
from nndl.callbacks import Callback, EarlyStopping
from nndl.cli.common import print_json, say
from nndl.errors import NndlError

DEFAULT_NET = "embedding(32) lstm(256) dense({V}) softmax"
DEFAULT_SEQ_LENGTH, DEFAULT_BATCH, DEFAULT_CLIP_NORM = 64, 32, 5.0
#: The validation text is read as this many parallel streams, the state carried from piece to piece.
VALIDATION_STREAMS = 32
#: Options of ``nndl train`` that mean nothing for a text corpus.
NOT_FOR_TEXT = ("layers", "label", "task", "preprocess", "expand", "augment", "batch_norm", "dropout", "resume",
                "preset", "checkpoint", "monitor_training", "monitor_test", "train_size", "lmbda", "l1", "max_norm",
                "momentum", "grad_noise", "activation", "cost", "monitor", "init", "workers",
                "init_from", "freeze", "replace_head", "order", "serve")


class ResetStates(Callback):
    """Every epoch starts each stateful recurrent layer from its initial state (the streams restart)."""

    def on_epoch_begin(self, epoch):
        for _, layer in self.model.network.leaves():
            if getattr(layer, "stateful", False):
                layer.reset_states()


class TimeLimit(Callback):
    """Stop training in time for the validation pass to end by ``seconds`` of wall time after training began.

    Checked after every mini-batch; the validation pass is estimated at the last one measured, or
    before the first at a third of the training time per example (a forward pass without backward)."""

    def __init__(self, seconds: float, validation_examples: int = 0):
        self.seconds, self.validation_examples = float(seconds), int(validation_examples)

    def on_train_begin(self):
        self.start, self.examples, self.eval_seconds = time.perf_counter(), 0, None

    def on_batch_end(self, step, logs):
        self.examples += self.trainer.last_batch_size
        elapsed = time.perf_counter() - self.start
        evaluation = self.eval_seconds
        if evaluation is None:
            evaluation = elapsed / max(self.examples, 1) * self.validation_examples / 3
        if elapsed + evaluation > self.seconds:
            self.trainer.stop(f"time limit ({self.seconds:g} s)", now=True)

    def on_epoch_end(self, epoch, record):
        self.eval_seconds = record.get("eval_seconds", self.eval_seconds)


def with_vocabulary(spec: str, size: int) -> str:
    """The spec with ``vocabulary=size`` added to a first ``embedding(D)`` that names none."""
    from nndl.registry import parse_call, split_calls

    words = split_calls(spec, "layer spec")
    first = parse_call(words[0], "layer spec")
    if first.name in ("embedding", "embed") and not {"vocabulary", "vocab"} & set(first.kwargs):
        inner = words[0][words[0].index("(") + 1:-1] if "(" in words[0] else ""
        words[0] = f"{first.name}({inner}, vocabulary={size})" if inner.strip() else f"{first.name}(vocabulary={size})"
    return " ".join(words)


def _check_options(args) -> None:
    for key in NOT_FOR_TEXT:
        value = getattr(args, key, None)
        if value not in (None, False):
            raise NndlError(f"--{key.replace('_', '-')} does not apply to a text corpus ({args.data})")
    for key in ("seq_length", "batch_size", "epochs"):
        value = getattr(args, key, None)
        if value is not None and value < 1:
            raise NndlError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise NndlError(f"--time-limit must be a positive number of seconds, got {args.time_limit}")
    if args.schedule:
        from nndl.cli.train_cmd import _schedule

        _schedule(args.schedule)            # a bad schedule is one line before the text is read


def validation_data(corpus):
    """The validation (x, y) in stream order, and the number of streams (fewer for a short text)."""
    if not len(corpus.validation_ids):
        return None, None
    streams = max(1, min(VALIDATION_STREAMS, (len(corpus.validation_ids) - 1) // corpus.seq_length))
    return corpus.validation(streams), streams


def build(args, corpus):
    """The network, model and trainer of the command line for ``corpus``."""
    from nndl.models import SequenceClassifier
    from nndl.network import Network
    from nndl.optim import get_optimizer
    from nndl.spec import parse_spec
    from nndl.trainer import Trainer

    size, steps = len(corpus.vocabulary), corpus.seq_length
    spec = with_vocabulary(args.net or DEFAULT_NET.format(V=size), size)
    net = Network(parse_spec(spec, (steps,)), (steps,), cost="log_likelihood", seed=args.seed or 0)
    if net.input_kind != "int":
        raise NndlError(f"a character model starts with an embedding layer (it reads character ids), not "
                        f"{net.layers[0].type}")
    if net.output_shape != (steps, size):
        raise NndlError(f"the network outputs {net.output_shape} per sequence, but {corpus.path.name} needs a "
                        f"distribution over its {size} characters at each of {steps} steps: end with "
                        f"dense({size}) softmax after a layer that returns sequences")
    for _, layer in net.leaves():
        if getattr(layer, "vocabulary", size) != size:
            raise NndlError(f"embedding(vocabulary={layer.vocabulary}) but {corpus.path.name} has {size} characters")
    net.class_names = list(corpus.vocabulary.chars)
    name = args.optimizer or "adam"
    options = {"clip_norm": DEFAULT_CLIP_NORM if args.clip_norm is None else args.clip_norm}
    if args.clip_value is not None:
        options["clip_value"] = args.clip_value
    if args.eta is not None:
        options["eta"] = args.eta
    elif name == "adam":
        options["eta"] = 2e-3
    model = SequenceClassifier(net, get_optimizer(name, **options))
    validation, model.eval_streams = validation_data(corpus)
    stateful = any(getattr(layer, "stateful", False) for _, layer in net.leaves())
    callbacks = [ResetStates()] if stateful else []
    callbacks.append(EarlyStopping("validation_cost", patience=args.early_stop, restore_best=True))
    if args.schedule:
        from nndl.callbacks import LearningRateSchedule
        from nndl.cli.train_cmd import _schedule

        callbacks.append(LearningRateSchedule(_schedule(args.schedule), monitor="validation_cost"))
    if args.time_limit:
        callbacks.append(TimeLimit(args.time_limit, 0 if validation is None else len(validation[0])))
    if args.json:
        from nndl.callbacks import JSONLines

        callbacks.append(JSONLines())
    from nndl.cli.train_cmd import _count
    from nndl.curriculum import FixedOrder

    threads = _count(args.threads, "--threads") or "auto"
    trainer = Trainer(args.batch_size or DEFAULT_BATCH, callbacks, seed=args.seed or 0, threads=threads,
                      workers=1, verbose=not (args.quiet or args.json), order=FixedOrder() if stateful else None)
    return spec, model, trainer, validation


def run_text(args) -> int:
    from nndl.cli.train_cmd import check_outputs
    from nndl.data.text import CharCorpus

    _check_options(args)
    args.out = args.out or "model.npz"
    check_outputs(args)
    start = time.perf_counter()
    corpus = CharCorpus(args.data, args.seq_length or DEFAULT_SEQ_LENGTH)
    spec, model, trainer, validation = build(args, corpus)
    train = corpus.training(trainer.batch_size)
    if not (args.quiet or args.json):
        say(f"training on {len(corpus.train_ids)} characters of {corpus.path.name} ({len(train[0])} sequences of "
            f"{corpus.seq_length}), validation {len(corpus.validation_ids)}; vocabulary {len(corpus.vocabulary)}")
        say(model.network.summary())
    history = trainer.fit(model, train, args.epochs or 10, validation_data=validation)
    final = dict(history.records[-1] if history.records else {}, **history.final,
                 seconds_total=time.perf_counter() - start, model=str(args.out))
    metadata = {"text": {"vocabulary": list(corpus.vocabulary.chars), "seq_length": corpus.seq_length,
                         "source": str(corpus.path.resolve()), "net": spec},
                **{k: v for k, v in final.items() if k != "model"}}
    io.save(model.network, args.out, metadata)
    if args.json:
        print_json(dict(final, final=True))
    elif not args.quiet:
        say(f"validation cross-entropy {final.get('best_validation_cost', final.get('validation_cost')):.4f} "
             f"nats per character (best epoch {final.get('best_epoch')})")
        say(f"saved {args.out}")
    return 0
