"""Chapter 1's perceptrons: the NAND gate and the five-NAND circuit that adds two bits."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.perceptron import Perceptron, PerceptronNetwork, half_adder, nand_perceptron, two_bit_adder

BITS = list(itertools.product([0, 1], repeat=2))


def test_nand_truth_table():
    nand = nand_perceptron()
    assert nand.weights.tolist() == [-2.0, -2.0] and nand.bias == 3.0
    for x1, x2 in BITS:
        expected = 0 if (x1 and x2) else 1
        out = nand([x1, x2])
        assert out == expected and isinstance(out, int)
    # The same table as one batch.
    assert nand(np.array(BITS)).tolist() == [1, 1, 1, 0]


def test_output_is_zero_when_weighted_input_is_exactly_zero():
    # The book: output 0 if w·x + b ≤ 0, 1 if w·x + b > 0.
    p = Perceptron([1.0, -1.0], 0.0)
    assert p.z([2.0, 2.0]) == 0.0
    assert p([2.0, 2.0]) == 0
    assert p([2.0, 1.5]) == 1
    assert p([1.5, 2.0]) == 0


@pytest.mark.parametrize("x1,x2", BITS)
def test_adder_sum_and_carry_bits(x1, x2):
    total, carry = two_bit_adder(x1, x2)
    assert total == (x1 ^ x2)
    assert carry == (x1 & x2)
    assert 2 * carry + total == x1 + x2


def test_adder_on_arrays_of_bits():
    x1 = np.array([0, 0, 1, 1, 1, 0])
    x2 = np.array([0, 1, 0, 1, 1, 1])
    total, carry = two_bit_adder(x1, x2)
    assert total.tolist() == (x1 ^ x2).tolist()
    assert carry.tolist() == (x1 & x2).tolist()


def test_adder_is_five_nand_perceptrons_wired_as_in_the_book():
    adder = half_adder()
    assert len(adder.perceptrons) == 5
    assert all(p.is_nand() for p in adder.perceptrons)
    assert all(type(p) is Perceptron for p in adder.perceptrons)
    # Signals: x1, x2, then n = NAND(x1, x2), NAND(x1, n), NAND(x2, n), sum, carry.
    for (x1, x2), row in zip(BITS, np.array(adder.signals(np.array(BITS))).T):
        n = 1 - (x1 & x2)
        p, q = 1 - (x1 & n), 1 - (x2 & n)
        assert row.tolist() == [x1, x2, n, p, q, 1 - (p & q), 1 - n]
    # The carry perceptron takes the first perceptron's output twice.
    assert adder.gates[4][1] == (2, 2)


def test_batch_evaluation_equals_row_by_row(rng):
    p = Perceptron(rng.normal(size=5), rng.normal())
    x = rng.normal(size=(200, 5))
    batch = p(x)
    assert batch.shape == (200,)
    assert batch.tolist() == [p(row) for row in x]
    np.testing.assert_allclose(p.z(x), x @ p.weights + p.bias)

    adder = half_adder()
    bits = rng.integers(0, 2, size=(50, 2))
    total, carry = adder(bits)
    assert list(zip(total.tolist(), carry.tolist())) == [adder(row) for row in bits]


def test_a_small_network_of_perceptrons():
    # OR from NANDs: NAND(NAND(x1, x1), NAND(x2, x2)).
    nand = nand_perceptron
    net = PerceptronNetwork(2, [(nand(), (0, 0)), (nand(), (1, 1)), (nand(), (2, 3))], outputs=(4,))
    assert [net(b)[0] for b in BITS] == [0, 1, 1, 1]


def test_bad_input_is_a_one_line_error():
    nand = nand_perceptron()
    with pytest.raises(NndlError, match="2 entries"):
        nand([1, 0, 1])
    with pytest.raises(NndlError, match="0 or 1"):
        two_bit_adder(2, 0)
    with pytest.raises(NndlError, match="equal length"):
        two_bit_adder([0, 1], [1])
    with pytest.raises(NndlError, match="only 0..1 exist"):
        PerceptronNetwork(2, [(nand_perceptron(), (0, 2))], outputs=(2,))
    with pytest.raises(NndlError):
        Perceptron([], 1.0)


# --------------------------------------------------------------------------- ±1 outputs and the learning rule
def test_the_rule_converges_on_a_separable_set():
    from nndl.perceptron import SignPerceptron, learn

    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (200, 2))
    margin = x @ np.array([2.0, -1.0]) + 0.2
    keep = np.abs(margin) > 0.1                     # a margin γ > 0: Novikoff's bound applies
    x, t = x[keep], np.where(margin[keep] > 0, 1, -1)
    p, mistakes = learn(x, t, epochs=200)
    assert isinstance(p, SignPerceptron) and mistakes[-1] == 0 and len(mistakes) < 200
    assert (p(x) == t).all() and set(np.unique(p(x))) == {-1, 1}


def test_the_rule_never_converges_on_xor():
    from nndl.perceptron import learn

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    t = np.array([-1, 1, 1, -1])
    p, mistakes = learn(x, t, epochs=500)
    assert len(mistakes) == 500 and min(mistakes) > 0          # a mistake in every epoch, forever
    assert (p(x) == t).sum() <= 3                              # no line separates XOR


def test_bad_labels_for_the_rule():
    from nndl.perceptron import learn

    with pytest.raises(NndlError, match="±1"):
        learn(np.zeros((3, 2)), [0, 1, 1])
