"""Telling the person at the terminal how training goes: a progress bar and a line per epoch."""
from __future__ import annotations

import sys

from nndl.callbacks.base import Callback


class ProgressBar(Callback):
    """A tqdm bar over each epoch's mini-batches, on stderr, with the running mean cost."""

    def __init__(self, every: int = 50):
        self.every = every
        self.bar = None

    def on_epoch_begin(self, epoch):
        from tqdm import tqdm

        self.total, self.seen, self.cost = self.trainer.batches_per_epoch, 0, 0.0
        self.bar = tqdm(total=self.total, desc=f"epoch {epoch}/{self.trainer.epochs}", unit="batch", leave=False,
                        file=sys.stderr, mininterval=0.5)

    def on_batch_end(self, step, logs):
        size = self.trainer.last_batch_size
        self.seen += size
        self.cost += logs.get("cost", 0.0) * size
        if step % self.every == self.every - 1 or step == self.total - 1:
            self.bar.update(step + 1 - self.bar.n)
            self.bar.set_postfix_str(f"cost {self.cost / max(self.seen, 1):.4f}", refresh=False)

    def on_epoch_end(self, epoch, record):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class PrintEpochs(Callback):
    """One line per epoch on stdout (or ``file``): η, the training cost, accuracies or other figures
    measured, seconds."""

    def __init__(self, file=None):
        self.file = file

    def on_epoch_end(self, epoch, record):
        print(epoch_line(record), file=self.file or sys.stdout, flush=True)


def epoch_line(record: dict) -> str:
    """``epoch 3, eta 0.5, training cost 0.3211, validation accuracy 95.12%, 1.4 s``."""
    parts = [f"epoch {record['epoch']}"]
    if "eta" in record:
        parts.append(f"eta {record['eta']:.4g}")
    for key, value in record.items():
        if key in ("epoch", "eta", "seconds", "eval_seconds") or not isinstance(value, (int, float)):
            continue
        label = key.replace("_", " ")
        parts.append(f"{label} {100 * value:.2f}%" if key.endswith("accuracy") else f"{label} {value:.4f}")
    parts.append(f"{record['seconds']:.1f} s")
    return ", ".join(parts)
