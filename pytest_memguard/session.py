"""The plugin's one object per run, as pytest-xdist's ``DSession``: the resolved settings
layers, the run's results, its files and credentials, and the hooks that need them.

``plugin.pytest_configure`` builds and registers it; every hook here translates a pytest event
into calls on the pure modules (``guard``, ``replay``, ``report``) and keeps per-test state in
``item.stash``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Collection, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from pytest_memguard import fixtures, measure, replay, resources, scan
from pytest_memguard import settings as _settings
from pytest_memguard import xdist as _xdist
from pytest_memguard.baseline import Comparison, compare
from pytest_memguard.captures import captured_once
from pytest_memguard.errors import LeakError, MemguardUsageError
from pytest_memguard.flask import only_errors
from pytest_memguard.guard import EXPLAIN_CALLS, failure_message, guard, not_judged
from pytest_memguard.measure import WarningKey
from pytest_memguard.redact import Secrets, from_values
from pytest_memguard.report import terminal
from pytest_memguard.report.outputs import baseline_deltas
from pytest_memguard.report_redaction import redact_report, redact_result, redact_warning
from pytest_memguard.result import TEST_BODY, MemguardResult
from pytest_memguard.retainers import ChainMemo
from pytest_memguard.run_files import RunFiles
from pytest_memguard.scan import Screen
from pytest_memguard.settings import Settings, SettingsError

MARKER = "memguard"

#: The marker's keywords, validated once per item at setup.
MARKER_KEY = pytest.StashKey[dict[str, Any]]()
#: Set while a guarded call runs, to refuse a guarded call inside another.
ACTIVE_KEY = pytest.StashKey[bool]()
#: Set when ``pytest_pyfunc_call`` took a marked item, to fail the kinds it never sees.
HANDLED_KEY = pytest.StashKey[bool]()


class _NotReplayable(Exception):
    """The scan cannot replay this item at all; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def replay_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the replayed test's own failure (an assertion, an error, a skip or
    ``pytest.fail()``), rather than the run being stopped (Ctrl-C, ``pytest.exit()``)."""
    return not isinstance(exc, (*measure.STOP, pytest.exit.Exception))


def _replay_reason(exc: BaseException) -> str:
    """ "not replayable: ..." with the replay that raised and what it raised."""
    where = measure.raised_on(exc) or "a replay"
    if isinstance(exc, fixtures.FixtureRefreshError):
        return f"{scan.NOT_REPLAYABLE}: {exc}"
    if isinstance(exc, scan.ReplayTimeout):
        return f"{scan.NOT_REPLAYABLE}: {exc} (it waits for something its first call had)"
    return scan.not_replayable_reason(exc, where)


class MemguardStatusWarning(pytest.PytestWarning):
    """A web driver's every call got a 404 or a server error: error pages were measured."""


@dataclass(frozen=True)
class Layers:
    """The validated ini and CLI layers, resolved once per run."""

    ini: Mapping[str, Any]
    cli: Mapping[str, Any]
    report: bool
    scan: str = "off"  # --memguard-scan: "fail", "report" or "off"

    def settings(self, *more: Mapping[str, Any]) -> Settings:
        return _settings.resolve(self.ini, self.cli, *more)


