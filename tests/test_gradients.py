"""Backprop against finite differences (float64) for every activation × cost, L1/L2 and dropout."""
import numpy as np
import pytest

from nndl.gradcheck import THRESHOLD, check_gradients
from nndl.layers import ActivationLayer, Dense, Dropout
from nndl.network import Network
from nndl.optim import L1, L2

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
OUTPUT_COST = [("sigmoid", "quadratic"), ("tanh", "quadratic"), ("linear", "quadratic"),
               ("softmax", "quadratic"), ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"),
               ("softmax", "log_likelihood"), ("sigmoid", "log_likelihood")]


def _batch(rng, n_in=5, classes=3, n=7):
    return rng.standard_normal((n, n_in)), rng.integers(0, classes, n)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output,cost", OUTPUT_COST)
def test_every_activation_and_cost(hidden, output, cost, rng):
    net = Network.from_sizes([5, 4, 4, 3], activation=hidden, output_activation=output, cost=cost,
                             dtype=np.float64, seed=3)
    errors = check_gradients(net, *_batch(rng))
    assert max(errors.values()) < THRESHOLD, errors


@pytest.mark.parametrize("regularizers", [[L2(2.0)], [L1(2.0)], [L2(1.0), L1(0.5)]],
                         ids=["L2", "L1", "L1+L2"])
def test_regularizers(regularizers, rng):
    net = Network.from_sizes([5, 6, 3], activation="tanh", cost="cross_entropy", dtype=np.float64, seed=1)
    errors = check_gradients(net, *_batch(rng), regularizers=regularizers)
    assert max(errors.values()) < THRESHOLD, errors


def test_dropout_with_a_fixed_mask(rng):
    net = Network.from_sizes([5, 8, 8, 3], activation="relu", cost="log_likelihood", dropout=0.4,
                             dtype=np.float64, seed=2)
    errors = check_gradients(net, *_batch(rng))
    assert max(errors.values()) < THRESHOLD, errors


def test_standalone_activation_layer_and_input_gradient(rng):
    # a linear dense, a separate tanh, then the output: checks ActivationLayer.backward and δ W hand-down
    net = Network([Dense(6, activation="linear"), ActivationLayer("tanh"), Dropout(0.0),
                   Dense(3, activation="softmax")], (5,), cost="log_likelihood", dtype=np.float64)
    errors = check_gradients(net, *_batch(rng))
    assert max(errors.values()) < THRESHOLD, errors


def test_a_wrong_backward_is_caught(rng):
    """The check can fail: a dense layer whose BP4 forgets a factor is flagged."""
    net = Network.from_sizes([5, 4, 3], activation="sigmoid", cost="quadratic", dtype=np.float64)
    layer = net.layers[0]
    original = layer.backward_delta

    def broken(delta):
        out = original(delta)
        layer.W.grad = layer.W.grad * 1.5
        return out

    layer.backward_delta = broken
    errors = check_gradients(net, *_batch(rng))
    assert errors["1:dense.W"] > 1e-2
    assert errors["2:dense.W"] < THRESHOLD
