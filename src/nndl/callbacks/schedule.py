"""The learning-rate schedule as a callback: η before every step, or after every epoch.

A schedule (:mod:`nndl.optim.schedules`) is a formula; this callback applies it to the
model's optimizer.  Per step: ``η = schedule.at_step(t, η₀)`` before each mini-batch,
with t the optimizer's step count and η₀ its learning rate when training began.  Per
epoch: ``η = schedule.at_epoch_end(epoch, η, metric)`` after each epoch, where the
metric is the monitored figure of the epoch (the book's plateau schedule halves η when
it stops improving); a schedule that returns None ends training.
"""
from __future__ import annotations

from nndl.callbacks.base import Callback
from nndl.callbacks.early_stopping import default_mode
from nndl.optim.schedules import get_schedule


class LearningRateSchedule(Callback):
    """Drive ``optimizer.eta`` (default: the model's optimizer) by ``schedule``."""

    def __init__(self, schedule, monitor: str = "validation_accuracy", optimizer=None):
        self.schedule = get_schedule(schedule)
        self.monitor = monitor
        self.optimizer = optimizer
        self.eta0 = None

    def on_train_begin(self):
        if self.schedule.uses_metric:
            self.trainer.check_figure(self.monitor, f"the {self.schedule.name} schedule")
            if getattr(self.schedule, "mode", "") is None:
                self.schedule.mode = default_mode(self.monitor)      # a cost improves by shrinking
        if self.optimizer is None:
            self.optimizer = self.model.optimizer
        if self.eta0 is None:
            self.eta0 = self.optimizer.eta

    def on_batch_begin(self, step):
        if self.schedule.per_step:
            self.optimizer.eta = self.schedule.at_step(self.optimizer.t, self.eta0)

    def on_epoch_end(self, epoch, record):
        eta = self.schedule.at_epoch_end(epoch, self.optimizer.eta, record.get(self.monitor))
        if eta is None:
            self.trainer.stop("learning rate schedule finished")
        else:
            self.optimizer.eta = eta

    def state(self):
        return {"eta0": self.eta0, "schedule": self.schedule.state()}

    def load_state(self, state):
        self.eta0 = state["eta0"]
        self.schedule.load_state(state.get("schedule") or {})

    def __repr__(self):
        return f"LearningRateSchedule({self.schedule!r})"
