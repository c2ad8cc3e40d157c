"""Karpathy's min-char-rnn (2015), reproduced: a character-level vanilla RNN in plain NumPy.

One sequence at a time (no mini-batch), one-hot characters x_t (V), H = 100 hidden
units, 25 steps of backprop through time, Adagrad with η = 0.1, gradients clipped to
[−5, 5].  Forward, for t = 1 .. 25:

    h_t = tanh(W_xh x_t + W_hh h_{t−1} + b_h)
    y_t = W_hy h_t + b_y,       p_t = softmax(y_t),       L = −Σ_t ln p_t[target_t]

Backward, t = 25 .. 1, with dh_next from step t+1 (0 after the last step):

    dy_t = p_t − e_{target_t}
    dW_hy += dy_t h_tᵀ,   db_y += dy_t
    dh = W_hyᵀ dy_t + dh_next,   dh_raw = (1 − h_t²) ⊙ dh
    db_h += dh_raw,   dW_xh += dh_raw x_tᵀ,   dW_hh += dh_raw h_{t−1}ᵀ,   dh_next = W_hhᵀ dh_raw

Adagrad: m ← m + g²,  θ ← θ − η g / √(m + 10⁻⁸).  The last hidden state of one piece of
the text is the first of the next (truncated BPTT); the text wraps around.

One change from the original: W_hy starts at zero instead of 0.01·N(0, 1), so the
first prediction is uniform over the V characters and the first loss is 25·ln V
exactly — the value the original starts its smoothed loss at.  (W_xh and W_hh start
at 0.01·N(0, 1), so W_hy learns from the first step and the others from the second.)
nndl's own layers compute the same thing batched: :class:`nndl.layers.SimpleRNN` and a
per-step dense softmax (the tests check that the gradients agree).
"""
from __future__ import annotations

import numpy as np


class MinCharRNN:
    """The parameters and the loss/gradient function of min-char-rnn."""

    def __init__(self, vocab_size: int, hidden_size: int = 100, seed: int = 0):
        rng = np.random.default_rng(seed)
        v, h = vocab_size, hidden_size
        self.Wxh = rng.standard_normal((h, v)) * 0.01
        self.Whh = rng.standard_normal((h, h)) * 0.01
        self.Why = np.zeros((v, h))
        self.bh = np.zeros((h, 1))
        self.by = np.zeros((v, 1))
        self.names = ("Wxh", "Whh", "Why", "bh", "by")
        self.memory = {name: np.zeros_like(getattr(self, name)) for name in self.names}

    def loss(self, inputs, targets, hprev):
        """(L, gradients by name, last hidden state) for character ids ``inputs`` → ``targets``."""
        xs, hs, ps = {}, {-1: np.copy(hprev)}, {}
        loss = 0.0
        for t, ix in enumerate(inputs):
            xs[t] = np.zeros((self.Wxh.shape[1], 1))
            xs[t][ix] = 1
            hs[t] = np.tanh(self.Wxh @ xs[t] + self.Whh @ hs[t - 1] + self.bh)
            y = self.Why @ hs[t] + self.by
            e = np.exp(y - y.max())
            ps[t] = e / e.sum()
            loss += -np.log(ps[t][targets[t], 0])
        grads = {name: np.zeros_like(getattr(self, name)) for name in self.names}
        dh_next = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            grads["Why"] += dy @ hs[t].T
            grads["by"] += dy
            dh = self.Why.T @ dy + dh_next
            dh_raw = (1 - hs[t] * hs[t]) * dh
            grads["bh"] += dh_raw
            grads["Wxh"] += dh_raw @ xs[t].T
            grads["Whh"] += dh_raw @ hs[t - 1].T
            dh_next = self.Whh.T @ dh_raw
        for g in grads.values():
            np.clip(g, -5, 5, out=g)                          # against exploding gradients
        return loss, grads, hs[len(inputs) - 1]

    def adagrad(self, grads, eta: float = 0.1) -> None:
        for name in self.names:
            param, g, mem = getattr(self, name), grads[name], self.memory[name]
            mem += g * g
            param -= eta * g / np.sqrt(mem + 1e-8)

    def sample(self, h, seed_ix: int, n: int, rng) -> list[int]:
        """``n`` character ids drawn one after another, starting from ``seed_ix`` and state ``h``."""
        x = np.zeros((self.Wxh.shape[1], 1))
        x[seed_ix] = 1
        out = []
        for _ in range(n):
            h = np.tanh(self.Wxh @ x + self.Whh @ h + self.bh)
            y = self.Why @ h + self.by
            p = np.exp(y - y.max())
            p = (p / p.sum()).ravel()
            ix = int(rng.choice(len(p), p=p))
            x = np.zeros_like(x)
            x[ix] = 1
            out.append(ix)
        return out


def train(text: str, iterations: int, hidden_size: int = 100, seq_length: int = 25, eta: float = 0.1,
          seed: int = 0):
    """Train on ``text`` for ``iterations`` pieces of ``seq_length`` characters; returns
    (model, the loss of every piece, the vocabulary)."""
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    model = MinCharRNN(len(chars), hidden_size, seed)
    h, p, losses = np.zeros((hidden_size, 1)), 0, []
    for _ in range(iterations):
        if p + seq_length + 1 >= len(text):
            h, p = np.zeros((hidden_size, 1)), 0                 # back to the start of the text
        inputs = [index[c] for c in text[p:p + seq_length]]
        targets = [index[c] for c in text[p + 1:p + seq_length + 1]]
        loss, grads, h = model.loss(inputs, targets, h)
        model.adagrad(grads, eta)
        losses.append(loss)
        p += seq_length
    return model, losses, chars
