"""LEAK: a pipe made per request to wake a worker, both ends kept.

Why: the view makes an ``os.pipe()`` "to signal the exporter" and files the two raw
descriptors in ``_wakeups``; nobody closes them: two more descriptors per request, and no
Python object owns them.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_wakeups: list[tuple[int, int]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _wakeups.append(os.pipe())  # resource made here
        return "queued"

    return app


def reset() -> None:
    """Close both ends of every pipe."""
    while _wakeups:
        for fd in _wakeups.pop():
            os.close(fd)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
