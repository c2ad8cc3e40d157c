"""Course notes, recurrent networks: the vanishing (and exploding) gradient through time.

Backprop through time multiplies ∂C/∂h_T by one Jacobian per step on its way back:

    ∂C/∂h_t = ∂C/∂h_T · Π_{s=t+1..T} ∂h_s/∂h_{s−1},   ∂h_s/∂h_{s−1} = diag(1 − h_s²) W_hᵀ  (a tanh RNN)

so its length changes geometrically with T − t: it shrinks when the Jacobians' norms are below 1
(the tanh's slope is at most 1, and less wherever a unit saturates) and grows when W_h's gain is
large (Bengio, Simard & Frasconi 1994; Hochreiter 1991).  The LSTM's cell c_t is changed only
elementwise, c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t, so ∂C/∂c_{t−1} = ∂C/∂c_t ⊙ f_t + (terms through the
gates): with forget gates near 1 the gradient along the cell does not decay.

The experiment measures ∂C/∂h_t exactly, for every t, for a cost whose gradient at the last step
is a unit vector u per sequence (C = Σ_n u_n · h_T,n, a linear read-out): for each t it runs the
cell from the state (h_t, c_t) that the first t inputs produced, over the remaining inputs, and
backpropagates; the layer's ``state_grad`` is then ∂C/∂h_t (and ∂C/∂c_t).  It does this for a tanh
RNN with orthogonal W_h times a gain (0.9, 1, 1.5: vanishing, the edge, exploding), for an LSTM
(b_f = 1) and a GRU, at initialization and after each has trained on the adding problem.
"""
from __future__ import annotations

import numpy

from nndl.experiments import plotting
from nndl.experiments._common import rounded
from nndl.experiments.registry import experiment, log, row

PAPER = "https://www.comp.hkbu.edu.hk/~markus/teaching/comp7650/tnn-94-gradient.pdf"
#: (label, cell, gain of the recurrent weights).
CELLS = [("RNN, gain 0.9", "rnn", 0.9), ("RNN, gain 1", "rnn", 1.0), ("RNN, gain 1.5", "rnn", 1.5),
         ("LSTM", "lstm", 1.0), ("GRU", "gru", 1.0)]


def recurrent_layer(cell: str, units: int, input_width: int, steps: int, gain: float, seed: int, dtype=numpy.float64):
    """A built layer returning its last state: orthogonal W_h (scaled by ``gain``), Glorot W_x."""
    from nndl.layers import GRU, LSTM, SimpleRNN

    layer = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[cell](units, return_sequences=False)
    layer.build((steps, input_width), numpy.random.default_rng(seed), dtype)
    layer.Wh.value *= gain
    return layer


def state_gradients(layer, x, u) -> tuple[numpy.ndarray, numpy.ndarray | None]:
    """‖∂C/∂h_t‖ (and ‖∂C/∂c_t‖ for an LSTM) for t = 0..T−1, averaged over the batch, for
    C = Σ_n u_n · h_T,n; also the last step's own ‖u‖ = 1 at t = T."""
    from nndl.layers import no_grad

    n, steps, _ = x.shape
    dh, dc = [], []
    state = layer.zero_state(n)
    for t in range(steps):
        layer.forward(x[:, t:], initial_state=state)
        layer.backward(u)
        grads = layer.state_grad
        dh.append(float(numpy.linalg.norm(grads[0], axis=1).mean()))
        if len(grads) > 1:
            dc.append(float(numpy.linalg.norm(grads[1], axis=1).mean()))
        with no_grad():
            layer.forward(x[:, t:t + 1], initial_state=state)
        state = tuple(s.copy() for s in layer.final_state)
        for p in layer.params:
            p.zero_grad()
    dh.append(1.0)
    return numpy.array(dh), (numpy.array(dc + [numpy.nan]) if dc else None)


