"""CLEAN: a ``TemporaryFile`` per request, in a ``with`` block."""

from __future__ import annotations

import tempfile
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
        with tempfile.TemporaryFile() as spool:
            spool.write(b"upload")
            spool.seek(0)
            return spool.read().decode()

    return app


def reset() -> None:
    """Nothing is kept."""


SCENARIO: dict[str, Any] = {"path": "/", "auth": ("alice", "s3cret")}
