"""Guards: stop a run that has gone wrong, with a line that says what to do.

:class:`NaNGuard` (always on) stops as soon as a mini-batch's cost is NaN or infinite.

:class:`DivergenceGuard` catches the runs that go wrong without ever reaching NaN: with
η far too large, sigmoid outputs saturate and the cost sits at a huge but finite value
(``--eta 1000`` on MNIST: a training cost near 1,800 where the untrained network has
about 7), or at a small one that nothing can lower (the quadratic cost with every
output stuck at 0), and the accuracy stays at chance.  ``nndl train`` adds it to every
run (the library's ``Trainer`` does not: a GAN's or an adversarial model's cost may rise
by design).
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.callbacks.base import Callback
from nndl.errors import NndlError


class TrainingDiverged(NndlError):
    """Training went wrong beyond repair (the cost became NaN or infinite, or kept growing)."""


def _advice(model) -> str:
    """`` — try a smaller learning rate than eta=…`` (nothing for a model without an optimizer)."""
    eta = getattr(getattr(model, "optimizer", None), "eta", None)
    return f" — try a smaller learning rate than eta={eta:g}" if eta is not None else ""


class NaNGuard(Callback):
    """Raise :class:`TrainingDiverged` when a mini-batch's cost is not a finite number."""

    def on_batch_end(self, step, logs):
        cost = logs.get("cost")
        if cost is not None and not math.isfinite(cost):
            raise TrainingDiverged(f"the cost became {cost} in epoch {self.trainer.epoch + 1}, mini-batch "
                                   f"{step + 1}; training stopped{_advice(self.model)}")


class DivergenceGuard(Callback):
    """Raise :class:`TrainingDiverged` when training is worse than not training at all.

    An epoch is *diverged* when either

    * its training cost (with the penalties) is above ``factor`` × C₀, where C₀ is the
      cost of the untrained network, measured before the first step on up to
      ``sample`` training examples: gradient descent has made the cost worse, not
      better (a healthy run's first epoch is already well below C₀); or
    * for a classifier with validation data, once the run has taken ``min_steps``
      mini-batch steps, its validation accuracy is at chance — no better than always
      answering the most common validation class, plus ``margin`` — while the weights
      have grown to more than ``growth`` × their initial norm ‖w₀‖.  (A deep sigmoid
      net that learns slowly, the book's chapter 5, also sits at chance for epochs,
      but with its weights where they started.)

    Training stops after ``patience`` diverged epochs in a row, or at the end of a
    shorter run whose every epoch diverged, before anything is saved.
    """

    def __init__(self, patience: int = 3, factor: float = 2.0, margin: float = 0.02, growth: float = 3.0,
                 min_steps: int = 500, sample: int = 1000):
        self.patience = validation.whole("divergence patience", patience, low=1)
        self.factor = validation.number("divergence factor", factor, 1.0)
        self.margin = validation.number("divergence margin", margin, 0.0, 1.0)
        self.growth = validation.number("divergence growth", growth, 1.0)
        self.min_steps = validation.whole("divergence min_steps", min_steps, low=0)
        self.sample = validation.whole("divergence sample", sample, low=1)
        self.initial_cost = None       # C₀ and ‖w₀‖, kept across a resumed run
        self.initial_norm = None
        self.diverged = 0              # diverged epochs in a row
        self.reason = None             # why the latest diverged epoch was one
        self.chance = None

    def on_train_begin(self):
        if self.initial_cost is None:
            self.initial_cost, self.initial_norm = self.untrained_cost(), self.weight_norm()
        self.chance = self.chance_accuracy()

    def untrained_cost(self) -> float:
        """C₀: the model's cost (with penalties) on the first ``sample`` training examples, as they are now."""
        source = self.trainer.source
        x, y = source.batch(numpy.arange(min(self.sample, len(source))), numpy.random.default_rng(0))
        return float(self.model.evaluate(x, y)["cost"])

    def weight_norm(self) -> float:
        """‖w‖: the Euclidean norm of all the network's parameters together."""
        return math.sqrt(sum(float(numpy.vdot(p.value, p.value)) for p in self.model.network.params))

    def chance_accuracy(self):
        """The validation accuracy of always answering the most common class (None if not a classifier)."""
        from nndl.models import BinaryClassifier, Classifier

        data = self.trainer.validation_data
        if data is None or not isinstance(self.model, (Classifier, BinaryClassifier)):
            return None
        labels = numpy.asarray(data[1])
        if isinstance(self.model, BinaryClassifier):
            share = float(labels.mean())
            return max(share, 1.0 - share)
        return float(numpy.bincount(labels.astype(numpy.int64)).max() / len(labels))

    def on_epoch_end(self, epoch, record):
        self.reason = self.diverged_because(record)
        self.diverged = self.diverged + 1 if self.reason else 0
        if self.diverged >= self.patience:
            self.stop(epoch)

    def diverged_because(self, record) -> str | None:
        """Why this epoch counts as diverged, or None."""
        cost = record.get("training_cost")
        if cost is not None and self.initial_cost is not None and cost > self.factor * self.initial_cost:
            return (f"the training cost ({cost:.4g}) is above {self.factor:g}× the untrained network's "
                    f"({self.initial_cost:.4g})")
        accuracy = record.get("validation_accuracy")
        steps = self.trainer.epoch * self.trainer.batches_per_epoch
        if accuracy is None or self.chance is None or steps < self.min_steps or accuracy > self.chance + self.margin:
            return None
        growth = self.weight_norm() / self.initial_norm if self.initial_norm else 0.0
        if growth <= self.growth:
            return None
        return (f"the validation accuracy ({100 * accuracy:.2f}%) is at chance level (always answering the most "
                f"common class gives {100 * self.chance:.2f}%) while the weights grew {growth:.0f}× from their "
                f"initial size")

    def on_train_end(self, final):
        if self.diverged and self.diverged == self.trainer.epoch:
            self.stop(self.trainer.epoch)

    def stop(self, epoch: int):
        span = f"epoch {epoch}" if self.diverged == 1 else f"epochs {epoch - self.diverged + 1}-{epoch}"
        raise TrainingDiverged(f"training diverged: {self.reason} in {span}; training stopped, nothing "
                               f"saved{_advice(self.model)}")

    def state(self):
        return {"initial_cost": self.initial_cost, "initial_norm": self.initial_norm, "diverged": self.diverged,
                "reason": self.reason}

    def load_state(self, state):
        self.initial_cost, self.initial_norm = state.get("initial_cost"), state.get("initial_norm")
        self.diverged = int(state.get("diverged", 0))
        self.reason = state.get("reason")

    def __repr__(self):
        return f"DivergenceGuard(patience={self.patience}, factor={self.factor:g})"
