"""LEAK: a ``threading.Timer`` per request to expire a session in an hour, never cancelled.

Why: each request arms an expiry timer and keeps it in ``_timers``; a timer is a thread
waiting: one more thread per request for an hour.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "threads"

_USERS = {"alice": "s3cret"}
_timers: list[threading.Timer] = []


def _expire(user: str) -> None:
    pass


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        timer = threading.Timer(3600, _expire, args=("alice",))
        timer.start()  # resource made here
        _timers.append(timer)
        return "ok"

    return app


def reset() -> None:
    """Cancel every timer and wait for its thread."""
    while _timers:
        timer = _timers.pop()
        timer.cancel()
        timer.join()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
