"""Drive an ASGI app (Starlette, FastAPI, Quart...) through httpx's ``ASGITransport``.

Why httpx and not Starlette's ``TestClient``: the test client runs the app on a thread of its
own (an anyio portal), so every guarded call would be measured while another thread allocates;
``ASGITransport`` runs the app in the test's thread, on one event loop this driver keeps for the
whole guarded run (so the loop's own state is warm before measuring), and re-raises the app's
exceptions. It does not run the app's lifespan, so this driver does, as a server would: startup
before the first call, shutdown after the last, its state given to each request's scope.

Sync endpoints of Starlette and FastAPI (anyio's ``to_thread.run_sync``) run inline for the
run (see :func:`_sync_code_inline`); a worker thread that still runs an app's sync code while
the call waits for it (asyncio's default executor, anyio reached another way) is the driver's
(:meth:`AsgiCall.own_threads`), not a disturbance.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import Any, Literal, TypeVar

from pytest_memguard.errors import MemguardUsageError, passthrough
from pytest_memguard.web import WebCall, require

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Lifespan = Literal["auto", "on", "off"]
T = TypeVar("T")

#: Threads that run an app's sync code while the call waits: anyio's worker threads (Starlette
#: and FastAPI ``def`` endpoints) and asyncio's default executor.
HELPER_THREADS = ("AnyIO worker thread", "asyncio_")
#: The host of every request, as Starlette's test client sends it.
BASE_URL = "http://testserver"


class LifespanError(RuntimeError):
    """The app's lifespan startup or shutdown failed: the run cannot measure the app."""


class AsgiCall(WebCall):
    """Send the request(s) to an ASGI app once per call, on one event loop for the run."""

    kind = "asgi"

    def __init__(
        self,
        app: object,
        path: str | Sequence[str] = "/",
        *,
        lifespan: Lifespan = "auto",
        **options: Any,
    ) -> None:
        """``options``: the keywords of :class:`WebCall` (method, auth, headers...)."""
        __tracebackhide__ = True
        if not callable(app):
            raise TypeError(
                "memguard.asgi() needs an ASGI app (async callable (scope, receive, send)),"
                f" got {type(app).__name__}"
            )
        _check_signature(app)
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(
                f"memguard.asgi(): lifespan must be 'auto', 'on' or 'off', got {lifespan!r}"
            )
        self.httpx = require("httpx", "asgi", "asgi")
        super().__init__(path, **options)
        self.app: App = app
        self.lifespan = lifespan
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None
        self.urls: dict[str, Any] = {}  # path -> its httpx.URL, parsed once for the run
        self.app_error: list[Exception | None] = [None]  # a Quart app's exception, if any

    @passthrough
    def running(self) -> Iterator[None]:
        """One event loop, the app's lifespan and one client for the whole guarded run."""
        __tracebackhide__ = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise MemguardUsageError(
                "memguard.asgi() cannot run inside a running event loop (an async test):"
                " use `await memguard.asgi_async(...)`"
            )
        loop = asyncio.new_event_loop()
        self.loop = loop
        lifespan = _Lifespan(self.app, self.lifespan)
        try:
            loop.run_until_complete(lifespan.startup())
            transport = self.httpx.ASGITransport(app=lifespan.app, raise_app_exceptions=True)
            self.client = self.httpx.AsyncClient(transport=transport, base_url=BASE_URL)
            self.urls = _parsed(self.client, self.method, self.paths)
            failed = True
            try:
                with _sync_code_inline(), self._quart_errors():
                    yield
                failed = False
            finally:
                try:
                    loop.run_until_complete(self.client.aclose())
                    loop.run_until_complete(lifespan.shutdown())
                except Exception:
                    if not failed:
                        raise  # a failure of the run itself is the one to show
        finally:
            self.client = None
            self.urls = {}
            self.loop = None
            _close(loop)

    def send(self, path: str, headers: dict[str, str]) -> int:
        __tracebackhide__ = True
        if self.loop is None:
            raise MemguardUsageError("memguard: an ASGI call runs only inside its guarded run")
        status = self.loop.run_until_complete(self._send(path, headers))
        error = self.app_error[0]
        if error is not None:
            self.app_error[0] = None
            raise error
        return status

    @passthrough
    def _quart_errors(self) -> Iterator[None]:
        """A Quart app turns an exception into a 500 (how depends on its version and its
        ``TESTING`` and ``PROPAGATE_EXCEPTIONS``): its ``got_request_exception`` signal hands
        the exception over, and the call raises it, so the test fails as the app's exception.
        Quart is not imported for it."""
        __tracebackhide__ = True
        quart = sys.modules.get("quart")
        if quart is None or not isinstance(self.app, quart.Quart):
            yield
            return
        signal = sys.modules["quart.signals"].got_request_exception

        def keep(sender: object, exception: Exception, **extra: object) -> None:
            self.app_error[0] = exception

        signal.connect(keep, sender=self.app, weak=False)
        try:
            yield
        finally:
            signal.disconnect(keep)  # from every sender: else blinker keeps it listed
            self.app_error[0] = None

    async def _send(self, path: str, headers: dict[str, str]) -> int:
        __tracebackhide__ = True
        url = self.urls.get(path, path)
        response = await self.client.request(
            self.method, url, headers=headers, **self.request_kwargs
        )
        await response.aclose()
        status: int = response.status_code
        return status

    def roots(self) -> tuple[tuple[str, object], ...]:
        return (("app", self.app),)

    @staticmethod
    def own_threads() -> set[int]:
        """Native ids of the threads that run the app's sync code for this driver's calls."""
        return {
            t.native_id
            for t in threading.enumerate()
            if t.native_id is not None and t.name.startswith(HELPER_THREADS)
        }


