"""Full-size runs with the book's settings (minutes each): ``python -m pytest -m slow``."""
import pytest

from nndl.callbacks import EarlyStopping
from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import L2, SGD
from nndl.trainer import Trainer

pytestmark = pytest.mark.slow


def _splits(data_root):
    from nndl.data import load_mnist

    return load_mnist(data_root, split="book")


def test_chapter1_network_reaches_95_percent(data_root):
    s = _splits(data_root)
    net = Network.from_sizes([784, 30, 10], activation="sigmoid", cost="quadratic", init="large", seed=1)
    history = Trainer(10, [EarlyStopping("validation_accuracy")], verbose=False).fit(
        Classifier(net, SGD(3.0)), s.train, 30, validation_data=s.validation, test_data=s.test)
    assert history.final["test_accuracy"] >= 0.95


def test_chapter3_network_reaches_97_7_percent_validation(data_root):
    s = _splits(data_root)
    net = Network.from_sizes([784, 100, 10], activation="sigmoid", cost="cross_entropy", seed=1)
    history = Trainer(10, verbose=False).fit(Classifier(net, SGD(0.5), [L2(5.0)]), s.train, 30,
                                             validation_data=s.validation)
    assert max(history["validation_accuracy"]) >= 0.977


def test_the_rbf_preset_reaches_97_5_percent(data_root, tmp_path):
    """``nndl train --preset rbf-mnist``: 1,000 RBF units, three-phase learning (README: 97.79%)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src"
    r = subprocess.run([sys.executable, "-m", "nndl", "train", "--preset", "rbf-mnist", "--threads", "1", "--json",
                        "--out", str(tmp_path / "rbf.npz")], capture_output=True, text=True, timeout=1800,
                       env=dict(os.environ, PYTHONPATH=str(src), NNDL_DATA=str(data_root)))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["test_accuracy"] >= 0.975
