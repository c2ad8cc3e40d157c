"""Measuring other data after every epoch, as the book's ``network2.py`` can (``monitor_training_cost``, ...)."""
from __future__ import annotations

import time

from nndl.callbacks.base import Callback


class Evaluate(Callback):
    """After each epoch, the model's cost and metrics on ``data``, into the record as ``<prefix>_<name>``.

    ``data=None`` with ``prefix="training"`` measures the whole training set (when it is
    held in arrays), replacing the running mean ``training_cost`` of the epoch's batches.
    """

    def __init__(self, data=None, prefix: str = "training"):
        self.data, self.prefix = data, prefix

    def figures(self):
        names = ["cost"] + [m.name for m in self.model.metrics]
        return tuple(f"{self.prefix}_{name}" for name in names) + ("eval_seconds",)

    def on_train_begin(self):
        if self.data is not None:
            self.checked = self.trainer.checked(self.data, f"{self.prefix} data")
        else:
            self.checked = self.trainer.training_arrays

    def on_epoch_end(self, epoch, record):
        if self.checked is None:
            return
        start = time.perf_counter()
        for name, value in self.model.evaluate(*self.checked).items():
            record[f"{self.prefix}_{name}"] = value
        record["eval_seconds"] = record.get("eval_seconds", 0.0) + time.perf_counter() - start
