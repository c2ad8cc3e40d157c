"""Learning-rate schedules: how η changes during training.

A schedule has two hooks, both optional:

* ``at_step(t, eta0) -> eta``  per mini-batch step t = 0, 1, 2, ... (``per_step = True``);
* ``at_epoch_end(epoch, eta, metric) -> eta or None``  after each epoch, given the
  current η and the monitored metric (validation accuracy, or None); returning None
  means "stop training".
"""
from __future__ import annotations

from nndl.errors import NndlError


class Schedule:
    """Base class: a constant η."""

    name = "constant"
    per_step = False

    def at_step(self, t: int, eta0: float) -> float:
        return eta0

    def at_epoch_end(self, epoch: int, eta: float, metric: float | None) -> float | None:
        return eta

    def config(self) -> dict:
        return {"name": self.name}

    def state(self) -> dict:
        """JSON-able internal state, for checkpoints."""
        return {}

    def load_state(self, state: dict) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"


class HalveOnPlateau(Schedule):
    """The book's schedule (chapter 3): halve η when the metric has not improved for
    ``patience`` epochs; stop when η has fallen to η₀ / ``stop_factor`` (128 in the book)."""

    name = "plateau"

    def __init__(self, patience: int = 10, factor: float = 0.5, stop_factor: float = 128.0):
        if int(patience) < 1:
            raise NndlError(f"plateau patience={patience} must be at least 1 epoch")
        if not 0.0 < float(factor) < 1.0:
            raise NndlError(f"plateau factor={factor} must be in (0, 1)")
        self.patience, self.factor, self.stop_factor = int(patience), float(factor), float(stop_factor)
        self.best, self.waited, self.eta0 = None, 0, None

    def at_epoch_end(self, epoch, eta, metric):
        if self.eta0 is None:
            self.eta0 = eta
        if metric is None:
            return eta
        if self.best is None or metric > self.best:
            self.best, self.waited = metric, 0
            return eta
        self.waited += 1
        if self.waited < self.patience:
            return eta
        self.waited = 0
        eta *= self.factor
        if eta < self.eta0 / self.stop_factor * (1 + 1e-9):
            return None
        return eta

    def config(self):
        return {"name": self.name, "patience": self.patience, "factor": self.factor,
                "stop_factor": self.stop_factor}

    def state(self):
        return {"best": self.best, "waited": self.waited, "eta0": self.eta0}

    def load_state(self, state):
        self.best, self.waited, self.eta0 = state["best"], state["waited"], state["eta0"]


SCHEDULES: dict[str, type] = {cls.name: cls for cls in (Schedule, HalveOnPlateau)}


def get_schedule(name, **kwargs) -> Schedule:
    if name is None:
        return Schedule()
    if isinstance(name, Schedule):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in SCHEDULES:
        raise NndlError(f"unknown schedule {name!r}; choose one of {', '.join(sorted(SCHEDULES))}")
    return SCHEDULES[key](**kwargs)
