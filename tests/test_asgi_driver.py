"""The ASGI driver: httpx's ASGITransport on one event loop, the app's lifespan, its exceptions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import re
import sys
from typing import Any

import pytest

from pytest_memguard.asgi import AsgiCall, LifespanError
from pytest_memguard.errors import MemguardUsageError
from pytest_memguard.web import MissingExtra

starlette = pytest.importorskip("starlette")
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402


def make_app(events: list[str]) -> Starlette:
    async def index(request: Request) -> PlainTextResponse:
        events.append(f"{request.method} {request.headers.get('authorization', '')}")
        status = 200 if "authorization" in request.headers else 401
        return PlainTextResponse(request.state.db, status)

    def boom(request: Request) -> PlainTextResponse:
        raise ZeroDivisionError("app bug")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        events.append("startup")
        yield {"db": "connected"}
        events.append("shutdown")

    return Starlette(routes=[Route("/", index), Route("/boom", boom)], lifespan=lifespan)


def drive(call: AsgiCall, times: int = 1) -> None:
    with call.running():
        for _ in range(times):
            call()


def test_lifespan_runs_once_around_every_call_and_its_state_reaches_requests() -> None:
    events: list[str] = []
    call = AsgiCall(make_app(events), auth=("alice", "s3cret"), expect_status=200)
    drive(call, times=2)
    token = base64.b64encode(b"alice:s3cret").decode()
    assert events == ["startup", f"GET Basic {token}", f"GET Basic {token}", "shutdown"]
    assert call.statuses() == {200: 2}
    assert call.label == "asgi GET /"


def test_app_exception_reaches_the_test_as_itself_and_the_loop_is_closed() -> None:
    events: list[str] = []
    call = AsgiCall(make_app(events), "/boom")
    with pytest.raises(ZeroDivisionError, match="app bug"):
        drive(call)
    assert call.loop is None
    assert events == ["startup", "shutdown"]


def test_lifespan_on_requires_an_app_that_supports_it() -> None:
    async def bare(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan here")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    drive(AsgiCall(bare, expect_status=204))  # "auto": runs without it
    with pytest.raises(LifespanError, match="does not support the lifespan"):
        drive(AsgiCall(bare, lifespan="on"))


def test_inside_a_running_loop_it_says_to_await_asgi_async() -> None:
    async def inside() -> None:
        with AsgiCall(make_app([])).running():
            pass

    with pytest.raises(MemguardUsageError, match=r"await memguard.asgi_async"):
        asyncio.run(inside())


def test_missing_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(MissingExtra, match=r"pip install pytest-memguard\[asgi\]"):
        AsgiCall(make_app([]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lifespan": "yes"}, "lifespan must be 'auto', 'on' or 'off'"),
        ({"auth": "alice:s3cret"}, r"memguard.asgi\(\): auth must be a"),
    ],
)
def test_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        AsgiCall(make_app([]), **kwargs)


def test_not_an_app() -> None:
    with pytest.raises(TypeError, match=r"needs an ASGI app.*got str"):
        AsgiCall("app:main")


def test_a_wsgi_app_is_pointed_to_the_wsgi_driver() -> None:
    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        return []

    with pytest.raises(TypeError, match=r"wsgi_app takes other arguments.*memguard.wsgi\(\)"):
        AsgiCall(wsgi_app)


def test_each_path_reaches_the_app_as_the_client_would_send_it() -> None:
    # The driver parses each path once for the run (see asgi._parsed): a query string, a
    # path list and an absolute URL arrive as httpx's client.get(path) sends them.
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        seen.append(f"{scope['server'][0]} {scope['path']} {scope['query_string'].decode()}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    httpx = pytest.importorskip("httpx")
    paths = ["/a?x=1&y=%20", "/b/c", "http://other.example/d"]
    for kwargs in ({}, {"params": {"z": "2"}}):
        seen.clear()
        drive(AsgiCall(app, paths, request_kwargs=kwargs), times=2)
        client = httpx.Client(base_url="http://testserver")
        urls = [client.build_request("GET", path, **kwargs).url for path in paths]
        expected = [f"{u.host} {u.path} {u.query.decode()}" for u in urls]
        assert seen == expected * 2
        assert expected[0] == ("testserver /a z=2" if kwargs else "testserver /a x=1&y=%20")


def test_a_path_httpx_refuses_fails_on_the_call_as_before() -> None:
    httpx = pytest.importorskip("httpx")
    call = AsgiCall(make_app([]), "http://[::1")
    with call.running(), pytest.raises(httpx.InvalidURL):
        call()


def test_a_clean_starlette_request_leaves_nothing_in_the_type_cache() -> None:
    # httpx's quote() calls re.finditer, whose C code looks "search" up with a name string
    # made anew each time; CPython's type cache keeps each one (keyed on its address), so
    # parsing the URL per request left ~3 blocks a request that only clearing the cache
    # freed, and the measuring loop dropped the whole cache at every sample.
    call = AsgiCall(make_app([]), auth=("alice", "s3cret"), expect_status=200)
    with call.running():
        for _ in range(50):
            call()
        gc.collect()
        sys._clear_type_cache()
        gc.collect()
        for _ in range(100):
            call()
        gc.collect()
        before = sys.getallocatedblocks()
        sys._clear_type_cache()
        gc.collect()
        freed = before - sys.getallocatedblocks()
    assert freed < 20, freed  # ~290 before (CPython 3.11, httpx 0.29)


def test_a_failed_lifespan_startup_names_the_apps_error() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        raise RuntimeError("database down")
        yield

    with pytest.raises(LifespanError, match=r"startup failed(.|\n)*database down"):
        drive(AsgiCall(Starlette(lifespan=lifespan)))


APPS = """
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

