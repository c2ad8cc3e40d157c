"""``nndl train --serve PORT``: the live view of the run being trained, served by the training process.

:class:`LiveView` is a callback.  It binds the port when it is made (so a port in use is one line
before any training), starts the server when training begins, and after every epoch hands the
page the epoch's record and — computed in the training thread, between two epochs, so the weights
are never half updated — the first layer's filters and the misclassified test digits.  The page is
the one of ``nndl serve --watch`` (:mod:`nndl.serve.app`); the server ends with the process.
"""
from __future__ import annotations

import json
import sys
import threading

from nndl.callbacks.base import Callback


class LiveRun:
    """A run's epochs kept in memory, answering :meth:`poll` as :class:`~nndl.serve.runlog.RunLog` does."""

    def __init__(self, name: str = "this run"):
        from pathlib import Path

        self.path = Path(name)
        self.lock = threading.Lock()
        self.epochs: list[dict] = []
        self.final: dict | None = None

    def add(self, record: dict) -> None:
        copy = json.loads(json.dumps(record, default=float))        # JSON values only, detached from the trainer
        with self.lock:
            self.epochs.append(copy)

    def finish(self, final: dict) -> None:
        with self.lock:
            self.final = json.loads(json.dumps(dict(final, final=True), default=float))

    def poll(self) -> dict:
        with self.lock:
            return {"generation": 0, "epochs": list(self.epochs), "final": self.final, "problems": [],
                    "waiting": None, "missing": None}


class LiveSnapshot:
    """The latest filters and misclassified digits, set by the training thread, read by the server's."""

    def __init__(self):
        self.value = {"file": "this run", "filters": None, "misclassified": [], "note": "after the first epoch"}

    def get(self) -> dict:
        return self.value

    def update(self, network) -> None:
        from nndl.serve.snapshot import describe

        self.value = describe(network, "this run")          # one assignment: readers see old or new


class LiveView(Callback):
    """Serve the live view of this run on ``host:port`` while it trains."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        from nndl.serve.app import create_app, make_server

        self.run, self.snapshot = LiveRun(), LiveSnapshot()
        self.server = make_server(create_app(None, {"run": "this run"}, self.run, self.snapshot), host, port,
                                  "--serve")
        self.url = f"http://{host}:{self.server.port}/live"
        self.thread = None

    def on_train_begin(self):
        if self.thread is None:
            self.thread = threading.Thread(target=self.server.serve_forever, name="nndl live view", daemon=True)
            self.thread.start()
            print(f"nndl train: live view at {self.url}", file=sys.stderr, flush=True)

    def on_epoch_end(self, epoch, record):
        self.snapshot.update(self.model.network)
        self.run.add(record)

    def on_train_end(self, final):
        self.run.finish(final)

    def close(self) -> None:
        """Stop the server (the process ending stops it too)."""
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()
