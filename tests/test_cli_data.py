"""``nndl data`` run as a real subprocess, offline, on the shared data folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nndl.data import MNIST_FILES, write_idx

REPO = Path(__file__).resolve().parents[1]


def nndl(*args, root=None, check=None):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "NNDL_OFFLINE": "1"}
    if root is not None:
        env["NNDL_DATA"] = str(root)
    result = subprocess.run([sys.executable, "-m", "nndl", *args], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=120)
    if check is not None:
        assert result.returncode == check, result.stdout + result.stderr
    return result


def test_verify(data_root):
    result = nndl("data", "verify", root=data_root, check=0)
    lines = result.stdout.splitlines()
    for name, sha in MNIST_FILES.values():
        assert any(line.startswith("ok") and name in line and sha in line for line in lines), result.stdout
    assert "all four files are good" in lines[-1]


def test_verify_json(data_root):
    report = json.loads(nndl("data", "verify", "--json", root=data_root, check=0).stdout)
    assert report["ok"] is True and [f["status"] for f in report["files"]] == ["ok"] * 4


def test_verify_corrupt_and_missing(tmp_path, data_root):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").symlink_to(data_root / "mnist" / "train-images-idx3-ubyte.gz")
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(60000, dtype=np.uint8))  # corrupt
    # --root overrides NNDL_DATA.
    result = nndl("data", "verify", "--root", str(tmp_path), root=data_root, check=1)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok") and "train-images-idx3-ubyte.gz" in lines[0]
    assert lines[1].startswith("bad") and "train-labels-idx1-ubyte.gz" in lines[1]
    assert lines[2].startswith("missing") and lines[3].startswith("missing")
    assert "3 of 4 files bad or missing" in lines[-1]


def test_show_mnist(data_root):
    out = nndl("data", "show", root=data_root, check=0).stdout
    assert str((data_root / "mnist").resolve()) in out
    assert "train        50000 examples" in out
    assert "validation   10000 examples" in out
    assert "(10000, 784) float32  image 1x28x28  10 classes" in out
    assert "0:980 1:1135 2:1032 3:1010 4:982 5:892 6:958 7:1028 8:974 9:1009" in out


def test_show_csv_json(data_root):
    result = nndl("data", "show", "--data", str(data_root / "iris" / "iris.csv"), "--json", root=data_root,
                  check=0)
    report = json.loads(result.stdout)
    parts = report["parts"]
    assert [parts[k]["examples"] for k in ("train", "validation", "test")] == [105, 22, 23]
    assert parts["train"]["class_counts"] == {"setosa": 35, "versicolor": 35, "virginica": 35}
    assert report["preprocessing"] == "standardize"


def test_show_missing_data_is_one_line_error(tmp_path):
    result = nndl("data", "show", root=tmp_path, check=2)
    assert result.stdout == ""
    assert result.stderr.startswith("nndl data: error: MNIST not found in ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_action_prints_help():
    result = nndl("data", check=1)
    assert "download" in result.stdout and "verify" in result.stdout and "show" in result.stdout


@pytest.mark.parametrize("action", ["download", "verify", "show"])
def test_help(action, capsys):
    from nndl.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["data", action, "--help"])
    assert exit_.value.code == 0 and "--root" in capsys.readouterr().out
