"""The book's ``ConvPoolLayer`` as one layer: convolution, max-pooling, activation.

Chapter 6's network3.py builds its conv nets from one kind of layer that convolves,
max-pools over non-overlapping k × k windows and then applies σ.  For example n,
filter f and pooled position (u, v):

    z[n,f,i,j] = b_f + Σ_{c,p,q} W[f,c,p,q] · x[n, c, i·s + p, j·s + q]      (as Conv2D)
    m[n,f,u,v] = max_{0 ≤ p,q < k} z[n, f, u·k + p, v·k + q]                  (as MaxPool2D(k))
    a = σ(m)

— the same function and the same parameters as the three layers ``conv(F, K) pool(k) σ``
(:class:`~nndl.layers.Conv2D`, :class:`~nndl.layers.MaxPool2D`, an activation), and a
network of either kind reads the other's weights.  Backward, given ∂C/∂a:

    ∂C/∂m = ∂C/∂a ⊙ σ'(m)
    ∂C/∂z[n,f,u·k+p,v·k+q] = ∂C/∂m[n,f,u,v] at the first maximum of its window (row-major), else 0
    ∂C/∂W, ∂C/∂b, ∂C/∂x from δ = ∂C/∂z exactly as Conv2D.

Why one layer: the order of the rows.  Conv2D's receptive-field matrix has one row per
output position (n, i, j), so a pooling layer after it reads each window's k² values from
k² strided views.  Here the rows are ordered by the position in the pooling window first,

    row (p, q, n, u, v) is the receptive field of position (u·k + p, v·k + q) of example n,

so the one product Z = cols Wmᵀ is k² contiguous blocks, Z[p·k + q] = every window's member
(p, q): pooling is k² − 1 ``maximum`` calls on contiguous arrays, the routing backward writes
∂C/∂Z in the same block order, and ∂C/∂Wm = Δᵀ cols needs no reordering (a sum over rows
does not care about their order).  Only ∂C/∂x wants δ in position order again (one copy).
Positions a ragged edge leaves outside every window are never computed (their gradient is 0).
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import register_layer
from nndl.layers.conv import Conv2D, _as_config, _pair, check_image_batch, spec_padding
from nndl.layers.pooling import _first_max_routing, _max


def pooled_receptive_fields(x, kernel, stride, pool, pooled, channels_first: bool):
    """Every receptive field of the (N, C, H, W) batch ``x`` in pooling-window order, as a strided view.

    With kernel (kh, kw), conv stride (sh, sw), pool (ph, pw) and (Uo, Vo) pooled positions:
    ``channels_first=False`` gives the (ph, pw, N, Uo, Vo, kh, kw, C) array

        v[p, q, n, u, v, r, t, c] = x[n, c, (u·ph + p)·sh + r, (v·pw + q)·sw + t],

    the rows of ``cols``; ``channels_first=True`` the (C, kh, kw, ph, pw, N, Uo, Vo) array,
    the rows of colsᵀ.  No copy; ``x`` may have any memory layout.
    """
    (kh, kw), (sh, sw), (ph, pw), (uo, vo) = kernel, stride, pool, pooled
    n, c = x.shape[:2]
    s_n, s_c, s_h, s_w = x.strides
    windows, window_strides = (ph, pw, n, uo, vo), (sh * s_h, sw * s_w, s_n, ph * sh * s_h, pw * sw * s_w)
    if channels_first:
        shape, strides = (c, kh, kw) + windows, (s_c, s_h, s_w) + window_strides
    else:
        shape, strides = windows + (kh, kw, c), window_strides + (s_h, s_w, s_c)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)


@register_layer
class ConvPool2D(Conv2D):
    """Conv2D(filters, kernel_size) then max-pooling over ``pool_size`` windows, then σ, as one layer.

    Parameters are those of :class:`~nndl.layers.Conv2D` plus ``pool_size`` (int or pair,
    default 2): the windows tile the conv maps (stride = size); a ragged edge is dropped,
    as MaxPool2D does.  ``activation`` is applied after pooling, as in the book's
    ``ConvPoolLayer`` (for ReLU, sigmoid and tanh the order makes no difference).
    Spec word: ``convpool(filters, kernel[, pool])`` with conv's options (``stride=``, ``pad=``,
    ``init=``, ``bias=false``); an activation word after it becomes its σ.
    """

    type = "convpool"
    spec_names = ("convpool",)
    spec_aliases = {**Conv2D.spec_aliases, "pool_size": "pool"}

    def __init__(self, filters: int, kernel_size, pool_size=2, stride=1, padding="valid", activation="linear",
                 init="default", use_bias: bool = True):
        super().__init__(filters, kernel_size, stride=stride, padding=padding, activation=activation, init=init,
                         use_bias=use_bias)
        self.pool_size = _pair(pool_size, "convpool pool_size")
        if min(self.pool_size) < 1:
            raise NndlError(f"convpool pool size {pool_size} must be positive")
        self.members = self.pool_size[0] * self.pool_size[1]          # k²: positions in a window

    @classmethod
    def from_spec(cls, filters, kernel, pool=2, *, stride=1, pad="valid", init="default", bias=True,
                  activation="linear"):
        """``convpool(filters, kernel[, pool], stride=S, pad=P, init=NAME, bias=false)``; pool 2 by default."""
        return cls(filters, kernel, pool, stride=stride, padding=spec_padding(pad), activation=activation,
                   init=init, use_bias=validation.boolean("bias", bias))

    def spec_args(self):
        args, options = super().spec_args()                # conv's: [filters, kernel], stride=, pad=, ...
        return args + ([_as_config(self.pool_size)] if self.pool_size != (2, 2) else []), options

    def _label(self) -> str:
        (kh, kw), pool = self.kernel_size, _as_config(self.pool_size)
        return f"convpool({self.filters},{kh if kh == kw else f'{kh}x{kw}'},{pool})"

    def build(self, input_shape, rng, dtype=FLOAT):
        super().build(input_shape, rng, dtype)
        f, ho, wo = self.conv_shape
        (ph, pw) = self.pool_size
        if ph > ho or pw > wo:
            raise NndlError(f"{self._label()}: pool window {ph}x{pw} is larger than the conv maps {ho}x{wo}")
        self.output_shape = (f, ho // ph, wo // pw)
        return self.output_shape

    # -- passes -----------------------------------------------------------------------
    def _cols(self, xb):
        """The receptive-field matrix of a block of padded examples, rows (p, q, n, u, v), columns (K [+ 1]).

        As Conv2D's: C-contiguous (rows, K [+ 1]) with columns (kh, kw, c) for channels-last,
        the transpose of a C-contiguous (K [+ 1], rows) with columns (c, kh, kw) otherwise; the
        last column is ones when there is a bias.
        """
        _, uo, vo = self.output_shape
        return self._copy_cols(pooled_receptive_fields(xb, self.kernel_size, self.stride, self.pool_size, (uo, vo),
                                                       self.channels_first))

    def forward(self, x, training=False):
        """z = the conv (in window-order blocks), m = max over each window's block, a = σ(m)."""
        check_image_batch(x, self.input_shape, self._label())
        n, (f, uo, vo), k2 = len(x), self.output_shape, self.members
        rows = uo * vo
        xpad = self._pad(x)
        blocks = self._blocks(n, x.dtype)
        wm = self._weight_matrix()
        z = xp.empty((k2, n * rows, f), dtype=x.dtype)      # z[p·k + q]: window member (p, q), rows (n, u, v)
        for lo, hi in blocks:
            cols = self._cols(xpad[lo:hi])
            if len(blocks) == 1:
                xp.matmul(cols, wm.T, out=z.reshape(-1, f))            # the one matrix product
            else:
                z[:, lo * rows:hi * rows] = (cols @ wm.T).reshape(k2, -1, f)
        m = _max(list(z))                                               # max-pooling: k² − 1 calls
        a = self.activation.forward(m)
        self.save(xpad=xpad, cols=cols if len(blocks) == 1 else None, z=z, m=m, a=a)
        return self._nchw(a, n)

    def backward(self, grad_a):
        """∂C/∂m = ∂C/∂a ⊙ σ'(m), then :meth:`backward_delta`."""
        kept = self.peek()
        return self.backward_delta(self.activation.backward(kept["m"], kept["a"], self._rows(grad_a)))

    def backward_delta(self, delta):
        """Given ∂C/∂m (rows (n, u, v), or (N, F, Uo, Vo)): route it to each window's first maximum,
        then ∂C/∂W, ∂C/∂b and ∂C/∂x as Conv2D; returns ∂C/∂x."""
        if delta.ndim == 4:
            delta = self._rows(delta)
        kept = self.saved()
        z, m = kept["z"], kept["m"]
        dz = xp.empty_like(z)
        _first_max_routing(list(z), m, delta, list(dz), hit=xp.empty_like(m), rest=xp.empty_like(m))
        self._weight_gradients(kept, dz)
        if not self.needs_input_grad:
            return None
        n = len(kept["xpad"])
        return self._input_gradient(self._position_rows(dz, n), n)

    def _block_rows(self, delta, lo: int, hi: int):
        """The rows (p, q, n, u, v) of ∂C/∂Z (k², N·Uo·Vo, F) for examples lo..hi (a view when it is all of them)."""
        rows = self.output_shape[1] * self.output_shape[2]
        return delta[:, lo * rows:hi * rows].reshape(-1, self.filters)

    def _position_rows(self, dz, n):
        """δ from window-order blocks back to rows (n, i, j) of the conv maps (0 where no window reaches)."""
        (f, ho, wo), (_, uo, vo), (ph, pw) = self.conv_shape, self.output_shape, self.pool_size
        covered = uo * ph == ho and vo * pw == wo
        delta = (xp.empty if covered else xp.zeros)((n, ho, wo, f), dtype=dz.dtype)
        s_n, s_h, s_w, s_f = delta.strides
        target = xp.lib.stride_tricks.as_strided(delta, shape=(ph, pw, n, uo, vo, f),
                                                 strides=(s_h, s_w, s_n, ph * s_h, pw * s_w, s_f))
        target[...] = dz.reshape(ph, pw, n, uo, vo, f)
        return delta.reshape(-1, f)

    # -- description ------------------------------------------------------------------
    def config(self):
        return {**super().config(), "type": self.type, "pool_size": _as_config(self.pool_size)}

    def forward_flops(self, batch_size):
        """2 · N · (Uo·k)(Vo·k) · F · C · kh · kw: the product, over the positions the windows cover."""
        if self.output_shape is None:
            return 0.0
        f, uo, vo = self.output_shape
        kh, kw = self.kernel_size
        return 2.0 * batch_size * uo * vo * self.members * f * self.input_shape[0] * kh * kw

