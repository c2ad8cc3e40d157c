"""The general engine: forward/backward with ∂C/∂x, gradients that add up, per-call caches,
shared and tied weights, networks inside networks, frozen parameters, integer inputs, and
a layer from outside the library reaching the spec language and the command line."""
from __future__ import annotations

import numpy as np
import pytest

from nndl import io
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, check_gradients, check_input_gradient
from nndl.layers import (LAYER_TYPES, SPEC_NAMES, BatchNorm, Dense, Dropout, Layer, Parameter, TiedDense,
                         no_grad, register_layer)
from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import SGD
from nndl.spec import parse_spec
from nndl.trainer import Trainer


def _batch(rng, shape=(5,), classes=3, n=6):
    return rng.standard_normal((n,) + shape), rng.integers(0, classes, n)


# -- ∂C/∂x -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, shape, training", [
    ("dense(4) tanh dense(3) sigmoid softmax(3)", (5,), False),
    ("dense(4) relu dropout(0.3) softmax(3)", (5,), False),
    ("conv(3,3,pad=same) relu pool(2) conv(2,2) tanh avgpool(2) dense(4) bn sigmoid softmax(3)", (2, 8, 8), False),
    ("conv(3,3,stride=2,pad=1) leaky_relu l2pool(2) dense(4) bn tanh softmax(3)", (1, 9, 9), True),
])
def test_backward_gives_the_input_gradient(spec, shape, training, rng):
    net = Network(parse_spec(spec, shape), shape, cost="log_likelihood", dtype=np.float64, seed=2)
    x, y = _batch(rng, shape)
    assert check_input_gradient(net, x, y, training=training) < THRESHOLD


def test_input_gradient_is_asked_for_per_call(rng):
    net = Network.from_sizes([5, 4, 3], dtype=np.float64)
    x, _ = _batch(rng)
    a = net.forward(x)
    assert net.backward(np.ones_like(a)) is None                    # nobody asked: the first layer skips it
    net.forward(x)
    assert net.backward(np.ones_like(a), input_grad=True).shape == x.shape


# -- gradients add up; each forward pass keeps its own cache ------------------------------------------
def test_gradients_add_up_until_zero_grad(rng):
    net = Network.from_sizes([5, 4, 3], dtype=np.float64)
    x, labels = _batch(rng)
    y = net.one_hot(labels)
    net.backprop(x, y)
    once = [p.grad.copy() for p in net.params]
    for _ in range(2):                                              # two more passes, gradients added
        a = net.forward(x, training=True)
        net.backward(net.cost.derivative(a, y) / len(x))
    for p, g in zip(net.params, once):
        np.testing.assert_allclose(p.grad, 3 * g, rtol=1e-12)
    net.zero_grad()
    assert all(p.grad is None for p in net.params)


@pytest.mark.parametrize("spec, shape", [("dense(4) tanh", (5,)), ("conv(3,3,pad=1) relu pool(2)", (2, 6, 6)),
                                         ("bn", (4,)), ("dropout(0.5)", (5,))])
def test_two_forward_passes_before_their_backward_passes(spec, shape, rng):
    """A discriminator on real, then on fake data, then both backward (last in, first out)."""
    x1, x2 = rng.standard_normal((4,) + shape), rng.standard_normal((4,) + shape)

    def run(order):
        net = Network(parse_spec(spec, shape), shape, dtype=np.float64, seed=9)
        outs = {k: net.forward(x, training=True) for k, x in order}
        grads = {k: net.backward(np.cos(outs[k]), input_grad=True) for k, _ in reversed(order)}
        return outs, grads, [p.grad for p in net.params]

    together = run([("real", x1), ("fake", x2)])
    alone = [run([("real", x1)]), run([("fake", x2)])]
    for key, one in (("real", alone[0]), ("fake", alone[1])):
        if spec != "dropout(0.5)":                                   # other masks when drawn in another order
            np.testing.assert_allclose(together[0][key], one[0][key], rtol=1e-12)
            np.testing.assert_allclose(together[1][key], one[1][key], rtol=1e-12)
    if spec not in ("dropout(0.5)", "bn"):                           # batch norm's running averages move
        for g, g1, g2 in zip(together[2], alone[0][2], alone[1][2]):
            np.testing.assert_allclose(g, g1 + g2, rtol=1e-10)


def test_backward_without_a_forward_pass_is_one_line():
    layer = Dense(3)
    Network([layer], (2,))
    with pytest.raises(NndlError, match="backward without a forward pass"):
        layer.backward(np.zeros((1, 3)))


def test_inference_keeps_nothing(rng):
    net = Network.from_sizes([5, 4, 3])
    x, _ = _batch(rng)
    for _ in range(3):
        net.predict_proba(x)
        net.feedforward(x)
        with no_grad():
            net.forward(x)
    assert all(layer.pending == 0 for layer in net.layers)


