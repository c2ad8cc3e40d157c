"""Learning-rate schedules: how η changes during training.

A schedule has two hooks, both optional:

* ``at_step(t, eta0) -> eta``  per mini-batch step t = 0, 1, 2, ... (``per_step = True``);
* ``at_epoch_end(epoch, eta, metric) -> eta or None``  after each epoch, given the
  current η and the monitored metric (validation accuracy, or None); returning None
  means "stop training".

The trainer calls ``at_step(optimizer.t, eta0)`` before every mini-batch when the
schedule's ``per_step`` is true (η₀ is the optimizer's learning rate when the trainer
was made), and ``at_epoch_end(epoch, eta, metric)`` after every epoch, with ``epoch``
= 1, 2, ... epochs completed; what it returns is the η of the next epoch.

The decay schedules below (:class:`StepDecay`, :class:`ExponentialDecay`,
:class:`InverseTime`, :class:`Cosine`, :class:`OneCycle`) are each a formula η(u) of a
count u and work in either unit, chosen by ``unit=``:

* ``unit="step"``: u = t, the mini-batch steps taken (0 for the first step), and η
  changes before every step;
* ``unit="epoch"``: u = e, the epochs completed (0 during the first epoch), and η
  changes between epochs.  The first epoch runs at the optimizer's η, which is taken
  as η₀ (it is remembered in :meth:`Schedule.state`, so a resumed run must
  ``load_state`` it).

``eta_at(u, eta0)`` evaluates the formula directly (for plots and tables).
"""
from __future__ import annotations

import math

from nndl import validation
from nndl.errors import NndlError
from nndl.registry import create


