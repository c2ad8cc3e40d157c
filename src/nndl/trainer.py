"""The training loop: epochs of shuffled mini-batches, and the callbacks around them.

    trainer = Trainer(batch_size=10, callbacks=[EarlyStopping(patience=10)])
    history = trainer.fit(Classifier(network, SGD(0.5), [L2(5.0)]), training_data, epochs=30,
                          validation_data=validation_data)

Each epoch reshuffles the training examples with the trainer's seeded generator and
cuts them into mini-batches of ``batch_size``; for each one the model takes a step
(``model.train_step(x, y)``: what a step is belongs to the model kind).  After each
epoch the model is evaluated on the validation data, the epoch's figures go into a
:class:`~nndl.history.History`, and the callbacks run (:mod:`nndl.callbacks`: early
stopping, schedules, progress, JSON lines, checkpoints, diagnostics).  A guard stops
with a clear message if the cost becomes NaN or infinite (NumPy's own overflow warnings
are silenced during training, so that message comes alone).
"""
from __future__ import annotations

import sys
import time
from contextlib import nullcontext

import numpy

from nndl import validation
from nndl.backend import auto_threads, blas_threads, to_device, usable_cores
from nndl.batches import ArrayBatches
from nndl.callbacks import Callback, NaNGuard, PrintEpochs, ProgressBar, TrainingDiverged
from nndl.errors import NndlError
from nndl.history import History
from nndl.parallel import can_split, worth_splitting

__all__ = ["Trainer", "TrainingDiverged"]

_HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end", "on_train_end")


def _as_xy(data, what):
    """Accept a Dataset-like object (``.x``, ``.y``), an ``(x, y)`` pair, or inputs alone."""
    if data is None:
        return None
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    if hasattr(data, "shape"):
        return data, None
    try:
        x, y = data
    except (TypeError, ValueError):
        raise NndlError(f"{what} must be a Dataset, an (x, y) pair or an array of inputs") from None
    return x, y