# -- shared layers and tied weights ---------------------------------------------------------------------
def _tied_autoencoder(dtype=np.float64):
    encoder = Dense(3, activation="tanh")
    return Network([encoder, TiedDense(encoder, activation="sigmoid")], (6,), cost="quadratic", dtype=dtype,
                   seed=4)


def test_tied_weights_pass_a_gradient_check(rng):
    net = _tied_autoencoder()
    x = rng.random((5, 6))
    assert len(net.params) == 3                                     # W once, two biases
    errors = check_gradients(net, x, x, max_entries=None)
    assert max(errors.values()) < THRESHOLD, errors
    assert check_input_gradient(net, x, x) < THRESHOLD


def test_tied_weights_use_both_gradients(rng):
    """∂C/∂W of a tied W is the encoder's use plus the decoder's (transposed)."""
    net = _tied_autoencoder()
    encoder, decoder = net.layers
    x = rng.random((4, 6))
    net.backprop(x, x)
    both = encoder.W.grad.copy()
    decoder.W.trainable = True
    untied = Network([Dense(3, activation="tanh"), Dense(6, activation="sigmoid")], (6,), cost="quadratic",
                     dtype=np.float64)
    untied.layers[0].W.value[...], untied.layers[0].b.value[...] = encoder.W.value, encoder.b.value
    untied.layers[1].W.value[...], untied.layers[1].b.value[...] = encoder.W.value.T, decoder.b.value
    untied.backprop(x, x)
    np.testing.assert_allclose(both, untied.layers[0].W.grad + untied.layers[1].W.grad.T, rtol=1e-12)


def test_a_layer_used_twice_passes_a_gradient_check(rng):
    shared = Dense(5, activation="tanh")
    net = Network([shared, shared, Dense(3, activation="softmax")], (5,), cost="log_likelihood",
                  dtype=np.float64, seed=1)
    assert len(net.params) == 4
    x, y = _batch(rng)
    errors = check_gradients(net, x, y, max_entries=None)
    assert max(errors.values()) < THRESHOLD, errors


def test_shared_and_tied_layers_survive_saving(tmp_path, rng):
    shared = Dense(6, activation="tanh")
    encoder = Dense(3, activation="tanh")
    net = Network([shared, shared, encoder, TiedDense(encoder, activation="linear")], (6,), cost="quadratic",
                  seed=3)
    loaded = io.load(io.save(net, tmp_path / "m.npz"))
    assert loaded.layers[0] is loaded.layers[1] and loaded.layers[3].tied_to is loaded.layers[2]
    assert len(loaded.params) == len(net.params) == 5
    x = rng.standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))


# -- a network inside a network -----------------------------------------------------------------------------
def test_a_built_network_inside_another_is_not_rebuilt(tmp_path, rng):
    encoder = Network([Dense(4, activation="tanh")], (6,), seed=1, dtype=np.float64)
    w = encoder.layers[0].W.value
    whole = Network([encoder, Dense(6, activation="sigmoid")], (6,), cost="quadratic", dtype=np.float64, seed=2)
    assert whole.layers[0].layers[0].W.value is w                   # the same weights, not new ones
    x = rng.random((5, 6))
    errors = check_gradients(whole, x, x, max_entries=None)
    assert max(errors.values()) < THRESHOLD and set(errors) == {"1:network.W", "1:network.b", "2:dense.W",
                                                                "2:dense.b"}, errors
    assert len(whole.params) == 4
    loaded = io.load(io.save(whole, tmp_path / "nested.npz"))
    np.testing.assert_allclose(loaded.predict_proba(x), whole.predict_proba(x), rtol=1e-6)
    with pytest.raises(NndlError, match="was built for input of shape"):
        Network([encoder], (7,))


# -- frozen parameters ---------------------------------------------------------------------------------------
def test_frozen_layers_do_not_move(rng):
    net = Network.from_sizes([5, 8, 3], seed=0)
    net.layers[0].trainable = False
    before = [p.value.copy() for p in net.params]
    x, y = _batch(rng, n=40)
    Trainer(10, verbose=False).fit(Classifier(net, SGD(1.0)), (x.astype(np.float32), y), 2)
    assert all(np.array_equal(b, p.value) == (not p.trainable) for b, p in zip(before, net.params))
    assert net.layers[0].W.grad is None


# -- dropout, directly ----------------------------------------------------------------------------------------
def test_dropout_keeps_one_minus_p_scaled_up_and_is_the_identity_at_inference():
    net = Network([Dropout(0.25)], (20000,), seed=3)
    layer = net.layers[0]
    x = np.ones((4, 20000), np.float32)
    a = layer.forward(x, training=True)
    kept = a != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(a[kept], 1 / 0.75, rtol=1e-6)        # inverted dropout: E[a] = x
    g = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(g != 0, kept)                     # the same mask in the backward pass
    np.testing.assert_allclose(g[kept], 2 / 0.75, rtol=1e-6)
    assert layer.forward(x, training=False) is x
    b = layer.forward(x, training=True)
    assert not np.array_equal(a, b)                                 # a fresh mask each step


