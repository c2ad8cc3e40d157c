"""Running the ``nndl`` command from a benchmark as a user would: a fresh process of this checkout's
code, one BLAS thread, its JSON lines read back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def nndl_json(*args) -> tuple[list[dict], float]:
    """``nndl ARGS...`` (which must print JSON lines): (its JSON objects, wall seconds); its stderr if it fails."""
    cmd = [sys.executable, "-m", "nndl", *map(str, args)]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO / "src"), OPENBLAS_NUM_THREADS="1"))
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}\n{result.stderr}")
    return [json.loads(line) for line in result.stdout.strip().splitlines()], time.perf_counter() - start
