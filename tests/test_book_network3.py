"""The book's chapter 6 interface, nndl.book.network3: translation, shapes, printed lines, L2, data."""
from __future__ import annotations

import re

import numpy as np
import pytest

from nndl.activations import Linear, ReLU as NndlReLU, Sigmoid, Softmax, Tanh
from nndl.augment import ShiftExpanded
from nndl.book import network3
from nndl.book.network3 import (ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer, linear,
                                load_data_shared, sigmoid, tanh)
from nndl.errors import NndlError
from nndl.gradcheck import check_gradients
from nndl.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from nndl.models import Classifier
from nndl.network import Network as NndlNetwork
from nndl.optim import L2

EPOCH = re.compile(r"^Epoch (\d+): validation accuracy (\d+\.\d\d)%$")
BEST = "This is the best validation accuracy to date."
TEST = re.compile(r"^The corresponding test accuracy is (\d+\.\d\d)%$")
FINAL_BEST = re.compile(r"^Best validation accuracy of (\d+\.\d\d)% obtained at iteration (\d+)$")
FINAL_TEST = re.compile(r"^Corresponding test accuracy of (\d+\.\d\d)%$")


def ch6_example(mini_batch_size=10, **kwargs):
    """The book's first convolutional network (chapter 6)."""
    return Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
        FullyConnectedLayer(n_in=20 * 12 * 12, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size, **kwargs)


def dropout_relu_example(mini_batch_size=10):
    """The book's final chapter 6 network: two ReLU conv-pool layers, two dense(1000) layers, dropout 0.5."""
    return Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                      activation_fn=ReLU),
        ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12), filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                      activation_fn=ReLU),
        FullyConnectedLayer(n_in=40 * 4 * 4, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
        FullyConnectedLayer(n_in=1000, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
        SoftmaxLayer(n_in=1000, n_out=10, p_dropout=0.5)], mini_batch_size)


@pytest.fixture(scope="module")
def shared(data_root):
    return load_data_shared()


# --------------------------------------------------------------------------- data
def test_load_data_shared_shapes(shared):
    assert isinstance(shared, list) and len(shared) == 3
    for (x, y), n in zip(shared, (50000, 10000, 10000)):
        assert x.shape == (n, 784) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert [network3.size(d) for d in shared] == [50000, 10000, 10000]


def test_load_data_shared_expanded(shared, data_root):
    for data in (load_data_shared(expanded=True), load_data_shared("../data/mnist_expanded.pkl.gz")):
        train, validation, test = data
        assert isinstance(train, ShiftExpanded) and len(train) == network3.size(train) == 250000
        np.testing.assert_array_equal(validation[1], shared[1][1])
        np.testing.assert_array_equal(test[1], shared[2][1])
        x, y = train.batch(np.array([0, 50000]))           # image 0 and image 0 shifted one pixel down
        np.testing.assert_array_equal(x[0], shared[0][0][0])
        np.testing.assert_array_equal(x[1].reshape(28, 28)[1:], shared[0][0][0].reshape(28, 28)[:-1])
        assert y.tolist() == [shared[0][1][0]] * 2
    # the book's plain file name, or any other, loads the plain set
    assert isinstance(load_data_shared("../data/mnist.pkl.gz")[0], tuple)
    assert isinstance(load_data_shared("../data/mnist_expanded.pkl.gz", expanded=False)[0], tuple)


# --------------------------------------------------------------------------- translation
def test_ch6_example_builds_and_shapes_chain():
    net = ch6_example()
    layers = net.nndl_network.layers
    assert [type(layer) for layer in layers] == [Conv2D, MaxPool2D, Flatten, Dense, Dense]
    assert net.nndl_network.input_shape == (1, 28, 28)
    assert [layer.output_shape for layer in layers] == [(20, 24, 24), (20, 12, 12), (2880,), (100,), (10,)]
    conv, pool, _, hidden, out = layers
    assert conv.kernel_size == (5, 5) and conv.filters == 20 and pool.size == (2, 2)
    assert isinstance(conv.activation, Sigmoid) and isinstance(hidden.activation, Sigmoid)
    assert isinstance(out.activation, Softmax) and net.nndl_network.cost.name == "log_likelihood"
    assert conv.init.name == hidden.init.name == "default"        # N(0, 1/n_in), not the book's 1/n_out
    # the book's attributes: w and b are the network's own arrays, w of a dense layer as (n_in, n_out)
    c, f, s = net.layers
    assert c.w.shape == (20, 1, 5, 5) and c.b.shape == (20,)
    assert f.w.shape == (2880, 100) and f.b.shape == (100,)
    assert s.w.shape == (100, 10) and not s.w.any() and not s.b.any()    # the book's zero softmax layer
    f.w[3, 7] = 42.0
    assert hidden.W.value[7, 3] == 42.0
    assert len(net.params) == 6 and net.params[2] is not None
    assert net.mini_batch_size == 10


