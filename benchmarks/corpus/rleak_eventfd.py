"""LEAK: an ``os.eventfd()`` per request to notify a worker, never closed.

Why: the view makes an event descriptor to wake a consumer and forgets it in ``_events``:
one more ``[eventfd]`` descriptor per request, with no Python object.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_events: list[int] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _events.append(os.eventfd(0))  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Close every event descriptor."""
    while _events:
        os.close(_events.pop())


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
