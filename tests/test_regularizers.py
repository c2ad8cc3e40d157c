"""Regularizers (L1, L2, elastic net) by hand, and the max-norm constraint during training."""
import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.gradcheck import check_gradients
from nndl.layers.base import Parameter
from nndl.network import Network
from nndl.optim import (CONSTRAINTS, L1, L2, REGULARIZERS, SGD, ElasticNet, MaxNorm, get_constraint,
                        get_regularizer)
from nndl.models import Classifier
from nndl.trainer import Trainer

N = 10                                                                  # training-set size n


def params():
    w = Parameter("W", np.array([[1.0, -2.0], [0.0, 3.0]]), regularize=True)
    b = Parameter("b", np.array([5.0, -5.0]))
    w.grad, b.grad = np.ones((2, 2)), np.ones(2)
    return [w, b]


# -- costs and gradients by hand -------------------------------------------------------------------
def test_l2_by_hand():
    reg, ps = L2(0.5), params()
    # (λ/2n) Σw² = 0.5/20 · (1 + 4 + 0 + 9) = 0.35; biases are not regularized
    assert reg.cost(ps, N) == pytest.approx(0.35)
    reg.add_gradient(ps, N)
    # ∂R/∂w = (λ/n) w = 0.05 w
    np.testing.assert_allclose(ps[0].grad, [[1.05, 0.9], [1.0, 1.15]])
    np.testing.assert_array_equal(ps[1].grad, [1.0, 1.0])


def test_l1_by_hand():
    reg, ps = L1(0.5), params()
    # (λ/n) Σ|w| = 0.05 · 6 = 0.3
    assert reg.cost(ps, N) == pytest.approx(0.3)
    reg.add_gradient(ps, N)
    # (λ/n) sgn(w), sgn(0) = 0
    np.testing.assert_allclose(ps[0].grad, [[1.05, 0.95], [1.0, 1.05]])
    np.testing.assert_array_equal(ps[1].grad, [1.0, 1.0])


def test_elastic_net_by_hand():
    reg, ps = ElasticNet(l1=0.5, l2=0.2), params()
    # (λ₁/n) Σ|w| + (λ₂/2n) Σw² = 0.05 · 6 + 0.01 · 14 = 0.44
    assert reg.cost(ps, N) == pytest.approx(0.44)
    reg.add_gradient(ps, N)
    # 0.05 sgn(w) + 0.02 w = [[0.07, −0.09], [0, 0.11]]
    np.testing.assert_allclose(ps[0].grad, [[1.07, 0.91], [1.0, 1.11]])
    np.testing.assert_array_equal(ps[1].grad, [1.0, 1.0])


def test_elastic_net_reduces_to_l1_and_l2():
    for only, same in ((ElasticNet(0.7, 0.0), L1(0.7)), (ElasticNet(0.0, 0.7), L2(0.7))):
        a, b = params(), params()
        assert only.cost(a, N) == pytest.approx(same.cost(b, N))
        only.add_gradient(a, N)
        same.add_gradient(b, N)
        np.testing.assert_allclose(a[0].grad, b[0].grad)


def test_elastic_net_passes_a_gradient_check():
    rng = np.random.default_rng(3)
    net = Network.from_sizes([3, 4, 2], activation="tanh", cost="log_likelihood", seed=2, dtype=np.float64)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    errors = check_gradients(net, x, y, regularizers=[ElasticNet(0.3, 0.2)])
    assert max(errors.values()) < 1e-6, errors


def test_regularizer_errors_and_names():
    for make, pattern in ((lambda: ElasticNet(-0.1, 0.0), r"l1=-0\.1 .*≥ 0"),
                          (lambda: ElasticNet(0.1, "x"), r"l2='x' is not a number"),
                          (lambda: get_regularizer("l3"), r"unknown regularizer 'l3'.*elastic_net, l1, l2")):
        with pytest.raises(NndlError, match=pattern):
            make()
    reg = get_regularizer("elastic-net", l1=0.1, l2=0.2)
    assert isinstance(reg, ElasticNet) and reg.config() == {"name": "elastic_net", "l1": 0.1, "l2": 0.2}
    assert set(REGULARIZERS) == {"l1", "l2", "elastic_net"}