security = HTTPBasic()
_tokens = {}  # a dependency's module-level cache, never pruned


def token_for(credentials: HTTPBasicCredentials = Depends(security)) -> str:
    key = (credentials.username, credentials.password)
    return _tokens.setdefault(key, "tok-" + credentials.username * 20)


def make_app():
    app = FastAPI()
    app.state.audit = []

    @app.get("/token")
    def token(value: str = Depends(token_for)):  # a sync endpoint: anyio's worker threads
        return {"token": value}

    @app.get("/audit")
    async def audit(request: Request, credentials: HTTPBasicCredentials = Depends(security)):
        request.app.state.audit.append(credentials.username + " logged in " * 10)
        return {}

    @app.get("/clean")
    def clean(credentials: HTTPBasicCredentials = Depends(security)):
        return {"user": credentials.username}

    return app


def rotating(i):
    return (f"client{i}", "s3cret")


def test_dependency_cache(memguard):
    memguard.asgi(make_app(), "/token", auth=rotating, expect_status=200)


def test_app_state(memguard):
    memguard.asgi(make_app(), "/audit", auth=("alice", "s3cret"), expect_status=200)


def test_clean_2000_calls(memguard):
    memguard.asgi(make_app(), "/clean", auth=("alice", "s3cret"), iterations=2000)


@pytest.mark.asyncio
async def test_clean_from_an_async_test(memguard):
    await memguard.asgi_async(make_app(), "/clean", auth=("alice", "s3cret"), expect_status=200)


@pytest.mark.asyncio
async def test_leak_from_an_async_test(memguard):
    await memguard.asgi_async(make_app(), "/audit", auth=("alice", "s3cret"), expect_status=200)
"""


def test_fastapi_leaks_name_their_holders_and_clean_apps_pass_undisturbed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")  # pytest-asyncio on
    pytester.makeini(
        "[pytest]\nconsole_output_style = classic\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_apps=APPS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "--memguard-report", timeout=300
    )
    result.assert_outcomes(failed=3, passed=2)
    output = result.stdout.str()
    parts = re.split(r"_{3,} (\w+) _{3,}", output.split("memguard report", 1)[0])
    blocks = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert "├─ ._tokens" in blocks["test_dependency_cache"]
    for name in ("test_app_state", "test_leak_from_an_async_test"):
        assert re.search(r"^\s*module app$", blocks[name], re.M)
        assert "├─ .audit" in blocks[name]
    assert "measurement disturbed" not in output
    assert "s3cret" not in output.replace("test_apps.py", "")


def test_threads_that_work_for_the_call_are_not_a_disturbance() -> None:
    """A driver's worker thread runs while the call waits: ``own_threads`` leaves it out."""
    import threading
    import time

    from pytest_memguard.guard import guard
    from pytest_memguard.settings import Settings

    jobs: list[threading.Event] = []
    wake = threading.Event()

    def worker() -> None:
        while wake.wait():
            wake.clear()
            if not jobs:
                return
            done = jobs.pop()
            end = time.thread_time() + 0.002  # 2 ms of CPU for the call
            while time.thread_time() < end:
                pass
            done.set()

    thread = threading.Thread(target=worker, name="test worker")
    thread.start()
    done = threading.Event()

    def call() -> None:
        done.clear()
        jobs.append(done)
        wake.set()
        done.wait()

    settings = Settings(iterations=20, warmup=2)
    try:
        assert guard(call, settings, label="x").disturbed
        mine = guard(call, settings, label="x", own_threads=lambda: {thread.native_id})
        assert not mine.disturbed
    finally:
        wake.set()
        thread.join()


