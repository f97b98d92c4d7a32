"""CLEAN: Flask's signed-cookie ``session`` remembers the user between requests.

Why: the session lives in the client's cookie (signed with ``app.secret_key``), not on the
server. The view stores the user name and a visit counter there; the server keeps nothing
from one request to the next, and the cookie itself stays a few dozen bytes.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request, session

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def create_app() -> Flask:
    """Return an app that counts visits in the session cookie."""
    app = Flask(__name__)
    app.secret_key = "corpus-dev-secret-key"

    @app.before_request
    def require_login() -> Response | None:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        session["user"] = auth.username
        session["visits"] = session.get("visits", 0) + 1
        return None

    @app.get("/")
    def index() -> dict[str, Any]:
        return {"user": session["user"], "visits": session["visits"]}

    @app.get("/profile")
    def profile() -> dict[str, Any]:
        return {"user": session["user"], "theme": session.get("theme", "light")}

    return app


def reset() -> None:
    """Nothing to reset: the session lives in the client's cookie."""


SCENARIO: dict[str, Any] = {"path": ["/", "/profile"], "auth": ("alice", "s3cret")}
