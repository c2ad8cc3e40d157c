"""Model kinds beyond the book's classifier: regression, binary and multi-label outputs, reconstruction;
their targets, their metrics, their bad input."""
from __future__ import annotations

import numpy as np
import pytest

from nndl.callbacks import EarlyStopping, LambdaCallback
from nndl.errors import NndlError
from nndl.layers import Dense
from nndl.metrics import R2, Accuracy, LogLoss, MeanAbsoluteError, MeanSquaredError, TopK, get_metric
from nndl.models import Autoencoder, BinaryClassifier, Classifier, MultiLabelClassifier, Regressor, model_for_task
from nndl.network import Network
from nndl.optim import SGD, Adam
from nndl.preprocessing import Standardize
from nndl.trainer import Trainer


def _fit(model, data, epochs, batch_size=10, **kw):
    return Trainer(batch_size, verbose=False, **kw).fit(model, data, epochs)


# -- metrics against their formulas -------------------------------------------------------------------
def test_metrics_match_their_formulas_whatever_the_batches(rng):
    a, y = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    want = {"mse": ((a - y) ** 2).mean(), "mae": np.abs(a - y).mean(),
            "r2": np.mean(1 - ((y - a) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0))}
    for metric in (MeanSquaredError(), MeanAbsoluteError(), R2()):
        for cut in (50, 7, 1):
            metric.reset()
            for i in range(0, 50, cut):
                metric.update(a[i:i + cut], y[i:i + cut])
            assert metric.result() == pytest.approx(want[metric.name], rel=1e-12)


def test_classification_metrics(rng):
    p = rng.random((40, 5))
    p /= p.sum(axis=1, keepdims=True)
    labels = rng.integers(0, 5, 40)
    onehot = np.eye(5)[labels]
    acc, top2, loss = Accuracy(), TopK(2), LogLoss()
    for m in (acc, top2, loss):
        m.update(p, onehot)
    assert acc.result() == pytest.approx((p.argmax(1) == labels).mean())
    assert top2.result() == pytest.approx(np.mean([labels[i] in np.argsort(-p[i])[:2] for i in range(40)]))
    assert loss.result() == pytest.approx(-np.log(p[np.arange(40), labels]).mean())
    assert get_metric("top_k(3)").name == "top_3_accuracy" and get_metric("R2").name == "r2"
    with pytest.raises(NndlError, match="unknown metric 'f1'"):
        get_metric("f1")


# -- regression -------------------------------------------------------------------------------------------
def _linear_problem(rng, n=400):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.5], [2.0, 1.0]]) + [3.0, -1.0]).astype(np.float32)
    return x, y


def test_a_regressor_learns_a_linear_map(rng):
    x, y = _linear_problem(rng)
    net = Network([Dense(16, activation="tanh"), Dense(2, activation="linear")], (4,), cost="quadratic", seed=0)
    model = Regressor(net, Adam(0.01))
    _fit(model, (x[:300], y[:300]), 60)
    figures = model.evaluate(x[300:], y[300:])
    assert set(figures) == {"cost", "mse", "mae", "r2"}
    assert figures["r2"] > 0.97, figures


def test_a_regressor_reports_in_the_targets_own_units(rng):
    """Targets standardized for training; metrics and predictions mapped back (a = a'σ + μ)."""
    x, y = _linear_problem(rng)
    y = 100.0 * y + 500.0
    scale = Standardize().fit(y[:300])
    net = Network([Dense(16, activation="tanh"), Dense(2, activation="linear")], (4,), cost="quadratic", seed=0)
    net.target_preprocessor = scale
    model = Regressor(net, Adam(0.01))
    _fit(model, (x[:300], scale.transform(y[:300])), 60)
    figures = model.evaluate(x[300:], scale.transform(y[300:]))
    predicted = model.predict(x[300:])
    assert figures["mae"] == pytest.approx(np.abs(predicted - y[300:]).mean(), rel=1e-4)
    assert figures["mae"] > 1.0 and figures["r2"] > 0.97           # in the data's units, not standardized ones


def test_regression_targets_are_checked_before_training(rng):
    net = Network([Dense(2, activation="linear")], (4,), cost="quadratic")
    x = rng.standard_normal((10, 4)).astype(np.float32)
    for y, message in [(np.zeros((10, 3)), r"targets have shape \(3,\) per example but the network outputs \(2,\)"),
                       (np.zeros(10, np.int64), r"\(\) per example .* \(class labels: use a Classifier"),
                       (np.array(["a"] * 10), "targets must be numbers"),
                       (np.full((10, 2), np.nan), "NaN or infinity")]:
        with pytest.raises(NndlError, match=message):
            _fit(Regressor(net), (x, y), 1)


