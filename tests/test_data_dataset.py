"""The Dataset container: checks on construction, views, helpers."""
from __future__ import annotations

import numpy as np
import pytest

from nndl.data import DataSplits, Dataset
from nndl.errors import NndlError


def make(n=6, k=3, **kw):
    return Dataset(np.arange(n * 4, dtype=np.float32).reshape(n, 4), np.arange(n) % k, k, **kw)


def test_basic():
    d = make(name="toy")
    assert len(d) == 6 and d.num_features == 4
    assert d.x.dtype == np.float32 and d.y.dtype == np.int64
    assert d.class_counts().tolist() == [2, 2, 2]
    np.testing.assert_array_equal(d.one_hot(), np.eye(3, dtype=np.float32)[d.y])
    assert "toy" in repr(d)


def test_conversions():
    d = Dataset(np.ones((3, 2), dtype=np.uint8), np.array([0, 1, 1], dtype=np.uint8), 2)
    assert d.x.dtype == np.float32 and d.y.dtype == np.int64


def test_subset_and_slice_are_views():
    d = make()
    s = d.subset(4)
    assert len(s) == 4 and np.shares_memory(s.x, d.x) and np.shares_memory(s.y, d.y)
    t = d.slice(4, 6, "tail")
    assert t.name == "tail" and t.y.tolist() == [1, 2]
    for bad in (0, 7):
        with pytest.raises(NndlError, match="toy: cannot take the first"):
            make(name="toy").subset(bad)


def test_images_and_with_x():
    d = Dataset(np.zeros((2, 4), np.float32), np.array([0, 1]), 2, image_shape=(1, 2, 2))
    assert d.images().shape == (2, 1, 2, 2)
    assert d.with_x(d.x + 1).image_shape == (1, 2, 2)
    assert d.with_x(np.zeros((2, 3))).image_shape is None
    with pytest.raises(NndlError, match="does not match"):
        Dataset(np.zeros((2, 4), np.float32), np.array([0, 1]), 2, image_shape=(1, 3, 3))
    with pytest.raises(NndlError, match="not images"):
        make().images()


@pytest.mark.parametrize("x, y, k, words", [
    (np.zeros(4), np.zeros(4, int), 2, "at least 2-D"),
    (np.zeros((0, 3)), np.zeros(0, int), 2, "empty"),
    (np.zeros((3, 2)), np.zeros(2, int), 2, "3 examples but 2 labels"),
    (np.zeros((2, 2)), np.array([0, 2]), 2, r"labels range over 0\.\.2 but there are 2 classes"),
    (np.zeros((2, 2)), np.array([-1, 0]), 2, "labels range over -1"),
    (np.zeros((2, 2)), np.array([0.0, 1.0]), 2, "integer class indices"),
    (np.zeros((2, 2)), np.zeros((2, 1), int), 2, "1-D"),
    (np.array([[0.0, np.nan]]), np.array([0]), 2, r"NaN or infinity, e\.g\. nan at index \(0, 1\)"),
    (np.array([[np.inf, 0.0]]), np.array([0]), 2, "NaN or infinity"),
    (np.array([["a", "b"]]), np.array([0]), 2, "must be numbers"),
])
def test_bad_data_named_in_error(x, y, k, words):
    with pytest.raises(NndlError, match=words) as err:
        Dataset(x, y, k, name="my data")
    assert str(err.value).startswith("my data: ")


def test_class_names_must_match():
    with pytest.raises(NndlError, match="2 class names for 3 classes"):
        make(class_names=["a", "b"])


def test_splits_parts():
    d = make()
    assert [k for k, _ in DataSplits(d, None, d).parts()] == ["train", "test"]
