"""``nndl train`` never loses a good model silently: divergence, unwritable outputs, Ctrl-C, resume,
schedules that stop learning, and where its output goes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli import nndl

GOOD = b"the last good model"


def _one_error_line(r, *fragments):
    """The run failed with exit 2 and exactly one line on stderr holding every fragment."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nndl train: error:"), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# -- divergence on a scale NaN never reaches --------------------------------------------------------------
@pytest.mark.parametrize("args, sign", [
    (["--layers", "784,30,10", "--train-size", "2000", "--epochs", "3"], "untrained network"),   # cost ~150
    (["--layers", "784,30,10", "--train-size", "2000", "--epochs", "1"], "untrained network"),   # a short run
    (["--cost", "quadratic", "--train-size", "10000", "--epochs", "3"], "chance"),          # saturated at 0.5
])
def test_a_diverged_run_stops_and_keeps_the_good_model(data_root, tmp_path, args, sign):
    out = tmp_path / "m.npz"
    out.write_bytes(GOOD)
    r = nndl("train", "--eta", "1000", *args, "--quiet", "--out", out)
    _one_error_line(r, sign, "smaller learning rate than eta=1000")
    assert out.read_bytes() == GOOD
