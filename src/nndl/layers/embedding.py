"""The embedding layer: token ids → learned vectors, a table lookup.

A table ``E`` of shape (V, D) holds one row per token of a vocabulary of V.  For ids
``x`` of shape (N, T) (integers in 0..V−1) the output is

    a[n, t, :] = E[x[n, t], :]                  shape (N, T, D),

the same as multiplying the one-hot row of each id by E, without making the one-hot
rows.  Backward, given ∂C/∂a, the gradient of a row is the sum over every position
that looked it up (a scatter-add):

    ∂C/∂E[v, :] = Σ_{n,t : x[n,t] = v} ∂C/∂a[n, t, :].

Ids are not differentiable: nothing is handed down (an embedding is a first layer).

Two ways to compute the scatter-add: :func:`scatter_add_reference` is ``np.add.at``,
the plain statement of the sum; :func:`scatter_add` is the fast path, one
``np.bincount`` over flat indices v·D + j with the gradients as weights (the same
sums, several times faster, tested equal).
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer


def scatter_add_reference(ids, grad, vocabulary: int):
    """G[v] = Σ_{i : ids[i] = v} grad[i] with ``np.add.at``; ids (M,), grad (M, D) → G (V, D)."""
    out = xp.zeros((vocabulary, grad.shape[1]), dtype=grad.dtype)
    xp.add.at(out, ids, grad)
    return out


def scatter_add(ids, grad, vocabulary: int):
    """The same sums as :func:`scatter_add_reference`, as one bincount over flat (v, j) indices."""
    width = grad.shape[1]
    flat = (ids.astype(xp.intp)[:, None] * width + xp.arange(width)).ravel()
    sums = xp.bincount(flat, weights=grad.ravel(), minlength=vocabulary * width)
    return sums.reshape(vocabulary, width).astype(grad.dtype, copy=False)


@register_layer
class Embedding(Layer):
    """Ids (N, T) → vectors (N, T, D): row ``x[n, t]`` of a learned table E (V, D).

    Parameters
    ----------
    width : int
        D, the length of each vector.
    vocabulary : int
        V, the number of tokens (ids 0..V−1).  A text corpus sets it from its characters
        (``embedding(64)`` on the command line); elsewhere give it: ``embedding(64, vocabulary=65)``.
    scale : float
        The table starts as N(0, scale²) (default 1, as PyTorch's ``nn.Embedding``).
    """

    type = "embedding"
    spec_names = ("embedding", "embed")
    spec_aliases = {"vocab": "vocabulary"}
    input_kind = "int"
    splits_over_batch = True
    sequence_output = True

    def __init__(self, width: int, vocabulary: int | None = None, scale: float = 1.0):
        super().__init__()
        self.width = validation.whole("embedding width", width, low=1)
        self.vocabulary = None if vocabulary is None else validation.whole("embedding vocabulary", vocabulary, low=1)
        self.scale = validation.number("embedding scale", scale, 0.0, low_open=True)
        self.E = None

    def spec_args(self):
        options = {"vocabulary": self.vocabulary}
        if self.scale != 1.0:
            options["scale"] = self.scale
        return [self.width], options

    def build(self, input_shape, rng, dtype=FLOAT):
        if self.vocabulary is None:
            raise NndlError(f"embedding({self.width}) needs the vocabulary size: embedding({self.width}, "
                            f"vocabulary=V), or train on a text corpus, which sets it")
        if len(input_shape) != 1:
            raise NndlError(f"embedding needs sequences of ids, input of shape (T,), got {tuple(input_shape)}")
        self.input_shape, self.output_shape, self.dtype = tuple(input_shape), (int(input_shape[0]), self.width), dtype
        self.E = self.add_param("E", (self.vocabulary, self.width),
                                lambda s: (self.scale * rng.standard_normal(s)).astype(dtype), regularize=True)
        return self.output_shape

    @property
    def params(self):
        return [self.E]

    def check_ids(self, x) -> None:
        """A one-line NndlError for ids that are not integers in 0..V−1."""
        if x.dtype.kind not in "iu":
            raise NndlError(f"embedding: token ids must be integers, got {x.dtype}")
        if x.size and (int(x.min()) < 0 or int(x.max()) >= self.vocabulary):
            bad = int(x.min()) if int(x.min()) < 0 else int(x.max())
            raise NndlError(f"embedding: token id {bad} is outside the vocabulary of {self.vocabulary} (0..{self.vocabulary - 1})")

    def forward(self, x, training=False):
        """a[n, t] = E[x[n, t]]."""
        self.check_ids(x)
        self.save(ids=x)
        return self.E.value.take(x, axis=0)

    def backward(self, grad):
        """∂C/∂E[v] = Σ over the positions holding v of ∂C/∂a; no gradient for the ids."""
        ids = self.saved()["ids"]
        self.E.add_grad(scatter_add(ids.reshape(-1), grad.reshape(-1, self.width), self.vocabulary))
        return None

    def config(self):
        cfg = {"type": self.type, "width": self.width, "vocabulary": self.vocabulary}
        if self.scale != 1.0:
            cfg["scale"] = self.scale
        return cfg
