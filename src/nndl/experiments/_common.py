"""Helpers the chapters share: MNIST, one training run with the book's SGD, percentages."""
from __future__ import annotations

import time

import numpy

from nndl.experiments.registry import log


def mnist():
    """The book split of MNIST (50,000 / 10,000 / 10,000), decoded once per process."""
    from nndl.data import load_mnist

    return load_mnist(split="book")


def pct(fraction, digits: int = 2):
    """0.95423 -> 95.42 (None stays None)."""
    return None if fraction is None else round(100.0 * float(fraction), digits)


def curve(history, key: str, percent: bool = False) -> list:
    """One column of a History as floats (percentages if asked)."""
    values = history[key]
    return [None if v is None else (100.0 * float(v) if percent else float(v)) for v in values]


def train(net, data, epochs: int, eta: float, *, batch_size: int = 10, lmbda: float = 0.0, validation=None,
          monitor_training: bool = False, seed: int = 0, label: str = ""):
    """Plain mini-batch SGD with optional L2, as network.py / network2.py: returns the History.

    ``data`` and ``validation`` are Datasets or (x, y) pairs; ``lmbda`` is the book's λ
    (the penalty is (λ/2n)Σw² with n the size of ``data``).  Each epoch is logged when
    the command runs verbosely.
    """
    from nndl.callbacks import Evaluate, LambdaCallback
    from nndl.models import Classifier
    from nndl.optim import L2, SGD
    from nndl.trainer import Trainer

    every = max(1, epochs // 10) if epochs > 30 else 1

    def report(trainer, epoch, record):
        if epoch % every and epoch != epochs:
            return
        acc = record.get("validation_accuracy")
        log(f"  {label or 'training'}: epoch {epoch}/{epochs}"
            + (f", accuracy {100 * acc:.2f}%" if acc is not None else "")
            + f", cost {record['training_cost']:.4f}, {record['seconds']:.1f} s")

    callbacks = ([Evaluate(prefix="training")] if monitor_training else []) + [LambdaCallback(on_epoch_end=report)]
    trainer = Trainer(batch_size, callbacks, seed=seed, verbose=False)
    start = time.perf_counter()
    history = trainer.fit(Classifier(net, SGD(eta), [L2(lmbda)] if lmbda else []), data, epochs,
                          validation_data=validation)
    history.final["seconds_total"] = time.perf_counter() - start
    return history


def best(values) -> tuple[float | None, int | None]:
    """The largest value and its 1-based epoch (ties: the earliest)."""
    clean = [(v, i) for i, v in enumerate(values, start=1) if v is not None]
    if not clean:
        return None, None
    value, epoch = max(clean, key=lambda t: (t[0], -t[1]))
    return value, epoch


def rounded(values, digits: int = 4) -> list:
    return [None if v is None else round(float(v), digits) for v in values]


def sklearn_available() -> tuple[bool, str]:
    """Whether scikit-learn imports, and why not."""
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        return False, f"scikit-learn is not installed ({exc.__class__.__name__})"
    return True, ""


def subset(dataset, n: int | None):
    """The first ``n`` examples (all of them if n is None or larger)."""
    if n is None or n >= len(dataset):
        return dataset
    return dataset.subset(n)


def as_float64(x):
    return numpy.asarray(x, dtype=numpy.float64)
