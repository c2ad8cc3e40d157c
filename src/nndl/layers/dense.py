"""The fully connected (dense) layer: chapter 2's four equations of backpropagation.

Notation of the book, with mini-batches as rows (batch-major):

* weights ``W`` of shape (n_out, n_in): W[j, k] connects neuron k of the previous
  layer to neuron j of this one; biases ``b`` of shape (n_out,);
* weighted input  zˡ = aˡ⁻¹ Wᵀ + b     (one row per example);
* activation      aˡ = σ(zˡ).

Backward, given ∂C/∂aˡ from the layer above (or δᴸ from the cost, for the output layer):

* (BP1/BP2)  δˡ = ∂C/∂aˡ ⊙ σ'(zˡ), where ∂C/∂aˡ = δˡ⁺¹ Wˡ⁺¹ was handed down
* (BP3)      ∂C/∂bˡ = Σ_x δˡ_x               (sum over the rows of the batch)
* (BP4)      ∂C/∂Wˡ = (δˡ)ᵀ aˡ⁻¹            (Σ_x δˡ_x (aˡ⁻¹_x)ᵀ)
* and hands down ∂C/∂aˡ⁻¹ = δˡ Wˡ, the (wˡ⁺¹)ᵀ δˡ⁺¹ of BP2 for the layer below.

The 1/m of the mini-batch average is applied once, to δᴸ, by the network.  The
gradients are added to what the parameters hold (see ``layers/base.py``), so a layer
used twice, or a weight shared with :class:`~nndl.layers.tied.TiedDense`, collects the
sum of all its uses.
"""
from __future__ import annotations

from nndl import validation
from nndl.activations import get_activation
from nndl.backend import FLOAT
from nndl.errors import NndlError
from nndl.initializers import get_initializer
from nndl.layers.base import Layer, register_layer


@register_layer
class Dense(Layer):
    """A fully connected layer of ``units`` neurons with activation σ.

    Parameters
    ----------
    units : int
        Number of neurons n_out.
    activation : str or Activation, optional
        σ: ``"sigmoid"`` (default), ``"tanh"``, ``"relu"``, ``"leaky_relu"``,
        ``"linear"``, ``"softmax"``.
    init : str or Initializer, optional
        Weight initialization (default ``"default"``: N(0, 1/n_in), the book's chapter 3).
    use_bias : bool
        False when a batch-norm layer follows (its β makes b redundant).
    """

    type = "dense"
    spec_names = ("dense",)
    spec_aliases = {"use_bias": "bias"}
    fuses_activation = True
    needs_flat_input = True
    splits_over_batch = True

    def __init__(self, units: int, activation="sigmoid", init="default", use_bias: bool = True):
        super().__init__()
        self.units = validation.whole("dense units", units, low=1)
        self.activation = get_activation(activation)
        self.init = get_initializer(init)
        self.use_bias = validation.boolean("dense use_bias", use_bias)
        self.W = self.b = None

    @classmethod
    def from_spec(cls, units, *, init="default", bias=True, activation="linear"):
        """``dense(units, init=NAME, bias=false)``: linear unless an activation word follows."""
        return cls(units, activation=activation, init=init, use_bias=validation.boolean("bias", bias))

    def spec_args(self):
        options = {} if self.init.name == "default" else {"init": self.init.name}
        if not self.use_bias:
            options["bias"] = False
        return [self.units], options

    def build(self, input_shape, rng, dtype=FLOAT):
        if len(input_shape) != 1:
            raise NndlError(f"dense({self.units}) needs flat input of shape (n,), got {tuple(input_shape)}; "
                            f"put a flatten layer before it")
        n_in = int(input_shape[0])
        self.input_shape, self.output_shape, self.dtype = (n_in,), (self.units,), dtype
        self.W = self.add_param("W", (self.units, n_in), lambda s: self.init.weights(s, n_in, self.units, rng, dtype),
                                regularize=True)
        if self.use_bias:
            self.b = self.add_param("b", (self.units,), lambda s: self.init.biases(s, rng, dtype))
        return self.output_shape

    @property
    def params(self):
        return [self.W, self.b] if self.use_bias else [self.W]

    def forward(self, x, training=False):
        """aˡ = σ(aˡ⁻¹ Wᵀ + b)."""
        z = x @ self.W.value.T
        if self.use_bias:
            z += self.b.value
        a = self.activation.forward(z)
        self.save(x=x, z=z, a=a)
        return a

    def backward(self, grad_a):
        """BP2's Hadamard product δˡ = ∂C/∂aˡ ⊙ σ'(zˡ), then :meth:`backward_delta`."""
        kept = self.peek()
        return self.backward_delta(self.activation.backward(kept["z"], kept["a"], grad_a))

    def backward_delta(self, delta):
        """Given δˡ = ∂C/∂zˡ: BP3 and BP4 into the parameters; returns δˡ Wˡ for the layer below."""
        x = self.saved()["x"]
        self.W.add_grad(delta.T @ x)                        # BP4: ∂C/∂W = δᵀ aˡ⁻¹
        if self.use_bias:
            self.b.add_grad(delta.sum(axis=0))              # BP3: ∂C/∂b = Σ_x δ
        if not self.needs_input_grad:
            return None
        return delta @ self.W.value                         # BP2: (wˡ)ᵀ δˡ, handed down

    def config(self):
        cfg = {"type": self.type, "units": self.units, "activation": self.activation.config(),
               "init": self.init.name}
        if not self.use_bias:
            cfg["use_bias"] = False
        return cfg

    def forward_flops(self, batch_size):
        return 2.0 * batch_size * self.input_shape[0] * self.units
