"""Second-order training: Hessian-vector products (R-operator against differences), Newton's method,
Levenberg–Marquardt, L-BFGS through SciPy."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from test_cli import nndl

from nndl.errors import NndlError
from nndl.layers.dense import Dense
from nndl.models import BinaryClassifier, Classifier, Regressor
from nndl.network import Network
from nndl.optim import L1, L2, get_optimizer
from nndl.optim.hessian import (_forward_r, exact_supported, hessian, hessian_vector_product_differences,
                                hessian_vector_product_exact, output_jacobian)
from nndl.optim.objective import Objective
from nndl.optim.second_order import LBFGS, LevenbergMarquardt, Newton, damped_newton_direction
from nndl.trainer import Trainer

F64 = np.float64


def _objective(net, x, y, regularizers=(), model_cls=Classifier):
    model = model_cls(net, None, list(regularizers))
    model.begin(len(x))
    xb = net.as_input(x)
    return Objective(model, xb, model.targets(xb, y))


def _data(rng, n=7, d=3, k=2):
    return rng.standard_normal((n, d)), rng.integers(0, k, n)


NETS = {
    "sigmoid/cross-entropy": lambda: Network.from_sizes([3, 5, 4, 2], activation="sigmoid", cost="cross_entropy",
                                                        seed=1, dtype=F64),
    "tanh/softmax": lambda: Network.from_sizes([3, 6, 2], activation="tanh", cost="log_likelihood", seed=2,
                                               dtype=F64),
    "tanh/quadratic-sigmoid": lambda: Network([Dense(5, "tanh"), Dense(2, "sigmoid")], (3,), cost="quadratic",
                                              seed=3, dtype=F64),
    "sigmoid/quadratic-linear": lambda: Network([Dense(4, "sigmoid"), Dense(2, "linear", use_bias=False)], (3,),
                                                cost="quadratic", seed=4, dtype=F64),
}


# -- Hessian-vector products ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(NETS))
def test_exact_hessian_vector_products_match_differences_of_gradients(name, rng):
    net = NETS[name]()
    x, y = _data(rng)
    obj = _objective(net, x, y, [L2(0.7)])
    assert exact_supported(obj) is None
    for _ in range(3):
        v = rng.standard_normal(obj.size)
        exact = hessian_vector_product_exact(obj, v)
        numeric = hessian_vector_product_differences(obj, v)
        assert np.linalg.norm(exact - numeric) / np.linalg.norm(exact) < 1e-7


def test_the_hessian_matches_second_differences_of_the_cost(rng):
    """An independent check: H_ij ≈ [C(+i+j) − C(+i−j) − C(−i+j) + C(−i−j)] / 4ε², from costs alone."""
    net = NETS["tanh/softmax"]()
    x, y = _data(rng)
    obj = _objective(net, x, y, [L2(0.3)])
    H = hessian(obj, "exact")
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    w, eps = obj.vector(), 1e-4
    for i, j in [(0, 0), (3, 17), (10, 25), (24, 26), (obj.size - 1, 5)]:
        def c(si, sj):
            u = w.copy()
            u[i] += si * eps
            u[j] += sj * eps
            obj.set_vector(u)
            return obj.cost()
        numeric = (c(1, 1) - c(1, -1) - c(-1, 1) + c(-1, -1)) / (4 * eps * eps)
        assert H[i, j] == pytest.approx(numeric, rel=1e-4, abs=1e-6)
    obj.set_vector(w)


def test_a_wrong_r_operator_would_be_caught(rng):
    """The check can fail: the Hessian of another point is not the Hessian here."""
    net = NETS["sigmoid/cross-entropy"]()
    x, y = _data(rng)
    obj = _objective(net, x, y)
    v = rng.standard_normal(obj.size)
    here = hessian_vector_product_differences(obj, v)
    obj.set_vector(obj.vector() + 0.3)
    assert np.linalg.norm(hessian_vector_product_exact(obj, v) - here) / np.linalg.norm(here) > 1e-2


def test_networks_the_r_operator_does_not_know_fall_back_to_differences(rng):
    net = Network.from_sizes([3, 4, 2], activation="sigmoid", cost="log_likelihood", seed=0, dtype=F64)
    x, y = _data(rng)
    assert "L1" in (exact_supported(_objective(net, x, y, [L1(0.5)])) or "").upper()
    with pytest.raises(NndlError, match="use method='differences'"):
        hessian_vector_product_exact(_objective(net, x, y, [L1(0.5)]), np.ones(26))


def test_the_output_jacobian_gives_the_directional_derivative_of_the_outputs(rng):
    for make in (NETS["tanh/softmax"], NETS["tanh/quadratic-sigmoid"]):
        net = make()
        x, y = _data(rng)
        obj = _objective(net, x, y)
        J = output_jacobian(obj)
        v = rng.standard_normal(obj.size)
        records = _forward_r(net.layers, obj.x, dict(zip(obj.params, obj.split(v))))
        a, ra, z, rz, out, d1, d2 = records[-1]
        r_out = out * (rz - (out * rz).sum(1, keepdims=True)) if d1 is None else d1 * rz
        np.testing.assert_allclose(J @ v, r_out, rtol=1e-9, atol=1e-12)
        w, eps = obj.vector(), 1e-6                                    # and against differences of the outputs
        obj.set_vector(w + eps * v)
        plus = net.feedforward(obj.x)
        obj.set_vector(w - eps * v)
        minus = net.feedforward(obj.x)
        obj.set_vector(w)
        np.testing.assert_allclose(J @ v, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-9)


# -- Newton's method ------------------------------------------------------------------------------------
def _logistic(rng, n=60):
    """Logistic regression with an L2 penalty: a strictly convex cost (a softmax over two classes would
    not do: the same change to both classes' weights changes nothing, so its Hessian is singular)."""
    x = rng.standard_normal((n, 4))
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.5 * rng.standard_normal(n) > 0).astype(int)
    net = Network([Dense(1, "sigmoid")], (4,), cost="cross_entropy", seed=0, dtype=F64)
    return net, x, y


