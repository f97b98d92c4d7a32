"""The pytest side of ``benchmarks/run.py``: loaded into every generated session as a plugin.

``run.py`` writes one small test file per mode and runs it with ``-p benchmarks.harness``. This
plugin gives those tests what they share, so that every mode drives the same calls:

* the ``scenario`` fixture (parametrised indirectly by corpus name): resets the module, builds
  the app and a :class:`Caller` outside the timed call phase, and resets the module again at
  teardown so no state leaks from one test into the next;
* ``--bench-big-heap=N``: a session fixture holding ``N`` live gc-tracked objects, to show what
  the heap size costs;
* ``--bench-out=PATH``: per test, the outcome, the first line of a failure, whether the failure
  names the leak scenario's ``HOLDER`` (``holder_named``) and two timings, and at session end
  the process's resident set size, written to ``PATH`` as JSON.

The timing that matters is *time to a verdict*: from the start of the call phase to the end of
``pytest_runtest_makereport``. pytest-memray judges its markers in ``makereport`` (after the
call phase has been timed), memguard judges inside the call; counting both is the fair figure.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchmarks.corpus import holder, load, names_holder

#: What ``memguard.flask()`` is given besides these goes to ``client.open`` as it does there.
DRIVER_KEYS = frozenset({"path", "auth", "headers", "method", "expect_status"})

START_KEY = pytest.StashKey[float]()
RECORDS_KEY = pytest.StashKey[list[dict[str, Any]]]()
EXPLAIN_KEY = pytest.StashKey[list[float]]()


def basic_header(user: str, password: str) -> str:
    """``Authorization`` value for HTTP Basic Auth: base64 of UTF-8 ``user:password``."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def pair_for(auth: object) -> Callable[[int], tuple[str, str] | None]:
    """Credentials of call ``i``, the way ``memguard.flask`` picks them.

    A pair is sent on every call, a list of pairs is cycled, a callable is asked per call.
    """
    if auth is None:
        return lambda i: None
    if isinstance(auth, tuple):
        fixed: tuple[str, str] = auth
        return lambda i: fixed
    if isinstance(auth, list):
        pairs: list[tuple[str, str]] = auth
        return lambda i: pairs[i % len(pairs)]
    if callable(auth):
        produce: Callable[[int], tuple[str, str]] = auth
        return produce
    raise TypeError(f"unsupported auth {type(auth).__name__}")


class Caller:
    """One call = the scenario's request(s), built like ``memguard.flask`` builds them.

    Headers are copied per call and get a fresh Basic header; every path of a list is sent on
    every call; the response is closed; a status other than the expected one is an error, so a
    broken scenario never passes for a fast one.
    """

    def __init__(self, app: Any, scenario: Mapping[str, Any]) -> None:
        self.client = app.test_client()
        path = scenario.get("path", "/")
        self.paths: tuple[str, ...] = (path,) if isinstance(path, str) else tuple(path)
        self.method = str(scenario.get("method", "GET")).upper()
        self.headers = dict(scenario.get("headers") or {})
        self.expect = int(scenario.get("expect_status", 200))
        self.kwargs = {k: v for k, v in scenario.items() if k not in DRIVER_KEYS}
        self._pair_for = pair_for(scenario.get("auth"))
        self.calls = 0

    def __call__(self, *, via_plugin: bool = False) -> None:
        """One call; ``via_plugin`` builds the header with ``pytest_memguard.basic_auth``, as
        the README's marker recipe does (the plugin then remembers every credential)."""
        pair = self._pair_for(self.calls)
        self.calls += 1
        headers = dict(self.headers)
        if pair is not None and via_plugin:
            from pytest_memguard import basic_auth

            headers.update(basic_auth(*pair))
        elif pair is not None:
            headers["Authorization"] = basic_header(*pair)
        for path in self.paths:
            response = self.client.open(path, method=self.method, headers=headers, **self.kwargs)
            status = response.status_code
            response.close()
            if status != self.expect:
                raise AssertionError(
                    f"{self.method} {path}: status {status}, expected {self.expect}"
                    f" (call {self.calls})"
                )


@dataclass
class Scenario:
    """What a generated test gets: the app, its caller and the ``memguard.flask`` kwargs."""

    name: str
    module: ModuleType
    app: Any
    call: Caller
    kwargs: dict[str, Any] = field(default_factory=dict)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "benchmarks/run.py harness")
    group.addoption("--bench-out", default=None, help="write per-test records here (JSON)")
    group.addoption(
        "--bench-big-heap",
        type=int,
        default=0,
        help="hold this many live gc-tracked objects for the whole session",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RECORDS_KEY] = []
    config.stash[EXPLAIN_KEY] = [0.0]
    _time_memguard_explanations(config.stash[EXPLAIN_KEY])


