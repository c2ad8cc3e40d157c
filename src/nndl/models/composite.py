"""A model file of several parts: networks and named arrays in one ``.npz``, for the model kinds
that are more than one network (a GAN's generator and discriminator, a VAE's encoder and
decoder, a deep belief net's stack of RBMs, an RBM's weight matrix and two bias vectors).

The archive (read with the same checks as :mod:`nndl.io`, never ``allow_pickle``) holds

* ``nndl.json`` — ``{"format": "nndl-composite", "version": 1, "kind": "gan", "config": {...},
  "networks": {name: <a model config of nndl.io>}, "arrays": [names], "metadata": {...}}``;
* ``net/<name>/param/<layer path>/<param>`` (and ``buffer/``, ``pre/``): each network's arrays,
  exactly as :func:`nndl.io.save` writes them, under the network's name;
* ``array/<name>``: each named array (float, finite).

:func:`load` checks the JSON against its schema, builds each network within the budget of the
values the file holds and reads only the members it names, in the shapes they must have.  The
named arrays come back as they are in the file (their sizes bounded by the archive's checks):
the model kind that reads them checks their shapes against its ``config`` with
:func:`array_of`.  Every failure is one :class:`NndlError` line naming the file.  Writes are atomic,
and arrays or weights that are not finite are never written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy

from nndl.backend import to_numpy
from nndl.errors import NndlError
from nndl.schema import Field, check_schema

FORMAT = "nndl-composite"
VERSION = 1
#: Networks and named arrays one file may hold.
MAX_PARTS = 64
_NAME = r"[A-Za-z][A-Za-z0-9_]{0,63}"
_SCHEMA = {"format": Field(str, max_len=64), "version": Field(int, low=1), "kind": Field(str, max_len=64),
           "config": Field(dict), "networks": Field(dict, max_len=MAX_PARTS),
           "arrays": Field(list, max_len=MAX_PARTS, items=Field(str, max_len=64)),
           "metadata": Field(dict, required=False)}


@dataclass
class Composite:
    """What a composite file holds: its ``kind``, the kind's ``config``, the networks and arrays by
    name, and free-form ``metadata``."""

    kind: str
    config: dict
    networks: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    path: Path | None = None

    def array_of(self, name: str, shape: tuple) -> numpy.ndarray:
        """The array ``name`` as float32, which must have ``shape``; one line naming the file otherwise."""
        if name not in self.arrays:
            raise NndlError(f"{self.path}: the {self.kind} has no array {name!r}")
        value = self.arrays[name]
        if tuple(value.shape) != tuple(shape):
            raise NndlError(f"{self.path}: the {self.kind}'s array {name!r} has shape {tuple(value.shape)}, "
                            f"its config says {tuple(shape)}")
        return value

    @property
    def held(self) -> int:
        """The number of values the file holds (its arrays and its networks' weights and buffers): a
        config that asks for more is refused before it allocates (:class:`nndl.layers.base.allocation_budget`)."""
        values = sum(int(a.size) for a in self.arrays.values())
        for net in self.networks.values():
            values += sum(int(p.value.size) for _, layer in net.leaves() for p in layer.params)
            values += sum(int(b.size) for _, layer in net.leaves() for b in layer.buffers.values())
        return values

    def network(self, name: str):
        if name not in self.networks:
            raise NndlError(f"{self.path}: the {self.kind} has no network {name!r}")
        return self.networks[name]


def _check_name(name: str, what: str) -> str:
    import re

    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise NndlError(f"{what} name {name!r}: use letters, digits and _ (a letter first, at most 64)")
    return name


def save(path, kind: str, config: dict, networks: dict | None = None, arrays: dict | None = None,
         metadata: dict | None = None) -> Path:
    """Write a composite model file atomically; refuses weights or arrays that are not finite."""
    from nndl.io import _check_finite, _json_array, _model_config, _network_arrays, _write_npz

    path = Path(path)
    networks, arrays = dict(networks or {}), dict(arrays or {})
    if len(networks) + len(arrays) > MAX_PARTS:
        raise NndlError(f"a composite model holds at most {MAX_PARTS} parts")
    members = {}
    for name, network in networks.items():
        _check_name(name, "network")
        _check_finite(network, path)
        members.update(_network_arrays(network, prefix=f"net/{name}/"))
    for name, value in arrays.items():
        _check_name(name, "array")
        value = numpy.asarray(to_numpy(value))
        if value.dtype.kind != "f":
            value = value.astype(numpy.float32)
        if not numpy.isfinite(value).all():
            raise NndlError(f"not saving {path}: the {kind}'s array {name!r} holds NaN or infinity "
                            f"(the training diverged)")
        members[f"array/{name}"] = value
    config_json = {"format": FORMAT, "version": VERSION, "kind": kind, "config": config,
                   "networks": {name: _model_config(net, None) for name, net in networks.items()},
                   "arrays": sorted(arrays), "metadata": metadata or {}}
    members["nndl.json"] = _json_array(config_json)
    _write_npz(path, members)
    return path


def read_kind(path) -> str | None:
    """The ``kind`` of a composite file, or None if ``path`` is another nndl file (a network model, an
    encoder-decoder); one line if it is no readable archive."""
    from nndl.io import _open_archive, read_json_config

    path = Path(path)
    if not path.is_file():
        raise NndlError(f"model file {path} does not exist or is not a file")
    with _open_archive(path) as archive:
        config = read_json_config(archive, path)
    if config.get("format") != FORMAT:
        return None
    kind = config.get("kind")
    if not isinstance(kind, str):
        raise NndlError(f"{path}: nndl.json: the composite model names no kind")
    return kind[:64]


def load(path, kinds: tuple | None = None, dtype=None) -> Composite:
    """The parts of a composite file; ``kinds`` (if given) are the kinds the caller can use."""
    from nndl.io import (_build_network, _check_network, _open_archive, _read_preprocessors, _read_weights,
                         read_json_config)

    path = Path(path)
    if not path.is_file():
        raise NndlError(f"model file {path} does not exist or is not a file")
    with _open_archive(path) as archive:
        config = read_json_config(archive, path)
        where = f"{path}: nndl.json"
        if config.get("format") != FORMAT:
            raise NndlError(f"{path} is not a composite nndl model (format {str(config.get('format'))[:40]!r})")
        check_schema(config, _SCHEMA, where)
        if config["version"] > VERSION:
            raise NndlError(f"{path} was written by a newer nndl (composite format version {config['version']}); "
                            f"upgrade nndl")
        kind = config["kind"]
        if kinds is not None and kind not in kinds:
            raise NndlError(f"{path} holds a {kind}, not a {' or '.join(kinds)}")
        networks = {}
        for name, net_config in config["networks"].items():
            _check_name(name, f"{where}: network")
            if not isinstance(net_config, dict) or not isinstance(net_config.get("network"), dict):
                raise NndlError(f"{where}: network {name!r} has no architecture")
            _check_network(net_config["network"], where, path=f"networks.{name}")
            prefix = f"net/{name}/"
            net = _build_network(archive, net_config, path, dtype, prefix=prefix)
            _read_weights(archive, net, path, prefix=prefix)
            _read_preprocessors(archive, net_config, net, path, member_prefix=prefix)
            net.class_names = net_config.get("class_names")
            networks[name] = net
        arrays = {}
        for name in config["arrays"]:
            _check_name(name, f"{where}: array")
            member = f"array/{name}"
            if member not in archive:
                raise NndlError(f"{path}: missing array {member}")
            value = archive.read_array(member, kinds="f")
            with numpy.errstate(over="ignore", invalid="ignore"):
                value = value.astype(numpy.float32 if dtype is None else dtype, copy=False)
            if not numpy.isfinite(value).all():
                raise NndlError(f"{path}: array {member} holds NaN or infinity")
            arrays[name] = value
    return Composite(kind, config["config"], networks, arrays, config.get("metadata", {}), path)
