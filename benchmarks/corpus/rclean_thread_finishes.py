"""CLEAN: a thread per request that sends an audit line and finishes.

Why: the view hands the audit write to a short-lived daemon thread and does not wait for it.
Each thread ends within milliseconds; at any time at most a few are still running or exiting,
so the count of threads comes and goes but never climbs.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
_lines = 0
_lock = threading.Lock()


def _audit(user: str) -> None:
    global _lines
    with _lock:
        _lines += 1


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        threading.Thread(target=_audit, args=(auth.username,), daemon=True).start()
        return "ok"

    return app


def reset() -> None:
    """Nothing to reset: the threads end by themselves."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
