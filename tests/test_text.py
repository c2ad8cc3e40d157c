"""Character models: the corpus, the per-step cost and model, nndl train --data FILE.txt, nndl sample,
min-char-rnn, clipping by value; every bad input one line."""
import math
import os
from pathlib import Path

import numpy as np
import pytest

from nndl import io
from nndl.cli.main import main
from nndl.costs import TokenCrossEntropy
from nndl.data.text import CharCorpus, Vocabulary, stream_pieces
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, numerical_gradient, relative_error
from nndl.layers import Dense, SimpleRNN, TimeDistributed
from nndl.min_char_rnn import MinCharRNN, train
from nndl.models import SequenceClassifier
from nndl.network import Network
from nndl.optim import SGD, Adam, get_optimizer
from nndl.spec import parse_spec
from nndl.trainer import Trainer

SHAKESPEARE = Path(os.environ.get("NNDL_DATA", "/work/shared/data")) / "tinyshakespeare" / "input.txt"


@pytest.fixture(scope="module")
def shakespeare():
    if not SHAKESPEARE.exists():
        pytest.skip("tiny Shakespeare is not in NNDL_DATA")
    return SHAKESPEARE.read_text()


@pytest.fixture
def small_text(tmp_path, shakespeare):
    path = tmp_path / "small.txt"
    path.write_text(shakespeare[:6000])
    return path


# -- the corpus -----------------------------------------------------------------------------------------------
def test_tiny_shakespeare_splits_90_10_with_65_characters():
    if not SHAKESPEARE.exists():
        pytest.skip("tiny Shakespeare is not in NNDL_DATA")
    corpus = CharCorpus(SHAKESPEARE, seq_length=64)
    assert len(corpus.vocabulary) == 65
    assert (len(corpus.train_ids), len(corpus.validation_ids)) == (1_003_854, 111_540)
    assert corpus.vocabulary.decode(corpus.ids[:14]) == "First Citizen:"


