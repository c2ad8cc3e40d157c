"""An encoder–decoder with attention (Luong et al., 2015): a source sequence in, a target sequence out.

The encoder, an embedding and an LSTM (or GRU), reads the source ids x_1 .. x_S into
states k_1 .. k_S (padding masked: the state is held, the output is 0).  The decoder, a
second embedding and LSTM (GRU), starts from the encoder's last hidden state (its cell
starts at 0) and reads y_0 = BOS, y_1, .., y_{T−1}; at each step i its state h_i is the
query of an attention over the encoder states (:mod:`nndl.layers.attention`, dot or
additive scores, padded source positions masked), and

    c_i = Σ_j α_ij k_j                          the context
    h̃_i = tanh(W_c [c_i; h_i] + b_c)            the attentional state
    p(y_i | y_<i, x) = softmax(W_o h̃_i + b_o)   the next token

**Training** is teacher forcing: the decoder reads the true previous tokens, so all T
steps run at once, and the cost is :class:`nndl.costs.TokenCrossEntropy` over the real
targets (−1 marks padding).  Backward goes the same way back: the output layers, the
attention (∂C/∂h_i from the query, ∂C/∂k_j from keys and values), the decoder by BPTT, its
initial-state gradient into the encoder's last real output, the encoder by BPTT, and the
embeddings.  **Inference** is greedy decoding: feed BOS, take the most likely token,
feed it back, until every sequence has written EOS (or S + 1 steps).

The parts are ordinary layers inside :class:`EncoderDecoder`, which plays the network for
:class:`nndl.models.Model`, so the ordinary :class:`nndl.trainer.Trainer` trains a
:class:`Seq2Seq` through its :meth:`Seq2Seq.train_step`.
"""
from __future__ import annotations

import numpy

from nndl import validation
from nndl.backend import FLOAT, to_device, xp
from nndl.costs import TokenCrossEntropy
from nndl.data.toy_sequences import BOS, EOS, decoder_inputs
from nndl.errors import NndlError
from nndl.models.parameter_set import ParameterSet, load_parameters, save_parameters
from nndl.layers import GRU, LSTM, Dense, Embedding, no_grad
from nndl.layers.attention import Attention
from nndl.models.base import Model

CELLS = {"lstm": LSTM, "gru": GRU}


