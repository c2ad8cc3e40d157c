"""The Neural Turing Machine: finite differences in float64 of every head operation and of the whole machine,
what each head operation does on hand-made inputs, a short learning test, bad input and the file format."""
import numpy as np
import pytest

from nndl.data.copy_task import bits_wrong, copy_sequences
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, numerical_gradient, relative_error
from nndl.models import ntm
from nndl.models.ntm import NTM, TuringMachine
from nndl.models.ntm import addressing as A
from nndl.models.ntm.model import masked_bce, masked_bce_delta
from nndl.optim import Adam

B, N, M = 3, 7, 5


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _inputs(rng):
    """Random inputs of every head operation: k, β, g, s, γ, a weighting, e, a, the memory."""
    return {"k": rng.standard_normal((B, M)), "beta": rng.uniform(0.5, 3.0, (B, 1)), "g": rng.uniform(0.1, 0.9, (B, 1)),
            "s": _softmax(rng.standard_normal((B, 3))), "gamma": rng.uniform(1.0, 3.0, (B, 1)),
            "w": _softmax(rng.standard_normal((B, N))), "w_prev": _softmax(rng.standard_normal((B, N))),
            "e": rng.uniform(0.05, 0.95, (B, M)), "a": rng.standard_normal((B, M)),
            "memory": rng.standard_normal((B, N, M))}


