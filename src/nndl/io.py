"""Saving and loading models and training checkpoints, without pickle.

A model file is one ``.npz`` archive (read with ``allow_pickle=False``):

* ``nndl.json`` — the JSON config as UTF-8 bytes: format name and version, the network's
  architecture (``Network.config()``), class names, the preprocessor's config, and
  free-form metadata (how it was trained, its accuracy);
* ``param/<layer>/<name>`` — every parameter array, ``buffer/<layer>/<name>`` every buffer
  (batch norm's running averages), ``pre/<name>`` the preprocessor's arrays.

A checkpoint is a model file with the trainer's state added (``trainer`` in the JSON:
epoch, learning rate, history, early-stopping and schedule state, random generator
states; ``opt/...`` optimizer arrays, ``best/...`` the best weights so far), so that a
resumed run ends with exactly the weights of an uninterrupted one.

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
VERSION = 1


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
    for i, layer in enumerate(network.layers):
        for p in layer.params:
            arrays[f"param/{i}/{p.name}"] = to_numpy(p.value)
        for name, value in layer.buffers.items():
            arrays[f"buffer/{i}/{name}"] = to_numpy(value)
    if network.preprocessor is not None:
        for name, value in network.preprocessor.arrays().items():
            arrays[f"pre/{name}"] = numpy.asarray(value)
    return arrays


def _model_config(network, metadata) -> dict:
    pre = network.preprocessor
    return {"format": FORMAT, "version": VERSION, "network": network.config(),
            "class_names": network.class_names, "preprocessor": None if pre is None else pre.config(),
            "metadata": metadata or {}}


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
    for i, layer in enumerate(network.layers):
        for p in layer.params:
            key = f"param/{i}/{p.name}"
            if key not in arrays:
                raise NndlError(f"{path}: missing weights {key} for layer {i + 1} ({layer.type})")
            if arrays[key].shape != tuple(p.value.shape):
                raise NndlError(f"{path}: weights {key} have shape {arrays[key].shape}, "
                                f"the architecture needs {tuple(p.value.shape)}")
            p.value[...] = to_device(arrays[key], p.value.dtype)
        for name, value in layer.buffers.items():
            key = f"buffer/{i}/{name}"
            if key not in arrays or arrays[key].shape != tuple(value.shape):
                raise NndlError(f"{path}: missing or misshapen buffer {key} for layer {i + 1} ({layer.type})")
            value[...] = to_device(arrays[key], value.dtype)
    network.class_names = config.get("class_names")
    if config.get("preprocessor"):
        from nndl.preprocessing import preprocessor_from_config

        pre_arrays = {k[4:]: v for k, v in arrays.items() if k.startswith("pre/")}
        network.preprocessor = preprocessor_from_config(config["preprocessor"], pre_arrays)
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
def save_checkpoint(trainer, path, metadata: dict | None = None) -> Path:
    """Save the model and everything the trainer needs to continue exactly where it is."""
    net = trainer.network
    arrays = _network_arrays(net)
    for key, value in trainer.optimizer.state_arrays().items():
        arrays[f"opt/{key}"] = to_numpy(value)
    if trainer.best_weights is not None:
        for i, value in enumerate(trainer.best_weights):
            arrays[f"best/{i}"] = to_numpy(value)
    config = _model_config(net, metadata)
    config["trainer"] = {
        "epoch": trainer.epoch, "eta": trainer.optimizer.eta, "eta0": trainer.eta0,
        "optimizer": trainer.optimizer.config(), "optimizer_t": trainer.optimizer.t,
        "n_params": len(net.params),
        "schedule": trainer.schedule.config(), "schedule_state": trainer.schedule.state(),
        "best_accuracy": trainer.best_accuracy, "epochs_without_improvement": trainer.epochs_without_improvement,
        "history": trainer.history.to_dict(),
        "rng": trainer.rng.bit_generator.state, "network_rng": net.rng.bit_generator.state,
        "architecture": net.config(),
    }
    arrays["nndl.json"] = _json_array(config)
    _write_npz(Path(path), arrays)
    return Path(path)


def read_checkpoint(path):
    """Read a checkpoint: returns (network, trainer_state dict, optimizer arrays, best weights or None)."""
    config, arrays = _read_npz(path)
    if "trainer" not in config:
        raise NndlError(f"{path} is a model file, not a checkpoint (no trainer state); train with --checkpoint")
    network = _restore_network(config, arrays, path)
    network.metadata = config.get("metadata", {})
    state = config["trainer"]
    network.rng.bit_generator.state = state["network_rng"]
    opt = {k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}
    best_keys = sorted((k for k in arrays if k.startswith("best/")), key=lambda k: int(k[5:]))
    best = [to_device(arrays[k], network.dtype) for k in best_keys] or None
    return network, state, opt, best


def restore_trainer(trainer, state: dict, optimizer_arrays: dict, best_weights) -> None:
    """Put a freshly made Trainer (same network, optimizer type, schedule) into a checkpoint's state."""
    from nndl.history import History

    trainer.epoch = int(state["epoch"])
    trainer.optimizer.eta = float(state["eta"])
    trainer.eta0 = float(state["eta0"])
    trainer.optimizer.load_state_arrays(optimizer_arrays, int(state["n_params"]), int(state["optimizer_t"]))
    trainer.schedule.load_state(state.get("schedule_state") or {})
    trainer.best_accuracy = state["best_accuracy"]
    trainer.epochs_without_improvement = int(state["epochs_without_improvement"])
    trainer.best_weights = best_weights
    trainer.history = History.from_dict(state["history"])
    trainer.rng.bit_generator.state = state["rng"]
