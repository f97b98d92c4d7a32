"""LEAK: a UDP metrics socket made per request and kept in a dict by request id.

Why: the view sends one StatsD-style datagram per request on a new socket, and keeps the socket
in ``_senders`` "to send the timing later", which never happens: one more open socket per
request.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "leak"
KIND = "fds"

_USERS = {"alice": "s3cret"}
_senders: dict[str, socket.socket] = {}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # resource made here
        sender.sendto(b"requests:1|c", ("127.0.0.1", 9))
        _senders[uuid.uuid4().hex] = sender
        return "counted"

    return app


def reset() -> None:
    """Close every kept socket."""
    while _senders:
        _senders.popitem()[1].close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
