"""The array backend: one handle, ``xp``, that all array code in nndl goes through.

``xp`` is NumPy.  Library code writes ``xp.exp(z)``, never ``numpy.exp(z)``, so that
another array library with NumPy's API can stand in without touching the mathematics.
``NNDL_BACKEND=cupy`` selects CuPy, but that has never been run on a GPU and is known
not to work yet (the conv layer's ``as_strided(..., writeable=False)`` is NumPy's own).  Data loading, saving and plotting work on host (NumPy)
arrays and convert with :func:`to_device` / :func:`to_numpy` at the boundary.

BLAS threads
------------
On a small machine the BLAS thread pool can hurt: the matrix products of a dense
net with mini-batches of 10 are tiny, and two OpenBLAS threads fighting another busy
process make them many times slower (the README's benchmarks give the figures).
:func:`blas_threads` limits the pool for a block of code; the trainer uses it with
:func:`auto_threads`, which counts the cores this process may run on.
"""
from __future__ import annotations

import contextlib
import os

import numpy

from nndl.errors import NndlError

BACKEND = os.environ.get("NNDL_BACKEND", "numpy").strip().lower()

if BACKEND == "numpy":
    xp = numpy
elif BACKEND == "cupy":  # pragma: no cover - needs a GPU
    try:
        import cupy as xp  # type: ignore[no-redef]
    except ImportError as exc:
        raise NndlError("NNDL_BACKEND=cupy but CuPy is not installed (pip install cupy-cuda12x)") from exc
else:
    raise NndlError(f"NNDL_BACKEND={BACKEND!r} is not a backend; use 'numpy' or 'cupy'")

#: Default floating-point type of parameters and activations.
FLOAT = numpy.float32


def to_numpy(a):
    """Return ``a`` as a NumPy array on the host (a no-op for the NumPy backend)."""
    if xp is numpy:
        return numpy.asarray(a)
    return xp.asnumpy(a)  # pragma: no cover


def to_device(a, dtype=None):
    """Return host array ``a`` as an ``xp`` array (a no-op for NumPy if the dtype matches)."""
    return xp.asarray(a, dtype=dtype)


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Limit the BLAS thread pool to ``n`` threads inside the ``with`` block.

    ``None`` leaves the pool as it is.  Uses threadpoolctl, which knows OpenBLAS,
    MKL and BLIS; if it is not installed the block runs unchanged.
    """
    if n is None or xp is not numpy:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


#: Matrix products smaller than this many FLOPs run on one BLAS thread (see :func:`auto_threads`).
MULTITHREAD_FLOPS = 1.0e9


def auto_threads(flops_per_product: float) -> int:
    """Pick a BLAS thread count for matrix products of about ``flops_per_product`` FLOPs.

    More threads pay only when a product takes long against the time the operating
    system needs to wake a sleeping BLAS thread and give it a core.  In training each
    product follows other work, so OpenBLAS's second thread has gone to sleep; on an idle
    machine waking it still makes a conv net's step at batch 10 about an eighth faster,
    but with another process busy the step becomes several times slower.  Only from
    about a GFLOP (10 ms and more on one core) does the wake-up stop mattering, so
    smaller products (every net of the book, dense or conv, at its batch sizes) use one
    thread, the same on a busy machine as on an idle one — and a run gives the same
    numbers either way.  (Conv nets use both cores by cutting the mini-batch instead, each part
    on its own one-thread BLAS: :mod:`nndl.parallel`.)  ``bench/bench_conv.py`` and the
    README give the measurements.
    """
    if flops_per_product < MULTITHREAD_FLOPS:
        return 1
    return usable_cores()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or ``taskset`` may
    narrow), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):          # not on Linux
        return os.cpu_count() or 1
