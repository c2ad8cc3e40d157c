"""What the model and the trainer ask of a network, for a model kind that is not a stack of layers.

:class:`nndl.models.seq2seq.EncoderDecoder` and :class:`nndl.models.ntm.machine.TuringMachine` run
their own forward and backward passes over parts they hold; they keep their Parameters in
``self._params`` and take these methods from :class:`ParameterSet`, so :class:`nndl.models.Model`,
the optimizers, early stopping (``get_state``/``set_state``: the best weights) and the trainer treat
them as they treat a :class:`~nndl.network.Network`.
"""
from __future__ import annotations

from nndl.errors import NndlError


class ParameterSet:
    """``params``, ``trainable_params``, ``buffers``, ``zero_grad``, ``get_state``, ``set_state`` over
    ``self._params``; :attr:`what` names the model in messages."""

    what = "model"
    _params: list

    @property
    def params(self):
        return self._params

    @property
    def trainable_params(self):
        return [p for p in self._params if p.trainable]

    @property
    def buffers(self) -> dict:
        return {}

    def zero_grad(self) -> None:
        for p in self._params:
            p.zero_grad()

    def get_state(self) -> list:
        return [p.value.copy() for p in self._params]

    def set_state(self, values) -> None:
        if len(values) != len(self._params):
            raise NndlError(f"expected {len(self._params)} arrays for the {self.what}, got {len(values)}")
        for p, v in zip(self._params, values):
            if tuple(v.shape) != tuple(p.value.shape):
                raise NndlError(f"{self.what} parameter {p.name}: shape {tuple(v.shape)}, expected "
                                f"{tuple(p.value.shape)}")
            p.value[...] = v
