"""The live view of a training run: following a JSON-lines log as it grows (a line cut off mid-way,
a replaced file), and the page in headless Chromium updating when a line is appended."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from browser import chromium_driver, running

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "docs" / "results" / "onnx" / "live-conv.jsonl"
MODEL = REPO / "docs" / "results" / "onnx" / "live-conv.npz"
SHOTS = REPO / "docs" / "screenshots"
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
            SHOTS.mkdir(exist_ok=True)
            driver.save_screenshot(str(SHOTS / "live-view.png"))
        finally:
            driver.quit()
