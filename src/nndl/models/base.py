"""What a model is: a network, the optimizer that trains it, and what one step of training does.

The trainer (:mod:`nndl.trainer`) only loops; a model kind owns its step.  The default
step is supervised learning by backpropagation, chapter 1's ``update_mini_batch``:

1. ``t = self.targets(x, y)`` — the targets in the form the cost wants (one-hot rows
   for a classifier, real values for a regressor, the input itself for an autoencoder);
2. ``network.backprop(x, y)`` — gradients of the mini-batch mean cost in ``p.grad``;
3. each regularizer adds ∂R/∂w to the weight gradients (L2, L1, ...);
4. ``optimizer.step(params)`` moves the parameters (w → w − η ∇C for plain SGD);
5. each constraint projects the parameters back (max-norm, ...).

Model kinds that learn otherwise (an RBM's contrastive divergence, a GAN's two
networks) override :meth:`Model.train_step`; they are siblings in this folder.

An optimizer that evaluates the cost itself (simulated annealing, Newton's method, L-BFGS:
:class:`nndl.optim.objective.CostOptimizer`) gets the batch's cost as a function of the
weights instead of step 2–4: ``optimizer.minimize(Objective(model, x, t))``; the
constraints then apply as after any step.

``evaluate`` runs the network on a whole data set in chunks and reports the cost
(with the regularization term, as the book's ``total_cost``) and the model's metrics.
"""
from __future__ import annotations

import contextlib
import math

import numpy

from nndl.backend import to_numpy
from nndl.errors import NndlError
from nndl.metrics import get_metric
from nndl.optim import SGD


