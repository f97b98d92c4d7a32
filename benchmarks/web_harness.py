"""The pytest side of ``benchmarks/frameworks.py``: loaded into every generated session.

* the ``scenario`` fixture (parametrised indirectly by web-corpus name): resets the scenario's
  module around the test;
* :func:`bare_calls`: the scenario's request sent ``n`` times through the same client the
  memguard driver uses (httpx's ``ASGITransport`` on one event loop, werkzeug's client,
  Django's test client), with no guard: the cost baseline and what pytest-memray watches;
* ``--bench-out=PATH``: per test, the outcome, the failure's first line, whether it names the
  leak's holder, the time to a verdict (call phase start to the end of ``makereport``, where
  pytest-memray judges) and the time memguard spent explaining, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.corpus import names_holder
from benchmarks.harness import _time_memguard_explanations, basic_header, pair_for
from benchmarks.web_corpus import Scenario, by_name

START_KEY = pytest.StashKey[float]()
RECORDS_KEY = pytest.StashKey[list[dict[str, Any]]]()
EXPLAIN_KEY = pytest.StashKey[list[float]]()


def bare_calls(scenario: Scenario, calls: int) -> None:
    """``calls`` requests of the scenario through its framework's client, no guard."""
    pair = pair_for(scenario.auth)

    def headers(i: int) -> dict[str, str]:
        found = pair(i)
        return {"Authorization": basic_header(*found)} if found else {}

    if scenario.framework == "django":
        from django.test import Client

        client = Client()
        for i in range(calls):
            _check(client.get(scenario.path, headers=headers(i)).status_code, i)
    elif scenario.framework == "wsgi":
        from werkzeug.test import Client as WsgiClient

        wsgi = WsgiClient(scenario.app())
        for i in range(calls):
            response = wsgi.open(scenario.path, headers=headers(i))
            _check(response.status_code, i)
            response.close()
    else:
        asyncio.run(_asgi_calls(scenario, calls, headers))


async def _asgi_calls(scenario: Scenario, calls: int, headers: Any) -> None:
    import httpx

    transport = httpx.ASGITransport(app=scenario.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for i in range(calls):
            response = await client.get(scenario.path, headers=headers(i))
            await response.aclose()
            _check(response.status_code, i)


def _check(status: int, i: int) -> None:
    if status != 200:
        raise AssertionError(f"status {status} on call {i + 1}, expected 200")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "benchmarks/frameworks.py harness")
    group.addoption("--bench-out", default=None, help="write per-test records here (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RECORDS_KEY] = []
    config.stash[EXPLAIN_KEY] = [0.0]
    _time_memguard_explanations(config.stash[EXPLAIN_KEY])


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    found = by_name(request.param)
    found.reset()
    yield found
    found.reset()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    item.stash[START_KEY] = time.perf_counter()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "setup":
        item.config.stash[EXPLAIN_KEY][0] = 0.0
    if call.when == "call":
        seconds = time.perf_counter() - item.stash.get(START_KEY, time.perf_counter())
        callspec = getattr(item, "callspec", None)
        name = str(callspec.params.get("scenario", "")) if callspec is not None else ""
        message, holder_named = "", None
        if report.failed:
            text = str(report.longrepr).strip()
            held_by = by_name(name).holder if name else None
            if held_by is not None:
                holder_named = names_holder(text, held_by)
            lines = text.splitlines()
            errors = [line[1:].strip() for line in lines if line.startswith("E ")]
            message = lines[0] if lines else "(no message)"
            if not message.startswith(("LeakError", "Test was")) and errors:
                message = errors[-1]
        item.config.stash[RECORDS_KEY].append(
            {
                "scenario": name,
                "outcome": report.outcome,
                "verdict_seconds": seconds,
                "message": message[:300],
                "holder_named": holder_named,
                "explain_seconds": item.config.stash[EXPLAIN_KEY][0],
                "frameworks_loaded": sorted(
                    m for m in ("fastapi", "starlette", "django", "flask") if m in sys.modules
                ),
            }
        )
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("bench_out")
    if path:
        Path(path).write_text(json.dumps(session.config.stash[RECORDS_KEY]), encoding="utf-8")
