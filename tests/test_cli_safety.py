"""``nndl train`` never loses a good model silently: divergence, unwritable outputs, Ctrl-C, resume,
schedules that stop learning, and where its output goes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import REPO, nndl

from nndl import io

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


# -- Ctrl-C saves what finished ------------------------------------------------------------------------------
def _start(*args):
    """``nndl train ARGS`` running in the background, its output read line by line."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), PYTHONUNBUFFERED="1")
    # SIGINT back to its default in the child: a test run started in the background (``&``) ignores it,
    # and Python would then never turn it into KeyboardInterrupt.
    return subprocess.Popen([sys.executable, "-m", "nndl", "train", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt(proc):
    """Ctrl-C: SIGINT to the run; its exit status, stdout and stderr."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_ctrl_c_saves_the_best_finished_epoch(data_root, tmp_path):
    out = tmp_path / "m.npz"
    out.write_bytes(GOOD)
    proc = _start("--layers", "784,30,10", "--train-size", "2000", "--epochs", "100000", "--json", "--out", out)
    seen = [json.loads(proc.stdout.readline()) for _ in range(2)]      # two epochs finished
    status, rest, err = _interrupt(proc)
    assert status == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and str(out) in lines[0] and "saved" in lines[0], err
    final = json.loads(rest.strip().splitlines()[-1])
    assert final["final"] is True and final["stop_reason"] == "interrupted"
    network = io.load(out)
    settings = network.metadata
    assert settings["stop_reason"] == "interrupted" and settings["best_epoch"] >= 1
    best = max(seen, key=lambda e: e["validation_accuracy"]) if final["epochs"] == 2 else None
    if best is not None:
        assert settings["best_epoch"] == best["epoch"]
    from nndl.data import load_mnist

    validation = load_mnist().validation
    accuracy = float((network.predict(validation.x) == validation.y).mean())
    assert accuracy == pytest.approx(settings["best_validation_accuracy"])   # the best epoch's weights


def test_ctrl_c_before_the_first_epoch_saves_nothing(data_root, tmp_path):
    out = tmp_path / "m.npz"
    out.write_bytes(GOOD)
    proc = _start("--layers", "784,500,10", "--batch-size", "1", "--epochs", "1", "--out", out)
    while "training on" not in proc.stdout.readline():          # the data are loaded, the epoch begins
        pass
    status, _, err = _interrupt(proc)
    assert status == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "nothing saved" in lines[0], err
    assert out.read_bytes() == GOOD


# -- human output on stdout, diagnostics on stderr ----------------------------------------------------------
def test_human_output_goes_to_stdout(data_root, tmp_path):
    r = nndl("train", "--layers", "784,10,10", "--train-size", "500", "--epochs", "2", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    text = r.stdout
    assert "training on 500 examples" in text and "epoch 1, eta" in text and "epoch 2, eta" in text
    assert "test accuracy" in text and f"saved {tmp_path / 'm.npz'}" in text


def test_json_output_is_json_only(data_root, tmp_path):
    r = nndl("train", "--layers", "784,10,10", "--train-size", "500", "--epochs", "2", "--json",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [line.get("epoch") for line in lines] == [1, 2, None] and lines[-1]["final"] is True


def test_early_stopping_says_that_it_stopped(iris_csv, tmp_path):
    r = nndl("train", "--data", iris_csv, "--layers", "4,10,3", "--epochs", "500", "--early-stop", "3",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    stops = [line for line in r.stdout.splitlines() if line.startswith("stopped early")]
    assert len(stops) == 1, r.stdout
    best = io.load(tmp_path / "m.npz").metadata["best_epoch"]
    assert "no improvement in 3 epochs" in stops[0] and f"the weights of epoch {best} " in stops[0]


def test_expand_counts_the_expanded_examples(data_root, tmp_path):
    r = nndl("train", "--layers", "784,10,10", "--expand", "--train-size", "300", "--epochs", "1",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    assert "training on 1500 examples" in r.stdout, r.stdout


# -- --resume keeps the run's --out and refuses other settings ----------------------------------------------
@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory, data_root):
    """A two-epoch run with a checkpoint: (folder, checkpoint, the run's --out)."""
    folder = tmp_path_factory.mktemp("resume")
    ck, out = folder / "ck.npz", folder / "first.npz"
    r = nndl("train", "--layers", "784,10,10", "--train-size", "500", "--epochs", "2", "--eta", "0.5", "--quiet",
             "--checkpoint", ck, "--out", out)
    assert r.returncode == 0, r.stderr
    return folder, ck, out


def test_resume_writes_the_original_out(checkpointed, tmp_path):
    folder, ck, out = checkpointed
    before = out.read_bytes()
    r = nndl("train", "--resume", ck, "--epochs", "3", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "model.npz").exists() and out.read_bytes() != before
    assert io.load(ck).metadata["settings"]["out"] == str(out)


@pytest.mark.parametrize("args, option", [
    (["--eta", "0.1"], "--eta"), (["--layers", "784,20,10"], "--layers"),
    (["--net", "dense(10) sigmoid"], "--net"), (["--batch-norm"], "--batch-norm"),
    (["--optimizer", "adam"], "--optimizer"), (["--data", "elsewhere.csv"], "--data")])
def test_resume_refuses_options_that_change_the_run(checkpointed, tmp_path, args, option):
    folder, ck, _ = checkpointed
    r = nndl("train", "--resume", ck, *args, "--epochs", "3", "--out", tmp_path / "m.npz")
    _one_error_line(r, option, str(ck), "--epochs")
    assert not (tmp_path / "m.npz").exists()


def test_resume_accepts_the_same_values_and_more_epochs(checkpointed, tmp_path):
    folder, ck, _ = checkpointed
    r = nndl("train", "--resume", ck, "--eta", "0.50", "--layers", "784, 10, 10", "--optimizer", "SGD",
             "--epochs", "3", "--quiet", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr


# -- schedules: their unit said, and a warning when η reaches 0 before the end ------------------------------
def test_help_says_what_schedules_count():
    text = " ".join(nndl("train", "--help").stdout.split())
    assert "cosine(T), one_cycle(T,max_eta) and inverse_time(λ) count mini-batch steps" in text
    assert "unit=epoch" in text and "step_decay(N,γ)" in text


@pytest.mark.parametrize("schedule, message", [
    ("cosine(0)", "counted in mini-batch steps"), ("cosine()", "count mini-batch steps"),
    ("step_decay(0)", "counted in epochs")])
def test_schedule_errors_name_the_unit(data_root, tmp_path, schedule, message):
    r = nndl("train", "--train-size", "500", "--epochs", "1", "--lr-schedule", schedule, "--out", tmp_path / "m.npz")
    _one_error_line(r, "schedule", message, "unit=epoch")


def test_a_schedule_that_stops_learning_early_is_warned_about(data_root, tmp_path):
    """The README's old ``cosine(30)``: η is 0 after 30 of the run's 100 mini-batch steps."""
    r = nndl("train", "--layers", "784,10,10", "--train-size", "500", "--epochs", "2", "--batch-size", "10",
             "--lr-schedule", "cosine(30)", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nndl train: warning: "), r.stderr
    for fragment in ("mini-batch step 30", "100", "cosine(100)", "cosine(2, unit=epoch)"):
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("schedule", ["cosine(100)", "cosine(2, unit=epoch)", "exponential(0.9)", "plateau(1)"])
def test_a_schedule_that_spans_the_run_is_not_warned_about(data_root, tmp_path, schedule):
    r = nndl("train", "--layers", "784,10,10", "--train-size", "500", "--epochs", "2", "--lr-schedule", schedule,
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0 and r.stderr == "", r.stderr


# -- a closed pipe, a bad backend ---------------------------------------------------------------------------
def test_a_closed_pipe_ends_quietly(data_root, tmp_path):
    """``nndl train --json | head -1``: head exits after one line, the run's next write finds no reader."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    script = (f'"{sys.executable}" -m nndl train --layers 784,10,10 --train-size 500 --epochs 300 --json '
              f'--out "{tmp_path / "m.npz"}" 2>"{tmp_path / "err.txt"}" | head -1; exit "${{PIPESTATUS[0]}}"')
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(r.stdout)["epoch"] == 1
    assert (tmp_path / "err.txt").read_text() == ""
    assert r.returncode == 141                                  # as if killed by SIGPIPE, like any filter


def test_a_bad_backend_is_one_line():
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), NNDL_BACKEND="torch")
    r = subprocess.run([sys.executable, "-m", "nndl", "train"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["nndl: error: NNDL_BACKEND='torch' is not a backend; use 'numpy' or 'cupy'"]


# -- paths relative to where they come from -----------------------------------------------------------------
def test_a_csv_model_evaluates_from_another_folder(iris_csv, tmp_path):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    relative = os.path.relpath(iris_csv, here)
    r = nndl("train", "--data", relative, "--layers", "4,10,3", "--epochs", "5", "--quiet", "--out", "m.npz",
             cwd=here)
    assert r.returncode == 0, r.stderr
    assert io.load(here / "m.npz").metadata["settings"]["data"] == str(Path(iris_csv).resolve())
    r = nndl("evaluate", here / "m.npz", "--json", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["examples"] > 0


def test_the_conv_ladder_finds_the_checkout_results_from_any_folder(tmp_path, monkeypatch):
    from nndl.experiments import ch6

    monkeypatch.chdir(tmp_path)
    assert ch6.results_folder(None) == REPO / "docs" / "results"
    assert ch6.results_folder("mine") == Path("mine")           # an explicit folder: as the user wrote it


# -- small ones ---------------------------------------------------------------------------------------------
def test_the_nan_message_comes_alone(data_root, tmp_path):
    """No raw NumPy RuntimeWarnings (overflow in matmul, ...) before the one line."""
    r = nndl("train", "--eta", "1000", "--train-size", "2000", "--epochs", "1", "--quiet", "--out", tmp_path / "m.npz")
    _one_error_line(r, "the cost became nan", "smaller learning rate")


@pytest.mark.parametrize("command", ["evaluate", "ensemble"])
def test_split_has_help(command):
    text = " ".join(nndl(command, "--help").stdout.split())
    assert "--split {test,validation,train} which part of the data" in text, text


def test_a_csv_without_a_usual_label_name_says_which_column_is_the_label(data_file, tmp_path):
    r = nndl("train", "--data", data_file("diabetes/diabetes.csv"), "--epochs", "1", "--quiet",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if "label" in line]
    assert len(said) == 1 and "'progression'" in said[0] and "--label" in said[0], r.stderr
    r = nndl("train", "--data", data_file("diabetes/diabetes.csv"), "--label", "progression", "--epochs", "1",
             "--quiet", "--out", tmp_path / "m.npz")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_the_books_default_run_is_not_taken_for_divergence(data_root, tmp_path):
    """[784, 100, 10], η = 0.5, λ = 5 on all 50,000 images, two epochs: the guard stays silent."""
    r = nndl("train", "--epochs", "2", "--json", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout.splitlines()[-1])
    assert final["stop_reason"] == "epochs" and final["test_accuracy"] > 0.95
