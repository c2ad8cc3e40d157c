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
        colour = {label: plotting.COLORS[i] for i, (label, _, _) in enumerate(CELLS)}
        for label, values in curves.items():
            axes[0].plot(t, values, label=label, color=colour[label])
        axes[0].plot(t, cells_c["LSTM"], linestyle="--", color=colour["LSTM"], label="LSTM, ‖∂C/∂c_t‖")
        for label, values in trained.items():
            axes[1].plot(t, values, label=f"{label} (MSE {final_mse[label]:.3f})", color=colour[label])
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


# -- the adding problem --------------------------------------------------------------------------
def train_adding(cell: str, steps: int, units: int, seconds: float, batch: int = 64, eta: float = 3e-3,
                 seed: int = 0, chunk: int = 50, on_evaluation=None, max_sequences: int | None = None) -> list[dict]:
    """Train ``cell(units, sequences=false) dense(1)`` as a regressor (quadratic cost, Adam, gradients
    clipped to norm 1) on freshly drawn adding-problem sequences for ``seconds`` of wall time (or
    ``max_sequences``); after every ``chunk`` batches the test MSE on 2,000 held-out sequences.
    Returns the evaluations (each also passed to ``on_evaluation``)."""
    import time

    from nndl.data.adding import MEAN_PREDICTOR_MSE, adding_problem
    from nndl.models import Regressor
    from nndl.network import Network
    from nndl.optim import Adam
    from nndl.spec import parse_spec

    net = Network(parse_spec(f"{cell}({units}, sequences=false) dense(1)", (steps, 2)), (steps, 2),
                  cost="quadratic", seed=seed)
    model = Regressor(net, Adam(eta, clip_norm=1.0))
    x_test, y_test = adding_problem(2000, steps, seed=10_000 + seed)
    model.begin(batch)
    start, seen, part, evaluations = time.perf_counter(), 0, 0, []
    while time.perf_counter() - start < seconds and (max_sequences is None or seen < max_sequences):
        x, y = adding_problem(batch * chunk, steps, seed=seed * 1_000_000 + part)
        part += 1
        for i in range(0, len(x), batch):
            model.train_step(x[i:i + batch], y[i:i + batch])
        seen += len(x)
        mse = float(((net.predict_proba(x_test) - y_test) ** 2).mean())
        record = {"task": "adding", "T": steps, "cell": cell, "units": units, "sequences_seen": seen,
                  "seconds": round(time.perf_counter() - start, 1), "test_mse": round(mse, 5),
                  "mean_predictor_mse": round(MEAN_PREDICTOR_MSE, 5)}
        evaluations.append(record)
        if on_evaluation is not None:
            on_evaluation(record)
    return evaluations


@experiment("adding-problem", 7, "The adding problem: an LSTM remembers two marked numbers over T steps, a plain "
            "RNN does not", "https://www.bioinf.jku.at/publications/older/2604.pdf",
            book={"claim": "Hochreiter & Schmidhuber 1997, experiment 4: the LSTM solves the adding problem for "
                           "T = 100; a plain RNN stays near the 0.167 of predicting the mean",
                  "mean_predictor_mse": 2.0 / 12.0},
            summary="Both nets start on the plateau of predicting the mean (MSE 0.167); the LSTM leaves it and "
                    "learns the sum, the plain RNN stays there far longer.",
            full_minutes=8.0)
