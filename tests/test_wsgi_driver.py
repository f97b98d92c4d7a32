"""The WSGI driver: any WSGI callable through werkzeug's client, as the Flask driver drives."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from pytest_memguard.wsgi import WsgiCall

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def make_app(seen: list[str]) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/boom":
            raise ZeroDivisionError("app bug")
        header = environ.get("HTTP_AUTHORIZATION", "")
        seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {header}")
        start_response("200 OK" if header else "401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def test_sends_basic_auth_method_and_each_path() -> None:
    seen: list[str] = []
    call = WsgiCall(make_app(seen), ["/a", "/b"], method="post", auth=("alice", "s3cret"))
    call()
    token = base64.b64encode(b"alice:s3cret").decode()
    assert seen == [f"POST /a Basic {token}", f"POST /b Basic {token}"]
    assert call.statuses() == {200: 2}
    assert call.label == "wsgi POST /a, /b"


def test_app_exception_reaches_the_test_as_itself() -> None:
    with pytest.raises(ZeroDivisionError, match="app bug"):
        WsgiCall(make_app([]), "/boom")()


def test_a_werkzeug_client_is_used_as_given() -> None:
    from werkzeug.test import Client

    client = Client(make_app([]))
    assert WsgiCall(client).client is client


def test_not_a_wsgi_app_names_what_it_got() -> None:
    with pytest.raises(TypeError, match=r"memguard.wsgi\(\) needs a WSGI app.*got int"):
        WsgiCall(5)


def test_bad_input_names_the_wsgi_driver() -> None:
    with pytest.raises(TypeError, match=r"memguard.wsgi\(\): auth must be a"):
        WsgiCall(make_app([]), auth="alice:s3cret")


APP = """
import pytest

_seen = []  # "for metrics": every decoded credential, forever


def leaky(environ, start_response):
    _seen.append(environ.get("HTTP_AUTHORIZATION", "") + "-" * 200)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def clean(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("HTTP_AUTHORIZATION", "").encode()]


def test_leaky(memguard):
    memguard.wsgi(leaky, "/", auth=("alice", "s3cret"), expect_status=200, max_growth_kb=16)


def test_clean(memguard):
    memguard.wsgi(clean, "/", auth=("alice", "s3cret"), expect_status=200, iterations=2000)
"""


def test_wsgi_app_leak_fails_naming_its_holder_and_a_clean_one_passes(run: Any) -> None:
    result = run("--memguard-report", "-p", "no:xdist", test_app=APP)
    result.assert_outcomes(failed=1, passed=1)
    output = result.stdout.str()
    assert "├─ ._seen" in output
    assert "wsgi GET /" in output
    assert "s3cret" not in output.replace("test_app.py", "")
    assert "measurement disturbed" not in output