def test_conv_pool_activation_before_pooling_is_the_books_function():
    """The book: σ(maxpool(w ∗ x) + b); nndl: maxpool(σ(w ∗ x + b)).  Equal for monotone σ."""
    rng = np.random.default_rng(5)
    x = rng.random((3, 1, 12, 12)).astype(np.float32)
    for fn in (sigmoid, tanh, ReLU, linear):
        net = Network([ConvPoolLayer(image_shape=(3, 1, 12, 12), filter_shape=(4, 1, 3, 3), poolsize=(2, 2),
                                     activation_fn=fn),
                       SoftmaxLayer(n_in=4 * 5 * 5, n_out=10)], 3, seed=1)
        conv_layer = net.layers[0]
        w, b = conv_layer.w.astype(np.float64), conv_layer.b.astype(np.float64)
        conv = np.zeros((3, 4, 10, 10))
        for i in range(10):
            for j in range(10):
                conv[:, :, i, j] = np.einsum("ncpq,fcpq->nf", x[:, :, i:i + 3, j:j + 3], w)
        pooled = conv.reshape(3, 4, 5, 2, 5, 2).max(axis=(3, 5))
        book = {sigmoid: lambda z: 1 / (1 + np.exp(-z)), tanh: np.tanh, ReLU: lambda z: np.maximum(z, 0),
                linear: lambda z: z}[fn](pooled + b[None, :, None, None])
        ours = net.nndl_network.layers[1].forward(net.nndl_network.layers[0].forward(x))
        np.testing.assert_allclose(ours, book, rtol=1e-5, atol=1e-5)


def test_wrong_n_in_names_the_layer_and_shapes():
    with pytest.raises(NndlError) as err:
        Network([ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
                 FullyConnectedLayer(n_in=20 * 10 * 10, n_out=100),
                 SoftmaxLayer(n_in=100, n_out=10)], 10)
    msg = str(err.value)
    assert "\n" not in msg
    assert "layer 2" in msg and "FullyConnectedLayer" in msg and "n_in" in msg
    assert "2000" in msg and "2880" in msg and "(20, 12, 12)" in msg and "ConvPoolLayer" in msg


def test_other_shape_and_argument_errors():
    with pytest.raises(NndlError, match=r"layer 2, ConvPoolLayer.*\(20, 14, 14\).*\(20, 12, 12\)"):
        Network([ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(20, 1, 5, 5)),
                 ConvPoolLayer(image_shape=(10, 20, 14, 14), filter_shape=(40, 20, 5, 5)),
                 SoftmaxLayer(n_in=40 * 5 * 5, n_out=10)], 10)
    with pytest.raises(NndlError, match=r"layer 3, SoftmaxLayer.*n_in.*99.*100"):
        Network([FullyConnectedLayer(n_in=784, n_out=30), FullyConnectedLayer(n_in=30, n_out=100),
                 SoftmaxLayer(n_in=99, n_out=10)], 10)
    with pytest.raises(NndlError, match="last layer must be a SoftmaxLayer"):
        Network([FullyConnectedLayer(n_in=784, n_out=10)], 10)
    with pytest.raises(NndlError, match="input maps"):
        ConvPoolLayer(filter_shape=(20, 3, 5, 5), image_shape=(10, 1, 28, 28))
    with pytest.raises(NndlError, match="larger than"):
        ConvPoolLayer(filter_shape=(20, 1, 5, 5), image_shape=(10, 1, 4, 4))
    with pytest.raises(NndlError, match="activation_fn"):
        FullyConnectedLayer(n_in=10, n_out=10, activation_fn=lambda z: z ** 3)
    with pytest.raises(NndlError, match="p_dropout"):
        SoftmaxLayer(n_in=10, n_out=10, p_dropout=1.0)
    with pytest.raises(NndlError, match="n_out"):
        FullyConnectedLayer(n_in=10, n_out=0)
    with pytest.raises(NndlError, match="layer 1"):
        Network(["dense(30)", SoftmaxLayer(n_in=30, n_out=10)], 10)
    with pytest.raises(NndlError, match="no weights"):
        SoftmaxLayer(n_in=3, n_out=2).w


