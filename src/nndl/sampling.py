"""Text from a character model: feed a prime text, then draw one character at a time.

At each step the model's output is the softmax distribution a over the vocabulary; the
next character is drawn from it sharpened or flattened by a temperature τ > 0:

    p_k ∝ a_k^{1/τ} = exp(z_k / τ)       (z the output layer's logits, a = softmax(z)),

so τ = 1 samples the model's own distribution, τ → 0 approaches the most likely
character every time, and τ > 1 is more random.  The drawn character is fed back as the
next input, and each recurrent layer's state is carried from step to step
(:class:`nndl.layers.recurrent.stream.Stream`), so one step costs one pass through T = 1.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_numpy
from nndl.errors import NndlError
from nndl.layers.recurrent.stream import Stream

#: The most characters one call draws.
MAX_LENGTH = 1_000_000


def sample(network, vocabulary, length: int, temperature: float = 1.0, prime: str = "", seed: int = 0) -> str:
    """``prime`` followed by ``length`` characters drawn from the model (see the module docstring).

    An empty prime starts from a newline (or the vocabulary's first character if it has none).
    """
    if not (isinstance(temperature, (int, float)) and temperature > 0 and numpy.isfinite(temperature)):
        raise NndlError(f"--temperature must be a positive number (1 samples the model's own distribution), "
                        f"got {temperature}")
    if not 1 <= int(length) <= MAX_LENGTH:
        raise NndlError(f"--length must be between 1 and {MAX_LENGTH}, got {length}")
    if not prime:
        prime = "\n" if "\n" in vocabulary.index else vocabulary.chars[0]
    ids = vocabulary.encode(prime, "--prime")
    rng = numpy.random.default_rng(seed)
    stream = Stream(network)

    def step(ids):
        return to_numpy(stream(ids))

    a = step(ids[None, :])[0, -1]
    out = []
    for _ in range(int(length)):
        logp = numpy.log(numpy.maximum(a.astype(numpy.float64), 1e-300)) / temperature
        p = numpy.exp(logp - logp.max())
        p /= p.sum()
        k = int(rng.choice(len(p), p=p))
        out.append(k)
        a = step(numpy.array([[k]]))[0, -1]
    return prime + vocabulary.decode(out)
