"""Guards: stop a run that has gone wrong, with a line that says what to do.

:class:`NaNGuard` (always on) stops as soon as a mini-batch's cost is NaN or infinite.
"""
from __future__ import annotations

import math

from nndl.callbacks.base import Callback
from nndl.errors import NndlError


class TrainingDiverged(NndlError):
    """Training went wrong beyond repair (the cost became NaN or infinite, or kept growing)."""


class NaNGuard(Callback):
    """Raise :class:`TrainingDiverged` when a mini-batch's cost is not a finite number."""

    def on_batch_end(self, step, logs):
        cost = logs.get("cost")
        if cost is not None and not math.isfinite(cost):
            eta = getattr(getattr(self.model, "optimizer", None), "eta", None)
            advice = f" — try a smaller learning rate than eta={eta:g}" if eta is not None else ""
            raise TrainingDiverged(f"the cost became {cost} in epoch {self.trainer.epoch + 1}, mini-batch "
                                   f"{step + 1}; training stopped{advice}")
