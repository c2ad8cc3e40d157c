"""A lower bound for NumPy on the chapter 6 conv net: its training step written in the fewest NumPy calls we found.

``bench/bench_conv.py --bound`` times this beside nndl and PyTorch.  It is not a library: one network
(conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu softmax(10), log-likelihood cost,
plain SGD), every buffer allocated once, every weight stored in the order its product wants, and
each conv layer's receptive-field rows ordered by pooling offset first,

    row (p, q, n, i', j')  is the receptive field of output position (2i' + p, 2j' + q) of example n,

so that the layer's product Z (4, N·Ho/2·Wo/2, F) holds the four members of every 2 × 2 pooling
window in four contiguous blocks: max-pooling is three ``maximum`` calls on contiguous arrays,
its routing backward writes ∂C/∂Z in the same row order, and ∂C/∂Wm = ∂C/∂Zᵀ cols needs no
reordering.  The bias rides as a column of ones.  The step is:

    forward   conv1: cols₁ (one copy), Z₁ = cols₁ Wm₁ᵀ, A₁ = relu(max_k Z₁[k])
              conv2: cols₂ (one copy), Z₂ = cols₂ Wm₂ᵀ, A₂ = relu(max_k Z₂[k])
              H = relu(A₂ W₃ᵀ + b₃),  P = softmax(H W₄ᵀ + b₄)
    backward  δ₄ = (P − Y)/N;  ∂W₄ = δ₄ᵀ H;  δ₃ = δ₄ W₄ ⊙ [H > 0];  ∂W₃ = δ₃ᵀ A₂;  ∂A₂ = δ₃ W₃
              ∂Z₂ = first-max routing of ∂A₂ ⊙ [A₂ > 0];  ∂Wm₂ = ∂Z₂ᵀ cols₂
              ∂A₁ = ∂Z₂ * W₂ (products with a banded W₂, as nndl);  ∂Z₁ = routing of ∂A₁ ⊙ [A₁ > 0]
              ∂Wm₁ = ∂Z₁ᵀ cols₁;  θ ← θ − η ∂θ  (one call: all gradients live in one flat buffer)

It computes exactly nndl's gradients (``tests/test_bench_conv_bound.py`` checks them in float64),
and it leaves out what a library must do besides: checks, a shuffle and gather, callbacks,
gradient-norm sampling.  Its time is "the fewest passes we found", not a proof over every NumPy program.
"""
from __future__ import annotations

import numpy as np

from nndl.layers.conv_pool import pooled_receptive_fields

K = 5          # kernel width of both conv layers
C1, C2, HID, OUT = 20, 40, 100, 10


