"""ConvPool2D: the same function and gradients as conv, max-pool and σ as three layers; finite
differences; blocks of examples; ties; spec, config and ONNX round trips; errors."""
from __future__ import annotations

import numpy as np
import pytest

from oracles import oracle

import nndl.layers.conv as conv_module
from nndl.errors import NndlError
from nndl.gradcheck import check_gradients
from nndl.layers import ActivationLayer, Conv2D, ConvPool2D, Dense, Flatten, MaxPool2D, Reshape, layer_from_config
from nndl.network import Network
from nndl.spec import parse_spec, spec_of

# (channels, filters, kernel, stride, padding, pool, map size, activation, bias): channels-first and
# channels-last receptive fields, ragged edges, strides, padding, 3 × 3 windows, no bias
CASES = [
    (1, 3, 5, 1, "valid", 2, 12, "relu", True),
    (1, 2, 3, 1, "valid", 2, 8, "tanh", True),       # conv maps 6 × 6
    (1, 2, 3, 1, "valid", 2, 9, "sigmoid", False),   # 7 × 7: a ragged edge
    (3, 4, 3, 1, "same", 2, 6, "relu", True),
    (3, 4, 3, 2, "valid", 2, 9, "linear", True),     # stride 2: 4 × 4 maps
    (2, 3, 2, 1, "valid", 3, 10, "relu", True),      # 9 × 9 maps, 3 × 3 windows
    (2, 3, (3, 2), 1, 1, (2, 3), 7, "tanh", True),   # rectangular kernel and window, int padding
]


def _pair(c, f, k, s, pad, pool, hw, act, bias, dtype=np.float64):
    """The same network written with ConvPool2D and with Conv2D, MaxPool2D and an activation layer."""
    fused = Network([ConvPool2D(f, k, pool, stride=s, padding=pad, activation=act, use_bias=bias), Flatten(),
                     Dense(3, activation="softmax")], (c, hw, hw), cost="log_likelihood", seed=4, dtype=dtype)
    plain = Network([Conv2D(f, k, stride=s, padding=pad, use_bias=bias), MaxPool2D(pool),
                     ActivationLayer(act), Flatten(), Dense(3, activation="softmax")], (c, hw, hw),
                    cost="log_likelihood", seed=4, dtype=dtype)
    plain.set_weights(fused.get_weights())
    return fused, plain


def _batch(net, n, seed=0, blank=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + net.input_shape)
    if blank:
        x[:, :, :3] = 0                                  # blank rows: tied maxima, as MNIST's background
    return x, rng.integers(0, 3, n)


@pytest.mark.parametrize("case", CASES)
def test_same_output_and_gradients_as_conv_pool_activation(case):
    fused, plain = _pair(*case)
    x, y = _batch(fused, 5)
    np.testing.assert_allclose(fused.feedforward(x), plain.feedforward(x), rtol=1e-12, atol=1e-14)
    grads = []
    for net in (fused, plain):
        net.zero_grad()
        a = net.forward(x, training=True)
        dx = net.backward(a - net.one_hot(y), input_grad=True)
        grads.append([dx] + [p.grad.copy() for p in net.params])
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES[:5])
def test_gradients_against_finite_differences(case):
    c, f, k, s, pad, pool, hw, act, bias = case
    act = "tanh" if act == "relu" else act              # smooth, so finite differences hold everywhere
    net = Network([Dense(c * hw * hw, activation="linear"), Reshape((c, hw, hw)),
                   ConvPool2D(f, k, pool, stride=s, padding=pad, activation=act, use_bias=bias), Flatten(),
                   Dense(3, activation="softmax")], (4,), cost="log_likelihood", seed=2, dtype=np.float64)
    rng = np.random.default_rng(1)
    errors = check_gradients(net, rng.standard_normal((3, 4)), rng.integers(0, 3, 3), max_entries=80)
    assert max(errors.values()) < 1e-6, errors      # the first dense layer's check covers ∂C/∂x


def test_blocks_of_examples_give_the_same_gradients(monkeypatch):
    fused, _ = _pair(*CASES[3])
    x, y = _batch(fused, 7)
    fused.backprop(x, fused.one_hot(y))
    whole = [p.grad.copy() for p in fused.params]
    monkeypatch.setattr(conv_module, "BLOCK_BYTES", 1)        # one example per block
    fused.backprop(x, fused.one_hot(y))
    for got, want in zip((p.grad for p in fused.params), whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_float32_and_channels_last_input():
    fused, plain = _pair(*CASES[3], dtype=np.float32)
    x, _ = _batch(fused, 4)
    x = np.ascontiguousarray(x.astype(np.float32).transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    out = fused.feedforward(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, plain.feedforward(x), rtol=1e-5, atol=1e-6)


def test_spec_word_config_and_errors():
    layers = Network(parse_spec("convpool(6,5) relu convpool(8,3,3,pad=same) tanh dense(10) softmax", (1, 28, 28)),
                     (1, 28, 28)).layers
    assert [layer.type for layer in layers[:2]] == ["convpool", "convpool"]
    assert layers[0].output_shape == (6, 12, 12) and layers[1].output_shape == (8, 4, 4)
    assert spec_of(layers) == "convpool(6,5) relu convpool(8,3,3,pad=same) tanh softmax(10)"
    again = layer_from_config(layers[1].config())
    assert isinstance(again, ConvPool2D) and again.config() == layers[1].config()
    with pytest.raises(NndlError, match="pool window 5x5 is larger than the conv maps 4x4"):
        parse_spec("convpool(4,3,5)", (1, 6, 6))
    with pytest.raises(NndlError, match="pad"):
        parse_spec("convpool(4,3,pad=wide)", (1, 6, 6))
    with pytest.raises(NndlError, match="pool size"):
        ConvPool2D(4, 3, 0)


def test_onnx_export_matches_onnxruntime():
    oracle("onnxruntime")
    from nndl.export.onnx import parity, to_onnx

    net = Network(parse_spec("convpool(4,5) relu convpool(6,3) relu dense(10) softmax", (1, 16, 16)),
                  (1, 16, 16), cost="log_likelihood", seed=0)
    result = parity(net, to_onnx(net))
    assert result["max_abs_diff"] < 1e-5, result


def test_two_convpool_layers_learn_mnist_with_workers(data_root):
    """The chapter 6 net in the book's ConvPoolLayer form, trained in two parts per mini-batch."""
    from test_conv import _mnist

    from nndl.models import Classifier
    from nndl.optim import SGD
    from nndl.trainer import Trainer

    x, y = _mnist(data_root, 4000)
    net = Network(parse_spec("convpool(8,5,init=he) relu convpool(16,5,init=he) relu dense(10) softmax",
                             (1, 28, 28)), (1, 28, 28), cost="log_likelihood", seed=1)
    Trainer(10, verbose=False, workers=2).fit(Classifier(net, SGD(0.1)), (x[:3000], y[:3000]), epochs=2)
    accuracy = net.accuracy(x[3000:], y[3000:])
    assert accuracy >= 0.90, accuracy
