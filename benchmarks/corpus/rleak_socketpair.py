"""LEAK: a ``socket.socketpair()`` per request to talk to a helper, both ends kept.

Why: the view makes a connected pair "for progress messages" and files it by request; nobody
closes it: two more sockets per request.
"""

from __future__ import annotations

import socket
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_channels: list[tuple[socket.socket, socket.socket]] = []


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        parent, child = socket.socketpair()  # resource made here
        _channels.append((parent, child))
        return "ok"

    return app


def reset() -> None:
    """Close both ends of every pair."""
    while _channels:
        for end in _channels.pop():
            end.close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
