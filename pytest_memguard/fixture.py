"""The ``memguard`` fixture: guard any callable, or drive a web app with Basic Auth."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from pytest_memguard import settings as _settings
from pytest_memguard.flask import FlaskCall
from pytest_memguard.result import MemguardResult
from pytest_memguard.session import MemguardSession
from pytest_memguard.settings import Settings, SettingsError
from pytest_memguard.web import WebCall
from pytest_memguard.web import basic_auth as _basic_auth
from pytest_memguard.wsgi import WsgiCall

if TYPE_CHECKING:
    from pytest_memguard.asgi import Lifespan

#: Where the run's session object lives; set by ``plugin.pytest_configure``.
SESSION_KEY = pytest.StashKey[MemguardSession]()


class Memguard:
    """What the ``memguard`` fixture gives a test: ``run``, the web drivers and ``basic_auth``."""

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
        keywords = _keywords(
            max_growth_kb,
            iterations,
            warmup,
            ignore,
            max_fds,
            max_threads,
            max_tasks,
            max_processes,
        )
        settings = self._settings(keywords, "memguard.run()")
        name = getattr(fn, "__qualname__", type(fn).__name__)
        return self._session.judge(self._item, fn, settings, label=f"run({name})")

    def wsgi(
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
        """Send the request(s) to any WSGI app through werkzeug's test client, repeatedly."""
        __tracebackhide__ = True
        return self._web(
            "memguard.wsgi()",
            _keywords(
                max_growth_kb,
                iterations,
                warmup,
                ignore,
                max_fds,
                max_threads,
                max_tasks,
                max_processes,
            ),
            lambda options: WsgiCall(app_or_client, path, **options),
            _options(method, auth, headers, expect_status, request_kwargs),
        )

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
        return self._web(
            "memguard.flask()",
            _keywords(
                max_growth_kb,
                iterations,
                warmup,
                ignore,
                max_fds,
                max_threads,
                max_tasks,
                max_processes,
            ),
            lambda options: FlaskCall(app_or_client, path, **options),
            _options(method, auth, headers, expect_status, request_kwargs),
        )

    def asgi(
        self,
        app: object,
        path: str | Sequence[str] = "/",
        *,
        method: str = "GET",
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_status: int | None = None,
        lifespan: Lifespan = "auto",
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
        """Send the request(s) to an ASGI app (Starlette, FastAPI, Quart) through httpx's
        ``ASGITransport``, repeatedly, on one event loop with the app's lifespan around it."""
        __tracebackhide__ = True
        from pytest_memguard.asgi import AsgiCall

        return self._web(
            "memguard.asgi()",
            _keywords(
                max_growth_kb,
                iterations,
                warmup,
                ignore,
                max_fds,
                max_threads,
                max_tasks,
                max_processes,
            ),
            lambda options: AsgiCall(app, path, lifespan=lifespan, **options),
            _options(method, auth, headers, expect_status, request_kwargs),
        )

    async def asgi_async(self, app: object, *args: Any, **kwargs: Any) -> MemguardResult:
        """``memguard.asgi`` for an async test (pytest-asyncio, anyio on asyncio): the guarded
        run takes a thread of its own with its own event loop, while the test's loop waits."""
        __tracebackhide__ = True
        from pytest_memguard.asgi import in_thread

        return await in_thread(lambda: self.asgi(app, *args, **kwargs))

    def django(
        self,
        path: str | Sequence[str] = "/",
        *,
        client: object = None,
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
        """Send the request(s) through Django's test client (``client=``: pytest-django's
        ``client`` fixture, else a new one) with Basic Auth, repeatedly."""
        __tracebackhide__ = True
        from pytest_memguard.django import DjangoCall

        return self._web(
            "memguard.django()",
            _keywords(
                max_growth_kb,
                iterations,
                warmup,
                ignore,
                max_fds,
                max_threads,
                max_tasks,
                max_processes,
            ),
            lambda options: DjangoCall(path, client=client, **options),
            _options(method, auth, headers, expect_status, request_kwargs),
        )

    def _web(
        self,
        source: str,
        keywords: Mapping[str, object],
        make: Callable[[dict[str, Any]], WebCall],
        options: dict[str, Any],
    ) -> MemguardResult:
        """A web driver's run: its settings first (a usage error before any request), then
        the driver ``make(options)`` builds, guarded inside what it sets up for the run. One
        frame between the test and the run: an allocation site's traceback (ten frames) must
        still reach the test's own line."""
        __tracebackhide__ = True
        settings = self._settings(keywords, source)
        call = make(options)
        with call.running():
            return self._session.judge(
                self._item,
                call,
                settings,
                label=call.label,
                relabel=call.shown_label,
                statuses=call.statuses,
                warn_on_errors=call.expect_status is None,
                own_threads=call.own_threads,
                roots=call.roots(),
            )

    @staticmethod
    def basic_auth(user: str, password: str) -> dict[str, str]:
        """The ``Authorization`` header for HTTP Basic Auth (RFC 7617, UTF-8)."""
        return _basic_auth(user, password)


def _keywords(
    max_growth_kb: float | None,
    iterations: int | None,
    warmup: int | None,
    ignore: object,
    max_fds: int | None,
    max_threads: int | None,
    max_tasks: int | None,
    max_processes: int | None,
) -> dict[str, object]:
    """A call's settings keywords and bounds, as the marker takes them (``None``: not given)."""
    return {
        "max_growth_kb": max_growth_kb,
        "iterations": iterations,
        "warmup": warmup,
        "ignore": ignore,
        "max_fds": max_fds,
        "max_threads": max_threads,
        "max_tasks": max_tasks,
        "max_processes": max_processes,
    }


def _options(
    method: str,
    auth: Any,
    headers: Mapping[str, str] | None,
    expect_status: int | None,
    request_kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """A web driver's request keywords, as :class:`WebCall` takes them."""
    return {
        "method": method,
        "auth": auth,
        "headers": headers,
        "expect_status": expect_status,
        "request_kwargs": request_kwargs,
    }


@pytest.fixture
def memguard(request: pytest.FixtureRequest) -> Memguard:
    """Guard callables (``memguard.run``) and Flask routes (``memguard.flask``)."""
    return Memguard(request.node, request.config.stash[SESSION_KEY])
