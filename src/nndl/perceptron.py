"""Perceptrons, chapter 1: the step-function neurons the book starts from (computed, not trained).

A perceptron takes binary inputs x₁, x₂, ..., weighs them with real weights w₁, w₂, ...
and adds a bias b (minus the threshold).  In the book's words and equation::

    output = 0  if w·x + b ≤ 0
             1  if w·x + b > 0

With weights −2, −2 and bias 3 a perceptron is a NAND gate: input 00 gives
(−2)·0 + (−2)·0 + 3 = 3 > 0, so output 1; 01 and 10 also give 1; only 11 gives
−2 − 2 + 3 = −1 ≤ 0, output 0.  NAND is universal, so networks of such perceptrons
can compute any logical function — the book's example adds two bits, x₁ ⊕ x₂ (the
bitwise sum) and x₁x₂ (the carry bit), with five NAND perceptrons
(:func:`half_adder`, :func:`two_bit_adder`).

The perceptron of the course notes outputs ±1 instead, y = sign(w·x + b) (+1 if w·x + b > 0,
else −1), and *learns* (Rosenblatt, 1958): going through labelled examples (x, t), t = ±1, and
for each one it gets wrong (t(w·x + b) ≤ 0)

    w ← w + η t x,    b ← b + η t.

If some w, b separate the two classes with a margin, the rule stops making mistakes after
finitely many updates (Novikoff, 1962: at most (R/γ)² with R = max ‖x‖ and γ the margin);
if none does — XOR: (0,0), (1,1) one class, (0,1), (1,0) the other — it never stops,
which is why a hidden layer is needed (:class:`SignPerceptron`, :func:`learn`).

The step function is :func:`nndl.activations.step`.  It has no useful derivative, which
is why the book moves on to sigmoid neurons: a small change in a weight can flip a
perceptron's output completely, so learning by small changes does not work.
"""
from __future__ import annotations

import numpy

from nndl.activations import step
from nndl.errors import NndlError

__all__ = ["Perceptron", "PerceptronNetwork", "SignPerceptron", "learn", "nand_perceptron", "half_adder",
           "two_bit_adder"]