def test_relu_and_dropout_variants_build():
    net = dropout_relu_example()
    layers = net.nndl_network.layers
    assert [type(layer).__name__ for layer in layers] == [
        "Conv2D", "MaxPool2D", "Conv2D", "MaxPool2D", "Flatten", "Dropout", "Dense", "Dropout", "Dense",
        "Dropout", "Dense"]
    assert [layer.output_shape for layer in layers if isinstance(layer, (MaxPool2D, Dense))] == [
        (20, 12, 12), (40, 4, 4), (1000,), (1000,), (10,)]
    assert all(layer.p == 0.5 for layer in layers if isinstance(layer, Dropout))
    assert all(isinstance(layer.activation, NndlReLU) for layer in layers[:-1] if hasattr(layer, "activation"))
    # tanh and linear, and nndl activations by name, map by identity
    for fn, cls in ((tanh, Tanh), (linear, Linear), ("relu", NndlReLU), (np.tanh, Tanh)):
        assert isinstance(FullyConnectedLayer(n_in=4, n_out=4, activation_fn=fn).activation, cls)
    # a dropout net trains a step and evaluates without dropout
    rng = np.random.default_rng(0)
    x = rng.random((20, 784), dtype=np.float32)
    y = rng.integers(0, 10, 20)
    small = Network([FullyConnectedLayer(n_in=784, n_out=30, activation_fn=ReLU, p_dropout=0.5),
                     SoftmaxLayer(n_in=30, n_out=10, p_dropout=0.2)], 10)
    assert [type(layer) for layer in small.nndl_network.layers] == [Dropout, Dense, Dropout, Dense]
    small.SGD((x, y), 1, 10, 0.1, (x, y), (x, y))
    assert small.history.records[-1]["epoch"] == 1
    a1 = small.nndl_network.predict_proba(x)
    np.testing.assert_array_equal(a1, small.nndl_network.predict_proba(x))      # deterministic at test time


def test_translated_network_backprop_is_right():
    """Gradient check of a small translated conv net with dropout and L2, in float64."""
    net = Network([ConvPoolLayer(image_shape=(4, 1, 8, 8), filter_shape=(3, 1, 3, 3), poolsize=(2, 2),
                                 activation_fn=tanh),
                   FullyConnectedLayer(n_in=3 * 3 * 3, n_out=6, activation_fn=sigmoid, p_dropout=0.3),
                   SoftmaxLayer(n_in=6, n_out=4)], 4, seed=2)
    net64 = NndlNetwork.from_config(net.nndl_network.config(), dtype=np.float64)
    rng = np.random.default_rng(1)
    for p in net64.params:
        p.value[...] = rng.normal(0, 0.5, p.value.shape)     # nonzero softmax weights, so every layer gets a gradient
    x = rng.random((4, 64))
    errors = check_gradients(net64, x, rng.integers(0, 4, 4), regularizers=[L2(network3.nndl_lmbda(0.5, 9, 4))])
    assert errors and max(errors.values()) < 1e-6, errors


