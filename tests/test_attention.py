"""Attention and the encoder–decoder: finite differences in float64, PyTorch as an oracle, masks, a learning test."""
import numpy as np
import pytest

from nndl.data.toy_sequences import BOS, EOS, VOCABULARY, decoder_inputs, digit_strings
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, numerical_gradient, relative_error
from nndl.layers import no_grad
from nndl.layers.attention import Attention
from nndl.models.seq2seq import EncoderDecoder, Seq2Seq, sequence_accuracy
from nndl.optim import Adam
from nndl.trainer import Trainer
from oracles import oracle

SCORES = {"dot": dict(score="dot"), "scaled_dot": dict(score="dot", scaled=True),
          "additive": dict(score="additive", units=5)}


def _inputs(rng, n=3, t=2, s=6, width=4, values=3):
    q, k, v = rng.standard_normal((n, t, width)), rng.standard_normal((n, s, width)), rng.standard_normal((n, s, values))
    mask = np.ones((n, s))
    mask[1, 4:] = 0.0
    mask[2, 1:] = 0.0                                   # a source of one real position
    return q, k, v, mask


def _attention(kind, width=4, seed=0):
    att = Attention(**SCORES[kind])
    att.build(width, width, np.random.default_rng(seed), np.float64)
    return att


def attention_errors(att, rng):
    """Relative errors of backprop against finite differences for C = Σ R ⊙ attention(q, k, v, mask) with a
    fixed random R: the queries, keys, values and every parameter."""
    q, k, v, mask = _inputs(rng)
    c = att.forward(q, k, v, mask, training=True)
    r = rng.standard_normal(c.shape)
    for p in att.params:
        p.zero_grad()
    grads = dict(zip("qkv", att.backward(r)))

    def cost():
        with no_grad():
            return float((r * att.forward(q, k, v, mask)).sum())

    errors = {name: relative_error(grads[name].ravel(), numerical_gradient(cost, a)) for name, a in zip("qkv", (q, k, v))}
    errors.update({p.name: relative_error(p.grad.ravel(), numerical_gradient(cost, p.value)) for p in att.params})
    return errors


@pytest.mark.parametrize("kind", SCORES)
def test_attention_against_finite_differences(kind, rng):
    errors = attention_errors(_attention(kind), rng)
    assert len(errors) == (6 if kind == "additive" else 3)
    assert max(errors.values()) < THRESHOLD, errors


def test_a_wrong_softmax_backward_is_caught(rng, monkeypatch):
    """Without the softmax Jacobian's − Σ_j' α ∂C/∂α term the check fails: it can fail."""
    import nndl.layers.attention as module

    att = _attention("dot")
    real = module.Attention.backward

    def broken(self, grad):
        kept = self._tape[-1]
        kept["alpha"] = kept["alpha"] + 0.05 * kept["alpha"] * (1 - kept["alpha"])   # a slightly wrong α
        return real(self, grad)

    monkeypatch.setattr(module.Attention, "backward", broken)
    assert max(attention_errors(att, rng).values()) > 1e-3


@pytest.mark.parametrize("kind", SCORES)
def test_masked_positions_get_no_weight_and_change_nothing(kind, rng):
    att = _attention(kind)
    q, k, v, mask = _inputs(rng)
    c = att.forward(q, k, v, mask)
    assert np.allclose(att.weights.sum(axis=-1), 1.0)
    assert np.all(att.weights[1, :, 4:] == 0.0) and np.allclose(att.weights[2, :, 0], 1.0)
    k2, v2 = k.copy(), v.copy()
    k2[1, 4:] += 100.0
    v2[1, 4:] -= 100.0
    assert np.allclose(att.forward(q, k2, v2, mask), c)


@pytest.mark.parametrize("kind", ["dot", "scaled_dot", "additive"])
def test_pytorch_autograd_agrees_in_float64(kind, rng):
    torch = oracle("torch")
    att = _attention(kind)
    q, k, v, mask = _inputs(rng)
    c = att.forward(q, k, v, mask, training=True)
    r = rng.standard_normal(c.shape)
    ours = att.backward(r)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tp = [torch.tensor(p.value, requires_grad=True) for p in att.params]
    if kind == "additive":
        wq, wk, w = tp
        e = torch.tanh((tq @ wq)[:, :, None, :] + (tk @ wk)[:, None, :, :]) @ w
    else:
        e = tq @ tk.transpose(1, 2) * (1 / np.sqrt(4) if kind == "scaled_dot" else 1.0)
    e = e.masked_fill(torch.tensor(mask)[:, None, :] == 0, float("-inf"))
    tc = torch.softmax(e, dim=-1) @ tv
    (tc * torch.tensor(r)).sum().backward()
    assert np.allclose(c, tc.detach().numpy(), atol=1e-12)
    for g, t in zip(ours, (tq, tk, tv)):
        assert np.allclose(g, t.grad.numpy(), atol=1e-10)
    for p, t in zip(att.params, tp):
        assert np.allclose(p.grad, t.grad.numpy(), atol=1e-10)


