"""LEAK: a raw ``_thread.start_new_thread`` follower per request, waiting forever.

Why: the view starts a low-level thread that "follows" a log until told to stop; nobody tells
it: one more thread per request that ``threading`` does not even list.
"""

from __future__ import annotations

import _thread
import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "threads"

_USERS = {"alice": "s3cret"}
_stop = threading.Event()


def _follow(stop: threading.Event) -> None:
    stop.wait()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _thread.start_new_thread(_follow, (_stop,))  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Stop every follower, and start the next run with a fresh event."""
    global _stop
    _stop.set()
    _stop = threading.Event()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
