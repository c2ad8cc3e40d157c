"""Following the JSON lines of a training run (``nndl train --json > run.jsonl``) as they are written.

Each poll reads only what was appended since the last one.  A line is taken once it ends in a
newline; the part after the last newline is the line the trainer is still writing (or one cut
off when it was killed), so it waits.  A complete line that is not a JSON object — a run killed
mid-line and the log then appended to, say — is skipped and named in ``problems``: the view
keeps going with the lines around it.  A file that shrinks was replaced (a new run): it is
read again from the start.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

#: Longest line taken (an epoch's record is a few hundred bytes); bytes read per poll at most.
MAX_LINE = 1 << 20
MAX_READ = 16 << 20
#: Problems remembered (the first ones; a log of garbage does not grow the reply without bound).
MAX_PROBLEMS = 20


class RunLog:
    """The epochs (``records``), the final line (``final``) and the ``problems`` of one JSON-lines log."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.line = 0
        self.records: list[dict] = []
        self.final: dict | None = None
        self.problems: list[str] = []
        self.pending = 0            # bytes of an unfinished last line
        self.generation = getattr(self, "generation", -1) + 1

    def _problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def poll(self) -> dict:
        """Read what was appended; return ``{"generation", "epochs", "final", "problems", "waiting"}``
        (``generation`` changes when the file was replaced and the epochs start again)."""
        with self.lock:
            self._read()
            waiting = None
            if self.pending:
                waiting = (f"{self.path.name} line {self.line + 1} has no end yet ({self.pending} bytes): "
                           f"the run is writing it, or it was cut off")
            exists = self.path.is_file()
            return {"generation": self.generation, "epochs": list(self.records), "final": self.final,
                    "problems": list(self.problems), "waiting": waiting,
                    "missing": None if exists else f"{self.path} does not exist (yet)"}

    def _read(self) -> None:
        try:
            size = self.path.stat().st_size
        except OSError:
            return
        if size < self.offset:
            self._reset()
        if size == self.offset:
            self.pending = 0
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(min(size - self.offset, MAX_READ))
        except OSError as exc:
            self._problem(f"{self.path}: cannot read ({exc.strerror})")
            return
        end = data.rfind(b"\n")
        if end < 0:
            self.pending = len(data)
            if self.pending > MAX_LINE:           # one endless line: skip it
                self._problem(f"{self.path.name} line {self.line + 1}: longer than {MAX_LINE} bytes; skipped")
                self.offset += len(data)
                self.pending = 0
            return
        complete, self.pending = data[:end], len(data) - end - 1
        self.offset += end + 1
        for raw in complete.split(b"\n"):
            self.line += 1
            self._take(raw)

    def _take(self, raw: bytes) -> None:
        text = raw.strip()
        if not text:
            return
        where = f"{self.path.name} line {self.line}"
        if len(text) > MAX_LINE:
            self._problem(f"{where}: longer than {MAX_LINE} bytes; skipped")
            return
        try:
            record = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._problem(f"{where}: not a JSON object (cut off mid-line?); skipped")
            return
        if not isinstance(record, dict):
            self._problem(f"{where}: not a JSON object; skipped")
        elif record.get("final"):
            self.final = record
        elif isinstance(record.get("epoch"), int):
            self.records.append(record)
