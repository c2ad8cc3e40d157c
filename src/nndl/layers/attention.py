"""Attention: a weighted average of encoder states, the weights chosen by each query.

An encoder reads a source sequence into states k_1 .. k_S (the keys, (N, S, K)), and
their values v_1 .. v_S ((N, S, V); usually the same states).  A decoder at step i has a
query q_i ((N, T, Q) for all T decoder steps at once).  Each query scores every source
position, a softmax over the source turns the scores into weights, and the context is
the weighted average of the values:

    e_ij = score(q_i, k_j)                               (N, T, S)
    α_ij = exp(e_ij) / Σ_j' exp(e_ij')                   softmax over source positions j
    c_i  = Σ_j α_ij v_j                                  (N, T, V)

Two scores (``score=``):

* ``"dot"`` (Luong et al., 2015):  e_ij = s · q_i · k_j, with s = 1/√K when ``scaled``
  (Vaswani et al., 2017) and 1 otherwise; Q must equal K; no parameters.
* ``"additive"`` (Bahdanau et al., 2015):  e_ij = wᵀ tanh(q_i W_q + k_j W_k), with
  W_q (Q, A), W_k (K, A), w (A,) learned; A = ``units``.

**Masks.**  ``mask`` (N, S) holds 1 at a real source position and 0 at padding; padded
positions get weight α_ij = 0 (their exp is replaced by 0 before the sum; every row
needs at least one real position).

**Backward**, given ∂C/∂c_i (written dc_i):

    ∂C/∂α_ij = dc_i · v_j
    ∂C/∂v_j  = Σ_i α_ij dc_i
    ∂C/∂e_ij = α_ij (∂C/∂α_ij − Σ_j' α_ij' ∂C/∂α_ij')         (the softmax's Jacobian; 0 where masked)

then through the score — dot:

    ∂C/∂q_i = s Σ_j ∂C/∂e_ij k_j,        ∂C/∂k_j = s Σ_i ∂C/∂e_ij q_i

additive, with u_ij = tanh(q_i W_q + k_j W_k) and δ_ij = ∂C/∂e_ij w ⊙ (1 − u_ij²):

    ∂C/∂w   = Σ_ij ∂C/∂e_ij u_ij
    ∂C/∂W_q = Σ_i q_iᵀ (Σ_j δ_ij),       ∂C/∂q_i = (Σ_j δ_ij) W_qᵀ
    ∂C/∂W_k = Σ_j k_jᵀ (Σ_i δ_ij),       ∂C/∂k_j = (Σ_i δ_ij) W_kᵀ

(∂C/∂k_j and ∂C/∂v_j are returned apart; when keys and values are the same states,
their gradients add.)  The additive score keeps u, (N, T, S, A), for its backward pass.
After every forward pass :attr:`Attention.weights` holds α (N, T, S) for drawing.
"""
from __future__ import annotations

import math

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.initializers import get_initializer
from nndl.layers.base import Layer


def masked_softmax(e, mask=None):
    """α = softmax of e (N, T, S) over the last axis, with α = 0 where ``mask`` (N, S) is 0."""
    z = e - e.max(axis=-1, keepdims=True) if mask is None else \
        e - xp.where(mask[:, None, :] > 0, e, -xp.inf).max(axis=-1, keepdims=True)
    a = xp.exp(z)
    if mask is not None:
        a *= mask[:, None, :]
    a /= a.sum(axis=-1, keepdims=True)
    return a


