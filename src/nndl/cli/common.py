"""Pieces the sub-commands share: ``name(args)`` options, printing JSON lines and messages."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from nndl.errors import NndlError
from nndl.errors import NndlError
from nndl.registry import create_from_text
from nndl.schema import Field, check_schema

_TEXT, _NUMBER, _WHOLE, _FLAG = Field((str, type(None)), required=False, max_len=4096), \
    Field((float, type(None)), required=False), Field((int, type(None)), required=False), \
    Field((bool, type(None)), required=False)
#: What the settings ``nndl train`` stores with a model may hold (a shared file may hold anything).
SETTINGS = {**{key: _TEXT for key in ("data", "label", "task", "layers", "net", "activation", "cost", "init",
                                      "optimizer", "schedule", "preprocess", "augment", "out", "preset", "monitor",
                                      "init_from", "order", "adversarial")},
            **{key: _NUMBER for key in ("eta", "momentum", "lmbda", "l1", "dropout", "max_norm", "clip_norm",
                                        "grad_noise", "clip_value")},
            **{key: _WHOLE for key in ("epochs", "batch_size", "train_size", "early_stop", "freeze", "replace_head")},
            # models saved before --augment took a spec stored "augment": false (docs/results/ch6-relu.npz)
            "augment": Field((str, bool, type(None)), required=False, max_len=4096),
            "seed": Field((int, type(None)), required=False, low=0, high=2 ** 63),
            **{key: _FLAG for key in ("batch_norm", "expand", "monitor_training", "monitor_test")},
            **{key: Field((str, int, type(None)), required=False, max_len=16) for key in ("threads", "workers")},
            "features": Field((list, type(None)), required=False, max_len=100_000, items=Field(str, max_len=4096))}


def stored_settings(network, path) -> dict:
    """The training settings saved with a model or checkpoint, checked (``{}`` if there are none)."""
    settings = getattr(network, "metadata", {}).get("settings")
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise NndlError(f"{path}: the stored settings are not an object")
    return check_schema(settings, SETTINGS, f"{path}: nndl.json", path="metadata.settings")


def make_from_registry(registry: dict, text: str, what: str):
    """Instantiate ``registry[name](*args, **kwargs)`` from ``"name(args)"``; one-line errors on bad input."""
    return create_from_text(registry, text, what)


def print_json(obj) -> None:
    """One JSON object on one line of stdout, flushed (for ``--json`` consumers)."""
    print(json.dumps(obj, default=_json_default), flush=True)


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


def say(message: str) -> None:
    """A line of the command's human-readable output, on stdout (``nndl train > log.txt`` keeps it)."""
    print(message, flush=True)


def info(message: str) -> None:
    """A diagnostic line on stderr: a note or a warning beside the output, never instead of it."""
    print(message, file=sys.stderr, flush=True)


def check_writable(path, option: str) -> Path:
    """``path`` (of command-line ``option``) as a Path, if a file can be written there; else a one-line
    NndlError — before any work is done.

    Checked by creating and removing an empty temporary file in its folder, as the atomic write
    (:func:`nndl.files.atomic_write`) will: that is what permissions, read-only file systems and
    full quotas actually allow.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise NndlError(f"{option} {path}: is a folder; name a file in it, like {path / 'model.npz'}")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise NndlError(f"{option} {path}: the folder {folder} {what}")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".check")
    except OSError as exc:
        raise NndlError(f"{option} {path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(tmp)
    return path


def data_setting(text) -> str:
    """A ``--data`` value as stored with a model: ``mnist``, or the absolute path of the folder or
    CSV file (so ``nndl evaluate MODEL`` and ``--resume`` work from any folder)."""
    text = str(text).strip()
    if text.lower() == "mnist":
        return "mnist"
    return str(Path(text).expanduser().resolve())
