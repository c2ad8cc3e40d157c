"""Chapter 1's average-darkness baseline."""
from __future__ import annotations

import numpy as np
import pytest

from nndl.data import AverageDarkness, Dataset, load_mnist
from nndl.errors import NndlError


def test_book_result(data_root):
    """The book: 2,225 of the 10,000 test images right, trained on the 50,000 of the book split."""
    splits = load_mnist(data_root, split="book", download=False)
    baseline = AverageDarkness().fit(splits.train)
    assert baseline.accuracy(splits.test) == pytest.approx(0.2225, abs=0.001)
    assert baseline.averages.argmin() == 1 and baseline.averages.argmax() == 0  # 1 is lightest, 0 darkest


def test_nearest_average_wins():
    x = np.array([[1, 0], [1, 2], [3, 3], [4, 4], [0, 0]], dtype=np.float32)  # darkness 1, 3, 6, 8, 0
    y = np.array([0, 0, 2, 2, 0])
    baseline = AverageDarkness().fit(Dataset(x, y, num_classes=3))
    np.testing.assert_allclose(baseline.averages[[0, 2]], [4 / 3, 7])
    assert np.isnan(baseline.averages[1])  # class 1 has no examples and is never predicted
    np.testing.assert_array_equal(baseline.predict(np.array([[0, 0], [4, 0], [5, 0], [9, 9]])), [0, 0, 2, 2])
    assert baseline.correct(Dataset(x, y, 3)) == 5


def test_not_fitted():
    with pytest.raises(NndlError, match="not fitted"):
        AverageDarkness().predict(np.zeros((1, 4)))
