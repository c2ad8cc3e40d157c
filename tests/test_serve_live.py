"""The live view of a training run: following a JSON-lines log as it grows (a line cut off mid-way,
a replaced file), and the page in headless Chromium updating when a line is appended."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from browser import chromium_driver, running, save_screenshot

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "docs" / "results" / "onnx" / "live-conv.jsonl"
MODEL = REPO / "docs" / "results" / "onnx" / "live-conv.npz"
LINES = RUN.read_text().splitlines()


def test_run_log_takes_complete_lines_only(tmp_path):
    from nndl.serve.runlog import RunLog

    path = tmp_path / "run.jsonl"
    path.write_text(LINES[0] + "\n" + LINES[1][:40])            # the trainer is writing line 2
    log = RunLog(path)
    state = log.poll()
    assert [e["epoch"] for e in state["epochs"]] == [1] and "line 2 has no end yet" in state["waiting"]
    with open(path, "a") as f:
        f.write(LINES[1][40:] + "\n")
    state = log.poll()
    assert [e["epoch"] for e in state["epochs"]] == [1, 2] and state["waiting"] is None and not state["problems"]


def test_a_line_cut_off_mid_way_is_skipped_and_named(tmp_path):
    from nndl.serve.runlog import RunLog

    path = tmp_path / "run.jsonl"
    path.write_text(LINES[0] + "\n" + LINES[1][:55] + "\n" + LINES[2] + "\n" + "[1, 2]\n" + LINES[-1] + "\n")
    state = RunLog(path).poll()
    assert [e["epoch"] for e in state["epochs"]] == [1, 3]
    assert state["final"]["final"] is True
    assert state["problems"] == ["run.jsonl line 2: not a JSON object (cut off mid-line?); skipped",
                                 "run.jsonl line 4: not a JSON object; skipped"]


def test_a_replaced_log_starts_again(tmp_path):
    from nndl.serve.runlog import RunLog

    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(LINES[:4]) + "\n")
    log = RunLog(path)
    first = log.poll()
    path.write_text(LINES[0] + "\n")                             # a new run, same file
    second = log.poll()
    assert len(first["epochs"]) == 4 and len(second["epochs"]) == 1
    assert second["generation"] == first["generation"] + 1


def test_a_missing_log_is_waited_for(tmp_path):
    from nndl.serve.runlog import RunLog

    state = RunLog(tmp_path / "later.jsonl").poll()
    assert state["epochs"] == [] and "does not exist (yet)" in state["missing"]


def test_snapshot_of_a_model_file():
    from nndl.serve.snapshot import SHOWN, Snapshot

    value = Snapshot(MODEL).get()
    assert value["filters"]["layer"] == "1:conv" and value["filters"]["shape"] == [5, 5]
    assert len(value["filters"]["images"]) == 8
    assert 0 < len(value["misclassified"]) <= SHOWN
    wrong = value["misclassified"][0]
    assert wrong["label"] != wrong["predicted"] and len(wrong["pixels"]) == 784


def _wait(driver, condition, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = driver.execute_script(condition)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {condition}")


def test_live_view_updates_when_a_line_is_appended(tmp_path):
    from nndl.serve.app import create_app
    from nndl.serve.runlog import RunLog
    from nndl.serve.snapshot import Snapshot

    log = tmp_path / "run.jsonl"
    log.write_text("\n".join(LINES[:2]) + "\n")
    app = create_app(None, {"run": log.name}, RunLog(log), Snapshot(MODEL))
    with running(app) as url:
        driver = chromium_driver(1200, 1000)
        try:
            driver.get(url + "/")                                # no model served: the live view
            assert driver.current_url.endswith("/live")
            _wait(driver, "return document.getElementById('epochs').textContent === '2'")
            polls = driver.execute_script("return window.nndlLive.polls")
            with open(log, "a") as f:
                f.write(LINES[2] + "\n")
            _wait(driver, "return document.getElementById('epochs').textContent === '3'")
            assert driver.execute_script("return window.nndlLive.polls") > polls       # no reload: same page
            with open(log, "a") as f:                            # a run killed mid-line, then more lines
                f.write(LINES[3][:50] + "\n" + "\n".join(LINES[4:]) + "\n")
            expected = 3 + len(LINES[4:-1])                      # line 4 is lost, the final line is no epoch
            _wait(driver, f"return document.getElementById('epochs').textContent === '{expected}'")
            problems = driver.find_element("id", "problems").text
            assert "line 4: not a JSON object (cut off mid-line?)" in problems
            assert "Finished" in driver.find_element("id", "summary").text
            _wait(driver, "return document.querySelectorAll('#filters canvas').length === 8")
            _wait(driver, "return document.querySelectorAll('#mistakes figure').length > 0")
            save_screenshot(driver, "live-view.png")
        finally:
            driver.quit()


def _nndl(*args, **kwargs):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.Popen([sys.executable, "-m", "nndl", *map(str, args)], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def test_train_serve_shows_the_run_while_it_trains(data_root, tmp_path):
    """``nndl train --serve 0``: the training process serves its own live view, epochs and filters."""
    import urllib.request

    from oracles import oracle

    oracle("flask")
    process = _nndl("train", "--layers", "784,30,10", "--train-size", "2000", "--epochs", "500", "--quiet",
                    "--serve", "0", "--out", tmp_path / "model.npz")
    try:
        line = process.stderr.readline()
        assert line.startswith("nndl train: live view at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].strip()
        base = url.removesuffix("/live")
        end = time.monotonic() + 120
        run = {"epochs": []}
        while len(run["epochs"]) < 2 and time.monotonic() < end:
            time.sleep(0.2)
            run = json.load(urllib.request.urlopen(base + "/api/run", timeout=10))
        assert [e["epoch"] for e in run["epochs"][:2]] == [1, 2] and "gradient_norms" in run["epochs"][0]
        snapshot = json.load(urllib.request.urlopen(base + "/api/snapshot", timeout=30))
        assert snapshot["filters"]["layer"] == "1:dense" and snapshot["filters"]["shape"] == [28, 28]
        assert snapshot["misclassified"]
        assert urllib.request.urlopen(url, timeout=10).status == 200
    finally:
        process.kill()
        process.wait(30)


def test_train_serve_on_a_port_in_use_is_one_line(data_root, tmp_path):
    import socket

    from oracles import oracle

    oracle("flask")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        process = _nndl("train", "--layers", "784,30,10", "--train-size", "100", "--epochs", "1", "--quiet",
                        "--serve", port, "--out", tmp_path / "model.npz")
        err = process.communicate(timeout=300)[1]
    assert process.returncode == 2
    assert err == f"nndl train: error: port {port} on 127.0.0.1 is in use; pick another with --serve\n"
    assert not (tmp_path / "model.npz").exists()
