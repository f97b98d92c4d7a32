"""CLEAN: a pool of at most 3 connections, opened lazily, one every 20 requests.

Why: the pool opens a new connection to the local service only after 20 requests per open
one, up to 3: the count of descriptors rises past the warm-up and then stays. ``BOUNDS``
allows those 3 (``max_fds=3``).
"""

from __future__ import annotations

import socket
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge
from benchmarks.corpus._listener import ADDRESS

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}
BOUNDS = {"max_fds": 3}
_pool: list[socket.socket] = []
_served = [0]


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        if len(_pool) < 3 and _served[0] >= 20 * len(_pool):
            _pool.append(socket.create_connection(ADDRESS, timeout=5))
        _served[0] += 1
        return str(_pool[_served[0] % len(_pool)].fileno() > 0)

    return app


def reset() -> None:
    """Close the pool."""
    _served[0] = 0
    while _pool:
        _pool.pop().close()


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
