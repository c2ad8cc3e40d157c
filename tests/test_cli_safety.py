"""``nndl train`` never loses a good model silently: divergence, unwritable outputs, Ctrl-C, resume,
schedules that stop learning, and where its output goes."""
from __future__ import annotations

import json
import os
from pathlib import Path

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


# -- output paths checked before any training ---------------------------------------------------------------
def _unwritable_folder(tmp_path):
    """A folder this process cannot create files in (root ignores permissions: then /sys)."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    if not os.access("/sys", os.F_OK):
        pytest.skip("running as root and no /sys to stand for a folder without write permission")
    return Path("/sys")


@pytest.mark.parametrize("option", ["--out", "--checkpoint"])
@pytest.mark.parametrize("where, message", [
    ("missing", "does not exist"), ("folder", "is a folder"), ("unwritable", "cannot write")])
def test_an_unwritable_output_is_one_line_before_training(data_root, tmp_path, option, where, message):
    path = {"missing": tmp_path / "no" / "such" / "m.npz", "folder": tmp_path,
            "unwritable": None}[where] or _unwritable_folder(tmp_path) / "m.npz"
    outputs = {"--out": tmp_path / "m.npz", "--checkpoint": tmp_path / "ck.npz"}
    outputs[option] = path
    r = nndl("train", "--layers", "784,10,10", "--train-size", "500", "--epochs", "1", "--json",
             "--out", outputs["--out"], "--checkpoint", outputs["--checkpoint"])
    _one_error_line(r, option, str(path), message)
    assert r.stdout == ""                                   # not one epoch trained
    assert not any(p.name.endswith(".npz") for p in tmp_path.iterdir())


def test_out_and_checkpoint_must_differ(data_root, tmp_path):
    r = nndl("train", "--train-size", "500", "--epochs", "1", "--out", tmp_path / "m.npz",
             "--checkpoint", tmp_path / "m.npz")
    _one_error_line(r, "--checkpoint", "same file")
