"""Crash safety, proven by killing: SIGKILL at random moments never loses a run or corrupts a file.

* A checkpointed ``nndl train --checkpoint`` run killed at random moments and resumed
  (``nndl train --resume``) as often as it takes ends with exactly — bitwise — the weights
  of the same run left alone.
* A process killed while it saves models and checkpoints over and over leaves at each
  path a file that loads: the old one or the new one, never a torn one.

The default run makes a few trials on a small run; ``-m slow`` makes many and prints the
counts (the README quotes them).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_cli import REPO

from nndl import io

#: A small run (on iris: the process starts in a third of a second, an epoch and its checkpoint take
#: about 15 ms) with everything a resume must restore: dropout masks, momentum, shuffling, the best
#: epoch so far (by the validation cost, which keeps moving).
RUN = ["--layers", "4,20,3", "--dropout", "0.2", "--momentum", "0.5", "--seed", "4", "--monitor", "validation_cost",
       "--quiet"]


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO / "src"))


def _start(args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nndl", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=_env())


def _arrays(path) -> dict:
    """Every array of a saved model or checkpoint, by name: weights, buffers, optimizer and callback
    state (not the JSON, which holds timings)."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files if k != "nndl.json"}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _straight_run(folder, data, epochs):
    """The uninterrupted run: (its model's and its last checkpoint's arrays, its wall time in seconds)."""
    start = time.perf_counter()
    proc = _start(["train", "--data", data, *RUN, "--epochs", epochs, "--checkpoint", folder / "straight-ck.npz",
                   "--out", folder / "straight.npz"])
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return _arrays(folder / "straight.npz"), _arrays(folder / "straight-ck.npz"), time.perf_counter() - start


def _killed_and_resumed(folder, data, epochs, kills, span, rng) -> tuple[int, int]:
    """Run to the end, killed ``kills`` times at moments drawn from [0, span) seconds after each start,
    resumed from the checkpoint each time (started afresh while there is none). Returns (the kills
    made, the runs resumed from a checkpoint)."""
    checkpoint, out = folder / "ck.npz", folder / "out.npz"
    made = resumed = 0
    while True:
        if checkpoint.exists():
            args = ["train", "--resume", checkpoint, "--epochs", epochs, "--quiet"]     # --out: the first run's
            resumed += 1
        else:
            args = ["train", "--data", data, *RUN, "--epochs", epochs, "--checkpoint", checkpoint, "--out", out]
        proc = _start(args)
        try:
            _, err = proc.communicate(timeout=rng.uniform(0, span) if made < kills else 300)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            made += 1
            continue
        assert proc.returncode == 0, err
        return made, resumed


def _kill_and_resume_trials(tmp_path, data, trials, epochs, seed) -> dict:
    """Counts: trials, kills, resumes, and the trials whose model and last checkpoint are bitwise those
    of the straight run."""
    model, checkpoint, seconds = _straight_run(tmp_path, data, epochs)
    rng = np.random.default_rng(seed)
    counts = {"trials": trials, "kills": 0, "resumes": 0, "identical": 0}
    for trial in range(trials):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        kills, resumes = _killed_and_resumed(folder, data, epochs, int(rng.integers(1, 4)), seconds, rng)
        counts["kills"] += kills
        counts["resumes"] += resumes
        counts["identical"] += _same(_arrays(folder / "out.npz"), model) and \
            _same(_arrays(folder / "ck.npz"), checkpoint)
    return counts


def test_killed_and_resumed_runs_end_bitwise_identical(iris_csv, tmp_path):
    counts = _kill_and_resume_trials(tmp_path, iris_csv, trials=3, epochs=100, seed=0)
    assert counts["identical"] == counts["trials"], counts


@pytest.mark.slow
def test_many_killed_and_resumed_runs_end_bitwise_identical(iris_csv, tmp_path):
    counts = _kill_and_resume_trials(tmp_path, iris_csv, trials=30, epochs=100, seed=1)
    print(f"\nkill-and-resume: {counts['trials']} trials, {counts['kills']} SIGKILLs, {counts['resumes']} resumes "
          f"from a checkpoint; {counts['identical']} of {counts['trials']} bitwise identical to the uninterrupted run")
    assert counts["identical"] == counts["trials"], counts


# -- a kill during a save -------------------------------------------------------------------------------
SAVER = """
import sys
import numpy as np
from nndl import io
from nndl.network import Network
from nndl.models import Classifier
from nndl.trainer import Trainer

folder = sys.argv[1]
net = Network.from_sizes([784, 1000, 10], seed=0)
trainer = Trainer(10, verbose=False)
x, y = np.zeros((20, 784), np.float32), np.arange(20) % 10
trainer.fit(Classifier(net), (x, y), 1)
k = 0
while True:
    k += 1
    net.layers[0].b.value[0] = k                      # each version tells which it is
    io.save(net, f"{folder}/model.npz", {"version": k})
    io.save_checkpoint(trainer, f"{folder}/ck.npz", {"version": k})
    print(k, flush=True)
"""


def _kills_during_saves(tmp_path, kills, seed):
    """SIGKILL a process that saves a 3 MB model and its checkpoint over and over, ``kills`` times at
    random moments; after each kill both files must load, each the last or the one before. Returns
    (kills, files checked, files that loaded, kills inside a write: those that left a temporary file)."""
    rng = np.random.default_rng(seed)
    checked = loaded = 0
    for kill in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())
        assert proc.stdout.readline().strip() == "1", proc.stderr.read()   # both files exist from here on
        time.sleep(rng.uniform(0, 0.5))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        done = int(out.split()[-1]) if out.split() else 1
        for path, read in ((tmp_path / "model.npz", io.load), (tmp_path / "ck.npz", lambda p: io.read_checkpoint(p)[0])):
            checked += 1
            network = read(path)
            version = network.metadata["version"]
            assert version in (done, done + 1), (path, version, done)
            assert network.layers[0].b.value[0] == version
            loaded += 1
    inside = len([p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")])
    return kills, checked, loaded, inside


def test_a_kill_during_a_save_leaves_a_file_that_loads(tmp_path):
    kills, checked, loaded, _ = _kills_during_saves(tmp_path, kills=4, seed=0)
    assert loaded == checked == 2 * kills


@pytest.mark.slow
def test_many_kills_during_saves_leave_files_that_load(tmp_path):
    kills, checked, loaded, inside = _kills_during_saves(tmp_path, kills=60, seed=1)
    print(f"\nkills during saves: {kills} SIGKILLs ({inside} inside a write, which left its temporary file), "
          f"{loaded} of {checked} model and checkpoint files load (each the last or the one before)")
    assert loaded == checked
