"""``nndl book``: list, run and report, as real subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def nndl(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or REPO, timeout=600)


def test_book_list_shows_every_chapter():
    proc = nndl("book", "list")
    assert proc.returncode == 0, proc.stderr
    for chapter in range(1, 7):
        assert f"Chapter {chapter}" in proc.stdout
    for name in ("perceptrons", "backprop-matrix", "overfitting", "universality-1d", "vanishing-gradient",
                 "conv-ladder"):
        assert name in proc.stdout


def test_book_list_json():
    proc = nndl("book", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    items = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {"name", "chapter", "title", "book_url", "book"} <= set(items[0])
    assert len({i["name"] for i in items}) == len(items) >= 15


def test_book_run_and_report(data_root, tmp_path):
    out = tmp_path / "book"
    proc = nndl("book", "run", "universality-1d", "--quick", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "universality-1d" in proc.stdout and "max error" in proc.stdout
    result = json.loads((out / "universality-1d" / "result.json").read_text(encoding="utf-8"))
    assert result["quick"] and result["figures"]
    for fig in result["figures"]:
        assert (out / "universality-1d" / fig).stat().st_size > 0

    proc = nndl("book", "run", "perceptrons", "--quick", "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["nndl"]["nand_outputs"] == [1, 1, 1, 0]

    page = tmp_path / "docs"
    proc = nndl("book", "report", "--out", page, "--results", out)
    assert proc.returncode == 0, proc.stderr
    text = (page / "README.md").read_text(encoding="utf-8")
    assert "### universality-1d:" in text and "### perceptrons:" in text
    assert "../book/universality-1d/approximation.png" in text
    assert "Not run yet:" in text                      # the other experiments

    proc = nndl("book", "report", "--out", out)         # the page beside the results
    assert proc.returncode == 0, proc.stderr
    assert "(universality-1d/approximation.png)" in (out / "README.md").read_text(encoding="utf-8")


def test_unknown_experiment_is_a_one_line_error(tmp_path):
    proc = nndl("book", "run", "no-such-thing", "--quick", "--out", tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown experiment" in lines[0] and "universality-1d" in lines[0]


def test_report_without_results_is_a_one_line_error(tmp_path):
    proc = nndl("book", "report", "--out", tmp_path / "nothing")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "nndl book run" in proc.stderr


@pytest.mark.parametrize("args", [["book"], ["book", "run"]])
def test_book_without_action_prints_usage(args):
    proc = nndl(*args)
    assert proc.returncode in (1, 2)
    assert "usage" in (proc.stdout + proc.stderr).lower()