def test_newton_converges_quadratically_on_a_convex_problem(rng):
    net, x, y = _logistic(rng)
    opt = Newton(iterations=12, gtol=0.0)
    obj = _objective(net, x, y, [L2(1.0)], BinaryClassifier)
    opt.minimize(obj)
    g = np.array(opt.gradient_norms)
    assert g[0] > 1e-2 and g[-1] < 1e-12
    k = int(np.argmax(g < 1e-2))                       # once close, the error squares every step
    for before, after in zip(g[k:], g[k + 1:]):
        if after < 1e-13:
            break
        assert after < 20.0 * before ** 2
        assert np.log(after) / np.log(before) > 1.6


def test_newton_lands_on_the_minimum_of_a_quadratic_in_one_step(rng):
    """Linear least squares: one full Newton step is the normal-equations solution."""
    x = rng.standard_normal((40, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    net = Network([Dense(1, "linear")], (3,), cost="quadratic", seed=0, dtype=F64)
    model = Regressor(net, Newton())
    model.begin(len(x))
    model.train_step(net.as_input(x), y)
    X = np.hstack([x, np.ones((40, 1))])
    solution = np.linalg.lstsq(X, y, rcond=None)[0].ravel()
    np.testing.assert_allclose(np.concatenate([net.layers[0].W.value.ravel(), net.layers[0].b.value]), solution,
                               atol=1e-10)


def test_the_damped_direction_descends_where_the_hessian_is_indefinite():
    H = np.array([[1.0, 0.0], [0.0, -2.0]])
    g = np.array([1.0, 1.0])
    d, tau = damped_newton_direction(H, g)
    assert tau > 2.0 and g @ d < 0
    assert np.all(np.linalg.eigvalsh(H + tau * np.eye(2)) > 0)
    d, tau = damped_newton_direction(np.diag([2.0, 4.0]), g)
    assert tau == 0.0 and np.allclose(d, [-0.5, -0.25])


# -- learning ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris_split(iris_csv):
    from nndl.data import load_data

    return load_data(str(iris_csv), seed=0)


@pytest.mark.parametrize("name,cost,epochs", [("newton", "log_likelihood", 15), ("lbfgs", "log_likelihood", 5),
                                              ("levenberg_marquardt", "quadratic", 5)])
def test_each_second_order_method_learns_iris(iris_split, name, cost, epochs):
    net = Network.from_sizes([4, 8, 3], activation="sigmoid", cost=cost, seed=0)
    model = Classifier(net, get_optimizer(name), [L2(0.1)])
    model.training_size = len(iris_split.train)
    start = model.evaluate(iris_split.train.x, iris_split.train.y)["cost"]
    history = Trainer(len(iris_split.train), verbose=False).fit(model, iris_split.train, epochs,
                                                                test_data=iris_split.test)
    assert history["training_cost"][-1] < 0.25 * start
    assert history.final["test_accuracy"] >= 0.9


def test_lbfgs_finds_the_least_squares_solution(rng):
    x = rng.standard_normal((50, 4))
    y = x @ rng.standard_normal((4, 2)) + 0.1 * rng.standard_normal((50, 2))
    net = Network([Dense(2, "linear")], (4,), cost="quadratic", seed=0, dtype=F64)
    model = Regressor(net, LBFGS(iterations=100))
    model.begin(50)
    model.train_step(net.as_input(x), y)
    X = np.hstack([x, np.ones((50, 1))])
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(net.layers[0].W.value, solution[:4].T, atol=1e-5)
    np.testing.assert_allclose(net.layers[0].b.value, solution[4], atol=1e-5)
    assert model.optimizer.gradient_evaluations < 60


def test_levenberg_marquardt_adapts_its_damping(iris_split):
    net = Network.from_sizes([4, 6, 3], activation="sigmoid", cost="quadratic", seed=0)
    opt = LevenbergMarquardt(eta=100.0, iterations=3)
    Trainer(105, verbose=False).fit(Classifier(net, opt), iris_split.train, 2)
    assert opt.eta < 100.0 / 10 ** 3                                   # accepted steps shrink μ tenfold


def test_seeded_second_order_runs_reproduce(iris_split):
    weights = []
    for _ in range(2):
        net = Network.from_sizes([4, 8, 3], activation="sigmoid", cost="log_likelihood", seed=7)
        Trainer(105, verbose=False).fit(Classifier(net, LBFGS()), iris_split.train, 2)
        weights.append(net.get_weights())
    for p, q in zip(*weights):
        np.testing.assert_array_equal(p, q)


# -- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,network,pattern", [
    (LBFGS, lambda: Network.from_sizes([4, 8, 3], dropout=0.3), "the lbfgs optimizer needs a cost that is a "
                                                                "function of the weights alone.*dropout"),
    (Newton, lambda: Network.from_sizes([4, 8, 3], dropout=0.3), "newton optimizer needs a cost.*dropout"),
    (Newton, lambda: Network.from_sizes([4, 600, 3]), r"4803×4803 Hessian.*max_params=2000; use lbfgs"),
    (LevenbergMarquardt, lambda: Network.from_sizes([4, 8, 3], cost="cross_entropy"),
     "fits least squares.*--cost quadratic"),
])
def test_models_the_method_cannot_train_are_refused_before_training(iris_split, make, network, pattern):
    net = network()
    before = net.get_weights()
    with pytest.raises(NndlError, match=pattern) as info:
        Trainer(105, verbose=False).fit(Classifier(net, make()), iris_split.train, 1)
    assert "\n" not in str(info.value)
    for p, q in zip(net.get_weights(), before):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("make,pattern", [
    (lambda: LBFGS(iterations=0), r"lbfgs iterations per step=0"),
    (lambda: LBFGS(memory=-1), r"lbfgs memory=-1"),
    (lambda: Newton(method="magic"), r"newton method='magic'"),
    (lambda: LevenbergMarquardt(factor=1.0), r"factor=1\.0"),
    (lambda: LevenbergMarquardt(eta=0.0), r"eta.*=0\.0"),
    (lambda: get_optimizer("lbfgs", noise=0.1), r"no gradient option 'noise'"),
])
def test_bad_hyperparameters_are_one_line_errors(make, pattern):
    with pytest.raises(NndlError, match=pattern) as info:
        make()
    assert "\n" not in str(info.value)


def test_lbfgs_without_scipy_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(NndlError, match=r"SciPy is not installed.*nndl\[second-order\]"):
        LBFGS()


# -- from the command line -------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [["--optimizer", "lbfgs(iterations=30)"],
                                     ["--optimizer", "levenberg_marquardt", "--cost", "quadratic"]])
def test_nndl_train_runs_second_order_methods(iris_csv, tmp_path, options):
    r = nndl("train", "--data", iris_csv, "--layers", "4,8,3", "--epochs", "4", *options, "--threads", "1",
             "--json", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[-1]["test_accuracy"] >= 0.9
    assert (tmp_path / "m.npz").exists()


def test_nndl_train_refuses_lbfgs_with_batch_norm(iris_csv, tmp_path):
    r = nndl("train", "--data", iris_csv, "--layers", "4,8,3", "--batch-norm", "--optimizer", "lbfgs",
             "--epochs", "2", "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].count("batchnorm layer") == 1
    assert not (tmp_path / "m.npz").exists()
