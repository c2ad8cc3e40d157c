"""A small seeded mutation fuzzer for nndl's loaders.

:func:`fuzz` writes ``cases`` mutated files, one at a time, and hands each to a loader.
The loader may accept the file or refuse it with :class:`~nndl.errors.NndlError`; a
case fails if instead

* the loader raises any other exception (or refuses with a message of several lines,
  or an empty one, or one that does not name the file when ``names_file`` is set);
* it issues a warning (a user would see it as noise before the real message);
* it runs longer than ``time_limit`` seconds ("slow"), or is stopped by the watchdog
  after ``hang_limit`` seconds ("hang");
* its peak memory exceeds ``memory_limit`` bytes ("memory"): the peak of the Python and
  NumPy heaps measured with :mod:`tracemalloc` (NumPy reports its buffers to it), and the
  rise of the process's resident-set high-water mark (``ru_maxrss``), which also catches
  C libraries such as Pillow and zlib that tracemalloc cannot see.

Case ``i`` is a pure function of ``(seed, i)``: it uses its own ``random.Random``, picks a
seed file and a mutator with it, and the mutator draws from it.  So a failure reported
as ``case 1234`` is reproduced by :func:`make_case` alone, and failing inputs are saved
beside the work files.

Mutators are functions ``(data: bytes, rng: random.Random) -> bytes``.  The generic ones
here (bit flips, interesting bytes, truncation, insertion, deletion, duplication,
splicing, and chains of these) know nothing of the format; format-aware ones (see
``fuzz_formats.py``) build crafted headers and members.  To fuzz another loader, give
:func:`fuzz` the loader, a few good seed files and a list of mutators.
"""
from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
import time
import tracemalloc
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nndl.errors import NndlError

MiB = 1 << 20
TIME_LIMIT = 2.0  #: seconds a case may take: generous, every good case takes milliseconds
MEMORY_LIMIT = 200 * MiB  #: peak bytes a case may allocate: the inputs are at most a few MB
HANG_FACTOR = 5  #: the watchdog stops a case after this many time limits

Mutator = Callable[[bytes, random.Random], bytes]

# Bytes that often sit on a boundary: zero, one, sign bits, all ones.
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


