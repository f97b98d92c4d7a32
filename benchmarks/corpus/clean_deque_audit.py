"""CLEAN: an audit log in a ``collections.deque(maxlen=50)``.

Why: each login appends ``(user, remote address, timestamp)``; once 50 entries are held the
deque drops the oldest on every append, so memory fills during warm-up and then stays flat,
even with a new user on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import challenge

GROUND_TRUTH = "clean"

_SIGNING_KEY = b"corpus-deque-audit"
_recent_logins: deque[tuple[str, str | None, float]] = deque(maxlen=50)


def api_key_for(user: str) -> str:
    """API keys are an HMAC of the client name."""
    return hmac.new(_SIGNING_KEY, user.encode(), hashlib.sha256).hexdigest()[:32]


def rotating(i: int) -> tuple[str, str]:
    """Credentials of the i-th API client."""
    user = f"client{i}"
    return user, api_key_for(user)


def create_app() -> Flask:
    """Return an app with a protected endpoint and a recent-logins view."""
    app = Flask(__name__)

    @app.get("/data")
    def data() -> Response | dict[str, Any]:
        auth = request.authorization
        user = auth.username or "" if auth else ""
        if auth is None or not hmac.compare_digest(auth.password or "", api_key_for(user)):
            return challenge("api")
        _recent_logins.append((user, request.remote_addr, time.time()))
        return {"client": user, "values": [1, 2, 3]}

    @app.get("/audit/recent")
    def recent() -> dict[str, list[str]]:
        return {"users": [user for user, _, _ in _recent_logins]}

    return app


def reset() -> None:
    """Empty the audit log."""
    _recent_logins.clear()


SCENARIO: dict[str, Any] = {"path": "/data", "auth": rotating}