def test_dot_attention_needs_queries_as_wide_as_keys():
    with pytest.raises(NndlError, match="as wide as keys"):
        Attention("dot").build(4, 5, np.random.default_rng(0))


# -- the encoder–decoder ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell,score", [("lstm", "dot"), ("gru", "additive"), ("lstm", "additive")])
def test_the_encoder_decoder_against_finite_differences(cell, score, rng):
    net = EncoderDecoder(VOCABULARY, embedding=3, units=4, cell=cell, score=score, attention_units=3, seed=1,
                         dtype=np.float64)
    for p in net.params:
        p.value[...] = rng.normal(0.0, 0.5, p.value.shape)
    x, y = digit_strings(3, 2, 4, seed=2)
    model = Seq2Seq(net)
    a = net.backprop(x, y, lambda a: model.token_cost.delta(a, y))

    def cost():
        with no_grad():
            return model.token_cost.fn(net.forward(x, y), y)

    assert abs(cost() - model.token_cost.fn(a, y)) < 1e-12
    errors = {}
    for layer in net.layers:
        for p in layer.params:
            e = rng.choice(p.value.size, min(p.value.size, 20), replace=False)
            errors[f"{layer.name}/{p.name}"] = relative_error(p.grad.reshape(-1)[e],
                                                              numerical_gradient(cost, p.value, e))
    assert len(errors) == len(net.params) and max(errors.values()) < THRESHOLD, errors


def test_toy_data_reverse_and_sort():
    x, y = digit_strings(50, 3, 7, seed=4)
    assert x.shape == (50, 7) and y.shape == (50, 8)
    for row, target in zip(x, y):
        digits = row[row >= 0]
        assert list(target[:len(digits)]) == list(digits[::-1]) and target[len(digits)] == EOS
        assert np.all(target[len(digits) + 1:] == -1) and 3 <= len(digits) <= 7
    xs, ys = digit_strings(20, 3, 7, task="sort", seed=4)
    for row, target in zip(xs, ys):
        digits = row[row >= 0]
        assert list(target[:len(digits)]) == sorted(digits)
    assert np.array_equal(digit_strings(5, seed=9)[0], digit_strings(5, seed=9)[0])
    assert decoder_inputs(y)[0, 0] == BOS and np.all(decoder_inputs(y) >= 0)
    with pytest.raises(NndlError, match="task"):
        digit_strings(5, task="shuffle")


def test_bad_data_is_one_line():
    model = Seq2Seq(EncoderDecoder(VOCABULARY, units=4))
    x, y = digit_strings(4, 2, 4)
    with pytest.raises(NndlError, match="outside the vocabulary"):
        model.check_data(x + 20, y, "training data")
    bad = x.copy()
    bad[0, 0] = -1
    with pytest.raises(NndlError, match="row 0"):
        model.check_data(bad, y, "training data")
    with pytest.raises(NndlError, match="integer ids"):
        model.check_data(x.astype(float), y, "training data")


def test_sequence_accuracy_counts_whole_rows():
    y = np.array([[1, 2, EOS, -1], [3, EOS, -1, -1]])
    assert sequence_accuracy(y, y) == 1.0
    assert sequence_accuracy(np.array([[1, 2, EOS], [3, 4, EOS]]), y) == 0.5


def test_the_trainer_teaches_it_to_reverse_strings():
    """Reversal of strings of 5 digits: ≥ 90% of whole sequences right by greedy decoding on held-out strings."""
    x, y = digit_strings(2000, 5, 5, seed=0)
    xt, yt = digit_strings(300, 5, 5, seed=1)
    model = Seq2Seq(EncoderDecoder(VOCABULARY, embedding=16, units=48, seed=0), Adam(0.01))
    Trainer(batch_size=32, seed=0, threads=1, verbose=False).fit(model, (x, y), epochs=6)
    logs = model.evaluate(xt, yt)
    assert logs["sequence_accuracy"] >= 0.9, logs
    assert model.predict(xt[:3]).shape == (3, 6)


