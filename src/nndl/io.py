"""Saving and loading models and training checkpoints, without pickle.

A model file is one ``.npz`` archive (read with ``allow_pickle=False``):

* ``nndl.json`` — the JSON config as UTF-8 bytes: format name and version, the network's
  architecture (``Network.config()``), class names, the preprocessor's config, and
  free-form metadata (how it was trained, its accuracy);
* ``param/<path>/<name>`` — every parameter array, ``buffer/<path>/<name>`` every buffer
  (batch norm's running averages), ``pre/<name>`` the preprocessor's arrays.  The path
  of a layer is its position, ``3``, or ``1/3`` inside a network nested as layer 1
  (:meth:`Network.leaves <nndl.network.Network.leaves>`).

A checkpoint is a model file with the state of the parts of a run added, each through
its own small protocol (``state()`` returns JSON values and arrays, ``load_state``
takes them back): the trainer (epochs done, history, shuffling generator), the model
(its optimizer's step count and moments), every callback (early stopping's best
weights, a schedule's η₀), and the network's generator (dropout masks).  In the file
the JSON side is ``checkpoint`` in ``nndl.json``; each array of a state is the member
``state/<where>``, named in the JSON by ``{"__array__": "<where>"}``.  So a resumed run
ends with exactly the weights of an uninterrupted one.

Format versions: 1 (before nndl's general engine) and 2.  Models of either version
load; a checkpoint must be version 2 to resume.

Reading trusts nothing in the file (a model is something users download and share):
the archive's directory and every member's header are checked before any data are read
(:mod:`nndl.archive`), the JSON is checked against the schema below, the network is built
within an :class:`~nndl.layers.base.allocation_budget` of the values the file holds (so a
config that asks for a billion units fails before it allocates them), only the members
the architecture names are read, each in the shape it needs, and weights that are not
finite numbers are refused.  Every failure is one :class:`NndlError` line naming the file.

Writes are atomic: a temporary file in the same folder, then ``os.replace``; weights that
are not finite are never written.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy

from nndl.archive import NpzArchive
from nndl.schema import Field, check_schema
from nndl.backend import to_device, to_numpy
from nndl.errors import NndlError
from nndl.files import atomic_write

FORMAT = "nndl-model"
VERSION = 2
#: What a model's config may ask for before it is built: layers in one network, networks
#: inside networks, the size of one dimension of an example (nndl's largest nets use a
#: dozen layers and inputs of 784 values).
MAX_LAYERS = 1000
MAX_NESTING = 8
MAX_DIMENSION = 1 << 24
_NOTHING = type(None)

_NETWORK = {"input_shape": Field(list, max_len=8, items=Field(int, low=1, high=MAX_DIMENSION)),
            "cost": Field(str, max_len=64),
            "seed": Field(int, required=False, low=0, high=2 ** 64 - 1),
            "layers": Field(list, max_len=MAX_LAYERS, items=Field(dict))}
_MODEL = {"format": Field(str, max_len=64), "version": Field(int, low=1), "network": Field(dict),
          "class_names": Field((list, _NOTHING), required=False, max_len=65536, items=Field(str, max_len=1000)),
          "preprocessor": Field((dict, _NOTHING), required=False),
          "target_preprocessor": Field((dict, _NOTHING), required=False),
          "metadata": Field(dict, required=False), "checkpoint": Field(dict, required=False)}
_CHECKPOINT = {"trainer": Field(dict, fields={"epoch": Field(int, low=0), "rng": Field((dict, _NOTHING)),
                                              "history": Field(dict, fields={"epochs": Field(list, items=Field(dict)),
                                                                             "final": Field(dict)})}),
               "model": Field(dict),
               "callbacks": Field(list, max_len=MAX_LAYERS, items=Field(dict, fields={"type": Field(str, max_len=100),
                                                                                        "state": Field(dict)})),
               "network_rng": Field(dict)}


def _write_npz(path: Path, arrays: dict) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NndlError(f"cannot save {path}: folder {folder} does not exist")
    with atomic_write(path) as f:
        numpy.savez(f, **arrays)


def _json_array(obj) -> numpy.ndarray:
    return numpy.frombuffer(json.dumps(obj).encode("utf-8"), dtype=numpy.uint8)


def _network_arrays(network, prefix: str = "") -> dict:
    """The members of ``network``'s arrays, each name after ``prefix`` (a file holding several
    networks gives each its own, :mod:`nndl.models.composite`)."""
    arrays = {}
    for path, layer in network.leaves():
        for p in layer.params:
            arrays[f"{prefix}param/{path}/{p.name}"] = to_numpy(p.value)
        for name, value in layer.buffers.items():
            arrays[f"{prefix}buffer/{path}/{name}"] = to_numpy(value)
    if network.preprocessor is not None:
        for name, value in network.preprocessor.arrays().items():
            arrays[f"{prefix}pre/{name}"] = numpy.asarray(value)
    if getattr(network, "target_preprocessor", None) is not None:
        for name, value in network.target_preprocessor.arrays().items():
            arrays[f"{prefix}target_pre/{name}"] = numpy.asarray(value)
    return arrays


def _model_config(network, metadata) -> dict:
    pre, target = network.preprocessor, getattr(network, "target_preprocessor", None)
    return {"format": FORMAT, "version": VERSION, "network": network.config(),
            "class_names": network.class_names, "preprocessor": None if pre is None else pre.config(),
            "target_preprocessor": None if target is None else target.config(), "metadata": metadata or {}}


def _check_finite(network, path) -> None:
    for where, layer in network.leaves():
        for p in layer.params:
            if not bool(numpy.isfinite(to_numpy(p.value)).all()):
                raise NndlError(f"not saving {path}: the weights {where}/{p.name} ({layer.type}) hold NaN or "
                                f"infinity (the training diverged)")


def save(network, path, metadata: dict | None = None) -> Path:
    """Save ``network`` (weights, architecture, preprocessor, class names) to ``path`` (.npz).

    Weights that are not all finite numbers are refused (one line), so a diverged run
    never replaces a good file.
    """
    path = Path(path)
    _check_finite(network, path)
    arrays = _network_arrays(network)
    arrays["nndl.json"] = _json_array(_model_config(network, metadata))
    _write_npz(path, arrays)
    return path


def _check_network(config: dict, where: str, path: str = "network", depth: int = 0) -> None:
    """The network config's shape and types, and those of every network nested in it."""
    if depth > MAX_NESTING:
        raise NndlError(f"{where}: networks nested more than {MAX_NESTING} deep")
    check_schema(config, _NETWORK, where, path=path)
    for i, layer in enumerate(config["layers"]):
        if layer.get("type") == "network":
            _check_network(layer, where, f"{path}.layers[{i}]", depth + 1)