ANYIO = """
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

_kept = []


def make(leaky):
    async def index(request):
        if leaky:
            _kept.append(str(len(_kept)) * 30)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", index)])


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_clean(memguard):
    await memguard.asgi_async(make(False), "/", expect_status=200)


@pytest.mark.anyio
async def test_leaky(memguard):
    await memguard.asgi_async(make(True), "/", expect_status=200)
"""


def test_asgi_async_under_anyios_pytest_plugin(run: Any) -> None:
    result = run("-p", "no:xdist", test_anyio=ANYIO)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*├─ ._kept*", "FAILED *test_leaky - LeakError*"])


REPORTED = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

SEEN = {"requests": 0}  # a count, not a list: a list would leak 8 bytes a request


async def profile(request):
    SEEN["requests"] += 1
    return PlainTextResponse("ok")


def test_profile(memguard):
    app = Starlette(routes=[Route("/profile", profile)])
    memguard.asgi(app, "/profile?key=s3cret", auth=("alice", "s3cret"), expect_status=200)


def test_requests_made():
    print(f"requests made: {SEEN['requests']}")
"""


def test_reports_baseline_and_disable_work_for_the_asgi_driver(
    run: Any, pytester: pytest.Pytester
) -> None:
    files = ("--memguard-json=out.json", "--memguard-html=out.html", "--junitxml=junit.xml")
    saved = run("-p", "no:xdist", "--memguard-save-baseline=base.json", *files, test_r=REPORTED)
    saved.assert_outcomes(passed=2)
    compared = run("-p", "no:xdist", "--memguard-baseline=base.json", "--memguard-report")
    compared.assert_outcomes(passed=2)
    token = base64.b64encode(b"alice:s3cret").decode()
    for name in ("out.json", "out.html", "junit.xml", "base.json"):
        text = (pytester.path / name).read_text()
        assert "asgi GET /profile?key=" in text or name == "junit.xml", name
        assert "s3cret" not in text.replace("test_r.py", "")
        assert token not in text
    entry = json.loads((pytester.path / "out.json").read_text())["tests"][0]
    assert entry["statuses"] == {"200": entry["iterations"] + entry["warmup"]}
    assert "asgi GET /profile?key=<redacted credential>" in compared.stdout.str()
    disabled = run("-p", "no:xdist", "--memguard-disable", "-s")
    disabled.assert_outcomes(passed=2)
    disabled.stdout.fnmatch_lines(["*requests made: 1*"])


QUART_APPS = """
from quart import Quart, request

app = Quart(__name__)
SEEN = []

@app.get("/leak")
async def leak():
    SEEN.append(request.authorization.password)
    return "ok"

@app.get("/clean")
async def clean():
    return "hello " + request.authorization.username

@app.get("/boom")
async def boom():
    raise LookupError("kaboom from quart")

def pair(i):
    return (f"user{i}", f"pw-{i:06d}")

def test_leak(memguard):
    memguard.asgi(app, "/leak", auth=pair, expect_status=200)

def test_clean(memguard):
    memguard.asgi(app, "/clean", auth=pair, expect_status=200)

def test_boom(memguard):
    memguard.asgi(app, "/boom", auth=pair)

def test_nothing_left_connected():
    from quart.signals import got_request_exception
    assert not got_request_exception.receivers
"""


def test_a_quart_app_is_driven_and_its_exception_fails_the_test_as_itself(run: Any) -> None:
    # Quart turns an exception into a 500 (how depends on its version and config): its
    # got_request_exception signal hands it to the driver, which raises it from the call.
    result = run("-p", "no:randomly", test_quart=QUART_APPS)
    result.assert_outcomes(failed=2, passed=2)
    result.stdout.fnmatch_lines(["*_ test_leak _*", "*├─ .SEEN * list (+* items*"])
    result.stdout.fnmatch_lines(["*_ test_boom _*", "E * LookupError: kaboom from quart"])
    result.stdout.no_fnmatch_line("*every call got 500*")
