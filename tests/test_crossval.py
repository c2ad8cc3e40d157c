"""k-fold cross-validation: folds disjoint, covering, stratified and seeded; nndl cv from the command line."""
import json

import numpy as np
import pytest
from test_cli import nndl

from nndl.crossval import check_folds, fold_splits, kfold, split_off, summary
from nndl.data.dataset import Dataset
from nndl.errors import NndlError


@pytest.mark.parametrize("n, k", [(150, 5), (442, 5), (10, 3), (7, 7), (23, 2)])
@pytest.mark.parametrize("classes", [None, 3])
def test_folds_are_disjoint_and_cover_every_example_once(n, k, classes):
    rng = np.random.default_rng(n)
    y = rng.integers(0, classes, n) if classes else rng.standard_normal(n).astype(np.float32)
    folds = kfold(y, k, seed=4)
    assert len(folds) == k
    everything = np.concatenate(folds)
    np.testing.assert_array_equal(np.sort(everything), np.arange(n))          # covering, and each once: disjoint
    for i in range(k):
        for j in range(i + 1, k):
            assert not set(folds[i]) & set(folds[j])
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_folds_are_stratified_and_seeded():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    folds = kfold(y, 5, seed=0)
    for fold in folds:                                                        # 10, 6 and 4 of each class
        np.testing.assert_array_equal(np.bincount(y[fold], minlength=3), [10, 6, 4])
    again, other = kfold(y, 5, seed=0), kfold(y, 5, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))
    assert not all(np.array_equal(a, b) for a, b in zip(folds, other))


def test_the_validation_part_comes_from_the_training_folds_only():
    y = np.repeat([0, 1], [60, 40])
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    data = Dataset(x, y, 2, ["a", "b"], "toy")
    folds = kfold(y, 4, seed=0)
    train = np.sort(np.concatenate(folds[1:]))
    kept, held = split_off(train, y, 0.2, np.random.default_rng(0))
    assert len(held) == 15 and not set(held) & set(folds[0]) and set(kept) | set(held) == set(train)
    splits, pre = fold_splits(data, train, folds[0], 0.2, 0, standardize=True)
    # the standardization is fitted on the training part alone: its mean is the mean of those rows
    np.testing.assert_allclose(pre.mean, x[kept].mean(axis=0), rtol=1e-6)
    assert len(splits.train) == 60 and len(splits.validation) == 15 and len(splits.test) == 25


def test_bad_fold_counts_are_one_line():
    with pytest.raises(NndlError, match="needs at least 2 folds"):
        check_folds(1, 10)
    with pytest.raises(NndlError, match="more folds than the 10 examples"):
        check_folds(11, 10)
    assert summary([0.5, 1.0]) == {"mean": 0.75, "std": 0.25, "values": [0.5, 1.0]}


def test_nndl_cv_prints_each_fold_and_the_mean_and_std(iris_csv):
    r = nndl("cv", "--data", iris_csv, "--layers", "4,3", "--cost", "log_likelihood", "--eta", "0.1",
             "--epochs", "100", "--validation", "0", "--folds", "5", "--threads", "1", "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    folds, last = lines[:-1], lines[-1]
    assert [f["fold"] for f in folds] == [1, 2, 3, 4, 5] and all(f["test"] == 30 for f in folds)
    assert all(f["train"] == 120 and f["validation"] == 0 for f in folds)
    accuracies = [f["test_accuracy"] for f in folds]
    assert last["final"] and last["metric"] == "test_accuracy" and last["test_accuracy_folds"] == accuracies
    assert last["mean"] == pytest.approx(np.mean(accuracies)) and last["std"] == pytest.approx(np.std(accuracies))
    assert last["mean"] >= 0.9                                                  # it learns


def test_nndl_cv_regression_reports_r2_with_early_stopping(data_file):
    r = nndl("cv", "--data", data_file("diabetes/diabetes.csv"), "--layers", "10,1", "--eta", "0.01",
             "--epochs", "20", "--monitor", "validation_r2", "--folds", "3", "--threads", "1", "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[-1]["metric"] == "test_r2" and 0.3 < lines[-1]["mean"] < 0.7
    assert all("best_validation_r2" in f and f["validation"] > 0 for f in lines[:-1])


@pytest.mark.parametrize("args, message", [
    (["--folds", "1"], "--folds 1: k-fold cross-validation needs at least 2 folds"),
    (["--folds", "0"], "--folds 0: k-fold cross-validation needs at least 2 folds"),
    (["--folds", "151"], "--folds 151: more folds than the 150 examples of iris.csv"),
    (["--validation", "1.5"], "--validation must be a fraction in [0, 1)"),
    (["--validation", "0", "--monitor", "validation_r2"], "--monitor 'validation_r2': nndl cv reports the test "
                                                          "fold's cost, accuracy"),
])
def test_bad_cv_options_are_one_line_before_training(iris_csv, args, message):
    r = nndl("cv", "--data", iris_csv, *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("nndl cv: error:") and r.stdout == ""