class Trainer:
    """Trains a model (:mod:`nndl.models`) by mini-batches, epoch after epoch.

    Parameters
    ----------
    batch_size : int
        Mini-batch size m.
    callbacks : list of Callback
        Run in this order after the trainer's own NaN guard (and before its printing).
    seed : int, optional
        Seeds the shuffling (default: the model's network's seed).
    threads : "auto", int or None
        BLAS threads while training (``"auto"``: one, unless the products are large,
        :func:`nndl.backend.auto_threads`).
    workers : "auto" or int
        Cut each mini-batch into this many parts that backpropagate at the same time on
        threads, each with a one-thread BLAS (:mod:`nndl.parallel`); 1: one piece.
        ``"auto"``: one part per usable core (or per BLAS thread given) for a network
        that gains from it (a conv net without batch normalization) with at least 8
        examples per part.
    verbose : bool
        One line per epoch on stdout, and a progress bar on stderr when that is a terminal.
    order : object with ``indices(n, rng)``, optional
        The order of the examples in each epoch (:mod:`nndl.curriculum`: ``FixedOrder()``, easy to
        hard ``ByScore(scores)``); default: reshuffled every epoch.
    """

    def __init__(self, batch_size: int = 10, callbacks=(), seed=None, threads="auto", workers="auto",
                 verbose: bool = True, order=None):
        self.batch_size = validation.whole("batch size", batch_size, low=1)
        if workers != "auto":
            workers = validation.whole("workers ('auto' or a number)", workers, low=1)
        self.workers = workers
        self.threads = threads
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise NndlError(f"callbacks must be Callback objects (nndl.callbacks), got {type(cb).__name__}; "
                                f"wrap a function in LambdaCallback(on_epoch_end=...)")
        self.seed = seed
        self.verbose = bool(verbose)
        self.order = order
        self.rng = None
        self.history = History()
        self.epoch = 0                   # epochs completed
        self.model = None
        self.running: list = []          # the callbacks of the fit under way, the trainer's own included
        self.stop_reason = None
        self.stop_now = False
        self.training_arrays = self.validation_data = None
        self.source = None               # what the fit under way draws its mini-batches from
        self.batches_per_epoch = None    # mini-batch steps per epoch of the fit under way

    # -- the loop -------------------------------------------------------------------------
    def fit(self, model, training_data, epochs: int, validation_data=None, test_data=None) -> History:
        """Train ``model`` until ``epochs`` epochs are done (counting epochs already done); return the history."""
        from nndl.models import Model

        if not isinstance(model, Model):
            raise NndlError(f"Trainer.fit trains a model (nndl.models: Classifier(network, optimizer), Regressor, "
                            f"...), got {type(model).__name__}")
        epochs = validation.whole("epochs", epochs, low=0)
        self.model = model
        if hasattr(training_data, "batch"):
            source, self.training_arrays = training_data, None
        else:
            self.training_arrays = self.checked(training_data, "training data")
            source = ArrayBatches(*self.training_arrays)
        self.validation_data = self.checked(validation_data, "validation data")
        test = self.checked(test_data, "test data")
        self.check_workers(model.network)
        self.source = source
        n = len(source)
        self.batches_per_epoch = self._batches_per_epoch(n)
        model.begin(n)
        if self.rng is None:
            self.rng = numpy.random.default_rng(model.seed if self.seed is None else self.seed)
        threads = auto_threads(model.network.forward_flops(self.batch_size)) if self.threads == "auto" \
            else self.threads
        parts = self.batch_parts(threads)
        callbacks = self.running = [NaNGuard()] + self.callbacks + self._printing()
        for cb in callbacks:
            cb.set_trainer(self)
        hooks = {name: [getattr(cb, name) for cb in callbacks if cb.overrides(name)] for name in _HOOKS}
        self.epochs, self.stop_reason, self.stop_now = epochs, None, False
        # NumPy's overflow and invalid-value warnings are silenced while training: a cost that becomes
        # NaN or infinite is reported once, in one line, by the NaN guard.
        with blas_threads(threads), model.split_batches(parts), numpy.errstate(all="ignore"):
            for hook in hooks["on_train_begin"]:
                hook()
            while self.epoch < epochs and self.stop_reason is None:
                with blas_threads(1) if parts > 1 else nullcontext():
                    record = self._train_epoch(source, n, hooks)
                if self.validation_data is not None:
                    start = time.perf_counter()
                    record.update(_prefixed(model.evaluate(*self.validation_data), "validation"))
                    record["eval_seconds"] = time.perf_counter() - start
                self.history.append(record)
                for hook in hooks["on_epoch_end"]:
                    hook(self.epoch, record)
            final = self.history.final
            for hook in hooks["on_train_end"]:
                hook(final)
            if test is not None:
                final.update(_prefixed(model.evaluate(*test), "test"))
        final["stop_reason"] = self.stop_reason or "epochs"
        return self.history

    def checked(self, data, what: str):
        """``data`` (a Dataset, (x, y) or inputs) checked by the model, as arrays ready to use; None stays None."""
        return None if data is None else self.model.check_data(*_as_xy(data, what), what)

    def figures(self) -> set:
        """The names of the figures every epoch's record will hold (and any ``training_*`` the
        model's ``train_step`` logs)."""
        names = {"epoch", "seconds", "training_cost"}
        if getattr(self.model, "optimizer", None) is not None:
            names.add("eta")
        if self.validation_data is not None:
            names |= {"validation_cost", "eval_seconds"} | {f"validation_{m.name}" for m in self.model.metrics}
        for cb in self.running:
            names |= set(cb.figures())
        return names

    def check_figure(self, name: str, who: str) -> None:
        """A one-line NndlError, before training, if no epoch's record will hold figure ``name``."""
        if name in self.figures() or name.startswith("training_"):
            return
        known = ", ".join(sorted(self.figures() - {"epoch", "seconds", "eval_seconds"}))
        raise NndlError(f"{who} monitors {name!r}, which this run does not measure; choose one of {known}")

    def stop(self, reason: str, now: bool = False) -> None:
        """End training after this epoch — or, ``now``, after this mini-batch (the epoch's figures then
        cover the batches done) — the first reason given is the one kept."""
        self.stop_reason = self.stop_reason or reason
        self.stop_now = self.stop_now or bool(now)

    def batch_parts(self, threads) -> int:
        """The number of parts each mini-batch is cut into (see ``workers``): with ``threads="auto"``
        one per usable core, else one per BLAS thread allowed — when the network gains from it
        and each part gets at least 8 examples."""
        if self.workers != "auto":
            return int(self.workers)
        cores = usable_cores() if self.threads == "auto" else (threads or 1)
        if cores < 2 or self.batch_size < 8 * cores or not worth_splitting(self.model.network):
            return 1
        return int(cores)

    def check_workers(self, network) -> None:
        """A one-line NndlError if ``workers`` asks to split a network that cannot be split."""
        if self.workers != "auto" and self.workers > 1 and not can_split(network):
            whole = next((layer for layer in getattr(network, "layers", ()) if not layer.splits_over_batch), None)
            needs = (f"its {whole.type} layer needs the whole batch" if whole
                     else f"a {type(network).__name__} trains on the whole batch")
            raise NndlError(f"this network cannot cut its mini-batches into parts: {needs}; use workers=1")

    def _printing(self) -> list:
        if not self.verbose:
            return []
        return ([ProgressBar()] if sys.stderr.isatty() else []) + [PrintEpochs()]

    def _batches_per_epoch(self, n: int) -> int:
        """Mini-batches in an epoch of ``n`` examples.

        A last mini-batch of a single example is merged into the one before it (batch
        statistics need at least two examples); otherwise the last batch is just smaller.
        """
        m = self.batch_size
        return max(1, n // m) if n % m == 1 and m > 1 else (n + m - 1) // m

    def _train_epoch(self, source, n, hooks) -> dict:
        model, m = self.model, self.batch_size
        order = to_device(self.rng.permutation(n) if self.order is None else self.order.indices(n, self.rng))
        n_batches = self.batches_per_epoch
        for hook in hooks["on_epoch_begin"]:
            hook(self.epoch + 1)
        begin, end = hooks["on_batch_begin"], hooks["on_batch_end"]
        start = time.perf_counter()
        sums: dict = {}
        seen = 0
        for k in range(n_batches):
            for hook in begin:
                hook(k)
            x, y = source.batch(order[k * m:(k + 1) * m if k < n_batches - 1 else n], self.rng)
            logs = model.train_step(x, y)
            size = self.last_batch_size = len(x)
            seen += size
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + value * size
            for hook in end:
                hook(k, logs)
            if self.stop_now:
                break
        self.epoch += 1
        record = {"epoch": self.epoch}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            record["eta"] = optimizer.eta
        for key, total in sums.items():
            record[f"training_{key}"] = total / seen
        if "training_cost" in record:
            record["training_cost"] += model.regularization_cost()
        record["seconds"] = time.perf_counter() - start
        return record

    # -- state for checkpoints ---------------------------------------------------------------
    def state(self) -> dict:
        """The loop's own state: epochs done, the history, the shuffling generator."""
        return {"epoch": self.epoch, "history": self.history.to_dict(),
                "rng": None if self.rng is None else self.rng.bit_generator.state}

    def load_state(self, state: dict) -> None:
        self.epoch = validation.whole("checkpoint epoch", state["epoch"], low=0)
        self.history = History.from_dict(state["history"])
        if state.get("rng") is not None:
            self.rng = numpy.random.default_rng()
            self.rng.bit_generator.state = state["rng"]


def _prefixed(logs: dict, prefix: str) -> dict:
    return {f"{prefix}_{key}": value for key, value in logs.items()}