# -- integer inputs and a layer from outside the library -----------------------------------------------------------
@register_layer
class Lookup(Layer):
    """A toy embedding defined in this test file: ids (N, T) → rows of a table, flattened (N, T·D)."""

    type = "test_lookup"
    spec_names = ("lookup",)
    splits_over_batch = True
    input_kind = "int"

    def __init__(self, vocabulary: int, width: int):
        super().__init__()
        self.vocabulary, self.width = vocabulary, width

    def build(self, input_shape, rng, dtype=np.float32):
        self.input_shape, self.dtype = tuple(input_shape), dtype
        self.output_shape = (input_shape[0] * self.width,)
        self.E = Parameter("E", (0.1 * rng.standard_normal((self.vocabulary, self.width))).astype(dtype), True)
        return self.output_shape

    @property
    def params(self):
        return [self.E]

    def forward(self, x, training=False):
        assert x.dtype.kind in "iu"                                  # ids stay integers all the way here
        self.save(ids=x)
        return self.E.value[x].reshape(len(x), -1)

    def backward(self, grad):
        ids = self.saved()["ids"]
        g = np.zeros_like(self.E.value)
        np.add.at(g, ids.reshape(-1), grad.reshape(-1, self.width))   # scatter-add
        self.E.add_grad(g)
        return None

    def config(self):
        return {"type": self.type, "vocabulary": self.vocabulary, "width": self.width}


def test_a_layer_from_a_test_file_reaches_the_spec_language(rng, tmp_path):
    assert SPEC_NAMES["lookup"] is Lookup and LAYER_TYPES["test_lookup"] is Lookup
    net = Network(parse_spec("lookup(10,4) dense(8) tanh softmax(2)", (3,)), (3,), cost="log_likelihood", seed=0)
    ids = rng.integers(0, 10, (64, 3))
    labels = (ids[:, 0] >= 5).astype(np.int64)                      # the first token says it
    Trainer(8, verbose=False).fit(Classifier(net, SGD(0.5)), (ids, labels), 30)
    assert (net.predict(ids) == labels).mean() > 0.95
    with pytest.raises(NndlError, match="integer ids"):
        net.check_input(ids.astype(np.float32))
    loaded = io.load(io.save(net, tmp_path / "lookup.npz"))
    np.testing.assert_array_equal(loaded.predict(ids), net.predict(ids))


def test_a_layer_from_a_test_file_reaches_the_command_line(iris_csv, tmp_path, capsys):
    """``nndl train --net`` with a layer registered here, and nothing edited anywhere else."""
    from nndl.cli.main import main

    @register_layer
    class Scale(Layer):
        """a = s ⊙ x with one learned scale s per feature."""

        type = "test_scale"
        spec_names = ("scale",)

        def build(self, input_shape, rng, dtype=np.float32):
            super().build(input_shape, rng, dtype)
            self.s = Parameter("s", np.ones(input_shape, dtype))
            return self.output_shape

        @property
        def params(self):
            return [self.s]

        def forward(self, x, training=False):
            self.save(x=x)
            return x * self.s.value

        def backward(self, grad):
            self.s.add_grad((grad * self.saved()["x"]).sum(axis=0))
            return grad * self.s.value

    out = tmp_path / "scaled.npz"
    status = main(["train", "--data", str(iris_csv), "--net", "scale dense(10) sigmoid softmax(3)", "--cost", "nll",
                   "--epochs", "40", "--quiet", "--out", str(out)])
    assert status == 0 and out.exists()
    assert io.load(out).layers[0].type == "test_scale"
    assert "test accuracy" in capsys.readouterr().out          # the summary is output: stdout


# -- bad input -------------------------------------------------------------------------------------------------
def test_model_config_errors_are_one_line():
    with pytest.raises(NndlError, match="repeats layer 5"):
        Network.from_config({"input_shape": [3], "cost": "quadratic", "layers": [{"shared": 5}]})
    with pytest.raises(NndlError, match="tied to layer 'x'"):
        Network.from_config({"input_shape": [3], "cost": "quadratic",
                             "layers": [{"type": "dense", "units": 2}, {"type": "tied_dense", "tied_to": "x"}]})
    with pytest.raises(NndlError, match="unknown layer type"):
        Network.from_config({"input_shape": [3], "cost": "quadratic", "layers": [{"type": "magic"}]})
    with pytest.raises(NndlError, match="tied_dense: the tied weights map 2 values back to 3"):
        encoder = Dense(2)
        Network([encoder, BatchNorm(), Dense(4), TiedDense(encoder)], (3,))
