"""What several test files share: test bodies and a result factory (fixtures are in conftest)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from pytest_memguard.result import MemguardResult, TypeGrowth

ROOT = Path(__file__).resolve().parents[1]

#: Where a clean run settles: flat within 1 KiB, on every Python (CPython 3.10 once settled
#: a few KiB higher: the attribute caches it gave functions on their 1,024th call, now turned
#: off, see measure.no_late_caches). One object kept per call would be ~64 KiB over these runs.
SETTLED_SHAPES = ("flat",)
SETTLED_KB = 1.0

LEAKY = """
import pytest
_log = []

@pytest.mark.memguard(max_growth_kb=64)
def test_leaky():
    _log.append("alice:" + "s3cret" + str(len(_log) % 1))
"""

CLEAN = """
import pytest

@pytest.mark.memguard(max_growth_kb=64)
def test_clean():
    assert sum(range(100)) == 4950
"""


def result(
    nodeid: str = "tests/test_a.py::test_x",
    growth_kb: float = 3.1,
    *,
    label: str = "test body",
    types: tuple[TypeGrowth, ...] = (),
    measured: bool = True,
) -> MemguardResult:
    """A passing, measured result with the numbers a report or a baseline needs."""
    return MemguardResult(
        passed=True,
        growth_kb=growth_kb,
        limit_kb=256.0,
        iterations=100,
        warmup=10,
        per_call_bytes=growth_kb * 1024 / 100,
        shape="plateau",
        reason="within bound",
        types=types,
        series=(0, 1024, 2048),
        nodeid=nodeid,
        label=label,
        measured=measured,
    )


def run_benchmark(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<script>`` with this Python, as a user would; its output is the test."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def threads_settled() -> None:
    """Collect, then wait (up to 2 s) until the process's thread count stops falling."""
    import time

    from pytest_memguard.resources import count_threads

    gc.collect()
    deadline = time.monotonic() + 2
    count = count_threads()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        count, before = count_threads(), count
        if count >= before:
            break
