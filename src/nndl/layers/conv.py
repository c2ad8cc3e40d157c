"""The convolutional layer (chapter 6): local receptive fields and shared weights.

A layer of ``F`` filters, each a (C, kh, kw) stack of shared weights plus one bias,
slides over the (padded) input with stride s.  For example n, filter f and output
position (i, j),

    z[n,f,i,j] = b_f + Σ_{c,p,q} W[f,c,p,q] · x[n, c, i·s + p, j·s + q]
    a = σ(z)

(a cross-correlation, as in the book and every deep-learning library; "convolution"
with an unflipped kernel).  Backward, given δ = ∂C/∂z (from ∂C/∂a ⊙ σ'(z)):

    ∂C/∂W[f,c,p,q] = Σ_{n,i,j} δ[n,f,i,j] · x[n, c, i·s + p, j·s + q]
    ∂C/∂b_f        = Σ_{n,i,j} δ[n,f,i,j]
    ∂C/∂x[n,c,h,w] = Σ_{f,p,q : h = i·s + p, w = j·s + q} δ[n,f,i,j] · W[f,c,p,q]

How it is computed (im2col)
---------------------------
Every receptive field x[n, :, i·s:i·s+kh, j·s:j·s+kw] is one row of a matrix
``cols`` of shape (N·Ho·Wo, K) with K = C·kh·kw; the filters are the rows of a
matrix ``Wm`` of shape (F, K).  Then the whole mini-batch is ONE matrix product

    Z = cols Wmᵀ + b                      (N·Ho·Wo, F)
    ∂C/∂Wm = Δᵀ cols,   ∂C/∂b = Σ_rows Δ  (Δ: the rows of δ)

(the bias rides along as a column of ones in ``cols``, so neither needs a pass of
its own), and ∂C/∂x is Δ Wm added back to where each row of ``cols`` came from —
computed instead as a product with a banded matrix and kh row additions, see
:meth:`Conv2D._input_gradient`.  The first layer of a network skips ∂C/∂x.

Memory layout: the rows of ``Z`` are (n, i, j) and its columns are the filters, so
the product's natural output is channels-last (N, Ho, Wo, F).  The layer returns it
as an (N, F, Ho, Wo) *view* of that memory — the shape is batch-major NCHW as the
rest of nndl expects, but nothing is copied.  Element-wise layers and pooling keep
that layout, and the next conv layer reads the receptive fields of a channels-last
input with the channels (and the kernel's width) contiguous, which makes building
``cols`` a fast copy.  For an input with few channels (the images themselves) the
transposed matrix colsᵀ (K, N·Ho·Wo) is built instead, which reads whole image rows
at a time.  Any input layout works; only the speed differs.  Large mini-batches are
cut into blocks of examples so each block's ``cols`` stays in the CPU cache
(:data:`BLOCK_BYTES`).  :class:`~nndl.layers.ConvPool2D` (``conv_pool.py``) is this layer with
max-pooling after it, its rows ordered by pooling window instead.
"""
from __future__ import annotations

import math

from nndl import validation
from nndl.activations import Softmax, get_activation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.initializers import get_initializer
from nndl.layers.base import Layer, register_layer

PADDINGS = ("valid", "same", "full")

#: Larger mini-batches (evaluation in batches of 1000, say) are processed in blocks of
#: examples whose receptive-field matrix takes at most about this many bytes, to bound
#: the memory.  Training mini-batches are one block: one big matrix product is faster
#: than several smaller ones, even when ``cols`` no longer fits in the CPU's cache.
BLOCK_BYTES = 32 << 20


def _pair(value, what: str) -> tuple[int, int]:
    """An int or a pair of ints as (height, width)."""
    return validation.pair(what, value)


