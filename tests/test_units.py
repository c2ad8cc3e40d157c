"""The units of the course notes against finite differences (float64): PReLU, randomized leaky
ReLU, maxout, hard-tanh, the RBF layer (centres and widths, both kernels), vanilla dropout and
k-max pooling; and what each one computes."""
import numpy as np
import pytest

from nndl.gradcheck import THRESHOLD, check_gradients, check_input_gradient
from nndl.layers import (RBF, Dense, KMaxPool, Maxout, PReLU, RandomizedLeakyReLU, VanillaDropout,
                         layer_from_config)
from nndl.network import Network
from nndl.spec import parse_spec, spec_of


def _batch(rng, n_in=5, classes=3, n=7):
    return rng.standard_normal((n, n_in)), rng.integers(0, classes, n)


def _check(net, x, y):
    errors = check_gradients(net, x, y, max_entries=None)
    assert max(errors.values()) < THRESHOLD, errors
    assert check_input_gradient(net, x, y) < THRESHOLD
    return errors


NETS = {
    "prelu": lambda: [Dense(6, activation="linear"), PReLU(0.3), Dense(3, activation="softmax")],
    "maxout": lambda: [Maxout(4, 3), Dense(3, activation="softmax")],
    "maxout-nobias": lambda: [Maxout(4, 2, use_bias=False), Maxout(5, 2), Dense(3, activation="softmax")],
    "hard_tanh": lambda: [Dense(6, activation="hard_tanh"), Dense(3, activation="softmax")],
    "rbf-gaussian": lambda: [RBF(6), Dense(3, activation="softmax")],
    "rbf-ricker": lambda: [RBF(6, kernel="ricker"), Dense(3, activation="softmax")],
    "kmax": lambda: [Dense(8, activation="tanh"), KMaxPool(3), Dense(3, activation="softmax")],
    "vanilla_dropout": lambda: [Dense(8, activation="tanh"), VanillaDropout(0.3), Dense(3, activation="softmax")],
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_gradients(name, rng):
    net = Network(NETS[name](), (5,), cost="log_likelihood", dtype=np.float64, seed=4)
    x, y = _batch(rng)
    if name.startswith("rbf"):              # centres near the data, so every unit's φ is far from 0
        net.layers[0].centres.value[...] = x[:6] + 0.3 * rng.standard_normal((6, 5))
        net.layers[0].sigma.value[...] = 1.5 + rng.random(6)
    if name == "hard_tanh":                 # pre-activations on both sides of ±1, none within ε of it
        net.layers[0].W.value *= 3
    errors = _check(net, x, y)
    if name.startswith("rbf"):
        assert {"1:rbf.centres", "1:rbf.sigma"} <= set(errors)


def test_prelu_on_feature_maps_and_its_alpha(rng):
    net = Network(parse_spec("conv(3,3) prelu dense(3) softmax", (1, 6, 6)), (1, 6, 6), cost="log_likelihood",
                  dtype=np.float64, seed=1)
    x, y = rng.standard_normal((4, 1, 6, 6)), rng.integers(0, 3, 4)
    errors = _check(net, x, y)
    assert net.layers[1].alpha.shape == (3,) and "2:prelu.alpha" in errors


def test_kmax_pooling_of_feature_maps(rng):
    net = Network(parse_spec("conv(2,3) kmaxpool(5) dense(3) softmax", (1, 5, 5)), (1, 5, 5), cost="log_likelihood",
                  dtype=np.float64, seed=2)
    assert net.layers[1].output_shape == (2, 5)
    _check(net, rng.standard_normal((4, 1, 5, 5)), rng.integers(0, 3, 4))


def test_rrelu_fixed_slopes_and_mean_slope_at_test(rng):
    net = Network([Dense(6, activation="linear"), RandomizedLeakyReLU(0.1, 0.4), Dense(3, activation="softmax")],
                  (5,), cost="log_likelihood", dtype=np.float64, seed=2)
    x, y = _batch(rng)
    errors = check_gradients(net, x, y, max_entries=None)
    assert max(errors.values()) < THRESHOLD, errors
    layer = net.layers[1]
    z = np.array([[-2.0, 3.0]])
    layer.build((2,), np.random.default_rng(0), np.float64)
    assert np.allclose(layer.forward(z), [[-2.0 * 0.25, 3.0]])            # test: ᾱ = (0.1 + 0.4)/2
    slopes = -layer.forward(-np.ones((200, 2)), training=True)
    assert 0.1 <= slopes.min() and slopes.max() <= 0.4 and slopes.std() > 0.05


def test_maxout_takes_the_largest_piece():
    layer = Maxout(2, 3, use_bias=False)
    layer.build((1,), np.random.default_rng(0), np.float64)
    layer.params[0].value[:, 0] = [1.0, -2.0, 0.5, 3.0, 0.0, -1.0]
    assert np.allclose(layer.forward(np.array([[1.0], [-1.0]])), [[1.0, 3.0], [2.0, 1.0]])


def test_rbf_kernels_by_hand():
    layer = RBF(1, kernel="ricker")
    layer.build((2,), np.random.default_rng(0), np.float64)
    layer.centres.value[...] = [[1.0, 1.0]]
    layer.sigma.value[...] = [2.0]
    x = np.array([[1.0, 1.0], [1.0, 3.0], [4.0, 1.0]])          # r = 0, 1, 1.5
    r2 = np.array([0.0, 1.0, 2.25])
    assert np.allclose(layer.forward(x)[:, 0], (1 - r2) * np.exp(-r2 / 2))
    layer.kernel = "gaussian"
    assert np.allclose(layer.forward(x)[:, 0], np.exp(-r2))


def test_kmax_keeps_order_and_vanilla_dropout_scales_at_test(rng):
    layer = KMaxPool(3)
    layer.build((6,), rng)
    assert layer.forward(np.array([[1.0, 9.0, 2.0, 7.0, 8.0, 0.0]])).tolist() == [[9.0, 7.0, 8.0]]
    drop = VanillaDropout(0.25)
    drop.build((1000,), np.random.default_rng(0))
    x = np.ones((4, 1000))
    trained = drop.forward(x, training=True)
    assert set(np.unique(trained)) == {0.0, 1.0} and abs(trained.mean() - 0.75) < 0.03
    assert np.allclose(drop.forward(x), 0.75)


@pytest.mark.parametrize("spec", ["dense(8) prelu maxout(4,3) rrelu(lower=0.1) dense(6) hard_tanh kmax(3) "
                                  "vanilla_dropout(0.3) softmax(3)",
                                  "rbf(5,kernel=ricker,width=2,solve_output=true) softmax(3)"])
def test_spec_round_trip(spec):
    layers = parse_spec(spec, (5,))
    again = parse_spec(spec_of(layers), (5,))
    assert [layer.config() for layer in again] == [layer.config() for layer in layers]
    assert [layer_from_config(layer.config()).config() for layer in layers] == [layer.config() for layer in layers]


# --------------------------------------------------------------------------- saved and loaded, and from the CLI
SAVED = {
    "prelu": "dense(6) prelu(alpha=0.1) softmax(3)",
    "rrelu": "dense(6) rrelu(lower=0.05,upper=0.2) softmax(3)",
    "maxout": "maxout(4,3) softmax(3)",
    "rbf": "rbf(5,kernel=ricker,width=2) softmax(3)",
    "hard_tanh": "dense(6) hard_tanh softmax(3)",
    "vanilla_dropout": "dense(6) relu vanilla_dropout(0.3) softmax(3)",
    "kmaxpool": "dense(6) tanh kmaxpool(4) softmax(3)",
}


@pytest.mark.parametrize("name", sorted(SAVED))
def test_save_load_round_trip(name, tmp_path, rng):
    from nndl import io
    from nndl.layers.data_init import initialize_from_data

    net = Network(parse_spec(SAVED[name], (5,)), (5,), cost="log_likelihood", seed=3)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    initialize_from_data(net, x)
    for p in net.params:                     # move every parameter off its initial value
        p.value += np.float32(0.01) * rng.standard_normal(p.shape).astype(np.float32)
    io.save(net, tmp_path / "m.npz")
    again = io.load(tmp_path / "m.npz")
    assert spec_of(again.layers) == spec_of(net.layers)
    for a, b in zip(net.params, again.params):
        assert a.name == b.name and np.array_equal(a.value, b.value)
    assert np.array_equal(net.predict_proba(x), again.predict_proba(x))


def test_rbf_centres_start_at_kmeans_centres(rng):
    from nndl.layers.data_init import initialize_from_data

    blobs = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    x = np.concatenate([b + 0.3 * rng.standard_normal((50, 2)) for b in blobs])
    net = Network([RBF(3), Dense(2, activation="softmax")], (2,), cost="log_likelihood", seed=0, dtype=np.float64)
    initialize_from_data(net, x)
    centres = net.layers[0].centres.value
    assert np.abs(np.sort(centres, axis=0) - np.sort(blobs, axis=0)).max() < 0.2
    assert np.allclose(net.layers[0].sigma.value, 0.3 * np.sqrt(2), rtol=0.25)      # RMS radius of each blob
    again = Network([RBF(3), Dense(2, activation="softmax")], (2,), cost="log_likelihood", seed=0, dtype=np.float64)
    initialize_from_data(again, x)
    assert np.array_equal(again.layers[0].centres.value, centres)                  # seeded


def test_more_centres_than_examples_is_one_line_before_training(data_file, tmp_path):
    from test_cli import nndl

    r = nndl("train", "--data", data_file("iris/iris.csv"), "--net", "rbf(200) softmax(3)", "--cost",
             "log_likelihood", "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "200 centres but only 105 training examples" in errors[0], r.stderr
    assert "epoch" not in r.stdout and not (tmp_path / "m.npz").exists()


def test_an_rbf_network_learns_iris_from_the_command_line(data_file, tmp_path):
    import json

    from test_cli import nndl

    r = nndl("train", "--data", data_file("iris/iris.csv"), "--net", "rbf(6) softmax(3)", "--cost", "log_likelihood",
             "--optimizer", "adam", "--eta", "0.01", "--epochs", "60", "--seed", "1", "--json", "--threads", "1",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["test_accuracy"] >= 0.9


def test_a_wrong_rbf_width_gradient_is_caught(rng):
    """The check can fail: a σ gradient off by 10% is flagged, the centres' still pass."""
    net = Network(NETS["rbf-gaussian"](), (5,), cost="log_likelihood", dtype=np.float64, seed=4)
    x, y = _batch(rng)
    layer = net.layers[0]
    layer.centres.value[...] = x[:6]
    original = layer.backward

    def broken(grad):
        out = original(grad)
        layer.sigma.grad = layer.sigma.grad * 1.1
        return out

    layer.backward = broken
    errors = check_gradients(net, x, y, max_entries=None)
    assert errors["1:rbf.sigma"] > 1e-3 and errors["1:rbf.centres"] < THRESHOLD


def test_an_rbf_network_can_start_at_the_least_squares_output(rng):
    """Phase 2 of three-phase RBF learning: with solve_output the softmax layer starts at the ridge
    solution on the labels, so the untrained network already classifies; without it, it does not move."""
    from nndl.layers.data_init import initialize_from_data

    blobs = np.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 4.0]])
    labels = np.repeat(np.arange(3), 60)
    x = blobs[labels] + 0.8 * rng.standard_normal((180, 2))
    for solve in (True, False):
        net = Network([RBF(9, solve_output=solve), Dense(3, activation="softmax")], (2,), cost="log_likelihood",
                      seed=0)
        before = net.layers[1].W.value.copy()
        initialize_from_data(net, x, labels=labels)
        if solve:
            assert (net.predict(x) == labels).mean() >= 0.95
        else:
            assert np.array_equal(net.layers[1].W.value, before)
