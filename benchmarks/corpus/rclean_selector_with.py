"""CLEAN: a selector per request used in a ``with`` block (closed on exit)."""

from __future__ import annotations

import selectors
import socket
from typing import Any

from flask import Flask, Response, request

from benchmarks.corpus._auth import authorized, challenge

GROUND_TRUTH = "clean"

_USERS = {"alice": "s3cret"}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> Response | str:
        if not authorized(request.authorization, _USERS):
            return challenge("corpus")
        parent, child = socket.socketpair()
        with parent, child, selectors.DefaultSelector() as selector:
            selector.register(child, selectors.EVENT_READ)
            parent.send(b"x")
            return str(len(selector.select(timeout=1)))

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