def _as_config(pair):
    """(5, 5) -> 5, (3, 5) -> [3, 5]: JSON-able and short."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def image_input_shape(input_shape, label: str) -> tuple[int, int, int]:
    """``input_shape`` as (C, H, W); NndlError naming layer ``label`` if it is not three numbers."""
    if len(input_shape) != 3:
        raise NndlError(f"{label} needs input of shape (channels, height, width), got {tuple(input_shape)}")
    c, h, w = (int(d) for d in input_shape)
    return c, h, w


def check_image_batch(x, input_shape, label: str) -> None:
    """NndlError naming layer ``label`` unless ``x`` is an (N, C, H, W) batch with (C, H, W) = ``input_shape``."""
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(input_shape):
        raise NndlError(f"{label} expects a batch of shape (N, {', '.join(map(str, input_shape))}), "
                        f"got {tuple(x.shape)}")


def spec_padding(pad):
    """A spec word's ``pad`` option, checked: valid, same, full or an int."""
    if isinstance(pad, str) and pad.strip().lower() not in PADDINGS:
        raise NndlError(f"pad must be valid, same, full or an int, got {pad!r}")
    return pad


def receptive_fields(x, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int, channels_first: bool):
    """Every receptive field of the (N, C, H, W)-shaped batch ``x``, as a strided view (no copy).

    ``channels_first=False``: the (N, Ho, Wo, kh, kw, C) array   v[n,i,j,p,q,c] = x[n, c, i·sh+p, j·sw+q],
    i.e. the rows of ``cols``;  ``channels_first=True``: the (C, kh, kw, N, Ho, Wo) array
    v[c,p,q,n,i,j] = x[n, c, i·sh+p, j·sw+q], the rows of colsᵀ.  ``x`` may have any
    memory layout (``as_strided`` only re-reads its strides); the windows overlap in memory.
    """
    n, c = x.shape[:2]
    s_n, s_c, s_h, s_w = x.strides
    if channels_first:
        shape, strides = (c, kh, kw, n, ho, wo), (s_c, s_h, s_w, s_n, s_h * sh, s_w * sw)
    else:
        shape, strides = (n, ho, wo, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h, s_w, s_c)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)