def read_json_config(archive: NpzArchive, path: Path) -> dict:
    """``nndl.json`` of an open model archive (any of nndl's model formats), as a dict; one line if the
    archive holds none."""
    if "nndl.json" not in archive:
        raise NndlError(f"{path} is a .npz archive but not an nndl model (no nndl.json inside)")
    config = archive.read_json("nndl.json")
    if not isinstance(config, dict):
        raise NndlError(f"{path}: nndl.json is not a JSON object")
    return config


def _read_config(archive: NpzArchive, path: Path) -> dict:
    """``nndl.json``, checked: an nndl model of a version this nndl reads, with a well-formed network."""
    config = read_json_config(archive, path)
    where = f"{path}: nndl.json"
    if config.get("format") == "nndl-composite":
        kind = str(config.get("kind"))[:40]
        raise NndlError(f"{path} holds a {kind} (a model of several parts, from nndl train --model), not one network; "
                        f"nndl sample reads it")
    if config.get("format") != FORMAT:
        raise NndlError(f"{path} is not an nndl model (format {str(config.get('format'))[:40]!r})")
    check_schema(config, _MODEL, where)
    if config["version"] > VERSION:
        raise NndlError(f"{path} was written by a newer nndl (format version {config['version']}, "
                        f"this one reads up to {VERSION}); upgrade nndl")
    _check_network(config["network"], where)
    return config


