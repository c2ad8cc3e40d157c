"""Batch normalization: gradients (2-D and 4-D), running statistics, errors, saving, learning."""
import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.gradcheck import check_gradients, numerical_gradient
from nndl.layers import ActivationLayer, Dense, no_grad
from nndl.layers.base import LAYER_TYPES, Layer, Parameter, layer_from_config
from nndl.layers.batchnorm import BatchNorm
from nndl.network import Network
from nndl.optim import SGD, Adam
from nndl.models import Classifier
from nndl.trainer import Trainer


def built(input_shape, dtype=np.float64, **kwargs):
    layer = BatchNorm(**kwargs)
    layer.build(input_shape, np.random.default_rng(0), dtype)
    return layer


# -- gradient checks ---------------------------------------------------------------------------------
def test_gradient_check_dense_net_in_training_mode():
    net = Network([Dense(6, activation="linear", use_bias=False), BatchNorm(), ActivationLayer("tanh"),
                   Dense(3, activation="softmax")], (4,), cost="log_likelihood", seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    x, y = 2 * rng.standard_normal((8, 4)) + 1, rng.integers(0, 3, 8)
    net.layers[1].gamma.value[:] = rng.uniform(0.5, 2.0, 6)         # away from the initial γ = 1, β = 0
    net.layers[1].beta.value[:] = rng.standard_normal(6)
    errors = check_gradients(net, x, y)
    assert set(errors) == {"1:dense.W", "2:batchnorm.gamma", "2:batchnorm.beta", "4:dense.W", "4:dense.b"}
    assert max(errors.values()) < 1e-6, errors


def _finite_difference_check(layer, x, training=True, eps=1e-6):
    """Backward against central differences of f = Σ R ⊙ forward(x) for x, γ and β."""
    rng = np.random.default_rng(5)
    r = rng.standard_normal(x.shape)

    def f():
        with no_grad():
            return float((r * layer.forward(x, training=training)).sum())

    for p in layer.params:
        p.zero_grad()
    layer.forward(x, training=training)
    dx = layer.backward(r)
    analytic = {"x": dx, "gamma": layer.gamma.grad.copy(), "beta": layer.beta.grad.copy()}
    errors = {}
    for name, array in (("x", x), ("gamma", layer.gamma.value), ("beta", layer.beta.value)):
        numerical = numerical_gradient(f, array, eps=eps)
        a = analytic[name].ravel()
        errors[name] = np.linalg.norm(a - numerical) / (np.linalg.norm(a) + np.linalg.norm(numerical))
    return errors


def test_4d_backward_against_finite_differences():
    rng = np.random.default_rng(1)
    layer = built((3, 4, 5))
    layer.gamma.value[:] = [1.5, -0.7, 0.3]
    layer.beta.value[:] = [0.2, 0.0, -1.0]
    x = rng.standard_normal((4, 3, 4, 5)) * [[[[2.0]], [[0.5]], [[3.0]]]] + 1.0
    errors = _finite_difference_check(layer, x)
    assert max(errors.values()) < 1e-7, errors


def test_2d_and_inference_backward_against_finite_differences():
    rng = np.random.default_rng(2)
    layer = built((5,))
    layer.gamma.value[:] = rng.uniform(0.5, 2, 5)
    layer.beta.value[:] = rng.standard_normal(5)
    x = rng.standard_normal((7, 5)) * 3 - 1
    assert max(_finite_difference_check(layer, x).values()) < 1e-7
    for _ in range(5):
        layer.forward(rng.standard_normal((7, 5)), training=True)  # running statistics away from 0 and 1
    assert max(_finite_difference_check(layer, x, training=False).values()) < 1e-7


class ChannelMix(Layer):
    """A 1×1 convolution, W of shape (F, C): test scaffolding so the 4-D check has a layer below batch norm."""

    type = "test_channel_mix"

    def __init__(self, filters):
        super().__init__()
        self.filters = filters

    def build(self, input_shape, rng, dtype=np.float32):
        c, h, w = input_shape
        self.input_shape, self.output_shape, self.dtype = tuple(input_shape), (self.filters, h, w), dtype
        self.W = Parameter("W", rng.standard_normal((self.filters, c)).astype(dtype), regularize=True)
        return self.output_shape

    @property
    def params(self):
        return [self.W]

    def forward(self, x, training=False):
        self.x = x
        return np.einsum("fc,nchw->nfhw", self.W.value, x)

    def backward(self, grad):
        self.W.grad = np.einsum("nfhw,nchw->fc", grad, self.x)
        return np.einsum("fc,nfhw->nchw", self.W.value, grad) if self.needs_input_grad else None


class Flat(Layer):
    """(N, C, H, W) → (N, C·H·W): test scaffolding."""

    type = "test_flat"

    def build(self, input_shape, rng, dtype=np.float32):
        self.input_shape, self.output_shape, self.dtype = tuple(input_shape), (int(np.prod(input_shape)),), dtype
        return self.output_shape

    def forward(self, x, training=False):
        return x.reshape(len(x), -1)

    def backward(self, grad):
        return grad.reshape((len(grad),) + self.input_shape)


def test_gradient_check_4d_net_in_training_mode():
    net = Network([ChannelMix(3), BatchNorm(), ActivationLayer("tanh"), Flat(), Dense(3, activation="softmax")],
                  (2, 3, 3), cost="log_likelihood", seed=3, dtype=np.float64)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 2, 3, 3)), rng.integers(0, 3, 4)
    net.layers[1].gamma.value[:] = [0.5, 1.5, 2.0]
    errors = check_gradients(net, x, y)
    assert max(errors.values()) < 1e-6, errors


