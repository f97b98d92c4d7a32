"""The pytest side of memguard: options, the marker, the fixture and thin hooks.

Everything here translates pytest events into calls on the pure modules (``guard``,
``settings``, ``report``); state lives in ``config.stash`` and ``item.stash``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import pytest

from pytest_memguard import settings as _settings
from pytest_memguard.errors import LeakError, MemguardUsageError
from pytest_memguard.flask import FlaskCall
from pytest_memguard.flask import basic_auth as _basic_auth
from pytest_memguard.guard import failure_message, guard
from pytest_memguard.redact import Secrets
from pytest_memguard.report import terminal
from pytest_memguard.result import MemguardResult
from pytest_memguard.settings import Settings, SettingsError

MARKER = "memguard"

#: (name, ini type, help): every ``--memguard-NAME`` flag is mirrored by ini key ``memguard_NAME``.
OPTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "iterations",
        "string",
        f"measured calls per guarded test (default {_settings.DEFAULT_ITERATIONS})",
    ),
    (
        "warmup",
        "string",
        f"calls before measuring, to fill caches (default {_settings.DEFAULT_WARMUP})",
    ),
    (
        "max-growth-kb",
        "string",
        "retained growth bound in KiB for every guarded test"
        f" (default {_settings.DEFAULT_MAX_GROWTH_KB:g})",
    ),
    ("disable", "bool", "ignore memguard markers; run()/flask() call once and judge nothing"),
    ("report", "bool", "print a table of every guarded test after the run"),
)


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
#: Credentials the Flask driver sent during this test, to redact its reports; dropped at teardown.
SECRETS_KEY = pytest.StashKey[Secrets]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memguard", "memory growth guard (pytest-memguard)")
    for name, kind, text in OPTIONS:
        dest = "memguard_" + name.replace("-", "_")
        if kind == "bool":
            group.addoption(
                f"--memguard-{name}",
                action="store_const",
                const=True,
                default=None,
                dest=dest,
                help=text,
            )
        else:
            group.addoption(
                f"--memguard-{name}",
                action="store",
                default=None,
                dest=dest,
                metavar="N",
                help=text,
            )
        parser.addini(dest, help=text, type=kind, default=None)  # type: ignore[arg-type]


def marker_help() -> str:
    return (
        "memguard(max_growth_kb=None, iterations=None, warmup=None): replay the test and fail it"
        " when retained memory keeps growing or exceeds max_growth_kb; with the memguard"
        " fixture, set the defaults of its calls instead."
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", marker_help())

    def raw(name: str, *, ini: bool) -> dict[str, Any]:
        return {
            n.replace("-", "_"): (config.getini if ini else config.getoption)(
                "memguard_" + n.replace("-", "_")
            )
            for n, _, _ in OPTIONS
            if n != "report"
        }

    try:
        ini = _settings.layer(raw("", ini=True), source=lambda key: f"ini memguard_{key}")
        cli = _settings.layer(
            raw("", ini=False), source=lambda key: f"--memguard-{key.replace('_', '-')}"
        )
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    report = bool(config.getoption("memguard_report") or config.getini("memguard_report"))
    config.stash[LAYERS_KEY] = _Layers(ini, cli, report)
    config.stash[RESULTS_KEY] = []


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
        pytest.fail(str(exc), pytrace=False)


def _before_call(config: pytest.Config) -> Callable[[], None]:
    """Drop what pytest's log capture kept from the previous call: it is not the app's memory."""
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    handlers = [
        h
        for h in (getattr(plugin, "caplog_handler", None), getattr(plugin, "report_handler", None))
        if isinstance(h, logging.StreamHandler) and isinstance(getattr(h, "records", None), list)
    ]

    def before() -> None:
        # In place, so that no new object shows up as growth and caplog's view stays valid.
        for handler in handlers:
            handler.records.clear()  # type: ignore[attr-defined]
            handler.stream.seek(0)
            handler.stream.truncate()

    return before


def _record(config: pytest.Config, result: MemguardResult) -> None:
    config.stash[RESULTS_KEY].append(result)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    outcome = yield
    if pyfuncitem.get_closest_marker(MARKER) is None or "memguard" in pyfuncitem.fixturenames:
        return outcome
    config = pyfuncitem.config
    values = _marker_values(pyfuncitem)
    settings = config.stash[LAYERS_KEY].settings(values)
    if settings.disable:
        return outcome
    function = pyfuncitem.obj
    if inspect.iscoroutinefunction(function):
        raise MemguardUsageError(
            "@pytest.mark.memguard cannot replay an async test by itself; run it with an async"
            " plugin (pytest-asyncio) that makes the test function synchronous, or guard a"
            " synchronous callable with memguard.run()"
        )
    argnames = pyfuncitem._fixtureinfo.argnames
    funcargs = pyfuncitem.funcargs

    def replay() -> None:
        function(**{arg: funcargs[arg] for arg in argnames})

    _judge(
        pyfuncitem,
        replay,
        settings,
        label="test body",
        warmup_done=1,
    )
    return outcome


def _judge(
    item: pytest.Item,
    fn: Callable[[], object],
    settings: Settings,
    *,
    label: str,
    warmup_done: int = 0,
    secrets: Callable[[], Secrets] = Secrets,
) -> MemguardResult:
    __tracebackhide__ = True
    if item.stash.get(ACTIVE_KEY, False):
        raise MemguardUsageError(
            "memguard: a guarded call cannot run inside another guarded call; guard the outer"
            " callable only"
        )
    item.stash[ACTIVE_KEY] = True
    try:
        result = guard(
            fn,
            settings,
            label=label,
            nodeid=item.nodeid,
            before_call=_before_call(item.config),
            secrets=secrets,
            warmup_done=warmup_done,
        )
    finally:
        item.stash[ACTIVE_KEY] = False
    _record(item.config, result)
    if not result.passed:
        raise LeakError(failure_message(result))
    return result


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
    ) -> MemguardResult:
        """Call ``fn()`` repeatedly and fail the test if the memory it keeps is not bounded."""
        __tracebackhide__ = True
        if not callable(fn):
            raise TypeError(f"memguard.run() needs a callable, got {type(fn).__name__}")
        settings = self._settings(
            {"max_growth_kb": max_growth_kb, "iterations": iterations, "warmup": warmup},
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
        **request_kwargs: Any,
    ) -> MemguardResult:
        """Send the request(s) through the Flask test client with Basic Auth, repeatedly."""
        __tracebackhide__ = True
        settings = self._settings(
            {"max_growth_kb": max_growth_kb, "iterations": iterations, "warmup": warmup},
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
        try:
            with call.propagating():
                return _judge(self._item, call, settings, label=call.label, secrets=call.secrets)
        finally:
            secrets = self._item.stash.setdefault(SECRETS_KEY, Secrets())
            secrets.update(call.secrets())

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
    secrets = item.stash.get(SECRETS_KEY, None)
    if secrets:
        _redact_report(report, secrets)
    if call.when == "teardown" and SECRETS_KEY in item.stash:
        del item.stash[SECRETS_KEY]
    return report


def _message_repr(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The exception's message, and the test's own line that made the guarded call."""
    text = f"{type(excinfo.value).__name__}: {excinfo.value}"
    path = getattr(item, "path", None)
    for entry in reversed(excinfo.traceback):
        if path is not None and entry.path == path:
            return f"{text}\n\n{item.nodeid.split('::')[0]}:{entry.lineno + 1}: guarded here"
    return text


def _redact_report(report: pytest.TestReport, secrets: Secrets) -> None:
    """Tracebacks of an app's exception can show request headers and locals: redact them all."""
    if report.longrepr is not None:
        text = str(report.longrepr)
        redacted = secrets.redact(text)
        if redacted != text:
            report.longrepr = redacted
    report.sections = [(title, secrets.redact(body)) for title, body in report.sections]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    layers = config.stash.get(LAYERS_KEY, None)
    if layers is None or not layers.report:
        return
    results = config.stash[RESULTS_KEY]
    terminalreporter.write_sep("=", "memguard report")
    if not results:
        terminalreporter.write_line("no guarded tests ran")
        return
    for line in terminal.render(results):
        terminalreporter.write_line(line)
