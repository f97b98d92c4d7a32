"""The pytest side of memguard: options, the marker, the fixture and thin hooks.

Everything here translates pytest events into calls on the pure modules (``guard``,
``settings``, ``report``); state lives in ``config.stash`` and ``item.stash``.
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import logging
import os
import platform
import sys
import warnings
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from pytest_memguard import __version__, measure, replay
from pytest_memguard import settings as _settings
from pytest_memguard import xdist as _xdist
from pytest_memguard.baseline import (
    DEFAULT_TOLERANCE,
    Baseline,
    Comparison,
    Tolerance,
    compare,
    existing_baseline,
    load_baseline,
    parse_tolerance,
)
from pytest_memguard.errors import LeakError, MemguardUsageError, passthrough
from pytest_memguard.files import check_writable
from pytest_memguard.flask import FlaskCall, only_errors
from pytest_memguard.flask import basic_auth as _basic_auth
from pytest_memguard.guard import failure_message, guard, not_judged
from pytest_memguard.measure import WarningKey
from pytest_memguard.redact import Secrets, collected, collecting, from_values
from pytest_memguard.report import terminal
from pytest_memguard.report.outputs import baseline_deltas, first_clash, write_outputs
from pytest_memguard.result import MemguardResult
from pytest_memguard.settings import Settings, SettingsError

MARKER = "memguard"

#: (name, ini type, metavar, help): every ``--memguard-NAME`` flag is mirrored by ini key
#: ``memguard_NAME``; one help string serves both.
OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "iterations",
        "string",
        "N",
        f"measured calls per guarded test (default {_settings.DEFAULT_ITERATIONS})",
    ),
    (
        "warmup",
        "string",
        "N",
        f"calls before measuring, to fill caches (default {_settings.DEFAULT_WARMUP})",
    ),
    (
        "max-growth-kb",
        "string",
        "N",
        "retained growth bound in KiB for every guarded test"
        f" (default {_settings.DEFAULT_MAX_GROWTH_KB:g})",
    ),
    ("disable", "bool", "", "ignore memguard markers; run()/flask() call once and judge nothing"),
    ("report", "bool", "", "print a table of every guarded test after the run"),
    ("json", "string", "PATH", "write every guarded test's numbers to PATH as JSON"),
    ("html", "string", "PATH", "write a self-contained HTML report to PATH"),
    (
        "save-baseline",
        "string",
        "PATH",
        "save every guarded test's retained growth to PATH as a baseline (JSON)",
    ),
    (
        "baseline",
        "string",
        "PATH",
        "fail guarded tests whose retained growth rose above the baseline at PATH by more than"
        " the tolerance",
    ),
    (
        "tolerance",
        "string",
        "SPEC",
        "how far above its baseline a test may grow, e.g. '10%+4KiB'"
        f" (default {DEFAULT_TOLERANCE})",
    ),
)
#: The options that feed ``Settings`` (per-test measuring); the others are run-wide.
SETTINGS_OPTIONS = ("iterations", "warmup", "max-growth-kb", "disable")
#: The files written at the end of the run, by the controller only.
OUTPUT_OPTIONS = ("json", "html", "save-baseline")
XDIST_PLUGIN = "memguard-xdist"


class MemguardBaselineWarning(pytest.PytestWarning):
    """The baseline was recorded where its numbers may not apply (another Python version)."""


class MemguardStatusWarning(pytest.PytestWarning):
    """A web driver's every call got a 404 or a server error: error pages were measured."""


class _Layers:
    """The validated ini and CLI layers, resolved once per session."""

    def __init__(self, ini: dict[str, Any], cli: dict[str, Any], report: bool) -> None:
        self.ini = ini
        self.cli = cli
        self.report = report

    def settings(self, *more: Mapping[str, Any]) -> Settings:
        return _settings.resolve(self.ini, self.cli, *more)


