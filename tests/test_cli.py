"""The ``nndl`` command run for real, as a user would: train, evaluate, predict, errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def nndl(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("cli") / "small.npz"
    r = nndl("train", "--layers", "784,30,10", "--train-size", "3000", "--epochs", "2", "--eta", "0.5",
             "--lmbda", "1.0", "--seed", "3", "--json", "--out", out)
    assert r.returncode == 0, r.stderr
    return out, [json.loads(line) for line in r.stdout.splitlines()]


def test_train_prints_json_lines_and_saves(small_model):
    path, lines = small_model
    epochs, final = lines[:-1], lines[-1]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert {"epoch", "eta", "training_cost", "validation_accuracy", "seconds"} <= set(e)
    assert final["final"] is True and final["test_accuracy"] > 0.85
    assert path.exists()


def test_evaluate_reports_accuracy_and_confusion_matrix(small_model):
    path, lines = small_model
    r = nndl("evaluate", path, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["examples"] == 10000
    assert result["accuracy"] == pytest.approx(lines[-1]["test_accuracy"])
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10000
    assert np.trace(cm) == round(result["accuracy"] * 10000)
    text = nndl("evaluate", path).stdout
    assert "confusion matrix" in text and "per-class accuracy" in text


def test_predict_a_drawn_digit(small_model, tmp_path):
    from PIL import Image, ImageDraw

    img = Image.new("L", (90, 120), 255)
    ImageDraw.Draw(img).line([(45, 10), (45, 110)], fill=0, width=12)   # a thick "1", black on white
    img.save(tmp_path / "one.png")
    r = nndl("predict", small_model[0], tmp_path / "one.png", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["prediction"] == "1"
    assert len(result["top"]) == 3
    assert sum(t["probability"] for t in result["top"]) <= 1.0 + 1e-9


def test_predict_rejects_a_non_image(small_model, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    r = nndl("predict", small_model[0], bad)
    assert r.returncode == 2
    assert "notes.png" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_predict_goes_on_past_unreadable_images(small_model, tmp_path):
    from PIL import Image, ImageDraw

    good = tmp_path / "one.png"
    img = Image.new("L", (90, 120), 255)
    ImageDraw.Draw(img).line([(45, 10), (45, 110)], fill=0, width=12)
    img.save(good)
    blank, notes = tmp_path / "blank.png", tmp_path / "notes.png"
    Image.new("L", (40, 40), 255).save(blank)
    notes.write_text("not an image")
    r = nndl("predict", small_model[0], blank, good, notes, "--json")
    assert r.returncode == 1
    [line] = r.stdout.splitlines()
    assert json.loads(line)["image"] == str(good)
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in r.stderr
    assert "blank.png: no digit found" in errors[0] and "notes.png: not an image" in errors[1]
    assert all(e.startswith("nndl predict: error: ") for e in errors)


def test_csv_training_on_iris_reaches_95_percent(iris_csv, tmp_path):
    out = tmp_path / "iris.npz"
    r = nndl("train", "--data", iris_csv, "--layers", "4,10,3", "--epochs", "100", "--eta", "0.5",
             "--seed", "0", "--json", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["test_accuracy"] >= 0.95
    result = json.loads(nndl("evaluate", out, "--json").stdout)
    assert result["class_names"] == ["setosa", "versicolor", "virginica"]
    assert result["accuracy"] >= 0.95


@pytest.mark.parametrize("args, message", [
    (["--eta", "-1"], "--eta must be positive"),
    (["--layers", "780,30,10"], "784 features"),
    (["--layers", "784,30,7"], "10 classes"),
    (["--data", "no/such/file.csv"], "no/such/file.csv"),
    (["--optimizer", "sgdx"], "unknown optimizer"),
    (["--dropout", "1.5"], "--dropout"),
])
def test_bad_options_fail_with_one_line(args, message, tmp_path):
    r = nndl("train", *args, "--epochs", "1", "--out", tmp_path / "m.npz")
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "m.npz").exists()


def test_divergence_stops_and_keeps_the_last_good_model(tmp_path):
    out = tmp_path / "m.npz"
    out.write_bytes(b"the last good model")
    r = nndl("train", "--layers", "784,30,10", "--activation", "linear", "--cost", "quadratic", "--eta", "100",
             "--train-size", "1000", "--epochs", "1", "--out", out)
    assert r.returncode == 2
    assert "smaller learning rate" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == b"the last good model"


def test_checkpoint_and_resume_match_an_uninterrupted_run(tmp_path):
    common = ["--layers", "784,20,10", "--train-size", "1000", "--dropout", "0.2", "--momentum", "0.5",
              "--seed", "1", "--quiet"]
    assert nndl("train", *common, "--epochs", "3", "--out", tmp_path / "straight.npz").returncode == 0
    r = nndl("train", *common, "--epochs", "2", "--checkpoint", tmp_path / "ck.npz", "--out", tmp_path / "a.npz")
    assert r.returncode == 0, r.stderr
    r = nndl("train", "--resume", tmp_path / "ck.npz", "--epochs", "3", "--quiet", "--out", tmp_path / "b.npz")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "straight.npz") as a, np.load(tmp_path / "b.npz") as b:
        for key in a.files:
            if key.startswith("param/"):
                np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("value, message", [
    ("many", "--workers must be"), ("2", "batchnorm layer needs the whole batch")])
def test_a_bad_worker_count_is_one_line(tmp_path, value, message):
    r = nndl("train", "--layers", "784,20,10", "--batch-norm", "--workers", value, "--train-size", "200",
             "--epochs", "1", "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
