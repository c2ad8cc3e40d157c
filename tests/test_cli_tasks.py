"""``nndl train`` on tables of every task: regression, binary, multi-label, classification — and the
options whose names used to be compared as typed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli import nndl

from nndl import io
from nndl.cli import train_cmd
from nndl.cli.main import build_parser


def _json_lines(result):
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_diabetes_regression_reports_r2(data_file, tmp_path):
    out = tmp_path / "diabetes.npz"
    r = nndl("train", "--data", data_file("diabetes/diabetes.csv"), "--epochs", "30", "--json", "--out", out)
    lines = _json_lines(r)
    final = lines[-1]
    assert {"test_mse", "test_mae", "test_r2"} <= set(final) and final["test_r2"] > 0.2
    assert {"validation_mse", "validation_r2"} <= set(lines[0])
    net = io.load(out)
    assert net.output_shape == (1,) and net.layers[-1].activation.name == "linear"
    assert net.target_preprocessor is not None                      # outputs mapped back to the table's units
    again = json.loads(nndl("evaluate", out, "--json").stdout)
    assert again["r2"] == pytest.approx(final["test_r2"]) and again["mae"] > 10   # in the target's units


def test_breast_cancer_with_one_sigmoid_output(data_file, tmp_path):
    out = tmp_path / "cancer.npz"
    r = nndl("train", "--data", data_file("breast-cancer/breast_cancer.csv"), "--epochs", "10", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "two distinct values: task binary" in r.stderr            # the inference, said in one line
    net = io.load(out)
    assert net.output_shape == (1,) and net.class_names == ["benign", "malignant"]
    figures = json.loads(nndl("evaluate", out, "--json").stdout)
    assert figures["task"] == "binary" and figures["accuracy"] > 0.9


def test_a_multilabel_table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    rows = ["f1,f2,f3,big,odd"] + [f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)},{int(c > 0)}" for a, b, c in x]
    table = tmp_path / "labels.csv"
    table.write_text("\n".join(rows) + "\n")
    r = nndl("train", "--data", table, "--label", "big,odd", "--layers", "3,10,2", "--epochs", "40", "--json",
             "--out", tmp_path / "m.npz")
    final = _json_lines(r)[-1]
    assert final["test_accuracy"] > 0.85 and "test_log_loss" in final
    assert io.load(tmp_path / "m.npz").output_shape == (2,)


def test_iris_is_still_classification(iris_csv, tmp_path):
    r = nndl("train", "--data", iris_csv, "--layers", "4,10,3", "--epochs", "60", "--json", "--out", tmp_path / "i.npz")
    final = _json_lines(r)[-1]
    assert final["test_accuracy"] >= 0.9 and "best_validation_accuracy" in final


@pytest.mark.parametrize("args, message", [
    (["--task", "regression"], "'setosa' is not a number; a regression target must be numeric"),
    (["--task", "binary"], "a binary task needs exactly two distinct values, this column has 3"),
    (["--task", "multilabel"], "a multilabel task needs several 0/1 label columns"),
    (["--task", "ranking"], "unknown task 'ranking'"),
    (["--monitor", "validation_r2"], "monitors 'validation_r2', which this run does not measure"),
    (["--layers", "4,10,2"], "--layers ends with 2 outputs but the data have 3 classes"),
    (["--layers", "4,abc,3"], "entry 2 ('abc') is not a positive whole number"),
    (["--optimizer", "adam", "--momentum", "0.5"], "--momentum goes with the sgd, momentum, nesterov, rmsprop, cauchy_backprop or adaptive_gains"),
])
def test_bad_task_options_are_one_line_before_training(iris_csv, tmp_path, args, message):
    r = nndl("train", "--data", iris_csv, "--epochs", "3", *args, "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("nndl train: error:") and "epoch 1" not in r.stderr
    assert not (tmp_path / "m.npz").exists()


def _settings(*argv):
    args = build_parser().parse_args(["train", *argv])
    s = train_cmd.resolve_settings(args)
    train_cmd._check_settings(s)
    return s


class _Table:
    x = np.zeros((4, 784), np.float32)
    y = np.zeros(4, np.int64)
    num_classes = 10


@pytest.mark.parametrize("cost", ["log-likelihood", "NLL", "Log_Likelihood"])
def test_batch_norm_under_the_log_likelihood_gets_a_softmax_output(cost):
    s = _settings("--batch-norm", "--cost", cost)
    s["task"] = "classification"
    train_cmd.complete_settings(s, _Table)
    net = train_cmd.build_network(s, _Table)
    assert net.layers[-1].activation.name == "softmax" and net.cost.name == "log_likelihood"


@pytest.mark.parametrize("argv, kind, mu", [
    (["--optimizer", "Nesterov", "--momentum", "0.5"], "nesterov", 0.5),
    (["--optimizer", "SGD", "--momentum", "0.5"], "momentum", 0.5),
    (["--optimizer", "MOMENTUM"], "momentum", 0.9),
])
def test_optimizer_names_are_compared_normalized(argv, kind, mu):
    s = _settings(*argv)
    s["task"] = "classification"
    train_cmd.complete_settings(s, _Table)
    model = train_cmd.build_model(s, train_cmd.build_network(s, _Table))
    assert model.optimizer.name == kind and model.optimizer.mu == mu


def test_a_checkpoint_of_the_old_format_is_one_line(tmp_path):
    config = {"format": "nndl-model", "version": 1, "network": {"input_shape": [2], "cost": "quadratic",
              "layers": [{"type": "dense", "units": 1}]}, "trainer": {"epoch": 1}}
    arrays = {"nndl.json": np.frombuffer(json.dumps(config).encode(), np.uint8),
              "param/0/W": np.zeros((1, 2), np.float32), "param/0/b": np.zeros(1, np.float32)}
    np.savez(tmp_path / "old.ckpt.npz", **arrays)
    r = nndl("train", "--resume", tmp_path / "old.ckpt.npz")
    assert r.returncode == 2 and "format version 1, from before nndl's general engine; it cannot be resumed" in r.stderr
    assert io.load(tmp_path / "old.ckpt.npz").output_shape == (1,)   # its model still loads
