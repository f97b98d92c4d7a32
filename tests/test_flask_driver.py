"""The Flask driver: headers per RFC 7617, auth shapes, statuses and bad input."""

from __future__ import annotations

import base64

import pytest
from flask import Flask, request

from pytest_memguard.flask import FlaskCall, UnexpectedStatus, basic_auth


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    seen: list[str] = []
    app.config["seen"] = seen

    @app.get("/")
    def index() -> tuple[str, int]:
        seen.append(request.headers.get("Authorization", ""))
        return "ok", 200 if request.authorization else 401

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError("app bug")

    return app


def decoded(header: str) -> str:
    return base64.b64decode(header.removeprefix("Basic ")).decode()


def test_basic_auth_header_is_utf8_base64() -> None:
    header = basic_auth("zoë", "pässwörd")["Authorization"]
    assert decoded(header) == "zoë:pässwörd"


def test_fixed_pair_list_and_callable(app: Flask) -> None:
    FlaskCall(app, auth=("alice", "s3cret"))()
    call = FlaskCall(app, auth=[("a", "1"), ("b", "2")])
    for _ in range(3):
        call()
    FlaskCall(app, auth=lambda i: (f"u{i}", "pw"))()
    seen = [decoded(h) for h in app.config["seen"]]
    assert seen == ["alice:s3cret", "a:1", "b:2", "a:1", "u0:pw"]


def test_secrets_are_recomputed_from_the_auth_spec(app: Flask) -> None:
    call = FlaskCall(app, auth=lambda i: (f"u{i}", f"pw{i}"))
    call()
    call()
    assert call.secrets().redact("pw0 pw1 pw2") == "<redacted credential> <redacted credential> pw2"


def test_path_list_sends_each(app: Flask) -> None:
    FlaskCall(app, ["/", "/"], auth=("a", "b"))()
    assert len(app.config["seen"]) == 2


def test_expect_status_mismatch_names_status_and_path(app: Flask) -> None:
    with pytest.raises(UnexpectedStatus, match="expected status 200 for GET /, got 401"):
        FlaskCall(app, expect_status=200)()


def test_app_exception_propagates_while_driving_then_config_is_restored(app: Flask) -> None:
    call = FlaskCall(app, "/boom")
    with pytest.raises(ZeroDivisionError), call.propagating():
        call()
    assert "PROPAGATE_EXCEPTIONS" not in app.config or app.config["PROPAGATE_EXCEPTIONS"] is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"auth": "alice:s3cret"}, TypeError, "auth must be a"),
        ({"auth": ("a", "b", "c")}, TypeError, "got a 3-tuple"),
        ({"auth": ("a", 1)}, TypeError, "pair of str"),
        ({"auth": ("a:b", "c")}, ValueError, "cannot contain ':'"),
        ({"auth": []}, ValueError, "auth list is empty"),
        ({"path": 5}, TypeError, "path must be a non-empty str"),
        ({"path": ""}, TypeError, "path must be a non-empty str"),
        ({"expect_status": "200"}, TypeError, "expect_status must be an int"),
    ],
)
def test_bad_input(app: Flask, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        FlaskCall(app, **kwargs)


def test_not_a_flask_app() -> None:
    with pytest.raises(TypeError, match=r"needs a Flask app or its test client.*got object"):
        FlaskCall(object())


def test_error_messages_never_echo_the_password() -> None:
    with pytest.raises(TypeError) as info:
        FlaskCall(Flask(__name__), auth=("alice", "s3cret", "x"))
    assert "s3cret" not in str(info.value)
