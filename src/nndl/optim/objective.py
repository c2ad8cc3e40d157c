"""The cost as a function of the weights: what optimizers that search, or use curvature, need.

A gradient rule (SGD, Adam, Rprop) only needs ∇C at the current weights, which the model
computes and leaves in ``p.grad`` before ``optimizer.step``.  Simulated annealing needs to
*try* weights and evaluate the cost there; L-BFGS and Newton's method evaluate the cost
and gradient at points their line search chooses, and Newton's method needs products with
the Hessian.  Such an optimizer subclasses :class:`CostOptimizer` and implements
``minimize(objective)``; the model's ``train_step`` hands it an :class:`Objective` for the
batch instead of gradients.  Nothing else in the trainer changes.

For the batch (x, t) of m examples and the training-set size n the objective is

    C(w) = (1/m) Σₓ Cₓ(w) + R(w)          (the mean cost plus the penalties, as trained)

and it counts what it is asked for:

* a **cost evaluation** is one forward pass over the m examples;
* a **gradient evaluation** is one forward and one backward pass over them (about three
  times the arithmetic of a forward pass); it gives the cost as well.

These counts are what the experiments compare methods at (``bench/experiment_annealing.py``);
each step's logs give them, and the cost it logs is the cost at the weights the step ends with
(a gradient rule logs the cost it saw before its step).

The cost must be a function of the weights alone: a network with dropout, randomized
slopes or batch statistics gives a different number each time it is asked, and the
acceptance test of annealing, a line search and a Hessian all assume the same weights give
the same cost.  :func:`check_deterministic` refuses such a network in one line.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, to_numpy
from nndl.errors import NndlError
from nndl.optim.base import Optimizer


def random_layers(network) -> list:
    """The layers whose training pass is random or depends on the batch (dropout, randomized ReLU,
    batch normalization), by their type names."""
    from nndl.layers.batchnorm import BatchNorm

    found = []
    for _, layer in network.leaves() if hasattr(network, "leaves") else ():
        if hasattr(layer, "fixed_mask") or isinstance(layer, BatchNorm):
            found.append(layer.type)
    return found


def check_deterministic(network, who: str) -> None:
    """A one-line NndlError if the network's training cost is not a function of its weights alone."""
    found = random_layers(network)
    if found:
        raise NndlError(f"the {who} optimizer needs a cost that is a function of the weights alone, but the "
                        f"network has a {found[0]} layer (random masks or batch statistics make each evaluation "
                        f"differ); remove --dropout/--batch-norm or use a gradient optimizer such as sgd")


