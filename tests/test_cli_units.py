"""The course notes' units, costs and initializers are a name away on the command line and in --help."""
import json

import pytest
from test_cli import nndl

from nndl import io


def test_help_names_them():
    text = " ".join(nndl("train", "--help").stdout.split())
    for word in ("maxout(units,pieces)", "rbf(units", "prelu", "rrelu", "hard_tanh", "vanilla_dropout(p)",
                 "kmaxpool(k)", "hinge", "logistic", "multiclass_hinge", "crammer_singer", "l1", "huber",
                 "small (0.01·N(0,1))", "sparse", "relu_bias"):
        assert word in text, word


@pytest.mark.parametrize("init", ["small", "sparse", "relu_bias"])
def test_initializers_by_name(init, data_file, tmp_path):
    out = tmp_path / "m.npz"
    r = nndl("train", "--data", data_file("iris/iris.csv"), "--layers", "4,8,3", "--activation", "relu",
             "--init", init, "--epochs", "2", "--json", "--out", out, "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert io.load(out).layers[0].init.name == init


def test_units_in_a_net_and_regression_costs(data_file, tmp_path):
    r = nndl("train", "--data", data_file("iris/iris.csv"), "--net",
             "maxout(8,2) prelu dense(8) rrelu vanilla_dropout(0.2) dense(6) hard_tanh kmaxpool(4) softmax(3)",
             "--cost", "log_likelihood", "--epochs", "3", "--json", "--out", tmp_path / "m.npz", "--threads", "1")
    assert r.returncode == 0, r.stderr
    for cost in ("l1", "huber"):
        r = nndl("train", "--data", data_file("diabetes/diabetes.csv"), "--cost", cost, "--epochs", "3", "--json",
                 "--out", tmp_path / f"{cost}.npz", "--threads", "1")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.splitlines()[-1])["test_r2"] > 0.0


def test_the_rbf_preset_is_listed():
    assert "rbf-mnist" in nndl("train", "--list-presets").stdout


def test_the_xor_experiment(tmp_path):
    """bench/units.py xor: the perceptron rule never converges, one layer fails, two layers succeed."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(repo / "bench" / "units.py"), "xor", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = {line["run"]: line for line in map(json.loads, out.stdout.splitlines())}
    assert lines["xor single-layer perceptron (rule)"]["converged"] is False
    assert lines["xor single-layer perceptron (rule)"]["accuracy"] <= 0.75
    assert lines["xor one sigmoid layer (backprop)"]["accuracy"] <= 0.75
    assert lines["xor two layers (2 tanh hidden) (backprop)"]["accuracy"] == 1.0
    assert (tmp_path / "xor.png").stat().st_size > 1000
