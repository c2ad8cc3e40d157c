"""The engine of issue 10 trains the book's classifiers to the very same bits as the engine before it.

``tests/data/engine_reference.npz`` holds the weights (and per-epoch figures) that the
trainer of commit 065f632 produced for eight small cases — dense nets with every cost,
dropout, batch norm, L1/L2, max-norm, clipping, gradient noise, Rprop, the plateau and
cosine schedules, early stopping with restored weights, a conv net, and a conv net
whose mini-batches are cut between two threads (``record_engine_reference.py`` made
it).  The same cases through ``Classifier`` + ``Trainer`` + callbacks must give
bit-identical weights.  Bits depend on NumPy's BLAS: on another BLAS than the one
recorded, the comparison falls back to a tight tolerance.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from nndl.callbacks import EarlyStopping, LearningRateSchedule
from nndl.models import Classifier
from nndl.trainer import Trainer

HERE = Path(__file__).parent / "data"
REFERENCE = np.load(HERE / "engine_reference.npz")

spec = importlib.util.spec_from_file_location("record_engine_reference", HERE / "record_engine_reference.py")
record = importlib.util.module_from_spec(spec)
spec.loader.exec_module(record)


def train_with_todays_engine(name):
    make, kwargs, epochs, shape = record.cases()[name]
    net = make()
    x, y = record.data(200, shape, 5, seed=11)
    vx, vy = record.data(60, shape, 5, seed=12)
    callbacks = []
    if kwargs.get("early_stopping"):
        callbacks.append(EarlyStopping("validation_accuracy", patience=kwargs["early_stopping"]))
    if kwargs.get("schedule") is not None:
        callbacks.append(LearningRateSchedule(kwargs["schedule"]))
    model = Classifier(net, kwargs["optimizer"], kwargs.get("regularizers", ()), kwargs.get("constraints", ()))
    trainer = Trainer(kwargs["batch_size"], callbacks, threads=1, workers=kwargs.get("workers", "auto"),
                      verbose=False)
    history = trainer.fit(model, (x, y), epochs, validation_data=(vx, vy))
    return net, history


@pytest.mark.parametrize("name", sorted(record.cases()))
def test_classifier_step_gives_the_old_engines_weights(name):
    net, history = train_with_todays_engine(name)
    exact = bytes(REFERENCE["blas"]).decode() == record.blas_fingerprint()
    state = net.get_state()
    assert len(state) == len([k for k in REFERENCE.files if k.startswith(name + "/") and k.split("/")[1].isdigit()])
    for i, value in enumerate(state):
        want = REFERENCE[f"{name}/{i}"]
        if exact:
            np.testing.assert_array_equal(value, want, err_msg=f"{name}: array {i} differs")
        else:
            np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(history["validation_accuracy"], REFERENCE[f"{name}/validation_accuracy"])
    np.testing.assert_allclose(history["training_cost"], REFERENCE[f"{name}/training_cost"],
                               rtol=1e-12 if exact else 1e-6)