def test_stream_order_lets_each_batch_continue_the_one_before():
    ids = np.arange(1000)
    x, y = stream_pieces(ids, seq_length=10, streams=4)
    np.testing.assert_array_equal(y, x + 1)                        # the next character at every step
    for k in range(1, len(x) // 4):
        for b in range(4):
            assert x[k * 4 + b, 0] == x[(k - 1) * 4 + b, -1] + 1   # row b of batch k continues row b of batch k−1


@pytest.mark.parametrize("content,message", [(b"", "is empty"), (b"abc\x00def" * 20, "NUL byte"),
                                             (b"\xff\xfe text" * 20, "not a UTF-8"),
                                             (b"short", "too few for one sequence")])
def test_bad_text_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(NndlError, match=message):
        CharCorpus(path, seq_length=16)


def test_characters_outside_the_vocabulary_are_one_line():
    with pytest.raises(NndlError, match="'z' .at position 2. is not in the model's vocabulary"):
        Vocabulary(list("abc")).encode("abz")


# -- the cost and the model -----------------------------------------------------------------------------------
def test_the_token_cost_ignores_padding_and_its_delta_is_its_gradient(rng):
    net = Network([TimeDistributed(Dense(5, activation="softmax"))], (4, 3), dtype=np.float64)
    x = rng.standard_normal((3, 4, 3))
    y = rng.integers(0, 5, (3, 4))
    y[1, 2:] = -1
    cost = TokenCrossEntropy()
    a = net.forward(x, training=True)
    out = net.layers[0]
    out.needs_input_grad = True
    dx = out.backward_delta(cost.delta(a, y))
    assert np.all(cost.delta(a, y)[1, 2:] == 0)
    num = numerical_gradient(lambda: cost.fn(net.feedforward(x), y), x)
    assert relative_error(dx.ravel(), num) < THRESHOLD
    real = list(zip(*np.nonzero(y >= 0)))
    assert len(real) == 10
    assert cost.fn(a, y) == pytest.approx(-np.mean([np.log(a[n, t, y[n, t]]) for n, t in real]), rel=1e-12)


def test_a_character_lstm_learns_a_repeated_phrase():
    """A short learning test: 'hello world ' over and over, learned to well under 0.2 nats per character."""
    text = "hello world " * 120
    vocab = Vocabulary.of_text(text)
    x, y = stream_pieces(vocab.encode(text), seq_length=12, streams=8)
    net = Network(parse_spec(f"embedding(8, vocabulary={len(vocab)}) lstm(24) dense({len(vocab)}) softmax", (12,)),
                  (12,), cost="log_likelihood", seed=0)
    model = SequenceClassifier(net, Adam(0.02, clip_norm=5.0))
    history = Trainer(8, verbose=False).fit(model, (x, y), 25)
    assert history.records[-1]["training_cost"] < 0.2
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_padded_targets_train_through_the_masked_path(rng):
    net = Network(parse_spec("embedding(4, vocabulary=5) gru(8) dense(5) softmax", (6,)), (6,),
                  cost="log_likelihood", seed=0)
    model = SequenceClassifier(net, SGD(0.5))
    x = rng.integers(0, 5, (16, 6))
    y = np.roll(x, -1, axis=1)
    y[::2, 3:] = -1                                            # every other sequence is 3 steps long
    first = model.train_step(x, y)["cost"]
    for _ in range(40):
        last = model.train_step(x, y)["cost"]
    assert last < first
    with pytest.raises(NndlError, match="target id 7 is outside the vocabulary of 5"):
        model.check_targets(np.full((2, 6), 7), "targets")


def test_clipping_by_value():
    from nndl.layers import Parameter

    p = Parameter("w", np.zeros(4), regularize=True)
    p.grad = np.array([-3.0, -0.5, 0.5, 3.0])
    opt = get_optimizer("sgd", eta=1.0, clip_value=1.0)
    opt.step([p])
    np.testing.assert_allclose(p.value, [1.0, 0.5, -0.5, -1.0])
    assert opt.config()["clip_value"] == 1.0
    with pytest.raises(NndlError, match="clip_value"):
        get_optimizer("adam", clip_value=0)


# -- min-char-rnn ---------------------------------------------------------------------------------------------
def test_min_char_rnn_first_loss_is_25_ln_v(shakespeare):
    model, losses, chars = train(shakespeare[:20_000], iterations=1)
    assert losses[0] == pytest.approx(25 * math.log(len(chars)), rel=1e-12)


def test_min_char_rnn_learns(shakespeare):
    _, losses, _ = train(shakespeare[:5_000], iterations=500)
    assert np.mean(losses[-50:]) < 0.8 * losses[0]


def test_min_char_rnn_gradients_are_nndl_simple_rnn_and_dense(rng):
    """The hand-written loop and nndl's batched layers give the same gradients (before clipping)."""
    v, h = 7, 5
    m = MinCharRNN(v, h, seed=1)
    m.Why = rng.standard_normal((v, h)) * 0.1
    m.by = rng.standard_normal((v, 1)) * 0.1
    m.bh = rng.standard_normal((h, 1)) * 0.1
    inputs, targets = list(rng.integers(0, v, 9)), list(rng.integers(0, v, 9))
    h0 = rng.standard_normal((h, 1)) * 0.1
    loss, grads, _ = m.loss(inputs, targets, h0)
    rnn, out = SimpleRNN(h), TimeDistributed(Dense(v, activation="softmax"))
    net = Network([rnn, out], (9, v), cost="log_likelihood", dtype=np.float64)
    rnn.Wx.value[...], rnn.Wh.value[...], rnn.b.value[...] = m.Wxh.T, m.Whh.T, m.bh[:, 0]
    out.layer.W.value[...], out.layer.b.value[...] = m.Why, m.by[:, 0]
    x = np.eye(v)[inputs][None]
    a = rnn.forward(x, training=True, initial_state=h0.T)
    a = out.forward(a, training=True)
    cost = TokenCrossEntropy()
    y = np.array([targets])
    assert cost.fn(a, y) * 9 == pytest.approx(loss, rel=1e-12)
    rnn.backward(out.backward_delta(cost.delta(a, y) * 9))
    for ours, theirs in [(rnn.Wx.grad.T, "Wxh"), (rnn.Wh.grad.T, "Whh"), (out.layer.W.grad, "Why"),
                         (rnn.b.grad, "bh"), (out.layer.b.grad, "by")]:
        np.testing.assert_allclose(ours.reshape(grads[theirs].shape), grads[theirs], rtol=1e-10, atol=1e-12)


# -- the commands ---------------------------------------------------------------------------------------------
def test_train_on_a_text_file_then_sample(small_text, tmp_path, capsys):
    out = tmp_path / "char.npz"
    status = main(["train", "--data", str(small_text), "--net", "embedding(8) lstm(32, stateful=true) dense(55) softmax",
                   "--seq-length", "16", "--batch-size", "8", "--epochs", "2", "--quiet", "--out", str(out),
                   "--threads", "1"])
    if status == 2:
        pytest.fail(capsys.readouterr().err)
    net = io.load(out)
    assert net.metadata["text"]["vocabulary"] == sorted(set(small_text.read_text()))
    assert net.metadata["best_validation_cost"] < math.log(55)
    capsys.readouterr()
    assert main(["sample", str(out), "--length", "50", "--prime", "ROMEO:", "--temperature", "0.7"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 50 + 1
    main(["sample", str(out), "--length", "50", "--prime", "ROMEO:", "--temperature", "0.7"])
    assert capsys.readouterr().out == text                     # the same seed, the same text
    # nndl evaluate reads the model's own text and gives the validation figure the training reported
    assert main(["evaluate", str(out), "--json"]) == 0
    import json

    figures = json.loads(capsys.readouterr().out)
    assert figures["split"] == "validation" and figures["characters"] > 0
    assert figures["nats_per_character"] == pytest.approx(net.metadata["best_validation_cost"], rel=1e-5)
    assert figures["bits_per_character"] == pytest.approx(figures["nats_per_character"] / math.log(2))


def _error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_input_to_the_commands_is_one_line(small_text, tmp_path, capsys):
    out = tmp_path / "char.npz"
    assert main(["train", "--data", str(small_text), "--net", "embedding(8) rnn(16) dense(55) softmax",
                 "--seq-length", "16", "--epochs", "1", "--quiet", "--out", str(out), "--threads", "1"]) == 0
    capsys.readouterr()
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert "is empty" in _error(["train", "--data", str(empty), "--out", str(tmp_path / "x.npz")], capsys)
    assert "dense(55) softmax" in _error(["train", "--data", str(small_text), "--net", "embedding(8) lstm(8) "
                                          "dense(10) softmax", "--out", str(tmp_path / "x.npz")], capsys)
    assert "does not apply to a text corpus" in _error(["train", "--data", str(small_text), "--layers", "3,4",
                                                        "--out", str(tmp_path / "x.npz")], capsys)
    assert "is for a text corpus" in _error(["train", "--seq-length", "5", "--out", str(tmp_path / "x.npz")], capsys)
    for t in ("0", "-1"):
        assert "--temperature must be a positive number" in _error(["sample", str(out), "--temperature", t], capsys)
    assert "'@' (at position 3) is not in the model's vocabulary" in _error(
        ["sample", str(out), "--prime", "abc@"], capsys)
    mnist_like = tmp_path / "dense.npz"
    io.save(Network.from_sizes([4, 3]), mnist_like)
    assert "not a character model" in _error(["sample", str(mnist_like)], capsys)
    assert "no test part" in _error(["evaluate", str(out), "--split", "test"], capsys)
    foreign = tmp_path / "foreign.txt"
    foreign.write_text(small_text.read_text()[:500] + "@" + small_text.read_text()[:500])
    assert "'@'" in _error(["evaluate", str(out), "--data", str(foreign)], capsys)
    assert not (tmp_path / "x.npz").exists()


# -- the other sequence tasks ----------------------------------------------------------------------------------
def test_a_schedule_drives_eta_by_the_validation_cost(small_text, tmp_path, capsys):
    import json

    out = tmp_path / "char.npz"
    assert main(["train", "--data", str(small_text), "--net", "embedding(8) rnn(16) dense(55) softmax",
                 "--seq-length", "16", "--epochs", "3", "--json", "--out", str(out), "--threads", "1",
                 "--eta", "0.01", "--schedule", "step_decay(1, 0.5)"]) == 0
    etas = [json.loads(line)["eta"] for line in capsys.readouterr().out.splitlines()[:3]]
    assert etas == pytest.approx([0.01, 0.005, 0.0025])
    assert "schedule" in _error(["train", "--data", str(small_text), "--schedule", "wobble(3)",
                                 "--out", str(tmp_path / "x.npz")], capsys)
    assert not (tmp_path / "x.npz").exists()


def test_the_adding_problem_and_an_lstm_that_learns_it():
    from nndl.data.adding import MEAN_PREDICTOR_MSE, adding_problem
    from nndl.models import Regressor

    x, y = adding_problem(2000, steps=10, seed=0)
    assert x.shape == (2000, 10, 2) and np.all(x[:, :, 1].sum(axis=1) == 2)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1), rtol=1e-6)
    assert abs(float(((y - 1.0) ** 2).mean()) - MEAN_PREDICTOR_MSE) < 0.02
    net = Network(parse_spec("lstm(16, sequences=false) dense(1)", (10, 2)), (10, 2), cost="quadratic", seed=0)
    model = Regressor(net, Adam(0.01))
    Trainer(32, verbose=False).fit(model, (x, y), 6)
    mse = float(((net.predict_proba(x) - y) ** 2).mean())
    assert mse < 0.3 * MEAN_PREDICTOR_MSE


def test_row_by_row_mnist_presets_train_from_the_command_line(tmp_path, capsys):
    from nndl.presets import PRESETS

    assert PRESETS["row-lstm"]["net"] == "reshape(28,28) lstm(128,sequences=false) softmax(10)"
    out = tmp_path / "row.npz"
    status = main(["train", "--preset", "row-gru", "--net", "reshape(28,28) gru(32, sequences=false) softmax(10)",
                   "--train-size", "2000", "--epochs", "3", "--eta", "0.01", "--quiet", "--json", "--out", str(out), "--threads", "1"])
    assert status == 0, capsys.readouterr().err
    final = [line for line in capsys.readouterr().out.splitlines() if '"final"' in line][-1]
    import json

    assert json.loads(final)["test_accuracy"] > 0.6
