"""Pruning: report each epoch's figure to a hyper-parameter search and stop when it says the run is hopeless.

After epoch t the monitored figure v_t goes to the search's trial (``trial.report(v_t, t)``);
the search's pruner compares it with the other trials at the same epoch (the median rule:
stop if v_t is worse than the median of the others' v_t; successive halving: keep only
the best 1/η of the trials at each rung) and ``trial.should_prune()`` says whether to
stop.  The run then ends with :class:`Pruned`, which the sweep records as a pruned trial.
Written for Optuna's trial, but any object with ``report`` and ``should_prune`` does.
"""
from __future__ import annotations

from nndl.callbacks.base import Callback
from nndl.errors import NndlError


class Pruned(NndlError):
    """The search's pruner stopped this run (not an error of the run itself)."""


class ReportToTrial(Callback):
    """Report ``monitor`` to ``trial`` after every epoch; raise :class:`Pruned` when the trial should stop."""

    def __init__(self, trial, monitor: str = "validation_accuracy", step_offset: int = 0):
        self.trial, self.monitor, self.step_offset = trial, monitor, step_offset

    def on_train_begin(self):
        self.trainer.check_figure(self.monitor, "the sweep")

    def on_epoch_end(self, epoch, record):
        value = record.get(self.monitor)
        if value is None:
            return
        step = self.step_offset + epoch
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            raise Pruned(f"pruned after epoch {epoch}: {self.monitor} {value:.4g}")

    def __repr__(self):
        return f"ReportToTrial({self.monitor!r})"
