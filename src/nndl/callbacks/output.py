"""Writing the run down as it goes: a JSON line per epoch, and checkpoints to resume from."""
from __future__ import annotations

from nndl.callbacks.base import Callback


class JSONLines(Callback):
    """One JSON object per epoch on stdout (the keys ``keys``, those present, in that order; all if None)."""

    def __init__(self, keys=None):
        self.keys = keys

    def on_epoch_end(self, epoch, record):
        from nndl.cli.common import print_json

        keys = self.keys if self.keys is not None else list(record)
        print_json({k: record[k] for k in keys if k in record})


class Checkpoint(Callback):
    """After every epoch, save everything a resumed run needs to ``path`` (:func:`nndl.io.save_checkpoint`).

    Put it last among the callbacks, so the state it saves is the epoch's final one.
    """

    def __init__(self, path, metadata: dict | None = None):
        self.path, self.metadata = path, metadata

    def on_epoch_end(self, epoch, record):
        from nndl import io

        io.save_checkpoint(self.trainer, self.path, self.metadata)