def _as_batch(x, n: int, what: str):
    """``x`` as a float64 batch (N, n); returns (batch, whether x was a single input)."""
    try:
        x = numpy.asarray(x, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise NndlError(f"{what} must be numbers") from None
    single = x.ndim == 1
    if single:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[1] != n:
        raise NndlError(f"{what} must have {n} entries per input (shape ({n},) or (N, {n})), got shape {x.shape}")
    return x, single


class Perceptron:
    """A perceptron with ``weights`` w and ``bias`` b: output = 1 if w·x + b > 0, else 0.

    Call it on one input ``x`` of shape (n,) to get 0 or 1 (an ``int``), or on a batch
    of shape (N, n) to get the N outputs at once (an int64 array).
    """

    def __init__(self, weights, bias):
        try:
            self.weights = numpy.asarray(weights, dtype=numpy.float64).reshape(-1)
            self.bias = float(bias)
        except (TypeError, ValueError):
            raise NndlError("a perceptron needs a vector of numeric weights and a numeric bias") from None
        if self.weights.size == 0:
            raise NndlError("a perceptron needs at least one weight (one input)")

    @property
    def n_inputs(self) -> int:
        return self.weights.size

    def z(self, x):
        """The weighted input w·x + b, for one input (n,) or a batch (N, n)."""
        batch, single = _as_batch(x, self.n_inputs, "perceptron input")
        z = batch @ self.weights + self.bias
        return float(z[0]) if single else z

    def __call__(self, x):
        """The output step(w·x + b): 0 if w·x + b ≤ 0, 1 if w·x + b > 0."""
        batch, single = _as_batch(x, self.n_inputs, "perceptron input")
        out = step(batch @ self.weights + self.bias).astype(numpy.int64)
        return int(out[0]) if single else out

    def is_nand(self) -> bool:
        """True for the book's NAND perceptron: weights (−2, −2), bias 3."""
        return self.n_inputs == 2 and bool((self.weights == -2.0).all()) and self.bias == 3.0

    def __repr__(self) -> str:
        return f"Perceptron(weights={self.weights.tolist()}, bias={self.bias:g})"


class SignPerceptron(Perceptron):
    """A perceptron with ±1 outputs: y = +1 if w·x + b > 0, else −1.  Learns with :func:`learn`."""

    def __call__(self, x):
        batch, single = _as_batch(x, self.n_inputs, "perceptron input")
        out = numpy.where(batch @ self.weights + self.bias > 0, 1, -1).astype(numpy.int64)
        return int(out[0]) if single else out

    def __repr__(self) -> str:
        return f"SignPerceptron(weights={self.weights.tolist()}, bias={self.bias:g})"


def learn(x, t, epochs: int = 100, eta: float = 1.0, seed: int = 0):
    """The perceptron learning rule on examples ``x`` (N, n) with labels ``t`` = ±1 (N,).

    Each epoch visits the examples in an order drawn from the seeded generator and applies
    w ← w + η t x, b ← b + η t to every one misclassified (t(w·x + b) ≤ 0) — online, one example
    at a time, as the rule is stated (each update changes the next example's verdict).
    Starts from w = 0, b = 0; stops after an epoch without mistakes or after ``epochs``.

    Returns ``(perceptron, mistakes)``: the :class:`SignPerceptron` and the number of mistakes
    in each epoch (its last entry is 0 exactly when the rule converged).
    """
    if numpy.ndim(x) != 2 or len(x) == 0:
        raise NndlError(f"perceptron training inputs must be a non-empty (N, n) array, got shape {numpy.shape(x)}")
    x, _ = _as_batch(x, numpy.shape(x)[1], "perceptron training inputs")
    t = numpy.asarray(t)
    if t.shape != (len(x),) or not numpy.isin(t, (-1, 1)).all():
        raise NndlError(f"perceptron labels must be {len(x)} values of ±1, got shape {t.shape} "
                        f"with values {sorted(set(numpy.unique(t).tolist()))[:5]}")
    eta = float(eta)
    if not eta > 0:
        raise NndlError(f"the perceptron's learning rate η must be positive, got {eta}")
    rng = numpy.random.default_rng(seed)
    w, b = numpy.zeros(x.shape[1]), 0.0
    mistakes = []
    for _ in range(int(epochs)):
        wrong = 0
        for i in rng.permutation(len(x)):
            if t[i] * (x[i] @ w + b) <= 0:
                w += eta * t[i] * x[i]
                b += eta * t[i]
                wrong += 1
        mistakes.append(wrong)
        if wrong == 0:
            break
    return SignPerceptron(w, b), mistakes


def nand_perceptron() -> Perceptron:
    """The book's NAND gate: weights −2, −2 and bias 3 (output 0 only for input 11)."""
    return Perceptron([-2.0, -2.0], 3.0)


class PerceptronNetwork:
    """A circuit of perceptrons wired in a fixed order (a directed acyclic graph).

    Parameters
    ----------
    n_inputs : int
        The network's inputs are numbered 0 .. n_inputs − 1.
    gates : list of (Perceptron, tuple of int)
        Each perceptron with the sources of its inputs; perceptron k's output is
        numbered n_inputs + k and may feed any later perceptron (also twice, as the
        carry perceptron of the adder is fed by the first NAND twice).
    outputs : tuple of int
        Which numbers are the network's outputs.

    Calling the network on one input (n_inputs,) gives a tuple of ints, on a batch
    (N, n_inputs) a tuple of int64 arrays of length N.
    """

    def __init__(self, n_inputs: int, gates, outputs):
        self.n_inputs = int(n_inputs)
        if self.n_inputs < 1:
            raise NndlError(f"a perceptron network needs at least one input, got {n_inputs}")
        self.gates = []
        for k, (perceptron, sources) in enumerate(gates):
            sources = tuple(int(s) for s in sources)
            available = self.n_inputs + k
            if len(sources) != perceptron.n_inputs:
                raise NndlError(f"perceptron {k} has {perceptron.n_inputs} weights but {len(sources)} sources")
            if any(not 0 <= s < available for s in sources):
                raise NndlError(f"perceptron {k} takes input from {sources}; only 0..{available - 1} exist before it")
            self.gates.append((perceptron, sources))
        self.outputs = tuple(int(o) for o in outputs)
        if any(not 0 <= o < self.n_inputs + len(self.gates) for o in self.outputs):
            raise NndlError(f"outputs {self.outputs} name signals that do not exist")

    @property
    def perceptrons(self) -> list:
        """The perceptrons, in the order they are evaluated."""
        return [p for p, _ in self.gates]

    def signals(self, x):
        """Every signal of the circuit for a batch ``x`` (N, n_inputs): inputs, then each perceptron's output."""
        batch, _ = _as_batch(x, self.n_inputs, "network input")
        values = [batch[:, i] for i in range(self.n_inputs)]
        for perceptron, sources in self.gates:
            values.append(perceptron(numpy.stack([values[s] for s in sources], axis=1)))
        return values

    def __call__(self, x):
        single = numpy.ndim(x) == 1
        values = self.signals(x)
        outs = [values[o].astype(numpy.int64) for o in self.outputs]
        return tuple(int(o[0]) for o in outs) if single else tuple(outs)


def half_adder() -> PerceptronNetwork:
    """The book's circuit that adds two bits, built from five NAND perceptrons only.

    Wired as in the book's figure (inputs x₁ = 0, x₂ = 1; NAND perceptrons numbered 2..6)::

        2: n  = NAND(x₁, x₂)
        3: p  = NAND(x₁, n)
        4: q  = NAND(x₂, n)
        5: sum   = NAND(p, q)   = x₁ ⊕ x₂
        6: carry = NAND(n, n)   = x₁x₂

    The carry perceptron gets the first perceptron's output twice; the book notes
    the two −2 connections could be merged into one of weight −4.
    Outputs: (sum, carry).
    """
    nand = nand_perceptron
    gates = [(nand(), (0, 1)), (nand(), (0, 2)), (nand(), (1, 2)), (nand(), (3, 4)), (nand(), (2, 2))]
    return PerceptronNetwork(2, gates, outputs=(5, 6))


_HALF_ADDER = half_adder()


def two_bit_adder(x1, x2):
    """Add the bits ``x1`` and ``x2`` with the book's five-NAND circuit: returns ``(sum, carry)``.

    ``sum`` = x₁ ⊕ x₂ and ``carry`` = x₁x₂.  ``x1`` and ``x2`` are 0/1 numbers (ints
    out) or equal-length arrays of them (int64 arrays out, element by element).
    """
    x1, x2 = numpy.asarray(x1), numpy.asarray(x2)
    if x1.shape != x2.shape or x1.ndim > 1:
        raise NndlError(f"x1 and x2 must be two bits or two 1-D arrays of equal length, got shapes "
                        f"{x1.shape} and {x2.shape}")
    bits = numpy.stack([x1, x2], axis=-1)
    if not numpy.isin(bits, (0, 1)).all():
        raise NndlError("the adder adds bits: x1 and x2 must be 0 or 1")
    return _HALF_ADDER(bits)