# -- max-norm ----------------------------------------------------------------------------------------
def test_max_norm_projects_rows_by_hand_and_leaves_biases():
    w = Parameter("W", np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]]), regularize=True)
    b = Parameter("b", np.array([100.0, -100.0, 7.0]))
    MaxNorm(1.0).apply([w, b])
    # row 1 has norm 5 → scaled by 1/5; row 2 (norm 0.5) and the zero row stay
    np.testing.assert_allclose(w.value, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])
    np.testing.assert_array_equal(b.value, [100.0, -100.0, 7.0])


def test_max_norm_of_a_conv_weight_is_per_filter():
    rng = np.random.default_rng(0)
    value = rng.standard_normal((4, 3, 2, 2))
    value[1] *= 0.01                                                   # one small filter
    w = Parameter("W", value.copy(), regularize=True)
    MaxNorm(1.5).apply([w])
    for f in range(4):
        norm = np.linalg.norm(value[f].ravel())
        np.testing.assert_allclose(w.value[f], value[f] * min(1.0, 1.5 / norm))


class Checked:
    """Wraps a constraint: checks, after each application, what it must guarantee."""

    def __init__(self, constraint):
        self.constraint, self.steps, self.active = constraint, 0, 0

    def apply(self, ps):
        before = [p.value.copy() for p in ps]
        self.constraint.apply(ps)
        self.steps += 1
        for p, old in zip(ps, before):
            if not p.regularize:
                np.testing.assert_array_equal(p.value, old)              # biases untouched
                continue
            norms = np.sqrt((p.value.astype(np.float64) ** 2).reshape(len(p.value), -1).sum(axis=1))
            assert norms.max() <= self.constraint.c + 1e-6
            self.active += int(np.any(norms > self.constraint.c - 1e-4))


def test_max_norm_holds_after_every_step_of_a_dense_training_run():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 5)).astype(np.float32), rng.integers(0, 3, 60)
    net = Network.from_sizes([5, 12, 3], activation="relu", cost="log_likelihood", seed=0)  # N(0, 1) biases
    checked = Checked(MaxNorm(0.8))
    Trainer(6, verbose=False).fit(Classifier(net, SGD(1.0), constraints=[checked]), (x, y), 5)
    assert checked.steps == 50
    assert checked.active > 0                                          # the constraint really had work to do
    assert any(np.abs(p.value).max() > 0.8 for p in net.params if not p.regularize)


def test_max_norm_holds_after_every_step_for_a_4d_weight():
    rng = np.random.default_rng(2)
    w = Parameter("W", rng.standard_normal((6, 2, 3, 3)), regularize=True)
    b = Parameter("b", 10 * rng.standard_normal(6))
    checked, opt = Checked(MaxNorm(2.0)), SGD(0.5)
    for _ in range(20):
        w.grad, b.grad = 3 * rng.standard_normal(w.shape), rng.standard_normal(6)
        opt.step([w, b])
        checked.apply([w, b])
    assert checked.active == 20


def test_max_norm_errors_and_names():
    for c in (0.0, -1.0, "big"):
        with pytest.raises(NndlError, match=r"max-norm radius c=.*(must be > 0|is not a number)"):
            MaxNorm(c)
    with pytest.raises(NndlError, match=r"unknown constraint 'unit_norm'; choose one of max_norm"):
        get_constraint("unit_norm")
    assert isinstance(get_constraint("max-norm", c=2.0), MaxNorm)
    assert MaxNorm(2.0).config() == {"name": "max_norm", "c": 2.0} and set(CONSTRAINTS) == {"max_norm"}
