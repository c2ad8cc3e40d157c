"""Pooling layers (chapter 6): summarize each k × k window of every feature map.

With window k × k and stride s (default s = k, non-overlapping windows), output
position (i, j) of channel c of example n pools the window

    x[n, c, i·s + p, j·s + q],   0 ≤ p, q < k.

* max-pooling     a = max_{p,q} x[..];          ∂C/∂x = ∂C/∂a at the (first) arg-max, 0 elsewhere
* average pooling a = (1/k²) Σ_{p,q} x[..];     ∂C/∂x = ∂C/∂a / k² at every position of the window
* L2 pooling      a = √(Σ_{p,q} x[..]²);        ∂C/∂x = ∂C/∂a · x / a  (0 where a = 0)

(the book's chapter 6 names max-pooling and L2 pooling).  Gradients from
overlapping windows add up.

How it is computed: the window is walked by its k² offsets (p, q); offset (p, q)
of every window of the whole mini-batch is the strided view
``x[:, :, p::s, q::s]`` (for non-overlapping windows, ``x.reshape(N, C, H/s, s, W/s, s)``
indexed at [..., p, :, q]).  So each pass is a handful of whole-batch array
operations, one per window offset — no loop over examples or pixels.  The layers
keep the memory layout of their input (a conv layer's output is channels-last in
memory), so the next conv layer reads it without a copy.

If the windows do not tile the map exactly, the ragged right and bottom edge is
dropped (floor), or, with ``strict=True``, that is an error.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer
from nndl.layers.conv import _as_config, _pair, check_image_batch, image_input_shape


def _column_views(a, k: int):
    """[a[..., q::k] for q < k]: column q of every k-wide window (a's width a multiple of k)."""
    return [a[..., q::k] for q in range(k)]


def _row_views(a, k: int):
    """[a[:, :, p::k] for p < k]: row p of every k-high window (a's height a multiple of k)."""
    return [a[:, :, p::k] for p in range(k)]


def _sum(views, square=False, out=None):
    """Σ views (or Σ views²) into ``out`` (default: a new array with the memory layout of the first view)."""
    out = xp.empty_like(views[0]) if out is None else out
    if square:
        xp.multiply(views[0], views[0], out=out)
    else:
        xp.copyto(out, views[0])
    for v in views[1:]:
        if square:
            out += v * v
        else:
            out += v
    return out


def _max(views, out=None):
    """max(views) element-wise, into ``out`` (default: a new array with the memory layout of the first view)."""
    out = xp.empty_like(views[0]) if out is None else out
    xp.maximum(views[0], views[1], out=out) if len(views) > 1 else xp.copyto(out, views[0])
    for v in views[2:]:
        xp.maximum(out, v, out=out)
    return out


def _scatter(part, outs, accumulate):
    """Write (or add) the same ``part`` into each of ``outs``."""
    for out in outs:
        if accumulate:
            out += part
        else:
            out[...] = part


def _first_max_routing(views, vmax, grad, outs, accumulate=False, hit=None, rest=None):
    """Route ``grad`` to the first of ``views`` that equals ``vmax``: out_k = grad where view k is
    the first maximum, else 0 (all arrays of one shape; ``outs`` are written or, with
    ``accumulate``, added to).

    Position k takes ``rest · [view_k = max]``, where ``rest`` is the gradient not yet
    handed out; the last position takes whatever is left.  So the first position holding
    the maximum takes all of it, later ties get 0, and every window passes its gradient
    to exactly one position — with float 0/1 masks and multiplications only (for a
    window of two: 3 array operations).  ``hit`` and ``rest`` are optional scratch arrays
    shaped like ``vmax`` (for the mask and the gradient not yet handed out).
    """
    hit = xp.empty_like(vmax) if hit is None else hit    # scratch for the 0/1 mask
    buffer = rest
    last = len(views) - 1
    rest, given = grad, None                  # given: what the previous position took
    for k, (view, out) in enumerate(zip(views, outs)):
        target = xp.empty_like(vmax) if accumulate else out
        if k == last:
            if given is None:
                xp.copyto(target, rest)
            else:
                xp.subtract(rest, given, out=target)
        else:
            if given is not None:
                rest = rest - given if buffer is None else xp.subtract(rest, given, out=buffer)
            xp.equal(view, vmax, out=hit)     # 1.0 where this position holds the maximum
            xp.multiply(rest, hit, out=target)
            given = target
        if accumulate:
            out += target


class Pool2D(Layer):
    """Base class of the pooling layers: window geometry, views and checks.

    Subclasses give the pooling of a list of equally shaped views, in two forms: for
    windows that tile the map (``tiles``), pooling is separable — first along each window
    row (the k column views), then down the columns (the k row views of that result) —
    and each stage is k whole-batch operations; otherwise the k² window-offset views are
    pooled at once.
    """

    type = "pool"
    splits_over_batch = True

    def __init__(self, size, stride=None, strict: bool = False):
        super().__init__()
        self.size = _pair(size, f"{self.type} size")
        self.stride = self.size if stride is None else _pair(stride, f"{self.type} stride")
        if min(self.size) < 1 or min(self.stride) < 1:
            raise NndlError(f"{self.type} size {size} and stride {stride} must be positive")
        self.strict = validation.boolean("strict", strict)

    def spec_args(self):
        args = [_as_config(self.size)] + ([] if self.stride == self.size else [_as_config(self.stride)])
        return args, {"strict": True} if self.strict else {}

    def _label(self) -> str:
        k, s = _as_config(self.size), _as_config(self.stride)
        return f"{self.type}({k})" if self.stride == self.size else f"{self.type}({k},{s})"

    def build(self, input_shape, rng, dtype=FLOAT):
        c, h, w = image_input_shape(input_shape, self._label())
        (kh, kw), (sh, sw) = self.size, self.stride
        if kh > h or kw > w:
            raise NndlError(f"{self._label()}: window {kh}x{kw} is larger than the input {(c, h, w)}")
        if self.strict and ((h - kh) % sh or (w - kw) % sw):
            raise NndlError(f"{self._label()}: windows {kh}x{kw} with stride {_as_config(self.stride)} do not "
                            f"tile the input {(c, h, w)} exactly (strict)")
        ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
        self.input_shape, self.output_shape, self.dtype = (c, h, w), (c, ho, wo), dtype
        self.tiles = (sh, sw) == (kh, kw)                 # non-overlapping windows side by side
        self.covers = self.tiles and ho * kh == h and wo * kw == w
        return self.output_shape

    def _tiled(self, x):
        """The part of ``x`` the tiling windows cover (the ragged edge cut off)."""
        (kh, kw), (_, ho, wo) = self.size, self.output_shape
        return x[:, :, :ho * kh, :wo * kw]

    def _windows(self, x):
        """The k² window-offset views of ``x``, row-major: view (p, q) = x[:, :, p::s, q::s] (N, C, Ho, Wo)."""
        (kh, kw), (sh, sw) = self.size, self.stride
        _, ho, wo = self.output_shape
        return [x[:, :, p:p + (ho - 1) * sh + 1:sh, q:q + (wo - 1) * sw + 1:sw]
                for p in range(kh) for q in range(kw)]

    def forward(self, x, training=False):
        """The pooled maps a (N, C, Ho, Wo), in the memory layout of ``x``."""
        check_image_batch(x, self.input_shape, self._label())
        (kh, kw) = self.size
        if self.tiles:
            columns = _column_views(self._tiled(x), kw)
            pooled_rows = self._pool(columns, first=True,                                  # (N, C, Ho·kh, Wo)
                                     out=self._scratch_like("pooled_rows", columns[0]))
            a = self._finish(self._pool(_row_views(pooled_rows, kh), first=False))
        else:
            pooled_rows, a = None, self._finish(self._pool(self._windows(x), first=True))
        self.save(x=x, pooled_rows=pooled_rows, a=a)
        return a

    def backward(self, grad):
        """∂C/∂x from ∂C/∂a: each window's share, through the two stages (or the k² offsets) in reverse."""
        kept = self.saved()
        if not self.needs_input_grad:
            return None
        x, pooled_rows, a, (kh, kw) = kept["x"], kept["pooled_rows"], kept["a"], self.size
        dx = xp.empty_like(x) if self.covers else xp.zeros_like(x)    # keeps the layout of x
        if self.tiles:
            grad_rows = self._scratch_like("grad_rows", pooled_rows)
            self._route(_row_views(pooled_rows, kh), a, grad, _row_views(grad_rows, kh), first=False)
            self._route(_column_views(self._tiled(x), kw), pooled_rows, grad_rows,
                        _column_views(self._tiled(dx), kw), first=True)
        else:
            self._route(self._windows(x), a, grad, self._windows(dx), first=True, accumulate=True)
        return dx

    def _scratch_like(self, name, like):
        """An array shaped and laid out like ``like``, kept between calls for internal use only.

        Fresh multi-megabyte temporaries every mini-batch cost page faults; outputs
        (which the caller keeps) are always new arrays.
        """
        key = (like.shape, like.dtype, like.strides)
        scratch = self.scratch
        cached = scratch.get(name)
        if cached is None or cached[0] != key:
            cached = scratch[name] = (key, xp.empty_like(like))
        return cached[1]

    # Subclasses: _pool(views, first, out) pools equally shaped views (``first``: the views are
    # of the input x); _finish(pooled) completes the result; _route(views, pooled, grad,
    # outs, first, accumulate) writes ∂C/∂(each view) into ``outs``.
    def _finish(self, pooled):
        return pooled

    def config(self):
        cfg = {"type": self.type, "size": _as_config(self.size)}
        if self.stride != self.size:
            cfg["stride"] = _as_config(self.stride)
        if self.strict:
            cfg["strict"] = True
        return cfg


@register_layer
class MaxPool2D(Pool2D):
    """a[n,c,i,j] = max_{p,q} x[n, c, i·s+p, j·s+q]; the gradient goes to the arg-max.

    Ties go to the first maximum in row-major window order (the same position a flat
    ``argmax`` over the window picks): windows of equal values — blank MNIST background
    — pass their gradient to one position, not to all.
    """

    type = "maxpool"
    spec_names = ("pool", "maxpool")

    def _pool(self, views, first, out=None):
        return _max(views, out)

    def _route(self, views, pooled, grad, outs, first, accumulate=False):
        hit = self._scratch_like("mask_first" if first else "mask", pooled)
        _first_max_routing(views, pooled, grad, outs, accumulate, hit)


@register_layer
class AvgPool2D(Pool2D):
    """a[n,c,i,j] = (1/k²) Σ_{p,q} x[n, c, i·s+p, j·s+q];  ∂C/∂x = ∂C/∂a / k² over each window."""

    type = "avgpool"
    spec_names = ("avgpool",)

    def _pool(self, views, first, out=None):
        return _sum(views, out=out)

    def _finish(self, pooled):
        pooled *= pooled.dtype.type(1.0 / (self.size[0] * self.size[1]))
        return pooled

    def _route(self, views, pooled, grad, outs, first, accumulate=False):
        if not (first and self.tiles):                    # apply the 1/k² once, at the first stage backward
            grad = grad * grad.dtype.type(1.0 / (self.size[0] * self.size[1]))
        _scatter(grad, outs, accumulate)


@register_layer
class L2Pool2D(Pool2D):
    """a[n,c,i,j] = √(Σ_{p,q} x[n, c, i·s+p, j·s+q]²);  ∂C/∂x = ∂C/∂a · x / a  (0 where a = 0).

    Separably: the first stage sums squares along window rows, the second sums those.
    """

    type = "l2pool"
    spec_names = ("l2pool",)

    def _pool(self, views, first, out=None):
        return _sum(views, square=first, out=out)

    def _finish(self, pooled):
        return xp.sqrt(pooled, out=pooled)

    def _route(self, views, pooled, grad, outs, first, accumulate=False):
        if not (first and self.tiles):
            # ∂C/∂a / a, guarded: where a = 0 every x of the window is 0, and so is its gradient.
            a = pooled
            grad = xp.where(a > 0, grad / xp.where(a > 0, a, a.dtype.type(1)), a.dtype.type(0)).astype(a.dtype)
        if first:                                         # ∂(Σ x²)/∂x = 2x, and ∂√S/∂S = 1/(2√S)
            for view, out in zip(views, outs):
                part = view * grad
                if accumulate:
                    out += part
                else:
                    out[...] = part
        else:
            _scatter(grad, outs, accumulate)
