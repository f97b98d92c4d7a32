"""LEAK: an ``http.client.HTTPConnection`` per request kept "for keep-alive".

Why: the view connects to the local inventory service and keeps each connection in
``_connections`` to reuse it, but never does: the server hung up, the client side stays open,
one more socket per request.
"""

from __future__ import annotations

import http.client
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge
from benchmarks.corpus._listener import ADDRESS

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_connections: list[http.client.HTTPConnection] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        connection = http.client.HTTPConnection(*ADDRESS, timeout=5)
        connection.connect()  # resource made here
        _connections.append(connection)
        return "ok"

    return app


def reset() -> None:
    """Close every connection."""
    while _connections:
        _connections.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