# -- forward: normalization and running statistics ---------------------------------------------------
def test_training_output_is_normalized_per_channel():
    rng = np.random.default_rng(0)
    layer = built((3, 2, 2))
    x = rng.standard_normal((5, 3, 2, 2)) * [[[[4.0]], [[0.1]], [[1.0]]]] + [[[[3.0]], [[-1.0]], [[0.0]]]]
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), var / (var + 1e-5), rtol=1e-10)


@pytest.mark.parametrize("shape,axes", [((6,), (0,)), ((3, 4, 5), (0, 2, 3))])
def test_momentum_zero_keeps_the_last_batch_statistics(shape, axes):
    rng = np.random.default_rng(1)
    layer = built(shape, momentum=0.0)
    for _ in range(3):
        x = 2 * rng.standard_normal((8,) + shape) + 1
        layer.forward(x, training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_var"], x.var(axis=axes, ddof=1), rtol=1e-12)  # unbiased


def test_running_averages_follow_the_stated_convention():
    rng = np.random.default_rng(2)
    layer = built((2,), momentum=0.75)
    x1, x2 = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    layer.forward(x1, training=True)
    layer.forward(x2, training=True)
    # running ← 0.75 running + 0.25 batch, from μ = 0 and σ² = 1
    mean = 0.75 * (0.25 * x1.mean(0)) + 0.25 * x2.mean(0)
    var = 0.75 * (0.75 * 1 + 0.25 * x1.var(0, ddof=1)) + 0.25 * x2.var(0, ddof=1)
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-12)


def test_inference_uses_running_statistics_of_the_true_distribution():
    rng = np.random.default_rng(3)
    mu, sigma = np.array([1.0, -2.0, 5.0]), np.array([0.5, 2.0, 3.0])
    layer = built((3,), momentum=0.99)
    layer.gamma.value[:] = [1.5, 0.5, -1.0]
    layer.beta.value[:] = [0.1, 0.2, 0.3]
    for _ in range(1500):
        layer.forward(mu + sigma * rng.standard_normal((256, 3)), training=True)
    np.testing.assert_allclose(layer.running_mean, mu, atol=0.02 * sigma.max())
    np.testing.assert_allclose(layer.running_var, sigma ** 2, rtol=0.03)
    x = mu + sigma * rng.standard_normal((50_000, 3))
    expected = layer.gamma.value * (x - mu) / np.sqrt(sigma ** 2 + 1e-5) + layer.beta.value
    inference = layer.forward(x, training=False)
    np.testing.assert_allclose(inference, expected, atol=0.05)
    np.testing.assert_allclose(layer.forward(x, training=True), inference, atol=0.05)    # ≈ batch statistics
    before = layer.state_arrays()
    layer.forward(x, training=False)
    for name, value in layer.state_arrays().items():
        np.testing.assert_array_equal(value, before[name])           # inference does not update them


def test_inference_is_per_example():
    rng = np.random.default_rng(4)
    layer = built((3, 2, 2), dtype=np.float32)
    for _ in range(5):
        layer.forward(rng.standard_normal((6, 3, 2, 2)).astype(np.float32), training=True)
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    together = layer.forward(x)
    alone = np.concatenate([layer.forward(x[i:i + 1]) for i in range(4)])
    np.testing.assert_allclose(together, alone, rtol=1e-6)
    assert together.dtype == np.float32


def test_batch_size_one_in_training_is_an_error():
    layer = built((4,))
    with pytest.raises(NndlError, match=r"^batch norm needs at least 2 examples per mini-batch in training, got 1$"):
        layer.forward(np.ones((1, 4)), training=True)
    with pytest.raises(NndlError, match="got 1"):
        built((2, 3, 3)).forward(np.ones((1, 2, 3, 3)), training=True)
    assert layer.forward(np.ones((1, 4))).shape == (1, 4)               # inference is fine


