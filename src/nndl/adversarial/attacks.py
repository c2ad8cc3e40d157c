"""One attack, checked once: its method, ε, steps, norm and target, and how it runs over a data set.

    attack = Attack("pgd", eps=0.3, steps=40, step=0.01)
    x_adv = attack(model, x, labels, rng)          # a PixelClassifier, a pixel batch
    figures = attack.evaluate(model, x, labels)    # accuracy and confidence under attack

Every bad value is a one-line NndlError when the attack is made, before any work: ε < 0 or
larger than the pixel range (L∞: high − low; L2: (high − low)·√D, checked when D is known),
steps ≤ 0, a step α ≤ 0, a target class outside the model's classes (checked by :meth:`check`).
"""
from __future__ import annotations

import math

import numpy

from nndl import validation
from nndl.adversarial.fgsm import fgsm
from nndl.adversarial.pgd import NORMS, pgd
from nndl.backend import to_device, to_numpy
from nndl.errors import NndlError

METHODS = ("fgsm", "pgd")


class Attack:
    """FGSM or PGD with its settings.

    Parameters
    ----------
    method : "fgsm" or "pgd"
    eps : float
        ε ≥ 0, at most the pixel range (L∞) or range·√D (L2).
    steps : int, optional
        PGD's K ≥ 1 (default 40); FGSM is one step and takes none.
    step : float, optional
        PGD's α > 0 (default 2.5 ε / K).
    norm : "linf" or "l2"
        FGSM is L∞ only.
    target : int, optional
        A targeted attack towards this class.
    random_start : bool
        PGD starts at a random point of the ball (default True).
    low, high : float
        The pixel range.
    """

    def __init__(self, method: str = "fgsm", eps: float = 0.25, steps=None, step=None, norm: str = "linf",
                 target=None, random_start: bool = True, low: float = 0.0, high: float = 1.0):
        self.method = validation.choice("attack method", str(method).strip().lower(), METHODS)
        self.norm = validation.choice("norm", str(norm).strip().lower().replace("∞", "inf"), NORMS)
        self.low, self.high = float(low), float(high)
        self.eps = validation.number("eps (ε)", eps, low=0.0)
        if self.norm == "linf" and self.eps > self.high - self.low:
            raise NndlError(f"eps (ε)={self.eps} is larger than the pixel range [{self.low:g}, {self.high:g}]: an "
                            f"L∞ ball that wide allows any image")
        if self.method == "fgsm":
            if steps not in (None, 1):
                raise NndlError(f"fgsm is one step; --steps {steps} goes with --method pgd")
            if self.norm != "linf":
                raise NndlError("fgsm is the L∞ attack (ε · sign ∇ₓC); use --method pgd for --norm l2")
            self.steps = 1
        else:
            self.steps = validation.whole("steps", 40 if steps is None else steps, low=1)
        self.step = None if step is None else validation.number("step (α)", step, low=0.0, low_open=True)
        self.target = None if target is None else validation.whole("target class", target, low=0)
        self.random_start = bool(random_start)

    def check(self, model, example_shape=None) -> None:
        """One line if the target is not one of ``model``'s classes, or an L2 ε exceeds the image's
        diameter (range·√D, D pixels per example)."""
        if self.target is not None and self.target >= model.classes:
            raise NndlError(f"target class {self.target} is not one of the model's classes 0..{model.classes - 1}")
        if self.norm == "l2" and example_shape is not None:
            d = int(numpy.prod(example_shape))
            if self.eps > (self.high - self.low) * math.sqrt(d):
                raise NndlError(f"eps (ε)={self.eps} is larger than the L2 diameter of the pixel range, "
                                f"{(self.high - self.low) * math.sqrt(d):.4g} for {d} pixels")

    @property
    def alpha(self) -> float:
        """The step size α actually used."""
        if self.method == "fgsm":
            return self.eps
        return 2.5 * self.eps / self.steps if self.step is None else self.step

    def with_eps(self, eps: float) -> "Attack":
        """The same attack at another ε (a robustness curve's points)."""
        return Attack(self.method, eps, None if self.method == "fgsm" else self.steps, self.step, self.norm,
                      self.target, self.random_start, self.low, self.high)

    def __call__(self, model, x, labels, rng=None):
        """Adversarial examples for pixel batch ``x`` with true classes ``labels`` (a new array)."""
        if self.method == "fgsm":
            return fgsm(model, x, labels, self.eps, self.target)
        return pgd(model, x, labels, self.eps, self.steps, self.alpha, self.norm, self.random_start,
                   self.target, rng)

    def run(self, model, x, labels, batch_size: int = 500, seed: int = 0):
        """The attack over a whole data set in batches: adversarial examples (host array)."""
        rng = numpy.random.default_rng(seed)
        out = numpy.empty(x.shape, dtype=model.network.dtype)
        for i in range(0, len(x), batch_size):
            xb = to_device(numpy.asarray(x[i:i + batch_size], dtype=model.network.dtype))
            out[i:i + batch_size] = to_numpy(self(model, xb, to_device(numpy.asarray(labels[i:i + batch_size])), rng))
        return out

    def evaluate(self, model, x, labels, batch_size: int = 500, seed: int = 0) -> dict:
        """Accuracy, error and confidence on clean and attacked examples, and the adversarial examples."""
        labels = numpy.asarray(labels)
        x_adv = self.run(model, x, labels, batch_size, seed)
        clean, adv = model.outputs(x), model.outputs(x_adv)
        figures = {**self.settings(), "examples": len(labels),
                   **summary(clean, labels, "clean"), **summary(adv, labels, "adversarial"),
                   "max_linf": float(numpy.abs((x_adv - x).reshape(len(x), -1)).max()) if len(x) else 0.0,
                   "mean_l2": float(numpy.sqrt(((x_adv - x).reshape(len(x), -1).astype(numpy.float64) ** 2)
                                               .sum(axis=1)).mean()) if len(x) else 0.0}
        if self.target is not None:
            figures["target_success_rate"] = float((adv.argmax(axis=1) == self.target).mean())
        return figures, x_adv, clean, adv

    def settings(self) -> dict:
        s = {"method": self.method, "norm": self.norm, "eps": self.eps, "steps": self.steps, "step": self.alpha}
        if self.method == "pgd":
            s["random_start"] = self.random_start
        if self.target is not None:
            s["target"] = self.target
        return s

    def __repr__(self) -> str:
        return f"Attack({', '.join(f'{k}={v!r}' for k, v in self.settings().items())})"


def summary(outputs, labels, prefix: str) -> dict:
    """Accuracy, error, the mean confidence (the largest output) and its mean over wrong answers."""
    predicted = outputs.argmax(axis=1)
    confidence = outputs.max(axis=1)
    wrong = predicted != labels
    return {f"{prefix}_accuracy": float(1 - wrong.mean()), f"{prefix}_error": float(wrong.mean()),
            f"{prefix}_mean_confidence": float(confidence.mean()),
            f"{prefix}_mean_confidence_wrong": float(confidence[wrong].mean()) if wrong.any() else None}