def train_on_adding(layer, steps: int, sequences: int, seed: int) -> float:
    """Train ``layer`` and a linear read-out of its last state on the adding problem (Adam 3·10⁻³,
    batch 64, fresh sequences); returns the last batch's mean squared error."""
    from nndl.data.adding import adding_problem
    from nndl.layers import Dense
    from nndl.optim import Adam

    readout = Dense(1, activation="linear")
    readout.build((layer.units,), numpy.random.default_rng(seed + 2), layer.dtype)
    params = layer.params + readout.params
    opt, mse = Adam(3e-3), float("nan")
    for i in range(max(1, sequences // 64)):
        x, y = adding_problem(64, steps, seed=1_000_003 * (seed + 1) + i, dtype=layer.dtype)
        h = layer.forward(x, training=True)
        out = readout.forward(h, training=True)
        diff = out - y.reshape(-1, 1)
        mse = float((diff ** 2).mean())
        for p in params:
            p.zero_grad()
        layer.backward(readout.backward(2 * diff / len(diff)))
        opt.step(params)
    return mse


def decay_per_step(norms) -> float:
    """The factor by which ‖∂C/∂h_t‖ changes per step back in time: exp of the slope of a least-squares
    line through log ‖∂C/∂h_t‖ against T − t, over t = 0..T−1 (the read-out's own step left out)."""
    values = numpy.log(numpy.asarray(norms[:-1], dtype=float))
    back = numpy.arange(len(values))[::-1]
    return float(numpy.exp(numpy.polyfit(back, values, 1)[0]))


@experiment("vanishing-gradient-time", 7, "The vanishing gradient through time: ‖∂C/∂h_t‖ for an RNN, an LSTM, a GRU",
            PAPER,
            book={"claim": "the gradient of a tanh RNN shrinks (or grows) geometrically with T − t; the LSTM's cell "
                           "carries it (Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997)"},
            summary="Going back through time, a plain RNN's gradient shrinks by a roughly constant factor per step "
                    "(or explodes with large recurrent weights); the LSTM's and the GRU's stay within a few orders "
                    "of magnitude over 100 steps.",
            full_minutes=6.0)
def vanishing_gradient_time(out_dir, quick, seed):
    from nndl.data.adding import adding_problem

    steps, units, width = (30 if quick else 100), 64, 2
    n = 16 if quick else 64
    train_sequences = 1_280 if quick else 192_000
    x, _ = adding_problem(n, steps, seed=seed, dtype=numpy.float64)
    u = numpy.random.default_rng(seed + 7).standard_normal((n, units))
    u /= numpy.linalg.norm(u, axis=1, keepdims=True)
    curves, cells_c, trained, final_mse = {}, {}, {}, {}
    for label, cell, gain in CELLS:
        layer = recurrent_layer(cell, units, width, steps, gain, seed)
        curves[label], cells_c[label] = state_gradients(layer, x, u)
        if gain == 1.0:
            final_mse[label] = train_on_adding(layer, steps, train_sequences, seed)
            trained[label] = state_gradients(layer, x, u)[0]
        log(f"vanishing-gradient-time: {label}: ‖∂C/∂h_0‖ = {curves[label][0]:.3g}")
    t = numpy.arange(steps + 1)
    figures = ["state_gradient.png"]
    with plotting.figure(out_dir / figures[0], 1, 2, size=(12, 4.2)) as (fig, axes):
        for label, values in curves.items():
            axes[0].plot(t, values, label=label)
        lstm_c = cells_c["LSTM"]
        axes[0].plot(t, lstm_c, linestyle="--", color=plotting.COLORS[3], label="LSTM, ‖∂C/∂c_t‖")
        for label, values in trained.items():
            axes[1].plot(t, values, label=f"{label} (MSE {final_mse[label]:.3f})")
        for ax, title in zip(axes, ("at initialization", f"after {train_sequences:,} adding-problem sequences")):
            ax.set_yscale("log")
            plotting.finish(ax, "time step t", "‖∂C/∂h_t‖ (mean over the batch)", title, legend="lower right")
    per_step = {label: decay_per_step(v) for label, v in curves.items()}
    rows = [row(f"{label}: ‖∂C/∂h_0‖ / ‖∂C/∂h_T‖ over T = {steps} steps", None, f"{v[0] / v[-1]:.3g}",
                note=f"× {per_step[label]:.3f} per step back") for label, v in curves.items()]
    rows += [row(f"{label} after training: ‖∂C/∂h_0‖ / ‖∂C/∂h_T‖", None, f"{v[0] / v[-1]:.3g}",
                 note=f"× {decay_per_step(v):.3f} per step back; adding-problem MSE {final_mse[label]:.4f}")
             for label, v in trained.items()]
    return {
        "settings": {"steps": steps, "units": units, "input": "the adding problem's (value, marker) pairs",
                     "batch": n, "cost": "C = Σ u·h_T with unit vectors u (a linear read-out)",
                     "recurrent_init": "orthogonal × gain", "lstm_forget_bias": 1.0,
                     "training": f"{train_sequences} adding-problem sequences, Adam 3e-3, batch 64, linear read-out",
                     "dtype": "float64"},
        "nndl": {"state_gradient": {k: rounded(list(v), 6) for k, v in curves.items()},
                 "lstm_cell_gradient": rounded([float(c) for c in cells_c["LSTM"][:-1]], 6),
                 "factor_per_step": {k: round(v, 4) for k, v in per_step.items()},
                 "factor_per_step_after_training": {k: round(decay_per_step(v), 4) for k, v in trained.items()},
                 "after_training": {k: rounded(list(v), 6) for k, v in trained.items()},
                 "adding_mse_after_training": {k: round(v, 4) for k, v in final_mse.items()}},
        "rows": rows,
        "figures": figures,
        "notes": ["∂C/∂h_t is exact (backprop through time from the state the first t inputs produced), not a "
                  "finite difference; the LSTM's dashed curve is ∂C/∂c_t, the path the cell gives the gradient."],
    }
