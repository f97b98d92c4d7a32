"""LEAK: exceptions (with their tracebacks) kept for every malformed Authorization header.

Why: parse failures are appended to ``_auth_failures`` "for debugging". An exception holds its
``__traceback__``, whose frames hold their locals and - through ``f_back`` - every calling
frame of Flask and Werkzeug with the WSGI environ, so each bad request retains ~11 KiB.
The scenario sends a header that is not valid base64 and expects 401.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from flask import Flask, Response, request

GROUND_TRUTH = "leak"
HOLDER = "_auth_failures"

_USERS = {"alice": "s3cret"}
_auth_failures: list[Exception] = []  # shown on /debug/auth-failures


def parse_basic(header: str) -> tuple[str, str]:
    """Split a ``Basic`` header into user and password, raising ValueError when malformed."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise ValueError(f"unsupported scheme {scheme!r}")
    decoded = base64.b64decode(value, validate=True).decode("utf-8")
    user, sep, password = decoded.partition(":")
    if not sep:
        raise ValueError("missing ':' in credentials")
    return user, password


def create_app() -> Flask:
    """Return an app that parses Basic Auth itself and records parse errors."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        try:
            user, password = parse_basic(request.headers.get("Authorization", ""))
        except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
            _auth_failures.append(exc)
            return Response("Malformed credentials", 401, {"WWW-Authenticate": "Basic"})
        if not hmac.compare_digest(password.encode(), _USERS.get(user, "").encode()):
            return Response("Unauthorized", 401, {"WWW-Authenticate": "Basic"})
        return f"hello {user}"

    return app


def reset() -> None:
    """Drop the kept exceptions."""
    _auth_failures.clear()


SCENARIO: dict[str, Any] = {
    "path": "/",
    "auth": None,
    "headers": {"Authorization": "Basic !!not-base64!!"},
    "expect_status": 401,
}
