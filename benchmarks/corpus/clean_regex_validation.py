"""CLEAN: user names validated with a precompiled regular expression.

Why: ``USERNAME_RE`` is compiled once at import; ``fullmatch`` per request allocates only a
temporary match object. Rejected and accepted requests alike leave nothing behind.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "clean"

USERNAME_RE = re.compile(r"[a-z][a-z0-9_.-]{2,31}")
_USERS = {"alice": "s3cret", "bob": "hunter2", "carol.ops": "tr0ub4dor"}


def create_app() -> Flask:
    """Return an app that rejects malformed user names before checking passwords."""
    app = Flask(__name__)

    @app.get("/inbox")
    def inbox() -> Response | dict[str, Any]:
        auth = request.authorization
        if auth is None or not USERNAME_RE.fullmatch(auth.username or ""):
            return Response("Bad user name", 401, {"WWW-Authenticate": 'Basic realm="mail"'})
        expected = _USERS.get(auth.username or "", "")
        if not hmac.compare_digest((auth.password or "").encode(), expected.encode()):
            return challenge("mail")
        return {"user": auth.username, "unread": 0}

    return app


def reset() -> None:
    """Nothing to reset: validation keeps no state."""


SCENARIO: dict[str, Any] = {
    "path": "/inbox",
    "auth": [("alice", "s3cret"), ("bob", "hunter2"), ("carol.ops", "tr0ub4dor")],
}