def _build_network(archive: NpzArchive, config: dict, path: Path, dtype, prefix: str = ""):
    """The network of the config, built within the budget of the values the file holds."""
    from nndl.layers.base import allocation_budget
    from nndl.network import Network

    held = sum(math.prod(archive.header(name).shape) for name in archive.names()
               if name.startswith((f"{prefix}param/", f"{prefix}buffer/")))
    try:
        with allocation_budget(held):
            return Network.from_config(config["network"], **({} if dtype is None else {"dtype": dtype}))
    except NndlError as exc:
        raise NndlError(f"{path}: {exc}") from None


def _read_weights(archive: NpzArchive, network, path: Path, prefix: str = "") -> None:
    """Every parameter and buffer the architecture names, in the shape it needs, finite."""
    for where, layer in network.leaves():
        named = [(f"{prefix}param/{where}/{p.name}", p.value) for p in layer.params] + \
                [(f"{prefix}buffer/{where}/{name}", value) for name, value in layer.buffers.items()]
        for key, target in named:
            if key not in archive:
                raise NndlError(f"{path}: missing weights {key} for layer {where} ({layer.type})")
            value = archive.read_array(key, shape=tuple(target.shape), kinds="f")
            with numpy.errstate(over="ignore", invalid="ignore"):
                value = value.astype(target.dtype, copy=False)     # 1e300 is no float32: it becomes inf
            if not numpy.isfinite(value).all():
                raise NndlError(f"{path}: weights {key} of layer {where} ({layer.type}) hold NaN or infinity "
                                f"(in {target.dtype}); the run that saved them had diverged")
            target[...] = to_device(value)


