"""Pooling and reshaping layers: gradients, hand-computed values, routing of ties, errors."""
from __future__ import annotations

import numpy as np
import pytest

from oracles import oracle

from nndl.errors import NndlError
from nndl.gradcheck import check_gradients
from nndl.layers import (AvgPool2D, Conv2D, Dense, Flatten, L2Pool2D, MaxPool2D, Reshape, layer_from_config)
from nndl.network import Network

POOLS = [MaxPool2D, AvgPool2D, L2Pool2D]
# (size, stride, map size): tiling, ragged edge, overlapping, gaps between windows
GEOMETRIES = [(2, None, 6), (2, None, 7), (3, None, 6), (3, None, 8), (3, 2, 7), (2, 1, 5), (3, 1, 6), (2, 3, 8)]


def _grad_net(pool, c, size):
    """Dense -> reshape -> pool -> dense: the first layer's gradients check the pooling layer's ∂C/∂x."""
    return Network([Dense(c * size * size, activation="linear", init="large"), Reshape((c, size, size)), pool,
                    Flatten(), Dense(3, activation="softmax")], (5,), cost="log_likelihood", seed=2,
                   dtype=np.float64)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("size, stride, hw", GEOMETRIES)
def test_pool_gradients(cls, size, stride, hw):
    net = _grad_net(cls(size, stride), 2, hw)
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 3, 4)
    errors = check_gradients(net, x, y, max_entries=120)   # random values: no ties in max-pooling
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cls", POOLS)
def test_pool_after_conv_gradients(cls):
    net = Network([Conv2D(3, 3, activation="tanh"), cls(2), Conv2D(2, 2, activation="tanh"), Flatten(),
                   Dense(3, activation="softmax")], (2, 8, 8), cost="log_likelihood", seed=1, dtype=np.float64)
    rng = np.random.default_rng(3)
    errors = check_gradients(net, rng.standard_normal((3, 2, 8, 8)), rng.integers(0, 3, 3), max_entries=80)
    assert max(errors.values()) < 1e-6, errors


X = np.array([[1., 2., 0., -1., 7.],
              [4., 3., 5., 5., 7.],
              [-1., -2., 9., 8., 7.],
              [0., -3., 8., 9., 7.],
              [6., 6., 6., 6., 6.]]).reshape(1, 1, 5, 5)


def _layer(cls, *args, **kwargs):
    layer = cls(*args, **kwargs)
    layer.build(X.shape[1:], None, np.float64)
    return layer


def test_max_pool_values_by_hand():
    a = _layer(MaxPool2D, 2).forward(X)
    np.testing.assert_array_equal(a, [[[[4., 5.], [0., 9.]]]])          # the ragged 5th row/column dropped
    a = _layer(MaxPool2D, 3, 2).forward(X)
    np.testing.assert_array_equal(a, [[[[9., 9.], [9., 9.]]]])
    a = _layer(MaxPool2D, 2, 3).forward(X)
    np.testing.assert_array_equal(a, [[[[4., 7.], [6., 9.]]]])


def test_avg_and_l2_pool_values_by_hand():
    np.testing.assert_allclose(_layer(AvgPool2D, 2).forward(X), [[[[2.5, 2.25], [-1.5, 8.5]]]])
    np.testing.assert_allclose(_layer(L2Pool2D, 2).forward(X),
                               [[[[np.sqrt(30.), np.sqrt(51.)], [np.sqrt(14.), np.sqrt(290.)]]]])


def test_max_pool_routes_gradient_to_one_position_per_window():
    layer = _layer(MaxPool2D, 2)
    layer.forward(X)
    dx = layer.backward(np.array([[[[10., 20.], [30., 40.]]]]))
    expected = np.zeros((5, 5))
    expected[1, 0] = 10.         # [[1, 2], [4, 3]]
    expected[1, 2] = 20.         # [[0, -1], [5, 5]]: a tie, the first 5
    expected[3, 0] = 30.         # [[-1, -2], [0, -3]]
    expected[2, 2] = 40.         # [[9, 8], [8, 9]]: a tie, the first 9 in row-major order
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("size, stride", [(2, None), (3, None), (2, 1), (3, 2)])
def test_max_pool_ties_go_to_the_first_maximum(size, stride):
    """Windows of equal values (blank background) give their gradient to one position, the first."""
    x = np.zeros((2, 3, 6, 6))
    x[:, :, 4, 5] = 1.0                                    # one window with a strict maximum
    layer = MaxPool2D(size, stride)
    layer.build((3, 6, 6), None, np.float64)
    a = layer.forward(x)
    g = np.arange(1, a.size + 1, dtype=np.float64).reshape(a.shape)
    dx = layer.backward(g)
    assert dx.sum() == pytest.approx(g.sum())              # nothing duplicated, nothing lost
    s = stride or size
    ho, wo = a.shape[2:]
    for i in range(ho):
        for j in range(wo):
            window = x[0, 0, i * s:i * s + size, j * s:j * s + size]
            p, q = np.unravel_index(np.argmax(window), window.shape)   # numpy's argmax: the first maximum
            if stride is None:                             # non-overlapping: each window's own gradient
                assert dx[0, 0, i * s + p, j * s + q] == g[0, 0, i, j]
    if stride is None:
        assert np.count_nonzero(dx) == g.size