@register_layer
class Conv2D(Layer):
    """``filters`` feature maps, each from a shared kh × kw kernel over all input channels.

    Parameters
    ----------
    filters : int
        Number of filters (output channels) F.
    kernel_size : int or (int, int)
        The local receptive field kh × kw.
    stride : int or (int, int)
        Step s between receptive fields (default 1).
    padding : "valid", "same", "full" or int
        Zeros added around each map: ``"valid"`` none (output H − k + 1 for stride 1);
        ``"same"`` enough for an output of ceil(H / s) (split evenly, the extra row/column
        at the bottom/right for even kernels); ``"full"`` k − 1 on each side (output
        H + k − 1); an int p: p on each side.
    activation : str or Activation
        σ, applied element-wise (default ``"linear"``: a pooling layer and a separate
        activation usually follow, as in the book's ``ConvPoolLayer``).
    init : str or Initializer
        Weight initialization with fan_in = C·kh·kw and fan_out = F·kh·kw.  The
        default N(0, 1/fan_in) scales by the number of *inputs* of a neuron, like the
        rest of nndl; the book's network3.py used fan_out (F·kh·kw / pool size), a slip.
    use_bias : bool
        False when batch normalization follows.

    Weights ``W`` have shape (F, C, kh, kw), biases ``b`` shape (F,).
    """

    type = "conv"
    spec_names = ("conv",)
    spec_aliases = {"padding": "pad", "kernel_size": "kernel", "use_bias": "bias"}
    fuses_activation = True
    splits_over_batch = True
    parallel_gain = True

    def __init__(self, filters: int, kernel_size, stride=1, padding="valid", activation="linear",
                 init="default", use_bias: bool = True):
        super().__init__()
        self.filters = validation.whole("conv filters", filters, low=1)
        self.kernel_size = _pair(kernel_size, "conv kernel_size")
        self.stride = _pair(stride, "conv stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise NndlError(f"conv kernel size {kernel_size} and stride {stride} must be positive")
        if isinstance(padding, str):
            padding = padding.strip().lower()
            if padding not in PADDINGS:
                raise NndlError(f"conv padding {padding!r} is not one of {', '.join(PADDINGS)} or an int ≥ 0")
        else:
            padding = _pair(padding, "conv padding")
            if min(padding) < 0:
                raise NndlError(f"conv padding {padding} must be ≥ 0")
        self.padding = padding
        self.activation = get_activation(activation)
        if isinstance(self.activation, Softmax):
            raise NndlError("a conv layer takes an element-wise activation, not softmax; "
                            "put softmax on a dense output layer")
        self.init = get_initializer(init)
        self.use_bias = validation.boolean("conv use_bias", use_bias)
        self.W = self.b = None

    @classmethod
    def from_spec(cls, filters, kernel, stride=1, pad="valid", *, init="default", bias=True, activation="linear"):
        """``conv(filters, kernel[, stride][, pad], init=NAME, bias=false)``; kernel ``5`` or ``3x5``,
        pad ``valid``, ``same``, ``full`` or a number; linear unless an activation word follows."""
        return cls(filters, kernel, stride=stride, padding=spec_padding(pad), activation=activation, init=init,
                   use_bias=validation.boolean("bias", bias))

    def spec_args(self):
        cfg = self.config()
        options = {}
        if self.stride != (1, 1):
            options["stride"] = cfg["stride"]
        if cfg["padding"] != "valid":
            options["pad"] = cfg["padding"]
        if self.init.name != "default":
            options["init"] = self.init.name
        if not self.use_bias:
            options["bias"] = False
        return [self.filters, cfg["kernel_size"]], options

    # -- shapes -----------------------------------------------------------------------
    def _label(self) -> str:
        kh, kw = self.kernel_size
        return f"conv({self.filters},{kh if kh == kw else f'{kh}x{kw}'})"

    def _pads(self, h: int, w: int) -> tuple[int, int, int, int]:
        """Zeros (top, bottom, left, right) for an h × w input."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if self.padding == "valid":
            return 0, 0, 0, 0
        if self.padding == "full":
            return kh - 1, kh - 1, kw - 1, kw - 1
        if self.padding == "same":
            th = max((math.ceil(h / sh) - 1) * sh + kh - h, 0)
            tw = max((math.ceil(w / sw) - 1) * sw + kw - w, 0)
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        ph, pw = self.padding
        return ph, ph, pw, pw

    def build(self, input_shape, rng, dtype=FLOAT):
        c, h, w = image_input_shape(input_shape, self._label())
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        pt, pb, pl, pr = self.pads = self._pads(h, w)
        hp, wp = h + pt + pb, w + pl + pr
        if kh > hp or kw > wp:
            raise NndlError(f"{self._label()}: kernel {kh}x{kw} is larger than the padded input {hp}x{wp} "
                            f"(input {(c, h, w)}, padding {self.padding!r})")
        if self.padding != "same" and ((hp - kh) % sh or (wp - kw) % sw):
            raise NndlError(f"{self._label()}: stride {sh if sh == sw else (sh, sw)} does not fit input "
                            f"{(c, h, w)}: the padded size {hp}x{wp} minus the kernel {kh}x{kw} must be a "
                            f"multiple of the stride")
        ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
        # conv_shape: the maps z (F, Ho, Wo); the output too, unless the layer pools them (ConvPool2D)
        self.input_shape, self.dtype = (c, h, w), dtype
        self.conv_shape = self.output_shape = (self.filters, ho, wo)
        fan_in, fan_out = c * kh * kw, self.filters * kh * kw
        self.W = self.add_param("W", (self.filters, c, kh, kw),
                                lambda s: self.init.weights(s, fan_in, fan_out, rng, dtype), regularize=True)
        if self.use_bias:
            self.b = self.add_param("b", (self.filters,), lambda s: self.init.biases(s, rng, dtype))
        self.fan_in = fan_in
        # The im2col copy is fastest with long contiguous runs: kw·C values per kernel row
        # in the channels-last layout, Wo per output row in the channels-first one.
        self.channels_first = c * kw < wo
        return self.output_shape

    @property
    def params(self):
        return [self.W, self.b] if self.use_bias else [self.W]

    # -- passes -----------------------------------------------------------------------
    def _pad(self, x):
        """``x`` with its zero border, (N, C, H + pt + pb, W + pl + pr), in the layout of the cols.

        The padded buffer is kept between calls, so its border is zeroed only when it is new.
        """
        pt, pb, pl, pr = self.pads
        if not (pt or pb or pl or pr):
            return x
        n, c, h, w = x.shape
        hp, wp = h + pt + pb, w + pl + pr
        if self.channels_first:
            shape, to_nchw = (n, c, hp, wp), (0, 1, 2, 3)
        else:
            shape, to_nchw = (n, hp, wp, c), (0, 3, 1, 2)
        buf = self.scratch.get("padded")
        if buf is None or buf.shape != shape or buf.dtype != x.dtype:
            buf = self.scratch["padded"] = xp.zeros(shape, dtype=x.dtype)
        buf = buf.transpose(to_nchw)
        buf[:, :, pt:pt + h, pl:pl + w] = x
        return buf

    def _blocks(self, n: int, dtype) -> list[tuple[int, int]]:
        """Example ranges [lo, hi) with at most about BLOCK_BYTES of cols each (usually one block)."""
        _, ho, wo = self.conv_shape
        per_example = ho * wo * self.fan_in * dtype.itemsize
        count = max(1, min(n, -(-n * per_example // BLOCK_BYTES)))
        bounds = [n * k // count for k in range(count + 1)]
        return list(zip(bounds[:-1], bounds[1:]))

    def _cols(self, xb):
        """The receptive-field matrix of a block of padded examples, (rows = Nb·Ho·Wo, K [+ 1]).

        Channels-last layout: a C-contiguous (rows, K) array with columns (p, q, c).
        Channels-first layout: the transpose of a C-contiguous (K, rows) array, columns (c, p, q).
        Either way ``cols @ Wmᵀ`` is one BLAS call with no further copy.  With a bias the
        matrix has one more column of ones, and Wm the column b: the product adds b, and
        Δᵀ cols gives ∂C/∂b = Σ_rows Δ in its last column — no separate passes.
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        _, ho, wo = self.conv_shape
        return self._copy_cols(receptive_fields(xb, kh, kw, sh, sw, ho, wo, self.channels_first))

    def _copy_cols(self, view):
        """``view`` (the receptive fields, rows first or, channels-first, columns first) copied into the
        kept cols buffer as the matrix :meth:`_cols` describes, with the column of ones for the bias."""
        k, extra = self.fan_in, int(self.use_bias)
        rows = view.size // k
        size = (k + extra) * rows
        flat = self.scratch.get("cols")
        if flat is None or flat.size < size or flat.dtype != view.dtype:
            flat = self.scratch["cols"] = xp.empty(size, dtype=view.dtype)
        if self.channels_first:
            mat = flat[:size].reshape(k + extra, rows)
            mat[:k].reshape(view.shape)[...] = view                     # the im2col copy
            if extra:
                mat[k] = 1
            return mat.T
        mat = flat[:size].reshape(rows, k + extra)
        mat[:, :k].reshape(view.shape)[...] = view      # the im2col copy (reshape only splits axes: a view)
        if extra:
            mat[:, k] = 1
        return mat

    def _weight_matrix(self):
        """Wm (F, K [+ 1]): filter f's weights in the column order of the cols [, then b_f]."""
        w = self.W.value
        wm = w.reshape(self.filters, -1) if self.channels_first else w.transpose(0, 2, 3, 1).reshape(self.filters, -1)
        if self.use_bias:
            wm = xp.concatenate([wm, self.b.value[:, None]], axis=1)
        return wm

    def forward(self, x, training=False):
        """z[n,f,i,j] = b_f + Σ_{c,p,q} W[f,c,p,q] x[n,c,i·s+p,j·s+q];  a = σ(z).

        As matrices: Z = cols Wmᵀ (+ b), one product per block of examples.
        """
        check_image_batch(x, self.input_shape, self._label())
        n, rows = len(x), self.output_shape[1] * self.output_shape[2]
        xpad = self._pad(x)
        blocks = self._blocks(n, x.dtype)
        wm = self._weight_matrix()
        z = xp.empty((n * rows, self.filters), dtype=x.dtype)       # channels last: row (n, i, j)
        for lo, hi in blocks:
            cols = self._cols(xpad[lo:hi])
            xp.matmul(cols, wm.T, out=z[lo * rows:hi * rows])        # the one matrix product
        a = self.activation.forward(z)
        # A single block keeps its cols for backward; several are rebuilt there, block by block.
        self.save(xpad=xpad, cols=cols if len(blocks) == 1 else None, z=z, a=a)
        return self._nchw(a, n)

    def _nchw(self, rows, n):
        """(N·Ho·Wo, F) rows as the (N, F, Ho, Wo) view the next layer sees."""
        _, ho, wo = self.output_shape
        return rows.reshape(n, ho, wo, self.filters).transpose(0, 3, 1, 2)

    def _rows(self, grad):
        """(N, F, Ho, Wo) back to (N·Ho·Wo, F) rows (free if ``grad`` is channels-last in memory)."""
        return grad.transpose(0, 2, 3, 1).reshape(-1, self.filters)

    def backward(self, grad_a):
        """δ = ∂C/∂a ⊙ σ'(z), then :meth:`backward_delta`."""
        kept = self.peek()
        return self.backward_delta(self.activation.backward(kept["z"], kept["a"], self._rows(grad_a)))

    def backward_delta(self, delta):
        """Given δ = ∂C/∂z (as rows, or (N, F, Ho, Wo)): ∂C/∂W, ∂C/∂b into the parameters; returns ∂C/∂x.

        ∂C/∂Wm = Δᵀ cols and ∂C/∂b = Σ_rows Δ (one matrix product, see :meth:`_cols`); ∂C/∂x by
        :meth:`_input_gradient`, skipped for the first layer.
        """
        if delta.ndim == 4:
            delta = self._rows(delta)
        kept = self.saved()
        self._weight_gradients(kept, delta)
        if not self.needs_input_grad:
            return None
        return self._input_gradient(delta, len(kept["xpad"]))

    def _block_rows(self, delta, lo: int, hi: int):
        """The rows of Δ that belong to examples lo..hi, in the row order of their cols."""
        rows = self.conv_shape[1] * self.conv_shape[2]
        return delta[lo * rows:hi * rows]

    def _weight_gradients(self, kept, delta) -> None:
        """∂C/∂Wm = Δᵀ cols and ∂C/∂b = Σ_rows Δ into the parameters, block by block of examples."""
        xpad = kept["xpad"]
        gw = None
        for lo, hi in self._blocks(len(xpad), xpad.dtype):
            cols = kept["cols"] if kept["cols"] is not None else self._cols(xpad[lo:hi])
            d = self._block_rows(delta, lo, hi)
            part = cols.T @ d if self.channels_first else d.T @ cols      # (K [+ 1], F) or (F, K [+ 1])
            if gw is None:
                gw = part
            else:
                gw += part
        f, c, (kh, kw), k = self.filters, self.input_shape[0], self.kernel_size, self.fan_in
        if self.channels_first:
            gw = gw.T                                                    # (F, K [+ 1])
        if self.use_bias:
            self.b.add_grad(xp.ascontiguousarray(gw[:, k]))              # Σ_rows Δ, from the ones column
        gw = gw[:, :k]
        if self.channels_first:
            self.W.add_grad(xp.ascontiguousarray(gw).reshape(f, c, kh, kw))
        else:
            self.W.add_grad(xp.ascontiguousarray(gw.reshape(f, kh, kw, c).transpose(0, 3, 1, 2)))

    def _band(self, span: int, width: int, dtype):
        """The banded weight matrix T (span·F, kh·width·C) of :meth:`_input_gradient`:

            T[(j, f), (p, w, c)] = W[f, c, p, w − j·s]   where 0 ≤ w − j·s < kw, else 0.

        Its zeros never move, so the buffer is kept and only the band is rewritten (one
        copy, through a strided view of the band's diagonal).
        """
        (kh, kw), sw = self.kernel_size, self.stride[1]
        f, c = self.filters, self.input_shape[0]
        key = ("band", span, width, dtype)
        if key not in self.scratch:
            buf = xp.zeros((span, f, kh, width, c), dtype=dtype)
            s_j, s_f, s_p, s_w, s_c = buf.strides
            band = xp.lib.stride_tricks.as_strided(buf, shape=(span, f, kh, kw, c),
                                                   strides=(s_j + sw * s_w, s_f, s_p, s_w, s_c))
            self.scratch[key] = buf, band
        buf, band = self.scratch[key]
        band[...] = self.W.value.transpose(0, 2, 3, 1)                  # the same kernel for every j
        return buf.reshape(span * f, kh * width * c)

    def _input_gradient(self, delta, n):
        """∂C/∂x from δ (N·Ho·Wo, F), as the (N, C, H, W) view of a channels-last array.

        In the coordinates of the padded input (the padding is cut off at the end), each
        δ[n, f, i, j] reaches input row i·s + p, column w = j·s + q, for every kernel offset:

            ∂C/∂x[n, c, i·s + p, w] += Σ_{j,f} δ[n, f, i, j] W[f, c, p, w − j·s]   (0 ≤ w − j·s < kw).

        For a run of J output columns j0 ≤ j < j0 + J, the input columns it reaches are
        w = j0·s + w', 0 ≤ w' < (J − 1)·s + kw, and the sum over (j, f) is one matrix
        product with the banded matrix T of :meth:`_band` (the same for every run):

            G[(n, i), (p, w', c)] = Σ_{j', f} δ[(n, i), (j0 + j', f)] T[(j', f), (p, w', c)].

        Row p of G is then added to input row i·s + p: kh additions of long contiguous
        runs.  (col2im — Δ Wm, then kh·kw scattered slice additions — does fewer FLOPs
        but its additions run over only C values at a time, which is slower in NumPy.)
        J = max(1, ⌊⌈kw/s⌉ / 2⌋) output columns per product (2 for a 5-wide kernel, 1 for a 3-wide one)
        balances the zeros T carries against the number of products and row additions: it was the
        fastest J, or within 6% of it, for the book's conv layers at batches 10 to 64 (README, "Benchmarks").
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        f, ho, wo = self.conv_shape
        c, h, w = self.input_shape
        pt, pb, pl, pr = self.pads
        dx = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=delta.dtype)
        span = min(wo, max(1, -(-kw // sw) // 2))                        # J output columns per product
        width = (span - 1) * sw + kw                                     # input columns they reach
        band = self._band(span, width, delta.dtype)
        d = delta.reshape(n * ho, wo * f)                               # rows (n, i), columns (j, f)
        rows = dx.reshape(n, h + pt + pb, -1)                           # (N, Hp, Wp·C): rows of the input
        size = n * ho * kh * width * c
        flat = self.scratch.get("products")
        if flat is None or flat.size < size or flat.dtype != delta.dtype:
            flat = self.scratch["products"] = xp.empty(size, dtype=delta.dtype)
        g2 = flat[:size].reshape(n * ho, kh * width * c)
        g = g2.reshape(n, ho, kh, width * c)
        for j0 in range(0, wo, span):
            j1 = min(wo, j0 + span)
            reach = ((j1 - j0) - 1) * sw + kw
            xp.matmul(d[:, j0 * f:j1 * f], band[:(j1 - j0) * f], out=g2)
            w0 = j0 * sw * c
            for p in range(kh):
                rows[:, p:p + (ho - 1) * sh + 1:sh, w0:w0 + reach * c] += g[:, :, p, :reach * c]
        return dx[:, pt:pt + h, pl:pl + w, :].transpose(0, 3, 1, 2)

    # -- description ------------------------------------------------------------------
    def config(self):
        cfg = {"type": self.type, "filters": self.filters, "kernel_size": _as_config(self.kernel_size),
               "stride": _as_config(self.stride),
               "padding": self.padding if isinstance(self.padding, str) else _as_config(self.padding),
               "activation": self.activation.config(), "init": self.init.name}
        if not self.use_bias:
            cfg["use_bias"] = False
        return cfg

    def forward_flops(self, batch_size):
        """2 · N · Ho · Wo · F · C · kh · kw: the im2col product."""
        if self.output_shape is None:
            return 0.0
        f, ho, wo = self.conv_shape
        kh, kw = self.kernel_size
        return 2.0 * batch_size * ho * wo * f * self.input_shape[0] * kh * kw
