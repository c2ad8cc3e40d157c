"""ONNX export checked by onnxruntime: every layer kind on random inputs, the book's dense net and a ch6
conv net with batch norm on all 10,000 MNIST test images, ``nndl export`` and its errors."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oracles import oracle

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import onnx_parity  # noqa: E402  (bench/onnx_parity.py: the cases of the parity table)

BOOK_NET = REPO / "docs" / "results" / "onnx" / "book-784-30-10.npz"
BN_NET = REPO / "docs" / "results" / "ch6-batchnorm" / "seed1.npz"


def nndl(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def ort():
    oracle("onnx")
    return oracle("onnxruntime")


@pytest.mark.parametrize("case", onnx_parity.CASE_NAMES)
def test_each_layer_kind_matches_onnxruntime(ort, case):
    row = onnx_parity.measure(case)
    assert row["max_abs_diff"] <= 1e-5, row
    assert row["same_class"] == 1.0, row


def test_parity_can_fail(ort):
    """The comparison sees a wrong export: a weight changed after exporting."""
    from nndl.export.onnx import parity, to_onnx

    network, x = onnx_parity.build_case("conv valid")
    model = to_onnx(network)
    network.layers[0].W.value[0, 0, 0, 0] += 0.01
    assert parity(network, model, x)["max_abs_diff"] > 1e-5


@pytest.fixture(scope="module")
def mnist_test(data_root):
    from nndl.data import load_mnist

    test = load_mnist(data_root, split="book", download=False).test
    return np.asarray(test.x, dtype=np.float32).reshape(len(test.x), -1)


@pytest.mark.parametrize("path", [BOOK_NET, BN_NET], ids=["book-784-30-10", "ch6-batchnorm"])
def test_saved_models_on_all_mnist_test_images(ort, mnist_test, path, tmp_path):
    """Identical classes on all 10,000 test images and probabilities within 1e-5 (through the written file)."""
    from nndl import io
    from nndl.export.onnx import export_onnx, run_onnxruntime

    assert len(mnist_test) == 10_000
    network = io.load(path)
    file = export_onnx(network, tmp_path / "model.onnx")
    ours = network.predict_proba(mnist_test)
    theirs = run_onnxruntime(file, mnist_test)
    assert theirs.shape == ours.shape == (10_000, 10)
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))
    assert np.abs(ours.astype(np.float64) - theirs).max() <= 1e-5


def test_exported_file_is_pinned_and_checked(ort, tmp_path):
    import onnx

    from nndl.export.onnx import IR_VERSION, OPSET

    out = tmp_path / "book.onnx"
    r = nndl("export", BOOK_NET, "--onnx", out, "--check")
    assert r.returncode == 0, r.stderr
    assert "max |onnxruntime − nndl|" in r.stdout
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == IR_VERSION and [o.version for o in model.opset_import] == [OPSET]
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == ["output"]


def test_a_layer_that_cannot_be_exported_is_named(ort):
    from nndl.errors import NndlError
    from nndl.export.onnx import to_onnx
    from nndl.layers.base import Layer
    from nndl.layers.dense import Dense
    from nndl.network import Network

    class Mystery(Layer):
        type = "mystery"

        def forward(self, x, training=False):
            return x

    network = Network([Dense(4), Mystery()], (3,))
    with pytest.raises(NndlError, match=r"^layer 2 \(mystery\) cannot be exported to ONNX"):
        to_onnx(network)


def test_export_errors_are_one_line(ort, tmp_path):
    r = nndl("export", tmp_path / "missing.npz", "--onnx", tmp_path / "out.onnx")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "does not exist" in r.stderr
    r = nndl("export", BOOK_NET, "--onnx", tmp_path / "no" / "such" / "folder.onnx")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "does not exist" in r.stderr
    assert not (tmp_path / "out.onnx").exists()


def test_a_corrupt_onnx_file_is_one_line(ort, tmp_path):
    from nndl.errors import NndlError
    from nndl.export.onnx import read_onnx

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(NndlError, match="is not a valid ONNX model"):
        read_onnx(bad)


def test_tied_weights_are_one_initializer(ort):
    from nndl.export.onnx import to_onnx

    network, _ = onnx_parity.build_case("tied dense")
    model = to_onnx(network)
    weights = [i for i in model.graph.initializer if list(i.dims) == [8, 20]]
    assert len(weights) == 1
    assert sum(weights[0].name in node.input for node in model.graph.node) == 2
