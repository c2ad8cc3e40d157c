"""Predicting new rows of a table: ``Network.predict`` on raw rows applies the stored preprocessing, and
``nndl predict MODEL rows.csv`` prints one prediction per row for every table task."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from test_cli import nndl

from nndl import io
from nndl.data import load_csv
from nndl.errors import NndlError
from nndl.models import Regressor


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_file):
    """``trained("iris")``: (model path, the CSV it was trained on), trained once per module."""
    folder = tmp_path_factory.mktemp("tables")
    made = {}
    runs = {"iris": ("iris/iris.csv", ["--layers", "4,10,3", "--epochs", "60"]),
            "diabetes": ("diabetes/diabetes.csv", ["--epochs", "20"]),
            "cancer": ("breast-cancer/breast_cancer.csv", ["--epochs", "10"])}

    def make(name):
        if name not in made:
            table, args = runs[name]
            out = folder / f"{name}.npz"
            r = nndl("train", "--data", data_file(table), *args, "--quiet", "--out", out)
            assert r.returncode == 0, r.stderr
            made[name] = out, data_file(table)
        return made[name]
    return make


def _raw_test_rows(table):
    """The test part of ``table`` as it is in the file: unstandardized features, targets."""
    splits, _ = load_csv(table, standardize=False, standardize_targets=False)
    return splits.test


def _engine_outputs(network, x):
    """The outputs for inputs already preprocessed, straight through the engine."""
    return network.feedforward(network.as_input(x))


# -- Python: the stored preprocessing is applied -----------------------------------------------------------
def test_predict_on_raw_rows_applies_the_stored_standardization(trained):
    path, table = trained("iris")
    network, test = io.load(path), _raw_test_rows(table)
    expected = _engine_outputs(network, network.preprocessor.transform(test.x)).argmax(axis=1)
    np.testing.assert_array_equal(network.predict(test.x), expected)
    np.testing.assert_array_equal(network.predict(network.preprocessor.transform(test.x), preprocessed=True),
                                  expected)
    assert (network.predict(test.x) == test.y).mean() >= 0.9
    _, accuracy = network.evaluate(test.x, test.y)
    assert accuracy == pytest.approx((expected == test.y).mean())


def test_a_binary_network_predicts_by_its_one_output(trained):
    path, table = trained("cancer")
    network, test = io.load(path), _raw_test_rows(table)
    p = network.predict_proba(test.x)[:, 0]
    np.testing.assert_array_equal(network.predict(test.x), (p > 0.5).astype(np.int64))
    assert (network.predict(test.x) == test.y).mean() >= 0.9


def test_a_regressor_predicts_in_the_targets_units(trained):
    path, table = trained("diabetes")
    network, test = io.load(path), _raw_test_rows(table)
    values = Regressor(network).predict(test.x)
    scaled = _engine_outputs(network, network.preprocessor.transform(test.x))
    np.testing.assert_allclose(values, network.target_preprocessor.inverse_transform(scaled).reshape(values.shape),
                               rtol=1e-6)
    assert 25 <= values.mean() <= 346                       # the table's units, not standardized ones
    with pytest.raises(NndlError, match="Regressor"):
        network.predict(test.x)                             # no classes to pick from


# -- the command line --------------------------------------------------------------------------------------
def _write_rows(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _table(table):
    with open(table, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_predict_rows_of_a_classifier(trained, tmp_path):
    path, table = trained("iris")
    header, rows = _table(table)
    picked = rows[::30]                                         # with the species column
    rows_csv = _write_rows(tmp_path / "rows.csv", header, picked)
    r = nndl("predict", path, rows_csv, "--json")
    assert r.returncode == 0, r.stderr
    results = [json.loads(line) for line in r.stdout.splitlines()]
    network = io.load(path)
    x = np.array([[float(v) for v in row[:4]] for row in picked])
    names = [network.class_names[k] for k in network.predict(x)]
    assert [res["prediction"] for res in results] == names
    assert [res["line"] for res in results] == list(range(2, 2 + len(picked)))
    assert sum(res["prediction"] == row[4] for res, row in zip(results, picked)) >= len(picked) - 1
    features_only = _write_rows(tmp_path / "features.csv", header[:4], [row[:4] for row in picked])
    text = nndl("predict", path, features_only)
    assert text.returncode == 0, text.stderr
    assert [line.split()[2] for line in text.stdout.splitlines()] == names     # "line 2: setosa  (...)"


def test_predict_rows_of_a_regressor_and_a_binary_classifier(trained, tmp_path):
    path, table = trained("diabetes")
    header, rows = _table(table)
    rows_csv = _write_rows(tmp_path / "rows.csv", header[:-1], [row[:-1] for row in rows[:5]])
    r = nndl("predict", path, rows_csv, "--json")
    assert r.returncode == 0, r.stderr
    got = [json.loads(line)["prediction"]["progression"] for line in r.stdout.splitlines()]
    x = np.array([[float(v) for v in row[:-1]] for row in rows[:5]])
    np.testing.assert_allclose(got, Regressor(io.load(path)).predict(x)[:, 0], rtol=1e-5)

    path, table = trained("cancer")
    header, rows = _table(table)
    rows_csv = _write_rows(tmp_path / "cancer.csv", header, rows[:5])
    r = nndl("predict", path, rows_csv, "--json")
    assert r.returncode == 0, r.stderr
    network = io.load(path)
    for line in r.stdout.splitlines():
        result = json.loads(line)
        p = result["probability"]
        assert result["prediction"] == network.class_names[int(p > 0.5)] and result["of"] == network.class_names[1]


@pytest.mark.parametrize("edit, message", [
    (lambda h, rows: (h[1:], [r[1:] for r in rows]), "no column 'sepal_length'"),
    (lambda h, rows: (h, [["5.1", "abc", "1.4", "0.2", "setosa"]]), "line 2, column 'sepal_width': 'abc'"),
])
def test_bad_rows_are_one_line(trained, tmp_path, edit, message):
    path, table = trained("iris")
    header, rows = edit(*_table(table))
    r = nndl("predict", path, _write_rows(tmp_path / "bad.csv", header, rows[:3]))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