# --------------------------------------------------------------------------- L2
def test_nndl_lmbda_is_the_books_scaling():
    assert network3.nndl_lmbda(0.1, 50000, 10) == pytest.approx(1.0)     # lmbda·m when m divides n
    assert network3.nndl_lmbda(0.1, 250000, 10) == pytest.approx(1.0)
    assert network3.nndl_lmbda(1.0, 10, 4) == pytest.approx(5.0)        # n / (n // m): 10 / 2
    assert network3.nndl_lmbda(2.0, 3, 10) == pytest.approx(6.0)        # one (short) mini-batch
    # the L2 gradient term equals the book's lmbda·w / num_training_batches
    w = np.random.default_rng(0).normal(size=(5, 3))
    lmbda, n, m = 0.1, 50000, 10
    np.testing.assert_allclose(L2(network3.nndl_lmbda(lmbda, n, m)).gradient(w, n), lmbda * w / (n // m))


def test_lmbda_gives_the_books_update():
    """SGD with lmbda against the book's update w → w − η (∇C₀ + lmbda·w/num_training_batches), by hand.

    All examples are the same image and label, so the order of the mini-batches does not
    matter; n = 10, m = 4 gives num_training_batches = 2 (not n/m = 2.5): three steps.
    """
    rng = np.random.default_rng(3)
    x1 = rng.random(4).astype(np.float32)
    n, m, eta, lmbda, label = 10, 4, 0.5, 0.7, 1
    x, y = np.tile(x1, (n, 1)), np.full(n, label)
    net = Network([SoftmaxLayer(n_in=4, n_out=3)], m)
    W, b = net.layers[0].w.astype(np.float64).copy(), net.layers[0].b.astype(np.float64).copy()   # zeros
    W += rng.normal(size=W.shape)                    # start away from zero so the decay shows from step 1
    net.layers[0].w[...] = W
    onehot = np.eye(3)[label]
    for _ in range(3):                                # batches of 4, 4, 2: each the mean of equal gradients
        z = x1 @ W + b
        a = np.exp(z - z.max())
        a /= a.sum()
        delta = a - onehot                            # log-likelihood with softmax
        W = W - eta * (np.outer(x1, delta) + lmbda * W / (n // m))
        b = b - eta * delta
    net.SGD((x, y), 1, m, eta, (x, y), None, lmbda=lmbda)
    np.testing.assert_allclose(net.layers[0].w, W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.layers[0].b, b, rtol=1e-5, atol=1e-6)
    assert net.best_iteration == 2


# --------------------------------------------------------------------------- training and printing
def test_sgd_prints_the_books_lines_and_learns(shared, capsys):
    (tx, ty), (vx, vy), (ex, ey) = shared
    net = Network([ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                                 activation_fn=ReLU),
                   SoftmaxLayer(n_in=20 * 12 * 12, n_out=10)], 10)
    net.SGD((tx[:2000], ty[:2000]), 1, 10, 0.1, (vx[:500], vy[:500]), (ex[:500], ey[:500]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Training mini-batch number 0"
    assert EPOCH.match(lines[1]) and EPOCH.match(lines[1]).group(1) == "0"
    assert lines[2] == BEST
    assert TEST.match(lines[3])
    assert lines[4] == "Finished training network."
    best = FINAL_BEST.match(lines[5])
    assert best and best.group(1) == EPOCH.match(lines[1]).group(2) and best.group(2) == "199"
    assert FINAL_TEST.match(lines[6]).group(1) == TEST.match(lines[3]).group(1)
    assert len(lines) == 7
    validation = float(EPOCH.match(lines[1]).group(2)) / 100
    assert validation >= 0.80, lines
    assert validation == pytest.approx(net.history.records[-1]["validation_accuracy"], abs=5e-5)
    assert net.best_validation_accuracy == net.history.records[-1]["validation_accuracy"]
    assert net.test_accuracy == pytest.approx(net.accuracy((ex[:500], ey[:500])))
    assert net.best_iteration == 199


def test_sgd_best_so_far_logic_over_epochs(monkeypatch, capsys):
    """The book's bookkeeping, with scripted accuracies: a drop, a tie (>= counts as best), a new best."""
    rng = np.random.default_rng(0)
    x, y = rng.random((30, 784), dtype=np.float32), rng.integers(0, 10, 30)
    validation, test = (x[:20], y[:20]), (x[:7], y[:7])
    net = Network([FullyConnectedLayer(n_in=784, n_out=5), SoftmaxLayer(n_in=5, n_out=10)], 10)
    validation_accuracies, test_accuracies = iter([0.5, 0.4, 0.5, 0.625]), iter([0.125, 0.25, 0.375])
    monkeypatch.setattr(Classifier, "evaluate",       # the trainer's validation pass, once per epoch
                        lambda self, xs, labels, *a: {"cost": 1.0, "accuracy": next(validation_accuracies)})
    monkeypatch.setattr(net.nndl_network, "evaluate", lambda xs, labels, *a: (1.0, next(test_accuracies)))
    monkeypatch.setattr(network3, "REPORT_EVERY", 4)
    net.SGD((x, y), 4, 10, 0.1, validation, test)
    assert capsys.readouterr().out.splitlines() == [
        "Training mini-batch number 0",
        "Epoch 0: validation accuracy 50.00%",
        BEST,
        "The corresponding test accuracy is 12.50%",
        "Training mini-batch number 4",
        "Epoch 1: validation accuracy 40.00%",
        "Training mini-batch number 8",
        "Epoch 2: validation accuracy 50.00%",
        BEST,
        "The corresponding test accuracy is 25.00%",
        "Epoch 3: validation accuracy 62.50%",
        BEST,
        "The corresponding test accuracy is 37.50%",
        "Finished training network.",
        "Best validation accuracy of 62.50% obtained at iteration 11",
        "Corresponding test accuracy of 37.50%",
    ]
    assert (net.best_validation_accuracy, net.best_iteration, net.test_accuracy) == (0.625, 11, 0.375)


def test_sgd_without_test_data_or_epochs(shared, capsys):
    (tx, ty), (vx, vy), _ = shared
    net = ch6_example(seed=1)
    net.SGD((tx[:30], ty[:30]), 2, 10, 0.1, (vx[:10], vy[:10]), None)
    lines = capsys.readouterr().out.splitlines()
    assert not any(TEST.match(line) or FINAL_TEST.match(line) for line in lines)
    assert lines[-2] == "Finished training network." and FINAL_BEST.match(lines[-1])
    net.SGD((tx[:30], ty[:30]), 0, 10, 0.1, (vx[:10], vy[:10]), [])
    assert capsys.readouterr().out.splitlines() == ["Finished training network."]


def test_sgd_on_the_expanded_source(shared, capsys):
    (tx, ty), (vx, vy), _ = shared
    source = ShiftExpanded(tx[:100], ty[:100])                # flat rows; the conv net needs images
    net = Network([ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(4, 1, 5, 5), poolsize=(2, 2),
                                 activation_fn=ReLU),
                   SoftmaxLayer(n_in=4 * 12 * 12, n_out=10)], 10)
    net.SGD(source, 1, 10, 0.1, (vx[:50], vy[:50]), None, lmbda=0.1)
    out = capsys.readouterr().out
    assert "Epoch 0: validation accuracy" in out
    assert net.best_iteration == 49                           # 500 examples in mini-batches of 10


def test_sgd_data_errors(shared):
    (tx, ty), (vx, vy), _ = shared
    net = ch6_example()
    with pytest.raises(NndlError, match="validation data"):
        net.SGD((tx[:20], ty[:20]), 1, 10, 0.1, None, None)
    with pytest.raises(NndlError, match="784"):
        net.SGD((tx[:20, :700], ty[:20]), 1, 10, 0.1, (vx[:10], vy[:10]), None)
    with pytest.raises(NndlError, match="lmbda"):
        net.SGD((tx[:20], ty[:20]), 1, 10, 0.1, (vx[:10], vy[:10]), None, lmbda=-1)


@pytest.mark.slow
def test_ch6_example_one_epoch_on_all_of_mnist(shared, capsys):
    """The book's first conv net, its settings (η = 0.1, m = 10), one epoch of 50,000 images (~30 s)."""
    training_data, validation_data, test_data = shared
    net = ch6_example()
    net.SGD(training_data, 1, 10, 0.1, validation_data, test_data)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [f"Training mini-batch number {i}" for i in range(0, 5000, 1000)]
    assert FINAL_BEST.match(lines[-2]).group(2) == "4999"
    assert net.best_validation_accuracy >= 0.90 and net.test_accuracy >= 0.90


def test_mini_batch_size_and_epochs_are_whole_numbers():
    layers = lambda: [FullyConnectedLayer(n_in=4, n_out=3), SoftmaxLayer(n_in=3, n_out=2)]   # noqa: E731
    with pytest.raises(NndlError, match="mini_batch_size=3.0"):
        Network(layers(), 3.0)
    net = Network(layers(), 3)
    x, y = np.zeros((6, 4), np.float32), np.arange(6) % 2
    with pytest.raises(NndlError, match="mini_batch_size=3.0"):
        net.SGD((x, y), 1, 3.0, 0.1, (x, y))
    with pytest.raises(NndlError, match="epochs=2.5"):
        net.SGD((x, y), 2.5, 3, 0.1, (x, y))