def test_save_and_load_give_the_same_decodings(tmp_path, rng):
    from nndl import io
    from nndl.models import seq2seq

    net = EncoderDecoder(VOCABULARY, embedding=5, units=6, cell="gru", score="additive", attention_units=4, seed=3)
    for p in net.params:
        p.value[...] = rng.normal(0.0, 0.5, p.value.shape)
    x, _ = digit_strings(6, 2, 6, seed=5)
    path = seq2seq.save(Seq2Seq(net), tmp_path / "rev.npz", metadata={"task": "reverse"})
    back = seq2seq.load(path)
    assert back.config() == net.config() and back.metadata == {"task": "reverse"}
    assert np.array_equal(back.greedy(x)[0], net.greedy(x)[0])
    assert np.allclose(back.greedy(x)[1], net.greedy(x)[1])
    with pytest.raises(NndlError, match="not an nndl model"):
        io.load(path)                                          # the general loader says what it is, in one line


def test_a_crafted_or_broken_file_is_one_line(tmp_path):
    import json

    from nndl.models import seq2seq

    path = seq2seq.save(EncoderDecoder(VOCABULARY, units=4), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = dict(f)
    config = json.loads(arrays["nndl.json"].tobytes())
    config["network"]["units"] = 60000                           # within the schema, beyond the weights held
    arrays["nndl.json"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    np.savez(tmp_path / "big.npz", **arrays)
    with pytest.raises(NndlError, match="big.npz"):
        seq2seq.load(tmp_path / "big.npz")
    config["network"]["units"] = 10 ** 9
    arrays["nndl.json"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    np.savez(tmp_path / "huge.npz", **arrays)
    with pytest.raises(NndlError, match="huge.npz"):
        seq2seq.load(tmp_path / "huge.npz")
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:200])
    with pytest.raises(NndlError, match="cut.npz"):
        seq2seq.load(tmp_path / "cut.npz")
    with pytest.raises(NndlError, match="does not exist"):
        seq2seq.load(tmp_path / "none.npz")


def test_the_experiment_command_runs_and_prints_json_lines(tmp_path):
    """bench/experiment_attention.py, the real command, on a tiny budget: JSON lines, a model file, a figure."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from nndl.models import seq2seq

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "bench" / "experiment_attention.py"), "--min-length", "3",
                          "--max-length", "4", "--units", "8", "--embedding", "8", "--chunk", "200", "--test", "50",
                          "--minutes", "0.02", "--save", str(tmp_path / "m.npz"), "--figure", str(tmp_path / "a.png")],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0]["settings"]["units"] == 8 and lines[-1]["final"] is True
    assert 0.0 <= lines[-2]["test_sequence_accuracy"] <= 1.0 and set(lines[-1]["sequence_accuracy_by_length"]) == {"3", "4"}
    assert seq2seq.load(tmp_path / "m.npz").units == 8
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_greedy_decoding_is_the_teacher_forced_argmax_of_its_own_output(rng):
    """Fed its own greedy tokens as the targets, the teacher-forced pass picks the same tokens step by step."""
    net = EncoderDecoder(VOCABULARY, embedding=5, units=6, score="additive", attention_units=4, seed=2,
                         dtype=np.float64)
    for p in net.params:
        p.value[...] = rng.normal(0.0, 1.0, p.value.shape)
    x, _ = digit_strings(8, 2, 6, seed=3)
    tokens, weights = net.greedy(x, steps=7)
    with no_grad():
        a = net.forward(x, np.where(tokens >= 0, tokens, 0))
    real = tokens >= 0
    assert np.array_equal(a.argmax(axis=-1)[real], tokens[real])
    padded = np.broadcast_to(x[:, None, :] < 0, weights.shape)
    assert np.allclose(weights[real].sum(axis=-1), 1.0) and np.all(weights[padded] == 0)


def test_a_padded_batch_decodes_each_string_as_it_would_alone(rng):
    net = EncoderDecoder(VOCABULARY, embedding=5, units=6, cell="gru", seed=4, dtype=np.float64)
    for p in net.params:
        p.value[...] = rng.normal(0.0, 1.0, p.value.shape)
    x, _ = digit_strings(6, 2, 7, seed=6)
    together = net.greedy(x, steps=8)[0]
    for row, expected in zip(x, together):
        alone = net.greedy(row[row >= 0][None, :], steps=8)[0][0]
        assert np.array_equal(alone, expected)


def test_workers_on_an_encoder_decoder_is_one_line():
    with pytest.raises(NndlError, match="EncoderDecoder trains on the whole batch; use workers=1"):
        Trainer(workers=2).check_workers(EncoderDecoder(12))