class LeanConvStep:
    """One SGD step of the chapter 6 net on N images, in preallocated buffers.

    Weights are taken from an nndl ``Network`` (``from_network``) and kept as
    Wm₁ (20, 26), Wm₂ (40, 501) with columns (kp, kq, c, 1), W₃ (100, 641) with columns
    (h, w, c, 1) and W₄ (10, 101): each filter or unit's weights with its bias last.
    """

    def __init__(self, n: int, eta: float, dtype=np.float32, batch: int | None = None, theta=None):
        """``n`` images per step; ``batch`` (default n) divides the cost, so the gradients of the parts of
        one mini-batch add up to the whole one's; ``theta`` shares another step's weights."""
        self.n, self.dtype, self.batch = n, np.dtype(dtype), batch or n
        d = self.dtype
        self.eta = d.type(eta)
        shapes = {"w1": (C1, K * K + 1), "w2": (C2, K * K * C1 + 1), "w3": (HID, 16 * C2 + 1), "w4": (OUT, HID + 1)}
        sizes = [int(np.prod(s)) for s in shapes.values()]
        self.grad, self.update = np.zeros(sum(sizes), d), np.zeros(sum(sizes), d)
        self.theta = np.zeros(sum(sizes), d) if theta is None else theta
        offsets = np.cumsum([0] + sizes)
        self.w = {k: self.theta[a:b].reshape(s) for (k, s), a, b in zip(shapes.items(), offsets, offsets[1:])}
        self.g = {k: self.grad[a:b].reshape(s) for (k, s), a, b in zip(shapes.items(), offsets, offsets[1:])}
        self.cols1 = np.ones((K * K + 1, 4 * n * 144), d)          # colsᵀ: rows (kp, kq), then ones
        self.cols2 = np.ones((4 * n * 16, K * K * C1 + 1), d)      # rows (p, q, n, i', j'), columns (kp, kq, c), ones
        self.z1, self.z2 = np.empty((4, n * 144, C1), d), np.empty((4, n * 16, C2), d)
        self.a1, self.a2 = np.empty((n, 12, 12, C1), d), np.ones((n, 16 * C2 + 1), d)
        self.h, self.out = np.ones((n, HID + 1), d), np.empty((n, OUT), d)
        self.dz1, self.dz2, self.hit_h = np.empty_like(self.z1), np.empty_like(self.z2), np.empty((n, HID), d)
        self.da1, self.da2, self.dh = np.empty_like(self.a1), np.empty((n, 16 * C2), d), np.empty((n, HID), d)
        # ∂A₁ as nndl's Conv2D._input_gradient computes it: two output columns per product with the
        # banded matrix T[(j', f), (p, w', c)] = W₂[f, c, p, w' − j'] (0 ≤ w' − j' < 5), then row additions.
        self.band = np.zeros((2, C2, K, K + 1, C1), d)
        b = self.band.strides
        self.band_diagonal = np.lib.stride_tricks.as_strided(
            self.band, shape=(2, C2, K, K, C1), strides=(b[0] + b[3], b[1], b[2], b[3], b[4]))
        self.dz2_rows = np.empty((n, 8, 8, C2), d)                # ∂Z₂ in rows (n, i, j)
        r = self.dz2_rows.strides
        self.dz2_by_offset = np.lib.stride_tricks.as_strided(
            self.dz2_rows, shape=(2, 2, n, 4, 4, C2), strides=(r[1], r[2], r[0], 2 * r[1], 2 * r[2], r[3]))
        self.products = np.empty((n * 8, K * (K + 1) * C1), d)
        self.hit1, self.hit2 = np.empty((n * 144, C1), d), np.empty((n, 16, C2), d)
        self.rest1, self.rest2 = np.empty_like(self.hit1), np.empty_like(self.hit2)
        self.sums = np.empty((n, 1), d)

    @classmethod
    def from_network(cls, net, n: int, eta: float, batch: int | None = None) -> "LeanConvStep":
        """The step with ``net``'s weights (an nndl Network of bench_conv's SPEC), in ``net``'s dtype."""
        step = cls(n, eta, net.dtype.type, batch)
        conv1, conv2, dense3, dense4 = (net.layers[i] for i in (0, 3, 7, 8))
        step.w["w1"][:, :-1] = conv1.W.value.reshape(C1, -1)
        step.w["w2"][:, :-1] = conv2.W.value.transpose(0, 2, 3, 1).reshape(C2, -1)
        step.w["w3"][:, :-1] = dense3.W.value.reshape(HID, C2, 4, 4).transpose(0, 2, 3, 1).reshape(HID, -1)
        step.w["w4"][:, :-1] = dense4.W.value
        for key, layer in zip(("w1", "w2", "w3", "w4"), (conv1, conv2, dense3, dense4)):
            step.w[key][:, -1] = layer.b.value
        return step

    def nndl_gradients(self) -> list:
        """The gradients of the last step in the shapes and order of the nndl network's parameters."""
        g = self.g
        return [g["w1"][:, :-1].reshape(C1, 1, K, K), g["w1"][:, -1],
                g["w2"][:, :-1].reshape(C2, K, K, C1).transpose(0, 3, 1, 2), g["w2"][:, -1],
                g["w3"][:, :-1].reshape(HID, 4, 4, C2).transpose(0, 3, 1, 2).reshape(HID, -1), g["w3"][:, -1],
                g["w4"][:, :-1], g["w4"][:, -1]]

    @staticmethod
    def _pool_relu(z, out):
        """out = relu(max_k z[k]): the 2×2 max-pool over the four offset blocks, then the ReLU."""
        np.maximum(z[0], z[1], out=out)
        np.maximum(out, z[2], out=out)
        np.maximum(out, z[3], out=out)
        np.maximum(out, 0, out=out)

    @staticmethod
    def _route(z, a, grad, dz, hit, rest):
        """∂C/∂z[k] = grad ⊙ [a > 0] to the first k with z[k] = a (the first maximum), 0 for the others."""
        np.greater(a, 0, out=hit)
        np.multiply(grad, hit, out=rest)
        for k in range(3):
            np.equal(z[k], a, out=hit)
            np.multiply(rest, hit, out=dz[k])
            np.subtract(rest, dz[k], out=rest)
        dz[3] = rest

    def step(self, x, labels) -> None:
        """One SGD step on images ``x`` (N, 1, 28, 28) and integer ``labels`` (N,)."""
        self.gradient(x, labels)
        self.apply(self.grad)

    def apply(self, grad) -> None:
        """θ ← θ − η ∂θ: one call, since every gradient lives in one flat buffer."""
        np.multiply(grad, self.eta, out=self.update)
        self.theta -= self.update

    def gradient(self, x, labels) -> None:
        """Forward and backward on images ``x`` (n, 1, 28, 28) and integer ``labels`` (n,): ∂C/∂θ into ``grad``."""
        n, w, g = self.n, self.w, self.g
        view = pooled_receptive_fields(x, (K, K), (1, 1), (2, 2), (12, 12), channels_first=True)
        self.cols1[:-1].reshape(view.shape)[...] = view                       # im2col, conv 1
        np.matmul(self.cols1.T, w["w1"].T, out=self.z1.reshape(-1, C1))
        a1 = self.a1.reshape(-1, C1)
        self._pool_relu(self.z1, a1)
        view = pooled_receptive_fields(self.a1.transpose(0, 3, 1, 2), (K, K), (1, 1), (2, 2), (4, 4),
                                       channels_first=False)
        self.cols2[:, :-1].reshape(view.shape)[...] = view                    # im2col, conv 2
        np.matmul(self.cols2, w["w2"].T, out=self.z2.reshape(-1, C2))
        a2, z2 = self.a2[:, :-1].reshape(n, 16, C2), self.z2.reshape(4, n, 16, C2)     # (views: no copies)
        self._pool_relu(z2, a2)
        h = self.h[:, :-1]
        np.matmul(self.a2, w["w3"].T, out=h)
        np.maximum(h, 0, out=h)
        out = self.out
        np.matmul(self.h, w["w4"].T, out=out)
        out -= out.max(axis=1, keepdims=True)                                 # softmax
        np.exp(out, out=out)
        np.sum(out, axis=1, keepdims=True, out=self.sums)
        self.sums *= self.batch
        out /= self.sums                                                      # P / N
        out[np.arange(n), labels] -= 1.0 / self.batch                                 # δ₄ = (P − Y) / N
        np.matmul(out.T, self.h, out=g["w4"])
        dh = self.dh
        np.matmul(out, w["w4"][:, :-1], out=dh)
        np.greater(h, 0, out=self.hit_h)
        dh *= self.hit_h
        np.matmul(dh.T, self.a2, out=g["w3"])
        np.matmul(dh, w["w3"][:, :-1], out=self.da2)
        self._route(z2, a2, self.da2.reshape(n, 16, C2), self.dz2.reshape(4, n, 16, C2), self.hit2, self.rest2)
        np.matmul(self.dz2.reshape(-1, C2).T, self.cols2, out=g["w2"])
        self._input_gradient()
        self._route(self.z1, a1, self.da1.reshape(-1, C1), self.dz1, self.hit1, self.rest1)
        np.matmul(self.dz1.reshape(-1, C1).T, self.cols1.T, out=g["w1"])

    def _input_gradient(self) -> None:
        """∂A₁[n, i + p, w, c] = Σ_{j, f} ∂Z₂[n, f, i, j] W₂[f, c, p, w − j], two output columns j per product."""
        n = self.n
        self.band_diagonal[...] = self.w["w2"][:, :-1].reshape(1, C2, K, K, C1)
        band = self.band.reshape(2 * C2, -1)
        self.dz2_by_offset[...] = self.dz2.reshape(2, 2, n, 4, 4, C2)
        d = self.dz2_rows.reshape(n * 8, 8 * C2)
        g = self.products.reshape(n, 8, K, (K + 1) * C1)
        rows = self.da1.reshape(n, 12, 12 * C1)
        rows[...] = 0
        for j0 in range(0, 8, 2):
            np.matmul(d[:, j0 * C2:(j0 + 2) * C2], band, out=self.products)
            for p in range(K):
                rows[:, p:p + 8, j0 * C1:(j0 + K + 1) * C1] += g[:, :, p]


class SplitLeanStep:
    """The mini-batch cut in two halves whose gradients two threads compute at once (as nndl's
    ``workers=2``), added, then one update: the bound for a step that uses both cores outside BLAS."""

    def __init__(self, net, n: int, eta: float, pool):
        first = LeanConvStep.from_network(net, n // 2, eta, batch=n)
        self.parts = [first, LeanConvStep(n - n // 2, eta, net.dtype.type, batch=n, theta=first.theta)]
        self.pool, self.cut, self.theta = pool, n // 2, first.theta

    def step(self, x, labels) -> None:
        a, b = self.parts
        done = self.pool.submit(b.gradient, x[self.cut:], labels[self.cut:])
        a.gradient(x[:self.cut], labels[:self.cut])
        done.result()
        a.grad += b.grad
        a.apply(a.grad)
