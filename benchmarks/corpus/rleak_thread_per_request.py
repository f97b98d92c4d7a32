"""LEAK: a heartbeat thread started per request that waits for a stop signal nobody sends.

Why: the view starts a daemon thread to "keep the session warm"; it waits on an event that is
only set at shutdown. One more live thread per request.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "threads"

_USERS = {"alice": "s3cret"}
_shutdown = threading.Event()


def _heartbeat(user: str) -> None:
    _shutdown.wait()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        auth = request.authorization
        if not authorized(auth, _USERS):
            return challenge("corpus")
        threading.Thread(  # resource made here
            target=_heartbeat, args=(auth.username,), name="heartbeat", daemon=True
        ).start()
        return "warm"

    return app


def reset() -> None:
    """Stop every heartbeat and arm a new stop signal."""
    global _shutdown
    _shutdown.set()
    _shutdown = threading.Event()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