class EncoderDecoder(ParameterSet):
    """The layers of an encoder–decoder with attention, and its forward and backward passes.

    Parameters
    ----------
    vocabulary : int
        V: token ids 0..V−1 for both source and target (BOS and EOS among them).
    embedding, units : int
        E, the width of both embeddings; H, the encoder's and decoder's state.
    cell : str
        ``"lstm"`` or ``"gru"``.
    score, scaled, attention_units :
        The attention's score (``"dot"`` or ``"additive"``), see :class:`Attention`.
    bos, eos : int
        The start and end tokens.
    """

    what = "encoder-decoder"

    parallel_gain = False
    #: Mini-batches are not cut into parts (:mod:`nndl.parallel` replicates a Network, which this is not).
    splits_over_batch = False

    def __init__(self, vocabulary: int, embedding: int = 32, units: int = 64, cell: str = "lstm",
                 score: str = "dot", scaled: bool = False, attention_units: int = 32, bos: int = BOS, eos: int = EOS,
                 seed: int = 0, dtype=FLOAT):
        self.vocabulary = validation.whole("vocabulary", vocabulary, low=2)
        self.cell = validation.choice("encoder-decoder cell", cell, tuple(CELLS))
        self.bos, self.eos, self.seed, self.dtype = int(bos), int(eos), int(seed), dtype
        if not (0 <= self.bos < self.vocabulary and 0 <= self.eos < self.vocabulary):
            raise NndlError(f"BOS ({bos}) and EOS ({eos}) must be ids in the vocabulary of {vocabulary}")
        rng = numpy.random.default_rng(seed)
        e, h = validation.whole("embedding", embedding, low=1), validation.whole("units", units, low=1)
        self.source_embedding = Embedding(e, vocabulary=self.vocabulary)
        self.encoder = CELLS[self.cell](h)
        self.target_embedding = Embedding(e, vocabulary=self.vocabulary)
        self.decoder = CELLS[self.cell](h)
        self.attention = Attention(score, scaled=scaled, units=attention_units)
        self.combine = Dense(h, activation="tanh", init="glorot_uniform")
        self.output = Dense(self.vocabulary, activation="softmax", init="glorot_uniform")
        self.source_embedding.build((1,), rng, dtype)
        self.encoder.build((1, e), rng, dtype)
        self.target_embedding.build((1,), rng, dtype)
        self.decoder.build((1, e), rng, dtype)
        self.attention.build(h, h, rng, dtype)
        self.combine.build((2 * h,), rng, dtype)
        self.output.build((h,), rng, dtype)
        self.layers = [self.source_embedding, self.encoder, self.target_embedding, self.decoder, self.attention,
                       self.combine, self.output]
        for i, layer in enumerate(self.layers):
            layer.name = f"{i + 1}:{layer.type}"
        self._params = [p for layer in self.layers for p in layer.params]
        self.units = h

    # params, trainable_params, zero_grad, get_state, set_state: from ParameterSet
    def members(self) -> list:
        """``param/<layer number>/<name>``: each part's parameters under its place in :attr:`layers`."""
        return [(f"param/{i + 1}/{p.name}", p) for i, layer in enumerate(self.layers) for p in layer.params]

    def forward_flops(self, batch_size: int) -> float:
        h = self.units
        return 2.0 * batch_size * h * 4 * h

    # -- passes -------------------------------------------------------------------------------
    def encode(self, x, training=False):
        """Encoder states (N, S, H), the source mask (N, S) and the decoder's initial state, for source ids x
        (−1 at padding)."""
        mask = (x >= 0).astype(self.dtype)
        states = self.encoder.forward(self.source_embedding.forward(xp.maximum(x, 0), training), training,
                                      mask=mask)
        h_last = self.encoder.final_state[0]
        start = (h_last, xp.zeros_like(h_last)) if self.cell == "lstm" else (h_last,)
        return states, mask, start

    def decode_steps(self, inputs, states, mask, start, training=False):
        """Next-token probabilities (N, T, V) for decoder inputs (N, T) from ``start`` over ``states``."""
        hd = self.decoder.forward(self.target_embedding.forward(inputs, training), training, initial_state=start)
        context = self.attention.forward(hd, states, states, mask, training)
        n, t, h = hd.shape
        z = xp.concatenate([context, hd], axis=-1).reshape(n * t, 2 * h)
        return self.output.forward(self.combine.forward(z, training), training).reshape(n, t, -1)

    def forward(self, x, y, training=False):
        """Teacher-forced probabilities (N, T, V) of targets y (N, T) given sources x (N, S)."""
        states, mask, start = self.encode(x, training)
        return self.decode_steps(to_device(decoder_inputs(y)), states, mask, start, training)

    def backward(self, delta, x) -> None:
        """Given δ = ∂C/∂(output pre-activation) (N, T, V) of the latest :meth:`forward` on sources x:
        every parameter's gradient, back through the decoder, the attention and the encoder."""
        n, t, v = delta.shape
        h = self.units
        dz = self.combine.backward(self.output.backward_delta(delta.reshape(n * t, v))).reshape(n, t, 2 * h)
        dq, dk, dv = self.attention.backward(dz[:, :, :h])
        dhd = dz[:, :, h:] + dq
        self.target_embedding.backward(self.decoder.backward(dhd))
        d_states = dk + dv
        lengths = (x >= 0).sum(axis=1)
        d_states[xp.arange(n), lengths - 1] += self.decoder.state_grad[0]      # h_last = the last real output
        self.source_embedding.backward(self.encoder.backward(d_states))

    def backprop(self, x, y, delta_of):
        """Zero the gradients, run forward and backward; returns the outputs a (N, T, V)."""
        self.zero_grad()
        a = self.forward(x, y, training=True)
        self.backward(delta_of(a), x)
        return a

    def greedy(self, x, steps: int | None = None):
        """Greedy decoding of sources x (N, S): (tokens (N, steps) with −1 after EOS, attention weights
        (N, steps, S)); ``steps`` defaults to S + 1."""
        x = to_device(x)
        n, s = x.shape
        steps = s + 1 if steps is None else int(steps)
        tokens = xp.full((n, steps), -1, dtype=xp.int64)
        weights = xp.zeros((n, steps, s), self.dtype)
        with no_grad():
            states, mask, state = self.encode(x)
            token = xp.full((n, 1), self.bos, dtype=xp.int64)
            done = xp.zeros(n, dtype=bool)
            for i in range(steps):
                p = self.decode_steps(token, states, mask, state)
                state = self.decoder.final_state
                weights[:, i] = self.attention.weights[:, 0]
                token = p[:, 0].argmax(axis=1)[:, None]
                tokens[:, i] = xp.where(done, -1, token[:, 0])
                done |= token[:, 0] == self.eos
                if bool(done.all()):
                    break
        return tokens, weights

    def config(self) -> dict:
        return {"vocabulary": self.vocabulary, "embedding": self.source_embedding.width, "units": self.units,
                "cell": self.cell, "score": self.attention.score, "scaled": self.attention.scaled,
                "attention_units": self.attention.units, "bos": self.bos, "eos": self.eos, "seed": self.seed}


def sequence_accuracy(predicted, y) -> float:
    """The share of rows whose whole predicted sequence (through EOS, −1 after) equals the target row."""
    predicted, y = numpy.asarray(predicted), numpy.asarray(y)
    width = max(predicted.shape[1], y.shape[1])
    pad = lambda a: numpy.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=-1)    # noqa: E731
    return float((pad(predicted) == pad(y)).all(axis=1).mean())


