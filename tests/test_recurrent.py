"""Recurrent layers against finite differences (float64) and against PyTorch; masks; truncated BPTT."""
import numpy as np
import pytest

from nndl import io
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, numerical_gradient, relative_error
from nndl.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN, TimeDistributed, no_grad
from nndl.layers.embedding import scatter_add, scatter_add_reference
from nndl.layers.recurrent import forward_masked
from nndl.network import Network
from nndl.spec import parse_spec, spec_of
from oracles import oracle

N, T, D, H = 3, 5, 4, 6


def built(layer, shape=(T, D), seed=0):
    """``layer`` built in float64 with every parameter random (biases and peepholes non-zero)."""
    rng = np.random.default_rng(seed)
    layer.build(shape, rng, np.float64)
    for p in layer.params:
        p.value[...] = rng.normal(0.0, 0.5, p.value.shape)
    return layer


def layer_errors(layer, x, max_entries=25, **kwargs):
    """Relative errors of backprop against finite differences for C = Σ R ⊙ layer(x) with a fixed random R:
    every parameter, the input (if real-valued) and any initial state passed in ``kwargs``."""
    rng = np.random.default_rng(7)
    y = layer.forward(x, training=True, **kwargs)
    r = rng.standard_normal(y.shape)
    for p in layer.params:
        p.zero_grad()
    layer.needs_input_grad = x.dtype.kind == "f"
    dx = layer.backward(r)

    def cost():
        with no_grad():
            return float((r * layer.forward(x, training=True, **kwargs)).sum())

    def pick(size):
        return np.arange(size) if size <= max_entries else rng.choice(size, max_entries, replace=False)

    errors = {}
    for p in layer.params:
        e = pick(p.value.size)
        errors[p.name] = relative_error(p.grad.reshape(-1)[e], numerical_gradient(cost, p.value, e))
    if dx is not None:
        e = pick(x.size)
        errors["x"] = relative_error(dx.reshape(-1)[e], numerical_gradient(cost, x, e))
    state = kwargs.get("initial_state")
    if state is not None:
        for name, s, g in zip(layer.state_names, state, layer.state_grad):
            e = pick(s.size)
            errors[f"{name}0"] = relative_error(g.reshape(-1)[e], numerical_gradient(cost, s, e))
    return errors


CELLS = {
    "rnn": lambda **kw: SimpleRNN(H, **kw),
    "lstm": lambda **kw: LSTM(H, **kw),
    "lstm_peepholes": lambda **kw: LSTM(H, peepholes=True, **kw),
    "lstm_coupled": lambda **kw: LSTM(H, coupled=True, **kw),
    "lstm_peepholes_coupled": lambda **kw: LSTM(H, peepholes=True, coupled=True, **kw),
    "gru": lambda **kw: GRU(H, **kw),
}


def _mask():
    mask = np.ones((N, T))
    mask[1, 3:] = 0                 # lengths 5, 3, 1
    mask[2, 1:] = 0
    return mask


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
def test_every_cell_against_finite_differences(cell, sequences, rng):
    layer = built(CELLS[cell](return_sequences=sequences))
    x = rng.standard_normal((N, T, D))
    state = tuple(rng.standard_normal((N, H)) for _ in layer.state_names)
    errors = layer_errors(layer, x, initial_state=state)
    assert set(errors) >= {"Wx", "Wh", "b", "x", "h0"}
    assert max(errors.values()) < THRESHOLD, errors


@pytest.mark.parametrize("cell", CELLS)
def test_masks_and_learned_initial_states_against_finite_differences(cell, rng):
    layer = built(CELLS[cell](initial="learned"))
    errors = layer_errors(layer, rng.standard_normal((N, T, D)), mask=_mask())
    assert "h0" in errors and max(errors.values()) < THRESHOLD, errors


@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
def test_bidirectional_against_finite_differences(merge, sequences, rng):
    layer = built(Bidirectional(LSTM(H, return_sequences=sequences, peepholes=True), merge=merge))
    errors = layer_errors(layer, rng.standard_normal((N, T, D)), mask=_mask())
    assert {"fwd.Wx", "bwd.Wx", "bwd.P"} <= set(errors)
    assert max(errors.values()) < THRESHOLD, errors


