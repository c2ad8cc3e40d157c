"""Shared test fixtures.

The MNIST and iris files are read where they are, in ``../shared/data`` beside the
checkout (or wherever ``NNDL_DATA`` points); tests never use the network.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("NNDL_DATA") or (REPO.parent / "shared" / "data")).resolve()

# Tests (and the CLI they start) read data from DATA_ROOT, never from the network.
os.environ["NNDL_DATA"] = str(DATA_ROOT)
os.environ.setdefault("NNDL_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not (DATA_ROOT / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"MNIST files not found under {DATA_ROOT}/mnist; set NNDL_DATA to the data root")
    return DATA_ROOT


@pytest.fixture(scope="session")
def iris_csv(data_root) -> Path:
    return data_root / "iris" / "iris.csv"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