def adding_problem_experiment(out_dir, quick, seed):
    from nndl.data.adding import MEAN_PREDICTOR_MSE

    steps, units = (10 if quick else 100), (16 if quick else 64)
    seconds = 8.0 if quick else 180.0
    runs = {}
    for cell in ("lstm", "rnn"):
        runs[cell] = train_adding(cell, steps, units, seconds, seed=seed, chunk=10 if quick else 50)
        log(f"adding-problem: {cell}: test MSE {runs[cell][-1]['test_mse']} after "
            f"{runs[cell][-1]['sequences_seen']} sequences")
    figures = ["adding_mse.png"]
    with plotting.figure(out_dir / figures[0], size=(7, 4.2)) as (fig, ax):
        for cell, records in runs.items():
            ax.plot([r["sequences_seen"] for r in records], [r["test_mse"] for r in records],
                    label={"lstm": "LSTM", "rnn": "plain RNN"}[cell])
        ax.axhline(MEAN_PREDICTOR_MSE, color=plotting.BOOK_COLOR, linestyle=":", label="predicting the mean")
        ax.set_yscale("log")
        plotting.finish(ax, "training sequences seen", "test mean squared error", f"the adding problem, T = {steps}",
                        legend="lower left")
    best = {cell: min(r["test_mse"] for r in records) for cell, records in runs.items()}
    rows = [row(f"LSTM({units}), T = {steps}: lowest test MSE", "≤ 0.01 (the issue)", best["lstm"]),
            row(f"plain RNN({units}), T = {steps}: lowest test MSE", "stays ≥ 0.15 (the issue)", best["rnn"]),
            row("sequences seen (LSTM, RNN)", None, [runs["lstm"][-1]["sequences_seen"],
                                                     runs["rnn"][-1]["sequences_seen"]])]
    return {"settings": {"steps": steps, "units": units, "seconds_per_model": seconds, "optimizer": "Adam 3e-3",
                         "batch": 64, "clip_norm": 1.0},
            "nndl": {"runs": runs, "lowest_test_mse": best}, "rows": rows, "figures": figures,
            "notes": ["Each model trains for the same wall time on fresh sequences, so the counts of sequences "
                      "seen differ."]}


# -- text at three temperatures -----------------------------------------------------------------
@experiment("char-temperatures", 7, "A character LSTM on tiny Shakespeare, sampled at three temperatures",
            "https://karpathy.github.io/2015/05/21/rnn-effectiveness/",
            book={"claim": "lower temperatures give likelier, more repetitive text; higher ones more varied text "
                           "with more misspellings (Karpathy 2015)"},
            summary="The same model at τ = 0.5, 0.8 and 1: the lower the temperature, the more common the words "
                    "and the fewer the invented ones.",
            full_minutes=3.5)
def char_temperatures(out_dir, quick, seed):
    import os
    import time
    from pathlib import Path

    from nndl.data.mnist import data_root
    from nndl.data.text import CharCorpus
    from nndl.models import SequenceClassifier
    from nndl.network import Network
    from nndl.optim import Adam
    from nndl.sampling import sample
    from nndl.spec import parse_spec
    from nndl.trainer import Trainer

    path = Path(os.environ.get("NNDL_DATA") or data_root()) / "tinyshakespeare" / "input.txt"
    steps, units, seconds = (32, 64, 8.0) if quick else (64, 256, 170.0)
    corpus = CharCorpus(path, steps)
    size = len(corpus.vocabulary)
    spec = f"embedding(32, vocabulary={size}) lstm({units}, stateful=true) dense({size}) softmax"
    net = Network(parse_spec(spec, (steps,)), (steps,),
                  cost="log_likelihood", seed=seed)
    net.class_names = list(corpus.vocabulary.chars)
    model = SequenceClassifier(net, Adam(4e-3, clip_norm=5.0))
    from nndl.cli.text_train import ResetStates, TimeLimit, validation_data
    from nndl.curriculum import FixedOrder

    validation, model.eval_streams = validation_data(corpus)
    if quick:
        validation = (validation[0][:32 * 20], validation[1][:32 * 20])
    trainer = Trainer(32, [ResetStates(), TimeLimit(seconds, len(validation[0]))], seed=seed, threads=1,
                      verbose=False, order=FixedOrder())
    began = time.perf_counter()
    train = corpus.training(32)
    if quick:
        train = (train[0][:32 * 60], train[1][:32 * 60])
    history = trainer.fit(model, train, 50, validation_data=validation)
    trained_seconds = time.perf_counter() - began
    costs = [r["validation_cost"] for r in history.records]
    samples = {tau: sample(net, corpus.vocabulary, 300, tau, "ROMEO:", seed) for tau in (0.5, 0.8, 1.0)}
    for tau, text in samples.items():
        (out_dir / f"sample_tau{tau}.txt").write_text(text + "\n", encoding="utf-8")
    figures = ["validation_cost.png"]
    with plotting.figure(out_dir / figures[0], size=(6.5, 4)) as (fig, ax):
        ax.plot(numpy.arange(1, len(costs) + 1), costs, marker="o")
        plotting.finish(ax, "epoch", "validation cross-entropy (nats per character)",
                        f"embedding(32) lstm({units}) on tiny Shakespeare, {trained_seconds:.0f} s")
    words = {tau: text.split() for tau, text in samples.items()}
    vocabulary = set(corpus.vocabulary.decode(corpus.train_ids).split())
    known = {tau: sum(w in vocabulary for w in ws) / max(1, len(ws)) for tau, ws in words.items()}
    rows = [row("validation cross-entropy per character (last 10%)", "PyTorch here: 1.65 after 3 minutes",
                round(min(costs), 4), "nats")]
    rows += [row(f"τ = {tau}: share of sampled words that occur in the training text", None,
                 round(100 * share, 1), "%") for tau, share in known.items()]
    return {"settings": {"net": spec,
                         "seq_length": steps, "batch": 32, "optimizer": "Adam 4e-3", "clip_norm": 5.0,
                         "seconds": seconds, "quick_characters": 32 * 60 * steps if quick else None},
            "nndl": {"validation_cost": rounded(costs, 4), "samples": {str(t): v for t, v in samples.items()},
                     "known_word_share": {str(t): round(v, 4) for t, v in known.items()},
                     "trained_seconds": round(trained_seconds, 1)},
            "rows": rows, "figures": figures,
            "notes": ["The samples are in sample_tau*.txt beside the figure, each primed with 'ROMEO:'."]}


