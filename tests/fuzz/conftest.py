"""The fuzz suite's summary: one JSON line at the end of the test run (and in $NNDL_FUZZ_SUMMARY).

Each fuzz test appends its report's counts (``FuzzReport.counts()``) to the
``fuzz_summaries`` list; after the run the counts are printed as one line of JSON,
``{"fuzz_summary": {...}}``, ready for the README, and written to the file named by the
environment variable ``NNDL_FUZZ_SUMMARY`` if it is set.
"""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import pytest

_SUMMARIES = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def fuzz_summaries(request) -> list:
    """The list the fuzz tests append their counts to."""
    return request.config.stash.setdefault(_SUMMARIES, [])


def _versions() -> dict:
    import numpy

    versions = {"python": platform.python_version(), "numpy": numpy.__version__}
    try:
        import PIL

        versions["pillow"] = PIL.__version__
    except ImportError:  # pragma: no cover
        pass
    return versions


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    reports = config.stash.get(_SUMMARIES, [])
    if not reports:
        return
    totals = {key: sum(r[key] for r in reports) for key in ("cases", "failures", "hangs", "memory_blowups")}
    summary = {"fuzz_summary": {"command": " ".join(["python", "-m", "pytest", *sys.argv[1:]]),
                                "versions": _versions(), "totals": totals, "loaders": reports}}
    line = json.dumps(summary)
    terminalreporter.write_line(line)
    target = os.environ.get("NNDL_FUZZ_SUMMARY", "").strip()
    if target:
        Path(target).write_text(line + "\n", encoding="utf-8")
