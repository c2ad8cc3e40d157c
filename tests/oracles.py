"""Independent libraries as test oracles (PyTorch, scipy, onnxruntime): where to find them."""
from __future__ import annotations

import importlib
import os

import pytest


def oracle(module: str):
    """Import ``module`` for use as an oracle: skipped when absent, unless ``NNDL_REQUIRE_ORACLES=1``
    (as in CI), where a missing oracle fails the test instead of hiding it."""
    if os.environ.get("NNDL_REQUIRE_ORACLES") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module)