# -- attention ------------------------------------------------------------------------------------
def draw_attention(net, x, y, path, title: str) -> None:
    """A heat map of α (decoder steps × source positions) of greedy decoding on one source string
    x (S,) (−1 padded) with target y."""
    from nndl.models.seq2seq import sequence_accuracy

    tokens, weights = net.greedy(x[None, :])
    length = int((x >= 0).sum())
    out = [int(t) for t in tokens[0] if t >= 0]
    alpha = numpy.asarray(weights[0, :len(out), :length])
    with plotting.figure(path, size=(0.32 * length + 1.6, 0.32 * len(out) + 1.2)) as (fig, ax):
        ax.imshow(alpha, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(length), [str(int(d)) for d in x[:length]])
        ax.set_yticks(range(len(out)), [str(t) if t < 10 else "EOS" for t in out])
        right = "right" if sequence_accuracy(tokens, y[None, :]) == 1.0 else "wrong"
        ax.set_xlabel("source digit")
        ax.set_ylabel("decoded token (greedy)")
        ax.set_title(f"{title}\ngreedy decoding: {right}", fontsize=8)
        ax.grid(False)


def accuracy_by_length(model, x, y) -> dict:
    """Whole-sequence accuracy of greedy decoding for each source length."""
    from nndl.models.seq2seq import sequence_accuracy

    lengths = (x >= 0).sum(axis=1)
    predicted = model.predict(x)
    return {int(n): round(sequence_accuracy(predicted[lengths == n], y[lengths == n]), 4) for n in numpy.unique(lengths)}


def train_attention(model, task: str, lengths: tuple, seconds: float, batch: int = 64, chunk: int = 6400,
                    test: int = 1000, target: float = 0.999, seed: int = 0, threads: int = 1, on_chunk=None,
                    cosine: bool = False) -> dict:
    """Train a :class:`~nndl.models.seq2seq.Seq2Seq` on fresh digit strings, one epoch per ``chunk``, for
    ``seconds`` of wall time or until greedy decoding gets ``target`` of ``test`` held-out strings right;
    after each chunk ``on_chunk(record)``.  Returns the last record, with the held-out set.

    ``cosine``: before each chunk η = η₀ · ½(1 + cos(π s/S)), s the seconds spent of the S budgeted
    (a cosine decay over the wall-time budget instead of over a count of steps)."""
    import math
    import time

    from nndl.data.toy_sequences import digit_strings
    from nndl.trainer import Trainer

    x_test, y_test = digit_strings(test, lengths[0], lengths[1], task, seed=1_000_000 + seed)
    trainer = Trainer(batch_size=batch, seed=seed, threads=threads, verbose=False)
    start, seen, part, record = time.perf_counter(), 0, 0, {}
    eta0 = model.optimizer.eta
    while time.perf_counter() - start < seconds:
        if cosine:
            model.optimizer.eta = eta0 * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.perf_counter() - start) / seconds)))
        x, y = digit_strings(chunk, lengths[0], lengths[1], task, seed=seed * 100_000 + part)
        part += 1
        history = trainer.fit(model, (x, y), epochs=part)
        seen += len(x)
        logs = model.evaluate(x_test, y_test)
        record = {"chunk": part, "strings_seen": seen, "seconds": round(time.perf_counter() - start, 1),
                  "training_cost": round(history.records[-1]["training_cost"], 5), "test_cost": round(logs["cost"], 5),
                  "test_token_accuracy": round(logs["accuracy"], 5),
                  "test_sequence_accuracy": round(logs["sequence_accuracy"], 5), "eta": model.optimizer.eta}
        if on_chunk is not None:
            on_chunk(record)
        if logs["sequence_accuracy"] >= target:
            break
    return dict(record, x_test=x_test, y_test=y_test)


