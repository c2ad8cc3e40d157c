"""Conv2D: gradients against finite differences, forward against a direct reference, errors, learning."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from oracles import oracle

import nndl.layers.conv as conv_module
from nndl.errors import NndlError
from nndl.gradcheck import check_gradients
from nndl.layers import (ActivationLayer, Conv2D, Dense, Flatten, MaxPool2D, Reshape, layer_from_config)
from nndl.network import Network

TOL = 1e-6


def _net(layers, input_shape):
    return Network(layers, input_shape, cost="log_likelihood", seed=3, dtype=np.float64)


def _assert_gradients(net, n=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + net.input_shape)
    y = rng.integers(0, net.num_classes, n)
    errors = check_gradients(net, x, y, max_entries=80)
    assert errors and max(errors.values()) < TOL, errors
    return errors


# (in_channels, filters, kernel, stride, padding, map size)
CASES = [
    (1, 2, 1, 1, "valid", 5),
    (1, 2, 3, 1, "valid", 6),
    (1, 2, 3, 2, "valid", 7),
    (1, 2, 5, 1, "valid", 7),
    (1, 2, 3, 1, "same", 6),
    (1, 2, 3, 2, "same", 7),
    (1, 2, 3, 2, "same", 6),
    (1, 2, 3, 1, "full", 5),
    (1, 2, 3, 1, 1, 6),
    (1, 2, 3, 2, 1, 7),
    (3, 4, 1, 1, "valid", 5),
    (3, 4, 3, 1, "valid", 6),
    (3, 4, 3, 2, "same", 7),
    (3, 4, 5, 1, "same", 5),
    (3, 4, 3, 1, "full", 4),
    (3, 4, 5, 2, 2, 7),
    (2, 3, (3, 1), (1, 2), (1, 0), 5),
]


@pytest.mark.parametrize("c, f, k, s, pad, size", CASES)
def test_conv_gradients(c, f, k, s, pad, size):
    net = _net([Conv2D(f, k, stride=s, padding=pad, activation="tanh"), Flatten(),
                Dense(3, activation="softmax")], (c, size, size))
    errors = _assert_gradients(net)
    assert {"1:conv.W", "1:conv.b"} <= set(errors)


@pytest.mark.parametrize("c, f, k, s, pad, size", CASES)
def test_conv_input_gradient_when_not_first(c, f, k, s, pad, size):
    """∂C/∂x of a conv that is not the first layer: checked through the parameters of the layer below it."""
    net = _net([Dense(c * size * size, activation="tanh"), Reshape((c, size, size)),
                Conv2D(f, k, stride=s, padding=pad, activation="sigmoid"), Flatten(),
                Dense(3, activation="softmax")], (4,))
    errors = _assert_gradients(net)
    assert "1:dense.W" in errors


@pytest.mark.parametrize("first_kernel", [1, 3])
def test_two_conv_layers_both_layouts(first_kernel):
    """A conv after a conv (channels-last input) and after the data (channels-first): both im2col layouts."""
    net = _net([Conv2D(3, first_kernel, padding="same", activation="tanh"),
                Conv2D(4, 3, activation="relu"), MaxPool2D(2), Conv2D(2, 1, activation="tanh"),
                Flatten(), Dense(3, activation="softmax")], (2, 8, 8))
    layouts = {layer.channels_first for layer in net.layers if isinstance(layer, Conv2D)}
    assert layouts == {True, False}
    _assert_gradients(net)


def test_blocks_give_the_same_results(monkeypatch):
    """Cutting the batch into blocks (for the cache) changes nothing but speed."""
    layers = [Conv2D(3, 3, padding=1, activation="tanh"), Conv2D(4, 3, stride=2, activation="relu"), Flatten(),
              Dense(3, activation="softmax")]
    net = _net(layers, (2, 7, 7))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 2, 7, 7))
    y = net.one_hot(rng.integers(0, 3, 5))
    a_one = net.backprop(x, y).copy()
    grads_one = [p.grad.copy() for p in net.params]
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)            # one example per block
    assert len(net.layers[0]._blocks(5, x.dtype)) == 5
    a_blocks = net.backprop(x, y)
    np.testing.assert_allclose(a_blocks, a_one, rtol=1e-12, atol=1e-12)
    for g_blocks, g_one in zip([p.grad for p in net.params], grads_one):
        np.testing.assert_allclose(g_blocks, g_one, rtol=1e-10, atol=1e-12)
    _assert_gradients(net, n=4)


def _reference_conv(x, w, b, stride, pads):
    """z[n,f,i,j] = b_f + Σ_{c,p,q} W[f,c,p,q] x[n,c,i·s+p,j·s+q], with scipy's correlate per example and channel."""
    signal = oracle("scipy.signal")
    pt, pb, pl, pr = pads
    xp_ = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = stride
    n, f = len(x), len(w)
    out = []
    for i in range(n):
        maps = []
        for j in range(f):
            acc = sum(signal.correlate(xp_[i, c], w[j, c], mode="valid") for c in range(x.shape[1]))
            maps.append(acc[::sh, ::sw] + b[j])
        out.append(maps)
    return np.array(out)


