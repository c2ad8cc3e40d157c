"""A saved classifier seen from pixel space: outputs and ∂C/∂x of raw examples.

The attacks perturb the pixels x ∈ [low, high]ᴰ the user sees, not the network's input.  A
model stores its preprocessing P (:mod:`nndl.preprocessing`), so the network computes
f(P(x)).  Every preprocessing nndl has is affine, P(x) = (x − μ) A, so by the chain rule

    ∂C/∂x = (∂C/∂P(x)) Aᵀ,

its Jacobian transposed applied to the network's input gradient.  That needs no inverse: a PCA
that keeps k < D components (which has none) is attacked as well as a mean subtraction.  A
preprocessing whose Jacobian is not known here is a one-line error.
"""
from __future__ import annotations

import numpy

from nndl.backend import to_device, to_numpy, xp
from nndl.errors import NndlError


def _jacobian_t(pre):
    """g ↦ g Aᵀ for the preprocessing ``pre`` (P(x) = (x − μ) A), on float64 rows."""
    name = getattr(pre, "name", None)
    if name == "mean":
        return lambda g: g
    if name == "standardize":
        return lambda g: g / pre.std
    if name == "pca":
        return lambda g: g @ pre.components.T
    if name == "pca_whiten":
        return lambda g: (g / numpy.sqrt(pre.variances + pre.eps)) @ pre.components.T
    if name == "zca":
        return lambda g: g @ pre._whitening()[0].T
    raise NndlError(f"cannot attack through the model's {name!r} preprocessing: its Jacobian is not known "
                    f"(nndl attacks in pixel space through mean, standardize, pca, pca_whiten and zca)")


class PixelClassifier:
    """A classifier network with its stored preprocessing, taking pixel-space batches.

    Parameters
    ----------
    network : Network
        A classifier: one output per class (at least two), no target scaling.
    low, high : float
        The valid pixel range (MNIST: [0, 1]).
    path : str
        Names the model in messages.
    """

    def __init__(self, network, low: float = 0.0, high: float = 1.0, path: str = "the model"):
        check_classifier(network, path)
        if not high > low:
            raise NndlError(f"the pixel range [{low}, {high}] is empty")
        self.network = network
        self.low, self.high = float(low), float(high)
        self.classes = network.num_classes
        pre = network.preprocessor
        self._back = None if pre is None else _jacobian_t(pre)

    def _input(self, x):
        """Pixel batch ``x`` → the network's input batch (through the preprocessing)."""
        net = self.network
        if net.preprocessor is not None:
            x = net.preprocessor.transform(to_numpy(x).reshape(len(x), -1))
        return net.as_input(x)

    def outputs(self, x, batch_size: int = 1000):
        """Output activations aᴸ of pixel batch ``x`` (host array)."""
        return self.network.predict_proba(to_numpy(x), batch_size=batch_size)

    def one_hot(self, labels):
        return self.network.one_hot(to_device(numpy.asarray(labels)))

    def gradient(self, x, targets):
        """(∂C/∂x, aᴸ): the gradient of each example's own cost C(f(P(xᵢ)), tᵢ) with respect to its
        pixels (shape of ``x``), for one-hot ``targets``, with the network in inference mode (no
        dropout, batch norm's running statistics).  Parameter gradients are discarded."""
        net = self.network
        inputs = self._input(x)
        with numpy.errstate(over="ignore", invalid="ignore"):
            a, g = net.backprop_add(inputs, targets, 1.0, training=False, input_grad=True)
        net.zero_grad()
        g = g.reshape(len(x), -1)
        if self._back is not None:
            g = to_device(self._back(to_numpy(g).astype(numpy.float64)), net.dtype)
        return xp.asarray(g, dtype=x.dtype).reshape(x.shape), a

    def clip(self, x):
        return xp.clip(x, self.low, self.high, out=x)


def check_classifier(network, path: str = "the model") -> None:
    """A one-line NndlError unless ``network`` is a classifier with one output per class."""
    settings = getattr(network, "metadata", {}).get("settings") or {}
    task = settings.get("task") if isinstance(settings, dict) else None
    if task not in (None, "classification") or getattr(network, "target_preprocessor", None) is not None:
        raise NndlError(f"{path} is a {task or 'regression'} model, not a classifier; attacks need classes to "
                        f"change")
    if len(network.output_shape) != 1 or network.num_classes < 2:
        raise NndlError(f"{path} has outputs of shape {network.output_shape}; attacks need a classifier with one "
                        f"output per class (at least two)")
    if network.input_kind != "float":
        raise NndlError(f"{path} reads token ids, not pixels; there is no gradient to follow")