def test_embedding_and_a_dense_layer_per_step_against_finite_differences(rng):
    emb = built(Embedding(D, vocabulary=7), shape=(T,))
    errors = layer_errors(emb, rng.integers(0, 7, (N, T)))
    dense = built(TimeDistributed(Dense(5, activation="tanh")))
    errors.update(layer_errors(dense, rng.standard_normal((N, T, D))))
    assert max(errors.values()) < THRESHOLD, errors


def test_a_wrong_backward_is_caught(rng):
    """The check can fail: an LSTM that forgets the forget gate's term in ∂C/∂c_{t−1} is flagged."""
    layer = built(LSTM(H))
    original = layer.back_steps

    def broken(cache, hs, m, dy, d_last):
        cache = dict(cache, cs=cache["cs"] * 1.1)
        return original(cache, hs, m, dy, d_last)

    layer.back_steps = broken
    errors = layer_errors(layer, rng.standard_normal((N, T, D)))
    assert errors["Wh"] > 1e-3


def test_a_stacked_character_model_end_to_end(rng):
    """embedding → lstm → gru → dense softmax per step, all gradients against finite differences of the
    per-character cross-entropy (the network's own cost on one-hot targets, /N·T)."""
    net = Network(parse_spec("embedding(4, vocabulary=6) lstm(5) gru(4) softmax(6)", (T,)), (T,),
                  cost="log_likelihood", dtype=np.float64, seed=1)
    assert [layer.type for layer in net.layers] == ["embedding", "lstm", "gru", "time_distributed"]
    ids, targets = rng.integers(0, 6, (N, T)), rng.integers(0, 6, (N, T))
    y = np.eye(6)[targets]
    net.backprop(ids, y)
    grads = [p.grad.copy() for p in net.params]

    def cost():
        return net.cost.fn(net.feedforward(ids, training=True), y)

    for p, g in zip(net.params, grads):
        e = np.arange(min(p.value.size, 20))
        assert relative_error(g.reshape(-1)[e], numerical_gradient(cost, p.value, e)) < THRESHOLD, p.name


# -- masks --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm_peepholes", "gru"])
def test_a_padded_batch_is_each_sequence_on_its_own(cell, rng):
    """Outputs at real steps, last states and all gradients of a padded batch equal those of the sequences
    run one at a time without padding; outputs at padded steps are 0."""
    layer = built(CELLS[cell]())
    x = rng.standard_normal((N, T, D))
    mask = _mask()
    lengths = mask.sum(axis=1).astype(int)
    r = rng.standard_normal((N, T, H)) * mask[:, :, None]
    y = layer.forward(x, training=True, mask=mask)
    last = layer.final_state[0].copy()
    for p in layer.params:
        p.zero_grad()
    dx = layer.backward(r)
    padded_grads = [p.grad.copy() for p in layer.params]
    assert np.all(y[mask == 0] == 0)
    for p in layer.params:
        p.zero_grad()
    for n, length in enumerate(lengths):
        yn = layer.forward(x[n:n + 1, :length], training=True)
        np.testing.assert_allclose(yn[0], y[n, :length], atol=1e-12)
        np.testing.assert_allclose(layer.final_state[0][0], last[n], atol=1e-12)
        dxn = layer.backward(r[n:n + 1, :length])
        np.testing.assert_allclose(dxn[0], dx[n, :length], atol=1e-12)
        assert np.all(dx[n, length:] == 0)
    for p, g in zip(layer.params, padded_grads):
        np.testing.assert_allclose(p.grad, g, atol=1e-12)