def marker_values(item: pytest.Item) -> dict[str, Any]:
    """The marker's keywords, validated (``SettingsError`` names the problem and the fix)."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise SettingsError(
            "@pytest.mark.memguard takes keywords only, e.g."
            f" @pytest.mark.memguard(max_growth_kb=64); got positional {marker.args!r}"
        )
    return _settings.check_keywords(marker.kwargs, source="@pytest.mark.memguard")


class MemguardSession:
    """Registered as a plugin for the whole run; see the module docstring."""

    def __init__(
        self, config: pytest.Config, layers: Layers, files: RunFiles, secrets: Secrets
    ) -> None:
        self.config = config
        self.layers = layers
        self.files = files
        self.secrets = secrets  # every credential seen in this run, kept out of every report
        self.results: list[MemguardResult] = []
        # The chains to holders explained so far (ids only): tests leaking into one holder
        # share its search.
        self.chains = ChainMemo()
        self.screened = False  # whether this process screened a test yet (see FIRST_WARMUP)

    # -- per item: the marker, its settings, the replay ------------------------------------

    def marker(self, item: pytest.Item) -> dict[str, Any]:
        """The item's validated marker keywords, read once and stashed."""
        if MARKER_KEY not in item.stash:
            item.stash[MARKER_KEY] = marker_values(item)
        return item.stash[MARKER_KEY]

    def settings(self, item: pytest.Item, *more: Mapping[str, Any]) -> Settings:
        return self.layers.settings(self.marker(item), *more)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        """Short credentials are redacted in the output of the test that used them only. A
        wrapper: it runs whichever plugin runs the protocol (pytest-rerunfailures does)."""
        self.secrets.begin_test()
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.get_closest_marker(MARKER) is None:
            return
        try:
            self.marker(item)
        except SettingsError as exc:
            message = str(exc)
        else:
            return
        pytest.fail(message, pytrace=False)  # outside the handler: shown once, not chained

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Guard what ``pytest_pyfunc_call`` never sees: unittest methods are replayed here,
        and any other item kind with the marker fails with the reason instead of passing."""
        __tracebackhide__ = True
        if item.get_closest_marker(MARKER) is None:
            if not self.scanning(item):
                return (yield)
            threads, started = resources.count_threads(), scan.now()
            outcome = yield  # a test that failed or skipped is not scanned
            self.scan(item, own_seconds=scan.now() - started, threads=threads)
            return outcome
        item.stash[HANDLED_KEY] = False
        cls = replay.unittest_class(getattr(item, "cls", None))
        if cls is None:
            yield
            if item.stash[HANDLED_KEY] or self.settings(item).disable:
                return None
            raise MemguardUsageError(
                f"@pytest.mark.memguard cannot replay a {type(item).__name__} item: its body is"
                " not a Python test function; guard the code it runs with the memguard fixture"
                " (memguard.run) or remove the marker"
            )
        with replay.first_call_warnings() as seen:
            yield
        settings = self.settings(item)
        if not settings.disable:
            fn = replay.unittest_method(cls, item.name)
            self.judge(item, fn, settings, label=TEST_BODY, warmup_done=1, seen_warnings=seen)
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, object, object]:
        __tracebackhide__ = True
        if pyfuncitem.get_closest_marker(MARKER) is None:
            return (yield)
        pyfuncitem.stash[HANDLED_KEY] = True
        settings = self.settings(pyfuncitem)
        if "memguard" in pyfuncitem.fixturenames or settings.disable:
            return (yield)  # the fixture's calls are guarded; the marker gives their defaults
        with replay.first_call_warnings() as seen:
            outcome = yield
        function = pyfuncitem.obj
        if inspect.iscoroutinefunction(function):
            raise MemguardUsageError(
                "@pytest.mark.memguard cannot replay an async test by itself; run it with an"
                " async plugin (pytest-asyncio) that makes the test function synchronous, or"
                " guard a synchronous callable with memguard.run()"
            )
        fn = replay.test_function(function, pyfuncitem._fixtureinfo.argnames, pyfuncitem.funcargs)
        fresh = None
        if fixtures.supported(pyfuncitem) and fixtures.has_function_fixtures(pyfuncitem):
            fresh = fixtures.FreshCall(pyfuncitem)
        if settings.fixtures == "fresh" and fresh is not None:
            fn, fresh = fresh, None
        elif settings.fixtures == "reuse" or not fixtures.takes_function_fixtures(pyfuncitem):
            fresh = None
        self.judge(
            pyfuncitem,
            fn,
            settings,
            label=TEST_BODY,
            warmup_done=1,
            seen_warnings=seen,
            fresh=fresh,
        )
        return outcome

    # -- --memguard-scan: every unmarked test -----------------------------------------------

    def scanning(self, item: pytest.Item) -> bool:
        """Whether ``--memguard-scan`` guards this unmarked item (not one that guards its
        own calls with the fixture, and nothing under ``--memguard-disable``)."""
        return (
            self.layers.scan != "off"
            and "memguard" not in getattr(item, "fixturenames", ())
            and not self.settings(item).disable
        )

    def scan(self, item: pytest.Item, *, own_seconds: float, threads: int) -> None:
        """Screen a test that passed; confirm a suspect with the full guard (see scan.py).
        ``threads``: the process's threads before the test's own call.

        Whatever a replay raises makes the test "not replayable", recorded and never raised;
        a confirmed leak fails the test unless the scan only reports.
        """
        __tracebackhide__ = True
        started = scan.now()
        settings = self.layers.settings()
        try:
            fn = self._scan_replay(item)
            warmup = scan.SCREEN_WARMUP + (0 if self.screened else scan.FIRST_WARMUP)
            self.screened = True
            replays = warmup + scan.SCREEN_RUNS + scan.MALLOC_MORE_RUNS  # the most it makes
            with captured_once(item.config) as reset:
                with scan.deadline(scan.replay_seconds(own_seconds, replays)):
                    shown = scan.screen(fn, warmup=warmup, reset=reset, threads=threads)
                suspicion = shown.suspicion()
                if suspicion:
                    defaults = scan.confirm_defaults(shown, settings.iterations)
                    full = {**defaults, "iterations": settings.iterations}
                    settings, longer = (
                        _settings.resolve(d, self.layers.ini, self.layers.cli)
                        for d in (defaults, full)
                    )
                    calls = scan.confirm_calls(settings) + scan.confirm_calls(longer)
                    with scan.deadline(scan.replay_seconds(own_seconds, calls)):
                        self._confirm(item, fn, settings, shown, suspicion, started, longer)
                    return
        except BaseException as exc:
            if not replay_error(exc) or isinstance(exc, (LeakError, MemguardUsageError)):
                raise  # stopped, or the verdict itself: a confirmed leak
            reason = exc.reason if isinstance(exc, _NotReplayable) else _replay_reason(exc)
            self._record(
                item, scan.not_replayable(settings, reason, item.nodeid, scan.now() - started)
            )
            return
        self._record(item, scan.clean(settings, shown, item.nodeid, scan.now() - started))

    def _confirm(
        self,
        item: pytest.Item,
        fn: Callable[[], object],
        settings: Settings,
        shown: Screen,
        suspicion: str,
        started: float,
        longer: Settings,
    ) -> None:
        """The full guard on a suspect: confirmed (and explained) or found bounded. A run
        shorter than ``longer`` that finds it bounded is judged again with ``longer``: a
        small leak whose memory also moves in steps (an allocator's sawtooth) rises steadily
        only over windows of more calls than the screen's rate asked for. ``shown``: what the
        screen read, after replaying the test following its own call."""
        __tracebackhide__ = True

        def finish(result: MemguardResult) -> MemguardResult:
            seconds = round(scan.now() - started, 3)
            harness = scan.harness_holder(result)
            if not result.passed and harness:
                reason = f"{scan.NOT_REPLAYABLE}: its replays grow the test runner's own state"
                reason += f" (held by {harness}), not the code under test"
                return replace(
                    result,
                    passed=True,
                    scan=scan.NOT_REPLAYABLE,
                    reason=reason,
                    scan_seconds=seconds,
                )
            if result.passed and result.shape == "flat":  # the guard saw nothing: noise
                status, reason = scan.CLEAN, f"clean: {suspicion}; then {result.reason}"
            elif result.passed:
                status, reason = scan.SUSPECTED, f"{suspicion}; then {result.reason}"
            else:
                status, reason = scan.CONFIRMED, result.reason
            return replace(result, scan=status, reason=reason, scan_seconds=seconds)

        self.judge(
            item,
            fn,
            settings,
            label=TEST_BODY,
            warmup_done=1 + shown.warmup + len(shown.blocks),
            finish=finish,
            fail=self.layers.scan == "fail",
            record_errors=False,
            max_explain_calls=scan.SCAN_EXPLAIN_CALLS,
            steady_explain_calls=scan.STEADY_EXPLAIN_CALLS,
            longer=lambda r: (
                longer if r.passed and settings.iterations < longer.iterations else None
            ),
        )

    @staticmethod
    def _scan_replay(item: pytest.Item) -> Callable[[], object]:
        """The test replayed with fresh fixtures, or :class:`_NotReplayable` saying why not."""
        cls = replay.unittest_class(getattr(item, "cls", None))
        if cls is not None:
            return replay.unittest_method(cls, item.name)
        if not isinstance(item, pytest.Function):
            raise _NotReplayable(
                f"{scan.NOT_REPLAYABLE}: a {type(item).__name__} item is not a Python test function"
            )
        if inspect.iscoroutinefunction(item.obj):
            raise _NotReplayable(
                f"{scan.NOT_REPLAYABLE}: an async test function (its async plugin runs it)"
            )
        if not fixtures.supported(item):
            raise _NotReplayable(f"{scan.NOT_REPLAYABLE}: its fixtures cannot be set up again")
        return fixtures.FreshCall(item)

    # -- one guarded run --------------------------------------------------------------------

    def judge(
        self,
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
        fresh: Callable[[], object] | None = None,
        finish: Callable[[MemguardResult], MemguardResult] | None = None,
        fail: bool = True,
        record_errors: bool = True,
        max_explain_calls: int = EXPLAIN_CALLS,
        steady_explain_calls: int = 0,
        own_threads: Callable[[], Collection[int]] = frozenset,
        roots: Sequence[tuple[str, object]] = (),
        longer: Callable[[MemguardResult], Settings | None] | None = None,
    ) -> MemguardResult:
        """Guard ``fn`` for ``item``, record the result, and fail the test on a bad verdict.

        ``relabel`` makes the label shown from the credentials known after the run (a path
        may hold one); ``statuses`` reads the HTTP status codes a web driver saw, and with
        ``warn_on_errors`` a run that saw only 404s and server errors warns that it measured
        error pages. A run that raises is recorded as not judged, then the exception goes on.
        ``fresh`` replays the test with fresh fixtures (``fixtures="auto"``): the run is judged
        again with it when a replay raises or the test's own fixture holds the growth.
        ``finish`` rewrites the result before it is recorded (the scan's status); with
        ``fail=False`` a failed verdict is recorded and returned, not raised, and with
        ``record_errors=False`` a run that raises is left to the caller to record.
        ``own_threads``: threads that work for ``fn`` while it waits; ``roots``: named objects
        a leak trace may start from (see ``guard``). ``longer`` gives the settings of a longer
        run when a result is to be judged again with them (the scan's confirmation), or None.
        """
        __tracebackhide__ = True
        secrets = self.learn(item)
        if item.stash.get(ACTIVE_KEY, False):
            raise MemguardUsageError(
                "memguard: a guarded call cannot run inside another guarded call; guard the"
                " outer callable only"
            )
        again = ""  # why the run is judged again with fresh fixtures
        item.stash[ACTIVE_KEY] = True
        try:
            with secrets.measuring(), captured_once(item.config) as reset:
                result = guard(
                    fn,
                    settings,
                    label=label,
                    nodeid=item.nodeid,
                    reset=reset,
                    secrets=lambda: secrets,
                    warmup_done=warmup_done,
                    seen_warnings=seen_warnings,
                    max_explain_calls=max_explain_calls,
                    steady_explain_calls=steady_explain_calls,
                    own_threads=own_threads,
                    roots=roots,
                    memo=self.chains,
                    fixtures=fn if isinstance(fn, fixtures.FreshCall) else None,
                )
        except BaseException as exc:
            # Only a replay's own exception (noted with its call) is judged again: a warning
            # re-emitted under -W error after the loop is the test's failure as it is.
            if fresh is None or not replay_error(exc) or measure.raised_on(exc) is None:
                if not isinstance(exc, measure.STOP) and record_errors:
                    shown = relabel(secrets) if relabel is not None else label
                    result = not_judged(exc, settings, shown, item.nodeid, secrets)
                    self._record_web(item, result, statuses)
                raise
            again = (
                f"a replay raised {type(exc).__name__} with the first call's fixtures:"
                " judged again with fresh fixtures"
            )
        finally:
            item.stash[ACTIVE_KEY] = False
        if fresh is not None and not again and not result.passed:
            again = self._held_by_fixture(item, result)
        if fresh is not None and again:
            return self.judge(
                item,
                fresh,
                settings,
                label=label,
                warmup_done=warmup_done,
                seen_warnings=seen_warnings,
                finish=lambda r: replace(r, rejudged=again),
            )
        wanted = longer(result) if longer is not None else None
        if wanted is not None:
            return self.judge(
                item,
                fn,
                wanted,
                label=label,
                warmup_done=warmup_done,
                seen_warnings=seen_warnings,
                finish=finish,
                fail=fail,
                record_errors=record_errors,
                max_explain_calls=max_explain_calls,
                steady_explain_calls=steady_explain_calls,
                own_threads=own_threads,
                roots=roots,
            )
        if relabel is not None:
            result = replace(result, label=relabel(secrets))
        if finish is not None:
            result = finish(result)
        result = self._record_web(item, result, statuses)
        if warn_on_errors and only_errors(result.statuses):
            # judge <- Memguard._web <- .flask (or another driver) <- the test
            warnings.warn(_error_pages(result), stacklevel=4)
        return self._verdict(item, result, fail=fail)

    @staticmethod
    def _held_by_fixture(item: pytest.Item, result: MemguardResult) -> str:
        """The line saying the growth is held only by the test's own function-scoped
        fixtures (then the test is judged again with fresh ones), or ""."""
        names = scan.fixture_holders(result.explanation)
        if names and all(name and fixtures.function_scoped(item, name) for name in names):
            return f"{scan.rejudge_line(names[0])}: judged again with fresh fixtures"
        return ""

    def _record_web(
        self,
        item: pytest.Item,
        result: MemguardResult,
        statuses: Callable[[], dict[int, int]] | None,
    ) -> MemguardResult:
        if statuses is not None:
            result = replace(result, statuses=statuses())
        return self._record(item, result)

    def _record(self, item: pytest.Item, result: MemguardResult) -> MemguardResult:
        """Keep a result for the reports, its text redacted with the test's credentials (type
        and attribute names, labels, reasons and parametrize ids may hold one) while they are
        known. Two parametrizations whose ids differ only in a credential would be redacted
        alike: the redacted id then ends with the parameters' indices (``#0-1``), so that
        each keeps its own baseline entry."""
        result = redact_result(result, self.secrets, params=_param_indices(item))
        self.results.append(result if self.files.series else result.without_series())
        return result

    def _verdict(
        self, item: pytest.Item, result: MemguardResult, *, fail: bool = True
    ) -> MemguardResult:
        """Compare with the baseline, add the JUnit properties, raise a failed verdict."""
        __tracebackhide__ = True
        comparison = self._compare(result)
        _add_properties(item, result, comparison)
        if not fail:
            return result
        if not result.passed:
            raise LeakError(failure_message(result))
        if comparison is not None and comparison.regressed:
            raise LeakError(f"memguard: {result.label}: {comparison.message}")
        return result

    def _compare(self, result: MemguardResult) -> Comparison | None:
        """The result against ``--memguard-baseline``, when one is given and it was measured."""
        if self.files.baseline is None or not result.measured:
            return None
        return compare(self.files.baseline, result, self.files.tolerance)

    # -- credentials: kept out of every report ----------------------------------------------

    def learn(self, item: pytest.Item) -> Secrets:
        """The run's credentials, plus ``Basic`` headers built in the test's fixture values by
        other means than ``basic_auth()``."""
        funcargs = getattr(item, "funcargs", None)
        if isinstance(funcargs, dict):
            self.secrets.update(from_values(funcargs.values()))
        return self.secrets

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Show memguard's own failures as their message, and keep credentials out."""
        report = yield
        excinfo = call.excinfo
        if excinfo is not None and isinstance(excinfo.value, (LeakError, MemguardUsageError)):
            report.longrepr = _message_repr(item, excinfo)
        redact_report(report, self.learn(item))
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """A module may build headers, skip or fail at import: its report is redacted too."""
        report = yield
        redact_report(report, self.secrets)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: Any) -> None:
        """Redact a warning's text before pytest's summary, JUnit or xdist sees it (the hook
        is historic, so no wrapper: first in line, it rewrites the message in place)."""
        redact_warning(warning_message, self.secrets)

    # -- the end of the run: files and the summary ------------------------------------------

    def merge(self, results: list[MemguardResult], unreadable: int) -> None:
        """Add an xdist worker's results to the controller's."""
        self.results.extend(results)
        self.files.unreadable += unreadable

    def sorted_results(self) -> list[MemguardResult]:
        """Every result of the run in a stable order, whichever worker ran which test."""
        return sorted(self.results, key=lambda r: (r.nodeid, r.label))

    def missing(self, results: Sequence[MemguardResult]) -> list[str]:
        plugin = self.config.pluginmanager.get_plugin(_xdist.PLUGIN_NAME)
        return plugin.missing(results) if isinstance(plugin, _xdist.ControllerPlugin) else []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """Write the files once every result is in, workers' included: here rather than in
        ``pytest_sessionfinish`` so that a failed write can still fail the session
        (``testsfailed``), like pytest-cov's ``--cov-fail-under``."""
        try:
            outcome = yield
        except BaseException as exc:
            self.secrets.end_tests()
            self._write(session, stopped=f"the run stopped early ({type(exc).__name__}: {exc})")
            raise
        self.secrets.end_tests()
        self._write(session, stopped=None)
        return outcome

    def _write(self, session: pytest.Session, *, stopped: str | None) -> None:
        if _xdist.is_worker(self.config) or self.config.option.collectonly:
            return
        results = self.sorted_results()
        session.testsfailed += self.files.write(results, self.missing(results), stopped)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        results = self.sorted_results()
        missing = self.missing(results)
        if self.layers.scan != "off":
            terminalreporter.write_sep("=", "memguard scan")
            added = sum(r.scan_seconds for r in results)
            for line in scan.Summary(results, added).lines():
                terminalreporter.write_line(line, red=line.lstrip().startswith("LEAK"))
        if self.layers.report:
            terminalreporter.write_sep("=", "memguard report")
            lines = terminal.render(
                results,
                baseline_deltas(self.files.baseline, self.files.tolerance, results),
                missing,
                width=self.config.get_terminal_writer().fullwidth,
            )
            for line in lines if results or missing else ["no guarded tests ran"]:
                terminalreporter.write_line(line)
        elif missing:
            terminalreporter.write_sep("=", "memguard")
            for line in terminal.missing_lines(missing):
                terminalreporter.write_line(line)
        messages = list(self.files.messages)
        if self.files.unreadable:
            messages.append(
                f"memguard: {self.files.unreadable} result(s) sent by xdist workers could not"
                " be read (a worker running another pytest-memguard version?)"
            )
        for message in messages:
            terminalreporter.write_line(message, red=message.startswith("ERROR"), bold=True)


def _add_properties(
    item: pytest.Item, result: MemguardResult, comparison: Comparison | None
) -> None:
    """JUnit XML properties, so CI systems show the numbers beside the test; they also tell
    the xdist controller which tests were guarded, to name those whose results never arrived."""
    if not result.measured:
        return
    item.user_properties.extend(
        [
            ("memguard_growth_kb", round(result.growth_kb, 3)),
            ("memguard_limit_kb", round(result.limit_kb, 3)),
            (_xdist.GUARDED_PROPERTY, result.shape),
            *((f"memguard_{r.key}", r.growth) for r in result.resources),
        ]
    )
    if comparison is not None:
        item.user_properties.append(("memguard_baseline", comparison.status))


def _param_indices(item: pytest.Item) -> str:
    """The indices of the item's parameters in their ``parametrize`` lists, ``0-1``; "" when
    it has none. ``CallSpec2.indices`` is not documented but has been there since pytest 3."""
    indices = getattr(getattr(item, "callspec", None), "indices", None)
    if not isinstance(indices, dict):
        return ""
    return "-".join(str(index) for index in indices.values())


def _error_pages(result: MemguardResult) -> MemguardStatusWarning:
    codes = ", ".join(str(code) for code in sorted(result.statuses))
    return MemguardStatusWarning(
        f"memguard: {result.label}: every call got {codes}, so this run measured error pages;"
        " check the path, or pass expect_status= to make the status part of the test"
    )


def _message_repr(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The exception's message, and the test's own line that made the guarded call."""
    text = f"{type(excinfo.value).__name__}: {excinfo.value}"
    path = getattr(item, "path", None)
    for entry in reversed(excinfo.traceback):
        if path is not None and entry.path == path:
            return f"{text}\n\n{item.nodeid.split('::')[0]}:{entry.lineno + 1}: guarded here"
    return text
