"""CLEAN: a ``socket.create_connection`` per request, closed by its ``with`` block."""

from __future__ import annotations

import socket
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge
from benchmarks.corpus._listener import ADDRESS

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        with socket.create_connection(ADDRESS, timeout=5) as upstream:
            upstream.sendall(b"ping")
        return "ok"

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
