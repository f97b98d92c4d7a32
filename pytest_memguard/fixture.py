"""The ``memguard`` fixture: guard any callable, or drive a Flask app with Basic Auth."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from pytest_memguard import settings as _settings
from pytest_memguard.flask import FlaskCall
from pytest_memguard.flask import basic_auth as _basic_auth
from pytest_memguard.result import MemguardResult
from pytest_memguard.session import MemguardSession
from pytest_memguard.settings import Settings, SettingsError

#: Where the run's session object lives; set by ``plugin.pytest_configure``.
SESSION_KEY = pytest.StashKey[MemguardSession]()


class Memguard:
    """What the ``memguard`` fixture gives a test: ``run``, ``flask`` and ``basic_auth``."""

    def __init__(self, item: pytest.Item, session: MemguardSession) -> None:
        self._item = item
        self._session = session

    def _settings(self, keywords: Mapping[str, Any], source: str) -> Settings:
        """The call's keywords over the marker's, the CLI's and the ini's."""
        __tracebackhide__ = True
        try:
            call = _settings.check_keywords(keywords, source=source)
            return self._session.settings(self._item, call)
        except SettingsError as exc:
            raise pytest.UsageError(str(exc)) from None

    def run(
        self,
        fn: Callable[[], object],
        *,
        max_growth_kb: float | None = None,
        iterations: int | None = None,
        warmup: int | None = None,
        ignore: Sequence[str] | None = None,
        max_fds: int | None = None,
        max_threads: int | None = None,
        max_tasks: int | None = None,
        max_processes: int | None = None,
    ) -> MemguardResult:
        """Call ``fn()`` repeatedly and fail the test if the memory it keeps, or the descriptors,
        threads, asyncio tasks or child processes it leaves open, are not bounded."""
        __tracebackhide__ = True
        if not callable(fn):
            raise TypeError(f"memguard.run() needs a callable, got {type(fn).__name__}")
        keywords = _keywords(max_growth_kb, iterations, warmup, ignore)
        keywords.update(_bounds(max_fds, max_threads, max_tasks, max_processes))
        settings = self._settings(keywords, "memguard.run()")
        name = getattr(fn, "__qualname__", type(fn).__name__)
        return self._session.judge(self._item, fn, settings, label=f"run({name})")

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
        max_fds: int | None = None,
        max_threads: int | None = None,
        max_tasks: int | None = None,
        max_processes: int | None = None,
        **request_kwargs: Any,
    ) -> MemguardResult:
        """Send the request(s) through the Flask test client with Basic Auth, repeatedly."""
        __tracebackhide__ = True
        keywords = _keywords(max_growth_kb, iterations, warmup, ignore)
        keywords.update(_bounds(max_fds, max_threads, max_tasks, max_processes))
        settings = self._settings(keywords, "memguard.flask()")
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
            return self._session.judge(
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


def _keywords(
    max_growth_kb: float | None, iterations: int | None, warmup: int | None, ignore: object
) -> dict[str, object]:
    """A call's settings keywords, as the marker takes them (``None``: not given)."""
    return {
        "max_growth_kb": max_growth_kb,
        "iterations": iterations,
        "warmup": warmup,
        "ignore": ignore,
    }


def _bounds(
    fds: int | None, threads: int | None, tasks: int | None, processes: int | None
) -> dict[str, object]:
    """A call's bounds on the counts (``None``: not given)."""
    return {"max_fds": fds, "max_threads": threads, "max_tasks": tasks, "max_processes": processes}


@pytest.fixture
def memguard(request: pytest.FixtureRequest) -> Memguard:
    """Guard callables (``memguard.run``) and Flask routes (``memguard.flask``)."""
    return Memguard(request.node, request.config.stash[SESSION_KEY])
