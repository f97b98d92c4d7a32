"""LEAK: a pseudo-terminal pair opened per request for a shell helper, never closed.

Why: the view opens ``pty.openpty()`` to run a command "in a terminal" and keeps both ends for
a session that never comes: two more descriptors per request, with no Python object.
"""

from __future__ import annotations

import os
import pty
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_terminals: list[tuple[int, int]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _terminals.append(pty.openpty())  # resource made here
        return "ok"

    return app


def reset() -> None:
    """Close both ends of every terminal."""
    while _terminals:
        for fd in _terminals.pop():
            os.close(fd)


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
