"""LEAK: two UDP sockets per request (metrics and tracing), both kept.

Why: the view makes one socket for StatsD and one for a tracing agent, each in its own helper,
and keeps both in ``_senders``: two more sockets per request.
"""

from __future__ import annotations

import socket
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_senders: list[socket.socket] = []


def _sender(port: int) -> socket.socket:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # resource made here
    sender.connect(("127.0.0.1", port))
    return sender


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        _senders.append(_sender(8125))
        _senders.append(_sender(6831))
        return "ok"

    return app


def reset() -> None:
    """Close every socket."""
    while _senders:
        _senders.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
