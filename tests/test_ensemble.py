"""Ensemble voting on constructed predictions."""
import numpy as np
import pytest

from nndl.ensemble import mean_vote, plurality_vote, vote
from nndl.errors import NndlError


def test_plurality_follows_the_majority_even_against_confident_minorities():
    outputs = np.array([
        [[0.6, 0.4, 0.0]],   # votes 0
        [[0.6, 0.4, 0.0]],   # votes 0
        [[0.0, 1.0, 0.0]],   # votes 1, very sure
    ])
    assert plurality_vote(outputs).tolist() == [0]
    assert mean_vote(outputs).tolist() == [1]     # the mean of probabilities prefers class 1 (0.6 vs 0.4)


def test_plurality_ties_are_broken_by_summed_outputs_regardless_of_order():
    outputs = np.array([[[0.9, 0.1]], [[0.45, 0.55]]])   # one vote each; class 0 has more total output
    assert plurality_vote(outputs).tolist() == [0]
    assert plurality_vote(outputs[::-1]).tolist() == [0]


def test_many_examples_and_a_single_model():
    rng = np.random.default_rng(0)
    outputs = rng.random((1, 50, 10))
    np.testing.assert_array_equal(plurality_vote(outputs), outputs[0].argmax(axis=1))
    np.testing.assert_array_equal(mean_vote(outputs), outputs[0].argmax(axis=1))


def test_bad_input():
    with pytest.raises(NndlError, match="shape"):
        vote(np.zeros((3, 4)))
    with pytest.raises(NndlError, match="unknown vote"):
        vote(np.zeros((1, 2, 3)), "median")