def _parsed(client: Any, method: str, paths: Sequence[str]) -> dict[str, Any]:
    """Each path as the absolute ``httpx.URL`` the client would send it to, parsed once.

    Parsing a URL per request is not only slower: httpx's ``quote()`` calls ``re.finditer``,
    whose C code looks up ``"search"`` on its scanner with a name string made anew each time
    (``PyObject_GetAttrString``). CPython's type attribute cache keys on the name's address
    and keeps the name alive, so each request left ~3 such strings in the cache (CPython
    3.10-3.13; bounded by its 4,096 entries, not a leak) and every sample had to drop the
    whole cache, which every next request paid for by looking its attributes up again. An
    absolute ``httpx.URL`` is sent as it is. A path the client refuses is left as it is, to
    fail on the first call as it would have.
    """
    urls: dict[str, Any] = {}
    for path in paths:
        try:
            urls[path] = client.build_request(method, path).url
        except Exception:
            continue
    return urls


def _check_signature(app: object) -> None:
    """An app that cannot take ``(scope, receive, send)`` (a WSGI app) is a usage error."""
    __tracebackhide__ = True
    try:
        inspect.signature(app).bind(None, None, None)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            "memguard.asgi() needs an ASGI 3 app, an async callable (scope, receive, send);"
            f" {getattr(app, '__qualname__', type(app).__name__)} takes other arguments"
            " (for a WSGI app (environ, start_response), use memguard.wsgi())"
        ) from None
    except ValueError:  # no signature to read (a builtin): the app will say
        pass


@passthrough
def _sync_code_inline() -> Iterator[None]:
    """Run the app's sync code (anyio's ``to_thread.run_sync``: Starlette and FastAPI ``def``
    endpoints and dependencies) inline on the driver's thread while the run lasts.

    On a worker thread it races the sample: the thread still holds the call's result, context
    and arguments for a moment after handing the result back, so a clean sync endpoint's
    series swings by KiBs from call to call and hides a leak of a few hundred bytes a call.
    Inline, a call is over when it returns. Restored after the run.
    """
    try:
        import anyio.to_thread
    except ImportError:  # an app that does not use anyio has no worker threads of it
        yield
        return
    saved = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., T], *args: object, **options: object) -> T:
        return func(*args)

    anyio.to_thread.run_sync = run_sync
    try:
        yield
    finally:
        anyio.to_thread.run_sync = saved


class _Lifespan:
    """The ASGI lifespan protocol, as a server runs it: startup, then shutdown.

    ``auto`` runs it when the app supports it (an app that raises on the ``lifespan`` scope
    does not, as the ASGI spec says), ``on`` requires it, ``off`` skips it. The state the app
    sets at startup is copied into each request's scope, as uvicorn does.
    """

    def __init__(self, app: App, mode: Lifespan) -> None:
        self.inner = app
        self.mode = mode
        self.state: dict[str, Any] = {}
        self.task: asyncio.Task[None] | None = None
        self.to_app: asyncio.Queue[Message] | None = None
        self.from_app: asyncio.Queue[Message] | None = None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app as requests see it: with the lifespan's state, if it ran."""
        if self.task is not None:
            scope["state"] = dict(self.state)
        await self.inner(scope, receive, send)

    async def startup(self) -> None:
        if self.mode == "off":
            return
        self.to_app, self.from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.state
        task = asyncio.ensure_future(self.inner(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "lifespan.startup"})
        message = await _reply(task, self.from_app)
        if message is None:  # the app ended without answering: no lifespan support
            exc = task.exception() if not task.cancelled() else None
            if self.mode == "on":
                raise LifespanError(
                    "memguard.asgi(lifespan='on'): the app does not support the lifespan protocol"
                ) from exc
            return
        if message.get("type") == "lifespan.startup.failed":
            task.cancel()
            raise LifespanError(f"the app's lifespan startup failed: {message.get('message', '')}")
        self.task = task

    async def shutdown(self) -> None:
        task, self.task = self.task, None
        if task is None or self.to_app is None:
            return
        await self.to_app.put({"type": "lifespan.shutdown"})
        message = await _reply(task, self.from_app) if self.from_app is not None else None
        if message is not None and message.get("type") == "lifespan.shutdown.failed":
            raise LifespanError(f"the app's lifespan shutdown failed: {message.get('message', '')}")
        await task  # the app's own exception after shutdown is the app's failure


async def _reply(task: asyncio.Task[None], queue: asyncio.Queue[Message]) -> Message | None:
    """The app's next lifespan message, or ``None`` when the app ended first."""
    answer = asyncio.ensure_future(queue.get())
    await asyncio.wait({task, answer}, return_when=asyncio.FIRST_COMPLETED)
    if answer.done():
        return answer.result()
    answer.cancel()
    return None


async def in_thread(run: Callable[[], T]) -> T:
    """``run()`` on a new thread while the running event loop waits for it.

    A guarded run must call the app between its samples, which a coroutine of the test's own
    loop cannot do; the waiting loop's thread is idle, so it disturbs nothing. The thread runs
    in a copy of the test's context (the session's credentials for redaction live there).
    """
    __tracebackhide__ = True
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            result = context.run(run)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, done, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    thread = threading.Thread(target=work, name="memguard asgi_async", daemon=True)
    thread.start()
    try:
        return await done
    finally:
        thread.join()


def _settle(future: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on the loop, then close it, as ``asyncio.run`` does."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


__all__ = ["AsgiCall", "Lifespan", "LifespanError", "in_thread"]