def _read_preprocessors(archive: NpzArchive, config: dict, network, path: Path, member_prefix: str = "") -> None:
    from nndl.preprocessing import preprocessor_from_config

    for key, prefix in (("preprocessor", f"{member_prefix}pre/"),
                        ("target_preprocessor", f"{member_prefix}target_pre/")):
        if not config.get(key):
            continue
        stored = {name[len(prefix):]: archive.read_array(name, kinds="f") for name in archive.names()
                  if name.startswith(prefix)}
        for name, value in stored.items():
            if not numpy.isfinite(value).all():
                raise NndlError(f"{path}: the {key}'s {name!r} holds NaN or infinity")
        try:
            setattr(network, key, preprocessor_from_config(config[key], stored))
        except NndlError as exc:
            raise NndlError(f"{path}: {key}: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise NndlError(f"{path}: the {key} in the file is malformed ({type(exc).__name__})") from None


def _open_archive(path: Path) -> NpzArchive:
    """The file as a checked archive, or one line saying it is not a model file at all."""
    try:
        return NpzArchive(path)
    except NndlError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise NndlError(f"{path} is not a readable nndl model file ({reason})") from None


def _read_model(path, dtype=None, checkpoint: bool = False):
    """(network, config, state arrays) of a model file or, with ``checkpoint``, a checkpoint."""
    path = Path(path)
    if not path.exists():
        raise NndlError(f"model file {path} does not exist")
    if not path.is_file():
        raise NndlError(f"{path} is not a file")
    with _open_archive(path) as archive:
        config = _read_config(archive, path)
        if checkpoint and "checkpoint" not in config:
            raise _not_a_checkpoint(config, path)
        network = _build_network(archive, config, path, dtype)
        _read_weights(archive, network, path)
        _read_preprocessors(archive, config, network, path)
        state = {name: archive.read_array(name) for name in archive.names() if name.startswith("state/")} \
            if checkpoint else {}
    network.class_names = config.get("class_names")
    network.metadata = config.get("metadata", {})
    return network, config, state


def load(path, dtype=None):
    """Load a model saved by :func:`save` (or a checkpoint); returns the Network.

    Its ``metadata`` dict is attached as ``network.metadata``.
    """
    return _read_model(path, dtype)[0]


# -- checkpoints ------------------------------------------------------------------------------
def _split_arrays(obj, where: str, arrays: dict):
    """``obj`` with every array replaced by ``{"__array__": key}`` and the array put in ``arrays[key]``."""
    if isinstance(obj, dict):
        return {k: _split_arrays(v, f"{where}/{k}", arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split_arrays(v, f"{where}/{i}", arrays) for i, v in enumerate(obj)]
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        arrays[where] = to_numpy(obj)
        return {"__array__": where}
    return obj


def _join_arrays(obj, arrays: dict, path):
    """The inverse of :func:`_split_arrays`."""
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise NndlError(f"{path}: the checkpoint names an array {key!r} that is not in the file")
            return arrays[key]
        return {k: _join_arrays(v, arrays, path) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_arrays(v, arrays, path) for v in obj]
    return obj


def save_checkpoint(trainer, path, metadata: dict | None = None) -> Path:
    """Save the model and everything a resumed run needs to continue exactly where ``trainer`` is."""
    model = trainer.model
    net = model.network
    _check_finite(net, path)
    arrays = _network_arrays(net)
    state = {"trainer": trainer.state(), "model": model.state(),
             "callbacks": [{"type": type(cb).__name__, "state": cb.state()} for cb in trainer.callbacks],
             "network_rng": net.rng.bit_generator.state}
    config = _model_config(net, metadata)
    config["checkpoint"] = _split_arrays(state, "state", arrays)
    arrays["nndl.json"] = _json_array(config)
    _write_npz(Path(path), arrays)
    return Path(path)


def _not_a_checkpoint(config: dict, path) -> NndlError:
    if "trainer" in config:
        return NndlError(f"{path} is a checkpoint of format version {config.get('version', 1)}, from before "
                         f"nndl's general engine; it cannot be resumed (its model still loads: nndl evaluate "
                         f"{path})")
    return NndlError(f"{path} is a model file, not a checkpoint (no trainer state); train with --checkpoint")


def read_checkpoint(path):
    """Read a checkpoint: returns (network, state) — the network with its weights, the state for :func:`restore`."""
    network, config, arrays = _read_model(path, checkpoint=True)
    state = _join_arrays(config["checkpoint"], arrays, path)
    check_schema(state, _CHECKPOINT, f"{path}: nndl.json", path="checkpoint")
    state["file"] = str(path)
    try:
        network.rng.bit_generator.state = state["network_rng"]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise NndlError(f"{path}: the checkpoint's generator state is malformed ({type(exc).__name__})") from None
    return network, state


def restore(trainer, model, state: dict) -> None:
    """Put a fresh trainer and model (same network, optimizer type and callbacks) into a checkpoint's state.

    The k-th callback of each kind takes the state the k-th of that kind saved; a kind that
    saved a state must be there again (a checkpoint writer, which keeps none, need not).
    """
    saved: dict[str, list] = {}
    for entry in state["callbacks"]:
        saved.setdefault(entry["type"], []).append(entry["state"])
    present: dict[str, list] = {}
    for cb in trainer.callbacks:
        present.setdefault(type(cb).__name__, []).append(cb)
    where = state.get("file", "the checkpoint")
    for kind, states in saved.items():
        if any(states) and len(present.get(kind, [])) != len(states):
            raise NndlError(f"{where} was made with {len(states)} {kind} callback(s), this run has "
                            f"{len(present.get(kind, []))}")
    trainer.model = model
    _load_part(where, "trainer", trainer, state["trainer"])
    _load_part(where, "model", model, state["model"])
    for kind, states in saved.items():
        for cb, cb_state in zip(present.get(kind, []), states):
            _load_part(where, f"{kind} callback", cb, cb_state)


def _load_part(where: str, what: str, part, state) -> None:
    """``part.load_state(state)``; a state the part cannot take is one line, not a traceback."""
    try:
        part.load_state(state)
    except NndlError as exc:
        raise NndlError(f"{where}: the {what} state: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise NndlError(f"{where}: the {what} state is malformed ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:120]})") from None