class Seq2Seq(Model):
    """An encoder–decoder with attention, trained by teacher forcing (see the module docstring).

    ``Seq2Seq(EncoderDecoder(12, units=64), Adam(3e-3))``; data are (x, y): source ids (N, S) and
    target ids (N, T), −1 at padding, each target ending in EOS (:mod:`nndl.data.toy_sequences`).
    """

    task = "seq2seq"

    def __init__(self, network: EncoderDecoder, optimizer=None, regularizers=(), constraints=()):
        super().__init__(network, optimizer, regularizers, constraints, metrics=())
        self.token_cost = TokenCrossEntropy()

    def check_data(self, x, y, what: str):
        """Source and target ids: integers, −1 only as trailing padding, at least one real token per row."""
        v = self.network.vocabulary
        for name, a in (("sources", x), ("targets", y)):
            a = numpy.asarray(a)
            if a.ndim != 2 or a.dtype.kind not in "iu" or len(a) == 0:
                raise NndlError(f"{what}: {name} must be a non-empty (N, length) array of integer ids, got shape "
                                f"{a.shape} of {a.dtype}")
            if int(a.min()) < -1 or int(a.max()) >= v:
                bad = int(a.min()) if int(a.min()) < -1 else int(a.max())
                raise NndlError(f"{what}: {name} hold id {bad}, outside the vocabulary of {v} (−1 marks padding)")
            real = a >= 0
            if not real[:, 0].all() or bool((real[:, 1:] & ~real[:, :-1]).any()):
                row = int(numpy.argmax(~real[:, 0] | (real[:, 1:] & ~real[:, :-1]).any(axis=1)))
                raise NndlError(f"{what}: {name} row {row} is empty or has a real token after padding (−1)")
        if len(x) != len(y):
            raise NndlError(f"{what}: {len(x)} sources but {len(y)} targets")
        return numpy.asarray(x), numpy.asarray(y)

    def train_step(self, x, y) -> dict:
        x, y = to_device(x), to_device(y)
        a = self.network.backprop(x, y, lambda a: self.token_cost.delta(a, y))
        self.apply_gradients()
        return {"cost": self.token_cost.fn(a, y)}

    def evaluate(self, x, y, batch_size: int = 500) -> dict:
        """``{"cost": nats per target token (teacher forced, + R), "accuracy": tokens right under teacher
        forcing, "sequence_accuracy": whole sequences right under greedy decoding}``."""
        total = correct = count = rows = 0.0
        for i in range(0, len(x), batch_size):
            xb, yb = to_device(x[i:i + batch_size]), to_device(y[i:i + batch_size])
            with no_grad():
                a = self.network.forward(xb, yb)
            hits, m = self.token_cost.correct(a, yb)
            total += self.token_cost.fn(a, yb) * m
            correct, count = correct + hits, count + m
            rows += sequence_accuracy(self.network.greedy(xb, yb.shape[1])[0], yb) * len(xb)
        return {"cost": total / max(count, 1) + self.regularization_cost(), "accuracy": correct / max(count, 1),
                "sequence_accuracy": rows / len(x)}

    def predict(self, x, batch_size: int = 500, preprocessed: bool = False):
        """Greedy decodings (N, S + 1) of sources x, −1 after each EOS."""
        x = numpy.asarray(x)
        return numpy.concatenate([numpy.asarray(self.network.greedy(x[i:i + batch_size])[0])
                                  for i in range(0, len(x), batch_size)])


# -- saving and loading -----------------------------------------------------------------------------------------------
#: The file format of a saved encoder–decoder: an ``.npz`` like :mod:`nndl.io`'s model files (``nndl.json`` and
#: ``param/<layer>/<name>`` members, read with the same checked archive), under its own format name.
FORMAT = "nndl-seq2seq"
VERSION = 1
_MAX_WIDTH = 1 << 16


def _schema():
    from nndl.schema import Field

    width = Field(int, low=1, high=_MAX_WIDTH)
    net = {"vocabulary": Field(int, low=2, high=1 << 20), "embedding": width, "units": width,
           "cell": Field(str, choices=tuple(CELLS)), "score": Field(str, choices=("dot", "additive")),
           "scaled": Field(bool), "attention_units": width, "bos": Field(int, low=0, high=1 << 20),
           "eos": Field(int, low=0, high=1 << 20), "seed": Field(int, low=0, high=2 ** 63 - 1)}
    return {"format": Field(str, max_len=64), "version": Field(int, low=1), "network": Field(dict, fields=net),
            "metadata": Field(dict, required=False)}


def save(model_or_network, path, metadata: dict | None = None):
    """Save an encoder–decoder (weights and architecture) to ``path`` (.npz), atomically; weights that are
    not finite are refused, so a diverged run never replaces a good file."""
    return save_parameters(getattr(model_or_network, "network", model_or_network), path, FORMAT, VERSION, metadata)


def load(path, dtype=FLOAT) -> EncoderDecoder:
    """The encoder–decoder saved by :func:`save`; everything in the file is checked before it is used
    (one NndlError line naming the file otherwise).  Its ``metadata`` is attached."""
    return load_parameters(path, EncoderDecoder, FORMAT, VERSION, _schema(), dtype)
