"""``nndl gradcheck``: passes on nndl's layers, fails on a layer with a broken backward."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from nndl.cli import gradcheck_cmd
from nndl.cli.main import main
from nndl.layers import Dense
from nndl.network import Network

REPO = Path(__file__).resolve().parents[1]


def test_the_command_passes_on_a_conv_net():
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    r = subprocess.run([sys.executable, "-m", "nndl", "gradcheck", "--net",
                        "conv(3,3) relu pool(2) dense(5) tanh softmax(3)", "--lmbda", "0.5", "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[-1]["ok"] is True and lines[-1]["tensors"] == 6
    assert all(line["relative_error"] < 1e-6 for line in lines[:-1])


class BrokenDense(Dense):
    """A test double: its BP3 forgets half of the bias gradient."""

    def backward_delta(self, delta):
        out = super().backward_delta(delta)
        self.b.grad = self.b.grad * 0.5
        return out


def test_the_command_fails_on_a_broken_layer(monkeypatch, capsys):
    def build(spec, input_shape, cost, seed):
        return Network([BrokenDense(6, activation="tanh"), Dense(3, activation="softmax")], input_shape,
                       cost="log_likelihood", seed=seed, dtype=np.float64)

    monkeypatch.setattr(gradcheck_cmd, "build_network", build)
    assert main(["gradcheck"]) == 1
    out = capsys.readouterr().out
    assert "1:dense.b" in out and "FAIL" in out
    assert "2:dense.W" in out


def test_a_spec_that_does_not_parse_is_one_line(capsys):
    assert main(["gradcheck", "--net", "conv(3"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "conv(3" in err
