"""Optimizers: how parameters move, given their gradients.

An optimizer is separate from the layers and the trainer.  The trainer calls
``optimizer.step(params)`` after each mini-batch; each :class:`~nndl.layers.Parameter`
carries ``value`` and ``grad`` (the gradient of the mini-batch mean cost, already
including any regularization term).  A new optimizer subclasses :class:`Optimizer`,
implements ``update`` for one parameter, and registers itself in ``OPTIMIZERS``.

Per-parameter state (velocities, moment estimates) lives in ``self.state``, a list with
one dict of arrays per parameter, so it can be saved in a checkpoint.
"""
from __future__ import annotations

from nndl.backend import xp
from nndl.errors import NndlError


def _check_range(name: str, value: float, low: float, high: float, *, low_open=False, high_open=True):
    ok_low = value > low if low_open else value >= low
    ok_high = value < high if high_open else value <= high
    if not (ok_low and ok_high):
        lb, hb = "(" if low_open else "[", ")" if high_open else "]"
        raise NndlError(f"{name}={value} is out of range; it must be in {lb}{low}, {high}{hb}")
    return float(value)


class Optimizer:
    """Base class.  ``eta`` is the learning rate η; schedules change it between steps."""

    name = "optimizer"

    def __init__(self, eta: float = 0.1):
        self.eta = _check_range("eta (learning rate)", eta, 0.0, float("inf"), low_open=True)
        self.t = 0                     # steps taken
        self.state: list[dict] = []    # one dict of arrays per parameter

    def step(self, params) -> None:
        """Update every parameter from its ``grad``."""
        if not self.state:
            self.state = [{} for _ in params]
        self.t += 1
        for p, s in zip(params, self.state):
            self.update(p, p.grad, s)

    def update(self, p, grad, state: dict) -> None:
        raise NotImplementedError

    # -- checkpoints --------------------------------------------------------------------
    def config(self) -> dict:
        return {"name": self.name, "eta": self.eta}

    def state_arrays(self) -> dict:
        """Flat {key: array} of the optimizer state, for a checkpoint."""
        return {f"{i}.{k}": v for i, s in enumerate(self.state) for k, v in s.items()}

    def load_state_arrays(self, arrays: dict, n_params: int, t: int) -> None:
        self.state = [{} for _ in range(n_params)]
        for key, value in arrays.items():
            i, k = key.split(".", 1)
            self.state[int(i)][k] = xp.asarray(value)
        self.t = int(t)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent (chapter 1):  w → w − η ∇C."""

    name = "sgd"

    def update(self, p, grad, state):
        p.value -= self.eta * grad


class Momentum(Optimizer):
    """Momentum SGD (chapter 3):  v → μv − η∇C,  w → w + v.

    μ ("momentum coefficient", 0 ≤ μ < 1) is friction: μ = 0 is plain SGD.
    """

    name = "momentum"

    def __init__(self, eta: float = 0.1, mu: float = 0.9):
        super().__init__(eta)
        self.mu = _check_range("momentum mu", mu, 0.0, 1.0)

    def update(self, p, grad, state):
        v = state.get("v")
        if v is None:
            v = state["v"] = xp.zeros_like(p.value)
        v *= self.mu
        v -= self.eta * grad
        p.value += v

    def config(self):
        return {"name": self.name, "eta": self.eta, "mu": self.mu}


OPTIMIZERS: dict[str, type] = {cls.name: cls for cls in (SGD, Momentum)}


def get_optimizer(name, **kwargs) -> Optimizer:
    """An optimizer by name (``"sgd"``, ``"momentum"``, ...) with its hyper-parameters."""
    if isinstance(name, Optimizer):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in OPTIMIZERS:
        raise NndlError(f"unknown optimizer {name!r}; choose one of {', '.join(sorted(OPTIMIZERS))}")
    return OPTIMIZERS[key](**kwargs)