def test_a_masked_network_and_the_bidirectional_layer_see_each_sequence_alone(rng):
    net = Network([Bidirectional(GRU(H, return_sequences=False)), Dense(2, activation="softmax")], (T, D),
                  dtype=np.float64)
    x = rng.standard_normal((N, T, D))
    mask = _mask()
    out = forward_masked(net, x, mask)
    bi, dense = net.layers
    for n, length in enumerate(mask.sum(axis=1).astype(int)):
        with no_grad():
            alone = dense.forward(bi.forward(x[n:n + 1, :length]))
        np.testing.assert_allclose(alone[0], out[n], atol=1e-12)


# -- truncated BPTT ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_bptt_carries_the_state_without_its_gradient(cell, rng):
    """A stateful layer on two consecutive pieces of one stream: the second piece starts where the first
    ended (the outputs equal one pass over the whole stream), and its gradients are those of the second
    piece's cost with that starting state held fixed (finite differences), not the full BPTT ones."""
    layer = built(CELLS[cell](stateful=True))
    stream = rng.standard_normal((N, 2 * T, D))
    whole = built(CELLS[cell](), shape=(2 * T, D))
    for p, q in zip(whole.params, layer.params):
        p.value[...] = q.value
    with no_grad():
        expected = whole.forward(stream)
    first = layer.forward(stream[:, :T], training=True)
    layer.backward(np.zeros_like(first))
    carried = tuple(s.copy() for s in layer.carry)
    second = layer.forward(stream[:, T:], training=True)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), expected, atol=1e-12)
    r = rng.standard_normal(second.shape)
    for p in layer.params:
        p.zero_grad()
    layer.backward(r)
    plain = built(CELLS[cell]())
    plain.stateful = False
    for p, q in zip(plain.params, layer.params):
        p.value[...] = q.value
    errors = layer_errors(plain, stream[:, T:].copy(), initial_state=tuple(s.copy() for s in carried))
    assert max(errors.values()) < THRESHOLD, errors
    plain.forward(stream[:, T:], training=True, initial_state=carried)
    for p in plain.params:
        p.zero_grad()
    plain.backward(r)
    for p, q in zip(plain.params, layer.params):
        np.testing.assert_allclose(q.grad, p.grad, atol=1e-12)       # the stateful pass: the truncated gradient
    layer.reset_states()
    np.testing.assert_allclose(layer.forward(stream[:, :T], training=True), first, atol=1e-12)


