"""Fixtures of the end-to-end tests; shared test bodies and factories are in ``helpers``."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

INNER_ADDOPTS = "-p no:randomly -p no:asyncio"


@pytest.fixture(autouse=True)
def _inner_runs_in_file_order(request: pytest.FixtureRequest) -> None:
    """Inner pytester runs keep their file order and load no async plugin.

    Several inner files check, in a last test, what guarded tests before it did, so
    pytest-randomly is off; pytest-asyncio (a test extra) is off unless a test turns it on,
    as its users do. pytester clears PYTEST_ADDOPTS when it is set up, so this sets it after.
    """
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("PYTEST_ADDOPTS", INNER_ADDOPTS)
        # Wide enough for every column of the report table; a test of fitting sets its own.
        monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run pytest in-process on the given test files with classic output."""

    def run(*args: str, **files: str) -> pytest.RunResult:
        pytester.makeini("[pytest]\nconsole_output_style = classic\n")
        if files:
            pytester.makepyfile(**files)
        return pytester.runpytest("-p", "no:cacheprovider", *args)

    return run


@pytest.fixture
def sub(pytester: pytest.Pytester):
    """Like ``run``, in a subprocess: for runs that need a process of their own (xdist starts
    its workers as processes anyway). Verdicts do not: they hold in-process, under xdist."""

    def sub(*args: str, **files: str) -> pytest.RunResult:
        pytester.makeini("[pytest]\nconsole_output_style = classic\n")
        if files:
            pytester.makepyfile(**files)
        return pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "no:benchmark", *args, timeout=120
        )

    return sub


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    """A fake app module in ``sys.modules``: a root for leak traces, removed after the test."""
    mod = types.ModuleType("memguard_fake_app")
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]
