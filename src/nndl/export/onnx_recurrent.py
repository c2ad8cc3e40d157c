"""ONNX export of the sequence layers: embedding, rnn, lstm, gru, bidirectional, per-step layers.

Sequences are batch-major in nndl, (N, T, D); ONNX's recurrent operators are time-major
(``layout = 0``: X is (T, N, D), Y is (T, num_directions, N, H), Y_h is (num_directions, N, H);
onnxruntime does not run ``layout = 1``), so each recurrent layer is

    Transpose(x, perm = (1, 0, 2))  →  RNN / LSTM / GRU  →  Y (sequences) or Y_h (last step)
      → back to nndl's shape:
            one direction, sequences       Squeeze(Y, axis 1), Transpose (1, 0, 2)       (N, T, H)
            bidirectional concat           Transpose(Y, (2, 0, 1, 3)), Reshape (0, 0, −1)  (N, T, 2H) = [→h_t, ←h_t]
            bidirectional sum              ReduceSum(Y, axis 1), Transpose (1, 0, 2)       (N, T, H) = →h_t + ←h_t
            last step (sequences=false)    Y_h: Squeeze axis 0 (N, H); bidirectional concat Transpose (1, 0, 2),
                                           Reshape (0, −1) → [→h_T, ←h_1] (N, 2H); sum ReduceSum axis 0

ONNX's reverse direction writes ←h_t at its own time index t, and its Y_h is ←h_1, exactly
what :class:`~nndl.layers.recurrent.Bidirectional` concatenates.

Weights (W: (num_directions, G·H, D), R: (num_directions, G·H, H), B = [W_b, R_b]: (num_directions, 2·G·H);
nndl's W_x (D, G·H) and W_h (H, G·H) are transposed and their gate blocks reordered):

====  ===========================  ================================================================
rnn   RNN, tanh                     W = W_xᵀ, R = W_hᵀ, W_b = b, R_b = 0
lstm  LSTM, gates i, o, f, c        nndl's blocks i, f, o, g → i, o, f, g;  W_b = b, R_b = 0;
                                    peepholes P = (p_i, p_o, p_f) (nndl stores p_i, p_f, p_o)
gru   GRU, gates z, r, h,           nndl's blocks r, z, n → z, r, n;  W_b = (b_z, b_r, b_n),
      linear_before_reset = 1       R_b = (0, 0, b_hn): n = tanh(x W_n + b_n + r ⊙ (h W_hn + b_hn))
====  ===========================  ================================================================

The initial state: zeros (no initial_h input), or the learned s_0 (an initializer (1, 1, H)
Expanded to (1, N, H); bidirectional: the two stacked, (2, N, H)).  The graph runs whole
sequences, as ``predict_proba`` does: no mask input (every step is real), and a stateful
layer starts from its initial state (the carry exists only between training batches).

The coupled LSTM (i = 1 − f) is refused, in one line: the LSTM operator's equations have no
such cell.  Its ``input_forget`` attribute is not in those equations: onnxruntime reads it as
f = 1 − i (so negated forget weights in the i block would reproduce nndl's cell there), but the
ONNX reference implementation ignores it, so such a file would mean different things in
different runtimes.

Embedding: Gather(E, ids, axis = 0) on the int64 input (N, T).  (nndl refuses an id outside
0..V−1; Gather reads a negative id −k as row V − k and onnxruntime refuses ids ≥ V.)  A per-step dense layer:
MatMul(x, Wᵀ) + b over the last axis, then σ; per-step activations and dropout are the
elementwise nodes themselves.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError


def embedding(g, x, layer, where):
    """a[n, t] = E[x[n, t]]: Gather on the ids."""
    return g.node("Gather", [g.weight(f"{where}_E", layer.E.value), x], f"{where}_embedding", axis=0)


def time_distributed(g, x, layer, where):
    """The wrapped layer at every step: a dense one as MatMul(x, Wᵀ) + b over the last axis."""
    from nndl.export.onnx import EXPORTERS, _activation

    inner = layer.layer
    if inner.type == "dense":
        z = g.node("MatMul", [x, g.constant(f"{where}_Wt", numpy.asarray(inner.W.value).T)], f"{where}_matmul")
        if inner.use_bias:
            z = g.node("Add", [z, g.weight(f"{where}_b", inner.b.value)], f"{where}_add")
        return _activation(g, z, inner.activation)
    if inner.type in ("activation", "dropout"):
        return EXPORTERS[inner.type](g, x, inner, where)
    raise NndlError(f"a per-step {inner.type} cannot be exported to ONNX (per-step dense, activation and "
                    f"dropout can)")


# --------------------------------------------------------------------------- weights per cell
def _blocks(array, order):
    """The gate blocks of ``array`` (last axis, G blocks of H) in the new ``order`` of block indices."""
    parts = numpy.split(numpy.asarray(array, dtype=numpy.float32), len(order), axis=-1)
    return numpy.concatenate([parts[k] for k in order], axis=-1)


def _cell_arrays(layer):
    """(op, W (G·H, D), R (G·H, H), B (2·G·H), P (3H) or None, attributes) of one direction."""
    h = layer.units
    if layer.type == "rnn":
        order, op, extra = [0], "RNN", {}                           # Tanh: the default activation
    elif layer.type == "lstm":
        if layer.coupled:
            raise NndlError("the coupled LSTM (coupled=true, i = 1 − f) has no ONNX LSTM form; export an "
                            "lstm without coupled")
        order, op, extra = [0, 2, 1, 3], "LSTM", {}                 # i, f, o, g → i, o, f, c
    elif layer.type == "gru":
        order, op, extra = [1, 0, 2], "GRU", {"linear_before_reset": 1}   # r, z, n → z, r, h
    else:  # pragma: no cover - Bidirectional only wraps the three
        raise NndlError(f"{layer.type} is not a recurrent layer ONNX knows")
    w = _blocks(layer.Wx.value, order).T
    r = _blocks(layer.Wh.value, order).T
    rb = numpy.zeros(len(order) * h, numpy.float32)
    if layer.type == "gru":
        rb[2 * h:] = numpy.asarray(layer.bhn.value)
    b = numpy.concatenate([_blocks(layer.b.value, order), rb])
    p = None
    if layer.type == "lstm" and layer.peepholes:
        pi, pf, po = numpy.asarray(layer.P.value, dtype=numpy.float32)
        p = numpy.concatenate([pi, po, pf])
    return op, w, r, b, p, extra


def _initial(g, x_tm, layers, where):
    """initial_h (and initial_c): "" for zeros, else the learned s_0 stacked over directions, Expanded to N."""
    if not layers[0].initial_params:
        return [""] * len(layers[0].state_names)
    n = g.node("Shape", [x_tm], f"{where}_batch", start=1, end=2)
    one = g.constant(f"{where}_one", numpy.ones(1, numpy.int64), numpy.int64)
    shape = g.node("Concat", [one, n, one], f"{where}_state_shape", axis=0)
    states = []
    for k in range(len(layers[0].state_names)):
        s0 = numpy.stack([numpy.asarray(layer.initial_params[k].value, dtype=numpy.float32)[None, :]
                          for layer in layers])                     # (num_directions, 1, H)
        states.append(g.node("Expand", [g.constant(f"{where}_s0", s0), shape], f"{where}_initial"))
    return states


def _run(g, x, layers, direction, where):
    """The ONNX recurrent node over x (N, T, D) for ``layers`` (one, or forward and backward): (Y, Y_h)."""
    cells = [_cell_arrays(layer) for layer in layers]
    op, extra = cells[0][0], cells[0][5]
    x_tm = g.node("Transpose", [x], f"{where}_time_major", perm=[1, 0, 2])
    inputs = [x_tm] + [g.constant(f"{where}_{name}", numpy.stack([c[k] for c in cells]))
                       for k, name in ((1, "W"), (2, "R"), (3, "B"))]
    inputs += [""] + _initial(g, x_tm, layers, where)               # no sequence_lens: whole sequences
    if cells[0][4] is not None:
        inputs.append(g.constant(f"{where}_P", numpy.stack([c[4] for c in cells])))
    while inputs[-1] == "":
        inputs.pop()
    y, y_h = g.fresh(f"{where}_Y"), g.fresh(f"{where}_Y_h")
    g.nodes.append(g.helper.make_node(op, inputs, [y, y_h], name=y, hidden_size=layers[0].units,
                                      direction=direction, **extra))
    return y, y_h


def _axes(g, where, *axes):
    return g.constant(f"{where}_axes", numpy.array(axes, numpy.int64), numpy.int64)


def _shape(g, where, *dims):
    return g.constant(f"{where}_shape", numpy.array(dims, numpy.int64), numpy.int64)


def recurrent(g, x, layer, where):
    """rnn, lstm, gru in one direction: Y → (N, T, H), or Y_h → (N, H)."""
    y, y_h = _run(g, x, [layer], "forward", where)
    if layer.return_sequences:
        y = g.node("Squeeze", [y, _axes(g, where, 1)], f"{where}_one_direction")
        return g.node("Transpose", [y], f"{where}_batch_major", perm=[1, 0, 2])
    return g.node("Squeeze", [y_h, _axes(g, where, 0)], f"{where}_last")


def bidirectional(g, x, layer, where):
    """direction = "bidirectional"; the two directions joined as nndl joins them (concat or sum)."""
    y, y_h = _run(g, x, [layer.forward_layer, layer.backward_layer], "bidirectional", where)
    if layer.return_sequences:                                      # Y (T, 2, N, H)
        if layer.merge == "sum":
            y = g.node("ReduceSum", [y, _axes(g, where, 1)], f"{where}_sum", keepdims=0)
            return g.node("Transpose", [y], f"{where}_batch_major", perm=[1, 0, 2])
        y = g.node("Transpose", [y], f"{where}_batch_major", perm=[2, 0, 1, 3])   # (N, T, 2, H)
        return g.node("Reshape", [y, _shape(g, where, 0, 0, -1)], f"{where}_concat")
    if layer.merge == "sum":                                        # Y_h (2, N, H)
        return g.node("ReduceSum", [y_h, _axes(g, where, 0)], f"{where}_sum", keepdims=0)
    y_h = g.node("Transpose", [y_h], f"{where}_batch_major", perm=[1, 0, 2])     # (N, 2, H)
    return g.node("Reshape", [y_h, _shape(g, where, 0, -1)], f"{where}_concat")


#: Layer type → exporter, merged into :data:`nndl.export.onnx.EXPORTERS`.
EXPORTERS = {"embedding": embedding, "time_distributed": time_distributed, "rnn": recurrent, "lstm": recurrent,
             "gru": recurrent, "bidirectional": bidirectional}