# -- PyTorch as the oracle --------------------------------------------------------------------------------------------
def _torch_run(torch, module, x, state):
    xt = torch.tensor(x, requires_grad=True)
    st = tuple(torch.tensor(s[None], requires_grad=True) for s in state)
    y, final = module(xt, st if len(st) == 2 else st[0])
    return xt, st, y, final


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_pytorch_agrees_in_float64_with_nonzero_biases(kind, rng):
    torch = oracle("torch")
    torch.manual_seed(0)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = cls(D, H, batch_first=True).double()
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.6, 0.6)                     # both bias vectors clearly non-zero
    w = {name: p.detach().numpy() for name, p in module.named_parameters()}
    ours = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[kind](H)
    ours.build((T, D), np.random.default_rng(0), np.float64)
    blocks = {"rnn": [0], "lstm": [0, 1, 3, 2], "gru": [0, 1, 2]}[kind]  # torch's LSTM is i,f,g,o; ours i,f,o,g

    def ours_of(m):                                 # (G·H, ·) torch rows → our (·, G·H) columns
        return np.concatenate([m[k * H:(k + 1) * H] for k in blocks], axis=0).T

    ours.Wx.value[...] = ours_of(w["weight_ih_l0"])
    ours.Wh.value[...] = ours_of(w["weight_hh_l0"])
    if kind == "gru":
        ours.b.value[...] = w["bias_ih_l0"] + np.concatenate([w["bias_hh_l0"][:2 * H], np.zeros(H)])
        ours.bhn.value[...] = w["bias_hh_l0"][2 * H:]
    else:
        ours.b.value[...] = ours_of((w["bias_ih_l0"] + w["bias_hh_l0"])[:, None])[0]
    x = rng.standard_normal((N, T, D))
    state = tuple(rng.standard_normal((N, H)) for _ in ours.state_names)
    xt, st, y, final = _torch_run(torch, module, x, state)
    r = rng.standard_normal((N, T, H))
    (y * torch.tensor(r)).sum().backward()
    ys = ours.forward(x, training=True, initial_state=state)
    np.testing.assert_allclose(ys, y.detach().numpy(), rtol=1e-10, atol=1e-12)
    final = final if isinstance(final, tuple) else (final,)
    for a, b in zip(ours.final_state, final):
        np.testing.assert_allclose(a, b.detach().numpy()[0], rtol=1e-10, atol=1e-12)
    dx = ours.backward(r)
    g = {name: p.grad.numpy() for name, p in module.named_parameters()}
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for ds, s in zip(ours.state_grad, st):
        np.testing.assert_allclose(ds, s.grad.numpy()[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.Wx.grad, ours_of(g["weight_ih_l0"]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.Wh.grad, ours_of(g["weight_hh_l0"]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.b.grad, ours_of(g["bias_ih_l0"][:, None])[0], rtol=1e-9, atol=1e-12)
    if kind == "gru":
        np.testing.assert_allclose(ours.bhn.grad, g["bias_hh_l0"][2 * H:], rtol=1e-9, atol=1e-12)


# -- the embedding ----------------------------------------------------------------------------------------------------
def test_the_embedding_scatter_add_fast_path_equals_the_reference(rng):
    ids = rng.integers(0, 50, 4000)
    grad = rng.standard_normal((4000, 16)).astype(np.float32)
    np.testing.assert_allclose(scatter_add(ids, grad, 50), scatter_add_reference(ids, grad, 50), rtol=1e-4,
                               atol=1e-4)
    assert scatter_add(ids, grad, 50).dtype == np.float32


def test_ids_outside_the_vocabulary_are_one_line(rng):
    emb = built(Embedding(3, vocabulary=10), shape=(4,))
    with pytest.raises(NndlError, match="token id 10 is outside the vocabulary of 10"):
        emb.forward(np.array([[1, 2, 10, 3]]))
    with pytest.raises(NndlError, match="token id -1"):
        emb.forward(np.array([[1, -1, 0, 3]]))
    with pytest.raises(NndlError, match="needs the vocabulary size"):
        parse_spec("embedding(8) lstm(4)", (5,))
    with pytest.raises(NndlError, match="needs sequences"):
        parse_spec("lstm(4)", (5,))


# -- the spec language and the model file -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["embedding(16,vocabulary=20) lstm(32) dropout(0.1) dense(20) softmax",
                                  "embedding(8,vocabulary=20) gru(8,bidirectional=true) rnn(4,initial=learned) "
                                  "lstm(6,sequences=false,peepholes=true,coupled=true) softmax(3)"])
def test_specs_write_back_and_models_load(spec, tmp_path, rng):
    net = Network(parse_spec(spec, (7,)), (7,), cost="log_likelihood", seed=3)
    assert spec_of(net.layers) == spec
    ids = rng.integers(0, 20, (5, 7))
    loaded = io.load(io.save(net, tmp_path / "seq.npz"))
    np.testing.assert_array_equal(loaded.feedforward(ids), net.feedforward(ids))
    assert spec_of(loaded.layers) == spec


def test_a_stream_carries_every_recurrent_state_from_piece_to_piece(rng):
    from nndl.layers.recurrent.stream import Stream

    net = Network(parse_spec("embedding(4, vocabulary=9) lstm(6) gru(5) softmax(9)", (12,)), (12,),
                  cost="log_likelihood", dtype=np.float64, seed=2)
    ids = rng.integers(0, 9, (3, 12))
    whole = net.feedforward(ids)
    stream = Stream(net)
    pieces = [stream(ids[:, k:k + 4]) for k in range(0, 12, 4)]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, atol=1e-12)
    with pytest.raises(NndlError, match="cannot go on with 2"):
        stream(ids[:2, :4])
    stream.reset()
    np.testing.assert_allclose(stream(ids[:, :4]), pieces[0], atol=1e-12)
