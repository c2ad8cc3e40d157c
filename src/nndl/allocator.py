"""Keep freed memory for the next mini-batch instead of handing it back to the operating system.

Every training step allocates the same arrays again: a conv layer's output, its gradient, the
pooling masks — megabytes each at a batch of 64.  glibc's ``malloc`` serves blocks above its
*mmap threshold* (128 KiB, raised as large blocks are freed) with fresh pages from the kernel and
returns freed memory at the top of the heap once more than the *trim threshold* is free.  A fresh
page costs a page fault when it is first written, so each step paid to fault in memory it had
just given back: about a third of the chapter 6 conv net's step at batch 64 on this machine
(README, "Speed").  :func:`keep_freed_memory` raises both thresholds once per process, so blocks
up to :data:`MMAP_THRESHOLD` come from the heap and up to :data:`TRIM_THRESHOLD` of freed heap is
kept for reuse.  Peak memory is unchanged; memory in use between steps may stay at its peak.

It is a no-op where the C library is not glibc (macOS, Windows, musl) and when the environment
sets ``NNDL_KEEP_FREED_MEMORY=0``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

#: Blocks up to this size come from the heap (glibc refuses more than 32 MiB on 64-bit systems).
MMAP_THRESHOLD = 32 << 20
#: Freed heap kept before any is returned to the system.
TRIM_THRESHOLD = 512 << 20

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # mallopt's parameter numbers (malloc.h)
_done = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once); True if they are set."""
    global _done
    if _done is None:
        _done = False
        if os.environ.get("NNDL_KEEP_FREED_MEMORY", "1").strip() != "0":
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                mallopt = libc.mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                                     TRIM_THRESHOLD))
    return _done
