"""Units with something to learn or draw: PReLU, randomized leaky ReLU and maxout.

The elementwise units with nothing of their own (sigmoid, tanh, ReLU, hard-tanh, ...)
are activations (:mod:`nndl.activations`) that a dense or conv layer applies itself.
These three are layers, because each keeps something an activation cannot:

* **PReLU** (He et al., 2015), one learned slope αⱼ per unit (per channel of a feature map):

      aⱼ = zⱼ            if zⱼ > 0
           αⱼ zⱼ         otherwise
      ∂C/∂zⱼ = ∂C/∂aⱼ · (1 if zⱼ > 0 else αⱼ)
      ∂C/∂αⱼ = Σ_{x, positions} ∂C/∂aⱼ · min(zⱼ, 0)

* **randomized leaky ReLU** (Xu et al., 2015): in training each value gets its own slope
  α ~ U(lower, upper), drawn from the network's seeded generator; at test time the mean
  slope ᾱ = (lower + upper)/2:

      training:  a = z if z > 0 else α z,    ∂C/∂z = ∂C/∂a · (1 or α)
      inference: a = z if z > 0 else ᾱ z

* **maxout** (Goodfellow et al., 2013), k affine pieces per unit, the largest one wins:

      z_{j,i} = x · W_{j,i} + b_{j,i}          (i = 1..k)
      aⱼ = max_i z_{j,i}
      ∂C/∂z_{j,i} = ∂C/∂aⱼ if i is the (first) arg-max, else 0

  and then the dense layer's equations for W and b (BP3, BP4) on the winning pieces.
"""
from __future__ import annotations

from nndl import validation
from nndl.backend import FLOAT, to_device, xp
from nndl.errors import NndlError
from nndl.layers.base import Layer, register_layer
from nndl.layers.dense import Dense


def _channel_axes(ndim: int) -> tuple:
    """The axes a per-unit (per-channel) parameter is summed over: the batch, and the map positions."""
    return (0,) if ndim == 2 else (0,) + tuple(range(2, ndim))


@register_layer
class PReLU(Layer):
    """a = z if z > 0 else αⱼ z, with a learned slope αⱼ per unit (per channel for feature maps)."""

    type = "prelu"
    spec_names = ("prelu",)
    splits_over_batch = True

    def __init__(self, alpha: float = 0.25):
        super().__init__()
        self.alpha0 = validation.number("prelu initial alpha", alpha, 0.0, 1.0)
        self.alpha = None

    def build(self, input_shape, rng, dtype=FLOAT):
        super().build(input_shape, rng, dtype)
        units = int(input_shape[0])
        self.alpha = self.add_param("alpha", (units,), lambda s: to_device(xp.full(s, self.alpha0), dtype))
        return self.output_shape

    @property
    def params(self):
        return [self.alpha]

    def _slopes(self, ndim):
        """α shaped to broadcast over a batch: (units,) or (channels, 1, 1)."""
        return self.alpha.value.reshape((-1,) + (1,) * (ndim - 2))

    def forward(self, x, training=False):
        alpha = self._slopes(x.ndim)
        a = xp.where(x > 0, x, alpha * x).astype(x.dtype, copy=False)
        self.save(x=x)
        return a

    def backward(self, grad):
        x = self.saved()["x"]
        negative = xp.minimum(x, 0)
        self.alpha.add_grad((grad * negative).sum(axis=_channel_axes(x.ndim)))
        if not self.needs_input_grad:
            return None
        return xp.where(x > 0, grad, self._slopes(x.ndim) * grad).astype(grad.dtype, copy=False)

    def config(self):
        return {"type": self.type, "alpha": self.alpha0}