def _time_memguard_explanations(total: list[float]) -> None:
    """Add the time memguard spends explaining failures to ``total[0]``; the plugin is unchanged.

    The explanation pass runs only after a failed verdict, and it is where a failing test's
    time goes: the report shows it apart from detection. Does nothing if memguard is not loaded
    or no longer has ``guard.explain``.
    """
    guard = sys.modules.get("pytest_memguard.guard")
    explain = getattr(guard, "explain", None)
    if guard is None or explain is None or getattr(explain, "_bench_timed", False):
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return explain(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - started

    timed._bench_timed = True  # type: ignore[attr-defined]
    guard.explain = timed  # type: ignore[attr-defined]


def warm_process(names: Iterable[str]) -> None:
    """Import every scenario and send one request each, then reset them all.

    Run as the session's first test, so that the first measured test does not also pay for
    lazy imports and first-request set-up in Flask and Werkzeug (in every mode alike).
    """
    for name in names:
        module = load(name)
        module.reset()
        Caller(module.create_app(), module.SCENARIO)()
        module.reset()
    gc.collect()


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    """The corpus scenario named by the (indirect) parameter, freshly reset."""
    name: str = request.param
    module = load(name)
    module.reset()
    app = module.create_app()
    kwargs = dict(module.SCENARIO)
    yield Scenario(name, module, app, Caller(app, kwargs), kwargs)
    module.reset()


@pytest.fixture(scope="session", autouse=True)
def big_heap(request: pytest.FixtureRequest) -> Iterator[list[list[int]]]:
    """``--bench-big-heap`` live objects, built before the first test and kept to the end.

    One-element lists rather than tuples of ints: the collector untracks such tuples on its
    first pass, and an untracked object costs a collection nothing, so it would prove nothing.
    """
    count: int = request.config.getoption("bench_big_heap")
    heap = [[i] for i in range(count)]
    gc.collect()
    yield heap
    heap.clear()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    item.stash[START_KEY] = time.perf_counter()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Outermost wrapper: runs after every other plugin has given its verdict on the report."""
    report = yield
    if call.when == "setup":
        item.config.stash[EXPLAIN_KEY][0] = 0.0
    if call.when == "call":
        verdict_seconds = time.perf_counter() - item.stash.get(START_KEY, time.perf_counter())
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        name = str(params.get("scenario", ""))
        message = ""
        holder_named = None
        if report.failed:
            text = str(report.longrepr).strip()
            held_by = holder(load(name)) if name else None
            if held_by is not None:
                holder_named = names_holder(text, held_by)
            message = text.splitlines()[0] if text else "(no message)"
            # LeakError's first line is the verdict; other failures end with "E   <error>".
            errors = [line for line in text.splitlines() if line.startswith("E ")]
            if not message.startswith(("LeakError", "Test was")) and errors:
                message = errors[-1][1:].strip()
        item.config.stash[RECORDS_KEY].append(
            {
                "nodeid": item.nodeid,
                "scenario": name,
                "outcome": report.outcome,
                "call_seconds": report.duration,
                "verdict_seconds": verdict_seconds,
                "message": message[:500],
                # None unless a leak scenario's test failed: then, does the failure name its
                # HOLDER in a leak-trace hop (the whole text, not only the first line)?
                "holder_named": holder_named,
                "explain_seconds": item.config.stash[EXPLAIN_KEY][0],
                "memray_peak": _memray_peak(item),
            }
        )
    return report


def _memray_peak(item: pytest.Item) -> int | None:
    """The peak pytest-memray recorded for this test: what ``limit_memory`` compares."""
    manager = item.config.pluginmanager.get_plugin("memray_manager")
    result = getattr(manager, "results", {}).get(item.nodeid)
    peak = getattr(result, "peak_memory", None)
    return int(peak) if peak is not None else None


def rss_bytes() -> int:
    """Resident set size now, from ``/proc/self/statm`` (resident pages times the page size)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident = int(statm.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("bench_out")
    if not path:
        return
    gc.collect()
    payload = {
        "records": session.config.stash[RECORDS_KEY],
        "rss_bytes": rss_bytes(),
        "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    Path(path).write_text(json.dumps(payload), encoding="utf-8")