@experiment("attention-reverse", 7, "An encoder–decoder with attention reverses digit strings; its attention "
            "weights", "https://arxiv.org/abs/1508.04025",
            book={"claim": "attention lets the decoder look at the source position it needs: reversing a string "
                           "gives an anti-diagonal alignment (Luong et al. 2015; Bahdanau et al. 2015)",
                  "target": "≥ 99% whole-sequence accuracy on lengths 10–20 (the issue)"},
            summary="Trained by teacher forcing and decoded greedily, the attention weights of each output "
                    "step fall on the mirrored source position.",
            full_minutes=8.0)
def attention_reverse(out_dir, quick, seed):
    from nndl.data.toy_sequences import VOCABULARY
    from nndl.models.seq2seq import EncoderDecoder, Seq2Seq
    from nndl.optim import Adam

    lengths, units, seconds = ((4, 6), 32, 15.0) if quick else ((10, 20), 128, 420.0)
    chunk = 2000 if quick else 6400
    net = EncoderDecoder(VOCABULARY, embedding=32 if not quick else 16, units=units, cell="lstm", score="dot",
                         seed=seed)
    model = Seq2Seq(net, Adam(3e-3, clip_norm=1.0))
    curve_ = []
    last = train_attention(model, "reverse", lengths, seconds, chunk=chunk, test=300 if quick else 1000, seed=seed,
                           on_chunk=curve_.append)
    x_test, y_test = last.pop("x_test"), last.pop("y_test")
    by_length = accuracy_by_length(model, x_test, y_test)
    i = int(numpy.argmax((x_test >= 0).sum(axis=1) == sum(lengths) // 2))
    figures = ["attention_weights.png", "sequence_accuracy.png"]
    draw_attention(net, x_test[i], y_test[i], out_dir / figures[0],
                   f"reverse, dot attention, after {last['strings_seen']:,} strings")
    with plotting.figure(out_dir / figures[1], size=(6.5, 4)) as (fig, ax):
        ax.plot([r["strings_seen"] for r in curve_], [100 * r["test_sequence_accuracy"] for r in curve_], marker=".")
        ax.axhline(99, color=plotting.BOOK_COLOR, linestyle=":", label="99%")
        plotting.finish(ax, "training strings seen", "held-out strings decoded right (%)",
                        f"reversal, lengths {lengths[0]}–{lengths[1]}", legend="lower right")
    best = max(r["test_sequence_accuracy"] for r in curve_)
    rows = [row(f"whole-sequence accuracy, lengths {lengths[0]}–{lengths[1]} (greedy), at the end", "≥ 99%",
                round(100 * last["test_sequence_accuracy"], 2), "%"),
            row("best during training", None, round(100 * best, 2), "%"),
            row("training strings seen", None, last["strings_seen"])]
    return {"settings": {"task": "reverse", "lengths": list(lengths), **net.config(), "optimizer": "Adam 3e-3",
                         "clip_norm": 1.0, "batch": 64, "chunk": chunk, "seconds": seconds},
            "nndl": {"curve": curve_, "by_length": by_length, "final": last}, "rows": rows, "figures": figures,
            "notes": ["Fresh strings every chunk: the model never sees a held-out string in training."]}