@register_layer
class RandomizedLeakyReLU(Layer):
    """Leaky ReLU with a random slope α ~ U(lower, upper) per value in training, (lower+upper)/2 at test.

    ``fixed_mask = True`` reuses the last slopes drawn (a gradient check needs the same ones
    for every evaluation), as for dropout.
    """

    type = "rrelu"
    spec_names = ("rrelu", "randomized_leaky_relu")
    splits_over_batch = True

    def __init__(self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0):
        super().__init__()
        self.lower = validation.number("rrelu lower", lower, 0.0, 1.0)
        self.upper = validation.number("rrelu upper", upper, 0.0, 1.0)
        if self.upper < self.lower:
            raise NndlError(f"rrelu: upper slope {upper} is below lower slope {lower}")
        self.mask = None                # the last slopes drawn
        self.fixed_mask = False

    @property
    def mean_slope(self) -> float:
        """ᾱ = (lower + upper)/2, the slope at test time."""
        return 0.5 * (self.lower + self.upper)

    def build(self, input_shape, rng, dtype=FLOAT):
        self.rng = rng
        return super().build(input_shape, rng, dtype)

    def forward(self, x, training=False):
        if training:
            if not (self.fixed_mask and self.mask is not None and self.mask.shape == x.shape):
                self.mask = to_device(self.rng.uniform(self.lower, self.upper, size=x.shape), x.dtype)
            slope = self.mask
        else:
            slope = x.dtype.type(self.mean_slope)
        self.save(x=x, slope=slope)
        return xp.where(x > 0, x, slope * x).astype(x.dtype, copy=False)

    def backward(self, grad):
        kept = self.saved()
        if not self.needs_input_grad:
            return None
        return xp.where(kept["x"] > 0, grad, kept["slope"] * grad).astype(grad.dtype, copy=False)

    def config(self):
        return {"type": self.type, "lower": self.lower, "upper": self.upper}


@register_layer
class Maxout(Layer):
    """``units`` maxout units, each the largest of ``pieces`` affine functions of the input.

    The pieces' parameters are those of a linear dense layer of units·pieces neurons, built as one:
    W (units·pieces, n_in) and b, piece i of unit j in row j·pieces + i.
    """

    type = "maxout"
    spec_names = ("maxout",)
    needs_flat_input = True
    splits_over_batch = True

    def __init__(self, units: int, pieces: int = 2, init="default", use_bias: bool = True):
        super().__init__()
        self.units = validation.whole("maxout units", units, low=1)
        self.pieces = validation.whole("maxout pieces", pieces, low=1)
        self.affine = Dense(self.units * self.pieces, activation="linear", init=init, use_bias=use_bias)

    @classmethod
    def from_spec(cls, units, pieces=2, *, init="default", bias=True):
        """``maxout(units, pieces, init=NAME, bias=false)``."""
        return cls(units, pieces, init=init, use_bias=validation.boolean("bias", bias))

    @property
    def init(self):
        return self.affine.init

    @init.setter
    def init(self, value):                 # nndl train --init sets it, as for a dense layer
        self.affine.init = value

    def spec_args(self):
        options = {} if self.init.name == "default" else {"init": self.init.name}
        if not self.affine.use_bias:
            options["bias"] = False
        return [self.units, self.pieces], options

    def build(self, input_shape, rng, dtype=FLOAT):
        if len(input_shape) != 1:
            raise NndlError(f"maxout({self.units}) needs flat input of shape (n,), got {tuple(input_shape)}")
        self.affine.build(input_shape, rng, dtype)
        self.input_shape, self.output_shape, self.dtype = tuple(input_shape), (self.units,), dtype
        return self.output_shape

    @property
    def params(self):
        return self.affine.params

    def forward(self, x, training=False):
        """z = x Wᵀ + b as (N, units, pieces);  aⱼ = max_i z_{j,i}."""
        W, b = self.affine.W.value, self.affine.b
        z = x @ W.T
        if b is not None:
            z += b.value
        z = z.reshape(len(x), self.units, self.pieces)
        winner = z.argmax(axis=2)
        self.save(x=x, winner=winner)
        return xp.take_along_axis(z, winner[..., None], axis=2)[..., 0]

    def backward(self, grad):
        kept = self.saved()
        x, winner = kept["x"], kept["winner"]
        delta = xp.zeros((len(x), self.units, self.pieces), dtype=grad.dtype)
        xp.put_along_axis(delta, winner[..., None], grad[..., None], axis=2)   # ∂C/∂z: to the winning piece
        delta = delta.reshape(len(x), -1)
        self.affine.W.add_grad(delta.T @ x)                                   # BP4
        if self.affine.b is not None:
            self.affine.b.add_grad(delta.sum(axis=0))                         # BP3
        if not self.needs_input_grad:
            return None
        return delta @ self.affine.W.value

    def config(self):
        cfg = {"type": self.type, "units": self.units, "pieces": self.pieces, "init": self.init.name}
        if not self.affine.use_bias:
            cfg["use_bias"] = False
        return cfg

    def forward_flops(self, batch_size):
        return self.affine.forward_flops(batch_size)
