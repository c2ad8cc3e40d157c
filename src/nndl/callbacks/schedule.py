"""The learning-rate schedule as a callback: η before every step, or after every epoch.

A schedule (:mod:`nndl.optim.schedules`) is a formula; this callback applies it to the
model's optimizer.  Per step: ``η = schedule.at_step(t, η₀)`` before each mini-batch,
with t the optimizer's step count and η₀ its learning rate when training began.  Per
epoch: ``η = schedule.at_epoch_end(epoch, η, metric)`` after each epoch, where the
metric is the monitored figure of the epoch (the book's plateau schedule halves η when
it stops improving); a schedule that returns None ends training.

When training begins, the run's length is known (steps per epoch × epochs): a decay
schedule that brings η to 0, or below a millionth of its largest value, while more than
1% of the run is still to go gets a :class:`~nndl.errors.NndlWarning` — ``cosine(30)``
counts mini-batch steps, and over 10 epochs of MNIST it would leave 49,970 of 50,000
steps at η = 0.
"""
from __future__ import annotations

import warnings

from nndl.callbacks.base import Callback
from nndl.callbacks.early_stopping import default_mode
from nndl.errors import NndlWarning
from nndl.optim.schedules import DecaySchedule, get_schedule

#: η at or below this fraction of the schedule's largest value counts as 0 (no more learning).
VANISHED = 1e-6


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
        if isinstance(self.schedule, DecaySchedule):
            warn_if_eta_vanishes(self.schedule, self.trainer, self.optimizer, self.eta0)

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


def warn_if_eta_vanishes(schedule, trainer, optimizer, eta0: float) -> None:
    """An NndlWarning if ``schedule`` brings η to (almost) 0 with more than 1% of the run's steps to go.

    The run still to train is ``trainer.epochs - trainer.epoch`` epochs of
    ``trainer.batches_per_epoch`` steps; a per-step schedule counts from the optimizer's step
    count, a per-epoch one from the epochs done.
    """
    per_epoch, epochs = trainer.batches_per_epoch, trainer.epochs
    epochs_left = epochs - trainer.epoch
    if not per_epoch or epochs_left <= 0:
        return
    if schedule.per_step:
        unit, first, last, steps_per_count = "mini-batch step", optimizer.t, optimizer.t + epochs_left * per_epoch - 1, 1
    else:
        unit, first, last, steps_per_count = "epoch", trainer.epoch, epochs - 1, per_epoch
        eta0 = schedule.eta0 if schedule.eta0 is not None else optimizer.eta
    floor = VANISHED * max(eta0, getattr(schedule, "max_eta", 0.0))
    if schedule.eta_at(last, eta0) > floor:
        return
    u = _first_at_or_below(schedule, eta0, floor, first, last)
    idle, steps = (last - u + 1) * steps_per_count, epochs_left * per_epoch
    if idle <= 0.01 * steps:
        return
    args = ", ".join(f"{k}={v}" for k, v in schedule.config().items() if k != "name")
    message = (f"the {schedule.name}({args}) schedule brings η to {schedule.eta_at(u, eta0):.3g} at {unit} {u}, "
               f"but this run trains {steps} mini-batch steps ({per_epoch} per epoch × {epochs_left} epochs): "
               f"the last {idle} steps learn nothing")
    if hasattr(schedule, "total"):
        message += (f"; {schedule.name}(T) counts {unit}s — {schedule.name}({epochs * per_epoch}) spans the run "
                    f"in steps, {schedule.name}({epochs}, unit=epoch) in epochs")
    warnings.warn(message, NndlWarning, stacklevel=2)


def _first_at_or_below(schedule, eta0: float, floor: float, first: int, last: int) -> int:
    """The first count u in [first, last] with η(u) ≤ ``floor``, given that η(last) is (a decay
    schedule's η does not climb back once it is that low: bisection)."""
    low, high = first, last
    while low < high:
        middle = (low + high) // 2
        if schedule.eta_at(middle, eta0) <= floor:
            high = middle
        else:
            low = middle + 1
    return low
