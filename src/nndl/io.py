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

Writes are atomic: a temporary file in the same folder, then ``os.replace``.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy

from nndl.backend import to_device, to_numpy
from nndl.errors import NndlError
from nndl.files import atomic_write

FORMAT = "nndl-model"
VERSION = 2


def _write_npz(path: Path, arrays: dict) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NndlError(f"cannot save {path}: folder {folder} does not exist")
    with atomic_write(path) as f:
        numpy.savez(f, **arrays)


def _json_array(obj) -> numpy.ndarray:
    return numpy.frombuffer(json.dumps(obj).encode("utf-8"), dtype=numpy.uint8)


def _network_arrays(network) -> dict:
    arrays = {}
    for path, layer in network.leaves():
        for p in layer.params:
            arrays[f"param/{path}/{p.name}"] = to_numpy(p.value)
        for name, value in layer.buffers.items():
            arrays[f"buffer/{path}/{name}"] = to_numpy(value)
    if network.preprocessor is not None:
        for name, value in network.preprocessor.arrays().items():
            arrays[f"pre/{name}"] = numpy.asarray(value)
    if getattr(network, "target_preprocessor", None) is not None:
        for name, value in network.target_preprocessor.arrays().items():
            arrays[f"target_pre/{name}"] = numpy.asarray(value)
    return arrays


def _model_config(network, metadata) -> dict:
    pre, target = network.preprocessor, getattr(network, "target_preprocessor", None)
    return {"format": FORMAT, "version": VERSION, "network": network.config(),
            "class_names": network.class_names, "preprocessor": None if pre is None else pre.config(),
            "target_preprocessor": None if target is None else target.config(), "metadata": metadata or {}}


def save(network, path, metadata: dict | None = None) -> Path:
    """Save ``network`` (weights, architecture, preprocessor, class names) to ``path`` (.npz)."""
    path = Path(path)
    arrays = _network_arrays(network)
    arrays["nndl.json"] = _json_array(_model_config(network, metadata))
    _write_npz(path, arrays)
    return path


def _read_npz(path) -> tuple[dict, dict]:
    path = Path(path)
    if not path.exists():
        raise NndlError(f"model file {path} does not exist")
    try:
        with numpy.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise NndlError(f"{path} is not a readable nndl model file ({type(exc).__name__}: {exc})") from None
    if "nndl.json" not in arrays:
        raise NndlError(f"{path} is a .npz archive but not an nndl model (no nndl.json inside)")
    try:
        config = json.loads(arrays.pop("nndl.json").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NndlError(f"{path}: the model config is corrupt ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise NndlError(f"{path} is not an nndl model (format {config.get('format') if isinstance(config, dict) else '?'!r})")
    if int(config.get("version", 0)) > VERSION:
        raise NndlError(f"{path} was written by a newer nndl (format version {config['version']}, "
                        f"this one reads up to {VERSION}); upgrade nndl")
    return config, arrays


def _restore_network(config: dict, arrays: dict, path, dtype=None):
    from nndl.network import Network

    try:
        network = Network.from_config(config["network"], **({} if dtype is None else {"dtype": dtype}))
    except (KeyError, TypeError) as exc:
        raise NndlError(f"{path}: the network config is incomplete or foreign ({exc})") from None
    for where, layer in network.leaves():
        for p in layer.params:
            key = f"param/{where}/{p.name}"
            if key not in arrays:
                raise NndlError(f"{path}: missing weights {key} for layer {where} ({layer.type})")
            if arrays[key].shape != tuple(p.value.shape):
                raise NndlError(f"{path}: weights {key} have shape {arrays[key].shape}, "
                                f"the architecture needs {tuple(p.value.shape)}")
            p.value[...] = to_device(arrays[key], p.value.dtype)
        for name, value in layer.buffers.items():
            key = f"buffer/{where}/{name}"
            if key not in arrays or arrays[key].shape != tuple(value.shape):
                raise NndlError(f"{path}: missing or misshapen buffer {key} for layer {where} ({layer.type})")
            value[...] = to_device(arrays[key], value.dtype)
    network.class_names = config.get("class_names")
    from nndl.preprocessing import preprocessor_from_config

    for key, prefix in (("preprocessor", "pre/"), ("target_preprocessor", "target_pre/")):
        if config.get(key):
            stored = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            setattr(network, key, preprocessor_from_config(config[key], stored))
    return network


def load(path, dtype=None):
    """Load a model saved by :func:`save` (or a checkpoint); returns the Network.

    Its ``metadata`` dict is attached as ``network.metadata``.
    """
    config, arrays = _read_npz(path)
    network = _restore_network(config, arrays, path, dtype)
    network.metadata = config.get("metadata", {})
    return network


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
    arrays = _network_arrays(net)
    state = {"trainer": trainer.state(), "model": model.state(),
             "callbacks": [{"type": type(cb).__name__, "state": cb.state()} for cb in trainer.callbacks],
             "network_rng": net.rng.bit_generator.state}
    config = _model_config(net, metadata)
    config["checkpoint"] = _split_arrays(state, "state", arrays)
    arrays["nndl.json"] = _json_array(config)
    _write_npz(Path(path), arrays)
    return Path(path)


def read_checkpoint(path):
    """Read a checkpoint: returns (network, state) — the network with its weights, the state for :func:`restore`."""
    config, arrays = _read_npz(path)
    if "checkpoint" not in config:
        if "trainer" in config:
            raise NndlError(f"{path} is a checkpoint of format version {config.get('version', 1)}, from before "
                            f"nndl's general engine; it cannot be resumed (its model still loads: nndl evaluate "
                            f"{path})")
        raise NndlError(f"{path} is a model file, not a checkpoint (no trainer state); train with --checkpoint")
    network = _restore_network(config, arrays, path)
    network.metadata = config.get("metadata", {})
    state = _join_arrays(config["checkpoint"], arrays, path)
    network.rng.bit_generator.state = state["network_rng"]
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
    for kind, states in saved.items():
        if any(states) and len(present.get(kind, [])) != len(states):
            raise NndlError(f"the checkpoint was made with {len(states)} {kind} callback(s), this run has "
                            f"{len(present.get(kind, []))}")
    trainer.model = model
    trainer.load_state(state["trainer"])
    model.load_state(state["model"])
    for kind, states in saved.items():
        for cb, cb_state in zip(present.get(kind, []), states):
            cb.load_state(cb_state)
