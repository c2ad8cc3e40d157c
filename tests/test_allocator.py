"""The allocator setting: freed memory kept for the next step (glibc), opt-out by environment."""
import os
import platform
import subprocess
import sys

import pytest

glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

PROBE = "import nndl.allocator as a; print(a._done)"


def _probe(env_value=None) -> str:
    env = dict(os.environ)
    env.pop("NNDL_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["NNDL_KEEP_FREED_MEMORY"] = env_value
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                          check=True).stdout.strip()


@pytest.mark.skipif(not glibc, reason="mallopt's thresholds are glibc's")
def test_importing_nndl_keeps_freed_memory_on_glibc():
    assert _probe() == "True"


def test_the_environment_turns_it_off():
    assert _probe("0") == "False"


ROUNDS = """
import os, resource, numpy
if os.environ.get("NNDL_KEEP_FREED_MEMORY") != "skip":
    import nndl
for _ in range(5):                           # four 4 MB arrays at once, freed together: a step's temporaries
    a = [numpy.ones(1 << 20, dtype=numpy.float32) for _ in range(4)]; del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    a = [numpy.ones(1 << 20, dtype=numpy.float32) for _ in range(4)]; del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(env_value=None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "NNDL_KEEP_FREED_MEMORY"}
    if env_value is not None:
        env["NNDL_KEEP_FREED_MEMORY"] = env_value
    return int(subprocess.run([sys.executable, "-c", ROUNDS], capture_output=True, text=True, env=env,
                              check=True).stdout)


@pytest.mark.skipif(not glibc, reason="mallopt's thresholds are glibc's")
def test_a_step_reuses_the_pages_the_last_one_freed():
    """Without the setting glibc returns 16 MB freed at the top of the heap to the system, and each
    round faults its 4,000 pages in again; with it the pages are reused."""
    assert _page_faults("skip") > 100 * 1000           # the control: the fault the setting removes
    assert _page_faults() < 100 * 10
