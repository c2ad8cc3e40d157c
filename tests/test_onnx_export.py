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
ROW_LSTM = REPO / "docs" / "results" / "onnx" / "row-lstm-32.npz"


def nndl(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def ort():
    oracle("onnx")
    return oracle("onnxruntime")


@pytest.mark.parametrize("case", onnx_parity.ALL_CASE_NAMES)
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


@pytest.mark.parametrize("path", [BOOK_NET, BN_NET, ROW_LSTM], ids=["book-784-30-10", "ch6-batchnorm", "row-lstm-32"])
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


# --------------------------------------------------------------------------- sequence layers
def test_recurrent_parity_can_fail(ort):
    """A gate block out of place is seen: one recurrent weight of the forget gate changed after exporting."""
    from nndl.export.onnx import parity, to_onnx

    network, x = onnx_parity.build_case("character model")
    model = to_onnx(network)
    lstm = network.layers[1]
    lstm.Wh.value[0, lstm.units] += 0.5                 # nndl's blocks i, f, o, g: column H is f's first
    assert parity(network, model, x)["max_abs_diff"] > 1e-5


def test_character_model_input_is_int64_ids(ort):
    import onnx

    from nndl.export.onnx import to_onnx

    network, _ = onnx_parity.build_case("character model")
    model = to_onnx(network)
    (graph_input,) = model.graph.input
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim] == ["N", 20]
    ops = [node.op_type for node in model.graph.node]
    assert ops[0] == "Gather" and "LSTM" in ops


def test_bidirectional_output_is_forward_then_backward(ort):
    """ONNX's Y (T, 2, N, H) comes back as nndl's (N, T, 2H) = [→h_t, ←h_t], step by step."""
    from nndl.export.onnx import run_onnxruntime, to_onnx
    from nndl.layers import Bidirectional, GRU
    from nndl.network import Network

    network = Network([Bidirectional(GRU(3))], (6, 2), seed=4)
    x = np.random.default_rng(4).normal(size=(5, 6, 2)).astype(np.float32)
    theirs = run_onnxruntime(to_onnx(network), x)
    assert theirs.shape == (5, 6, 6)
    assert np.abs(theirs - network.predict_proba(x)).max() <= 1e-5
    assert np.abs(theirs[..., :3] - network.layers[0].forward_layer.forward(x)).max() <= 1e-5


def test_coupled_lstm_is_refused_in_one_line(ort):
    from nndl.errors import NndlError
    from nndl.export.onnx import to_onnx
    from nndl.network import Network
    from nndl.spec import parse_spec

    network = Network(parse_spec("lstm(4, coupled=true) dense(3)", (5, 2)), (5, 2), seed=0)
    with pytest.raises(NndlError, match=r"^layer 1 \(lstm\): the coupled LSTM \(coupled=true, i = 1 − f\) has no "
                                        r"ONNX LSTM form") as info:
        to_onnx(network)
    assert "\n" not in str(info.value)


def test_export_command_on_a_trained_character_model(ort, tmp_path):
    """``embedding(8) lstm(16) dense(V) softmax`` trained on a repeated phrase (so its weights are learned ones),
    saved, written by ``nndl export --check``, and run by onnxruntime: the same next-character probabilities."""
    from nndl import io
    from nndl.data.text import Vocabulary, stream_pieces
    from nndl.export.onnx import run_onnxruntime
    from nndl.models import SequenceClassifier
    from nndl.network import Network
    from nndl.optim import Adam
    from nndl.spec import parse_spec
    from nndl.trainer import Trainer

    text = "hello world " * 60
    vocab = Vocabulary.of_text(text)
    x, y = stream_pieces(vocab.encode(text), seq_length=12, streams=8)
    v = len(vocab)
    net = Network(parse_spec(f"embedding(8, vocabulary={v}) lstm(16) dense({v}) softmax", (12,)), (12,),
                  cost="log_likelihood", seed=0)
    model = SequenceClassifier(net, Adam(0.02, clip_norm=5.0))
    Trainer(8, verbose=False).fit(model, (x, y), 5)
    path = io.save(net, tmp_path / "chars.npz")
    r = nndl("export", path, "--onnx", tmp_path / "chars.onnx", "--check", "--json")
    assert r.returncode == 0, r.stderr
    assert '"max_abs_diff"' in r.stdout
    saved = io.load(path)
    theirs = run_onnxruntime(tmp_path / "chars.onnx", x)
    ours = saved.predict_proba(x)
    assert theirs.shape == ours.shape == (len(x), 12, v)
    assert np.abs(theirs - ours).max() <= 1e-5
    assert np.array_equal(theirs.argmax(-1), ours.argmax(-1))


def test_an_embedding_inside_a_nested_network_reads_ids(ort):
    from nndl.export.onnx import parity, to_onnx
    from nndl.network import Network
    from nndl.spec import parse_spec

    inner = Network(parse_spec("embedding(4, vocabulary=9) gru(5)", (6,)), (6,), seed=2)
    network = Network([inner] + parse_spec("dense(3) softmax", inner.output_shape), (6,), seed=2)
    row = parity(network, to_onnx(network))
    assert row["max_abs_diff"] <= 1e-5 and row["same_class"] == 1.0, row