class Objective:
    """C(w) on one batch, for the model's trainable parameters ``params``.

    ``cost()`` and ``gradient()`` work on the parameters' current values (an optimizer may
    move ``p.value`` in place and ask again); ``vector()`` / ``set_vector(w)`` read and write
    all of them as one float64 vector w (in the order of ``params``, each raveled), and
    ``gradient_vector()`` gives ∇C(w) in the same layout after ``gradient()``.
    """

    def __init__(self, model, x, t):
        self.model = model
        self.network = model.network
        self.x, self.t = x, t
        self.params = list(model._params)
        self.n = model.training_size or len(x)
        self.cost_evaluations = 0
        self.gradient_evaluations = 0
        #: The mean cost without R(w) at the last evaluation (what the trainer logs as the cost).
        self.data_cost = float("nan")
        self._shapes = [p.value.shape for p in self.params]
        self._sizes = [int(p.value.size) for p in self.params]
        self.size = sum(self._sizes)

    # -- evaluations ------------------------------------------------------------------------
    def cost(self) -> float:
        """C(w) + R(w) at the current weights: one forward pass (inference mode: no recording)."""
        a = self.network.feedforward(self.x)
        self.cost_evaluations += 1
        self.data_cost = float(self.network.cost.fn(a, self.t))
        return self.data_cost + self.model.regularization_cost()

    def gradient(self) -> float:
        """C(w) + R(w), with ∇C + ∇R fresh in every ``p.grad``: one forward and one backward pass."""
        a = self.model._backprop(self.x, self.t)
        self.gradient_evaluations += 1
        self.data_cost = float(self.network.cost.fn(a, self.t))
        for reg in self.model.regularizers:
            reg.add_gradient(self.params, self.n)
        return self.data_cost + self.model.regularization_cost()

    # -- the weights as one vector ------------------------------------------------------------
    def vector(self) -> numpy.ndarray:
        """w: every parameter's value, raveled and concatenated, as float64."""
        return numpy.concatenate([numpy.asarray(to_numpy(p.value), dtype=numpy.float64).ravel()
                                  for p in self.params]) if self.params else numpy.zeros(0)

    def set_vector(self, w) -> None:
        """Write the vector ``w`` (layout of :meth:`vector`) into the parameters."""
        w = numpy.asarray(w, dtype=numpy.float64)
        if w.shape != (self.size,):
            raise NndlError(f"a weight vector of shape {w.shape} for {self.size} parameters")
        start = 0
        for p, shape, size in zip(self.params, self._shapes, self._sizes):
            p.value[...] = to_device(w[start:start + size].reshape(shape), p.value.dtype)
            start += size

    def gradient_vector(self) -> numpy.ndarray:
        """∇C(w) as one float64 vector (after :meth:`gradient`; 0 for a parameter no pass reached)."""
        return numpy.concatenate([numpy.zeros(size) if p.grad is None else
                                  numpy.asarray(to_numpy(p.grad), dtype=numpy.float64).ravel()
                                  for p, size in zip(self.params, self._sizes)]) if self.params else numpy.zeros(0)

    def split(self, w) -> list:
        """The vector ``w`` cut into arrays shaped like the parameters (float64, host)."""
        out, start = [], 0
        for shape, size in zip(self._shapes, self._sizes):
            out.append(numpy.asarray(w[start:start + size]).reshape(shape))
            start += size
        return out


class CostOptimizer(Optimizer):
    """Base class of the optimizers that evaluate the cost themselves (annealing, Newton, L-BFGS).

    ``minimize(objective)`` moves the parameters to lower ``objective.cost()`` and returns the
    logs of the step: ``{"cost": the mean cost without R at the new weights, ...}``.  The
    options of gradient rules (clipping, gradient noise) do not apply.  ``seed`` seeds the
    generator of the random searches; its state is saved with a checkpoint.
    """

    #: The model's train_step calls ``minimize(Objective)`` instead of ``step(params)``.
    uses_objective = True

    def __init__(self, eta: float, *, seed: int = 0, **options):
        given = [k for k, v in options.items() if v not in (None, 0.0)]
        if given:
            raise NndlError(f"the {self.name} optimizer evaluates the cost itself; it takes no gradient option "
                            f"{given[0]!r} (clipping and gradient noise are for gradient rules)")
        super().__init__(eta, seed=seed)
        self.rng = numpy.random.default_rng(self.seed)
        #: Evaluations over the whole run (the per-step counts are in each step's logs); Newton's
        #: method also makes Hessian-vector products (about two gradient evaluations each) and
        #: Levenberg–Marquardt output Jacobians (a forward pass and one backward pass per output).
        self.cost_evaluations = 0
        self.gradient_evaluations = 0
        self.hessian_products = 0
        self.jacobian_evaluations = 0

    def check_model(self, model) -> None:
        """A one-line NndlError, before training, for a model this optimizer cannot train."""
        check_deterministic(model.network, self.name)

    def update(self, p, grad, state):
        raise NndlError(f"the {self.name} optimizer evaluates the cost itself: a model's train_step calls its "
                        f"minimize(objective), not step(params)")

    def minimize(self, objective: Objective) -> dict:
        raise NotImplementedError

    def counted(self, objective: Objective, logs: dict) -> dict:
        """``logs`` with this step's evaluation counts, which are added to the run's totals."""
        self.cost_evaluations += objective.cost_evaluations
        self.gradient_evaluations += objective.gradient_evaluations
        logs.update(cost_evaluations=objective.cost_evaluations,
                    gradient_evaluations=objective.gradient_evaluations)
        return logs

    def config(self) -> dict:
        cfg = {"name": self.name}
        cfg.update({k: getattr(self, k) for k in self.default_hyperparameters})
        cfg["seed"] = self.seed
        return cfg
