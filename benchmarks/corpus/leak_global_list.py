"""LEAK: decoded credentials kept in a global list.

Why: every request appends the decoded ``user:password`` to ``_auth_log`` "for metrics";
nothing ever removes it, so memory grows by ~70 bytes per call forever.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "leak"
HOLDER = "_auth_log"

_USERS = {"alice": "s3cret"}
_auth_log: list[str] = []  # read by the login-metrics job (which was never written)


def create_app() -> Flask:
    """Return an app whose index decodes the Basic Auth header by hand."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return challenge("corpus")
        decoded = base64.b64decode(header[6:]).decode("utf-8")
        _auth_log.append(decoded)
        user, _, password = decoded.partition(":")
        expected = _USERS.get(user, "")
        if not hmac.compare_digest(password.encode(), expected.encode()):
            return challenge("corpus")
        return f"hello {user}"

    return app


def reset() -> None:
    """Forget every logged credential."""
    _auth_log.clear()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