LAYERS_KEY = pytest.StashKey[_Layers]()
RESULTS_KEY = pytest.StashKey[list[MemguardResult]]()
ACTIVE_KEY = pytest.StashKey[bool]()
#: Set when ``pytest_pyfunc_call`` took a marked item, to fail the kinds it never sees.
HANDLED_KEY = pytest.StashKey[bool]()
#: The credentials seen in this session (``basic_auth()``, the Flask driver, ``Authorization``
#: headers in fixture values), to keep them out of every report until the session ends.
SECRETS_KEY = pytest.StashKey[Secrets]()
#: Ends the collection of credentials into the session's store, at unconfigure.
COLLECTING_KEY = pytest.StashKey[contextlib.ExitStack]()


@dataclass
class _Run:
    """Run-wide state of the reports and the baseline gate, validated at configure time."""

    #: Files to write at the end (controller only): option name -> (absolute path, source).
    outputs: dict[str, tuple[Path, str]] = field(default_factory=dict)
    baseline: Baseline | None = None
    tolerance: Tolerance = DEFAULT_TOLERANCE
    unreadable: int = 0  # worker results that could not be read back
    messages: list[str] = field(default_factory=list)  # shown at the end of the terminal summary


RUN_KEY = pytest.StashKey[_Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memguard", "memory growth guard (pytest-memguard)")
    for name, kind, metavar, text in OPTIONS:
        dest = _dest(name)
        flag_help = text.replace("%", "%%")  # argparse %-formats help; ini help is shown as is
        if kind == "bool":
            group.addoption(
                f"--memguard-{name}",
                action="store_const",
                const=True,
                default=None,
                dest=dest,
                help=flag_help,
            )
        else:
            group.addoption(
                f"--memguard-{name}",
                action="store",
                default=None,
                dest=dest,
                metavar=metavar,
                help=flag_help,
            )
        parser.addini(dest, help=text, type=kind, default=None)  # type: ignore[arg-type]
    parser.addini(
        "memguard_ignore",
        help="holders (module:attribute) and type names kept out of verdicts and explanations,"
        " one per line; marker and fixture ignore= add to them",
        type="linelist",
        default=[],
    )


def _dest(name: str) -> str:
    return "memguard_" + name.replace("-", "_")


def marker_help() -> str:
    return (
        "memguard(max_growth_kb=None, iterations=None, warmup=None, ignore=None): replay the"
        " test and fail it when retained memory keeps growing or exceeds max_growth_kb; with"
        " the memguard fixture, set the defaults of its calls instead."
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", marker_help())
    secrets = Secrets()
    config.stash[SECRETS_KEY] = secrets
    collecting_ = contextlib.ExitStack()
    collecting_.enter_context(collecting(secrets))
    collecting_.callback(secrets.close)
    config.stash[COLLECTING_KEY] = collecting_

    def raw(*, ini: bool) -> dict[str, Any]:
        get = config.getini if ini else config.getoption
        values = {n.replace("-", "_"): get(_dest(n)) for n in SETTINGS_OPTIONS}
        if ini:
            values["ignore"] = config.getini("memguard_ignore") or None
        return values

    try:
        ini = _settings.layer(raw(ini=True), source=lambda key: f"ini memguard_{key}")
        cli = _settings.layer(
            raw(ini=False), source=lambda key: f"--memguard-{key.replace('_', '-')}"
        )
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    report = bool(config.getoption("memguard_report") or config.getini("memguard_report"))
    config.stash[LAYERS_KEY] = _Layers(ini, cli, report)
    results: list[MemguardResult] = []
    config.stash[RESULTS_KEY] = results
    config.stash[RUN_KEY] = _configure_run(config)
    if config.pluginmanager.hasplugin("xdist"):
        xdist_plugin: object
        if _xdist.is_worker(config):
            xdist_plugin = _xdist.WorkerPlugin(results)
        else:
            xdist_plugin = _xdist.ControllerPlugin(lambda found, bad: _merge(config, found, bad))
        config.pluginmanager.register(xdist_plugin, XDIST_PLUGIN)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(XDIST_PLUGIN)
    if plugin is not None:
        config.pluginmanager.unregister(plugin)
    collecting_ = config.stash.get(COLLECTING_KEY, None)
    if collecting_ is not None:
        del config.stash[COLLECTING_KEY]
        collecting_.close()


def _marker_values(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise SettingsError(
            "@pytest.mark.memguard takes keywords only, e.g."
            f" @pytest.mark.memguard(max_growth_kb=64); got positional {marker.args!r}"
        )
    return _settings.check_keywords(marker.kwargs, source="@pytest.mark.memguard")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker(MARKER) is None:
        return
    try:
        _marker_values(item)
    except SettingsError as exc:
        message = str(exc)
    else:
        return
    pytest.fail(message, pytrace=False)  # outside the handler: shown once, not chained


def _secrets(config: pytest.Config) -> Secrets:
    """The session's credentials: learnt once, redacted in every later report."""
    return config.stash.setdefault(SECRETS_KEY, Secrets())


def _learn_fixture_values(item: pytest.Item) -> Secrets:
    """Headers built in fixtures by other means than ``basic_auth()`` are found in their values."""
    secrets = _secrets(item.config)
    funcargs = getattr(item, "funcargs", None)
    if isinstance(funcargs, dict):
        secrets.update(from_values(funcargs.values()))
    return secrets


def _record(config: pytest.Config, result: MemguardResult) -> None:
    config.stash[RESULTS_KEY].append(result)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Guard what ``pytest_pyfunc_call`` never sees: unittest methods are replayed here, and
    any other item kind with the marker fails with the reason instead of passing unguarded."""
    __tracebackhide__ = True
    if item.get_closest_marker(MARKER) is None:
        return (yield)
    item.stash[HANDLED_KEY] = False
    cls = replay.unittest_class(getattr(item, "cls", None))
    if cls is None:
        yield
        if item.stash[HANDLED_KEY] or _item_settings(item).disable:
            return None
        raise MemguardUsageError(
            f"@pytest.mark.memguard cannot replay a {type(item).__name__} item: its body is"
            " not a Python test function; guard the code it runs with the memguard fixture"
            " (memguard.run) or remove the marker"
        )
    with replay.first_call_warnings() as seen:
        yield
    settings = _item_settings(item)
    if not settings.disable:
        _judge(
            item,
            replay.unittest_method(cls, item.name),
            settings,
            label="test body",
            warmup_done=1,
            seen_warnings=seen,
        )
    return None


def _item_settings(item: pytest.Item) -> Settings:
    return item.config.stash[LAYERS_KEY].settings(_marker_values(item))


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    __tracebackhide__ = True
    if pyfuncitem.get_closest_marker(MARKER) is None:
        return (yield)
    pyfuncitem.stash[HANDLED_KEY] = True
    settings = _item_settings(pyfuncitem)
    if "memguard" in pyfuncitem.fixturenames or settings.disable:
        return (yield)
    with replay.first_call_warnings() as seen:
        outcome = yield
    function = pyfuncitem.obj
    if inspect.iscoroutinefunction(function):
        raise MemguardUsageError(
            "@pytest.mark.memguard cannot replay an async test by itself; run it with an async"
            " plugin (pytest-asyncio) that makes the test function synchronous, or guard a"
            " synchronous callable with memguard.run()"
        )
    funcargs = pyfuncitem.funcargs
    _judge(
        pyfuncitem,
        replay.test_function(function, pyfuncitem._fixtureinfo.argnames, funcargs),
        settings,
        label="test body",
        warmup_done=1,
        seen_warnings=seen,
    )
    return outcome


def _judge(
    item: pytest.Item,
    fn: Callable[[], object],
    settings: Settings,
    *,
    label: str,
    warmup_done: int = 0,
    seen_warnings: Collection[WarningKey] = (),
    statuses: Callable[[], dict[int, int]] | None = None,
    warn_on_errors: bool = False,
    relabel: Callable[[Secrets], str] | None = None,
) -> MemguardResult:
    """Guard ``fn`` for ``item``, record the result, and fail the test on a bad verdict.

    Credentials made while it measures are set aside outside the counters, and learnt after;
    ``relabel`` makes the label shown from the credentials then known (a path may hold one).
    ``statuses`` reads the HTTP status codes a web driver saw; with ``warn_on_errors`` a run
    that saw only 404s and server errors warns that it measured error pages.
    """
    __tracebackhide__ = True
    secrets = _learn_fixture_values(item)
    if item.stash.get(ACTIVE_KEY, False):
        raise MemguardUsageError(
            "memguard: a guarded call cannot run inside another guarded call; guard the outer"
            " callable only"
        )
    item.stash[ACTIVE_KEY] = True
    try:
        with secrets.measuring(), _captures_once(item.config) as reset:
            result = guard(
                fn,
                settings,
                label=label,
                nodeid=item.nodeid,
                reset=reset,
                secrets=lambda: secrets,
                warmup_done=warmup_done,
                seen_warnings=seen_warnings,
            )
    except BaseException as exc:
        if not isinstance(exc, measure.STOP):
            # No verdict, but the run is listed with the reason, never silently absent.
            shown = relabel(secrets) if relabel is not None else label
            unjudged = not_judged(exc, settings, shown, item.nodeid, secrets)
            if statuses is not None:
                unjudged = replace(unjudged, statuses=statuses())
            _record(item.config, unjudged)
        raise
    finally:
        item.stash[ACTIVE_KEY] = False
    if relabel is not None:
        result = replace(result, label=relabel(secrets))
    if statuses is not None:
        result = replace(result, statuses=statuses())
        if warn_on_errors and only_errors(result.statuses):
            codes = ", ".join(str(code) for code in sorted(result.statuses))
            warnings.warn(
                MemguardStatusWarning(
                    f"memguard: {result.label}: every call got {codes}, so this run measured"
                    " error pages; check the path, or pass expect_status= to make the status"
                    " part of the test"
                ),
                stacklevel=3,
            )
    _record(item.config, result)
    comparison = _compare(item.config, result)
    _add_properties(item, result, comparison)
    if not result.passed:
        raise LeakError(failure_message(result))
    if comparison is not None and comparison.regressed:
        raise LeakError(f"memguard: {result.label}: {comparison.message}")
    return result


@passthrough
def _captures_once(config: pytest.Config) -> Iterator[Callable[[], None]]:
    """Keep what pytest captured before the guarded run (output, log records) and yield a reset
    that drops what each call adds; what was kept is put back when the run ends.

    Otherwise the report shows the output once per call, an in-memory capture
    (``--capture=sys``) grows with every call, and the log record of the last call (with its
    traceback, its frames and everything they hold) counts as retained memory.
    """
    __tracebackhide__ = True
    capman: Any = config.pluginmanager.get_plugin("capturemanager")
    capturing = capman is not None and bool(capman.is_capturing())
    kept = capman.read_global_capture() if capturing else None
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    handlers = [
        h
        for h in (getattr(plugin, "caplog_handler", None), getattr(plugin, "report_handler", None))
        if isinstance(h, logging.StreamHandler) and isinstance(getattr(h, "records", None), list)
    ]
    logs = [(list(h.records), h.stream.getvalue()) for h in handlers]  # type: ignore[attr-defined]

    def reset() -> None:
        if capturing:
            capman.read_global_capture()
        # In place, so that no new object shows up as growth and caplog's view stays valid.
        for handler in handlers:
            handler.records.clear()  # type: ignore[attr-defined]
            handler.stream.seek(0)
            handler.stream.truncate()

    try:
        yield reset
    finally:
        reset()
        for handler, (records, text) in zip(handlers, logs, strict=True):
            handler.records.extend(records)  # type: ignore[attr-defined]
            handler.stream.write(text)
        if kept is not None:
            sys.stdout.write(kept.out)
            sys.stderr.write(kept.err)


def _nothing() -> None:
    return None


def _compare(config: pytest.Config, result: MemguardResult) -> Comparison | None:
    """The result against ``--memguard-baseline``, when one is given and the run was measured."""
    run = config.stash[RUN_KEY]
    if run.baseline is None or not result.measured:
        return None
    return compare(run.baseline, result, run.tolerance)


def _add_properties(
    item: pytest.Item, result: MemguardResult, comparison: Comparison | None
) -> None:
    """JUnit XML properties, so CI systems show the numbers beside the test.

    They also tell the xdist controller which tests were guarded, to name those whose results
    never arrived.
    """
    if not result.measured:
        return
    item.user_properties.extend(
        [
            ("memguard_growth_kb", round(result.growth_kb, 3)),
            ("memguard_limit_kb", round(result.limit_kb, 3)),
            (_xdist.GUARDED_PROPERTY, result.shape),
        ]
    )
    if comparison is not None:
        item.user_properties.append(("memguard_baseline", comparison.status))


class Memguard:
    """The ``memguard`` fixture: guard any callable, or drive a Flask app with Basic Auth."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def _settings(self, keywords: Mapping[str, Any], source: str) -> Settings:
        __tracebackhide__ = True
        try:
            call = _settings.check_keywords(keywords, source=source)
            marker = _marker_values(self._item)
        except SettingsError as exc:
            raise pytest.UsageError(str(exc)) from None
        return self._item.config.stash[LAYERS_KEY].settings(marker, call)

    def run(
        self,
        fn: Callable[[], object],
        *,
        max_growth_kb: float | None = None,
        iterations: int | None = None,
        warmup: int | None = None,
        ignore: Sequence[str] | None = None,
    ) -> MemguardResult:
        """Call ``fn()`` repeatedly and fail the test if the memory it keeps is not bounded."""
        __tracebackhide__ = True
        if not callable(fn):
            raise TypeError(f"memguard.run() needs a callable, got {type(fn).__name__}")
        settings = self._settings(
            {
                "max_growth_kb": max_growth_kb,
                "iterations": iterations,
                "warmup": warmup,
                "ignore": ignore,
            },
            "memguard.run()",
        )
        name = getattr(fn, "__qualname__", type(fn).__name__)
        return _judge(self._item, fn, settings, label=f"run({name})")

    def flask(
        self,
        app_or_client: object,
        path: str | Sequence[str] = "/",
        *,
        method: str = "GET",
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_status: int | None = None,
        max_growth_kb: float | None = None,
        iterations: int | None = None,
        warmup: int | None = None,
        ignore: Sequence[str] | None = None,
        **request_kwargs: Any,
    ) -> MemguardResult:
        """Send the request(s) through the Flask test client with Basic Auth, repeatedly."""
        __tracebackhide__ = True
        settings = self._settings(
            {
                "max_growth_kb": max_growth_kb,
                "iterations": iterations,
                "warmup": warmup,
                "ignore": ignore,
            },
            "memguard.flask()",
        )
        call = FlaskCall(
            app_or_client,
            path,
            method=method,
            auth=auth,
            headers=headers,
            expect_status=expect_status,
            request_kwargs=request_kwargs,
        )
        with call.propagating():
            return _judge(
                self._item,
                call,
                settings,
                label=call.label,
                relabel=call.shown_label,
                statuses=call.statuses,
                warn_on_errors=expect_status is None,
            )

    @staticmethod
    def basic_auth(user: str, password: str) -> dict[str, str]:
        """The ``Authorization`` header for HTTP Basic Auth (RFC 7617, UTF-8)."""
        return _basic_auth(user, password)


@pytest.fixture
def memguard(request: pytest.FixtureRequest) -> Memguard:
    """Guard callables (``memguard.run``) and Flask routes (``memguard.flask``)."""
    return Memguard(request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show memguard's own failures as their message, and keep credentials out of reports."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, (LeakError, MemguardUsageError)):
        report.longrepr = _message_repr(item, call.excinfo)
    _redact_report(report, _learn_fixture_values(item))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module may build headers, skip or fail at import: its report is redacted too."""
    report = yield
    _redact_report(report, _secrets(collector.config))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_warning_recorded(warning_message: Any) -> None:
    """Redact a warning's text before pytest's summary, JUnit or xdist sees it.

    The hook is historic (no wrapper): first in line, it rewrites the message's arguments in
    place, keeping its category.
    """
    secrets = collected()
    if secrets is not None:
        _redact_warning(warning_message, secrets)


def _message_repr(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The exception's message, and the test's own line that made the guarded call."""
    text = f"{type(excinfo.value).__name__}: {excinfo.value}"
    path = getattr(item, "path", None)
    for entry in reversed(excinfo.traceback):
        if path is not None and entry.path == path:
            return f"{text}\n\n{item.nodeid.split('::')[0]}:{entry.lineno + 1}: guarded here"
    return text


#: Fields of pytest's traceback representations that are code locations: never rewritten.
_LOCATION_FIELDS = frozenset({"path", "lineno", "firstlineno", "filename", "style", "argname"})


def _redact_report(report: pytest.TestReport | pytest.CollectReport, secrets: Secrets) -> None:
    """Tracebacks of an app's exception can show request headers and locals: redact them all.

    Every string is redacted where it sits, so the report keeps its structure (a skip's
    ``(path, lineno, reason)`` tuple, a traceback's entries) for pytest, JUnit XML and xdist.
    """
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, reason)
        path, lineno, reason = longrepr
        report.longrepr = (
            path,
            lineno,
            secrets.redact(reason) if isinstance(reason, str) else reason,
        )
    elif longrepr is not None:
        report.longrepr = _redact_tree(longrepr, secrets, depth=0)
    report.sections = [(title, secrets.redact(body)) for title, body in report.sections]
    properties = getattr(report, "user_properties", None)
    if properties:  # record_property() values, written into JUnit XML: a new list, not item's
        report.user_properties = [  # type: ignore[union-attr]
            (name, secrets.redact(value) if isinstance(value, str) else value)
            for name, value in properties
        ]
    wasxfail = getattr(report, "wasxfail", None)
    if isinstance(wasxfail, str):
        report.wasxfail = secrets.redact(wasxfail)  # type: ignore[union-attr]


def _redact_tree(node: Any, secrets: Secrets, *, depth: int) -> Any:
    """``node`` (a string, or one of pytest's traceback representations) with its strings
    redacted in place, code locations and argument names left as they are."""
    if isinstance(node, str):
        return secrets.redact(node)
    if depth > 16:
        return node
    if type(node) is list and node and all(type(line) is str for line in node):
        # Lines of one entry (an assertion diff) are redacted together: a line may be cut
        # where an earlier one says so ("Skipping 83 identical leading characters").
        return secrets.redact("\n".join(node)).split("\n")
    if type(node) in (list, tuple):
        return type(node)(_redact_tree(part, secrets, depth=depth + 1) for part in node)
    if type(node).__name__ == "ReprFuncArgs":  # (name, value) pairs: the names are code
        node.args = [(name, secrets.redact(value)) for name, value in node.args]
        return node
    if type(node).__name__ == "ReprLocals":  # "name = value" lines: the names are code
        node.lines = [_redact_local(line, secrets) for line in node.lines]
        return node
    if callable(getattr(type(node), "toterminal", None)):  # another TerminalRepr
        for name, value in list(vars(node).items()):
            if name not in _LOCATION_FIELDS and not name.startswith("_"):
                redacted = _redact_tree(value, secrets, depth=depth + 1)
                if redacted is not value:
                    setattr(node, name, redacted)
    return node


def _redact_local(line: str, secrets: Secrets) -> str:
    name, sep, value = line.partition(" = ")
    return f"{name}{sep}{secrets.redact(value)}" if sep else secrets.redact(line)


def _redact_warning(message: Any, secrets: Secrets) -> None:
    """A recorded warning, rewritten in place: its arguments (its category stays), else the
    message itself; and the source line pytest shows under it, which may hold a literal."""
    warning = getattr(message, "message", None)
    text = str(warning)
    redacted = secrets.redact(text)
    if redacted != text:
        if isinstance(warning, Warning):
            warning.args = tuple(
                secrets.redact(arg) if isinstance(arg, str) else arg for arg in warning.args
            )
        if secrets.redact(str(warning)) != str(warning):  # a __str__ of its own: replace it
            message.message = Warning(redacted)
    line = getattr(message, "line", None)
    if line is None:
        filename, lineno = getattr(message, "filename", None), getattr(message, "lineno", None)
        if isinstance(filename, str) and isinstance(lineno, int):
            line = linecache.getline(filename, lineno)
    if isinstance(line, str) and line and secrets.redact(line) != line:
        message.line = secrets.redact(line)


def _configure_run(config: pytest.Config) -> _Run:
    """Check the report and baseline options before any test runs: a typo, a corrupt
    baseline or a path memguard must not write must be a usage error now, not a traceback
    (or a lost file) after a long run."""
    run = _Run()
    controller = not _xdist.is_worker(config)
    found = _option(config, "tolerance")
    if found is not None:
        with _usage_error(found[1]):
            run.tolerance = parse_tolerance(found[0])
    baseline = _path_option(config, "baseline")
    if baseline is not None:
        with _usage_error(baseline[1]):
            run.baseline = load_baseline(baseline[0])
        mismatch = run.baseline.python_mismatch(platform.python_version())
        if mismatch and controller:  # once per run, not once per xdist worker
            config.issue_config_time_warning(MemguardBaselineWarning(mismatch), stacklevel=2)
    if controller:
        for name in OUTPUT_OPTIONS:
            located = _path_option(config, name)
            if located is not None:
                with _usage_error(located[1]):
                    check_writable(located[0])
                    if name == "save-baseline":
                        existing_baseline(located[0])  # a save merges: refuse what it cannot
                run.outputs[name] = located
        _refuse_shared_paths(config, run, baseline)
    return run


def _refuse_shared_paths(
    config: pytest.Config, run: _Run, baseline: tuple[Path, str] | None
) -> None:
    """Two files at one path: the last written would destroy the other (a report over the
    baseline, the JUnit XML over the JSON).  Comparing against a baseline and saving the new
    one to the same path is a ratchet, and allowed: the baseline is read before the run."""
    files = [(name, path, source) for name, (path, source) in run.outputs.items()]
    if baseline is not None:
        files.append(("baseline", *baseline))
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath:
        files.append(("junitxml", Path(os.path.abspath(os.path.expanduser(xmlpath))), "--junitxml"))
    clash = first_clash(files, allowed=[frozenset(("baseline", "save-baseline"))])
    if clash is not None:
        first, second, path = clash
        raise pytest.UsageError(
            f"{first} and {second} name the same file ({os.path.realpath(path)}): writing one"
            " would destroy the other; give each its own path"
        )


@contextlib.contextmanager
def _usage_error(source: str) -> Iterator[None]:
    """A bad value becomes a usage error (exit code 4) naming the option or ini key it came
    from; ``BaselineError`` and ``ReportPathError`` already name the file and the fix."""
    try:
        yield
    except (ValueError, OSError) as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def _option(config: pytest.Config, name: str) -> tuple[str, str] | None:
    """A run-wide option's text and where it came from; the command line wins over the ini."""
    dest = _dest(name)
    value = config.getoption(dest)
    if value is not None:
        return str(value), f"--memguard-{name}"
    value = config.getini(dest)
    if value:  # an empty ini value means unset, as for pytest's own keys
        return str(value), f"ini {dest}"
    return None


def _path_option(config: pytest.Config, name: str) -> tuple[Path, str] | None:
    """A path option made absolute: from the command line relative to where pytest was
    started, from the ini file relative to that file, so either works from any directory."""
    found = _option(config, name)
    if found is None:
        return None
    text, source = found
    if not text.strip():
        raise pytest.UsageError(f"{source}: give a file path, e.g. {source}=memguard.json")
    if source.startswith("--"):
        base = config.invocation_params.dir
    else:
        base = config.inipath.parent if config.inipath else config.rootpath
    return base / Path(text.strip()).expanduser(), source


def _merge(config: pytest.Config, results: list[MemguardResult], unreadable: int) -> None:
    """Add an xdist worker's results to the controller's."""
    config.stash[RESULTS_KEY].extend(results)
    config.stash[RUN_KEY].unreadable += unreadable


def _results(config: pytest.Config) -> list[MemguardResult]:
    """Every result of the run in a stable order, whichever worker ran which test."""
    results: list[MemguardResult] = config.stash[RESULTS_KEY]
    return sorted(results, key=lambda r: (r.nodeid, r.label))


def _missing(config: pytest.Config, results: Sequence[MemguardResult]) -> list[str]:
    plugin = config.pluginmanager.get_plugin(XDIST_PLUGIN)
    if isinstance(plugin, _xdist.ControllerPlugin):
        return plugin.missing(results)
    return []


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """Write the files once every result is in, workers' included.

    Done here rather than in ``pytest_sessionfinish`` so that a failed write can still fail
    the session (``testsfailed``) like pytest-cov's ``--cov-fail-under``.
    """
    try:
        outcome = yield
    except BaseException as exc:
        _write_outputs(session, stopped=f"the run stopped early ({type(exc).__name__}: {exc})")
        raise
    _write_outputs(session, stopped=None)
    return outcome


def _write_outputs(session: pytest.Session, *, stopped: str | None) -> None:
    """Write the JSON, HTML and baseline files; a failure is a message and a failed session."""
    config = session.config
    run = config.stash.get(RUN_KEY, None)
    if run is None or not run.outputs or _xdist.is_worker(config) or config.option.collectonly:
        return
    results = _results(config)
    written = write_outputs(
        run.outputs,
        results,
        version=__version__,
        baseline=run.baseline,
        tolerance=run.tolerance,
        missing=_missing(config, results),
        stopped=stopped,
    )
    run.messages.extend([*written.notes, *written.errors])
    session.testsfailed += len(written.errors)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    layers = config.stash.get(LAYERS_KEY, None)
    run = config.stash.get(RUN_KEY, None)
    if layers is None or run is None:
        return
    results = _results(config)
    missing = _missing(config, results)
    if layers.report:
        terminalreporter.write_sep("=", "memguard report")
        if results or missing:
            for line in terminal.render(
                results,
                baseline_deltas(run.baseline, run.tolerance, results),
                missing,
                width=config.get_terminal_writer().fullwidth,
            ):
                terminalreporter.write_line(line)
        else:
            terminalreporter.write_line("no guarded tests ran")
    elif missing:
        terminalreporter.write_sep("=", "memguard")
        for line in terminal.missing_lines(missing):
            terminalreporter.write_line(line)
    messages = list(run.messages)
    if run.unreadable:
        messages.append(
            f"memguard: {run.unreadable} result(s) sent by xdist workers could not be read"
            " (a worker running another pytest-memguard version?)"
        )
    for message in messages:
        terminalreporter.write_line(message, red=message.startswith("ERROR"), bold=True)