class Schedule:
    """Base class: a constant η."""

    name = "constant"
    per_step = False
    #: Whether ``at_epoch_end`` looks at the monitored metric (the plateau schedule does).
    uses_metric = False

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
    ``patience`` epochs; stop when η has fallen to η₀ / ``stop_factor`` (128 in the book).

    ``mode="max"``: the metric improves by growing (an accuracy); ``"min"``: by shrinking (a
    cost).  ``None``: as the figure it follows says (the learning-rate callback sets it from
    the monitored name; on its own it is "max", the book's accuracy).
    """

    name = "plateau"
    uses_metric = True

    def __init__(self, patience: int = 10, factor: float = 0.5, stop_factor: float = 128.0, mode: str | None = None):
        self.patience = validation.whole("plateau patience", patience, low=1)
        self.factor = validation.number("plateau factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.stop_factor = validation.number("plateau stop_factor", stop_factor, 1.0)
        self.mode = None if mode is None else validation.choice("plateau mode", mode, ("max", "min"))
        self.best, self.waited, self.eta0 = None, 0, None

    def at_epoch_end(self, epoch, eta, metric):
        if self.eta0 is None:
            self.eta0 = eta
        if metric is None:
            return eta
        if self.best is None or (metric < self.best if self.mode == "min" else metric > self.best):
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
        cfg = {"name": self.name, "patience": self.patience, "factor": self.factor, "stop_factor": self.stop_factor}
        if self.mode is not None:
            cfg["mode"] = self.mode
        return cfg

    def state(self):
        return {"best": self.best, "waited": self.waited, "eta0": self.eta0}

    def load_state(self, state):
        self.best, self.waited, self.eta0 = state["best"], state["waited"], state["eta0"]


class DecaySchedule(Schedule):
    """Base class of the schedules that are a formula η(u) (see the module docstring).

    Subclasses implement :meth:`eta_at`; this class turns it into ``at_step`` or
    ``at_epoch_end`` depending on ``unit``.
    """

    def __init__(self, unit: str = "epoch"):
        self.unit = validation.choice("schedule unit", unit, ("epoch", "step"))
        unit = self.unit
        self.per_step = unit == "step"
        self.eta0: float | None = None

    def eta_at(self, u: int, eta0: float) -> float:
        """η after u steps or epochs, for initial learning rate η₀."""
        raise NotImplementedError

    def count(self, what: str, value) -> int:
        """``value`` as a whole number ≥ 1 of this schedule's unit; the error says which unit it counts."""
        try:
            return validation.whole(what, value, low=1)
        except NndlError as exc:
            other = "epoch" if self.per_step else "step"
            counted = "mini-batch steps" if self.per_step else "epochs"
            raise NndlError(f"{exc} (counted in {counted}; unit={other} counts {other}s)") from None

    def at_step(self, t, eta0):
        return self.eta_at(t, eta0)

    def at_epoch_end(self, epoch, eta, metric):
        if self.per_step:
            return eta
        if self.eta0 is None:
            self.eta0 = eta          # the first epoch ran at the optimizer's η: that is η₀
        return self.eta_at(epoch, self.eta0)

    def state(self):
        return {"eta0": self.eta0}

    def load_state(self, state):
        self.eta0 = state.get("eta0")

    def config(self):
        return {"name": self.name, **self._args(), "unit": self.unit}

    def _args(self) -> dict:
        return {}


class StepDecay(DecaySchedule):
    """Multiply η by γ every ``step_size`` epochs (or steps):  η = η₀ γ^⌊u / step_size⌋.

    ``StepDecay(30, 0.1)`` is the classic "divide by 10 every 30 epochs".
    """

    name = "step_decay"

    def __init__(self, step_size: int = 10, gamma: float = 0.1, unit: str = "epoch"):
        super().__init__(unit)
        self.step_size = self.count("step decay step_size", step_size)
        self.gamma = validation.number("step decay gamma", gamma, 0.0, 1.0, low_open=True)

    def eta_at(self, u, eta0):
        return eta0 * self.gamma ** (int(u) // self.step_size)

    def _args(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(DecaySchedule):
    """η = η₀ γ^u: multiply η by γ every epoch (or step)."""

    name = "exponential"

    def __init__(self, gamma: float = 0.95, unit: str = "epoch"):
        super().__init__(unit)
        self.gamma = validation.number("exponential decay gamma", gamma, 0.0, 1.0, low_open=True)

    def eta_at(self, u, eta0):
        return eta0 * self.gamma ** u

    def _args(self):
        return {"gamma": self.gamma}


class InverseTime(DecaySchedule):
    """The 1/t schedule:  η = η₀ / (1 + η₀ λ t).

    For a λ-strongly convex cost, SGD with this rate converges at the optimal O(1/t)
    rate (Bottou, 2012, "Stochastic gradient descent tricks", with λ the L2
    regularization constant); η halves after t = 1/(η₀λ) steps.  Per step by default.
    """

    name = "inverse_time"

    def __init__(self, lmbda: float = 1e-3, unit: str = "step"):
        super().__init__(unit)
        self.lmbda = validation.number("inverse-time decay lmbda", lmbda, 0.0)

    def eta_at(self, u, eta0):
        return eta0 / (1.0 + eta0 * self.lmbda * u)

    def _args(self):
        return {"lmbda": self.lmbda}


class Cosine(DecaySchedule):
    """Cosine annealing (Loshchilov & Hutter, 2017, without restarts), over T = ``total``:

        η = η_min + ½ (η₀ − η_min)(1 + cos(π u / T)),   u ≤ T;   η = η_min after T.

    Per step by default (T = the number of steps of the whole run).
    """

    name = "cosine"

    def __init__(self, total: int, eta_min: float = 0.0, unit: str = "step"):
        super().__init__(unit)
        self.total = self.count("cosine schedule total", total)
        self.eta_min = validation.number("cosine schedule eta_min", eta_min, 0.0)

    def eta_at(self, u, eta0):
        u = min(max(u, 0), self.total)
        return self.eta_min + 0.5 * (eta0 - self.eta_min) * (1.0 + math.cos(math.pi * u / self.total))

    def _args(self):
        return {"total": self.total, "eta_min": self.eta_min}


class OneCycle(DecaySchedule):
    """The one-cycle policy (Smith, 2018; Smith & Topin, 2019), over T = ``total``:
    warm up from η_start to ``max_eta`` during the first ``pct_start`` of the run, then
    anneal to η_end:

        η_start = max_eta / div_factor,   η_end = η_start / final_div_factor,
        u_peak = pct_start · T,
        u ≤ u_peak:  η = a(η_start, max_eta, u / u_peak)
        u > u_peak:  η = a(max_eta, η_end, (u − u_peak) / (T − u_peak))       (η_end after T)

    where a(x, y, f) goes from x (f = 0) to y (f = 1): linearly, x + (y − x) f, for
    ``anneal="linear"`` (Smith's triangle), or along half a cosine,
    y + ½ (x − y)(1 + cos πf), for ``anneal="cos"`` (the default, as PyTorch).
    Per step by default; the optimizer's own η is not used (``unit="epoch"``: the first
    epoch runs at the optimizer's η, so set it to max_eta / div_factor).
    """

    name = "one_cycle"

    def __init__(self, total: int, max_eta: float, pct_start: float = 0.3, anneal: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4, unit: str = "step"):
        super().__init__(unit)
        self.total = self.count("one-cycle total", total)
        self.max_eta = validation.number("one-cycle max_eta", max_eta, 0.0, low_open=True)
        self.pct_start = validation.number("one-cycle pct_start", pct_start, 0.0, 1.0, high_open=True)
        self.anneal = validation.choice("one-cycle anneal", anneal, ("cos", "linear"))
        self.div_factor = validation.number("one-cycle div_factor", div_factor, 1.0)
        self.final_div_factor = validation.number("one-cycle final_div_factor", final_div_factor, 1.0)

    def _interpolate(self, x, y, f):
        if self.anneal == "linear":
            return x + (y - x) * f
        return y + 0.5 * (x - y) * (1.0 + math.cos(math.pi * f))

    def eta_at(self, u, eta0=None):
        start = self.max_eta / self.div_factor
        end = start / self.final_div_factor
        u = min(max(u, 0), self.total)
        peak = self.pct_start * self.total
        if u < peak:
            return self._interpolate(start, self.max_eta, u / peak)
        return self._interpolate(self.max_eta, end, (u - peak) / (self.total - peak))

    def _args(self):
        return {"total": self.total, "max_eta": self.max_eta, "pct_start": self.pct_start, "anneal": self.anneal,
                "div_factor": self.div_factor, "final_div_factor": self.final_div_factor}


SCHEDULES: dict[str, type] = {cls.name: cls for cls in (Schedule, HalveOnPlateau, StepDecay, ExponentialDecay,
                                                        InverseTime, Cosine, OneCycle)}


def get_schedule(name, **kwargs) -> Schedule:
    """A schedule by name (``"plateau"``, ``"cosine"``, ...) with its arguments; None is a constant η."""
    if name is None:
        return Schedule()
    if isinstance(name, Schedule):
        return name
    return create(SCHEDULES, name, "schedule", None, **kwargs)
