"""One worker process of ``nndl sweep --workers N``: ``python -m nndl.sweep.worker < CONFIG_JSON``."""
from __future__ import annotations

import json
import sys


def main() -> int:
    from nndl.errors import NndlError
    from nndl.sweep.session import run_worker

    try:
        return run_worker(json.loads(sys.stdin.read()))
    except NndlError as exc:
        print(f"nndl sweep: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