class Attention(Layer):
    """Context vectors of queries (N, T, Q) over keys (N, S, K) and values (N, S, V) (see the module docstring).

    Parameters
    ----------
    score : str
        ``"dot"`` or ``"additive"``.
    scaled : bool
        Dot score only: divide by √K.
    units : int
        Additive score only: A, the width of the tanh layer.
    """

    type = "attention"
    splits_over_batch = True

    def __init__(self, score: str = "dot", scaled: bool = False, units: int = 32, init="glorot_uniform"):
        super().__init__()
        self.score = validation.choice("attention score", score, ("dot", "additive"))
        self.scaled = validation.boolean("attention scaled", scaled)
        self.units = validation.whole("attention units", units, low=1)
        self.init = get_initializer(init)
        self.Wq = self.Wk = self.w = None
        self.weights = None

    def build(self, query_size: int, key_size: int, rng, dtype=FLOAT):
        """Allocate W_q, W_k, w for the additive score (nothing for the dot score)."""
        self.query_size, self.key_size, self.dtype = int(query_size), int(key_size), dtype
        self.input_shape = (self.query_size, self.key_size)
        self.output_shape = (self.key_size,)
        if self.score == "dot":
            if self.query_size != self.key_size:
                raise NndlError(f"dot-product attention needs queries as wide as keys, got {query_size} and "
                                f"{key_size}; use score='additive'")
        else:
            a = self.units
            self.Wq = self.add_param("Wq", (self.query_size, a),
                                     lambda s: self.init.weights(s, s[0], s[1], rng, dtype), regularize=True)
            self.Wk = self.add_param("Wk", (self.key_size, a),
                                     lambda s: self.init.weights(s, s[0], s[1], rng, dtype), regularize=True)
            self.w = self.add_param("w", (a,), lambda s: self.init.weights((a, 1), a, 1, rng, dtype)[:, 0].copy(),
                                    regularize=True)
        return self.output_shape

    @property
    def params(self):
        return [] if self.score == "dot" else [self.Wq, self.Wk, self.w]

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.key_size) if self.scaled else 1.0

    def forward(self, q, k, v=None, mask=None, training=False):
        """Contexts c (N, T, V) for queries q (N, T, Q), keys k (N, S, K), values v (default k), mask (N, S)."""
        v = k if v is None else v
        if q.ndim != 3 or k.ndim != 3 or v.ndim != 3 or len({q.shape[0], k.shape[0], v.shape[0]}) != 1 \
                or k.shape[1] != v.shape[1]:
            raise NndlError(f"attention: queries (N, T, Q), keys (N, S, K) and values (N, S, V) must agree, got "
                            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
        if mask is not None:
            mask = xp.asarray(mask, dtype=q.dtype)
            if tuple(mask.shape) != tuple(k.shape[:2]):
                raise NndlError(f"attention: the mask must have shape {tuple(k.shape[:2])}, got {tuple(mask.shape)}")
            if bool((mask.sum(axis=1) == 0).any()):
                raise NndlError("attention: every sequence needs at least one real (unmasked) source position")
        u = None
        if self.score == "dot":
            e = (q @ k.transpose(0, 2, 1)) * self.scale
        else:
            u = xp.tanh((q @ self.Wq.value)[:, :, None, :] + (k @ self.Wk.value)[:, None, :, :])   # (N, T, S, A)
            e = u @ self.w.value
        alpha = masked_softmax(e, mask)
        self.weights = alpha
        self.save(q=q, k=k, v=v, alpha=alpha, u=u)
        return alpha @ v

    def backward(self, grad):
        """Adds ∂C/∂θ (additive score); returns (∂C/∂q, ∂C/∂k, ∂C/∂v)."""
        kept = self.saved()
        q, k, v, alpha, u = kept["q"], kept["k"], kept["v"], kept["alpha"], kept["u"]
        dv = alpha.transpose(0, 2, 1) @ grad                          # Σ_i α_ij dc_i
        d_alpha = grad @ v.transpose(0, 2, 1)                         # dc_i · v_j
        de = alpha * (d_alpha - (alpha * d_alpha).sum(axis=-1, keepdims=True))
        if self.score == "dot":
            s = self.scale
            dq = (de @ k) * s
            dk = (de.transpose(0, 2, 1) @ q) * s
            return dq, dk, dv
        self.w.add_grad(xp.einsum("nts,ntsa->a", de, u))
        delta = de[..., None] * self.w.value * (1.0 - u * u)         # (N, T, S, A)
        dq_a, dk_a = delta.sum(axis=2), delta.sum(axis=1)             # (N, T, A), (N, S, A)
        self.Wq.add_grad(q.reshape(-1, q.shape[-1]).T @ dq_a.reshape(-1, dq_a.shape[-1]))
        self.Wk.add_grad(k.reshape(-1, k.shape[-1]).T @ dk_a.reshape(-1, dk_a.shape[-1]))
        return dq_a @ self.Wq.value.T, dk_a @ self.Wk.value.T, dv

    def config(self) -> dict:
        return {"type": self.type, "score": self.score, "scaled": self.scaled, "units": self.units,
                "init": self.init.name}

    def forward_flops(self, batch_size):
        return 0.0
