"""The record of a training run: one dict per epoch.

Keys (present when measured): ``epoch`` (1, 2, ...), ``eta``, ``training_cost``,
``training_accuracy``, ``validation_cost``, ``validation_accuracy``, ``seconds``
(training time of the epoch), ``eval_seconds``, ``gradient_norms`` (per layer,
the mean ‖∂C/∂θˡ‖ over sampled mini-batches: chapter 5's "speed of learning").
``history["validation_accuracy"]`` gives that column as a list.
"""
from __future__ import annotations


class History:
    """Per-epoch records of a training run, plus ``final`` (test figures after training)."""

    def __init__(self, records=None):
        self.records: list[dict] = list(records or [])
        self.final: dict = {}

    def append(self, record: dict) -> None:
        self.records.append(record)

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def best(self, key: str = "validation_accuracy") -> dict | None:
        """The record with the highest ``key`` (the earliest one on ties), or None."""
        scored = [r for r in self.records if r.get(key) is not None]
        return max(scored, key=lambda r: r[key]) if scored else None

    def to_dict(self) -> dict:
        return {"epochs": self.records, "final": self.final}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        h = cls(d.get("epochs", []))
        h.final = dict(d.get("final", {}))
        return h