class Model:
    """A network trained by backpropagation on (input, target) pairs.

    Parameters
    ----------
    network : Network
    optimizer : Optimizer, optional
        Default ``SGD(eta=0.1)``.
    regularizers : list of Regularizer
        Penalties added to the cost and gradient (``L2(lmbda)``, ``L1(lmbda)``).
    constraints : list
        Objects with ``apply(params)``, run after every step (e.g. max-norm).
    metrics : list of str or Metric, optional
        What :meth:`evaluate` reports besides the cost (default: the kind's own,
        :attr:`default_metrics`).
    """

    #: Metric names reported by default, the first one the natural one to monitor.
    default_metrics: tuple = ()
    #: Names that mean something particular for this kind of model (``"accuracy"``, say).
    metric_names: dict = {}
    #: Which task this model kind solves, for messages and saved settings.
    task = "supervised"

    def __init__(self, network, optimizer=None, regularizers=(), constraints=(), metrics=None):
        self.network = network
        self.optimizer = optimizer if optimizer is not None else SGD(0.1)
        self.regularizers = list(regularizers)
        self.constraints = list(constraints)
        names = self.default_metrics if metrics is None else metrics
        self.metrics = [self.metric(m) for m in names]
        #: The size n of the training set: the book's penalties are (λ/2n) Σ w².
        self.training_size: int | None = None
        self._backprop = network.backprop
        self._feedforward = None           # a split network's (split_batches); else the network's own
        self._params = network.trainable_params

    def metric(self, spec):
        """A metric by name, in this model's sense of the name."""
        name = spec.strip().lower() if isinstance(spec, str) else None
        if name in self.metric_names:
            metric = self.metric_names[name]()
            metric.name = name              # reported under the name asked for: "accuracy"
            return metric
        return get_metric(spec)

    @property
    def seed(self) -> int:
        return self.network.seed

    # -- the data it takes -----------------------------------------------------------------
    def check_data(self, x, y, what: str):
        """(x, y) ready for training: inputs checked against the network, targets by :meth:`check_targets`."""
        if y is not None and len(x) != len(y):
            raise NndlError(f"{what}: {len(x)} examples but {len(y)} targets")
        if len(x) == 0:
            raise NndlError(f"{what} are empty")
        self.network.check_input(x, what)
        y = self.network.cost.check_targets(y, self.task, what)       # the hinge cost's ±1 labels, say
        return self.network.as_input(x), self.check_targets(y, what)

    def check_targets(self, y, what: str):
        """Targets as host arrays this model can learn from; a one-line NndlError otherwise."""
        raise NotImplementedError

    def targets(self, x, y):
        """The targets of the batch (x, y) as the cost sees them (on the device)."""
        raise NotImplementedError

    # -- one step --------------------------------------------------------------------------
    def begin(self, training_size: int) -> None:
        """Called by the trainer before the first step of a ``fit``."""
        self.training_size = int(training_size)
        self._params = self.network.trainable_params
        if getattr(self.optimizer, "uses_objective", False):
            if type(self).train_step is not Model.train_step:
                raise NndlError(f"the {self.optimizer.name} optimizer trains models that learn by the supervised "
                                f"step (classifier, regressor, autoencoder), not a {type(self).__name__}")
            self.optimizer.check_model(self)

    def train_step(self, x, y) -> dict:
        """One step of gradient descent on the batch (x, y); returns ``{"cost": C}``, the batch's
        mean cost without the regularization term."""
        t = self.targets(x, y)
        if getattr(self.optimizer, "uses_objective", False):
            from nndl.optim.objective import Objective

            logs = self.optimizer.minimize(Objective(self, x, t))
            for constraint in self.constraints:
                constraint.apply(self._params)
            return logs
        a = self._backprop(x, t)
        cost = self.network.cost.fn(a, t)
        self.apply_gradients()
        return {"cost": cost}

    def apply_gradients(self) -> None:
        """Regularizers' gradients, the optimizer's step and the constraints, for the gradients in ``p.grad``."""
        params = self._params
        for reg in self.regularizers:
            reg.add_gradient(params, self.training_size)
        self.optimizer.step(params)
        for constraint in self.constraints:
            constraint.apply(params)

    def regularization_cost(self) -> float:
        """R(w), the penalties' part of the cost, for the current weights."""
        if not self.regularizers:
            return 0.0
        n = self.training_size or 1
        return sum(reg.cost(self.network.params, n) for reg in self.regularizers)

    @contextlib.contextmanager
    def split_batches(self, parts: int):
        """Inside the block each step's batch (and each batch :meth:`evaluate` feeds forward) is cut into
        ``parts`` that run at once (:mod:`nndl.parallel`)."""
        if parts < 2:
            yield
            return
        from nndl.parallel import DataParallel

        with DataParallel(self.network, parts) as parallel:
            self._backprop, self._feedforward = parallel.backprop, parallel.feedforward
            try:
                yield
            finally:
                self._backprop, self._feedforward = self.network.backprop, None

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, x, y, batch_size: int = 1000) -> dict:
        """``{"cost": C + R, metric name: value, ...}`` over the whole data set (x, y)."""
        net = self.network
        for metric in self.metrics:
            metric.reset()
        total = 0.0
        for i in range(0, len(x), batch_size):
            xb = net.as_input(x[i:i + batch_size])
            a = (self._feedforward or net.feedforward)(xb)
            t = self.targets(xb, None if y is None else y[i:i + batch_size])
            total += net.cost.fn(a, t) * len(a)
            if self.metrics:
                a, t = self.in_target_units(a, t)
            for metric in self.metrics:
                metric.update(a, t)
        logs = {"cost": total / len(x) + self.regularization_cost()}
        logs.update((metric.name, metric.result()) for metric in self.metrics)
        return logs

    def in_target_units(self, a, t):
        """Outputs and targets as the metrics should see them (a regressor undoes its target scaling)."""
        return a, t

    def test_step(self, x, y) -> dict:
        """:meth:`evaluate` on one batch."""
        return self.evaluate(x, y, batch_size=max(1, len(x)))

    def predict(self, x, batch_size: int = 1000, preprocessed: bool = False):
        """The network's outputs for every row of host array ``x``: raw examples, through the network's
        stored preprocessing unless ``preprocessed`` (see :meth:`Network.predict_proba`)."""
        return self.network.predict_proba(x, batch_size, preprocessed)

    # -- state for checkpoints ---------------------------------------------------------------
    def state(self) -> dict:
        """Everything beyond the weights that a resumed run needs (arrays and JSON values)."""
        opt = self.optimizer
        params = self.network.params
        return {"optimizer": opt.config(), "optimizer_t": opt.t, "eta": opt.eta,
                "optimizer_arrays": opt.state_arrays(params)}

    def load_state(self, state: dict) -> None:
        opt = self.optimizer
        if state["optimizer"].get("name") != opt.name:
            raise NndlError(f"the checkpoint was trained with the {state['optimizer'].get('name')!r} optimizer, "
                            f"not {opt.name!r}")
        opt.load_state_arrays(state["optimizer_arrays"], self.network.params, state["optimizer_t"])
        opt.eta = float(state["eta"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.network!r}, {self.optimizer!r})"


def finite_numbers(y, what: str) -> numpy.ndarray:
    """``y`` as a float array of finite numbers; a one-line NndlError names the first bad value."""
    y = numpy.asarray(to_numpy(y) if not isinstance(y, numpy.ndarray) else y)
    if y.dtype.kind not in "biuf":
        raise NndlError(f"{what}: targets must be numbers, got an array of {y.dtype}")
    y = y.astype(numpy.float32, copy=False) if y.dtype != numpy.float64 else y
    if y.size and not (math.isfinite(float(y.min())) and math.isfinite(float(y.max()))):
        bad = numpy.argwhere(~numpy.isfinite(y))[0]
        raise NndlError(f"{what}: targets hold NaN or infinity at index {tuple(int(i) for i in bad)}")
    return y
