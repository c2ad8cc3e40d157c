"""The fuzz harness itself: it reports every kind of failure it is meant to catch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from fuzz_harness import MiB, fuzz, generic_mutators, make_case, run_case

from nndl.errors import NndlError

SEEDS = [b"hello world", bytes(range(64))]


def outcome(loader, tmp_path, **limits):
    path = tmp_path / "input.bin"
    path.write_bytes(b"data")
    return run_case(loader, path, **limits)[0]


def test_accepted_and_refused(tmp_path):
    assert outcome(lambda p: p.read_bytes(), tmp_path) == "accepted"

    def refuse(path):
        raise NndlError(f"{path}: not good")
    assert outcome(refuse, tmp_path) == "refused"


def test_other_exceptions_fail(tmp_path):
    def crash(path):
        return {}["missing"]
    assert outcome(crash, tmp_path) == "exception"

    def out_of_memory(path):
        raise MemoryError()
    assert outcome(out_of_memory, tmp_path) == "exception"


@pytest.mark.parametrize("message", ["two\nlines", "", "a message that names no file"])
def test_bad_messages_fail(tmp_path, message):
    def refuse(path):
        raise NndlError(message)
    assert outcome(refuse, tmp_path) == "message"


def test_warnings_fail(tmp_path):
    def noisy(path):
        warnings.warn("odd file", UserWarning)
    assert outcome(noisy, tmp_path) == "warning"


def test_memory_blow_up_fails(tmp_path):
    def greedy(path):
        return np.ones(8 * MiB)  # 64 MB, traced by tracemalloc
    assert outcome(greedy, tmp_path, memory_limit=16 * MiB) == "memory"
    assert outcome(greedy, tmp_path, memory_limit=128 * MiB) == "accepted"


def test_slow_case_fails(tmp_path):
    def slow(path):
        sum(range(3_000_000))
    assert outcome(slow, tmp_path, time_limit=1e-4, hang_limit=600) == "slow"


def test_hang_is_stopped(tmp_path):
    def hang(path):
        while True:
            pass
    assert outcome(hang, tmp_path, time_limit=0.02) == "hang"


def test_cases_depend_on_seed_and_number_only(tmp_path):
    mutators = generic_mutators(SEEDS)
    assert make_case(3, 17, SEEDS, mutators) == make_case(3, 17, SEEDS, mutators)
    assert len({make_case(3, i, SEEDS, mutators)[0] for i in range(50)}) > 40

    def crash_on_long(path):
        if len(path.read_bytes()) > 20:
            raise IndexError("too long")

    report = fuzz("toy", crash_on_long, SEEDS, mutators, cases=100, workdir=tmp_path, filename="in.bin")
    assert report.cases == 100 and report.failures
    first = report.failures[0]
    assert first.kind == "exception" and "IndexError" in first.detail
    assert first.saved.read_bytes() == make_case(0, first.case, SEEDS, mutators)[0]
    assert report.counts()["failures"] == len(report.failures)
