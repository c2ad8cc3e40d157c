"""Weight initializers: variances on large shapes, orthogonality, seeding, names."""
import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.initializers import INITIALIZERS, OrthogonalInit, get_initializer

N_OUT, N_IN = 400, 500                                  # a dense W of shape (n_out, n_in)

VARIANCES = {                                           # the variance of each weight, by the scheme's formula
    "large": 1.0,
    "default": 1.0 / N_IN,
    "lecun": 1.0 / N_IN,
    "glorot_normal": 2.0 / (N_IN + N_OUT),
    "glorot_uniform": 2.0 / (N_IN + N_OUT),             # U(±r) has variance r²/3 = (6/(n_in + n_out))/3
    "he": 2.0 / N_IN,
    "orthogonal": 1.0 / N_IN,                           # 400 orthonormal rows of length 500: Σw² = 400
    "small": 1e-4,                                      # 0.01·N(0, 1)
    "sparse": 15.0 / N_IN,                              # 15 N(0, 1) weights per row of 500, the rest 0
    "relu_bias": 2.0 / N_IN,                            # He
}


def weights(name, seed=0, shape=(N_OUT, N_IN), dtype=np.float64):
    fan_in = int(np.prod(shape[1:]))
    return get_initializer(name).weights(shape, fan_in, shape[0], np.random.default_rng(seed), dtype)


@pytest.mark.parametrize("name", sorted(VARIANCES))
def test_weight_variance_matches_the_scheme(name):
    w = weights(name)
    assert w.shape == (N_OUT, N_IN)
    assert abs(w.mean()) < 4 * np.sqrt(VARIANCES[name] / w.size)
    assert w.var() == pytest.approx(VARIANCES[name], rel=0.03)


def test_every_initializer_is_covered():
    assert set(VARIANCES) == set(INITIALIZERS)


def test_glorot_uniform_stays_inside_its_bounds():
    w = weights("glorot_uniform")
    r = np.sqrt(6.0 / (N_IN + N_OUT))
    assert np.abs(w).max() <= r and np.abs(w).max() > 0.99 * r


@pytest.mark.parametrize("name,gaussian", [("large", True), ("default", True), ("lecun", False),
                                           ("glorot_normal", False), ("glorot_uniform", False), ("he", False),
                                           ("orthogonal", False)])
def test_biases(name, gaussian):
    b = get_initializer(name).biases((100_000,), np.random.default_rng(0), np.float64)
    if gaussian:
        assert b.var() == pytest.approx(1.0, rel=0.03)
    else:
        np.testing.assert_array_equal(b, 0.0)


@pytest.mark.parametrize("shape", [(40, 50), (50, 40), (30, 30), (8, 3, 3, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = weights("orthogonal", shape=shape).reshape(shape[0], -1)
    if w.shape[0] <= w.shape[1]:
        np.testing.assert_allclose(w @ w.T, np.eye(w.shape[0]), atol=1e-12)
    else:
        np.testing.assert_allclose(w.T @ w, np.eye(w.shape[1]), atol=1e-12)


def test_orthogonal_gain():
    w = OrthogonalInit(gain=2.0).weights((20, 30), 30, 20, np.random.default_rng(0), np.float64)
    np.testing.assert_allclose(w @ w.T, 4.0 * np.eye(20), atol=1e-12)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_same_seed_same_weights(name):
    a, b, c = weights(name, seed=3, shape=(20, 30)), weights(name, seed=3, shape=(20, 30)), \
        weights(name, seed=4, shape=(20, 30))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    single = weights(name, seed=3, shape=(20, 30), dtype=np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, a, rtol=1e-6, atol=1e-7)      # same draws, only rounded


def test_names_aliases_and_unknown():
    assert get_initializer("Xavier").name == "glorot_normal"
    assert get_initializer("xavier-uniform").name == "glorot_uniform"
    init = OrthogonalInit()
    assert get_initializer(init) is init
    with pytest.raises(NndlError) as info:
        get_initializer("kaiming")
    message = str(info.value)
    assert "kaiming" in message
    for name in INITIALIZERS:
        assert name in message


def test_sparse_init_gives_each_unit_k_incoming_weights():
    w = weights("sparse")
    assert ((w != 0).sum(axis=1) == 15).all()
    conv = get_initializer("sparse").weights((6, 2, 2, 2), 8, 6, np.random.default_rng(0))
    assert ((conv.reshape(6, -1) != 0).sum(axis=1) == 8).all()        # fewer inputs than k: all of them


def test_relu_bias_and_small_biases():
    rng = np.random.default_rng(0)
    assert (get_initializer("relu_bias").biases((7,), rng) == np.float32(0.01)).all()
    assert (get_initializer("small").biases((7,), rng) == 0).all()
