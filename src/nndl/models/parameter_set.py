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

    # -- the file: nndl.json (format, version, the constructor's config, metadata) and param/<member> ----------
    def members(self) -> list:
        """(member name, Parameter) for every parameter, as the file stores them (``param/<name>``)."""
        return [(f"param/{p.name}", p) for p in self._params]


def save_parameters(net: ParameterSet, path, file_format: str, version: int, metadata: dict | None = None):
    """Write ``net`` (its ``config()`` and every parameter) to ``path`` (.npz) atomically under its own format
    name; weights that are not finite are refused, so a diverged run never replaces a good file."""
    from pathlib import Path

    import numpy

    from nndl.backend import to_numpy
    from nndl.io import _json_array, _write_npz

    path = Path(path)
    arrays = {}
    for key, p in net.members():
        value = to_numpy(p.value)
        if not numpy.isfinite(value).all():
            raise NndlError(f"not saving {path}: the {net.what}'s weights {key} hold NaN or infinity")
        arrays[key] = value
    arrays["nndl.json"] = _json_array({"format": file_format, "version": version, "network": net.config(),
                                       "metadata": metadata or {}})
    _write_npz(path, arrays)
    return path


def load_parameters(path, cls, file_format: str, version: int, schema: dict, dtype):
    """The ``cls`` saved by :func:`save_parameters`, everything checked before use: the JSON against ``schema``
    (no unknown keys), the model built within the values the file holds, each member read in the shape it
    must have, finite.  One NndlError line naming the file otherwise; ``metadata`` is attached."""
    import math
    from pathlib import Path

    import numpy

    from nndl.backend import to_device
    from nndl.io import _open_archive, read_json_config
    from nndl.layers.base import allocation_budget
    from nndl.schema import check_schema

    path = Path(path)
    what = cls.what
    if not path.is_file():
        raise NndlError(f"model file {path} does not exist or is not a file")
    with _open_archive(path) as archive:
        config = read_json_config(archive, path)
        if config.get("format") != file_format:
            raise NndlError(f"{path} is not an nndl {what} (format {str(config.get('format'))[:40]!r})")
        check_schema(config, schema, f"{path}: nndl.json", extra_keys=False)
        if config["version"] > version:
            raise NndlError(f"{path} was written by a newer nndl ({what} format version {config['version']}); "
                            f"upgrade nndl")
        held = sum(math.prod(archive.header(name).shape) for name in archive.names() if name.startswith("param/"))
        try:
            with allocation_budget(held):
                net = cls(**config["network"], dtype=dtype)
        except NndlError as exc:
            raise NndlError(f"{path}: {exc}") from None
        for key, p in net.members():
            if key not in archive:
                raise NndlError(f"{path}: missing weights {key}")
            value = archive.read_array(key, shape=tuple(p.value.shape), kinds="f")
            with numpy.errstate(over="ignore", invalid="ignore"):
                value = value.astype(p.value.dtype, copy=False)
            if not numpy.isfinite(value).all():
                raise NndlError(f"{path}: weights {key} hold NaN or infinity")
            p.value[...] = to_device(value)
    net.metadata = config.get("metadata", {})
    return net