def test_max_pool_matches_torch_when_available(rng):
    torch = oracle("torch")
    for size, stride in [(2, 2), (3, 3), (3, 2), (2, 1)]:
        x = rng.standard_normal((2, 3, 9, 9))
        layer = MaxPool2D(size, stride)
        layer.build((3, 9, 9), None, np.float64)
        a = layer.forward(x)
        g = rng.standard_normal(a.shape)
        dx = layer.backward(g)
        tx = torch.tensor(x, requires_grad=True)
        ta = torch.nn.functional.max_pool2d(tx, size, stride)
        ta.backward(torch.tensor(g))
        np.testing.assert_allclose(a, ta.detach().numpy())
        np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-12)


def test_pooling_keeps_the_memory_layout(rng):
    """A conv layer's output is channels-last in memory; pooling's output and ∂C/∂x stay that way."""
    x = rng.standard_normal((4, 6, 6, 5)).transpose(0, 3, 1, 2)
    for cls in POOLS:
        layer = cls(2)
        layer.build((5, 6, 6), None, np.float64)
        a = layer.forward(x)
        dx = layer.backward(np.ones_like(a))
        assert a.transpose(0, 2, 3, 1).flags.c_contiguous
        assert dx.transpose(0, 2, 3, 1).flags.c_contiguous
        np.testing.assert_allclose(a, layer.forward(np.ascontiguousarray(x)))


def test_l2_pool_gradient_is_zero_where_the_window_is_zero():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 3.0
    layer = L2Pool2D(2)
    layer.build((1, 4, 4), None, np.float64)
    a = layer.forward(x)
    dx = layer.backward(np.ones_like(a))
    assert np.all(np.isfinite(dx))
    assert dx[0, 0, 0, 0] == 1.0 and np.count_nonzero(dx) == 1


def test_strict_mode():
    with pytest.raises(NndlError, match=r"maxpool\(2\).*do not tile the input \(20, 5, 5\).*strict"):
        MaxPool2D(2, strict=True).build((20, 5, 5), None)
    assert MaxPool2D(2, strict=True).build((20, 6, 6), None) == (20, 3, 3)
    assert MaxPool2D(2).build((20, 5, 5), None) == (20, 2, 2)


def test_pool_errors():
    with pytest.raises(NndlError, match=r"avgpool\(3\): window 3x3 is larger than the input \(2, 2, 2\)"):
        AvgPool2D(3).build((2, 2, 2), None)
    with pytest.raises(NndlError, match=r"l2pool\(2\) needs input of shape \(channels, height, width\), got \(10,\)"):
        L2Pool2D(2).build((10,), None)
    with pytest.raises(NndlError, match="must be positive"):
        MaxPool2D(0)
    layer = MaxPool2D(2)
    layer.build((1, 4, 4), None)
    with pytest.raises(NndlError, match=r"expects a batch of shape \(N, 1, 4, 4\), got \(1, 1, 6, 6\)"):
        layer.forward(np.zeros((1, 1, 6, 6), np.float32))


def test_pool_config_round_trip():
    for layer in [MaxPool2D(2), AvgPool2D(3, 2), L2Pool2D((2, 3), strict=True)]:
        again = layer_from_config(layer.config())
        assert type(again) is type(layer) and again.config() == layer.config()
    assert MaxPool2D(2).config() == {"type": "maxpool", "size": 2}


# --------------------------------------------------------------------------- reshaping
def test_flatten_forward_backward_is_a_view(rng):
    layer = Flatten()
    assert layer.build((3, 4, 5), None) == (60,)
    x = rng.standard_normal((2, 3, 4, 5))
    a = layer.forward(x)
    assert a.shape == (2, 60) and np.shares_memory(a, x)
    np.testing.assert_array_equal(a[1, 4 * 5 + 2 * 5 + 3], x[1, 1, 2, 3])          # index c·H·W + h·W + w
    g = rng.standard_normal((2, 60))
    back = layer.backward(g)
    assert back.shape == x.shape and np.shares_memory(back, g)


def test_flatten_of_channels_last_memory_keeps_c_order(rng):
    x = rng.standard_normal((2, 4, 5, 3)).transpose(0, 3, 1, 2)
    layer = Flatten()
    layer.build((3, 4, 5), None)
    np.testing.assert_array_equal(layer.forward(x), np.ascontiguousarray(x).reshape(2, -1))


def test_reshape(rng):
    layer = Reshape((1, 28, -1))
    assert layer.build((784,), None) == (1, 28, 28)
    x = rng.standard_normal((3, 784))
    assert layer.forward(x).shape == (3, 1, 28, 28)
    assert layer.backward(np.zeros((3, 1, 28, 28))).shape == (3, 784)
    assert layer_from_config(layer.config()).config() == {"type": "reshape", "shape": [1, 28, -1]}
    with pytest.raises(NndlError, match=r"cannot reshape input \(10,\)"):
        Reshape((3, 3)).build((10,), None)
    with pytest.raises(NndlError, match="at most one -1"):
        Reshape((-1, -1))


def test_flatten_gradients():
    net = Network([Conv2D(2, 3, activation="tanh"), Flatten(), Dense(3, activation="softmax")], (1, 5, 5),
                  cost="log_likelihood", dtype=np.float64)
    rng = np.random.default_rng(0)
    errors = check_gradients(net, rng.standard_normal((3, 1, 5, 5)), rng.integers(0, 3, 3))
    assert max(errors.values()) < 1e-6
