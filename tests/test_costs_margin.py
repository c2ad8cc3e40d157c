"""The costs of the course notes: hinge and logistic on ±1 labels, the multiclass max-margin costs
(Weston–Watkins, Crammer–Singer), L1 and Huber — values by hand, derivatives against finite
differences (float64), their checks of the targets, and learning with them from the command line."""
import json

import numpy as np
import pytest
from test_cli import nndl

from nndl.costs import get_cost
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, check_gradients
from nndl.layers import Dense
from nndl.models import BinaryClassifier
from nndl.network import Network

BINARY = ["hinge", "logistic"]
MULTI = ["multiclass_hinge", "crammer_singer"]
REGRESSION = ["l1", "huber"]


def _numerical(cost, a, y, eps=1e-6):
    """∂(N·C)/∂a by central differences (C is the batch mean, the derivative per example)."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        plus = cost.fn(a, y)
        a[i] = old - eps
        minus = cost.fn(a, y)
        a[i] = old
        g[i] = (plus - minus) / (2 * eps) * len(a)
    return g


def _targets(name, rng, n=9):
    if name in BINARY:
        return rng.standard_normal((n, 1)) * 2, rng.integers(0, 2, (n, 1)).astype(float)
    if name in MULTI:
        return rng.standard_normal((n, 4)), np.eye(4)[rng.integers(0, 4, n)]
    return rng.standard_normal((n, 3)) * 2, rng.standard_normal((n, 3))


@pytest.mark.parametrize("name", BINARY + MULTI + REGRESSION)
def test_derivative_against_finite_differences(name, rng):
    cost = get_cost(name)
    a, y = _targets(name, rng)
    assert np.allclose(cost.derivative(a, y), _numerical(cost, a, y), atol=1e-6)


@pytest.mark.parametrize("name", BINARY + MULTI + REGRESSION)
def test_through_a_network(name, rng):
    outputs = {**dict.fromkeys(BINARY, 1), **dict.fromkeys(MULTI, 4)}.get(name, 3)
    net = Network([Dense(6, activation="tanh"), Dense(outputs, activation="linear")], (5,), cost=name,
                  dtype=np.float64, seed=3)
    x = rng.standard_normal((8, 5))
    _, y = _targets(name, rng, 8)
    errors = check_gradients(net, x, y, max_entries=None)
    assert max(errors.values()) < THRESHOLD, errors


def test_values_by_hand():
    a, y = np.array([[3.2, 5.1, -1.7]]), np.array([[1.0, 0.0, 0.0]])
    assert get_cost("svm").fn(a, y) == pytest.approx(2.9)              # CS231n's example: 2.9 + 0
    assert get_cost("crammer_singer").fn(a, y) == pytest.approx(2.9)   # only the strongest wrong class
    a2 = np.array([[3.2, 2.5, 3.0]])
    assert get_cost("multiclass_hinge").fn(a2, y) == pytest.approx(0.3 + 0.8)
    assert get_cost("crammer_singer").fn(a2, y) == pytest.approx(0.8)
    scores, labels = np.array([[2.0], [0.5], [-0.5]]), np.array([[1.0], [1.0], [1.0]])
    assert get_cost("hinge").fn(scores, labels) == pytest.approx((0 + 0.5 + 1.5) / 3)
    assert get_cost("hinge").fn(scores, -labels) == get_cost("hinge").fn(scores, 0 * labels)   # −1 and 0 agree
    assert get_cost("logistic").fn(np.array([[1000.0]]), np.array([[0.0]])) == pytest.approx(1000.0)  # finite
    d = np.array([[0.5, -3.0]])
    assert get_cost("huber").fn(d, np.zeros_like(d)) == pytest.approx(0.125 + 2.5)
    assert get_cost("l1").fn(d, np.zeros_like(d)) == pytest.approx(3.5)


def test_hinge_checks_its_labels():
    cost = get_cost("hinge")
    assert cost.check_targets(np.array([-1, 1, 1]), "binary", "t").tolist() == [0, 1, 1]
    with pytest.raises(NndlError, match="needs labels ±1.*got 2"):
        cost.check_targets(np.array([1, 2]), "binary", "training data")
    with pytest.raises(NndlError, match="two classes.*3 classes.*multiclass_hinge"):
        cost.check_targets(np.array([0, 1, 2]), "classification", "training data")
    with pytest.raises(NndlError, match="regression targets"):
        cost.check_targets(np.array([0.3, 1.2]), "regression", "training data")


def test_a_linear_svm_learns_a_separable_set(rng):
    from nndl.optim import SGD
    from nndl.trainer import Trainer

    x = rng.standard_normal((400, 2))
    t = np.where(x @ [1.0, -2.0] + 0.3 > 0, 1, -1)
    net = Network([Dense(1, activation="linear")], (2,), cost="hinge", seed=0)
    model = BinaryClassifier(net, SGD(0.1))
    Trainer(20, verbose=False).fit(model, (x, t), 20)
    assert (model.predict_classes(x) == (t > 0)).mean() >= 0.97
    assert [m.name for m in model.metrics] == ["accuracy"]


def test_hinge_and_svm_from_the_command_line(data_file, tmp_path):
    r = nndl("train", "--data", data_file("breast-cancer/breast_cancer.csv"), "--cost", "hinge", "--epochs", "10",
             "--eta", "0.05", "--json", "--out", tmp_path / "svm.npz", "--threads", "1")
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout.splitlines()[-1])
    assert final["test_accuracy"] > 0.93 and "test_log_loss" not in final
    r = nndl("train", "--data", data_file("iris/iris.csv"), "--cost", "svm", "--layers", "4,10,3", "--epochs", "60",
             "--eta", "0.05", "--json", "--out", tmp_path / "iris.npz", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["test_accuracy"] >= 0.9


def test_hinge_on_three_classes_is_one_line(data_file, tmp_path):
    r = nndl("train", "--data", data_file("iris/iris.csv"), "--cost", "hinge", "--out", tmp_path / "m.npz")
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "hinge cost needs two classes" in errors[0] and "3 classes" in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "m.npz").exists()
