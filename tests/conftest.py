"""Shared test fixtures.

The data sets are read where they are, never from the network: from ``$NNDL_DATA`` if
set, else from ``../shared/data`` beside the checkout, else from nndl's own cache
(``~/.cache/nndl``, where ``nndl data download`` puts MNIST).  A test that needs a data
set that is absent is skipped, saying which and where it looked — unless
``NNDL_REQUIRE_DATA=1`` (as in CI), where it fails.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_data_root() -> Path:
    if os.environ.get("NNDL_DATA"):
        return Path(os.environ["NNDL_DATA"]).expanduser().resolve()
    shared = REPO.parent / "shared" / "data"
    if shared.is_dir():
        return shared.resolve()
    from nndl.data.mnist import data_root

    return data_root()


DATA_ROOT = _find_data_root()

# Tests (and the CLI they start) read data from DATA_ROOT, never from the network.
os.environ["NNDL_DATA"] = str(DATA_ROOT)
os.environ.setdefault("NNDL_OFFLINE", "1")


def _absent(what: str) -> None:
    message = f"{what} not found under {DATA_ROOT} (set NNDL_DATA to a data root that has it)"
    if os.environ.get("NNDL_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root, with MNIST's four files in ``mnist/``."""
    if not (DATA_ROOT / "mnist" / "train-images-idx3-ubyte.gz").exists():
        _absent("MNIST (mnist/train-images-idx3-ubyte.gz and the other three files)")
    return DATA_ROOT


@pytest.fixture(scope="session")
def data_file():
    """``data_file("diabetes/diabetes.csv")``: a file of the data root, or a skip that names it."""
    def find(relative: str) -> Path:
        path = DATA_ROOT / relative
        if not path.exists():
            _absent(relative)
        return path
    return find


@pytest.fixture(scope="session")
def iris_csv(data_file) -> Path:
    return data_file("iris/iris.csv")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