# -- generic mutators ---------------------------------------------------------------------------
def flip_bits(data: bytes, rng: random.Random) -> bytes:
    """Flip 1 to 8 random bits."""
    if not data:
        return bytes([rng.randrange(256)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def interesting_bytes(data: bytes, rng: random.Random) -> bytes:
    """Overwrite 1 to 4 random bytes, mostly in the first 64 (headers), with boundary values."""
    if not data:
        return bytes([rng.choice(INTERESTING_BYTES)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(min(len(out), 64)) if rng.random() < 0.7 else rng.randrange(len(out))
        out[i] = rng.choice(INTERESTING_BYTES)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    """Cut the file short, anywhere from 0 bytes to all but one."""
    return data[:rng.randrange(len(data))] if data else data


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    """Insert 1 to 64 random bytes at a random place (or append them: trailing garbage)."""
    i = rng.randint(0, len(data)) if rng.random() < 0.7 else len(data)
    return data[:i] + rng.randbytes(rng.randint(1, 64)) + data[i:]


def delete_bytes(data: bytes, rng: random.Random) -> bytes:
    """Delete a random run of 1 to 64 bytes."""
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 64):]


def duplicate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Repeat a random run of bytes 1 to 4 times in place."""
    if not data:
        return data
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randint(1, 256))
    return data[:j] + data[i:j] * rng.randint(1, 4) + data[j:]


def splicer(seeds: list[bytes]) -> Mutator:
    """A mutator that joins the start of the file to the end of another seed file."""
    def splice(data: bytes, rng: random.Random) -> bytes:
        other = rng.choice(seeds)
        return data[:rng.randint(0, len(data))] + other[rng.randint(0, len(other)):]
    return splice


def chain(mutators: list[Mutator], most: int = 4) -> Mutator:
    """A mutator that applies 2 to ``most`` mutators picked at random, one after another."""
    def chained(data: bytes, rng: random.Random) -> bytes:
        for _ in range(rng.randint(2, most)):
            data = rng.choice(mutators)(data, rng)
        return data
    chained.__name__ = "chain"
    return chained


def generic_mutators(seeds: list[bytes]) -> list[Mutator]:
    """The format-blind mutators, with splicing among ``seeds`` and chains of all of them."""
    simple = [flip_bits, interesting_bytes, truncate, insert_bytes, delete_bytes, duplicate_bytes,
              splicer(seeds)]
    return simple + [chain(simple)]


# -- running the cases -----------------------------------------------------------------------
@dataclass
class Failure:
    """One failing case: its number, kind (exception, message, warning, slow, hang, memory), details."""

    case: int
    kind: str
    mutator: str
    detail: str
    saved: Path | None = None

    def line(self) -> str:
        where = f" (input saved as {self.saved})" if self.saved else ""
        return f"case {self.case} [{self.mutator}] {self.kind}: {self.detail}{where}"


@dataclass
class FuzzReport:
    """What one :func:`fuzz` run found; ``counts()`` is the summary that goes in the README."""

    loader: str
    seed: int
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    failures: list[Failure] = field(default_factory=list)
    max_seconds: float = 0.0
    max_peak_bytes: int = 0
    seconds: float = 0.0

    def count(self, *kinds: str) -> int:
        return sum(f.kind in kinds for f in self.failures)

    def counts(self) -> dict:
        return {"loader": self.loader, "seed": self.seed, "cases": self.cases,
                "accepted": self.accepted, "refused": self.refused,
                "failures": self.count("exception", "message", "warning"),
                "hangs": self.count("slow", "hang"), "memory_blowups": self.count("memory"),
                "max_case_seconds": round(self.max_seconds, 3),
                "max_case_peak_mb": round(self.max_peak_bytes / MiB, 1),
                "total_seconds": round(self.seconds, 1)}

    def summary(self, most: int = 15) -> str:
        """Several lines: the counts, then the first ``most`` failures."""
        lines = [f"{self.loader}: {self.counts()}"]
        lines += [f.line() for f in self.failures[:most]]
        if len(self.failures) > most:
            lines.append(f"... and {len(self.failures) - most} more failures")
        return "\n".join(lines)


class _Hang(BaseException):
    """Raised by the watchdog inside a case that runs too long (a BaseException, so that a
    loader's ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def _watchdog(seconds: float):
    """Interrupt the block with :class:`_Hang` after ``seconds`` (main thread, POSIX; else no-op)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def bark(signum, frame):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, bark)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _max_rss_bytes() -> int | None:
    """The process's resident-set high-water mark in bytes (None where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame of ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def make_case(seed: int, case: int, seeds: list[bytes], mutators: list[Mutator]) -> tuple[bytes, str]:
    """The input of case ``case`` and the name of its mutator: depends on ``(seed, case)`` only."""
    rng = random.Random(seed * 1_000_003 + case)
    base = rng.choice(seeds)
    mutator = rng.choice(mutators)
    return mutator(base, rng), getattr(mutator, "__name__", "mutator")


def _check_message(message: str, path: Path, names_file: bool) -> str | None:
    """Why an NndlError message breaks the one-clear-line rule, or None if it does not."""
    if not message.strip():
        return "empty message"
    if "\n" in message or "\r" in message:
        return f"message of several lines: {message[:300]!r}"
    if names_file and path.name not in message:
        return f"message does not name {path.name}: {message[:300]!r}"
    return None


def run_case(loader: Callable[[Path], object], path: Path, *, time_limit: float = TIME_LIMIT,
             memory_limit: int = MEMORY_LIMIT, names_file: bool = True,
             hang_limit: float | None = None) -> tuple[str, str, float, int]:
    """Load ``path`` once; return (outcome, detail, seconds, peak bytes).

    The watchdog stops the loader after ``hang_limit`` seconds (default ``HANG_FACTOR``
    times ``time_limit``).

    ``outcome`` is ``"accepted"``, ``"refused"`` or a failure kind (see the module docstring).
    :mod:`tracemalloc` traces only while the loader runs (it slows everything down), unless
    the caller already traces.
    """
    rss_before = _max_rss_bytes()
    was_tracing = tracemalloc.is_tracing()
    if was_tracing:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    heap_before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    outcome, detail = "accepted", ""
    hang_limit = time_limit * HANG_FACTOR if hang_limit is None else hang_limit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _watchdog(hang_limit):
                loader(path)
        except _Hang:
            outcome, detail = "hang", f"stopped after {hang_limit:g} s"
        except NndlError as exc:
            problem = _check_message(str(exc), path, names_file)
            outcome, detail = ("message", problem) if problem else ("refused", "")
        except Exception as exc:  # noqa: BLE001 - catching everything else is the point
            outcome = "exception"
            detail = f"{type(exc).__name__} at {_where(exc)}: {str(exc)[:300]!r}"
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - heap_before
    if not was_tracing:
        tracemalloc.stop()
    rss_rise = (_max_rss_bytes() - rss_before) if rss_before is not None else 0
    if outcome in ("accepted", "refused"):
        if caught:
            w = caught[0]
            outcome, detail = "warning", f"{w.category.__name__}: {str(w.message)[:300]!r}"
        elif max(peak, rss_rise) > memory_limit:
            outcome = "memory"
            detail = f"peak {peak / MiB:.0f} MB traced, resident set rose {rss_rise / MiB:.0f} MB"
        elif seconds > time_limit:
            outcome, detail = "slow", f"{seconds:.2f} s"
    return outcome, detail, seconds, peak


def fuzz(name: str, loader: Callable[[Path], object], seeds: list[bytes], mutators: list[Mutator], *,
         cases: int, workdir: Path, filename: str = "input", seed: int = 0,
         time_limit: float = TIME_LIMIT, memory_limit: int = MEMORY_LIMIT, names_file: bool = True,
         save_failures: int = 20) -> FuzzReport:
    """Run ``cases`` mutated inputs through ``loader``; return the :class:`FuzzReport`.

    Parameters
    ----------
    name : str
        The loader's name in the report.
    loader : callable
        Called with the path of each mutated file; returns anything or raises NndlError.
    seeds : list of bytes
        Good files to start from (mutators may also ignore them and craft their own).
    mutators : list of callables
        ``(data, rng) -> bytes``; each case picks one.
    cases : int
        How many inputs to try.
    workdir : Path
        A folder for the input file (written as ``workdir / filename``, overwritten by
        each case) and the saved failing inputs.
    filename : str
        The input's file name (some loaders look at it, e.g. ``.csv`` or ``.gz``).
    seed : int
        Case ``i`` depends on ``(seed, i)`` only.
    time_limit, memory_limit : float, int
        Per case, in seconds and bytes.
    names_file : bool
        Also require NndlError messages to contain ``filename``.
    save_failures : int
        Save the inputs of this many failing cases in ``workdir / "failures"``.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / filename
    report = FuzzReport(name, seed)
    start = time.perf_counter()
    try:
        for case in range(cases):
            data, mutator = make_case(seed, case, seeds, mutators)
            path.write_bytes(data)
            outcome, detail, seconds, peak = run_case(loader, path, time_limit=time_limit,
                                                      memory_limit=memory_limit, names_file=names_file)
            report.cases += 1
            report.max_seconds = max(report.max_seconds, seconds)
            report.max_peak_bytes = max(report.max_peak_bytes, peak)
            if outcome in ("accepted", "refused"):
                setattr(report, outcome, getattr(report, outcome) + 1)
                continue
            saved = None
            if len(report.failures) < save_failures:
                saved = workdir / "failures" / f"{name}-seed{seed}-case{case}-{filename}"
                saved.parent.mkdir(exist_ok=True)
                saved.write_bytes(data)
            report.failures.append(Failure(case, outcome, mutator, detail, saved))
    finally:
        report.seconds = time.perf_counter() - start
    return report