@pytest.mark.parametrize("k, s, pad, expected_pads", [
    (3, 1, "valid", (0, 0, 0, 0)), (3, 2, "valid", (0, 0, 0, 0)), (3, 1, "same", (1, 1, 1, 1)),
    (4, 1, "same", (1, 2, 1, 2)), (3, 2, "same", (1, 1, 1, 1)), (3, 1, "full", (2, 2, 2, 2)),
    (5, 1, 2, (2, 2, 2, 2)), (2, 3, "valid", (0, 0, 0, 0))])
def test_forward_matches_direct_correlation(k, s, pad, expected_pads, rng):
    size = {1: 8, 2: 9, 3: 11}[s]
    layer = Conv2D(4, k, stride=s, padding=pad)
    out_shape = layer.build((3, size, size), rng, np.float64)
    assert layer.pads == expected_pads
    x = rng.standard_normal((2, 3, size, size))
    z = layer.forward(x)
    ref = _reference_conv(x, layer.W.value, layer.b.value, layer.stride, layer.pads)
    assert z.shape == (2,) + out_shape == ref.shape
    np.testing.assert_allclose(z, ref, rtol=1e-10, atol=1e-10)


def test_same_padding_output_size(rng):
    for size, stride in [(28, 1), (28, 2), (7, 2), (9, 3)]:
        layer = Conv2D(2, 3, stride=stride, padding="same")
        assert layer.build((1, size, size), rng)[1:] == (-(-size // stride),) * 2


def test_forward_is_independent_of_memory_layout(rng):
    layer = Conv2D(5, 3, padding=1, activation="relu")
    layer.build((4, 6, 6), rng, np.float64)
    x = rng.standard_normal((3, 6, 6, 4)).transpose(0, 3, 1, 2)      # channels-last memory
    a1 = layer.forward(x).copy()
    a2 = layer.forward(np.ascontiguousarray(x))
    np.testing.assert_allclose(a1, a2, rtol=1e-12)
    assert a1.shape == (3, 5, 6, 6)


def test_activation_is_fused(rng):
    layer = Conv2D(2, 3, activation="relu")
    layer.build((1, 5, 5), rng, np.float64)
    x = rng.standard_normal((2, 1, 5, 5))
    linear = Conv2D(2, 3)
    linear.build((1, 5, 5), rng, np.float64)
    linear.W.value[...], linear.b.value[...] = layer.W.value, layer.b.value
    np.testing.assert_allclose(layer.forward(x), np.maximum(linear.forward(x), 0))


def test_first_layer_skips_input_gradient(rng):
    net = Network([Conv2D(2, 3), Flatten(), Dense(2, activation="softmax")], (1, 5, 5), cost="log_likelihood")
    x = rng.standard_normal((2, 1, 5, 5)).astype(np.float32)
    net.backprop(x, net.one_hot(np.array([0, 1])))
    assert net.layers[0].needs_input_grad is False                    # decided per backward pass
    assert net.layers[0].W.grad.shape == (2, 1, 3, 3)
    a = net.forward(x)
    assert net.backward(np.ones_like(a)) is None
    assert net.backward is not None and net.forward(x) is not None
    assert net.backward(np.ones_like(a), input_grad=True).shape == x.shape


def test_float32_by_default(rng):
    layer = Conv2D(3, 3)
    layer.build((2, 6, 6), rng)
    assert layer.W.value.dtype == np.float32
    assert layer.forward(rng.standard_normal((2, 2, 6, 6)).astype(np.float32)).dtype == np.float32


def test_weight_shape_and_fan_in_scaling():
    layer = Conv2D(64, 5, init="default")
    layer.build((16, 12, 12), np.random.default_rng(0))
    assert layer.W.shape == (64, 16, 5, 5) and layer.b.shape == (64,)
    assert abs(layer.W.value.std() - 1 / np.sqrt(16 * 25)) < 0.1 / np.sqrt(16 * 25)


def test_kernel_larger_than_input_is_an_error(rng):
    with pytest.raises(NndlError, match=r"conv\(4,5\).*kernel 5x5.*larger.*\(2, 3, 3\)"):
        Conv2D(4, 5).build((2, 3, 3), rng)
    Conv2D(4, 5, padding="same").build((2, 3, 3), rng)             # fine once padded


def test_stride_that_does_not_fit_is_an_error(rng):
    with pytest.raises(NndlError, match=r"stride 2 does not fit input \(1, 28, 28\)"):
        Conv2D(4, 3, stride=2).build((1, 28, 28), rng)


def test_network_names_the_layer_that_does_not_fit():
    with pytest.raises(NndlError, match=r"layer 3 \(conv\).*\(4, 2, 2\)"):
        Network([Conv2D(4, 5), MaxPool2D(2), Conv2D(4, 3)], (1, 8, 8))


@pytest.mark.parametrize("kwargs, match", [
    ({"filters": 0, "kernel_size": 3}, "filters=0 must be a whole number ≥ 1"),
    ({"filters": 2.5, "kernel_size": 3}, "filters=2.5 must be a whole number"),
    ({"filters": 2, "kernel_size": 0}, "must be positive"),
    ({"filters": 2, "kernel_size": 3, "padding": "middle"}, "padding 'middle'"),
    ({"filters": 2, "kernel_size": 3, "padding": -1}, "must be ≥ 0"),
    ({"filters": 2, "kernel_size": 2.5}, "int or a pair"),
    ({"filters": 2, "kernel_size": 3, "activation": "softmax"}, "not softmax"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(NndlError, match=match):
        Conv2D(**kwargs)


def test_bad_input_shapes(rng):
    layer = Conv2D(2, 3)
    with pytest.raises(NndlError, match=r"conv\(2,3\) needs input of shape \(channels, height, width\), got \(784,\)"):
        layer.build((784,), rng)
    layer.build((1, 6, 6), rng)
    with pytest.raises(NndlError, match=r"expects a batch of shape \(N, 1, 6, 6\), got \(2, 1, 5, 5\)"):
        layer.forward(np.zeros((2, 1, 5, 5), np.float32))


def test_config_round_trip(rng):
    layer = Conv2D(6, (3, 5), stride=(1, 2), padding="same", activation="relu", init="he", use_bias=False)
    again = layer_from_config(layer.config())
    assert again.config() == layer.config()
    assert layer.config()["kernel_size"] == [3, 5]
    assert Conv2D(6, 5).config() == {"type": "conv", "filters": 6, "kernel_size": 5, "stride": 1,
                                     "padding": "valid", "activation": "linear", "init": "default"}
    again.build((2, 9, 9), rng)
    assert again.params == [again.W]


def test_forward_flops(rng):
    layer = Conv2D(40, 5)
    layer.build((20, 12, 12), rng)
    assert layer.forward_flops(10) == 2 * 10 * 8 * 8 * 40 * 20 * 25


def test_matches_torch_when_available(rng):
    """An independent oracle: PyTorch's conv2d forward and backward (skipped without torch)."""
    torch = oracle("torch")
    for k, s, pad, torch_pad in [(3, 1, "valid", 0), (3, 2, 1, 1), (5, 1, "same", 2), (3, 1, "full", 2)]:
        layer = Conv2D(4, k, stride=s, padding=pad, activation="tanh")
        layer.build((3, 9, 9), rng, np.float64)
        x = rng.standard_normal((2, 3, 9, 9))
        a = layer.forward(x)
        g = rng.standard_normal(a.shape)
        dx = layer.backward(g)
        tx = torch.tensor(x, requires_grad=True)
        tw = torch.tensor(layer.W.value, requires_grad=True)
        tb = torch.tensor(layer.b.value, requires_grad=True)
        ta = torch.tanh(torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=torch_pad))
        ta.backward(torch.tensor(g))
        np.testing.assert_allclose(a, ta.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.W.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.b.grad, tb.grad.numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- learning
def _mnist(data_root, n):
    with gzip.open(data_root / "mnist" / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(data_root / "mnist" / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def test_small_conv_net_learns_mnist(data_root):
    from nndl.optim import SGD
    from nndl.models import Classifier
    from nndl.trainer import Trainer

    x, y = _mnist(data_root, 4000)
    net = Network([Conv2D(8, 5, init="he"), MaxPool2D(2), ActivationLayer("relu"), Flatten(),
                   Dense(10, activation="softmax")], (1, 28, 28), cost="log_likelihood", seed=1)
    Trainer(10, verbose=False).fit(Classifier(net, SGD(0.1)), (x[:3000], y[:3000]), epochs=2)
    accuracy = net.accuracy(x[3000:], y[3000:])
    assert accuracy >= 0.90, accuracy


def test_without_bias_gradients():
    net = _net([Conv2D(3, 3, padding="same", activation="tanh", use_bias=False), Conv2D(2, 3, use_bias=False),
                Flatten(), Dense(3, activation="softmax")], (2, 6, 6))
    errors = _assert_gradients(net)
    assert "1:conv.b" not in errors and "2:conv.W" in errors


def test_scratch_buffers_follow_batch_size_and_layout(rng):
    """Buffers are reused between calls: results must not depend on what came before."""
    layer = Conv2D(3, 3, padding=1, activation="relu")
    layer.build((2, 5, 5), rng, np.float64)
    for n in (4, 2, 7, 4):
        x = rng.standard_normal((n, 2, 5, 5))
        if n == 7:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        g = rng.standard_normal((n, 3, 5, 5))
        a = layer.forward(x).copy()
        dx = layer.backward(g).copy()
        fresh_layer = layer_from_config(layer.config())
        fresh_layer.build((2, 5, 5), rng, np.float64)
        fresh_layer.W.value[...], fresh_layer.b.value[...] = layer.W.value, layer.b.value
        np.testing.assert_allclose(a, fresh_layer.forward(x), rtol=1e-12)
        np.testing.assert_allclose(dx, fresh_layer.backward(g), rtol=1e-12)
