"""Activations and costs: values, stability, and the δ = a − y simplifications."""
import warnings

import numpy as np
import pytest

from nndl import activations as A
from nndl.costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost, get_cost
from nndl.errors import NndlError


def test_sigmoid_is_stable_for_large_inputs():
    z = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = A.sigmoid(z)
    np.testing.assert_allclose(s, [0, 0, 0.5, 1, 1], atol=1e-30)
    assert s.dtype == np.float32


def test_sigmoid_matches_the_formula_and_its_derivative():
    z = np.linspace(-8, 8, 101)
    np.testing.assert_allclose(A.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-12)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(A.sigmoid_prime(z), s * (1 - s), rtol=1e-10)
    np.testing.assert_allclose(A.Sigmoid().prime(z, s), s * (1 - s), rtol=1e-10)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
def test_elementwise_derivatives_against_finite_differences(name):
    act = A.get_activation(name)
    z = np.array([-2.0, -0.7, -0.1, 0.3, 1.1, 2.5])
    eps = 1e-6
    numerical = (act.forward(z + eps) - act.forward(z - eps)) / (2 * eps)
    np.testing.assert_allclose(act.prime(z, act.forward(z)), numerical, rtol=1e-6, atol=1e-8)


def test_softmax_rows_sum_to_one_and_survive_large_inputs():
    z = np.array([[1000.0, 1000.0, -1000.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    a = A.softmax(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(a[0], [0.5, 0.5, 0.0], atol=1e-7)


def test_softmax_backward_is_the_jacobian_product(rng):
    z = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 5))
    a = A.softmax(z)
    expected = np.stack([(np.diag(ai) - np.outer(ai, ai)) @ gi for ai, gi in zip(a, g)])
    np.testing.assert_allclose(A.Softmax().backward(z, a, g), expected, rtol=1e-12)


def test_step_function_and_unknown_activation():
    np.testing.assert_array_equal(A.step(np.array([-1.0, 0.0, 0.5])), [0, 0, 1])
    with pytest.raises(NndlError, match="unknown activation 'swish'"):
        A.get_activation("swish")
    with pytest.raises(NndlError):
        A.Step().prime(np.zeros(2), np.zeros(2))


def test_costs_are_finite_at_saturated_outputs():
    a = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    for cost in (QuadraticCost(), CrossEntropyCost(), LogLikelihoodCost()):
        value = cost.fn(a, y)
        assert np.isfinite(value) and value > 0
    perfect = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    assert CrossEntropyCost().fn(perfect, y) == pytest.approx(0.0, abs=1e-6)
    assert LogLikelihoodCost().fn(perfect, y) == pytest.approx(0.0, abs=1e-6)


def test_cost_values_by_hand():
    a = np.array([[0.8, 0.2], [0.4, 0.6]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert QuadraticCost().fn(a, y) == pytest.approx((0.5 * (0.04 + 0.04) + 0.5 * (0.16 + 0.16)) / 2)
    ce = -(np.log(0.8) + np.log(0.8) + np.log(0.6) + np.log(0.6)) / 2
    assert CrossEntropyCost().fn(a, y) == pytest.approx(ce)
    assert LogLikelihoodCost().fn(a, y) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)


def test_simplified_deltas_equal_the_general_formula(rng):
    z = rng.standard_normal((6, 4))
    y = np.eye(4)[rng.integers(0, 4, 6)]
    sig, soft = A.Sigmoid(), A.Softmax()
    a = sig.forward(z)
    general = sig.backward(z, a, CrossEntropyCost().derivative(a, y))
    np.testing.assert_allclose(CrossEntropyCost().delta(z, a, y, sig), general, rtol=1e-9)
    a = soft.forward(z)
    general = soft.backward(z, a, LogLikelihoodCost().derivative(a, y))
    np.testing.assert_allclose(LogLikelihoodCost().delta(z, a, y, soft), general, rtol=1e-9, atol=1e-12)


def test_unknown_cost_lists_the_valid_ones():
    with pytest.raises(NndlError, match="cross_entropy"):
        get_cost("focal")            # hinge is a cost now (issue 12)
