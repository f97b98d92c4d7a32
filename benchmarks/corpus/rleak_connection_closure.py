"""LEAK: a ``socket.create_connection`` captured by a callback kept in a list.

Why: the view registers an "on shutdown, say goodbye" callback that closes over a connection
to the local service: the callbacks are never run, and each keeps its socket open.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge
from benchmarks.corpus._listener import ADDRESS

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_on_shutdown: list[Callable[[], None]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        upstream = socket.create_connection(ADDRESS, timeout=5)  # resource made here

        def goodbye() -> None:
            upstream.close()

        _on_shutdown.append(goodbye)
        return "ok"

    return app


def reset() -> None:
    """Run every callback."""
    while _on_shutdown:
        _on_shutdown.pop()()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