# -- parameters, buffers, config, errors -----------------------------------------------------------------
def test_parameters_and_buffers():
    layer = built((3, 4, 4), dtype=np.float32)
    assert [p.name for p in layer.params] == ["gamma", "beta"]
    assert not any(p.regularize for p in layer.params)
    np.testing.assert_array_equal(layer.gamma.value, [1, 1, 1])
    np.testing.assert_array_equal(layer.beta.value, [0, 0, 0])
    assert layer.gamma.value.dtype == np.float32 and layer.output_shape == (3, 4, 4)
    assert set(layer.buffers) == {"running_mean", "running_var"}
    np.testing.assert_array_equal(layer.buffers["running_var"], [1, 1, 1])


def test_state_arrays_are_copies_and_load_writes_in_place():
    rng = np.random.default_rng(5)
    layer = built((3,))
    layer.forward(rng.standard_normal((5, 3)), training=True)
    saved = layer.state_arrays()
    live = layer.buffers["running_mean"]
    layer.forward(rng.standard_normal((5, 3)), training=True)
    assert not np.array_equal(saved["running_mean"], live)           # a snapshot, not the live array
    other = built((3,))
    buffers = other.buffers
    other.load_state_arrays(saved)
    assert other.buffers["running_mean"] is buffers["running_mean"]  # written in place
    np.testing.assert_array_equal(other.running_mean, saved["running_mean"])
    with pytest.raises(NndlError, match="running_var"):
        other.load_state_arrays({"running_mean": np.zeros(3)})
    with pytest.raises(NndlError, match=r"shape \(3,\), got \(4,\)"):
        other.load_state_arrays({"running_mean": np.zeros(4), "running_var": np.ones(4)})


def test_config_and_registration():
    layer = BatchNorm(momentum=0.8, eps=1e-3)
    assert layer.config() == {"type": "batchnorm", "momentum": 0.8, "eps": 1e-3}
    assert LAYER_TYPES["batchnorm"] is BatchNorm
    again = layer_from_config(layer.config())
    assert isinstance(again, BatchNorm) and again.momentum == 0.8 and again.eps == 1e-3


@pytest.mark.parametrize("kwargs,pattern", [({"momentum": 1.0}, r"momentum=1\.0 .*\[0, 1\)"),
                                            ({"momentum": -0.1}, r"momentum=-0\.1"),
                                            ({"eps": 0.0}, r"eps=0\.0 is out of range; it must be > 0"),
                                            ({"eps": "tiny"}, r"eps='tiny' is not a number")])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(NndlError, match=pattern):
        BatchNorm(**kwargs)


def test_saved_with_the_model(tmp_path):
    from nndl import io as nndl_io
    rng = np.random.default_rng(6)
    net = Network([Dense(5, activation="linear", use_bias=False), BatchNorm(), ActivationLayer("relu"),
                   Dense(2, activation="softmax")], (3,), cost="log_likelihood", seed=0)
    x, y = rng.standard_normal((40, 3)).astype(np.float32), rng.integers(0, 2, 40)
    Trainer(8, verbose=False).fit(Classifier(net, SGD(0.1)), (x, y), 2)
    path = nndl_io.save(net, tmp_path / "bn.npz")
    loaded = nndl_io.load(path)
    for name, value in net.layers[1].buffers.items():
        np.testing.assert_array_equal(loaded.layers[1].buffers[name], value)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))


# -- learning ---------------------------------------------------------------------------------------------
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_an_mlp_with_batch_norm_learns_xor():
    net = Network([Dense(8, activation="linear", use_bias=False), BatchNorm(), ActivationLayer("tanh"),
                   Dense(2, activation="softmax")], (2,), cost="log_likelihood", seed=0)
    Trainer(4, verbose=False).fit(Classifier(net, Adam(0.02)), (XOR_X, XOR_Y), 300)
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)         # inference mode: running statistics


def test_batch_norm_on_a_few_thousand_mnist_images(data_root):
    from nndl.data import load_mnist

    splits = load_mnist(data_root, split="book")
    train, val = splits.train.subset(5000), splits.validation
    net = Network([Dense(100, activation="linear", use_bias=False), BatchNorm(), ActivationLayer("relu"),
                   Dense(10, activation="softmax")], (784,), cost="log_likelihood", seed=0)
    history = Trainer(20, verbose=False).fit(Classifier(net, SGD(0.1)), train, 3,
                                             validation_data=(val.x[:2000], val.y[:2000]))
    assert history["validation_accuracy"][-1] >= 0.90