# (forward, backward, the names of the forward's arguments in order)
OPERATIONS = {
    "content": (A.content_forward, A.content_backward, ("k", "beta", "memory")),
    "interpolation": (A.interpolate_forward, A.interpolate_backward, ("g", "w", "w_prev")),
    "shift": (A.shift_forward, A.shift_backward, ("w", "s")),
    "sharpening": (A.sharpen_forward, A.sharpen_backward, ("w", "gamma")),
    "address": (A.address_forward, A.address_backward, ("k", "beta", "g", "s", "gamma", "w_prev", "memory")),
    "read": (A.read_forward, A.read_backward, ("w", "memory")),
    "erase_and_add": (A.write_forward, A.write_backward, ("memory", "w", "e", "a")),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_head_operation_gradients(name):
    """C = Σ R ⊙ op(inputs) for a fixed random R: every input's backward against central differences."""
    forward, backward, names = OPERATIONS[name]
    rng = np.random.default_rng(1)
    inputs = _inputs(rng)
    args = [inputs[n] for n in names]
    out, cache = forward(*args)
    r = rng.standard_normal(out.shape)
    grads = backward(r, cache)
    assert len(grads) == len(args)
    for arg_name, arg, grad in zip(names, args, grads):
        numerical = numerical_gradient(lambda: float((forward(*args)[0] * r).sum()), arg)
        assert grad.shape == arg.shape, (name, arg_name)
        err = relative_error(grad.ravel(), numerical)
        assert err < THRESHOLD, f"{name}: ∂C/∂{arg_name} relative error {err:.2e}"


def test_head_operations_do_what_the_paper_says():
    rng = np.random.default_rng(0)
    memory = rng.standard_normal((1, N, M))
    # content: a key equal to row 4 and a large β pick row 4; β = 0 gives the uniform weighting
    w, _ = A.content_forward(memory[:, 4] * 3.0, np.array([[200.0]]), memory)
    assert w.argmax() == 4 and w[0, 4] > 0.99
    w, _ = A.content_forward(memory[:, 4], np.array([[0.0]]), memory)
    np.testing.assert_allclose(w, 1.0 / N)
    one_hot = np.eye(N)[[2]]
    # interpolation: g = 1 keeps the content weighting, g = 0 the previous one
    np.testing.assert_allclose(A.interpolate_forward(np.ones((1, 1)), one_hot, w)[0], one_hot)
    np.testing.assert_allclose(A.interpolate_forward(np.zeros((1, 1)), one_hot, w)[0], w)
    # shift: s = (0, 0, 1) moves the weight one location on, s = (1, 0, 0) one back, circularly
    np.testing.assert_allclose(A.shift_forward(one_hot, np.array([[0.0, 0.0, 1.0]]))[0], np.eye(N)[[3]])
    np.testing.assert_allclose(A.shift_forward(np.eye(N)[[0]], np.array([[1.0, 0.0, 0.0]]))[0], np.eye(N)[[N - 1]])
    # sharpening: γ = 1 changes nothing, a large γ keeps only the largest weight
    blur = _softmax(rng.standard_normal((1, N)))
    np.testing.assert_allclose(A.sharpen_forward(blur, np.ones((1, 1)))[0], blur, rtol=1e-12)
    assert A.sharpen_forward(blur, np.array([[3000.0]]))[0][0, blur.argmax()] > 0.999
    # read: a one-hot weighting reads that row
    np.testing.assert_allclose(A.read_forward(one_hot, memory)[0], memory[:, 2])
    # write: e = 1 at a one-hot weighting replaces that row by a and leaves the others alone
    a = rng.standard_normal((1, M))
    new = A.write_forward(memory, one_hot, np.ones((1, M)), a)[0]
    np.testing.assert_allclose(new[:, 2], a)
    np.testing.assert_allclose(np.delete(new, 2, axis=1), np.delete(memory, 2, axis=1))


def _machine_errors(controller, read_heads, write_heads, max_entries=25, only=None, weighting="zero"):
    net = TuringMachine(4, 3, locations=6, width=5, units=7, read_heads=read_heads, write_heads=write_heads,
                        controller=controller, initial_weighting=weighting, seed=3, dtype=np.float64)
    x, y, mask = copy_sequences(3, 2, 3, np.random.default_rng(1))
    x = x + np.random.default_rng(2).normal(0.0, 0.3, x.shape)           # not only 0s and 1s

    def cost():
        return masked_bce(net.forward(x), y, mask)

    net.zero_grad()
    out = net.forward(x, training=True)
    dx = net.backward(masked_bce_delta(out, y, mask), input_grad=True)
    rng = np.random.default_rng(0)
    errors = {}
    for p in net.params:
        if only is not None and p.name not in only:
            continue
        entries = np.arange(p.value.size) if p.value.size <= max_entries else rng.choice(p.value.size, max_entries,
                                                                                         replace=False)
        errors[p.name] = relative_error(p.grad.ravel()[entries], numerical_gradient(cost, p.value, entries))
    if only is None or "x" in only:
        errors["x"] = relative_error(dx.ravel(), numerical_gradient(cost, x))
    return errors


@pytest.mark.parametrize("controller, read_heads, write_heads, weighting", [
    ("lstm", 1, 1, "zero"), ("lstm", 2, 2, "learned"), ("feedforward", 1, 1, "learned")])
def test_whole_machine_gradients(controller, read_heads, write_heads, weighting):
    """BPTT through the whole NTM: every parameter (M_0, r_0, h_0, c_0, w_0 among them) and the input."""
    errors = _machine_errors(controller, read_heads, write_heads, weighting=weighting)
    expected = ({"Wc", "bc", "Wp", "bp", "Wy", "by", "M0", "r0", "x"}
                | ({"h0", "c0"} if controller == "lstm" else set()) | ({"w0"} if weighting == "learned" else set()))
    assert set(errors) == expected
    bad = {k: v for k, v in errors.items() if not v < THRESHOLD}
    assert not bad, bad


def test_a_wrong_backward_fails_the_check(monkeypatch):
    """The whole-machine check can fail: a write whose backward forgets the erase factor (1 − w eᵀ)."""
    original = A.write_backward
    monkeypatch.setattr(A, "write_backward", lambda dout, cache: (dout,) + original(dout, cache)[1:])
    assert _machine_errors("lstm", 1, 1, only={"M0"})["M0"] > 1e-4


def test_copy_sequences_layout():
    x, y, mask = copy_sequences(2, 3, 4, np.random.default_rng(0))
    assert x.shape == (2, 7, 5) and y.shape == (2, 7, 4) and mask.shape == (2, 7)
    np.testing.assert_array_equal(y[:, 4:], x[:, :3, :4])               # the target is the input again
    assert (x[:, 3, 4] == 1).all() and x[:, :3, 4].sum() == 0 and x[:, 4:].sum() == 0   # the delimiter
    np.testing.assert_array_equal(mask[0], [0, 0, 0, 0, 1, 1, 1])
    assert bits_wrong(y, y, mask) == 0.0
    assert bits_wrong(1.0 - y, y, mask) == 12.0


def test_copy_of_lengths_1_to_3_is_learned():
    """A small NTM (N = 8, M = 6, LSTM 32) learns to copy 4-bit vectors of lengths 1–3 in a few seconds."""
    net = TuringMachine(5, 4, locations=8, width=6, units=32, seed=0)
    model = NTM(net, Adam(1e-2, clip_value=10))
    rng = np.random.default_rng(0)
    x, y, mask = copy_sequences(100, 3, 4, np.random.default_rng(5))
    before = model.evaluate(x, (y, mask))["bits_wrong"]
    for _ in range(800):
        xb, yb, mb = copy_sequences(16, int(rng.integers(1, 4)), 4, rng)
        model.train_step(xb, (yb, mb))
    wrong = [model.evaluate(*((lambda s: (s[0], (s[1], s[2])))(copy_sequences(100, n, 4, np.random.default_rng(5)))))
             ["bits_wrong"] for n in (1, 2, 3)]
    assert before > 3.0
    assert np.mean(wrong) < 0.5, wrong


@pytest.mark.parametrize("kwargs, message", [
    (dict(locations=0), "memory locations"), (dict(width=-3), "memory width"), (dict(units=0), "controller units"),
    (dict(read_heads=0), "read heads"), (dict(controller="gru"), "controller"), (dict(inputs=0), "inputs")])
def test_bad_machine_settings(kwargs, message):
    settings = dict(inputs=9, outputs=8, locations=8, width=4, units=8)
    settings.update(kwargs)
    with pytest.raises(NndlError, match=message):
        TuringMachine(**settings)


def test_bad_sequences():
    model = NTM(TuringMachine(9, 8, locations=8, width=4, units=8), Adam(1e-3))
    x, y, mask = copy_sequences(2, 3, 8)
    with pytest.raises(NndlError, match="9 numbers"):
        model.check_data(x[:, :, :8], (y, mask), "training sequences")        # the wrong width
    with pytest.raises(NndlError, match="non-empty"):
        model.check_data(x[0], (y, mask), "training sequences")
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(NndlError, match="NaN"):
        model.check_data(bad, (y, mask), "training sequences")
    with pytest.raises(NndlError, match="targets must have shape"):
        model.check_data(x, (y[:, :, :7], mask), "training sequences")
    with pytest.raises(NndlError, match="mask must have shape"):
        model.check_data(x, (y, mask[:, :-1]), "training sequences")
    with pytest.raises(NndlError, match="only 0 and 1"):
        model.check_data(x, (y, mask * 2), "training sequences")
    with pytest.raises(NndlError, match="9 numbers"):
        model.network.forward(x[:, :, :8])
    with pytest.raises(NndlError, match="without a training forward"):
        model.network.backward(np.zeros_like(y))


def test_save_and_load(tmp_path):
    net = TuringMachine(9, 8, locations=8, width=4, units=8, read_heads=2, initial_weighting="learned", seed=4)
    model = NTM(net, Adam(1e-2, clip_value=10))
    x, y, mask = copy_sequences(4, 3, 8, np.random.default_rng(0))
    for _ in range(3):
        model.train_step(x, (y, mask))
    path = ntm.save(model, tmp_path / "ntm.npz", metadata={"sequences_seen": 12})
    again = ntm.load(path)
    assert again.config() == net.config() and again.metadata == {"sequences_seen": 12}
    np.testing.assert_array_equal(again.forward(x), net.forward(x))
    np.testing.assert_array_equal(again.read_weights, net.read_weights)


def test_bad_model_files(tmp_path):
    from nndl.io import _json_array, _write_npz

    net = TuringMachine(9, 8, locations=8, width=4, units=8)
    with pytest.raises(NndlError, match="does not exist"):
        ntm.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(NndlError, match="junk.npz"):
        ntm.load(tmp_path / "junk.npz")
    good = ntm.save(net, tmp_path / "good.npz")
    arrays = dict(np.load(good, allow_pickle=False))
    import json

    config = json.loads(bytes(arrays["nndl.json"]).decode())
    for change, message in [({"locations": 0}, "locations"), ({"locations": 10 ** 9}, "locations"),
                            ({"controller": "gru"}, "controller")]:
        bad = dict(arrays)
        bad["nndl.json"] = _json_array({**config, "network": {**config["network"], **change}})
        _write_npz(tmp_path / "bad.npz", bad)
        with pytest.raises(NndlError, match="bad.npz"):
            ntm.load(tmp_path / "bad.npz")
    wrong_shape = dict(arrays)
    wrong_shape["param/M0"] = np.zeros((3, 3), np.float32)
    _write_npz(tmp_path / "shape.npz", wrong_shape)
    with pytest.raises(NndlError, match="shape.npz"):
        ntm.load(tmp_path / "shape.npz")
    missing = {k: v for k, v in arrays.items() if k != "param/r0"}
    _write_npz(tmp_path / "missing_r0.npz", missing)
    with pytest.raises(NndlError, match="missing_r0.npz"):
        ntm.load(tmp_path / "missing_r0.npz")
    other = dict(arrays)
    other["nndl.json"] = _json_array({**config, "format": "nndl-seq2seq"})
    _write_npz(tmp_path / "other.npz", other)
    with pytest.raises(NndlError, match="not an nndl NTM"):
        ntm.load(tmp_path / "other.npz")
    net.M0.value[0, 0] = np.inf                                            # a diverged run is not saved
    with pytest.raises(NndlError, match="NaN or infinity"):
        ntm.save(net, good)
    assert np.isfinite(ntm.load(good).M0.value).all()


def test_a_batch_runs_each_sequence_as_it_would_alone():
    net = TuringMachine(9, 8, locations=8, width=4, units=8, read_heads=2, write_heads=2, seed=5, dtype=np.float64)
    x, _, _ = copy_sequences(3, 4, 8, np.random.default_rng(2))
    together = net.forward(x)
    weights = net.write_weights.copy()
    for i in range(3):
        np.testing.assert_allclose(net.forward(x[i:i + 1]), together[i:i + 1], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(net.write_weights, weights[i:i + 1], rtol=1e-12, atol=1e-14)
    assert np.allclose(weights.sum(axis=-1), 1.0) and (weights >= 0).all()


def test_the_experiment_command_runs_and_prints_json_lines(tmp_path):
    """bench/experiment_ntm.py, the real command, on a tiny budget: JSON lines, a model file, both figures."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = str(root / "bench" / "experiment_ntm.py")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    runs = {}
    for kind in ("ntm", "lstm"):
        out = subprocess.run([sys.executable, script, "--model", kind, "--units", "8", "--locations", "8",
                              "--memory-width", "4", "--sequences", "20", "--every", "10", "--max-length", "3",
                              "--test", "2", "--final-test", "2", "--test-lengths", "2", "5", "--batch", "2",
                              "--eta", "1e-3"] + (["--save", str(tmp_path / "m.npz"), "--keep-at", "10"] if kind == "ntm" else []),
                             capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        assert lines[0]["settings"]["model"] == kind and lines[-1]["final"] is True
        assert [r["sequences_seen"] for r in lines[1:-1]] == [10, 20]
        assert set(lines[-1]["test_bits_wrong_by_length"]) == {"2", "5"}
        (tmp_path / f"{kind}.jsonl").write_text(out.stdout)
        runs[kind] = lines
    assert ntm.load(tmp_path / "m.npz").locations == 8
    assert ntm.load(tmp_path / "m_10.npz").metadata["sequences_seen"] == 10
    for args in (["--plot-curve", str(tmp_path / "c.png"), "--logs", str(tmp_path / "ntm.jsonl"),
                  str(tmp_path / "lstm.jsonl")],
                 ["--plot-heads", str(tmp_path / "h.png"), "--init", str(tmp_path / "m.npz"), "--length", "4"]):
        out = subprocess.run([sys.executable, script] + args, capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
