"""pytest-xdist support: workers send their results, the controller merges them.

Under ``-n`` the controller runs no tests, so without this its reports would be empty
(pytest-memray #2).  Each worker puts its results, as plain JSON-able dicts, in
``config.workeroutput`` when its session finishes; the controller reads them when the node goes
down.  A crashed worker never sends its output (pytest-metadata #21): the controller then gets
nothing for it, and the plugin lists those tests as missing instead of failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest

from pytest_memguard.files import dumps_json
from pytest_memguard.redact import REDACTED
from pytest_memguard.result import MemguardResult

#: The name the xdist part of the plugin is registered under.
PLUGIN_NAME = "memguard-xdist"
#: The key of memguard's results in a worker's ``workeroutput``.
WORKEROUTPUT_KEY = "memguard_results"
#: The user property (JUnit XML) every measured test carries; its reports reach the controller
#: even when its worker later crashes, so the controller knows which results to expect.
GUARDED_PROPERTY = "memguard_shape"


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (which must never write report files)."""
    return hasattr(config, "workerinput")


def pack(results: Iterable[MemguardResult]) -> list[object]:
    """Results as data execnet can send: one JSON text each.

    Text rather than dicts because execnet encodes strings as strict UTF-8: a label with a
    lone surrogate (a ``__qualname__`` of ``"f\\udcff"``) would crash the worker's report and
    lose every result; JSON escapes it, and reads back the very same string.
    """
    return [dumps_json(result.to_dict()) for result in results]


def unpack(workeroutput: object) -> tuple[list[MemguardResult], int]:
    """The results a worker sent, and how many entries could not be read.

    Read defensively: a worker of another plugin version, or a damaged payload, must cost the
    controller those entries, never the run.
    """
    if not isinstance(workeroutput, dict):
        return [], 0
    raw = workeroutput.get(WORKEROUTPUT_KEY, [])
    if not isinstance(raw, list):
        return [], 1
    results: list[MemguardResult] = []
    bad = 0
    for item in raw:
        try:
            data = json.loads(item) if isinstance(item, str) else item
            if not isinstance(data, dict):
                raise TypeError(type(data).__name__)
            results.append(MemguardResult.from_dict(data))
        except (TypeError, ValueError, OverflowError, RecursionError):
            bad += 1
    return results, bad


class WorkerPlugin:
    """On a worker: hand this worker's results to xdist when its session finishes."""

    def __init__(self, results: Sequence[MemguardResult]) -> None:
        self._results = results  # the plugin's list, filled as tests run

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # xdist's own wrapper sends workeroutput after every pytest_sessionfinish has run.
        output: dict[str, Any] = session.config.workeroutput  # type: ignore[attr-defined]
        output[WORKEROUTPUT_KEY] = pack(self._results)


#: The parameters' indices a redacted node id ends with (see ``redact_node_id``).
_PARAMS = re.compile(r"#[0-9-]*\]$")


class ControllerPlugin:
    """On the controller: merge each worker's results as its node goes down, and note which
    tests were guarded so that results lost with a crashed worker can be named."""

    def __init__(self, merge: Callable[[list[MemguardResult], int], None]) -> None:
        self._merge = merge
        self._guarded: dict[str, None] = {}  # node ids, in the order their reports arrived

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if any(name == GUARDED_PROPERTY for name, _ in report.user_properties):
            self._guarded[report.nodeid] = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: object, error: object) -> None:
        # A crashed node has no workeroutput attribute at all.
        results, bad = unpack(getattr(node, "workeroutput", {}))
        self._merge(results, bad)

    def missing(self, results: Iterable[MemguardResult]) -> list[str]:
        """Guarded tests with no result, sorted. A result's node id has its parametrize ids
        redacted where they hold a credential: it stands for every node id it matches."""
        have = {result.nodeid for result in results}
        redacted = [  # the parameters' indices after the ids are not in the node id
            re.compile(".+".join(map(re.escape, _PARAMS.sub("]", nodeid).split(REDACTED))))
            for nodeid in have
            if REDACTED in nodeid
        ]
        return sorted(
            nodeid
            for nodeid in self._guarded
            if nodeid not in have and not any(p.fullmatch(nodeid) for p in redacted)
        )
