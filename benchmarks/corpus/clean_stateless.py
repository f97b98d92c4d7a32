"""CLEAN: a stateless Basic Auth check with ``hmac.compare_digest``.

Why: the view reads ``request.authorization``, compares the password in constant time and
answers. Nothing is stored anywhere between requests, so retained memory stays flat.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def check(user: str, password: str) -> bool:
    """Constant-time password comparison against the user table."""
    expected = _USERS.get(user, "")
    return bool(expected) and hmac.compare_digest(password.encode(), expected.encode())


def create_app() -> Flask:
    """Return an app with one protected endpoint and no state."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | dict[str, str]:
        auth = request.authorization
        if auth is None or not check(auth.username or "", auth.password or ""):
            return challenge("corpus")
        return {"hello": auth.username or ""}

    return app


def reset() -> None:
    """Nothing to reset: the app keeps no state."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