# -- classification with one or many sigmoid outputs ----------------------------------------------------------
def test_a_binary_classifier_learns_with_one_sigmoid(rng):
    x = rng.standard_normal((300, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    net = Network([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")], (2,), cost="cross_entropy", seed=0)
    model = BinaryClassifier(net, SGD(0.5))
    _fit(model, (x[:200], y[:200]), 20)
    figures = model.evaluate(x[200:], y[200:])
    assert set(figures) == {"cost", "accuracy", "log_loss"} and figures["accuracy"] > 0.95
    np.testing.assert_array_equal(model.predict_classes(x[200:]) == y[200:],
                                  (net.predict_proba(x[200:])[:, 0] > 0.5) == y[200:])
    with pytest.raises(NndlError, match="binary targets must be 0 or 1, got 2"):
        _fit(model, (x[:3], np.array([0, 1, 2])), 1)
    with pytest.raises(NndlError, match="one output neuron, this network has 2"):
        BinaryClassifier(Network.from_sizes([2, 2]))


def test_a_multilabel_classifier_learns_independent_labels(rng):
    x = rng.standard_normal((400, 3)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] > 0.5, x[:, 0] + x[:, 2] > 0], axis=1).astype(np.float32)
    net = Network([Dense(12, activation="tanh"), Dense(3, activation="sigmoid")], (3,), cost="cross_entropy", seed=0)
    model = MultiLabelClassifier(net, SGD(0.5))
    _fit(model, (x[:300], y[:300]), 30)
    assert model.evaluate(x[300:], y[300:])["accuracy"] > 0.93
    with pytest.raises(NndlError, match=r"shape \(N, 3\) for the network's 3 outputs, got \(300,\)"):
        _fit(model, (x[:300], y[:300, 0]), 1)


def test_classifier_labels_are_checked():
    net = Network.from_sizes([2, 3])
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(NndlError, match=r"1-D array of class indices, got shape \(4,\) of float64 \(real-valued"):
        _fit(Classifier(net), (x, np.zeros(4)), 1)


# -- reconstruction ---------------------------------------------------------------------------------------------
def test_an_autoencoder_learns_to_reconstruct(rng):
    codes = rng.standard_normal((300, 2))
    x = np.tanh(codes @ rng.standard_normal((2, 8))).astype(np.float32)        # data on a 2-D surface
    net = Network([Dense(2, activation="linear"), Dense(8, activation="tanh")], (8,), cost="quadratic", seed=0)
    model = Autoencoder(net, Adam(0.02))
    start = model.evaluate(x, None)["mse"]
    history = _fit(model, x, 40)                                                  # inputs alone: no labels needed
    assert model.evaluate(x, None)["mse"] < 0.2 * start
    assert history["training_cost"][-1] < history["training_cost"][0]
    with pytest.raises(NndlError, match="output must have the input's size"):
        Autoencoder(Network.from_sizes([8, 3]))


def test_tasks_by_name():
    assert model_for_task("Multi-Label") is MultiLabelClassifier and model_for_task("regression") is Regressor
    with pytest.raises(NndlError, match="unknown task 'ranking'"):
        model_for_task("ranking")


# -- early stopping on a figure that shrinks ----------------------------------------------------------------------
def test_early_stopping_on_a_min_mode_figure_stops_and_restores(rng):
    x, y = _linear_problem(rng, 200)
    net = Network([Dense(32, activation="tanh"), Dense(2, activation="linear")], (4,), cost="quadratic", seed=1)
    snapshots = {}
    keep = LambdaCallback(on_epoch_end=lambda t, epoch, r: snapshots.__setitem__(epoch, t.model.network.get_weights()))
    stopper = EarlyStopping("validation_mse", patience=2)
    assert stopper.mode == "min"
    # η far too large at the end: the validation error goes up and the run must stop and roll back.
    rising = LambdaCallback(on_epoch_end=lambda t, epoch, r: setattr(t.model.optimizer, "eta", 0.3 * epoch))
    history = Trainer(10, [stopper, keep, rising], verbose=False).fit(
        Regressor(net, SGD(0.01)), (x[:150], y[:150]), 40, validation_data=(x[150:], y[150:]))
    assert history.final["stop_reason"] == "no improvement in 2 epochs" and len(history) < 40
    best = min(history.records, key=lambda r: r["validation_mse"])
    assert history.final["best_epoch"] == best["epoch"] == len(history) - 2
    for got, want in zip(net.get_weights(), snapshots[best["epoch"]]):
        np.testing.assert_array_equal(got, want)


def test_an_unknown_monitored_figure_is_one_line_before_training(rng):
    x, y = _linear_problem(rng, 40)
    net = Network([Dense(2, activation="linear")], (4,), cost="quadratic")
    steps = []
    count = LambdaCallback(on_batch_end=lambda t, k, logs: steps.append(k))
    with pytest.raises(NndlError, match=r"monitors 'validation_accuracy', which this run does not measure; "
                                        r"choose one of .*validation_mse"):
        Trainer(10, [EarlyStopping("validation_accuracy"), count], verbose=False).fit(
            Regressor(net), (x, y), 2, validation_data=(x, y))
    assert steps == []
