"""The NTM as a model: its cost (binary cross-entropy on the masked output steps), one training step, and
saving and loading in a checked ``.npz`` format.

The cost of a batch of outputs ŷ (B, T, K) against targets y with a mask m (B, T) is the mean over the
counted bits,

    C = −Σ_{b,t,k} m_bt [y ln ŷ + (1 − y) ln(1 − ŷ)] / (K Σ_{b,t} m_bt),

and since ŷ = σ(z), its gradient at the output pre-activation is δ = m (ŷ − y) / (K Σ m).
"""
from __future__ import annotations

import numpy

from nndl.backend import FLOAT, to_device, to_numpy, xp
from nndl.data.copy_task import bits_wrong
from nndl.errors import NndlError
from nndl.models.base import Model
from nndl.models.ntm.machine import CONTROLLERS, WEIGHTINGS, TuringMachine
from nndl.models.parameter_set import load_parameters, save_parameters

#: ŷ is kept in [ε, 1 − ε] inside the logarithms of the cost.
_CLIP = 1e-7


def masked_bce(outputs, y, mask) -> float:
    """C above, in nats per counted bit."""
    p = xp.clip(outputs, _CLIP, 1.0 - _CLIP)
    per = -(y * xp.log(p) + (1.0 - y) * xp.log(1.0 - p)) * mask[:, :, None]
    return float(per.sum() / (outputs.shape[2] * max(float(mask.sum()), 1.0)))


def masked_bce_delta(outputs, y, mask):
    """δ = m (ŷ − y) / (K Σ m), the gradient of :func:`masked_bce` at the pre-activation."""
    return (outputs - y) * (mask[:, :, None] / (outputs.shape[2] * max(float(mask.sum()), 1.0)))


class NTM(Model):
    """A Neural Turing Machine trained on (x, y, mask) sequences (see :mod:`nndl.models.ntm.machine`).

    ``NTM(TuringMachine(9, 8), RMSprop(1e-4, rho=0.95, mu=0.9, clip_value=10))``; ``train_step(x, (y, mask))``
    with x (B, T, D), y (B, T, K) in [0, 1] and mask (B, T).
    """

    task = "sequence-to-sequence memory"

    def __init__(self, network: TuringMachine, optimizer=None, regularizers=(), constraints=()):
        super().__init__(network, optimizer, regularizers, constraints, metrics=())

    def check_data(self, x, y, what: str):
        """x, (y, mask) checked against the machine: shapes, widths, finite values, a mask of 0s and 1s."""
        net = self.network
        x = net.check_input(x, what)
        if not (isinstance(y, tuple) and len(y) == 2):
            raise NndlError(f"{what}: targets must be a pair (y, mask)")
        target, mask = numpy.asarray(y[0]), numpy.asarray(y[1])
        b, t = x.shape[:2]
        if target.shape != (b, t, net.outputs):
            raise NndlError(f"{what}: targets must have shape {(b, t, net.outputs)}, got {target.shape}")
        if mask.shape != (b, t):
            raise NndlError(f"{what}: the mask must have shape {(b, t)}, got {mask.shape}")
        if target.dtype.kind not in "fiub" or not numpy.isfinite(target).all() or target.min() < 0 or target.max() > 1:
            raise NndlError(f"{what}: targets must be numbers in [0, 1]")
        if not numpy.isin(mask, (0, 1)).all():
            raise NndlError(f"{what}: the mask must hold only 0 and 1")
        return x, (xp.asarray(target, dtype=net.dtype), xp.asarray(mask, dtype=net.dtype))

    def train_step(self, x, y) -> dict:
        target, mask = (to_device(a, self.network.dtype) for a in y)
        x = to_device(x, self.network.dtype)
        out = self.network.backprop(x, lambda o: masked_bce_delta(o, target, mask))
        self.apply_gradients()
        return {"cost": masked_bce(out, target, mask), "bits_wrong": bits_wrong(to_numpy(out), to_numpy(target),
                                                                              to_numpy(mask))}

    def evaluate(self, x, y, batch_size: int = 100) -> dict:
        """``{"cost": nats per output bit, "bits_wrong": per sequence}`` over (x, (y, mask))."""
        target, mask = y
        cost = wrong = 0.0
        for i in range(0, len(x), batch_size):
            out = self.network.forward(to_device(x[i:i + batch_size], self.network.dtype))
            tb, mb = to_device(target[i:i + batch_size], self.network.dtype), to_device(mask[i:i + batch_size],
                                                                                         self.network.dtype)
            n = len(tb)
            cost += masked_bce(out, tb, mb) * n
            wrong += bits_wrong(to_numpy(out), to_numpy(tb), to_numpy(mb)) * n
        return {"cost": cost / len(x), "bits_wrong": wrong / len(x)}

    def predict(self, x, batch_size: int = 100, preprocessed: bool = False):
        x = numpy.asarray(x)
        return numpy.concatenate([to_numpy(self.network.forward(to_device(x[i:i + batch_size], self.network.dtype)))
                                  for i in range(0, len(x), batch_size)])


# -- saving and loading -----------------------------------------------------------------------------------------------
#: The file format of a saved NTM: an ``.npz`` like :mod:`nndl.io`'s model files (``nndl.json`` and
#: ``param/<name>`` members, read with the same checked archive), under its own format name.
FORMAT = "nndl-ntm"
VERSION = 1
_MAX_SIZE = 1 << 16


def _schema():
    from nndl.schema import Field

    size = Field(int, low=1, high=_MAX_SIZE)
    net = {"inputs": size, "outputs": size, "locations": size, "width": size, "units": size,
           "read_heads": Field(int, low=1, high=64), "write_heads": Field(int, low=0, high=64),
           "controller": Field(str, choices=CONTROLLERS),
           "initial_weighting": Field(str, choices=WEIGHTINGS, required=False),
           "seed": Field(int, low=0, high=2 ** 63 - 1)}
    return {"format": Field(str, max_len=64), "version": Field(int, low=1), "network": Field(dict, fields=net),
            "metadata": Field(dict, required=False)}


def save(model_or_network, path, metadata: dict | None = None):
    """Save an NTM (weights and architecture) to ``path`` (.npz), atomically; weights that are not finite
    are refused, so a diverged run never replaces a good file."""
    return save_parameters(getattr(model_or_network, "network", model_or_network), path, FORMAT, VERSION, metadata)


def load(path, dtype=FLOAT) -> TuringMachine:
    """The NTM saved by :func:`save`; everything in the file is checked before it is used (one NndlError
    line naming the file otherwise).  Its ``metadata`` is attached."""
    return load_parameters(path, TuringMachine, FORMAT, VERSION, _schema(), dtype)


__all__ = ["NTM", "TuringMachine", "load", "masked_bce", "masked_bce_delta", "save"]
